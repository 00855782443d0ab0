//! The subcommands. `anyhow` lives here, at the binary's edge.

mod check;
#[cfg(feature = "sim")]
mod demo;
mod preflight;
mod serve;
#[cfg(feature = "sim")]
mod simulate;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::config::ConfigError;
use crate::web::WebConfigError;

/// Exit codes of contract §1.
pub const EXIT_RUNTIME: u8 = 1;
pub const EXIT_CONFIG: u8 = 2;

pub async fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Serve(a) => serve::run(a).await,
        Command::Check(a) => check::run(a).await,
        Command::Report(a) => Ok(crate::report::run(a).await),
        Command::Verify(a) => Ok(crate::report::manifest::run_verify(&a)),
        Command::Keygen(a) => Ok(crate::report::manifest::run_keygen(&a)),
        #[cfg(feature = "sim")]
        Command::Simulate(a) => simulate::run(a).await,
        #[cfg(feature = "sim")]
        Command::Demo(a) => demo::run(a).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            if let Some(c) = e.downcast_ref::<ConfigError>() {
                for p in &c.problems {
                    eprintln!("config error: {p}");
                }
                return ExitCode::from(EXIT_CONFIG);
            }
            if let Some(w) = e.downcast_ref::<WebConfigError>() {
                eprintln!("web config error: {w}");
                return ExitCode::from(EXIT_CONFIG);
            }
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
