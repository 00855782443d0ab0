//! What one target covers: the business units (the caller's whole tree, or the subtrees of
//! the configured `bunits`) and the consumers they own.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt, stream};

use super::client::Portal;
use super::wire;
use crate::adapter::VendorError;

/// The business-unit tree as parent → children, whichever endpoint it came from.
#[derive(Debug, Default)]
pub(super) struct Tree {
    pub root: u64,
    pub names: HashMap<u64, String>,
    children: HashMap<u64, Vec<u64>>,
}

impl Tree {
    fn add(&mut self, id: u64, name: Option<&str>, parent: Option<u64>) {
        let name = name
            .filter(|n| !n.trim().is_empty())
            .map_or_else(|| format!("business unit {id}"), str::to_owned);
        self.names.insert(id, name);
        if let Some(p) = parent {
            self.children.entry(p).or_default().push(id);
        }
    }

    /// From `GET /v1/bunits` (a `SimpleBusinessUnit` with its descendants).
    pub fn from_simple(root: &wire::SimpleBusinessUnit) -> Result<Tree, VendorError> {
        let root_id = root.id.ok_or_else(|| {
            VendorError::Invalid("GET /v1/bunits: the business unit tree has no id".into())
        })?;
        let mut tree = Tree {
            root: root_id,
            ..Tree::default()
        };
        let mut queue: VecDeque<(&wire::SimpleBusinessUnit, Option<u64>)> =
            VecDeque::from([(root, None)]);
        while let Some((unit, parent)) = queue.pop_front() {
            let Some(id) = unit.id else { continue };
            if tree.names.contains_key(&id) {
                continue;
            }
            tree.add(id, unit.name.as_deref(), parent);
            queue.extend(unit.business_units.iter().map(|c| (c, Some(id))));
        }
        Ok(tree)
    }

    /// The units of the subtrees rooted at `roots` (each once), in breadth-first order.
    pub fn subtrees(&self, roots: &[u64]) -> Vec<u64> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let mut queue: VecDeque<u64> = roots.iter().copied().collect();
        while let Some(id) = queue.pop_front() {
            if !seen.insert(id) {
                continue;
            }
            out.push(id);
            if let Some(c) = self.children.get(&id) {
                queue.extend(c.iter().copied());
            }
        }
        out
    }

    pub fn name(&self, id: u64) -> Arc<str> {
        self.names
            .get(&id)
            .map_or_else(|| format!("business unit {id}"), Clone::clone)
            .into()
    }
}

/// The caller's tree: `GET /v1/bunits`, or, where that is missing, a walk down
/// `GET /v1/bunits/{id}/bunits` from the business unit of `GET /v1/me`.
pub(super) async fn tree(portal: &Portal, concurrency: usize) -> Result<Tree, VendorError> {
    if let Some(root) = portal.tree().await? {
        return Tree::from_simple(&root);
    }
    let me = portal.me().await?;
    let root = me
        .business_unit
        .as_ref()
        .and_then(|b| b.id)
        .or(me.business_unit_id)
        .ok_or_else(|| VendorError::Invalid("GET /v1/me: the user has no business unit".into()))?;
    let mut tree = Tree {
        root,
        ..Tree::default()
    };
    tree.add(
        root,
        me.business_unit.as_ref().and_then(|b| b.name.as_deref()),
        None,
    );
    let mut level = vec![root];
    while !level.is_empty() {
        let found: Vec<(u64, Vec<wire::BusinessUnitRef>)> = stream::iter(level)
            .map(|id| async move { Ok::<_, VendorError>((id, portal.child_bunits(id).await?)) })
            .buffer_unordered(concurrency)
            .try_collect()
            .await?;
        level = Vec::new();
        for (parent, children) in found {
            for child in children {
                if let Some(id) = child.id.filter(|id| !tree.names.contains_key(id)) {
                    tree.add(id, child.name.as_deref(), Some(parent));
                    level.push(id);
                }
            }
        }
    }
    Ok(tree)
}

/// The business units a target covers: the configured ones with their descendants, or the
/// whole tree.
pub(super) fn select(tree: &Tree, configured: Option<&[u64]>) -> Result<Vec<u64>, VendorError> {
    match configured {
        None => Ok(tree.subtrees(&[tree.root])),
        Some(ids) => {
            let missing: Vec<String> = ids
                .iter()
                .filter(|id| !tree.names.contains_key(id))
                .map(u64::to_string)
                .collect();
            if !missing.is_empty() {
                return Err(VendorError::Invalid(format!(
                    "business unit(s) {} from `bunits` are not in the tree the user can see (root {})",
                    missing.join(", "),
                    tree.root
                )));
            }
            Ok(tree.subtrees(ids))
        }
    }
}

/// One consumer with the business unit that owns it.
#[derive(Debug)]
pub(super) struct ConsumerRef {
    pub id: u64,
    /// The business unit to address it under.
    pub bunit: u64,
    /// The owning business unit's name.
    pub tenant: Arc<str>,
    pub name: Arc<str>,
    pub consumer: wire::Consumer,
}

/// The consumers of `bunits`, each once. A consumer names its owning business unit, which
/// wins over the unit it was listed under (should a listing include descendants).
pub(super) async fn consumers(
    portal: &Portal,
    tree: &Tree,
    bunits: &[u64],
    concurrency: usize,
) -> Result<Vec<ConsumerRef>, VendorError> {
    let lists: Vec<(u64, Vec<wire::Consumer>)> = stream::iter(bunits.iter().copied())
        .map(|b| async move { Ok::<_, VendorError>((b, portal.consumers(b).await?)) })
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    let mut names: HashMap<u64, Arc<str>> = HashMap::new();
    let mut name_of = |id: u64, given: Option<&str>| -> Arc<str> {
        names
            .entry(id)
            .or_insert_with(|| match given.filter(|n| !n.trim().is_empty()) {
                Some(n) if !tree.names.contains_key(&id) => n.into(),
                _ => tree.name(id),
            })
            .clone()
    };
    let mut by_id: HashMap<u64, ConsumerRef> = HashMap::new();
    for (listed_under, list) in lists {
        for consumer in list {
            let Some(id) = consumer.id else { continue };
            let owner = consumer.business_unit.as_ref();
            let bunit = owner.and_then(|b| b.id).unwrap_or(listed_under);
            let tenant = name_of(bunit, owner.and_then(|b| b.name.as_deref()));
            let name: Arc<str> = consumer
                .name
                .clone()
                .unwrap_or_else(|| format!("consumer {id}"))
                .into();
            by_id.entry(id).or_insert(ConsumerRef {
                id,
                bunit,
                tenant,
                name,
                consumer,
            });
        }
    }
    let mut out: Vec<ConsumerRef> = by_id.into_values().collect();
    out.sort_by_key(|c| c.id);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Tree {
        let root: wire::SimpleBusinessUnit = serde_json::from_value(serde_json::json!({
            "id": 22, "name": "Company AB",
            "businessUnits": [
                {"id": 76, "parentId": 22, "name": "Marketing", "businessUnits": [
                    {"id": 80, "name": "Web", "businessUnits": []}
                ]},
                {"id": 94, "parentId": 22, "name": "HR", "businessUnits": null}
            ]
        }))
        .unwrap();
        Tree::from_simple(&root).unwrap()
    }

    #[test]
    fn whole_tree_or_configured_subtrees() {
        let t = sample();
        assert_eq!(select(&t, None).unwrap(), vec![22, 76, 94, 80]);
        assert_eq!(select(&t, Some(&[76])).unwrap(), vec![76, 80]);
        assert_eq!(select(&t, Some(&[80, 76])).unwrap(), vec![80, 76]);
        assert_eq!(&*t.name(94), "HR");
        let e = select(&t, Some(&[76, 5])).unwrap_err().to_string();
        assert!(e.contains("business unit(s) 5 from `bunits`"), "{e}");
    }
}
