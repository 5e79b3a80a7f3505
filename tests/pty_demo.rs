#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The real binary in a pseudo-terminal: `floorwalk demo` as a supervisor
//! meets it, keys in and screen out.

mod support;

use std::time::Duration;
use support::pty::PtyApp;

const START: Duration = Duration::from_secs(30);
const STEP: Duration = Duration::from_secs(10);

/// Every line of the demo's audit journal under the test's private home.
fn demo_journal(home: &std::path::Path) -> String {
    let dir = home.join("data/floorwalk/demo-audit");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .collect()
}

#[test]
fn demo_monitor_whisper_leave_end_call_dialog_and_quit() {
    let home = tempfile::tempdir().unwrap();
    let mut app = PtyApp::spawn(&["demo", "--min-call-secs", "120"], home.path(), 100, 30);

    let screen = app.wait_for_text("● live", START);
    assert!(screen.contains("Agents"), "{screen}");
    app.wait_for("an agent on a call", STEP, |s| {
        s.contains("billing") && s.contains(':')
    });

    // Select the next active call and listen silently.
    app.join_next_call("m", "SILENT", STEP);
    let screen = app.wait_for_text("[d] leave call", STEP);
    assert!(
        screen.contains("you:silent"),
        "my presence shows in the table:\n{screen}"
    );

    // Switch to whisper without leaving.
    app.send("w");
    let screen = app.wait_for_text("you:whisper", STEP);
    assert!(screen.contains("WHISPER"), "{screen}");

    // Leave: my presence goes, the call stays.
    app.send("d");
    let screen = app.wait_for("my presence to disappear", STEP, |s| {
        !s.contains("you:whisper")
            && !s.contains("[d] leave call")
            && s.contains("not on this call")
    });
    assert!(screen.contains("Call c-"), "the call goes on:\n{screen}");

    // End call asks, naming the call; Esc cancels.
    app.send("E");
    let screen = app.wait_for_text("End call for everyone?", STEP);
    assert!(screen.contains("Call c-"), "{screen}");
    app.send("\x1b");
    app.wait_for("the dialog to close", STEP, |s| {
        !s.contains("End call for everyone?")
    });

    app.send("q");
    assert_eq!(app.wait_exit(STEP), 0);
    assert!(
        app.terminal_restored(),
        "alternate screen, cursor or mouse left on"
    );

    // The journal recorded the presence.
    let journal = demo_journal(home.path());
    for kind in [
        "join_requested",
        "joined",
        "mode_changed",
        "disconnect_requested",
        "left",
    ] {
        assert!(
            journal.contains(&format!("\"kind\":\"{kind}\"")),
            "no {kind} in:\n{journal}"
        );
    }
}

#[test]
fn quitting_while_on_a_call_asks_then_leaves_first() {
    let home = tempfile::tempdir().unwrap();
    let mut app = PtyApp::spawn(&["demo", "--min-call-secs", "120"], home.path(), 80, 24);
    app.wait_for_text("● live", START);
    app.join_next_call("b", "you:barge", STEP);
    app.send("q");
    app.wait_for_text("and quit?", STEP);
    app.send("y");
    assert_eq!(app.wait_exit(STEP), 0);
    assert!(app.terminal_restored());
    let journal = demo_journal(home.path());
    assert!(
        journal.contains("\"kind\":\"left\""),
        "the leg was left before quitting:\n{journal}"
    );
}

/// An SSH session dying sends SIGHUP; SIGTERM is a polite kill. Either way
/// the console leaves my leg first and restores the terminal.
#[test]
fn hangup_and_terminate_leave_the_call_first() {
    for signal in ["-HUP", "-TERM"] {
        let home = tempfile::tempdir().unwrap();
        let mut app = PtyApp::spawn(&["demo", "--min-call-secs", "120"], home.path(), 80, 24);
        app.wait_for_text("● live", START);
        app.join_next_call("w", "you:whisper", STEP);
        let pid = app.pid().expect("pid").to_string();
        let killed = std::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap();
        assert!(killed.success());
        app.wait_exit(STEP);
        assert!(app.terminal_restored(), "{signal}: terminal not restored");
        let journal = demo_journal(home.path());
        assert!(
            journal.contains("\"kind\":\"disconnect_requested\""),
            "{signal}:\n{journal}"
        );
        assert!(
            journal.contains("\"kind\":\"left\""),
            "{signal}: leg not left:\n{journal}"
        );
    }
}
