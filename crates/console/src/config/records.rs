//! `[records]`: where `floorwalk sim` and `floorwalk gateway` write every
//! supervisor presence, and how long `floorwalk records prune` keeps it
//! (docs/records.md).

use serde::Deserialize;
use std::path::PathBuf;

/// How many days `floorwalk records prune` keeps unless told otherwise.
pub const DEFAULT_RETENTION_DAYS: u64 = 400;

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecordsSection {
    /// `sqlite:PATH` or `postgres://USER@HOST/DB` (no password in it).
    pub url: Option<String>,
    /// A file holding the PostgreSQL password (`FLOORWALK_RECORDS_PASSWORD`
    /// wins over it).
    pub password_file: Option<PathBuf>,
    /// Days `records prune` keeps [default: 400].
    pub retention_days: Option<u64>,
}
