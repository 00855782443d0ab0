use std::process::ExitCode;

use futures::StreamExt;

use crate::adapter::AdapterContext;
use crate::api::ApiMetrics;
use crate::cli::CheckArgs;
use crate::clock::Clock;
use crate::config::Settings;
use crate::vendors::build;

pub async fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(&args.config)?;
    let mut problems = Vec::new();
    // Secrets must be readable now, not at the first login at 3 a.m.
    for t in &settings.targets {
        for (key, src) in &t.secrets {
            if let Err(e) = src.read() {
                problems.push(format!("{}: `{key}`: {e}", t.describe()));
            }
        }
    }
    if !problems.is_empty() {
        return Err(crate::config::ConfigError { problems }.into());
    }
    println!(
        "{}: ok ({} targets)",
        settings.path.display(),
        settings.targets.len()
    );
    if !args.online {
        return Ok(ExitCode::SUCCESS);
    }
    let ctx = AdapterContext {
        metrics: ApiMetrics::default(),
        clock: Clock::system(),
    };
    let mut failed = 0;
    let results: Vec<(String, Result<String, String>)> = futures::stream::iter(&settings.targets)
        .map(|t| {
            let ctx = ctx.clone();
            async move {
                let r = match build(t, &ctx) {
                    Ok(a) => {
                        let r = tokio::time::timeout(t.timeout, a.probe()).await;
                        a.close().await;
                        match r {
                            Ok(Ok(s)) => Ok(s),
                            Ok(Err(e)) => Err(e.to_string()),
                            Err(_) => Err("timed out".to_owned()),
                        }
                    }
                    Err(e) => Err(e),
                };
                (t.describe(), r)
            }
        })
        .buffered(4)
        .collect()
        .await;
    for (name, r) in results {
        match r {
            Ok(s) => println!("{name}: ok: {s}"),
            Err(e) => {
                failed += 1;
                println!("{name}: FAILED: {e}");
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::EXIT_RUNTIME)
    })
}
