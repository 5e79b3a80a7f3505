//! The audit journal (append-only JSON Lines, crash-safe) and its reports.

mod record;
pub use record::*;
