//! The simulated estate: appliances, SLA templates, applications and disk pools. Fixed by
//! the seed and the object count; the history they produce is in `history.rs`.
//!
//! Planted on purpose (by application index):
//! 0 `erp-legacy-db` never succeeded; 1 `crm-prod-db01` has failed every backup since four
//! days before the world was made; 2 and 3 are `test-*` systems; 4 is not protected at all;
//! 5 had its schedule turned off ten days before. Appliance 3 is a DR site the console
//! cannot reach; the snapshot pools of appliances 1 and 2 are over their warning and
//! critical thresholds.

use std::time::Duration;

use jiff::Timestamp;

use crate::sim::{mix, unit};

/// How long the console keeps job history, events and audit records.
pub const RETENTION: Duration = Duration::from_secs(45 * 86_400);
/// No job runs longer than this (the generator relies on it to bound time-range queries).
pub const MAX_JOB_DURATION: Duration = Duration::from_secs(4 * 3600);

pub const MIB_PER_TIB: u64 = 1024 * 1024;

/// Application ids: `APP_ID_BASE + APP_ID_STEP * index`.
const APP_ID_BASE: u64 = 400_000;
const APP_ID_STEP: u64 = 17;

#[derive(Clone, Debug)]
pub struct Appliance {
    pub index: usize,
    pub id: String,
    /// The appliance serial, not the console id.
    pub clusterid: String,
    pub name: String,
    pub region: &'static str,
    /// False for the DR appliance the console has lost touch with.
    pub reachable: bool,
    /// Snapshot pool size.
    pub pool_capacity_mb: u64,
    /// Base fill of the snapshot pool, 0..1.
    pub pool_fill: f64,
}

#[derive(Clone, Debug)]
pub struct Policy {
    pub id: String,
    pub name: &'static str,
    /// The policy's `op` word.
    pub op: &'static str,
    /// The `jobclass` of the jobs it runs.
    pub jobclass: &'static str,
    pub rpo_hours: u64,
    pub retention_days: u64,
    /// Window start, seconds after midnight UTC.
    pub start_s: u64,
    pub continuous: bool,
}

#[derive(Clone, Debug)]
pub struct Template {
    pub index: usize,
    pub id: String,
    pub name: &'static str,
    pub description: &'static str,
    pub policies: Vec<Policy>,
}

impl Template {
    /// The RPO the template implies: its most frequent capture.
    pub fn rpo(&self) -> Duration {
        let h = self
            .policies
            .iter()
            .filter(|p| p.op != "stream_snap")
            .map(|p| p.rpo_hours)
            .min()
            .unwrap_or(24);
        Duration::from_secs(h * 3600)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Trouble {
    None,
    NeverSucceeds,
    /// Every capture fails from this time on.
    FailingSince(Timestamp),
    /// The SLA's schedule was turned off at this time: no scheduled jobs after it.
    ScheduleOffSince(Timestamp),
}

#[derive(Clone, Debug)]
pub struct App {
    pub index: usize,
    pub id: String,
    pub name: String,
    pub apptype: &'static str,
    pub host_id: String,
    pub hostname: String,
    pub appliance: usize,
    pub template: Option<usize>,
    /// `managed` on the wire: has an SLA.
    pub managed: bool,
    pub sla_id: Option<String>,
    pub trouble: Trouble,
    pub size_bytes: u64,
    pub fail_rate: f64,
    /// Seconds added to every policy's window start for this application.
    pub offset_s: u64,
    /// Gets mounted for restores now and then.
    pub mounts: bool,
    /// Waits long in the queue and runs for hours.
    pub slow: bool,
}

impl App {
    pub fn schedule_off(&self) -> bool {
        matches!(self.trouble, Trouble::ScheduleOffSince(_))
    }

    /// What the exporter should call protected: an SLA whose schedule is on.
    pub fn protected(&self) -> bool {
        self.managed && !self.schedule_off()
    }
}

#[derive(Clone, Debug)]
pub struct World {
    pub seed: u64,
    /// When the world was made (to the hour). Planted trouble is placed relative to it, so
    /// that history already served never changes as the clock moves.
    pub anchor: Timestamp,
    pub appliances: Vec<Appliance>,
    pub templates: Vec<Template>,
    pub apps: Vec<App>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SimPool {
    pub id: String,
    pub name: String,
    /// `perf` (snapshot pool) or `vault` (OnVault, a cloud bucket).
    pub pooltype: &'static str,
    pub appliance: usize,
    /// 0 for vault pools: a bucket has no capacity.
    pub capacity_mb: u64,
    pub usage_mb: u64,
    pub warnpct: u32,
    pub safepct: u32,
}

impl SimPool {
    pub fn pct(&self) -> f64 {
        if self.capacity_mb == 0 {
            0.0
        } else {
            (self.usage_mb as f64 / self.capacity_mb as f64 * 10_000.0).round() / 100.0
        }
    }
}

fn policy(
    id: u64,
    name: &'static str,
    op: &'static str,
    jobclass: &'static str,
    rpo_hours: u64,
    retention_days: u64,
    start_s: u64,
) -> Policy {
    Policy {
        id: id.to_string(),
        name,
        op,
        jobclass,
        rpo_hours,
        retention_days,
        start_s,
        continuous: rpo_hours < 24,
    }
}

fn templates() -> Vec<Template> {
    vec![
        Template {
            index: 0,
            id: "4101".into(),
            name: "gold-6h-replicated",
            description: "Snapshots every 6 hours, replicated to the DR site, daily OnVault",
            policies: vec![
                policy(4111, "snap-6h", "snap", "snapshot", 6, 3, 0),
                policy(
                    4112,
                    "streamsnap-dr",
                    "stream_snap",
                    "StreamSnap",
                    24,
                    7,
                    3600,
                ),
                policy(4113, "onvault-daily", "cloud", "OnVault", 24, 30, 7200),
            ],
        },
        Template {
            index: 1,
            id: "4201".into(),
            name: "silver-daily",
            description: "Daily snapshot at night, daily OnVault",
            policies: vec![
                policy(4211, "snap-daily", "snap", "snapshot", 24, 7, 79_200),
                policy(4212, "onvault-daily", "cloud", "OnVault", 24, 30, 3600),
            ],
        },
        Template {
            index: 2,
            id: "4301".into(),
            name: "bronze-direct-onvault",
            description: "Daily backup straight to OnVault",
            policies: vec![policy(
                4311,
                "direct-onvault",
                "DirectOnVault",
                "DirectOnVault",
                24,
                14,
                75_600,
            )],
        },
        Template {
            index: 3,
            id: "4401".into(),
            name: "db-4h-dedup",
            description: "Snapshots every 4 hours, daily dedup copy",
            policies: vec![
                policy(4411, "snap-4h", "snap", "snapshot", 4, 2, 1800),
                policy(4412, "dedup-daily", "dedup", "dedup", 24, 14, 10_800),
            ],
        },
    ]
}

fn appliances() -> Vec<Appliance> {
    let specs = [
        ("bdr-europe-west1-a", "europe-west1", true, 20, 0.62),
        ("bdr-europe-north1-a", "europe-north1", true, 40, 0.835),
        ("bdr-us-east1-a", "us-east1", true, 10, 0.915),
        ("bdr-dr-europe-west4", "europe-west4", false, 30, 0.41),
    ];
    specs
        .iter()
        .enumerate()
        .map(|(i, (name, region, reachable, tib, fill))| Appliance {
            index: i,
            id: (1001 + i).to_string(),
            clusterid: (144_091_747_690u64 + i as u64 * 7).to_string(),
            name: (*name).to_owned(),
            region,
            reachable: *reachable,
            pool_capacity_mb: tib * MIB_PER_TIB,
            pool_fill: *fill,
        })
        .collect()
}

const ROLES: &[&str] = &[
    "sql", "web", "erp", "crm", "files", "hana", "oracle", "mail", "git", "wiki", "ldap", "kafka",
    "etl", "reports", "vdi", "ci",
];

fn apptype_of(role: &str, k: usize) -> &'static str {
    match role {
        "sql" => "SqlServerWriter",
        "oracle" | "erp" | "crm" => "Oracle",
        "hana" => "SAP HANA",
        "files" => "FileSystem",
        "etl" | "reports" => "SqlInstance",
        _ if k.is_multiple_of(2) => "GCPInstance",
        _ => "VMBackup",
    }
}

impl World {
    /// The estate for `seed` with about `objects` applications (at least 8, so that every
    /// planted case exists), made at `now` (rounded down to the hour).
    pub fn new(seed: u64, objects: usize, now: Timestamp) -> World {
        let anchor = Timestamp::from_second(now.as_second() - now.as_second().rem_euclid(3600))
            .unwrap_or(now);
        let day = jiff::SignedDuration::from_hours(24);
        let n = objects.max(8);
        let mut apps = Vec::with_capacity(n);
        for k in 0..n {
            let (name, role, template, trouble, managed) = match k {
                0 => (
                    "erp-legacy-db".to_owned(),
                    "erp",
                    Some(1),
                    Trouble::NeverSucceeds,
                    true,
                ),
                1 => (
                    "crm-prod-db01".to_owned(),
                    "crm",
                    Some(0),
                    Trouble::FailingSince(anchor - day * 4),
                    true,
                ),
                2 => (
                    "test-sql-01".to_owned(),
                    "sql",
                    Some(1),
                    Trouble::None,
                    true,
                ),
                3 => (
                    "test-web-02".to_owned(),
                    "web",
                    Some(2),
                    Trouble::None,
                    true,
                ),
                4 => (
                    "scratch-vm-07".to_owned(),
                    "vdi",
                    None,
                    Trouble::None,
                    false,
                ),
                5 => (
                    "archive-fs-01".to_owned(),
                    "files",
                    Some(2),
                    Trouble::ScheduleOffSince(anchor - day * 20),
                    true,
                ),
                6 => (
                    "hana-prod-big".to_owned(),
                    "hana",
                    Some(3),
                    Trouble::None,
                    true,
                ),
                _ => {
                    let role =
                        ROLES[(mix(seed, "bdr/role", k as u64) % ROLES.len() as u64) as usize];
                    let env = if k % 5 == 4 { "stage" } else { "prod" };
                    (
                        format!("{role}-{env}-{k:02}"),
                        role,
                        Some(k % 4),
                        Trouble::None,
                        true,
                    )
                }
            };
            let id_num = APP_ID_BASE + APP_ID_STEP * k as u64;
            let fail_rate =
                [0.01, 0.02, 0.04, 0.10][(mix(seed, "bdr/flaky", k as u64) % 4) as usize];
            apps.push(App {
                index: k,
                id: id_num.to_string(),
                hostname: name.clone(),
                name,
                apptype: apptype_of(role, k),
                host_id: (300_000 + 17 * k as u64).to_string(),
                appliance: k % 3,
                template: if managed { template } else { None },
                managed,
                sla_id: managed.then(|| (500_000 + 17 * k as u64).to_string()),
                trouble,
                size_bytes: (20 + mix(seed, "bdr/size", k as u64) % 1980) << 30,
                fail_rate,
                offset_s: mix(seed, "bdr/offset", k as u64) % 5400,
                mounts: k % 5 == 0,
                slow: k == 6,
            });
        }
        World {
            seed,
            anchor,
            appliances: appliances(),
            templates: templates(),
            apps,
        }
    }

    /// The application with console id `id`. Ids are `APP_ID_BASE + APP_ID_STEP * index`, so
    /// this is a lookup, not a scan: a refresh asks for every application by id.
    pub fn app(&self, id: &str) -> Option<&App> {
        let k = id.parse::<u64>().ok()?.checked_sub(APP_ID_BASE)?;
        if k % APP_ID_STEP != 0 {
            return None;
        }
        let a = self.apps.get(usize::try_from(k / APP_ID_STEP).ok()?)?;
        (a.id == id).then_some(a)
    }

    pub fn template_of(&self, app: &App) -> Option<&Template> {
        app.template.map(|t| &self.templates[t])
    }

    /// Disk pools as of `now`: a snapshot pool per appliance whose fill drifts a little over
    /// the week, and an OnVault bucket per appliance with data that grows by a GiB a day.
    pub fn pools(&self, now: Timestamp) -> Vec<SimPool> {
        let hours = now.as_second().div_euclid(3600);
        let drift = ((hours.rem_euclid(168)) as f64 / 168.0 * std::f64::consts::TAU).sin() * 0.004;
        let days = ((now.as_second() - self.anchor.as_second()).max(0) / 86_400) as u64;
        let mut out = Vec::new();
        for a in &self.appliances {
            let fill = (a.pool_fill + drift).clamp(0.0, 1.0);
            out.push(SimPool {
                id: (2000 + a.index * 10).to_string(),
                name: "act_per_pool000".into(),
                pooltype: "perf",
                appliance: a.index,
                capacity_mb: a.pool_capacity_mb,
                usage_mb: (a.pool_capacity_mb as f64 * fill).round() as u64,
                warnpct: 80,
                safepct: 90,
            });
            if a.reachable {
                out.push(SimPool {
                    id: (2001 + a.index * 10).to_string(),
                    name: format!("onvault-{}", a.region),
                    pooltype: "vault",
                    appliance: a.index,
                    capacity_mb: 0,
                    usage_mb: (3 + a.index as u64) * MIB_PER_TIB / 2 + days * 1024,
                    warnpct: 0,
                    safepct: 0,
                });
            }
        }
        out
    }

    /// A number in 0..1 for `(what, n)`, stable for this world.
    pub(super) fn unit(&self, what: &str, n: u64) -> f64 {
        unit(self.seed, what, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp::from_second(1_780_000_123).unwrap()
    }

    #[test]
    fn planted_cases_exist_for_any_size() {
        let w = World::new(7, 3, now());
        assert_eq!(w.apps.len(), 8);
        assert_eq!(w.anchor.as_second() % 3600, 0);
        assert_eq!(w.apps[0].trouble, Trouble::NeverSucceeds);
        assert!(matches!(w.apps[1].trouble, Trouble::FailingSince(_)));
        assert!(
            w.apps
                .iter()
                .filter(|a| a.name.starts_with("test-"))
                .count()
                >= 2
        );
        assert!(!w.apps[4].protected() && w.apps[4].template.is_none());
        assert!(w.apps[5].managed && !w.apps[5].protected());
        assert!(w.appliances.iter().any(|a| !a.reachable));
    }

    #[test]
    fn applications_are_found_by_id_and_only_by_their_id() {
        let w = World::new(7, 300, now());
        for a in &w.apps {
            assert_eq!(w.app(&a.id).map(|x| x.index), Some(a.index));
        }
        for id in ["", "x", "399983", "400001", "0400017", "405100", "-400000"] {
            assert!(w.app(id).is_none(), "{id}");
        }
    }

    #[test]
    fn same_seed_same_world_and_unique_names() {
        let a = World::new(42, 60, now());
        let b = World::new(42, 60, now());
        assert_eq!(
            a.apps.iter().map(|x| &x.name).collect::<Vec<_>>(),
            b.apps.iter().map(|x| &x.name).collect::<Vec<_>>()
        );
        let mut names: Vec<&String> = a.apps.iter().map(|x| &x.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 60);
    }

    #[test]
    fn pools_cross_their_thresholds_as_planted() {
        let w = World::new(1, 10, now());
        let perf: Vec<SimPool> = w
            .pools(now())
            .into_iter()
            .filter(|p| p.pooltype == "perf")
            .collect();
        assert!(perf[0].pct() < 80.0);
        assert!((80.0..90.0).contains(&perf[1].pct()), "{}", perf[1].pct());
        assert!(perf[2].pct() >= 90.0);
    }
}
