//! Lenient field decoders for wire types. Vendors send numbers as strings, ids as numbers,
//! `null` where a field is normally present; a monitoring tool must shrug all of that off
//! rather than fail a whole refresh over one odd field.
//!
//! Use with `#[serde(default, deserialize_with = "lenient::opt_f64")]`.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

/// A number, or a string holding one; anything else is `None`.
pub fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?.as_ref().and_then(as_f64))
}

/// A non-negative integer, or a string or float holding one.
pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?
        .as_ref()
        .and_then(|v| match v {
            Value::Number(n) => n
                .as_u64()
                .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
            Value::String(s) => s.trim().parse::<u64>().ok().or_else(|| {
                s.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|f| *f >= 0.0)
                    .map(|f| f as u64)
            }),
            _ => None,
        }))
}

/// An integer (possibly negative), or a string holding one.
pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?
        .as_ref()
        .and_then(|v| match v {
            Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }))
}

/// A string, or a number or bool written as one (ids that are sometimes numbers).
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?.and_then(|v| match v {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }))
}

/// A bool, or `"true"`/`"false"`, or 0/1.
pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?.and_then(|v| match v {
        Value::Bool(b) => Some(b),
        Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" => Some(false),
            _ => None,
        },
        _ => None,
    }))
}

/// A list that may be `null` or absent.
pub fn vec_or_null<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct W {
        #[serde(default, deserialize_with = "opt_f64")]
        f: Option<f64>,
        #[serde(default, deserialize_with = "opt_u64")]
        u: Option<u64>,
        #[serde(default, deserialize_with = "opt_string")]
        s: Option<String>,
        #[serde(default, deserialize_with = "opt_bool")]
        b: Option<bool>,
        #[serde(default, deserialize_with = "vec_or_null")]
        v: Vec<u8>,
    }

    #[test]
    fn numbers_as_strings_and_nulls() {
        let w: W =
            serde_json::from_str(r#"{"f":"1.5","u":"42","s":17,"b":"true","v":null}"#).unwrap();
        assert_eq!(w.f, Some(1.5));
        assert_eq!(w.u, Some(42));
        assert_eq!(w.s.as_deref(), Some("17"));
        assert_eq!(w.b, Some(true));
        assert!(w.v.is_empty());
        let w: W = serde_json::from_str(r#"{"f":{},"u":-3}"#).unwrap();
        assert_eq!(w.f, None);
        assert_eq!(w.u, None);
    }
}
