//! Rebuilding each object's protection history from what Prometheus kept of `serve`'s
//! metrics: pure functions over query results, so the rules are testable without a server.
//!
//! `backup_object_last_success_timestamp_seconds` holds the end of the newest success; every
//! distinct value it took is therefore one success. Its value at the period start is the
//! newest success before the period. Metadata (`backup_object_info`, `_protected`,
//! `_rpo_seconds`) is taken as of the period end. Job counts cannot be rebuilt this way.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use jiff::Timestamp;

use super::client::Series;
use crate::model::{JobResult, Object};
use crate::report::compliance::{Attempt, Evidence, RestoreEvidence};

/// Series key: the target and the object id.
pub type Key = (String, String);

fn key(s: &Series) -> Key {
    (
        s.label("target").to_owned(),
        s.label("object_id").to_owned(),
    )
}

fn last_value(s: &Series) -> Option<f64> {
    s.samples.last().map(|(_, v)| *v)
}

fn to_ts(seconds: f64) -> Option<Timestamp> {
    if !seconds.is_finite() || seconds <= 0.0 {
        return None;
    }
    Timestamp::from_millisecond((seconds * 1000.0).round() as i64).ok()
}

/// The query results the reconstruction needs.
#[derive(Debug, Default)]
pub struct Results {
    /// `backup_object_info` as of the period end.
    pub info: Vec<Series>,
    pub protected: Vec<Series>,
    pub rpo: Vec<Series>,
    pub last_attempt: Vec<Series>,
    /// `backup_object_last_result{result}` series whose value is 1.
    pub last_result: Vec<Series>,
    pub stored: Vec<Series>,
    pub consecutive_failures: Vec<Series>,
    /// The last-success value at the period start.
    pub at_start: Vec<Series>,
    /// The last-success samples where the value changed (or the series appeared) during
    /// the period.
    pub changes: Vec<Series>,
    /// `backup_object_last_restore_timestamp_seconds` as of the period end.
    pub last_restore: Vec<Series>,
    /// `backup_object_last_restore_result{result}` series whose value is 1.
    pub last_restore_result: Vec<Series>,
    /// `backup_object_last_restore_success_timestamp_seconds` as of the period end.
    pub last_restore_success: Vec<Series>,
    /// The last-restore samples where the value changed during the period: one per restore.
    pub restore_changes: Vec<Series>,
    /// The period start: a restore counts in the period if it ended at or after it.
    pub from: Option<Timestamp>,
}

/// One object as rebuilt.
#[derive(Clone, Debug, PartialEq)]
pub struct Rebuilt {
    pub target: String,
    pub object: Object,
    pub evidence: Evidence,
}

/// Rebuilds every object of every target in `info`. `step` is the resolution of the
/// changes query: an object first seen more than two steps after its target is taken to
/// have been created then.
pub fn rebuild(r: &Results, step: Duration) -> Vec<Rebuilt> {
    let map = |series: &[Series]| -> HashMap<Key, f64> {
        series
            .iter()
            .filter_map(|s| last_value(s).map(|v| (key(s), v)))
            .collect()
    };
    let protected = map(&r.protected);
    let rpo = map(&r.rpo);
    let last_attempt = map(&r.last_attempt);
    let stored = map(&r.stored);
    let failures = map(&r.consecutive_failures);
    let one_hot = |series: &[Series]| -> HashMap<Key, JobResult> {
        series
            .iter()
            .filter(|s| last_value(s) == Some(1.0))
            .filter_map(|s| {
                let word = s.label("result");
                JobResult::ALL
                    .into_iter()
                    .find(|x| x.as_str() == word)
                    .map(|x| (key(s), x))
            })
            .collect()
    };
    let last_result = one_hot(&r.last_result);
    let restores = restores(r, &map, &one_hot);
    let restore_targets: BTreeSet<&str> = restores.keys().map(|(t, _)| t.as_str()).collect();

    let mut successes: HashMap<Key, BTreeSet<Timestamp>> = HashMap::new();
    let mut present_at_start: BTreeSet<Key> = BTreeSet::new();
    for s in &r.at_start {
        present_at_start.insert(key(s));
        let set = successes.entry(key(s)).or_default();
        set.extend(s.samples.iter().filter_map(|(_, v)| to_ts(*v)));
    }
    let mut first_seen: HashMap<Key, f64> = HashMap::new();
    for s in &r.changes {
        let k = key(s);
        if let Some((t, _)) = s.samples.first() {
            let f = first_seen.entry(k.clone()).or_insert(*t);
            *f = f.min(*t);
        }
        successes
            .entry(k)
            .or_default()
            .extend(s.samples.iter().filter_map(|(_, v)| to_ts(*v)));
    }

    // A target with series at the period start has its whole period in Prometheus;
    // otherwise its history starts where its first series does.
    let mut target_start: BTreeMap<&str, Option<f64>> = BTreeMap::new();
    for s in &r.info {
        target_start.entry(s.label("target")).or_insert(None);
    }
    for (target, start) in target_start.iter_mut() {
        let covered = present_at_start.iter().any(|(t, _)| t == target);
        if !covered {
            *start = first_seen
                .iter()
                .filter(|((t, _), _)| t == target)
                .map(|(_, f)| *f)
                .min_by(f64::total_cmp);
        }
    }

    let slack = 2.0 * step.as_secs_f64();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for s in &r.info {
        let k = key(s);
        if !seen.insert(k.clone()) {
            continue;
        }
        let target_first = target_start.get(k.0.as_str()).copied().flatten();
        let created = if present_at_start.contains(&k) {
            None
        } else {
            first_seen
                .get(&k)
                .copied()
                .filter(|f| target_first.is_none_or(|t| *f > t + slack))
                .and_then(to_ts)
        };
        let object = Object {
            id: k.1.clone(),
            name: s.label("object").to_owned(),
            object_type: s.label("object_type").to_owned(),
            tenant: s.label("tenant").to_owned(),
            policy: s.label("policy").to_owned(),
            protected: protected.get(&k).is_none_or(|v| *v >= 1.0),
            created,
            history_start: target_first.and_then(to_ts),
            policy_rpo: rpo
                .get(&k)
                .filter(|v| v.is_finite() && **v > 0.0)
                .map(|v| Duration::from_secs_f64(*v)),
            stored_bytes: stored
                .get(&k)
                .filter(|v| v.is_finite() && **v >= 0.0)
                .map(|v| *v as u64),
            ..Default::default()
        };
        let last = last_attempt.get(&k).copied().and_then(to_ts);
        let evidence = Evidence {
            successes: successes
                .get(&k)
                .map(|s| s.iter().copied().collect())
                .unwrap_or_default(),
            last_attempt: last.map(|time| Attempt {
                time,
                result: last_result.get(&k).copied(),
            }),
            counts: None,
            transferred_bytes: None,
            consecutive_failures: failures
                .get(&k)
                .filter(|v| v.is_finite() && **v >= 0.0)
                .map(|v| *v as u64),
            // Restores are known for every object of a target that has restore series:
            // the others had none. A target without any gives none: unknown, not "never".
            restores: restores.get(&k).copied().or_else(|| {
                restore_targets
                    .contains(k.0.as_str())
                    .then(RestoreEvidence::default)
            }),
        };
        out.push(Rebuilt {
            target: k.0,
            object,
            evidence,
        });
    }
    out
}

/// Restore evidence of the objects that have restore series: the newest restore and its
/// result, the newest successful one, and how many distinct restore times the period saw
/// (each change of the last-restore value is one restore, as for successes).
fn restores(
    r: &Results,
    map: &dyn Fn(&[Series]) -> HashMap<Key, f64>,
    one_hot: &dyn Fn(&[Series]) -> HashMap<Key, JobResult>,
) -> HashMap<Key, RestoreEvidence> {
    let last = map(&r.last_restore);
    let success = map(&r.last_restore_success);
    let result = one_hot(&r.last_restore_result);
    let mut in_period: HashMap<Key, BTreeSet<Timestamp>> = HashMap::new();
    for s in &r.restore_changes {
        in_period.entry(key(s)).or_default().extend(
            s.samples
                .iter()
                .filter_map(|(_, v)| to_ts(*v))
                .filter(|t| r.from.is_none_or(|from| *t >= from)),
        );
    }
    last.keys()
        .chain(success.keys())
        .map(|k| {
            let time = last.get(k).copied().and_then(to_ts);
            let evidence = RestoreEvidence {
                last: time.map(|time| Attempt {
                    time,
                    result: result.get(k).copied(),
                }),
                last_success: success.get(k).copied().and_then(to_ts),
                in_period: in_period.get(k).map_or(0, |t| t.len() as u64),
            };
            (k.clone(), evidence)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(labels: &[(&str, &str)], samples: &[(f64, f64)]) -> Series {
        Series {
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            samples: samples.to_vec(),
        }
    }

    fn obj(target: &str, id: &str) -> Vec<(&'static str, String)> {
        vec![("target", target.to_owned()), ("object_id", id.to_owned())]
    }

    fn s(labels: Vec<(&'static str, String)>, samples: &[(f64, f64)]) -> Series {
        let l: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
        series(&l, samples)
    }

    const T0: f64 = 1_775_001_600.0; // 2026-04-01T00:00:00Z

    #[test]
    fn distinct_values_become_successes_and_the_start_value_is_the_one_before() {
        let mut info = obj("t", "1");
        info.extend([("object", "db".to_owned()), ("tenant", "HR".to_owned())]);
        let r = Results {
            info: vec![s(info, &[(T0 + 9e5, 1.0)])],
            protected: vec![s(obj("t", "1"), &[(T0, 1.0)])],
            rpo: vec![s(obj("t", "1"), &[(T0, 3600.0)])],
            at_start: vec![s(obj("t", "1"), &[(T0, T0 - 7200.0)])],
            changes: vec![s(
                obj("t", "1"),
                &[
                    (T0 + 100.0, T0 + 60.0),
                    (T0 + 4000.0, T0 + 3900.0),
                    (T0 + 4060.0, T0 + 3900.0),
                ],
            )],
            last_attempt: vec![s(obj("t", "1"), &[(T0, T0 + 5000.0)])],
            last_result: vec![s(
                {
                    let mut l = obj("t", "1");
                    l.push(("result", "failed".into()));
                    l
                },
                &[(T0, 1.0)],
            )],
            stored: vec![s(obj("t", "1"), &[(T0, 1234.0)])],
            consecutive_failures: vec![s(obj("t", "1"), &[(T0, 2.0)])],
            ..Default::default()
        };
        let out = rebuild(&r, Duration::from_secs(60));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].evidence.restores, None, "no restore series: unknown");
        let o = &out[0];
        assert_eq!(o.object.name, "db");
        assert_eq!(o.object.tenant, "HR");
        assert!(o.object.protected);
        assert_eq!(o.object.policy_rpo, Some(Duration::from_secs(3600)));
        assert_eq!(o.object.stored_bytes, Some(1234));
        assert_eq!(o.object.created, None);
        assert_eq!(o.object.history_start, None);
        let secs: Vec<i64> = o.evidence.successes.iter().map(|t| t.as_second()).collect();
        assert_eq!(secs, [T0 as i64 - 7200, T0 as i64 + 60, T0 as i64 + 3900]);
        assert_eq!(
            o.evidence.last_attempt.unwrap().result,
            Some(JobResult::Failed)
        );
        assert_eq!(o.evidence.counts, None);
        assert_eq!(o.evidence.consecutive_failures, Some(2));
    }

    #[test]
    fn restore_series_become_restore_evidence_counting_the_period_only() {
        let result = |word: &str| {
            let mut l = obj("t", "1");
            l.push(("result", word.into()));
            l
        };
        let r = Results {
            info: vec![
                s(obj("t", "1"), &[(T0, 1.0)]),
                s(obj("t", "2"), &[(T0, 1.0)]),
            ],
            last_restore: vec![s(obj("t", "1"), &[(T0 + 9e5, T0 + 5000.0)])],
            last_restore_result: vec![s(result("failed"), &[(T0 + 9e5, 1.0)])],
            last_restore_success: vec![
                s(obj("t", "1"), &[(T0 + 9e5, T0 + 3000.0)]),
                // An interval applies but no restore ever succeeded: 0, known as "never".
                s(obj("t", "2"), &[(T0 + 9e5, 0.0)]),
            ],
            restore_changes: vec![s(
                obj("t", "1"),
                &[
                    // The value the series had when the period began: before it.
                    (T0, T0 - 86_400.0),
                    (T0 + 3100.0, T0 + 3000.0),
                    (T0 + 5100.0, T0 + 5000.0),
                ],
            )],
            from: Some(Timestamp::from_second(T0 as i64).unwrap()),
            ..Default::default()
        };
        let out = rebuild(&r, Duration::from_secs(60));
        let one = out[0].evidence.restores.expect("object 1 has restores");
        let last = one.last.unwrap();
        assert_eq!(last.time.as_second(), T0 as i64 + 5000);
        assert_eq!(last.result, Some(JobResult::Failed));
        assert_eq!(one.last_success.unwrap().as_second(), T0 as i64 + 3000);
        assert_eq!(one.in_period, 2);
        let two = out[1]
            .evidence
            .restores
            .expect("object 2 has a restore series");
        assert_eq!((two.last, two.last_success, two.in_period), (None, None, 0));
    }

    #[test]
    fn late_objects_are_created_when_first_seen_and_late_targets_start_their_history() {
        let r = Results {
            info: vec![
                s(obj("old", "a"), &[(T0, 1.0)]),
                s(obj("old", "b"), &[(T0, 1.0)]),
                s(obj("late", "c"), &[(T0, 1.0)]),
            ],
            at_start: vec![s(obj("old", "a"), &[(T0, 0.0)])],
            changes: vec![
                s(obj("old", "b"), &[(T0 + 86_400.0, 0.0)]),
                s(
                    obj("late", "c"),
                    &[(T0 + 10.0 * 86_400.0, T0 + 9.0 * 86_400.0)],
                ),
            ],
            ..Default::default()
        };
        let out = rebuild(&r, Duration::from_secs(60));
        let by: HashMap<&str, &Rebuilt> = out.iter().map(|o| (o.object.id.as_str(), o)).collect();
        assert_eq!(by["a"].object.created, None);
        assert!(by["a"].evidence.successes.is_empty(), "0 means none");
        assert_eq!(by["b"].object.created, to_ts(T0 + 86_400.0));
        assert_eq!(by["b"].object.history_start, None);
        // The late target's history starts with it; its first object is not "created" then.
        assert_eq!(by["c"].object.history_start, to_ts(T0 + 10.0 * 86_400.0));
        assert_eq!(by["c"].object.created, None);
    }
}
