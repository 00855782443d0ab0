//! Cloud Sync and BlueXP audit JSON as the services send it (copysync OpenAPI 1.0.45 and
//! the audit service OpenAPI). Everything is optional and lenient: real responses differ
//! from the spec (`isCm` vs `isCM`, legacy top-level keys), and one odd field must not fail
//! a refresh.

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;

use crate::vendors::lenient;

/// `POST <auth_url>` (Auth0) answer.
#[derive(Debug, Deserialize)]
pub(super) struct TokenResponse {
    pub access_token: String,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub expires_in: Option<u64>,
    #[serde(default)]
    pub refresh_token: Option<String>,
}

/// `GET /api/accounts` item.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Account {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub account_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
}

/// `GET /api/relationships-v2` item.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Relationship {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub relationship_id: Option<String>,
    #[serde(default)]
    pub source: Option<Endpoint>,
    #[serde(default)]
    pub target: Option<Endpoint>,
    #[serde(default)]
    pub settings: Option<Settings>,
    #[serde(default)]
    pub activity: Option<Activity>,
    /// Epoch milliseconds in the spec and in real data.
    #[serde(default, deserialize_with = "opt_time")]
    pub created_at: Option<Timestamp>,
}

/// A source or target: `{protocol, <protocol>: {...}}`.
#[derive(Clone, Debug, Default, Deserialize)]
pub(super) struct Endpoint {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub protocol: Option<String>,
    #[serde(default)]
    pub nfs: Option<EndpointDetails>,
    #[serde(default)]
    pub cifs: Option<EndpointDetails>,
    #[serde(default)]
    pub s3: Option<EndpointDetails>,
    #[serde(default)]
    pub local: Option<EndpointDetails>,
    #[serde(default)]
    pub azure: Option<EndpointDetails>,
    #[serde(default)]
    pub gcp: Option<EndpointDetails>,
    #[serde(default)]
    pub sftp: Option<EndpointDetails>,
    #[serde(default, rename = "box")]
    pub box_: Option<EndpointDetails>,
    #[serde(default)]
    pub gdrive: Option<EndpointDetails>,
}

/// The union of the per-protocol endpoint fields that name a location.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct EndpointDetails {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub host: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub port: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub export: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub share: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub path: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub bucket: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub prefix: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub container: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub storage_account_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub root_directory: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub folder_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub drive_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub drive_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub provider: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Settings {
    #[serde(default)]
    pub schedule: Option<Schedule>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub continuous_sync: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Schedule {
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub sync_in_days: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub sync_in_hours: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub sync_in_minutes: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub is_enabled: Option<bool>,
}

/// The relationship's latest (and only remembered) run.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Activity {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "opt_time")]
    pub start_time: Option<Timestamp>,
    #[serde(default, deserialize_with = "opt_time")]
    pub end_time: Option<Timestamp>,
    /// Milliseconds.
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub execution_time: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub bytes_copied: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub files_failed: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub dirs_failed: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub bytes_scanned: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub failure_message: Option<String>,
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub top_five_most_common_relationship_errors: Vec<TopError>,
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub errors: Vec<ActivityError>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TopError {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub error_code: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub description: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub(super) struct ActivityError {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub reason: Option<String>,
}

/// `GET /api/data-brokers` item.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DataBroker {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "lenient::opt_string")]
    pub kind: Option<String>,
    /// `COMPLETE` when online, `FAILED` otherwise; absent before the first contact.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub message: Option<String>,
    #[serde(default, deserialize_with = "opt_time")]
    pub last_ping: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub latest_version: Option<String>,
    #[serde(default)]
    pub placement: Option<Placement>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub(super) struct Placement {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub version: Option<String>,
}

/// `GET /api/accounts/relationships-stats`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RelationshipsStats {
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub total_bytes: Option<u64>,
}

/// BlueXP audit `GET /audit/{accountId}` item (`GetAuditGroupResDto`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AuditGroup {
    #[serde(default, deserialize_with = "opt_time")]
    pub start_time: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub action: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub request_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub service: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub principal_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub resource_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub resource_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub errors: Vec<Value>,
}

/// Times come as ISO-8601 strings or as epoch numbers. The audit spec says milliseconds but
/// its examples look like seconds; the shared decoder tells them apart by magnitude.
pub(super) use lenient::opt_time;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_relationship_decodes() {
        // Shape of a real relationship (CS-JB): legacy top-level keys, `isCm` boolean.
        let r: Relationship = serde_json::from_str(
            r#"{"account":"5e528f4504a9a4d63d6962de","isCm":true,"isQstack":false,"phase":"Initial Copy",
            "source":{"protocol":"azure","azure":{"storageAccountName":"jb","container":"c","prefix":"DIR1","tags":[],"provider":"azure"}},
            "target":{"protocol":"azure","azure":{"storageAccountName":"jb","container":"d","prefix":"DST1","blobTier":"COOL","provider":"azure"}},
            "settings":{"schedule":{"syncInDays":0,"syncInHours":1,"syncInMinutes":0,"nextTime":"2021-12-24T09:00:00.000Z","isEnabled":true,"syncWhenCreated":true}},
            "createdAt":1640251212876,"id":"61c43f4c86f2ee48a82a0813","relationshipId":"61c43f4c86f2ee48a82a0813",
            "activity":{"type":"Initial Copy","status":"DONE","errors":[],"failureMessage":"","executionTime":166429,
              "startTime":"2021-12-23T09:20:12.875Z","endTime":"2021-12-23T09:22:59.304Z","bytesCopied":0,"filesFailed":1,
              "bytesScanned":1243560,"progress":100,
              "topFiveMostCommonRelationshipErrors":[{"step":"TRANSFER","errorCode":"invalid_credentials","counter":1,"description":"bad"}]}}"#,
        )
        .unwrap();
        assert_eq!(r.id.as_deref(), Some("61c43f4c86f2ee48a82a0813"));
        assert_eq!(
            r.created_at.unwrap().to_string(),
            "2021-12-23T09:20:12.876Z"
        );
        let a = r.activity.unwrap();
        assert_eq!(a.status.as_deref(), Some("DONE"));
        assert_eq!(a.files_failed, Some(1));
        assert_eq!(a.execution_time, Some(166429.0));
        assert_eq!(
            a.top_five_most_common_relationship_errors[0]
                .error_code
                .as_deref(),
            Some("invalid_credentials")
        );
    }

    #[test]
    fn running_activity_has_null_end_and_empty_activity_is_fine() {
        let a: Activity =
            serde_json::from_str(r#"{"status":"RUNNING","endTime":null,"startTime":"2024-01-01T00:00:00Z","errors":null}"#)
                .unwrap();
        assert!(a.end_time.is_none());
        assert!(a.errors.is_empty());
        let r: Relationship = serde_json::from_str(r#"{"id":"x","activity":{}}"#).unwrap();
        assert!(r.activity.unwrap().status.is_none());
    }

    #[test]
    fn epoch_numbers_in_seconds_or_milliseconds() {
        let t = |v: Value| lenient::time_value(&v);
        assert_eq!(
            t(Value::from(1676559600.0)).unwrap().as_second(),
            1676559600
        );
        assert_eq!(
            t(Value::from(1684050775135.0)).unwrap().as_millisecond(),
            1684050775135
        );
        assert!(t(Value::from(-1.0)).is_none());
        assert!(t(Value::from("NaN")).is_none());
    }
}
