//! The world's items in Clumio's JSON shapes (field names from the Go and Python SDK models).

use jiff::Timestamp;
use serde_json::{Value, json};

use super::data::{Alert, Asset, AuditEvent, Backup, Kind, Ou, Policy, Task, World, subtree};

pub fn iso(t: i64) -> String {
    Timestamp::from_second(t)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

fn opt_iso(t: Option<i64>) -> Value {
    t.map(|t| Value::String(iso(t))).unwrap_or(Value::Null)
}

fn link(href: String) -> Value {
    json!({ "href": href, "type": "get", "templated": false })
}

fn etag(world: &World, key: &str) -> String {
    format!(
        "\"{:x}\"",
        crate::sim::mix(world.seed, key, 0) & 0xffff_ffff
    )
}

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-west-2";

fn environment(world: &World) -> Value {
    json!({
        "id": super::data::uuid(world.seed, "environment", 0),
        "type": "aws_environment",
        "value": format!("{ACCOUNT}/{REGION}"),
    })
}

pub fn entity(a: &Asset) -> Value {
    json!({ "id": a.id, "type": a.kind.entity_type(), "value": a.native_id })
}

pub fn ou(o: &Ou) -> Value {
    let descendants: Vec<&str> = subtree(o.id).into_iter().skip(1).collect();
    let children = super::data::OUS
        .iter()
        .filter(|c| c.parent == Some(o.id))
        .count();
    json!({
        "id": o.id,
        "name": o.name,
        "description": format!("{} organizational unit", o.name),
        "parent_id": o.parent,
        "children_count": children,
        "descendant_ids": descendants,
        "configured_datasource_types": ["aws"],
        "user_count": 3,
        "_etag": format!("\"{}\"", &o.id[..8]),
        "_links": { "_self": link(format!("/organizational-units/{}", o.id)) },
    })
}

pub fn policy(p: &Policy, now: i64) -> Value {
    let operations: Vec<Value> = p
        .operations
        .iter()
        .map(|op| {
            let slas: Vec<Value> = op
                .slas
                .iter()
                .map(|s| {
                    let mut rpo = json!({ "unit": s.unit });
                    if let Some(v) = s.value {
                        rpo["value"] = json!(v);
                    }
                    json!({
                        "retention_duration": { "unit": "days", "value": s.retention_days },
                        "rpo_frequency": rpo,
                    })
                })
                .collect();
            json!({
                "type": op.op_type,
                "action_setting": "immediate",
                "backup_window_tz": null,
                "slas": slas,
                "timezone": "Etc/UTC",
                // Policies speak unix seconds where every other resource speaks RFC 3339.
                "next_start_time": now - now % 3600 + 3600,
                "previous_start_time": now - now % 3600,
            })
        })
        .collect();
    json!({
        "id": p.id,
        "name": p.name,
        "activation_status": if p.activated { "activated" } else { "deactivated" },
        "lock_status": "unlocked",
        "organizational_unit_id": super::data::GLOBAL,
        "timezone": "Etc/UTC",
        "created_time": p.created,
        "updated_time": p.created + 86_400,
        "operations": operations,
        "_links": {
            "_self": link(format!("/policies/definitions/{}", p.id)),
            "update-policy-definition": { "href": format!("/policies/definitions/{}", p.id), "type": "put", "templated": false },
        },
    })
}

fn tags(a: &Asset) -> Value {
    let env = ["prod", "staging", "dev"][a.index % 3];
    let mut tags = vec![
        json!({ "id": format!("tag-env-{}", a.index % 3), "key": "env", "key_id": "key-env", "value": env }),
    ];
    if let Some(name) = &a.name_tag {
        tags.insert(
            0,
            json!({ "id": format!("tag-name-{}", a.index), "key": "Name", "key_id": "key-name", "value": name }),
        );
    }
    Value::Array(tags)
}

/// `backup_status_info`: computed over `lookback_days`, `unknown` without it.
fn backup_status(
    world: &World,
    a: &Asset,
    now: i64,
    lookback_days: Option<i64>,
    latest: Option<i64>,
) -> Value {
    let status = match lookback_days {
        None => "unknown",
        Some(days) => {
            let runs: Vec<Task> = world
                .tasks(now - days * 86_400, now, now)
                .into_iter()
                .filter(|t| t.asset == Some(a.index) && t.is_backup() && t.end.is_some())
                .collect();
            let ok = runs.iter().filter(|t| t.status == "completed").count();
            match (ok, runs.len()) {
                (_, 0) => "no_backup",
                (0, _) => "failure",
                (ok, n) if ok == n => "success",
                _ => "partial_success",
            }
        }
    };
    json!({
        "backup_status": status,
        "last_successful_policy_start_timestamp": opt_iso(latest),
        "last_failed_policy_start_timestamp": null,
        "operation_info_list": [],
    })
}

/// One datasource item. `latest` is the start of its newest backup.
pub fn datasource(
    world: &World,
    a: &Asset,
    now: i64,
    lookback_days: Option<i64>,
    latest: Option<i64>,
) -> Value {
    let protection_info = match a.policy {
        Some(p) => {
            json!({ "policy_id": p, "inheriting_entity_id": null, "inheriting_entity_type": null })
        }
        None => Value::Null,
    };
    let protection_status = if a.deleted {
        Value::Null
    } else {
        Value::String(a.protection_status.to_owned())
    };
    let env = environment(world);
    let mut v = match a.kind {
        Kind::Ebs => json!({
            "volume_native_id": a.native_id,
            "type": "gp2",
            "iops": 3000,
            "size": a.size_bytes,
            "is_encrypted": true,
            "kms_key_native_id": null,
            "aws_az": format!("{REGION}a"),
            "last_snapshot_timestamp": null,
        }),
        Kind::Ec2 => json!({
            "instance_native_id": a.native_id,
            "type": "m5.large",
            "state": "running",
            "vpc_id": "vpc-0a1b2c3d",
            "subnet_id": "subnet-0a1b2c3d",
            "ena_support": true,
            "aws_az": format!("{REGION}b"),
            "last_snapshot_timestamp": null,
        }),
        Kind::ProtectionGroup => json!({
            "description": "S3 buckets",
            "created_timestamp": iso(a.created),
            "modified_timestamp": iso(a.created + 3_600),
            "version": 1,
            "bucket_count": 1 + a.index % 4,
            "total_backed_up_size_bytes": a.size_bytes,
            "total_backed_up_object_count": a.size_bytes / 1_048_576,
            "backup_tier_stats": [{ "backup_tier": "cold", "total_backed_up_size_bytes": a.size_bytes, "total_backed_up_object_count": a.size_bytes / 1_048_576 }],
            "backup_status_stats": null,
            "protection_stats": null,
            "last_continuous_backup_timestamp": null,
            "object_filter": { "storage_classes": ["S3 Standard"] },
        }),
        Kind::Rds => json!({
            "resource_native_id": a.native_id,
            "type": "aws_rds_cluster",
            "engine": "aurora-postgresql",
            "engine_mode": "provisioned",
            "engine_version": "15.4",
            "size": a.size_bytes,
            "aws_azs": [format!("{REGION}a"), format!("{REGION}b")],
            "last_clumio_snapshot_timestamp": opt_iso(latest),
        }),
    };
    v["id"] = json!(a.id);
    v["organizational_unit_id"] = json!(a.ou);
    v["protection_status"] = protection_status;
    v["protection_info"] = protection_info;
    v["is_deleted"] = json!(a.deleted);
    v["last_backup_timestamp"] = opt_iso(latest);
    v["_etag"] = json!(etag(world, &a.id));
    v["_links"] = json!({ "_self": link(format!("/datasources/{}", a.id)) });
    if a.kind != Kind::ProtectionGroup {
        v["tags"] = tags(a);
        v["account_native_id"] = json!(ACCOUNT);
        v["aws_region"] = json!(REGION);
        v["environment_id"] = env["id"].clone();
        v["is_supported"] = json!(true);
        v["unsupported_reason"] = Value::Null;
        v["deletion_timestamp"] = if a.deleted {
            json!(iso(world.origin - 10 * 86_400))
        } else {
            Value::Null
        };
        v["has_direct_assignment"] = json!(a.policy.is_some());
        v["direct_assignment_policy_id"] = json!(a.policy);
        v["backup_status_info"] = backup_status(world, a, now, lookback_days, latest);
    }
    match (a.kind, &a.name_tag) {
        // A protection group's name is its own; the others carry the Name tag in `name`,
        // except the planted asset that has it only among its tags.
        (Kind::ProtectionGroup, n) => v["name"] = json!(n.clone().unwrap_or_default()),
        (_, _) if !a.name_field => {}
        (_, n) => v["name"] = json!(n.clone().unwrap_or_default()),
    }
    v
}

/// One backup; EBS backups come in two versions (v2 added tiers and utilized size).
pub fn backup(world: &World, b: &Backup, version: u32) -> Value {
    let a = &world.assets[b.asset];
    let mut v = match a.kind {
        Kind::Ebs if version >= 2 => json!({
            "volume_id": a.id,
            "volume_native_id": a.native_id,
            "type": "clumio_backup",
            "backup_tier": "standard",
            "size": b.size_gib,
            "utilized_size_in_bytes": b.utilized_bytes,
            "iops": 3000,
            "volume_type": "gp2",
            "is_browsable": true,
            "browsing_failed_reason": null,
            "migration_timestamp": null,
        }),
        Kind::Ebs => json!({
            "volume_id": a.id,
            "volume_native_id": a.native_id,
            "type": "gp2",
            "size": b.size_gib,
        }),
        Kind::Ec2 => json!({
            "instance_id": a.id,
            "instance_native_id": a.native_id,
            "type": "clumio_backup",
            "backup_tier": "standard",
            "size": b.size_gib,
            "utilized_size_in_bytes": b.utilized_bytes,
            "instance_type": "m5.large",
            "attached_backup_ebs_volumes": [{ "volume_native_id": format!("vol-of-{}", a.native_id), "size": b.size_gib }],
        }),
        Kind::ProtectionGroup => json!({
            "protection_group_id": a.id,
            "protection_group_name": a.native_id,
            "protection_group_version": 1,
            "type": "protection_group_backup",
            "backed_up_size_bytes": b.backed_up_bytes,
            "backed_up_object_count": b.backed_up_bytes / 1_048_576,
            "failed_object_count": 0,
            "failed_size_bytes": 0,
            "missing_object_count": 0,
            "missing_size_bytes": 0,
        }),
        Kind::Rds => json!({
            "database_id": a.id,
            "database_native_id": a.native_id,
            "engine": "aurora-postgresql",
            "engine_version": "15.4",
            "type": "granular_backup",
            "size": b.size_gib,
        }),
    };
    v["id"] = json!(b.id);
    v["start_timestamp"] = json!(iso(b.start));
    v["expiration_timestamp"] = json!(iso(b.expiration));
    if a.kind != Kind::ProtectionGroup {
        v["account_native_id"] = json!(ACCOUNT);
        v["aws_region"] = json!(REGION);
    }
    v["_links"] = json!({ "_self": link(format!("/backups/{}", b.id)) });
    v
}

/// A task's `primary_entity`: `(id, type, value)`.
pub fn task_entity<'w>(world: &'w World, t: &Task) -> (&'w str, &'static str, &'w str) {
    match t.asset {
        Some(i) => {
            let a = &world.assets[i];
            (&a.id, a.kind.entity_type(), &a.native_id)
        }
        None => {
            let name = world
                .policy(super::data::SILVER)
                .map(|p| p.name)
                .unwrap_or("");
            (super::data::SILVER, "policy", name)
        }
    }
}

pub fn task(world: &World, t: &Task) -> Value {
    let (id, kind, value) = task_entity(world, t);
    let primary = json!({ "id": id, "type": kind, "value": value });
    let parent = match t.asset {
        Some(_) => environment(world),
        None => Value::Null,
    };
    let ou = world.task_ou(t);
    json!({
        "_etag": etag(world, &t.id.to_string()),
        "_links": {
            "_self": link(format!("/tasks/{}", t.id)),
            "read-organizational-unit": link(format!("/organizational-units/{ou}")),
            "update-task": { "href": format!("/tasks/{}", t.id), "type": "patch", "templated": false },
        },
        "category": t.category,
        "created_timestamp": iso(t.created),
        "end_timestamp": opt_iso(t.end),
        "genre": t.genre(),
        "id": t.id.to_string(),
        "is_abortable": matches!(t.status, "queued" | "in_progress") && !t.task_type.ends_with("_indexing"),
        "parent_entity": parent,
        "primary_entity": primary,
        "progress_percentage": t.progress,
        "start_timestamp": opt_iso(t.start),
        "status": t.status,
        "type": t.task_type,
    })
}

pub fn alert(world: &World, a: &Alert) -> Value {
    let primary = match a.asset {
        Some(i) => entity(&world.assets[i]),
        None => environment(world),
    };
    json!({
        "_etag": etag(world, &a.id),
        "_links": { "_self": link(format!("/alerts/individual/{}", a.id)) },
        "cause": a.cause.to_ascii_lowercase().replace(' ', "_"),
        "cleared_timestamp": opt_iso(a.cleared),
        "consolidated_alert_id": super::data::uuid(world.seed, "consolidated", a.alert_type.len() as u64),
        "details": {
            "cause": a.cause,
            "description": a.description,
            "type": a.alert_type.replace('_', " "),
            "variables": null,
        },
        "id": a.id,
        "notes": "",
        "parent_entity": environment(world),
        "primary_entity": primary,
        "raised_count": a.raised_count,
        "raised_timestamp": iso(a.raised),
        "severity": a.severity,
        "status": a.status,
        "tags": [],
        "type": a.alert_type,
        "updated_timestamp": iso(a.updated),
    })
}

pub fn audit(world: &World, e: &AuditEvent) -> Value {
    let primary = match (e.asset, e.policy) {
        (Some(i), _) => entity(&world.assets[i]),
        (None, Some(p)) => {
            json!({ "id": p, "type": "policy", "value": world.policy(p).map(|p| p.name).unwrap_or("") })
        }
        (None, None) if e.category == "users" => {
            json!({ "id": null, "type": "user", "value": e.user_email })
        }
        (None, None) => Value::Null,
    };
    json!({
        "id": e.id,
        "timestamp": iso(e.time),
        "user_email": e.user_email,
        "ip_address": e.ip_address,
        "interface": e.interface,
        "status": e.status,
        "action": e.action,
        "category": e.category,
        "primary_entity": primary,
        "parent_entity": null,
        "details": "{}",
        "details_json": { "request_body": null, "tags": [] },
    })
}
