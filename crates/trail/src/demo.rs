//! `trail demo`: a complete upload against the built-in emulator, with no
//! TestRail, network or configuration needed.

use std::path::PathBuf;

use anyhow::Context as _;
use testrail_api::{Client, ClientConfig};
use testrail_emulator::{Emulator, EmulatorConfig};
use trail_sync::{NoReporter, ProjectRef, RunTarget, SyncOptions, UploadMode, upload_with};

use crate::cli::{DemoArgs, OutputFormat};
use crate::exit;
use crate::output;
use crate::report::read_reports;

/// Sample reports that ship inside the binary.
const SAMPLES: [(&str, &str); 1] = [("shop-junit.xml", include_str!("../samples/shop-junit.xml"))];

/// Runs the demo and returns the exit code.
pub async fn demo(args: DemoArgs) -> anyhow::Result<u8> {
    let emulator = Emulator::start(EmulatorConfig::default())
        .await
        .context("cannot start the emulator on 127.0.0.1")?;
    eprintln!("emulator listening on {}", emulator.url());

    let folder =
        tempfile::tempdir().context("cannot create a temporary folder for the sample reports")?;
    let mut files: Vec<PathBuf> = Vec::new();
    for (name, text) in SAMPLES {
        let path = folder.path().join(name);
        std::fs::write(&path, text)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
        files.push(path);
    }

    let defaults = EmulatorConfig::default();
    let config = ClientConfig::new(&emulator.url(), &defaults.user, &defaults.password)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let client = Client::new(config).map_err(|e| anyhow::anyhow!("{e}"))?;

    let (results, report_errors) = read_reports(&files);
    let mut options = SyncOptions::new(
        ProjectRef::Name("Demo".into()),
        RunTarget::Name("trail demo".into()),
    );
    options.run_description = Some("Sample results uploaded by `trail demo`.".into());
    let (summary, _) = match upload_with(
        &client,
        &results,
        &options,
        "demo",
        UploadMode::Execute,
        &NoReporter,
    )
    .await
    {
        Ok(done) => done,
        Err(error) => return Ok(crate::report::report_sync_error(&error)),
    };
    output::print_summary(&summary, &report_errors, args.format);

    if args.format == OutputFormat::Text
        && let Some(run_id) = summary.run_id
    {
        let run = client
            .get_run(run_id)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        println!();
        println!(
            "run R{} `{}` as the emulator now holds it:",
            run.id, run.name
        );
        println!(
            "  passed {}, failed {}, blocked {}, retest {}, untested {}",
            run.passed_count,
            run.failed_count,
            run.blocked_count,
            run.retest_count,
            run.untested_count
        );
    }
    emulator.shutdown().await;
    Ok(if summary.is_complete() && report_errors.is_empty() {
        exit::SUCCESS
    } else {
        exit::PARTIAL
    })
}
