//! The `atlas` command: every scenario of a directory (e.g. `scenarios/trials/`, one per
//! clinical trial) run side by side, with what each trial reported beside what the model
//! predicts it delivered to the liver.

use std::collections::HashMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rayon::prelude::*;

use super::{emit, toml_files};
use crate::error::InputError;
use crate::metrics::{Metric, Metrics};
use crate::output;
use crate::plot::{self, AtlasPoint, Response};
use crate::population;
use crate::presets::{Choice, Route};
use crate::scenario::{self, Scenario};
use crate::simulation::Problem;

/// What `atlas` reads and where it writes.
#[derive(Debug, Clone)]
pub struct Request {
    /// Directory of scenario files (`*.toml`), with an optional `trials.csv`.
    pub dir: PathBuf,
    /// Virtual subjects per scenario, for bands of the liver AUC.
    pub population: Option<usize>,
    /// Directory that receives `atlas/`.
    pub out: PathBuf,
}

/// The table in a scenario directory that gives each trial's reported response.
pub const TRIALS_CSV: &str = "trials.csv";

/// The metrics of `atlas.csv`, in column order after the scenario's name, route, disease.
const COLUMNS: [Metric; 7] = [
    Metric::CellsGiven,
    Metric::LiverAuc,
    Metric::LiverPeak,
    Metric::LiverReachedFraction,
    Metric::LiverEngraftedAuc,
    Metric::LungPeakFraction,
    Metric::DaysLiverAboveThreshold,
];

/// `cellpk atlas`.
pub fn atlas(req: &Request) -> anyhow::Result<()> {
    let files = scenario_files(&req.dir)?;
    // Every file is read and checked before anything runs, so one invalid scenario among
    // valid ones stops the atlas (exit 2, naming it) with nothing written.
    let scenarios = files
        .iter()
        .map(|f| scenario::load(f))
        .collect::<Result<Vec<Scenario>, _>>()?;
    distinct_names(&files, &scenarios)?;
    let responses = read_responses(&req.dir.join(TRIALS_CSV))?;

    let metrics = scenarios
        .par_iter()
        .map(|s| {
            Problem::new(s)
                .metrics()
                .with_context(|| format!("cannot simulate scenario {}", s.name))
        })
        .collect::<anyhow::Result<Vec<Metrics>>>()?;
    let bands = match req.population {
        Some(n) => Some(liver_auc_bands(&files, &scenarios, n)?),
        None => None,
    };
    let rows: Vec<Row> = scenarios
        .iter()
        .zip(metrics)
        .enumerate()
        .map(|(i, (s, m))| Row {
            response: responses.get(&s.name).cloned().unwrap_or_default(),
            scenario: s,
            metrics: m,
            band: bands.as_ref().map(|b| b[i]),
        })
        .collect();

    let table = table(&rows);
    let points = points(&rows);
    let exposure = plot::AtlasExposure {
        title: "Predicted liver exposure per trial, by route",
        x_label: "Live cells in the liver x days (AUC)",
        points: &points,
    };
    let dose = plot::AtlasDose {
        title: "Cells given against predicted liver exposure",
        x_label: "Cells given",
        y_label: "Live cells in the liver x days (AUC)",
        points: &points,
    };
    let exposure = plot::atlas_exposure(&exposure).context("cannot draw liver_exposure")?;
    let dose = plot::atlas_dose(&dose).context("cannot draw dose_exposure")?;
    let files = [
        ("atlas.csv", table.clone().into_bytes()),
        ("liver_exposure.png", exposure.png),
        ("liver_exposure.svg", exposure.svg.into_bytes()),
        ("dose_exposure.png", dose.png),
        ("dose_exposure.svg", dose.svg.into_bytes()),
    ];
    let dir = req.out.join("atlas");
    output::write_dir_atomically(&dir, &files)
        .with_context(|| format!("cannot write {}", dir.display()))?;
    emit(&format!(
        "{table}wrote {}/ ({})\n",
        dir.display(),
        super::file_list(&files)
    ))
}

/// One scenario run for the atlas.
struct Row<'a> {
    scenario: &'a Scenario,
    metrics: Metrics,
    /// The reported response as `trials.csv` words it; empty without a row.
    response: String,
    /// The 5, 50 and 95 % quantiles of the liver AUC over a population (`--population`).
    band: Option<[f64; 3]>,
}

impl Row<'_> {
    /// The routes of the scenario's doses, in `Route` order, joined by `+`.
    fn route(&self) -> String {
        routes(self.scenario)
            .iter()
            .map(|r| r.name())
            .collect::<Vec<_>>()
            .join("+")
    }
}

/// The distinct routes of `scenario`'s doses, in `Route` order (the figures' order).
fn routes(scenario: &Scenario) -> Vec<Route> {
    Route::ALL
        .iter()
        .copied()
        .filter(|r| scenario.doses.iter().any(|d| d.route == *r))
        .collect()
}

/// The `*.toml` files of `dir`, by file name: the atlas's row order, so that reruns are
/// byte-identical whatever order the file system lists them in.
fn scenario_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let files = toml_files(dir)?;
    if files.is_empty() {
        return Err(InputError::Argument {
            argument: "DIR".into(),
            problem: format!("{} holds no scenario (*.toml)", dir.display()),
            fix: "name a directory of scenario files, e.g. scenarios/trials".into(),
        }
        .into());
    }
    Ok(files)
}

/// Rows of the table and points of the figures are keyed by name, so names must differ.
fn distinct_names(files: &[PathBuf], scenarios: &[Scenario]) -> anyhow::Result<()> {
    for (i, s) in scenarios.iter().enumerate() {
        if let Some(j) = scenarios[..i].iter().position(|t| t.name == s.name) {
            return Err(InputError::Argument {
                argument: "DIR".into(),
                problem: format!(
                    "{} and {} are both named `{}`",
                    files[j].display(),
                    files[i].display(),
                    s.name
                ),
                fix: "give each scenario its own `name` (it labels its row and its point)".into(),
            }
            .into());
        }
    }
    Ok(())
}

/// The `response` of each `trial` in `file`; none when there is no such file. A file
/// without those columns, or with a response other than the three categories, is bad
/// input: a join that silently found nothing would draw every trial as unreported.
fn read_responses(file: &Path) -> anyhow::Result<HashMap<String, String>> {
    if !file.exists() {
        return Ok(HashMap::new());
    }
    let bad = |message: String| InputError::Syntax {
        file: file.to_path_buf(),
        message,
    };
    let mut reader = csv::Reader::from_path(file).map_err(|e| bad(e.to_string()))?;
    let headers = reader.headers().map_err(|e| bad(e.to_string()))?.clone();
    let column = |name: &str| {
        headers.iter().position(|h| h == name).ok_or_else(|| {
            bad(format!(
                "no `{name}` column; the atlas joins on `trial` and reads `response`"
            ))
        })
    };
    let (trial, response) = (column("trial")?, column("response")?);
    let mut responses = HashMap::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.map_err(|e| bad(e.to_string()))?;
        let value = record.get(response).unwrap_or_default();
        if !value.is_empty() && Response::parse(value).is_none() {
            return Err(bad(format!(
                "row {}: response `{value}` is not one of improved, partly, not_improved",
                line + 2
            ))
            .into());
        }
        responses.insert(
            record.get(trial).unwrap_or_default().to_string(),
            value.to_string(),
        );
    }
    Ok(responses)
}

/// The 5, 50 and 95 % quantiles of the liver AUC over `n` virtual subjects of each
/// scenario, drawn by its `[variability]` (exit 2, naming the file, for one without).
fn liver_auc_bands(
    files: &[PathBuf],
    scenarios: &[Scenario],
    n: usize,
) -> anyhow::Result<Vec<[f64; 3]>> {
    let hidden = indicatif::ProgressBar::hidden();
    files
        .iter()
        .zip(scenarios)
        .map(|(file, s)| {
            let variability = s.variability.as_ref().ok_or_else(|| InputError::Argument {
                argument: "--population".into(),
                problem: format!("{} has no [variability] section", file.display()),
                fix: "add one (docs/uncertainty.md), or leave --population out".into(),
            })?;
            let (_, metrics) = population::metrics(s, variability, n, &hidden)
                .with_context(|| format!("cannot simulate the population of {}", s.name))?;
            let mut auc: Vec<f64> = metrics.iter().map(|m| m.liver_auc_cell_days).collect();
            let [p5, _, p50, _, p95] = population::sorted_quantiles(&mut auc);
            Ok([p5, p50, p95])
        })
        .collect()
}

/// `atlas.csv`: one row per scenario, in file-name order, values in shortest round-trip
/// form (as `metrics.csv`), so the file is the same on every rerun.
fn table(rows: &[Row]) -> String {
    let mut out = String::from("name,route,disease");
    for m in COLUMNS {
        write!(out, ",{}", m.name()).expect("writing to a String cannot fail");
    }
    if rows.iter().any(|r| r.band.is_some()) {
        out.push_str(",liver_auc_p5,liver_auc_p50,liver_auc_p95");
    }
    out.push_str(",response\n");
    for row in rows {
        write!(
            out,
            "{},{},{}",
            row.scenario.name,
            row.route(),
            row.scenario.subject.disease
        )
        .expect("writing to a String cannot fail");
        for m in COLUMNS {
            write!(out, ",{:e}", m.value(&row.metrics)).expect("writing to a String cannot fail");
        }
        for q in row.band.iter().flatten() {
            write!(out, ",{q:e}").expect("writing to a String cannot fail");
        }
        writeln!(out, ",{}", row.response).expect("writing to a String cannot fail");
    }
    out
}

/// The figures' points, grouped by route in `Route` order (a scenario of several routes
/// forms a group of its own), by name within a group.
fn points(rows: &[Row]) -> Vec<AtlasPoint> {
    let mut points: Vec<(Vec<usize>, AtlasPoint)> = rows
        .iter()
        .map(|row| {
            let order = routes(row.scenario)
                .iter()
                .map(|r| Route::ALL.iter().position(|a| a == r).unwrap_or(0))
                .collect();
            let point = AtlasPoint {
                label: row.scenario.name.clone(),
                group: row.route().replace('_', " "),
                cells_given: row.metrics.cells_given,
                liver_auc: row.metrics.liver_auc_cell_days,
                liver_auc_band: row.band.map(|[p5, _, p95]| (p5, p95)),
                response: Response::parse(&row.response),
            };
            (order, point)
        })
        .collect();
    points.sort_by(|(a, p), (b, q)| a.cmp(b).then_with(|| p.label.cmp(&q.label)));
    points.into_iter().map(|(_, p)| p).collect()
}
