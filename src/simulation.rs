//! A scenario from end to end: assemble the model and schedule, walk it once for the time
//! course and the metrics, and once per dose for the per-dose metrics (superposition: the
//! model is linear, so each dose's contribution is that dose simulated alone). The
//! per-dose walks are independent and run in parallel.
//!
//! `Evaluator` computes the metrics of many scenarios, reusing what scenarios with the same
//! parameters share (`fast`); `run` and `metrics_only` stay the reference it is tested
//! against.

mod fast;

use rayon::prelude::*;

use crate::dosing::Dose;
use crate::engine::{self, Plan};
use crate::metrics::{self, Accumulator, Metrics};
use crate::model::Model;
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
    /// Metrics of each administration alone, in schedule order.
    pub per_dose: Vec<Metrics>,
}

/// The assembled model of a scenario.
pub fn model(scenario: &Scenario) -> Model {
    Model::assemble(&scenario.parameters, depot_site(scenario))
}

/// The depot site of a scenario's depot route, if it has one (at most one).
fn depot_site(scenario: &Scenario) -> Option<DepotSite> {
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
pub fn run(scenario: &Scenario) -> Outcome {
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
    Outcome {
        metrics: acc.finish(&schedule, &plan, reached),
        schedule,
        timecourse,
        per_dose,
    }
}

/// The metrics of a scenario without a time course (the fast path for many runs).
pub fn metrics_only(scenario: &Scenario) -> Metrics {
    metrics::compute(
        &model(scenario),
        &scenario.schedule(),
        &plan(scenario),
        scenario.liver_threshold(),
    )
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
    pub fn metrics(&mut self, scenario: &Scenario) -> Metrics {
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
            .unwrap_or_else(|| metrics_only(scenario))
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
