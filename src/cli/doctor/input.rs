//! The audio input check: a device microphone is listened to briefly, a
//! WAV file is read whole.

use super::verdict::{Verdict, sentence};
use floorwalk_audio::clock::{Clock, SystemClock};
use floorwalk_audio::endpoint::Endpoint;
use floorwalk_audio::open::open_input;
use floorwalk_audio::signal::Level;
use floorwalk_audio::wav::load_wav;
use floorwalk_audio::{FRAME_DURATION, FRAME_SAMPLES, SAMPLE_RATE};
use std::time::Duration;

/// How long a device microphone is listened to.
const MIC_LISTEN: Duration = Duration::from_millis(400);

/// Opens the microphone and listens briefly (devices), or reads the WAV.
pub fn check_input(endpoint: &Endpoint) -> Verdict {
    if let Endpoint::Wav(path) = endpoint {
        return match load_wav(path) {
            Ok(samples) => Verdict::Ok(format!(
                "wav:{}: {:.1} s of audio, played in a loop",
                path.display(),
                samples.len() as f64 / f64::from(SAMPLE_RATE)
            )),
            Err(err) => Verdict::Warning(err.to_string()),
        };
    }
    let mut source = match open_input(endpoint) {
        Ok(Some(source)) => source,
        Ok(None) => {
            return Verdict::Ok("none: push-to-talk cannot send anything".into());
        }
        Err(err) => {
            return Verdict::Warning(format!(
                "{endpoint}: {}. See `floorwalk devices`, or use --audio-in none or wav:PATH",
                sentence(&err.to_string())
            ));
        }
    };
    let clock = SystemClock::default();
    let mut frame = vec![0.0; FRAME_SAMPLES as usize];
    let mut level = Level::default();
    let mut frames = 0;
    while clock.now() < MIC_LISTEN {
        match source.read(clock.now(), &mut frame) {
            Ok(true) => {
                frames += 1;
                level = level.max(Level::of(&frame));
            }
            Ok(false) => std::thread::sleep(FRAME_DURATION / 4),
            Err(err) => return Verdict::Warning(format!("{endpoint}: {err}")),
        }
    }
    if frames == 0 {
        return Verdict::Warning(format!(
            "{endpoint}: opened {}, but no sound came in {} ms",
            source.describe(),
            MIC_LISTEN.as_millis()
        ));
    }
    Verdict::Ok(format!(
        "{endpoint}: {}, level {:.0} dBFS",
        source.describe(),
        level.rms_dbfs()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wav_inputs_are_read_whole_and_a_missing_one_is_a_warning() {
        let mic = tempfile::Builder::new().suffix(".wav").tempfile().unwrap();
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: SAMPLE_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut wav = hound::WavWriter::create(mic.path(), spec).unwrap();
        for _ in 0..SAMPLE_RATE * 3 / 2 {
            wav.write_sample(0i16).unwrap();
        }
        wav.finalize().unwrap();
        let Verdict::Ok(text) = check_input(&Endpoint::Wav(mic.path().to_owned())) else {
            panic!("a readable WAV is a working microphone");
        };
        assert!(
            text.ends_with(".wav: 1.5 s of audio, played in a loop"),
            "{text}"
        );
        let missing = mic.path().with_extension("missing.wav");
        assert!(matches!(
            check_input(&Endpoint::Wav(missing)),
            Verdict::Warning(_)
        ));
        assert!(matches!(check_input(&Endpoint::None), Verdict::Ok(_)));
    }
}
