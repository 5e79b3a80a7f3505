//! What the app asks the runtime to do, with the journal's policy attached:
//! which records the next frame waits for, and which messages go out even
//! when the record before them could not be written. The runtime carries
//! these out as they say; it decides none of them.

use crate::audit::Record;
use floorwalk_protocol::ClientMessage;

/// What the runtime must do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Append a record to the audit journal (on disk before the next effect).
    Audit {
        record: Record,
        /// No frame is drawn until the record is on disk: it is of the
        /// supervisor's own doing (a join, a switch, a leave, an end call, or
        /// what became of one), which the screen shows as done and which must
        /// survive a crash the next instant.
        hold_frame: bool,
    },
    /// Send a message to the server through the feed.
    Send {
        message: ClientMessage,
        /// What becomes of it when a record before it in the same update
        /// could not be written.
        unrecorded: Unrecorded,
    },
    /// Read today's journal (after the records before it are on disk) and
    /// hand it back as `Input::JournalRead`, for the audit pane.
    ReadJournal,
}

/// What becomes of a message to the server when the audit journal could not
/// write a record that comes before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unrecorded {
    /// Not sent, and answered as not recorded: nothing happens that the
    /// journal cannot tell.
    Refuse,
    /// Sent all the same: a full disk must never keep a supervisor on a call.
    /// The presence the journal could not close is reconciled at the next
    /// start, as after a crash.
    SendAnyway,
}

impl Effect {
    /// A record of the supervisor's own doing, or of what became of it.
    pub(super) fn audit(record: Record) -> Effect {
        Effect::Audit {
            record,
            hold_frame: true,
        }
    }

    /// A record of what the console saw on the floor (calls seen and ended,
    /// for the coverage figures): no frame waits for it.
    pub(super) fn observed(record: Record) -> Effect {
        Effect::Audit {
            record,
            hold_frame: false,
        }
    }

    /// A command that is not sent unless the records before it are on disk.
    pub(super) fn send(message: ClientMessage) -> Effect {
        Effect::Send {
            message,
            unrecorded: Unrecorded::Refuse,
        }
    }

    /// A leave, which goes out whatever the journal managed.
    pub(super) fn leave(message: ClientMessage) -> Effect {
        Effect::Send {
            message,
            unrecorded: Unrecorded::SendAnyway,
        }
    }

    /// Whether the next frame waits until this effect is carried out.
    pub fn holds_frame(&self) -> bool {
        matches!(
            self,
            Effect::Audit {
                hold_frame: true,
                ..
            }
        )
    }
}
