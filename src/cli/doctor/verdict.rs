//! The outcome of each check and how it is printed: one aligned line per
//! check, and an exit code that says whether any failed.

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Ok(String),
    Failed(String),
    /// Audio that cannot be used: the console runs on without it (plays to
    /// none, or cannot talk), so the exit code stays 0.
    Warning(String),
    /// Neither proven nor disproven; the text says why.
    Unverified(String),
}

impl Verdict {
    fn line(&self, what: &str) -> String {
        let (word, detail) = match self {
            Verdict::Ok(detail) => ("OK", detail),
            Verdict::Failed(detail) => ("FAILED", detail),
            Verdict::Warning(detail) => ("WARNING", detail),
            Verdict::Unverified(detail) => ("UNVERIFIED", detail),
        };
        format!("{what:<10} {word:<10} {detail}")
    }
}

impl Verdict {
    /// The verdict as JSON: `{"check","verdict","detail"}`.
    fn json(&self, what: &str) -> serde_json::Value {
        let (word, detail) = match self {
            Verdict::Ok(detail) => ("ok", detail),
            Verdict::Failed(detail) => ("failed", detail),
            Verdict::Warning(detail) => ("warning", detail),
            Verdict::Unverified(detail) => ("unverified", detail),
        };
        serde_json::json!({ "check": what, "verdict": word, "detail": detail })
    }
}

/// Prints verdicts as they come (unless quiet) and remembers them, and
/// whether any failed.
#[derive(Default)]
pub struct Report {
    failed: bool,
    quiet: bool,
    said: Vec<serde_json::Value>,
}

impl Report {
    /// A report that prints nothing (its verdicts go out as JSON).
    pub fn quiet() -> Self {
        Self {
            quiet: true,
            ..Self::default()
        }
    }

    pub fn say(&mut self, what: &str, verdict: Verdict) {
        self.failed |= matches!(verdict, Verdict::Failed(_));
        if !self.quiet {
            println!("{}", verdict.line(what));
        }
        self.said.push(verdict.json(what));
    }

    pub fn failed(&self) -> bool {
        self.failed
    }

    /// Every verdict so far, as JSON objects.
    pub fn said(&self) -> Vec<serde_json::Value> {
        self.said.clone()
    }
}

/// An error's text without its final full stop, to go on after it.
pub fn sentence(text: &str) -> &str {
    text.trim_end().trim_end_matches('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_lines_line_up() {
        assert_eq!(
            Verdict::Ok("fine".into()).line("output"),
            "output     OK         fine"
        );
        assert_eq!(
            Verdict::Unverified("why".into()).line("round trip"),
            "round trip UNVERIFIED why"
        );
    }

    #[test]
    fn only_a_failure_fails_the_report() {
        let mut report = Report::default();
        report.say("output", Verdict::Warning("no device".into()));
        report.say("round trip", Verdict::Unverified("no call".into()));
        assert!(!report.failed());
        report.say("server", Verdict::Failed("refused".into()));
        report.say("input", Verdict::Ok("fine".into()));
        assert!(report.failed());
        assert_eq!(
            report.said()[2],
            serde_json::json!({"check": "server", "verdict": "failed", "detail": "refused"})
        );
    }

    #[test]
    fn sentences_lose_their_final_full_stop() {
        assert_eq!(sentence("no such device.  "), "no such device");
        assert_eq!(sentence("e.g. this"), "e.g. this");
    }
}
