//! The simulated Cloud Sync world: accounts, users, data broker groups, relationships and
//! their runs, audit events. Deterministic from the seed; runs are computed lazily from
//! each relationship's schedule, so the latest activity changes as the clock moves and any
//! past run can be recomputed.

use std::time::Duration;

use crate::sim::{mix, unit};
use jiff::{SignedDuration, Timestamp};

mod audit;
mod endpoints;
mod runs;

pub use audit::AuditRecord;
pub use endpoints::Endpoint;
use endpoints::{azure, cifs, nfs, s3};
pub use runs::{Activity, Stats, TopError};

/// Client ids NetApp publishes for the password grant (Cloud Sync docs and the default
/// for personal accounts) and for the refresh-token grant.
pub const PASSWORD_CLIENT_IDS: &[&str] = &[
    "QC3AgHk6qdbmC7Yyr82ApBwaaJLwRrNO",
    "UaVhOIXMWQs5i1WdDxauXe5Mqkb34NJQ",
];
pub const REFRESH_CLIENT_ID: &str = "Mu0V1ywgYteI6w1MbD15fKfVIUrNXGWC";

/// Demo credentials (fixed, so `demo_targets` can write them without the world).
pub const MONITOR_USER: &str = "monitor@example.com";
pub const MONITOR_PASSWORD: &str = "sync-monitor-demo-pw";
pub const MONITOR_REFRESH_TOKEN: &str = "v1.MrCsDemoRefreshTokenMonitor0x5f3a9c";
pub const GLOBEX_USER: &str = "ops@globex.example";
pub const GLOBEX_PASSWORD: &str = "globex-demo-pw";
pub const GLOBEX_REFRESH_TOKEN: &str = "v1.MrCsDemoRefreshTokenGlobex0x77d1e2";

/// The version every healthy data broker runs.
pub const LATEST_BROKER_VERSION: &str = "1.5.2.26318";
const OLD_BROKER_VERSION: &str = "1.4.9.25870";

/// Fixed accounts: (id, name, domain used in host names).
const ACCOUNTS: &[(&str, &str, &str)] = &[
    ("account-JeL97Ry3", "Acme Production", "acme.example"),
    ("account-yX7cS8vU", "Acme Research", "research.acme.example"),
    ("account-Qb3kT9wZ", "Globex", "globex.example"),
];

pub struct Account {
    pub id: String,
    pub name: String,
    domain: String,
}

pub struct User {
    pub email: String,
    pub password: String,
    pub refresh_token: String,
    /// `auth0|...`, the audit service's principal id.
    pub principal: String,
    pub accounts: Vec<usize>,
}

pub struct Group {
    pub id: String,
    pub name: String,
    pub account: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    Online,
    /// Status FAILED since then.
    Failed(Timestamp),
    /// Installed but never called home: no status, no placement.
    NeverContacted,
    /// Status COMPLETE, but its last ping is this old.
    Silent(Timestamp),
    /// Online, one version behind.
    Outdated,
}

pub struct Broker {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub group: usize,
    pub health: Health,
    pub host: String,
}

impl Broker {
    pub fn version(&self) -> Option<&'static str> {
        match self.health {
            Health::NeverContacted => None,
            Health::Outdated => Some(OLD_BROKER_VERSION),
            _ => Some(LATEST_BROKER_VERSION),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    Normal,
    /// Every run fails (bad source credentials since creation).
    NeverSucceeds,
    /// Runs scheduled at or after this time fail.
    FailingSince(Timestamp),
    /// Every run ends DONE with some files that could not be copied.
    FilesFail,
    /// Its data broker failed at this time; the first run after it waits forever.
    StuckPending(Timestamp),
}

pub struct Relationship {
    pub id: String,
    pub account: usize,
    pub group: usize,
    pub broker: usize,
    pub source: Endpoint,
    pub target: Endpoint,
    pub created: Timestamp,
    /// `None`: the scheduler is off (the relationship ran once, when created).
    pub interval: Option<Duration>,
    /// The abort schedule: a run longer than this is aborted.
    pub abort_after: Option<Duration>,
    pub behaviour: Behaviour,
    /// Data set size at creation; it grows slowly.
    pub base_bytes: u64,
    pub avg_file_bytes: u64,
    /// A run's length as a share of the interval, low and high.
    run_share: (f64, f64),
}

impl Relationship {
    /// `<source> -> <target>`, as the exporter should name the object.
    pub fn name(&self) -> String {
        format!("{} -> {}", self.source.display, self.target.display)
    }
}

pub struct World {
    pub seed: u64,
    /// When the world was made (floored to the hour); creation times are relative to it.
    pub epoch: Timestamp,
    pub accounts: Vec<Account>,
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub brokers: Vec<Broker>,
    pub relationships: Vec<Relationship>,
}

const HOUR: u64 = 3600;
const DAY: u64 = 86_400;

const PROJECTS: &[&str] = &[
    "projects", "home", "finance", "hr", "builds", "media", "logs", "research", "archive", "web",
    "cad", "datasets", "genomics", "scans", "exports", "shared",
];

fn hex(seed: u64, key: &str, n: u64, len: usize) -> String {
    let mut s = String::new();
    let mut i = 0;
    while s.len() < len {
        s.push_str(&format!("{:016x}", mix(seed, key, n * 16 + i)));
        i += 1;
    }
    s.truncate(len);
    s
}

fn minus(t: Timestamp, secs: u64) -> Timestamp {
    t - SignedDuration::from_secs(secs as i64)
}

fn plus_ms(t: Timestamp, ms: u64) -> Timestamp {
    t + SignedDuration::from_millis(ms as i64)
}

fn ms_between(a: Timestamp, b: Timestamp) -> u64 {
    (b.as_millisecond() - a.as_millisecond()).max(0) as u64
}

impl World {
    pub fn new(seed: u64, objects: usize, now: Timestamp) -> World {
        let epoch = Timestamp::from_second(now.as_second() - now.as_second().rem_euclid(3600))
            .unwrap_or(now);
        let accounts: Vec<Account> = ACCOUNTS
            .iter()
            .map(|(id, name, domain)| Account {
                id: (*id).into(),
                name: (*name).into(),
                domain: (*domain).into(),
            })
            .collect();
        let users = vec![
            User {
                email: MONITOR_USER.into(),
                password: MONITOR_PASSWORD.into(),
                refresh_token: MONITOR_REFRESH_TOKEN.into(),
                principal: format!("auth0|{}", hex(seed, "principal", 0, 24)),
                accounts: vec![0, 1, 2],
            },
            User {
                email: GLOBEX_USER.into(),
                password: GLOBEX_PASSWORD.into(),
                refresh_token: GLOBEX_REFRESH_TOKEN.into(),
                principal: format!("auth0|{}", hex(seed, "principal", 1, 24)),
                accounts: vec![2],
            },
        ];
        let group_names = [
            ("acme-prod-aws", 0),
            ("acme-onprem", 0),
            ("research", 1),
            ("globex-main", 2),
            ("globex-dr", 2),
        ];
        let groups: Vec<Group> = group_names
            .iter()
            .enumerate()
            .map(|(i, (name, account))| Group {
                id: hex(seed, "group", i as u64, 24),
                name: (*name).into(),
                account: *account,
            })
            .collect();
        let failed_since = minus(epoch, 2 * DAY);
        let broker_list: [(&str, &str, usize, Health); 7] = [
            ("db-aws-1", "AWS", 0, Health::Online),
            ("db-aws-2", "AWS", 0, Health::Outdated),
            (
                "db-onprem-1",
                "ONPREM",
                1,
                Health::Silent(minus(epoch, 3 * HOUR)),
            ),
            ("db-gcp-1", "GCP", 2, Health::Online),
            ("db-azure-new", "AZURE", 2, Health::NeverContacted),
            ("db-globex-1", "ONPREM", 3, Health::Online),
            ("db-globex-dr", "ONPREM", 4, Health::Failed(failed_since)),
        ];
        let brokers: Vec<Broker> = broker_list
            .iter()
            .enumerate()
            .map(|(i, (name, kind, group, health))| Broker {
                id: hex(seed, "broker", i as u64, 24),
                name: (*name).into(),
                kind,
                group: *group,
                health: *health,
                host: format!("{name}.{}", accounts[groups[*group].account].domain),
            })
            .collect();
        // The main group of each account, and its first broker.
        let main_group = [0usize, 2, 3];
        let first_broker = |g: usize| brokers.iter().position(|b| b.group == g).unwrap_or(0);

        let count = objects.max(9);
        let mut relationships = Vec::with_capacity(count);
        for k in 0..count {
            let u = |what: &str| unit(seed, what, k as u64);
            let (account, behaviour, interval_h, abort_after, run_share, age_days) = match k {
                0 => (
                    0,
                    Behaviour::NeverSucceeds,
                    Some(24),
                    None,
                    (0.05, 0.2),
                    120,
                ),
                1 => (
                    0,
                    Behaviour::FailingSince(minus(epoch, 3 * DAY)),
                    Some(6),
                    None,
                    (0.1, 0.3),
                    200,
                ),
                2 => (1, Behaviour::Normal, Some(12), None, (0.05, 0.3), 150),
                3 => (1, Behaviour::Normal, None, None, (0.05, 0.1), 90),
                4 => (2, Behaviour::FilesFail, Some(24), None, (0.05, 0.2), 300),
                5 => (
                    2,
                    Behaviour::StuckPending(failed_since),
                    Some(4),
                    None,
                    (0.1, 0.3),
                    180,
                ),
                6 => (
                    0,
                    Behaviour::Normal,
                    Some(8),
                    Some(2 * HOUR),
                    (0.3, 0.45),
                    240,
                ),
                7 => (1, Behaviour::Normal, Some(1), None, (0.85, 0.95), 100),
                8 => (2, Behaviour::Normal, Some(24), None, (0.05, 0.2), 3),
                _ => {
                    let choices = [1, 4, 6, 12, 24, 24, 24, 168];
                    let i = (u("interval") * choices.len() as f64) as usize;
                    (
                        k % 3,
                        Behaviour::Normal,
                        Some(choices[i.min(choices.len() - 1)]),
                        None,
                        (0.05, 0.4),
                        50 + (u("age") * 350.0) as u64,
                    )
                }
            };
            let acc = &accounts[account];
            let slug = acc.name.to_ascii_lowercase().replace(' ', "-");
            let proj = format!("{}-{k:02}", PROJECTS[k % PROJECTS.len()]);
            let (source, target) = match k {
                0 => (
                    cifs(&format!("fs01.{}", acc.domain), "finance", "ledger"),
                    azure("acmefinance", "backup", "ledger"),
                ),
                2 => (
                    nfs(
                        &format!("test-nfs01.{}", acc.domain),
                        "/export/scratch",
                        "",
                        "onprem",
                    ),
                    s3(&format!("{slug}-test"), "scratch"),
                ),
                _ => endpoints::endpoints(seed, k, &acc.domain, &slug, &proj),
            };
            let group = if k == 5 { 4 } else { main_group[account] };
            let created = minus(epoch, age_days * DAY + (u("created") * DAY as f64) as u64);
            relationships.push(Relationship {
                id: hex(seed, "relationship", k as u64, 24),
                account,
                group,
                broker: first_broker(group),
                source,
                target,
                created,
                interval: interval_h.map(|h| Duration::from_secs(h * HOUR)),
                abort_after: abort_after.map(Duration::from_secs),
                behaviour,
                base_bytes: (2e9 + u("size") * 4e11) as u64,
                avg_file_bytes: (64_000.0 + u("filesize") * 4e6) as u64,
                run_share,
            });
        }
        World {
            seed,
            epoch,
            accounts,
            users,
            groups,
            brokers,
            relationships,
        }
    }

    pub fn account_index(&self, id: &str) -> Option<usize> {
        self.accounts.iter().position(|a| a.id == id)
    }

    pub fn relationships_of(&self, account: usize) -> impl Iterator<Item = (usize, &Relationship)> {
        self.relationships
            .iter()
            .enumerate()
            .filter(move |(_, r)| r.account == account)
    }

    /// When a data broker last called home.
    pub fn last_ping(&self, b: usize, now: Timestamp) -> Option<Timestamp> {
        let broker = &self.brokers[b];
        match broker.health {
            Health::NeverContacted => None,
            Health::Failed(t) | Health::Silent(t) => Some(t),
            _ => {
                let lag = unit(self.seed, &broker.id, (now.as_second() / 60) as u64) * 40_000.0;
                Some(now - SignedDuration::from_millis(lag as i64))
            }
        }
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
    fn same_seed_same_world() {
        let (a, now) = world();
        let b = World::new(11, 30, now);
        for r in 0..a.relationships.len() {
            assert_eq!(a.relationships[r].id, b.relationships[r].id);
            assert_eq!(a.activity(r, now), b.activity(r, now));
        }
    }
}
