//! The simulated tower's world: clusters, VMs, snapshot and backup plans with their
//! schedules, and the history those schedules produce. Everything is a pure function of
//! (seed, objects, anchor) and the "now" asked about, so any time range can be served and
//! new runs appear as the clock moves. `anchor` (the clock when the simulator started)
//! only places the planted stories (a VM created 20 days ago, failures in the last 4 days).

use crate::sim::{mix, unit};

pub const MINUTE: i64 = 60;
pub const HOUR: i64 = 3600;
pub const DAY: i64 = 86_400;
/// How long the tower keeps plan executions, tasks, alerts and audit logs.
pub const RETENTION: i64 = 60 * DAY;
/// How long it keeps the per-VM records of backups (`BackupTargetExecution`); older plan
/// executions are left without them, and their plan-level status is all that is known.
pub const TARGET_RETENTION: i64 = 30 * DAY;
pub const MIN_VMS: usize = 12;

const BASE36: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// A CUID-like id ("c" + 24 base-36 characters), stable for (seed, key).
pub fn cuid(seed: u64, key: &str) -> String {
    let mut n = ((mix(seed, key, 1) as u128) << 64) | mix(seed, key, 2) as u128;
    let mut s = String::with_capacity(25);
    s.push('c');
    for _ in 0..24 {
        s.push(BASE36[(n % 36) as usize] as char);
        n /= 36;
    }
    s
}

/// A UUID-shaped `local_id`.
pub fn uuid(seed: u64, key: &str) -> String {
    let a = mix(seed, key, 3);
    let b = mix(seed, key, 4);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) & 0xffff,
        b & 0xffff_ffff_ffff
    )
}

fn floor_div(a: i64, b: i64) -> i64 {
    a.div_euclid(b)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Normal,
    /// Created 20 days ago; every backup of it has failed.
    NeverSucceeded,
    /// Backups fail since 4 days before the anchor.
    FailingRecently,
    /// In no plan; an admin snapshots it by hand now and then.
    Unprotected,
    /// Only in a suspended snapshot plan.
    SuspendedPlanOnly,
    /// Created 3 days before the anchor.
    New,
    /// Also snapshotted by hand; one of those snapshots is stuck running.
    ManualSnapshots,
    /// In the recycle bin: not part of the inventory.
    Deleted,
}

#[derive(Clone, Debug)]
pub struct ClusterDef {
    pub id: String,
    pub local_id: String,
    pub name: String,
    pub short: &'static str,
    pub ip: String,
    pub capacity: u64,
    pub used_at_anchor: u64,
    pub growth_per_day: u64,
    pub hosts: Vec<(String, String)>,
}

#[derive(Clone, Debug)]
pub struct VmDef {
    pub id: String,
    pub local_id: String,
    pub name: String,
    pub cluster: usize,
    pub host: usize,
    pub created: i64,
    pub role: Role,
    pub size: u64,
    pub used: u64,
    pub snapshot_plan: Option<usize>,
    pub backup_plans: Vec<usize>,
    pub manual: bool,
}

#[derive(Clone, Copy, Debug)]
pub enum SnapSchedule {
    Hours {
        every: i64,
        minute: i64,
    },
    Daily {
        hour: i64,
        minute: i64,
    },
    /// `weekday` 0 = Sunday.
    Weekly {
        weekday: i64,
        hour: i64,
        minute: i64,
    },
}

impl SnapSchedule {
    pub fn period(self) -> i64 {
        match self {
            SnapSchedule::Hours { every, .. } => every * HOUR,
            SnapSchedule::Daily { .. } => DAY,
            SnapSchedule::Weekly { .. } => 7 * DAY,
        }
    }

    /// Seconds after the epoch-aligned period start (the epoch was a Thursday).
    pub fn offset(self) -> i64 {
        match self {
            SnapSchedule::Hours { minute, .. } => minute * MINUTE,
            SnapSchedule::Daily { hour, minute } => hour * HOUR + minute * MINUTE,
            SnapSchedule::Weekly {
                weekday,
                hour,
                minute,
            } => ((3 + weekday) % 7) * DAY + hour * HOUR + minute * MINUTE,
        }
    }

    /// `execute_plan_type` and `execute_intervals`.
    pub fn wire(self) -> (&'static str, Vec<i64>) {
        match self {
            SnapSchedule::Hours { every, .. } => ("HOUR", vec![every]),
            SnapSchedule::Daily { .. } => ("DAY", vec![1]),
            SnapSchedule::Weekly { weekday, .. } => ("WEEK", vec![weekday]),
        }
    }
}

#[derive(Clone, Debug)]
pub struct SnapshotPlanDef {
    pub id: String,
    pub local_id: String,
    pub name: String,
    pub cluster: usize,
    pub schedule: SnapSchedule,
    pub created: i64,
    /// `None` while the plan is NORMAL.
    pub suspended_at: Option<i64>,
    pub keep: usize,
}

impl SnapshotPlanDef {
    pub fn status(&self) -> &'static str {
        if self.suspended_at.is_some() {
            "SUSPENDED"
        } else {
            "NORMAL"
        }
    }
}

#[derive(Clone, Debug)]
pub struct BackupPlanDef {
    pub id: String,
    pub name: String,
    pub created: i64,
    pub paused_at: Option<i64>,
    /// Daily incremental run times (hour, minute).
    pub points: Vec<(i64, i64)>,
    /// Weekday (0 = Sunday) whose runs are full backups.
    pub full_weekday: i64,
    pub store: usize,
    pub keep: usize,
}

impl BackupPlanDef {
    pub fn status(&self) -> &'static str {
        if self.paused_at.is_some() {
            "PAUSED"
        } else {
            "WORKING"
        }
    }
}

#[derive(Clone, Debug)]
pub struct StoreDef {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub capacity: u64,
    pub used_at_anchor: u64,
    pub growth_per_day: u64,
}

#[derive(Clone, Debug)]
pub struct GlobalRuleDef {
    pub id: String,
    pub name: &'static str,
    pub object: &'static str,
    pub severity: &'static str,
    pub message: &'static str,
}

pub struct World {
    pub seed: u64,
    /// Seconds since the epoch.
    pub anchor: i64,
    pub clusters: Vec<ClusterDef>,
    pub vms: Vec<VmDef>,
    pub snapshot_plans: Vec<SnapshotPlanDef>,
    pub backup_plans: Vec<BackupPlanDef>,
    pub stores: Vec<StoreDef>,
    pub rules: Vec<GlobalRuleDef>,
    /// The manual snapshot that never finishes: (vm, start).
    pub stuck: (usize, i64),
}

pub const CLUSTERS: [(&str, &str); 3] = [
    ("CN-BJ-Prod-Cls01", "bj"),
    ("CN-SH-Prod-Cls02", "sh"),
    ("CN-GZ-DR-Cls03", "gz"),
];
const PREFIXES: [&str; 16] = [
    "web", "app", "db", "cache", "mq", "git", "ci", "mail", "dns", "vpn", "proxy", "log", "mon",
    "bi", "hr", "pay",
];
const GIB: u64 = 1 << 30;
const TIB: u64 = 1 << 40;

impl World {
    /// `objects` VMs (at least [`MIN_VMS`]) plus one in the recycle bin.
    pub fn new(seed: u64, objects: usize, anchor: i64) -> World {
        let n = objects.max(MIN_VMS);
        let clusters: Vec<ClusterDef> = CLUSTERS
            .iter()
            .enumerate()
            .map(|(c, (name, short))| {
                let capacity = (40 + 20 * c as u64) * TIB;
                ClusterDef {
                    id: cuid(seed, &format!("cluster:{c}")),
                    local_id: uuid(seed, &format!("cluster:{c}")),
                    name: (*name).to_owned(),
                    short,
                    ip: format!("10.0.{}.210", 20 + c),
                    capacity,
                    used_at_anchor: capacity / 100 * (35 + 15 * c as u64),
                    growth_per_day: (20 + 10 * c as u64) * GIB,
                    hosts: (0..3)
                        .map(|h| {
                            (
                                cuid(seed, &format!("host:{c}:{h}")),
                                format!("{short}-node-{:02}", h + 1),
                            )
                        })
                        .collect(),
                }
            })
            .collect();
        let mut snapshot_plans = Vec::new();
        for (c, cl) in clusters.iter().enumerate() {
            let c64 = c as i64;
            for (kind, schedule, keep) in [
                (
                    "daily",
                    SnapSchedule::Daily {
                        hour: 1 + 2 * c64,
                        minute: 10,
                    },
                    7,
                ),
                (
                    "6h",
                    SnapSchedule::Hours {
                        every: 6,
                        minute: 5 + 7 * c64,
                    },
                    8,
                ),
            ] {
                let key = format!("snapshot-plan:{c}:{kind}");
                snapshot_plans.push(SnapshotPlanDef {
                    id: cuid(seed, &key),
                    local_id: uuid(seed, &key),
                    name: format!("{}-{kind}", cl.short),
                    cluster: c,
                    schedule,
                    created: anchor - 400 * DAY,
                    suspended_at: None,
                    keep,
                });
            }
        }
        let legacy = snapshot_plans.len();
        snapshot_plans.push(SnapshotPlanDef {
            id: cuid(seed, "snapshot-plan:legacy"),
            local_id: uuid(seed, "snapshot-plan:legacy"),
            name: "legacy-weekly".into(),
            cluster: 0,
            schedule: SnapSchedule::Weekly {
                weekday: 0,
                hour: 23,
                minute: 0,
            },
            created: anchor - 400 * DAY,
            suspended_at: Some(anchor - 20 * DAY),
            keep: 4,
        });
        let backup_plans = vec![
            BackupPlanDef {
                id: cuid(seed, "backup-plan:nightly"),
                name: "nightly-backup".into(),
                created: anchor - 400 * DAY,
                paused_at: None,
                points: vec![(1, 30)],
                full_weekday: 0,
                store: 0,
                keep: 14,
            },
            BackupPlanDef {
                id: cuid(seed, "backup-plan:db"),
                name: "twice-daily-db".into(),
                created: anchor - 400 * DAY,
                paused_at: None,
                points: vec![(0, 30), (12, 30)],
                full_weekday: 6,
                store: 1,
                keep: 14,
            },
            BackupPlanDef {
                id: cuid(seed, "backup-plan:archive"),
                name: "archive-paused".into(),
                created: anchor - 400 * DAY,
                paused_at: Some(anchor - 10 * DAY),
                points: vec![(22, 0)],
                full_weekday: 3,
                store: 0,
                keep: 14,
            },
        ];
        let mut vms = Vec::with_capacity(n + 1);
        for k in 0..=n {
            let (name, role) = match k {
                0 => ("erp-db-01".to_owned(), Role::NeverSucceeded),
                1 => ("crm-app-02".to_owned(), Role::FailingRecently),
                2 => ("scratch-vm-03".to_owned(), Role::Unprotected),
                3 => ("legacy-ftp-04".to_owned(), Role::SuspendedPlanOnly),
                4 => ("test-web-05".to_owned(), Role::Normal),
                5 => ("test-db-06".to_owned(), Role::Normal),
                6 => ("new-app-07".to_owned(), Role::New),
                7 => ("file-srv-08".to_owned(), Role::ManualSnapshots),
                k if k == n => ("old-vm-99".to_owned(), Role::Deleted),
                k => (
                    format!("{}-{:02}", PREFIXES[k % PREFIXES.len()], k + 1),
                    Role::Normal,
                ),
            };
            let cluster = match role {
                Role::NeverSucceeded | Role::SuspendedPlanOnly => 0,
                Role::FailingRecently => 1,
                Role::Unprotected => 2,
                _ => k % clusters.len(),
            };
            let created = match role {
                Role::NeverSucceeded => anchor - 20 * DAY,
                Role::New => anchor - 3 * DAY,
                Role::Deleted => anchor - 200 * DAY,
                _ => anchor - (70 + (unit(seed, "vm-age", k as u64) * 300.0) as i64) * DAY,
            };
            let daily = 2 * cluster;
            let six_hourly = 2 * cluster + 1;
            let (snapshot_plan, backup_plans): (Option<usize>, Vec<usize>) = match role {
                Role::NeverSucceeded | Role::FailingRecently => (None, vec![0]),
                Role::Unprotected | Role::Deleted => (None, vec![]),
                Role::SuspendedPlanOnly => (Some(legacy), vec![]),
                Role::New => (Some(daily), vec![0]),
                Role::ManualSnapshots => (Some(six_hourly), vec![]),
                Role::Normal => {
                    let snap = match k % 3 {
                        0 => Some(daily),
                        1 => Some(six_hourly),
                        _ => None,
                    };
                    let mut backup = match k % 4 {
                        0 => vec![0],
                        1 => vec![1],
                        _ => vec![],
                    };
                    if k % 5 == 0 {
                        backup.push(2);
                    }
                    if snap.is_none() && !backup.iter().any(|b| *b != 2) {
                        backup.insert(0, 0);
                    }
                    (snap, backup)
                }
            };
            let size = (40 + (unit(seed, "vm-size", k as u64) * 460.0) as u64) * GIB;
            let used = size / 100 * (20 + (unit(seed, "vm-used", k as u64) * 60.0) as u64);
            vms.push(VmDef {
                id: cuid(seed, &format!("vm:{k}")),
                local_id: uuid(seed, &format!("vm:{k}")),
                name,
                cluster,
                host: k % 3,
                created,
                role,
                size,
                used,
                snapshot_plan,
                backup_plans,
                manual: matches!(role, Role::Unprotected | Role::ManualSnapshots),
            });
        }
        let stores = vec![
            StoreDef {
                id: cuid(seed, "store:0"),
                name: "nfs-backup-01".into(),
                kind: "NFS3",
                capacity: 100 * TIB,
                used_at_anchor: 38 * TIB,
                growth_per_day: 150 * GIB,
            },
            StoreDef {
                id: cuid(seed, "store:1"),
                name: "iscsi-backup-02".into(),
                kind: "ISCSI",
                capacity: 50 * TIB,
                used_at_anchor: 31 * TIB,
                growth_per_day: 90 * GIB,
            },
        ];
        let rule = |i: usize, name, object, severity, message| GlobalRuleDef {
            id: cuid(seed, &format!("global-rule:{i}")),
            name,
            object,
            severity,
            message,
        };
        let rules = vec![
            rule(
                0,
                "snapshot_plan_execute_failed",
                "SNAPSHOT_PLAN",
                "NOTICE",
                "Snapshot plan execution failed.",
            ),
            rule(
                1,
                "vm_backup_failed",
                "VM",
                "CRITICAL",
                "The backup of the VM failed.",
            ),
            rule(
                2,
                "zbs_cluster_data_space_use_rate",
                "CLUSTER",
                "NOTICE",
                "Cluster storage usage exceeds the threshold.",
            ),
            rule(
                3,
                "host_disk_unhealthy",
                "DISK",
                "CRITICAL",
                "A physical disk is unhealthy.",
            ),
            rule(
                4,
                "host_memory_usage_high",
                "PHYSICAL_HOST",
                "NOTICE",
                "Host memory usage is high.",
            ),
            rule(
                5,
                "vm_cpu_usage_high",
                "VM",
                "INFO",
                "VM CPU usage is high.",
            ),
        ];
        World {
            seed,
            anchor,
            clusters,
            stuck: (7.min(n - 1), anchor - 3 * HOUR),
            vms,
            snapshot_plans,
            backup_plans,
            stores,
            rules,
        }
    }

    /// VMs of a snapshot plan (never the deleted one).
    pub fn snapshot_members(&self, plan: usize) -> impl Iterator<Item = usize> + '_ {
        self.vms
            .iter()
            .enumerate()
            .filter(move |(_, v)| v.snapshot_plan == Some(plan) && v.role != Role::Deleted)
            .map(|(i, _)| i)
    }

    pub fn backup_members(&self, plan: usize) -> impl Iterator<Item = usize> + '_ {
        self.vms
            .iter()
            .enumerate()
            .filter(move |(_, v)| v.backup_plans.contains(&plan) && v.role != Role::Deleted)
            .map(|(i, _)| i)
    }

    pub fn cluster_used(&self, c: usize, now: i64) -> u64 {
        let cl = &self.clusters[c];
        grow(cl.used_at_anchor, cl.growth_per_day, now - self.anchor).min(cl.capacity)
    }

    pub fn store_used(&self, s: usize, now: i64) -> u64 {
        let st = &self.stores[s];
        grow(st.used_at_anchor, st.growth_per_day, now - self.anchor).min(st.capacity)
    }
}

fn grow(base: u64, per_day: u64, secs: i64) -> u64 {
    let delta = (per_day as f64 * secs as f64 / DAY as f64) as i64;
    (base as i64 + delta).max(0) as u64
}

/// Slots `n * period + offset` within `[from, to]`.
pub fn slots(period: i64, offset: i64, from: i64, to: i64) -> impl Iterator<Item = (i64, i64)> {
    let first = floor_div(from - offset + period - 1, period);
    let last = floor_div(to - offset, period);
    (first..=last).map(move |n| (n, n * period + offset))
}
