//! The simulated Cloutility tenant: a business-unit tree, consumers with backup nodes,
//! filespaces and storage pools, and a job history generated lazily from each node's
//! schedule (the outcome of run n of a node is `sim::unit(seed, node, n)` against fixed
//! thresholds), so any time range can be served and new runs appear as the clock moves.
//!
//! Tests read the expected answers from here ([`World::jobs`], [`World::latest_report`],
//! [`World::audit`], ...) instead of hard-coding numbers. Each run also carries the result
//! the simulator meant (`expected`), independent of the status words it writes.

use std::collections::HashMap;

use jiff::Timestamp;

use crate::model::{JobKind, JobResult};
use crate::sim::{mix, unit};

pub const CLIENT_ID: &str = "9ea349a5-deff-4b0e-8b99-30e63d055dc1";
pub const ORIGIN: &str = "https://monitoring.example.com";
pub const USERNAME: &str = "monitor@example.com";
pub const PASSWORD: &str = "demo-password-cloutility";
pub const FULL_VERSION: &str = "1.0.4480.0";
pub const TOKEN_LIFETIME_S: u64 = 299;

pub(super) const DAY: i64 = 86_400;
pub(super) const HOUR: i64 = 3_600;
/// How much history the portal still holds, back from the moment the world was built.
const HISTORY_DAYS: i64 = 90;
/// Daily reports are generated at 03:00 UTC.
pub(super) const REPORT_HOUR: i64 = 3;
/// A missed run is pending until its start window of one hour has passed.
pub(super) const START_WINDOW: i64 = HOUR;

pub(crate) fn ts(s: i64) -> Timestamp {
    Timestamp::from_second(s).unwrap_or(Timestamp::UNIX_EPOCH)
}

#[derive(Clone, Debug)]
pub struct BusinessUnit {
    pub id: u64,
    pub parent: Option<u64>,
    pub name: String,
    pub created: Timestamp,
}

/// Something the data set plants on purpose, so that tests and the demo see every case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plant {
    Ordinary,
    /// Every run fails or is missed (missed on even days).
    NeverSucceeded,
    /// Runs of the last four days (before the world was built, and ever after) fail.
    RepeatedFailures,
    /// A consumer without a backup node (not activated): unprotected, no jobs.
    NoNode,
    /// Node decommissioned 20 days ago: unprotected, no runs since, errors deactivated.
    Decommissioned,
    /// Node locked 3 days ago: unprotected, no runs since, "No activity".
    Locked,
    /// Created five days ago.
    New,
    /// Over its storage limit.
    OverStorageLimit,
    /// Every run completes with warnings (return code 8: files in use).
    FilesInUse,
    /// Carries a warning type the exporter does not know; its run of the day before the
    /// world was built was cancelled.
    UnusualWarning,
    /// Consumer set inactive 10 days ago (`dataSourceState` `Inactive`): unprotected, no
    /// runs since.
    Inactive,
    /// A backup node was created but never activated (no `tsmName`, no `activatedDate`):
    /// unprotected, no runs, no filespaces.
    NotActivated,
}

#[derive(Clone, Debug)]
pub struct Consumer {
    pub id: u64,
    pub bunit: u64,
    pub name: String,
    pub created: Timestamp,
    pub plant: Plant,
    /// `limitHighStorage` in GB, where set.
    pub limit_high_storage_gb: Option<f64>,
    pub node: Option<Node>,
}

#[derive(Clone, Debug)]
pub struct Node {
    pub id: u64,
    pub tsm_name: String,
    pub node_type: (u64, &'static str),
    pub os: (u64, &'static str),
    pub domain: (u64, &'static str),
    pub schedule: Schedule,
    pub activated: Timestamp,
    pub locked_since: Option<Timestamp>,
    pub decommissioned_since: Option<Timestamp>,
    /// When the consumer was set inactive.
    pub inactive_since: Option<Timestamp>,
    /// Created but never activated: no Storage Protect name, no activation date, no runs.
    pub never_activated: bool,
    /// Runs a weekly archive as well.
    pub archives: bool,
    pub filespaces: Vec<Filespace>,
}

#[derive(Clone, Debug)]
pub struct Schedule {
    pub id: u64,
    pub name: &'static str,
    /// Seconds after midnight UTC of the first run of the day.
    pub start_of_day: i64,
    /// 24 h or 12 h.
    pub every_hours: i64,
}

#[derive(Clone, Debug)]
pub struct Filespace {
    pub id: u64,
    pub name: String,
    pub fs_type: &'static str,
    pub capacity_mb: f64,
    pub utilized_pct: f64,
    pub front_end_mb: u64,
    pub occupancies: Vec<Occupancy>,
}

#[derive(Clone, Debug)]
pub struct Occupancy {
    /// Index into [`World::pools`].
    pub pool: usize,
    /// Archive data rather than backup versions.
    pub archive: bool,
    pub files: u64,
    pub reporting_mb: f64,
    pub physical_mb: f64,
    pub logical_mb: f64,
}

#[derive(Clone, Debug)]
pub struct Pool {
    pub id: u64,
    pub name: &'static str,
    pub pool_type: &'static str,
    pub total_mb: f64,
    pub free_mb: f64,
}

#[derive(Clone, Debug)]
pub struct WarningType {
    pub id: u64,
    pub name: &'static str,
    pub uses_limit: bool,
}

/// One job as the portal shows it at a given moment.
#[derive(Clone, Debug, PartialEq)]
pub struct JobRun {
    pub id: u64,
    pub consumer: u64,
    pub type_id: u64,
    pub type_name: &'static str,
    pub status_id: u64,
    pub status: &'static str,
    /// The client return code, where the event has one.
    pub result: Option<i64>,
    pub scheduled: bool,
    pub scheduled_start: Timestamp,
    pub actual_start: Option<Timestamp>,
    pub completed: Option<Timestamp>,
    pub duration_s: Option<i64>,
    pub transferred_mb: f64,
    pub examined_files: u64,
    pub affected_files: u64,
    pub failed_files: u64,
    /// What the simulator meant this run to be.
    pub expected: JobResult,
    pub expected_kind: JobKind,
}

impl JobRun {
    /// When the run counts as having happened: completion, else start, else schedule.
    pub fn time(&self) -> Timestamp {
        self.completed
            .or(self.actual_start)
            .unwrap_or(self.scheduled_start)
    }
}

#[derive(Clone, Debug)]
pub struct ReportWarning {
    pub id: u64,
    pub type_id: u64,
    /// ErrorStatus: 1 warning, 2 error.
    pub status: u8,
    pub days: i64,
    pub limit: f64,
}

#[derive(Clone, Debug)]
pub struct Report {
    pub id: u64,
    pub consumer: u64,
    pub date: Timestamp,
    /// ErrorStatus: 0 OK, 1 warning, 2 error.
    pub status: u8,
    pub errors_deactivated: bool,
    pub stored_mb: f64,
    pub warnings: Vec<ReportWarning>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AuditRecord {
    pub id: u64,
    pub consumer: u64,
    pub time: Timestamp,
    /// 0 info, 100 create, 200 modify, 300 delete, 400 error.
    pub audit_type: u16,
    pub actor: &'static str,
    pub application: &'static str,
    pub description: String,
}

pub struct World {
    pub seed: u64,
    /// When the world was built: created dates and plants are relative to it.
    pub built: Timestamp,
    /// The portal holds no jobs, reports or audit entries before this.
    pub horizon: Timestamp,
    pub bunits: Vec<BusinessUnit>,
    pub consumers: Vec<Consumer>,
    pub pools: Vec<Pool>,
    pub warning_types: Vec<WarningType>,
    by_id: HashMap<u64, usize>,
}

const BUNITS: &[(u64, Option<u64>, &str)] = &[
    (22, None, "Safespring Demo AB"),
    (76, Some(22), "Finance AB"),
    (81, Some(76), "Finance AB - Stockholm"),
    (94, Some(22), "Marketing Department"),
    (103, Some(22), "Research Lab"),
    (117, Some(103), "Research Lab - GPU cluster"),
];

const NODE_TYPES: &[(u64, &str)] = &[
    (1, "File Server"),
    (2, "Workstation"),
    (3, "Application server"),
    (4, "Database server"),
];
const OPERATING_SYSTEMS: &[(u64, &str)] = &[
    (1, "Windows Server 2022"),
    (2, "Ubuntu 22.04"),
    (3, "Red Hat Enterprise Linux 9"),
    (4, "Windows 11"),
];
const DOMAINS: &[(u64, &str)] = &[
    (1, "STANDARD"),
    (2, "30DAYS"),
    (3, "60DAYS"),
    (4, "90DAYS"),
    (5, "1YEAR"),
];
const PREFIXES: &[&str] = &[
    "db", "fs", "app", "web", "mail", "ws", "sql", "vm", "git", "erp",
];
pub(super) const ACTORS: &[&str] = &[
    "Administrator",
    "alice@example.com",
    "bob@example.com",
    "System",
];

fn warning_types() -> Vec<WarningType> {
    let t = |id, name, uses_limit| WarningType {
        id,
        name,
        uses_limit,
    };
    vec![
        t(1, "No activity", true),
        t(2, "No successful backup", true),
        t(3, "Failed schedule", false),
        t(4, "Missed schedule", false),
        t(5, "Failed files", false),
        t(6, "Storage limit exceeded", true),
        t(7, "Decreased storage", true),
        t(8, "Transfer volume anomaly", true),
    ]
}

fn pools(seed: u64) -> Vec<Pool> {
    const TIB_MB: f64 = 1_048_576.0;
    let free = |key: &str, total: f64| (total * (0.25 + 0.5 * unit(seed, key, 0))).round();
    vec![
        Pool {
            id: 11,
            name: "SAFESPRING_CONTAINER",
            pool_type: "DIRECTORY",
            total_mb: 512.0 * TIB_MB,
            free_mb: free("pool:container", 512.0 * TIB_MB),
        },
        Pool {
            id: 12,
            name: "ARCHIVEPOOL",
            pool_type: "DIRECTORY",
            total_mb: 128.0 * TIB_MB,
            free_mb: free("pool:archive", 128.0 * TIB_MB),
        },
        Pool {
            id: 13,
            name: "COPYPOOL_DR",
            pool_type: "CLOUD",
            total_mb: 1024.0 * TIB_MB,
            free_mb: free("pool:copy", 1024.0 * TIB_MB),
        },
    ]
}

pub(super) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

impl World {
    pub fn new(seed: u64, objects: usize, now: Timestamp) -> World {
        let built_s = now.as_second();
        let horizon_s = built_s.div_euclid(DAY) * DAY - HISTORY_DAYS * DAY;
        let bunits: Vec<BusinessUnit> = BUNITS
            .iter()
            .enumerate()
            .map(|(i, (id, parent, name))| BusinessUnit {
                id: *id,
                parent: *parent,
                name: (*name).to_owned(),
                created: ts(built_s - (1200 - 40 * i as i64) * DAY + 40_211),
            })
            .collect();
        let pools = pools(seed);
        let plants = [
            Plant::NeverSucceeded,
            Plant::RepeatedFailures,
            Plant::NoNode,
            Plant::Decommissioned,
            Plant::Locked,
            Plant::Ordinary,
            Plant::Ordinary,
            Plant::New,
            Plant::OverStorageLimit,
            Plant::UnusualWarning,
            Plant::Ordinary,
            Plant::FilesInUse,
            Plant::Inactive,
            Plant::NotActivated,
        ];
        let consumers: Vec<Consumer> = (0..objects.max(1))
            .map(|i| {
                let plant = plants.get(i).copied().unwrap_or(Plant::Ordinary);
                consumer(seed, i, plant, built_s, &bunits, &pools)
            })
            .collect();
        let by_id = consumers
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id, i))
            .collect();
        World {
            seed,
            built: ts(built_s),
            horizon: ts(horizon_s),
            bunits,
            consumers,
            pools,
            warning_types: warning_types(),
            by_id,
        }
    }

    pub fn consumer(&self, id: u64) -> Option<&Consumer> {
        self.by_id.get(&id).map(|i| &self.consumers[*i])
    }

    pub fn bunit(&self, id: u64) -> Option<&BusinessUnit> {
        self.bunits.iter().find(|b| b.id == id)
    }

    pub fn children(&self, id: u64) -> impl Iterator<Item = &BusinessUnit> {
        self.bunits.iter().filter(move |b| b.parent == Some(id))
    }

    pub fn consumers_of(&self, bunit: u64) -> impl Iterator<Item = &Consumer> {
        self.consumers.iter().filter(move |c| c.bunit == bunit)
    }

    /// The root business unit (the API user's).
    pub fn root(&self) -> &BusinessUnit {
        &self.bunits[0]
    }
}

fn consumer(
    seed: u64,
    i: usize,
    plant: Plant,
    built: i64,
    bunits: &[BusinessUnit],
    pools: &[Pool],
) -> Consumer {
    let key = format!("consumer:{i}");
    let r = |what: &str| unit(seed, &format!("{key}:{what}"), 0);
    let id = 1000 + i as u64 * 10 + mix(seed, &key, 1) % 7;
    let bunit = bunits[(mix(seed, &key, 2) % bunits.len() as u64) as usize].id;
    let name = match plant {
        Plant::NeverSucceeded => "legacy-erp-01".to_owned(),
        Plant::RepeatedFailures => "db-02.finance".to_owned(),
        Plant::NoNode => "laptop-pending-activation".to_owned(),
        Plant::Decommissioned => "fs-old-archive".to_owned(),
        Plant::Locked => "ws-contractor-07".to_owned(),
        Plant::New => "app-new-01".to_owned(),
        Plant::Inactive => "ws-former-employee-12".to_owned(),
        Plant::NotActivated => "srv-never-activated-13".to_owned(),
        _ if i == 5 => "test-web-01".to_owned(),
        _ if i == 6 => "test-db-01".to_owned(),
        _ => format!(
            "{}-{i:02}.example.com",
            PREFIXES[(mix(seed, &key, 3) % PREFIXES.len() as u64) as usize]
        ),
    };
    let age_days = match plant {
        Plant::New => 5,
        _ if i == 10 => 20,
        _ => 30 + (r("age") * 870.0) as i64,
    };
    let created_ms = (built - age_days * DAY - (mix(seed, &key, 4) % DAY as u64) as i64) * 1000
        + (mix(seed, &key, 6) % 1000) as i64;
    let created = Timestamp::from_millisecond(created_ms).unwrap_or(Timestamp::UNIX_EPOCH);
    let node = (plant != Plant::NoNode).then(|| {
        let pick = |list: &[(u64, &'static str)], what: &str| {
            list[(r(what) * list.len() as f64) as usize % list.len()]
        };
        let node_type = pick(NODE_TYPES, "type");
        let os = if node_type.1 == "Workstation" {
            OPERATING_SYSTEMS[3]
        } else {
            pick(&OPERATING_SYSTEMS[..3], "os")
        };
        let twice = r("twice") < 0.15;
        let schedule = Schedule {
            id: if twice { 2 } else { 1 },
            name: if twice { "TWICE_DAILY" } else { "DAILY_INCR" },
            start_of_day: (18 * HOUR + (r("hour") * 9.0 * HOUR as f64) as i64) % DAY,
            every_hours: if twice { 12 } else { 24 },
        };
        let archives = node_type.1 == "File Server";
        let never_activated = plant == Plant::NotActivated;
        let filespaces = if never_activated {
            Vec::new()
        } else {
            filespaces(seed, i, id, os.1, archives, pools.len())
        };
        Node {
            id: id + 100_000,
            tsm_name: format!("{:012X}", mix(seed, &key, 5) & 0xFFFF_FFFF_FFFF),
            node_type,
            os,
            domain: pick(DOMAINS, "domain"),
            schedule,
            activated: ts(created.as_second() + HOUR),
            locked_since: (plant == Plant::Locked).then(|| ts(built - 3 * DAY - 7_000)),
            decommissioned_since: (plant == Plant::Decommissioned)
                .then(|| ts(built - 20 * DAY - 3_000)),
            inactive_since: (plant == Plant::Inactive).then(|| ts(built - 10 * DAY - 5_000)),
            never_activated,
            archives,
            filespaces,
        }
    });
    let limit_high_storage_gb = match plant {
        Plant::OverStorageLimit => Some(1.0),
        _ if r("limit") < 0.3 => Some(100_000.0),
        _ => None,
    };
    Consumer {
        id,
        bunit,
        name,
        created,
        plant,
        limit_high_storage_gb,
        node,
    }
}

fn filespaces(
    seed: u64,
    i: usize,
    consumer: u64,
    os: &str,
    archives: bool,
    pools: usize,
) -> Vec<Filespace> {
    let windows = os.starts_with("Windows");
    let names: &[(&str, &str)] = if windows {
        &[("C:", "NTFS"), ("D:", "NTFS"), ("SYSTEM STATE", "VSS")]
    } else {
        &[("/", "EXT4"), ("/boot", "VFAT"), ("/var/lib/data", "XFS")]
    };
    let count = 1 + (mix(seed, &format!("fs:{i}"), 0) % 3) as usize;
    names[..count]
        .iter()
        .enumerate()
        .map(|(k, (name, fs_type))| {
            let r = |what: &str| unit(seed, &format!("fs:{i}:{k}:{what}"), 0);
            let capacity_mb = round2(10_000.0 + r("cap") * 2_000_000.0);
            let utilized_pct = round2(10.0 + r("util") * 80.0);
            let front_end_mb = (capacity_mb * utilized_pct / 100.0).round() as u64;
            let reporting = round2(front_end_mb as f64 * (0.6 + 1.2 * r("versions")));
            let mut occupancies = vec![Occupancy {
                pool: 0,
                archive: false,
                files: front_end_mb * 12 + 3,
                reporting_mb: reporting,
                physical_mb: round2(reporting * 1.02),
                logical_mb: round2(reporting * 1.3),
            }];
            if archives && k == 0 && pools > 1 {
                occupancies.push(Occupancy {
                    pool: 1,
                    archive: true,
                    files: front_end_mb / 4 + 1,
                    reporting_mb: round2(front_end_mb as f64 * 0.2),
                    physical_mb: round2(front_end_mb as f64 * 0.2),
                    logical_mb: round2(front_end_mb as f64 * 0.25),
                });
            }
            if r("copy") < 0.4 && pools > 2 {
                occupancies.push(Occupancy {
                    pool: 2,
                    archive: false,
                    files: front_end_mb * 12 + 3,
                    reporting_mb: round2(reporting * 0.97),
                    physical_mb: round2(reporting * 0.99),
                    logical_mb: round2(reporting * 1.3),
                });
            }
            Filespace {
                id: consumer * 10 + k as u64,
                name: (*name).to_owned(),
                fs_type,
                capacity_mb,
                utilized_pct,
                front_end_mb,
                occupancies,
            }
        })
        .collect()
}
