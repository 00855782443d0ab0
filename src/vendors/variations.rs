//! Test support: spec-valid variations of a real vendor response, for the property tests in
//! each vendor's folder. A variation keeps the shape a decoder must accept (the vendors'
//! documents allow all of these) and changes what real accounts change: optional fields
//! absent or `null`, extra unknown fields, unknown enum words, empty lists, numbers sent as
//! strings, very long and non-ASCII strings.

use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

/// What to do at one place of the document, drawn by proptest.
#[derive(Clone, Debug)]
pub struct Plan {
    choices: Vec<u8>,
    word: String,
}

/// A plan: one choice per place (cycled), and a word for replaced strings.
pub fn plan() -> impl Strategy<Value = Plan> {
    (
        proptest::collection::vec(0u8..12, 1..96),
        prop_oneof![
            "\\PC{0,24}",
            "[a-zA-Z_]{1,16}",
            Just("ÄÖÜ – 日本語 – emoji 🎉".to_owned()),
            Just("x".repeat(20_000)),
        ],
    )
        .prop_map(|(choices, word)| Plan { choices, word })
}

/// `base` varied by `plan`. Keys in `keep` (ids and times the mapping needs to place an
/// item) are never removed, nulled or given another text, though a number among them may
/// still be sent as a string.
pub fn vary(base: &Value, plan: &Plan, keep: &[&str]) -> Value {
    let mut at = 0usize;
    let mut next = || {
        let c = plan.choices[at % plan.choices.len()];
        at += 1;
        c
    };
    walk(base, plan, keep, false, &mut next)
}

fn walk(
    v: &Value,
    plan: &Plan,
    keep: &[&str],
    fixed: bool,
    next: &mut impl FnMut() -> u8,
) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, child) in m {
                let c = next();
                let kept = keep.contains(&k.as_str());
                match c {
                    0 if !kept => continue,
                    1 if !kept => {
                        out.insert(k.clone(), Value::Null);
                    }
                    _ => {
                        out.insert(k.clone(), walk(child, plan, keep, kept, next));
                    }
                }
            }
            if next().is_multiple_of(3) {
                out.insert(
                    format!("zzUnknown{}", out.len()),
                    Value::String(plan.word.clone()),
                );
                out.insert(
                    "$type".to_owned(),
                    Value::String("Vendor.Extra, Vendor".to_owned()),
                );
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            if next().is_multiple_of(4) {
                Value::Array(Vec::new())
            } else {
                Value::Array(
                    items
                        .iter()
                        .map(|i| walk(i, plan, keep, fixed, next))
                        .collect(),
                )
            }
        }
        Value::Number(n) => match next() {
            2..=4 => Value::String(n.to_string()),
            _ => v.clone(),
        },
        Value::String(_) if fixed => v.clone(),
        Value::String(s) => match next() {
            // An unknown word in place of an enum word (or any text).
            2 => Value::String(format!(
                "UNKNOWN_{}",
                plan.word.chars().take(12).collect::<String>()
            )),
            3 => Value::String(plan.word.clone()),
            4 => Value::String(format!("{s}{}", plan.word)),
            _ => v.clone(),
        },
        _ => v.clone(),
    }
}

// Field by field: a few changes, each on one field of one item, for the tests that want to
// name what changed (Backup and DR, Clumio).

/// One variation of one field.
#[derive(Clone, Debug)]
pub enum Change {
    Remove,
    Null,
    /// A word or text of our choosing: unknown enum words, long and non-ASCII strings.
    Text(String),
    /// A number written as a string.
    NumberAsString,
    /// An integer written as a float in a string (`"100.0"`).
    NumberAsFloatString,
    /// A number of our choosing: huge, negative, zero.
    Number(i64),
    EmptyList,
    /// An unknown field beside the known ones.
    Extra(String, String),
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_]{1,20}",
        "\\PC{0,40}",
        "[ÄÖÜßéñ漢字🙂]{1,10}",
        "[a-z]{1,4}".prop_map(|s| s.repeat(3000)),
    ]
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        Just(Change::Remove),
        Just(Change::Null),
        text().prop_map(Change::Text),
        Just(Change::NumberAsString),
        Just(Change::NumberAsFloatString),
        prop_oneof![Just(i64::MAX), Just(i64::MIN), Just(0), any::<i64>()].prop_map(Change::Number),
        Just(Change::EmptyList),
        ("x_[a-z]{1,8}", text()).prop_map(|(k, v)| Change::Extra(k, v)),
    ]
}

/// `item` with `changes`, each on the field at an index into the object's keys (modulo their number);
/// `keep` are fields whose value is left alone (identity: what makes the item this item).
pub fn vary_fields(item: &Value, changes: &[(usize, Change)], keep: &[&str]) -> Value {
    let mut v = item.clone();
    let Some(obj) = v.as_object_mut() else {
        return v;
    };
    for (i, c) in changes {
        let keys: Vec<String> = obj
            .keys()
            .filter(|k| !keep.contains(&k.as_str()))
            .cloned()
            .collect();
        if let Change::Extra(k, val) = c {
            obj.insert(k.clone(), json!(val));
            continue;
        }
        if keys.is_empty() {
            continue;
        }
        let key = &keys[i % keys.len()];
        match c {
            Change::Remove => {
                obj.remove(key);
            }
            Change::Null => {
                obj.insert(key.clone(), Value::Null);
            }
            Change::Text(t) if obj[key].is_string() => {
                obj.insert(key.clone(), json!(t));
            }
            Change::NumberAsString if obj[key].is_number() => {
                let s = obj[key].to_string();
                obj.insert(key.clone(), json!(s));
            }
            Change::NumberAsFloatString if obj[key].is_i64() || obj[key].is_u64() => {
                let s = format!("{}.0", obj[key]);
                obj.insert(key.clone(), json!(s));
            }
            Change::Number(n) if obj[key].is_number() => {
                obj.insert(key.clone(), json!(n));
            }
            Change::EmptyList if obj[key].is_array() => {
                obj.insert(key.clone(), json!([]));
            }
            _ => {}
        }
    }
    v
}

pub fn decode<T: DeserializeOwned>(v: &Value) -> T {
    match serde_json::from_value(v.clone()) {
        Ok(t) => t,
        Err(e) => panic!("a spec-valid variation does not decode: {e}\n{v}"),
    }
}

/// Up to eight changes, each on the field at an index into the item's keys.
pub fn changes() -> impl Strategy<Value = Vec<(usize, Change)>> {
    prop::collection::vec((0usize..64, change()), 0..8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_changes_what_it_says() {
        let base = serde_json::json!({"id": 7, "name": "a", "n": 1, "list": [1, 2]});
        let remove_all = Plan {
            choices: vec![0],
            word: "w".into(),
        };
        let v = vary(&base, &remove_all, &["id"]);
        assert_eq!(v["id"], serde_json::json!(7));
        assert!(v.get("name").is_none() && v.get("list").is_none());
        assert!(v.get("zzUnknown1").is_some(), "an unknown field is added");
        let strings = Plan {
            choices: vec![5, 3],
            word: "w".into(),
        };
        let v = vary(&base, &strings, &[]);
        assert_eq!(v["n"], serde_json::json!("1"), "{v}");
    }
}
