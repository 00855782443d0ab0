use std::process::ExitCode;

use anyhow::Context;

use crate::cli::SimulateArgs;
use crate::sim::{FaultSpec, SimContext, SimServer};

pub async fn run(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let ctx = SimContext::new(args.seed, args.objects);
    for f in &args.faults {
        let spec: FaultSpec = f
            .parse()
            .map_err(|e: String| anyhow::anyhow!("--fault: {e}"))?;
        ctx.faults.apply(&spec);
    }
    let server = SimServer::start(&args.listen, ctx, crate::vendors::simulators())
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    match &args.config_out {
        Some(path) => {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "simulate".into());
            let dir = path.parent().unwrap_or(std::path::Path::new("."));
            let secrets = dir.join(format!("{stem}-secrets"));
            let yaml = server.demo_config(&secrets, None)?;
            crate::fsutil::write_atomic(path, yaml.as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!("config written to {}", path.display());
        }
        None => {
            let secrets =
                std::env::temp_dir().join(format!("backup-exporter-sim-{}", server.addr.port()));
            print!("{}", server.demo_config(&secrets, None)?);
        }
    }
    eprintln!(
        "simulators listening on {} (faults: PUT/DELETE {}/-/faults)",
        server.base_url(),
        server.base_url().as_str().trim_end_matches('/')
    );
    super::shutdown_signal().await;
    Ok(ExitCode::SUCCESS)
}
