//! A full disk on demand, for the tests of what the journal does then.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;

/// Linux's device that takes no byte: every write fails with ENOSPC.
const FULL: &str = "/dev/full";

/// Makes `path` a file that cannot be written, as on a full disk: a link to
/// `/dev/full`. A machine without one fails the test, never passes it
/// unchecked.
pub fn make_full(path: &Path) {
    assert!(
        Path::new(FULL).exists(),
        "this test stands for a full disk with {FULL}, which this machine lacks"
    );
    std::os::unix::fs::symlink(FULL, path).unwrap();
}
