//! Lenient field decoders for wire types. Vendors send numbers as strings, ids as numbers,
//! `null` where a field is normally present; a monitoring tool must shrug all of that off
//! rather than fail a whole refresh over one odd field.
//!
//! Use with `#[serde(default, deserialize_with = "lenient::opt_f64")]`.

use jiff::Timestamp;
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

/// An integer (possibly negative), or a string holding one (also written as a float,
/// `"121000000.0"`, as some serializers do).
pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?
        .as_ref()
        .and_then(|v| match v {
            Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
            Value::String(s) => s.trim().parse().ok().or_else(|| {
                s.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(|f| f as i64)
            }),
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

/// Text that may be `null` or absent (empty then), or a number or bool written as one.
/// For fields the spec requires but towers of other releases leave out.
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(opt_string(d)?.unwrap_or_default())
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

/// An epoch number whose unit its magnitude tells: seconds, milliseconds, microseconds or
/// nanoseconds (vendors disagree, and sometimes disagree with their own documents). No
/// microsecond value after 1970-01-02 is below 1e11, and no second value before 5138 above
/// it, so the ranges do not overlap for real times. Zero and negatives mean "none".
pub fn epoch_time(v: i64) -> Option<Timestamp> {
    if v <= 0 {
        return None;
    }
    let micros = if v < 100_000_000_000 {
        v.checked_mul(1_000_000)?
    } else if v < 100_000_000_000_000 {
        v.checked_mul(1_000)?
    } else if v < 100_000_000_000_000_000 {
        v
    } else {
        v / 1_000
    };
    Timestamp::from_microsecond(micros).ok()
}

/// An ISO 8601 time. One without an offset is taken as UTC; empty strings, unparsable text
/// and placeholders at or before 1970 (.NET's `DateTime.MinValue`, Go's zero time, the
/// epoch as "never") are no time at all.
pub fn iso_time(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    let t = s.parse::<Timestamp>().ok().or_else(|| {
        s.parse::<jiff::civil::DateTime>()
            .ok()?
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp())
    })?;
    (t > Timestamp::UNIX_EPOCH).then_some(t)
}

/// A time as a string (ISO 8601, or an epoch number written as text) or as an epoch number.
pub fn time_value(v: &Value) -> Option<Timestamp> {
    match v {
        Value::String(s) => match s.trim().parse::<f64>() {
            Ok(n) if n.is_finite() => epoch_time(n as i64),
            _ => iso_time(s),
        },
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .and_then(epoch_time),
        _ => None,
    }
}

/// [`time_value`] as a field decoder.
pub fn opt_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?
        .as_ref()
        .and_then(time_value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_take_null_and_numbers() {
        #[derive(serde::Deserialize)]
        struct T {
            #[serde(default, deserialize_with = "string")]
            s: String,
        }
        let t = |j: &str| serde_json::from_str::<T>(j).unwrap().s;
        assert_eq!(t(r#"{"s":null}"#), "");
        assert_eq!(t(r#"{}"#), "");
        assert_eq!(t(r#"{"s":12}"#), "12");
        assert_eq!(t(r#"{"s":"VM «web»"}"#), "VM «web»");
    }

    #[test]
    fn epoch_units_are_told_by_magnitude() {
        let want = Timestamp::from_second(1_668_650_411).unwrap();
        assert_eq!(epoch_time(1_668_650_411), Some(want));
        assert_eq!(epoch_time(1_668_650_411_000), Some(want));
        assert_eq!(epoch_time(1_668_650_411_000_000), Some(want));
        assert_eq!(epoch_time(1_668_650_411_000_000_000), Some(want));
        assert_eq!(epoch_time(0), None);
        assert_eq!(epoch_time(-5), None);
    }

    #[test]
    fn iso_times_and_placeholders() {
        assert_eq!(
            iso_time("2024-12-18T19:32:23").unwrap().to_string(),
            "2024-12-18T19:32:23Z",
            "no offset is UTC"
        );
        assert_eq!(
            iso_time("2024-12-18T19:32:23.1234567+01:00")
                .unwrap()
                .as_second(),
            iso_time("2024-12-18T18:32:23Z").unwrap().as_second()
        );
        assert_eq!(iso_time("0001-01-01T00:00:00"), None);
        assert_eq!(iso_time("1970-01-01T00:00:00.000Z"), None);
        assert_eq!(iso_time(""), None);
        assert_eq!(iso_time("yesterday"), None);
    }

    #[test]
    fn time_values_of_every_shape() {
        let want = Some(Timestamp::from_second(1_700_000_000).unwrap());
        assert_eq!(time_value(&Value::from(1_700_000_000)), want);
        assert_eq!(time_value(&Value::from(1_700_000_000_000i64)), want);
        assert_eq!(time_value(&Value::from(1_700_000_000.0)), want);
        assert_eq!(time_value(&Value::from("1700000000")), want);
        assert_eq!(time_value(&Value::from("2023-11-14T22:13:20Z")), want);
        assert_eq!(time_value(&Value::from("0001-01-01T00:00:00Z")), None);
        assert_eq!(time_value(&Value::from(-1)), None);
        assert_eq!(time_value(&Value::Null), None);
    }

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
