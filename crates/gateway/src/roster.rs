//! The optional roster file: names, teams and endpoints of agents (also
//! those not on a call), and the queues with the team that serves each.
//!
//! ```toml
//! [[agent]]
//! id = "1001"
//! name = "Ana Lima"
//! team = "billing"
//! endpoints = ["PJSIP/1001"]
//!
//! [[queue]]
//! id = "support"      # the queue's name in queues.conf
//! name = "Support"
//! team = "billing"
//! ```

use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::Path;

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Roster {
    #[serde(default, rename = "agent")]
    pub agents: Vec<RosterAgent>,
    #[serde(default, rename = "queue")]
    pub queues: Vec<RosterQueue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RosterAgent {
    pub id: String,
    pub name: String,
    pub team: String,
    /// Devices whose state is the agent's when off a call, e.g. `PJSIP/1001`.
    #[serde(default)]
    pub endpoints: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RosterQueue {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    pub team: String,
}

impl Roster {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read the roster {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| anyhow::anyhow!("the roster {} {e}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let roster: Roster =
            toml::from_str(text).map_err(|e| anyhow::anyhow!("is not valid: {e}"))?;
        let mut ids = BTreeSet::new();
        for agent in &roster.agents {
            if agent.id.is_empty() || agent.team.is_empty() {
                anyhow::bail!("has an agent without an id or a team");
            }
            if !ids.insert(agent.id.as_str()) {
                anyhow::bail!("lists agent `{}` twice", agent.id);
            }
        }
        let mut queues = BTreeSet::new();
        for queue in &roster.queues {
            if !queues.insert(queue.id.as_str()) {
                anyhow::bail!("lists queue `{}` twice", queue.id);
            }
        }
        Ok(roster)
    }

    pub fn agent(&self, id: &str) -> Option<&RosterAgent> {
        self.agents.iter().find(|a| a.id == id)
    }

    /// The agent whose endpoint `endpoint` (`PJSIP/1001`) is.
    pub fn agent_at(&self, endpoint: &str) -> Option<&RosterAgent> {
        self.agents
            .iter()
            .find(|a| a.endpoints.iter().any(|e| e.eq_ignore_ascii_case(endpoint)))
    }

    pub fn queue(&self, id: &str) -> Option<&RosterQueue> {
        self.queues.iter().find(|q| q.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_roster_parses_and_finds_agents_by_endpoint() {
        let roster = Roster::parse(
            "[[agent]]\nid='1001'\nname='Ana Lima'\nteam='billing'\nendpoints=['PJSIP/1001']\n\
             [[queue]]\nid='support'\nteam='billing'\n",
        )
        .unwrap();
        assert_eq!(roster.agent_at("pjsip/1001").unwrap().name, "Ana Lima");
        assert_eq!(roster.queue("support").unwrap().team, "billing");
        assert!(roster.agent_at("PJSIP/1002").is_none());
    }

    #[test]
    fn a_bad_roster_says_why() {
        for (text, why) in [
            (
                "[[agent]]\nid='1'\nname='A'\nteam='t'\n[[agent]]\nid='1'\nname='B'\nteam='t'\n",
                "twice",
            ),
            ("[[agent]]\nid=''\nname='A'\nteam='t'\n", "without an id"),
            ("[[agnt]]\n", "not valid"),
        ] {
            let err = Roster::parse(text).unwrap_err().to_string();
            assert!(err.contains(why), "{err}");
        }
    }
}
