//! The CloudTower adapter against its simulator over real HTTP: every value the adapter
//! reports is compared with what the simulated world says it should be.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use backup_exporter::adapter::{Adapter, AdapterContext, Collection, Period, Window};
use backup_exporter::api::{ApiMetrics, RequestLabels, TargetLabels};
use backup_exporter::clock::Clock;
use backup_exporter::config::Settings;
use backup_exporter::model::{JobResult, Object, Vendor};
use backup_exporter::sim::{FaultSpec, SimContext, SimServer};
use backup_exporter::vendors::cloudtower::sim::{
    CLUSTERS, DEMO_API_KEY, DEMO_LDAP_USER, DEMO_PASSWORD, DEMO_USER, Role, Scope, Tower, World,
    sort_warnings,
};
use backup_exporter::vendors::cloudtower::{self, CloudTower, Options};
use jiff::{SignedDuration, Timestamp};

mod auth;
mod collect;
mod config;
mod faults;
mod metrics;
mod simulator;
mod variants;

/// 2026-03-15T10:37:00Z.
const NOW: i64 = 1_773_571_020;
const SEED: u64 = 7;
const OBJECTS: usize = 24;

struct Harness {
    server: SimServer,
    clock: Clock,
    world: World,
    dir: tempfile::TempDir,
    metrics: ApiMetrics,
}

async fn start() -> Harness {
    let clock = Clock::manual(Timestamp::from_second(NOW).unwrap());
    let mut ctx = SimContext::new(SEED, OBJECTS);
    ctx.clock = clock.clone();
    let server = SimServer::start("127.0.0.1:0", ctx, backup_exporter::vendors::simulators())
        .await
        .unwrap();
    Harness {
        server,
        clock,
        world: World::new(SEED, OBJECTS, NOW),
        dir: tempfile::tempdir().unwrap(),
        metrics: ApiMetrics::default(),
    }
}

impl Harness {
    fn url(&self, mount: &str) -> String {
        format!("{}cloudtower/{mount}", self.server.base_url())
    }

    fn secret(&self, name: &str, value: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, value).unwrap();
        p
    }

    /// The YAML of one cloudtower target named `t` with `keys` (one `key: value` a line).
    fn config(&self, mount: &str, keys: &str) -> String {
        Self::config_at(&self.url(mount), keys)
    }

    fn config_at(url: &str, keys: &str) -> String {
        let mut text =
            format!("targets:\n  - name: t\n    vendor: cloudtower\n    url: \"{url}\"\n");
        for line in keys.lines().filter(|l| !l.trim().is_empty()) {
            text.push_str(&format!("    {}\n", line.trim()));
        }
        text
    }

    fn password_keys(&self) -> String {
        let pw = self.secret("pw", DEMO_PASSWORD);
        format!("username: {DEMO_USER}\npassword_file: {}", pw.display())
    }

    fn adapter_with(&self, mount: &str, keys: &str, options: Options) -> Arc<CloudTower> {
        self.adapter_at_with(&self.url(mount), keys, options)
    }

    /// An adapter whose `url` is exactly `url`.
    fn adapter_at(&self, url: &str, keys: &str) -> Arc<CloudTower> {
        self.adapter_at_with(url, keys, Options::default())
    }

    fn adapter_at_with(&self, url: &str, keys: &str, options: Options) -> Arc<CloudTower> {
        let text = Self::config_at(url, keys);
        let settings = Settings::parse(&text, Path::new("test.yml")).unwrap();
        let ctx = AdapterContext {
            metrics: self.metrics.clone(),
            clock: self.clock.clone(),
        };
        let t = &settings.targets[0];
        let own = t.vendor_settings::<cloudtower::Settings>().unwrap();
        cloudtower::build_with(own, t, &ctx, options).unwrap()
    }

    fn adapter(&self, mount: &str, keys: &str) -> Arc<CloudTower> {
        self.adapter_with(mount, keys, Options::default())
    }

    fn fault(&self, spec: &str) {
        self.server
            .ctx
            .faults
            .apply(&spec.parse::<FaultSpec>().unwrap());
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn window(&self) -> Window {
        let now = self.now();
        Window {
            now,
            since: now - SignedDuration::from_hours(48),
        }
    }

    fn requests(&self, code: &str) -> u64 {
        self.metrics
            .requests
            .get_or_create(&RequestLabels {
                vendor: "cloudtower".into(),
                target: "t".into(),
                code: code.into(),
            })
            .get()
    }

    /// Asserts that a collection equals the world as seen by `tower` within `scope`.
    fn assert_matches_world(&self, c: Collection, tower: Tower, scope: &Scope) {
        let w = self.window();
        let mut inventory = c.inventory.expect("inventory");
        inventory.sort_by(|a, b| a.id.cmp(&b.id));
        let mut expected = self.world.expected_objects(w.now, tower, scope);
        expected.sort_by(|a, b| a.id.cmp(&b.id));
        assert_objects_eq(&inventory, &expected);

        let jobs = c.jobs.expect("jobs");
        let expected = self.world.expected_jobs(w.now, w.since, None, tower, scope);
        assert_eq!(jobs.len(), expected.len(), "number of jobs");
        for (got, want) in jobs.iter().zip(&expected) {
            assert_eq!(got, want);
        }

        let mut warnings = c.warnings.expect("warnings");
        sort_warnings(&mut warnings);
        assert_eq!(warnings, self.world.expected_warnings(w.now, scope));

        let until = w.now + SignedDuration::from_secs(1);
        assert_eq!(
            c.audit.expect("audit"),
            self.world.expected_audit(w.since, until, scope)
        );

        let mut storage = c.storage.expect("storage");
        storage.pools.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(storage, self.world.expected_storage(w.now, tower, scope));
    }
}

fn assert_objects_eq(got: &[Object], want: &[Object]) {
    assert_eq!(
        got.iter().map(|o| &o.name).collect::<Vec<_>>(),
        want.iter().map(|o| &o.name).collect::<Vec<_>>()
    );
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g, w, "object {}", w.name);
    }
}

fn error_text<T: std::fmt::Debug>(r: &Result<T, backup_exporter::adapter::VendorError>) -> String {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.to_string(),
    }
}
