//! Data broker health → warnings, BlueXP audit groups → audit events.

use std::time::Duration;

use jiff::Timestamp;

use super::wire::{AuditGroup, DataBroker};
use crate::model::{AuditAction, AuditEvent, Severity, Vendor, Warning, note_unknown_word};

/// A data broker that has not called home for this long is reported as unreachable even
/// though its last known status is `COMPLETE`.
pub(super) const BROKER_SILENCE: Duration = Duration::from_secs(3600);

/// Warning categories (a fixed vocabulary: it becomes a label).
pub(super) const CAT_BROKER_FAILED: &str = "data_broker_failed";
pub(super) const CAT_BROKER_UNKNOWN: &str = "data_broker_unknown";
pub(super) const CAT_BROKER_UNREACHABLE: &str = "data_broker_unreachable";
pub(super) const CAT_BROKER_OUTDATED: &str = "data_broker_outdated";

/// Warnings for a data broker that is not healthy: failed, never seen, silent, or behind
/// the latest version.
pub(super) fn broker_warnings(b: &DataBroker, tenant: &str, now: Timestamp) -> Vec<Warning> {
    let name = b.name.as_deref().or(b.id.as_deref()).unwrap_or("(unnamed)");
    let kind = b.kind.as_deref().unwrap_or("unknown type");
    let warn = |severity, category: &str, message: String| Warning {
        object_id: None,
        tenant: tenant.to_owned(),
        severity,
        category: category.to_owned(),
        message,
    };
    let mut out = Vec::new();
    match b.status.as_deref().map(str::to_ascii_uppercase).as_deref() {
        Some("COMPLETE") => {
            if let Some(ping) = b.last_ping {
                let silent = crate::clock::seconds_between(ping, now);
                if silent > BROKER_SILENCE.as_secs_f64() {
                    out.push(warn(
                        Severity::Warning,
                        CAT_BROKER_UNREACHABLE,
                        format!(
                            "data broker {name} ({kind}) has not contacted the service since {ping}"
                        ),
                    ));
                }
            }
        }
        Some("FAILED") => out.push(warn(
            Severity::Critical,
            CAT_BROKER_FAILED,
            match b.message.as_deref().filter(|m| !m.is_empty()) {
                Some(m) => format!("data broker {name} ({kind}) failed: {m}"),
                None => format!("data broker {name} ({kind}) failed"),
            },
        )),
        None => out.push(warn(
            Severity::Warning,
            CAT_BROKER_UNKNOWN,
            format!("data broker {name} ({kind}) has not contacted the service yet"),
        )),
        Some(_) => {
            let word = b.status.as_deref().unwrap_or_default();
            note_unknown_word(Vendor::Cloudsync, "data broker status", word);
            out.push(warn(
                Severity::Warning,
                CAT_BROKER_UNKNOWN,
                format!("data broker {name} ({kind}) reports status {word}"),
            ));
        }
    }
    let installed = b.placement.as_ref().and_then(|p| p.version.as_deref());
    if let (Some(installed), Some(latest)) = (installed, b.latest_version.as_deref())
        && !installed.is_empty()
        && !latest.is_empty()
        && installed != latest
    {
        out.push(warn(
            Severity::Info,
            CAT_BROKER_OUTDATED,
            format!("data broker {name} runs version {installed}; {latest} is available"),
        ));
    }
    out
}

/// Verbs that start a BlueXP audit action name (`Create Relationship`, `Delete Data
/// Broker`). A verb not listed is `other`: the model does not guess.
const AUDIT_VERBS: &[(&str, AuditAction)] = &[
    ("create", AuditAction::Create),
    ("add", AuditAction::Create),
    ("deploy", AuditAction::Create),
    ("register", AuditAction::Create),
    ("install", AuditAction::Create),
    ("update", AuditAction::Modify),
    ("edit", AuditAction::Modify),
    ("modify", AuditAction::Modify),
    ("set", AuditAction::Modify),
    ("change", AuditAction::Modify),
    ("rename", AuditAction::Modify),
    ("move", AuditAction::Modify),
    ("upgrade", AuditAction::Modify),
    ("delete", AuditAction::Delete),
    ("remove", AuditAction::Delete),
    ("unregister", AuditAction::Delete),
    ("uninstall", AuditAction::Delete),
    ("login", AuditAction::Login),
];

/// The model action of an audit group: its verb, except that a failed login is
/// `login_failed` and any other failed operation is `error`.
pub(super) fn audit_action(action: &str, status: &str) -> AuditAction {
    let verb = action
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let mapped = AUDIT_VERBS
        .iter()
        .find(|(v, _)| *v == verb)
        .map(|(_, a)| *a)
        .unwrap_or(AuditAction::Other);
    let failed = status.eq_ignore_ascii_case("failed");
    match (mapped, failed) {
        (AuditAction::Login, true) => AuditAction::LoginFailed,
        (_, true) => AuditAction::Error,
        (a, false) => a,
    }
}

/// An audit group as an event, or `None` without a time (it could not be placed).
pub(super) fn audit_event(g: &AuditGroup, tenant: &str) -> Option<AuditEvent> {
    let time = g.start_time?;
    let action = g.action.as_deref().unwrap_or("");
    let status = g.status.as_deref().unwrap_or("");
    let service = g.service.as_deref().unwrap_or("");
    let request = g.request_id.as_deref().unwrap_or("");
    let id = if request.is_empty() {
        format!("{service}/{}/{action}", time.as_millisecond())
    } else {
        format!("{service}/{request}")
    };
    let mut message = format!("{action} ({service}): {status}");
    let errors: Vec<String> = g
        .errors
        .iter()
        .map(|e| match e {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    if !errors.is_empty() {
        message.push_str(": ");
        message.push_str(&errors.join("; "));
    }
    Some(AuditEvent {
        id,
        time,
        tenant: tenant.to_owned(),
        actor: g.principal_id.clone().unwrap_or_default(),
        action: audit_action(action, status),
        object: g
            .resource_name
            .clone()
            .filter(|s| !s.is_empty())
            .or_else(|| g.resource_id.clone())
            .unwrap_or_default(),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broker(json: &str) -> DataBroker {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn unhealthy_brokers_become_warnings() {
        let now: Timestamp = "2024-06-01T12:00:00Z".parse().unwrap();
        let fresh = now.as_millisecond() - 30_000;
        let ok = broker(&format!(
            r#"{{"id":"b","name":"db1","type":"AWS","status":"COMPLETE","lastPing":{fresh},"latestVersion":"1.5","placement":{{"version":"1.5"}}}}"#
        ));
        assert!(broker_warnings(&ok, "t", now).is_empty());
        let failed =
            broker(r#"{"name":"db2","type":"ONPREM","status":"FAILED","message":"no route"}"#);
        let w = broker_warnings(&failed, "t", now);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].severity, Severity::Critical);
        assert_eq!(w[0].category, CAT_BROKER_FAILED);
        assert!(w[0].message.contains("no route"));
        let never = broker(r#"{"name":"db3","type":"AZURE"}"#);
        assert_eq!(
            broker_warnings(&never, "t", now)[0].category,
            CAT_BROKER_UNKNOWN
        );
        let silent = broker(&format!(
            r#"{{"name":"db4","type":"GCP","status":"COMPLETE","lastPing":{}}}"#,
            now.as_millisecond() - 2 * 3_600_000
        ));
        assert_eq!(
            broker_warnings(&silent, "t", now)[0].category,
            CAT_BROKER_UNREACHABLE
        );
        let old = broker(&format!(
            r#"{{"name":"db5","status":"COMPLETE","lastPing":{fresh},"latestVersion":"1.6","placement":{{"version":"1.5"}}}}"#
        ));
        let w = broker_warnings(&old, "t", now);
        assert_eq!(
            (w[0].severity, w[0].category.as_str()),
            (Severity::Info, CAT_BROKER_OUTDATED)
        );
    }

    #[test]
    fn audit_actions_map_by_verb_and_status() {
        let table = [
            ("Create Relationship", "success", AuditAction::Create),
            (
                "Update Relationship Settings",
                "success",
                AuditAction::Modify,
            ),
            ("Delete Data Broker", "success", AuditAction::Delete),
            ("Delete Data Broker", "failed", AuditAction::Error),
            ("Login", "success", AuditAction::Login),
            ("Login", "failed", AuditAction::LoginFailed),
            ("Sync Relationship", "success", AuditAction::Other),
            ("Sync Relationship", "pending", AuditAction::Other),
            ("", "", AuditAction::Other),
        ];
        for (action, status, want) in table {
            assert_eq!(audit_action(action, status), want, "{action} {status}");
        }
    }

    #[test]
    fn audit_verbs_are_actions_only_when_they_change_something() {
        // Every verb in the table creates, changes, removes or logs in.
        for (verb, action) in AUDIT_VERBS {
            assert!(
                matches!(
                    action,
                    AuditAction::Create
                        | AuditAction::Modify
                        | AuditAction::Delete
                        | AuditAction::Login
                ),
                "{verb}"
            );
        }
        // Read-only and unknown verbs are `other`, in any case; a failed one is an error.
        for action in [
            "Get Relationships",
            "List Data Brokers",
            "View Report",
            "Browse Files",
            "Search Audit",
            "Download Logs",
            "Export Report",
            "Read Settings",
            "Sync Relationship",
            "Abort Relationship",
            "Logout",
            "Créer Relation",
            "",
        ] {
            assert_eq!(
                audit_action(action, "success"),
                AuditAction::Other,
                "{action}"
            );
            assert_eq!(
                audit_action(action, "pending"),
                AuditAction::Other,
                "{action}"
            );
            assert_eq!(
                audit_action(action, "FAILED"),
                AuditAction::Error,
                "{action}"
            );
        }
        assert_eq!(
            audit_action("CREATE relationship", "Success"),
            AuditAction::Create
        );
        assert_eq!(audit_action("login", "Failed"), AuditAction::LoginFailed);
        assert_eq!(
            audit_action("Delete Relationship", "aborted"),
            AuditAction::Delete
        );
    }

    #[test]
    fn audit_group_becomes_event() {
        let g: AuditGroup = serde_json::from_str(
            r#"{"accountId":"account-1","startTime":1684050775135,"endTime":1684050776135,"action":"Delete Relationship",
            "status":"failed","requestId":"c53qRZlA","service":"cloudsync","principalId":"auth0|5cd0","resourceName":"nfs01:/x -> s3://b",
            "resourceId":"61c4","errors":["relationship is running"],"hasRecords":true,"hasFailedRecord":true,"lastModified":1684050775135}"#,
        )
        .unwrap();
        let e = audit_event(&g, "Acme").unwrap();
        assert_eq!(e.id, "cloudsync/c53qRZlA");
        assert_eq!(e.time.as_millisecond(), 1684050775135);
        assert_eq!(e.action, AuditAction::Error);
        assert_eq!(e.actor, "auth0|5cd0");
        assert_eq!(e.object, "nfs01:/x -> s3://b");
        assert_eq!(
            e.message,
            "Delete Relationship (cloudsync): failed: relationship is running"
        );
    }
}
