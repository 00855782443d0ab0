//! Issue 13 point 2, for every vendor's real adapter: its login, and one data request, are
//! answered with a 307 or 308 to a second server on another port (a capturing listener).
//! Nothing of the request (body with the password, token, session header, cookie, even the
//! request line) reaches that server, and the collectors fail with an error naming the
//! refused origin. The simulator's `redirect=PATH@URL[@308]` fault sets the trap.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use backup_exporter::adapter::{AdapterContext, Collection, Window};
use backup_exporter::api::ApiMetrics;
use backup_exporter::clock;
use backup_exporter::sim::{FaultSpec, SimContext, SimServer};

/// What reached the capturing server: one line per request.
type Log = Arc<Mutex<Vec<String>>>;

async fn capturing_server() -> (SocketAddr, Log) {
    let log: Log = Arc::default();
    let l = log.clone();
    let app = Router::new().fallback(move |req: axum::extract::Request| {
        let l = l.clone();
        async move {
            l.lock().unwrap().push(format!(
                "{} {} {:?}",
                req.method(),
                req.uri(),
                req.headers()
            ));
            "{}"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, log)
}

/// Per vendor: its demo target, the path of its login (Clumio: the token check; Backup
/// and DR: the session, after the Google token) and one data listing.
const TRAPS: &[(&str, &str, &[&str])] = &[
    (
        "clumio-demo",
        "clumio",
        &["/organizational-units", "/tasks"],
    ),
    ("cloutility-demo", "cloutility", &["/v1/oauth", "bunits"]),
    ("cloudtower-demo", "cloudtower", &["login", "get-vms"]),
    (
        "cloudsync-demo",
        "cloudsync",
        &["/auth/oauth/token", "/api/accounts"],
    ),
    (
        "backupdr-demo",
        "backupdr",
        &["/token", "/actifio/session", "/actifio/cluster"],
    ),
];

fn errors(c: &Collection) -> Vec<String> {
    [
        c.inventory.as_ref().err(),
        c.jobs.as_ref().err(),
        c.warnings.as_ref().err(),
        c.audit.as_ref().err(),
        c.storage.as_ref().err(),
    ]
    .into_iter()
    .flatten()
    .map(|e| e.to_string())
    .collect()
}

#[tokio::test]
async fn no_vendor_request_follows_a_redirect_to_another_origin() {
    let (thief, stolen) = capturing_server().await;
    let ctx = SimContext::new(5, 12);
    let server = SimServer::start(
        "127.0.0.1:0",
        ctx.clone(),
        backup_exporter::vendors::simulators(),
    )
    .await
    .unwrap();
    let (_dir, settings) = crate::common::demo_settings(&server);
    let actx = AdapterContext {
        metrics: ApiMetrics::default(),
        clock: ctx.clock.clone(),
    };
    let now = ctx.clock.now();
    let window = Window {
        now,
        since: clock::before(now, std::time::Duration::from_secs(24 * 3600)),
    };
    let mut checked = 0;
    for (target, vendor, paths) in TRAPS {
        let t = settings
            .targets
            .iter()
            .find(|t| t.name == *target)
            .unwrap_or_else(|| panic!("no demo target {target}"));
        for (i, path) in paths.iter().enumerate() {
            let code = if i % 2 == 0 { 307 } else { 308 };
            let away = format!("http://{thief}/steal");
            ctx.faults.apply(
                &format!("{vendor}:redirect={path}@{away}@{code}")
                    .parse::<FaultSpec>()
                    .unwrap(),
            );
            // A new adapter each time: no session or token from before.
            let adapter = backup_exporter::vendors::build(t, &actx).unwrap();
            let c = adapter.collect(window).await;
            let errs = errors(&c);
            assert!(!errs.is_empty(), "{target} {path}: no collector failed");
            assert!(
                errs.iter().any(|e| e.contains(&format!("HTTP {code} "))
                    && e.contains(&format!("redirect to {away} not followed"))),
                "{target} {path}: {errs:?}"
            );
            ctx.faults
                .apply(&format!("{vendor}:clear").parse::<FaultSpec>().unwrap());
            checked += 1;
        }
    }
    assert_eq!(checked, 11);
    assert_eq!(*stolen.lock().unwrap(), Vec::<String>::new());
}
