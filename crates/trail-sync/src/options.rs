//! Settings of an upload: target project, section, run and policies.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A project named by id or by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProjectRef {
    /// Project id.
    Id(u64),
    /// Project name, compared exactly and then case-insensitively.
    Name(String),
}

impl ProjectRef {
    /// Reads `12`, `P12` or a name.
    pub fn parse(text: &str) -> ProjectRef {
        let trimmed = text.trim();
        let digits = trimmed.strip_prefix('P').unwrap_or(trimmed);
        match digits.parse::<u64>() {
            Ok(id) if !digits.is_empty() => ProjectRef::Id(id),
            _ => ProjectRef::Name(trimmed.to_owned()),
        }
    }
}

/// The section under which the report's hierarchy is placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SectionRef {
    /// An existing section id.
    Id(u64),
    /// A path of section names from the suite's top level, created when
    /// missing.
    Path(Vec<String>),
}

impl SectionRef {
    /// Reads `12`, `S12` or a path such as `Web/Checkout`.
    pub fn parse(text: &str) -> SectionRef {
        let trimmed = text.trim();
        let digits = trimmed.strip_prefix('S').unwrap_or(trimmed);
        match digits.parse::<u64>() {
            Ok(id) if !digits.is_empty() => SectionRef::Id(id),
            _ => SectionRef::Path(
                trimmed
                    .split('/')
                    .map(str::trim)
                    .filter(|part| !part.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
        }
    }
}

/// The run that receives the results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunTarget {
    /// An existing run id.
    Id(u64),
    /// The open run of this name in the project and suite, created when
    /// there is none.
    Name(String),
}

/// How the comment of a result is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentOptions {
    /// Text put before everything else, such as who or what ran the tests.
    pub prefix: Option<String>,
    /// Number of stack lines kept after the message.
    pub stack_lines: usize,
    /// Maximum comment length in characters; longer comments are cut with
    /// a note.
    pub max_chars: usize,
}

impl Default for CommentOptions {
    fn default() -> Self {
        CommentOptions {
            prefix: None,
            stack_lines: 10,
            max_chars: 20_000,
        }
    }
}

/// Whether existing cases are changed to match the tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseUpdates {
    /// Existing cases are never changed.
    Never,
    /// Fields that trail manages are sent when they differ from the case.
    #[default]
    Changed,
}

/// How files attached to test results are uploaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentOptions {
    /// Uploads attachments with `add_attachment_to_result`.
    pub enabled: bool,
    /// Maximum size of one attachment in bytes; larger files are skipped
    /// with a warning.
    pub max_bytes: u64,
    /// Accepts attachment paths outside the directory of their report.
    pub allow_outside: bool,
}

/// Default maximum size of one attachment: 10 MiB.
pub const DEFAULT_ATTACHMENT_MAX_BYTES: u64 = 10 * 1024 * 1024;

impl Default for AttachmentOptions {
    fn default() -> Self {
        AttachmentOptions {
            enabled: true,
            max_bytes: DEFAULT_ATTACHMENT_MAX_BYTES,
            allow_outside: false,
        }
    }
}

/// Settings of a run that trail creates, and the people results are
/// assigned to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunOptions {
    /// Always creates a new run, even when an open run has the same name.
    pub reset: bool,
    /// Milestone name of a new run.
    pub milestone: Option<String>,
    /// References (such as ticket ids) of a new run.
    pub refs: Option<String>,
    /// E-mail of the user a new run is assigned to.
    pub assign_to: Option<String>,
    /// Creates the run with every case of the suite, not only the reported
    /// ones.
    pub include_all: bool,
    /// E-mails of users that failed results are assigned to, in turn.
    pub assign_failed: Vec<String>,
}

/// Everything an upload needs besides the results and the client.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncOptions {
    /// Target project.
    pub project: ProjectRef,
    /// Target suite; required for projects with several suites.
    pub suite_id: Option<u64>,
    /// Root section for the report's hierarchy; the suite's top level when
    /// `None`.
    pub section: Option<SectionRef>,
    /// Target run.
    pub run: RunTarget,
    /// Description of a run that trail creates.
    pub run_description: Option<String>,
    /// Creates cases for results that match none.
    pub create_cases: bool,
    /// Closes the run after the upload.
    pub close_run: bool,
    /// Results per `add_results_for_cases` request.
    pub batch_size: usize,
    /// Status overrides as `outcome=Status name` pairs, such as
    /// `skipped=Blocked` or `failed=Retest`; the name `none` means the
    /// outcome is not posted.
    pub status_overrides: Vec<(String, String)>,
    /// Comment layout.
    pub comment: CommentOptions,
    /// Build or version string put into each result's `version` field.
    pub version: Option<String>,
    /// Spool directory for the journal that makes uploads resumable; no
    /// journal when `None`.
    pub spool_dir: Option<PathBuf>,
    /// Whether existing cases are updated.
    #[serde(default)]
    pub update_cases: CaseUpdates,
    /// Label of the platform dropdown item that cases get, such as `Web`.
    #[serde(default)]
    pub platform: Option<String>,
    /// Attachment upload.
    #[serde(default)]
    pub attachments: AttachmentOptions,
    /// Settings of the run.
    #[serde(default)]
    pub run_options: RunOptions,
    /// Custom result fields as `name=value` pairs; the name is a system name
    /// or a label from `get_result_fields`.
    #[serde(default)]
    pub result_fields: Vec<(String, String)>,
    /// Reports to a test plan with one run per Playwright project instead of
    /// to one run; `None` keeps one run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projects_as_plan: Option<ProjectsAsPlan>,
    /// Requests the executor keeps in flight at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
}

/// Settings of an upload to a test plan with one run per Playwright project.
///
/// The plan is named by [`RunTarget::Name`]. Each project becomes a
/// configuration of the group, and each configuration gets its own run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectsAsPlan {
    /// Name of the configuration group that contains one configuration per
    /// project, created when missing.
    pub config_group: String,
}

/// Default name of the configuration group for Playwright projects.
pub const DEFAULT_CONFIG_GROUP: &str = "Browser";

impl Default for ProjectsAsPlan {
    fn default() -> Self {
        ProjectsAsPlan {
            config_group: DEFAULT_CONFIG_GROUP.to_owned(),
        }
    }
}

impl SyncOptions {
    /// Options with trail's defaults for a project and run.
    pub fn new(project: ProjectRef, run: RunTarget) -> SyncOptions {
        SyncOptions {
            project,
            suite_id: None,
            section: None,
            run,
            run_description: None,
            create_cases: true,
            close_run: false,
            batch_size: 250,
            status_overrides: Vec::new(),
            comment: CommentOptions::default(),
            version: None,
            spool_dir: None,
            update_cases: CaseUpdates::Changed,
            platform: None,
            attachments: AttachmentOptions::default(),
            run_options: RunOptions::default(),
            result_fields: Vec::new(),
            projects_as_plan: None,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
}

/// Requests in flight at once unless set: enough to hide a round trip of
/// tens of milliseconds behind the others without crowding the server.
pub const DEFAULT_CONCURRENCY: usize = 8;

fn default_concurrency() -> usize {
    DEFAULT_CONCURRENCY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_ref_forms() {
        assert_eq!(ProjectRef::parse("12"), ProjectRef::Id(12));
        assert_eq!(ProjectRef::parse("P7"), ProjectRef::Id(7));
        assert_eq!(ProjectRef::parse("Demo"), ProjectRef::Name("Demo".into()));
        assert_eq!(ProjectRef::parse("P"), ProjectRef::Name("P".into()));
    }

    #[test]
    fn section_ref_forms() {
        assert_eq!(SectionRef::parse("S4"), SectionRef::Id(4));
        assert_eq!(
            SectionRef::parse("Web / Checkout/"),
            SectionRef::Path(vec!["Web".into(), "Checkout".into()])
        );
    }
}
