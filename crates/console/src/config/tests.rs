use super::*;

#[test]
fn line_and_column_count_from_one_in_characters() {
    let text = "a = 1\nbé = 2\n";
    assert_eq!(line_and_column(text, 0), (1, 1));
    assert_eq!(line_and_column(text, 6), (2, 1));
    // 'é' is two bytes but one column.
    assert_eq!(line_and_column(text, 9), (2, 3));
    // An offset past the end or inside a character does not panic.
    assert_eq!(line_and_column(text, 8), (3, 1));
    assert_eq!(line_and_column(text, 999), (3, 1));
}

#[test]
fn paths_resolve_against_the_config_file() {
    let base = Path::new("/etc/floorwalk");
    assert_eq!(
        resolve_path(Path::new("token"), base),
        PathBuf::from("/etc/floorwalk/token")
    );
    assert_eq!(
        resolve_path(Path::new("/abs/token"), base),
        PathBuf::from("/abs/token")
    );
    if let Some(dirs) = directories::BaseDirs::new() {
        assert_eq!(
            resolve_path(Path::new("~/t"), base),
            dirs.home_dir().join("t")
        );
    }
}
