//! `/metrics`: the registry of exporter metrics plus the families rendered from the published
//! target views (contract §4).
//!
//! ## Rendered once per refresh, served as a copy
//!
//! A target's families are rendered when its refresh publishes a view ([`Fleet::publish`]),
//! not per scrape, and kept only in compressed form: one DEFLATE segment per family and
//! target ([`render::Chunk`]). Nothing holds the whole text. A scrape then:
//!
//! - encodes the small registry families (build info, API requests) afresh;
//! - picks, per family, the chunks of the targets whose data is still within `max_stale`
//!   (checked now, so stale data drops out on time without a refresh) and writes the family's
//!   HELP/TYPE lines in the negotiated format before them;
//! - for gzip (what Prometheus asks for) sends the cached segments as they are, with the
//!   per-scrape text as stored blocks and a combined CRC ([`gzip::gzip`]): a copy;
//! - without gzip inflates the segments while streaming them out.
//!
//! The sample lines of our families are the same in OpenMetrics and the classic format (no
//! `_created`, no units), so one cache serves both; only headers differ.

mod format;
mod gzip;
mod render;

use std::sync::Arc;

use bytes::Bytes;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use crate::api::ApiMetrics;
use crate::clock::Clock;
use crate::fleet::Fleet;

pub use format::{Format, openmetrics_to_classic};
pub use gzip::{CompressError, Piece, Segment, gzip, inflate};
pub use render::{
    Chunk, DEFAULT_LEVEL, FAMILIES, Gate, RenderOptions, Rendered, excludable, render,
};

/// The revision this binary was built from (set by build.rs), for `build_info`.
pub const REVISION: &str = env!("BACKUP_EXPORTER_REVISION");

/// Everything `/metrics` serves.
pub struct Metrics {
    pub registry: Registry,
    pub api: ApiMetrics,
    fleet: Arc<Fleet>,
    clock: Clock,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    pub fn new(fleet: Arc<Fleet>, clock: Clock, api: ApiMetrics) -> Self {
        let mut registry = Registry::default();
        registry.register(
            "backup_exporter_build",
            "Version and revision of backup-exporter",
            Info::new(vec![
                ("version", env!("CARGO_PKG_VERSION")),
                ("revision", REVISION),
            ]),
        );
        registry.register(
            "backup_api_requests",
            "Requests to vendor APIs by HTTP status code (`error` when there was no response)",
            api.requests.clone(),
        );
        registry.register_with_unit(
            "backup_api_request_duration",
            "Latency of vendor API requests",
            Unit::Seconds,
            api.duration.clone(),
        );
        registry.register(
            "backup_auth_failures",
            "Logins the vendor refused",
            api.auth_failures.clone(),
        );
        registry.register(
            "backup_vendor_values_rejected",
            "Vendor values outside the sanity bounds (a time more than a day ahead or before 1990, an end before its start, over 1 EiB), dropped rather than exported; `field` says which",
            api.values_rejected.clone(),
        );
        Metrics {
            registry,
            api,
            fleet,
            clock,
        }
    }

    /// Exports this replica's shard: `backup_exporter_shard_info{shard,total_shards} 1` and
    /// `backup_exporter_total_shards` (the total as a value, for the shards alert).
    pub fn with_shard(mut self, shard: crate::shard::Shard) -> Self {
        let (index, total) = (shard.index.to_string(), shard.total.to_string());
        self.registry.register(
            "backup_exporter_shard",
            "This replica's shard of the targets (serve --shard/--total-shards; 0 of 1 unsharded)",
            Info::new(vec![("shard", index), ("total_shards", total)]),
        );
        let gauge = prometheus_client::metrics::gauge::Gauge::<i64>::default();
        gauge.set(i64::from(shard.total));
        self.registry.register(
            "backup_exporter_total_shards",
            "The number of shards this replica was told there are (the shards alert compares it)",
            gauge,
        );
        self
    }

    /// The body of a scrape in `format`, as pieces in order: text made now and cached
    /// segments. Cheap: no target family is rendered here.
    pub fn pieces(&self, format: Format) -> Result<Vec<Piece>, std::fmt::Error> {
        let mut own = String::with_capacity(8 * 1024);
        prometheus_client::encoding::text::encode_registry(&mut own, &self.registry)?;
        if format == Format::Classic {
            own = openmetrics_to_classic(&own);
        }
        let mut pieces = vec![Piece::Text(Bytes::from(own))];

        let now = self.clock.now();
        let slots = self.fleet.slots();
        let mut served: Vec<(u16, usize, &render::Chunk)> = Vec::new();
        for (i, slot) in slots.iter().enumerate() {
            for c in &slot.rendered.chunks {
                if c.gate.open(&slot.view, now) {
                    served.push((c.ordinal, i, c));
                }
            }
        }
        served.sort_by_key(|(ordinal, slot, _)| (*ordinal, *slot));
        let mut current = None;
        for (ordinal, _, c) in served {
            if current != Some(ordinal) {
                current = Some(ordinal);
                pieces.push(Piece::Text(Bytes::from(c.header(format))));
            }
            pieces.push(Piece::Deflated(c.segment.clone()));
        }
        if format == Format::OpenMetrics {
            pieces.push(Piece::Text(Bytes::from_static(b"# EOF\n")));
        }
        Ok(pieces)
    }

    /// OpenMetrics text of everything (tests and benchmarks; `/metrics` streams instead).
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        self.encode_as(Format::OpenMetrics)
    }

    /// Everything in the given exposition format, as one string.
    pub fn encode_as(&self, format: Format) -> Result<String, std::fmt::Error> {
        let mut out = Vec::with_capacity(64 * 1024);
        for p in self.pieces(format)? {
            match p {
                Piece::Text(t) => out.extend_from_slice(&t),
                Piece::Deflated(s) => inflate(&s, 1 << 20, |b| {
                    out.extend_from_slice(&b);
                    true
                })
                .map_err(|_| std::fmt::Error)?,
            }
        }
        String::from_utf8(out).map_err(|_| std::fmt::Error)
    }
}

/// Validates `serve --exclude-metric` names: each must be a family that can be left out.
pub fn check_exclude(names: &[String]) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for n in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        if !excludable(n) {
            let what = if FAMILIES.contains(&n) {
                "is a health family and cannot be excluded"
            } else {
                "is not a metric family of the fleet"
            };
            anyhow::bail!(
                "--exclude-metric {n:?} {what}; families that can be excluded: {}",
                FAMILIES
                    .iter()
                    .copied()
                    .filter(|f| excludable(f))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        out.push(n.to_owned());
    }
    Ok(out)
}

/// The OpenMetrics content type (what Prometheus asks for).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use jiff::Timestamp;
    use prometheus_client::metrics::gauge::Gauge;

    use super::*;
    use crate::adapter::Collection;
    use crate::config::Settings;
    use crate::model::{Job, JobKind, JobResult, Object, Storage, StoragePool};
    use crate::state::TargetState;

    const T0: i64 = 1_800_000_000;

    fn settings(targets: usize) -> Settings {
        let mut yaml = String::from("defaults: {max_stale: 10m}\ntargets:\n");
        for i in 0..targets {
            yaml.push_str(&format!(
                "  - {{name: t{i}, vendor: cloutility, url: \"http://x\", client_id: c, origin: \"http://o\", username: u, password_env: P}}\n"
            ));
        }
        Settings::parse(&yaml, Path::new("t.yml")).expect("config")
    }

    fn collection(prefix: &str) -> Collection {
        Collection {
            inventory: Ok(vec![Object {
                id: format!("{prefix}1"),
                name: "db \"one\"\\x".into(),
                object_type: "node".into(),
                tenant: "Finance".into(),
                protected: true,
                stored_bytes: Some(650),
                ..Default::default()
            }]),
            jobs: Ok(vec![Job {
                id: "j1".into(),
                object_id: format!("{prefix}1"),
                kind: JobKind::Backup,
                result: JobResult::Success,
                vendor_status: "Completed".into(),
                start: Timestamp::from_second(T0 - 4000).ok(),
                end: Timestamp::from_second(T0 - 3600).ok(),
                duration: None,
                transferred_bytes: Some(100),
                error_code: None,
                error_message: None,
            }]),
            warnings: Ok(vec![]),
            audit: Ok(vec![]),
            storage: Ok(Storage {
                pools: vec![StoragePool {
                    name: "pool-a".into(),
                    capacity_bytes: Some(10_000),
                    used_bytes: Some(2_500),
                }],
                ..Default::default()
            }),
            skipped: vec![],
        }
    }

    fn world(targets: usize, opts: RenderOptions) -> (Metrics, Clock, Arc<Fleet>) {
        let s = settings(targets);
        let clock = Clock::manual(Timestamp::from_second(T0).unwrap());
        let fleet = Arc::new(Fleet::with_options(&s.targets, opts));
        for (i, t) in s.targets.iter().enumerate() {
            let mut state = TargetState::new(t.clone(), s.compliance.clone());
            let view = state.apply(
                collection(&format!("t{i}-")),
                clock.now(),
                Duration::from_secs(1),
            );
            fleet.publish(i, view);
        }
        let m = Metrics::new(fleet.clone(), clock.clone(), ApiMetrics::default());
        (m, clock, fleet)
    }

    fn family_lines<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
        text.lines()
            .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
            .collect()
    }

    #[test]
    fn cached_data_drops_out_at_max_stale_without_a_refresh() {
        let (m, clock, _) = world(1, RenderOptions::default());
        let fresh = m.encode().unwrap();
        assert_eq!(family_lines(&fresh, "backup_object_protected").len(), 1);
        assert_eq!(family_lines(&fresh, "backup_storage_used_bytes").len(), 1);
        clock.advance(Duration::from_secs(9 * 60));
        assert!(
            m.encode().unwrap() == fresh,
            "within max_stale: the same text"
        );
        // No refresh is published; the clock alone passes max_stale (10m).
        clock.advance(Duration::from_secs(2 * 60));
        let stale = m.encode().unwrap();
        for gone in [
            "backup_object_protected",
            "backup_object_info",
            "backup_object_last_result",
            "backup_jobs_window",
            "backup_storage_used_bytes",
            "backup_tenant_stored_bytes",
        ] {
            assert!(
                !stale.contains(&format!("# HELP {gone} ")),
                "{gone} stays:\n{stale}"
            );
            assert!(family_lines(&stale, gone).is_empty(), "{gone} stays");
        }
        assert_eq!(
            family_lines(&stale, "backup_target_up"),
            ["backup_target_up{vendor=\"cloutility\",target=\"t0\"} 1.0"]
        );
        assert_eq!(
            family_lines(&stale, "backup_jobs_total"),
            family_lines(&fresh, "backup_jobs_total"),
            "counters stay"
        );
        assert!(stale.ends_with("# EOF\n"));
    }

    #[test]
    fn families_of_several_targets_stay_together_in_target_order() {
        let (m, _, _) = world(3, RenderOptions::default());
        let text = m.encode().unwrap();
        let mut names: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .map(|l| l.split(' ').next().unwrap())
            .collect();
        let all = names.len();
        names.dedup();
        assert_eq!(names.len(), all, "one HELP/TYPE per family");
        let protected = family_lines(&text, "backup_object_protected");
        assert_eq!(protected.len(), 3);
        for (i, line) in protected.iter().enumerate() {
            assert!(line.contains(&format!("target=\"t{i}\"")), "{line}");
        }
        // Contiguous: nothing else between the family's header and its last sample.
        let start = text.find("# HELP backup_object_protected ").unwrap();
        let block: Vec<&str> = text[start..].lines().skip(2).take(3).collect();
        assert_eq!(block, protected);
        assert!(
            text.contains(r#"object="db \"one\"\\x""#),
            "label values are escaped"
        );
    }

    #[test]
    fn classic_gets_the_same_samples_with_classic_headers() {
        let (m, _, _) = world(2, RenderOptions::default());
        let om = m.encode_as(Format::OpenMetrics).unwrap();
        let classic = m.encode_as(Format::Classic).unwrap();
        assert_eq!(classic, openmetrics_to_classic(&om));
    }

    #[test]
    fn gzip_body_is_the_text() {
        use std::io::Read;
        let (m, _, _) = world(2, RenderOptions::default());
        for format in [Format::OpenMetrics, Format::Classic] {
            let body = gzip(&m.pieces(format).unwrap()).concat();
            let mut text = String::new();
            flate2::read::GzDecoder::new(&body[..])
                .read_to_string(&mut text)
                .unwrap();
            assert_eq!(text, m.encode_as(format).unwrap());
        }
    }

    #[test]
    fn excluded_families_are_not_rendered() {
        let opts = RenderOptions {
            exclude: vec![
                "backup_object_last_result".into(),
                "backup_object_rpo_seconds".into(),
            ],
            ..Default::default()
        };
        let (m, _, _) = world(1, opts);
        let text = m.encode().unwrap();
        assert!(!text.contains("backup_object_last_result"));
        assert!(!text.contains("backup_object_rpo_seconds"));
        assert_eq!(family_lines(&text, "backup_object_protected").len(), 1);
        assert!(excludable("backup_object_last_result"));
        assert!(!excludable("backup_target_up"), "health stays");
        assert!(!excludable("backup_nonsense"));
        let names = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            check_exclude(&names(&["backup_object_info", " "])).unwrap(),
            ["backup_object_info"]
        );
        let e = check_exclude(&names(&["backup_target_up"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"backup_target_up\" is a health family"), "{e}");
        let e = check_exclude(&names(&["backup_object_nope"]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("backup_object_nope") && e.contains("backup_object_last_result"),
            "{e}"
        );
    }

    #[test]
    fn gauge_values_are_written_as_prometheus_client_writes_them() {
        for v in [
            0.0,
            1.0,
            0.5,
            86_400.0,
            1_800_000_000.25,
            1e-7,
            123_456_789_012.0,
            (1u64 << 40) as f64,
            9_007_199_254_740_993.0,
            1e21,
        ] {
            let mut reg = Registry::default();
            let g = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
            g.set(v);
            reg.register("g", "h", g);
            let mut theirs = String::new();
            prometheus_client::encoding::text::encode_registry(&mut theirs, &reg).unwrap();
            let theirs = theirs.lines().nth(2).unwrap().strip_prefix("g ").unwrap();
            assert_eq!(format!("{v:?}"), theirs, "{v}");
        }
    }
}
