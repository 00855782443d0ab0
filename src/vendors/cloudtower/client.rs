//! Talking to CloudTower: the login (user and password, or an API key), the `get-*` list
//! calls with Prisma-style `where`/`orderBy` and `first`/`after` paging, the counts from
//! `get-*-connection`, and CloudTower's `ErrorBody`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::header::AUTHORIZATION;
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::wire::{self, Identified};
use crate::api::{ApiClient, ApiError, Authenticator, Credential, Request, decode_json};
use crate::secret::SecretSource;

/// Every operation lives under this path (OpenAPI `servers: /`, SDK base path `/v2/api`).
pub(super) const API: &str = "/v2/api";

/// How a target logs in.
#[derive(Clone, Debug)]
pub(super) enum Auth {
    /// `POST /v2/api/login`; the token it returns goes raw into `Authorization`.
    Password {
        username: String,
        password: SecretSource,
        source: String,
    },
    /// An API key, used exactly like a login token. Read again at every "login" (that is,
    /// after a 401), so a rotated key file is picked up.
    ApiKey(SecretSource),
}

#[async_trait]
impl Authenticator for Auth {
    async fn login(
        &self,
        client: &ApiClient,
        _previous: Option<&Credential>,
    ) -> Result<Credential, ApiError> {
        match self {
            Auth::ApiKey(source) => {
                let key = source
                    .read()
                    .map_err(|e| ApiError::Config(format!("`token`: {e}")))?;
                client.redactor().add(key.expose_secret());
                Credential::new(vec![(AUTHORIZATION, key.expose_secret().trim().to_owned())])
            }
            Auth::Password {
                username,
                password,
                source,
            } => {
                let password = password
                    .read()
                    .map_err(|e| ApiError::Config(format!("`password`: {e}")))?;
                client.redactor().add(password.expose_secret());
                let req = Request::post(format!("{API}/login"))
                    .without_auth()
                    .json(json!({
                        "username": username,
                        "password": password.expose_secret(),
                        "source": source,
                    }));
                let resp = client
                    .send(req)
                    .await
                    .map_err(|e| client.login_refused(e))?;
                let login: wire::LoginResponse = resp.json()?;
                if login.data.token.trim().is_empty() {
                    return Err(ApiError::Decode {
                        endpoint: resp.endpoint,
                        detail: "the login answered an empty token".into(),
                    });
                }
                Credential::new(vec![(AUTHORIZATION, login.data.token)])
            }
        }
    }
}

/// Renders CloudTower's `ErrorBody` (`{path, status, message, code?, props?}`) as one line.
pub(super) fn decode_error(body: &[u8]) -> Option<String> {
    let e: wire::ErrorBody = serde_json::from_slice(body).ok()?;
    let message = e.message.filter(|m| !m.trim().is_empty())?;
    Some(match e.code {
        Some(code) => format!("{message} ({code})"),
        None => message,
    })
}

/// The request body of every `get-*` call.
#[derive(Clone, Debug, Default)]
pub(super) struct Query {
    pub where_: Option<Value>,
    pub order_by: Option<&'static str>,
}

impl Query {
    pub fn filter(where_: Value) -> Self {
        Query {
            where_: Some(where_).filter(|w| !w.as_object().is_some_and(Map::is_empty)),
            order_by: None,
        }
    }

    pub fn all() -> Self {
        Query::default()
    }

    pub fn order(mut self, order_by: &'static str) -> Self {
        self.order_by = Some(order_by);
        self
    }

    fn body(&self, first: Option<u32>, after: Option<&str>) -> Value {
        let mut body = Map::new();
        if let Some(w) = &self.where_ {
            body.insert("where".into(), w.clone());
        }
        if let Some(o) = self.order_by {
            body.insert("orderBy".into(), Value::from(o));
        }
        if let Some(n) = first {
            body.insert("first".into(), Value::from(n));
        }
        if let Some(a) = after {
            body.insert("after".into(), Value::from(a));
        }
        Value::Object(body)
    }
}

/// One CloudTower, through the shared client.
pub(super) struct Tower {
    pub client: ApiClient,
    pub page_size: u32,
}

impl Tower {
    /// Every item of `get-<resource>` matching `query`, page by page: `first` items `after`
    /// the id of the last item of the previous page, until a short page.
    pub async fn list<T: DeserializeOwned + Identified>(
        &self,
        resource: &str,
        query: &Query,
    ) -> Result<Vec<T>, ApiError> {
        let path = format!("{API}/get-{resource}");
        let mut out: Vec<T> = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let body = query.body(Some(self.page_size), after.as_deref());
            let resp = self.client.send(Request::post(&path).json(body)).await?;
            let page: Vec<T> = decode_json(&resp.endpoint, &resp.body)?;
            let n = page.len();
            let last = page.last().map(|t| t.id().to_owned());
            out.extend(page);
            if n < self.page_size as usize {
                return Ok(out);
            }
            match last {
                Some(id) if after.as_deref() != Some(id.as_str()) && !id.is_empty() => {
                    after = Some(id)
                }
                _ => {
                    return Err(ApiError::Decode {
                        endpoint: resp.endpoint,
                        detail: "paging with `after` did not advance".into(),
                    });
                }
            }
        }
    }

    /// The first item of `get-<resource>` in the query's order, in one request.
    pub async fn first<T: DeserializeOwned>(
        &self,
        resource: &str,
        query: &Query,
    ) -> Result<Option<T>, ApiError> {
        let path = format!("{API}/get-{resource}");
        let resp = self
            .client
            .send(Request::post(&path).json(query.body(Some(1), None)))
            .await?;
        let page: Vec<T> = decode_json(&resp.endpoint, &resp.body)?;
        Ok(page.into_iter().next())
    }

    /// `get-<resource>-connection`: how many items match.
    pub async fn count(&self, resource: &str, query: &Query) -> Result<u64, ApiError> {
        let path = format!("{API}/get-{resource}-connection");
        let resp = self
            .client
            .send(Request::post(&path).json(query.body(None, None)))
            .await?;
        let c: wire::Connection = resp.json()?;
        c.aggregate.count.ok_or_else(|| ApiError::Decode {
            endpoint: resp.endpoint,
            detail: "`aggregate.count` is missing".into(),
        })
    }

    /// `GET /v2/api/get-version` (no login needed): the tower's release.
    pub async fn version(&self) -> Result<String, ApiError> {
        let req = Request::get(format!("{API}/get-version")).without_auth();
        let resp = self.client.send(req).await?;
        let v: Value = resp.json()?;
        Ok(match v {
            Value::String(s) => s,
            other => other.to_string(),
        })
    }
}

/// The names of the parts a refresh may skip (the `part` label of
/// `backup_collector_part_refused`): one per listing that a role may be refused, a release
/// may lack, or a tower may not have deployed. `get-vms` and `get-clusters` are not parts:
/// every tower has them and every role sees them, so a refusal there fails the collector.
pub(super) mod part {
    pub const SNAPSHOT_PLANS: &str = "snapshot_plans";
    pub const VM_SNAPSHOTS: &str = "vm_snapshots";
    pub const BACKUP_PLANS: &str = "backup_plans";
    pub const BACKUP_RESTORE_POINTS: &str = "backup_restore_points";
    pub const SNAPSHOT_PLAN_TASKS: &str = "snapshot_plan_tasks";
    pub const TASKS: &str = "tasks";
    pub const BACKUP_PLAN_EXECUTIONS: &str = "backup_plan_executions";
    pub const BACKUP_TARGET_EXECUTIONS: &str = "backup_target_executions";
    pub const ALERTS: &str = "alerts";
    pub const USER_AUDIT_LOGS: &str = "user_audit_logs";
    pub const BACKUP_STORE_REPOSITORIES: &str = "backup_store_repositories";
}

/// Why a backup part is skipped on a tower without the backup endpoints.
pub(super) const NO_BACKUP_ENDPOINTS: &str = "this CloudTower has no backup endpoints \
     (`get-backup-plans` answered 404: older than 4.6, or no backup service deployed)";

/// Whether the tower has the backup endpoints (4.6 and later). A tower without them
/// answers 404 to `get-backup-plans`; we say so once in the log, skip them (each shows as
/// a skipped part), and look again every hour in case the tower was upgraded. A 404 on
/// another backup listing, or a 403 on any, skips only that listing.
#[derive(Debug, Default)]
pub(super) struct BackupSupport {
    missing_since: Mutex<Option<Instant>>,
    logged: AtomicBool,
}

/// Records `parts` of `collector` as skipped because the tower has no backup endpoints.
pub(super) fn skip_missing(
    skips: &crate::adapter::Skips,
    collector: crate::model::CollectorKind,
    parts: &[&'static str],
) {
    for p in parts {
        skips.record(collector, p, NO_BACKUP_ENDPOINTS.to_owned());
    }
}

const RECHECK: Duration = Duration::from_secs(3600);

impl BackupSupport {
    pub fn known_missing(&self) -> bool {
        let g = self.missing_since.lock().unwrap_or_else(|e| e.into_inner());
        g.is_some_and(|at| at.elapsed() < RECHECK)
    }

    /// Turns a 404 into "missing" (`Ok(None)`); remembers either answer.
    pub fn observe<T>(
        &self,
        target: &str,
        result: Result<T, ApiError>,
    ) -> Result<Option<T>, ApiError> {
        match result {
            Ok(v) => {
                *self.missing_since.lock().unwrap_or_else(|e| e.into_inner()) = None;
                Ok(Some(v))
            }
            Err(e) if e.is_not_found() => {
                *self.missing_since.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(Instant::now());
                if !self.logged.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        target_name = target,
                        error = %e,
                        "unsupported: this CloudTower has no backup endpoints (older than 4.6); \
                         backup plans, executions and restore points are not read"
                    );
                }
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_becomes_message_with_code() {
        let body = br#"{"path":"/remove-vm-disk","status":400,"message":"Resource [VM-x] locked","code":"ResourceLocked","props":{}}"#;
        assert_eq!(
            decode_error(body).unwrap(),
            "Resource [VM-x] locked (ResourceLocked)"
        );
        assert_eq!(
            decode_error(br#"{"path":"/x","status":500,"message":"boom"}"#).unwrap(),
            "boom"
        );
        assert_eq!(decode_error(b"<html>"), None);
    }

    #[test]
    fn query_body_has_only_what_is_set() {
        let q = Query::filter(json!({})).order("id_ASC");
        assert_eq!(
            q.body(Some(5), Some("abc")),
            json!({"orderBy":"id_ASC","first":5,"after":"abc"})
        );
        let q = Query::filter(json!({"ended": false}));
        assert_eq!(q.body(None, None), json!({"where":{"ended":false}}));
    }

    #[test]
    fn not_found_marks_backup_missing() {
        let s = BackupSupport::default();
        let r: Result<Option<u8>, _> = s.observe(
            "t",
            Err(ApiError::Status {
                endpoint: "POST /v2/api/get-backup-plans".into(),
                status: reqwest::StatusCode::NOT_FOUND,
                message: "not found".into(),
            }),
        );
        assert!(matches!(r, Ok(None)));
        assert!(s.known_missing());
        assert_eq!(s.observe("t", Ok(1u8)).unwrap(), Some(1));
        assert!(!s.known_missing());
        let err: Result<Option<u8>, _> = s.observe(
            "t",
            Err(ApiError::Status {
                endpoint: "POST /v2/api/get-backup-plans".into(),
                status: reqwest::StatusCode::INTERNAL_SERVER_ERROR,
                message: "boom".into(),
            }),
        );
        assert!(err.is_err());
    }
}
