//! The `floorwalk` command line (being written).
fn main() {}
