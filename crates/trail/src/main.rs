//! The `trail` command: upload automated test results into TestRail.

mod check;
mod cli;
mod config;
mod demo;
mod exit;
mod output;
mod parallel;
mod progress;
mod report;
mod stats;

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    config::warn_deprecated_env();
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet);

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(exit::CONFIG);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(exit::CONFIG)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<u8> {
    let file = || config::load_file(cli.config.as_deref());
    let progress = !cli.no_progress && !cli.quiet && cli.verbose == 0;
    match cli.command {
        Command::Report(args) => {
            interruptible(report::report(*args, file()?, progress, cli.quiet)).await
        }
        Command::Check(args) => Ok(check::check(args)),
        Command::Resume(args) => interruptible(report::resume(args, file()?)).await,
        Command::Demo(args) => demo::demo(args).await,
        Command::Submit(args) => parallel::submit(*args, file()?).await,
        Command::Flush(args) => parallel::flush(*args, file()?).await,
        Command::Workers(args) => parallel::workers(args, file()?).await,
        Command::Finish(args) => parallel::finish(*args, file()?).await,
        Command::Run(command) => parallel::run(command, file()?).await,
        Command::Emulator(args) => {
            testrail_emulator::serve(*args)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(exit::SUCCESS)
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "trail", &mut std::io::stdout());
            Ok(exit::SUCCESS)
        }
    }
}

/// Runs an upload until it ends or the user presses Ctrl-C, and then says
/// how to finish it.
async fn interruptible(
    upload: impl std::future::Future<Output = anyhow::Result<u8>>,
) -> anyhow::Result<u8> {
    tokio::select! {
        outcome = upload => outcome,
        _ = tokio::signal::ctrl_c() => {
            eprintln!(
                "interrupted: what was sent is journaled in the spool directory (`.trail` unless \
                 --spool or TRAIL_SPOOL says otherwise); rerun the same command or run \
                 `trail resume` to finish the upload"
            );
            Ok(exit::INTERRUPTED)
        }
    }
}

fn init_logging(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug,hyper=info,reqwest=info",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_env("TRAIL_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(ansi)
        .init();
}
