//! A scenario's parameters fitted to observations: which parameters are free (with bounds),
//! how each observation becomes a weighted residual, and what a fit reports.
//!
//! Residuals are (predicted - observed) / sd on the rows that give a value, the
//! references of `percent_of_first` series excepted (100 by definition). A row without an
//! SD is weighted as if its SD were `DEFAULT_CV` of its value: an assumption, stated in the
//! report, that makes rows of different size count alike on a relative scale.

use crate::error::InputError;
use crate::params::Param;
use crate::scenario::Scenario;
use crate::scenario::Tolerance;
use crate::simulation::Failure;
use crate::validation::compare::{self, Comparison, FLOOR_PERCENT};
use crate::validation::data::Observation;

use super::estimate::{self, Estimate, EstimateError, Free};

/// Relative SD of a row that gives none (assumption: a typical coefficient of variation of
/// biodistribution measurements between animals; it sets the scale of the weighted sum of
/// squares, and cancels from the standard errors when no row gives an SD).
pub const DEFAULT_CV: f64 = 0.1;

/// Tolerances of the general integrator during a fit: finite-difference derivatives of the
/// residuals need them far tighter than a run does.
pub(crate) const FIT_TOLERANCE: Tolerance = Tolerance {
    rtol: 1e-10,
    atol: 1e-12,
};

/// A free parameter and its bounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FreeParam {
    /// The parameter.
    pub param: Param,
    /// Lower bound.
    pub lower: f64,
    /// Upper bound (finite: at most the accepted maximum, see `parse_free`).
    pub upper: f64,
}

/// An error in `--free`.
pub(crate) fn bad_free(problem: String, fix: String) -> InputError {
    InputError::Argument {
        argument: "--free".into(),
        problem,
        fix,
    }
}

/// The items of `--free` (separated by commas) as `(name, range)`, split at `=`.
pub(crate) fn free_items(text: &str) -> impl Iterator<Item = (&str, Option<&str>)> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| match item.split_once('=') {
            Some((n, r)) => (n.trim(), Some(r.trim())),
            None => (item, None),
        })
}

/// The parameter a `--free` item names.
pub(crate) fn free_param(name: &str) -> Result<Param, InputError> {
    Param::from_name(name).ok_or_else(|| {
        bad_free(
            format!("no parameter is named {name:?}"),
            "run `cellpk params SCENARIO` to list the parameters".into(),
        )
    })
}

/// `low:high` as two numbers, if it is one.
pub(crate) fn parse_range(range: &str) -> Option<(f64, f64)> {
    range
        .split_once(':')
        .and_then(|(lo, hi)| Some((lo.trim().parse().ok()?, hi.trim().parse().ok()?)))
}

/// Parses `--free`: names separated by commas, each optionally with bounds,
/// `name=low:high`. Without bounds a parameter ranges over what `check` accepts for it (the
/// "accepts" column of `cellpk params`), and an upper bound of `inf` stands for the accepted
/// maximum: a fit that wandered past it would write a `fitted.toml` that `check` refuses
/// and that `run` could not be trusted with (rates of 1e40 /h hung the exponential).
pub fn parse_free(text: &str) -> Result<Vec<FreeParam>, InputError> {
    let mut free: Vec<FreeParam> = Vec::new();
    for (name, bounds) in free_items(text) {
        let param = free_param(name)?;
        if free.iter().any(|f| f.param == param) {
            return Err(bad_free(
                format!("{name} is named twice"),
                "name each free parameter once".into(),
            ));
        }
        let kind = param.kind();
        let (accepted_low, _, accepted_high) = kind.bounds();
        let (lower, upper) = match bounds {
            None => (accepted_low, accepted_high),
            Some(b) => match parse_range(b).map(|(lo, hi)| {
                (
                    lo,
                    if hi == f64::INFINITY {
                        accepted_high
                    } else {
                        hi
                    },
                )
            }) {
                Some((lo, hi)) if lo < hi && kind.admits(lo) && kind.admits(hi) => (lo, hi),
                _ => {
                    return Err(bad_free(
                        format!("{b:?} is not a range `low:high` within {}", kind.range()),
                        format!("write e.g. `{name}=0.01:0.5`, low below high"),
                    ))
                }
            },
        };
        free.push(FreeParam {
            param,
            lower,
            upper,
        });
    }
    if free.is_empty() {
        return Err(bad_free(
            "names no parameter".into(),
            "name the parameters to estimate, e.g. `--free lung.death_per_h,liver.extraction`"
                .into(),
        ));
    }
    Ok(free)
}

/// What a fit found.
#[derive(Debug, Clone)]
pub struct Fitted {
    /// The free parameters.
    pub free: Vec<FreeParam>,
    /// Their values in the scenario (the start of the search).
    pub start: Vec<f64>,
    /// The estimate, with standard errors and correlations.
    pub estimate: Estimate,
    /// The scenario with the estimates set.
    pub scenario: Scenario,
    /// The data against the scenario before and after the fit.
    pub before: Comparison,
    /// After the fit.
    pub after: Comparison,
}

/// Why a fit could not be done.
#[derive(Debug, thiserror::Error)]
pub enum FitError {
    /// The free parameters or the data cannot be used.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The model could not be simulated at the start.
    #[error(transparent)]
    Simulation(#[from] Failure),
    /// The optimizer refused or failed.
    #[error(transparent)]
    Estimate(#[from] EstimateError),
}

/// Fits `free` parameters of `scenario` to `rows` (checked with `compare::check_usable`).
pub fn fit(
    scenario: &Scenario,
    rows: &[&Observation],
    free: &[FreeParam],
    data: &std::path::Path,
) -> Result<Fitted, FitError> {
    // Every row is compared (a `percent_of_first` series needs its reference row), and
    // the informative ones give the residuals.
    if !rows
        .iter()
        .any(|o| o.value.is_some() && !o.is_reference(rows))
    {
        return Err(InputError::Invalid {
            at: crate::error::Location {
                file: data.to_path_buf(),
                line: None,
            },
            key: "value".into(),
            problem: "no row gives a value to fit (only ranges or series references)".into(),
            fix: "add rows with a `value`".into(),
        }
        .into());
    }
    let mut base = scenario.clone();
    if base.uses_general() {
        base.tolerance = FIT_TOLERANCE;
    }
    let start: Vec<f64> = free.iter().map(|f| base.parameters.get(f.param)).collect();
    let with = |values: &[f64]| {
        let mut s = base.clone();
        for (f, &v) in free.iter().zip(values) {
            s.parameters.set(f.param, v);
            // A control group shares the fitted values: its rows are ratios to it.
            if let Some(control) = s.validation.as_mut().and_then(|v| v.control.as_mut()) {
                control.parameters.set(f.param, v);
            }
        }
        s
    };
    let before = compare::compare(&base, rows)?;
    let residuals = |values: &[f64]| -> Option<Vec<f64>> {
        let c = compare::compare(&with(values), rows).ok()?;
        Some(
            c.rows
                .iter()
                .filter(|r| r.informative())
                .map(residual)
                .collect(),
        )
    };
    let bounds: Vec<Free> = free
        .iter()
        .zip(&start)
        .map(|(f, &s)| Free {
            name: f.param.name().into(),
            lower: f.lower,
            upper: f.upper,
            start: s,
        })
        .collect();
    let estimate = estimate::least_squares(residuals, &bounds)?;
    let after = compare::compare(&with(&estimate.values), rows)?;
    // The fitted scenario keeps the file's tolerances: the tight ones served the search.
    let mut fitted = with(&estimate.values);
    fitted.tolerance = scenario.tolerance;
    Ok(Fitted {
        free: free.to_vec(),
        start,
        estimate,
        scenario: fitted,
        before,
        after,
    })
}

/// The weighted residual of a compared row that gives a value.
pub(crate) fn residual(row: &compare::Compared) -> f64 {
    let o = &row.observation;
    let value = o.value.expect("fitted rows give a value");
    let sd =
        o.sd.filter(|&sd| sd > 0.0)
            .unwrap_or(DEFAULT_CV * value.max(FLOOR_PERCENT));
    (row.predicted - value) / sd
}
