//! Errors of the journal and its reader, each naming the path involved.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot create the audit journal directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the audit journal {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the audit journal {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the audit journal {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("there is no audit journal at {dir}: nothing has been recorded there yet")]
    Missing { dir: PathBuf },
    #[error(
        "cannot write to the audit journal in {dir}: the record time ({millis} ms since 1970) is outside the calendar"
    )]
    OutOfRange { dir: PathBuf, millis: i64 },
}
