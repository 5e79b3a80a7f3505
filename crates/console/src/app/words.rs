//! Modes and failures in words a supervisor understands.

use crate::feed::CommandFailure;
use floorwalk_protocol::{CallEndReason, ErrorCode, LegLeftReason, Mode};

/// A mode as notices shout it.
pub fn shout(mode: Mode) -> &'static str {
    match mode {
        Mode::Silent => "SILENT",
        Mode::Whisper => "WHISPER",
        Mode::Barge => "BARGE",
    }
}

/// Who hears the supervisor in a mode, for notices.
pub fn who_hears(mode: Mode) -> &'static str {
    match mode {
        Mode::Silent => "nobody hears you",
        Mode::Whisper => "only the agent hears you when you talk",
        Mode::Barge => "the agent and the customer hear you when you talk",
    }
}

/// What the supervisor was trying to do, to phrase the failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    Join,
    SwitchMode,
    Leave,
    EndCall,
}

impl Attempt {
    fn failed(self) -> &'static str {
        match self {
            Attempt::Join => "Could not join the call",
            Attempt::SwitchMode => "Could not switch mode",
            Attempt::Leave => "COULD NOT LEAVE THE CALL: you are still on it",
            Attempt::EndCall => "Could not end the call",
        }
    }
}

/// One plain sentence for an error code, in the context of the attempt.
pub fn error_code(code: ErrorCode, attempt: Attempt) -> &'static str {
    match (code, attempt) {
        (ErrorCode::NotYourLeg, _) => "That leg isn't yours: you can only leave your own leg.",
        (ErrorCode::NotFound, Attempt::Leave) => "The server no longer knows that leg.",
        (ErrorCode::NotFound, _) => {
            "That call is no longer on the server (it may have just ended)."
        }
        (ErrorCode::Forbidden, Attempt::EndCall) => "You are not allowed to end calls.",
        (ErrorCode::Forbidden, _) => "That call is outside your teams, so you may not join it.",
        (ErrorCode::BadConfirmation, _) => {
            "The server did not accept the confirmation: nothing was ended."
        }
        (ErrorCode::Conflict, Attempt::Join) => "You are already on that call.",
        (ErrorCode::Conflict, _) => "The server says the call changed meanwhile: try again.",
        (ErrorCode::RateLimited, _) => "Too many requests: wait a moment and try again.",
        (ErrorCode::Unavailable, _) => "The server cannot do that right now: try again shortly.",
        (ErrorCode::Invalid, _) => {
            "The server did not understand the request (a version mismatch?)."
        }
        (ErrorCode::Unknown, _) => "The server refused.",
    }
}

/// The message line for a failed command.
pub fn failure(failure: &CommandFailure, attempt: Attempt) -> String {
    let why = match failure {
        CommandFailure::Refused(err) => {
            let plain = error_code(err.code, attempt);
            // The server's words matter where the code alone cannot say
            // why: an unknown code, or what is unavailable (the contact
            // center unreachable, say).
            let says_why = matches!(err.code, ErrorCode::Unknown | ErrorCode::Unavailable);
            if err.message.is_empty() || !says_why {
                plain.to_owned()
            } else {
                format!("{plain} ({})", err.message)
            }
        }
        CommandFailure::Timeout(after) => format!(
            "No answer from the server within {:.1} s: it may or may not have happened.",
            after.as_secs_f64()
        ),
        CommandFailure::Offline => {
            return "Not connected: nothing was sent. Try again when the console is live.".into();
        }
        CommandFailure::NotRecorded(err) => {
            return format!("Nothing was sent: the audit journal cannot record it ({err}).");
        }
    };
    format!("{}. {why}", attempt.failed())
}

/// A short reason for the audit journal (machine-friendly, stable words).
pub fn failure_reason(failure: &CommandFailure) -> String {
    match failure {
        CommandFailure::Refused(err) if err.message.is_empty() => err.code.as_str().to_owned(),
        CommandFailure::Refused(err) => format!("{}: {}", err.code, err.message),
        CommandFailure::Timeout(after) => format!("timeout after {} ms", after.as_millis()),
        CommandFailure::Offline => "offline".to_owned(),
        CommandFailure::NotRecorded(_) => "not recorded in the audit journal".to_owned(),
    }
}

pub fn call_end_reason(reason: CallEndReason) -> &'static str {
    match reason {
        CallEndReason::CustomerHangup => "customer_hangup",
        CallEndReason::AgentHangup => "agent_hangup",
        CallEndReason::EndedBySupervisor => "ended_by_supervisor",
        CallEndReason::Transferred => "transferred",
        CallEndReason::Failed => "failed",
        CallEndReason::Unknown => "unknown",
    }
}

pub fn leg_left_reason(reason: LegLeftReason) -> &'static str {
    match reason {
        LegLeftReason::Disconnected => "disconnected",
        LegLeftReason::CallEnded => "call_ended",
        LegLeftReason::LeaseExpired => "lease_expired",
        LegLeftReason::Removed => "removed",
        LegLeftReason::Unknown => "unknown",
    }
}

/// What the supervisor is told when their leg goes without them asking.
pub fn unasked_leave(reason: LegLeftReason) -> &'static str {
    match reason {
        LegLeftReason::LeaseExpired => {
            "The server dropped your leg: the console was out of touch for too long."
        }
        LegLeftReason::Removed => "The server removed your leg from the call.",
        LegLeftReason::CallEnded => "The call ended.",
        LegLeftReason::Disconnected | LegLeftReason::Unknown => "Your leg left the call.",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use floorwalk_protocol::ReplyError;
    use std::time::Duration;

    #[test]
    fn the_examples_of_the_brief_read_as_written() {
        let refused = CommandFailure::Refused(ReplyError {
            code: ErrorCode::NotYourLeg,
            message: "leg l-3 belongs to sup-2".into(),
        });
        assert!(
            failure(&refused, Attempt::Leave)
                .ends_with("That leg isn't yours: you can only leave your own leg.")
        );
        assert_eq!(
            failure(&CommandFailure::Offline, Attempt::Join),
            "Not connected: nothing was sent. Try again when the console is live."
        );
        let timeout = failure(
            &CommandFailure::Timeout(Duration::from_secs(5)),
            Attempt::Leave,
        );
        assert!(timeout.starts_with("COULD NOT LEAVE"), "{timeout}");
        assert!(timeout.contains("5.0 s"), "{timeout}");
        assert_eq!(
            failure_reason(&refused),
            "not_your_leg: leg l-3 belongs to sup-2"
        );
    }

    #[test]
    fn unknown_and_unavailable_codes_keep_the_servers_words() {
        for (code, message) in [
            (ErrorCode::Unknown, "maintenance window"),
            (
                ErrorCode::Unavailable,
                "the contact center is unreachable: Asterisk at 127.0.0.1:8088 is not answering",
            ),
        ] {
            let refused = CommandFailure::Refused(ReplyError {
                code,
                message: message.into(),
            });
            let text = failure(&refused, Attempt::Join);
            assert!(text.contains(message), "{text}");
        }
    }
}
