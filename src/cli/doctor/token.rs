//! The token check: found, from wherever the config says, and never shown.

use super::verdict::Verdict;
use floorwalk_console::config::{Config, Secret};

/// The token if it can be had, and the verdict on it.
pub fn check_token(config: &Config) -> (Verdict, Option<Secret>) {
    match config.resolve_token() {
        Ok(token) => (Verdict::Ok("found (not shown)".into()), Some(token)),
        Err(err) => (Verdict::Failed(err.to_string()), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use floorwalk_console::config::Env;

    fn config(token: Option<&str>) -> Config {
        let env = Env {
            server: None,
            token: token.map(Secret::new),
        };
        Config::load_with(None, None, &env).unwrap()
    }

    #[test]
    fn a_found_token_is_not_shown() {
        let (verdict, token) = check_token(&config(Some("s3cret-dana")));
        assert_eq!(verdict, Verdict::Ok("found (not shown)".into()));
        assert_eq!(token.unwrap().expose(), "s3cret-dana");
    }

    #[test]
    fn no_token_fails_and_says_where_one_goes() {
        let (verdict, token) = check_token(&config(None));
        let Verdict::Failed(why) = verdict else {
            panic!("no token must fail, got {verdict:?}");
        };
        assert!(why.contains("FLOORWALK_TOKEN"), "{why}");
        assert!(token.is_none());
    }
}
