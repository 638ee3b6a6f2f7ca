//! `cellpk sensitivity`: which parameters drive a scenario's metrics.

use std::fmt::Write;
use std::path::PathBuf;

use anyhow::Context;

use super::compare::{bad, metrics_arg};
use super::emit;
use crate::metrics::Metric;
use crate::output::{self, progress_bar};
use crate::plot::{self, BarChart, Series};
use crate::scenario;
use crate::sensitivity::{self, morris, sobol, Factor};

/// The global method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Method {
    /// Sobol first-order and total indices (Saltelli's design, bootstrap intervals).
    Sobol,
    /// Morris elementary effects (mu*, mu, sigma).
    Morris,
}

/// Bootstrap resamples for the Sobol intervals: 1,000 gives the 2.5 and 97.5 % quantiles
/// to about a percent of the interval's width (assumption: the usual choice, e.g. SALib).
const RESAMPLES: usize = 1000;

/// What `cellpk sensitivity` was asked.
#[derive(Debug)]
pub struct Request {
    pub scenario: PathBuf,
    pub method: Method,
    pub params: String,
    pub metrics: Vec<String>,
    pub n: usize,
    pub seed: u32,
    pub threads: Option<usize>,
    pub out: PathBuf,
}

pub fn sensitivity(r: &Request) -> anyhow::Result<()> {
    let factors = sensitivity::parse_factors(&r.params)?;
    let metrics = metrics_arg(&r.metrics)?;
    let (low, high) = match r.method {
        Method::Sobol => (2, sobol::MAX_SAMPLES),
        Method::Morris => (2, 100_000),
    };
    if !(low..=high).contains(&r.n) {
        return Err(bad(
            "--n",
            format!("{} is outside {low} to {high}", r.n),
            match r.method {
                Method::Sobol => "give the base samples, e.g. `--n 1024` (n (d + 2) runs)".into(),
                Method::Morris => "give the trajectories, e.g. `--n 50` (n (d + 1) runs)".into(),
            },
        ));
    }
    let base = scenario::load(&r.scenario)?;
    let d = factors.len();
    let (points, morris_design) = match r.method {
        Method::Sobol => (sobol::design(r.n, d, r.seed), None),
        Method::Morris => {
            let t = morris::design(r.n, d, u64::from(r.seed));
            (t.iter().flat_map(|t| t.points.clone()).collect(), Some(t))
        }
    };
    let values = sensitivity::values(&factors, &points);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(r.threads.unwrap_or(0))
        .build()
        .context("cannot start the worker threads")?;
    let progress = progress_bar(values.len() as u64, "runs");
    let outputs = pool
        .install(|| sensitivity::evaluate(&base, &factors, &values, &metrics, &|| progress.inc(1)))
        .with_context(|| format!("cannot simulate {}", r.scenario.display()))?;
    progress.finish_and_clear();

    let mut table = String::new();
    let mut figures: Vec<(String, Vec<u8>)> = Vec::new();
    match &morris_design {
        None => {
            table.push_str("metric,parameter,low,high,S1,S1_low,S1_high,ST,ST_low,ST_high\n");
            for (k, metric) in metrics.iter().enumerate() {
                let y: Vec<f64> = outputs.iter().map(|o| o[k]).collect();
                let Some(indices) = sobol::indices(&y, r.n, d, RESAMPLES, u64::from(r.seed)) else {
                    writeln!(table, "{},,,,,,,,,", metric.name())?;
                    continue;
                };
                for (f, i) in factors.iter().zip(&indices) {
                    let (s, t) = (i.first, i.total);
                    writeln!(
                        table,
                        "{},{},{},{},{},{},{},{},{},{}",
                        metric.name(),
                        f.param.name(),
                        f.low,
                        f.high,
                        s.value,
                        s.low,
                        s.high,
                        t.value,
                        t.low,
                        t.high
                    )?;
                }
                let bars = [
                    (
                        "total (ST)",
                        indices.iter().map(|i| i.total.value).collect(),
                    ),
                    (
                        "first order (S1)",
                        indices.iter().map(|i| i.first.value).collect(),
                    ),
                ];
                figures.extend(figure(*metric, &factors, "Sobol index", bars)?);
            }
        }
        Some(trajectories) => {
            table.push_str("metric,parameter,low,high,mu_star,mu,sigma\n");
            for (k, metric) in metrics.iter().enumerate() {
                let y: Vec<Vec<f64>> = outputs
                    .chunks(d + 1)
                    .map(|t| t.iter().map(|o| o[k]).collect())
                    .collect();
                let effects = morris::effects(trajectories, &y, d);
                for (f, e) in factors.iter().zip(&effects) {
                    writeln!(
                        table,
                        "{},{},{},{},{},{},{}",
                        metric.name(),
                        f.param.name(),
                        f.low,
                        f.high,
                        e.mu_star,
                        e.mu,
                        e.sigma
                    )?;
                }
                let label = format!("{} per range ({})", metric.name(), metric.unit());
                let bars = [
                    ("mu*", effects.iter().map(|e| e.mu_star).collect()),
                    ("sigma", effects.iter().map(|e| e.sigma).collect()),
                ];
                figures.extend(figure(*metric, &factors, &label, bars)?);
            }
        }
    }
    let mut samples = factors
        .iter()
        .map(|f| f.param.name())
        .collect::<Vec<_>>()
        .join(",");
    for m in &metrics {
        write!(samples, ",{}", m.name())?;
    }
    samples.push('\n');
    for (v, o) in values.iter().zip(&outputs) {
        let row: Vec<String> = v.iter().chain(o).map(|x| x.to_string()).collect();
        writeln!(samples, "{}", row.join(","))?;
    }

    let mut files: Vec<(&str, Vec<u8>)> = vec![
        ("sensitivity.csv", table.into_bytes()),
        ("samples.csv", samples.into_bytes()),
    ];
    files.extend(figures.iter().map(|(n, b)| (n.as_str(), b.clone())));
    let dir = r.out.join(format!("{}-sensitivity", base.name));
    output::write_dir_atomically(&dir, &files)
        .with_context(|| format!("cannot write {}", dir.display()))?;
    emit(&format!(
        "{}: {} on {d} parameters, {} runs\nwrote {}/ ({})\n",
        base.name,
        match r.method {
            Method::Sobol => "Sobol indices",
            Method::Morris => "Morris elementary effects",
        },
        values.len(),
        dir.display(),
        files.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
    ))
}

/// The ranked bar figure of one metric (PNG and SVG): one bar per parameter and group,
/// parameters in decreasing order of the first group.
fn figure<const G: usize>(
    metric: Metric,
    factors: &[Factor],
    y_label: &str,
    bars: [(&str, Vec<f64>); G],
) -> anyhow::Result<[(String, Vec<u8>); 2]> {
    let mut order: Vec<usize> = (0..factors.len()).collect();
    order.sort_by(|&a, &b| bars[0].1[b].total_cmp(&bars[0].1[a]));
    let categories: Vec<String> = order
        .iter()
        .map(|&i| factors[i].param.name().to_string())
        .collect();
    let groups: Vec<Series> = bars
        .iter()
        .map(|(label, v)| Series {
            label: label.to_string(),
            values: order.iter().map(|&i| v[i]).collect(),
        })
        .collect();
    let title = format!("Sensitivity of {}", metric.name());
    let chart = BarChart {
        title: &title,
        y_label,
        categories: &categories,
        groups: &groups,
        y_log: false,
    };
    let stem = format!("sensitivity_{}", metric.name());
    let figure = plot::bar_chart(&chart)?;
    Ok([
        (format!("{stem}.png"), figure.png),
        (format!("{stem}.svg"), figure.svg.into_bytes()),
    ])
}
