//! Typed methods, one per TestRail API method.

use futures_util::Stream;
use serde_json::{Map, Value};

use super::Client;
use crate::error::{Error, ErrorKind, Verb};
use crate::models::*;

type Fields = Map<String, Value>;

impl Client {
    /// Lists all projects (`get_projects`).
    pub async fn get_projects(&self) -> Result<Vec<Project>, Error> {
        self.get_all("get_projects", "projects").await
    }

    /// Returns one project (`get_project`).
    pub async fn get_project(&self, project_id: u64) -> Result<Project, Error> {
        self.get(&format!("get_project/{project_id}")).await
    }

    /// Lists the suites of a project (`get_suites`).
    pub async fn get_suites(&self, project_id: u64) -> Result<Vec<Suite>, Error> {
        self.get_all(&format!("get_suites/{project_id}"), "suites")
            .await
    }

    /// Creates a suite (`add_suite`).
    pub async fn add_suite(&self, project_id: u64, body: &NewSuite) -> Result<Suite, Error> {
        self.post(&format!("add_suite/{project_id}"), body).await
    }

    /// Lists the sections of a project, or of one suite (`get_sections`).
    pub async fn get_sections(
        &self,
        project_id: u64,
        suite_id: Option<u64>,
    ) -> Result<Vec<Section>, Error> {
        let mut path = format!("get_sections/{project_id}");
        push_param(&mut path, "suite_id", suite_id);
        self.get_all(&path, "sections").await
    }

    /// Creates a section (`add_section`).
    pub async fn add_section(&self, project_id: u64, body: &NewSection) -> Result<Section, Error> {
        self.post(&format!("add_section/{project_id}"), body).await
    }

    /// Deletes a section with its subsections and cases (`delete_section`).
    pub async fn delete_section(&self, section_id: u64) -> Result<(), Error> {
        self.post_unit(&format!("delete_section/{section_id}"))
            .await
    }

    /// Returns one case (`get_case`).
    pub async fn get_case(&self, case_id: u64) -> Result<Case, Error> {
        self.get(&format!("get_case/{case_id}")).await
    }

    /// Lists the cases of a project that match a filter, all pages
    /// (`get_cases`).
    pub async fn get_cases(
        &self,
        project_id: u64,
        filter: &CaseFilter,
    ) -> Result<Vec<Case>, Error> {
        self.get_all(&cases_path(project_id, filter), "cases").await
    }

    /// Returns the pages of `get_cases` as they arrive.
    pub fn get_cases_pages(
        &self,
        project_id: u64,
        filter: &CaseFilter,
    ) -> impl Stream<Item = Result<Vec<Case>, Error>> + Send + use<> {
        self.paginate(&cases_path(project_id, filter), "cases")
    }

    /// Creates a case in a section (`add_case`); `body` contains `title` and
    /// any system or custom fields.
    pub async fn add_case(&self, section_id: u64, body: &Fields) -> Result<Case, Error> {
        self.post(&format!("add_case/{section_id}"), body).await
    }

    /// Changes fields of a case (`update_case`).
    pub async fn update_case(&self, case_id: u64, fields: &Fields) -> Result<Case, Error> {
        self.post(&format!("update_case/{case_id}"), fields).await
    }

    /// Sets the same fields on several cases of a suite (`update_cases`).
    pub async fn update_cases(
        &self,
        suite_id: u64,
        case_ids: &[u64],
        fields: &Fields,
    ) -> Result<(), Error> {
        let mut body = fields.clone();
        body.insert("case_ids".to_owned(), Value::from(case_ids.to_vec()));
        let _: Value = self
            .post(&format!("update_cases/{suite_id}"), &body)
            .await?;
        Ok(())
    }

    /// Deletes a case (`delete_case`).
    pub async fn delete_case(&self, case_id: u64) -> Result<(), Error> {
        self.post_unit(&format!("delete_case/{case_id}")).await
    }

    /// Lists the custom case fields (`get_case_fields`).
    pub async fn get_case_fields(&self) -> Result<Vec<CaseField>, Error> {
        self.get("get_case_fields").await
    }

    /// Lists the case types (`get_case_types`).
    pub async fn get_case_types(&self) -> Result<Vec<CaseType>, Error> {
        self.get("get_case_types").await
    }

    /// Lists the priorities (`get_priorities`).
    pub async fn get_priorities(&self) -> Result<Vec<Priority>, Error> {
        self.get("get_priorities").await
    }

    /// Lists the templates of a project (`get_templates`).
    pub async fn get_templates(&self, project_id: u64) -> Result<Vec<Template>, Error> {
        self.get(&format!("get_templates/{project_id}")).await
    }

    /// Lists the test statuses, custom ones included (`get_statuses`).
    pub async fn get_statuses(&self) -> Result<Vec<Status>, Error> {
        self.get("get_statuses").await
    }

    /// Lists the custom result fields (`get_result_fields`).
    pub async fn get_result_fields(&self) -> Result<Vec<ResultField>, Error> {
        self.get("get_result_fields").await
    }

    /// Lists users, of one project when given (`get_users`); TestRail Cloud
    /// requires the project for users who are not administrators.
    pub async fn get_users(&self, project_id: Option<u64>) -> Result<Vec<User>, Error> {
        let path = match project_id {
            Some(project_id) => format!("get_users/{project_id}"),
            None => "get_users".to_owned(),
        };
        self.get_all(&path, "users").await
    }

    /// Finds a user by email address (`get_user_by_email`).
    pub async fn get_user_by_email(&self, email: &str) -> Result<User, Error> {
        let mut path = "get_user_by_email".to_owned();
        push_text_param(&mut path, "email", email);
        self.get(&path).await
    }

    /// Returns the user the client authenticates as (`get_current_user`,
    /// TestRail 6.6 or later).
    pub async fn get_current_user(&self) -> Result<User, Error> {
        self.get("get_current_user").await
    }

    /// Lists the milestones of a project (`get_milestones`).
    pub async fn get_milestones(&self, project_id: u64) -> Result<Vec<Milestone>, Error> {
        self.get_all(&format!("get_milestones/{project_id}"), "milestones")
            .await
    }

    /// Lists the configuration groups of a project (`get_configs`).
    pub async fn get_configs(&self, project_id: u64) -> Result<Vec<ConfigGroup>, Error> {
        self.get(&format!("get_configs/{project_id}")).await
    }

    /// Creates a configuration group, such as `Browser` (`add_config_group`).
    pub async fn add_config_group(
        &self,
        project_id: u64,
        name: &str,
    ) -> Result<ConfigGroup, Error> {
        let body = serde_json::json!({ "name": name });
        self.post(&format!("add_config_group/{project_id}"), &body)
            .await
    }

    /// Creates a configuration, such as `firefox`, in a group (`add_config`).
    pub async fn add_config(&self, config_group_id: u64, name: &str) -> Result<Config, Error> {
        let body = serde_json::json!({ "name": name });
        self.post(&format!("add_config/{config_group_id}"), &body)
            .await
    }

    /// Returns one run (`get_run`).
    pub async fn get_run(&self, run_id: u64) -> Result<Run, Error> {
        self.get(&format!("get_run/{run_id}")).await
    }

    /// Lists the runs of a project that match a filter, all pages
    /// (`get_runs`). Runs inside plans are not listed by TestRail here.
    pub async fn get_runs(&self, project_id: u64, filter: &RunFilter) -> Result<Vec<Run>, Error> {
        let path = format!("get_runs/{project_id}{}", filter.to_query());
        self.get_all(&path, "runs").await
    }

    /// Creates a run (`add_run`).
    pub async fn add_run(&self, project_id: u64, body: &NewRun) -> Result<Run, Error> {
        self.post(&format!("add_run/{project_id}"), body).await
    }

    /// Changes a run (`update_run`); `case_ids` replaces the case list.
    pub async fn update_run(&self, run_id: u64, body: &RunUpdate) -> Result<Run, Error> {
        self.post(&format!("update_run/{run_id}"), body).await
    }

    /// Closes a run, which makes it read-only (`close_run`).
    pub async fn close_run(&self, run_id: u64) -> Result<Run, Error> {
        self.post(&format!("close_run/{run_id}"), &Map::new()).await
    }

    /// Deletes a run with its tests and results (`delete_run`).
    pub async fn delete_run(&self, run_id: u64) -> Result<(), Error> {
        self.post_unit(&format!("delete_run/{run_id}")).await
    }

    /// Returns one plan with its entries (`get_plan`).
    pub async fn get_plan(&self, plan_id: u64) -> Result<Plan, Error> {
        self.get(&format!("get_plan/{plan_id}")).await
    }

    /// Lists the plans of a project, without entries (`get_plans`).
    pub async fn get_plans(&self, project_id: u64) -> Result<Vec<Plan>, Error> {
        self.get_all(&format!("get_plans/{project_id}"), "plans")
            .await
    }

    /// Creates a plan (`add_plan`).
    pub async fn add_plan(&self, project_id: u64, body: &Value) -> Result<Plan, Error> {
        self.post(&format!("add_plan/{project_id}"), body).await
    }

    /// Adds an entry (a suite with one run per configuration) to a plan
    /// (`add_plan_entry`).
    pub async fn add_plan_entry(&self, plan_id: u64, body: &Value) -> Result<PlanEntry, Error> {
        self.post(&format!("add_plan_entry/{plan_id}"), body).await
    }

    /// Changes every run of a plan entry (`update_plan_entry`). The entry
    /// id is the UUID string from [`PlanEntry::id`]; `case_ids` in the body
    /// replaces the case list of each run of the entry.
    pub async fn update_plan_entry(
        &self,
        plan_id: u64,
        entry_id: &str,
        body: &Value,
    ) -> Result<PlanEntry, Error> {
        self.post(&format!("update_plan_entry/{plan_id}/{entry_id}"), body)
            .await
    }

    /// Closes a plan and its runs (`close_plan`).
    pub async fn close_plan(&self, plan_id: u64) -> Result<Plan, Error> {
        self.post(&format!("close_plan/{plan_id}"), &Map::new())
            .await
    }

    /// Lists the tests of a run, optionally only those with some statuses,
    /// all pages (`get_tests`).
    pub async fn get_tests(
        &self,
        run_id: u64,
        status_ids: Option<&[u64]>,
    ) -> Result<Vec<Test>, Error> {
        let mut path = format!("get_tests/{run_id}");
        if let Some(ids) = status_ids.filter(|ids| !ids.is_empty()) {
            path.push_str(&format!("&status_id={}", join_ids(ids)));
        }
        self.get_all(&path, "tests").await
    }

    /// Lists the results of a run, newest first, all pages
    /// (`get_results_for_run`).
    pub async fn get_results_for_run(&self, run_id: u64) -> Result<Vec<ResultEntry>, Error> {
        self.get_all(&format!("get_results_for_run/{run_id}"), "results")
            .await
    }

    /// Lists the results of one case in a run, all pages
    /// (`get_results_for_case`).
    pub async fn get_results_for_case(
        &self,
        run_id: u64,
        case_id: u64,
    ) -> Result<Vec<ResultEntry>, Error> {
        self.get_all(
            &format!("get_results_for_case/{run_id}/{case_id}"),
            "results",
        )
        .await
    }

    /// Posts one result (`add_result_for_case`); the case goes in the URL,
    /// not the body.
    pub async fn add_result_for_case(
        &self,
        run_id: u64,
        case_id: u64,
        result: &NewResult,
    ) -> Result<ResultEntry, Error> {
        let mut body = serde_json::to_value(result).unwrap_or_default();
        if let Value::Object(fields) = &mut body {
            fields.remove("case_id");
        }
        self.post(&format!("add_result_for_case/{run_id}/{case_id}"), &body)
            .await
    }

    /// Posts results for several cases in one request
    /// (`add_results_for_cases`). TestRail returns the created results in
    /// request order and rejects the whole request when one entry is
    /// invalid.
    pub async fn add_results_for_cases(
        &self,
        run_id: u64,
        results: &[NewResult],
    ) -> Result<Vec<ResultEntry>, Error> {
        let body = serde_json::json!({ "results": results });
        self.post(&format!("add_results_for_cases/{run_id}"), &body)
            .await
    }

    /// Uploads a file to a result and returns the attachment id
    /// (`add_attachment_to_result`).
    ///
    /// NOTE: TestRail Cloud since 7.1 may return a non-numeric attachment
    /// id; such an id is reported as a decode error here.
    pub async fn add_attachment_to_result(
        &self,
        result_id: u64,
        file_name: &str,
        bytes: bytes::Bytes,
    ) -> Result<u64, Error> {
        let path = format!("add_attachment_to_result/{result_id}");
        let response = self.post_file(&path, file_name, bytes).await?;
        let id = response
            .get("attachment_id")
            .cloned()
            .unwrap_or(Value::Null);
        let parsed = match &id {
            Value::Number(number) => number.as_u64(),
            Value::String(text) => text.parse().ok(),
            _ => None,
        };
        parsed.ok_or_else(|| {
            Error::new(
                "add_attachment_to_result",
                Verb::Post,
                ErrorKind::Decode {
                    path: "attachment_id".to_owned(),
                    message: format!("expected a numeric attachment id, found {id}"),
                },
            )
        })
    }

    async fn post_unit(&self, method_path: &str) -> Result<(), Error> {
        let _: Value = self.post(method_path, &Map::new()).await?;
        Ok(())
    }
}

fn cases_path(project_id: u64, filter: &CaseFilter) -> String {
    format!("get_cases/{project_id}{}", filter.to_query())
}

fn push_param(path: &mut String, key: &str, value: Option<u64>) {
    if let Some(value) = value {
        path.push_str(&format!("&{key}={value}"));
    }
}

fn push_text_param(path: &mut String, key: &str, value: &str) {
    let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    path.push_str(&format!("&{key}={encoded}"));
}

fn join_ids(ids: &[u64]) -> String {
    ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
}
