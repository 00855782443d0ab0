//! The management console's JSON, as far as the exporter reads it (spec V11.0.4, schema names
//! in the comments). Ids are strings even when numeric; times are epoch microseconds (parsed
//! by magnitude in `mapping`); nearly everything may be missing or oddly typed, so every field
//! is optional and decoded leniently: one odd field must not fail a whole refresh.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::vendors::lenient;

/// A nested object that is decoded only if it is one; anything else (a string, a number,
/// `null`) becomes `None` instead of failing the page it sits in.
fn opt_obj<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    Ok(Option::<Value>::deserialize(d)?
        .filter(Value::is_object)
        .and_then(|v| serde_json::from_value(v).ok()))
}

/// Items of a list that fail to decode are dropped rather than failing the page; the
/// envelope itself (`items`) must be there.
fn lenient_items<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let raw = Option::<Vec<Value>>::deserialize(d)?.unwrap_or_default();
    Ok(raw
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect())
}

/// Every list view: `{"count": <items in this page>, "items": [...]}`. `count` is the length
/// of this page, not the total (HEAD and `Actifio-Count` give totals).
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "T: serde::de::DeserializeOwned"))]
pub(super) struct Page<T> {
    #[serde(deserialize_with = "lenient_items")]
    pub items: Vec<T>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    #[allow(dead_code)]
    pub count: Option<u64>,
}

/// Wire types that carry an `id`, so that paging can notice a server that ignores `offset`.
pub(super) trait Identified {
    fn wire_id(&self) -> Option<&str>;
}

macro_rules! identified {
    ($($t:ty),*) => {$(
        impl Identified for $t {
            fn wire_id(&self) -> Option<&str> {
                self.id.as_deref()
            }
        }
    )*};
}

identified!(
    ClusterRest,
    ApplicationRest,
    SlaRest,
    SltRest,
    PolicyRest,
    BackupRest,
    JobRest,
    DiskPoolRest,
    AuditRest,
    EventRest
);

/// `Error`: `{err_code, err_message}`; the Google token endpoint answers `{error,
/// error_description}` instead.
#[derive(Debug, Deserialize)]
pub(super) struct ErrorBody {
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub err_code: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub err_message: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub error: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub error_description: Option<String>,
}

/// `SessionRest`: `id` and `session_id` carry the same value; clients read either.
#[derive(Debug, Deserialize)]
pub(super) struct SessionRest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub session_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
}

/// The Google token endpoint's answer to the JWT grant.
#[derive(Debug, Deserialize)]
pub(super) struct TokenResponse {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub access_token: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub expires_in: Option<u64>,
}

/// `VersionRest`.
#[derive(Debug, Deserialize)]
pub(super) struct VersionRest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub product: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub summary: Option<String>,
}

/// `ClusterRest`: a backup/recovery appliance (our tenant). `clusterid` is the appliance
/// serial and differs from the console's `id`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ClusterRest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub clusterid: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub stale: Option<bool>,
    #[serde(default, deserialize_with = "opt_obj")]
    pub clusterstatus: Option<ClusterStatusRest>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ClusterStatusRest {
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub accessible: Option<bool>,
}

/// A reference to another object, as embedded (`slt`, `slp`, `application`, `host`).
#[derive(Debug, Default, Deserialize)]
pub(super) struct Ref {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
}

/// `ApplicationRest`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ApplicationRest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub appname: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub apptype: Option<String>,
    /// "If the application is protected."
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub managed: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub scheduleoff: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub ignore: Option<bool>,
    /// A child application of an app-aware mount: a copy, not something to protect.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub frommount: Option<bool>,
    /// The original appliance's `clusterid`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub sourcecluster: Option<String>,
    #[serde(default, deserialize_with = "opt_obj")]
    pub cluster: Option<ClusterRest>,
    #[serde(default, deserialize_with = "opt_obj")]
    pub sla: Option<SlaRest>,
}

/// `SlaRest`: the protection of one application by a template (SLT) and profile (SLP).
#[derive(Debug, Default, Deserialize)]
pub(super) struct SlaRest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "opt_obj")]
    pub application: Option<Ref>,
    #[serde(default, deserialize_with = "opt_obj")]
    pub slt: Option<Ref>,
    /// A string in the spec ("true"/"false"); read leniently.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub scheduleoff: Option<bool>,
}

/// `SltRest`: a template. `policies` is sometimes inline; otherwise read
/// `/slt/{id}/policy`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct SltRest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient_items")]
    pub policies: Vec<PolicyRest>,
}

/// `PolicyRest`: one scheduled action of a template. `rpo` is in hours ("24 is once per
/// day"), `rpom` in minutes; both strings.
#[derive(Debug, Default, Clone, Deserialize)]
pub(super) struct PolicyRest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub op: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub rpo: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub rpom: Option<f64>,
}

/// `BackupRest`: an image. Several sizes are strings in this schema.
#[derive(Debug, Default, Deserialize)]
pub(super) struct BackupRest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub consistencydate: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub backupdate: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub virtualsize: Option<u64>,
}

/// `JobRest` from `/jobstatus` (running and finished jobs together). There is no byte count
/// and no `errormessage`: the text is in `message`, the code in `errorcode`.
#[derive(Debug, Default, Clone, Deserialize)]
pub(super) struct JobRest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub jobclass: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub message: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub errorcode: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub appid: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub appname: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub queuedate: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub startdate: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub enddate: Option<i64>,
    /// Microseconds.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub duration: Option<i64>,
}

/// `DiskPoolRest`. Sizes in MB, which the console means as MiB.
#[derive(Debug, Default, Deserialize)]
pub(super) struct DiskPoolRest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub capacity_mb: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub usage_mb: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub pct: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub warnpct: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub safepct: Option<f64>,
    #[serde(default, deserialize_with = "opt_obj")]
    pub cluster: Option<ClusterRest>,
}

/// `AuditRest` from `/localaudit`. `command` is "METHOD URL [params] Session <prefix>".
#[derive(Debug, Default, Deserialize)]
pub(super) struct AuditRest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub issuedate: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub username: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub command: Option<String>,
}

/// `EventRest` from `/event` (served by consoles, absent from the 11.0.4 spec's paths).
#[derive(Debug, Default, Deserialize)]
pub(super) struct EventRest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub eventid: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub eventstatus: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub requiresclearing: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub errormessage: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub messagetext: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub appname: Option<String>,
    #[serde(default, deserialize_with = "opt_obj")]
    pub cluster: Option<ClusterRest>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_page_with_pretty_printing_and_odd_types_decodes() {
        let body = r#"{
           "items" : [ {
              "@type" : "jobRest",
              "id" : 1242110,
              "jobclass" : "snapshot",
              "status" : "succeeded",
              "errorcode" : 0,
              "appid" : "409016",
              "startdate" : "1668650411000000",
              "duration" : 121000000,
              "appliance" : "not an object"
           }, "garbage", {
              "id" : "1242355", "status" : "failed", "errorcode" : "933"
           } ],
           "count" : 3
        }"#;
        let page: Page<JobRest> = serde_json::from_str(body).unwrap();
        assert_eq!(page.items.len(), 2, "the string item is dropped, not fatal");
        let j = &page.items[0];
        assert_eq!(j.id.as_deref(), Some("1242110"));
        assert_eq!(j.errorcode.as_deref(), Some("0"));
        assert_eq!(j.startdate, Some(1_668_650_411_000_000));
        assert_eq!(page.items[1].errorcode.as_deref(), Some("933"));
    }

    #[test]
    fn sla_scheduleoff_string_and_nested_refs() {
        let s: SlaRest = serde_json::from_str(
            r#"{"id":"5001","scheduleoff":"true","application":{"id":"400017"},"slt":{"id":"3001","name":"silver"},"slp":null}"#,
        )
        .unwrap();
        assert_eq!(s.scheduleoff, Some(true));
        assert_eq!(s.application.unwrap().id.as_deref(), Some("400017"));
        assert_eq!(s.slt.unwrap().name.as_deref(), Some("silver"));
    }

    #[test]
    fn backup_sizes_as_strings() {
        let b: BackupRest =
            serde_json::from_str(r#"{"id":"1","virtualsize":"10737418240","consistencydate":1}"#)
                .unwrap();
        assert_eq!(b.virtualsize, Some(10_737_418_240));
    }

    #[test]
    fn page_without_items_is_an_error() {
        assert!(serde_json::from_str::<Page<JobRest>>(r#"{"count":0}"#).is_err());
        let p: Page<JobRest> = serde_json::from_str(r#"{"items":null}"#).unwrap();
        assert!(p.items.is_empty());
    }
}
