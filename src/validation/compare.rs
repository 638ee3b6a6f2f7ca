//! A scenario's predicted signals set against observations, row by row.
//!
//! Rows in `percent_of_first` are compared with the prediction divided by the prediction
//! at the series' earliest time. Agreement is measured on the fold scale: a row's fold
//! error is max(p/o, o/p), and a case's summary is their geometric mean. Values and
//! predictions are floored at `FLOOR_PERCENT` first, so that a zero on either side (below
//! any detection limit) gives a large but finite fold.

use crate::error::{InputError, Location};
use crate::observe::{self, Organ, Signals};
use crate::presets::Choice;
use crate::scenario::Scenario;
use crate::simulation::Failure;

use super::data::{first_time, Observation, Unit};

/// Percent below which a value or prediction counts as this value: assumption, about the
/// detection limit of organ counting and qPCR in the studies used (0.001 % of a dose).
pub const FLOOR_PERCENT: f64 = 1e-3;

/// One observation with the model's prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct Compared {
    /// The observation.
    pub observation: Observation,
    /// The prediction, in the observation's unit.
    pub predicted: f64,
    /// Whether the row is its `percent_of_first` series' reference (100 by definition).
    pub reference: bool,
    /// max(p/o, o/p) for a row with a value that is not a series' reference.
    pub fold_error: Option<f64>,
    /// Whether the prediction lies within the row's range, if it gives one.
    pub in_range: Option<bool>,
}

impl Compared {
    /// Whether the row says something about the model: it gives a value and is not a
    /// series' reference. Fold errors and fit residuals are taken on these rows only.
    pub fn informative(&self) -> bool {
        self.observation.value.is_some() && !self.reference
    }
}

/// The comparison of a case.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Every row, in file order.
    pub rows: Vec<Compared>,
}

impl Comparison {
    /// Geometric mean of the rows' fold errors (`None` without such rows).
    pub fn geometric_mean_fold_error(&self) -> Option<f64> {
        let logs: Vec<f64> = self
            .rows
            .iter()
            .filter_map(|r| r.fold_error)
            .map(f64::ln)
            .collect();
        (!logs.is_empty()).then(|| (logs.iter().sum::<f64>() / logs.len() as f64).exp())
    }

    /// Rows whose prediction falls outside their range.
    pub fn out_of_range(&self) -> impl Iterator<Item = &Compared> {
        self.rows.iter().filter(|r| r.in_range == Some(false))
    }
}

/// Checks that `rows` can be compared with `scenario`: same species, route and method, and
/// times within the simulated span after the first administration.
pub fn check_usable(
    scenario: &Scenario,
    rows: &[&Observation],
    data: &std::path::Path,
) -> Result<(), InputError> {
    let method = scenario.observe.unwrap_or_default().method;
    let routes: Vec<_> = scenario.doses.iter().map(|d| d.route).collect();
    let start = scenario.schedule().first().map_or(0.0, |d| d.start_h);
    let end = scenario.duration_h();
    for o in rows {
        let invalid = |key: &str, problem: String, fix: String| InputError::Invalid {
            at: Location {
                file: data.to_path_buf(),
                line: Some(o.line),
            },
            key: key.into(),
            problem,
            fix,
        };
        if o.species != scenario.subject.species {
            return Err(invalid(
                "species",
                format!(
                    "the row is for a {}, the scenario `{}` for a {}",
                    o.species, scenario.name, scenario.subject.species
                ),
                "compare rows with a scenario of their own species".into(),
            ));
        }
        if !routes.contains(&o.route) {
            return Err(invalid(
                "route",
                format!(
                    "the row's route is {}, not a route of `{}`",
                    o.route, scenario.name
                ),
                "compare rows with a scenario of the study's route".into(),
            ));
        }
        if o.method != method {
            return Err(invalid(
                "method",
                format!(
                    "the row was measured by {}, and `{}` observes {method}",
                    o.method, scenario.name
                ),
                format!("set `[observe] method = \"{}\"` in the scenario", o.method),
            ));
        }
        let t = o.time_h + start;
        if t > end {
            return Err(invalid(
                "time_h",
                format!(
                    "{} h is past the {} h that `{}` simulates: no overlap in time",
                    o.time_h, end, scenario.name
                ),
                format!(
                    "lengthen `[simulation] duration_days` to at least {}",
                    (t / 24.0).ceil()
                ),
            ));
        }
    }
    Ok(())
}

/// The predictions of `scenario` for `rows` (already checked with `check_usable`).
pub fn compare(scenario: &Scenario, rows: &[&Observation]) -> Result<Comparison, Failure> {
    let start = scenario.schedule().first().map_or(0.0, |d| d.start_h);
    let mut times: Vec<f64> = rows
        .iter()
        .flat_map(|o| [o.time_h, first_time(o, rows)])
        .filter(|t| t.is_finite())
        .map(|t| t + start)
        .collect();
    times.sort_by(f64::total_cmp);
    times.dedup();
    let signals = observe::predict(scenario, &times)?;
    let at = |organ: Organ, t: f64| value_at(&signals, organ, t + start);
    let compared = rows
        .iter()
        .map(|&o| {
            let raw = at(o.organ, o.time_h);
            let predicted = match o.unit {
                Unit::PercentInjected => raw,
                Unit::PercentOfFirst => relative(raw, at(o.organ, first_time(o, rows))),
            };
            let reference = o.is_reference(rows);
            let fold_error = o.value.filter(|_| !reference).map(|v| {
                let (p, v) = (predicted.max(FLOOR_PERCENT), v.max(FLOOR_PERCENT));
                (p / v).max(v / p)
            });
            Compared {
                observation: o.clone(),
                predicted,
                reference,
                fold_error,
                in_range: o.range.map(|(lo, hi)| (lo..=hi).contains(&predicted)),
            }
        })
        .collect();
    Ok(Comparison { rows: compared })
}

/// A signal as a percent of the series' reference signal, both floored at
/// `FLOOR_PERCENT` so that a series starting at zero gives a large but finite ratio; the
/// figures draw model curves with it, so that they match the rows.
pub fn relative(raw: f64, reference: f64) -> f64 {
    100.0 * raw.max(FLOOR_PERCENT) / reference.max(FLOOR_PERCENT)
}

/// The signal in `organ` at `t`, one of the times `signals` was computed at.
fn value_at(signals: &Signals, organ: Organ, t: f64) -> f64 {
    let i = signals
        .time_h
        .iter()
        .position(|&s| s == t)
        .expect("predicted at every observation time");
    signals.percent[i][organ.position()]
}
