//! Compliance rules (contract §2 and §6): which RPO applies to an object and whether it is
//! excluded. Rules are read in order; the first matching rule that sets `rpo` gives the RPO
//! and the first matching rule that sets `exclude` excludes.

use std::time::Duration;

use glob::Pattern;
use serde::Deserialize;

use crate::model::{Object, Vendor};

#[derive(Clone, Debug)]
pub struct Compliance {
    pub rpo: Duration,
    /// A gap counts as a breach only when it is longer than the RPO plus this. Schedules
    /// drift by minutes, so a daily backup judged against exactly 24 h would breach about
    /// every other day; operators set the slack they accept (default 0: the RPO exactly).
    pub rpo_tolerance: Duration,
    pub new_object_grace: Duration,
    pub strict_warnings: bool,
    /// How old the newest successful restore may be (issue 15: restore-test evidence);
    /// `None`: restore tests are not checked unless a rule sets an interval.
    pub restore_test_interval: Option<Duration>,
    pub rules: Vec<Rule>,
}

impl Default for Compliance {
    fn default() -> Self {
        Compliance {
            rpo: Duration::from_secs(24 * 3600),
            rpo_tolerance: Duration::ZERO,
            new_object_grace: Duration::from_secs(30 * 24 * 3600),
            strict_warnings: false,
            restore_test_interval: None,
            rules: Vec::new(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub matcher: RuleMatch,
    pub rpo: Option<Duration>,
    pub restore_test_interval: Option<Duration>,
    pub exclude: Option<String>,
}

/// Glob patterns; an absent field matches everything.
#[derive(Clone, Debug, Default)]
pub struct RuleMatch {
    pub vendor: Option<Pattern>,
    pub target: Option<Pattern>,
    pub tenant: Option<Pattern>,
    pub object: Option<Pattern>,
    pub object_type: Option<Pattern>,
    pub policy: Option<Pattern>,
}

/// What a rule match sees of an object.
#[derive(Clone, Copy, Debug)]
pub struct Subject<'a> {
    pub vendor: Vendor,
    pub target: &'a str,
    pub object: &'a Object,
}

impl RuleMatch {
    fn matches(&self, s: &Subject<'_>) -> bool {
        fn m(p: &Option<Pattern>, v: &str) -> bool {
            p.as_ref().is_none_or(|p| p.matches(v))
        }
        m(&self.vendor, s.vendor.as_str())
            && m(&self.target, s.target)
            && m(&self.tenant, &s.object.tenant)
            && m(&self.object, &s.object.name)
            && m(&self.object_type, &s.object.object_type)
            && m(&self.policy, &s.object.policy)
    }
}

impl Compliance {
    /// The RPO that applies: a rule's, else the policy's schedule interval, else the default.
    pub fn rpo_for(&self, s: &Subject<'_>) -> Duration {
        self.rules
            .iter()
            .filter(|r| r.rpo.is_some())
            .find(|r| r.matcher.matches(s))
            .and_then(|r| r.rpo)
            .or(s.object.policy_rpo)
            .unwrap_or(self.rpo)
    }

    /// The restore-test interval that applies: the first matching rule that sets one, else
    /// `compliance.restore_test_interval`; `None`: restore tests are not checked.
    pub fn restore_interval_for(&self, s: &Subject<'_>) -> Option<Duration> {
        self.rules
            .iter()
            .filter(|r| r.restore_test_interval.is_some())
            .find(|r| r.matcher.matches(s))
            .and_then(|r| r.restore_test_interval)
            .or(self.restore_test_interval)
    }

    /// The reason an object is excluded, if a rule excludes it.
    pub fn exclusion_for(&self, s: &Subject<'_>) -> Option<&str> {
        self.rules
            .iter()
            .filter(|r| r.exclude.is_some())
            .find(|r| r.matcher.matches(s))
            .and_then(|r| r.exclude.as_deref())
    }
}

/// The YAML form of `compliance:`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ComplianceFile {
    #[serde(default, with = "humantime_serde")]
    pub rpo: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub rpo_tolerance: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub new_object_grace: Option<Duration>,
    #[serde(default)]
    pub strict_warnings: bool,
    #[serde(default, with = "humantime_serde")]
    pub restore_test_interval: Option<Duration>,
    #[serde(default)]
    pub rules: Vec<RuleFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleFile {
    #[serde(rename = "match", default)]
    pub matcher: RuleMatchFile,
    #[serde(default, with = "humantime_serde")]
    pub rpo: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub restore_test_interval: Option<Duration>,
    pub exclude: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleMatchFile {
    pub vendor: Option<String>,
    pub target: Option<String>,
    pub tenant: Option<String>,
    pub object: Option<String>,
    pub object_type: Option<String>,
    pub policy: Option<String>,
}

impl ComplianceFile {
    pub fn validate(self, problems: &mut Vec<String>) -> Compliance {
        let defaults = Compliance::default();
        let rules = self
            .rules
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let mut pat = |field: &str, v: Option<String>| -> Option<Pattern> {
                    let v = v?;
                    match Pattern::new(&v) {
                        Ok(p) => Some(p),
                        Err(e) => {
                            problems.push(format!(
                                "compliance.rules[{i}].match.{field}: bad glob pattern {v:?}: {e}"
                            ));
                            None
                        }
                    }
                };
                let matcher = RuleMatch {
                    vendor: pat("vendor", r.matcher.vendor),
                    target: pat("target", r.matcher.target),
                    tenant: pat("tenant", r.matcher.tenant),
                    object: pat("object", r.matcher.object),
                    object_type: pat("object_type", r.matcher.object_type),
                    policy: pat("policy", r.matcher.policy),
                };
                if r.rpo.is_none() && r.exclude.is_none() && r.restore_test_interval.is_none() {
                    problems.push(format!(
                        "compliance.rules[{i}]: a rule needs `rpo`, `restore_test_interval` or `exclude`"
                    ));
                }
                if r.rpo == Some(Duration::ZERO) {
                    problems.push(format!("compliance.rules[{i}].rpo: must be more than 0"));
                }
                if r.restore_test_interval == Some(Duration::ZERO) {
                    problems.push(format!(
                        "compliance.rules[{i}].restore_test_interval: must be more than 0"
                    ));
                }
                Rule {
                    matcher,
                    rpo: r.rpo,
                    restore_test_interval: r.restore_test_interval,
                    exclude: r.exclude,
                }
            })
            .collect();
        let rpo = self.rpo.unwrap_or(defaults.rpo);
        if rpo.is_zero() {
            problems.push("compliance.rpo: must be more than 0".to_owned());
        }
        if self.restore_test_interval == Some(Duration::ZERO) {
            problems.push("compliance.restore_test_interval: must be more than 0".to_owned());
        }
        Compliance {
            rpo,
            restore_test_interval: self.restore_test_interval,
            rpo_tolerance: self.rpo_tolerance.unwrap_or(defaults.rpo_tolerance),
            new_object_grace: self.new_object_grace.unwrap_or(defaults.new_object_grace),
            strict_warnings: self.strict_warnings,
            rules,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(tenant: &str, name: &str, policy_rpo: Option<u64>) -> Object {
        Object {
            id: "1".into(),
            name: name.into(),
            tenant: tenant.into(),
            policy_rpo: policy_rpo.map(Duration::from_secs),
            ..Default::default()
        }
    }

    fn rule(m: RuleMatch, rpo: Option<u64>, exclude: Option<&str>) -> Rule {
        Rule {
            matcher: m,
            rpo: rpo.map(Duration::from_secs),
            restore_test_interval: None,
            exclude: exclude.map(str::to_owned),
        }
    }

    #[test]
    fn first_rule_with_rpo_wins_then_policy_then_default() {
        let c = Compliance {
            rules: vec![
                rule(
                    RuleMatch {
                        object: Some(Pattern::new("test-*").unwrap()),
                        ..Default::default()
                    },
                    None,
                    Some("test systems"),
                ),
                rule(
                    RuleMatch {
                        vendor: Some(Pattern::new("cloutility").unwrap()),
                        tenant: Some(Pattern::new("Finance*").unwrap()),
                        ..Default::default()
                    },
                    Some(6 * 3600),
                    None,
                ),
                rule(RuleMatch::default(), Some(99), None),
            ],
            ..Default::default()
        };
        let finance = obj("Finance AB", "db-1", Some(3600));
        let s = Subject {
            vendor: Vendor::Cloutility,
            target: "t",
            object: &finance,
        };
        assert_eq!(c.rpo_for(&s), Duration::from_secs(6 * 3600));
        assert_eq!(c.exclusion_for(&s), None);
        let test = obj("HR", "test-web", None);
        let s = Subject {
            vendor: Vendor::Clumio,
            target: "t",
            object: &test,
        };
        assert_eq!(c.exclusion_for(&s), Some("test systems"));
        assert_eq!(c.rpo_for(&s), Duration::from_secs(99));

        let plain = Compliance::default();
        let with_policy = obj("HR", "web", Some(3600));
        let s = Subject {
            vendor: Vendor::Clumio,
            target: "t",
            object: &with_policy,
        };
        assert_eq!(plain.rpo_for(&s), Duration::from_secs(3600));
        let without = obj("HR", "web", None);
        let s = Subject {
            vendor: Vendor::Clumio,
            target: "t",
            object: &without,
        };
        assert_eq!(plain.rpo_for(&s), Duration::from_secs(86400));
    }

    #[test]
    fn restore_interval_first_matching_rule_then_default_then_off() {
        let mut finance = rule(
            RuleMatch {
                tenant: Some(Pattern::new("Finance*").unwrap()),
                ..Default::default()
            },
            Some(3600),
            None,
        );
        finance.restore_test_interval = Some(Duration::from_secs(7 * 86400));
        let mut anyone = rule(RuleMatch::default(), None, None);
        anyone.restore_test_interval = Some(Duration::from_secs(99));
        let mut c = Compliance {
            rules: vec![rule(RuleMatch::default(), Some(5), None), finance, anyone],
            ..Default::default()
        };
        let f = obj("Finance AB", "db", None);
        let h = obj("HR", "web", None);
        let s = |o| Subject {
            vendor: Vendor::Clumio,
            target: "t",
            object: o,
        };
        assert_eq!(
            c.restore_interval_for(&s(&f)),
            Some(Duration::from_secs(7 * 86400))
        );
        assert_eq!(
            c.restore_interval_for(&s(&h)),
            Some(Duration::from_secs(99))
        );
        c.rules.pop();
        assert_eq!(c.restore_interval_for(&s(&h)), None, "default off");
        c.restore_test_interval = Some(Duration::from_secs(30 * 86400));
        assert_eq!(
            c.restore_interval_for(&s(&h)),
            Some(Duration::from_secs(30 * 86400))
        );
    }

    #[test]
    fn restore_test_interval_reads_from_yaml_and_zero_is_refused() {
        let f: ComplianceFile = serde_saphyr::from_str(
            "restore_test_interval: 90d\nrules:\n  - match: {tenant: Finance}\n    restore_test_interval: 7d\n",
        )
        .unwrap();
        let mut problems = Vec::new();
        let c = f.validate(&mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            c.restore_test_interval,
            Some(Duration::from_secs(90 * 86400))
        );
        assert_eq!(
            c.rules[0].restore_test_interval,
            Some(Duration::from_secs(7 * 86400)),
            "a rule may set only the restore-test interval"
        );
        let f: ComplianceFile = serde_saphyr::from_str(
            "restore_test_interval: 0s\nrules:\n  - match: {tenant: x}\n    restore_test_interval: 0s\n",
        )
        .unwrap();
        let mut problems = Vec::new();
        f.validate(&mut problems);
        assert_eq!(
            problems,
            [
                "compliance.rules[0].restore_test_interval: must be more than 0",
                "compliance.restore_test_interval: must be more than 0"
            ]
        );
        assert_eq!(
            Compliance::default().restore_test_interval,
            None,
            "off by default"
        );
    }
}
