//! The console's core (feed, app, audio engine) without a terminal, with
//! WAV files for its audio, as the audio tests and the push-to-talk
//! benchmark drive it.

use floorwalk_audio::endpoint::Endpoint;
use floorwalk_audio::engine::AudioConfig;
use floorwalk_audio::ptt::{PttConfig, PttSetting};
use floorwalk_console::app::AppSettings;
use floorwalk_console::feed::FeedOptions;
use floorwalk_console::runtime::{ConsoleOptions, Core};
use std::path::Path;
use std::time::Duration;
use tokio::time::Instant;

/// How long the core may take to get somewhere before the caller fails.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// A console core on `feed` that plays to `output`, talks from the WAV
/// file `mic` and reads the talk key as `ptt`. Call inside a tokio runtime.
pub fn wav_console(feed: FeedOptions, output: Endpoint, mic: &Path, ptt: PttSetting) -> Core {
    let input = Endpoint::Wav(mic.to_owned());
    Core::start(ConsoleOptions {
        feed,
        app: AppSettings {
            audio_output: output.clone(),
            audio_input: input.clone(),
            ptt: PttConfig {
                setting: ptt,
                ..PttConfig::default()
            },
            ..AppSettings::default()
        },
        journal: None,
        warnings: Vec::new(),
        audio: AudioConfig {
            output,
            input,
            ..AudioConfig::default()
        },
        companion_key_file: None,
    })
    .unwrap()
}

/// Runs the core until `done`, failing after the patience.
pub async fn drive(core: &mut Core, what: &str, done: impl Fn(&Core) -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done(core) {
        let input = tokio::time::timeout_at(deadline, core.next())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
        core.handle(input);
    }
}
