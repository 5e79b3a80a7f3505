//! The terminal as a hostile input: the real binary in a pseudo-terminal,
//! resized down to nothing and back while the demo runs. It never panics,
//! keeps drawing at every size, and quits cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;
use support::pty::PtyApp;

const START: Duration = Duration::from_secs(30);
const STEP: Duration = Duration::from_secs(10);

/// What the console says when the terminal is too small for the dashboard.
fn too_small(cols: u16, rows: u16) -> String {
    format!("floorwalk: terminal too small ({cols}x{rows}, needs 40x12)")
}

/// The screen's text without any spaces or line breaks.
fn compact(screen: &str) -> String {
    screen.split_whitespace().collect()
}

#[test]
fn resizing_down_to_nothing_and_back_never_panics() {
    let home = tempfile::tempdir().unwrap();
    let mut app = PtyApp::spawn(
        &["demo", "--audio-out", "none", "--audio-in", "none"],
        home.path(),
        200,
        50,
    );
    app.wait_for_text("● live", START);
    // Something selected and a call open, so every pane has content.
    app.send("n");
    app.wait_for_text("Call c-", STEP);

    let sizes = [
        (80, 24),
        (40, 10),
        (20, 5),
        (1, 1),
        (39, 12),
        (40, 12),
        (2, 100),
        (300, 3),
        (120, 40),
    ];
    for (cols, rows) in sizes {
        app.resize(cols, rows);
        if cols >= 40 && rows >= 12 {
            app.wait_for(&format!("the dashboard at {cols}x{rows}"), STEP, |s| {
                s.contains("floorwalk") && s.contains("Agents")
            });
        } else {
            // It says so, in whatever room there is.
            let note = compact(&too_small(cols, rows));
            let room = usize::from(cols) * usize::from(rows);
            app.wait_for(
                &format!("the small-terminal note at {cols}x{rows}"),
                STEP,
                |s| {
                    let shown = compact(s);
                    !shown.is_empty()
                        && (shown == note || (room < note.len() && note.starts_with(&shown)))
                },
            );
        }
        // Keys at every size: moving, the help and its dismissal, the
        // filter typed and confirmed (no Esc: next to other bytes a terminal
        // reads it as Alt).
        app.send("j?x/zz\r");
        assert!(app.is_running(), "floorwalk died at {cols}x{rows}");
    }

    // Back at a normal size it is live, drawing, and answers keys.
    app.wait_for("the live dashboard", STEP, |s| {
        s.contains("● live") && s.contains("Agents")
    });
    app.send("?");
    app.wait_for_text("any key closes", STEP);
    app.send("x");
    app.wait_for("the help to close", STEP, |s| !s.contains("any key closes"));
    app.send("q");
    assert_eq!(app.wait_exit(STEP), 0);
    assert!(
        app.terminal_restored(),
        "alternate screen, cursor or mouse left on"
    );
}
