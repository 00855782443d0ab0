//! Sources and targets: each knows its wire JSON and the path the exporter should show.

use serde_json::{Value, json};

use crate::sim::mix;

/// A source or target: its wire JSON (`{protocol, <protocol>: {...}}`) and the path
/// notation the exporter is expected to show for it.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub wire: Value,
    pub display: String,
}

fn endpoint(protocol: &str, details: Value, display: String) -> Endpoint {
    Endpoint {
        wire: json!({ "protocol": protocol, protocol: details }),
        display,
    }
}

pub(super) fn nfs(host: &str, export: &str, path: &str, provider: &str) -> Endpoint {
    let mut d = json!({"host": host, "export": export, "provider": provider, "version": "3"});
    let mut display = format!("{host}:{export}");
    if !path.is_empty() {
        d["path"] = json!(path);
        display = format!("{display}/{path}");
    }
    endpoint("nfs", d, display)
}

pub(super) fn cifs(host: &str, share: &str, path: &str) -> Endpoint {
    let d = json!({"host": host, "share": share, "path": path, "provider": "onprem", "version": "3.0",
        "credentials": {"username": "svc-sync", "password": "********", "domain": "CORP"}});
    endpoint("cifs", d, format!("//{host}/{share}/{path}"))
}

pub(super) fn s3(bucket: &str, prefix: &str) -> Endpoint {
    let d = json!({"bucket": bucket, "prefix": prefix, "region": "eu-west-1", "provider": "s3",
        "storageClass": "STANDARD_IA", "tags": []});
    endpoint("s3", d, format!("s3://{bucket}/{prefix}"))
}

fn sgws(host: &str, bucket: &str, prefix: &str) -> Endpoint {
    let d =
        json!({"host": host, "port": 8082, "bucket": bucket, "prefix": prefix, "provider": "sgws"});
    endpoint("s3", d, format!("sgws://{host}:8082/{bucket}/{prefix}"))
}

pub(super) fn azure(account: &str, container: &str, prefix: &str) -> Endpoint {
    let d = json!({"storageAccountName": account, "container": container, "prefix": prefix,
        "blobTier": "COOL", "provider": "azure", "tags": []});
    endpoint(
        "azure",
        d,
        format!("azure://{account}/{container}/{prefix}"),
    )
}

fn gcp(bucket: &str, prefix: &str) -> Endpoint {
    let d = json!({"bucket": bucket, "prefix": prefix, "storageClass": "NEARLINE", "provider": "gcp", "tags": []});
    endpoint("gcp", d, format!("gs://{bucket}/{prefix}"))
}

fn sftp(host: &str, root: &str, path: &str) -> Endpoint {
    let d =
        json!({"host": host, "port": 22, "rootDirectory": root, "path": path, "provider": "sftp"});
    endpoint("sftp", d, format!("sftp://{host}:22{root}/{path}"))
}

/// Source and target for an ordinary relationship, varied over the protocols.
pub(super) fn endpoints(
    seed: u64,
    k: usize,
    domain: &str,
    slug: &str,
    proj: &str,
) -> (Endpoint, Endpoint) {
    let host = |p: &str| format!("{p}{:02}.{domain}", 1 + mix(seed, "host", k as u64) % 4);
    match mix(seed, "template", k as u64) % 6 {
        0 => (
            nfs(&host("nfs"), &format!("/export/{proj}"), "", "onprem"),
            s3(&format!("{slug}-sync-eu"), proj),
        ),
        1 => (
            cifs(&host("fs"), proj, "current"),
            azure(&format!("{}sync", slug.replace('-', "")), "backup", proj),
        ),
        2 => (
            nfs(&host("nfs"), &format!("/export/{proj}"), "data", "onprem"),
            nfs(
                &format!("cvo-dr.{domain}"),
                &format!("/{proj}_dr"),
                "",
                "cvo",
            ),
        ),
        3 => (
            s3(&format!("{slug}-{proj}"), "2024"),
            gcp(&format!("{slug}-archive"), proj),
        ),
        4 => (
            sftp(&host("sftp"), "/srv/exchange", proj),
            s3(&format!("{slug}-inbound"), proj),
        ),
        _ => (
            nfs(&host("nfs"), &format!("/export/{proj}"), "", "onprem"),
            sgws(&format!("grid.{domain}"), &format!("{slug}-objects"), proj),
        ),
    }
}
