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

/// Points of the evenly spaced grid on which the area under a signal is taken, from the
/// first administration to a `fold_auc_of_control` row's time (trapezoid rule). A bolus
/// puts a jump at the start, where the rule's error is half a grid step's area at the
/// jump's height: below 1e-3 of the area when the signal lasts a day or more after it
/// (72 h on 2000 steps against a lung half-life of a day: 4e-4), and the same grid for
/// the case and its control cancels most of it in their ratio.
pub const AUC_POINTS: usize = 2001;

/// Checks that `rows` can be compared with `scenario`: same species, route and method, and
/// times within the simulated span after the first administration; rows in
/// `fold_auc_of_control` need the case's control (`[validation] control`), which must
/// meet the same conditions.
pub fn check_usable(
    scenario: &Scenario,
    rows: &[&Observation],
    data: &std::path::Path,
) -> Result<(), InputError> {
    let folds: Vec<&Observation> = rows
        .iter()
        .copied()
        .filter(|o| o.unit == Unit::FoldAucOfControl)
        .collect();
    if let Some(&first) = folds.first() {
        let Some(control) = control(scenario) else {
            return Err(InputError::Invalid {
                at: Location {
                    file: data.to_path_buf(),
                    line: Some(first.line),
                },
                key: "unit".into(),
                problem: format!(
                    "the row is a multiple of a control group's area, and `{}` names no control",
                    scenario.name
                ),
                fix: "set `[validation] control` to the control group's scenario file".into(),
            });
        };
        check_one(control, &folds, data)?;
    }
    check_one(scenario, rows, data)
}

/// `check_usable` for one scenario.
fn check_one(
    scenario: &Scenario,
    rows: &[&Observation],
    data: &std::path::Path,
) -> Result<(), InputError> {
    let method = scenario.observe.unwrap_or_default().method;
    let routes: Vec<_> = scenario.doses.iter().map(|d| d.route).collect();
    let start = first_start(scenario);
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

/// The control group of `scenario`'s study, if its `[validation]` names one.
pub fn control(scenario: &Scenario) -> Option<&Scenario> {
    scenario.validation.as_ref()?.control.as_deref()
}

/// When `scenario` gives its first administration (hours); the rows' times count from it.
pub(crate) fn first_start(scenario: &Scenario) -> f64 {
    scenario.schedule().first().map_or(0.0, |d| d.start_h)
}

/// The area under each organ's signal of `scenario` (percent x hours, `Organ::ALL`
/// order) from its first administration to `horizon_h` after it, on `AUC_POINTS` times.
pub fn signal_areas(scenario: &Scenario, horizon_h: f64) -> Result<Vec<f64>, Failure> {
    areas_on(scenario, horizon_h, AUC_POINTS)
}

/// `signal_areas` on `points` times.
fn areas_on(scenario: &Scenario, horizon_h: f64, points: usize) -> Result<Vec<f64>, Failure> {
    let start = first_start(scenario);
    let step = horizon_h / (points - 1) as f64;
    let times: Vec<f64> = (0..points).map(|i| start + step * i as f64).collect();
    let signals = observe::predict(scenario, &times)?;
    Ok(Organ::ALL
        .iter()
        .map(|o| {
            let p = o.position();
            let pairs = signals.percent.windows(2);
            pairs.map(|w| 0.5 * (w[0][p] + w[1][p]) * step).sum()
        })
        .collect())
}

/// The predictions of `scenario` for `rows` (already checked with `check_usable`).
pub fn compare(scenario: &Scenario, rows: &[&Observation]) -> Result<Comparison, Failure> {
    let start = first_start(scenario);
    let mut times: Vec<f64> = rows
        .iter()
        .filter(|o| o.unit != Unit::FoldAucOfControl)
        .flat_map(|o| [o.time_h, first_time(o, rows)])
        .filter(|t| t.is_finite())
        .map(|t| t + start)
        .collect();
    times.sort_by(f64::total_cmp);
    times.dedup();
    let signals = observe::predict(scenario, &times)?;
    let at = |organ: Organ, t: f64| value_at(&signals, organ, t + start);
    // Each horizon's areas, for the case and its control (one pair of walks a horizon).
    let mut areas: Vec<(f64, Vec<f64>, Vec<f64>)> = Vec::new();
    for o in rows.iter().filter(|o| o.unit == Unit::FoldAucOfControl) {
        if areas.iter().all(|(h, _, _)| *h != o.time_h) {
            let control = control(scenario).expect("checked by check_usable");
            areas.push((
                o.time_h,
                signal_areas(scenario, o.time_h)?,
                signal_areas(control, o.time_h)?,
            ));
        }
    }
    let fold = |o: &Observation| {
        let (_, case, control) = areas
            .iter()
            .find(|(h, _, _)| *h == o.time_h)
            .expect("an area for every horizon");
        let p = o.organ.position();
        case[p].max(FLOOR_PERCENT) / control[p].max(FLOOR_PERCENT)
    };
    let compared = rows
        .iter()
        .map(|&o| {
            let predicted = match o.unit {
                Unit::PercentInjected => at(o.organ, o.time_h),
                Unit::PercentOfFirst => {
                    relative(at(o.organ, o.time_h), at(o.organ, first_time(o, rows)))
                }
                Unit::FoldAucOfControl => fold(o),
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// The grid's error bound (`AUC_POINTS`) holds where it is hardest, the jump of a
    /// bolus into a vein: areas on it agree with areas on an eight times finer grid
    /// within 1e-3 in every organ with a signal, for the shipped case with a control.
    #[test]
    fn areas_on_the_grid_are_within_their_stated_error() {
        let case = crate::scenario::load(Path::new("validation/ma2022_mouse_chronic_ccl4.toml"))
            .expect("shipped case");
        let control = control(&case).expect("the case has a control");
        for scenario in [&case, control] {
            let coarse = signal_areas(scenario, 72.0).expect("simulates");
            let fine = areas_on(scenario, 72.0, 8 * (AUC_POINTS - 1) + 1).expect("simulates");
            for (organ, (c, f)) in Organ::ALL.iter().zip(coarse.iter().zip(&fine)) {
                if *f > 1.0 {
                    assert!((c / f - 1.0).abs() < 1e-3, "{organ:?}: {c} against {f}");
                }
            }
        }
    }
}
