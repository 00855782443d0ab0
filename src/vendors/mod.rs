//! The one place that lists the vendors: [`VENDORS`], one line per vendor.
//!
//! Each vendor lives in its own folder: wire types (private), a client (login and
//! requests over [`crate::api::ApiClient`]), a mapping to [`crate::model`], its config keys,
//! and its simulator. The contract they implement is [`crate::adapter`]. Adding a vendor is
//! its folder plus one line in [`VENDORS`] (and its [`Vendor`] name).

pub mod backupdr;
pub mod cloudsync;
pub mod cloudtower;
pub mod cloutility;
pub mod clumio;
pub mod lenient;
#[cfg(test)]
pub mod variations;

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use url::Url;

use crate::adapter::{Adapter, AdapterContext, TargetSettings, VendorSettings};
use crate::model::Vendor;
#[cfg(feature = "sim")]
use crate::sim::SimEntry;

/// A vendor's settings: decoded from the target's vendor keys ([`VendorConfig::File`], a
/// `#[serde(deny_unknown_fields)]` struct whose fields are the vendor's keys), then checked
/// once into the typed value the adapter is built from.
pub trait VendorConfig: VendorSettings + Sized {
    type File: DeserializeOwned;
    /// Every problem with the keys, one line each (without the target name). `url` is the
    /// target's common `url`, already known to be http(s).
    fn parse(file: Self::File, url: Option<&Url>) -> Result<Self, Vec<String>>;
}

/// Decodes a target's vendor keys (secrets already folded, see [`crate::secret`]).
pub type ParseFn =
    fn(Map<String, Value>, Option<&Url>) -> Result<Arc<dyn VendorSettings>, Vec<String>>;

/// What the core knows of one vendor.
pub struct VendorEntry {
    pub vendor: Vendor,
    /// Vendor-specific target keys (secret keys by their base name).
    pub keys: fn() -> &'static [&'static str],
    pub parse: ParseFn,
    /// The vendor's simulator and the demo targets that point at it.
    #[cfg(feature = "sim")]
    pub sim: SimEntry,
}

macro_rules! vendor {
    ($v:ident, $m:ident) => {
        VendorEntry {
            vendor: Vendor::$v,
            keys: keys::<$m::Settings>,
            parse: parse::<$m::Settings>,
            #[cfg(feature = "sim")]
            sim: SimEntry {
                build: $m::sim::build,
                demo_targets: $m::sim::demo_targets,
            },
        }
    };
}

/// Every vendor, in the order the simulator mounts them and `demo` lists their targets.
pub static VENDORS: &[VendorEntry] = &[
    vendor!(Cloutility, cloutility),
    vendor!(Backupdr, backupdr),
    vendor!(Cloudtower, cloudtower),
    vendor!(Cloudsync, cloudsync),
    vendor!(Clumio, clumio),
];

/// The table line of `vendor`.
pub fn entry(vendor: Vendor) -> &'static VendorEntry {
    VENDORS
        .iter()
        .find(|e| e.vendor == vendor)
        .expect("every Vendor has a line in VENDORS (tested)")
}

/// Vendor-specific target keys allowed for `vendor` (secret keys by their base name).
pub fn allowed_keys(vendor: Vendor) -> &'static [&'static str] {
    (entry(vendor).keys)()
}

pub fn build(target: &TargetSettings, ctx: &AdapterContext) -> Result<Arc<dyn Adapter>, String> {
    target.vendor_settings.build(target, ctx)
}

#[cfg(feature = "sim")]
/// The simulators of every vendor, for [`crate::sim::SimServer::start`].
pub fn simulators() -> Vec<SimEntry> {
    VENDORS.iter().map(|e| e.sim).collect()
}

fn parse<S: VendorConfig>(
    keys: Map<String, Value>,
    url: Option<&Url>,
) -> Result<Arc<dyn VendorSettings>, Vec<String>> {
    let file: S::File = serde_path_to_error::deserialize(Value::Object(keys)).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            vec![e.inner().to_string()]
        } else {
            vec![format!("`{path}`: {}", e.inner())]
        }
    })?;
    Ok(Arc::new(S::parse(file, url)?))
}

fn keys<S: VendorConfig>() -> &'static [&'static str] {
    field_names::<S::File>()
}

/// The field names of a derived `Deserialize` struct: what it passes to
/// `deserialize_struct`, caught by a deserializer that only listens.
fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::{Error, Visitor};
    struct Listen<'a>(&'a mut &'static [&'static str]);
    impl<'de> serde::Deserializer<'de> for Listen<'_> {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(Error::custom("listened"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Listen(&mut fields));
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vendor_has_exactly_one_line() {
        for v in Vendor::ALL {
            assert_eq!(VENDORS.iter().filter(|e| e.vendor == v).count(), 1, "{v}");
        }
        assert_eq!(VENDORS.len(), Vendor::ALL.len());
        for e in VENDORS {
            assert!(!(e.keys)().is_empty(), "{}", e.vendor);
        }
        #[cfg(feature = "sim")]
        {
            let ctx = crate::sim::SimContext::new(1, 1);
            for e in VENDORS {
                assert_eq!((e.sim.build)(&ctx).vendor, e.vendor);
            }
        }
    }
}
