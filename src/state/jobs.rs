//! What the state keeps of the last good job list between refreshes.
//!
//! A failing jobs collector must not blank the job windows or the per-object facts, so the
//! state keeps what it needs of the last list that was read. Not the jobs themselves: at
//! 10,000 objects that list is ~6 MB of strings per target (issue 12). The facts are derived
//! once, when the list is read (they do not depend on the time of a refresh), and each job
//! is kept as a few bytes for the window counts, its object interned.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;

use crate::facts::{ObjectFacts, facts_until};
use crate::model::{Job, JobKind, JobResult};

use super::{TenantKindResult, Tenants};

/// One job as the window counts need it.
#[derive(Clone, Copy, Debug)]
struct Run {
    /// Index into [`JobBook::objects`] and [`JobBook::facts`].
    object: u32,
    kind: JobKind,
    result: JobResult,
    time: Option<Timestamp>,
}

/// The last good job list, compacted: per-object facts and one [`Run`] per job.
#[derive(Debug, Default)]
pub(super) struct JobBook {
    /// Each object id the jobs name, once, with its index.
    objects: HashMap<Box<str>, u32>,
    runs: Vec<Run>,
    /// The facts of each object, by index (default when none of its jobs counts): the facts
    /// of the whole list, which do not depend on the time of a refresh.
    facts: Vec<ObjectFacts>,
}

impl JobBook {
    pub(super) fn new(jobs: &[Job], strict_warnings: bool) -> Self {
        let mut objects: HashMap<Box<str>, u32> = HashMap::new();
        let mut runs = Vec::with_capacity(jobs.len());
        for j in jobs {
            let object = match objects.get(j.object_id.as_str()) {
                Some(i) => *i,
                None => {
                    // Fewer objects than jobs, and a job list of 2^32 jobs would not fit in
                    // memory in the first place.
                    let i = u32::try_from(objects.len()).expect("fewer than 2^32 objects");
                    objects.insert(j.object_id.as_str().into(), i);
                    i
                }
            };
            runs.push(Run {
                object,
                kind: j.kind,
                result: j.result,
                time: j.time(),
            });
        }
        // Each object's facts from its jobs, objects in index order (every object has at
        // least one job). Grouping through a sorted list of positions rather than a map of
        // per-object lists keeps what this holds small while the whole job list is in memory.
        let mut order: Vec<usize> = (0..runs.len()).collect();
        order.sort_by_key(|&k| runs[k].object);
        let facts = order
            .chunk_by(|&a, &b| runs[a].object == runs[b].object)
            .map(|group| {
                let jobs = group.iter().map(|&k| &jobs[k]);
                facts_until(jobs, Timestamp::MAX, strict_warnings)
            })
            .collect();
        objects.shrink_to_fit();
        JobBook {
            objects,
            runs,
            facts,
        }
    }

    /// The facts of an object that has jobs in the list.
    pub(super) fn facts(&self, object_id: &str) -> Option<&ObjectFacts> {
        self.objects
            .get(object_id)
            .and_then(|&i| self.facts.get(i as usize))
    }

    /// Counts the jobs running now and the finished jobs in `since..=now`, per tenant (as
    /// the inventory of this refresh knows it), kind and result.
    pub(super) fn count_windows(
        &self,
        tenants: &Tenants,
        since: Timestamp,
        now: Timestamp,
        window: &mut BTreeMap<TenantKindResult, u64>,
        running: &mut BTreeMap<(String, JobKind), u64>,
    ) {
        let mut tenant_of = vec![""; self.objects.len()];
        for (id, &i) in &self.objects {
            tenant_of[i as usize] = tenants.get(id);
        }
        for r in &self.runs {
            let tenant = || tenant_of[r.object as usize].to_owned();
            if r.result == JobResult::Running {
                *running.entry((tenant(), r.kind)).or_default() += 1;
            } else if r.time.is_some_and(|t| t >= since && t <= now) {
                *window.entry((tenant(), r.kind, r.result)).or_default() += 1;
            }
        }
    }
}
