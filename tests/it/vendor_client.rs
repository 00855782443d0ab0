//! Issue 13 points 1 and 2, the vendor side: the shared client (`src/api/`) against hostile
//! vendors on loopback. Bounded reads (a 1 GiB body, an endless chunked body, a slow drip,
//! many at once), and redirects (a login or a data request sent to another origin, a
//! same-origin hop, a loop), with a second server that captures whatever reaches it.

use std::convert::Infallible;
use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request as AxumRequest;
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::response::IntoResponse;
use backup_exporter::api::{
    ApiClient, ApiError, ApiMetrics, Authenticator, ClientSettings, Credential, Request,
};
use backup_exporter::model::Vendor;
use futures::StreamExt as _;
use serde_json::json;

// ---------------------------------------------------------------------------------------
// Hostile bodies, generated as they are sent (nothing of their size is allocated).

static FILLER: [u8; 64 * 1024] = [b' '; 64 * 1024];
const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;

/// `[` and then `total` bytes of spaces (a JSON array that never closes), or spaces forever.
fn generated(total: Option<u64>, sent: Arc<AtomicU64>) -> Body {
    let chunks = futures::stream::once(async { Bytes::from_static(b"[") })
        .chain(futures::stream::repeat(Bytes::from_static(&FILLER)));
    let chunks: futures::stream::BoxStream<'static, Bytes> = match total {
        Some(n) => chunks.take((n / FILLER.len() as u64) as usize).boxed(),
        None => chunks.boxed(),
    };
    Body::from_stream(chunks.map(move |c| {
        sent.fetch_add(c.len() as u64, Ordering::Relaxed);
        Ok::<_, Infallible>(c)
    }))
}

/// A body that sends `prefix` bytes at once and then one byte every `every`, forever.
fn drip(prefix: usize, every: Duration) -> Body {
    let head = futures::stream::once(async move { Bytes::from(vec![b' '; prefix]) });
    let tail = futures::stream::unfold((), move |()| async move {
        tokio::time::sleep(every).await;
        Some((Bytes::from_static(b" "), ()))
    });
    Body::from_stream(head.chain(tail).map(Ok::<_, Infallible>))
}

async fn serve_router(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// A vendor whose every answer is hostile; `sent` counts the body bytes it produced.
async fn hostile_vendor(sent: Arc<AtomicU64>) -> SocketAddr {
    let router = Router::new().fallback(move |req: AxumRequest| {
        let sent = sent.clone();
        async move {
            let ok = |b: Body| (StatusCode::OK, b).into_response();
            match req.uri().path() {
                "/gib-announced" => {
                    let mut r = ok(generated(Some(GIB), sent));
                    r.headers_mut()
                        .insert(header::CONTENT_LENGTH, (GIB + 1).into());
                    r
                }
                "/gib" => ok(generated(Some(GIB), sent)),
                "/endless" => ok(generated(None, sent)),
                "/small" => ok(Body::from(vec![b'x'; 100 * 1024])),
                "/half-mib-then-stall" => ok(drip(512 * 1024, Duration::from_secs(3600))),
                "/drip" => ok(drip(1, Duration::from_millis(100))),
                "/error-endless" => {
                    let body = futures::stream::repeat(Bytes::from_static(b"Internal error\n"));
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        Body::from_stream(body.map(Ok::<_, Infallible>)),
                    )
                        .into_response()
                }
                _ => StatusCode::NOT_FOUND.into_response(),
            }
        }
    });
    serve_router(router).await
}

fn settings(addr: SocketAddr) -> ClientSettings {
    let base = url::Url::parse(&format!("http://{addr}/")).unwrap();
    ClientSettings::new(Vendor::Clumio, "hostile", base)
}

fn client(settings: ClientSettings, auth: Option<Arc<dyn Authenticator>>) -> ApiClient {
    ApiClient::new(settings, auth, ApiMetrics::default(), |_| None).unwrap()
}

// ---------------------------------------------------------------------------------------
// Point 1: bounded reads, in process.

/// Before: the whole GiB was read into memory (and then failed to decode). Now a
/// `Content-Length` over the cap is refused before reading, and a chunked GiB stops at the
/// cap, each with an error naming the endpoint, the limit and its setting.
#[tokio::test]
async fn a_gib_body_stops_at_the_cap_with_a_clear_error() {
    let sent = Arc::new(AtomicU64::new(0));
    let addr = hostile_vendor(sent.clone()).await;
    let c = client(settings(addr), None);
    assert_eq!(
        c.settings().max_response_bytes,
        64 * MIB,
        "the documented default"
    );

    let e = c
        .send(Request::get("/gib-announced?secret=1").without_auth())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ApiError::TooLarge {
                announced: Some(_),
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "GET /gib-announced: response refused: its Content-Length of 1 GiB is over the 64 MiB \
         limit (max_response_bytes); nothing read"
    );

    let t = Instant::now();
    sent.store(0, Ordering::Relaxed);
    let e = c
        .send(Request::get("/gib").without_auth())
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "GET /gib: response body over the 64 MiB limit (max_response_bytes); reading stopped there"
    );
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    // The server produced far less than its GiB: reading stopped near the cap (what it
    // counts includes what the socket buffers held when we let go).
    let produced = sent.load(Ordering::Relaxed);
    assert!(produced < 128 * MIB, "{produced} bytes produced");
    assert_eq!(c.buffered_bytes(), 0, "nothing held after the error");
}

/// Before: an endless chunked body grew the process until the allocator gave up.
#[tokio::test]
async fn an_endless_chunked_body_stops_at_the_cap() {
    let addr = hostile_vendor(Arc::new(AtomicU64::new(0))).await;
    let mut s = settings(addr);
    s.max_response_bytes = 4 * MIB;
    let c = client(s, None);
    let e = c
        .send(Request::get("/endless").without_auth())
        .await
        .unwrap_err();
    assert!(
        matches!(e, ApiError::TooLarge { limit, announced: None, .. } if limit == 4 * MIB),
        "{e:?}"
    );
    assert!(e.to_string().starts_with("GET /endless: "), "{e}");
}

/// A body that drips a byte every 100 ms ends at the request timeout.
#[tokio::test]
async fn a_slow_drip_ends_at_the_request_timeout() {
    let addr = hostile_vendor(Arc::new(AtomicU64::new(0))).await;
    let mut s = settings(addr);
    s.request_timeout = Duration::from_secs(1);
    let c = client(s, None);
    let t = Instant::now();
    let e = c
        .send(Request::get("/drip").without_auth())
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Timeout { .. }), "{e:?}");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
}

/// An endless error body is read only for its message: the error is the vendor's status,
/// not a size or timeout error.
#[tokio::test]
async fn an_endless_error_body_gives_the_status_and_its_first_line() {
    let addr = hostile_vendor(Arc::new(AtomicU64::new(0))).await;
    let mut s = settings(addr);
    s.request_timeout = Duration::from_secs(5);
    let c = client(s, None);
    let e = c
        .send(Request::get("/error-endless").without_auth())
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "GET /error-endless: HTTP 500 Internal Server Error: Internal error"
    );
}

/// The bodies of one target's concurrent requests share one budget: with four requests
/// each holding 512 KiB and a budget of 1.25 MiB, the third and fourth are refused at once
/// (the first two end at the request timeout), and everything is given back.
#[tokio::test]
async fn concurrent_bodies_of_a_target_share_one_budget() {
    let addr = hostile_vendor(Arc::new(AtomicU64::new(0))).await;
    let mut s = settings(addr);
    s.max_response_bytes = MIB;
    s.max_buffered_bytes = MIB + MIB / 4;
    s.max_concurrent_requests = 4;
    s.request_timeout = Duration::from_secs(2);
    let c = client(s, None);
    let results = futures::future::join_all(
        (0..4).map(|_| c.send(Request::get("/half-mib-then-stall").without_auth())),
    )
    .await;
    let full: Vec<_> = results
        .iter()
        .filter(|r| matches!(r, Err(ApiError::BufferFull { .. })))
        .collect();
    let timed_out = results
        .iter()
        .filter(|r| matches!(r, Err(ApiError::Timeout { .. })))
        .count();
    assert_eq!((full.len(), timed_out), (2, 2), "{results:?}");
    let message = full[0].as_ref().unwrap_err().to_string();
    assert!(
        message.starts_with("GET /half-mib-then-stall: ")
            && message.contains("1.2 MiB limit (max_buffered_bytes)"),
        "{message}"
    );
    assert_eq!(c.buffered_bytes(), 0);

    // A body read whole holds its part until the response is dropped.
    let r = c.send(Request::get("/small").without_auth()).await.unwrap();
    assert_eq!(r.body.len(), 100 * 1024);
    assert_eq!(c.buffered_bytes(), 100 * 1024);
    drop(r);
    assert_eq!(c.buffered_bytes(), 0);
}

// ---------------------------------------------------------------------------------------
// Point 2: redirects, with a second server that captures whatever reaches it.

#[derive(Clone, Debug)]
struct Captured {
    method: String,
    path: String,
    headers: HeaderMap,
    body: String,
}

type Log = Arc<Mutex<Vec<Captured>>>;

async fn capture(req: AxumRequest) -> Captured {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    Captured {
        method: parts.method.to_string(),
        path: parts.uri.to_string(),
        headers: parts.headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// Answers every request `200 {"ok": true}` and remembers it.
async fn capturing_server() -> (SocketAddr, Log) {
    let log: Log = Arc::default();
    let l = log.clone();
    let router = Router::new().fallback(move |req: AxumRequest| {
        let l = l.clone();
        async move {
            let c = capture(req).await;
            l.lock().unwrap().push(c);
            axum::Json(json!({"ok": true}))
        }
    });
    (serve_router(router).await, log)
}

/// The vendor: redirects to `elsewhere` (another port, so another origin) or to itself,
/// and remembers what reaches its own final endpoint `/real`.
async fn redirecting_vendor(elsewhere: SocketAddr) -> (SocketAddr, Log) {
    let log: Log = Arc::default();
    let l = log.clone();
    let router = Router::new().fallback(move |req: AxumRequest| {
        let l = l.clone();
        async move {
            let to = |status: StatusCode, location: String| {
                (status, [(header::LOCATION, location)]).into_response()
            };
            let away = format!("http://{elsewhere}/steal?token=q1w2e3");
            match req.uri().path() {
                "/login-307" => to(StatusCode::TEMPORARY_REDIRECT, away),
                "/login-308" => to(StatusCode::PERMANENT_REDIRECT, away),
                "/data-302" => to(StatusCode::FOUND, away),
                "/passive/login" => to(StatusCode::TEMPORARY_REDIRECT, "/real".into()),
                "/moved" => to(StatusCode::MOVED_PERMANENTLY, "/real?page=2".into()),
                "/loop" => to(StatusCode::FOUND, "/loop".into()),
                "/real" => {
                    let c = capture(req).await;
                    l.lock().unwrap().push(c);
                    axum::Json(json!({"ok": true})).into_response()
                }
                _ => StatusCode::NOT_FOUND.into_response(),
            }
        }
    });
    (serve_router(router).await, log)
}

const PASSWORD: &str = "hunter2-correct-horse";
const TOKEN: &str = "tok-5ecr3t-bearer";
const SESSION: &str = "sess-0123456789";
const SESSION_HEADER: &str = "backupdr-management-session";

/// A login that POSTs the password to `path`, then hands out a bearer token and a session
/// header.
struct PasswordLogin {
    path: &'static str,
}

#[async_trait]
impl Authenticator for PasswordLogin {
    async fn login(&self, c: &ApiClient, _p: Option<&Credential>) -> Result<Credential, ApiError> {
        c.redactor().add(PASSWORD);
        c.send(
            Request::post(self.path)
                .without_auth()
                .json(json!({"username": "monitor", "password": PASSWORD})),
        )
        .await
        .map_err(|e| c.login_refused(e))?;
        Credential::new(vec![
            (header::AUTHORIZATION, format!("Bearer {TOKEN}")),
            (
                HeaderName::from_static(SESSION_HEADER),
                format!("Actifio {SESSION}"),
            ),
        ])
    }
}

fn redirect_client(vendor: SocketAddr, login: &'static str, allow: bool) -> ApiClient {
    let mut s = settings(vendor);
    s.allow_cross_origin_redirects = allow;
    s.default_headers.insert(
        HeaderName::from_static("x-clumio-organizationalunit-context"),
        "ou-1".parse().unwrap(),
    );
    client(s, Some(Arc::new(PasswordLogin { path: login })))
}

fn leaks(log: &Log) -> Vec<String> {
    log.lock()
        .unwrap()
        .iter()
        .map(|c| format!("{} {} {:?} {}", c.method, c.path, c.headers, c.body))
        .collect()
}

/// Before: reqwest followed the 307/308 and re-sent the JSON body with the password to the
/// other port. Now the login fails with an error that names where it was sent (without the
/// query), and the other server sees nothing at all.
#[tokio::test]
async fn a_login_redirected_to_another_origin_never_reaches_it() {
    let (thief, stolen) = capturing_server().await;
    let (vendor, _) = redirecting_vendor(thief).await;
    for (login, code) in [("/login-307", 307), ("/login-308", 308)] {
        for allow in [false, true] {
            let c = redirect_client(vendor, login, allow);
            let e = c.send(Request::get("/real")).await.unwrap_err();
            let text = e.to_string();
            assert!(matches!(e, ApiError::Redirect { .. }), "{e:?}");
            assert!(
                text.starts_with(&format!("POST {login}: HTTP {code} "))
                    && text.contains(&format!("redirect to http://{thief}/steal not followed")),
                "{text}"
            );
            assert!(
                !text.contains("q1w2e3") && !text.contains(PASSWORD),
                "{text}"
            );
            if allow {
                assert!(text.contains("has a body"), "{text}");
            }
        }
    }
    assert_eq!(leaks(&stolen), Vec::<String>::new());
}

/// A data request (with its bearer token, session header and a cookie) redirected to
/// another origin fails clearly; the other server sees nothing.
#[tokio::test]
async fn a_data_request_redirected_to_another_origin_fails_clearly() {
    let (thief, stolen) = capturing_server().await;
    let (vendor, _) = redirecting_vendor(thief).await;
    let c = redirect_client(vendor, "/real", false);
    let e = c
        .send(Request::get("/data-302?since=1").header(header::COOKIE, "sid=abc"))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "GET /data-302: HTTP 302 Found redirect to http://{thief}/steal not followed: another \
             origin than the request's; credentials and request bodies are never sent elsewhere \
             (allow_cross_origin_redirects lets a target follow body-less requests there, \
             without credentials)"
        )
    );
    assert_eq!(leaks(&stolen), Vec::<String>::new());
}

/// Allowed, a body-less request goes to the other origin bare: no token, no session
/// header, no cookie, none of the target's default headers, no Referer; its own plain
/// headers (`Accept`) go along.
#[tokio::test]
async fn an_allowed_cross_origin_hop_carries_no_credentials() {
    let (other, seen) = capturing_server().await;
    let (vendor, _) = redirecting_vendor(other).await;
    let c = redirect_client(vendor, "/real", true);
    let r = c
        .send(
            Request::get("/data-302")
                .header(header::ACCEPT, "application/json")
                .header(header::COOKIE, "sid=abc"),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let h = &seen[0].headers;
    assert_eq!(seen[0].path, "/steal?token=q1w2e3");
    for name in [
        "authorization",
        SESSION_HEADER,
        "cookie",
        "referer",
        "x-clumio-organizationalunit-context",
    ] {
        assert!(!h.contains_key(name), "{name} was sent: {h:?}");
    }
    assert_eq!(h.get("accept").unwrap(), "application/json");
}

/// Within the origin, redirects work: a passive node's 307 on the login repeats the POST
/// with its body (as CloudTower's passive node needs), and a 301 on a data request is
/// followed with the credential. No Referer either way.
#[tokio::test]
async fn a_same_origin_redirect_is_followed() {
    let (other, stolen) = capturing_server().await;
    let (vendor, reached) = redirecting_vendor(other).await;
    let c = redirect_client(vendor, "/passive/login", false);
    let r = c.send(Request::get("/moved")).await.unwrap();
    assert_eq!(r.status, 200);
    let reached = reached.lock().unwrap().clone();
    assert_eq!(reached.len(), 2, "{reached:?}");
    let (login, data) = (&reached[0], &reached[1]);
    assert_eq!(
        (login.method.as_str(), login.path.as_str()),
        ("POST", "/real")
    );
    assert!(login.body.contains(PASSWORD), "{}", login.body);
    assert_eq!(
        (data.method.as_str(), data.path.as_str()),
        ("GET", "/real?page=2")
    );
    assert_eq!(
        data.headers.get("authorization").unwrap(),
        &format!("Bearer {TOKEN}")
    );
    assert_eq!(
        data.headers.get(SESSION_HEADER).unwrap(),
        &format!("Actifio {SESSION}")
    );
    assert_eq!(
        data.headers
            .get("x-clumio-organizationalunit-context")
            .unwrap(),
        "ou-1"
    );
    for r in [login, data] {
        assert!(!r.headers.contains_key("referer"), "{:?}", r.headers);
    }
    assert_eq!(leaks(&stolen), Vec::<String>::new());
}

#[tokio::test]
async fn a_redirect_loop_ends_with_a_clear_error() {
    let (other, _) = capturing_server().await;
    let (vendor, _) = redirecting_vendor(other).await;
    let c = redirect_client(vendor, "/real", false);
    let e = c.send(Request::get("/loop")).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "GET /loop: HTTP 302 Found redirect to http://{vendor}/loop not followed: more than 5 redirects"
        )
    );
}

// ---------------------------------------------------------------------------------------
// Point 1, measured: the real binary with one hostile target beside a simulated one.

/// A child process of ours, killed (by its id) when the test ends.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn bin() -> Command {
    let exe = std::env::var_os("VENDOR_CLIENT_TEST_BIN")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_backup-exporter").into());
    let mut c = Command::new(exe);
    for (k, _) in std::env::vars() {
        if k.starts_with("BACKUP_EXPORTER_") {
            c.env_remove(k);
        }
    }
    c.env_remove("RUST_LOG");
    c.stdin(Stdio::null()).stdout(Stdio::null());
    c
}

fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn http_get(addr: &str, path: &str) -> String {
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return String::new();
    };
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = write!(s, "GET {path} HTTP/1.0\r\n\r\n");
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf
}

fn up(metrics: &str, target: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with("backup_target_up{") && l.contains(&format!("target=\"{target}\"")))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

/// Before: the exporter read every hostile body whole; with four at once it grew by GiBs
/// and aborted, taking every target's `/metrics` with it. Now its peak RSS stays under
/// 256 MiB while the hostile Clumio target answers 1 GiB and endless bodies to every data
/// request (four at a time), the hostile target is down with the size error, and the
/// simulated target is up. Set `VENDOR_CLIENT_TEST_BIN` to measure another build.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_bodies_keep_the_exporter_under_256_mib_and_other_targets_up() {
    const LIMIT_KIB: u64 = 256 * 1024;
    let dir = tempfile::tempdir().unwrap();

    // The hostile vendor: a Clumio that accepts the token, then answers every listing with
    // a GiB (chunked) or an endless body.
    let sent = Arc::new(AtomicU64::new(0));
    let hostile_requests = Arc::new(AtomicU64::new(0));
    let (s2, n2) = (sent.clone(), hostile_requests.clone());
    let router = Router::new().fallback(move |req: AxumRequest| {
        let (sent, n) = (s2.clone(), n2.clone());
        async move {
            if req.uri().path() == "/organizational-units" && req.uri().query() == Some("limit=1") {
                return axum::Json(json!({})).into_response();
            }
            let i = n.fetch_add(1, Ordering::Relaxed);
            let total = if i % 2 == 0 { Some(GIB) } else { None };
            (StatusCode::OK, generated(total, sent)).into_response()
        }
    });
    let hostile = serve_router(router).await;

    // The simulator, for the well-behaved target.
    let sim_yml = dir.path().join("sim.yml");
    let mut sim = bin();
    sim.args(["simulate", "--listen", "127.0.0.1:0", "--config-out"])
        .arg(&sim_yml)
        .stderr(std::fs::File::create(dir.path().join("sim.err")).unwrap());
    let _sim = Proc(sim.spawn().unwrap());
    let t = Instant::now();
    while !sim_yml.exists() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "simulate did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let sim_cfg = std::fs::read_to_string(&sim_yml).unwrap();
    let clumio_url = sim_cfg
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix("url: "))
        .find(|u| u.ends_with("/clumio"))
        .expect("a clumio target in the simulator's config")
        .to_owned();
    let secrets = dir.path().join("sim-secrets");
    std::fs::write(dir.path().join("hostile-token"), "hostile-token-value\n").unwrap();

    let listen = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let config = dir.path().join("config.yml");
    std::fs::write(
        &config,
        format!(
            "defaults:\n  interval: 2s\n  timeout: 20s\n  max_concurrent_requests: 4\n\
             targets:\n\
             - name: simulated\n  vendor: clumio\n  url: {clumio_url}\n  token_file: {}\n\
             - name: hostile\n  vendor: clumio\n  url: http://{hostile}/\n  token_file: {}\n",
            secrets.join("clumio-token").display(),
            dir.path().join("hostile-token").display(),
        ),
    )
    .unwrap();
    let stderr = dir.path().join("serve.err");
    let mut serve = bin();
    serve
        .args(["serve", "--listen", &listen, "--config"])
        .arg(&config)
        .stderr(std::fs::File::create(&stderr).unwrap());
    let serve = Proc(serve.spawn().unwrap());
    let pid = serve.0.id();

    // Watch for up to 25 s: until the hostile target has been refused through at least
    // two refreshes and the simulated one is up. Stop early (and fail) past 1 GiB, so that
    // an unbounded build cannot take the machine down.
    let started = Instant::now();
    let mut peak_kib = 0;
    let mut metrics = String::new();
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let hwm = status_kib(pid, "VmHWM:").unwrap_or(peak_kib);
        peak_kib = peak_kib.max(hwm);
        if peak_kib > 4 * LIMIT_KIB || started.elapsed() > Duration::from_secs(25) {
            break;
        }
        if hostile_requests.load(Ordering::Relaxed) >= 12 {
            metrics = tokio::task::spawn_blocking({
                let listen = listen.clone();
                move || http_get(&listen, "/metrics")
            })
            .await
            .unwrap();
            if up(&metrics, "simulated") == Some(1.0) && up(&metrics, "hostile") == Some(0.0) {
                break;
            }
        }
    }
    let produced = sent.load(Ordering::Relaxed);
    let log = std::fs::read_to_string(&stderr).unwrap_or_default();
    eprintln!(
        "peak RSS {} MiB after {:.1} s; {} hostile requests; {} MiB of hostile body produced",
        peak_kib / 1024,
        started.elapsed().as_secs_f64(),
        hostile_requests.load(Ordering::Relaxed),
        produced / MIB
    );
    assert!(
        peak_kib < LIMIT_KIB,
        "peak RSS {} MiB; log tail: {}",
        peak_kib / 1024,
        &log[log.len().saturating_sub(2000)..]
    );
    assert_eq!(up(&metrics, "simulated"), Some(1.0), "{metrics}");
    assert_eq!(up(&metrics, "hostile"), Some(0.0), "{metrics}");
    assert!(
        log.contains("over the 64 MiB limit (max_response_bytes)")
            || log.contains("limit (max_buffered_bytes)"),
        "{log}"
    );
    // Every hostile body was cut far short of what it offered.
    assert!(
        produced > 64 * MIB,
        "the test did exercise the cap: {produced}"
    );
}
