//! Calibration: base parameter values shared by several validation cases, estimated at
//! the maximum of their posterior.
//!
//! A free parameter here is not a scenario's override but the base value its derivation
//! starts from (`params::resolve_with`): every case is resolved again for each candidate,
//! so species scaling and disease, donor and cell-source factors act on the candidate as
//! they act on the preset, and a case's own `[parameters]` still win.
//!
//! The objective is a sum of squares that the Levenberg–Marquardt core of
//! [`estimate`] minimizes (docs/calibration.md gives the reasoning):
//!
//! - a row with a value: `(pred - obs) / sd` as in `cellpk fit` (`DEFAULT_CV` of the value
//!   when no SD is given);
//! - a row with a range only: 0 inside, else the log fold distance to the nearer bound
//!   divided by `ln(1 + DEFAULT_CV)` (a prediction outside by the fold `1 + DEFAULT_CV`
//!   counts as a value row missed by one SD);
//! - each case's residuals times `1 / sqrt(m)` for its `m` informative rows, so that every
//!   study weighs as one row whatever its number of rows;
//! - one prior residual per free parameter, `(ln theta - mu) / sigma`, from a log-normal
//!   prior whose 95 % range is the `LOW:HIGH` given; for a fraction E (a per-pass arrest)
//!   theta is the per-pass hazard `-ln(1 - E)`.
//!
//! The search runs on `ln theta`, where the prior is normal, and the covariance is the
//! Laplace approximation `(J^T J)^-1` there, mapped to the natural scale by the delta method
//! (standard errors) and by transforming the interval's ends (95 % intervals).

use rayon::prelude::*;

use crate::error::InputError;
use crate::params::calibration::{self, Covariance, Entry, Scale};
use crate::params::{self, Calibration, Kind, Param, Resolved, Subject};
use crate::presets::{CellSource, Choice, Disease, Donor, Modification, Species};
use crate::scenario::Scenario;
use crate::simulation::Failure;
use crate::validation::compare::{self, Compared, Comparison, FLOOR_PERCENT};
use crate::validation::data::Observation;

use super::estimate::{self, Estimate, EstimateError, Free};
use super::problem::{self, DEFAULT_CV, FIT_TOLERANCE};

/// The standard normal's 97.5 % quantile: a 95 % range is mu -/+ Z95 sigma.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Fold on either side of the preset that a free parameter's prior spans (95 %) when
/// `--free` gives no range: an assumption, wide enough that data of any study move it.
pub const DEFAULT_PRIOR_FOLD: f64 = 10.0;

/// Scale of a range row's residual, `ln(1 + DEFAULT_CV)`: a prediction outside its range
/// by the fold `1 + DEFAULT_CV` weighs as a value row missed by one SD.
pub fn range_scale() -> f64 {
    DEFAULT_CV.ln_1p()
}

/// A log-normal prior given by its 95 % range. For a fraction the prior is on the
/// per-pass hazard `h = -ln(1 - E)`, which maps (0, 1) onto (0, infinity), so that no
/// candidate reaches E = 1, and on which the presets already act (disease homing
/// multiplies the hazard); for small E, h is about E and the prior about log-normal in E.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prior {
    /// 2.5 % quantile, in the parameter's unit.
    pub low: f64,
    /// 97.5 % quantile, in the parameter's unit.
    pub high: f64,
    /// Whether the prior is on the hazard of a fraction.
    pub on_hazard: bool,
}

impl Prior {
    /// The prior of `param` with this 95 % range (checked by the caller: 0 < low < high,
    /// and high < 1 for a fraction).
    pub fn new(param: Param, low: f64, high: f64) -> Prior {
        Prior {
            low,
            high,
            on_hazard: param.kind() == Kind::Fraction,
        }
    }

    /// The scale the search runs on (`calibration::Scale`, one definition for the fit and
    /// for the `calibrated` distribution that draws from its covariance).
    pub fn scale(&self) -> Scale {
        if self.on_hazard {
            Scale::LnHazard
        } else {
            Scale::Ln
        }
    }

    /// The search coordinate of a value: `ln h` for a fraction, `ln x` otherwise.
    pub fn to_search(&self, x: f64) -> f64 {
        self.scale().to_fit(x)
    }

    /// The value at a search coordinate (the inverse of `to_search`).
    pub fn to_natural(&self, u: f64) -> f64 {
        self.scale().to_natural(u)
    }

    /// d value / d u at `u`, for standard errors by the delta method.
    pub fn slope(&self, u: f64) -> f64 {
        self.scale().slope(u)
    }

    /// Mean of the normal prior of the search coordinate.
    pub fn mu(&self) -> f64 {
        0.5 * (self.to_search(self.low) + self.to_search(self.high))
    }

    /// Its SD.
    pub fn sigma(&self) -> f64 {
        (self.to_search(self.high) - self.to_search(self.low)) / (2.0 * Z95)
    }

    /// The prior's median, in the parameter's unit.
    pub fn median(&self) -> f64 {
        self.to_natural(self.mu())
    }

    /// The prior's residual at search coordinate `u`.
    pub fn residual(&self, u: f64) -> f64 {
        (u - self.mu()) / self.sigma()
    }

    /// What the prior is on, for reports.
    pub fn on(&self) -> &'static str {
        if self.on_hazard {
            "per-pass hazard -ln(1 - E)"
        } else {
            "value"
        }
    }
}

/// A free base value.
#[derive(Debug, Clone, PartialEq)]
pub struct FreeBase {
    /// The parameter.
    pub param: Param,
    /// The species whose cases it applies to (`None`: every case).
    pub species: Option<Species>,
    /// Its prior.
    pub prior: Prior,
    /// Whether `--free` gave the range (else it is the default around the preset).
    pub range_given: bool,
    /// The uncalibrated preset for the reference subject, and its source.
    pub preset: Resolved,
    /// The value the search starts from: the shipped calibration's, else the preset.
    pub start: f64,
}

impl FreeBase {
    /// `species:name` or `name`, as `--free` writes it.
    pub fn label(&self) -> String {
        calibration::label(self.param, self.species)
    }
}

/// The subject a base value belongs to: healthy, bone-marrow, autologous, unmodified
/// cells at the species' reference weight, where every subject factor is 1.
pub fn reference_subject(species: Species) -> Subject {
    Subject {
        species,
        body_weight_kg: species.physiology().reference_weight_kg.value,
        disease: Disease::Healthy,
        source: CellSource::BoneMarrow,
        donor: Donor::Autologous,
        modification: Modification::None,
    }
}

/// The uncalibrated preset of `param` for `species`' reference subject.
pub fn preset(param: Param, species: Species) -> Resolved {
    params::resolve_with(&reference_subject(species), &Calibration::none())
        .entry(param)
        .clone()
}

/// Parses `--free`: comma-separated `[species:]name[=low:high]`, where `low:high` is the
/// prior's 95 % range (default: `DEFAULT_PRIOR_FOLD` either side of the preset, on the
/// hazard for a fraction).
pub fn parse_free(text: &str) -> Result<Vec<FreeBase>, InputError> {
    let bad = problem::bad_free;
    let mut free: Vec<FreeBase> = Vec::new();
    for (scoped, range) in problem::free_items(text) {
        let (species, name) = match scoped.split_once(':') {
            Some((s, n)) => {
                let species = Species::ALL
                    .iter()
                    .copied()
                    .find(|c| c.name() == s.trim())
                    .ok_or_else(|| {
                        bad(
                            format!("{scoped:?}: unknown species {:?}", s.trim()),
                            format!("scope with one of {}", Species::valid_names()),
                        )
                    })?;
                (Some(species), n.trim())
            }
            None => (None, scoped),
        };
        let param = problem::free_param(name)?;
        if let Some(why) = calibration::not_calibratable(param) {
            return Err(bad(
                format!("{name} cannot be calibrated: {why}"),
                "free another parameter, or fit it per scenario with `cellpk fit`".into(),
            ));
        }
        if free
            .iter()
            .any(|f| f.param == param && f.species == species)
        {
            return Err(bad(
                format!("{scoped} is named twice"),
                "name each free parameter once".into(),
            ));
        }
        let reference = match species {
            Some(s) => preset(param, s),
            None => {
                let presets: Vec<Resolved> =
                    Species::ALL.iter().map(|&s| preset(param, s)).collect();
                if presets.iter().any(|p| p.value != presets[0].value) {
                    let values: Vec<String> = Species::ALL
                        .iter()
                        .zip(&presets)
                        .map(|(s, p)| format!("{} {}", s.name(), p.value))
                        .collect();
                    return Err(bad(
                        format!(
                            "the preset of {name} differs by species ({})",
                            values.join(", ")
                        ),
                        format!("scope it to one species, e.g. `human:{name}`"),
                    ));
                }
                presets[0].clone()
            }
        };
        let kind = param.kind();
        let open = |x: f64| x > 0.0 && x.is_finite() && (kind != Kind::Fraction || x < 1.0);
        let domain = if kind == Kind::Fraction {
            "0 < low < high < 1"
        } else {
            "0 < low < high, both finite"
        };
        let (prior, range_given) = match range {
            Some(r) => match problem::parse_range(r) {
                Some((lo, hi)) if open(lo) && open(hi) && lo < hi => {
                    (Prior::new(param, lo, hi), true)
                }
                _ => {
                    return Err(bad(
                        format!("{scoped}: {r:?} is not a 95 % range `low:high` with {domain}"),
                        format!("write e.g. `{scoped}=0.2:0.9`"),
                    ))
                }
            },
            None => {
                if !open(reference.value) {
                    return Err(bad(
                        format!(
                            "{scoped} has no range, and its preset {} cannot centre a \
                             log-normal prior",
                            reference.value
                        ),
                        format!(
                            "give its prior's 95 % range, e.g. `{scoped}=LOW:HIGH` with {domain}"
                        ),
                    ));
                }
                let unit = Prior::new(param, 0.5, 0.5);
                let centre = unit.to_search(reference.value);
                let half = DEFAULT_PRIOR_FOLD.ln();
                let prior = Prior::new(
                    param,
                    unit.to_natural(centre - half),
                    unit.to_natural(centre + half),
                );
                (prior, false)
            }
        };
        let shipped = Calibration::shipped()
            .entries()
            .iter()
            .find(|e| e.param == param && e.species == species)
            .map(|e| e.value);
        free.push(FreeBase {
            param,
            species,
            prior,
            range_given,
            start: shipped.unwrap_or(reference.value),
            preset: reference,
        });
    }
    if free.is_empty() {
        return Err(bad(
            "names no parameter".into(),
            "name the base values to calibrate, e.g. `--free liver.extraction=0.2:0.9`".into(),
        ));
    }
    Ok(free)
}

/// A validation case: a scenario and its study's rows.
#[derive(Debug, Clone)]
pub struct Case {
    /// Its name (the file's stem).
    pub name: String,
    /// The scenario, resolved with the shipped calibration.
    pub scenario: Scenario,
    /// Its study's rows (checked with `compare::check_usable`).
    pub rows: Vec<Observation>,
}

impl Case {
    fn refs(&self) -> Vec<&Observation> {
        self.rows.iter().collect()
    }

    /// The case's rows that inform a calibration: values and ranges, series references
    /// left out.
    pub fn informative_rows(&self) -> usize {
        let refs = self.refs();
        self.rows
            .iter()
            .filter(|o| !o.is_reference(&refs) && (o.value.is_some() || o.range.is_some()))
            .count()
    }

    /// The route of its first dose block.
    pub fn route(&self) -> &'static str {
        self.scenario
            .doses
            .first()
            .map_or("none", |d| d.route.name())
    }
}

/// What a row is compared with in a calibration.
enum Target {
    Value,
    Range(f64, f64),
}

fn target(r: &Compared) -> Option<Target> {
    if r.reference {
        None
    } else if r.observation.value.is_some() {
        Some(Target::Value)
    } else {
        r.observation.range.map(|(lo, hi)| Target::Range(lo, hi))
    }
}

/// The residual of a range row: 0 when `predicted` lies in [low, high], else the log fold
/// distance to the nearer bound over `range_scale()`, negative below. Predictions and
/// bounds are floored at `FLOOR_PERCENT` (a bound of 0 is no bound).
pub fn range_residual(predicted: f64, low: f64, high: f64) -> f64 {
    let p = predicted.max(FLOOR_PERCENT);
    if p < low {
        -(low / p).ln() / range_scale()
    } else if p > high.max(FLOOR_PERCENT) {
        (p / high.max(FLOOR_PERCENT)).ln() / range_scale()
    } else {
        0.0
    }
}

/// A row's fold error: max(p/o, o/p) for a value, max(1, low/p, p/high) for a range
/// (values, predictions and bounds floored at `FLOOR_PERCENT`); `None` for a reference.
pub fn fold(r: &Compared) -> Option<f64> {
    let p = r.predicted.max(FLOOR_PERCENT);
    match target(r)? {
        Target::Value => {
            let o = r.observation.value.expect("a value row").max(FLOOR_PERCENT);
            Some((p / o).max(o / p))
        }
        Target::Range(lo, hi) => Some((lo / p).max(p / hi.max(FLOOR_PERCENT)).max(1.0)),
    }
}

/// A case's geometric mean fold error over its informative rows, ranges included.
pub fn gmfe(c: &Comparison) -> Option<f64> {
    let logs: Vec<f64> = c.rows.iter().filter_map(fold).map(f64::ln).collect();
    (!logs.is_empty()).then(|| (logs.iter().sum::<f64>() / logs.len() as f64).exp())
}

/// A case's scenario resolved under `calibration`, its overrides applied again.
pub fn resolved_under(scenario: &Scenario, calibration: &Calibration) -> Scenario {
    let mut s = scenario.clone();
    s.parameters = params::resolve_with(&s.subject, calibration);
    for &(p, v) in &s.overrides {
        s.parameters.set(p, v);
    }
    // A control group is resolved under the same values: its rows are ratios to it.
    if let Some(control) = s.validation.as_mut().and_then(|v| v.control.as_mut()) {
        **control = resolved_under(control, calibration);
    }
    s
}

/// A case before and after.
#[derive(Debug, Clone)]
pub struct CaseFit {
    /// The case's name.
    pub name: String,
    /// Its informative rows.
    pub rows: usize,
    /// The factor on its residuals, `1 / sqrt(rows)`.
    pub weight: f64,
    /// Compared under the shipped calibration.
    pub before: Comparison,
    /// Compared under the estimates.
    pub after: Comparison,
}

/// What a calibration found.
#[derive(Debug, Clone)]
pub struct Calibrated {
    /// The free base values.
    pub free: Vec<FreeBase>,
    /// The search on the log scale (`ln h` for fractions): values, and `n`, `ssr`,
    /// correlations and convergence there.
    pub estimate: Estimate,
    /// The estimates, in the parameters' units.
    pub values: Vec<f64>,
    /// Their standard errors (Laplace approximation, delta method).
    pub standard_errors: Vec<f64>,
    /// 95 % intervals, the log-scale interval's ends transformed back.
    pub intervals: Vec<(f64, f64)>,
    /// The shipped calibration with the estimates laid over it, each with its source.
    pub calibration: Calibration,
    /// Each case before and after, in the order given.
    pub cases: Vec<CaseFit>,
}

/// Why a calibration could not be done.
#[derive(Debug, thiserror::Error)]
pub enum CalibrateError {
    /// The free parameters or the cases cannot be used.
    #[error(transparent)]
    Input(#[from] InputError),
    /// A case could not be simulated under the shipped calibration or the estimates.
    #[error("cannot simulate case `{case}`: {failure}")]
    Simulation {
        /// The case.
        case: String,
        /// Why.
        failure: Failure,
    },
    /// The optimizer refused or failed.
    #[error(transparent)]
    Estimate(#[from] EstimateError),
}

/// Checks that every species-scoped free value has a case of its species.
pub fn check_scopes(cases: &[Case], free: &[FreeBase]) -> Result<(), InputError> {
    for f in free {
        if let Some(s) = f.species {
            if !cases.iter().any(|c| c.scenario.subject.species == s) {
                return Err(InputError::Argument {
                    argument: "--free".into(),
                    problem: format!("{}: no case is of species {}", f.label(), s.name()),
                    fix: format!(
                        "add a {} case, or free `{}` for every species",
                        s.name(),
                        f.param.name()
                    ),
                });
            }
        }
    }
    Ok(())
}

/// The calibration with the free values at `values` laid over `base`, each entry with the
/// source `source(i)`.
fn overlay(
    base: &Calibration,
    free: &[FreeBase],
    values: &[f64],
    source: impl Fn(usize) -> String,
) -> Calibration {
    free.iter()
        .zip(values)
        .enumerate()
        .fold(base.clone(), |c, (i, (f, &value))| {
            c.with(Entry {
                param: f.param,
                species: f.species,
                value,
                source: source(i),
            })
        })
}

/// Calibrates the `free` base values to `cases` (each checked with
/// `compare::check_usable`).
pub fn calibrate(cases: &[Case], free: &[FreeBase]) -> Result<Calibrated, CalibrateError> {
    let rows: Vec<usize> = cases.iter().map(Case::informative_rows).collect();
    let total: usize = rows.iter().sum();
    if total < free.len() {
        return Err(InputError::Argument {
            argument: "--free".into(),
            problem: format!(
                "{total} informative rows (values and ranges, series references left out) in \
                 the cases for {} free parameters",
                free.len()
            ),
            fix: "free fewer parameters, or add cases or rows".into(),
        }
        .into());
    }
    let weights: Vec<f64> = rows
        .iter()
        .map(|&m| if m == 0 { 0.0 } else { 1.0 / (m as f64).sqrt() })
        .collect();
    // The tight tolerances of `cellpk fit` where the general integrator runs: the
    // finite-difference Jacobian needs them.
    let prepared: Vec<Scenario> = cases
        .iter()
        .map(|c| {
            let mut s = c.scenario.clone();
            if s.uses_general() {
                s.tolerance = FIT_TOLERANCE;
            }
            s
        })
        .collect();
    let refs: Vec<Vec<&Observation>> = cases.iter().map(Case::refs).collect();
    let shipped = Calibration::shipped();
    let compare_all = |calibration: &Calibration| -> Result<Vec<Comparison>, CalibrateError> {
        prepared
            .iter()
            .zip(&refs)
            .zip(cases)
            .map(|((s, rows), case)| {
                compare::compare(&resolved_under(s, calibration), rows).map_err(|failure| {
                    CalibrateError::Simulation {
                        case: case.name.clone(),
                        failure,
                    }
                })
            })
            .collect()
    };
    let before = compare_all(shipped)?;

    let natural = |u: &[f64]| -> Vec<f64> {
        free.iter()
            .zip(u)
            .map(|(f, &u)| f.prior.to_natural(u))
            .collect()
    };
    let residuals = |u: &[f64]| -> Option<Vec<f64>> {
        let candidate = overlay(shipped, free, &natural(u), |_| "candidate".into());
        let mut out = Vec::new();
        for ((s, rows), &w) in prepared.iter().zip(&refs).zip(&weights) {
            let c = compare::compare(&resolved_under(s, &candidate), rows).ok()?;
            for r in &c.rows {
                match target(r) {
                    Some(Target::Value) => out.push(w * problem::residual(r)),
                    Some(Target::Range(lo, hi)) => {
                        out.push(w * range_residual(r.predicted, lo, hi))
                    }
                    None => {}
                }
            }
        }
        out.extend(free.iter().zip(u).map(|(f, &u)| f.prior.residual(u)));
        Some(out)
    };
    let search: Vec<Free> = free
        .iter()
        .map(|f| {
            let u = f.prior.to_search(f.start);
            Free {
                name: f.label(),
                lower: f64::NEG_INFINITY,
                upper: f64::INFINITY,
                start: if u.is_finite() { u } else { f.prior.mu() },
            }
        })
        .collect();
    let estimate = estimate::least_squares(residuals, &search)?;

    let values = natural(&estimate.values);
    let ses = &estimate.unscaled_standard_errors;
    let standard_errors = free
        .iter()
        .zip(estimate.values.iter().zip(ses))
        .map(|(f, (&u, &se))| f.prior.slope(u) * se)
        .collect();
    let intervals = free
        .iter()
        .zip(estimate.values.iter().zip(ses))
        .map(|(f, (&u, &se))| {
            (
                f.prior.to_natural(u - Z95 * se),
                f.prior.to_natural(u + Z95 * se),
            )
        })
        .collect();
    let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    // The Laplace covariance of the search coordinates, (J^T J)^-1, from its standard
    // errors and correlations.
    let p = free.len();
    let covariance = Covariance {
        parameters: free.iter().map(|f| (f.param, f.species)).collect(),
        matrix: (0..p * p)
            .map(|ik| {
                let (i, k) = (ik / p, ik % p);
                ses[i] * ses[k] * estimate.correlation[(i.min(k), i.max(k))]
            })
            .collect(),
    };
    let calibration =
        overlay(shipped, free, &values, |i| source(&free[i], &names)).with_covariance(covariance);
    let after = compare_all(&calibration)?;
    let cases = cases
        .iter()
        .zip(before.into_iter().zip(after))
        .zip(rows.iter().zip(&weights))
        .map(|((c, (before, after)), (&rows, &weight))| CaseFit {
            name: c.name.clone(),
            rows,
            weight,
            before,
            after,
        })
        .collect();
    Ok(Calibrated {
        free: free.to_vec(),
        estimate,
        values,
        standard_errors,
        intervals,
        calibration,
        cases,
    })
}

/// The source text of a calibrated value.
fn source(f: &FreeBase, cases: &[&str]) -> String {
    format!(
        "calibrated: cases {}; prior: log-normal 95 % range {}-{} ({})",
        cases.join(", "),
        f.prior.low,
        f.prior.high,
        f.preset.source
    )
}

/// A case predicted by a calibration fitted without it.
#[derive(Debug, Clone)]
pub struct HeldOut {
    /// The estimates without the case (`None` when the refit failed).
    pub values: Option<Vec<f64>>,
    /// The case's GMFE under them.
    pub gmfe: Option<f64>,
    /// Why there is no estimate or prediction, if there is none.
    pub note: String,
}

/// Leave one case out: for each case, calibrates on the others (in parallel) and predicts
/// it.
pub fn cross_validate(cases: &[Case], free: &[FreeBase]) -> Vec<HeldOut> {
    (0..cases.len())
        .into_par_iter()
        .map(|i| {
            let rest: Vec<Case> = cases
                .iter()
                .enumerate()
                .filter(|&(k, _)| k != i)
                .map(|(_, c)| c.clone())
                .collect();
            let fit = match calibrate(&rest, free) {
                Ok(fit) => fit,
                Err(e) => {
                    return HeldOut {
                        values: None,
                        gmfe: None,
                        note: format!("no refit: {e}"),
                    }
                }
            };
            let held = &cases[i];
            let scenario = resolved_under(&held.scenario, &fit.calibration);
            match compare::compare(&scenario, &held.refs()) {
                Ok(c) => HeldOut {
                    values: Some(fit.values),
                    gmfe: gmfe(&c),
                    note: String::new(),
                },
                Err(e) => HeldOut {
                    values: Some(fit.values),
                    gmfe: None,
                    note: format!("cannot simulate the held-out case: {e}"),
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64, rtol: f64) {
        assert!(
            (got - want).abs() <= rtol * want.abs(),
            "got {got}, want {want}"
        );
    }

    #[test]
    fn a_prior_range_is_its_95_percent_interval() {
        for (param, low, high) in [
            (Param::LiverExtraction, 0.2, 0.9),
            (Param::LungDeath, 0.01, 0.4),
        ] {
            let prior = Prior::new(param, low, high);
            // The range's ends lie Z95 SDs from the mean, the median between them.
            close(prior.residual(prior.to_search(low)), -Z95, 1e-12);
            close(prior.residual(prior.to_search(high)), Z95, 1e-12);
            assert_eq!(prior.residual(prior.mu()), 0.0);
            close(prior.to_natural(prior.to_search(0.37)), 0.37, 1e-14);
            // The slope is the derivative of to_natural.
            let u = prior.to_search(0.5);
            let d = (prior.to_natural(u + 1e-6) - prior.to_natural(u - 1e-6)) / 2e-6;
            close(prior.slope(u), d, 1e-8);
        }
        // A fraction's prior is log-normal in the hazard: the median of 0.2:0.9 is
        // 1 - exp(-sqrt(h(0.2) h(0.9))), not the geometric mean of 0.2 and 0.9.
        let prior = Prior::new(Param::LiverExtraction, 0.2, 0.9);
        let h = |e: f64| -(1.0f64 - e).ln();
        close(
            prior.median(),
            1.0 - (-(h(0.2) * h(0.9)).sqrt()).exp(),
            1e-12,
        );
        close(prior.sigma(), (h(0.9) / h(0.2)).ln() / (2.0 * Z95), 1e-12);
        // A rate's is log-normal in the rate.
        let rate = Prior::new(Param::LungDeath, 0.01, 0.4);
        close(rate.median(), (0.01f64 * 0.4).sqrt(), 1e-12);
        // The hazard keeps every candidate below 1.
        assert!(prior.to_natural(5.0) <= 1.0 && prior.to_natural(-30.0) > 0.0);
    }

    #[test]
    fn range_rows_count_only_outside_their_range() {
        assert_eq!(range_residual(50.0, 10.0, 90.0), 0.0);
        close(
            range_residual(5.0, 10.0, 90.0),
            -(2.0f64.ln()) / range_scale(),
            1e-12,
        );
        close(
            range_residual(180.0, 10.0, 90.0),
            2.0f64.ln() / range_scale(),
            1e-12,
        );
        // Missed by the fold 1 + DEFAULT_CV: one SD.
        close(range_residual(99.0, 10.0, 90.0), 1.0, 1e-12);
        // A zero prediction against a lower bound of 0 is inside.
        assert_eq!(range_residual(0.0, 0.0, 95.0), 0.0);
    }

    #[test]
    fn free_values_parse_with_scopes_and_default_priors() {
        let free =
            parse_free("liver.extraction=0.2:0.9, human:lung.extraction=0.3:0.9,lung.death_per_h")
                .expect("valid");
        assert_eq!(free.len(), 3);
        assert_eq!(free[1].species, Some(Species::Human));
        assert!(free[0].prior.on_hazard && !free[2].prior.on_hazard);
        // The default prior is centred on the preset, a factor 10 either side.
        let preset = free[2].preset.value;
        close(free[2].prior.median(), preset, 1e-12);
        close(free[2].prior.high / preset, DEFAULT_PRIOR_FOLD, 1e-12);
        for (text, expected) in [
            ("liver.extracton", "no parameter is named"),
            ("liver.extraction=0.9:0.2", "is not a 95 % range"),
            ("liver.extraction=0.2:1", "is not a 95 % range"),
            ("lung.death_per_h=0:1", "is not a 95 % range"),
            ("cat:liver.extraction", "unknown species"),
            ("liver.extraction,liver.extraction=0.1:0.2", "named twice"),
            ("niche.capacity_cells", "cannot be calibrated"),
            ("circulation.cardiac_output_l_per_h", "differs by species"),
            ("", "names no parameter"),
        ] {
            let err = parse_free(text).expect_err(text).to_string();
            assert!(err.contains(expected), "{text}: {err}");
            assert!(err.contains("--free"), "{err}");
        }
    }
}
