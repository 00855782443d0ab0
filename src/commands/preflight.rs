//! Everything `serve` needs before it starts, checked by one function that `check` runs
//! too, so that what one refuses the other refuses (issue 13 point 7): the config, the flags
//! that change it, the web config, the listen address, every target's secrets and every
//! target's client (CA bundle, proxy).
//!
//! A problem here is a config error (exit 2), one line each. Only what the running system
//! decides stays a runtime failure of `serve` (exit 1): a listen port already in use.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::adapter::{Adapter, AdapterContext};
use crate::api::ApiMetrics;
use crate::cli::StartArgs;
use crate::clock::Clock;
use crate::config::{ConfigError, DEFAULT_PORT, Settings};
use crate::vendors::build;
use crate::web::WebConfig;

/// What `serve` starts from, every part checked.
pub struct Ready {
    /// The whole config (every target, not only this shard's).
    pub settings: Settings,
    pub web: Option<WebConfig>,
    pub listen: String,
    /// One adapter for each of `settings.targets`, in order.
    pub adapters: Vec<Arc<dyn Adapter>>,
    pub api: ApiMetrics,
}

impl Ready {
    /// The settings and adapters of this replica's shard, for [`crate::exporter::Exporter`].
    pub fn sharded(&self) -> (Settings, Vec<Arc<dyn Adapter>>) {
        let settings = self.settings.sharded();
        let adapters = self
            .settings
            .targets
            .iter()
            .zip(&self.adapters)
            .filter(|(t, _)| settings.targets.iter().any(|s| s.name == t.name))
            .map(|(_, a)| a.clone())
            .collect();
        (settings, adapters)
    }
}

/// Loads and checks everything `serve` would start from. Every target is checked, whatever
/// the shard: a config shared by the replicas is refused as a whole.
pub async fn prepare(args: &StartArgs, clock: Clock) -> anyhow::Result<Ready> {
    let mut settings = Settings::load(&args.config)?;
    let mut problems = Vec::new();
    match crate::metrics::check_exclude(&args.exclude_metrics) {
        Ok(e) => settings.exclude_metrics = e,
        Err(e) => problems.push(e.to_string()),
    }
    if let (Some(index), Some(total)) = (args.shard, args.total_shards) {
        match crate::shard::Shard::new(index, total) {
            Ok(shard) => settings.shard = Some(shard),
            Err(e) => problems.push(format!("--shard/--total-shards: {e}")),
        }
    }
    let web = args
        .web_config
        .as_deref()
        .map(WebConfig::load)
        .transpose()?;
    let (listen, key) = match (&args.listen, &settings.listen) {
        (Some(l), _) => (l.clone(), "--listen"),
        (None, Some(l)) => (l.clone(), "`listen`"),
        (None, None) => (
            format!("0.0.0.0:{DEFAULT_PORT}"),
            "the default listen address",
        ),
    };
    if let Err(e) = check_listen(&listen).await {
        problems.push(format!("{key}: {e}"));
    }
    // Secrets must be readable now, not at the first login at 3 a.m.
    for t in &settings.targets {
        for (key, src) in &t.secrets {
            if let Err(e) = src.read() {
                problems.push(format!("{}: `{key}`: {e}", t.describe()));
            }
        }
        for e in t.vendor_settings.check_files() {
            problems.push(format!("{}: {e}", t.describe()));
        }
    }
    let api = ApiMetrics::default();
    let ctx = AdapterContext {
        metrics: api.clone(),
        clock,
    };
    let mut adapters = Vec::new();
    for t in &settings.targets {
        match build(t, &ctx) {
            Ok(a) => adapters.push(a),
            Err(e) => problems.push(format!("{}: {e}", t.describe())),
        }
    }
    if !problems.is_empty() {
        return Err(ConfigError { problems }.into());
    }
    Ok(Ready {
        settings,
        web,
        listen,
        adapters,
        api,
    })
}

/// `listen` must be `HOST:PORT` naming an address of this machine that we may bind. The
/// port is tried and let go at once; a port in use is fine here (the exporter being checked
/// may be running), and fails `serve` as a runtime error when it binds for real.
async fn check_listen(listen: &str) -> Result<(), String> {
    let form = "HOST:PORT, e.g. 0.0.0.0:9987 or [::]:9987";
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host(listen)
        .await
        .map_err(|e| format!("{listen:?} is not an address to listen on ({form}): {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("{listen:?} resolves to no address ({form})"));
    }
    for addr in addrs {
        match std::net::TcpListener::bind(addr) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {}
            Err(e) => return Err(format!("cannot listen on {addr}: {e}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn listen_addresses_are_checked_for_form_and_for_this_machine() {
        assert!(check_listen("127.0.0.1:0").await.is_ok());
        let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let in_use = held.local_addr().unwrap().to_string();
        assert!(check_listen(&in_use).await.is_ok(), "a port in use is fine");
        for bad in [
            "9987",
            "0.0.0.0:99999",
            "0.0.0.0",
            "[::1:9987",
            "localhost:http",
        ] {
            let e = check_listen(bad).await.unwrap_err();
            assert!(e.contains("is not an address to listen on"), "{bad}: {e}");
        }
        // TEST-NET-3 (RFC 5737) is never an address of this machine.
        let e = check_listen("203.0.113.7:9987").await.unwrap_err();
        assert!(e.starts_with("cannot listen on 203.0.113.7:9987: "), "{e}");
    }
}
