//! Clumio's list query parameters as the simulator reads them: `limit`/`start` paging with
//! a HAL envelope, and the JSON `filter` with per-endpoint fields and operators.

use std::collections::HashMap;

use jiff::Timestamp;
use serde_json::{Map, Value, json};

/// Items per page when the request names no `limit` ([I]: the docs' examples show 20).
pub const DEFAULT_LIMIT: usize = 20;
/// The most items one page holds; a larger `limit` is capped ([I]).
pub const MAX_LIMIT: usize = 100;

/// The query string, decoded.
#[derive(Debug, Default)]
pub struct Query {
    pub pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        Query {
            pairs: raw
                .map(|q| {
                    url::form_urlencoded::parse(q.as_bytes())
                        .map(|(k, v)| (k.into_owned(), v.into_owned()))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paging {
    pub limit: usize,
    /// 1-based page number.
    pub page: usize,
}

pub fn paging(q: &Query) -> Result<Paging, String> {
    let limit = match q.get("limit") {
        None | Some("") => DEFAULT_LIMIT,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 1 => (n as usize).min(MAX_LIMIT),
            _ => return Err(format!("Invalid value for limit: {v:?}")),
        },
    };
    let page = match q.get("start") {
        None | Some("") => 1,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 1 => n as usize,
            _ => return Err(format!("Invalid value for start: {v:?}")),
        },
    };
    Ok(Paging { limit, page })
}

fn href(path: &str, params: &[(&str, String)]) -> Value {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        s.append_pair(k, v);
    }
    let q = s.finish();
    let href = if q.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{q}")
    };
    json!({ "href": href, "type": "get", "templated": false })
}

/// The optional envelope fields some lists carry.
#[derive(Clone, Debug, Default)]
pub struct Applied {
    pub filter: Option<String>,
    pub sort: Option<String>,
}

/// Which of `total` items page `p` holds.
pub fn page_range(total: usize, p: Paging) -> std::ops::Range<usize> {
    let from = (p.page - 1).saturating_mul(p.limit).min(total);
    from..(from + p.limit).min(total)
}

/// One page (`page_items`, out of `total`) in Clumio's HAL envelope. Links are relative to
/// the API root and repeat the request's other parameters (`filter`, `sort`, ...).
pub fn hal_page(
    path: &str,
    q: &Query,
    p: Paging,
    total: usize,
    page_items: Vec<Value>,
    applied: &Applied,
) -> Value {
    let pages = total.div_ceil(p.limit);
    let carried: Vec<(&str, String)> = q
        .pairs
        .iter()
        .filter(|(k, _)| k != "limit" && k != "start")
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    let link = |page: usize| {
        let mut params = vec![("limit", p.limit.to_string()), ("start", page.to_string())];
        params.extend(carried.iter().cloned());
        href(path, &params)
    };
    let mut self_params: Vec<(&str, String)> = q
        .pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    self_params.sort_by_key(|(k, _)| *k != "limit" && *k != "start");
    let mut links = Map::new();
    links.insert("_self".into(), href(path, &self_params));
    links.insert("_first".into(), link(1));
    links.insert("_last".into(), link(pages.max(1)));
    if p.page < pages {
        links.insert("_next".into(), link(p.page + 1));
    }
    if p.page > 1 && p.page <= pages + 1 {
        links.insert("_prev".into(), link(p.page - 1));
    }
    let mut body = json!({
        "_embedded": { "items": page_items },
        "_links": links,
        "current_count": page_items.len(),
        "limit": p.limit,
        "start": p.page.to_string(),
        "total_count": total,
        "total_pages_count": pages,
    });
    if let Some(f) = &applied.filter {
        body["filter_applied"] = Value::String(f.clone());
    }
    if let Some(s) = &applied.sort {
        body["sort_applied"] = Value::String(s.clone());
    }
    body
}

/// A filter field an endpoint accepts: its operators and where it lives in an item
/// (`None`: accepted but not modelled, so it matches everything).
pub struct Field {
    pub name: &'static str,
    pub ops: &'static [&'static str],
    pub path: Option<&'static str>,
}

pub const fn field(name: &'static str, ops: &'static [&'static str]) -> Field {
    Field {
        name,
        ops,
        path: Some(name),
    }
}

pub const fn alias(name: &'static str, ops: &'static [&'static str], path: &'static str) -> Field {
    Field {
        name,
        ops,
        path: Some(path),
    }
}

pub const fn ignored(name: &'static str, ops: &'static [&'static str]) -> Field {
    Field {
        name,
        ops,
        path: None,
    }
}

/// A parsed `filter`: field → operator → operand.
pub type Filter = Vec<(String, Vec<(String, Value)>)>;

/// Parses and checks a `filter` against the endpoint's fields; the error is the message
/// of a 400.
pub fn parse_filter(raw: Option<&str>, fields: &[Field]) -> Result<Filter, String> {
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return Ok(Vec::new());
    };
    let doc: Value =
        serde_json::from_str(raw).map_err(|e| format!("Invalid filter: not JSON: {e}"))?;
    let Value::Object(map) = doc else {
        return Err("Invalid filter: expected a JSON object".into());
    };
    let mut out = Vec::new();
    for (name, cond) in map {
        let Some(f) = fields.iter().find(|f| f.name == name) else {
            return Err(format!("Invalid filter: field {name:?} is not supported"));
        };
        let Value::Object(ops) = cond else {
            return Err(format!(
                "Invalid filter: condition of {name:?} must be an object"
            ));
        };
        let mut conds = Vec::new();
        for (op, operand) in ops {
            if !f.ops.contains(&op.as_str()) {
                return Err(format!(
                    "Invalid filter: operator {op:?} is not supported for {name:?} (use {})",
                    f.ops.join(", ")
                ));
            }
            conds.push((op, operand));
        }
        out.push((name, conds));
    }
    Ok(out)
}

/// The operand of `field`'s `op`, if the filter has one.
pub fn operand<'a>(filter: &'a Filter, field: &str, op: &str) -> Option<&'a Value> {
    filter
        .iter()
        .find(|(f, _)| f == field)?
        .1
        .iter()
        .find(|(o, _)| o == op)
        .map(|(_, v)| v)
}

pub fn time_operand(filter: &Filter, field: &str, op: &str) -> Result<Option<i64>, String> {
    match operand(filter, field, op) {
        None => Ok(None),
        Some(Value::String(s)) => s
            .parse::<Timestamp>()
            .map(|t| Some(t.as_second()))
            .map_err(|_| format!("Invalid filter: {field} {op} {s:?} is not an RFC 3339 time")),
        Some(other) => Err(format!(
            "Invalid filter: {field} {op} {other} is not an RFC 3339 time"
        )),
    }
}

fn lookup<'a>(item: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut cur = vec![item];
    for part in path.split('.') {
        let mut next = Vec::new();
        for v in cur {
            match v {
                Value::Object(m) => {
                    if let Some(x) = m.get(part) {
                        match x {
                            Value::Array(a) => next.extend(a.iter()),
                            other => next.push(other),
                        }
                    }
                }
                Value::Array(a) => next.extend(a.iter().filter_map(|e| e.get(part))),
                _ => {}
            }
        }
        cur = next;
    }
    cur.into_iter().filter(|v| !v.is_null()).collect()
}

fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::String(x), Value::String(y)) => {
            match (x.parse::<Timestamp>(), y.parse::<Timestamp>()) {
                (Ok(tx), Ok(ty)) => Some(tx.cmp(&ty)),
                _ => Some(x.cmp(y)),
            }
        }
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn holds(values: &[&Value], op: &str, operand: &Value) -> bool {
    use std::cmp::Ordering::*;
    let any = |f: &dyn Fn(&Value) -> bool| values.iter().any(|v| f(v));
    match op {
        "$eq" => any(&|v| compare(v, operand) == Some(Equal)),
        "$neq" => !any(&|v| compare(v, operand) == Some(Equal)),
        "$gt" => any(&|v| compare(v, operand) == Some(Greater)),
        "$gte" => any(&|v| matches!(compare(v, operand), Some(Greater | Equal))),
        "$lt" => any(&|v| compare(v, operand) == Some(Less)),
        "$lte" => any(&|v| matches!(compare(v, operand), Some(Less | Equal))),
        "$in" => operand
            .as_array()
            .is_some_and(|list| list.iter().any(|o| any(&|v| compare(v, o) == Some(Equal)))),
        "$all" => operand
            .as_array()
            .is_some_and(|list| list.iter().all(|o| any(&|v| compare(v, o) == Some(Equal)))),
        "$contains" => operand
            .as_str()
            .is_some_and(|o| any(&|v| v.as_str().is_some_and(|s| s.contains(o)))),
        "$begins_with" => operand
            .as_str()
            .is_some_and(|o| any(&|v| v.as_str().is_some_and(|s| s.starts_with(o)))),
        _ => false,
    }
}

/// Whether `item` satisfies every condition. `skip` lists (field, op) pairs the handler
/// has applied itself (relative time windows).
pub fn matches(item: &Value, filter: &Filter, fields: &[Field], skip: &[(&str, &str)]) -> bool {
    filter.iter().all(|(name, conds)| {
        let Some(path) = fields.iter().find(|f| f.name == name).and_then(|f| f.path) else {
            return true;
        };
        let values = lookup(item, path);
        conds.iter().all(|(op, operand)| {
            skip.contains(&(name.as_str(), op.as_str())) || holds(&values, op, operand)
        })
    })
}

/// The filter as the service reports it applied, system-added conditions included.
pub fn applied(filter: &Filter, system: &[(&str, &str, Value)]) -> String {
    let mut map: HashMap<String, Map<String, Value>> = HashMap::new();
    let mut order = Vec::new();
    for (f, conds) in filter {
        order.push(f.clone());
        let entry = map.entry(f.clone()).or_default();
        for (op, v) in conds {
            entry.insert(op.clone(), v.clone());
        }
    }
    for (f, op, v) in system {
        if !map.contains_key(*f) {
            order.push((*f).to_owned());
        }
        map.entry((*f).to_owned())
            .or_default()
            .entry((*op).to_owned())
            .or_insert_with(|| v.clone());
    }
    let mut out = Map::new();
    for f in order {
        if let Some(m) = map.remove(&f) {
            out.insert(f, Value::Object(m));
        }
    }
    Value::Object(out).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: &[Field] = &[
        field("status", &["$in"]),
        field("created_timestamp", &["$gte", "$lte"]),
        field("primary_entity.id", &["$contains", "$eq"]),
        alias(
            "backup_status",
            &["$in"],
            "backup_status_info.backup_status",
        ),
        ignored("deactivated", &["$eq"]),
        field("tags.id", &["$all"]),
    ];

    fn f(raw: &str) -> Filter {
        parse_filter(Some(raw), FIELDS).unwrap()
    }

    #[test]
    fn filters_check_fields_and_operators() {
        assert!(
            parse_filter(Some(r#"{"colour":{"$eq":"red"}}"#), FIELDS)
                .unwrap_err()
                .contains("\"colour\" is not supported")
        );
        assert!(
            parse_filter(Some(r#"{"status":{"$eq":"queued"}}"#), FIELDS)
                .unwrap_err()
                .contains("operator \"$eq\" is not supported")
        );
        assert!(
            parse_filter(Some("{nope"), FIELDS)
                .unwrap_err()
                .contains("not JSON")
        );
        assert!(parse_filter(None, FIELDS).unwrap().is_empty());
    }

    #[test]
    fn conditions_match_items() {
        let item = json!({
            "status": "queued", "created_timestamp": "2024-05-02T06:00:04Z",
            "primary_entity": {"id": "abc-123"},
            "backup_status_info": {"backup_status": "failure"},
            "tags": [{"id": "t1"}, {"id": "t2"}]
        });
        let yes = |raw: &str| matches(&item, &f(raw), FIELDS, &[]);
        assert!(yes(r#"{"status":{"$in":["queued","in_progress"]}}"#));
        assert!(!yes(r#"{"status":{"$in":["completed"]}}"#));
        assert!(yes(
            r#"{"created_timestamp":{"$gte":"2024-05-02T06:00:04Z","$lte":"2024-05-02T08:00:00+01:00"}}"#
        ));
        assert!(!yes(
            r#"{"created_timestamp":{"$gte":"2024-05-02T06:00:05Z"}}"#
        ));
        assert!(yes(r#"{"primary_entity.id":{"$contains":"123"}}"#));
        assert!(yes(r#"{"backup_status":{"$in":["failure"]}}"#));
        assert!(yes(r#"{"deactivated":{"$eq":true}}"#));
        assert!(yes(r#"{"tags.id":{"$all":["t1","t2"]}}"#));
        assert!(!yes(r#"{"tags.id":{"$all":["t1","t3"]}}"#));
    }

    #[test]
    fn pages_link_onwards_until_the_last() {
        let q = Query::parse(Some("limit=2&filter=%7B%7D"));
        let items: Vec<Value> = (0..5).map(|i| json!({ "id": i })).collect();
        let page = |q: &Query| {
            let p = paging(q).unwrap();
            let slice = items[page_range(items.len(), p)].to_vec();
            hal_page("/tasks", q, p, items.len(), slice, &Applied::default())
        };
        let p1 = page(&q);
        assert_eq!(p1["total_pages_count"], 3);
        assert_eq!(p1["start"], "1");
        assert_eq!(
            p1["_links"]["_next"]["href"],
            "/tasks?limit=2&start=2&filter=%7B%7D"
        );
        let q3 = Query::parse(Some("limit=2&start=3&filter=%7B%7D"));
        let p3 = page(&q3);
        assert_eq!(p3["current_count"], 1);
        assert!(p3["_links"].get("_next").is_none());
        assert!(p3.get("filter_applied").is_none());
    }

    #[test]
    fn limits_default_and_cap() {
        assert_eq!(paging(&Query::parse(None)).unwrap().limit, DEFAULT_LIMIT);
        assert_eq!(
            paging(&Query::parse(Some("limit=1000"))).unwrap().limit,
            MAX_LIMIT
        );
        assert!(paging(&Query::parse(Some("start=0"))).is_err());
        assert!(paging(&Query::parse(Some("limit=x"))).is_err());
    }
}
