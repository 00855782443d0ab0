//! Alerts (planted ones that never end, and a stream of others that come and go) and the
//! rules behind them, as `get-alerts`, `get-alert-rules` and `get-global-alert-rules` answer.

use serde_json::{Value, json};

use super::data::*;
use super::render::fmt;

#[derive(Clone, Debug)]
pub struct AlertInst {
    pub key: String,
    pub rule: Option<usize>,
    pub cluster: usize,
    pub vm: Option<usize>,
    pub host: Option<usize>,
    pub disk: bool,
    pub severity: &'static str,
    pub message: String,
    pub start: i64,
    pub end: Option<i64>,
}

impl AlertInst {
    pub fn active(&self, now: i64) -> bool {
        self.start <= now && self.end.is_none_or(|e| e > now)
    }
}

const ALERT_EVERY: i64 = 26 * HOUR;

impl World {
    /// Alerts that were active at some point in `[now - RETENTION, now]`.
    pub fn alerts(&self, now: i64) -> Vec<AlertInst> {
        let mut out = Vec::new();
        let vm0 = &self.vms[0];
        out.push(AlertInst {
            key: "planted:vm-backup".into(),
            rule: Some(1),
            cluster: vm0.cluster,
            vm: Some(0),
            host: None,
            disk: false,
            severity: "CRITICAL",
            message: format!("The backup of VM {} failed.", vm0.name),
            start: vm0.created + DAY,
            end: None,
        });
        out.push(AlertInst {
            key: "planted:capacity".into(),
            rule: Some(2),
            cluster: 2,
            vm: None,
            host: None,
            disk: false,
            severity: "NOTICE",
            message: format!(
                "The storage usage of cluster {} exceeds 80%.",
                self.clusters[2].name
            ),
            start: self.anchor - 6 * DAY,
            end: None,
        });
        out.push(AlertInst {
            key: "planted:license".into(),
            rule: None,
            cluster: 1,
            vm: None,
            host: None,
            disk: false,
            severity: "INFO",
            message: "The license will expire in 30 days.".into(),
            start: self.anchor - 2 * DAY,
            end: None,
        });
        for (j, start) in slots(ALERT_EVERY, 7 * HOUR, now - RETENTION - 5 * DAY, now) {
            let key = format!("alert:{j}");
            let rule = (self.u(&key, 0) * self.rules.len() as f64) as usize % self.rules.len();
            let cluster =
                (self.u(&key, 1) * self.clusters.len() as f64) as usize % self.clusters.len();
            let vm = self
                .vms
                .iter()
                .position(|v| v.cluster == cluster && v.role == Role::Normal)
                .unwrap_or(0);
            let object = self.rules[rule].object;
            let host = (self.u(&key, 2) * 3.0) as usize % 3;
            let end = start + HOUR + (self.u(&key, 3) * 4.0 * DAY as f64) as i64;
            out.push(AlertInst {
                key,
                rule: Some(rule),
                cluster,
                vm: (object == "VM").then_some(vm),
                host: matches!(object, "DISK" | "PHYSICAL_HOST").then_some(host),
                disk: object == "DISK",
                severity: self.rules[rule].severity,
                message: self.rules[rule].message.to_owned(),
                start,
                end: Some(end),
            });
        }
        out.retain(|a| a.start <= now && a.end.is_none_or(|e| e > now - RETENTION));
        out
    }

    pub fn alert_rule_id(&self, rule: usize, cluster: usize) -> String {
        cuid(self.seed, &format!("alert-rule:{rule}:{cluster}"))
    }

    pub fn render_alerts(&self, now: i64) -> Vec<Value> {
        self.alerts(now)
            .into_iter()
            .map(|a| {
                let ended = !a.active(now);
                let cl = &self.clusters[a.cluster];
                let id = cuid(self.seed, &a.key);
                json!({
                    "id": id,
                    "local_id": uuid(self.seed, &id),
                    "severity": a.severity,
                    "ended": ended,
                    "message": a.message,
                    "cause": "See the alert rule.",
                    "impact": "Depends on the resource.",
                    "solution": "Check the resource in CloudTower.",
                    "threshold": 80,
                    "value": 91.5,
                    "labels": { "cluster": cl.name },
                    "local_start_time": fmt(a.start),
                    "local_end_time": if ended { fmt(a.end.unwrap_or(now)) } else { String::new() },
                    "local_update_time": fmt(a.end.map_or(now, |e| e.min(now))),
                    "local_create_time": fmt(a.start + 1),
                    "create_time": fmt(a.start),
                    "cluster": self.cluster_ref(a.cluster),
                    "host": a.host.map(|h| json!({
                        "id": cl.hosts[h].0, "name": cl.hosts[h].1,
                        "management_ip": format!("10.0.{}.{}", 20 + a.cluster, 11 + h),
                    })),
                    "disk": if a.disk { json!({ "id": cuid(self.seed, &format!("disk:{}", a.key)), "name": "sdb" }) } else { Value::Null },
                    "vms": a.vm.map(|v| vec![self.vm_ref(v)]).unwrap_or_default(),
                    "alert_rule": a.rule.map(|r| json!({ "id": self.alert_rule_id(r, a.cluster) })),
                })
            })
            .collect()
    }

    pub fn render_alert_rules(&self) -> Vec<Value> {
        let mut out = Vec::new();
        for (r, rule) in self.rules.iter().enumerate() {
            for c in 0..self.clusters.len() {
                let id = self.alert_rule_id(r, c);
                out.push(json!({
                    "id": id,
                    "local_id": uuid(self.seed, &id),
                    "cluster": self.cluster_ref(c),
                    "customized": false,
                    "disabled": false,
                    "global_alert_rule": { "id": rule.id, "name": rule.name },
                    "thresholds": [],
                }));
            }
        }
        out
    }

    pub fn render_global_rules(&self) -> Vec<Value> {
        self.rules
            .iter()
            .map(|rule| {
                json!({
                    "id": rule.id,
                    "name": rule.name,
                    "object": rule.object,
                    "boolean": false,
                    "cause": "",
                    "impact": "",
                    "message": rule.message,
                    "solution": "",
                    "operator": ">",
                    "unit": "PERCENT",
                    "disabled": false,
                    "default_thresholds": [],
                    "thresholds": [],
                    "alert_rules": [],
                })
            })
            .collect()
    }
}
