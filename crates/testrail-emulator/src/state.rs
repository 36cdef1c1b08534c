//! In-memory content of the emulated instance.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::seed::{self, Seed};

/// Current time as unix seconds.
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or(0)
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct User {
    pub id: u64,
    pub name: String,
    pub email: String,
    pub is_active: bool,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Project {
    pub id: u64,
    pub name: String,
    pub announcement: Option<String>,
    pub suite_mode: u8,
    pub is_completed: bool,
    pub completed_on: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Suite {
    pub id: u64,
    pub project_id: u64,
    pub name: String,
    pub description: Option<String>,
    pub is_master: bool,
    pub is_completed: bool,
    pub completed_on: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Section {
    pub id: u64,
    pub suite_id: u64,
    pub name: String,
    pub description: Option<String>,
    pub parent_id: Option<u64>,
    pub display_order: u64,
    pub depth: u64,
}

/// A test case. `fields` holds every other system and custom field as sent.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Case {
    pub id: u64,
    pub suite_id: u64,
    pub section_id: u64,
    pub title: String,
    pub created_on: i64,
    pub updated_on: i64,
    pub fields: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Run {
    pub id: u64,
    pub project_id: u64,
    pub suite_id: u64,
    pub name: String,
    pub description: Option<String>,
    pub milestone_id: Option<u64>,
    pub assignedto_id: Option<u64>,
    pub include_all: bool,
    pub is_completed: bool,
    pub completed_on: Option<i64>,
    pub created_on: i64,
    pub updated_on: i64,
    pub refs: Option<String>,
    pub plan_id: Option<u64>,
    pub entry_id: Option<String>,
    pub entry_index: Option<u64>,
    pub config_ids: Vec<u64>,
    /// Test ids in display order.
    pub tests: Vec<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Test {
    pub id: u64,
    pub run_id: u64,
    pub case_id: u64,
    pub status_id: u64,
    pub assignedto_id: Option<u64>,
}

/// A test result. `fields` holds comment, version, elapsed, defects and
/// custom fields as sent.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TestResult {
    pub id: u64,
    pub test_id: u64,
    pub status_id: u64,
    pub created_on: i64,
    pub assignedto_id: Option<u64>,
    pub attachment_ids: Vec<u64>,
    pub fields: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Plan {
    pub id: u64,
    pub project_id: u64,
    pub name: String,
    pub description: Option<String>,
    pub milestone_id: Option<u64>,
    pub assignedto_id: Option<u64>,
    pub is_completed: bool,
    pub completed_on: Option<i64>,
    pub created_on: i64,
    /// Entries in order: entry id, name, suite id and the runs of the entry.
    pub entries: Vec<PlanEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct PlanEntry {
    pub id: String,
    pub suite_id: u64,
    pub name: String,
    pub description: Option<String>,
    pub include_all: bool,
    pub runs: Vec<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Milestone {
    pub id: u64,
    pub project_id: u64,
    pub name: String,
    pub description: Option<String>,
    pub parent_id: Option<u64>,
    pub due_on: Option<i64>,
    pub start_on: Option<i64>,
    pub refs: Option<String>,
    pub is_completed: bool,
    pub completed_on: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct ConfigGroup {
    pub id: u64,
    pub project_id: u64,
    pub name: String,
    pub configs: Vec<(u64, String)>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Attachment {
    pub id: u64,
    pub result_id: u64,
    pub name: String,
    pub size: u64,
    pub content_type: Option<String>,
    pub created_on: i64,
}

/// Next id of each entity kind; ids are global and never reused.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct IdCounters {
    pub project: u64,
    pub suite: u64,
    pub section: u64,
    pub case: u64,
    pub run: u64,
    pub test: u64,
    pub result: u64,
    pub plan: u64,
    pub milestone: u64,
    pub config_group: u64,
    pub config: u64,
    pub attachment: u64,
    pub user: u64,
    pub entry: u64,
}

/// Whole content of the instance.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct State {
    pub users: BTreeMap<u64, User>,
    pub projects: BTreeMap<u64, Project>,
    pub suites: BTreeMap<u64, Suite>,
    pub sections: BTreeMap<u64, Section>,
    pub cases: BTreeMap<u64, Case>,
    pub runs: BTreeMap<u64, Run>,
    pub tests: BTreeMap<u64, Test>,
    pub results: BTreeMap<u64, TestResult>,
    pub plans: BTreeMap<u64, Plan>,
    pub milestones: BTreeMap<u64, Milestone>,
    pub config_groups: BTreeMap<u64, ConfigGroup>,
    pub attachments: BTreeMap<u64, Attachment>,
    pub statuses: Vec<Value>,
    pub case_fields: Vec<Value>,
    pub result_fields: Vec<Value>,
    pub templates: Vec<Value>,
    pub case_types: Vec<Value>,
    pub priorities: Vec<Value>,
    pub next_id: IdCounters,
    /// Test id by run and case, kept in step with `tests` so that posting a
    /// result does not scan the run.
    #[serde(skip)]
    pub test_index: std::collections::HashMap<(u64, u64), u64>,
}

/// Picks the explicit id or the next free one, and keeps the counter above it.
fn take_id(explicit: Option<u64>, counter: &mut u64) -> u64 {
    let id = explicit.unwrap_or(*counter + 1);
    *counter = (*counter).max(id);
    id
}

fn default_id(list: &[Value]) -> Option<u64> {
    list.iter()
        .find(|entry| entry["is_default"] == Value::Bool(true))
        .or_else(|| list.first())
        .and_then(|entry| entry["id"].as_u64())
}

impl State {
    /// Builds the state described by `seed`, with defaults for missing parts.
    pub fn from_seed(seed: &Seed, api_user: &str) -> State {
        let mut state = State {
            users: BTreeMap::new(),
            projects: BTreeMap::new(),
            suites: BTreeMap::new(),
            sections: BTreeMap::new(),
            cases: BTreeMap::new(),
            runs: BTreeMap::new(),
            tests: BTreeMap::new(),
            results: BTreeMap::new(),
            plans: BTreeMap::new(),
            milestones: BTreeMap::new(),
            config_groups: BTreeMap::new(),
            attachments: BTreeMap::new(),
            test_index: std::collections::HashMap::new(),
            statuses: merge_statuses(&seed.statuses),
            case_fields: seed
                .case_fields
                .clone()
                .unwrap_or_else(seed::default_case_fields),
            result_fields: seed
                .result_fields
                .clone()
                .unwrap_or_else(seed::default_result_fields),
            templates: seed
                .templates
                .clone()
                .unwrap_or_else(seed::default_templates),
            case_types: seed
                .case_types
                .clone()
                .unwrap_or_else(seed::default_case_types),
            priorities: seed
                .priorities
                .clone()
                .unwrap_or_else(seed::default_priorities),
            next_id: IdCounters::default(),
        };

        let mut users = seed
            .users
            .clone()
            .unwrap_or_else(|| seed::default_users(api_user));
        if !users.iter().any(|user| user.email == api_user) {
            users.push(seed::SeedUser {
                id: None,
                name: "Administrator".into(),
                email: api_user.into(),
                is_active: true,
            });
        }
        for user in users {
            let id = take_id(user.id, &mut state.next_id.user);
            state.users.insert(
                id,
                User {
                    id,
                    name: user.name,
                    email: user.email,
                    is_active: user.is_active,
                },
            );
        }

        let projects = seed.projects.clone().unwrap_or_else(seed::default_projects);
        for project in projects {
            let id = take_id(project.id, &mut state.next_id.project);
            state.projects.insert(
                id,
                Project {
                    id,
                    name: project.name,
                    announcement: project.announcement,
                    suite_mode: project.suite_mode,
                    is_completed: false,
                    completed_on: None,
                },
            );
            let mut suites = project.suites;
            if suites.is_empty() && project.suite_mode != 3 {
                suites.push(seed::SeedSuite {
                    id: None,
                    name: "Master".into(),
                    description: None,
                });
            }
            for suite in suites {
                let suite_id = take_id(suite.id, &mut state.next_id.suite);
                state.suites.insert(
                    suite_id,
                    Suite {
                        id: suite_id,
                        project_id: id,
                        name: suite.name,
                        description: suite.description,
                        is_master: project.suite_mode != 3,
                        is_completed: false,
                        completed_on: None,
                    },
                );
            }
        }

        for section in &seed.sections {
            let id = take_id(section.id, &mut state.next_id.section);
            let depth = section
                .parent_id
                .and_then(|parent| state.sections.get(&parent))
                .map_or(0, |parent| parent.depth + 1);
            state.sections.insert(
                id,
                Section {
                    id,
                    suite_id: section.suite_id,
                    name: section.name.clone(),
                    description: section.description.clone(),
                    parent_id: section.parent_id,
                    display_order: id,
                    depth,
                },
            );
        }

        let created_on = now();
        for case in &seed.cases {
            let id = take_id(case.id, &mut state.next_id.case);
            let suite_id = state
                .sections
                .get(&case.section_id)
                .map_or(0, |section| section.suite_id);
            let mut fields = case.fields.clone();
            fields.remove("suite_id");
            state.fill_case_defaults(&mut fields);
            state.cases.insert(
                id,
                Case {
                    id,
                    suite_id,
                    section_id: case.section_id,
                    title: case.title.clone(),
                    created_on,
                    updated_on: created_on,
                    fields,
                },
            );
        }
        state
    }

    /// Sets template, type and priority to the instance defaults when absent.
    pub fn fill_case_defaults(&self, fields: &mut Map<String, Value>) {
        let defaults = [
            ("template_id", default_id(&self.templates)),
            ("type_id", default_id(&self.case_types)),
            ("priority_id", default_id(&self.priorities)),
        ];
        for (key, default) in defaults {
            if fields.get(key).is_none_or(Value::is_null) {
                fields.insert(key.into(), default.map_or(Value::Null, Value::from));
            }
        }
    }

    /// Returns the status definition with this id.
    pub fn status(&self, id: u64) -> Option<&Value> {
        self.statuses
            .iter()
            .find(|status| status["id"].as_u64() == Some(id))
    }

    /// Returns the user whose email is the API login, if any.
    pub fn user_by_email(&self, email: &str) -> Option<&User> {
        self.users
            .values()
            .find(|user| user.email.eq_ignore_ascii_case(email))
    }

    /// Returns the ids of all cases of a suite in id order.
    pub fn suite_case_ids(&self, suite_id: u64) -> Vec<u64> {
        self.cases
            .values()
            .filter(|case| case.suite_id == suite_id)
            .map(|case| case.id)
            .collect()
    }

    /// Adds a test for `case_id` to a run and returns the test id.
    pub fn add_test(&mut self, run_id: u64, case_id: u64) -> u64 {
        self.next_id.test += 1;
        let id = self.next_id.test;
        self.tests.insert(
            id,
            Test {
                id,
                run_id,
                case_id,
                status_id: 3,
                assignedto_id: None,
            },
        );
        if let Some(run) = self.runs.get_mut(&run_id) {
            run.tests.push(id);
        }
        self.test_index.entry((run_id, case_id)).or_insert(id);
        id
    }

    /// Makes the tests of a run match `case_ids`: tests of cases that stay keep
    /// their results, the others are removed with their results.
    pub fn replace_run_cases(&mut self, run_id: u64, case_ids: &[u64]) {
        let Some(run) = self.runs.get(&run_id) else {
            return;
        };
        let existing: Vec<(u64, u64)> = run
            .tests
            .iter()
            .filter_map(|test_id| self.tests.get(test_id).map(|test| (test.id, test.case_id)))
            .collect();

        let mut kept = Vec::new();
        for (test_id, case_id) in &existing {
            if case_ids.contains(case_id) {
                kept.push(*test_id);
            } else {
                self.tests.remove(test_id);
                self.test_index.remove(&(run_id, *case_id));
                self.results.retain(|_, result| result.test_id != *test_id);
            }
        }
        if let Some(run) = self.runs.get_mut(&run_id) {
            run.tests = kept;
        }

        let present: Vec<u64> = existing
            .iter()
            .filter(|(_, case_id)| case_ids.contains(case_id))
            .map(|(_, case_id)| *case_id)
            .collect();
        let mut added = Vec::new();
        for case_id in case_ids {
            if !present.contains(case_id) && !added.contains(case_id) {
                added.push(*case_id);
                self.add_test(run_id, *case_id);
            }
        }
    }

    /// Returns the test of `case_id` in a run.
    pub fn test_for_case(&self, run_id: u64, case_id: u64) -> Option<&Test> {
        let test_id = self.test_index.get(&(run_id, case_id))?;
        self.tests.get(test_id)
    }

    /// Adds a new case to every open run of its suite that includes all cases.
    pub fn add_case_to_include_all_runs(&mut self, suite_id: u64, case_id: u64) {
        let run_ids: Vec<u64> = self
            .runs
            .values()
            .filter(|run| run.suite_id == suite_id && run.include_all && !run.is_completed)
            .map(|run| run.id)
            .collect();
        for run_id in run_ids {
            self.add_test(run_id, case_id);
        }
    }

    /// Removes a deleted case from open runs; closed runs keep their tests.
    pub fn remove_case_from_open_runs(&mut self, case_id: u64) {
        let open: Vec<u64> = self
            .runs
            .values()
            .filter(|run| !run.is_completed)
            .map(|run| run.id)
            .collect();
        for run_id in open {
            let Some(run) = self.runs.get(&run_id) else {
                continue;
            };
            let remaining: Vec<u64> = run
                .tests
                .iter()
                .filter_map(|test_id| self.tests.get(test_id))
                .filter(|test| test.case_id != case_id)
                .map(|test| test.case_id)
                .collect();
            self.replace_run_cases(run_id, &remaining);
        }
    }

    /// Deletes a run with its tests and their results.
    pub fn delete_run(&mut self, run_id: u64) {
        if let Some(run) = self.runs.remove(&run_id) {
            for test_id in run.tests {
                if let Some(test) = self.tests.remove(&test_id) {
                    self.test_index.remove(&(run_id, test.case_id));
                }
                self.results.retain(|_, result| result.test_id != test_id);
            }
        }
    }
}

/// Merges seed statuses into the system statuses, replacing those with the
/// same id and filling the flags that custom statuses usually leave out.
fn merge_statuses(extra: &[Value]) -> Vec<Value> {
    let mut statuses = seed::default_statuses();
    for status in extra {
        let Some(id) = status["id"].as_u64() else {
            continue;
        };
        let mut status = status.clone();
        if let Some(object) = status.as_object_mut() {
            let label = object
                .get("label")
                .and_then(Value::as_str)
                .unwrap_or("Custom")
                .to_string();
            object
                .entry("name")
                .or_insert_with(|| Value::from(label.to_lowercase()));
            object.entry("is_system").or_insert(Value::Bool(id <= 5));
            object.entry("is_untested").or_insert(Value::Bool(false));
            object.entry("is_final").or_insert(Value::Bool(false));
            object.entry("color_dark").or_insert(Value::from(0));
            object
                .entry("color_medium")
                .or_insert(Value::from(10526880));
            object
                .entry("color_bright")
                .or_insert(Value::from(13684944));
        }
        match statuses
            .iter_mut()
            .find(|existing| existing["id"].as_u64() == Some(id))
        {
            Some(existing) => *existing = status,
            None => statuses.push(status),
        }
    }
    statuses.sort_by_key(|status| status["id"].as_u64());
    statuses
}
