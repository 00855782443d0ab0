//! The Prisma-style query language of every `get-*` call, over JSON items: `where` with
//! `<field>`, `_not`, `_in`, `_not_in`, `_lt(e)`, `_gt(e)`, string `_contains`,
//! `_starts_with`, `_ends_with` (and their `_not_` forms), nested relations,
//! `_some`/`_every`/`_none` on lists, `AND`/`OR`/`NOT`; `orderBy` `<field>_ASC|DESC`;
//! `first`, `last`, `skip`, `after`, `before` (cursors are ids).
//!
//! Like the real bodies (`additionalProperties: false`), unknown keys are refused with a
//! 400, which keeps the adapter honest about the filters it sends.

use std::cmp::Ordering;

use jiff::Timestamp;
use serde_json::{Map, Value};

/// The keys that choose a page of a listing; `where` and `orderBy` choose the listing.
const PAGING_KEYS: &[&str] = &["first", "last", "skip", "after", "before"];

const SUFFIXES: &[&str] = &[
    "_not_starts_with",
    "_not_ends_with",
    "_not_contains",
    "_starts_with",
    "_ends_with",
    "_contains",
    "_not_in",
    "_some",
    "_every",
    "_none",
    "_gte",
    "_lte",
    "_not",
    "_in",
    "_gt",
    "_lt",
];

fn body_object(body: &Value) -> Result<Map<String, Value>, String> {
    match body {
        Value::Null => Ok(Map::new()),
        Value::Object(m) => {
            let known = |k: &str| matches!(k, "where" | "orderBy") || PAGING_KEYS.contains(&k);
            if let Some(k) = m.keys().find(|k| !known(k)) {
                return Err(format!("Unknown argument \"{k}\""));
            }
            Ok(m.clone())
        }
        _ => Err("the request body must be a JSON object".into()),
    }
}

/// `get-*-connection`: how many items match `where` (paging keys are ignored).
pub fn count(items: impl IntoIterator<Item = Value>, body: &Value) -> Result<usize, String> {
    let body = body_object(body)?;
    let w = body.get("where").unwrap_or(&Value::Null);
    let mut n = 0;
    for item in items {
        if matches(&item, w)? {
            n += 1;
        }
    }
    Ok(n)
}

/// `get-*`: the matching items, ordered and paged.
#[cfg(test)]
pub fn select(items: impl IntoIterator<Item = Value>, body: &Value) -> Result<Vec<Value>, String> {
    page(&sorted(items, body)?, body)
}

/// A matching item, kept compact while a paged read is cut from its listing: its id and
/// order key, and the item as JSON text (a third of the memory of the `Value`, which at
/// 10,000 VMs is the difference between a simulator under 2 GiB and one above it).
pub struct Hit {
    id: Value,
    key: Value,
    json: Box<[u8]>,
}

/// The items matching `where`, in `orderBy` order (ties and no `orderBy`: by id): what
/// [`page`] cuts pages from. Items are taken one at a time so that only the matches are
/// held: a resource at scale is never materialised whole.
pub fn sorted(items: impl IntoIterator<Item = Value>, body: &Value) -> Result<Vec<Hit>, String> {
    let body = body_object(body)?;
    let order = match body.get("orderBy") {
        None | Some(Value::Null) => None,
        Some(Value::String(o)) => Some(if let Some(f) = o.strip_suffix("_ASC") {
            (o, f, false)
        } else if let Some(f) = o.strip_suffix("_DESC") {
            (o, f, true)
        } else {
            return Err(format!("orderBy {o:?} must end in _ASC or _DESC"));
        }),
        Some(_) => return Err("orderBy must be a string".into()),
    };
    let w = body.get("where").unwrap_or(&Value::Null);
    let mut hits = Vec::new();
    for item in items {
        if !matches(&item, w)? {
            continue;
        }
        let key = match order {
            Some((o, field, _)) => match item.get(field) {
                Some(v) => v.clone(),
                None if hits.is_empty() => {
                    return Err(format!("orderBy {o:?}: unknown field `{field}`"));
                }
                None => Value::Null,
            },
            None => Value::Null,
        };
        let json = serde_json::to_vec(&item).map_err(|e| e.to_string())?;
        hits.push(Hit {
            id: item.get("id").cloned().unwrap_or(Value::Null),
            key,
            json: json.into_boxed_slice(),
        });
    }
    let id_order = |a: &Hit, b: &Hit| compare(&a.id, &b.id).unwrap_or(Ordering::Equal);
    match order {
        None => hits.sort_by(id_order),
        Some((_, _, desc)) => hits.sort_by(|a, b| {
            let by = compare_nulls_first(&a.key, &b.key);
            let by = if desc { by.reverse() } else { by };
            by.then_with(|| id_order(a, b))
        }),
    }
    Ok(hits)
}

/// What identifies the listing a body's page is cut from (the body without its paging
/// keys, as text), and whether the body continues a paged read (has a cursor).
pub fn listing_key(body: &Value) -> (String, bool) {
    let mut unpaged = body.clone();
    let mut continues = false;
    if let Value::Object(m) = &mut unpaged {
        for k in PAGING_KEYS {
            let v = m.remove(*k);
            continues |= matches!(*k, "after" | "before") && v.is_some_and(|v| !v.is_null());
        }
    }
    (unpaged.to_string(), continues)
}

/// The page of `hits` (from [`sorted`] with the same body) that `first`, `last`, `skip`,
/// `after` and `before` select.
pub fn page(hits: &[Hit], body: &Value) -> Result<Vec<Value>, String> {
    let body = body_object(body)?;
    let cursor = |key: &str| -> Result<Option<usize>, String> {
        match body.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(id)) => Ok(Some(
                hits.iter()
                    .position(|h| h.id == *id.as_str())
                    .unwrap_or(usize::MAX),
            )),
            Some(_) => Err(format!("`{key}` must be an id")),
        }
    };
    let (after, before) = (cursor("after")?, cursor("before")?);
    let number = |key: &str| -> Result<Option<usize>, String> {
        match body.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(|n| Some(n as usize))
                .ok_or_else(|| format!("`{key}` must be a non-negative integer")),
        }
    };
    let (first, last, skip) = (number("first")?, number("last")?, number("skip")?);
    let mut lo = match after {
        Some(usize::MAX) => hits.len(),
        Some(p) => p + 1,
        None => 0,
    };
    let mut hi = match before {
        Some(usize::MAX) => 0,
        Some(p) => p,
        None => hits.len(),
    }
    .max(lo.min(hits.len()));
    lo = lo.min(hi);
    let skip = skip.unwrap_or(0);
    if last.is_some() && first.is_none() {
        hi = hi.saturating_sub(skip).max(lo);
        if let Some(n) = last {
            lo = lo.max(hi.saturating_sub(n));
        }
    } else {
        lo = (lo + skip).min(hi);
        if let Some(n) = first {
            hi = hi.min(lo + n);
        }
        if let Some(n) = last {
            lo = lo.max(hi.saturating_sub(n));
        }
    }
    hits[lo..hi]
        .iter()
        .map(|h| serde_json::from_slice(&h.json).map_err(|e| e.to_string()))
        .collect()
}

fn as_list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    }
}

/// Does `item` satisfy the `where` filter `w`?
pub fn matches(item: &Value, w: &Value) -> Result<bool, String> {
    let cond = match w {
        Value::Null => return Ok(true),
        Value::Object(m) => m,
        _ => return Err("`where` must be an object".into()),
    };
    let Value::Object(fields) = item else {
        return Ok(false);
    };
    for (key, c) in cond {
        let ok = match key.as_str() {
            "AND" => {
                let mut all = true;
                for sub in as_list(c) {
                    all &= matches(item, sub)?;
                }
                all
            }
            "OR" => {
                let mut any = false;
                for sub in as_list(c) {
                    any |= matches(item, sub)?;
                }
                any
            }
            "NOT" => {
                let mut none = true;
                for sub in as_list(c) {
                    none &= !matches(item, sub)?;
                }
                none
            }
            _ => field(fields, key, c)?,
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn field(fields: &Map<String, Value>, key: &str, c: &Value) -> Result<bool, String> {
    if let Some(v) = fields.get(key) {
        return equals(v, c);
    }
    for suffix in SUFFIXES {
        if let Some(name) = key.strip_suffix(suffix)
            && let Some(v) = fields.get(name)
        {
            return operator(suffix, v, c);
        }
    }
    Err(format!("Field \"{key}\" is not defined by type WhereInput"))
}

fn equals(v: &Value, c: &Value) -> Result<bool, String> {
    Ok(match (v, c) {
        (_, Value::Null) => v.is_null(),
        (Value::Null, _) => false,
        (Value::Object(_), Value::Object(_)) => matches(v, c)?,
        _ => compare(v, c) == Some(Ordering::Equal),
    })
}

fn operator(suffix: &str, v: &Value, c: &Value) -> Result<bool, String> {
    let list = || -> Result<&Vec<Value>, String> {
        c.as_array()
            .ok_or_else(|| format!("`{suffix}` needs a list"))
    };
    let text = |f: fn(&str, &str) -> bool| -> bool {
        match (v.as_str(), c.as_str()) {
            (Some(a), Some(b)) => f(a, b),
            _ => false,
        }
    };
    let ord = |want: fn(Ordering) -> bool| compare(v, c).is_some_and(want);
    Ok(match suffix {
        "_not" => !equals(v, c)?,
        "_in" => list()?.iter().any(|x| equals(v, x).unwrap_or(false)),
        "_not_in" => !list()?.iter().any(|x| equals(v, x).unwrap_or(false)),
        "_lt" => ord(|o| o == Ordering::Less),
        "_lte" => ord(|o| o != Ordering::Greater),
        "_gt" => ord(|o| o == Ordering::Greater),
        "_gte" => ord(|o| o != Ordering::Less),
        "_contains" => text(|a, b| a.contains(b)),
        "_not_contains" => !text(|a, b| a.contains(b)),
        "_starts_with" => text(|a, b| a.starts_with(b)),
        "_not_starts_with" => !text(|a, b| a.starts_with(b)),
        "_ends_with" => text(|a, b| a.ends_with(b)),
        "_not_ends_with" => !text(|a, b| a.ends_with(b)),
        "_some" | "_every" | "_none" => {
            let items = v.as_array().map(Vec::as_slice).unwrap_or(&[]);
            let mut hits = 0;
            for i in items {
                if matches(i, c)? {
                    hits += 1;
                }
            }
            match suffix {
                "_some" => hits > 0,
                "_every" => hits == items.len(),
                _ => hits == 0,
            }
        }
        _ => false,
    })
}

/// Numbers as numbers, times as times (whatever their precision), other strings as text.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) if same_time_format(x, y) => Some(x.cmp(y)),
        (Value::String(x), Value::String(y)) if looks_like_time(x) && looks_like_time(y) => {
            match (x.parse::<Timestamp>(), y.parse::<Timestamp>()) {
                (Ok(p), Ok(q)) => Some(p.cmp(&q)),
                _ => Some(x.cmp(y)),
            }
        }
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Whether parsing as a time is worth trying (`YYYY-MM-DDT...`): ids never are.
fn looks_like_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 20 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[10] == b'T'
}

/// Two times in CloudTower's own format (`2025-12-25T06:26:25.000Z`) compare as text;
/// parsing every time of every item for every page is what makes paging slow.
fn same_time_format(x: &str, y: &str) -> bool {
    let shaped = |s: &str| {
        let b = s.as_bytes();
        b.len() == 24 && b[10] == b'T' && b[19] == b'.' && b[23] == b'Z'
    };
    shaped(x) && shaped(y)
}

fn compare_nulls_first(a: &Value, b: &Value) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => compare(a, b).unwrap_or(Ordering::Equal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn items() -> Vec<Value> {
        (0..10)
            .map(|i| {
                json!({
                    "id": format!("c{i:02}"),
                    "name": format!("vm-{}", i % 3),
                    "size": i * 10,
                    "cluster": if i % 2 == 0 { json!({"id": "k1", "name": "A"}) } else { Value::Null },
                    "local_created_at": format!("2025-01-{:02}T00:00:00.000Z", 10 - i),
                    "vms": (0..i % 3).map(|j| json!({"id": format!("v{j}")})).collect::<Vec<_>>(),
                })
            })
            .collect()
    }

    fn ids(v: &[Value]) -> Vec<&str> {
        v.iter().map(|i| i["id"].as_str().unwrap()).collect()
    }

    #[test]
    fn filters_operators_and_relations() {
        let all = items();
        let q = |w: Value| ids(&select(all.clone(), &json!({ "where": w })).unwrap()).len();
        assert_eq!(q(json!({"size_gte": 50})), 5);
        assert_eq!(q(json!({"size_in": [0, 10, 99]})), 2);
        assert_eq!(q(json!({"name_not": "vm-0"})), 6);
        assert_eq!(q(json!({"name_starts_with": "vm-1"})), 3);
        assert_eq!(q(json!({"cluster": {"name": "A"}})), 5);
        assert_eq!(q(json!({"cluster": {"name_in": ["B"]}})), 0);
        assert_eq!(q(json!({"cluster": null})), 5);
        assert_eq!(q(json!({"vms_some": {"id": "v1"}})), 3);
        assert_eq!(q(json!({"vms_none": {"id": "v0"}})), 4);
        assert_eq!(q(json!({"local_created_at_lt": "2025-01-06T00:00:00Z"})), 5);
        assert_eq!(
            q(json!({"OR": [{"size": 0}, {"size": 90}], "NOT": [{"size": 90}]})),
            1
        );
        assert_eq!(q(json!({"AND": [{"size_gt": 10}, {"size_lt": 40}]})), 2);
    }

    #[test]
    fn unknown_fields_and_keys_are_refused() {
        let all = items();
        assert!(
            select(all.clone(), &json!({"where": {"colour": "red"}}))
                .unwrap_err()
                .contains("colour")
        );
        assert!(
            select(all.clone(), &json!({"limit": 3}))
                .unwrap_err()
                .contains("limit")
        );
        assert!(select(all.clone(), &json!({"orderBy": "colour_ASC"})).is_err());
    }

    #[test]
    fn paging_with_first_after_skip_and_last() {
        let all = items();
        let page = |b: Value| ids(&select(all.clone(), &b).unwrap()).join(",");
        assert_eq!(page(json!({"first": 3})), "c00,c01,c02");
        assert_eq!(page(json!({"first": 3, "after": "c02"})), "c03,c04,c05");
        assert_eq!(page(json!({"first": 2, "skip": 5})), "c05,c06");
        assert_eq!(
            page(json!({"first": 2, "after": "c02", "skip": 1})),
            "c04,c05"
        );
        assert_eq!(page(json!({"last": 2})), "c08,c09");
        assert_eq!(page(json!({"last": 2, "before": "c05"})), "c03,c04");
        assert_eq!(page(json!({"first": 3, "after": "nope"})), "");
        assert_eq!(
            page(json!({"orderBy": "local_created_at_ASC", "first": 2})),
            "c09,c08"
        );
        assert_eq!(
            page(json!({"orderBy": "name_DESC", "first": 4})),
            "c02,c05,c08,c01"
        );
        assert_eq!(
            count(all.clone(), &json!({"where": {"size_lt": 30}, "first": 1})).unwrap(),
            3
        );
    }
}
