//! ode_solvers' Dopri5 (Dormand and Prince's explicit Runge-Kutta pair of order 5(4)) on
//! the general path, as `[simulation] solver = "dopri5"`: a non-stiff reference against
//! which to check RODAS, not a faster road.
//!
//! cellpk's systems are stiff: the circulation turns over in seconds to minutes while a
//! schedule lasts months, and an explicit method's step is held by stability to a fraction
//! of the fastest turnover however smooth the solution. ode_solvers' stiffness test would
//! therefore stop every cellpk scenario within hours (measured: 17 h into the human
//! benchmark, 1.6 h into a mouse); it is off, since the stiffness is known and Dopri5 is
//! here to check RODAS: it finishes the 180-day human benchmark in 280,000 steps, half a
//! second, where RODAS takes 437 (`benches/README.md`). The step budget still ends a run that
//! would take too long.
//!
//! ode_solvers takes one absolute tolerance for all components, while cellpk's differ
//! (a fraction of the dose for cells, as is for the dimensionless states), so Dopri5 steps
//! the state divided component-wise by its absolute tolerances, with an absolute
//! tolerance of 1: its error test is then cellpk's, component by component. Its accepted
//! steps are reported with the cubic Hermite interpolant of their ends (order 3, as
//! RODAS's dense output).

use nalgebra::SVector;
use ode_solvers::dop_shared::{IntegrationError, OutputType};

use super::rodas::{all_finite, Options, Stats, Step, System};

/// Longest span (hours) given to one call of ode_solvers, which keeps every accepted step
/// in memory until it returns: a stiff scenario takes thousands of steps a day.
const SPAN_H: f64 = 24.0;

/// ode_solvers' defaults for the step-size controller (its `Dopri5::new`): safety factor,
/// the PI controller's beta, and the bounds on the change of step.
const SAFETY: f64 = 0.9;
const BETA: f64 = 0.04;
const FAC_MIN: f64 = 0.2;
const FAC_MAX: f64 = 10.0;

/// Steps between ode_solvers' stiffness tests: never (its step counter is a u32).
const STIFFNESS_TEST_EVERY: u32 = u32::MAX;

/// Why Dopri5 gave up. Times are in the system's unit (hours in cellpk).
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum Error {
    /// The state or its derivative was NaN or infinite.
    #[error("the state or its derivative is not finite at t = {t}")]
    NotFinite {
        /// Where the integration stopped.
        t: f64,
    },
    /// The step size fell below what the floating-point time can resolve.
    #[error("ode_solvers' Dopri5: the step size underflowed at t = {t}")]
    StepTooSmall {
        /// Where the integration stopped.
        t: f64,
    },
    /// The budget of steps ran out.
    #[error("ode_solvers' Dopri5 gave up at t = {t} after {max_steps} steps")]
    TooManySteps {
        /// Where the integration stopped.
        t: f64,
        /// The budget that ran out.
        max_steps: usize,
    },
}

impl Error {
    /// Where the integration stopped.
    pub fn t(&self) -> f64 {
        match *self {
            Error::NotFinite { t } | Error::StepTooSmall { t } | Error::TooManySteps { t, .. } => t,
        }
    }
}

/// `system` in the state divided component-wise by `scale`.
struct Scaled<'a, S, const D: usize> {
    system: &'a S,
    scale: SVector<f64, D>,
}

impl<S: System<D>, const D: usize> ode_solvers::System<f64, SVector<f64, D>> for Scaled<'_, S, D> {
    fn system(&self, _t: f64, z: &SVector<f64, D>, dz: &mut SVector<f64, D>) {
        *dz = self
            .system
            .rhs(&z.component_mul(&self.scale))
            .component_div(&self.scale);
    }
}

/// Integrates from `t0` to `t1` (t1 >= t0) starting at `y0`, calling `on_step` after each
/// accepted step, with `options`' tolerances, longest step and step budget; returns the
/// state at `t1`. `stats` is added to, not reset.
pub fn integrate<const D: usize, S: System<D>>(
    system: &S,
    t0: f64,
    t1: f64,
    y0: SVector<f64, D>,
    options: &Options<D>,
    stats: &mut Stats,
    mut on_step: impl FnMut(&Step<D>),
) -> Result<SVector<f64, D>, Error> {
    assert!(t1 >= t0, "integrate runs forward: t1 = {t1} < t0 = {t0}");
    let scale = options.atol;
    let (mut t, mut y) = (t0, y0);
    let mut f = system.rhs(&y);
    if !all_finite(&y) || !all_finite(&f) {
        return Err(Error::NotFinite { t });
    }
    // The first step of each span after the first: the last one taken that was not cut
    // short to land on a span's end (0 lets ode_solvers choose).
    let mut h = 0.0;
    let mut steps = 0;
    while t < t1 {
        let end = if t1 - t <= SPAN_H * (1.0 + 1e-9) {
            t1
        } else {
            t + SPAN_H
        };
        // ode_solvers allows one attempt more than its `n_max`.
        let Some(n_max) = options.max_steps.checked_sub(steps + 1) else {
            return Err(Error::TooManySteps {
                t,
                max_steps: options.max_steps,
            });
        };
        let mut solver = ode_solvers::Dopri5::from_param(
            Scaled { system, scale },
            t,
            end,
            0.0,
            y.component_div(&scale),
            options.rtol,
            1.0,
            SAFETY,
            BETA,
            FAC_MIN,
            FAC_MAX,
            options.h_max,
            h,
            u32::try_from(n_max).unwrap_or(u32::MAX),
            STIFFNESS_TEST_EVERY,
            OutputType::Sparse,
        );
        let done = solver.integrate();
        let (times, states) = (solver.x_out(), solver.y_out());
        // Where it stopped, if it gave up: the last step it accepted.
        let last = times.last().copied().unwrap_or(t);
        let done = done.map_err(|e| match e {
            IntegrationError::StepSizeUnderflow { .. } => {
                let z = states.last().expect("the start is stored");
                let y_last = z.component_mul(&scale);
                if all_finite(&system.rhs(&y_last)) {
                    Error::StepTooSmall { t: last }
                } else {
                    Error::NotFinite { t: last }
                }
            }
            IntegrationError::MaxNumStepReached { .. } => Error::TooManySteps {
                t: last,
                max_steps: options.max_steps,
            },
            IntegrationError::StiffnessDetected { .. } => {
                unreachable!("the stiffness test is off (STIFFNESS_TEST_EVERY)")
            }
        })?;
        stats.accepted += done.accepted_steps as usize;
        stats.rejected += done.rejected_steps as usize;
        steps += (done.accepted_steps + done.rejected_steps) as usize;
        if let [.., before_last, penultimate, _] = times[..] {
            h = penultimate - before_last;
        }
        let mut start = (times[0], y, f);
        for (k, (&tb, z)) in times.iter().zip(states).enumerate().skip(1) {
            // The last step ends exactly at the span's end (ode_solvers lands on it up to
            // rounding).
            let tb = if k + 1 == times.len() { end } else { tb };
            let yb = z.component_mul(&scale);
            let fb = system.rhs(&yb);
            let (ta, ya, fa) = start;
            on_step(&Step::hermite(ta, tb, ya, yb, fa, fb));
            start = (tb, yb, fb);
        }
        (t, y, f) = (end, start.1, start.2);
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numerics::test_systems::{BlowUp, Linear};
    use nalgebra::{matrix, vector};

    fn options(rtol: f64, atol: SVector<f64, 2>) -> Options<2> {
        Options {
            rtol,
            atol,
            h_max: 48.0,
            max_steps: 1_000_000,
        }
    }

    /// Against the matrix exponential, over several spans, with absolute tolerances that
    /// differ by eight orders of magnitude between the components; the steps join up and
    /// their interpolants pass through their ends.
    #[test]
    fn matches_the_exact_solution_across_spans() {
        let a = matrix![-3.0, 0.5; 1.0, -0.1];
        let system = Linear(a);
        let y0 = vector![1e8, 2.0];
        let mut stats = Stats::default();
        let mut last_end = 0.0;
        let y = integrate(
            &system,
            0.0,
            60.0,
            y0,
            &options(1e-9, vector![1e-4, 1e-12]),
            &mut stats,
            |step| {
                assert_eq!(step.t0, last_end, "steps join up");
                last_end = step.t1;
                assert_eq!(step.state_at(step.t0), step.y0);
                assert!((step.state_at(step.t1) - step.y1).amax() <= 1e-9 * step.y1.amax());
            },
        )
        .expect("not stiff");
        assert_eq!(last_end, 60.0);
        let exact = system.exact(&y0, 60.0);
        for i in 0..2 {
            assert!(
                (y[i] - exact[i]).abs() <= 1e-6 * exact[i].abs(),
                "{i}: {} against {}",
                y[i],
                exact[i]
            );
        }
        assert!(stats.accepted > 0);
    }

    /// A mode ten thousand times faster than the span (stiff) holds the step to the
    /// stability limit, yet the run completes and is accurate; a step budget too small
    /// for it is reported, with where.
    #[test]
    fn completes_a_stiff_system_within_its_budget() {
        let a = matrix![-1e3, 0.0; 1e3, -0.1];
        let system = Linear(a);
        let y0 = vector![1.0, 0.0];
        let mut stats = Stats::default();
        let y = integrate(
            &system,
            0.0,
            10.0,
            y0,
            &options(1e-8, vector![1e-12, 1e-12]),
            &mut stats,
            |_| {},
        )
        .expect("completes");
        let exact = system.exact(&y0, 10.0);
        assert!(
            (y[1] - exact[1]).abs() <= 1e-6 * exact[1],
            "{y} against {exact}"
        );
        // Stability alone allows about 3.3 / 1000 per step.
        assert!(stats.accepted > 2000, "{stats:?}");
        let few = Options {
            max_steps: 500,
            ..options(1e-8, vector![1e-12, 1e-12])
        };
        let got = integrate(&system, 0.0, 10.0, y0, &few, &mut Stats::default(), |_| {});
        match got {
            Err(Error::TooManySteps { t, max_steps: 500 }) => assert!(t > 0.0 && t < 10.0),
            other => panic!("expected the budget to run out, got {other:?}"),
        }
    }

    /// y' = y^2 from 1 blows up at t = 1: reported as not finite there, not as a step too
    /// small for a smooth solution.
    #[test]
    fn reports_a_solution_that_blows_up() {
        let options = Options {
            rtol: 1e-6,
            atol: vector![1e-9],
            h_max: 1.0,
            max_steps: 100_000,
        };
        let got = integrate(
            &BlowUp,
            0.0,
            2.0,
            vector![1.0],
            &options,
            &mut Stats::default(),
            |_| {},
        );
        match got {
            Err(Error::NotFinite { t } | Error::StepTooSmall { t }) => {
                assert!((t - 1.0).abs() < 1e-3, "stopped at {t}: {got:?}")
            }
            other => panic!("expected a stop near t = 1, got {other:?}"),
        }
        let nan = integrate(
            &BlowUp,
            0.0,
            1.0,
            vector![f64::NAN],
            &options,
            &mut Stats::default(),
            |_| {},
        );
        assert_eq!(nan, Err(Error::NotFinite { t: 0.0 }));
    }
}
