//! Audit groups: in every 90-minute slot an account has an event or not, from the seed.

use jiff::{SignedDuration, Timestamp};

use super::{Broker, Relationship, World, hex};
use crate::sim::unit;

/// One BlueXP audit group.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditRecord {
    pub account: usize,
    pub request_id: String,
    pub service: &'static str,
    pub action: &'static str,
    pub status: &'static str,
    pub start: Timestamp,
    pub end: Timestamp,
    pub principal: String,
    pub resource_name: Option<String>,
    pub resource_id: Option<String>,
    pub errors: Vec<String>,
}

const AUDIT_SLOT: i64 = 5400;

const AUDIT_ACTIONS: &[(&str, &str)] = &[
    ("cloudsync", "Create Relationship"),
    ("cloudsync", "Update Relationship Settings"),
    ("cloudsync", "Delete Relationship"),
    ("cloudsync", "Sync Relationship"),
    ("cloudsync", "Abort Relationship"),
    ("cloudsync", "Create Data Broker"),
    ("cloudsync", "Update Data Broker Proxy"),
    ("cloudsync", "Delete Data Broker"),
    ("tenancy", "Login"),
    ("tenancy", "Add Workspace Member"),
];

impl World {
    /// Audit groups of an account that started in `[from, to]` and by `now`, newest first.
    pub fn audit(
        &self,
        account: usize,
        from: Timestamp,
        to: Timestamp,
        now: Timestamp,
    ) -> Vec<AuditRecord> {
        let acc = &self.accounts[account];
        let to = to.min(now);
        let mut out = Vec::new();
        if to < from {
            return out;
        }
        let first = from.as_second().div_euclid(AUDIT_SLOT);
        let last = to.as_second().div_euclid(AUDIT_SLOT);
        let rels: Vec<(usize, &Relationship)> = self.relationships_of(account).collect();
        let brokers: Vec<&Broker> = self
            .brokers
            .iter()
            .filter(|b| self.groups[b.group].account == account)
            .collect();
        let principals: Vec<&str> = self
            .users
            .iter()
            .filter(|u| u.accounts.contains(&account))
            .map(|u| u.principal.as_str())
            .collect();
        for slot in first..=last {
            let key = format!("audit:{}", acc.id);
            let u = |what: &str| unit(self.seed, &format!("{key}:{what}"), slot as u64);
            if u("present") >= 0.5 {
                continue;
            }
            let start_ms = slot * AUDIT_SLOT * 1000 + (u("at") * (AUDIT_SLOT * 1000) as f64) as i64;
            let Ok(start) = Timestamp::from_millisecond(start_ms) else {
                continue;
            };
            if start < from || start > to {
                continue;
            }
            let (service, action) = AUDIT_ACTIONS
                [(u("action") * AUDIT_ACTIONS.len() as f64) as usize % AUDIT_ACTIONS.len()];
            let status = match u("status") {
                x if x < 0.08 => "failed",
                x if x < 0.11 => "pending",
                x if x < 0.13 => "aborted",
                _ => "success",
            };
            let (resource_name, resource_id) =
                if action.contains("Relationship") && !rels.is_empty() {
                    let (_, r) = rels[(u("res") * rels.len() as f64) as usize % rels.len()];
                    (Some(r.name()), Some(r.id.clone()))
                } else if action.contains("Data Broker") && !brokers.is_empty() {
                    let b = brokers[(u("res") * brokers.len() as f64) as usize % brokers.len()];
                    (Some(b.name.clone()), Some(b.id.clone()))
                } else if action == "Add Workspace Member" {
                    (Some(format!("user{}@{}", slot % 7, acc.domain)), None)
                } else {
                    (None, None)
                };
            let principal = if principals.is_empty() {
                String::new()
            } else {
                principals[(u("who") * principals.len() as f64) as usize % principals.len()]
                    .to_owned()
            };
            let errors = if status == "failed" {
                vec![format!(
                    "{action} failed: {}",
                    [
                        "timeout waiting for the data broker",
                        "insufficient permissions",
                        "resource is busy"
                    ][slot.rem_euclid(3) as usize]
                )]
            } else {
                Vec::new()
            };
            out.push(AuditRecord {
                account,
                request_id: hex(self.seed, &key, slot as u64, 8),
                service,
                action,
                status,
                start,
                end: start + SignedDuration::from_millis(200 + (u("took") * 30_000.0) as i64),
                principal,
                resource_name,
                resource_id,
                errors,
            });
        }
        out.reverse();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world() -> (World, Timestamp) {
        let now: Timestamp = "2026-03-10T12:34:56Z".parse().unwrap();
        (World::new(11, 30, now), now)
    }

    #[test]
    fn audit_window_is_closed_and_newest_first() {
        let (w, now) = world();
        let from = now - SignedDuration::from_hours(72);
        let events = w.audit(0, from, now, now);
        assert!(events.len() > 10);
        assert!(events.windows(2).all(|p| p[0].start >= p[1].start));
        assert!(events.iter().all(|e| e.start >= from && e.start <= now));
        let later = w.audit(0, from, now + SignedDuration::from_hours(5), now);
        assert_eq!(later, events, "nothing from the future");
    }
}
