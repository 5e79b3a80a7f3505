//! `--audio-out companion:PATH`: the companion path checked end to end.
//! The test tone goes to the companion as a call's frames would; the
//! companion's meters must show it played. With `--audio-in companion`,
//! push-to-talk is opened on a test track and the microphone's frames must
//! come back through the tunnel, decodable.

use super::tone::tone_frames;
use super::verdict::Verdict;
use floorwalk_audio::codec::Decoder;
use floorwalk_audio::engine::AudioEvent;
use floorwalk_audio::playback::TrackSpec;
use floorwalk_audio::signal::Level;
use floorwalk_audio::{FRAME_DURATION, FRAME_SAMPLES};
use floorwalk_companion::client::{CompanionAudio, LinkConfig};
use floorwalk_console::config::Config;
use floorwalk_protocol::{AudioFrame, Role};
use std::path::Path;
use std::time::Duration;
use tokio::time::{Instant, timeout};

/// How long the companion has to answer.
const CONNECT_WAIT: Duration = Duration::from_secs(3);
/// The tracks the test uses (never a real call's: nothing is joined).
const TONE_TRACK: u32 = 1;
const TALK_TRACK: u32 = 2;
/// A meter at least this loud (RMS) proves the tone played.
const HEARD_RMS: f32 = 0.05;
/// Microphone frames wanted back (half a second).
const MIC_FRAMES: usize = 25;

/// The output verdict and, when the microphone goes through it too, the
/// input verdict.
pub async fn check_companion(
    path: &Path,
    microphone: bool,
    config: &Config,
) -> (Verdict, Option<Verdict>) {
    let link = LinkConfig::new(path.to_owned(), microphone)
        .key_from(config.audio.companion_key_file.clone());
    let (companion, mut channels) = CompanionAudio::start(link);
    let endpoint = format!("companion:{}", path.display());
    let machine = match timeout(CONNECT_WAIT, channels.events.recv()).await {
        Ok(Some(AudioEvent::OutputReady { description })) => description,
        Ok(Some(AudioEvent::OutputFailed { reason, .. })) => {
            return (Verdict::Warning(format!("{endpoint}: {reason}")), None);
        }
        _ => {
            let reason = "the companion did not answer within 3 s".to_owned();
            return (Verdict::Warning(format!("{endpoint}: {reason}")), None);
        }
    };
    let output = play_tone(&companion).await;
    let output = match output {
        Ok(level) => Verdict::Ok(format!(
            "{endpoint}: the companion on {machine} played the test tone \
             (its meter showed {:.0} dBFS)",
            level.rms_dbfs()
        )),
        Err(reason) => Verdict::Warning(format!("{endpoint}: {reason}")),
    };
    let input = if microphone {
        Some(
            match hear_microphone(&companion, &mut channels.upstream).await {
                Ok((frames, level)) => Verdict::Ok(format!(
                    "{endpoint}: {frames} microphone frames came back through the tunnel \
                 (level {:.0} dBFS)",
                    level.rms_dbfs()
                )),
                Err(reason) => Verdict::Warning(format!("{endpoint}: {reason}")),
            },
        )
    } else {
        None
    };
    companion.shutdown();
    (output, input)
}

/// Sends the test tone in real time; returns the loudest meter reading.
async fn play_tone(companion: &CompanionAudio) -> Result<Level, String> {
    companion.set_tracks(vec![TrackSpec {
        track: TONE_TRACK,
        role: Role::Customer,
    }]);
    let frames = tone_frames(TONE_TRACK)?;
    let sink = companion.frame_sink();
    let mut loudest = Level::default();
    let mut tick = tokio::time::interval(FRAME_DURATION);
    for frame in frames {
        tick.tick().await;
        sink.send(frame);
        loudest = loudest.max(companion.meters().parties.customer);
    }
    // The meters come every 100 ms, after the jitter buffer's delay.
    let deadline = Instant::now() + Duration::from_millis(500);
    while Instant::now() < deadline {
        tick.tick().await;
        loudest = loudest.max(companion.meters().parties.customer);
    }
    companion.set_tracks(Vec::new());
    if loudest.rms >= HEARD_RMS {
        Ok(loudest)
    } else {
        Err(format!(
            "the companion's meter stayed at {:.0} dBFS while the test tone was sent: \
             it did not play it",
            loudest.rms_dbfs()
        ))
    }
}

/// Talks on a test track for a moment; returns the frames that came back
/// and their loudest level.
async fn hear_microphone(
    companion: &CompanionAudio,
    upstream: &mut tokio::sync::mpsc::Receiver<Vec<u8>>,
) -> Result<(usize, Level), String> {
    companion.arm_microphone(true);
    companion.set_transmit(Some(TALK_TRACK));
    let mut decoder = Decoder::new().map_err(|e| e.to_string())?;
    let mut pcm = vec![0.0; FRAME_SAMPLES as usize];
    let mut frames = 0;
    let mut loudest = Level::default();
    let deadline = Instant::now() + Duration::from_secs(3);
    while frames < MIC_FRAMES {
        let Ok(Some(bytes)) = tokio::time::timeout_at(deadline, upstream.recv()).await else {
            break;
        };
        let Ok(frame) = AudioFrame::decode(&bytes) else {
            continue;
        };
        if decoder.decode(frame.opus, &mut pcm).is_ok() {
            frames += 1;
            loudest = loudest.max(Level::of(&pcm));
        }
    }
    companion.set_transmit(None);
    companion.arm_microphone(false);
    if frames == MIC_FRAMES {
        Ok((frames, loudest))
    } else {
        Err(format!(
            "only {frames} of {MIC_FRAMES} microphone frames came back within 3 s \
             (is the companion's --audio-in a working microphone?)"
        ))
    }
}
