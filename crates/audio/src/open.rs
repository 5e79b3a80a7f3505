//! Opens the output or the microphone an [`Endpoint`] names.

use super::endpoint::{Endpoint, InputError, Microphone, OutputError, Sink};
use super::none::NullSink;
use super::wav::{WavMicrophone, WavSink};

/// Opens an output for a mix of `channels` channels.
pub fn open_output(endpoint: &Endpoint, channels: usize) -> Result<Box<dyn Sink>, OutputError> {
    match endpoint {
        Endpoint::None => Ok(Box::new(NullSink::new(channels))),
        Endpoint::Wav(path) => Ok(Box::new(WavSink::create(path.clone(), channels)?)),
        #[cfg(feature = "audio-device")]
        Endpoint::Default => Ok(Box::new(super::device::DeviceSink::open(None, channels)?)),
        #[cfg(feature = "audio-device")]
        Endpoint::Device(name) => Ok(Box::new(super::device::DeviceSink::open(
            Some(name),
            channels,
        )?)),
        #[cfg(not(feature = "audio-device"))]
        Endpoint::Default | Endpoint::Device(_) => Err(OutputError::NoDeviceSupport),
        Endpoint::Companion(_) => Err(OutputError::Companion(endpoint.to_string())),
    }
}

/// Opens a microphone; `None` for [`Endpoint::None`].
pub fn open_input(endpoint: &Endpoint) -> Result<Option<Box<dyn Microphone>>, InputError> {
    match endpoint {
        Endpoint::None => Ok(None),
        Endpoint::Wav(path) => Ok(Some(Box::new(WavMicrophone::open(path.clone())?))),
        #[cfg(feature = "audio-device")]
        Endpoint::Default => Ok(Some(Box::new(super::device::DeviceMicrophone::open(None)?))),
        #[cfg(feature = "audio-device")]
        Endpoint::Device(name) => Ok(Some(Box::new(super::device::DeviceMicrophone::open(
            Some(name),
        )?))),
        #[cfg(not(feature = "audio-device"))]
        Endpoint::Default | Endpoint::Device(_) => Err(InputError::NoDeviceSupport),
        Endpoint::Companion(_) => Err(InputError::Companion(endpoint.to_string())),
    }
}
