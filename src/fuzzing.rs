//! The fuzzed entry points, one plain function per target: the cargo-fuzz targets in
//! `fuzz/fuzz_targets/` and the corpus replay test (`tests/it/fuzz_corpus.rs`) both call
//! these, so what CI replays is what was fuzzed. None of them may panic on any input; the
//! CSV target also checks that a written cell reads back as written.
//!
//! Each vendor target takes one JSON body, decodes it as every response type that vendor's
//! adapter reads (through the same decoder as the client, `api::decode_json`) and maps
//! whatever decodes to the model as the adapter does. See `docs/security.md`.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::vendors::lenient;

/// Cloutility: every response type, and its mapping to the model.
pub fn cloutility(data: &[u8]) {
    crate::vendors::cloutility::fuzz::decode_and_map(data);
}

/// Google Cloud Backup and DR: every response type, and its mapping to the model.
pub fn backupdr(data: &[u8]) {
    crate::vendors::backupdr::fuzz::decode_and_map(data);
}

/// SmartX CloudTower: every response type, and its mapping to the model.
pub fn cloudtower(data: &[u8]) {
    crate::vendors::cloudtower::fuzz::decode_and_map(data);
}

/// NetApp Cloud Sync: every response type, and its mapping to the model.
pub fn cloudsync(data: &[u8]) {
    crate::vendors::cloudsync::fuzz::decode_and_map(data);
}

/// Clumio: every response type, and its mapping to the model.
pub fn clumio(data: &[u8]) {
    crate::vendors::clumio::fuzz::decode_and_map(data);
}

/// Every field decoder of `vendors::lenient` at once, as the wire types use them.
#[derive(Deserialize)]
#[allow(dead_code)]
struct LenientFields {
    #[serde(default, deserialize_with = "lenient::opt_time")]
    time: Option<jiff::Timestamp>,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    f: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    u: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    i: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    s: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    b: Option<bool>,
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    v: Vec<Value>,
}

/// The lenient time decoder: the input as text (ISO 8601 or an epoch number), as a JSON
/// value, as an epoch number (its first 8 bytes), and as a JSON object of lenient fields.
pub fn lenient_time(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = lenient::iso_time(s);
        let _ = lenient::time_value(&Value::String(s.to_owned()));
    }
    if let Ok(v) = serde_json::from_slice::<Value>(data) {
        let _ = lenient::time_value(&v);
    }
    let mut word = [0u8; 8];
    let n = data.len().min(8);
    word[..n].copy_from_slice(&data[..n]);
    let _ = lenient::epoch_time(i64::from_le_bytes(word));
    let _ = serde_json::from_slice::<LenientFields>(data);
}

/// The configuration file parser (`Settings::parse`), the input as the file's text.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = crate::config::Settings::parse(&text, Path::new("/nonexistent/fuzz.yml"));
}

/// The web configuration parser (`--web.config.file`), the input as the file's text. Its
/// relative file names point into a folder that does not exist.
pub fn web_config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = crate::web::WebConfig::parse(&text, Path::new("/nonexistent/web.yml"));
}

/// The CSV cells of a report: the input (lossy UTF-8, split at NUL into fields) written as
/// an audit row, then read back; every cell must come back as `files::cell` wrote it, in one
/// record of the header's width.
pub fn csv_cell(data: &[u8]) {
    use crate::model::{AuditAction, AuditEvent, Vendor};
    use crate::report::files::{AUDIT_HEADER, AuditRow, audit_csv, cell};

    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\0').map(str::to_owned);
    let mut next = || parts.next().unwrap_or_default();
    let row = AuditRow {
        vendor: Vendor::Clumio,
        target: next(),
        event: AuditEvent {
            tenant: next(),
            id: next(),
            time: jiff::Timestamp::UNIX_EPOCH,
            actor: next(),
            action: AuditAction::Other,
            object: next(),
            message: next(),
        },
    };
    let bytes = audit_csv(std::slice::from_ref(&row));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(bytes.as_slice());
    let records: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .expect("the report's CSV reads back");
    assert_eq!(records.len(), 1, "one row written, one read back");
    let got = &records[0];
    assert_eq!(
        got.len(),
        AUDIT_HEADER.len(),
        "the row has the header's width"
    );
    let e = &row.event;
    for (i, want) in [
        (1, &row.target),
        (2, &e.tenant),
        (3, &e.id),
        (5, &e.actor),
        (7, &e.object),
        (8, &e.message),
    ] {
        assert_eq!(
            &got[i],
            cell(want).as_ref(),
            "column {i} reads back as written"
        );
        assert!(
            !matches!(
                got[i].chars().next(),
                Some('=' | '+' | '-' | '@' | '\t' | '\r')
            ),
            "column {i} starts with a formula trigger: {:?}",
            &got[i]
        );
    }
}

/// The Prometheus query API response decoder of `report --source prometheus`: the input as
/// the body of an instant query and of a range query piece.
pub fn prometheus_response(data: &[u8]) {
    use crate::report::prometheus::client::{decode_instant, decode_range};
    let _ = decode_instant(data);
    let _ = decode_range(data);
}

/// A fuzzed entry point.
pub type Target = fn(&[u8]);

/// Every target by name, for the corpus replay.
pub const TARGETS: &[(&str, Target)] = &[
    ("cloutility", cloutility),
    ("backupdr", backupdr),
    ("cloudtower", cloudtower),
    ("cloudsync", cloudsync),
    ("clumio", clumio),
    ("lenient_time", lenient_time),
    ("config", config),
    ("web_config", web_config),
    ("csv_cell", csv_cell),
    ("prometheus_response", prometheus_response),
];
