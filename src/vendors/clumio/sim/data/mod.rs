//! The simulated Clumio organization: organizational units, policies, assets of four kinds,
//! and their history, all derived from `(seed, objects, origin)`.
//!
//! History is not stored: each protected asset runs on its policy's schedule from a fixed
//! anchor, and the outcome of run `n` is `sim::unit(seed, asset id, n)` against thresholds,
//! so any time range can be produced on demand and new tasks appear as the clock moves.
//! `origin` (the simulator's start) pins what is planted: the new protection group, the
//! asset that started failing, the alerts.

mod events;
mod history;

pub use self::events::{AUDIT_ACTIONS, Alert, AuditEvent};
pub use self::history::{Backup, Task};
use crate::sim::{mix, unit};

/// Every schedule counts its runs from here (2020-01-01T00:00:00Z).
pub const ANCHOR: i64 = 1_577_836_800;
pub(crate) const HOUR: i64 = 3_600;
pub(crate) const DAY: i64 = 86_400;
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

    /// The assets that are not deleted: what an inventory shows (the datasource lists
    /// also return the deleted one, flagged).
    pub fn listed_assets(&self) -> impl Iterator<Item = &Asset> {
        self.assets.iter().filter(|a| !a.deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ou_subtrees() {
        assert_eq!(subtree(ENGINEERING), vec![ENGINEERING, PLATFORM]);
        assert_eq!(subtree(GLOBAL).len(), 5);
        assert!(subtree("nope").is_empty());
    }

    #[test]
    fn planted_names_follow_the_name_tag_rule() {
        let w = World::new(7, 40, 1_767_225_600);
        assert!(
            w.assets[planted::TEST_VOLUME]
                .display_name()
                .starts_with("test-")
        );
        let no_name = &w.assets[planted::NO_NAME];
        assert_eq!(no_name.display_name(), no_name.native_id);
        assert!(!w.assets[planted::NAME_TAG_ONLY].name_field);
        assert_eq!(w.assets.len(), 40);
        assert_eq!(World::new(7, 3, 0).assets.len(), MIN_ASSETS);
    }
}
