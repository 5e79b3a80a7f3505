//! Where the records are: `sqlite:PATH` or `postgres://…`, and the
//! PostgreSQL password, which never comes from the URL.

use anyhow::{Context as _, bail};
use std::path::PathBuf;
use std::str::FromStr as _;

/// The environment variable the PostgreSQL password comes from.
pub const ENV_PASSWORD: &str = "FLOORWALK_RECORDS_PASSWORD";

/// A records database.
#[derive(Clone)]
pub enum Target {
    Sqlite(PathBuf),
    Postgres {
        config: Box<postgres::Config>,
        /// The URL as given (it holds no password), for messages.
        url: String,
    },
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

impl Target {
    /// Reads `sqlite:PATH` or `postgres://USER@HOST:PORT/DB` (also
    /// `postgresql://`, and `?host=/dir` for a Unix socket). A URL with a
    /// password is refused before anything connects: the password comes
    /// from [`ENV_PASSWORD`] or a password file, never from an argument.
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let url = url.trim();
        if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                bail!("`sqlite:` needs a file, e.g. sqlite:/var/lib/floorwalk/records.sqlite");
            }
            return Ok(Target::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let config = postgres::Config::from_str(url)
                .map_err(|e| anyhow::anyhow!("cannot read the PostgreSQL URL: {e}"))?;
            if config.get_password().is_some() {
                bail!(
                    "the records URL holds a password: leave it out, and give it in {ENV_PASSWORD} or `password_file` in [records] (an argument is visible to every user of this machine)"
                );
            }
            return Ok(Target::Postgres {
                config: Box::new(config),
                url: url.to_owned(),
            });
        }
        bail!(
            "the records URL must be sqlite:PATH or postgres://USER@HOST/DB, not `{}`",
            url.chars().take(60).collect::<String>()
        )
    }

    /// Gives a PostgreSQL target its password (from [`ENV_PASSWORD`], else
    /// the file); SQLite needs none.
    pub fn with_password(
        mut self,
        env: Option<String>,
        file: Option<&std::path::Path>,
    ) -> anyhow::Result<Self> {
        if let Target::Postgres { config, .. } = &mut self {
            let password = match (env.filter(|p| !p.is_empty()), file) {
                (Some(password), _) => Some(password),
                (None, Some(file)) => {
                    let text = std::fs::read_to_string(file).with_context(|| {
                        format!("cannot read the records password file {}", file.display())
                    })?;
                    Some(text.trim_end_matches(['\r', '\n']).to_owned())
                }
                (None, None) => None,
            };
            if let Some(password) = password {
                config.password(password);
            }
        }
        Ok(self)
    }

    /// The database as messages name it (never a password).
    pub fn label(&self) -> String {
        match self {
            Target::Sqlite(path) => format!("sqlite:{}", path.display()),
            Target::Postgres { url, .. } => url.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_and_postgres_urls_are_read() {
        let Target::Sqlite(path) = Target::parse("sqlite:/tmp/r.sqlite").unwrap() else {
            panic!("not sqlite");
        };
        assert_eq!(path, PathBuf::from("/tmp/r.sqlite"));
        let target = Target::parse("postgres://floorwalk@127.0.0.1:5432/records").unwrap();
        assert_eq!(
            target.label(),
            "postgres://floorwalk@127.0.0.1:5432/records"
        );
        Target::parse("postgresql://fw@localhost/records?host=/tmp/pg").unwrap();
    }

    #[test]
    fn a_password_in_the_url_is_refused_before_connecting() {
        for url in [
            "postgres://fw:secret@127.0.0.1/records",
            "postgresql://fw@127.0.0.1/records?password=secret",
        ] {
            let err = Target::parse(url).unwrap_err().to_string();
            assert!(err.contains("holds a password"), "{url}: {err}");
            assert!(!err.contains("secret"), "{err}");
        }
    }

    #[test]
    fn other_urls_are_refused_with_the_forms_that_work() {
        for url in ["mysql://x/y", "records.sqlite", "sqlite:"] {
            let err = Target::parse(url).unwrap_err().to_string();
            assert!(err.contains("sqlite:"), "{url}: {err}");
        }
    }

    #[test]
    fn the_password_comes_from_the_environment_first_then_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "from-file\n").unwrap();
        let base = Target::parse("postgres://fw@127.0.0.1/records").unwrap();
        let password = |t: Target| match t {
            Target::Postgres { config, .. } => config.get_password().map(<[u8]>::to_vec),
            Target::Sqlite(_) => None,
        };
        let env = base
            .clone()
            .with_password(Some("from-env".into()), Some(&file))
            .unwrap();
        assert_eq!(password(env).as_deref(), Some(&b"from-env"[..]));
        let file_only = base.clone().with_password(None, Some(&file)).unwrap();
        assert_eq!(password(file_only).as_deref(), Some(&b"from-file"[..]));
        let missing = base.with_password(None, Some(&dir.path().join("nope")));
        assert!(missing.unwrap_err().to_string().contains("password file"));
    }
}
