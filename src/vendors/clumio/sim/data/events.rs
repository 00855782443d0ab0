//! Alerts and audit events.

use super::{ANCHOR, DAY, GLOBAL, HOUR, SILVER, World, planted, uuid};
use crate::sim::{mix, unit};

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

impl World {
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
