//! Finding devices: by name to open one, and all of them for
//! `floorwalk devices`.

use super::alsa_log::quietly;
use crate::{DeviceInfo, DeviceList};
use cpal::traits::{DeviceTrait, HostTrait};

/// Which way audio goes through a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    Output,
    Input,
}

/// What `device:NAME` takes for this device.
pub(super) fn device_name(device: &cpal::Device) -> String {
    device
        .id()
        .map(|id| id.id().to_owned())
        .unwrap_or_else(|_| device.to_string())
}

/// The named device, or the default one for `direction`.
pub(super) fn find_device(
    host: &cpal::Host,
    name: Option<&str>,
    direction: Direction,
) -> Result<cpal::Device, String> {
    match name {
        None => match direction {
            Direction::Output => host.default_output_device(),
            Direction::Input => host.default_input_device(),
        }
        .ok_or_else(|| "no default device".to_owned()),
        Some(name) => host
            .devices()
            .map_err(|e| format!("no audio system: {e}"))?
            .find(|d| device_name(d) == name || d.to_string() == name)
            .ok_or_else(|| format!("no device named {name:?} (see `floorwalk devices`)")),
    }
}

/// Lists the output and input devices.
pub fn list_devices() -> DeviceList {
    quietly(|| {
        let host = cpal::default_host();
        let devices = match host.devices() {
            Ok(devices) => devices,
            Err(e) => {
                return DeviceList {
                    devices: Vec::new(),
                    note: Some(format!("no audio system: {e}")),
                };
            }
        };
        let default_out = host.default_output_device().map(|d| device_name(&d));
        let default_in = host.default_input_device().map(|d| device_name(&d));
        let devices: Vec<DeviceInfo> = devices
            .map(|device| {
                let name = device_name(&device);
                let description = device
                    .description()
                    .map(|d| d.name().to_owned())
                    .unwrap_or_default();
                DeviceInfo {
                    output: device.supports_output(),
                    input: device.supports_input(),
                    default_output: default_out.as_deref() == Some(name.as_str()),
                    default_input: default_in.as_deref() == Some(name.as_str()),
                    name,
                    description,
                }
            })
            .collect();
        let note = devices
            .is_empty()
            .then(|| format!("the {} audio system reports no devices", host.id().name()));
        DeviceList { devices, note }
    })
}
