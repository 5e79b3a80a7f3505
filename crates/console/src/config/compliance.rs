//! `[compliance]`: when rejoining a call needs the monitoring notice.
//!
//! Joining a call and leaving it again needs no new announcement, but
//! rejoining the same call later may, depending on the jurisdiction. The
//! rule is set for every call (the table's own keys), and per team
//! (`[compliance.teams.NAME]`) and per queue (`[compliance.queues.ID]`),
//! each key falling back to the wider rule: queue, then team, then the
//! default.
//!
//! * `rejoin_announcement`: `never` (the default), `barge` (rejoining in
//!   barge, where the customer hears the supervisor) or `always` (rejoining
//!   in any mode).
//! * `rejoin_grace_secs`: a rejoin within this many seconds of leaving the
//!   call counts as continuing the same monitoring (0, the default: any
//!   rejoin counts).

use serde::Deserialize;
use std::collections::BTreeMap;

/// Which rejoins need the monitoring notice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejoinAnnouncement {
    #[default]
    Never,
    Barge,
    Always,
}

/// A team's or a queue's rule; what it leaves out, the wider rule says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RejoinRuleOverride {
    pub rejoin_announcement: Option<RejoinAnnouncement>,
    pub rejoin_grace_secs: Option<u64>,
}

/// The rule that applies to one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RejoinRule {
    pub announcement: RejoinAnnouncement,
    pub grace_secs: u64,
}

/// The `[compliance]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ComplianceSection {
    pub rejoin_announcement: RejoinAnnouncement,
    pub rejoin_grace_secs: u64,
    /// By team name, as the server names teams.
    pub teams: BTreeMap<String, RejoinRuleOverride>,
    /// By queue id, as the server names queues.
    pub queues: BTreeMap<String, RejoinRuleOverride>,
}

impl ComplianceSection {
    /// The rule for a call of `team`'s agent, in `queue` if it came
    /// through one: the queue's keys, else the team's, else the default's.
    pub fn rule(&self, team: Option<&str>, queue: Option<&str>) -> RejoinRule {
        let queue = queue.and_then(|q| self.queues.get(q));
        let team = team.and_then(|t| self.teams.get(t));
        let narrowest = [queue, team];
        RejoinRule {
            announcement: narrowest
                .iter()
                .flatten()
                .find_map(|rule| rule.rejoin_announcement)
                .unwrap_or(self.rejoin_announcement),
            grace_secs: narrowest
                .iter()
                .flatten()
                .find_map(|rule| rule.rejoin_grace_secs)
                .unwrap_or(self.rejoin_grace_secs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_beats_the_team_beats_the_default_key_by_key() {
        let section: ComplianceSection = toml::from_str(
            r#"
            rejoin_announcement = "barge"
            rejoin_grace_secs = 30
            [teams.retention]
            rejoin_announcement = "always"
            [queues.billing]
            rejoin_grace_secs = 5
            [queues.vip]
            rejoin_announcement = "never"
            "#,
        )
        .unwrap();
        let rule = |team, queue| {
            let r = section.rule(team, queue);
            (r.announcement, r.grace_secs)
        };
        assert_eq!(rule(None, None), (RejoinAnnouncement::Barge, 30));
        assert_eq!(
            rule(Some("retention"), None),
            (RejoinAnnouncement::Always, 30)
        );
        assert_eq!(
            rule(Some("retention"), Some("billing")),
            (RejoinAnnouncement::Always, 5)
        );
        assert_eq!(
            rule(Some("retention"), Some("vip")),
            (RejoinAnnouncement::Never, 30)
        );
        assert_eq!(
            rule(Some("sales"), Some("other")),
            (RejoinAnnouncement::Barge, 30)
        );
        assert_eq!(
            ComplianceSection::default().rule(Some("x"), None),
            RejoinRule::default()
        );
    }

    #[test]
    fn unknown_values_and_keys_are_refused() {
        assert!(
            toml::from_str::<ComplianceSection>(r#"rejoin_announcement = "sometimes""#).is_err()
        );
        assert!(toml::from_str::<ComplianceSection>("[teams.a]\nannounce = true").is_err());
        assert!(toml::from_str::<ComplianceSection>("rejoin_grace_secs = -1").is_err());
    }
}
