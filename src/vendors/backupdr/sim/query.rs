//! The list-view query language of the console, over JSON items: repeated `filter` params
//! (`field:==v`, `:!=`, `:=|` contains, `:>=`, `:<=`, `:=b`), `sort=a:asc,b:desc`,
//! `offset`/`limit`.
//!
//! Filters on different fields are ANDed; several `==` on one field are ORed (a union),
//! ranges on one field are ANDed. The op and value may come URL-encoded or raw; the colon
//! before the op is optional, as in the general-concepts examples (`appname=|app`).

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Contains,
    Ge,
    Le,
    BitAnd,
}

const OPS: &[(&str, Op)] = &[
    ("==", Op::Eq),
    ("!=", Op::Ne),
    ("=|", Op::Contains),
    (">=", Op::Ge),
    ("<=", Op::Le),
    ("=b", Op::BitAnd),
];

#[derive(Clone, Debug, PartialEq)]
pub struct Filter {
    pub field: String,
    pub op: Op,
    pub value: String,
}

impl Filter {
    pub fn parse(s: &str) -> Result<Filter, String> {
        // Prefer `field:op`; fall back to the first op found.
        let found = s
            .char_indices()
            .filter(|(_, c)| *c == ':')
            .find_map(|(i, _)| {
                OPS.iter()
                    .find(|(tok, _)| s[i + 1..].starts_with(tok))
                    .map(|(tok, op)| (i, i + 1 + tok.len(), *op))
            })
            .or_else(|| {
                OPS.iter()
                    .filter_map(|(tok, op)| s.find(tok).map(|i| (i, i + tok.len(), *op)))
                    .min_by_key(|(i, _, _)| *i)
            });
        let (field_end, value_start, op) =
            found.ok_or_else(|| format!("filter {s:?} has no operator"))?;
        let field = s[..field_end].trim().to_owned();
        if field.is_empty() {
            return Err(format!("filter {s:?} has no field"));
        }
        Ok(Filter {
            field,
            op,
            value: s[value_start..].to_owned(),
        })
    }
}

/// A list-view field: its name in queries, where it sits in an item (a JSON pointer), and
/// its type as OPTIONS reports it.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub name: &'static str,
    pub pointer: &'static str,
    pub kind: &'static str,
    pub values: &'static [&'static str],
}

pub const fn field(name: &'static str, pointer: &'static str, kind: &'static str) -> Field {
    Field {
        name,
        pointer,
        kind,
        values: &[],
    }
}

#[derive(Debug, Default)]
pub struct Query {
    pub filters: Vec<Filter>,
    pub sort: Vec<(String, bool)>,
    pub offset: usize,
    pub limit: Option<usize>,
}

impl Query {
    pub fn parse(params: &[(String, String)], fields: &[Field]) -> Result<Query, String> {
        let mut q = Query::default();
        for (k, v) in params {
            match k.as_str() {
                "filter" => {
                    let f = Filter::parse(v)?;
                    if !fields.iter().any(|x| x.name == f.field) {
                        return Err(format!("{} is not a filterable field", f.field));
                    }
                    q.filters.push(f);
                }
                "sort" => {
                    for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                        let (name, dir) = part.split_once(':').unwrap_or((part, "asc"));
                        let desc = match dir.to_ascii_lowercase().as_str() {
                            "asc" => false,
                            "desc" => true,
                            other => return Err(format!("sort direction {other:?}")),
                        };
                        if !fields.iter().any(|x| x.name == name) {
                            return Err(format!("{name} is not a sortable field"));
                        }
                        q.sort.push((name.to_owned(), desc));
                    }
                }
                "offset" => {
                    q.offset = v
                        .trim()
                        .parse()
                        .map_err(|_| format!("offset {v:?} is not a number"))?
                }
                "limit" => {
                    q.limit = Some(
                        v.trim()
                            .parse()
                            .map_err(|_| format!("limit {v:?} is not a number"))?,
                    )
                }
                _ => {}
            }
        }
        Ok(q)
    }

    /// Numeric bounds that every match satisfies on `field` (for pruning generation).
    pub fn bounds(&self, field: &str) -> (Option<i64>, Option<i64>) {
        let mut lo: Option<i64> = None;
        let mut hi: Option<i64> = None;
        for f in self.filters.iter().filter(|f| f.field == field) {
            let Ok(v) = f.value.trim().parse::<i64>() else {
                continue;
            };
            match f.op {
                Op::Ge => lo = Some(lo.map_or(v, |l| l.max(v))),
                Op::Le => hi = Some(hi.map_or(v, |h| h.min(v))),
                _ => {}
            }
        }
        (lo, hi)
    }

    /// The values of `field:==` filters, if there are any.
    pub fn equals(&self, field: &str) -> Option<Vec<&str>> {
        let v: Vec<&str> = self
            .filters
            .iter()
            .filter(|f| f.field == field && f.op == Op::Eq)
            .map(|f| f.value.as_str())
            .collect();
        (!v.is_empty()).then_some(v)
    }

    pub fn matches(&self, item: &impl Item, fields: &[Field]) -> bool {
        let mut names: Vec<&str> = self.filters.iter().map(|f| f.field.as_str()).collect();
        names.sort();
        names.dedup();
        names.into_iter().all(|name| {
            let value = lookup(item, name, fields);
            let value = value.as_deref();
            let of_field: Vec<&Filter> = self.filters.iter().filter(|f| f.field == name).collect();
            let eqs: Vec<&&Filter> = of_field.iter().filter(|f| f.op == Op::Eq).collect();
            let union = eqs.is_empty() || eqs.iter().any(|f| test(value, f));
            union
                && of_field
                    .iter()
                    .filter(|f| f.op != Op::Eq)
                    .all(|f| test(value, f))
        })
    }

    /// Filters, sorts and cuts one page (`limit` defaults and is capped as the server
    /// decides). Returns the total that matched and the page.
    ///
    /// `items` come with their place in the unsorted listing (`order`, unique): ties of the
    /// sort keep that order, and without a sort it is the order. Items are taken one at a
    /// time and only those that can still reach the page are kept (at most twice
    /// `offset + limit`), so a listing of millions of generated jobs is never held whole.
    pub fn run<K: Ord, T: Item>(
        &self,
        items: impl IntoIterator<Item = (K, T)>,
        fields: &[Field],
        default_limit: usize,
        cap: usize,
    ) -> (usize, Vec<T>) {
        let limit = self.limit.unwrap_or(default_limit).min(cap);
        let keep = self.offset.saturating_add(limit);
        let mut total = 0usize;
        let mut best: Vec<(Vec<Option<Value>>, K, T)> = Vec::new();
        let by_place = |a: &(Vec<Option<Value>>, K, T), b: &(Vec<Option<Value>>, K, T)| {
            for ((x, y), (_, desc)) in a.0.iter().zip(&b.0).zip(&self.sort) {
                let o = compare(x.as_ref(), y.as_ref());
                let o = if *desc { o.reverse() } else { o };
                if o != Ordering::Equal {
                    return o;
                }
            }
            a.1.cmp(&b.1)
        };
        for (order, item) in items {
            if !self.matches(&item, fields) {
                continue;
            }
            total += 1;
            if keep == 0 {
                continue;
            }
            let key = self
                .sort
                .iter()
                .map(|(name, _)| lookup(&item, name, fields).map(Cow::into_owned))
                .collect();
            best.push((key, order, item));
            if best.len() >= keep.saturating_mul(2).max(1024) {
                best.select_nth_unstable_by(keep - 1, by_place);
                best.truncate(keep);
            }
        }
        best.sort_unstable_by(by_place);
        let page = best
            .into_iter()
            .skip(self.offset)
            .take(limit)
            .map(|(_, _, item)| item)
            .collect();
        (total, page)
    }
}

/// An item of a list view as the query language reads it: a rendered JSON item, or a
/// generated record that answers for the fields of its view without being rendered.
pub trait Item {
    /// The value of `field` as the rendered item holds it; `None` when absent or null.
    fn value_of(&self, field: &Field) -> Option<Cow<'_, Value>>;
}

impl Item for Value {
    fn value_of(&self, field: &Field) -> Option<Cow<'_, Value>> {
        self.pointer(field.pointer)
            .filter(|v| !v.is_null())
            .map(Cow::Borrowed)
    }
}

fn lookup<'a, T: Item>(item: &'a T, name: &str, fields: &[Field]) -> Option<Cow<'a, Value>> {
    item.value_of(fields.iter().find(|f| f.name == name)?)
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn test(value: Option<&Value>, f: &Filter) -> bool {
    let Some(v) = value else {
        return f.op == Op::Ne;
    };
    let want = f.value.as_str();
    match f.op {
        Op::Eq | Op::Ne => {
            let equal = match v {
                Value::Bool(b) => want.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
                Value::Number(_) => number(v)
                    .zip(want.trim().parse::<f64>().ok())
                    .is_some_and(|(a, b)| a == b),
                _ => text(v) == want,
            };
            equal == (f.op == Op::Eq)
        }
        Op::Contains => text(v)
            .to_ascii_lowercase()
            .contains(&want.to_ascii_lowercase()),
        Op::Ge | Op::Le => {
            let o = match (number(v), want.trim().parse::<f64>().ok()) {
                (Some(a), Some(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
                _ => text(v).as_str().cmp(want),
            };
            if f.op == Op::Ge {
                o != Ordering::Less
            } else {
                o != Ordering::Greater
            }
        }
        Op::BitAnd => match v {
            Value::Bool(b) => *b == want.eq_ignore_ascii_case("true"),
            _ => match (number(v), want.trim().parse::<i64>().ok()) {
                (Some(a), Some(b)) => (a as i64) & b != 0,
                _ => false,
            },
        },
    }
}

fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => match (number(a), number(b)) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            _ => text(a).cmp(&text(b)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FIELDS: &[Field] = &[
        field("id", "/id", "Long"),
        field("status", "/status", "String"),
        field("enddate", "/enddate", "Long"),
        field("appid", "/application/id", "Long"),
        field("managed", "/managed", "Boolean"),
    ];

    fn items() -> Vec<Value> {
        vec![
            json!({"id":"10","status":"failed","enddate":300,"application":{"id":"1"},"managed":true}),
            json!({"id":"9","status":"succeeded","enddate":200,"application":{"id":"2"},"managed":false}),
            json!({"id":"100","status":"running","application":{"id":"1"}}),
            json!({"id":"11","status":"canceled","enddate":100,"application":{"id":"3"}}),
        ]
    }

    fn listed() -> impl Iterator<Item = (usize, Value)> {
        items().into_iter().enumerate()
    }

    fn q(params: &[(&str, &str)]) -> Query {
        let p: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Query::parse(&p, FIELDS).unwrap()
    }

    fn ids(q: &Query) -> Vec<String> {
        q.run(listed(), FIELDS, 1000, 1000)
            .1
            .iter()
            .map(|v| v["id"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn operators_parse_with_or_without_colon() {
        assert_eq!(Filter::parse("status:==failed").unwrap().op, Op::Eq);
        assert_eq!(Filter::parse("enddate:>=5").unwrap().value, "5");
        let f = Filter::parse("appname=|app").unwrap();
        assert_eq!(
            (f.field.as_str(), f.op, f.value.as_str()),
            ("appname", Op::Contains, "app")
        );
        assert_eq!(Filter::parse("jobclasscode==1").unwrap().op, Op::Eq);
        assert!(Filter::parse("nothing").is_err());
    }

    #[test]
    fn same_field_equals_are_a_union_and_fields_are_anded() {
        let query = q(&[
            ("filter", "status:==failed"),
            ("filter", "status:==running"),
        ]);
        assert_eq!(ids(&query), vec!["10", "100"]);
        let query = q(&[
            ("filter", "status:==failed"),
            ("filter", "status:==running"),
            ("filter", "appid:==1"),
            ("filter", "enddate:>=1"),
        ]);
        assert_eq!(
            ids(&query),
            vec!["10"],
            "missing enddate never satisfies a range"
        );
    }

    #[test]
    fn ranges_on_one_field_are_anded_and_sort_is_numeric() {
        let query = q(&[
            ("filter", "enddate:>=150"),
            ("filter", "enddate:<=300"),
            ("sort", "id:asc"),
        ]);
        assert_eq!(ids(&query), vec!["9", "10"]);
        let query = q(&[("sort", "enddate:desc,id:asc")]);
        assert_eq!(ids(&query), vec!["10", "9", "11", "100"]);
    }

    #[test]
    fn contains_not_equal_and_bitwise() {
        assert_eq!(ids(&q(&[("filter", "status:=|CEED")])), vec!["9"]);
        assert_eq!(ids(&q(&[("filter", "status:!=failed")])).len(), 3);
        assert_eq!(ids(&q(&[("filter", "managed:=btrue")])), vec!["10"]);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let p = vec![("filter".to_owned(), "color:==red".to_owned())];
        assert!(Query::parse(&p, FIELDS).unwrap_err().contains("color"));
        let p = vec![("sort".to_owned(), "color:asc".to_owned())];
        assert!(Query::parse(&p, FIELDS).is_err());
    }

    #[test]
    fn limit_is_capped_and_offset_pages() {
        let query = q(&[("sort", "id:asc"), ("limit", "3"), ("offset", "1")]);
        let (total, page) = query.run(listed(), FIELDS, 1000, 2);
        assert_eq!(total, 4);
        assert_eq!(page.len(), 2, "the server cap wins over the asked limit");
        assert_eq!(page[0]["id"], "10");
        let query = q(&[("offset", "9")]);
        assert!(query.run(listed(), FIELDS, 1000, 1000).1.is_empty());
    }

    #[test]
    fn bounds_and_equals_for_pruning() {
        let query = q(&[
            ("filter", "enddate:>=5"),
            ("filter", "enddate:>=7"),
            ("filter", "enddate:<=9"),
            ("filter", "appid:==1"),
        ]);
        assert_eq!(query.bounds("enddate"), (Some(7), Some(9)));
        assert_eq!(query.equals("appid"), Some(vec!["1"]));
        assert_eq!(query.equals("status"), None);
    }

    /// The page of a long listing, kept a few items at a time, is the page of the whole
    /// listing sorted stably (ties in listing order), at every offset.
    #[test]
    fn a_long_listing_pages_as_a_stable_sort_of_the_whole() {
        let all: Vec<Value> = (0..5000u64)
            .map(|i| {
                let end = crate::sim::mix(7, "end", i) % 300;
                json!({"id": i.to_string(), "status": if i % 3 == 0 { "failed" } else { "succeeded" }, "enddate": end})
            })
            .collect();
        for (sort, offset, limit) in [
            ("enddate:desc", 0, 10),
            ("enddate:asc,id:desc", 1234, 1000),
            ("status:asc,enddate:asc", 4000, 1000),
            ("id:asc", 3000, 7),
        ] {
            let query = q(&[
                ("filter", "enddate:>=20"),
                ("sort", sort),
                ("offset", &offset.to_string()),
                ("limit", &limit.to_string()),
            ]);
            let (total, page) = query.run(all.iter().cloned().enumerate(), FIELDS, 1000, 1000);
            let mut want: Vec<&Value> = all
                .iter()
                .filter(|v| v["enddate"].as_u64().unwrap() >= 20)
                .collect();
            assert_eq!(total, want.len());
            want.sort_by(|a, b| {
                for (name, desc) in &query.sort {
                    let o = compare(a.get(name), b.get(name));
                    let o = if *desc { o.reverse() } else { o };
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                Ordering::Equal
            });
            let want: Vec<Value> = want.into_iter().skip(offset).take(limit).cloned().collect();
            assert!(!want.is_empty(), "{sort} {offset}");
            assert_eq!(page, want, "{sort} at {offset}");
        }
    }
}
