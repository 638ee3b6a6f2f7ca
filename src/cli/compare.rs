//! The `compare` command: several scenarios side by side (e.g. one dose by five routes).

use std::fmt::Write;
use std::path::PathBuf;

use anyhow::Context;

use super::{dose_marks, emit, time_course_figure, Scale};
use crate::compartment::{Compartment, State, Total};
use crate::error::InputError;
use crate::metrics::Metric;
use crate::output;
use crate::plot::{self, BarChart, Series};
use crate::population;
use crate::scenario::{self, suggest, Scenario};
use crate::simulation::{self, Outcome};
use crate::sweep::metric_by_name;

/// What `compare` draws and tabulates.
#[derive(Debug, Clone)]
pub struct Request {
    /// Scenario files.
    pub scenarios: Vec<PathBuf>,
    /// Compartment or total overlaid over time.
    pub compartment: String,
    /// Metrics in the bar chart and table.
    pub metrics: Vec<String>,
    /// Output directory name.
    pub name: String,
    /// Directory that receives it.
    pub out: PathBuf,
    /// Y axis of the overlay.
    pub y_scale: Scale,
    /// Virtual subjects per scenario, for the probabilities of `--population`.
    pub population: Option<usize>,
}

/// The weights that pick a state or a total, as named on the command line, from a state.
fn curve(name: &str) -> Option<State> {
    let state = Compartment::ALL
        .iter()
        .find(|c| c.name() == name)
        .map(|c| c.unit());
    state.or_else(|| {
        Total::ALL
            .iter()
            .find(|t| t.name() == name)
            .map(|t| t.weights())
    })
}

/// Parses `--metrics`: names of `metrics.csv`, a misspelt one answered with the nearest.
pub(super) fn metrics_arg(names: &[String]) -> anyhow::Result<Vec<Metric>> {
    names
        .iter()
        .map(|m| {
            metric_by_name(m).ok_or_else(|| {
                let all = Metric::ALL.iter().map(|k| k.name());
                bad(
                    "--metrics",
                    format!("no metric `{m}`"),
                    suggest::did_you_mean(&suggest::nearest(m, all.clone())).unwrap_or_else(|| {
                        format!("use metrics from {}", all.collect::<Vec<_>>().join(", "))
                    }),
                )
            })
        })
        .collect()
}

pub(super) fn bad(argument: &str, problem: String, fix: String) -> anyhow::Error {
    InputError::Argument {
        argument: argument.into(),
        problem,
        fix,
    }
    .into()
}

/// `cellpk compare`.
pub fn compare(req: &Request) -> anyhow::Result<()> {
    let names: Vec<&str> = Compartment::ALL
        .iter()
        .map(|c| c.name())
        .chain(Total::ALL.iter().map(|t| t.name()))
        .collect();
    let weights = curve(&req.compartment).ok_or_else(|| {
        bad(
            "--compartment",
            format!("no compartment `{}`", req.compartment),
            suggest::did_you_mean(&suggest::nearest(&req.compartment, names.iter().copied()))
                .unwrap_or_else(|| format!("use one of {}", names.join(", "))),
        )
    })?;
    let metrics = metrics_arg(&req.metrics)?;
    if !scenario::is_directory_name(&req.name) {
        return Err(bad(
            "--name",
            format!("{:?} cannot name an output directory", req.name),
            format!(
                "use up to {} letters, digits, `_`, `-` and `.`, starting with a letter or digit",
                scenario::MAX_NAME_LEN
            ),
        ));
    }
    let scenarios = req
        .scenarios
        .iter()
        .map(|f| scenario::load(f))
        .collect::<Result<Vec<Scenario>, _>>()?;
    check_comparable(&req.scenarios, &scenarios)?;

    let outcomes: Vec<Outcome> = scenarios
        .iter()
        .map(|s| simulation::run(s).with_context(|| format!("cannot simulate scenario {}", s.name)))
        .collect::<anyhow::Result<_>>()?;
    let (shared, labels) = legend_labels(&scenarios);
    let series: Vec<Series> = labels
        .iter()
        .zip(&outcomes)
        .map(|(label, o)| Series {
            label: label.clone(),
            values: o.timecourse.states.iter().map(|x| weights.dot(x)).collect(),
        })
        .collect();
    let duration_h = scenarios[0].duration_h();
    let mut doses: Vec<_> = outcomes
        .iter()
        .flat_map(|o| dose_marks(&o.schedule, duration_h))
        .collect();
    doses.sort_by(|a, b| a.start_day.total_cmp(&b.start_day));
    doses.dedup();
    let title = format!("{} cells by scenario{shared}", req.compartment);
    let (overlay_png, overlay_svg) = time_course_figure(
        &title,
        "Cells",
        &outcomes[0].timecourse.time_h,
        &series,
        &doses,
        req.y_scale,
        "overlay",
    )?;

    // Bars relative to the best scenario per metric: metrics differ in units and size.
    let categories: Vec<String> = metrics.iter().map(|m| m.words()).collect();
    let groups: Vec<Series> = labels
        .iter()
        .zip(&outcomes)
        .map(|(label, o)| Series {
            label: label.clone(),
            values: metrics
                .iter()
                .map(|m| {
                    let best = outcomes
                        .iter()
                        .map(|p| m.value(&p.metrics))
                        .fold(0.0, f64::max);
                    if best > 0.0 {
                        m.value(&o.metrics) / best
                    } else {
                        0.0
                    }
                })
                .collect(),
        })
        .collect();
    let chart = BarChart {
        title: &format!("Metrics relative to the highest scenario{shared}"),
        y_label: "Share of the highest value",
        categories: &categories,
        groups: &groups,
        y_log: false,
    };
    let bars = plot::bar_chart(&chart).context("cannot draw bars")?;

    let mut table = String::from("scenario,metric,value,unit\n");
    for (s, o) in scenarios.iter().zip(&outcomes) {
        for m in &metrics {
            writeln!(
                table,
                "{},{},{:e},{}",
                s.name,
                m.name(),
                m.value(&o.metrics),
                m.unit()
            )
            .expect("writing to a String cannot fail");
        }
    }
    let dir = req.out.join(&req.name);
    let mut files = vec![
        ("metrics.csv", table.clone().into_bytes()),
        ("overlay.png", overlay_png),
        ("overlay.svg", overlay_svg.into_bytes()),
        ("bars.png", bars.png),
        ("bars.svg", bars.svg.into_bytes()),
    ];
    let mut summary = table;
    if let Some(n) = req.population {
        let (csv, figure) =
            probabilities(&req.scenarios, &scenarios, &labels, &shared, &metrics, n)?;
        summary.push_str(&csv);
        files.push(("probabilities.csv", csv.into_bytes()));
        files.push(("best.png", figure.png));
        files.push(("best.svg", figure.svg.into_bytes()));
    }
    output::write_dir_atomically(&dir, &files)
        .with_context(|| format!("cannot write {}", dir.display()))?;
    emit(&format!(
        "{summary}wrote {}/ ({})\n",
        dir.display(),
        files.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
    ))
}

/// Decisions under uncertainty (`--population`): each scenario's metrics over `n` virtual
/// subjects, the same subjects for every scenario (common random numbers: the same
/// parameters varied with the same seed give subject i the same normal scores in each), so
/// that a difference between scenarios is a difference for the same patient. Returns
/// `probabilities.csv` (per metric and ordered pair, the share of subjects for whom the
/// first scenario's value is higher, ties counted half; and per scenario, with `other`
/// `all`, the share for whom it is the highest of all, ties shared) and the figure of the
/// latter.
fn probabilities(
    files: &[PathBuf],
    scenarios: &[Scenario],
    labels: &[String],
    shared: &str,
    metrics: &[Metric],
    n: usize,
) -> anyhow::Result<(String, plot::Rendered)> {
    let refuse = |problem: String| -> anyhow::Error {
        bad(
            "--population",
            problem,
            "give every scenario the same [variability] parameters and seed \
             (docs/uncertainty.md), or leave --population out"
                .into(),
        )
    };
    let mut shape: Option<(u64, Vec<&str>)> = None;
    for (file, s) in files.iter().zip(scenarios) {
        let v = s
            .variability
            .as_ref()
            .ok_or_else(|| refuse(format!("{} has no [variability] section", file.display())))?;
        let this = (v.seed, v.draws.iter().map(|d| d.param.name()).collect());
        match &shape {
            None => shape = Some(this),
            Some(first) if *first != this => {
                return Err(refuse(format!(
                    "{} varies other parameters or another seed than {}: the subjects would \
                     not be shared",
                    file.display(),
                    files[0].display()
                )))
            }
            Some(_) => {}
        }
    }
    let hidden = indicatif::ProgressBar::hidden();
    let values: Vec<Vec<Vec<f64>>> = scenarios
        .iter()
        .map(|s| {
            let v = s.variability.as_ref().expect("checked above");
            let (_, m) = population::metrics(s, v, n, &hidden)
                .with_context(|| format!("cannot simulate the population of {}", s.name))?;
            Ok(metrics
                .iter()
                .map(|k| m.iter().map(|x| k.value(x)).collect())
                .collect())
        })
        .collect::<anyhow::Result<_>>()?;
    // values[scenario][metric][subject]
    let higher = |a: f64, b: f64| -> f64 {
        if a > b {
            1.0
        } else if a == b {
            0.5
        } else {
            0.0
        }
    };
    let mut csv = String::from("metric,scenario,other,p_higher\n");
    let mut best: Vec<Vec<f64>> = vec![vec![0.0; metrics.len()]; scenarios.len()];
    for (k, m) in metrics.iter().enumerate() {
        for (a, sa) in scenarios.iter().enumerate() {
            for (b, sb) in scenarios.iter().enumerate().filter(|(b, _)| *b != a) {
                let p = (0..n)
                    .map(|i| higher(values[a][k][i], values[b][k][i]))
                    .sum::<f64>()
                    / n as f64;
                writeln!(csv, "{},{},{},{p}", m.name(), sa.name, sb.name)
                    .expect("writing to a String cannot fail");
            }
        }
        let subjects = (0..n).map(|i| values.iter().map(|v| v[k][i]).collect::<Vec<f64>>());
        for scores in subjects {
            let top = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let winners: Vec<usize> = (0..scores.len()).filter(|&a| scores[a] == top).collect();
            for &a in &winners {
                best[a][k] += 1.0 / winners.len() as f64;
            }
        }
        for (a, s) in scenarios.iter().enumerate() {
            best[a][k] /= n as f64;
            writeln!(csv, "{},{},all,{}", m.name(), s.name, best[a][k])
                .expect("writing to a String cannot fail");
        }
    }
    let categories: Vec<String> = metrics.iter().map(|m| m.words()).collect();
    let groups: Vec<Series> = labels
        .iter()
        .zip(&best)
        .map(|(label, b)| Series {
            label: label.clone(),
            values: b.clone(),
        })
        .collect();
    let title = format!("Probability of the highest value, {n} shared subjects{shared}");
    let chart = BarChart {
        title: &title,
        y_label: "Share of subjects",
        categories: &categories,
        groups: &groups,
        y_log: false,
    };
    Ok((csv, plot::bar_chart(&chart).context("cannot draw best")?))
}

/// The scenarios' legend labels: their names without the prefix all share (cut after an
/// underscore), so five routes of one scenario read "hepatic_artery", "portal_vein", ...
/// instead of names too long for the legend; and that prefix as a title suffix
/// (" (human_decompensated_...)"), empty when there is none.
fn legend_labels(scenarios: &[Scenario]) -> (String, Vec<String>) {
    let names: Vec<&str> = scenarios.iter().map(|s| s.name.as_str()).collect();
    let common = names.iter().skip(1).fold(names[0], |prefix, name| {
        let same = prefix
            .char_indices()
            .zip(name.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(0, |((i, a), _)| i + a.len_utf8());
        &prefix[..same]
    });
    let cut = common.rfind('_').map_or(0, |i| i + 1);
    if cut == 0 || names.iter().any(|n| n.len() == cut) {
        return (String::new(), names.iter().map(|n| n.to_string()).collect());
    }
    let shared = format!(" ({}\u{2026})", &common[..cut]);
    (shared, names.iter().map(|n| n[cut..].to_string()).collect())
}

/// Overlays need one time grid, and legends need distinct names.
fn check_comparable(files: &[PathBuf], scenarios: &[Scenario]) -> anyhow::Result<()> {
    if scenarios.len() < 2 {
        return Err(bad(
            "SCENARIO",
            "compare needs at least two scenarios".into(),
            "name two or more scenario files".into(),
        ));
    }
    let first = &scenarios[0];
    for (file, s) in files.iter().zip(scenarios).skip(1) {
        if s.duration_days != first.duration_days
            || s.output_every_hours != first.output_every_hours
        {
            return Err(bad(
                "SCENARIO",
                format!(
                    "{} runs {} days every {} h, {} runs {} days every {} h",
                    file.display(),
                    s.duration_days,
                    s.output_every_hours,
                    files[0].display(),
                    first.duration_days,
                    first.output_every_hours
                ),
                "give the scenarios the same `duration_days` and `output_every_hours`".into(),
            ));
        }
    }
    for (i, s) in scenarios.iter().enumerate() {
        if scenarios[..i].iter().any(|t| t.name == s.name) {
            return Err(bad(
                "SCENARIO",
                format!("two scenarios are named `{}`", s.name),
                "give each scenario its own `name` (it labels the curves)".into(),
            ));
        }
    }
    Ok(())
}
