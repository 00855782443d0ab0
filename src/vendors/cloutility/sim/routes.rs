//! The API routes of the simulator (all but the token endpoint), over the world of
//! [`super::data`] as rendered by [`super::json`].

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequestParts, OriginalUri, Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde_json::{Value, json};

use super::data::{self, Consumer};
use super::{Sim, error, error_with, json as render};

/// A request the portal turns down, rendered as its error body.
pub(super) struct Refusal {
    status: StatusCode,
    message: String,
    developer: Option<String>,
}

impl Refusal {
    fn bad_request(message: String) -> Self {
        Refusal {
            status: StatusCode::BAD_REQUEST,
            message,
            developer: None,
        }
    }

    fn not_found(what: &str) -> Self {
        Refusal {
            status: StatusCode::NOT_FOUND,
            message: format!("{what} was not found."),
            developer: None,
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match &self.developer {
            Some(d) => error_with(self.status, &self.message, d),
            None => error(self.status, &self.message),
        }
    }
}

type Answer = Result<Response, Refusal>;

fn ok(v: Value) -> Answer {
    Ok(axum::Json(v).into_response())
}

/// Where a request is: the API root for absolute `href`s, and its query.
pub(super) struct Here {
    root: String,
    path: String,
    query: Vec<(String, String)>,
}

impl<S: Send + Sync> FromRequestParts<S> for Here {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("localhost");
        let original = parts
            .extensions
            .get::<OriginalUri>()
            .map_or_else(|| parts.uri.clone(), |u| u.0.clone());
        let prefix = original.path().strip_suffix(parts.uri.path()).unwrap_or("");
        let query = url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
        Ok(Here {
            root: format!("http://{host}{prefix}"),
            path: parts.uri.path().to_owned(),
            query,
        })
    }
}

impl Here {
    /// Query values by name; ASP.NET binds parameters case-insensitively.
    fn all(&self, key: &str) -> impl Iterator<Item = &str> {
        self.query
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.all(key).next()
    }

    fn flag(&self, key: &str) -> bool {
        self.get(key)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    fn number(&self, key: &str) -> Result<Option<usize>, Refusal> {
        self.get(key)
            .map(|v| {
                v.parse().map_err(|_| {
                    Refusal::bad_request(format!("The value '{v}' is not valid for {key}."))
                })
            })
            .transpose()
    }

    /// The first of `keys` present, as an ISO 8601 time (UTC when it has no offset).
    fn time(&self, keys: &[&str]) -> Result<Option<Timestamp>, Refusal> {
        let Some((key, v)) = keys.iter().find_map(|k| self.get(k).map(|v| (k, v))) else {
            return Ok(None);
        };
        crate::vendors::lenient::iso_time(v)
            .map(Some)
            .ok_or_else(|| Refusal::bad_request(format!("The value '{v}' is not valid for {key}.")))
    }

    fn href(&self) -> String {
        let q = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&self.query)
            .finish();
        if q.is_empty() {
            format!("{}{}", self.root, self.path)
        } else {
            format!("{}{}?{q}", self.root, self.path)
        }
    }

    /// A `{href, total, offset, first, items}` page of `items`.
    fn page(&self, sim: &Sim, items: Vec<Value>, default: Option<usize>, max: usize) -> Answer {
        let offset = self.number("offset")?.unwrap_or(0);
        let take = self
            .number("limit")?
            .map_or(default.unwrap_or(usize::MAX), |l| l.min(max));
        let total = items.len();
        if offset > 0 {
            sim.count("paged");
        }
        let page: Vec<Value> = items.into_iter().skip(offset).take(take).collect();
        let first = format!("{}{}?offset=0", self.root, self.path);
        ok(json!({
            "href": self.href(), "total": total, "offset": offset.min(total), "first": first, "items": page,
        }))
    }

    fn list(&self, sim: &Sim, items: Vec<Value>) -> Answer {
        self.page(sim, items, sim.options.default_page, sim.options.max_page)
    }
}

/// Counts a request of `route`, and refuses it when a test has broken that route.
fn enter(sim: &Sim, route: &str) -> Result<(), Refusal> {
    sim.count(route);
    match sim.broken(route) {
        None => Ok(()),
        Some(status) => Err(Refusal {
            status,
            message: "An error has occurred.".to_owned(),
            developer: Some(format!("{route} is broken on purpose")),
        }),
    }
}

/// The consumer `c` of business unit `b`.
fn owned(sim: &Sim, b: u64, c: u64) -> Result<&Consumer, Refusal> {
    sim.world
        .consumer(c)
        .filter(|x| x.bunit == b)
        .ok_or_else(|| Refusal::not_found(&format!("Consumer {c} of business unit {b}")))
}

fn known_bunit(sim: &Sim, b: u64) -> Result<(), Refusal> {
    match sim.world.bunit(b) {
        Some(_) => Ok(()),
        None => Err(Refusal::not_found(&format!("Business unit {b}"))),
    }
}

type S = State<Arc<Sim>>;
type Ids = Path<(u64, u64)>;

pub(super) async fn full_version() -> Answer {
    ok(json!(data::FULL_VERSION))
}

pub(super) async fn me(State(sim): S, here: Here) -> Answer {
    ok(render::me(&here.root, &sim.world))
}

pub(super) async fn warning_types(State(sim): S, here: Here) -> Answer {
    enter(&sim, "nodewarningtypes")?;
    let items = sim
        .world
        .warning_types
        .iter()
        .map(|t| json!({"name": t.name, "usesLimit": t.uses_limit, "id": t.id, "createdDate": "2022-06-10T06:33:19.337Z"}))
        .collect();
    here.list(&sim, items)
}

pub(super) async fn bunit_tree(State(sim): S) -> Answer {
    enter(&sim, "bunits")?;
    ok(render::bunit_tree(&sim.world, sim.world.root()))
}

pub(super) async fn bunit(State(sim): S, here: Here, Path(b): Path<u64>) -> Answer {
    let unit = sim
        .world
        .bunit(b)
        .ok_or_else(|| Refusal::not_found(&format!("Business unit {b}")))?;
    ok(render::bunit(&here.root, &sim.world, unit))
}

pub(super) async fn child_bunits(State(sim): S, here: Here, Path(b): Path<u64>) -> Answer {
    known_bunit(&sim, b)?;
    let items = sim
        .world
        .children(b)
        .map(|c| render::bunit(&here.root, &sim.world, c))
        .collect();
    here.list(&sim, items)
}

pub(super) async fn consumers(State(sim): S, here: Here, Path(b): Path<u64>) -> Answer {
    enter(&sim, "consumers")?;
    known_bunit(&sim, b)?;
    let now = sim.now();
    let items = sim
        .world
        .consumers_of(b)
        .map(|c| render::consumer(&here.root, &sim.world, c, now))
        .collect();
    here.list(&sim, items)
}

pub(super) async fn consumer(State(sim): S, here: Here, Path((b, c)): Ids) -> Answer {
    let c = owned(&sim, b, c)?;
    ok(render::consumer(&here.root, &sim.world, c, sim.now()))
}

pub(super) async fn node(State(sim): S, here: Here, Path((b, c)): Ids) -> Answer {
    enter(&sim, "node")?;
    let c = owned(&sim, b, c)?;
    let n = c
        .node
        .as_ref()
        .ok_or_else(|| Refusal::not_found(&format!("Backup node of consumer {}", c.id)))?;
    ok(render::node(&here.root, c, n))
}

pub(super) async fn filespaces(State(sim): S, here: Here, Path((b, c)): Ids) -> Answer {
    enter(&sim, "filespaces")?;
    let c = owned(&sim, b, c)?;
    let n = c
        .node
        .as_ref()
        .ok_or_else(|| Refusal::not_found(&format!("Backup node of consumer {}", c.id)))?;
    let last = sim.world.last_success(c.id, sim.now());
    let items = (0..n.filespaces.len())
        .map(|k| render::filespace(&here.root, &sim.world, c, n, k, last.as_ref()))
        .collect();
    here.list(&sim, items)
}

/// Reports take `startDate`/`endDate` (not `startTime`/`endTime` like jobs and audit logs).
pub(super) async fn reports(State(sim): S, here: Here, Path((b, c)): Ids) -> Answer {
    let c = owned(&sim, b, c)?;
    let now = sim.now();
    let from = here.time(&["startDate"])?.unwrap_or(sim.world.horizon);
    let to = here.time(&["endDate"])?.unwrap_or(now);
    let (status, warnings) = (here.flag("status"), here.flag("warnings"));
    let items = sim
        .world
        .reports(c.id, from, to, now)
        .iter()
        .map(|r| render::report(&here.root, &sim.world, c, r, status, warnings))
        .collect();
    here.list(&sim, items)
}

pub(super) async fn latest_report(State(sim): S, here: Here, Path((b, c)): Ids) -> Answer {
    enter(&sim, "reports/latest")?;
    let c = owned(&sim, b, c)?;
    let r = sim
        .world
        .latest_report(c.id, sim.now())
        .ok_or_else(|| Refusal::not_found(&format!("A report of consumer {}", c.id)))?;
    let (status, warnings) = (here.flag("status"), here.flag("warnings"));
    ok(render::report(
        &here.root, &sim.world, c, &r, status, warnings,
    ))
}

/// The jobs window: `startTime` must not be before the first job's `completed`; without a
/// window, the last 24 hours.
fn job_list(sim: &Sim, here: &Here, c: &Consumer) -> Answer {
    let now = sim.now();
    let to = here.time(&["endTime"])?.unwrap_or(now);
    let start = here.time(&["startTime"])?;
    if let Some(start) = start
        && let Some(first) = sim.first_job(c.id).and_then(|j| j.completed)
        && start < first
    {
        return Err(Refusal {
            status: StatusCode::BAD_REQUEST,
            message: "The request is invalid.".to_owned(),
            developer: Some(format!(
                "startTime must be greater than or equal to the completion time of the first job ({first})"
            )),
        });
    }
    let from = start.unwrap_or_else(|| crate::clock::before(to, Duration::from_secs(86_400)));
    let items = sim
        .jobs(c.id, from, to)
        .iter()
        .map(|j| render::job(&here.root, c, j))
        .collect();
    here.list(sim, items)
}

pub(super) async fn jobs(State(sim): S, here: Here, Path((b, c)): Ids) -> Answer {
    enter(&sim, "jobs")?;
    let c = owned(&sim, b, c)?;
    job_list(&sim, &here, c)
}

/// `jobs/first` alone gives the first job (bogus but for `completed`); with a window it is
/// the job list, as the vendor's documentation writes it.
pub(super) async fn first_job(State(sim): S, here: Here, Path((b, c)): Ids) -> Answer {
    let c = owned(&sim, b, c)?;
    if here.get("startTime").is_some() || here.get("endTime").is_some() {
        enter(&sim, "jobs")?;
        return job_list(&sim, &here, c);
    }
    enter(&sim, "jobs/first")?;
    let first = sim
        .first_job(c.id)
        .ok_or_else(|| Refusal::not_found(&format!("A job of consumer {}", c.id)))?;
    ok(render::first_job(&first))
}

/// The documentation's URL says `startTime`/`endTime` and its prose `startDate`/`endDate`:
/// both are accepted. `types` repeats; audit pages are small.
pub(super) async fn audit_logs(State(sim): S, here: Here, Path((b, c)): Ids) -> Answer {
    enter(&sim, "auditlogs")?;
    let c = owned(&sim, b, c)?;
    let now = sim.now();
    let from = here
        .time(&["startTime", "startDate"])?
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let to = here.time(&["endTime", "endDate"])?.unwrap_or(now);
    let types: Vec<u16> = here.all("types").filter_map(|t| t.parse().ok()).collect();
    let mut records = sim.world.audit(c.id, from, to, now);
    if !types.is_empty() {
        records.retain(|a| types.contains(&a.audit_type));
    }
    if here.flag("orderDesc") {
        records.reverse();
    }
    let items = records.iter().map(|a| render::audit(a, c)).collect();
    let page = sim.options.audit_page;
    here.page(&sim, items, Some(page), page)
}
