//! The sweep evaluator: the metrics of many scenarios from the exact solution in the
//! eigenbasis of each model, for sweeps and sensitivity analyses.
//!
//! It applies to the linear model (no `[model]` mechanism) when the rate matrix
//! restricted to the states a run can fill is diagonalisable with real, distinct,
//! well-conditioned eigenvalues and a bound on how far exp(K h) rebuilt from them can be
//! from the matrix exponential is small (`modal`); between dose events each state is then a sum of exponentials
//! whose extrema and threshold crossings are bracketed rigorously (`expsum`), and a
//! schedule is walked once per unit dose and reused for every dose amount (`fast`).
//! Everything else (a mechanism on, a model or step it refuses, a result whose rounding
//! breaks the mass balance) falls back to the reference walk, `Problem::metrics`, which
//! the evaluator is tested against (`tests/evaluator.rs`). DESIGN.md explains why both
//! exist.

mod expsum;
mod fast;
mod modal;

use crate::metrics::Metrics;
use crate::presets::routes::DepotSite;
use crate::scenario::Scenario;
use crate::simulation::{Failure, Problem, System, MAX_MASS_BALANCE_ERROR};

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
/// cannot be isolated, goes through [`metrics_only`](crate::simulation::metrics_only) itself. One evaluator per thread: it
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

    /// The metrics of `scenario`: those of [`metrics_only`](crate::simulation::metrics_only) to rounding and root-finding
    /// tolerance, but fast when called repeatedly with scenarios that share parameters.
    /// Every extremum of the exact solution is bracketed, where the grid walk of
    /// `metrics_only` looks for one sign change of the slope per step and so can miss a
    /// minimum and maximum that fall within one step; `tests/evaluator.rs` checks such
    /// cases on a finer grid.
    pub fn metrics(&mut self, scenario: &Scenario) -> Result<Metrics, Failure> {
        let problem = Problem::new(scenario);
        if scenario.uses_general() {
            return problem.metrics();
        }
        match self
            .models
            .iter()
            .position(|m| m.is_model_of(scenario, problem.depot))
        {
            Some(i) => self.models[..=i].rotate_right(1),
            None => {
                let System::Exact(model) = problem.system()? else {
                    return problem.metrics();
                };
                self.models.truncate(MAX_MODELS - 1);
                self.models.insert(
                    0,
                    Known {
                        parameters: scenario
                            .parameters
                            .iter()
                            .map(|(_, r)| r.value.to_bits())
                            .collect(),
                        depot: problem.depot,
                        fast: fast::FastModel::new(model, problem.depot),
                    },
                );
            }
        }
        self.models[0]
            .fast
            .as_mut()
            // The threshold as set: the closed form takes the default per unit dose itself.
            .and_then(|f| {
                f.metrics(
                    &problem.schedule,
                    &problem.plan,
                    scenario.liver_threshold_cells,
                )
            })
            // The closed form's own rounding is judged by the reference walk, not reported.
            .filter(|m| m.mass_balance_rel_error <= MAX_MASS_BALANCE_ERROR)
            .map_or_else(|| problem.metrics(), Ok)
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
