//! The companion's one status line, pure: what it is doing right now.

use floorwalk_audio::signal::Level;

/// What the companion shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Status {
    /// The console connected (its `user@host`), if one is.
    pub console: Option<String>,
    /// The call being played (its id, as the console sends it).
    pub call: Option<String>,
    /// Customer, agent, others, microphone.
    pub levels: [Level; 4],
    /// The microphone is open (the console is in whisper or barge).
    pub microphone: bool,
    /// Push-to-talk is on.
    pub talking: bool,
    /// The latest refusal or error, until a console connects.
    pub note: Option<String>,
}

/// A level as a short bar of 5 cells, -60 to 0 dBFS.
fn bar(level: Level) -> String {
    let db = level.rms_dbfs();
    let lit = (((db + 60.0) / 12.0).ceil().clamp(0.0, 5.0)) as usize;
    format!("{}{}", "▮".repeat(lit), "▯".repeat(5 - lit))
}

impl Status {
    /// One line, e.g. `console dana@jump1 · call c-1042 · customer
    /// ▮▮▮▯▯ agent ▮▮▯▯▯ · mic open ▮▯▯▯▯ · TALKING`.
    pub fn line(&self) -> String {
        let Some(console) = &self.console else {
            let mut line = "waiting for the console (through the ssh tunnel)".to_owned();
            if let Some(note) = &self.note {
                line.push_str(&format!(" · last: {note}"));
            }
            return line;
        };
        let mut line = format!("console {console}");
        match &self.call {
            None => line.push_str(" · no call"),
            Some(call) => line.push_str(&format!(
                " · call {call} · customer {} agent {}",
                bar(self.levels[0]),
                bar(self.levels[1])
            )),
        }
        if self.microphone {
            line.push_str(&format!(" · mic open {}", bar(self.levels[3])));
        } else {
            line.push_str(" · mic closed");
        }
        if self.talking {
            line.push_str(" · TALKING");
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_who_what_and_whether_i_am_heard() {
        let mut status = Status {
            note: Some("refused a client of user 65534".into()),
            ..Status::default()
        };
        assert!(status.line().starts_with("waiting for the console"));
        assert!(status.line().contains("user 65534"));
        status.console = Some("dana@jump1".into());
        assert_eq!(status.line(), "console dana@jump1 · no call · mic closed");
        status.call = Some("c-1042".into());
        status.levels[0] = Level {
            peak: 1.0,
            rms: 1.0,
        };
        status.microphone = true;
        status.talking = true;
        assert_eq!(
            status.line(),
            "console dana@jump1 · call c-1042 · customer ▮▮▮▮▮ agent ▯▯▯▯▯ · mic open ▯▯▯▯▯ · TALKING"
        );
    }
}
