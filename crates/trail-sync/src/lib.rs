//! The engine of trail: it ties test results to TestRail cases, plans the
//! requests an upload needs, and executes the plan with a journal so that an
//! interrupted upload resumes without losing or repeating a result.
//!
//! The steps are [`Context::load`] (read the project, suite, cases and
//! statuses), [`build_plan`] (decide sections, cases, run and results, with
//! no request sent), and [`Executor`] (send the plan). [`upload`] runs all
//! three.
//!
//! The example uploads a JUnit report to the TestRail emulator of this
//! workspace; the same code works against a real instance.
//!
//! ```
//! use testrail_api::{Client, ClientConfig};
//! use trail_sync::{ProjectRef, RunTarget, SyncOptions, NoReporter, upload};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let emulator = testrail_emulator::Emulator::start(Default::default()).await?;
//! # let folder = tempfile::tempdir()?;
//! # let report = folder.path().join("junit.xml");
//! # std::fs::write(&report, r#"<testsuite name="auth"><testcase classname="auth" name="logs in"/></testsuite>"#)?;
//! let client = Client::new(ClientConfig::new(&emulator.url(), "admin@example.com", "secret")?)?;
//! let results: Vec<trail_reports::TestResult> =
//!     trail_reports::read_report(&report)?.collect::<Result<_, _>>()?;
//! let options = SyncOptions::new(ProjectRef::Name("Demo".into()), RunTarget::Name("Nightly".into()));
//! let summary = upload(&client, &results, &options, "inputs-hash", &NoReporter).await?;
//! assert_eq!(summary.results_uploaded, 1);
//! println!("{} results uploaded to {:?}", summary.results_uploaded, summary.run_url);
//! # emulator.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod attachments;
pub mod cache;
pub mod comment;
pub mod context;
pub mod coord;
pub mod elapsed;
mod error;
pub mod execute;
pub mod fields;
pub mod journal;
pub mod matching;
pub mod options;
pub mod plan;
pub mod reporter;
pub mod result_fields;
pub mod status;
pub mod summary;
mod upload;

pub use cache::{CacheStats, MetadataCache};
pub use context::Context;
pub use error::SyncError;
pub use execute::{ExecuteOptions, Executor};
pub use journal::{Journal, JournalStore};
pub use options::{
    AttachmentOptions, CaseUpdates, CommentOptions, ProjectRef, ProjectsAsPlan, RunOptions,
    RunTarget, SectionRef, SyncOptions,
};
pub use plan::{SyncPlan, build_plan};
pub use reporter::{Event, NoReporter, Phase, Reporter};
pub use status::StatusMap;
pub use summary::{PhaseTimings, PlanRunSummary, PlanSummary, Rejected, Summary};
pub use upload::{Session, UploadMode, resume, upload, upload_in, upload_with};
