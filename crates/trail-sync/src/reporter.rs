//! Progress and events of an upload, reported to whoever drives it.

/// Something that happened during an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A phase began.
    Phase(Phase),
    /// A case was created.
    CaseCreated {
        /// New case id.
        case_id: u64,
        /// Its title.
        title: String,
    },
    /// TestRail stored this many more results.
    ResultsUploaded {
        /// Results in the batch.
        count: usize,
    },
    /// The plan is ready.
    Planned {
        /// Results to post.
        results: usize,
        /// Cases to create.
        cases: usize,
    },
    /// An unfinished upload of the same inputs is resumed.
    Resumed {
        /// Results already stored before this execution.
        results_done: usize,
    },
}

/// Phases of an upload, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Reading TestRail's project, suite, cases and statuses.
    Match,
    /// Building the plan.
    Plan,
    /// Sending the plan's requests.
    Execute,
}

/// Receives events; the command line shows them as progress, tests record
/// them.
pub trait Reporter: Send + Sync {
    /// Handles one event.
    fn event(&self, event: Event);
}

/// A reporter that ignores every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoReporter;

impl Reporter for NoReporter {
    fn event(&self, _event: Event) {}
}
