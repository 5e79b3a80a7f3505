//! `floorwalk sim` run as a process of its own.

use std::io::{BufRead, BufReader};
use std::process::Child;

/// The URL the simulator says it listens on, read from the first line of
/// its standard output (which must be piped).
pub fn listening_url(child: &mut Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    line.trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned()
}
