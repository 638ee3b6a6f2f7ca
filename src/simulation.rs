//! A scenario from end to end: assemble the model and schedule, walk it once for the time
//! course and the metrics, and once per dose for the per-dose metrics (superposition: the
//! model is linear, so each dose's contribution is that dose simulated alone). The
//! per-dose walks are independent and run in parallel.
//!
//! `Evaluator` computes the metrics of many scenarios, reusing what scenarios with the same
//! parameters share (`fast`); `run` and `metrics_only` stay the reference it is tested
//! against.
//!
//! A scenario with mechanisms on (or `solver = "rodas"`) goes through the general
//! integrator instead (`engine::general`). Its mechanisms break superposition, so it has no
//! per-dose metrics: the effect of one more dose is the difference of two runs.

mod fast;

use rayon::prelude::*;

use crate::dosing::Dose;
use crate::engine::{self, general, Plan};
use crate::mechanisms::system::{self, Extended};
use crate::metrics::effect::EffectAccumulator;
use crate::metrics::{self, Accumulator, Metrics};
use crate::model::Model;
use crate::numerics::rodas::Stats;
use crate::params::{Kind, Param};
use crate::presets::routes::DepotSite;
use crate::scenario::rules::readable;
use crate::scenario::Scenario;
use crate::timecourse::TimeCourse;

/// Everything a run computes.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Every administration, sorted by time.
    pub schedule: Vec<Dose>,
    /// States on the output grid.
    pub timecourse: TimeCourse,
    /// Metrics of the whole schedule.
    pub metrics: Metrics,
    /// Metrics of each administration alone, in schedule order (empty when mechanisms are
    /// on: they break superposition).
    pub per_dose: Vec<Metrics>,
    /// Steps of the general integrator, when it ran.
    pub steps: Option<Stats>,
}

/// Largest mass-balance error accepted, relative to the cells given: above it a run fails
/// rather than report metrics of cells the arithmetic created or lost. Every accepted
/// scenario stays below it (`tests/properties.rs` draws across every parameter's range).
pub const MAX_MASS_BALANCE_ERROR: f64 = 1e-9;

/// Fastest rate (1/h, the largest |entry| of the rate matrix, a diagonal one) the exact engine is given.
/// Validation keeps every accepted model below a tenth of it (rates at most
/// `params::MAX_RATE_PER_H`, blood turnover at most `params::MAX_TURNOVER_PER_H`); the guard
/// stands between a model built some other way and a matrix exponential whose scaling and
/// squaring never ends (rates of 1e40 /h hung it).
pub const MAX_ENGINE_RATE_PER_H: f64 = 1e6;

/// Why a scenario could not be simulated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Failure {
    /// The general integrator gave up.
    #[error("the general integrator gave up on day {:.4} ({error}); {}", error.t() / 24.0, integrator_fix(error))]
    Integrator {
        /// What the integrator reported (its times in hours).
        error: general::Error,
    },
    /// Cells were not conserved to `MAX_MASS_BALANCE_ERROR`.
    #[error(
        "cells are not conserved: the mass balance is off by {} of the cells given, above the \
         {MAX_MASS_BALANCE_ERROR:e} accepted; fix: lower the fastest rates, {suspects}",
        readable(*rel_error)
    )]
    MassBalance {
        /// The largest |cells in the system - cells given| / cells given.
        rel_error: f64,
        /// The likely parameters: the largest rates, with their values.
        suspects: String,
    },
    /// The rate matrix is too fast (or not finite) for the exact engine.
    #[error(
        "a rate of {} /h is beyond the {MAX_ENGINE_RATE_PER_H:e} /h the exact engine resolves; \
         fix: lower the fastest rates, {suspects}",
        readable(*rate_per_h)
    )]
    TooFast {
        /// The largest |entry| of the rate matrix (1/h; infinite if one is not a number).
        rate_per_h: f64,
        /// The likely parameters: the largest rates, with their values.
        suspects: String,
    },
}

/// What to change when the integrator gave up.
fn integrator_fix(error: &general::Error) -> &'static str {
    use crate::numerics::dopri5::Error as Dopri5;
    match error {
        general::Error::Dopri5(Dopri5::TooManySteps { .. }) => {
            "use `[simulation] solver = \"rodas\"` (or \"auto\"): the scenario is stiff, \
             and an explicit method's step is held to its fastest turnover"
        }
        general::Error::Dopri5(Dopri5::StepTooSmall { .. }) => {
            "use `[simulation] solver = \"rodas\"` (or \"auto\"), or check the mechanisms' \
             `[parameters]`"
        }
        general::Error::Dopri5(Dopri5::NotFinite { .. }) => {
            "check the parameters for values that overflow or divide by zero"
        }
        general::Error::Rodas(_) => {
            "loosen `[simulation] rtol` or `atol`, or check the mechanisms' `[parameters]`"
        }
    }
}

/// The three fastest rates of `scenario` with their values (blood turnover counted as
/// cardiac output over each volume), for a message naming what to lower.
fn fastest_rates(scenario: &Scenario) -> String {
    let p = &scenario.parameters;
    let output = p.get(Param::CardiacOutput);
    let mut rates: Vec<(String, f64)> = Param::ALL
        .iter()
        .filter(|q| matches!(q.kind(), Kind::Rate | Kind::PositiveRate))
        .map(|&q| (format!("`{}` = {}", q.name(), readable(p.get(q))), p.get(q)))
        .chain([Param::VenousVolume, Param::ArterialVolume].map(|v| {
            let turnover = output / p.get(v);
            (
                format!(
                    "`{}` / `{}` = {} /h",
                    Param::CardiacOutput.name(),
                    v.name(),
                    readable(turnover)
                ),
                turnover,
            )
        }))
        .collect();
    rates.sort_by(|a, b| b.1.total_cmp(&a.1));
    rates
        .into_iter()
        .take(3)
        .map(|(text, _)| text)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `metrics` if cells were conserved to `MAX_MASS_BALANCE_ERROR`, else the failure naming
/// the fastest rates (a NaN error fails too).
fn conserved(scenario: &Scenario, metrics: Metrics) -> Result<Metrics, Failure> {
    let rel_error = metrics.mass_balance_rel_error;
    if rel_error <= MAX_MASS_BALANCE_ERROR {
        Ok(metrics)
    } else {
        Err(Failure::MassBalance {
            rel_error,
            suspects: fastest_rates(scenario),
        })
    }
}

/// The model of `scenario` if the exact engine can resolve it (see `MAX_ENGINE_RATE_PER_H`).
fn resolvable_model(scenario: &Scenario) -> Result<Model, Failure> {
    let model = model(scenario);
    // The largest entry: a diagonal one, unless an entry is not a number (inf x 0).
    let fastest = model
        .rates
        .iter()
        .map(|r| if r.is_nan() { f64::INFINITY } else { r.abs() })
        .fold(0.0, f64::max);
    if fastest <= MAX_ENGINE_RATE_PER_H {
        Ok(model)
    } else {
        Err(Failure::TooFast {
            rate_per_h: fastest,
            suspects: fastest_rates(scenario),
        })
    }
}

impl<E: Into<general::Error>> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure::Integrator {
            error: error.into(),
        }
    }
}

/// The assembled model of a scenario.
pub fn model(scenario: &Scenario) -> Model {
    Model::assemble(&scenario.parameters, depot_site(scenario))
}

/// The depot site of a scenario's depot route, if it has one (at most one).
pub fn depot_site(scenario: &Scenario) -> Option<DepotSite> {
    scenario.doses.iter().find_map(|d| d.route.depot())
}

/// The simulation plan of a scenario.
pub fn plan(scenario: &Scenario) -> Plan {
    Plan {
        duration_h: scenario.duration_h(),
        output_every_h: scenario.output_every_hours,
    }
}

/// Runs a scenario: time course, metrics and per-dose metrics.
pub fn run(scenario: &Scenario) -> Result<Outcome, Failure> {
    if scenario.uses_general() {
        return general_run(scenario);
    }
    let model = resolvable_model(scenario)?;
    let plan = plan(scenario);
    let schedule = scenario.schedule();
    let threshold = scenario.liver_threshold();
    let mut walk = (TimeCourse::default(), Accumulator::new(threshold));
    engine::simulate(&model, &schedule, &plan, &mut walk);
    let (timecourse, acc) = walk;
    let reached = metrics::liver_reached(&model, &schedule, &plan);
    let per_dose = schedule
        .par_iter()
        .map(|dose| metrics::compute(&model, std::slice::from_ref(dose), &plan, threshold))
        .collect();
    Ok(Outcome {
        metrics: conserved(scenario, acc.finish(&schedule, &plan, reached))?,
        schedule,
        timecourse,
        per_dose,
        steps: None,
    })
}

/// The metrics of a scenario without a time course (the fast path for many runs).
pub fn metrics_only(scenario: &Scenario) -> Result<Metrics, Failure> {
    if scenario.uses_general() {
        // No output grid: only the end is an output node.
        let full = plan(scenario);
        let plan = Plan {
            output_every_h: full.duration_h,
            ..full
        };
        let schedule = scenario.schedule();
        let mut walk = gatherers(scenario, &schedule);
        let finished = general_walk(scenario, &extended(scenario), &schedule, &plan, &mut walk)?;
        return conserved(
            scenario,
            general_metrics(walk, scenario, &schedule, &plan, &finished),
        );
    }
    let metrics = metrics::compute(
        &resolvable_model(scenario)?,
        &scenario.schedule(),
        &plan(scenario),
        scenario.liver_threshold(),
    );
    conserved(scenario, metrics)
}

/// The general integrator's system of a scenario.
pub fn extended(scenario: &Scenario) -> Extended {
    Extended::new(
        &scenario.parameters,
        depot_site(scenario),
        scenario.mechanisms,
    )
}

/// What gathers the metrics during a general walk: of the cells, and of the effect layer.
type Gatherers = (Accumulator, EffectAccumulator);

fn gatherers(scenario: &Scenario, schedule: &[Dose]) -> Gatherers {
    let p = &scenario.parameters;
    let last_dose_h = schedule
        .iter()
        .map(|d| d.start_h)
        .filter(|&t| t <= scenario.duration_h())
        .fold(0.0, f64::max);
    (
        Accumulator::new(scenario.liver_threshold()),
        EffectAccumulator::new(
            p.get(Param::ImprovementThreshold),
            p.get(Param::BaselineTolerance),
            last_dose_h,
        ),
    )
}

/// The metrics of a finished general walk.
fn general_metrics(
    (cells, effect): Gatherers,
    scenario: &Scenario,
    schedule: &[Dose],
    plan: &Plan,
    finished: &general::Finished,
) -> Metrics {
    let given: f64 = schedule.iter().map(|d| d.given_by(plan.duration_h)).sum();
    // Clamped: rounding can leave the difference a few ulps outside [0, given].
    let reached = (given - system::never_in_liver(&finished.y)).clamp(0.0, given);
    let mut metrics = cells.finish(schedule, plan, reached);
    if scenario.mechanisms.effect {
        metrics.effect = Some(effect.finish());
    }
    metrics
}

/// The general path's walk of `schedule` over `plan` on `system`, with `scenario`'s
/// tolerances and solver, reported to `observer`.
pub fn general_walk(
    scenario: &Scenario,
    system: &Extended,
    schedule: &[Dose],
    plan: &Plan,
    observer: &mut impl engine::Observer,
) -> Result<general::Finished, Failure> {
    Ok(general::simulate(
        system,
        schedule,
        plan,
        &scenario.tolerance,
        scenario.solver,
        observer,
    )?)
}

/// `run` on the general integrator.
fn general_run(scenario: &Scenario) -> Result<Outcome, Failure> {
    let system = extended(scenario);
    let plan = plan(scenario);
    let schedule = scenario.schedule();
    let mut walk = (TimeCourse::default(), gatherers(scenario, &schedule));
    let finished = general_walk(scenario, &system, &schedule, &plan, &mut walk)?;
    let (timecourse, gathered) = walk;
    let per_dose = if scenario.mechanisms.any() {
        Vec::new()
    } else {
        schedule
            .par_iter()
            .map(|dose| {
                let alone = std::slice::from_ref(dose);
                let mut walk = gatherers(scenario, alone);
                let done = general_walk(scenario, &system, alone, &plan, &mut walk)?;
                Ok(general_metrics(walk, scenario, alone, &plan, &done))
            })
            .collect::<Result<_, Failure>>()?
    };
    Ok(Outcome {
        metrics: conserved(
            scenario,
            general_metrics(gathered, scenario, &schedule, &plan, &finished),
        )?,
        schedule,
        timecourse,
        per_dose,
        steps: Some(finished.stats),
    })
}

/// Models kept by one `Evaluator`, the least recently used making way past this: a sweep
/// over model parameters meets a new model at every point, and each keeps up to about
/// 4 MB of walks (see `fast`), so the store must not grow without end.
const MAX_MODELS: usize = 32;

/// Computes the metrics of many scenarios, reusing work across scenarios that share a model.
///
/// Per model (the exact bits of every resolved parameter, and the depot site) it keeps the
/// eigendecomposition of the rate matrix and of its absorbing-liver variant, the factors
/// of each step length met, and a walk of each schedule per unit of its largest
/// administration (the model is linear in dose). A scenario then costs at most one walk
/// from dose event to dose event in closed form (`fast`), and none when a schedule that
/// differs only in dose was seen before. Results never depend on what the evaluator
/// computed before, so a sweep's output does not depend on its threads. A model whose
/// eigendecomposition cannot stand in for the matrix exponential, or a step whose extrema
/// cannot be isolated, goes through [`metrics_only`] itself. One evaluator per thread: it
/// is `Send`, not `Sync`.
#[derive(Debug, Default)]
pub struct Evaluator {
    /// The models met, most recently used first (a sweep mostly stays on one).
    models: Vec<Known>,
}

/// A model met, with its closed form (`None`: the walk serves it).
#[derive(Debug)]
struct Known {
    parameters: Vec<u64>,
    depot: Option<DepotSite>,
    fast: Option<fast::FastModel>,
}

impl Known {
    /// Whether this is the model of `scenario`: the same depot site and the same bits of
    /// every resolved parameter (compared in place, without building a key).
    fn is_model_of(&self, scenario: &Scenario, depot: Option<DepotSite>) -> bool {
        self.depot == depot
            && scenario
                .parameters
                .iter()
                .map(|(_, r)| r.value.to_bits())
                .eq(self.parameters.iter().copied())
    }
}

impl Evaluator {
    /// An evaluator with nothing cached.
    pub fn new() -> Self {
        Self::default()
    }

    /// The metrics of `scenario`: those of [`metrics_only`] to rounding and root-finding
    /// tolerance, but fast when called repeatedly with scenarios that share parameters.
    /// Every extremum of the exact solution is bracketed, where the grid walk of
    /// `metrics_only` looks for one sign change of the slope per step and so can miss a
    /// minimum and maximum that fall within one step; `tests/evaluator.rs` checks such
    /// cases on a finer grid.
    pub fn metrics(&mut self, scenario: &Scenario) -> Result<Metrics, Failure> {
        if scenario.uses_general() {
            return metrics_only(scenario);
        }
        let depot = depot_site(scenario);
        match self
            .models
            .iter()
            .position(|m| m.is_model_of(scenario, depot))
        {
            Some(i) => self.models[..=i].rotate_right(1),
            None => {
                let model = resolvable_model(scenario)?;
                self.models.truncate(MAX_MODELS - 1);
                self.models.insert(
                    0,
                    Known {
                        parameters: scenario
                            .parameters
                            .iter()
                            .map(|(_, r)| r.value.to_bits())
                            .collect(),
                        depot,
                        fast: fast::FastModel::new(&model, depot),
                    },
                );
            }
        }
        self.models[0]
            .fast
            .as_mut()
            .and_then(|f| {
                f.metrics(
                    &scenario.schedule(),
                    &plan(scenario),
                    scenario.liver_threshold_cells,
                )
            })
            // The closed form's own rounding is judged by the reference walk, not reported.
            .filter(|m| m.mass_balance_rel_error <= MAX_MASS_BALANCE_ERROR)
            .map_or_else(|| metrics_only(scenario), Ok)
    }
}

thread_local! {
    /// One evaluator per thread, so that a thread's caches serve every point it computes.
    static EVALUATOR: std::cell::RefCell<Evaluator> = std::cell::RefCell::new(Evaluator::new());
}

/// Runs `f` with this thread's evaluator (sweeps call it from rayon workers).
pub fn with_evaluator<T>(f: impl FnOnce(&mut Evaluator) -> T) -> T {
    EVALUATOR.with(|e| f(&mut e.borrow_mut()))
}
