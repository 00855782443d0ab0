//! Cloutility's JSON, as far as the exporter reads it.
//!
//! The portal returns partial objects ("if a field has not been defined yet, it will simply
//! not be a part of the retrieved object at all"), .NET `$type` annotations, lookups as
//! `{id, name}` objects, and numbers where strings are documented and the other way round.
//! So every field is an `Option`, unknown keys are ignored, and numbers, strings and lookups
//! go through lenient decoders. Fields the exporter must never keep (`tsmPassword` of a
//! node) are simply not declared.

use jiff::Timestamp;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::vendors::lenient;

/// `{href, total, offset, first, items}`, the envelope of every list. `items` is required
/// (`null` reads as empty): a 200 of `{}` is a protocol error, not an empty list that
/// would drop every consumer of the target (`crate::api::required_list`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
pub(super) struct Collection<T> {
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub total: Option<u64>,
    #[serde(deserialize_with = "crate::api::required_list")]
    pub items: Vec<T>,
}

/// `POST /v1/oauth`. `expires_in` is a number in the docs and a string in Auwau's own C#
/// example.
#[derive(Debug, Deserialize)]
pub(super) struct AccessToken {
    pub access_token: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub expires_in: Option<u64>,
    pub refresh_token: Option<String>,
}

/// `GET /v1/me`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct User {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub user_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    pub business_unit: Option<BusinessUnitRef>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub business_unit_id: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct BusinessUnitRef {
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub id: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
}

/// `GET /v1/bunits`: the caller's business unit with its whole subtree, as one object.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SimpleBusinessUnit {
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub id: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub business_units: Vec<SimpleBusinessUnit>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Consumer {
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub id: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_time")]
    pub created_date: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::opt_time")]
    pub latest_restore_point: Option<Timestamp>,
    /// The business unit that owns the consumer.
    pub business_unit: Option<BusinessUnitRef>,
    /// `{id, name}`; only `Active` (id 3) is documented, other names are not.
    pub data_source_state: Option<Lookup>,
}

/// A `{id, name}` lookup (JobType, JobStatus, NodeType, Domain, ...). Lenient: a bare
/// string is taken as the name and a bare number as the id.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Lookup {
    pub id: Option<i64>,
    pub name: Option<String>,
}

impl<'de> Deserialize<'de> for Lookup {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(lookup_of(&Value::deserialize(d)?))
    }
}

fn lookup_of(v: &Value) -> Lookup {
    match v {
        Value::String(s) => Lookup {
            id: None,
            name: Some(s.clone()),
        },
        Value::Number(n) => Lookup {
            id: n.as_i64(),
            name: None,
        },
        Value::Object(m) => Lookup {
            id: m.get("id").and_then(|v| match v {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            }),
            name: m
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .filter(|s| !s.trim().is_empty()),
        },
        _ => Lookup::default(),
    }
}

impl Lookup {
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

/// The IBM Storage Protect node behind a consumer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Node {
    /// The IBM Storage Protect node name, given when the node is activated.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub tsm_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_time")]
    pub activated_date: Option<Timestamp>,
    pub data_source_state: Option<Lookup>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub locked: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub decommissioned: Option<bool>,
    #[serde(rename = "type")]
    pub node_type: Option<Lookup>,
    pub domain: Option<Lookup>,
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub schedules: Vec<Lookup>,
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub node_schedules: Vec<NodeSchedule>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct NodeSchedule {
    pub schedule: Option<Lookup>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Filespace {
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub front_end_capacity_mega_bytes: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub capacity_mega_bytes: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub percentage_utilized: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_time")]
    pub last_backup_end: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub occupancies: Vec<Occupancy>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Occupancy {
    pub storage_pool: Option<StoragePool>,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub reporting_mega_bytes: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub physical_mega_bytes: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub logical_mega_bytes: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct StoragePool {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub total_storage_mega_bytes: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub free_storage_mega_bytes: Option<f64>,
}

/// The daily node report (`reports/latest`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct NodeReport {
    #[serde(default, deserialize_with = "opt_error_status")]
    pub status: Option<ErrorStatus>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub errors_deactivated: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub errors_deactivated_no_activity: Option<bool>,
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub warnings: Vec<NodeReportWarning>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct NodeReportWarning {
    /// A NodeWarningType, often partial (only its id).
    #[serde(rename = "type")]
    pub warning_type: Option<Lookup>,
    #[serde(default, deserialize_with = "opt_error_status")]
    pub status: Option<ErrorStatus>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub days: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub limit: Option<f64>,
}

/// `GET /v1/nodewarningtypes` items.
#[derive(Debug, Deserialize)]
pub(super) struct NodeWarningType {
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
}

/// `ErrorStatus`: an enum whose values are documented only on the portal's help pages.
/// Json.NET writes enums as integers unless told otherwise, so both forms are accepted;
/// the integer meanings (0 OK, 1 Warning, 2 Error) are the likely order, not a documented
/// one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum ErrorStatus {
    Ok,
    Warning,
    Error,
    Other(String),
}

fn opt_error_status<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ErrorStatus>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?.and_then(|v| match v {
        Value::Number(n) => Some(match n.as_i64() {
            Some(0) => ErrorStatus::Ok,
            Some(1) => ErrorStatus::Warning,
            Some(2) => ErrorStatus::Error,
            _ => ErrorStatus::Other(n.to_string()),
        }),
        Value::String(s) => Some(match s.trim().to_ascii_lowercase().as_str() {
            "0" | "ok" | "success" | "none" => ErrorStatus::Ok,
            "1" | "warning" => ErrorStatus::Warning,
            "2" | "error" | "failed" | "critical" => ErrorStatus::Error,
            _ => ErrorStatus::Other(s),
        }),
        Value::Object(_) => {
            let l = lookup_of(&v);
            l.name.map(ErrorStatus::Other)
        }
        _ => None,
    }))
}

/// A job: one IBM Storage Protect scheduler event or session, as Cloutility stores it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Job {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub job_type: Option<Lookup>,
    pub status: Option<Lookup>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub scheduled: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_time")]
    pub scheduled_start: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::opt_time")]
    pub actual_start: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::opt_time")]
    pub completed: Option<Timestamp>,
    /// The client's return code: 0 and 4 fine, 8 warnings, 12 and up errors.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub result: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub transferred_mega_bytes: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub transferred_giga_bytes: Option<f64>,
    /// A .NET TimeSpan (`"hh:mm:ss"`, `"d.hh:mm:ss.fffffff"`), or seconds.
    pub duration: Option<Value>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub failed_files: Option<i64>,
}

/// An audit log entry. Its schema is not published; the names follow the portal's audit
/// view (actor, event description, application, date, type chip) and the decoder accepts
/// the likely alternatives.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AuditLog {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(
        default,
        alias = "date",
        alias = "time",
        deserialize_with = "lenient::opt_time"
    )]
    pub created_date: Option<Timestamp>,
    /// 0 info, 100 create, 200 modify, 300 delete, 400 error; or a name, or a lookup.
    #[serde(rename = "type")]
    pub audit_type: Option<Lookup>,
    #[serde(default, alias = "user", deserialize_with = "opt_name")]
    pub actor: Option<String>,
    #[serde(
        default,
        alias = "eventDescription",
        alias = "message",
        deserialize_with = "lenient::opt_string"
    )]
    pub description: Option<String>,
}

/// A name given as a string or as an object with a `name`/`userName`.
fn opt_name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?.and_then(|v| match v {
        Value::String(s) => Some(s),
        Value::Object(m) => ["name", "userName", "email"]
            .iter()
            .find_map(|k| m.get(*k).and_then(Value::as_str).map(str::to_owned)),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }))
}

// Portal times are ISO 8601; one without an offset is UTC (the portal stores UTC), and
// .NET's `DateTime.MinValue` (`0001-01-01T00:00:00`, the "bogus value" of `jobs/first`) is
// no time at all: `lenient::opt_time` does exactly that.

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_with_dotnet_type_and_string_numbers() {
        let c: Collection<Consumer> = serde_json::from_str(
            r#"{"$type":"CloudPortal.Web.Api.Hyper.Collection`1[[CloudPortal.Web.Api.Hyper.Consumer, CloudPortal.Web.Api]], CloudPortal.Web.Api",
                "href":"https://x/v1/bunits/22/consumers","total":"2","offset":0,
                "items":[{"id":"408","name":"JennysWS","createdDate":"2023-07-09T15:10:20.133Z"},{"id":409}]}"#,
        )
        .unwrap();
        assert_eq!(c.total, Some(2));
        assert_eq!(c.items[0].id, Some(408));
        assert_eq!(
            c.items[0].created_date.unwrap().to_string(),
            "2023-07-09T15:10:20.133Z"
        );
        assert_eq!(c.items[1].name, None);
    }

    #[test]
    fn token_lifetime_as_number_or_string() {
        let t: AccessToken = serde_json::from_str(
            r#"{"access_token":"a","token_type":"bearer","expires_in":"299","refresh_token":"r"}"#,
        )
        .unwrap();
        assert_eq!(t.expires_in, Some(299));
        let t: AccessToken =
            serde_json::from_str(r#"{"access_token":"a","expires_in":299}"#).unwrap();
        assert_eq!(t.expires_in, Some(299));
        assert!(t.refresh_token.is_none());
    }

    #[test]
    fn times_without_offset_are_utc_and_min_value_is_none() {
        assert_eq!(
            lenient::iso_time("2024-12-18T19:32:23")
                .unwrap()
                .to_string(),
            "2024-12-18T19:32:23Z"
        );
        assert_eq!(
            lenient::iso_time("2024-12-18T19:32:23.1234567+01:00")
                .unwrap()
                .as_second(),
            lenient::iso_time("2024-12-18T18:32:23Z")
                .unwrap()
                .as_second()
        );
        assert_eq!(lenient::iso_time("0001-01-01T00:00:00"), None);
        assert_eq!(lenient::iso_time("yesterday"), None);
    }

    #[test]
    fn lookups_accept_objects_names_and_ids() {
        let j: Job = serde_json::from_str(
            r#"{"id":551234,"type":"Backup","status":{"$type":"X","id":"1","name":"Completed"},"result":"8","completed":null}"#,
        )
        .unwrap();
        assert_eq!(j.id.as_deref(), Some("551234"));
        assert_eq!(j.job_type.unwrap().name(), Some("Backup"));
        let s = j.status.unwrap();
        assert_eq!((s.id, s.name()), (Some(1), Some("Completed")));
        assert_eq!(j.result, Some(8));
        assert_eq!(j.completed, None);
    }

    #[test]
    fn error_status_as_integer_or_word() {
        let r: NodeReport = serde_json::from_str(
            r#"{"status":2,"warnings":[{"type":{"id":1},"status":"Warning","days":"3"},{"type":7,"status":9}]}"#,
        )
        .unwrap();
        assert_eq!(r.status, Some(ErrorStatus::Error));
        assert_eq!(r.warnings[0].status, Some(ErrorStatus::Warning));
        assert_eq!(r.warnings[0].days, Some(3));
        assert_eq!(r.warnings[1].warning_type.as_ref().unwrap().id, Some(7));
        assert_eq!(r.warnings[1].status, Some(ErrorStatus::Other("9".into())));
        let r: NodeReport = serde_json::from_str(r#"{"name":"x"}"#).unwrap();
        assert!(r.status.is_none() && r.warnings.is_empty());
    }

    #[test]
    fn audit_entry_alternatives() {
        let a: AuditLog = serde_json::from_str(
            r#"{"id":50123,"date":"2024-12-18T22:33:10Z","type":200,"user":{"name":"Administrator"},"message":"modified"}"#,
        )
        .unwrap();
        assert_eq!(a.id.as_deref(), Some("50123"));
        assert_eq!(a.audit_type.unwrap().id, Some(200));
        assert_eq!(a.actor.as_deref(), Some("Administrator"));
        assert_eq!(a.description.as_deref(), Some("modified"));
        assert!(a.created_date.is_some());
    }
}
