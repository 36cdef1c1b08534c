//! An outage part way through an upload stops it with a clear error that
//! says how to resume; `resume` then finishes it with nothing lost or
//! repeated.

use std::time::Duration;

use testrail_api::{Client, ClientConfig};
use testrail_emulator::{Emulator, EmulatorConfig, FaultConfig};
use trail_reports::{Outcome, TestResult};
use trail_sync::{
    Context, ExecuteOptions, Executor, Journal, JournalStore, NoReporter, ProjectRef, RunTarget,
    StatusMap, SyncError, SyncOptions, build_plan, resume,
};

fn fast_client(emulator: &Emulator) -> Client {
    let mut config = ClientConfig::new(&emulator.url(), "admin@example.com", "secret").unwrap();
    config.retry.base_delay = Duration::from_millis(5);
    config.retry.max_delay = Duration::from_millis(20);
    config.retry.max_retries = 2;
    config.breaker.open_duration = Duration::from_millis(20);
    config.breaker.max_cycles = 1;
    Client::new(config).unwrap()
}

fn results(count: usize) -> Vec<TestResult> {
    (0..count)
        .map(|index| {
            let mut result = TestResult::default();
            result.identity.suite_path = vec!["outage".into()];
            result.identity.name = format!("test {index}");
            if index % 3 == 0 {
                result.outcome = Outcome::Failed;
            }
            result
        })
        .collect()
}

#[tokio::test]
async fn outage_stops_then_resume_finishes() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let client = fast_client(&emulator);
    let spool = tempfile::tempdir().unwrap();
    let store = JournalStore::open(spool.path()).unwrap();

    let mut options = SyncOptions::new(
        ProjectRef::Name("Demo".into()),
        RunTarget::Name("Outage".into()),
    );
    options.spool_dir = Some(spool.path().to_path_buf());
    let results = results(60);
    let mut context = Context::load(&client, &options).await.unwrap();
    context.load_creation_metadata(&client).await.unwrap();
    let statuses = StatusMap::resolve(&context.statuses, &[]).unwrap();
    let plan = build_plan(&results, &context, &options, &statuses).unwrap();
    let journal = Journal::new("outage".into(), plan);
    store.create(&journal).unwrap();

    emulator.set_faults(FaultConfig {
        fail_rate: 1.0,
        ..FaultConfig::default()
    });
    let execute = ExecuteOptions {
        batch_size: 10,
        concurrency: 2,
    };
    let error = Executor::new(&client, Some(&store), journal, execute.clone(), &NoReporter)
        .run()
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, SyncError::Interrupted { .. }), "{error:?}");
    assert!(
        message.contains("trail resume"),
        "the error says how to resume: {message}"
    );
    assert!(
        message.contains(&spool.path().display().to_string()),
        "the error names the spool: {message}"
    );
    assert_eq!(store.list().unwrap().len(), 1, "the journal is kept");

    emulator.set_faults(FaultConfig::default());
    client.reset_circuit_breaker();
    let summaries = resume(&client, &store, &options, &NoReporter)
        .await
        .unwrap();
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0].results_uploaded, 60);
    assert!(
        store.list().unwrap().is_empty(),
        "a finished upload removes its journal"
    );

    let state = emulator.state_json();
    assert_eq!(
        state["cases"].as_array().unwrap().len(),
        60,
        "no case is created twice"
    );
    assert_eq!(state["runs"].as_array().unwrap().len(), 1, "one run");
    assert_eq!(
        state["results"].as_array().unwrap().len(),
        60,
        "every result is stored once"
    );
}
