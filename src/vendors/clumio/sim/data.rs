//! The simulated Clumio organization: organizational units, policies, assets of four kinds,
//! and their history, all derived from `(seed, objects, origin)`.
//!
//! History is not stored: each protected asset runs on its policy's schedule from a fixed
//! anchor, and the outcome of run `n` is `sim::unit(seed, asset id, n)` against thresholds,
//! so any time range can be produced on demand and new tasks appear as the clock moves.
//! `origin` (the simulator's start) pins what is planted: the new protection group, the
//! asset that started failing, the alerts.

use crate::sim::{mix, unit};

/// Every schedule counts its runs from here (2020-01-01T00:00:00Z).
pub const ANCHOR: i64 = 1_577_836_800;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;
pub const GIB: u64 = 1 << 30;

/// The fewest assets the simulator builds: the planted ones need room.
pub const MIN_ASSETS: usize = 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ou {
    pub id: &'static str,
    pub name: &'static str,
    pub parent: Option<&'static str>,
}

pub const GLOBAL: &str = "00000000-0000-0000-0000-000000000000";
pub const FINANCE: &str = "5f0c4a1e-2b7d-4c3e-9a10-0f1e2d3c4b01";
pub const ENGINEERING: &str = "5f0c4a1e-2b7d-4c3e-9a10-0f1e2d3c4b02";
pub const PLATFORM: &str = "5f0c4a1e-2b7d-4c3e-9a10-0f1e2d3c4b03";
pub const RESEARCH: &str = "5f0c4a1e-2b7d-4c3e-9a10-0f1e2d3c4b04";

/// The OU tree: Global > Finance, Engineering > Platform, Research. Ids do not depend on
/// the seed so that a demo config can name one.
pub const OUS: [Ou; 5] = [
    Ou {
        id: GLOBAL,
        name: "Global",
        parent: None,
    },
    Ou {
        id: FINANCE,
        name: "Finance",
        parent: Some(GLOBAL),
    },
    Ou {
        id: ENGINEERING,
        name: "Engineering",
        parent: Some(GLOBAL),
    },
    Ou {
        id: PLATFORM,
        name: "Platform",
        parent: Some(ENGINEERING),
    },
    Ou {
        id: RESEARCH,
        name: "Research",
        parent: Some(GLOBAL),
    },
];

/// An OU and everything below it.
pub fn subtree(ou: &str) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = OUS.iter().filter(|o| o.id == ou).map(|o| o.id).collect();
    let mut i = 0;
    while i < out.len() {
        let parent = out[i];
        out.extend(
            OUS.iter()
                .filter(|o| o.parent == Some(parent))
                .map(|o| o.id),
        );
        i += 1;
    }
    out
}

pub fn ou_name(id: &str) -> &'static str {
    OUS.iter()
        .find(|o| o.id == id)
        .map(|o| o.name)
        .unwrap_or("")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Ebs,
    Ec2,
    ProtectionGroup,
    Rds,
}

impl Kind {
    /// `primary_entity.type` of its tasks and alerts.
    pub fn entity_type(self) -> &'static str {
        match self {
            Kind::Ebs => "aws_ebs_volume",
            Kind::Ec2 => "aws_ec2_instance",
            Kind::ProtectionGroup => "protection_group",
            Kind::Rds => "aws_rds_resource",
        }
    }

    fn backup_type(self, seeding: bool) -> &'static str {
        match (self, seeding) {
            (Kind::Ebs, true) => "aws_ebs_volume_backup_seeding",
            (Kind::Ebs, false) => "aws_ebs_volume_incremental_backup",
            (Kind::Ec2, _) => "aws_ec2_instance_backup",
            (Kind::ProtectionGroup, _) => "protection_group_backup",
            (Kind::Rds, _) => "aws_rds_resource_granular_backup",
        }
    }

    fn restore_type(self) -> &'static str {
        match self {
            Kind::Ebs => "aws_ebs_volume_restore",
            Kind::Ec2 => "aws_ec2_instance_restore",
            Kind::ProtectionGroup => "protection_group_restore",
            Kind::Rds => "aws_rds_resource_restore",
        }
    }
}

/// One SLA of a policy operation: `rpo_frequency` unit and value.
#[derive(Clone, Debug)]
pub struct Sla {
    pub unit: &'static str,
    pub value: Option<i64>,
    pub retention_days: i64,
}

#[derive(Clone, Debug)]
pub struct Operation {
    pub op_type: &'static str,
    pub slas: Vec<Sla>,
}

#[derive(Clone, Debug)]
pub struct Policy {
    pub id: &'static str,
    pub name: &'static str,
    pub activated: bool,
    pub operations: Vec<Operation>,
    pub created: i64,
}

pub const GOLD: &str = "8d2e6b1a-0c4f-4e0b-b5a2-7f3c9d1e0a01";
pub const SILVER: &str = "8d2e6b1a-0c4f-4e0b-b5a2-7f3c9d1e0a02";
pub const HOURLY: &str = "8d2e6b1a-0c4f-4e0b-b5a2-7f3c9d1e0a03";
pub const S3_DAILY: &str = "8d2e6b1a-0c4f-4e0b-b5a2-7f3c9d1e0a04";
pub const LEGACY: &str = "8d2e6b1a-0c4f-4e0b-b5a2-7f3c9d1e0a05";
pub const MANUAL: &str = "8d2e6b1a-0c4f-4e0b-b5a2-7f3c9d1e0a06";

fn sla(unit: &'static str, value: Option<i64>, retention_days: i64) -> Sla {
    Sla {
        unit,
        value,
        retention_days,
    }
}

fn op(op_type: &'static str, slas: Vec<Sla>) -> Operation {
    Operation { op_type, slas }
}

pub fn policies() -> Vec<Policy> {
    let created = ANCHOR + 40 * DAY;
    vec![
        Policy {
            id: GOLD,
            name: "gold-6h",
            activated: true,
            operations: vec![
                op("aws_ebs_volume_backup", vec![sla("hours", Some(6), 30)]),
                op("aws_ec2_instance_backup", vec![sla("hours", Some(6), 30)]),
            ],
            created,
        },
        Policy {
            id: SILVER,
            name: "silver-daily",
            activated: true,
            operations: vec![
                op("aws_ebs_volume_backup", vec![sla("days", Some(1), 30)]),
                op("aws_ec2_instance_backup", vec![sla("days", Some(1), 30)]),
                op(
                    "aws_rds_resource_granular_backup",
                    vec![sla("days", Some(1), 30)],
                ),
                // Not an asset operation the exporter reads: must not tighten the RPO.
                op("ec2_mssql_log_backup", vec![sla("minutes", Some(15), 5)]),
            ],
            created,
        },
        Policy {
            id: HOURLY,
            name: "ops-hourly",
            activated: true,
            operations: vec![
                op("aws_ebs_volume_backup", vec![sla("hours", Some(1), 7)]),
                op("aws_ec2_instance_backup", vec![sla("hours", Some(1), 7)]),
            ],
            created,
        },
        Policy {
            id: S3_DAILY,
            name: "s3-daily",
            activated: true,
            operations: vec![op(
                "protection_group_backup",
                vec![sla("weekly", Some(1), 365), sla("days", Some(1), 30)],
            )],
            created,
        },
        Policy {
            id: LEGACY,
            name: "legacy-weekly",
            activated: false,
            operations: vec![op("aws_ebs_volume_backup", vec![sla("weeks", Some(1), 90)])],
            created,
        },
        Policy {
            id: MANUAL,
            name: "manual-only",
            activated: true,
            operations: vec![op(
                "aws_rds_resource_granular_backup",
                vec![sla("on_demand", None, 30)],
            )],
            created,
        },
    ]
}

/// How an asset's runs turn out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Mostly successes, some failures, aborts and missed runs.
    Normal,
    NeverSucceeds,
    /// Every run from this time on fails.
    FailingSince(i64),
    /// Hourly; each run waits 50 minutes in the queue and then runs for an hour, so there
    /// is nearly always one queued and one in progress.
    Queueing,
    /// Hourly; every run is aborted after 30 minutes, spending its last 10 aborting.
    Aborting,
    /// No scheduled runs (unprotected, deactivated or on-demand policy).
    Unscheduled,
}

#[derive(Clone, Debug)]
pub struct Asset {
    pub index: usize,
    pub id: String,
    pub kind: Kind,
    pub native_id: String,
    /// The AWS `Name` tag.
    pub name_tag: Option<String>,
    /// Whether the `name` field carries the Name tag (else it is only among the tags).
    pub name_field: bool,
    pub ou: &'static str,
    pub policy: Option<&'static str>,
    pub protection_status: &'static str,
    pub deleted: bool,
    /// EBS volume and RDS size, and the protection group's backed-up size, in bytes.
    pub size_bytes: u64,
    /// EC2 instances: the attached volumes in GiB.
    pub ec2_gib: u64,
    /// When it came under Clumio; no runs before it.
    pub created: i64,
    pub plan: Plan,
}

impl Asset {
    /// Contract §3: the Name tag, else the native id (protection groups: the name).
    pub fn display_name(&self) -> String {
        self.name_tag
            .clone()
            .unwrap_or_else(|| self.native_id.clone())
    }
}

/// A run's outcome before the clock says how far it got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Completed,
    Failed,
    Aborted,
    Missed,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Task {
    pub id: u64,
    /// Index into `World::assets`; `None` for organization tasks (policy updates).
    pub asset: Option<usize>,
    pub task_type: &'static str,
    pub category: &'static str,
    pub status: &'static str,
    pub created: i64,
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub progress: u8,
}

impl Task {
    pub fn genre(&self) -> &'static str {
        match self.category {
            "backup" | "restore" | "snapshot" | "snapshot_restore" => "operational",
            _ => "administrative",
        }
    }

    pub fn is_backup(&self) -> bool {
        self.category == "backup" && !self.task_type.ends_with("_indexing")
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Backup {
    pub id: String,
    pub asset: usize,
    pub start: i64,
    pub expiration: i64,
    /// EBS, EC2, RDS: GiB.
    pub size_gib: u64,
    pub utilized_bytes: u64,
    /// Protection groups.
    pub backed_up_bytes: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    pub id: String,
    pub alert_type: &'static str,
    pub severity: &'static str,
    pub status: &'static str,
    pub asset: Option<usize>,
    pub ou: &'static str,
    pub raised: i64,
    pub updated: i64,
    pub cleared: Option<i64>,
    pub raised_count: u64,
    pub cause: &'static str,
    pub description: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AuditEvent {
    pub id: String,
    pub time: i64,
    pub user_email: &'static str,
    pub interface: &'static str,
    pub ip_address: String,
    pub status: &'static str,
    pub action: &'static str,
    pub category: &'static str,
    pub asset: Option<usize>,
    pub policy: Option<&'static str>,
    pub ou: &'static str,
}

/// Every documented audit action, cycled through so that each appears within days.
pub const AUDIT_ACTIONS: [&str; 28] = [
    "login",
    "create",
    "update",
    "delete",
    "enable",
    "disable",
    "browse",
    "search",
    "logout",
    "register",
    "unregister",
    "apply",
    "remove",
    "invite",
    "suspend",
    "full_restore",
    "granular_retrieval",
    "redirected",
    "unapply",
    "batch_activate",
    "batch_deactivate",
    "grant_email_access",
    "download",
    "validate_tda_passcode",
    "regenerate_tda_passcode",
    "refresh",
    "deploy",
    "granular_restore",
];
const AUDIT_EVERY: i64 = 97 * 60;
const USERS: [&str; 4] = [
    "ops@example.com",
    "alice@example.com",
    "bob@example.com",
    "automation@example.com",
];

/// A uuid-shaped id, stable for `(seed, key, n)`.
pub fn uuid(seed: u64, key: &str, n: u64) -> String {
    let a = mix(seed, key, n);
    let b = mix(seed ^ 0x5eed, key, n);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    )
}

fn hex(seed: u64, key: &str, n: u64, len: usize) -> String {
    let s = format!("{:016x}{:016x}", mix(seed, key, n), mix(seed, key, n + 1));
    s[..len].to_owned()
}

/// The planted assets, by index.
pub mod planted {
    pub const TEST_VOLUME: usize = 0;
    pub const TEST_INSTANCE: usize = 1;
    pub const NEVER_SUCCEEDED: usize = 2;
    pub const FAILING: usize = 3;
    pub const UNPROTECTED: usize = 4;
    pub const DEACTIVATED_POLICY: usize = 5;
    pub const QUEUEING: usize = 6;
    pub const ABORTING: usize = 7;
    pub const NEW_GROUP: usize = 8;
    pub const DELETED: usize = 9;
    pub const NO_NAME: usize = 10;
    pub const NAME_TAG_ONLY: usize = 11;
    pub const ON_DEMAND: usize = 12;
    /// The first asset of the ordinary mix.
    pub const FIRST_ORDINARY: usize = 13;
}

#[derive(Clone, Debug)]
pub struct World {
    pub seed: u64,
    /// Unix seconds of the simulator's start.
    pub origin: i64,
    pub policies: Vec<Policy>,
    pub assets: Vec<Asset>,
}

const WORDS: [&str; 12] = [
    "web", "api", "db", "cache", "queue", "search", "billing", "ledger", "etl", "media", "auth",
    "report",
];

impl World {
    pub fn new(seed: u64, objects: usize, origin: i64) -> World {
        let n = objects.max(MIN_ASSETS);
        let ous = [GLOBAL, FINANCE, ENGINEERING, PLATFORM, RESEARCH];
        let assets = (0..n)
            .map(|i| {
                use planted::*;
                let u = |k: &str| unit(seed, k, i as u64);
                let kind = match i {
                    TEST_VOLUME | NEVER_SUCCEEDED | UNPROTECTED | DEACTIVATED_POLICY | QUEUEING
                    | DELETED | NO_NAME => Kind::Ebs,
                    TEST_INSTANCE | FAILING | ABORTING | NAME_TAG_ONLY => Kind::Ec2,
                    NEW_GROUP => Kind::ProtectionGroup,
                    ON_DEMAND => Kind::Rds,
                    _ => match i % 10 {
                        0..=3 => Kind::Ebs,
                        4..=6 => Kind::Ec2,
                        7 | 8 => Kind::ProtectionGroup,
                        _ => Kind::Rds,
                    },
                };
                let word = WORDS[i % WORDS.len()];
                let name_tag = match i {
                    TEST_VOLUME => Some("test-scratch-01".to_owned()),
                    TEST_INSTANCE => Some("test-build-runner".to_owned()),
                    NEVER_SUCCEEDED => Some("migrate-staging-data".to_owned()),
                    FAILING => Some("db-primary".to_owned()),
                    UNPROTECTED => Some("scratch-temp".to_owned()),
                    DEACTIVATED_POLICY => Some("archive-2019".to_owned()),
                    QUEUEING => Some("ops-queue-vol".to_owned()),
                    ABORTING => Some("ops-abort-host".to_owned()),
                    NEW_GROUP => Some("analytics-landing".to_owned()),
                    DELETED => Some("old-deleted-vol".to_owned()),
                    NO_NAME => None,
                    NAME_TAG_ONLY => Some("web-frontend-2".to_owned()),
                    ON_DEMAND => Some("reporting-db".to_owned()),
                    _ => Some(match kind {
                        Kind::Ebs => format!("{word}-data-{i:02}"),
                        Kind::Ec2 => format!("{word}-{i:02}"),
                        Kind::ProtectionGroup => format!("{word}-buckets-{i:02}"),
                        Kind::Rds => format!("{word}-db-{i:02}"),
                    }),
                };
                let native_id = match kind {
                    Kind::Ebs => format!("vol-{}", hex(seed, "vol", i as u64, 17)),
                    Kind::Ec2 => format!("i-{}", hex(seed, "ec2", i as u64, 17)),
                    Kind::Rds => {
                        format!("cluster-{}", hex(seed, "rds", i as u64, 26).to_uppercase())
                    }
                    Kind::ProtectionGroup => name_tag.clone().unwrap_or_default(),
                };
                let ou = match i {
                    FAILING | NEVER_SUCCEEDED => FINANCE,
                    QUEUEING | ABORTING => PLATFORM,
                    _ => ous[i % ous.len()],
                };
                let policy = match i {
                    UNPROTECTED => None,
                    DEACTIVATED_POLICY => Some(LEGACY),
                    QUEUEING | ABORTING => Some(HOURLY),
                    ON_DEMAND => Some(MANUAL),
                    NEVER_SUCCEEDED | FAILING => Some(GOLD),
                    _ => Some(match kind {
                        Kind::ProtectionGroup => S3_DAILY,
                        Kind::Rds => SILVER,
                        _ if u("policy") < 0.3 => GOLD,
                        _ => SILVER,
                    }),
                };
                let plan = match i {
                    NEVER_SUCCEEDED => Plan::NeverSucceeds,
                    FAILING => Plan::FailingSince(origin - 30 * HOUR),
                    QUEUEING => Plan::Queueing,
                    ABORTING => Plan::Aborting,
                    UNPROTECTED | DEACTIVATED_POLICY | ON_DEMAND => Plan::Unscheduled,
                    _ => Plan::Normal,
                };
                let created = match i {
                    NEW_GROUP => origin - 5 * DAY,
                    NEVER_SUCCEEDED => origin - 20 * DAY,
                    _ => origin - (200.0 + 400.0 * u("created")) as i64 * DAY,
                };
                let size_bytes = match kind {
                    Kind::Ebs => (8 + (u("size") * 1016.0) as u64) * GIB,
                    Kind::Rds => (20 + (u("size") * 980.0) as u64) * GIB + (u("odd") * 1e6) as u64,
                    Kind::ProtectionGroup => (u("size") * 5e12) as u64 + 123_456_789,
                    Kind::Ec2 => 0,
                };
                Asset {
                    index: i,
                    id: uuid(seed, "asset", i as u64),
                    kind,
                    native_id,
                    name_tag,
                    name_field: i != NAME_TAG_ONLY,
                    ou,
                    policy,
                    protection_status: if policy.is_some() {
                        "protected"
                    } else {
                        "unprotected"
                    },
                    deleted: i == DELETED,
                    size_bytes,
                    ec2_gib: 20 + (u("ec2") * 480.0) as u64,
                    created,
                    plan,
                }
            })
            .collect();
        World {
            seed,
            origin,
            policies: policies(),
            assets,
        }
    }

    pub fn policy(&self, id: &str) -> Option<&Policy> {
        self.policies.iter().find(|p| p.id == id)
    }

    /// The assets the datasource lists show (deleted ones are listed too, flagged).
    pub fn listed_assets(&self) -> impl Iterator<Item = &Asset> {
        self.assets.iter().filter(|a| !a.deleted)
    }

    fn operation_prefix(kind: Kind) -> &'static str {
        match kind {
            Kind::Ebs => "aws_ebs_volume_",
            Kind::Ec2 => "aws_ec2_instance_",
            Kind::ProtectionGroup => "protection_group_",
            Kind::Rds => "aws_rds_resource_",
        }
    }

    /// The schedule of an asset: its run interval and how long backups are kept.
    pub fn schedule(&self, a: &Asset) -> Option<(i64, i64)> {
        if a.plan == Plan::Unscheduled || a.deleted {
            return None;
        }
        let policy = self.policy(a.policy?)?;
        policy
            .operations
            .iter()
            .filter(|o| o.op_type.starts_with(Self::operation_prefix(a.kind)))
            .flat_map(|o| o.slas.iter())
            .filter_map(|s| {
                let unit = match s.unit {
                    "hours" => HOUR,
                    "days" => DAY,
                    "weeks" | "weekly" => 7 * DAY,
                    _ => return None,
                };
                Some((unit * s.value.unwrap_or(1), s.retention_days * DAY))
            })
            .min()
    }

    fn phase(&self, a: &Asset, every: i64) -> i64 {
        match a.plan {
            // At `origin` the current run has waited 10 minutes and the previous one runs.
            Plan::Queueing => (self.origin - 10 * 60 - ANCHOR).rem_euclid(every),
            // At `origin` the current run is in its aborting phase.
            Plan::Aborting => (self.origin - 25 * 60 - ANCHOR).rem_euclid(every),
            _ => (mix(self.seed, &a.id, 0) % every as u64) as i64,
        }
    }

    fn outcome(&self, a: &Asset, n: u64, slot: i64) -> Outcome {
        let u = unit(self.seed, &a.id, n);
        match a.plan {
            Plan::NeverSucceeds if u < 0.25 => Outcome::Aborted,
            Plan::NeverSucceeds => Outcome::Failed,
            Plan::FailingSince(t) if slot >= t => Outcome::Failed,
            Plan::Queueing => Outcome::Completed,
            Plan::Aborting => Outcome::Aborted,
            _ if u < 0.80 => Outcome::Completed,
            _ if u < 0.88 => Outcome::Failed,
            _ if u < 0.92 => Outcome::Aborted,
            _ if u < 0.95 => Outcome::Missed,
            _ => Outcome::Completed,
        }
    }

    /// Scheduled backup runs created within `[from, to]` and no later than `now`, with the
    /// indexing tasks that follow EBS backups.
    fn backup_tasks(&self, a: &Asset, from: i64, to: i64, now: i64, out: &mut Vec<Task>) {
        let Some((every, _)) = self.schedule(a) else {
            return;
        };
        let phase = self.phase(a, every);
        let lo = from.max(a.created).max(ANCHOR);
        let hi = to.min(now);
        if hi < lo {
            return;
        }
        let first_run = (a.created - ANCHOR - phase).max(0).div_euclid(every)
            + i64::from((a.created - ANCHOR - phase).rem_euclid(every) != 0);
        let n_lo = (lo - ANCHOR - phase - 60).max(0).div_euclid(every);
        let n_hi = (hi - ANCHOR - phase).div_euclid(every);
        for n in n_lo..=n_hi {
            let slot = ANCHOR + phase + n * every;
            let nu = n as u64;
            let created = slot + (unit(self.seed, "jitter", nu) * 30.0) as i64;
            if created < lo || created > hi || slot < a.created {
                continue;
            }
            let outcome = self.outcome(a, nu, slot);
            if outcome == Outcome::Missed {
                continue;
            }
            let (delay, duration, abort_phase) = match a.plan {
                Plan::Queueing => (50 * 60, 60 * 60, 0),
                Plan::Aborting => (60, 30 * 60, 10 * 60),
                _ => {
                    let d = 300 + (unit(self.seed, &a.id, nu + 1_000_000) * 3_300.0) as i64;
                    (30 + (unit(self.seed, "delay", nu) * 120.0) as i64, d, d / 5)
                }
            };
            let final_status = match outcome {
                Outcome::Completed => "completed",
                Outcome::Failed => "failed",
                _ => "aborted",
            };
            let task = progress(
                Task {
                    id: task_id(a.index, 0, nu),
                    asset: Some(a.index),
                    task_type: a.kind.backup_type(n == first_run),
                    category: "backup",
                    status: final_status,
                    created,
                    start: Some(created + delay),
                    end: Some(created + delay + duration),
                    progress: 100,
                },
                now,
                (outcome == Outcome::Aborted).then_some(abort_phase),
            );
            let finished_ok = task.status == "completed";
            let end = task.end;
            out.push(task);
            if a.kind == Kind::Ebs
                && finished_ok
                && let Some(end) = end
                && end <= hi
                && end >= lo
            {
                let failed = unit(self.seed, "index", nu ^ a.index as u64) < 0.05;
                out.push(progress(
                    Task {
                        id: task_id(a.index, 1, nu),
                        asset: Some(a.index),
                        task_type: "aws_ebs_volume_backup_indexing",
                        category: "backup",
                        status: if failed { "failed" } else { "completed" },
                        created: end,
                        start: Some(end + 20),
                        end: Some(end + 200),
                        progress: 100,
                    },
                    now,
                    None,
                ));
            }
        }
    }

    /// Occasional restores (about one in 30 asset-days) and a daily policy update.
    fn other_tasks(&self, from: i64, to: i64, now: i64, out: &mut Vec<Task>) {
        let hi = to.min(now);
        if hi < from {
            return;
        }
        for day in (from.max(ANCHOR) - ANCHOR) / DAY..=(hi - ANCHOR) / DAY {
            let d = day as u64;
            let base = ANCHOR + day * DAY;
            let created = base + 3 * HOUR;
            if (from..=hi).contains(&created) {
                out.push(progress(
                    Task {
                        id: task_id(usize::MAX, 3, d),
                        asset: None,
                        task_type: "policy_update",
                        category: "management",
                        status: "completed",
                        created,
                        start: Some(created + 5),
                        end: Some(created + 65),
                        progress: 100,
                    },
                    now,
                    None,
                ));
            }
            for a in &self.assets {
                if self.schedule(a).is_none()
                    || unit(self.seed, &format!("{}/restore", a.id), d) >= 0.033
                {
                    continue;
                }
                let created = base
                    + 14 * HOUR
                    + (unit(self.seed, &a.id, d + 7_000_000) * 3.0 * 3600.0) as i64;
                if !(from..=hi).contains(&created) || created < a.created {
                    continue;
                }
                let ok = unit(self.seed, &a.id, d + 8_000_000) < 0.75;
                let duration = 600 + (unit(self.seed, &a.id, d + 9_000_000) * 1800.0) as i64;
                out.push(progress(
                    Task {
                        id: task_id(a.index, 2, d),
                        asset: Some(a.index),
                        task_type: a.kind.restore_type(),
                        category: "restore",
                        status: if ok { "completed" } else { "failed" },
                        created,
                        start: Some(created + 10),
                        end: Some(created + 10 + duration),
                        progress: 100,
                    },
                    now,
                    None,
                ));
            }
        }
    }

    /// Every task created within `[from, to]` as of `now`, newest first.
    pub fn tasks(&self, from: i64, to: i64, now: i64) -> Vec<Task> {
        let mut out = Vec::new();
        for a in &self.assets {
            self.backup_tasks(a, from, to, now, &mut out);
        }
        self.other_tasks(from, to, now, &mut out);
        out.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id)));
        out
    }

    /// The OU a task belongs to.
    pub fn task_ou(&self, t: &Task) -> &'static str {
        t.asset.map(|i| self.assets[i].ou).unwrap_or(GLOBAL)
    }

    /// The backups of an asset that exist at `now`, newest first: one per completed
    /// scheduled run, kept for the policy's retention.
    pub fn backups(&self, a: &Asset, now: i64) -> Vec<Backup> {
        let Some((every, retention)) = self.schedule(a) else {
            return Vec::new();
        };
        let mut tasks = Vec::new();
        self.backup_tasks(a, now - retention - every - DAY, now, now, &mut tasks);
        let mut out: Vec<Backup> = tasks
            .iter()
            .filter(|t| t.is_backup() && t.status == "completed")
            .filter_map(|t| {
                let start = t.start?;
                (start + retention > now).then(|| {
                    let n = t.id & 0x0fff_ffff;
                    let u = unit(self.seed, "backup-size", n ^ (a.index as u64) << 40);
                    let size_gib = match a.kind {
                        Kind::Ebs | Kind::Rds => a.size_bytes.div_ceil(GIB),
                        Kind::Ec2 => a.ec2_gib,
                        Kind::ProtectionGroup => 0,
                    };
                    Backup {
                        id: uuid(self.seed, &a.id, n),
                        asset: a.index,
                        start,
                        expiration: start + retention,
                        size_gib,
                        utilized_bytes: (size_gib as f64 * GIB as f64 * (0.25 + 0.5 * u)) as u64,
                        backed_up_bytes: (a.size_bytes as f64 * (0.9 + 0.2 * u)) as u64,
                    }
                })
            })
            .collect();
        out.sort_by_key(|b| std::cmp::Reverse(b.start));
        out
    }

    /// Alerts, active and cleared, planted relative to `origin`.
    pub fn alerts(&self) -> Vec<Alert> {
        use planted::*;
        let o = self.origin;
        let at = |i: usize| Some(i.min(self.assets.len() - 1));
        let mut out = Vec::new();
        let mut push = |n: u64,
                        ty: &'static str,
                        severity: &'static str,
                        asset: Option<usize>,
                        raised: i64,
                        cleared: Option<i64>,
                        cause: &'static str| {
            let ou = asset.map(|i| self.assets[i].ou).unwrap_or(GLOBAL);
            let subject = asset
                .map(|i| self.assets[i].display_name())
                .unwrap_or_else(|| "AWS account 123456789012".into());
            out.push(Alert {
                id: uuid(self.seed, "alert", n),
                alert_type: ty,
                severity,
                status: if cleared.is_some() {
                    "cleared"
                } else {
                    "active"
                },
                asset,
                ou,
                raised,
                updated: cleared.unwrap_or(raised + 2 * HOUR),
                cleared,
                raised_count: 1 + n % 4,
                cause,
                description: format!("{cause} on {subject}"),
            });
        };
        push(
            1,
            "policy_violated",
            "error",
            at(NEVER_SUCCEEDED),
            o - 3 * DAY,
            None,
            "Backup failed",
        );
        push(
            2,
            "policy_violated",
            "error",
            at(FAILING),
            o - 30 * HOUR,
            None,
            "Backup failed",
        );
        push(
            3,
            "tag_conflict",
            "warning",
            at(FIRST_ORDINARY),
            o - 6 * DAY,
            None,
            "Conflicting policy tags",
        );
        push(
            4,
            "aws_account_disconnected",
            "warning",
            None,
            o - 2 * HOUR,
            None,
            "Account disconnected",
        );
        push(
            5,
            "restore_failed",
            "error",
            at(FIRST_ORDINARY + 1),
            o - 9 * HOUR,
            None,
            "Restore failed",
        );
        push(
            6,
            "policy_violated",
            "error",
            at(FIRST_ORDINARY + 2),
            o - 4 * DAY,
            Some(o - 2 * DAY),
            "Backup failed",
        );
        push(
            7,
            "anomaly_detected",
            "warning",
            at(FIRST_ORDINARY + 3),
            o - 12 * HOUR,
            None,
            "Unusual change rate",
        );
        out.sort_by_key(|a| std::cmp::Reverse(a.raised));
        out
    }

    /// Audit events in `[from, to)` as of `now`, newest first.
    pub fn audit(&self, from: i64, to: i64, now: i64) -> Vec<AuditEvent> {
        let hi = to.min(now + 1);
        if hi <= from {
            return Vec::new();
        }
        let mut out = Vec::new();
        let n_lo = ((from.max(ANCHOR) - ANCHOR) / AUDIT_EVERY - 1).max(0);
        let n_hi = (hi - ANCHOR) / AUDIT_EVERY;
        for n in n_lo..=n_hi {
            let nu = n as u64;
            let time = ANCHOR + n * AUDIT_EVERY + (unit(self.seed, "audit-at", nu) * 600.0) as i64;
            if time < from || time >= hi {
                continue;
            }
            let action = AUDIT_ACTIONS[(n as usize) % AUDIT_ACTIONS.len()];
            let category = match action {
                "login" | "logout" => "authentication",
                "create" | "update" | "delete" | "batch_activate" | "batch_deactivate" => "policy",
                "apply" | "unapply" | "remove" => "protection",
                "browse" | "search" | "download" | "full_restore" | "granular_retrieval"
                | "granular_restore" => "restore",
                "register" | "unregister" => "data_source",
                "refresh" | "deploy" => "cloudformation_template",
                "redirected" => "sso",
                _ => "users",
            };
            let u = unit(self.seed, "audit-status", nu);
            let status = if u < 0.10 {
                "failure"
            } else if u < 0.15 {
                "partial_success"
            } else {
                "success"
            };
            let asset = matches!(category, "protection" | "restore" | "data_source").then(|| {
                let listed: Vec<usize> = self.listed_assets().map(|a| a.index).collect();
                listed[(mix(self.seed, "audit-asset", nu) % listed.len() as u64) as usize]
            });
            let user = USERS[(mix(self.seed, "audit-user", nu) % USERS.len() as u64) as usize];
            out.push(AuditEvent {
                id: uuid(self.seed, "audit", nu),
                time,
                user_email: user,
                interface: if user.starts_with("automation") {
                    "API"
                } else {
                    "UI"
                },
                ip_address: format!("203.0.113.{}", 10 + mix(self.seed, "ip", nu) % 200),
                status,
                action,
                category,
                asset,
                policy: (category == "policy").then_some(SILVER),
                ou: asset.map(|i| self.assets[i].ou).unwrap_or(GLOBAL),
            });
        }
        out.sort_by_key(|e| std::cmp::Reverse(e.time));
        out
    }
}

/// Numeric task ids: unique per (asset, task sort, run).
fn task_id(asset: usize, sort: u64, n: u64) -> u64 {
    let a = if asset == usize::MAX {
        0
    } else {
        asset as u64 + 1
    };
    (a << 32) | (sort << 28) | (n & 0x0fff_ffff)
}

/// Where a task stands at `now`. `abort_phase`: for an aborted run, how long before its
/// end it shows `aborting`.
fn progress(mut t: Task, now: i64, abort_phase: Option<i64>) -> Task {
    let (Some(start), Some(end)) = (t.start, t.end) else {
        return t;
    };
    if now < start {
        t.status = "queued";
        t.start = None;
        t.end = None;
        t.progress = 0;
    } else if now < end {
        t.status = match abort_phase {
            Some(p) if now >= end - p => "aborting",
            _ => "in_progress",
        };
        t.progress = (((now - start) * 100) / (end - start).max(1)).min(99) as u8;
        t.end = None;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

    fn world() -> World {
        World::new(7, 40, ORIGIN)
    }

    #[test]
    fn the_same_seed_gives_the_same_history() {
        let a = world().tasks(ORIGIN - 3 * DAY, ORIGIN, ORIGIN);
        let b = world().tasks(ORIGIN - 3 * DAY, ORIGIN, ORIGIN);
        assert_eq!(a, b);
        assert_ne!(
            a,
            World::new(8, 40, ORIGIN).tasks(ORIGIN - 3 * DAY, ORIGIN, ORIGIN)
        );
    }

    #[test]
    fn task_ids_are_unique_over_45_days() {
        let tasks = world().tasks(ORIGIN - 45 * DAY, ORIGIN, ORIGIN);
        let ids: std::collections::HashSet<u64> = tasks.iter().map(|t| t.id).collect();
        assert_eq!(ids.len(), tasks.len());
        assert!(tasks.len() > 2000, "{} tasks", tasks.len());
    }

    #[test]
    fn every_status_occurs_at_origin() {
        let w = world();
        let tasks = w.tasks(ORIGIN - 45 * DAY, ORIGIN, ORIGIN);
        for s in [
            "queued",
            "in_progress",
            "aborting",
            "completed",
            "failed",
            "aborted",
        ] {
            assert!(tasks.iter().any(|t| t.status == s), "no {s} task");
        }
    }

    #[test]
    fn planted_assets_behave() {
        use planted::*;
        let w = world();
        let tasks = w.tasks(ORIGIN - 45 * DAY, ORIGIN, ORIGIN);
        let of = |i: usize| -> Vec<&Task> {
            tasks
                .iter()
                .filter(|t| t.asset == Some(i) && t.is_backup())
                .collect()
        };
        assert!(!of(NEVER_SUCCEEDED).is_empty());
        assert!(of(NEVER_SUCCEEDED).iter().all(|t| t.status != "completed"));
        let failing = of(FAILING);
        assert!(failing[..4].iter().all(|t| t.status == "failed"));
        assert!(failing.iter().any(|t| t.status == "completed"));
        assert!(of(UNPROTECTED).is_empty());
        assert!(of(DEACTIVATED_POLICY).is_empty());
        assert!(of(ON_DEMAND).is_empty());
        assert!(of(NEW_GROUP).iter().all(|t| t.created >= ORIGIN - 5 * DAY));
        assert!(w.backups(&w.assets[NEVER_SUCCEEDED], ORIGIN).is_empty());
        assert!(w.assets[TEST_VOLUME].display_name().starts_with("test-"));
        assert_eq!(
            w.assets[NO_NAME].display_name(),
            w.assets[NO_NAME].native_id
        );
    }

    #[test]
    fn history_moves_with_the_clock() {
        let w = world();
        let now = ORIGIN + 2 * DAY;
        let before = w.tasks(ORIGIN - DAY, ORIGIN, ORIGIN);
        let after = w.tasks(ORIGIN + DAY, now, now);
        assert!(!after.is_empty());
        // A task that was running at ORIGIN has finished by now.
        let later = w.tasks(ORIGIN - DAY, ORIGIN, now);
        let running: Vec<_> = before.iter().filter(|t| t.end.is_none()).collect();
        assert!(!running.is_empty());
        for r in running {
            let t = later.iter().find(|t| t.id == r.id).unwrap();
            assert!(t.end.is_some(), "task {} still open", t.id);
        }
    }

    #[test]
    fn backups_follow_completed_runs_within_retention() {
        let w = world();
        let a = &w.assets[planted::FIRST_ORDINARY];
        let backups = w.backups(a, ORIGIN);
        let (every, retention) = w.schedule(a).unwrap();
        assert!(!backups.is_empty());
        assert!(backups.windows(2).all(|p| p[0].start > p[1].start));
        assert!(backups.iter().all(|b| b.start > ORIGIN - retention));
        assert!(backups.len() as i64 <= retention / every + 1);
    }

    #[test]
    fn ou_subtrees() {
        assert_eq!(subtree(ENGINEERING), vec![ENGINEERING, PLATFORM]);
        assert_eq!(subtree(GLOBAL).len(), 5);
        assert!(subtree("nope").is_empty());
    }
}
