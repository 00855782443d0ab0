//! `--inventory FILE.csv` (issue 15 point 5): coverage against an asset register.
//!
//! The register is a CSV file with a header row. Column `name` is required; `tenant`,
//! `vendor` and `id` are optional; other columns are ignored (registers carry owners, cost
//! centres and the like). Each cell is a glob pattern (`*`, `?`, `[...]`, as in
//! `compliance.rules`); an empty cell or an absent column matches anything. Matching ignores
//! case (host and customer names are written every which way).
//!
//! An entry is covered when at least one object reported by any target matches every
//! non-empty field of it: `name` against the object's name, `id` against its id, `tenant`
//! against its tenant and `vendor` against the vendor's name. Every reported object counts,
//! whatever its status (an unprotected or excluded object is in scope, with its own verdict).
//! An entry matching several objects is covered once; one object may cover several entries.
//! Every entry that is not covered becomes one `not_backed_up` row.

use std::path::Path;

use glob::{MatchOptions, Pattern};

use super::compliance::{ComplianceRow, Status};
use crate::adapter::Period;
use crate::model::Vendor;

const OPTIONS: MatchOptions = MatchOptions {
    case_sensitive: false,
    require_literal_separator: false,
    require_literal_leading_dot: false,
};

/// One register entry, as written and as patterns.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The line of the file (1 is the header).
    pub line: u64,
    pub name: String,
    pub tenant: String,
    pub vendor: String,
    pub id: String,
    patterns: [Option<Pattern>; 4],
}

/// The register, read and checked before any target is read.
#[derive(Clone, Debug)]
pub struct Register {
    pub file: String,
    pub entries: Vec<Entry>,
}

impl Register {
    pub fn load(path: &Path) -> Result<Register, String> {
        let bytes = std::fs::read(path)
            .map_err(|e| format!("--inventory {}: cannot read: {e}", path.display()))?;
        Self::parse(&bytes, &path.display().to_string())
    }

    pub fn parse(bytes: &[u8], file: &str) -> Result<Register, String> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let mut r = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
        let headers = r
            .headers()
            .map_err(|e| format!("--inventory {file}: {e}"))?
            .clone();
        let col = |name: &str| {
            headers
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(name))
        };
        let name_col = col("name").ok_or_else(|| {
            format!(
                "--inventory {file}: no `name` column (the header is: {})",
                headers.iter().collect::<Vec<_>>().join(", ")
            )
        })?;
        let cols = [Some(name_col), col("tenant"), col("vendor"), col("id")];
        let mut entries: Vec<Entry> = Vec::new();
        for rec in r.records() {
            let rec = rec.map_err(|e| format!("--inventory {file}: {e}"))?;
            // The csv crate miscounts lines after CRLF; count them from the byte offset.
            let line = rec.position().map_or(0, |p| {
                // It may also point at the end of the line before; skip to the record.
                let mut at = (p.byte() as usize).min(bytes.len());
                while at < bytes.len() && matches!(bytes[at], b'\r' | b'\n') {
                    at += 1;
                }
                bytes[..at].iter().filter(|b| **b == b'\n').count() as u64 + 1
            });
            let cell = |i: Option<usize>| {
                i.and_then(|i| rec.get(i))
                    .map(|s| s.trim().to_owned())
                    .unwrap_or_default()
            };
            let [name, tenant, vendor, id] = cols.map(cell);
            if name.is_empty() && tenant.is_empty() && vendor.is_empty() && id.is_empty() {
                continue;
            }
            if name.is_empty() {
                return Err(format!(
                    "--inventory {file} line {line}: `name` is empty (use `*` to mean any name)"
                ));
            }
            let mut patterns: [Option<Pattern>; 4] = Default::default();
            for (slot, (field, v)) in patterns.iter_mut().zip([
                ("name", &name),
                ("tenant", &tenant),
                ("vendor", &vendor),
                ("id", &id),
            ]) {
                if v.is_empty() {
                    continue;
                }
                *slot = Some(Pattern::new(v).map_err(|e| {
                    format!(
                        "--inventory {file} line {line}: `{field}`: bad glob pattern {v:?}: {e}"
                    )
                })?);
            }
            if !vendor.is_empty()
                && !Vendor::ALL.iter().any(|x| {
                    patterns[2]
                        .as_ref()
                        .is_some_and(|p| p.matches_with(x.as_str(), OPTIONS))
                })
            {
                let known: Vec<&str> = Vendor::ALL.iter().map(|v| v.as_str()).collect();
                return Err(format!(
                    "--inventory {file} line {line}: `vendor` {vendor:?} matches no vendor ({})",
                    known.join(", ")
                ));
            }
            // The same entry twice is one entry.
            if entries
                .iter()
                .any(|e| (&e.name, &e.tenant, &e.vendor, &e.id) == (&name, &tenant, &vendor, &id))
            {
                continue;
            }
            entries.push(Entry {
                line,
                name,
                tenant,
                vendor,
                id,
                patterns,
            });
        }
        Ok(Register {
            file: Path::new(file)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| file.to_owned()),
            entries,
        })
    }
}

impl Entry {
    /// Whether a reported object's row covers this entry.
    pub fn matches(&self, row: &ComplianceRow) -> bool {
        let m =
            |p: &Option<Pattern>, v: &str| p.as_ref().is_none_or(|p| p.matches_with(v, OPTIONS));
        let [name, tenant, vendor, id] = &self.patterns;
        m(name, &row.object)
            && m(tenant, &row.tenant)
            && m(vendor, row.vendor.map_or("", |v| v.as_str()))
            && m(id, &row.object_id)
    }

    /// The entry's vendor when it names exactly one.
    fn vendor(&self) -> Option<Vendor> {
        let mut it = Vendor::ALL.iter().filter(|v| {
            self.patterns[2]
                .as_ref()
                .is_some_and(|p| p.matches_with(v.as_str(), OPTIONS))
        });
        match (it.next(), it.next()) {
            (Some(v), None) => Some(*v),
            _ => None,
        }
    }
}

/// The `not_backed_up` rows: one per entry that no reported object matches. Rows that name no
/// object (a target that could not be read at all) cover nothing; `unread` names those
/// targets, so the reason can say that the entry may be among them.
pub fn uncovered(
    register: &Register,
    reported: &[ComplianceRow],
    period: Period,
    unread: &[String],
) -> Vec<ComplianceRow> {
    let objects: Vec<&ComplianceRow> = reported
        .iter()
        .filter(|r| r.status != Status::NotBackedUp && !r.object_id.is_empty())
        .collect();
    register
        .entries
        .iter()
        .filter(|e| !objects.iter().any(|r| e.matches(r)))
        .map(|e| {
            let mut reason = format!(
                "in the asset register ({} line {}) but no object of any target matches",
                register.file, e.line
            );
            if !unread.is_empty() {
                reason.push_str(&format!(
                    "; not all targets could be read ({})",
                    unread.join(", ")
                ));
            }
            ComplianceRow {
                period,
                vendor: e.vendor(),
                target: String::new(),
                tenant: e.tenant.clone(),
                object_id: e.id.clone(),
                object: e.name.clone(),
                object_type: String::new(),
                policy: String::new(),
                rpo: None,
                status: Status::NotBackedUp,
                reason,
                counts: None,
                success: None,
                last_success: None,
                last_attempt: None,
                last_result: None,
                max_gap: None,
                breach_count: None,
                breach: None,
                transferred_bytes: None,
                stored_bytes: None,
                restores: None,
                restore_test_overdue: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    fn period() -> Period {
        Period {
            from: ts("2026-01-01T00:00:00Z"),
            to: ts("2026-02-01T00:00:00Z"),
        }
    }

    fn row(vendor: Vendor, tenant: &str, id: &str, name: &str, status: Status) -> ComplianceRow {
        let mut r = uncovered(
            &Register::parse(b"name\nx\n", "r.csv").unwrap(),
            &[],
            period(),
            &[],
        )
        .remove(0);
        r.vendor = Some(vendor);
        r.tenant = tenant.into();
        r.object_id = id.into();
        r.object = name.into();
        r.target = "t".into();
        r.status = status;
        r
    }

    #[test]
    fn entries_match_by_every_given_field_with_globs_and_without_case() {
        let reg = Register::parse(
            "\u{feff}Name,tenant,vendor,id,owner\n\
             WEB-1,,,,alice\n\
             db-*,Finance,,,bob\n\
             db-*,HR,,,carol\n\
             app,,clumio,,dave\n\
             app,,cloutility,,erin\n\
             *,,,i-42,frank\n\
             web-1,,,,dup-of-line-2\n\
             ,,,,\n"
                .as_bytes(),
            "/srv/assets.csv",
        )
        .unwrap();
        assert_eq!(reg.file, "assets.csv");
        // The empty line is skipped; `web-1` differs from `WEB-1` as written, so both stay.
        assert_eq!(reg.entries.len(), 7, "{:?}", reg.entries);
        let crlf = Register::parse(b"name\r\na\r\n\"b\r\nc\"\r\nd\r\n", "r.csv").unwrap();
        let lines: Vec<u64> = crlf.entries.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 5], "CRLF and a quoted line break counted");
        let twice = Register::parse(b"name\nx\nx\n", "r.csv").unwrap();
        assert_eq!(twice.entries.len(), 1, "the same entry twice is one entry");
        let rows = vec![
            row(Vendor::Clumio, "Finance", "a", "web-1", Status::Compliant),
            row(Vendor::Clumio, "Finance", "b", "db-9", Status::Unprotected),
            row(Vendor::Clumio, "Ops", "c", "app", Status::Excluded),
            row(
                Vendor::Cloudtower,
                "Ops",
                "i-42",
                "whatever",
                Status::NonCompliant,
            ),
        ];
        let missing = uncovered(&reg, &rows, period(), &[]);
        let names: Vec<(&str, &str, Option<Vendor>)> = missing
            .iter()
            .map(|r| (r.object.as_str(), r.tenant.as_str(), r.vendor))
            .collect();
        assert_eq!(
            names,
            [("db-*", "HR", None), ("app", "", Some(Vendor::Cloutility))]
        );
        assert!(missing.iter().all(|r| r.status == Status::NotBackedUp));
        assert_eq!(
            missing[0].reason,
            "in the asset register (assets.csv line 4) but no object of any target matches"
        );
    }

    #[test]
    fn rows_that_name_no_object_cover_nothing_and_the_reason_says_so() {
        let reg = Register::parse(b"name\n*\n", "r.csv").unwrap();
        let unnamed = row(Vendor::Clumio, "", "", "", Status::NoData);
        let missing = uncovered(&reg, &[unnamed], period(), &["beta".into()]);
        assert_eq!(missing.len(), 1);
        assert!(
            missing[0].reason.ends_with("(beta)"),
            "{}",
            missing[0].reason
        );
    }

    #[test]
    fn bad_registers_are_refused_with_file_and_line() {
        let e = Register::parse(b"host,tenant\nx,y\n", "r.csv").unwrap_err();
        assert!(
            e.contains("no `name` column") && e.contains("host, tenant"),
            "{e}"
        );
        let e = Register::parse(b"name,vendor\nx,veeam\n", "r.csv").unwrap_err();
        assert!(e.contains("line 2") && e.contains("veeam"), "{e}");
        let e = Register::parse(b"name\n[x\n", "r.csv").unwrap_err();
        assert!(e.contains("line 2") && e.contains("bad glob"), "{e}");
        let e = Register::parse(b"name,tenant\n,acme\n", "r.csv").unwrap_err();
        assert!(e.contains("line 2") && e.contains("`name` is empty"), "{e}");
        let e = Register::parse(b"name\n\xff\n", "r.csv").unwrap_err();
        assert!(e.contains("r.csv"), "{e}");
        // A short line is fine: its missing cells are empty.
        assert_eq!(
            Register::parse(b"name,tenant\na\n", "r.csv")
                .unwrap()
                .entries
                .len(),
            1
        );
    }
}
