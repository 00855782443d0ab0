//! Clumio's JSON as it comes over the wire. Everything the service may omit is an `Option`,
//! and the decoders are lenient where the SDKs and the service disagree:
//! - `error_code` is an integer in `Error.errors[]` but a string in `ErrorModel`;
//! - `start` is a page number written as a string, or a page token (policies): it is never
//!   read, paging follows `_links._next`;
//! - `/alerts/individual` items are typed as consolidated alerts in both SDKs, so every
//!   individual-alert field is optional;
//! - policies carry unix-second integers where every other resource has RFC 3339 strings,
//!   and Go-backed services write the zero time `0001-01-01T00:00:00Z` for "never";
//! - audit `details` is a string of JSON text (deprecated) next to `details_json`;
//! - RDS backups name their resource `database_id` (newer SDK) or `resource_id` (the
//!   filter field's name).

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;

use crate::vendors::lenient;

/// Times are RFC 3339 strings or unix seconds (milliseconds when too large for seconds);
/// `null`, empty strings, the Go zero time and anything unparsable are `None`.
pub use lenient::opt_time;

/// The HAL envelope of every list response.
///
/// HAL lets a server leave `_embedded` out when it has nothing to embed, and Clumio's
/// documents only ever show it present. Both readings are taken: a page without
/// `_embedded` is an empty page *if* it still carries the envelope (`_links`, `total_count`,
/// `current_count` or `start`); a 200 without any of it (`{}`) is a protocol error, not an
/// empty inventory (issue 13; `crate::api::required_list` for `items` itself).
#[derive(Debug, Deserialize)]
#[serde(bound = "T: Deserialize<'de>", try_from = "RawPage<T>")]
pub struct Page<T> {
    pub embedded: Embedded<T>,
    pub links: Option<PageLinks>,
    pub total_count: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(bound = "T: Deserialize<'de>")]
pub struct RawPage<T> {
    #[serde(rename = "_embedded", default)]
    embedded: Option<Embedded<T>>,
    #[serde(rename = "_links", default)]
    links: Option<PageLinks>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    total_count: Option<u64>,
    #[serde(default)]
    current_count: Option<Value>,
    #[serde(default)]
    start: Option<Value>,
}

impl<T> TryFrom<RawPage<T>> for Page<T> {
    type Error = String;

    fn try_from(r: RawPage<T>) -> Result<Self, String> {
        let envelope = r.links.is_some()
            || r.total_count.is_some()
            || r.current_count.is_some()
            || r.start.is_some();
        let embedded = match r.embedded {
            Some(e) => e,
            None if envelope => Embedded { items: Vec::new() },
            None => {
                // `decode_json` adds that this is a missing envelope.
                return Err("missing field `_embedded`".to_owned());
            }
        };
        Ok(Page {
            embedded,
            links: r.links,
            total_count: r.total_count,
        })
    }
}

impl<T> Page<T> {
    pub fn into_items(self) -> Vec<T> {
        self.embedded.items
    }

    pub fn next_href(&self) -> Option<&str> {
        self.links
            .as_ref()?
            .next
            .as_ref()?
            .href
            .as_deref()
            .filter(|h| !h.trim().is_empty())
    }
}

#[derive(Debug, Deserialize)]
#[serde(bound = "T: Deserialize<'de>")]
pub struct Embedded<T> {
    #[serde(deserialize_with = "crate::api::required_list")]
    pub items: Vec<T>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PageLinks {
    #[serde(rename = "_next", default)]
    pub next: Option<Link>,
}

#[derive(Debug, Deserialize)]
pub struct Link {
    #[serde(default)]
    pub href: Option<String>,
}

/// `{"errors": [{"error_code": 402, "error_message": "Unauthorized access"}]}`.
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub errors: Vec<SingleError>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub error_code: Option<String>,
    #[serde(default)]
    pub error_message: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SingleError {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub error_code: Option<String>,
    #[serde(default)]
    pub error_message: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct OrganizationalUnit {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub parent_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Policy {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub activation_status: Option<String>,
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub operations: Vec<PolicyOperation>,
}

#[derive(Debug, Deserialize)]
pub struct PolicyOperation {
    #[serde(rename = "type", default)]
    pub op_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub slas: Vec<Sla>,
}

#[derive(Debug, Deserialize)]
pub struct Sla {
    #[serde(default)]
    pub rpo_frequency: Option<SlaParam>,
}

#[derive(Debug, Deserialize)]
pub struct SlaParam {
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub value: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct Tag {
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub value: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ProtectionInfo {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub policy_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct BackupStatusInfo {
    #[serde(default, deserialize_with = "opt_time")]
    pub last_successful_policy_start_timestamp: Option<Timestamp>,
}

/// One datasource: an EBS volume, EC2 instance, protection group or RDS resource. The four
/// shapes share their protection fields, so one lenient struct reads them all.
#[derive(Debug, Deserialize)]
pub struct Datasource {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub volume_native_id: Option<String>,
    #[serde(default)]
    pub instance_native_id: Option<String>,
    #[serde(default)]
    pub resource_native_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub organizational_unit_id: Option<String>,
    #[serde(default)]
    pub protection_status: Option<String>,
    #[serde(default)]
    pub protection_info: Option<ProtectionInfo>,
    #[serde(default)]
    pub backup_status_info: Option<BackupStatusInfo>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub is_deleted: Option<bool>,
    /// Bytes for EBS volumes and RDS resources.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub size: Option<u64>,
    /// Protection groups.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub total_backed_up_size_bytes: Option<u64>,
    #[serde(default, deserialize_with = "opt_time")]
    pub created_timestamp: Option<Timestamp>,
    #[serde(default, deserialize_with = "opt_time")]
    pub last_backup_timestamp: Option<Timestamp>,
    /// RDS resources.
    #[serde(default, deserialize_with = "opt_time")]
    pub last_clumio_snapshot_timestamp: Option<Timestamp>,
}

/// One backup (restore point) of any of the four datasource kinds.
#[derive(Debug, Deserialize)]
pub struct Backup {
    #[serde(default, deserialize_with = "opt_time")]
    pub start_timestamp: Option<Timestamp>,
    /// GiB for EBS, EC2 and RDS backups.
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub size: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub utilized_size_in_bytes: Option<u64>,
    /// Protection-group backups.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub backed_up_size_bytes: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Entity {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(rename = "type", default)]
    pub entity_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub value: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Task {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(rename = "type", default)]
    pub task_type: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default, deserialize_with = "opt_time")]
    pub created_timestamp: Option<Timestamp>,
    #[serde(default, deserialize_with = "opt_time")]
    pub start_timestamp: Option<Timestamp>,
    #[serde(default, deserialize_with = "opt_time")]
    pub end_timestamp: Option<Timestamp>,
    #[serde(default)]
    pub primary_entity: Option<Entity>,
}

#[derive(Debug, Deserialize)]
pub struct AlertDetails {
    #[serde(default)]
    pub cause: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Alert {
    #[serde(rename = "type", default)]
    pub alert_type: Option<String>,
    #[serde(default)]
    pub cause: Option<String>,
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub primary_entity: Option<Entity>,
    /// An object on individual alerts; consolidated alerts have a smaller one.
    #[serde(default)]
    pub details: Option<Value>,
}

impl Alert {
    pub fn details(&self) -> Option<AlertDetails> {
        self.details
            .clone()
            .and_then(|d| serde_json::from_value(d).ok())
    }
}

#[derive(Debug, Deserialize)]
pub struct AuditTrail {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "opt_time")]
    pub timestamp: Option<Timestamp>,
    #[serde(default)]
    pub user_email: Option<String>,
    #[serde(default)]
    pub ip_address: Option<String>,
    #[serde(default)]
    pub interface: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub primary_entity: Option<Entity>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_as_strings_unix_seconds_or_go_zero() {
        let t = |v: Value| lenient::time_value(&v).map(|t| t.as_second());
        assert_eq!(t(Value::from("2024-05-02T06:00:04Z")), Some(1_714_629_604));
        assert_eq!(t(Value::from(1_714_629_604)), Some(1_714_629_604));
        assert_eq!(t(Value::from(1_714_629_604_000i64)), Some(1_714_629_604));
        assert_eq!(t(Value::from("0001-01-01T00:00:00Z")), None);
        assert_eq!(t(Value::from("")), None);
        assert_eq!(t(Value::from("yesterday")), None);
        assert_eq!(t(Value::Null), None);
    }

    #[test]
    fn error_code_may_be_a_number_or_a_string() {
        let a: ErrorBody = serde_json::from_str(
            r#"{"errors":[{"error_code":402,"error_message":"Unauthorized access"}]}"#,
        )
        .unwrap();
        assert_eq!(a.errors[0].error_code.as_deref(), Some("402"));
        let b: ErrorBody =
            serde_json::from_str(r#"{"error_code":"403","error_message":"Forbidden"}"#).unwrap();
        assert_eq!(b.error_code.as_deref(), Some("403"));
    }

    #[test]
    fn next_may_be_absent_and_counts_may_be_strings() {
        let p: Page<Task> = serde_json::from_str(
            r#"{"_embedded":{"items":[]},"_links":{"_self":{"href":"/tasks"}},"start":2,"total_count":"7"}"#,
        )
        .unwrap();
        assert_eq!(p.total_count, Some(7));
        assert!(p.next_href().is_none());
        let p: Page<Policy> = serde_json::from_str(
            r#"{"_embedded":{"items":null},"_links":{"_next":{"href":"/policies/definitions?start=eyJ0Ijo","type":"get","templated":false}},"start":"eyJ0Ijo"}"#,
        )
        .unwrap();
        assert_eq!(p.next_href(), Some("/policies/definitions?start=eyJ0Ijo"));
        assert!(p.into_items().is_empty());
    }

    #[test]
    fn a_consolidated_alert_shape_still_decodes() {
        let a: Alert = serde_json::from_str(
            r#"{"id":"d78c","type":"policy_violated","severity":"error","status":"active","active_entity_count":4,"details":{"cause":"Backup failed","type":"Policy Violated"}}"#,
        )
        .unwrap();
        assert!(a.primary_entity.is_none());
        assert_eq!(a.details().unwrap().cause.as_deref(), Some("Backup failed"));
        let b: Alert = serde_json::from_str(r#"{"id":"x","details":"not an object"}"#).unwrap();
        assert!(b.details().is_none());
    }

    #[test]
    fn a_page_without_embedded_is_empty_only_if_the_envelope_is_there() {
        use crate::api::decode_json;
        for body in [
            r#"{"_links":{"_self":{"href":"/tasks"}},"total_count":0}"#,
            r#"{"current_count":0,"start":"1"}"#,
        ] {
            let p: Page<Value> = decode_json("GET /tasks", body.as_bytes()).unwrap();
            assert!(p.into_items().is_empty(), "{body}");
        }
        let e = decode_json::<Page<Value>>("GET /tasks", b"{}").unwrap_err();
        assert!(
            e.to_string().contains("missing field `_embedded`")
                && e.to_string().contains("envelope"),
            "{e}"
        );
    }
}
