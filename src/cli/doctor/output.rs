//! The audio output check: a device is opened briefly and asked how long
//! it holds sound; a WAV file needs a directory it can be written in.

use super::verdict::{Verdict, sentence};
use floorwalk_audio::FRAME_SAMPLES;
use floorwalk_audio::endpoint::{Endpoint, Sink};
use floorwalk_audio::open::open_output;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Opens the output briefly (devices), or checks where a WAV would go.
pub fn check_output(endpoint: &Endpoint) -> Verdict {
    match endpoint {
        Endpoint::None => {
            Verdict::Ok("none: calls are not played (the console runs without sound)".into())
        }
        Endpoint::Wav(path) => wav_target(path),
        Endpoint::Default | Endpoint::Device(_) | Endpoint::Companion(_) => {
            match open_output(endpoint, 1) {
                Ok(mut sink) => {
                    let held = match device_delay(sink.as_mut()) {
                        Some(delay) => format!(
                            "; it plays sound {:.0} ms after floorwalk hands it over",
                            delay.as_secs_f64() * 1e3
                        ),
                        None => "; it did not say how long it holds sound".to_owned(),
                    };
                    Verdict::Ok(format!("{endpoint}: opened {}{held}", sink.describe()))
                }
                Err(err) => Verdict::Warning(format!(
                    "{endpoint}: {}. The console would play to none (see `floorwalk devices`, \
                 or use --audio-out none or wav:PATH)",
                    sentence(&err.to_string())
                )),
            }
        }
    }
}

/// Plays up to a second of silence and returns the median delay the device
/// reported between taking a frame and playing it (its own buffering, which
/// comes on top of floorwalk's: a Bluetooth headset may add 200 ms).
fn device_delay(sink: &mut dyn Sink) -> Option<Duration> {
    const FRAMES: usize = 10;
    let silence = vec![0.0; FRAME_SAMPLES as usize * sink.channels()];
    let start = Instant::now();
    let mut delays = Vec::new();
    while delays.len() < FRAMES && start.elapsed() < Duration::from_secs(1) {
        let due = sink.due(start.elapsed()).ok()?;
        for _ in 0..due.min(FRAMES as u64) {
            sink.write(&silence).ok()?;
            sink.tag(Duration::ZERO);
        }
        sink.measured(&mut |m| delays.push(m.played.saturating_sub(m.handed)));
        std::thread::sleep(Duration::from_millis(1));
    }
    delays.sort_unstable();
    delays.get(delays.len() / 2).copied()
}

/// A WAV output needs a directory it can write in; an existing file would
/// be overwritten, so it is not touched here.
fn wav_target(path: &Path) -> Verdict {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Verdict::Warning(format!(
            "wav:{}: the directory {} does not exist",
            path.display(),
            dir.display()
        ));
    }
    let probe = dir.join(format!(".floorwalk-doctor-{}", std::process::id()));
    let writable = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map(|_| std::fs::remove_file(&probe));
    match writable {
        Ok(_) if path.exists() => Verdict::Ok(format!(
            "wav:{} (it exists: the console will overwrite it)",
            path.display()
        )),
        Ok(_) => Verdict::Ok(format!("wav:{} can be written", path.display())),
        Err(err) => Verdict::Warning(format!(
            "wav:{}: cannot write in {}: {err}",
            path.display(),
            dir.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_output_is_fine_and_wav_outputs_need_a_writable_directory() {
        assert!(matches!(check_output(&Endpoint::None), Verdict::Ok(_)));
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("out.wav");
        assert!(matches!(wav_target(&new), Verdict::Ok(_)));
        std::fs::write(&new, b"x").unwrap();
        let Verdict::Ok(text) = wav_target(&new) else {
            panic!("an existing file is fine");
        };
        assert!(text.contains("overwrite"), "{text}");
        assert_eq!(std::fs::read(&new).unwrap(), b"x");
        let missing = dir.path().join("nope/out.wav");
        assert!(matches!(wav_target(&missing), Verdict::Warning(_)));
    }
}
