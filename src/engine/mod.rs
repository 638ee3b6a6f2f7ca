//! Simulation: walks a schedule from event to event over a time grid, propagating the
//! linear model exactly, and reports each node and each step to an `Observer`.
//!
//! Dose events cut the grid: a bolus adds its entry distribution at its time, an infusion
//! adds a constant input between its start and end. The walk has no other special case
//! for dosing. Grid times come from their index (`i x step`), never from a running sum.

pub mod exact;
pub mod general;

use crate::compartment::{State, StateMatrix};
use crate::dosing::Dose;
use crate::mechanisms::{system, Slow};
use crate::model::Model;
use crate::numerics::rodas;
use exact::{state_after, PropagatorCache};

/// Longest step between nodes (hours). Peaks and threshold crossings are located inside
/// steps from the sign of the derivative at their ends, so steps are kept short next to
/// the slowest dynamics of interest (cells trapped for hours to days).
pub const MAX_STEP_H: f64 = 1.0;

/// Offsets after a dose event (hours, 0.36 s to 49 min, doubling) at which the walk adds
/// nodes: the circulation turns over every 10-40 s in a human and faster in a mouse.
const TRANSIENT_OFFSETS_H: [f64; 14] = [
    1e-4, 2e-4, 4e-4, 8e-4, 1.6e-3, 3.2e-3, 6.4e-3, 1.28e-2, 2.56e-2, 5.12e-2, 0.1024, 0.2048,
    0.4096, 0.8192,
];

/// What to simulate over.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    /// End of the simulation (hours).
    pub duration_h: f64,
    /// Spacing of output nodes (hours); the grid is this spacing divided evenly into
    /// steps of at most `MAX_STEP_H`.
    pub output_every_h: f64,
}

/// The state at a node of the walk, after any boluses at its time.
#[derive(Debug, Clone, Copy)]
pub struct Node {
    /// Time (hours).
    pub t: f64,
    /// Cells in each compartment.
    pub x: State,
    /// Cells administered up to and including this time.
    pub given: f64,
    /// Whether the node is on the output grid (or is the end of the simulation).
    pub is_output: bool,
    /// The mechanisms' states (general path only).
    pub slow: Option<Slow>,
}

/// One step between two nodes.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    /// Start (hours).
    pub t0: f64,
    /// End (hours).
    pub t1: f64,
    /// State at the start (after boluses at `t0`).
    pub x0: State,
    /// State at the end (before boluses at `t1`).
    pub x1: State,
    /// Area under each state's curve over the step (cell-hours).
    pub auc: State,
    /// The solution within the step.
    pub path: Path<'a>,
}

/// How the state evolves within a step.
#[derive(Debug, Clone, Copy)]
pub enum Path<'a> {
    /// The linear model with constant input `u` (cells/h per compartment): exact.
    Exact {
        /// The rate matrix.
        k: &'a StateMatrix,
        /// Infusion input over the step.
        u: State,
    },
    /// A step of the general integrator, through its dense output.
    Dense {
        /// The step.
        step: &'a rodas::Step<{ system::D }>,
    },
}

impl Segment<'_> {
    /// The state at time `t` within the step.
    pub fn state_at(&self, t: f64) -> State {
        match self.path {
            _ if t == self.t0 => self.x0,
            _ if t == self.t1 => self.x1,
            Path::Exact { k, u } => state_after(k, &self.x0, &u, t - self.t0),
            Path::Dense { step } => system::cells(&step.state_at(t)),
        }
    }

    /// dx/dt at time `t` within the step (at the end: before boluses there): of the exact
    /// solution, or of the general integrator's dense output.
    pub fn derivative_at(&self, t: f64) -> State {
        match self.path {
            Path::Exact { .. } => self.state_and_derivative_at(t).1,
            Path::Dense { step } => system::cells(&step.derivative_at(t)),
        }
    }

    /// The state and dx/dt at `t`, for a caller that needs both: the exact path then
    /// propagates once, not twice.
    pub fn state_and_derivative_at(&self, t: f64) -> (State, State) {
        let x = self.state_at(t);
        match self.path {
            Path::Exact { k, u } => (x, k * x + u),
            Path::Dense { step } => (x, system::cells(&step.derivative_at(t))),
        }
    }
}

/// Receives the walk. Both methods do nothing by default.
pub trait Observer {
    /// Called at t = 0 and after every step.
    fn node(&mut self, _node: &Node) {}
    /// Called for every step, before the node that ends it.
    fn segment(&mut self, _segment: &Segment) {}
}

impl<A: Observer, B: Observer> Observer for (A, B) {
    fn node(&mut self, node: &Node) {
        self.0.node(node);
        self.1.node(node);
    }
    fn segment(&mut self, segment: &Segment) {
        self.0.segment(segment);
        self.1.segment(segment);
    }
}

/// The grid of a plan: `count` steps of `step_h`, every `stride`-th an output node.
struct Grid {
    output_every_h: f64,
    stride: usize,
    count: usize,
    duration_h: f64,
}

impl Grid {
    fn new(plan: &Plan) -> Self {
        let stride = (plan.output_every_h / MAX_STEP_H).ceil().max(1.0) as usize;
        let steps = plan.duration_h * stride as f64 / plan.output_every_h;
        // A duration that is a whole number of steps up to rounding ends on the grid.
        let count = if (steps - steps.round()).abs() <= 1e-9 * steps.max(1.0) {
            steps.round()
        } else {
            steps.floor()
        } as usize;
        Grid {
            output_every_h: plan.output_every_h,
            stride,
            count,
            duration_h: plan.duration_h,
        }
    }

    fn step_h(&self) -> f64 {
        self.output_every_h / self.stride as f64
    }

    /// Time of grid node `i`, exact at output nodes and snapped to the end at the last.
    fn time(&self, i: usize) -> f64 {
        let t = self.output_every_h * (i as f64 / self.stride as f64);
        if i == self.count && (t - self.duration_h).abs() <= 1e-9 * self.duration_h.max(1.0) {
            self.duration_h
        } else {
            t
        }
    }
}

/// Simulates `schedule` on `model` over `plan`, reporting to `observer`.
pub fn simulate(model: &Model, schedule: &[Dose], plan: &Plan, observer: &mut impl Observer) {
    let grid = Grid::new(plan);
    let k = &model.rates;
    // After each start and end of a dose, nodes at geometrically growing offsets resolve
    // the circulation's transient (seconds to minutes), which can hold both a minimum and a
    // maximum of an organ's cells: the peak search assumes one extremum per step.
    let mut events: Vec<f64> = schedule
        .iter()
        .flat_map(|d| [d.start_h, d.end_h().min(plan.duration_h)])
        .flat_map(|t| std::iter::once(t).chain(TRANSIENT_OFFSETS_H.iter().map(move |dt| t + dt)))
        .filter(|&t| t > 0.0 && t <= plan.duration_h)
        .collect();
    events.sort_by(f64::total_cmp);
    events.dedup();
    let mut next_event = 0;
    let mut next_grid = 1;

    let given = |t: f64| schedule.iter().map(|d| d.given_by(t)).sum::<f64>();
    let boluses_at = |x: &mut State, t: f64| {
        for d in schedule.iter().filter(|d| d.is_bolus() && d.start_h == t) {
            *x += model.entry(d.route) * d.cells;
        }
    };
    let input_over = |t0: f64, t1: f64| {
        schedule
            .iter()
            .filter(|d| !d.is_bolus() && d.start_h <= t0 && d.end_h() >= t1)
            .fold(State::zeros(), |u, d| {
                u + model.entry(d.route) * d.rate_per_h()
            })
    };

    // The starts and ends of doses after t = 0, in order, each a node of the walk (see
    // `events`). Between two of them the running infusions, and so the input, stay the
    // same, and cells are given only at them or while an infusion runs: the walk looks the
    // schedule up only then, not at every step (a thousand doses over a century, looked up
    // at each of its 876,600 hourly steps, cost three seconds).
    let mut bounds: Vec<f64> = schedule
        .iter()
        .flat_map(|d| [d.start_h, d.end_h()])
        .filter(|&t| t > 0.0)
        .collect();
    bounds.sort_by(f64::total_cmp);
    bounds.dedup();
    let mut next_bound = 0;
    let mut span_input = None;

    let mut cache = PropagatorCache::default();
    let mut x = State::zeros();
    boluses_at(&mut x, 0.0);
    let mut given_by_t = given(0.0);
    observer.node(&Node {
        t: 0.0,
        x,
        given: given_by_t,
        is_output: true,
        slow: None,
    });
    let mut t0 = 0.0;
    let mut t0_is_grid = true;
    loop {
        let grid_t = (next_grid <= grid.count).then(|| grid.time(next_grid));
        let event_t = events.get(next_event).copied();
        let t1 = match (grid_t, event_t) {
            (Some(g), Some(e)) => g.min(e),
            (Some(g), None) => g,
            (None, Some(e)) => e,
            (None, None) if t0 < plan.duration_h => plan.duration_h,
            (None, None) => break,
        };
        let on_grid = grid_t == Some(t1);
        // Whole grid steps share one propagator; pieces cut by events get their own.
        let h = if on_grid && t0_is_grid {
            grid.step_h()
        } else {
            t1 - t0
        };
        let u = *span_input.get_or_insert_with(|| input_over(t0, t1));
        let (x1, auc) = cache.get(k, h).advance(&x, &u);
        observer.segment(&Segment {
            t0,
            t1,
            x0: x,
            x1,
            auc,
            path: Path::Exact { k, u },
        });
        x = x1;
        let at_bound = bounds.get(next_bound) == Some(&t1);
        if at_bound {
            boluses_at(&mut x, t1);
            next_bound += 1;
            span_input = None;
        }
        if at_bound || u != State::zeros() {
            given_by_t = given(t1);
        }
        let is_end = t1 >= plan.duration_h;
        observer.node(&Node {
            t: t1,
            x,
            given: given_by_t,
            is_output: is_end || (on_grid && next_grid % grid.stride == 0),
            slow: None,
        });
        if on_grid {
            next_grid += 1;
        }
        if event_t == Some(t1) {
            next_event += 1;
        }
        t0 = t1;
        t0_is_grid = on_grid;
        if is_end {
            break;
        }
    }
}
