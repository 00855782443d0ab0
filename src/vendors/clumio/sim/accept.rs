//! `Accept: application/api.clumio.<resource>=v<N>+json`: Clumio's per-resource versions.

use axum::http::{HeaderValue, StatusCode};

use super::{Endpoint, Refusal};

/// The version the Accept header asks of `ep`'s resource: `application/api.clumio.<spec>+json`
/// where spec is `name=vN` pairs joined by `&`, `*` naming every resource. No Clumio media
/// type means the latest version.
pub(super) fn version(ep: Endpoint, accept: Option<&HeaderValue>) -> Result<u32, Refusal> {
    let (resource, versions) = ep.resource();
    let latest = *versions.last().unwrap_or(&1);
    let not_acceptable = |msg: String| Refusal::new(StatusCode::NOT_ACCEPTABLE, msg);
    let Some(accept) = accept.and_then(|v| v.to_str().ok()) else {
        return Ok(latest);
    };
    let Some(spec) = accept
        .split(',')
        .map(|m| m.split(';').next().unwrap_or("").trim())
        .find_map(|m| m.strip_prefix("application/api.clumio."))
    else {
        return Ok(latest);
    };
    let spec = spec
        .strip_suffix("+json")
        .ok_or_else(|| not_acceptable(format!("Unsupported media type in Accept: {accept}")))?;
    let mut chosen = None;
    let mut wildcard = None;
    for part in spec.split('&') {
        let (name, version) = part
            .split_once('=')
            .ok_or_else(|| not_acceptable(format!("Malformed version in Accept: {part:?}")))?;
        let v = version
            .strip_prefix('v')
            .and_then(|n| n.parse::<u32>().ok())
            .ok_or_else(|| not_acceptable(format!("Malformed version in Accept: {part:?}")))?;
        match name {
            "*" => wildcard = Some(v),
            n if n == resource => chosen = Some(v),
            _ => {}
        }
    }
    let Some(v) = chosen.or(wildcard) else {
        return Ok(latest);
    };
    if versions.contains(&v) {
        Ok(v)
    } else {
        Err(not_acceptable(format!(
            "Version v{v} of resource {resource} is not supported"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vendors::clumio::sim::data::Kind;

    fn accept(ep: Endpoint, v: &str) -> Result<u32, u16> {
        version(ep, Some(&HeaderValue::from_str(v).unwrap())).map_err(|r| r.status.as_u16())
    }

    #[test]
    fn accept_chooses_the_version_per_resource() {
        let ebs = Endpoint::Backups(Kind::Ebs);
        assert_eq!(
            accept(ebs, "application/api.clumio.backup-aws-ebs-volumes=v1+json"),
            Ok(1)
        );
        assert_eq!(
            accept(ebs, "application/api.clumio.backup-aws-ebs-volumes=v2+json"),
            Ok(2)
        );
        assert_eq!(accept(ebs, "application/api.clumio.*=v1+json"), Ok(1));
        assert_eq!(
            accept(
                ebs,
                "application/api.clumio.*=v1&backup-aws-ebs-volumes=v2+json"
            ),
            Ok(2)
        );
        assert_eq!(accept(ebs, "application/api.clumio.tasks=v1+json"), Ok(2));
        assert_eq!(accept(ebs, "application/json"), Ok(2));
        assert_eq!(version(ebs, None).ok(), Some(2));
        assert_eq!(
            accept(Endpoint::Tasks, "application/api.clumio.tasks=v3+json"),
            Err(406)
        );
        assert_eq!(
            accept(Endpoint::Tasks, "application/api.clumio.*=v2+json"),
            Err(406)
        );
        assert_eq!(
            accept(Endpoint::Tasks, "application/api.clumio.tasks+json"),
            Err(406)
        );
        assert_eq!(
            accept(Endpoint::Tasks, "application/api.clumio.tasks=v1"),
            Err(406)
        );
    }
}
