//! The state trail reads from TestRail before it plans an upload.

use std::collections::HashMap;

use testrail_api::Client;
use testrail_api::models::{
    Case, CaseField, CaseFilter, CaseType, Priority, Project, ResultField, Run, Section, Status,
    Template,
};

use crate::cache::MetadataCache;
use crate::error::SyncError;
use crate::matching::normalized_title;
use crate::options::{ProjectRef, RunOptions, SyncOptions};
use crate::plan::MetadataNeeds;

/// System name of the case field that stores automation ids.
pub const AUTOMATION_ID_FIELD: &str = "custom_automation_id";

/// The state of the target project and suite that planning needs.
#[derive(Debug, Clone)]
pub struct Context {
    /// Target project.
    pub project: Project,
    /// Target suite.
    pub suite_id: u64,
    /// Statuses of the instance.
    pub statuses: Vec<Status>,
    /// Case fields of the instance that apply to the project.
    pub case_fields: Vec<CaseField>,
    /// Sections of the suite.
    pub sections: Vec<Section>,
    /// Cases of the suite.
    pub cases: Vec<Case>,
    /// Case types, read only when cases are created.
    pub case_types: Vec<CaseType>,
    /// Priorities, read only when cases are created.
    pub priorities: Vec<Priority>,
    /// Templates of the project, read only when a new case has steps.
    pub templates: Vec<Template>,
    /// Custom result fields, read only when `--result-field` is given.
    pub result_fields: Vec<ResultField>,
    /// Ids that the run options name by text.
    pub run_ids: RunIds,
    /// Open runs of the project in the suite, read beside the suite when
    /// the run is found by name.
    pub open_runs: Option<Vec<Run>>,
    /// False when the suite's sections, cases and case fields were not
    /// read, so case ids named by tests are trusted until TestRail rejects
    /// them.
    pub cases_loaded: bool,
}

/// Milestone and user ids resolved from the names in [`RunOptions`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunIds {
    /// Milestone of a new run.
    pub milestone_id: Option<u64>,
    /// User a new run is assigned to.
    pub assignedto_id: Option<u64>,
    /// Users that failed results are assigned to, in turn.
    pub failed_assignee_ids: Vec<u64>,
}

impl Context {
    /// Reads the project, suite, statuses, case fields, sections and cases.
    pub async fn load(client: &Client, options: &SyncOptions) -> Result<Context, SyncError> {
        Context::load_with(client, options, &MetadataCache::new()).await
    }

    /// Same as [`Context::load`], reading metadata through `cache`.
    pub async fn load_with(
        client: &Client,
        options: &SyncOptions,
        cache: &MetadataCache,
    ) -> Result<Context, SyncError> {
        Context::load_for(client, options, cache, true).await
    }

    /// Same as [`Context::load_with`]; with `read_cases` false the suite's
    /// sections and cases are not read, which saves one request per 250
    /// cases when every result names its case by id.
    pub async fn load_for(
        client: &Client,
        options: &SyncOptions,
        cache: &MetadataCache,
        read_cases: bool,
    ) -> Result<Context, SyncError> {
        // Statuses and case fields do not depend on the project, so they are
        // read while the project and suite are resolved.
        let ((project, suite_id, open_runs), statuses, case_fields) = tokio::try_join!(
            async {
                let project = resolve_project(client, cache, &options.project).await?;
                let (suite_id, open_runs) = tokio::try_join!(
                    resolve_suite(client, cache, &project, options.suite_id),
                    prefetch_open_runs(client, &project, options),
                )?;
                Ok::<_, SyncError>((project, suite_id, open_runs))
            },
            async {
                cache
                    .get_or_fetch("get_statuses", client.get_statuses())
                    .await
                    .map_err(|e| SyncError::api("reading statuses", e))
            },
            async {
                if !read_cases {
                    return Ok(Vec::new());
                }
                cache
                    .get_or_fetch("get_case_fields", client.get_case_fields())
                    .await
                    .map_err(|e| SyncError::api("reading case fields", e))
            },
        )?;

        let (sections, cases) = if read_cases {
            let filter = CaseFilter {
                suite_id: Some(suite_id),
                ..CaseFilter::default()
            };
            tokio::try_join!(
                async {
                    client
                        .get_sections(project.id, Some(suite_id))
                        .await
                        .map_err(|e| SyncError::api("reading sections", e))
                },
                async {
                    client
                        .get_cases(project.id, &filter)
                        .await
                        .map_err(|e| SyncError::api("reading cases", e))
                },
            )?
        } else {
            (Vec::new(), Vec::new())
        };
        let case_fields = case_fields
            .into_iter()
            .filter(|field| field_applies(field, project.id))
            .collect();
        let run_ids = resolve_run_ids(client, &project, &options.run_options).await?;
        let result_fields = if options.result_fields.is_empty() {
            Vec::new()
        } else {
            client
                .get_result_fields()
                .await
                .map_err(|e| SyncError::api("reading result fields", e))?
                .into_iter()
                .filter(|field| field.is_active && field_applies(field, project.id))
                .collect()
        };

        Ok(Context {
            project,
            suite_id,
            statuses,
            case_fields,
            sections,
            cases,
            case_types: Vec::new(),
            priorities: Vec::new(),
            templates: Vec::new(),
            result_fields,
            run_ids,
            cases_loaded: read_cases,
            open_runs,
        })
    }

    /// Reads case types, priorities and templates.
    pub async fn load_creation_metadata(&mut self, client: &Client) -> Result<(), SyncError> {
        let all = MetadataNeeds {
            types: true,
            templates: true,
        };
        self.load_metadata(client, all).await
    }

    /// Reads the metadata a plan asked for: case types and priorities for
    /// purpose and priority tags, templates for new cases with steps.
    pub async fn load_metadata(
        &mut self,
        client: &Client,
        needs: MetadataNeeds,
    ) -> Result<(), SyncError> {
        if needs.templates {
            self.templates = client
                .get_templates(self.project.id)
                .await
                .map_err(|e| SyncError::api("reading templates", e))?;
        }
        if !needs.types {
            return Ok(());
        }
        let (types, priorities) = tokio::try_join!(
            async {
                client
                    .get_case_types()
                    .await
                    .map_err(|e| SyncError::api("reading case types", e))
            },
            async {
                client
                    .get_priorities()
                    .await
                    .map_err(|e| SyncError::api("reading priorities", e))
            },
        )?;
        self.case_types = types;
        self.priorities = priorities;
        Ok(())
    }

    /// Returns the active case field with this system name.
    pub fn case_field(&self, system_name: &str) -> Option<&CaseField> {
        self.case_fields
            .iter()
            .find(|f| f.system_name == system_name && f.is_active)
    }

    /// Returns true when the instance has the automation id field.
    pub fn has_automation_id(&self) -> bool {
        self.case_field(AUTOMATION_ID_FIELD).is_some()
    }

    /// Indexes cases by automation id.
    pub fn cases_by_automation_id(&self) -> HashMap<String, u64> {
        let mut map = HashMap::new();
        for case in &self.cases {
            if let Some(id) = case.extra.get(AUTOMATION_ID_FIELD).and_then(|v| v.as_str())
                && !id.is_empty()
            {
                map.entry(id.to_owned()).or_insert(case.id);
            }
        }
        map
    }

    /// Indexes cases by section and normalized title.
    pub fn cases_by_title(&self) -> HashMap<(u64, String), u64> {
        let mut map = HashMap::new();
        for case in &self.cases {
            map.entry((case.section_id.unwrap_or(0), normalized_title(&case.title)))
                .or_insert(case.id);
        }
        map
    }
}

/// Resolves the milestone and users that the run options name.
async fn resolve_run_ids(
    client: &Client,
    project: &Project,
    options: &RunOptions,
) -> Result<RunIds, SyncError> {
    let mut ids = RunIds::default();
    if let Some(name) = &options.milestone {
        let milestones = client
            .get_milestones(project.id)
            .await
            .map_err(|e| SyncError::api("reading milestones", e))?;
        let found = milestones.iter().find(|m| m.name == *name).or_else(|| {
            milestones
                .iter()
                .find(|m| m.name.eq_ignore_ascii_case(name))
        });
        match found {
            Some(milestone) => ids.milestone_id = Some(milestone.id),
            None => {
                let names: Vec<String> = milestones
                    .iter()
                    .filter(|m| !m.is_completed)
                    .map(|m| format!("`{}`", m.name))
                    .collect();
                return Err(SyncError::Config {
                    setting: "--milestone".into(),
                    message: format!("no milestone named `{name}` in project `{}`", project.name),
                    hint: if names.is_empty() {
                        "the project has no open milestone; create one in TestRail".into()
                    } else {
                        format!("open milestones: {}", names.join(", "))
                    },
                });
            }
        }
    }
    if let Some(email) = &options.assign_to {
        ids.assignedto_id = Some(user_id(client, email, "--assign-to").await?);
    }
    for email in &options.assign_failed {
        ids.failed_assignee_ids
            .push(user_id(client, email, "--assign-failed").await?);
    }
    Ok(ids)
}

async fn user_id(client: &Client, email: &str, setting: &str) -> Result<u64, SyncError> {
    match client.get_user_by_email(email.trim()).await {
        Ok(user) => Ok(user.id),
        Err(error) if error.status() == Some(400) || error.status() == Some(404) => {
            Err(SyncError::Config {
                setting: setting.into(),
                message: format!("no TestRail user has the e-mail `{}`", email.trim()),
                hint: "pass the e-mail address the user signs in with".into(),
            })
        }
        Err(error) => Err(SyncError::api(format!("looking up user `{email}`"), error)),
    }
}

/// Reads the project's open runs when the run is found by name; the
/// executor filters them by suite and name.
async fn prefetch_open_runs(
    client: &Client,
    project: &Project,
    options: &SyncOptions,
) -> Result<Option<Vec<Run>>, SyncError> {
    let by_name = matches!(options.run, crate::options::RunTarget::Name(_));
    if !by_name || options.run_options.reset || options.projects_as_plan.is_some() {
        return Ok(None);
    }
    let filter = testrail_api::models::RunFilter {
        is_completed: Some(false),
        ..Default::default()
    };
    let runs = client
        .get_runs(project.id, &filter)
        .await
        .map_err(|e| SyncError::api("reading open runs", e))?;
    Ok(Some(runs))
}

fn field_applies(field: &CaseField, project_id: u64) -> bool {
    if field.configs.is_empty() {
        return true;
    }
    field.configs.iter().any(|config| {
        config.context.is_global
            || config
                .context
                .project_ids
                .as_ref()
                .is_some_and(|ids| ids.contains(&project_id))
    })
}

async fn resolve_project(
    client: &Client,
    cache: &MetadataCache,
    project: &ProjectRef,
) -> Result<Project, SyncError> {
    match project {
        ProjectRef::Id(id) => cache
            .get_or_fetch(&format!("get_project/{id}"), client.get_project(*id))
            .await
            .map_err(|e| SyncError::api(format!("reading project {id}"), e)),
        ProjectRef::Name(name) => {
            let projects = cache
                .get_or_fetch("get_projects", client.get_projects())
                .await
                .map_err(|e| SyncError::api("reading projects", e))?;
            let found = projects
                .iter()
                .find(|p| &p.name == name)
                .or_else(|| projects.iter().find(|p| p.name.eq_ignore_ascii_case(name)));
            match found {
                Some(project) => Ok(project.clone()),
                None => {
                    let names: Vec<String> = projects
                        .iter()
                        .map(|p| format!("`{}` ({})", p.name, p.id))
                        .collect();
                    Err(SyncError::Config {
                        setting: "--project".into(),
                        message: format!("no project named `{name}`"),
                        hint: if names.is_empty() {
                            "the user sees no projects; check its permissions".into()
                        } else {
                            format!("projects this user sees: {}", names.join(", "))
                        },
                    })
                }
            }
        }
    }
}

async fn resolve_suite(
    client: &Client,
    cache: &MetadataCache,
    project: &Project,
    wanted: Option<u64>,
) -> Result<u64, SyncError> {
    let suites = cache
        .get_or_fetch(
            &format!("get_suites/{}", project.id),
            client.get_suites(project.id),
        )
        .await
        .map_err(|e| SyncError::api(format!("reading suites of project {}", project.id), e))?;

    if let Some(id) = wanted {
        if suites.iter().any(|s| s.id == id) {
            return Ok(id);
        }
        return Err(SyncError::Config {
            setting: "--suite-id".into(),
            message: format!("suite {id} is not in project `{}`", project.name),
            hint: format!("suites of this project: {}", list_suites(&suites)),
        });
    }
    match suites.as_slice() {
        [only] => Ok(only.id),
        [] => Err(SyncError::Config {
            setting: "--suite-id".into(),
            message: format!("project `{}` has no suite", project.name),
            hint: "create a suite in TestRail or pass --suite-id".into(),
        }),
        _ => Err(SyncError::Config {
            setting: "--suite-id".into(),
            message: format!(
                "project `{}` has {} suites and none was chosen",
                project.name,
                suites.len()
            ),
            hint: format!("pass --suite-id with one of: {}", list_suites(&suites)),
        }),
    }
}

fn list_suites(suites: &[testrail_api::models::Suite]) -> String {
    suites
        .iter()
        .map(|s| format!("{} (`{}`)", s.id, s.name))
        .collect::<Vec<_>>()
        .join(", ")
}
