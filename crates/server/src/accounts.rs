//! Supervisor accounts: who may connect, with which token, seeing which teams.
//!
//! The tokens file is TOML with one `[[supervisor]]` table per account:
//!
//! ```toml
//! [[supervisor]]
//! token = "s3cret-dana"
//! id = "sup-1"
//! name = "Dana Ruiz"
//! teams = ["billing", "retention"]
//! can_end_calls = true
//! ```
//!
//! Teams named here that the simulator does not staff by default get agents
//! and a queue of their own, so every supervisor has something to watch.

use anyhow::{Context, bail};
use floorwalk_protocol::Supervisor;
use serde::Deserialize;
use std::collections::HashSet;
use std::path::Path;

/// One supervisor who may connect.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The bearer token the console presents.
    pub token: String,
    pub id: String,
    pub name: String,
    /// The teams whose agents, calls and queues this supervisor sees.
    pub teams: Vec<String>,
    #[serde(default)]
    pub can_end_calls: bool,
}

impl std::fmt::Debug for Account {
    // The token stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("token", &"<redacted>")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("teams", &self.teams)
            .field("can_end_calls", &self.can_end_calls)
            .finish()
    }
}

impl Account {
    /// The supervisor as `hello` presents it.
    pub fn supervisor(&self) -> Supervisor {
        Supervisor {
            id: self.id.clone(),
            name: self.name.clone(),
            teams: self.teams.clone(),
            can_end_calls: self.can_end_calls,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokensFile {
    #[serde(default)]
    supervisor: Vec<Account>,
}

/// Reads a tokens file (see the module docs for its format).
pub fn load_accounts(path: &Path) -> anyhow::Result<Vec<Account>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read tokens file {}", path.display()))?;
    parse_accounts(&text).with_context(|| format!("bad tokens file {}", path.display()))
}

/// Parses the text of a tokens file.
pub fn parse_accounts(text: &str) -> anyhow::Result<Vec<Account>> {
    let file: TokensFile = toml::from_str(text)?;
    validate_accounts(&file.supervisor)?;
    Ok(file.supervisor)
}

/// Checks that accounts can be told apart and that each is usable.
pub fn validate_accounts(accounts: &[Account]) -> anyhow::Result<()> {
    if accounts.is_empty() {
        bail!("no supervisors: add at least one [[supervisor]] table");
    }
    let mut tokens = HashSet::new();
    let mut ids = HashSet::new();
    for (n, account) in accounts.iter().enumerate() {
        let which = format!("supervisor #{} (id {:?})", n + 1, account.id);
        if account.id.trim().is_empty() {
            bail!("supervisor #{}: `id` is empty", n + 1);
        }
        if account.token.trim().is_empty() {
            bail!("{which}: `token` is empty");
        }
        if account
            .token
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            bail!("{which}: `token` must not contain spaces or control characters");
        }
        if account.name.trim().is_empty() {
            bail!("{which}: `name` is empty");
        }
        if account.teams.is_empty() {
            bail!("{which}: `teams` is empty, so this supervisor would see nothing");
        }
        if let Some(team) = account.teams.iter().find(|t| t.trim().is_empty()) {
            bail!("{which}: team name {team:?} is empty");
        }
        if !ids.insert(account.id.as_str()) {
            bail!("{which}: the id is used twice");
        }
        if !tokens.insert(account.token.as_str()) {
            bail!("{which}: the token is already used by another supervisor");
        }
    }
    Ok(())
}

/// The accounts `floorwalk demo` and a plain `floorwalk sim` accept:
///
/// | token | id | name | teams | can end calls |
/// |---|---|---|---|---|
/// | `demo-dana` | `sup-1` | Dana Ruiz | billing, retention | yes |
/// | `demo-jorge` | `sup-2` | Jorge Ortiz | sales, support | no |
/// | `demo-amara` | `sup-3` | Amara Okafor | all five teams | yes |
pub fn demo_accounts() -> Vec<Account> {
    let account = |token: &str, id: &str, name: &str, teams: &[&str], can_end_calls| Account {
        token: token.into(),
        id: id.into(),
        name: name.into(),
        teams: teams.iter().map(|t| (*t).to_string()).collect(),
        can_end_calls,
    };
    vec![
        account(
            "demo-dana",
            "sup-1",
            "Dana Ruiz",
            &["billing", "retention"],
            true,
        ),
        account(
            "demo-jorge",
            "sup-2",
            "Jorge Ortiz",
            &["sales", "support"],
            false,
        ),
        account(
            "demo-amara",
            "sup-3",
            "Amara Okafor",
            &["billing", "retention", "sales", "support", "tech"],
            true,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[supervisor]]
token = "t-1"
id = "sup-1"
name = "Dana Ruiz"
teams = ["billing", "retention"]
can_end_calls = true

[[supervisor]]
token = "t-2"
id = "sup-2"
name = "Jorge Ortiz"
teams = ["sales"]
"#;

    #[test]
    fn parses_supervisor_tables() {
        let accounts = parse_accounts(GOOD).unwrap();
        assert_eq!(accounts.len(), 2);
        assert_eq!(accounts[0].teams, ["billing", "retention"]);
        assert!(accounts[0].can_end_calls);
        assert!(
            !accounts[1].can_end_calls,
            "can_end_calls defaults to false"
        );
    }

    #[test]
    fn bad_files_get_clear_errors() {
        let cases = [
            ("", "no supervisors"),
            (
                "[[supervisor]]\ntoken = \"t\"\nid = \"s\"\nname = \"N\"\nteams = []",
                "`teams` is empty",
            ),
            (
                "[[supervisor]]\ntoken = \"\"\nid = \"s\"\nname = \"N\"\nteams = [\"a\"]",
                "`token` is empty",
            ),
            (
                "[[supervisor]]\ntoken = \"a b\"\nid = \"s\"\nname = \"N\"\nteams = [\"a\"]",
                "spaces",
            ),
            (
                "[[supervisor]]\ntoken = \"t\"\nid = \"s\"\nname = \"N\"\nteams = [\"a\"]\ncolour = 1",
                "unknown field",
            ),
            (
                "[[supervisor]]\nid = \"s\"\nname = \"N\"\nteams = [\"a\"]",
                "missing field `token`",
            ),
            (
                "[[supervisor]]\ntoken = 5\nid = \"s\"\nname = \"N\"\nteams = [\"a\"]",
                "invalid type",
            ),
        ];
        for (text, expected) in cases {
            let err = format!("{:#}", parse_accounts(text).unwrap_err());
            assert!(
                err.contains(expected),
                "{text:?} gave {err:?}, expected {expected:?}"
            );
        }
    }

    #[test]
    fn duplicate_tokens_and_ids_are_refused() {
        let mut accounts = demo_accounts();
        accounts[1].token = accounts[0].token.clone();
        let err = validate_accounts(&accounts).unwrap_err().to_string();
        assert!(err.contains("token is already used"), "{err}");

        let mut accounts = demo_accounts();
        accounts[2].id = accounts[0].id.clone();
        let err = validate_accounts(&accounts).unwrap_err().to_string();
        assert!(err.contains("id is used twice"), "{err}");
    }

    #[test]
    fn missing_file_names_the_path() {
        let err = load_accounts(Path::new("/nonexistent/tokens.toml")).unwrap_err();
        assert!(format!("{err:#}").contains("/nonexistent/tokens.toml"));
    }

    #[test]
    fn demo_accounts_are_valid_and_the_token_is_not_debug_printed() {
        let accounts = demo_accounts();
        validate_accounts(&accounts).unwrap();
        assert!(!format!("{accounts:?}").contains("demo-dana"));
    }
}
