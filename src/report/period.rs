//! The report period (contract §6): a calendar month or a range of dates, always in UTC and
//! always half-open, `[from, to)`. Also the label that names the files.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::adapter::Period;

/// `--month YYYY-MM`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Month {
    first_day: Date,
}

impl Month {
    /// The month that contains `t` (in UTC).
    pub fn containing(t: Timestamp) -> Month {
        Month {
            first_day: utc_date(t).first_of_month(),
        }
    }

    pub fn previous(self) -> Result<Month, String> {
        let d = self
            .first_day
            .yesterday()
            .map_err(|e| format!("no month before {self}: {e}"))?;
        Ok(Month {
            first_day: d.first_of_month(),
        })
    }

    pub fn period(self) -> Result<Period, String> {
        let next = self
            .first_day
            .last_of_month()
            .tomorrow()
            .map_err(|e| format!("no month after {self}: {e}"))?;
        Ok(Period {
            from: midnight(self.first_day)?,
            to: midnight(next)?,
        })
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}",
            self.first_day.year(),
            self.first_day.month()
        )
    }
}

impl FromStr for Month {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not a month: expected YYYY-MM, e.g. 2026-01");
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i16 = y.parse().map_err(|_| bad())?;
        let month: i8 = m.parse().map_err(|_| bad())?;
        let first_day = Date::new(year, month, 1).map_err(|_| bad())?;
        Ok(Month { first_day })
    }
}

/// `--from` / `--to`: a date (`2026-01-31`, midnight UTC, and for `--to` the whole day is
/// included) or an exact RFC 3339 instant (`2026-01-31T12:00:00Z`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    Date(Date),
    Instant(Timestamp),
}

impl FromStr for Bound {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() == 10 {
            return s.parse::<Date>().map(Bound::Date).map_err(|_| {
                format!("{s:?} is not a date: expected YYYY-MM-DD or an RFC 3339 time")
            });
        }
        s.parse::<Timestamp>().map(Bound::Instant).map_err(|e| {
            format!("{s:?} is not a date (YYYY-MM-DD) or an RFC 3339 time with offset: {e}")
        })
    }
}

impl Bound {
    fn start(self) -> Result<Timestamp, String> {
        match self {
            Bound::Date(d) => midnight(d),
            Bound::Instant(t) => Ok(t),
        }
    }

    /// The exclusive end: the midnight after a date, or the instant itself.
    fn end(self) -> Result<Timestamp, String> {
        match self {
            Bound::Date(d) => midnight(d.tomorrow().map_err(|e| format!("no day after {d}: {e}"))?),
            Bound::Instant(t) => Ok(t),
        }
    }

    /// How the bound appears in a file name: the date as given, or a compact UTC time
    /// without colons (which some file systems refuse).
    fn label(self) -> String {
        match self {
            Bound::Date(d) => d.to_string(),
            Bound::Instant(t) => t.strftime("%Y%m%dT%H%M%SZ").to_string(),
        }
    }
}

/// A resolved period and the label of its files (`2026-01` or `2026-01-01_2026-01-31`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportPeriod {
    pub period: Period,
    pub label: String,
}

/// Turns the flags into a period. Without flags: the previous calendar month of `now`.
pub fn resolve(
    month: Option<Month>,
    from: Option<Bound>,
    to: Option<Bound>,
    now: Timestamp,
) -> Result<ReportPeriod, String> {
    let resolved = match (month, from, to) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err("--month and --from/--to are alternatives: give one".into());
        }
        (Some(m), None, None) => ReportPeriod {
            period: m.period()?,
            label: m.to_string(),
        },
        (None, Some(f), Some(t)) => ReportPeriod {
            period: Period {
                from: f.start()?,
                to: t.end()?,
            },
            label: format!("{}_{}", f.label(), t.label()),
        },
        (None, Some(_), None) | (None, None, Some(_)) => {
            return Err("--from and --to go together: give both".into());
        }
        (None, None, None) => {
            let m = Month::containing(now).previous()?;
            ReportPeriod {
                period: m.period()?,
                label: m.to_string(),
            }
        }
    };
    let p = resolved.period;
    if p.from >= p.to {
        return Err(format!(
            "the period is empty: it starts at {} and ends at {}",
            p.from, p.to
        ));
    }
    if p.from >= now {
        return Err(format!(
            "the period starts at {}, which is in the future",
            p.from
        ));
    }
    Ok(resolved)
}

fn midnight(d: Date) -> Result<Timestamp, String> {
    d.to_zoned_datetime(TimeZone::UTC)
        .map(|z| z.timestamp())
        .map_err(|e| format!("{d} cannot be a UTC time: {e}"))
}

pub fn utc_date(t: Timestamp) -> Date {
    t.to_zoned_datetime(TimeZone::UTC).date()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn default_is_the_previous_calendar_month_in_utc() {
        let r = resolve(None, None, None, ts("2026-03-01T00:30:00+02:00")).unwrap();
        // 2026-02-28T22:30Z is still February in UTC, so the previous month is January.
        assert_eq!(r.label, "2026-01");
        assert_eq!(r.period.from, ts("2026-01-01T00:00:00Z"));
        assert_eq!(r.period.to, ts("2026-02-01T00:00:00Z"));

        let r = resolve(None, None, None, ts("2026-01-15T12:00:00Z")).unwrap();
        assert_eq!(r.label, "2025-12");
        assert_eq!(r.period.to, ts("2026-01-01T00:00:00Z"));
    }

    #[test]
    fn month_lengths_follow_the_calendar() {
        let now = ts("2030-01-01T00:00:00Z");
        for (m, days) in [
            ("2024-02", 29),
            ("2026-02", 28),
            ("2026-04", 30),
            ("2026-12", 31),
        ] {
            let r = resolve(Some(m.parse().unwrap()), None, None, now).unwrap();
            let secs = r.period.to.as_second() - r.period.from.as_second();
            assert_eq!(secs, days * 86_400, "{m}");
            assert_eq!(r.label, m);
        }
    }

    #[test]
    fn a_to_date_includes_the_whole_day() {
        let r = resolve(
            None,
            Some("2026-01-10".parse().unwrap()),
            Some("2026-01-20".parse().unwrap()),
            ts("2026-06-01T00:00:00Z"),
        )
        .unwrap();
        assert_eq!(r.period.from, ts("2026-01-10T00:00:00Z"));
        assert_eq!(r.period.to, ts("2026-01-21T00:00:00Z"));
        assert_eq!(r.label, "2026-01-10_2026-01-20");
    }

    #[test]
    fn instants_are_exact_and_labelled_without_colons() {
        let r = resolve(
            None,
            Some("2026-01-10T06:00:00Z".parse().unwrap()),
            Some("2026-01-10T18:30:00+01:00".parse().unwrap()),
            ts("2026-06-01T00:00:00Z"),
        )
        .unwrap();
        assert_eq!(r.period.to, ts("2026-01-10T17:30:00Z"));
        assert_eq!(r.label, "20260110T060000Z_20260110T173000Z");
    }

    #[test]
    fn bad_periods_are_refused_with_a_reason() {
        let now = ts("2026-06-01T00:00:00Z");
        let e = resolve(
            None,
            Some("2026-01-10".parse().unwrap()),
            Some("2026-01-01".parse().unwrap()),
            now,
        )
        .unwrap_err();
        assert!(e.contains("empty"), "{e}");
        let e = resolve(Some("2026-07".parse().unwrap()), None, None, now).unwrap_err();
        assert!(e.contains("future"), "{e}");
        let e = resolve(None, Some("2026-01-10".parse().unwrap()), None, now).unwrap_err();
        assert!(e.contains("both"), "{e}");
        for bad in ["2026-1", "26-01", "2026-13", "2026/01", "january"] {
            assert!(bad.parse::<Month>().is_err(), "{bad}");
        }
        assert!("2026-02-30".parse::<Bound>().is_err());
        assert!("yesterday".parse::<Bound>().is_err());
    }

    #[test]
    fn the_current_month_is_allowed_though_it_ends_in_the_future() {
        let r = resolve(
            Some("2026-06".parse().unwrap()),
            None,
            None,
            ts("2026-06-10T00:00:00Z"),
        )
        .unwrap();
        assert_eq!(r.period.to, ts("2026-07-01T00:00:00Z"));
    }
}
