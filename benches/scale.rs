//! Scale benchmark: a target of 10,000 objects with two days of jobs each. Measures one
//! refresh folded into the state (`TargetState::apply`) and one `/metrics` rendering.
//!
//! `cargo bench --bench scale` prints the figures; under `cargo test` it runs once, small,
//! as a smoke test.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use backup_exporter::adapter::Collection;
use backup_exporter::api::ApiMetrics;
use backup_exporter::clock::Clock;
use backup_exporter::config::Settings;
use backup_exporter::fleet::Fleet;
use backup_exporter::metrics::Metrics;
use backup_exporter::model::*;
use backup_exporter::state::TargetState;
use jiff::Timestamp;

fn collection(objects: usize, jobs_per_object: usize, now: i64) -> Collection {
    let mut objs = Vec::with_capacity(objects);
    let mut jobs = Vec::with_capacity(objects * jobs_per_object);
    for i in 0..objects {
        let id = format!("{i}");
        objs.push(Object {
            id: id.clone(),
            name: format!("node-{i:05}.example.com"),
            object_type: "node".into(),
            tenant: format!("tenant-{}", i % 40),
            policy: "DAILY_INCR".into(),
            protected: true,
            stored_bytes: Some(1 << 30),
            ..Default::default()
        });
        for n in 0..jobs_per_object {
            let end = now - (n as i64) * 86_400 / jobs_per_object.max(1) as i64;
            jobs.push(Job {
                id: format!("{i}-{n}"),
                object_id: id.clone(),
                kind: JobKind::Backup,
                result: if (i + n) % 7 == 0 {
                    JobResult::Failed
                } else {
                    JobResult::Success
                },
                vendor_status: "Completed".into(),
                start: Timestamp::from_second(end - 600).ok(),
                end: Timestamp::from_second(end).ok(),
                duration: None,
                transferred_bytes: Some(1 << 20),
                error_code: None,
                error_message: None,
            });
        }
    }
    Collection {
        inventory: Ok(objs),
        jobs: Ok(jobs),
        warnings: Ok(vec![]),
        audit: Ok(vec![]),
        storage: Ok(Storage::default()),
        skipped: Vec::new(),
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (objects, jobs, rounds) = if full { (10_000, 2, 5) } else { (200, 2, 1) };
    let settings = Settings::parse(
        "targets:\n  - {name: big, vendor: cloutility, url: \"http://x\", client_id: c, origin: \"http://o\", username: u, password_env: P}\n",
        Path::new("bench.yml"),
    )
    .expect("config");
    let now = 1_800_000_000;
    let clock = Clock::manual(Timestamp::from_second(now).unwrap());
    let fleet = Arc::new(Fleet::new(&settings.targets));
    let metrics = Metrics::new(fleet.clone(), clock, ApiMetrics::default());
    let mut state = TargetState::new(settings.targets[0].clone(), settings.compliance.clone());

    let mut apply = Vec::new();
    let mut render = Vec::new();
    let mut bytes = 0;
    for _ in 0..rounds {
        let c = collection(objects, jobs, now);
        let t = Instant::now();
        let view = state.apply(
            c,
            Timestamp::from_second(now).unwrap(),
            Duration::from_secs(1),
        );
        apply.push(t.elapsed());
        fleet.publish(0, view);
        let t = Instant::now();
        let text = metrics.encode().expect("encodes");
        render.push(t.elapsed());
        bytes = text.len();
    }
    apply.sort();
    render.sort();
    println!(
        "scale: {objects} objects, {} jobs: apply median {:?}, /metrics render median {:?} ({} KiB)",
        objects * jobs,
        apply[apply.len() / 2],
        render[render.len() / 2],
        bytes / 1024
    );
}
