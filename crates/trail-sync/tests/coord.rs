//! The coordinator's library API against the emulator: several workers
//! submit into one spool and one finish uploads everything once.

use std::path::Path;
use std::time::Duration;

use testrail_api::models::RunFilter;
use testrail_api::{Client, ClientConfig};
use testrail_emulator::{Emulator, EmulatorConfig};
use trail_sync::coord::{
    CoordError, Coordinator, CoordinatorOptions, FlushMode, FlushSettings, Flusher, LeaseFile,
    Spool, SpooledResult,
};
use trail_sync::{ProjectRef, RunTarget, SyncOptions};

fn options(run: &str, worker: &str) -> CoordinatorOptions {
    let sync = SyncOptions::new(ProjectRef::Name("Demo".into()), RunTarget::Name(run.into()));
    let mut options = CoordinatorOptions::new(sync);
    options.batch_size = 25;
    options.flush_after = Duration::from_millis(100);
    options.worker_id = Some(worker.into());
    options
}

fn result(worker: usize, index: usize) -> SpooledResult {
    let status = if index % 5 == 4 { "skipped" } else { "passed" };
    let line = format!(
        r#"{{"name": "worker {worker} case {index}", "suite": ["Lib", "W{worker}"], "status": "{status}", "duration_ms": 30}}"#
    );
    serde_json::from_str(&line).unwrap()
}

fn client(emulator: &Emulator) -> Client {
    Client::new(ClientConfig::new(&emulator.url(), "admin@example.com", "secret").unwrap()).unwrap()
}

fn submit_all(spool: &Path, worker: usize) {
    let coordinator = Coordinator::open(spool, options("Library", &format!("w{worker}"))).unwrap();
    for index in 0..40 {
        coordinator
            .submit_spooled(&[result(worker, index)])
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finish_uploads_every_submit_once() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().to_path_buf();

    let threads: Vec<_> = (0..4)
        .map(|worker| {
            let spool = spool.clone();
            std::thread::spawn(move || submit_all(&spool, worker))
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let coordinator = Coordinator::attach(&spool)
        .unwrap()
        .with_client(client(&emulator));
    assert_eq!(coordinator.status().unwrap().queued_results, 160);

    let summary = coordinator
        .finish_within(true, Duration::from_secs(120))
        .await
        .unwrap();
    assert_eq!(summary.results_submitted, 160);
    assert_eq!(summary.results_uploaded, 128);
    assert_eq!(summary.results_skipped, 32);
    assert!(summary.batches >= 160 / 25, "{} batches", summary.batches);
    assert!(summary.run_closed);
    assert!(
        LeaseFile::new(&spool).live().unwrap().is_none(),
        "the lease is released"
    );

    let client = client(&emulator);
    let runs = client.get_runs(1, &RunFilter::default()).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert!(runs[0].is_completed);
    let results = client.get_results_for_run(runs[0].id).await.unwrap();
    assert_eq!(results.len(), 128);
    let tests = client.get_tests(runs[0].id, None).await.unwrap();
    assert_eq!(tests.len(), 160, "skipped tests are in the run as Untested");
}

#[test]
fn spool_rejects_other_run_name() {
    let dir = tempfile::tempdir().unwrap();
    Coordinator::open(dir.path(), options("First", "w1")).unwrap();
    let error = match Coordinator::open(dir.path(), options("Second", "w2")) {
        Ok(_) => panic!("a second run name was accepted"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("run"), "{error}");
    assert!(error.contains("hint:"), "{error}");
}

#[test]
fn invalid_result_is_not_queued() {
    let dir = tempfile::tempdir().unwrap();
    let coordinator = Coordinator::open(dir.path(), options("Run", "w1")).unwrap();
    let bad: SpooledResult = serde_json::from_str(r#"{"name": "x", "status": "purple"}"#).unwrap();
    let error = coordinator
        .submit_spooled(&[result(0, 0), bad])
        .unwrap_err()
        .to_string();
    assert!(error.contains("purple"), "{error}");
    assert_eq!(coordinator.status().unwrap().queued_files, 0);
}

/// Returns the names of the runs and the number of results in each.
async fn results_per_run(client: &Client) -> Vec<(String, usize)> {
    let mut runs = Vec::new();
    for run in client.get_runs(1, &RunFilter::default()).await.unwrap() {
        let results = client.get_results_for_run(run.id).await.unwrap();
        runs.push((run.name, results.len()));
    }
    runs.sort();
    runs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_flusher_skips_next_session() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().to_path_buf();

    let first = Coordinator::open(&spool, options("Session A", "w1")).unwrap();
    first.submit_spooled(&[result(1, 0)]).unwrap();
    let background = Flusher::new(
        &Spool::open(&spool).unwrap(),
        client(&emulator),
        None,
        FlushSettings::default(),
    )
    .unwrap();
    let background = tokio::spawn(async move {
        let idle_exit = Duration::from_secs(3600);
        background.run(FlushMode::Background { idle_exit }).await
    });
    let first = first.with_client(client(&emulator));
    let summary = first
        .finish_within(false, Duration::from_secs(120))
        .await
        .unwrap();
    assert_eq!(summary.results_uploaded, 1);

    let second = Coordinator::open(&spool, options("Session B", "w1"))
        .unwrap()
        .with_client(client(&emulator));
    assert_ne!(second.config().session, first.config().session);
    second
        .submit_spooled(&[result(2, 0), result(2, 1)])
        .unwrap();
    let late = first.submit_spooled(&[result(1, 1)]).unwrap_err();
    assert!(
        matches!(late, CoordError::SessionEnded { .. }),
        "a submit into the ended session was accepted: {late}"
    );
    let summary = second
        .finish_within(false, Duration::from_secs(120))
        .await
        .unwrap();
    assert_eq!(summary.results_submitted, 2);
    assert_eq!(summary.results_uploaded, 2);

    let stopped = tokio::time::timeout(Duration::from_secs(120), background)
        .await
        .expect("the flusher of session A stops although its idle time is an hour")
        .unwrap();
    assert!(stopped.is_ok(), "{stopped:?}");
    let runs = results_per_run(&client(&emulator)).await;
    assert_eq!(
        runs,
        [("Session A".to_owned(), 1), ("Session B".to_owned(), 2)]
    );
}
