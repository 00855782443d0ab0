use std::process::ExitCode;

use futures::StreamExt;

use crate::cli::CheckArgs;
use crate::clock::Clock;

/// Checks what `serve` would check before it starts ([`super::preflight::prepare`]), and
/// with `--online` logs in to every target.
pub async fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let ready = super::preflight::prepare(&args.start, Clock::system()).await?;
    let settings = &ready.settings;
    println!(
        "{}: ok ({} targets)",
        settings.path.display(),
        settings.targets.len()
    );
    if !args.online {
        return Ok(ExitCode::SUCCESS);
    }
    let mut failed = 0;
    let results: Vec<(String, Result<String, String>)> =
        futures::stream::iter(settings.targets.iter().zip(&ready.adapters))
            .map(|(t, a)| async move {
                let r = tokio::time::timeout(t.timeout, a.probe()).await;
                a.close().await;
                let r = match r {
                    Ok(Ok(s)) => Ok(s),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err("timed out".to_owned()),
                };
                (t.describe(), r)
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
