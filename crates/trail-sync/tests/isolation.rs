//! A batch that TestRail rejects because of some entries is split until
//! the bad entries are isolated: the good ones are stored and the bad ones
//! are listed with TestRail's reason.

use testrail_api::models::{NewRun, NewSection};
use testrail_api::{Client, ClientConfig};
use testrail_emulator::{Emulator, EmulatorConfig};
use trail_sync::plan::{CaseTarget, PlannedResult, PlannedRun};
use trail_sync::{ExecuteOptions, Executor, Journal, NoReporter, SyncPlan};

async fn client_for(emulator: &Emulator) -> Client {
    Client::new(ClientConfig::new(&emulator.url(), "admin@example.com", "secret").unwrap()).unwrap()
}

fn result(case_id: u64, status_id: u64) -> PlannedResult {
    PlannedResult {
        case: CaseTarget::Existing(case_id),
        status_id,
        comment: Some(format!("result for C{case_id}")),
        tests: vec![format!("test of C{case_id}")],
        ..PlannedResult::default()
    }
}

#[tokio::test]
async fn bad_entries_are_isolated() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let client = client_for(&emulator).await;

    let section = client
        .add_section(1, &NewSection::new("Isolation"))
        .await
        .unwrap();
    let mut case_ids = Vec::new();
    for index in 0..21 {
        let mut fields = serde_json::Map::new();
        fields.insert("title".into(), format!("case {index}").into());
        case_ids.push(client.add_case(section.id, &fields).await.unwrap().id);
    }
    let outside_run = case_ids.pop().unwrap();
    let run = client
        .add_run(1, &NewRun::new("Isolation").cases(case_ids.clone()))
        .await
        .unwrap();

    let mut results: Vec<PlannedResult> = case_ids.iter().map(|id| result(*id, 1)).collect();
    results[4] = result(case_ids[4], 3);
    results.push(result(outside_run, 5));
    let plan = SyncPlan {
        project_id: 1,
        project_name: "Demo".into(),
        suite_id: 1,
        run: PlannedRun::Existing { id: run.id },
        run_cases: case_ids
            .iter()
            .map(|id| CaseTarget::Existing(*id))
            .collect(),
        results,
        ..SyncPlan::default()
    };

    let journal = Journal::new("isolation".into(), plan);
    let options = ExecuteOptions {
        batch_size: 50,
        concurrency: 2,
    };
    let journal = Executor::new(&client, None, journal, options, &NoReporter)
        .run()
        .await
        .unwrap();

    let rejected: Vec<u64> = journal.rejected.iter().map(|r| r.case_id).collect();
    assert_eq!(rejected.len(), 2, "{:?}", journal.rejected);
    assert!(
        rejected.contains(&case_ids[4]),
        "Untested as a result is rejected"
    );
    assert!(
        rejected.contains(&outside_run),
        "a case outside the run is rejected"
    );
    for entry in &journal.rejected {
        assert!(!entry.reason.is_empty(), "TestRail's reason is kept");
        assert!(
            !entry.tests.is_empty(),
            "the tests behind the entry are named"
        );
    }

    let stored = client.get_results_for_run(run.id).await.unwrap();
    assert_eq!(stored.len(), 19, "every good entry is stored");
    assert_eq!(journal.results_uploaded(), 19);
}
