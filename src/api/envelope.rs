//! The vendor's envelope must be there: a 200 answer of `{}` (or `{"data": …}` where the
//! vendor wraps its lists in `items`) is a protocol error, not an empty inventory that
//! silently drops every per-object series of a target.
//!
//! How an adapter uses it: the list field of its envelope type takes
//! `#[serde(deserialize_with = "crate::api::required_list")]` and **no** `#[serde(default)]`
//! (nor a `default` on the struct), and any wrapper object around it (Clumio's `_embedded`)
//! is a plain field, not an `Option` with a default. Then `[…]` is the list, `null` an
//! empty list (Go's nil slice), and a missing field fails [`decode_json`](super::decode_json)
//! with an [`ApiError::Decode`](super::ApiError::Decode) that names the field and says the
//! envelope is missing. Items inside the list stay as lenient as the adapter makes them.

use serde::{Deserialize, Deserializer};

/// Deserializes a list that must be present: an array, or `null` for an empty one. Use it
/// without `#[serde(default)]`, so that serde refuses an answer without the field.
pub fn required_list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// What [`decode_json`](super::decode_json) adds to a "missing field" error.
pub(super) const MISSING_ENVELOPE: &str =
    "the answer lacks the vendor's envelope (refused, not read as an empty list)";

#[cfg(test)]
mod tests {
    use super::super::{ApiError, decode_json};
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Page {
        #[serde(deserialize_with = "required_list")]
        items: Vec<u32>,
        #[serde(default)]
        total: Option<u64>,
    }

    #[derive(Debug, Deserialize)]
    struct Hal {
        #[serde(rename = "_embedded")]
        embedded: Page,
    }

    #[test]
    fn a_present_list_or_null_is_read() {
        let p: Page = decode_json("GET /jobs", br#"{"items":[1,2],"total":2}"#).unwrap();
        assert_eq!((p.items, p.total), (vec![1, 2], Some(2)));
        let p: Page = decode_json("GET /jobs", br#"{"items":null}"#).unwrap();
        assert!(p.items.is_empty());
        let h: Hal = decode_json("GET /tasks", br#"{"_embedded":{"items":[3]}}"#).unwrap();
        assert_eq!(h.embedded.items, vec![3]);
    }

    #[test]
    fn a_missing_envelope_is_a_clear_protocol_error() {
        for (body, at) in [(&br#"{}"#[..], "."), (br#"{"total":0}"#, ".")] {
            let e = decode_json::<Page>("GET /jobs", body).unwrap_err();
            assert!(matches!(e, ApiError::Decode { .. }), "{e:?}");
            assert_eq!(
                e.to_string(),
                format!(
                    "GET /jobs: could not decode the response: at `{at}`: missing field `items` \
                     at line 1 column {}: {MISSING_ENVELOPE}",
                    body.len()
                )
            );
        }
        let e = decode_json::<Hal>("GET /tasks", br#"{"_embedded":{}}"#).unwrap_err();
        assert!(
            e.to_string()
                .contains("at `_embedded`: missing field `items`"),
            "{e}"
        );
        let e = decode_json::<Hal>("GET /tasks", br#"{}"#).unwrap_err();
        assert!(e.to_string().contains("missing field `_embedded`"), "{e}");
        assert!(e.to_string().ends_with(MISSING_ENVELOPE), "{e}");
    }

    #[test]
    fn other_decode_errors_are_not_called_a_missing_envelope() {
        let e = decode_json::<Page>("GET /jobs", br#"{"items":"x"}"#).unwrap_err();
        assert!(!e.to_string().contains(MISSING_ENVELOPE), "{e}");
    }
}
