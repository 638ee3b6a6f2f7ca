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

use std::sync::OnceLock;

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

/// A scenario prepared for solving: its administrations expanded once, its output plan,
/// its liver threshold, and the system of the engine it needs. Everything that solves a
/// scenario (`run`, the metrics, the sweep `Evaluator`, `observe`, and through them
/// `fit` and `validation`) takes one, and [`Problem::walk`] is the one place that chooses
/// between the exact engine and the general integrator.
#[derive(Debug)]
pub struct Problem<'s> {
    /// The scenario, for its parameters, mechanisms and tolerances.
    pub scenario: &'s Scenario,
    /// Every administration, sorted by time.
    pub schedule: Vec<Dose>,
    /// Duration and output spacing.
    pub plan: Plan,
    /// The liver threshold (cells).
    pub threshold: f64,
    /// The depot site of the scenario's depot route, if any.
    pub depot: Option<DepotSite>,
    /// Assembled on first use: a sweep's `Evaluator` needs it only for a model it has not
    /// met, and building it costs as much as evaluating a point from the cache.
    system: OnceLock<Result<System, Failure>>,
}

/// What the engine of a problem solves (boxed: both models are hundreds of bytes, built
/// once a run, and a `Problem` is made for every sweep point).
#[derive(Debug)]
pub enum System {
    /// The linear model, for the exact engine.
    Exact(Box<Model>),
    /// The model with its mechanisms, for the general integrator.
    General(Box<Extended>),
}

impl<'s> Problem<'s> {
    /// Prepares `scenario`; nothing is assembled yet.
    pub fn new(scenario: &'s Scenario) -> Self {
        let schedule = scenario.schedule();
        Problem {
            scenario,
            threshold: scenario.liver_threshold_of(&schedule),
            schedule,
            plan: Plan {
                duration_h: scenario.duration_h(),
                output_every_h: scenario.output_every_hours,
            },
            depot: depot_site(scenario),
            system: OnceLock::new(),
        }
    }

    /// The system to solve: the general integrator's when the scenario needs it
    /// (`Scenario::uses_general`), else the linear model if the exact engine can resolve
    /// its rates (`MAX_ENGINE_RATE_PER_H`).
    pub fn system(&self) -> Result<&System, Failure> {
        self.system
            .get_or_init(|| {
                let s = self.scenario;
                if s.uses_general() {
                    Ok(System::General(Box::new(Extended::new(
                        &s.parameters,
                        self.depot,
                        s.mechanisms,
                    ))))
                } else {
                    resolvable_model(s).map(|m| System::Exact(Box::new(m)))
                }
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The same plan with the end as its only output node: for walks read inside their
    /// steps (metrics, observers), which need no output grid.
    pub fn end_only_plan(&self) -> Plan {
        Plan {
            output_every_h: self.plan.duration_h,
            ..self.plan
        }
    }

    /// Walks `doses` (the schedule, or part of it) over `plan` with the problem's engine,
    /// reported to `observer`; the general integrator's work and final state, if it ran.
    pub fn walk(
        &self,
        doses: &[Dose],
        plan: &Plan,
        observer: &mut impl engine::Observer,
    ) -> Result<Option<general::Finished>, Failure> {
        Ok(match self.system()? {
            System::Exact(model) => {
                engine::simulate(model, doses, plan, observer);
                None
            }
            System::General(system) => Some(general::simulate(
                system,
                doses,
                plan,
                &self.scenario.tolerance,
                self.scenario.solver,
                observer,
            )?),
        })
    }

    /// The time course, the metrics and the per-dose metrics (none when a mechanism is
    /// on: the mechanisms break superposition).
    pub fn run(&self) -> Result<Outcome, Failure> {
        let (timecourse, metrics, steps) = match self.system()? {
            System::Exact(model) => {
                let mut walk = (TimeCourse::default(), Accumulator::new(self.threshold));
                self.walk(&self.schedule, &self.plan, &mut walk)?;
                let (timecourse, acc) = walk;
                let reached = metrics::liver_reached(model, &self.schedule, &self.plan);
                (
                    timecourse,
                    acc.finish(&self.schedule, &self.plan, reached),
                    None,
                )
            }
            System::General(_) => {
                let mut walk = (TimeCourse::default(), self.gatherers(&self.schedule));
                let finished = self.walk(&self.schedule, &self.plan, &mut walk)?;
                let finished = finished.expect("the general integrator ran");
                let (timecourse, gathered) = walk;
                let metrics = self.general_metrics(gathered, &self.schedule, &finished);
                (timecourse, metrics, Some(finished.stats))
            }
        };
        let per_dose = if self.scenario.mechanisms.any() {
            Vec::new()
        } else {
            self.schedule
                .par_iter()
                .map(|dose| self.metrics_of(std::slice::from_ref(dose)))
                .collect::<Result<_, Failure>>()?
        };
        Ok(Outcome {
            metrics: conserved(self.scenario, metrics)?,
            schedule: self.schedule.clone(),
            timecourse,
            per_dose,
            steps,
        })
    }

    /// The metrics of the schedule, without a time course.
    pub fn metrics(&self) -> Result<Metrics, Failure> {
        conserved(self.scenario, self.metrics_of(&self.schedule)?)
    }

    /// The metrics of `doses` alone (the schedule, or one administration of it).
    fn metrics_of(&self, doses: &[Dose]) -> Result<Metrics, Failure> {
        Ok(match self.system()? {
            System::Exact(model) => metrics::compute(model, doses, &self.plan, self.threshold),
            System::General(_) => {
                let plan = self.end_only_plan();
                let mut walk = self.gatherers(doses);
                let finished = self.walk(doses, &plan, &mut walk)?;
                let finished = finished.expect("the general integrator ran");
                self.general_metrics(walk, doses, &finished)
            }
        })
    }

    /// What gathers the metrics of `doses` during a general walk.
    fn gatherers(&self, doses: &[Dose]) -> Gatherers {
        let p = &self.scenario.parameters;
        let last_dose_h = doses
            .iter()
            .map(|d| d.start_h)
            .filter(|&t| t <= self.plan.duration_h)
            .fold(0.0, f64::max);
        (
            Accumulator::new(self.threshold),
            EffectAccumulator::new(
                p.get(Param::ImprovementThreshold),
                p.get(Param::BaselineTolerance),
                last_dose_h,
            ),
        )
    }

    /// The metrics of a finished general walk of `doses`.
    fn general_metrics(
        &self,
        (cells, effect): Gatherers,
        doses: &[Dose],
        finished: &general::Finished,
    ) -> Metrics {
        let given: f64 = doses.iter().map(|d| d.given_by(self.plan.duration_h)).sum();
        // Clamped: rounding can leave the difference a few ulps outside [0, given].
        let reached = (given - system::never_in_liver(&finished.y)).clamp(0.0, given);
        let mut metrics = cells.finish(doses, &self.plan, reached);
        if self.scenario.mechanisms.effect {
            metrics.effect = Some(effect.finish());
        }
        metrics
    }
}

/// What gathers the metrics during a general walk: of the cells, and of the effect layer.
type Gatherers = (Accumulator, EffectAccumulator);

/// Runs a scenario: time course, metrics and per-dose metrics ([`Problem::run`]).
pub fn run(scenario: &Scenario) -> Result<Outcome, Failure> {
    Problem::new(scenario).run()
}

/// The metrics of a scenario without a time course ([`Problem::metrics`]).
pub fn metrics_only(scenario: &Scenario) -> Result<Metrics, Failure> {
    Problem::new(scenario).metrics()
}
