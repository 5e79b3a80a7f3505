//! Push-to-talk in toggle mode, in the real binary in a pseudo-terminal:
//! join in whisper, press the talk key once to go on air, once more to
//! stop, then leave. The microphone is a WAV file, so its meter moves.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::time::Duration;
use support::pty::PtyApp;

const START: Duration = Duration::from_secs(30);
const STEP: Duration = Duration::from_secs(10);

/// Half a second of a 300 Hz tone at -10 dBFS, as a microphone.
fn write_microphone(path: &Path) {
    support::wav::write_mono(path, &floorwalk_audio::signal::sine(300.0, 0.45, 24_000));
}

#[test]
fn toggle_push_to_talk_goes_on_air_and_off_again() {
    let home = tempfile::tempdir().unwrap();
    let config_dir = home.path().join("config/floorwalk");
    std::fs::create_dir_all(&config_dir).unwrap();
    let config = config_dir.join("config.toml");
    std::fs::write(&config, "[ptt]\nmode = \"toggle\"\n").unwrap();
    // Private, or the console warns about it on the status line.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let microphone = home.path().join("mic.wav");
    write_microphone(&microphone);
    let audio_in = format!("wav:{}", microphone.display());
    let mut app = PtyApp::spawn(
        &[
            "demo",
            "--min-call-secs",
            "120",
            "--audio-out",
            "none",
            "--audio-in",
            &audio_in,
        ],
        home.path(),
        100,
        30,
    );

    let screen = app.wait_for_text("● live", START);
    assert!(screen.contains("push-to-talk: toggle"), "{screen}");
    assert!(screen.contains("audio: none"), "{screen}");
    app.wait_for("an agent on a call", STEP, |s| {
        s.contains("billing") && s.contains(':')
    });

    // Join the next active call in whisper: the microphone opens, unsent.
    app.join_next_call("w", "you:whisper", STEP);
    let screen = app.wait_for("the microphone's meter to move", STEP, |s| {
        s.contains("mic    ▮")
    });
    assert!(
        !screen.contains("ON AIR"),
        "not on air before the key:\n{screen}"
    );

    // One press: on air, to the agent only.
    app.send(" ");
    let screen = app.wait_for_text("ON AIR · AGENT ONLY", STEP);
    assert!(!screen.contains("AGENT + CUSTOMER"), "{screen}");
    // Toggle mode reads a press within the keyboard's repeat delay as the
    // key still held; the second press comes after it.
    std::thread::sleep(Duration::from_millis(1000));
    app.send(" ");
    app.wait_for("the banner to go", STEP, |s| {
        !s.contains("ON AIR") && s.contains("mic    ▮")
    });

    // Leave: the call goes on without me.
    app.send("d");
    app.wait_for("my presence to disappear", STEP, |s| {
        !s.contains("you:whisper") && s.contains("not on this call")
    });
    app.send("q");
    assert_eq!(app.wait_exit(STEP), 0);
    assert!(
        app.terminal_restored(),
        "alternate screen, cursor or mouse left on"
    );
}
