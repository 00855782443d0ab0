//! The user audit log: people logging in (and failing to), creating and deleting
//! snapshots, editing plans and VMs, at a steady pace, as `get-user-audit-logs` answers.

use serde_json::{Value, json};

use super::data::*;
use super::render::fmt;

#[derive(Clone, Debug)]
pub struct AuditInst {
    pub j: i64,
    pub time: i64,
    pub action: &'static str,
    pub resource_type: Option<&'static str>,
    pub vm: Option<usize>,
    pub status: &'static str,
    pub user: &'static str,
    pub message: String,
}

/// (action, resource type, weight): the operations people do in the simulated tower.
const AUDIT_KINDS: &[(&str, Option<&str>, u32)] = &[
    ("Login", None, 6),
    ("Create VM snapshot", Some("VmSnapshot"), 3),
    ("Update snapshot plan", Some("SnapshotPlan"), 2),
    ("Delete VM snapshot", Some("VmSnapshot"), 2),
    ("Create backup plan", Some("BackupPlan"), 1),
    ("Edit VM", Some("Vm"), 2),
    ("Remove host", Some("Host"), 1),
    ("Export audit logs", None, 1),
    ("Mount CD-ROM", Some("Vm"), 1),
];
const USERS: [&str; 4] = ["admin", "ops-anna", "ops-li", "security-audit"];
const AUDIT_EVERY: i64 = 71 * MINUTE;

impl World {
    /// User audit events with a time in `[from, to)`.
    pub fn audit(&self, from: i64, to: i64) -> Vec<AuditInst> {
        let total: u32 = AUDIT_KINDS.iter().map(|k| k.2).sum();
        let first = (from - MINUTE).div_euclid(AUDIT_EVERY);
        let last = to.div_euclid(AUDIT_EVERY);
        let mut out = Vec::new();
        for j in first..=last {
            let key = "audit";
            let time = j * AUDIT_EVERY + (self.u(key, j * 4) * 59.0) as i64;
            if time < from || time >= to {
                continue;
            }
            let mut pick = (self.u(key, j * 4 + 1) * total as f64) as u32;
            let (action, resource_type, _) = *AUDIT_KINDS
                .iter()
                .find(|k| {
                    if pick < k.2 {
                        true
                    } else {
                        pick -= k.2;
                        false
                    }
                })
                .unwrap_or(&AUDIT_KINDS[0]);
            let user = USERS[(self.u(key, j * 4 + 2) * USERS.len() as f64) as usize % USERS.len()];
            let fail = self.u(key, j * 4 + 3);
            let status = if (action == "Login" && fail < 0.15) || fail < 0.05 {
                "FAILED"
            } else {
                "SUCCESSED"
            };
            let vm = resource_type.map(|_| (j.rem_euclid(self.vms.len() as i64 - 1)) as usize);
            let message = match vm {
                Some(v) => format!("{action} for VM {}", self.vms[v].name),
                None if action == "Login" => format!("User {user} logged in"),
                None => format!("{action} by {user}"),
            };
            out.push(AuditInst {
                j,
                time,
                action,
                resource_type,
                vm,
                status,
                user,
                message,
            });
        }
        out
    }

    pub fn render_audit(&self, now: i64) -> Vec<Value> {
        self.audit(now - RETENTION, now + 1)
            .into_iter()
            .map(|e| {
                let resource_id = match (e.resource_type, e.vm) {
                    (Some("Vm"), Some(v)) => Value::from(self.vms[v].id.clone()),
                    (Some(_), _) => Value::from(self.audit_resource_id(e.j)),
                    (None, _) => Value::Null,
                };
                json!({
                    "id": cuid(self.seed, &format!("audit:{}", e.j)),
                    "action": e.action,
                    "message": e.message,
                    "status": e.status,
                    "user": { "id": cuid(self.seed, &format!("user:{}", e.user)), "name": e.user },
                    "username": e.user,
                    "ip_address": format!("10.0.99.{}", 10 + e.j.rem_euclid(40)),
                    "auth_type": "LOCAL",
                    "resource_id": resource_id,
                    "resource_type": e.resource_type,
                    "cluster": e.vm.map(|v| self.cluster_ref(self.vms[v].cluster)),
                    "createdAt": fmt(e.time),
                    "started_at": fmt(e.time),
                    "finished_at": fmt(e.time + 2),
                })
            })
            .collect()
    }
}
