//! Prints summaries and plans.

use std::fmt::Write as _;

use serde_json::json;
use trail_sync::plan::{CaseTarget, PlannedRun, SectionTarget, SyncPlan};
use trail_sync::{PlanSummary, Summary};

use crate::cli::OutputFormat;

/// Files that could not be read, with the reason.
pub type ReportErrors = Vec<String>;

/// Writes the summary of an upload to standard output.
pub fn print_summary(summary: &Summary, report_errors: &ReportErrors, format: OutputFormat) {
    match format {
        OutputFormat::Json => {
            let mut value = serde_json::to_value(summary).expect("summary serializes");
            value["unreadable_reports"] = json!(report_errors);
            let mut errors: Vec<String> = summary.errors.clone();
            errors.extend(report_errors.iter().cloned());
            errors.extend(
                summary
                    .rejected
                    .iter()
                    .map(|r| format!("case C{}: {}", r.case_id, r.reason)),
            );
            value["errors"] = json!(errors);
            println!("{}", serde_json::to_string_pretty(&value).expect("json"));
        }
        OutputFormat::Text => print!("{}", summary_text(summary, report_errors)),
    }
}

/// Renders the text form of a summary.
pub fn summary_text(summary: &Summary, report_errors: &ReportErrors) -> String {
    let mut out = String::new();
    let verb = if summary.dry_run {
        "would upload"
    } else {
        "uploaded"
    };
    let run = match (&summary.plan, summary.run_id, summary.dry_run) {
        (Some(plan), _, _) => match plan.id {
            Some(id) => format!(
                "test plan R{id}{}",
                if plan.created { " (created)" } else { "" }
            ),
            None => format!("test plan `{}`", plan.name),
        },
        (None, run_id, dry_run) => run_name(run_id, dry_run, summary.run_created),
    };
    let _ = writeln!(
        out,
        "{verb} {} to {run}",
        plural(summary.results_uploaded, "result")
    );
    if let Some(url) = &summary.run_url {
        let _ = writeln!(out, "  run:       {url}");
    }
    if let Some(plan) = &summary.plan {
        write_plan_runs(&mut out, plan);
    }
    let _ = writeln!(out, "  tests:     {} read", summary.tests_read);
    if !summary.by_status.is_empty() {
        let parts: Vec<String> = summary
            .by_status
            .iter()
            .map(|(name, count)| format!("{count} {}", name.to_lowercase()))
            .collect();
        let _ = writeln!(out, "  results:   {}", parts.join(", "));
    }
    if summary.results_skipped > 0 {
        let _ = writeln!(
            out,
            "  not posted: {} (skipped tests stay Untested)",
            summary.results_skipped
        );
    }
    let created_verb = if summary.dry_run {
        "to create"
    } else {
        "created"
    };
    if summary.cases_created > 0 || summary.sections_created > 0 {
        let _ = writeln!(
            out,
            "  {created_verb}: {}, {}",
            plural(summary.cases_created, "case"),
            plural(summary.sections_created, "section")
        );
    }
    if summary.cases_updated > 0 {
        let verb = if summary.dry_run {
            "to update"
        } else {
            "updated"
        };
        let _ = writeln!(out, "  {verb}: {}", plural(summary.cases_updated, "case"));
    }
    if summary.attachments_uploaded > 0 {
        let verb = if summary.dry_run {
            "to attach"
        } else {
            "attached"
        };
        let _ = writeln!(
            out,
            "  {verb}: {}",
            plural(summary.attachments_uploaded, "file")
        );
    }
    if summary.run_closed {
        let closed = if summary.plan.is_some() {
            "test plan"
        } else {
            "run"
        };
        let _ = writeln!(out, "  {closed} closed");
    }
    if !summary.unmatched.is_empty() {
        let _ = writeln!(
            out,
            "  unmatched: {}",
            plural(summary.unmatched.len(), "test")
        );
        for unmatched in summary.unmatched.iter().take(20) {
            let _ = writeln!(out, "    - {}: {}", unmatched.test, unmatched.reason);
        }
        if summary.unmatched.len() > 20 {
            let _ = writeln!(
                out,
                "    ... and {} more (--format json lists all)",
                summary.unmatched.len() - 20
            );
        }
    }
    if !summary.rejected.is_empty() {
        let _ = writeln!(
            out,
            "  rejected by TestRail: {}",
            plural(summary.rejected.len(), "result")
        );
        for rejected in summary.rejected.iter().take(20) {
            let _ = writeln!(
                out,
                "    - C{} ({}): {}",
                rejected.case_id,
                rejected.tests.join(", "),
                rejected.reason
            );
        }
    }
    for error in summary.errors.iter().chain(report_errors) {
        let _ = writeln!(out, "  error: {error}");
    }
    out
}

/// Names the single run of an upload for the first summary line.
fn run_name(run_id: Option<u64>, dry_run: bool, created: bool) -> String {
    match (run_id, dry_run) {
        (Some(id), _) => format!("run R{id}{}", if created { " (created)" } else { "" }),
        (None, true) => "the run".to_owned(),
        (None, false) => "no run".to_owned(),
    }
}

/// Writes the plan URL and one line per run of a test plan.
fn write_plan_runs(out: &mut String, plan: &PlanSummary) {
    if let Some(url) = &plan.url {
        let _ = writeln!(out, "  plan:      {url}");
    }
    let _ = writeln!(
        out,
        "  runs:      {} in configuration group `{}`",
        plan.runs.len(),
        plan.config_group
    );
    for run in &plan.runs {
        let id = run.run_id.map(|id| format!(" R{id}")).unwrap_or_default();
        let statuses: Vec<String> = run
            .by_status
            .iter()
            .map(|(name, count)| format!("{count} {}", name.to_lowercase()))
            .collect();
        let statuses = if statuses.is_empty() {
            String::new()
        } else {
            format!(" ({})", statuses.join(", "))
        };
        let _ = writeln!(
            out,
            "    - {}{id}: {}, {}{statuses}",
            run.config,
            plural(run.cases, "case"),
            plural(run.results_uploaded, "result")
        );
        if let Some(url) = &run.url {
            let _ = writeln!(out, "      {url}");
        }
    }
}

/// Writes a plan for `--dry-run`.
pub fn print_plan(plan: &SyncPlan, summary: &Summary, format: OutputFormat) {
    match format {
        OutputFormat::Json => {
            let value = json!({ "plan": plan, "summary": summary });
            println!("{}", serde_json::to_string_pretty(&value).expect("json"));
        }
        OutputFormat::Text => {
            let mut out = String::new();
            let _ = writeln!(
                out,
                "plan for project `{}` (P{}), suite S{}",
                plan.project_name, plan.project_id, plan.suite_id
            );
            if !plan.sections.is_empty() {
                let _ = writeln!(out, "sections to create:");
                for (index, section) in plan.sections.iter().enumerate() {
                    let parent = match section.parent {
                        None => "top level".to_owned(),
                        Some(SectionTarget::Existing(id)) => format!("under S{id}"),
                        Some(SectionTarget::Planned(p)) => format!("under new section #{p}"),
                    };
                    let _ = writeln!(out, "  #{index} `{}` {parent}", section.name);
                }
            }
            if !plan.cases.is_empty() {
                let _ = writeln!(out, "cases to create:");
                for case in &plan.cases {
                    let section = match case.section {
                        SectionTarget::Existing(id) => format!("S{id}"),
                        SectionTarget::Planned(p) => format!("new section #{p}"),
                    };
                    let fields: Vec<String> = case
                        .fields
                        .iter()
                        .filter(|(key, _)| key.as_str() != "title")
                        .map(|(key, value)| format!("{key}={value}"))
                        .collect();
                    let _ = writeln!(
                        out,
                        "  `{}` in {section}{}",
                        case.title,
                        if fields.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", fields.join(", "))
                        }
                    );
                }
            }
            write_updates(&mut out, plan);
            match &plan.run {
                PlannedRun::Existing { id } => {
                    let _ = writeln!(out, "run: R{id}");
                }
                PlannedRun::ByName {
                    name, reset: true, ..
                } => {
                    let _ = writeln!(out, "run: a new run `{name}`");
                }
                PlannedRun::ByName { name, .. } => {
                    let _ = writeln!(out, "run: the open run `{name}`, created when missing");
                }
                PlannedRun::Plan {
                    name,
                    reset,
                    config_group,
                    runs,
                    ..
                } => {
                    let which = if *reset {
                        format!("a new test plan `{name}`")
                    } else {
                        format!("the open test plan `{name}`, created when missing")
                    };
                    let _ = writeln!(
                        out,
                        "run: {which}, with one run per configuration of group `{config_group}`:"
                    );
                    for (index, run) in runs.iter().enumerate() {
                        let results = plan.results.iter().filter(|r| r.run == index).count();
                        let _ = writeln!(
                            out,
                            "  {}: {}, {}",
                            run.config,
                            plural(run.cases.len(), "case"),
                            plural(results, "result")
                        );
                    }
                }
            }
            let existing = plan
                .run_cases
                .iter()
                .filter(|c| matches!(c, CaseTarget::Existing(_)))
                .count();
            let _ = writeln!(
                out,
                "cases in the run: {} ({} existing, {} new)",
                plan.run_cases.len(),
                existing,
                plan.run_cases.len() - existing
            );
            write_attachments(&mut out, plan);
            if plan.close_run {
                let closed = if matches!(plan.run, PlannedRun::Plan { .. }) {
                    "the test plan"
                } else {
                    "the run"
                };
                let _ = writeln!(out, "then close {closed}");
            }
            let _ = writeln!(out);
            out.push_str(&summary_text(summary, &Vec::new()));
            print!("{out}");
        }
    }
}

/// Writes each planned case update, one line per field.
fn write_updates(out: &mut String, plan: &SyncPlan) {
    if plan.updates.is_empty() {
        return;
    }
    let _ = writeln!(out, "cases to update:");
    for update in &plan.updates {
        let _ = writeln!(out, "  C{} `{}`", update.case_id, update.title);
        for change in &update.changes {
            let _ = writeln!(
                out,
                "    {}: {} -> {}",
                change.field, change.from, change.to
            );
        }
    }
}

/// Writes the files each result gets.
fn write_attachments(out: &mut String, plan: &SyncPlan) {
    if plan.attachment_count() == 0 {
        return;
    }
    let _ = writeln!(out, "attachments:");
    for result in &plan.results {
        for attachment in &result.attachments {
            let case = match result.case {
                CaseTarget::Existing(id) => format!("C{id}"),
                CaseTarget::Planned(index) => format!("new case #{index}"),
            };
            let _ = writeln!(
                out,
                "  {} ({}) to the result of {case}",
                attachment.file_name,
                plural(attachment.size as usize, "byte")
            );
        }
    }
}

/// Writes the warnings of an upload to standard error, at most 20 of them.
pub fn print_warnings(warnings: &[String]) {
    for warning in warnings.iter().take(20) {
        eprintln!("warning: {warning}");
    }
    if warnings.len() > 20 {
        eprintln!(
            "warning: ... and {} more (--format json lists all)",
            warnings.len() - 20
        );
    }
}

/// Writes `n thing` or `n things`.
pub fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}
