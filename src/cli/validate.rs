//! The `validate` command: each case (a scenario with `[validation]`) is run, compared
//! with its study's rows, judged (`validation::report`), and the report, table and figures
//! of all cases are written together.
//!
//! Every case is read and checked before anything runs, so bad input (exit 2) leaves no
//! output; the directory is written whole, and only then does a failing case turn into
//! exit code 1, so the report explaining the failure is on disk.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::{emit, toml_files};
use crate::error::{InputError, Location};
use crate::output;
use crate::plot::{self, ModelVsData};
use crate::scenario::{self, Scenario};
use crate::validation::compare::{check_usable, compare};
use crate::validation::data::{self, Observation};
use crate::validation::report::{self, Case};

/// Where the shipped cases are, and where `validate` looks without arguments.
pub const CASES_DIR: &str = "validation";

/// Some cases did not pass: not bad input (exit 1, not 2), since the files were valid and
/// the model disagrees with the data.
#[derive(Debug, thiserror::Error)]
#[error("{failed} of {total} validation cases failed: {names}")]
pub struct CasesFailed {
    /// Cases that failed.
    pub failed: usize,
    /// Cases run.
    pub total: usize,
    /// Their names, comma-separated.
    pub names: String,
}

/// A case read and checked: its scenario and its study's rows.
pub(super) struct Loaded {
    /// The file's stem.
    pub name: String,
    /// The scenario.
    pub scenario: Scenario,
    /// Its study's rows, checked against it.
    pub rows: Vec<Observation>,
}

/// Reads and checks every case of `files` (default: every `*.toml` in `CASES_DIR`; then a
/// file without `[validation]` is left out when `skip_without_validation`, else refused),
/// before anything runs.
pub(super) fn load_cases(
    files: &[PathBuf],
    skip_without_validation: bool,
) -> anyhow::Result<Vec<Loaded>> {
    let defaulted = files.is_empty();
    let files = if defaulted {
        default_cases()?
    } else {
        files.to_vec()
    };
    let mut data_files: HashMap<PathBuf, Vec<Observation>> = HashMap::new();
    let mut loaded: Vec<Loaded> = Vec::new();
    for file in &files {
        let scenario = scenario::load(file)?;
        let Some(v) = scenario.validation.clone() else {
            if defaulted && skip_without_validation {
                continue;
            }
            return Err(InputError::Invalid {
                at: Location {
                    file: file.clone(),
                    line: None,
                },
                key: "validation".into(),
                problem: "the scenario has no `[validation]` section, so there is nothing to \
                          compare it with"
                    .into(),
                fix: "add `[validation]` with `data`, `study` and `max_fold_error` (see \
                      validation/README.md), or leave the file out"
                    .into(),
            }
            .into());
        };
        if !data_files.contains_key(&v.data) {
            let rows = data::read(&v.data)?;
            data_files.insert(v.data.clone(), rows);
        }
        let rows = data::study(&data_files[&v.data], &v.study, &v.data)?;
        check_usable(&scenario, &rows, &v.data)?;
        let name = case_name(file);
        if loaded.iter().any(|c| c.name == name) {
            return Err(InputError::Argument {
                argument: "CASES".into(),
                problem: format!("two cases are named `{name}` (by their file names)"),
                fix: "give each case file its own name: it names the case's figures".into(),
            }
            .into());
        }
        let rows = rows.into_iter().cloned().collect();
        loaded.push(Loaded {
            name,
            scenario,
            rows,
        });
    }
    if loaded.is_empty() {
        return Err(InputError::Argument {
            argument: "CASES".into(),
            problem: format!("no case with `[validation]` in {CASES_DIR}/"),
            fix: "name case files, or run from the project's root".into(),
        }
        .into());
    }
    Ok(loaded)
}

/// `cellpk validate`.
pub fn validate(files: &[PathBuf], out: &Path) -> anyhow::Result<()> {
    let loaded = load_cases(files, false)?;

    let figure_names: Vec<String> = loaded
        .iter()
        .flat_map(|c| [format!("{}.png", c.name), format!("{}.svg", c.name)])
        .collect();
    let mut figures = Vec::new();
    let mut cases = Vec::new();
    for Loaded {
        name,
        scenario,
        rows,
    } in &loaded
    {
        let v = scenario.validation.as_ref().expect("checked while loading");
        let rows: Vec<&Observation> = rows.iter().collect();
        let comparison =
            compare(scenario, &rows).with_context(|| format!("cannot simulate case {name}"))?;
        let case = Case {
            name: name.clone(),
            study: v.study.clone(),
            method: scenario.observe.unwrap_or_default().method,
            max_fold_error: v.max_fold_error,
            comparison,
            known_disagreement: v.known_disagreement.clone(),
        };
        let panels = report::panels(scenario, case.method, &case.comparison)
            .with_context(|| format!("cannot simulate case {name}"))?;
        let title = format!("{}: {}, model vs data", case.study, case.method);
        let figure = ModelVsData {
            title: &title,
            x_label: report::TIME_LABEL,
            panels: &panels,
        };
        let drawn = plot::model_vs_data(&figure).with_context(|| format!("cannot draw {name}"))?;
        figures.push(drawn.png);
        figures.push(drawn.svg.into_bytes());
        cases.push(case);
    }
    let mut files = vec![
        ("report.md", report::report_md(&cases).into_bytes()),
        (
            "comparison.csv",
            report::comparison_csv(&cases).into_bytes(),
        ),
    ];
    files.extend(figure_names.iter().map(String::as_str).zip(figures));
    let dir = out.join("validation");
    output::write_dir_atomically(&dir, &files)
        .with_context(|| format!("cannot write {}", dir.display()))?;

    let mut text: String = cases.iter().map(|c| c.summary() + "\n").collect();
    text.push_str(&format!(
        "wrote {}/ (report.md, comparison.csv, a PNG and an SVG per case)\n",
        dir.display()
    ));
    emit(&text)?;
    let failed: Vec<&str> = cases
        .iter()
        .filter(|c| !c.passes())
        .map(|c| c.name.as_str())
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CasesFailed {
            failed: failed.len(),
            total: cases.len(),
            names: failed.join(", "),
        }
        .into())
    }
}

/// Every `*.toml` in `CASES_DIR`, sorted.
fn default_cases() -> anyhow::Result<Vec<PathBuf>> {
    let dir = Path::new(CASES_DIR);
    let files = toml_files(dir)?;
    if files.is_empty() {
        return Err(InputError::Argument {
            argument: "CASES".into(),
            problem: format!("no case (`*.toml`) in {}/", dir.display()),
            fix: "name case files, or run from the project's root".into(),
        }
        .into());
    }
    Ok(files)
}

/// A case's name: its file's stem.
fn case_name(file: &Path) -> String {
    file.file_stem()
        .map_or_else(|| "case".into(), |s| s.to_string_lossy().into_owned())
}
