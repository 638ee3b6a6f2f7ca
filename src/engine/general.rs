//! The general path: the model with its mechanisms (`mechanisms::system`) integrated by
//! RODAS (`rodas`), or by ode_solvers' Dopri5 (`dopri5`) on request, from dose event to
//! dose event, reported to the same observers as the exact walk.
//!
//! Dose events stop and restart the integration at their exact times: a bolus is added to
//! the state between two integrations, and an infusion's input is constant within each.
//! Every restart lets the integrator choose a fresh small step for the transient that
//! follows. Output nodes are read from the integrator's dense output, so they cost no
//! steps.

use crate::compartment::State;
use crate::dosing::Dose;
use crate::engine::{Node, Observer, Path, Plan, Segment};
use crate::mechanisms::system::{self, Driven, Extended, Y};
use crate::numerics::dopri5;
use crate::numerics::rodas::{self, Options, Stats, Step};
use crate::scenario::{Solver, Tolerance};

/// Why the general path gave up.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum Error {
    /// RODAS gave up.
    #[error(transparent)]
    Rodas(#[from] rodas::Error),
    /// Dopri5 gave up.
    #[error(transparent)]
    Dopri5(#[from] dopri5::Error),
}

impl Error {
    /// Where the integration stopped (hours).
    pub fn t(&self) -> f64 {
        match self {
            Error::Rodas(e) => e.t(),
            Error::Dopri5(e) => e.t(),
        }
    }
}

/// Longest step (hours). Two days keep at most one turn of any curve of interest within a
/// step (between doses every curve rises or falls for days to weeks), which the peak and
/// threshold searches assume; the cap costs about one step per two days.
pub const MAX_STEP_H: f64 = 48.0;

/// Most steps per integration between two events. Assumption: 10^6 steps (seconds of
/// work) means the tolerances cannot be met, not that the scenario is long.
const MAX_STEPS: usize = 1_000_000;

/// The same for Dopri5, whose steps stability holds to seconds of simulated time however
/// smooth the solution: a single dose followed for 180 days in a mouse takes 2.7 million.
/// Assumption: 10^8 (about two minutes of work) is past any scenario worth checking this
/// way.
const MAX_STEPS_DOPRI5: usize = 100_000_000;

/// What a general walk leaves: the integrator's work and the final state.
#[derive(Debug, Clone, Copy)]
pub struct Finished {
    /// Steps accepted and rejected.
    pub stats: Stats,
    /// The extended state at the end.
    pub y: Y,
}

/// Simulates `schedule` on `system` over `plan`, reporting to `observer` a node at every
/// output time, at every step's end and at every dose event, and a segment between
/// consecutive nodes. `solver` `dopri5` steps with Dopri5, any other with RODAS (the
/// exact engine's scenarios do not come here).
pub fn simulate(
    system: &Extended,
    schedule: &[Dose],
    plan: &Plan,
    tolerance: &Tolerance,
    solver: Solver,
    observer: &mut impl Observer,
) -> Result<Finished, Error> {
    let scale = schedule.iter().map(|d| d.cells).fold(0.0, f64::max);
    let options = Options {
        rtol: tolerance.rtol,
        atol: system.absolute_tolerance(tolerance.atol, scale),
        h_max: MAX_STEP_H,
        max_steps: if solver == Solver::Dopri5 {
            MAX_STEPS_DOPRI5
        } else {
            MAX_STEPS
        },
    };
    let events = events(schedule, plan.duration_h);
    let given = |t: f64| schedule.iter().map(|d| d.given_by(t)).sum::<f64>();
    let boluses_at = |y: &mut Y, t: f64| {
        for d in schedule.iter().filter(|d| d.is_bolus() && d.start_h == t) {
            system.give(y, d.route, d.cells);
        }
    };
    let node = |y: &Y, t: f64, is_output: bool| Node {
        t,
        x: system::cells(y),
        given: given(t),
        is_output,
        slow: Some(system::slow(y)),
    };
    let grid = OutputGrid {
        every_h: plan.output_every_h,
        end_h: plan.duration_h,
    };

    let mut y = system.initial();
    boluses_at(&mut y, 0.0);
    observer.node(&node(&y, 0.0, true));
    let mut stats = Stats::default();
    let mut t = 0.0;
    for &te in &events {
        let driven = driven(system, schedule, t, te);
        let mut report = |step: &Step<{ system::D }>| report_step(step, &grid, te, &node, observer);
        y = if te - t <= TINY_SPAN * te.max(1.0) {
            // Two events that differ only by rounding (two doses 5e-324 days apart): too
            // short for the integrators, whose step sizes underflow. One explicit Euler
            // step errs by O(h^2) and conserves cells exactly (every column of the rate
            // matrix sums to zero, and the input adds what is infused over h).
            y + driven.rhs_at(&y) * (te - t)
        } else if solver == Solver::Dopri5 {
            dopri5::integrate(&driven, t, te, y, &options, &mut stats, &mut report)?
        } else {
            rodas_span(&driven, (t, te), y, &options, &mut stats, &mut report)?
        };
        boluses_at(&mut y, te);
        observer.node(&node(&y, te, te >= plan.duration_h || grid.contains(te)));
        t = te;
    }
    Ok(Finished { stats, y })
}

/// Relative length (of the time reached, or of an hour) below which a span between events
/// is stepped once rather than integrated.
const TINY_SPAN: f64 = 1e-12;

/// Relative length (of the time reached, or of an hour) of a step over what RODAS cannot
/// resolve (`rodas_span`): 1e-9 of a day is 86 us, far below any time scale of the model
/// and far above the floating-point resolution of the time.
const RESCUE_SPAN: f64 = 1e-9;

/// Shortest relative span of an explicit Euler pair over what RODAS cannot resolve: a
/// hundred units in the last place of the time, RODAS's own shortest step. A paracrine
/// signal half-maximal at one cell, under 4e11 cells an hour, saturates within 1e-11 h,
/// and a marker it drives 2.7e6 times an hour faster follows only in steps this short.
const SHORTEST_RESCUE: f64 = 1e-14;

/// Longest relative span of a single RODAS step over what it cannot resolve: 1e-5 of a day
/// is under a second, still far below any time scale of the model.
const LONGEST_RESCUE: f64 = 1e-5;

/// Most such steps per span between events before the span fails after all.
const MAX_RESCUES: usize = 1000;

/// RODAS over `(t0, t1)` from `y0`, stepping over what it cannot resolve.
///
/// A right-hand side that switches within far less than any step it can take makes the
/// step size underflow: a saturating paracrine signal whose half-maximum is a few cells
/// when 10^11 cells arrive in a 6 ms infusion goes from nothing to saturation in 1e-20 h
/// (a case `check` accepts, found by the property test of the input contract). So does a
/// transient far shorter than RODAS's shortest step at that time (a one-cell niche filling
/// from 2e11 cells in 4e-12 h after a dose at 67 h, where no step under 7e-13 h is
/// allowed): its error test rejects every step RODAS may take. Where that happens, two
/// explicit Euler half steps over at most `RESCUE_SPAN` carry the walk past a switch, or
/// one RODAS step long enough to land a transient on its end (L-stability) carries it
/// past the transient, and RODAS resumes. Either is taken only if it passes RODAS's own
/// error test (for Euler, the difference between the half steps and a whole one), and
/// both conserve cells as RODAS does (every column of the rate matrix sums to zero, and the
/// input adds what is infused). An Euler step is reported with a linear dense output.
fn rodas_span(
    driven: &Driven,
    (t0, t1): (f64, f64),
    y0: Y,
    options: &Options<{ system::D }>,
    stats: &mut Stats,
    report: &mut impl FnMut(&Step<{ system::D }>),
) -> Result<Y, Error> {
    use rodas::System as _;
    let (mut t, mut y) = (t0, y0);
    for _ in 0..=MAX_RESCUES {
        let mut reached = (t, y);
        let integrated = rodas::integrate(driven, t, t1, y, None, options, stats, |step| {
            reached = (step.t1, step.y1);
            report(step);
        });
        let underflow = match integrated {
            Ok((y1, _)) => return Ok(y1),
            Err(e @ rodas::Error::StepTooSmall { .. }) => e,
            Err(e) => return Err(e.into()),
        };
        let (ts, ys) = reached;
        let f = driven.rhs(&ys);
        // Explicit Euler steps over the longest span, from `RESCUE_SPAN` down by tenths to
        // `SHORTEST_RESCUE`, whose half steps agree with a whole one: the faster the states the
        // switch drives (a marker turning over 2,700 times an hour), the shorter. Failing
        // that, one RODAS step over the shortest span from `RESCUE_SPAN` up by tens to
        // `LONGEST_RESCUE` that passes its error test: on a transient it steps over, its
        // error falls as the step grows past it. Explicit first: across a switch the
        // Jacobian at its start says nothing of the far side, which RODAS would trust.
        let explicit = (0..).map(|k| (false, RESCUE_SPAN / 10f64.powi(k)));
        let explicit = explicit.take_while(|&(_, span)| span >= SHORTEST_RESCUE);
        let longer = (0..).map(|k| (true, RESCUE_SPAN * 10f64.powi(k)));
        let longer = longer.take_while(|&(_, span)| span <= LONGEST_RESCUE);
        let taken = explicit.chain(longer).find_map(|(by_rodas, span)| {
            // The step's length as the time can hold it, so that it infuses exactly what
            // `given_by` counts (a 2e-8 h step at t = 21.6 h is off by 1e-15 h otherwise:
            // 1e-7 of what it infuses).
            let t_next = (ts + span * ts.max(1.0)).min(t1);
            let h = t_next - ts;
            if h <= 0.0 {
                return None;
            }
            if by_rodas {
                let (step, err) = rodas::single_step(driven, (ts, t_next), &ys, options)?;
                return (err <= 1.0).then_some(step);
            }
            let mid = ys + f * (h / 2.0);
            let halves = mid + driven.rhs(&mid) * (h / 2.0);
            let whole = ys + f * h;
            // The norm is finite or infinite, never NaN.
            (rodas::error_norm(&(halves - whole), &ys, &halves, options) <= 1.0).then(|| {
                let slope = (halves - ys) / h;
                Step::hermite(ts, t_next, ys, halves, slope, slope)
            })
        });
        let Some(step) = taken else {
            return Err(underflow.into());
        };
        report(&step);
        stats.accepted += 1;
        (t, y) = (step.t1, step.y1);
        if t >= t1 {
            return Ok(y);
        }
    }
    Err(rodas::Error::StepTooSmall { t }.into())
}

/// The times at which the integration stops and restarts within (0, `end_h`]: every start
/// and end of an administration, and the end.
pub fn events(schedule: &[Dose], end_h: f64) -> Vec<f64> {
    let mut events: Vec<f64> = schedule
        .iter()
        .flat_map(|d| [d.start_h, d.end_h()])
        .chain([end_h])
        .filter(|&t| t > 0.0 && t <= end_h)
        .collect();
    events.sort_by(f64::total_cmp);
    events.dedup();
    events
}

/// The system between consecutive events `t0` and `t1`, under the infusions running then.
pub fn driven<'a>(system: &'a Extended, schedule: &[Dose], t0: f64, t1: f64) -> Driven<'a> {
    let input = schedule
        .iter()
        .filter(|d| !d.is_bolus() && d.start_h <= t0 && d.end_h() >= t1)
        .fold(State::zeros(), |u, d| {
            u + system.infusion(d.route, d.rate_per_h())
        });
    Driven { system, input }
}

/// The output times of a plan: multiples of `every_h` up to the end.
struct OutputGrid {
    every_h: f64,
    end_h: f64,
}

impl OutputGrid {
    /// Whether `t` is an output time: exactly a multiple `k x every_h`, as the exact walk
    /// computes its output times, and not within rounding of the end (the exact walk moves
    /// such a time onto the end, whose node is always an output).
    fn contains(&self, t: f64) -> bool {
        (t / self.every_h).round() * self.every_h == t && t < self.end_h && !self.at_end(t)
    }

    /// Output times strictly inside (t0, t1), the end excepted.
    fn within(&self, t0: f64, t1: f64) -> impl Iterator<Item = f64> + '_ {
        // One below the quotient's floor: t0 / every_h can round up past a multiple that
        // lies just above t0.
        let first = ((t0 / self.every_h).floor() as u64).saturating_sub(1);
        (first..)
            .map(move |k| k as f64 * self.every_h)
            .skip_while(move |&t| t <= t0)
            .take_while(move |&t| t < t1)
            .filter(move |&t| !self.at_end(t))
    }

    /// Whether `t` is the end up to the rounding the exact walk allows (`engine::Grid`).
    fn at_end(&self, t: f64) -> bool {
        (t - self.end_h).abs() <= 1e-9 * self.end_h.max(1.0)
    }
}

/// Reports one accepted step, cut at the output times inside it: a segment per piece and a
/// node at each cut and at the step's end, except at the event that ends the integration
/// (`te`), whose node follows the boluses given there.
fn report_step(
    step: &Step<{ system::D }>,
    grid: &OutputGrid,
    te: f64,
    node: &impl Fn(&Y, f64, bool) -> Node,
    observer: &mut impl Observer,
) {
    let (mut ta, mut ya) = (step.t0, step.y0);
    for tb in grid.within(step.t0, step.t1).chain([step.t1]) {
        let yb = if tb == step.t1 {
            step.y1
        } else {
            step.state_at(tb)
        };
        observer.segment(&Segment {
            t0: ta,
            t1: tb,
            x0: system::cells(&ya),
            x1: system::cells(&yb),
            auc: system::cells(&step.integral(ta, tb)),
            path: Path::Dense { step },
        });
        if tb != te {
            observer.node(&node(&yb, tb, tb != step.t1 || grid.contains(tb)));
        }
        (ta, ya) = (tb, yb);
    }
}
