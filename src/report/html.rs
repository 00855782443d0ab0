//! `summary-PERIOD.html` (issue 15 point 4): one page a person can read, beside the CSVs.
//!
//! Self-contained: inline CSS and inline SVG, no script, no font, no image, no link out, and a
//! Content-Security-Policy that forbids loading anything, so it opens the same offline, in a
//! mail attachment or in an archive years later. Every vendor string is HTML-escaped. The
//! numbers are the summary CSV's, spelled the same way (ratios with four decimals), and carry
//! `data-k` attributes naming their CSV column so a script can compare them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use jiff::Timestamp;

use super::compliance::{ComplianceRow, Status, SummaryRow, human};
use super::files::{JobRow, ratio, seconds};
use super::period::utc_date;
use crate::adapter::Period;
use crate::model::Vendor;

/// Charts are drawn for periods up to this many days.
const MAX_CHART_DAYS: i64 = 400;

/// Escapes text for an HTML text node or a quoted attribute value.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab and newline are not valid in HTML text.
            c if c.is_control() && c != '\t' && c != '\n' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// What the page is about.
pub struct Page<'a> {
    pub label: &'a str,
    pub period: Period,
    pub generated_at: Timestamp,
    /// `Some(tenant)` for a `--split-by tenant` folder.
    pub tenant: Option<&'a str>,
    pub compliance: &'a [ComplianceRow],
    pub summary: &'a [SummaryRow],
    /// `None` when the source knows no jobs (Prometheus).
    pub jobs: Option<&'a [JobRow]>,
    pub strict_warnings: bool,
}

type Key<'a> = (Option<Vendor>, &'a str, &'a str);

pub fn render(p: &Page<'_>) -> Vec<u8> {
    let mut h = String::new();
    let title = match p.tenant {
        Some(t) => format!("Backup compliance {} — {}", p.label, t),
        None => format!("Backup compliance {}", p.label),
    };
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        esc(&title),
        esc(&title)
    );
    let _ = writeln!(
        h,
        "<p class=\"meta\">Period <span data-k=\"period_start\">{}</span> to \
         <span data-k=\"period_end\">{}</span> (end exclusive). Made {} by backup-exporter {} \
         ({}). The CSV files beside this page hold every row; \
         <code>manifest-{}.json</code> their SHA-256.</p>",
        p.period.from,
        p.period.to,
        p.generated_at,
        esc(env!("CARGO_PKG_VERSION")),
        esc(crate::metrics::REVISION),
        esc(p.label)
    );

    // Totals over every group.
    let total = p.summary.iter().fold(SummaryRow::default(), |mut a, s| {
        a.objects += s.objects;
        a.compliant += s.compliant;
        a.non_compliant += s.non_compliant;
        a.unprotected += s.unprotected;
        a.excluded += s.excluded;
        a.new += s.new;
        a.no_data += s.no_data;
        a.not_backed_up += s.not_backed_up;
        a
    });
    h.push_str("<section class=\"total\" data-group=\"total\">\n<h2>All</h2>\n");
    counts_table(&mut h, &total);
    h.push_str("</section>\n");

    let mut breaches: BTreeMap<Key<'_>, Vec<&ComplianceRow>> = BTreeMap::new();
    for r in p.compliance {
        if r.status == Status::NonCompliant {
            breaches
                .entry((r.vendor, &r.target, &r.tenant))
                .or_default()
                .push(r);
        }
    }
    let mut overdue: BTreeMap<Key<'_>, Vec<&ComplianceRow>> = BTreeMap::new();
    let mut checked: BTreeMap<Key<'_>, u64> = BTreeMap::new();
    for r in p.compliance {
        if r.restore_test_overdue.is_some() {
            *checked.entry((r.vendor, &r.target, &r.tenant)).or_default() += 1;
        }
        if r.restore_test_overdue == Some(true) {
            overdue
                .entry((r.vendor, &r.target, &r.tenant))
                .or_default()
                .push(r);
        }
    }
    let mut days: BTreeMap<Key<'_>, BTreeMap<jiff::civil::Date, (u64, u64)>> = BTreeMap::new();
    if let Some(jobs) = p.jobs {
        for j in jobs.iter().filter(|j| j.job.kind.is_protection()) {
            let Some(t) = j.job.time() else { continue };
            if t < p.period.from || t >= p.period.to {
                continue;
            }
            let d = days
                .entry((Some(j.vendor), &j.target, &j.tenant))
                .or_default()
                .entry(utc_date(t))
                .or_default();
            if j.job.result.is_success(p.strict_warnings) {
                d.0 += 1;
            } else if j.job.result.is_failure() {
                d.1 += 1;
            }
        }
    }

    for s in p.summary {
        let key: Key<'_> = (s.vendor, &s.target, &s.tenant);
        let tenant = if s.tenant.is_empty() {
            "(no tenant)"
        } else {
            &s.tenant
        };
        let whence = match (s.vendor, s.target.as_str()) {
            (None, "") => "asset register".to_owned(),
            (Some(v), "") => format!("{v}, asset register"),
            (v, t) => format!("{} / {t}", v.map_or("", |v| v.as_str())),
        };
        let _ = write!(
            h,
            "<section class=\"group\" data-group=\"row\" data-vendor=\"{}\" data-target=\"{}\" \
             data-tenant=\"{}\">\n<h2>{} <small>{}</small></h2>\n",
            esc(s.vendor.map_or("", |v| v.as_str())),
            esc(&s.target),
            esc(&s.tenant),
            esc(tenant),
            esc(&whence)
        );
        counts_table(&mut h, s);
        let _ = writeln!(
            h,
            "<p>Job success ratio: <span data-k=\"job_success_ratio\">{}</span>; jobs \
             <span data-k=\"jobs_total\">{}</span>, failed <span data-k=\"jobs_failed\">{}</span>.</p>",
            or_dash(ratio(s.job_success_ratio())),
            or_dash(s.jobs_total.map(|n| n.to_string()).unwrap_or_default()),
            or_dash(s.jobs_failed.map(|n| n.to_string()).unwrap_or_default()),
        );
        match p.jobs {
            Some(_) => chart(&mut h, p.period, days.get(&key)),
            None => h.push_str(
                "<p class=\"note\">No chart: this report's source knows no individual jobs.</p>\n",
            ),
        }
        let rows = breaches.get(&key).map(Vec::as_slice).unwrap_or(&[]);
        if rows.is_empty() {
            h.push_str("<p class=\"ok\">No object in breach of its RPO.</p>\n");
        } else {
            h.push_str(
                "<table class=\"breaches\">\n<caption>Objects in breach</caption>\n<tr><th>object</th>\
                 <th>id</th><th>longest gap</th><th>seconds</th><th>breaches</th><th>reason</th></tr>\n",
            );
            for r in rows {
                let gap = r.max_gap.unwrap_or_default();
                let _ = writeln!(
                    h,
                    "<tr data-object-id=\"{}\"><td>{}</td><td>{}</td><td>{}</td>\
                     <td data-k=\"max_gap_seconds\">{}</td><td data-k=\"rpo_breach_count\">{}</td><td>{}</td></tr>",
                    esc(&r.object_id),
                    esc(&r.object),
                    esc(&r.object_id),
                    esc(&human(gap)),
                    seconds(gap),
                    r.breach_count.unwrap_or(0),
                    esc(&r.reason)
                );
            }
            h.push_str("</table>\n");
        }
        restore_tests(
            &mut h,
            s,
            overdue.get(&key).map(Vec::as_slice).unwrap_or(&[]),
            checked.get(&key).copied().unwrap_or(0),
        );
        h.push_str("</section>\n");
    }
    h.push_str("</body>\n</html>\n");
    h.into_bytes()
}

/// The restore-test status of one group (issue 15 point 1): how many objects have an
/// interval, how many are overdue, and which.
fn restore_tests(h: &mut String, s: &SummaryRow, overdue: &[&ComplianceRow], checked: u64) {
    h.push_str("<div class=\"restore-tests\">\n");
    if checked == 0 {
        h.push_str(
            "<p class=\"note\">Restore tests: no restore-test interval applies to these objects.</p>\n",
        );
    } else if overdue.is_empty() {
        let _ = writeln!(
            h,
            "<p class=\"ok\">Restore tests: <span data-k=\"restore_test_overdue\">0</span> of \
             <span data-restore-checked=\"{checked}\">{checked}</span> objects overdue.</p>"
        );
    } else {
        let _ = writeln!(
            h,
            "<p class=\"bad\">Restore tests: <span data-k=\"restore_test_overdue\">{}</span> of \
             <span data-restore-checked=\"{checked}\">{checked}</span> objects overdue.</p>",
            s.restore_test_overdue
        );
        h.push_str(
            "<table class=\"restore-overdue\">\n<caption>Restore test overdue</caption>\n<tr>\
             <th>object</th><th>id</th><th>last restore</th><th>result</th></tr>\n",
        );
        for r in overdue {
            let last = r.restores.and_then(|x| x.last);
            let _ = writeln!(
                h,
                "<tr data-restore-object-id=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&r.object_id),
                esc(&r.object),
                esc(&r.object_id),
                esc(&or_dash(
                    last.map(|a| a.time.to_string()).unwrap_or_default()
                )),
                esc(&or_dash(
                    last.and_then(|a| a.result)
                        .map(|x| x.as_str().to_owned())
                        .unwrap_or_default()
                )),
            );
        }
        h.push_str("</table>\n");
    }
    h.push_str("</div>\n");
}

fn or_dash(s: String) -> String {
    if s.is_empty() { "–".to_owned() } else { s }
}

fn counts_table(h: &mut String, s: &SummaryRow) {
    let ratio_text = ratio(s.compliance_ratio());
    let pct = s
        .compliance_ratio()
        .map(|r| format!(" ({:.1} %)", r * 100.0))
        .unwrap_or_default();
    let _ = write!(
        h,
        "<p class=\"ratio\">Compliance ratio: <strong data-k=\"compliance_ratio\">{}</strong>{pct}</p>\n\
         <table class=\"counts\"><tr>",
        or_dash(ratio_text)
    );
    let cells = [
        ("objects", s.objects),
        ("compliant", s.compliant),
        ("non_compliant", s.non_compliant),
        ("unprotected", s.unprotected),
        ("excluded", s.excluded),
        ("new", s.new),
        ("no_data", s.no_data),
        ("not_backed_up", s.not_backed_up),
    ];
    for (k, _) in cells {
        let _ = write!(h, "<th>{}</th>", k.replace('_', " "));
    }
    h.push_str("</tr>\n<tr>");
    for (k, v) in cells {
        let _ = write!(h, "<td data-k=\"{k}\">{v}</td>");
    }
    h.push_str("</tr></table>\n");
}

/// Daily successes (green, up) and failures (red, down) over the period.
fn chart(
    h: &mut String,
    period: Period,
    per_day: Option<&BTreeMap<jiff::civil::Date, (u64, u64)>>,
) {
    let first = utc_date(period.from);
    let last = utc_date(period.to - jiff::SignedDuration::from_nanos(1));
    let n = (last - first).get_days() as i64 + 1;
    let empty = BTreeMap::new();
    let per_day = per_day.unwrap_or(&empty);
    let (ok, bad) = per_day
        .values()
        .fold((0, 0), |(a, b), (s, f)| (a + s, b + f));
    if !(1..=MAX_CHART_DAYS).contains(&n) {
        let _ = writeln!(
            h,
            "<p class=\"note\">No chart for a period of {n} days; successes \
             <span data-k=\"chart_successes\">{ok}</span>, failures \
             <span data-k=\"chart_failures\">{bad}</span>.</p>"
        );
        return;
    }
    let max = per_day
        .values()
        .map(|(s, f)| (*s).max(*f))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let (w, half) = (620.0_f64, 50.0_f64);
    let bw = w / n as f64;
    let _ = writeln!(
        h,
        "<figure><svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {}\" \
         width=\"{w}\" height=\"{}\" role=\"img\" aria-label=\"daily successful and failed backups\" \
         data-successes=\"{ok}\" data-failures=\"{bad}\">",
        2.0 * half + 2.0,
        2.0 * half + 2.0
    );
    let _ = writeln!(
        h,
        "<line x1=\"0\" y1=\"{half}\" x2=\"{w}\" y2=\"{half}\" class=\"axis\"/>"
    );
    let mut day = first;
    for i in 0..n {
        let (s, f) = per_day.get(&day).copied().unwrap_or((0, 0));
        let x = i as f64 * bw;
        if s > 0 {
            let bh = s as f64 / max * (half - 1.0);
            let _ = writeln!(
                h,
                "<rect class=\"ok\" x=\"{x:.2}\" y=\"{:.2}\" width=\"{:.2}\" height=\"{bh:.2}\"><title>{day}: {s} succeeded</title></rect>",
                half - bh,
                (bw - 1.0).max(0.5)
            );
        }
        if f > 0 {
            let bh = f as f64 / max * (half - 1.0);
            let _ = writeln!(
                h,
                "<rect class=\"bad\" x=\"{x:.2}\" y=\"{:.2}\" width=\"{:.2}\" height=\"{bh:.2}\"><title>{day}: {f} failed or missed</title></rect>",
                half + 1.0,
                (bw - 1.0).max(0.5)
            );
        }
        day = day.tomorrow().unwrap_or(day);
    }
    let _ = writeln!(
        h,
        "</svg><figcaption>Per day, {first} to {last}: successful backups \
         (<span data-k=\"chart_successes\">{ok}</span>, green, above the line) and failed or \
         missed ones (<span data-k=\"chart_failures\">{bad}</span>, red, below).</figcaption></figure>"
    );
}

const CSS: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:60em}\
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.5em;border-bottom:1px solid #ccc}\
h2 small{color:#666;font-weight:normal}table{border-collapse:collapse;margin:.5em 0}\
th,td{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}\
td[data-k]{text-align:right}.meta,.note{color:#555}.ok{color:#276}p.bad{color:#a22}\
svg.chart rect.ok{fill:#2a8a4a}svg.chart rect.bad{fill:#c0392b}svg.chart .axis{stroke:#999}\
caption{text-align:left;font-weight:bold}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_markup_character_is_escaped() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(esc("a\u{0}b\u{1b}"), "a\u{FFFD}b\u{FFFD}");
    }
}
