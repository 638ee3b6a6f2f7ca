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
use crate::engine::rodas::Stats;
use crate::engine::{self, general, Plan};
use crate::mechanisms::effect::EffectAccumulator;
use crate::mechanisms::system::{self, Extended};
use crate::metrics::{self, Accumulator, Metrics};
use crate::model::Model;
use crate::params::Param;
use crate::presets::routes::DepotSite;
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

/// Why a scenario could not be simulated: the general integrator gave up.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("the general integrator gave up on day {:.4} ({error}); {}", error.t() / 24.0, self.fix())]
pub struct Failure {
    /// What the integrator reported (its times in hours).
    pub error: general::Error,
}

impl Failure {
    /// What to change.
    fn fix(&self) -> &'static str {
        use crate::engine::dopri5::Error as Dopri5;
        match self.error {
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
}

impl<E: Into<general::Error>> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure {
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
    let model = model(scenario);
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
        metrics: acc.finish(&schedule, &plan, reached),
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
        return Ok(general_metrics(walk, scenario, &schedule, &plan, &finished));
    }
    Ok(metrics::compute(
        &model(scenario),
        &scenario.schedule(),
        &plan(scenario),
        scenario.liver_threshold(),
    ))
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
        metrics: general_metrics(gathered, scenario, &schedule, &plan, &finished),
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
                        fast: fast::FastModel::new(&model(scenario), depot),
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
