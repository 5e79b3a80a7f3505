//! What the parties heard, as the floorwalk simulator records it with
//! `--record-dir`: the tone must be in the agent's file and not in the
//! customer's.

use super::tone::{TONE_HZ, contains_tone};
use super::verdict::Verdict;
use floorwalk_audio::SAMPLE_RATE;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long the recording may take to show the tone.
const RECORDING_WAIT: Duration = Duration::from_secs(10);

/// The simulator's recordings: 48 kHz mono 16-bit.
const RECORDING: hound::WavSpec = hound::WavSpec {
    channels: 1,
    sample_rate: SAMPLE_RATE,
    bits_per_sample: 16,
    sample_format: hound::SampleFormat::Int,
};

/// Looks for the tone in what the agent heard, and for its absence in what
/// the customer heard.
pub async fn check_recordings(dir: &Path, call_id: &str, what: &str) -> Verdict {
    let agent = dir.join(format!("{call_id}-agent.wav"));
    let customer = dir.join(format!("{call_id}-customer.wav"));
    let deadline = Instant::now() + RECORDING_WAIT;
    let heard = loop {
        let heard = read_recording(&agent).map(|samples| contains_tone(&samples, TONE_HZ));
        if heard == Ok(true) || Instant::now() >= deadline {
            break heard;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    match heard {
        Ok(true) => {}
        Ok(false) => {
            return Verdict::Failed(format!(
                "{what}, but the agent's recording {} does not contain it",
                agent.display()
            ));
        }
        Err(_) if !agent.exists() => {
            return Verdict::Unverified(format!(
                "{what}, but {} did not appear: is the server a floorwalk simulator \
                 started with --record-dir {}?",
                agent.display(),
                dir.display()
            ));
        }
        Err(why) => return Verdict::Failed(format!("{what}, but {why}")),
    }
    let customer_heard = read_recording(&customer).is_ok_and(|s| contains_tone(&s, TONE_HZ));
    if customer_heard {
        return Verdict::Failed(format!(
            "{what}: the agent heard it, AND SO DID THE CUSTOMER ({}): whisper is not private",
            customer.display()
        ));
    }
    Verdict::Ok(format!(
        "{what}: the agent heard it, the customer did not ({})",
        dir.display()
    ))
}

/// Reads a recording that may still be being written: the simulator's
/// writer fills in the header's length at each flush, so what was flushed
/// reads, and a sample cut short at the end is left out.
fn read_recording(path: &Path) -> Result<Vec<f32>, String> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let bad = |why: &dyn std::fmt::Display| {
        format!("{} is not a 48 kHz mono 16-bit WAV: {why}", path.display())
    };
    let mut reader = hound::WavReader::new(std::io::BufReader::new(file)).map_err(|e| bad(&e))?;
    if reader.spec() != RECORDING {
        return Err(bad(&"another format"));
    }
    Ok(reader
        .samples::<i16>()
        .map_while(Result::ok)
        .map(|sample| f32::from(sample) / 32768.0)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recordings_are_read_even_while_still_being_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-1-agent.wav");
        let mut writer = hound::WavWriter::create(&path, RECORDING).unwrap();
        for sample in [0i16, 16384, -16384, 32767] {
            writer.write_sample(sample).unwrap();
        }
        // Flushed, as the simulator does every few frames, but not finished.
        writer.flush().unwrap();
        assert_eq!(
            read_recording(&path).unwrap(),
            [0.0, 0.5, -0.5, 32767.0 / 32768.0]
        );
        writer.write_sample(1i16).unwrap();
        writer.flush().unwrap();
        assert_eq!(read_recording(&path).unwrap().len(), 5);
        writer.finalize().unwrap();
        assert_eq!(read_recording(&path).unwrap().len(), 5);
    }

    #[test]
    fn a_recording_cut_short_reads_up_to_the_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-1-agent.wav");
        let mut writer = hound::WavWriter::create(&path, RECORDING).unwrap();
        for sample in [100i16; 8] {
            writer.write_sample(sample).unwrap();
        }
        writer.finalize().unwrap();
        // The header promises 8 samples; 5 and a half are there.
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
        assert_eq!(read_recording(&path).unwrap(), [100.0 / 32768.0; 5]);
    }

    #[test]
    fn odd_recordings_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.wav");
        assert!(read_recording(&path).unwrap_err().contains("cannot read"));
        std::fs::write(&path, b"not a wav").unwrap();
        let err = read_recording(&path).unwrap_err();
        assert!(err.contains("is not a 48 kHz mono 16-bit WAV"), "{err}");
        let stereo = hound::WavSpec {
            channels: 2,
            ..RECORDING
        };
        let mut writer = hound::WavWriter::create(&path, stereo).unwrap();
        writer.write_sample(0i16).unwrap();
        writer.write_sample(0i16).unwrap();
        writer.finalize().unwrap();
        assert!(
            read_recording(&path)
                .unwrap_err()
                .contains("another format")
        );
    }
}
