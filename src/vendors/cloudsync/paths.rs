//! Endpoints in the path notation people know for each protocol.

use super::wire::{Endpoint, EndpointDetails};

/// Joins path parts with single slashes, skipping empty ones.
fn join(parts: &[Option<&str>]) -> String {
    parts
        .iter()
        .flatten()
        .map(|p| p.trim_matches('/'))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

fn with_port(host: &str, port: Option<&str>) -> String {
    match port.filter(|p| !p.is_empty()) {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    }
}

/// An endpoint as a path people recognise: `host:/export/dir` for NFS, `//host/share/dir`
/// for SMB, `s3://bucket/prefix`, `gs://bucket/prefix`,
/// `azure://account/container/prefix`, `sftp://host:port/root/dir`, a plain path for local.
pub(super) fn endpoint_path(ep: &Endpoint) -> String {
    let protocol = ep.protocol.as_deref().unwrap_or("").to_ascii_lowercase();
    let details: Option<&EndpointDetails> = match protocol.as_str() {
        "nfs" => ep.nfs.as_ref(),
        "cifs" => ep.cifs.as_ref(),
        "s3" => ep.s3.as_ref(),
        "local" => ep.local.as_ref(),
        "azure" => ep.azure.as_ref(),
        "gcp" => ep.gcp.as_ref(),
        "sftp" => ep.sftp.as_ref(),
        "box" => ep.box_.as_ref(),
        "gdrive" => ep.gdrive.as_ref(),
        _ => None,
    };
    let Some(d) = details else {
        return if protocol.is_empty() {
            "unknown".to_owned()
        } else {
            format!("{protocol}://")
        };
    };
    let s = |o: &Option<String>| o.as_deref().filter(|v| !v.is_empty()).map(str::to_owned);
    match protocol.as_str() {
        "nfs" => {
            let host = s(&d.host).unwrap_or_default();
            format!(
                "{host}:/{}",
                join(&[d.export.as_deref(), d.path.as_deref()])
            )
        }
        "cifs" => format!(
            "//{}",
            join(&[d.host.as_deref(), d.share.as_deref(), d.path.as_deref()])
        ),
        "s3" => {
            let provider = s(&d.provider).unwrap_or_else(|| "s3".into());
            let location = join(&[d.bucket.as_deref(), d.prefix.as_deref()]);
            match (provider.as_str(), s(&d.host)) {
                ("s3", _) | (_, None) => format!("{provider}://{location}"),
                (_, Some(host)) => {
                    format!(
                        "{provider}://{}/{location}",
                        with_port(&host, d.port.as_deref())
                    )
                }
            }
        }
        "gcp" => format!("gs://{}", join(&[d.bucket.as_deref(), d.prefix.as_deref()])),
        "azure" => format!(
            "azure://{}",
            join(&[
                d.storage_account_name.as_deref(),
                d.container.as_deref(),
                d.prefix.as_deref().or(d.path.as_deref()),
            ])
        ),
        "local" => d.path.clone().unwrap_or_default(),
        "sftp" => {
            let host = with_port(&s(&d.host).unwrap_or_default(), d.port.as_deref());
            let rest = join(&[d.root_directory.as_deref(), d.path.as_deref()]);
            format!("sftp://{host}/{rest}")
        }
        "box" => format!(
            "box://{}",
            join(&[
                d.root_directory.as_deref().or(d.folder_id.as_deref()),
                d.path.as_deref(),
            ])
        ),
        "gdrive" => format!(
            "gdrive://{}",
            join(&[
                d.drive_name.as_deref().or(d.drive_id.as_deref()),
                d.path.as_deref(),
            ])
        ),
        _ => unreachable!("protocols without details returned above"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(json: &str) -> Endpoint {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn endpoints_in_path_notation() {
        let cases = [
            (
                r#"{"protocol":"nfs","nfs":{"host":"nfs01","export":"/export/projects","path":"/alpha","provider":"onprem"}}"#,
                "nfs01:/export/projects/alpha",
            ),
            (
                r#"{"protocol":"nfs","nfs":{"host":"10.0.0.5","export":"/vol1","provider":"cvo"}}"#,
                "10.0.0.5:/vol1",
            ),
            (
                r#"{"protocol":"cifs","cifs":{"host":"fs02","share":"finance","path":"reports/2024","provider":"onprem"}}"#,
                "//fs02/finance/reports/2024",
            ),
            (
                r#"{"protocol":"s3","s3":{"bucket":"acme-backup","prefix":"projects/","provider":"s3","region":"eu-west-1"}}"#,
                "s3://acme-backup/projects",
            ),
            (
                r#"{"protocol":"s3","s3":{"host":"grid.example","port":8082,"bucket":"b","provider":"sgws"}}"#,
                "sgws://grid.example:8082/b",
            ),
            (
                r#"{"protocol":"gcp","gcp":{"bucket":"logs","prefix":"2024","provider":"gcp"}}"#,
                "gs://logs/2024",
            ),
            (
                r#"{"protocol":"azure","azure":{"storageAccountName":"jb","container":"c","prefix":"DIR1","provider":"azure"}}"#,
                "azure://jb/c/DIR1",
            ),
            (
                r#"{"protocol":"local","local":{"path":"/mnt/data"}}"#,
                "/mnt/data",
            ),
            (
                r#"{"protocol":"sftp","sftp":{"host":"h","port":22,"rootDirectory":"/home","path":"in","provider":"sftp"}}"#,
                "sftp://h:22/home/in",
            ),
            (
                r#"{"protocol":"gdrive","gdrive":{"driveId":"d1","driveName":"Team","path":"/x","provider":"gdrive","subject":"a@b"}}"#,
                "gdrive://Team/x",
            ),
            (
                r#"{"protocol":"box","box":{"folderId":"0","rootDirectory":"All Files","path":"x","clientId":"c","provider":"box"}}"#,
                "box://All Files/x",
            ),
            (r#"{"protocol":"ftp"}"#, "ftp://"),
            (r#"{}"#, "unknown"),
        ];
        for (json, want) in cases {
            assert_eq!(endpoint_path(&ep(json)), want, "{json}");
        }
    }
}
