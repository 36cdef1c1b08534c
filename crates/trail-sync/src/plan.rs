//! The upload plan: what trail will create, which run it fills and which
//! results it posts.
//!
//! A plan is built from the results and the [`Context`] without sending any
//! request, printed by `--dry-run`, and saved in the journal before it runs so
//! that an interrupted upload resumes where it stopped.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use trail_reports::{Outcome, TestResult};

use crate::attachments::{PlannedAttachment, plan_attachments};
use crate::comment::{comment_for, finish_comment};
use crate::context::{AUTOMATION_ID_FIELD, Context};
use crate::elapsed::format_elapsed;
use crate::error::SyncError;
use crate::fields::{
    FieldChange, FieldResolver, STEPS_FIELD, needs_type_metadata, top_level_steps,
};
use crate::matching::{automation_id, clean_title, explicit_case_ids, normalized_title};
use crate::options::{CaseUpdates, RunTarget, SectionRef, SyncOptions};
use crate::result_fields::resolve_result_fields;
use crate::status::StatusMap;

/// A section that exists or that the plan creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SectionTarget {
    /// An existing section id.
    Existing(u64),
    /// Index into [`SyncPlan::sections`].
    Planned(usize),
}

/// A case that exists or that the plan creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseTarget {
    /// An existing case id.
    Existing(u64),
    /// Index into [`SyncPlan::cases`].
    Planned(usize),
}

/// A section to create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedSection {
    /// Section name.
    pub name: String,
    /// Parent section; the suite's top level when `None`.
    pub parent: Option<SectionTarget>,
}

/// A case to create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedCase {
    /// Section that receives the case.
    pub section: SectionTarget,
    /// Case title.
    pub title: String,
    /// Fields sent with `add_case`, `title` included.
    pub fields: Map<String, Value>,
}

/// The run to fill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlannedRun {
    /// An existing run.
    Existing {
        /// Run id.
        id: u64,
    },
    /// The open run of this name, created when missing.
    ByName {
        /// Run name.
        name: String,
        /// Description of a new run.
        description: Option<String>,
        /// Creates a new run even when an open run has this name.
        #[serde(default)]
        reset: bool,
    },
    /// The open test plan of this name, created when missing, with one run
    /// per Playwright project, distinguished by configurations.
    Plan {
        /// Plan name.
        name: String,
        /// Description of a new plan.
        description: Option<String>,
        /// Creates a new plan even when an open plan has this name.
        #[serde(default)]
        reset: bool,
        /// Name of the configuration group of the runs.
        config_group: String,
        /// Runs of the plan, one per configuration; [`PlannedResult::run`]
        /// indexes this list.
        runs: Vec<PlannedPlanRun>,
    },
}

/// One run of a test plan: a configuration and the cases of its tests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedPlanRun {
    /// Configuration name, which is the Playwright project name.
    pub config: String,
    /// Cases the run must contain.
    pub cases: Vec<CaseTarget>,
}

/// Metadata that only some plans need, so it is read only then.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetadataNeeds {
    /// Case types and priorities, for purpose and priority tags.
    pub types: bool,
    /// Templates, for new cases with steps.
    pub templates: bool,
}

impl MetadataNeeds {
    /// Returns true when anything must be read.
    pub fn any(self) -> bool {
        self.types || self.templates
    }
}

/// Fields of a run that trail creates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedRunFields {
    /// Milestone id.
    pub milestone_id: Option<u64>,
    /// References, such as ticket ids.
    pub refs: Option<String>,
    /// User the run is assigned to.
    pub assignedto_id: Option<u64>,
    /// Includes every case of the suite.
    pub include_all: bool,
}

/// Managed fields of an existing case that differ from the tests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedUpdate {
    /// Case id.
    pub case_id: u64,
    /// Case title, for messages.
    pub title: String,
    /// Fields to send, with their current values.
    pub changes: Vec<FieldChange>,
}

impl PlannedUpdate {
    /// Returns the body of the update: the changed fields only.
    pub fn fields(&self) -> Map<String, Value> {
        self.changes
            .iter()
            .map(|change| (change.field.clone(), change.to.clone()))
            .collect()
    }
}

impl Default for PlannedRun {
    fn default() -> Self {
        PlannedRun::Existing { id: 0 }
    }
}

impl Default for CaseTarget {
    fn default() -> Self {
        CaseTarget::Existing(0)
    }
}

/// One result to post.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlannedResult {
    /// Case that receives the result.
    pub case: CaseTarget,
    /// Index of the run among the runs of [`PlannedRun::Plan`]; 0 when the
    /// upload fills one run.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub run: usize,
    /// Status id.
    pub status_id: u64,
    /// Comment text.
    pub comment: Option<String>,
    /// Elapsed time in TestRail's timespan form.
    pub elapsed: Option<String>,
    /// Build or version string.
    pub version: Option<String>,
    /// Names of the tests folded into this result.
    pub tests: Vec<String>,
    /// Files to attach once the result exists.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<PlannedAttachment>,
    /// User the result is assigned to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignedto_id: Option<u64>,
    /// Custom result fields by system name.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub custom: Map<String, Value>,
}

/// A test that was not tied to a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unmatched {
    /// Test name with its suites.
    pub test: String,
    /// Why no case was found.
    pub reason: String,
}

/// Everything an upload will do, in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncPlan {
    /// Target project id.
    pub project_id: u64,
    /// Target project name.
    pub project_name: String,
    /// Target suite id.
    pub suite_id: u64,
    /// Sections to create, parents before children.
    pub sections: Vec<PlannedSection>,
    /// Cases to create.
    pub cases: Vec<PlannedCase>,
    /// Existing cases to update.
    #[serde(default)]
    pub updates: Vec<PlannedUpdate>,
    /// The run to fill.
    pub run: PlannedRun,
    /// Fields of a run that trail creates.
    #[serde(default)]
    pub run_fields: PlannedRunFields,
    /// Every case the run must contain, results or not.
    pub run_cases: Vec<CaseTarget>,
    /// Cases the suite contained when the plan was built, or 0 when they were
    /// not read. The executor uses it to choose the cheaper way to re-read
    /// them.
    #[serde(default)]
    pub suite_cases: usize,
    /// Results to post, one per case and run.
    pub results: Vec<PlannedResult>,
    /// Tests that were read but whose outcome is not posted, such as skips.
    pub not_posted: usize,
    /// Tests tied to no case.
    pub unmatched: Vec<Unmatched>,
    /// Closes the run at the end.
    pub close_run: bool,
    /// Number of tests read.
    pub tests_read: usize,
    /// Problems that do not stop the upload, such as a missing attachment.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Metadata that planning needs and the context did not load.
    #[serde(skip)]
    pub needs_metadata: MetadataNeeds,
}

impl SyncPlan {
    /// Returns the number of files the plan attaches.
    pub fn attachment_count(&self) -> usize {
        self.results.iter().map(|r| r.attachments.len()).sum()
    }

    /// Counts planned results per status name.
    pub fn results_by_status(&self, statuses: &StatusMap) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for result in &self.results {
            *counts
                .entry(statuses.name_of(result.status_id))
                .or_insert(0) += 1;
        }
        counts
    }
}

fn is_zero(value: &usize) -> bool {
    *value == 0
}

/// Section that contains the cases of tests that belong to no suite.
pub const DEFAULT_SECTION: &str = "Automated tests";

/// One test's contribution to the result of a case.
struct Outcomes {
    entries: Vec<Entry>,
}

struct Entry {
    label: String,
    outcome: Outcome,
    flaky: bool,
    status_id: Option<u64>,
    comment: Option<String>,
    duration: Option<std::time::Duration>,
    attachments: Vec<PlannedAttachment>,
}

/// Builds the plan for a set of results.
pub fn build_plan(
    results: &[TestResult],
    context: &Context,
    options: &SyncOptions,
    statuses: &StatusMap,
) -> Result<SyncPlan, SyncError> {
    let fields = FieldResolver::new(context, options.platform.as_deref())?;
    let custom = resolve_result_fields(&context.result_fields, &options.result_fields)?;
    let mut builder = Builder::new(context, options, fields)?;
    let mut warnings = Vec::new();
    let plan_configs = match &options.projects_as_plan {
        Some(_) => Some(project_names(results)?),
        None => None,
    };

    let mut per_case: BTreeMap<(usize, CaseTarget), Outcomes> = BTreeMap::new();
    for result in results {
        let run = match (&plan_configs, &result.project) {
            (Some(configs), Some(project)) => configs
                .iter()
                .position(|config| config == project)
                .expect("every project has a run"),
            _ => 0,
        };
        let targets = builder.targets_for(result);
        if targets.is_empty() {
            continue;
        }
        let flaky = result.outcome == Outcome::Passed
            && result.attempts.iter().any(|a| a.outcome.is_failure());
        let status_id = statuses.status_for(result.outcome, flaky);
        let attachments = if status_id.is_some() {
            plan_attachments(result, &options.attachments, &mut warnings)
        } else {
            Vec::new()
        };
        let entry = || Entry {
            label: test_label(result),
            outcome: result.outcome,
            flaky,
            status_id,
            comment: comment_for(result, &options.comment),
            duration: result.duration,
            attachments: attachments.clone(),
        };
        for target in targets {
            per_case
                .entry((run, target))
                .or_insert_with(|| Outcomes {
                    entries: Vec::new(),
                })
                .entries
                .push(entry());
        }
    }

    let needs_metadata = builder.needs_metadata;
    warnings.append(&mut builder.fields.warnings);
    let mut plan = SyncPlan {
        project_id: context.project.id,
        project_name: context.project.name.clone(),
        suite_id: context.suite_id,
        sections: builder.sections,
        cases: builder.cases,
        updates: builder.updates,
        run: planned_run(options, plan_configs, &per_case)?,
        run_fields: PlannedRunFields {
            milestone_id: context.run_ids.milestone_id,
            refs: options.run_options.refs.clone(),
            assignedto_id: context.run_ids.assignedto_id,
            include_all: options.run_options.include_all,
        },
        suite_cases: context.cases.len(),
        run_cases: per_case
            .keys()
            .map(|(_, case)| *case)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
        results: Vec::new(),
        not_posted: 0,
        unmatched: builder.unmatched,
        close_run: options.close_run,
        tests_read: results.len(),
        warnings,
        needs_metadata,
    };

    let assignees = &context.run_ids.failed_assignee_ids;
    let mut failed_count = 0;
    for ((run, case), outcomes) in per_case {
        let (result, not_posted) = fold_outcomes(case, outcomes, statuses, options);
        plan.not_posted += not_posted;
        if let Some((mut result, failed)) = result {
            result.run = run;
            result.custom = custom.clone();
            if failed && !assignees.is_empty() {
                result.assignedto_id = Some(assignees[failed_count % assignees.len()]);
                failed_count += 1;
            }
            plan.results.push(result);
        }
    }
    Ok(plan)
}

/// Returns the Playwright project names of the results, sorted, for an
/// upload with one run per project. A result without a project (such as
/// one read from JUnit XML) has no run to go to, so it is an error.
fn project_names(results: &[TestResult]) -> Result<Vec<String>, SyncError> {
    let mut names = std::collections::BTreeSet::new();
    let mut without: Vec<&TestResult> = Vec::new();
    for result in results {
        match &result.project {
            Some(project) => {
                names.insert(project.clone());
            }
            None => without.push(result),
        }
    }
    if let Some(first) = without.first() {
        return Err(SyncError::Config {
            setting: "--projects-as-plan".into(),
            message: format!(
                "{} of {} tests have no Playwright project, such as `{}`, so they have no run in the plan",
                without.len(),
                results.len(),
                test_label(first)
            ),
            hint: "upload Playwright JSON reports only with --projects-as-plan, and other reports in a separate `trail report` without it".into(),
        });
    }
    Ok(names.into_iter().collect())
}

/// Returns the run or test plan that receives the results.
fn planned_run(
    options: &SyncOptions,
    plan_configs: Option<Vec<String>>,
    per_case: &BTreeMap<(usize, CaseTarget), Outcomes>,
) -> Result<PlannedRun, SyncError> {
    let name = match &options.run {
        RunTarget::Id(id) if plan_configs.is_none() => {
            return Ok(PlannedRun::Existing { id: *id });
        }
        RunTarget::Id(_) => {
            return Err(SyncError::Config {
                setting: "--projects-as-plan".into(),
                message: "a test plan is found or created by name, not by run id".into(),
                hint: "pass --run-name PLAN_NAME instead of --run-id".into(),
            });
        }
        RunTarget::Name(name) => name.clone(),
    };
    let (Some(configs), Some(settings)) = (plan_configs, &options.projects_as_plan) else {
        return Ok(PlannedRun::ByName {
            name,
            description: options.run_description.clone(),
            reset: options.run_options.reset,
        });
    };
    let runs = configs
        .into_iter()
        .enumerate()
        .map(|(index, config)| PlannedPlanRun {
            config,
            cases: per_case
                .keys()
                .filter(|(run, _)| *run == index)
                .map(|(_, case)| *case)
                .collect(),
        })
        .collect();
    Ok(PlannedRun::Plan {
        name,
        description: options.run_description.clone(),
        reset: options.run_options.reset,
        config_group: settings.config_group.clone(),
        runs,
    })
}

/// Folds every outcome a case received into one result: the worst status
/// wins, with more than one test the comment lists each outcome, and the
/// attachments of every posted test are kept. The flag is true when the
/// worst outcome is a failure.
fn fold_outcomes(
    case: CaseTarget,
    outcomes: Outcomes,
    statuses: &StatusMap,
    options: &SyncOptions,
) -> (Option<(PlannedResult, bool)>, usize) {
    let posted: Vec<&Entry> = outcomes
        .entries
        .iter()
        .filter(|e| e.status_id.is_some())
        .collect();
    let not_posted = outcomes.entries.len() - posted.len();
    let Some(worst) = posted
        .iter()
        .copied()
        .max_by_key(|e| severity(e.outcome, e.flaky))
    else {
        return (None, not_posted);
    };

    let body = if outcomes.entries.len() == 1 {
        worst.comment.clone()
    } else {
        let mut lines = vec![format!("{} results for this case:", outcomes.entries.len())];
        for entry in &outcomes.entries {
            let status = match entry.status_id {
                Some(id) => statuses.name_of(id),
                None => format!("{} (not posted)", entry.outcome),
            };
            lines.push(format!("- {}: {status}", entry.label));
        }
        for entry in outcomes
            .entries
            .iter()
            .filter(|e| e.outcome.is_failure() || e.flaky)
        {
            if let Some(comment) = &entry.comment {
                lines.push(String::new());
                lines.push(format!("{}:", entry.label));
                lines.push(comment.clone());
            }
        }
        Some(lines.join("\n"))
    };
    let duration = posted.iter().filter_map(|e| e.duration).max();
    let mut attachments: Vec<PlannedAttachment> = Vec::new();
    for entry in &posted {
        for attachment in &entry.attachments {
            if !attachments.contains(attachment) {
                attachments.push(attachment.clone());
            }
        }
    }

    let result = PlannedResult {
        case,
        run: 0,
        status_id: worst.status_id.expect("posted entries have a status"),
        comment: finish_comment(body, &options.comment),
        elapsed: duration.and_then(format_elapsed),
        version: options.version.clone(),
        tests: outcomes.entries.iter().map(|e| e.label.clone()).collect(),
        attachments,
        assignedto_id: None,
        custom: Map::new(),
    };
    (Some((result, worst.outcome.is_failure())), not_posted)
}

fn severity(outcome: Outcome, flaky: bool) -> u8 {
    match outcome {
        Outcome::Failed | Outcome::Errored | Outcome::TimedOut => 5,
        Outcome::Interrupted => 4,
        Outcome::Passed if flaky => 3,
        Outcome::Passed => 2,
        _ => 1,
    }
}

fn test_label(result: &TestResult) -> String {
    let mut label = result.identity.suite_path.join(" › ");
    if !label.is_empty() {
        label.push_str(" › ");
    }
    label.push_str(&result.identity.name);
    if let Some(project) = &result.project {
        label.push_str(&format!(" [{project}]"));
    }
    label
}

/// Resolves sections and cases while the plan is built.
struct Builder<'a> {
    context: &'a Context,
    options: &'a SyncOptions,
    root: Option<SectionTarget>,
    sections: Vec<PlannedSection>,
    section_index: HashMap<(Option<SectionTarget>, String), SectionTarget>,
    cases: Vec<PlannedCase>,
    case_index: HashMap<(SectionTarget, String), usize>,
    existing: HashMap<u64, &'a testrail_api::models::Case>,
    by_automation_id: HashMap<String, u64>,
    by_title: HashMap<(u64, String), u64>,
    unmatched: Vec<Unmatched>,
    fields: FieldResolver<'a>,
    updates: Vec<PlannedUpdate>,
    /// Existing cases whose fields were already compared with a test.
    compared: std::collections::HashSet<u64>,
    needs_metadata: MetadataNeeds,
}

impl<'a> Builder<'a> {
    fn new(
        context: &'a Context,
        options: &'a SyncOptions,
        fields: FieldResolver<'a>,
    ) -> Result<Builder<'a>, SyncError> {
        let mut builder = Builder {
            context,
            options,
            root: None,
            sections: Vec::new(),
            section_index: HashMap::new(),
            cases: Vec::new(),
            case_index: HashMap::new(),
            existing: context.cases.iter().map(|c| (c.id, c)).collect(),
            fields,
            updates: Vec::new(),
            compared: std::collections::HashSet::new(),
            needs_metadata: MetadataNeeds::default(),
            by_automation_id: if context.has_automation_id() {
                context.cases_by_automation_id()
            } else {
                HashMap::new()
            },
            by_title: context.cases_by_title(),
            unmatched: Vec::new(),
        };
        // Uploads that ran at once may have created a section twice; the
        // lowest id wins, as in the executor's race resolution, so it is
        // inserted last.
        let mut sections: Vec<_> = context.sections.iter().collect();
        sections.sort_by_key(|s| std::cmp::Reverse(s.id));
        for section in sections {
            let parent = section.parent_id.map(SectionTarget::Existing);
            builder.section_index.insert(
                (parent, section.name.clone()),
                SectionTarget::Existing(section.id),
            );
        }

        builder.root = match &options.section {
            None => None,
            Some(SectionRef::Id(id)) => {
                if !context.sections.iter().any(|s| s.id == *id) {
                    return Err(SyncError::Config {
                        setting: "--section".into(),
                        message: format!("section {id} is not in suite {} of project `{}`", context.suite_id, context.project.name),
                        hint: "pass the id of a section of this suite, or a path such as `Web/Checkout`".into(),
                    });
                }
                Some(SectionTarget::Existing(*id))
            }
            Some(SectionRef::Path(path)) => {
                let mut parent = None;
                for name in path {
                    if options.create_cases {
                        parent = Some(builder.section(parent, name));
                        continue;
                    }
                    // Without case creation nothing is created, so the root
                    // section must already exist.
                    match builder.section_index.get(&(parent, name.clone())) {
                        Some(found) => parent = Some(*found),
                        None => {
                            return Err(SyncError::Config {
                                setting: "--section".into(),
                                message: format!(
                                    "section `{}` is not in suite {} of project `{}`, and --no-create creates nothing",
                                    path.join("/"),
                                    context.suite_id,
                                    context.project.name
                                ),
                                hint: "create the section in TestRail, pass an existing path or id, or drop --no-create".into(),
                            });
                        }
                    }
                }
                parent
            }
        };
        Ok(builder)
    }

    /// Finds or plans the section `name` under `parent`.
    fn section(&mut self, parent: Option<SectionTarget>, name: &str) -> SectionTarget {
        let key = (parent, name.to_owned());
        if let Some(found) = self.section_index.get(&key) {
            return *found;
        }
        let target = SectionTarget::Planned(self.sections.len());
        self.sections.push(PlannedSection {
            name: name.to_owned(),
            parent,
        });
        self.section_index.insert(key, target);
        target
    }

    /// Returns the cases a result reports to, planning sections, new cases
    /// and updates of existing cases.
    fn targets_for(&mut self, result: &TestResult) -> Vec<CaseTarget> {
        let targets = self.match_result(result);
        if self.options.update_cases == CaseUpdates::Changed {
            for target in &targets {
                if let CaseTarget::Existing(id) = target {
                    self.plan_update(*id, result);
                }
            }
        }
        targets
    }

    /// Compares an existing case with the first test that reports to it.
    /// Cases that a test names by id are people's cases, so only the fields
    /// the user requested change on them; see [`FieldResolver::changes_for`].
    fn plan_update(&mut self, case_id: u64, result: &TestResult) {
        let explicit = explicit_case_ids(result).contains(&case_id);
        if !self.compared.insert(case_id) {
            return;
        }
        self.note_metadata_needs(result, false);
        let Some(case) = self.existing.get(&case_id) else {
            return;
        };
        let changes = self
            .fields
            .changes_for(case, result, &automation_id(result), explicit);
        if !changes.is_empty() {
            self.updates.push(PlannedUpdate {
                case_id,
                title: case.title.clone(),
                changes,
            });
        }
    }

    /// Records which metadata this test's fields need that the context
    /// lacks: types and priorities for tags, templates for a new case's
    /// steps.
    fn note_metadata_needs(&mut self, result: &TestResult, new_case: bool) {
        if needs_type_metadata(result) && self.context.case_types.is_empty() {
            self.needs_metadata.types = true;
        }
        if new_case
            && !top_level_steps(result).is_empty()
            && self.context.case_field(STEPS_FIELD).is_some()
            && self.context.templates.is_empty()
        {
            self.needs_metadata.templates = true;
        }
    }

    fn match_result(&mut self, result: &TestResult) -> Vec<CaseTarget> {
        let explicit = explicit_case_ids(result);
        if !explicit.is_empty() {
            let mut targets = Vec::new();
            for id in explicit {
                if !self.context.cases_loaded || self.existing.contains_key(&id) {
                    targets.push(CaseTarget::Existing(id));
                } else {
                    self.unmatched.push(Unmatched {
                        test: test_label(result),
                        reason: format!(
                            "case C{id} is not in suite {} of project `{}`",
                            self.context.suite_id, self.context.project.name
                        ),
                    });
                }
            }
            return targets;
        }

        let automation = automation_id(result);
        if let Some(id) = self.by_automation_id.get(&automation) {
            return vec![CaseTarget::Existing(*id)];
        }

        let mut names: Vec<String> = result
            .identity
            .suite_path
            .iter()
            .map(|n| clean_title(n))
            .collect();
        // A test outside every suite and root section still needs a section.
        if names.is_empty() && self.root.is_none() {
            names.push(DEFAULT_SECTION.to_owned());
        }
        let mut section = self.root;
        for name in &names {
            if self.options.create_cases {
                section = Some(self.section(section, name));
                continue;
            }
            // Without case creation nothing is created, sections included.
            match self.section_index.get(&(section, name.clone())) {
                Some(found) => section = Some(*found),
                None => {
                    self.unmatched.push(Unmatched {
                        test: test_label(result),
                        reason: format!(
                            "no section `{name}` holds a case with this title or automation id, and case creation is off (--no-create)"
                        ),
                    });
                    return Vec::new();
                }
            }
        }
        let section = section.expect("a section path is never empty here");
        let title = clean_title(&result.identity.name);
        let normalized = normalized_title(&result.identity.name);

        if let SectionTarget::Existing(section_id) = section
            && let Some(id) = self.by_title.get(&(section_id, normalized.clone()))
        {
            return vec![CaseTarget::Existing(*id)];
        }

        if !self.options.create_cases {
            self.unmatched.push(Unmatched {
                test: test_label(result),
                reason: "no case with this title or automation id, and case creation is off (--no-create)".into(),
            });
            return Vec::new();
        }
        vec![self.plan_case(result, section, title, automation, normalized)]
    }

    fn plan_case(
        &mut self,
        result: &TestResult,
        section: SectionTarget,
        title: String,
        automation: String,
        normalized: String,
    ) -> CaseTarget {
        let key = (
            section,
            if self.context.has_automation_id() {
                automation.clone()
            } else {
                normalized
            },
        );
        if let Some(index) = self.case_index.get(&key) {
            return CaseTarget::Planned(*index);
        }
        self.note_metadata_needs(result, true);
        let mut fields = Map::new();
        fields.insert("title".into(), Value::String(title.clone()));
        fields.extend(self.fields.new_case_fields(result));
        if self.context.has_automation_id() {
            fields.insert(
                AUTOMATION_ID_FIELD.into(),
                Value::String(automation.clone()),
            );
        }
        let index = self.cases.len();
        self.cases.push(PlannedCase {
            section,
            title,
            fields,
        });
        self.case_index.insert(key, index);
        CaseTarget::Planned(index)
    }
}
