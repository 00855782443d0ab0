//! Which exposition format a scrape gets (contract §4), negotiated like client_golang's
//! `expfmt.NegotiateIncludingOpenMetrics`: OpenMetrics 1.0 when the client's `Accept` prefers
//! it (Prometheus does), otherwise the classic text format 0.0.4 that `curl | promtool check
//! metrics` and older scrapers read.
//!
//! prometheus-client encodes OpenMetrics only, so the classic form is a line-by-line rewrite of
//! it: one pass, no parse into a second model.

/// An exposition format `/metrics` can serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    OpenMetrics,
    Classic,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Classic => "text/plain; version=0.0.4; charset=utf-8",
        }
    }

    /// The format for a request's `Accept` header: the acceptable media range with the highest
    /// `q` (the first of equals), classic when nothing we serve is named or the header is absent.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Classic;
        };
        let mut best: Option<(f32, Format)> = None;
        for range in accept.split(',') {
            let mut params = range.split(';').map(str::trim);
            let media = params.next().unwrap_or_default().to_ascii_lowercase();
            let mut q = 1.0_f32;
            let mut version: Option<&str> = None;
            for p in params {
                let Some((k, v)) = p.split_once('=') else {
                    continue;
                };
                let v = v.trim().trim_matches('"');
                if k.trim().eq_ignore_ascii_case("q") {
                    q = v.parse().unwrap_or(0.0);
                } else if k.trim().eq_ignore_ascii_case("version") {
                    version = Some(v);
                }
            }
            let format = match media.as_str() {
                "application/openmetrics-text" if matches!(version, None | Some("1.0.0")) => {
                    Some(Format::OpenMetrics)
                }
                "text/plain" if matches!(version, None | Some("0.0.4")) => Some(Format::Classic),
                "text/*" | "*/*" => Some(Format::Classic),
                _ => None,
            };
            if let Some(f) = format
                && q > 0.0
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, f));
            }
        }
        best.map_or(Format::Classic, |(_, f)| f)
    }
}

/// Rewrites OpenMetrics text into the classic text format: `# UNIT` and `# EOF` go, a
/// counter's HELP and TYPE take its `_total` sample name, an `info` family becomes a gauge
/// named `<name>_info`, `unknown` becomes `untyped`, and counters' `_created` samples go.
/// Sample lines are otherwise the same in both formats.
pub fn openmetrics_to_classic(om: &str) -> String {
    let mut out = String::with_capacity(om.len());
    // prometheus-client writes HELP before TYPE, so HELP waits until the type is known.
    let mut help: Option<(&str, &str)> = None;
    let mut counter = false;
    for line in om.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, text) = rest.split_once(' ').unwrap_or((rest, ""));
            help = Some((name, text));
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, ty) = rest.split_once(' ').unwrap_or((rest, "untyped"));
            counter = ty == "counter";
            let (suffix, ty) = match ty {
                "counter" => ("_total", "counter"),
                "info" => ("_info", "gauge"),
                "unknown" | "stateset" => ("", "untyped"),
                "gaugehistogram" => ("", "histogram"),
                other => ("", other),
            };
            if let Some((help_name, text)) = help.take()
                && help_name == name
            {
                out.push_str("# HELP ");
                out.push_str(name);
                out.push_str(suffix);
                out.push(' ');
                out.push_str(text);
                out.push('\n');
            }
            out.push_str("# TYPE ");
            out.push_str(name);
            out.push_str(suffix);
            out.push(' ');
            out.push_str(ty);
            out.push('\n');
        } else if line.starts_with("# UNIT ")
            || line == "# EOF"
            || line.is_empty()
            || (counter && sample_name(line).ends_with("_created"))
        {
            continue;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn sample_name(line: &str) -> &str {
    let end = line.find(['{', ' ']).unwrap_or(line.len());
    &line[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_gets_openmetrics_and_everyone_else_classic() {
        // What Prometheus 2.x and 3.x send.
        let prom2 = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        let prom3 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
        assert_eq!(Format::negotiate(Some(prom2)), Format::OpenMetrics);
        assert_eq!(Format::negotiate(Some(prom3)), Format::OpenMetrics);
        assert_eq!(Format::negotiate(None), Format::Classic);
        assert_eq!(Format::negotiate(Some("*/*")), Format::Classic, "curl");
        assert_eq!(Format::negotiate(Some("text/plain")), Format::Classic);
        assert_eq!(
            Format::negotiate(Some(
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
            )),
            Format::Classic,
            "a format we do not serve falls back to text, as client_golang does"
        );
        assert_eq!(
            Format::negotiate(Some(
                "text/plain;version=0.0.4;q=0.9, application/openmetrics-text;version=1.0.0;q=0.5"
            )),
            Format::Classic,
            "the higher q wins"
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text; version=\"1.0.0\"")),
            Format::OpenMetrics
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;version=1.0.0;q=0")),
            Format::Classic,
            "q=0 means not acceptable"
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;version=2.0.0")),
            Format::Classic,
            "a version we do not write"
        );
    }

    #[test]
    fn classic_renames_counters_and_info_and_drops_openmetrics_only_lines() {
        let om = "# HELP backup_exporter_build Version\n\
                  # TYPE backup_exporter_build info\n\
                  backup_exporter_build_info{version=\"1\"} 1\n\
                  # HELP backup_jobs Finished jobs\n\
                  # TYPE backup_jobs counter\n\
                  backup_jobs_total{kind=\"backup\"} 3\n\
                  backup_jobs_created{kind=\"backup\"} 1700000000.0\n\
                  # HELP backup_api_request_duration_seconds Latency\n\
                  # TYPE backup_api_request_duration_seconds histogram\n\
                  # UNIT backup_api_request_duration_seconds seconds\n\
                  backup_api_request_duration_seconds_bucket{le=\"+Inf\"} 2\n\
                  backup_api_request_duration_seconds_sum 0.5\n\
                  backup_api_request_duration_seconds_count 2\n\
                  # HELP backup_target_up Up\n\
                  # TYPE backup_target_up gauge\n\
                  backup_target_up{target=\"a\"} 1\n\
                  # EOF\n";
        let classic = openmetrics_to_classic(om);
        assert_eq!(
            classic,
            "# HELP backup_exporter_build_info Version\n\
             # TYPE backup_exporter_build_info gauge\n\
             backup_exporter_build_info{version=\"1\"} 1\n\
             # HELP backup_jobs_total Finished jobs\n\
             # TYPE backup_jobs_total counter\n\
             backup_jobs_total{kind=\"backup\"} 3\n\
             # HELP backup_api_request_duration_seconds Latency\n\
             # TYPE backup_api_request_duration_seconds histogram\n\
             backup_api_request_duration_seconds_bucket{le=\"+Inf\"} 2\n\
             backup_api_request_duration_seconds_sum 0.5\n\
             backup_api_request_duration_seconds_count 2\n\
             # HELP backup_target_up Up\n\
             # TYPE backup_target_up gauge\n\
             backup_target_up{target=\"a\"} 1\n"
        );
    }
}
