//! The `population` command: N virtual subjects of a scenario with `[variability]`.

use std::path::PathBuf;

use anyhow::Context;

use super::emit;
use crate::error::{InputError, Location};
use crate::metrics::Metric;
use crate::output::{self, Format};
use crate::plot::{self, Band, Histogram, Histograms, Ribbons};
use crate::population::{self, csv, parquet, Population};
use crate::scenario::{self, Distribution};

/// What `population` runs.
#[derive(Debug, Clone)]
pub struct Request {
    /// Scenario file.
    pub scenario: PathBuf,
    /// Number of subjects.
    pub n: usize,
    /// Seed replacing the scenario's.
    pub seed: Option<u64>,
    /// Worker threads (default: every core).
    pub threads: Option<usize>,
    /// Directory that receives the population's directory.
    pub out: PathBuf,
    /// Format of the subjects' rows (`population.csv` or `population.parquet`).
    pub format: Format,
}

/// Parses `--n`: a whole number of subjects from 1 to `population::MAX_SUBJECTS`.
pub(super) fn subjects_arg(text: &str) -> Result<usize, String> {
    let max = population::MAX_SUBJECTS;
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "{text:?} is not a number of subjects from 1 to {max} (every subject's row is \
             kept in memory); for more, run several seeds"
        )),
    }
}

/// The panels of the ribbon figure: the liver and the lungs first (where the question of
/// a route lies), then where else the cells are.
const BANDS: [&str; 6] = [
    "liver",
    "lung",
    "blood",
    "spleen",
    "liver_engrafted",
    "other",
];

/// The metrics drawn as histograms.
const HISTOGRAMS: [Metric; 6] = [
    Metric::LiverAuc,
    Metric::LiverReachedFraction,
    Metric::LungPeakFraction,
    Metric::LiverEngraftedAuc,
    Metric::DaysLiverAboveThreshold,
    Metric::LiverCellsEnd,
];

pub(super) fn population(req: &Request) -> anyhow::Result<()> {
    let scenario = scenario::load(&req.scenario)?;
    let Some(mut variability) = scenario.variability.clone() else {
        return Err(InputError::Invalid {
            at: Location {
                file: req.scenario.clone(),
                line: None,
            },
            key: "variability".into(),
            problem: "the scenario has no `[variability]`: every subject would be the same".into(),
            fix: "add `[variability.parameters.\"NAME\"]` with a distribution (see \
                  docs/uncertainty.md)"
                .into(),
        }
        .into());
    };
    if let Some(seed) = req.seed {
        variability.seed = seed;
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(req.threads.unwrap_or(0))
        .build()
        .context("cannot start the worker threads")?;
    let progress = output::progress_bar(req.n as u64, "subjects");
    let population = pool
        .install(|| population::simulate(&scenario, &variability, req.n, &progress))
        .with_context(|| {
            format!(
                "cannot simulate the population of {}",
                req.scenario.display()
            )
        })?;
    progress.finish_and_clear();

    let name = format!("{}-population", scenario.name);
    let dir = req.out.join(&name);
    let (bands_png, bands_svg) = ribbons(&scenario.name, &population)?;
    let (hist_png, hist_svg) = histograms(&scenario.name, &population)?;
    let rows = match req.format {
        Format::Csv => ("population.csv", csv::population(&population).into_bytes()),
        Format::Parquet => (
            "population.parquet",
            parquet::population(&population).context("cannot encode population.parquet")?,
        ),
    };
    let files = vec![
        rows,
        ("summary.csv", csv::summary(&population).into_bytes()),
        ("quantiles.csv", csv::quantiles(&population).into_bytes()),
        ("bands.png", bands_png),
        ("bands.svg", bands_svg.into_bytes()),
        ("histograms.png", hist_png),
        ("histograms.svg", hist_svg.into_bytes()),
    ];
    output::write_dir_atomically(&dir, &files)
        .with_context(|| format!("cannot write the population directory {}", dir.display()))?;
    let mut liver = population.metric(Metric::LiverAuc);
    let q = population::sorted_quantiles(&mut liver);
    // The between-patient defaults, with where their spreads come from.
    let defaults: String = variability
        .draws
        .iter()
        .filter_map(|d| {
            let source = d.default_source?;
            let spread = match d.distribution {
                Distribution::LogNormal { sigma, .. } => {
                    format!("log-normal, CV {:.2}", sigma.powi(2).exp_m1().sqrt())
                }
                Distribution::Uniform { low, high } => format!("uniform {low}-{high}"),
                other => format!("{other:?}"),
            };
            Some(format!(
                "  between-patient `{}`: {spread} ({source})\n",
                d.param.name()
            ))
        })
        .collect();
    emit(&format!(
        "{}: {} subjects (seed {}), time-course bands of the first {}\n{defaults}  liver AUC \
         median {:.3e} cell-days, 5-95 % {:.3e} to {:.3e}\nwrote {}/ ({})\n",
        scenario.name,
        population.len(),
        variability.seed,
        population.bands.subjects,
        q[2],
        q[0],
        q[4],
        dir.display(),
        files.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
    ))
}

/// The time-course ribbons of the compartments in `BANDS`.
fn ribbons(name: &str, p: &Population) -> anyhow::Result<(Vec<u8>, String)> {
    let time_days: Vec<f64> = p.bands.time_h.iter().map(|t| t / 24.0).collect();
    let bands: Vec<Band> = BANDS
        .iter()
        .filter_map(|&label| p.bands.of(label).map(|quantiles| Band { label, quantiles }))
        .collect();
    let title = format!(
        "{name}: cells, median, 25-75 %, 5-95 % of {} subjects",
        p.bands.subjects
    );
    let r = Ribbons {
        title: &title,
        time_days: &time_days,
        bands: &bands,
    };
    let figure = plot::ribbons(&r).context("cannot draw the bands")?;
    Ok((figure.png, figure.svg))
}

/// Histograms of the metrics in `HISTOGRAMS`.
fn histograms(name: &str, p: &Population) -> anyhow::Result<(Vec<u8>, String)> {
    let values: Vec<(String, Vec<f64>)> = HISTOGRAMS
        .iter()
        .map(|m| (m.name().to_string(), p.metric(*m)))
        .collect();
    let panels: Vec<Histogram> = values
        .iter()
        .map(|(label, values)| Histogram { label, values })
        .collect();
    let title = format!("{name}: metrics of {} subjects", p.len());
    let h = Histograms {
        title: &title,
        panels: &panels,
    };
    let figure = plot::histograms(&h).context("cannot draw the histograms")?;
    Ok((figure.png, figure.svg))
}
