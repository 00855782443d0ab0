//! The fuzz corpus replayed under `cargo test`: every file under `fuzz/corpus/<target>/` goes
//! through `backup_exporter::fuzzing::<target>`, the very function the cargo-fuzz target
//! calls, so CI keeps the corpus (and every crash added to it) honest without a nightly
//! toolchain. See `docs/security.md`.
//!
//! `write_vendor_seeds` (ignored) is how the vendor seeds were made: every JSON body the
//! simulators answered to a demo target's probe, collection and history read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use backup_exporter::fuzzing::TARGETS;
use backup_exporter::model::Vendor;

fn corpus_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (every fuzz target needs a seed corpus)",
                dir.display()
            )
        })
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

#[test]
fn every_target_has_a_corpus_and_replays_it_without_a_panic() {
    let root = corpus_root();
    let mut replayed = 0;
    for (name, run) in TARGETS {
        let inputs = files(&root.join(name));
        assert!(!inputs.is_empty(), "fuzz/corpus/{name}/ is empty");
        for path in inputs {
            let data = std::fs::read(&path).unwrap();
            let result = std::panic::catch_unwind(|| run(&data));
            assert!(
                result.is_ok(),
                "fuzz target {name} panicked on {}",
                path.display()
            );
            replayed += 1;
        }
    }
    assert!(replayed >= TARGETS.len());
}

#[test]
fn every_corpus_folder_is_a_target_and_every_target_a_fuzz_binary() {
    let root = corpus_root();
    let names: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
    for entry in std::fs::read_dir(&root).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            names.contains(&name.as_str()),
            "fuzz/corpus/{name}/ is no target"
        );
    }
    let manifest = std::fs::read_to_string(root.join("../Cargo.toml")).unwrap();
    for name in names {
        let src = std::fs::read_to_string(root.join(format!("../fuzz_targets/{name}.rs")))
            .unwrap_or_else(|e| panic!("fuzz/fuzz_targets/{name}.rs: {e}"));
        assert!(
            src.contains(&format!("backup_exporter::fuzzing::{name}(data)")),
            "fuzz/fuzz_targets/{name}.rs does not call fuzzing::{name}"
        );
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "fuzz/Cargo.toml lacks {name}"
        );
    }
}

/// The CSV target checks what it must: a formula trigger at the start of a cell is caught.
#[test]
fn csv_target_would_notice_an_unescaped_formula() {
    // A cell `files::cell` leaves alone reads back as it was, and one it escapes does not
    // start with the trigger; both are checked by the target, which must pass here.
    backup_exporter::fuzzing::csv_cell(b"=1+1\0+x\0-y\0@z\0\tq\0\"a,b\"\r\nc");
    assert_eq!(backup_exporter::report::files::cell("=1+1"), "'=1+1");
}

/// Largest seed kept: small files mutate faster and keep the repository light.
const MAX_SEED: usize = 24 << 10;
/// Seeds per vendor.
const MAX_SEEDS: usize = 40;

/// Writes `fuzz/corpus/<vendor>/` from the simulators' answers. Run by hand:
/// `cargo test --test it fuzz_corpus::write_vendor_seeds -- --ignored`.
#[tokio::test]
#[ignore = "writes the seed corpus into the checkout"]
async fn write_vendor_seeds() {
    for (vendor, name) in [
        (Vendor::Cloutility, "cloutility"),
        (Vendor::Backupdr, "backupdr"),
        (Vendor::Cloudtower, "cloudtower"),
        (Vendor::Cloudsync, "cloudsync"),
        (Vendor::Clumio, "clumio"),
    ] {
        // One body per endpoint (ids in the path folded), the first seen.
        let mut seeds: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        for e in crate::spec_conformance::traffic(vendor, 3).await {
            let Some(body) = e.body else { continue };
            let bytes = serde_json::to_vec(&body).unwrap();
            if bytes.len() > MAX_SEED {
                continue;
            }
            let key: String = format!("{} {}", e.method, e.path)
                .split('/')
                .map(|s| {
                    if s.chars().any(|c| c.is_ascii_digit()) {
                        "_"
                    } else {
                        s
                    }
                })
                .collect::<Vec<_>>()
                .join("-")
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            seeds.entry(key).or_insert(bytes);
        }
        assert!(!seeds.is_empty(), "{name}: the simulator answered no JSON");
        let out = corpus_root().join(name);
        std::fs::create_dir_all(&out).unwrap();
        for (key, bytes) in seeds.into_iter().take(MAX_SEEDS) {
            std::fs::write(out.join(format!("sim-{key}.json")), bytes).unwrap();
        }
    }
}
