//! Virtual populations: N subjects, each the scenario with its `[variability]` parameters
//! drawn for it, solved in parallel; the distribution of every metric, and quantile bands
//! of the time course.
//!
//! A subject is a pure function of the seed and its index (`sample`), and every result is
//! gathered in subject order, so the outputs are the same bytes for any number of threads.
//!
//! A draw that breaks a rule tying parameters together (the flow fractions summing above
//! one, blood turning over faster than the model resolves: `scenario::rules`) is redrawn
//! from the subject's own stream: the population is then the distribution conditioned on
//! the rules, as truncation conditions each parameter on its own range.

pub mod csv;
pub mod parquet;
pub mod sample;

use rayon::prelude::*;

use crate::compartment::{Compartment, Total};
use crate::evaluator::Evaluator;
use crate::metrics::{Metric, Metrics};
use crate::observe::{self, ORGANS};
use crate::params::{Param, Prepared};
use crate::scenario::rules::{self, Violation};
use crate::scenario::{Scenario, Variability};
use crate::simulation::{Failure, Problem};
use crate::timecourse::TimeCourse;

/// Most subjects a population accepts. Every subject's parameters and metrics are kept
/// for the quantiles of `summary.csv` (about 200 bytes each) and `population.csv` is
/// written whole (about 500 bytes a row): 200,000 subjects take about 150 MB. A larger
/// study is several runs with different seeds.
pub const MAX_SUBJECTS: usize = 200_000;

/// Most time-course values kept for `quantiles.csv` (2^24, 128 MB of doubles). The bands
/// are the quantiles of the first K subjects, K as many as fit (all of them when N is
/// smaller): a human over 180 days sampled hourly has 4,321 samples of 11 columns, so K
/// is 352. Exact quantiles of a known subset, rather than a streaming sketch of all N,
/// keep the bands exact for the subjects they describe and independent of the order the
/// threads finish in; 352 subjects put the 5 % quantile within about +-2.5 percentage
/// points (binomial), which a figure's ribbon does not resolve.
pub const MAX_TIMECOURSE_VALUES: usize = 1 << 24;

/// Draws tried for one subject before its rules are declared unreachable.
pub const MAX_REDRAWS: usize = 1000;

/// The quantiles reported (`summary.csv`, `quantiles.csv`, the ribbons).
pub const QUANTILES: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

/// Why a population could not be simulated.
#[derive(Debug, thiserror::Error)]
pub enum PopulationError {
    /// No draw of a subject satisfied the scenario's rules (bad input: the distributions
    /// put too little weight on valid subjects).
    #[error(
        "subject {subject}: none of {MAX_REDRAWS} draws of `[variability]` gives a valid \
         scenario; the last: `{}`: {}\n  fix: narrow the distributions that break this rule \
         (for one subject: {})",
        violation.key,
        violation.problem,
        violation.fix
    )]
    Rules {
        /// The subject's index.
        subject: usize,
        /// The rule its last draw broke.
        violation: Violation,
    },
    /// A subject could not be simulated.
    #[error("subject {subject}: {failure}")]
    Failure {
        /// The subject's index.
        subject: usize,
        /// What went wrong.
        failure: Failure,
    },
}

/// A population's results.
#[derive(Debug, Clone)]
pub struct Population {
    /// The varied parameters, in `[variability]` order.
    pub params: Vec<Param>,
    /// Each subject's values of `params`, subject by subject.
    pub values: Vec<f64>,
    /// Each subject's metrics.
    pub metrics: Vec<Metrics>,
    /// Quantile bands of the time course.
    pub bands: Bands,
    /// Whether the effect layer is on (its metrics are reported).
    pub effect: bool,
}

/// Quantiles of the time course over the first `subjects` subjects.
#[derive(Debug, Clone, PartialEq)]
pub struct Bands {
    /// Output times (hours).
    pub time_h: Vec<f64>,
    /// How many subjects the quantiles are of.
    pub subjects: usize,
    /// The columns: every compartment, then the totals.
    pub columns: Vec<&'static str>,
    /// `QUANTILES` of column c at time t, at `c * time_h.len() + t`.
    pub quantiles: Vec<[f64; 5]>,
}

impl Bands {
    /// The quantiles of `column` at every time, if it is one.
    pub fn of(&self, column: &str) -> Option<&[[f64; 5]]> {
        let c = self.columns.iter().position(|&n| n == column)?;
        let t = self.time_h.len();
        Some(&self.quantiles[c * t..(c + 1) * t])
    }
}

/// Subject `index` of `base` under `variability`: its scenario and the values drawn.
pub fn subject(
    base: &Scenario,
    variability: &Variability,
    index: usize,
) -> Result<(Scenario, Vec<f64>), PopulationError> {
    subject_with(base, variability, &prepare(base, variability), index)
}

/// The overrides of the varied parameters of `base`, their source texts composed once for
/// many subjects (`Parameters::prepare`: formatting each preset again for every subject
/// cost 3 % of one).
fn prepare(base: &Scenario, variability: &Variability) -> Vec<Prepared> {
    variability
        .draws
        .iter()
        .map(|d| base.parameters.prepare(d.param))
        .collect()
}

/// `subject`, with the overrides `prepare` made of `base`.
fn subject_with(
    base: &Scenario,
    variability: &Variability,
    prepared: &[Prepared],
    index: usize,
) -> Result<(Scenario, Vec<f64>), PopulationError> {
    let mut stream = sample::Stream::new(variability.seed, index as u64);
    let mut values = vec![0.0; variability.draws.len()];
    let mut last = None;
    for _ in 0..MAX_REDRAWS {
        sample::draw(variability, &mut stream, &mut values);
        let mut s = base.clone();
        for (p, &v) in prepared.iter().zip(&values) {
            s.parameters.set_prepared(p, v);
        }
        match rules::check(&s) {
            Ok(()) => return Ok((s, values)),
            Err(v) => last = Some(v),
        }
    }
    Err(PopulationError::Rules {
        subject: index,
        violation: last.expect("at least one draw was tried"),
    })
}

/// The columns of the bands of what a scenario's `[observe]` method shows, percent of the
/// dose per organ, in `Organ::ALL` order (a test holds them to the organs' names).
const OBSERVED: [&str; ORGANS] = [
    "observed_blood_percent",
    "observed_lung_percent",
    "observed_liver_percent",
    "observed_spleen_percent",
    "observed_other_percent",
    "observed_injection_site_percent",
    "observed_marrow_percent",
    "observed_whole_body_percent",
];

/// The time course columns: every compartment, then the totals, then with `[observe]` what
/// the method shows per organ.
fn columns(observed: bool) -> Vec<&'static str> {
    let observed: &[&'static str] = if observed { &OBSERVED } else { &[] };
    Compartment::ALL
        .iter()
        .map(|c| c.name())
        .chain(Total::ALL.iter().map(|t| t.name()))
        .chain(observed.iter().copied())
        .collect()
}

/// Simulates `n` subjects of `base` under `variability` on the current rayon pool,
/// counting them on `progress`: their metrics, and the bands of their time course.
pub fn simulate(
    base: &Scenario,
    variability: &Variability,
    n: usize,
    progress: &indicatif::ProgressBar,
) -> Result<Population, PopulationError> {
    let (values, metrics) = metrics(base, variability, n, progress)?;
    Ok(Population {
        params: variability.draws.iter().map(|d| d.param).collect(),
        values,
        metrics,
        bands: time_course_bands(base, variability, n)?,
        effect: base.mechanisms.effect,
    })
}

/// The values drawn (subject by subject) and the metrics of `n` subjects, in parallel on
/// the current rayon pool, each solved by the closed form of a `simulation::Evaluator`.
pub fn metrics(
    base: &Scenario,
    variability: &Variability,
    n: usize,
    progress: &indicatif::ProgressBar,
) -> Result<(Vec<f64>, Vec<Metrics>), PopulationError> {
    let per_subject: Vec<(Vec<f64>, Metrics)> = (0..n)
        .into_par_iter()
        // A table per worker: clones of one shared table contend on its reference count.
        .map_init(
            || {
                let local = base.unshared();
                let prepared = prepare(&local, variability);
                (local, prepared)
            },
            |(local, prepared), i| {
                let subject = subject_metrics_with(local, variability, prepared, i)?;
                progress.inc(1);
                Ok(subject)
            },
        )
        .collect::<Result<_, PopulationError>>()?;
    let (values, metrics): (Vec<Vec<f64>>, Vec<Metrics>) = per_subject.into_iter().unzip();
    Ok((values.concat(), metrics))
}

/// Subject `index` of `base` under `variability`: the values drawn and its metrics, by
/// the closed form of an `Evaluator`. The one way a subject is solved, for `population`
/// and for every point of a population sweep, so that the two agree to the bit.
pub fn subject_metrics(
    base: &Scenario,
    variability: &Variability,
    index: usize,
) -> Result<(Vec<f64>, Metrics), PopulationError> {
    subject_metrics_with(base, variability, &prepare(base, variability), index)
}

/// `subject_metrics`, with the overrides `prepare` made of `base`.
fn subject_metrics_with(
    base: &Scenario,
    variability: &Variability,
    prepared: &[Prepared],
    index: usize,
) -> Result<(Vec<f64>, Metrics), PopulationError> {
    let (s, values) = subject_with(base, variability, prepared, index)?;
    // A new evaluator per subject: each subject is a new model, so the thread's store of
    // models would only be shifted and evicted at every subject (measured: 16 % of the
    // time in moving it).
    let metrics = Evaluator::new()
        .metrics(&s)
        .map_err(|failure| PopulationError::Failure {
            subject: index,
            failure,
        })?;
    Ok((values, metrics))
}

/// The quantile bands of the time course (and, with `[observe]`, of what the method shows
/// per organ) of the first subjects of `n`, as many as `MAX_TIMECOURSE_VALUES` allows.
pub fn time_course_bands(
    base: &Scenario,
    variability: &Variability,
    n: usize,
) -> Result<Bands, PopulationError> {
    let columns = columns(base.observe.is_some());
    // The output grid's samples, and the end if it is off the grid.
    let samples = (base.duration_h() / base.output_every_hours) as usize + 2;
    let kept = (MAX_TIMECOURSE_VALUES / (samples * columns.len())).clamp(1, n.max(1));
    let courses: Vec<(Vec<f64>, Vec<f64>)> = (0..kept.min(n))
        .into_par_iter()
        .map(|i| {
            let (s, _) = subject(base, variability, i)?;
            let problem = Problem::new(&s);
            let mut tc = TimeCourse::default();
            let failed = |failure| PopulationError::Failure {
                subject: i,
                failure,
            };
            problem
                .walk(&problem.schedule, &problem.plan, &mut tc)
                .map_err(failed)?;
            let mut values = by_column(&tc);
            if s.observe.is_some() {
                let signals = observe::predict(&s, &tc.time_h).map_err(failed)?;
                for k in 0..ORGANS {
                    values.extend(signals.percent.iter().map(|p| p[k]));
                }
            }
            Ok((tc.time_h.clone(), values))
        })
        .collect::<Result<_, PopulationError>>()?;
    Ok(bands(columns, courses))
}

/// A time course column by column: every compartment, then the totals.
fn by_column(tc: &TimeCourse) -> Vec<f64> {
    let compartments = Compartment::ALL
        .iter()
        .flat_map(|c| tc.states.iter().map(|x| x[c.index()]));
    let totals = Total::ALL.iter().flat_map(|t| tc.total(*t));
    compartments.chain(totals).collect()
}

/// The quantile bands of `courses` (times, values column by column), subject by subject.
fn bands(columns: Vec<&'static str>, courses: Vec<(Vec<f64>, Vec<f64>)>) -> Bands {
    let time_h = courses.first().map(|c| c.0.clone()).unwrap_or_default();
    let t = time_h.len();
    let quantiles = (0..columns.len() * t)
        .into_par_iter()
        .map_init(Vec::new, |at, k| {
            at.clear();
            at.extend(courses.iter().map(|c| c.1[k]));
            sorted_quantiles(at)
        })
        .collect();
    Bands {
        time_h,
        subjects: courses.len(),
        columns,
        quantiles,
    }
}

/// `QUANTILES` of `values` (sorted in place; NaN left out), by linear interpolation
/// between order statistics (Hyndman and Fan's type 7, R's default); NaN if none is left.
pub fn sorted_quantiles(values: &mut Vec<f64>) -> [f64; 5] {
    values.retain(|v| !v.is_nan());
    values.sort_unstable_by(f64::total_cmp);
    QUANTILES.map(|p| quantile_of_sorted(values, p))
}

/// The `p` quantile of sorted `values` (type 7), NaN if there are none.
pub fn quantile_of_sorted(values: &[f64], p: f64) -> f64 {
    let Some(last) = values.len().checked_sub(1) else {
        return f64::NAN;
    };
    let h = last as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(last);
    values[lo] + (h - lo as f64) * (values[hi] - values[lo])
}

impl Population {
    /// The number of subjects.
    pub fn len(&self) -> usize {
        self.metrics.len()
    }

    /// Whether there are no subjects.
    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty()
    }

    /// The metrics reported: the effect layer's only when it is on.
    pub fn reported(&self) -> impl Iterator<Item = Metric> + '_ {
        Metric::ALL
            .iter()
            .copied()
            .filter(|m| self.effect || !m.needs_effect())
    }

    /// `metric` of every subject, in subject order.
    pub fn metric(&self, metric: Metric) -> Vec<f64> {
        self.metrics.iter().map(|m| metric.value(m)).collect()
    }

    /// The values of the varied parameter `k` (in `params` order) of every subject.
    pub fn param(&self, k: usize) -> Vec<f64> {
        let width = self.params.len();
        self.values.iter().skip(k).step_by(width).copied().collect()
    }
}

#[cfg(test)]
mod tests;
