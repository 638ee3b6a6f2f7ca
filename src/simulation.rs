//! A scenario from end to end: assemble the model and schedule, walk it once for the time
//! course and the metrics, and once per dose for the per-dose metrics (superposition: the
//! model is linear, so each dose's contribution is that dose simulated alone). The
//! per-dose walks are independent and run in parallel.

use rayon::prelude::*;

use crate::dosing::Dose;
use crate::engine::{self, Plan};
use crate::metrics::{self, Accumulator, Metrics};
use crate::model::Model;
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
    let depot = scenario.doses.iter().find_map(|d| d.route.depot());
    Model::assemble(&scenario.parameters, depot)
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
