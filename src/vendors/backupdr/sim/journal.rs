//! What the appliances and the console write down over time: appliance events and the
//! console's audit log, from the same (seed, slot) scheme as the jobs.

use jiff::Timestamp;

use super::data::{App, RETENTION, World};
use super::history::{NUMBER_EPOCH_S, runs, secs, ts};

/// The console host written into hrefs and audit commands.
pub const CONSOLE_URL: &str =
    "https://bmc-1234567-simulated-dot-europe-west1.backupdr.googleusercontent.com/actifio";

#[derive(Clone, Debug, PartialEq)]
pub struct SimEvent {
    pub number: u64,
    pub appliance: usize,
    pub eventid: u32,
    pub date: Timestamp,
    pub requires_clearing: bool,
    /// `new` until someone clears it (36 h later), `cleared` after; empty for events that
    /// need no clearing.
    pub status: &'static str,
    pub message: String,
    pub app: Option<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SimAudit {
    pub number: u64,
    pub date: Timestamp,
    pub username: &'static str,
    pub command: String,
    pub status: u32,
}

impl World {
    /// Appliance events dated in `[from, to]`, one slot every 7 hours per appliance.
    pub fn events(&self, now: Timestamp, from: Timestamp, to: Timestamp) -> Vec<SimEvent> {
        const EVERY: i64 = 7 * 3600;
        let lo = from.as_second().max(now.as_second() - secs(RETENTION));
        let hi = to.as_second().min(now.as_second());
        let mut out = Vec::new();
        if lo > hi {
            return out;
        }
        for appl in &self.appliances {
            // The console hears nothing from an appliance it cannot reach.
            let hi = if appl.reachable {
                hi
            } else {
                hi.min(self.anchor.as_second() - 86_400)
            };
            let phase = (appl.index as i64 * 4217).rem_euclid(EVERY);
            for n in runs(lo, hi, EVERY, phase) {
                let key = format!("bdr/event/{}", appl.id);
                let u = self.unit(&key, n as u64);
                let date = phase + n * EVERY + (self.unit(&key, n as u64 ^ 0xabc) * 1800.0) as i64;
                let on_app: Vec<&App> = self
                    .apps
                    .iter()
                    .filter(|a| a.appliance == appl.index)
                    .collect();
                let app =
                    (!on_app.is_empty()).then(|| on_app[(n as usize).rem_euclid(on_app.len())]);
                let (eventid, clearing, message) = if u < 0.15 {
                    (
                        10085,
                        true,
                        "Snapshot pool act_per_pool000 is above its warning threshold".to_owned(),
                    )
                } else if u < 0.27 && app.is_some() {
                    let a = app.unwrap_or(&self.apps[0]);
                    (
                        43155,
                        true,
                        format!(
                            "Connector on host {} has not responded for 30 minutes",
                            a.hostname
                        ),
                    )
                } else if u < 0.55 {
                    (
                        10120,
                        false,
                        "A software update is available for this appliance".to_owned(),
                    )
                } else {
                    (
                        10001,
                        false,
                        "Daily appliance health check completed".to_owned(),
                    )
                };
                let status = if !clearing {
                    ""
                } else if now.as_second() - date < 36 * 3600 {
                    "new"
                } else {
                    "cleared"
                };
                out.push(SimEvent {
                    number: (date - NUMBER_EPOCH_S).max(0) as u64 / 60 * 8 + appl.index as u64,
                    appliance: appl.index,
                    eventid,
                    date: ts(date),
                    requires_clearing: clearing,
                    status,
                    message,
                    app: (eventid == 43155).then(|| app.map(|a| a.index)).flatten(),
                });
            }
        }
        out.sort_by_key(|e| e.number);
        out
    }

    /// The console's audit log in `[from, to]`: a record every 20 minutes, mostly reads, and
    /// logins, creations, changes, deletions and operations by people and automation.
    pub fn audit(&self, now: Timestamp, from: Timestamp, to: Timestamp) -> Vec<SimAudit> {
        const EVERY: i64 = 1200;
        let lo = from.as_second().max(now.as_second() - secs(RETENTION));
        let hi = to.as_second().min(now.as_second());
        let mut out = Vec::new();
        if lo > hi {
            return out;
        }
        let users = [
            "alice.admin@example.com",
            "bob.operator@example.com",
            "ops-automation@bdr-demo.iam.gserviceaccount.com",
        ];
        // Records are ordered by slot; the jitter stays inside the slot.
        for n in runs(lo - EVERY, hi, EVERY, 0) {
            let u = self.unit("bdr/audit", n as u64);
            let date = n * EVERY + (self.unit("bdr/audit/t", n as u64) * 900.0) as i64;
            if !(lo..=hi).contains(&date) {
                continue;
            }
            let user = users[(self.unit("bdr/audit/u", n as u64) * 3.0) as usize % 3];
            let app = &self.apps[(n as usize).rem_euclid(self.apps.len())];
            let sla = app.sla_id.clone().unwrap_or_else(|| "500000".into());
            let image = (n as u64).wrapping_mul(2_654_435_761) % 900_000 + 100_000;
            let (command, status) = if u < 0.45 {
                (
                    format!("GET {CONSOLE_URL}/jobstatus?limit=50&sort=id:desc"),
                    0,
                )
            } else if u < 0.60 {
                (format!("POST {CONSOLE_URL}/session"), 0)
            } else if u < 0.68 {
                (format!("POST {CONSOLE_URL}/sla"), 10008)
            } else if u < 0.78 {
                (format!("PUT {CONSOLE_URL}/sla/{sla}"), 10008)
            } else if u < 0.84 {
                (format!("DELETE {CONSOLE_URL}/sla/{sla}"), 10008)
            } else if u < 0.90 {
                (
                    format!("POST {CONSOLE_URL}/backup/{image}/expire force=TRUE"),
                    10008,
                )
            } else if u < 0.95 {
                (format!("POST {CONSOLE_URL}/backup/{image}/mount"), 10008)
            } else {
                (format!("DELETE {CONSOLE_URL}/session/current"), 0)
            };
            let session = format!(
                "{:08x}",
                crate::sim::mix(self.seed, "bdr/audit/s", n as u64) as u32
            );
            out.push(SimAudit {
                number: 900_000 + n as u64,
                date: ts(date),
                username: user,
                command: format!("{command} Session {session}"),
                status,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;

    fn now() -> Timestamp {
        Timestamp::from_second(1_780_000_123).unwrap()
    }

    #[test]
    fn events_and_audit_cover_every_kind() {
        let w = World::new(9, 20, now());
        let day = SignedDuration::from_hours(24);
        let ev = w.events(now(), now() - day * 10, now());
        assert!(ev.iter().any(|e| e.status == "new"));
        assert!(ev.iter().any(|e| e.status == "cleared"));
        let au = w.audit(now(), now() - day * 3, now());
        for word in [
            "GET ",
            "POST ",
            "PUT ",
            "DELETE ",
            "/expire",
            "/mount",
            "/session ",
        ] {
            assert!(au.iter().any(|a| a.command.contains(word)), "{word}");
        }
        assert!(au.windows(2).all(|p| p[0].date <= p[1].date));
    }
}
