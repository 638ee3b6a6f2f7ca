//! RODAS: a stiff integrator for small fixed-size autonomous systems, with dense output.
//!
//! The circulation turns cells over hundreds of times an hour while tissues hold them for
//! weeks, so explicit methods would be held to steps of seconds over months. RODAS is
//! L-stable and stiffly accurate: a fast mode is damped to zero in one step however long
//! the step, and the step size follows the slow dynamics.
//!
//! The method is Hairer and Wanner's RODAS (E. Hairer, G. Wanner, *Solving Ordinary
//! Differential Equations II: Stiff and Differential-Algebraic Problems*, 2nd ed.,
//! Springer 1996, Section IV.7; coefficients and dense output as in their `rodas.f`): a
//! Rosenbrock method of order 4 with 6 stages and an embedded solution of order 3, in the
//! transformed form that needs one LU factorisation per step. For an autonomous system
//! y' = f(y) with Jacobian J at y0 and a step h:
//!
//! ```text
//! W  = I/(h gamma) - J
//! k1 = W^-1 f(y0)
//! ki = W^-1 [ f(y0 + sum_j aij kj) + (sum_j cij kj)/h ]     i = 2..4, j < i
//! y5 = y0 + a51 k1 + .. + a54 k4       k5 = W^-1 [ f(y5) + (c51 k1 + .. + c54 k4)/h ]
//! y6 = y5 + k5 (order 3)               k6 = W^-1 [ f(y6) + (c61 k1 + .. + c65 k5)/h ]
//! y1 = y6 + k6 (order 4)
//! ```
//!
//! k6 = y1 - y6 is the local error estimate. The dense output of order 3 is
//! y(theta) = (1 - theta) y0 + theta (y1 + (1 - theta) (d1 + theta d2)) with d1 and d2
//! fixed combinations of k1..k5.
//!
//! Every stage is a linear combination of values of f and of J times such values, so a
//! linear invariant of the system (the total number of cells, when the columns of the
//! rate matrix sum to zero) is kept to rounding; nothing here clips or projects the state.

use std::ops::{Add, AddAssign};

use nalgebra::{SMatrix, SVector};

use super::lu::{Factors, Lu};
use super::without_subnormals;

// Coefficients of `rodas.f` (METH = 1), named as there.
const GAMMA: f64 = 0.25;
const A21: f64 = 1.544;
const A31: f64 = 0.946_678_528_081_582_6;
const A32: f64 = 0.255_701_169_898_328_4;
const A41: f64 = 3.314_825_187_068_521;
const A42: f64 = 2.896_124_015_972_201;
const A43: f64 = 0.998_641_913_997_781_7;
const A51: f64 = 1.221_224_509_226_641;
const A52: f64 = 6.019_134_481_288_629;
const A53: f64 = 12.537_083_329_320_87;
const A54: f64 = -0.687_886_036_105_895;
const C21: f64 = -5.6688;
const C31: f64 = -2.430_093_356_833_875;
const C32: f64 = -0.206_359_915_709_191_5;
const C41: f64 = -0.107_352_905_815_137_5;
const C42: f64 = -9.594_562_251_023_355;
const C43: f64 = -20.470_286_148_096_16;
const C51: f64 = 7.496_443_313_967_647;
const C52: f64 = -10.246_804_314_643_52;
const C53: f64 = -33.999_903_528_199_05;
const C54: f64 = 11.708_908_932_061_6;
const C61: f64 = 8.083_246_795_921_522;
const C62: f64 = -7.981_132_988_064_893;
const C63: f64 = -31.521_594_328_743_71;
const C64: f64 = 16.319_305_431_231_36;
const C65: f64 = -6.058_818_238_834_054;
// Dense output (`rodas.f`'s D21..D35).
const D21: f64 = 10.126_235_083_445_86;
const D22: f64 = -7.487_995_877_610_167;
const D23: f64 = -34.800_918_615_557_47;
const D24: f64 = -7.992_771_707_568_823;
const D25: f64 = 1.025_137_723_295_662;
const D31: f64 = -0.676_280_339_280_125_3;
const D32: f64 = 6.087_714_651_680_015;
const D33: f64 = 16.430_843_208_924_78;
const D34: f64 = 24.767_225_114_183_86;
const D35: f64 = -6.594_389_125_716_872;

/// Safety factor and bounds of the step-size controller (Hairer and Wanner's defaults):
/// the next step is `h * clamp(SAFETY * err^(-1/4), MIN_FACTOR, MAX_FACTOR)`.
const SAFETY: f64 = 0.9;
const MIN_FACTOR: f64 = 0.2;
const MAX_FACTOR: f64 = 6.0;

/// A step that would leave less than this fraction of itself before the end is stretched
/// to the end (as `rodas.f` does), so no sliver step is taken.
const STRETCH: f64 = 1e-4;

/// Steps shorter than this fraction of |t| (of `MIN_STEP_TIME` near t = 0) are given up
/// on: below it, t + h no longer moves t by a meaningful amount (a hundred of its units in
/// the last place).
const MIN_STEP_RELATIVE: f64 = 1e-14;

/// The |t| below which the shortest step stops shrinking with t (hours): near t = 0 the
/// time resolves 1e-23 h, and a one-cell niche filling from 2e11 cells in 4e-12 h right
/// after a dose at 0 must be resolved there, while the same span's end (weeks later)
/// would have allowed no step under 7e-12 h.
const MIN_STEP_TIME: f64 = 1e-9;

/// An autonomous system y' = f(y) of `D` equations.
pub trait System<const D: usize> {
    /// The form its Jacobian takes: a dense matrix, or one whose structure the system
    /// knows how to factor faster.
    type Jacobian: Jacobian<D>;
    /// dy/dt at y (autonomous within one call of [`integrate`]).
    fn rhs(&self, y: &SVector<f64, D>) -> SVector<f64, D>;
    /// The Jacobian d rhs / d y at y.
    fn jacobian(&self, y: &SVector<f64, D>) -> Self::Jacobian;
}

/// A Jacobian J, which a step uses only through solves with its iteration matrix
/// `I/(h gamma) - J`.
pub trait Jacobian<const D: usize> {
    /// The factors of an iteration matrix.
    type Factors: Factors<D>;
    /// The factors of `diagonal I - J`, or `None` if that matrix is singular.
    fn factor(&self, diagonal: f64) -> Option<Self::Factors>;
    /// Whether every entry is finite.
    fn is_finite(&self) -> bool;
}

/// A dense Jacobian (row i holding the derivatives of `rhs(y)[i]`), factored by LU.
impl<const D: usize> Jacobian<D> for SMatrix<f64, D, D> {
    type Factors = Lu<D>;

    fn factor(&self, diagonal: f64) -> Option<Lu<D>> {
        Lu::new(SMatrix::<f64, D, D>::from_diagonal_element(diagonal) - self)
    }

    fn is_finite(&self) -> bool {
        self.iter().all(|x| x.is_finite())
    }
}

/// Tolerances and limits of [`integrate`].
#[derive(Debug, Clone, PartialEq)]
pub struct Options<const D: usize> {
    /// Relative tolerance on each component of the local error (dimensionless).
    pub rtol: f64,
    /// Absolute tolerance of each component, in that component's unit; must be positive.
    pub atol: SVector<f64, D>,
    /// Longest step, in the system's time unit (hours in cellpk).
    pub h_max: f64,
    /// Most step attempts (accepted and rejected) in one call of [`integrate`], a guard
    /// against a run that would never end.
    pub max_steps: usize,
}

/// The work done: steps accepted and rejected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Steps accepted.
    pub accepted: usize,
    /// Steps rejected by the error test (or for a result that was not finite).
    pub rejected: usize,
}

impl AddAssign for Stats {
    fn add_assign(&mut self, other: Stats) {
        self.accepted += other.accepted;
        self.rejected += other.rejected;
    }
}

impl Add for Stats {
    type Output = Stats;
    fn add(mut self, other: Stats) -> Stats {
        self += other;
        self
    }
}

/// Why [`integrate`] gave up. Times are in the system's unit (hours in cellpk).
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum Error {
    /// The step size fell below what the floating-point time can resolve.
    #[error(
        "the step size underflowed at t = {t}: the solution changes faster than the \
         tolerances can follow (a singularity, or a right-hand side that is not smooth)"
    )]
    StepTooSmall {
        /// Where the integration stopped.
        t: f64,
    },
    /// The budget of step attempts ran out.
    #[error(
        "gave up at t = {t} after {max_steps} step attempts: raise max_steps or loosen \
         the tolerances"
    )]
    TooManySteps {
        /// Where the integration stopped.
        t: f64,
        /// The budget that ran out.
        max_steps: usize,
    },
    /// The state, its derivative or its Jacobian was NaN or infinite.
    #[error(
        "the state, its derivative or its Jacobian is not finite at t = {t}: check the \
         parameters for values that overflow or divide by zero"
    )]
    NotFinite {
        /// Where the integration stopped.
        t: f64,
    },
}

impl Error {
    /// Where the integration stopped.
    pub fn t(&self) -> f64 {
        match *self {
            Error::StepTooSmall { t } | Error::TooManySteps { t, .. } | Error::NotFinite { t } => t,
        }
    }
}

/// One accepted step with its dense output, valid on `t0..=t1`.
#[derive(Debug, Clone, PartialEq)]
pub struct Step<const D: usize> {
    /// Start of the step.
    pub t0: f64,
    /// End of the step.
    pub t1: f64,
    /// The state at `t0`.
    pub y0: SVector<f64, D>,
    /// The state at `t1`.
    pub y1: SVector<f64, D>,
    d1: SVector<f64, D>,
    d2: SVector<f64, D>,
}

impl<const D: usize> Step<D> {
    /// The step from `t0` to `t1` whose dense output is the cubic Hermite interpolant of
    /// the states `y0`, `y1` and derivatives `f0`, `f1` at its ends (order 3, as RODAS's
    /// own), for an integrator without a dense output of this form.
    pub fn hermite(
        t0: f64,
        t1: f64,
        y0: SVector<f64, D>,
        y1: SVector<f64, D>,
        f0: SVector<f64, D>,
        f1: SVector<f64, D>,
    ) -> Self {
        // y(theta) = (1 - theta) y0 + theta y1 + theta (1 - theta) ((1 - theta) a + theta b)
        let h = t1 - t0;
        let a = f0 * h - (y1 - y0);
        let b = (y1 - y0) - f1 * h;
        Step {
            t0,
            t1,
            y0,
            y1,
            d1: a,
            d2: b - a,
        }
    }

    /// The dense output (a cubic in t, of order 3) at `t` in `t0..=t1`; exactly `y0` at
    /// `t0` and `y1` at `t1`.
    pub fn state_at(&self, t: f64) -> SVector<f64, D> {
        let theta = (t - self.t0) / (self.t1 - self.t0);
        self.y0 * (1.0 - theta) + (self.y1 + (self.d1 + self.d2 * theta) * (1.0 - theta)) * theta
    }

    /// The time derivative of the dense output at `t` in `t0..=t1`: peaks and crossings
    /// are searched on the dense output itself, so that they agree with its values.
    pub fn derivative_at(&self, t: f64) -> SVector<f64, D> {
        let h = self.t1 - self.t0;
        let theta = (t - self.t0) / h;
        let inner = self.d1 + self.d2 * theta;
        (self.y1 - self.y0 + inner * (1.0 - 2.0 * theta) + self.d2 * (theta * (1.0 - theta))) / h
    }

    /// The exact integral of the dense output from `ta` to `tb` (t0 <= ta <= tb <= t1),
    /// e.g. the area under each state's curve.
    pub fn integral(&self, ta: f64, tb: f64) -> SVector<f64, D> {
        // The cubic as y0 + c1 theta + c2 theta^2 + c3 theta^3, integrated as its length
        // times its mean: the mean of theta^n over [a, b] is written without b^n - a^n,
        // which would cancel when the interval is short.
        let h = self.t1 - self.t0;
        let (a, b) = ((ta - self.t0) / h, (tb - self.t0) / h);
        let c1 = self.y1 - self.y0 + self.d1;
        let c2 = self.d2 - self.d1;
        let c3 = -self.d2;
        let mean = self.y0
            + c1 * ((a + b) / 2.0)
            + c2 * ((a * a + a * b + b * b) / 3.0)
            + c3 * ((a + b) * (a * a + b * b) / 4.0);
        mean * (tb - ta)
    }
}

/// Integrates from `t0` to `t1` (t1 >= t0) starting at `y0`, calling `on_step` after each
/// accepted step; returns the state at `t1` and the step size to try next, which the
/// caller can pass back as `h_init` when it continues after a dose event.
///
/// `h_init` is the first step to try; `None` guesses one from the size of y0 and f(y0)
/// relative to the tolerances. `stats` is added to, not reset. If `t1 == t0`, returns `y0`
/// without calling `on_step`. The last step ends exactly at `t1`.
#[allow(clippy::too_many_arguments)] // each is one role; a struct for them would be used once
pub fn integrate<const D: usize, S: System<D>>(
    system: &S,
    t0: f64,
    t1: f64,
    y0: SVector<f64, D>,
    h_init: Option<f64>,
    options: &Options<D>,
    stats: &mut Stats,
    mut on_step: impl FnMut(&Step<D>),
) -> Result<(SVector<f64, D>, f64), Error> {
    assert!(t1 >= t0, "integrate runs forward: t1 = {t1} < t0 = {t0}");
    let mut t = t0;
    let mut y = y0;
    let mut f = system.rhs(&y);
    let mut h = h_init.unwrap_or_else(|| initial_step(&y, &f, options));
    if t1 == t0 {
        return Ok((y, h));
    }
    let mut jacobian = system.jacobian(&y);
    if !(all_finite(&y) && all_finite(&f) && jacobian.is_finite()) {
        return Err(Error::NotFinite { t });
    }
    let h_min = |t: f64| MIN_STEP_RELATIVE * t.abs().max(MIN_STEP_TIME);
    // The first guess is a heuristic and may fall below the shortest step allowed (a
    // one-cell niche filling from 4.5e11 cells in place gives 2e-14 h; a dose at 100 h
    // allows no step under 1e-12 h): start at the shortest step and let the error test
    // decide, rather than failing before a single attempt.
    h = h.min(options.h_max).max(h_min(t0));
    let mut attempts = 0;
    let mut after_rejection = false;
    let mut last_not_finite = false;
    loop {
        let lands = t1 - t <= (h * (1.0 + STRETCH)).min(options.h_max);
        let t_next = if lands { t1 } else { t + h };
        // The step actually taken, so that t_next - t is exactly the step's length.
        let h_step = t_next - t;
        // A step that lands on t1 may be as short as the span left: events can fall within
        // rounding of each other (an infusion starting as the previous one ends). The
        // shortest step is a hundred units in the last place of t, so t + h may round it
        // down by half a unit: half of it is the bound.
        if h_step.is_nan() || h_step <= 0.0 || (h_step < 0.5 * h_min(t) && !lands) {
            return Err(if last_not_finite {
                Error::NotFinite { t }
            } else {
                Error::StepTooSmall { t }
            });
        }
        if attempts == options.max_steps {
            return Err(Error::TooManySteps {
                t,
                max_steps: options.max_steps,
            });
        }
        attempts += 1;
        let trial = judged(system, &y, &f, &jacobian, h_step, options);
        last_not_finite = trial.is_none();
        let err = trial.as_ref().map_or(f64::INFINITY, |(_, err)| *err);
        if err > 1.0 {
            stats.rejected += 1;
            h = h_step * (SAFETY * err.powf(-0.25)).max(MIN_FACTOR);
            after_rejection = true;
            continue;
        }
        let (trial, _) = trial.expect("an accepted step has a finite trial");
        stats.accepted += 1;
        let step = trial.into_step(t, t_next, y);
        on_step(&step);
        let mut factor = (SAFETY * err.powf(-0.25)).clamp(MIN_FACTOR, MAX_FACTOR);
        if after_rejection {
            factor = factor.min(1.0);
        }
        // A step cut short to land on t1 that passed says nothing against the longer one.
        let proposed = if lands && factor >= 1.0 {
            (h_step * factor).max(h)
        } else {
            h_step * factor
        };
        h = proposed.min(options.h_max);
        after_rejection = false;
        t = t_next;
        y = step.y1;
        if lands {
            return Ok((y, h));
        }
        f = system.rhs(&y);
        jacobian = system.jacobian(&y);
        if !(all_finite(&f) && jacobian.is_finite()) {
            return Err(Error::NotFinite { t });
        }
    }
}

/// One RODAS step from `y` at `t0` to `t1`, whatever its length, with its error norm
/// (`error_norm`; above 1 fails the error test); `None` if it is not finite or the
/// iteration matrix is singular. For a caller stepping over what `integrate` cannot
/// resolve: a transient far shorter than the shortest step `integrate` may take at `t`
/// fails its error test at every step it may take, yet a step many times longer than the
/// transient lands on its end (L-stability) and passes.
pub fn single_step<const D: usize, S: System<D>>(
    system: &S,
    (t0, t1): (f64, f64),
    y: &SVector<f64, D>,
    options: &Options<D>,
) -> Option<(Step<D>, f64)> {
    let (trial, err) = judged(
        system,
        y,
        &system.rhs(y),
        &system.jacobian(y),
        t1 - t0,
        options,
    )?;
    Some((trial.into_step(t0, t1, *y), err))
}

/// One step attempt and its error norm; `None` if the iteration matrix is singular or the
/// step is not finite.
fn judged<const D: usize, S: System<D>>(
    system: &S,
    y0: &SVector<f64, D>,
    f0: &SVector<f64, D>,
    jacobian: &S::Jacobian,
    h: f64,
    options: &Options<D>,
) -> Option<(Trial<D>, f64)> {
    let trial = attempt(system, y0, f0, jacobian, h)
        .filter(|trial| all_finite(&trial.y1) && all_finite(&trial.error))?;
    let err = error_norm(&trial.error, y0, &trial.y1, options);
    Some((trial, err))
}

/// The outcome of one step attempt, before the error test.
#[derive(Debug)]
struct Trial<const D: usize> {
    /// The order-4 solution.
    y1: SVector<f64, D>,
    /// k6, the difference between the order-4 and the order-3 solutions.
    error: SVector<f64, D>,
    /// Dense-output coefficients.
    d1: SVector<f64, D>,
    d2: SVector<f64, D>,
}

impl<const D: usize> Trial<D> {
    /// The step from `y0` at `t0` to `t1` this trial took, emptied compartments at zero
    /// rather than at subnormal numbers (see `without_subnormals`).
    fn into_step(self, t0: f64, t1: f64, y0: SVector<f64, D>) -> Step<D> {
        Step {
            t0,
            t1,
            y0,
            y1: without_subnormals(self.y1),
            d1: self.d1,
            d2: self.d2,
        }
    }
}

/// One RODAS step of length `h` from `y0`, with `f0` = f(y0) and the Jacobian at y0;
/// `None` if the iteration matrix is singular.
fn attempt<const D: usize, S: System<D>>(
    system: &S,
    y0: &SVector<f64, D>,
    f0: &SVector<f64, D>,
    jacobian: &S::Jacobian,
    h: f64,
) -> Option<Trial<D>> {
    let factors = jacobian.factor(1.0 / (h * GAMMA))?;
    let solve = |b: SVector<f64, D>| factors.solve(b);
    let f = |y: SVector<f64, D>| system.rhs(&y);
    let k1 = solve(*f0);
    let k2 = solve(f(y0 + k1 * A21) + k1 * (C21 / h));
    let k3 = solve(f(y0 + k1 * A31 + k2 * A32) + (k1 * C31 + k2 * C32) / h);
    let k4 = solve(f(y0 + k1 * A41 + k2 * A42 + k3 * A43) + (k1 * C41 + k2 * C42 + k3 * C43) / h);
    let y5 = y0 + k1 * A51 + k2 * A52 + k3 * A53 + k4 * A54;
    let k5 = solve(f(y5) + (k1 * C51 + k2 * C52 + k3 * C53 + k4 * C54) / h);
    let y6 = y5 + k5;
    let k6 = solve(f(y6) + (k1 * C61 + k2 * C62 + k3 * C63 + k4 * C64 + k5 * C65) / h);
    Some(Trial {
        y1: y6 + k6,
        error: k6,
        d1: k1 * D21 + k2 * D22 + k3 * D23 + k4 * D24 + k5 * D25,
        d2: k1 * D31 + k2 * D32 + k3 * D33 + k4 * D34 + k5 * D35,
    })
}

/// The RMS of the error scaled by atol + rtol max(|y0|, |y1|) per component; infinite if
/// not finite, so that such a step is rejected.
pub fn error_norm<const D: usize>(
    error: &SVector<f64, D>,
    y0: &SVector<f64, D>,
    y1: &SVector<f64, D>,
    options: &Options<D>,
) -> f64 {
    let sum: f64 = (0..D)
        .map(|i| {
            let scale = options.atol[i] + options.rtol * y0[i].abs().max(y1[i].abs());
            (error[i] / scale).powi(2)
        })
        .sum();
    let err = (sum / D as f64).sqrt();
    if err.is_finite() {
        err
    } else {
        f64::INFINITY
    }
}

/// A first step that changes y by about 1% of its size relative to the tolerances
/// (Hairer, Norsett and Wanner's first guess), or 1e-6 when y0 or f(y0) is about zero.
/// The controller corrects it within a few steps.
fn initial_step<const D: usize>(
    y0: &SVector<f64, D>,
    f0: &SVector<f64, D>,
    options: &Options<D>,
) -> f64 {
    let scaled_rms = |v: &SVector<f64, D>| {
        let sum: f64 = (0..D)
            .map(|i| (v[i] / (options.atol[i] + options.rtol * y0[i].abs())).powi(2))
            .sum();
        (sum / D as f64).sqrt()
    };
    let (d0, d1) = (scaled_rms(y0), scaled_rms(f0));
    let h = if d0 >= 1e-5 && d1 >= 1e-5 {
        0.01 * d0 / d1
    } else {
        1e-6
    };
    h.min(options.h_max)
}

/// Whether every component of `v` is finite.
pub fn all_finite<const D: usize>(v: &SVector<f64, D>) -> bool {
    v.iter().all(|x| x.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numerics::test_systems::{BlowUp, Linear};
    use nalgebra::{matrix, vector, Matrix3};

    /// A = S diag(-0.5, -1.5, -3) S^-1: distinct real eigenvalues, non-normal.
    fn linear3() -> Linear<3> {
        let s = matrix![1.0, 0.5, 0.2; 0.3, 1.0, 0.4; 0.1, -0.2, 1.0];
        let lambda = Matrix3::from_diagonal(&vector![-0.5, -1.5, -3.0]);
        let s_inv = s.try_inverse().expect("S is well conditioned");
        Linear(s * lambda * s_inv)
    }

    /// u' = -u^2, v' = u v from (1, 1): u = 1/(1 + t), v = 1 + t. Nonlinear and coupled,
    /// so the order conditions of the bushy trees are tested too.
    struct Coupled;

    impl System<2> for Coupled {
        type Jacobian = SMatrix<f64, 2, 2>;

        fn rhs(&self, y: &SVector<f64, 2>) -> SVector<f64, 2> {
            vector![-y[0] * y[0], y[0] * y[1]]
        }
        fn jacobian(&self, y: &SVector<f64, 2>) -> SMatrix<f64, 2, 2> {
            matrix![-2.0 * y[0], 0.0; y[1], y[0]]
        }
    }

    fn coupled_exact(t: f64) -> SVector<f64, 2> {
        vector![1.0 / (1.0 + t), 1.0 + t]
    }

    /// Logistic growth y' = r y (1 - y/K).
    struct Logistic {
        r: f64,
        k: f64,
    }

    impl System<1> for Logistic {
        type Jacobian = SMatrix<f64, 1, 1>;

        fn rhs(&self, y: &SVector<f64, 1>) -> SVector<f64, 1> {
            vector![self.r * y[0] * (1.0 - y[0] / self.k)]
        }
        fn jacobian(&self, y: &SVector<f64, 1>) -> SMatrix<f64, 1, 1> {
            matrix![self.r * (1.0 - 2.0 * y[0] / self.k)]
        }
    }

    fn step_from<const D: usize>(
        t0: f64,
        h: f64,
        y0: SVector<f64, D>,
        trial: &Trial<D>,
    ) -> Step<D> {
        Step {
            t0,
            t1: t0 + h,
            y0,
            y1: trial.y1,
            d1: trial.d1,
            d2: trial.d2,
        }
    }

    /// Global errors at `t_end` after `n` fixed steps of the order-4 solution and of the
    /// order-3 embedded solution (each propagating itself).
    fn fixed_step_errors<const D: usize, S: System<D>>(
        system: &S,
        y0: SVector<f64, D>,
        t_end: f64,
        n: usize,
        exact: &SVector<f64, D>,
    ) -> (f64, f64) {
        let h = t_end / n as f64;
        let (mut y, mut y_embedded) = (y0, y0);
        for _ in 0..n {
            let trial = attempt(system, &y, &system.rhs(&y), &system.jacobian(&y), h)
                .expect("W is regular");
            y = trial.y1;
            let trial = attempt(
                system,
                &y_embedded,
                &system.rhs(&y_embedded),
                &system.jacobian(&y_embedded),
                h,
            )
            .expect("W is regular");
            y_embedded = trial.y1 - trial.error;
        }
        ((y - exact).amax(), (y_embedded - exact).amax())
    }

    fn observed_order(coarse: f64, fine: f64) -> f64 {
        (coarse / fine).log2()
    }

    fn assert_order(what: &str, coarse: f64, fine: f64, low: f64, high: f64) {
        let p = observed_order(coarse, fine);
        assert!(
            (low..=high).contains(&p),
            "{what}: observed order {p:.3} (errors {coarse:e} -> {fine:e}) not in {low}..={high}"
        );
    }

    #[test]
    fn converges_with_order_4_and_embedded_order_3() {
        let linear = linear3();
        let y0 = vector![1.0, -0.5, 2.0];
        let exact = linear.exact(&y0, 2.0);
        let (e1, e1_embedded) = fixed_step_errors(&linear, y0, 2.0, 16, &exact);
        let (e2, e2_embedded) = fixed_step_errors(&linear, y0, 2.0, 32, &exact);
        assert_order("linear, order 4", e1, e2, 3.7, 4.3);
        assert_order("linear, embedded", e1_embedded, e2_embedded, 2.7, 3.3);

        let y0 = vector![1.0, 1.0];
        let exact = coupled_exact(1.0);
        let (e1, e1_embedded) = fixed_step_errors(&Coupled, y0, 1.0, 16, &exact);
        let (e2, e2_embedded) = fixed_step_errors(&Coupled, y0, 1.0, 32, &exact);
        assert_order("nonlinear, order 4", e1, e2, 3.7, 4.3);
        assert_order("nonlinear, embedded", e1_embedded, e2_embedded, 2.7, 3.3);
    }

    /// Largest error of the dense output at interior points of one step of length `h`
    /// from the exact state at t0, so that only the interpolation's own error shows.
    fn dense_error_one_step<const D: usize, S: System<D>>(
        system: &S,
        t0: f64,
        h: f64,
        exact: impl Fn(f64) -> SVector<f64, D>,
    ) -> f64 {
        let y0 = exact(t0);
        let trial =
            attempt(system, &y0, &system.rhs(&y0), &system.jacobian(&y0), h).expect("W is regular");
        let step = step_from(t0, h, y0, &trial);
        (1..10)
            .map(|i| {
                let t = t0 + h * i as f64 / 10.0;
                (step.state_at(t) - exact(t)).amax()
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn dense_output_has_order_3() {
        // An interpolant of order 3 has a local error of order h^4.
        let linear = linear3();
        let y0 = vector![1.0, -0.5, 2.0];
        let exact = |t: f64| linear.exact(&y0, t);
        let e1 = dense_error_one_step(&linear, 0.3, 0.04, exact);
        let e2 = dense_error_one_step(&linear, 0.3, 0.02, exact);
        assert_order("linear, dense output", e1, e2, 3.7, 4.3);

        let e1 = dense_error_one_step(&Coupled, 0.3, 0.04, coupled_exact);
        let e2 = dense_error_one_step(&Coupled, 0.3, 0.02, coupled_exact);
        assert_order("nonlinear, dense output", e1, e2, 3.7, 4.3);
    }

    #[test]
    fn steps_tile_the_span_and_their_dense_output_meets_their_ends() {
        let options = Options {
            rtol: 1e-6,
            atol: vector![1e-9, 1e-9],
            h_max: 0.5,
            max_steps: 1000,
        };
        let mut steps = Vec::new();
        let mut stats = Stats::default();
        integrate(
            &Coupled,
            0.0,
            3.0,
            vector![1.0, 1.0],
            None,
            &options,
            &mut stats,
            |s| steps.push(s.clone()),
        )
        .expect("a smooth problem");
        assert!(steps.len() > 3, "{} steps", steps.len());
        assert_eq!(steps[0].t0, 0.0);
        assert_eq!(steps[steps.len() - 1].t1, 3.0);
        for pair in steps.windows(2) {
            assert_eq!(pair[0].t1, pair[1].t0, "steps are contiguous");
        }
        for s in &steps {
            assert!(s.t1 - s.t0 <= options.h_max, "{} to {}", s.t0, s.t1);
            assert_eq!(s.state_at(s.t0), s.y0, "at t0 = {}", s.t0);
            assert_eq!(s.state_at(s.t1), s.y1, "at t1 = {}", s.t1);
        }
    }

    fn simpson<const D: usize>(step: &Step<D>, ta: f64, tb: f64, panels: usize) -> SVector<f64, D> {
        let h = (tb - ta) / panels as f64;
        let at = |i: usize| step.state_at(ta + h * i as f64);
        let mut sum = at(0) + at(panels);
        for i in 1..panels {
            sum += at(i) * if i % 2 == 1 { 4.0 } else { 2.0 };
        }
        sum * (h / 3.0)
    }

    #[test]
    fn derivative_is_that_of_the_dense_output() {
        let linear = linear3();
        let y0 = vector![1.0, -0.5, 2.0];
        let trial = attempt(&linear, &y0, &linear.rhs(&y0), &linear.0, 0.7).expect("regular");
        let step = step_from(1.0, 0.7, y0, &trial);
        // Central differences inside, one-sided (first order, so looser) at the ends.
        for (theta, tolerance) in [
            (0.0, 1e-5),
            (0.1, 1e-7),
            (0.5, 1e-7),
            (0.93, 1e-7),
            (1.0, 1e-5),
        ] {
            let t = step.t0 + theta * 0.7;
            let d = 1e-6;
            let (a, b) = ((t - d).max(step.t0), (t + d).min(step.t1));
            let fd = (step.state_at(b) - step.state_at(a)) / (b - a);
            let exact = step.derivative_at(t);
            assert!(
                (fd - exact).norm() <= tolerance * exact.norm(),
                "at theta {theta}: {exact} vs finite difference {fd}"
            );
        }
    }

    #[test]
    fn integral_matches_quadrature_of_the_dense_output() {
        let linear = linear3();
        let y0 = vector![1.0, -0.5, 2.0];
        let trial = attempt(&linear, &y0, &linear.rhs(&y0), &linear.0, 0.7).expect("regular");
        let step = step_from(1.0, 0.7, y0, &trial);
        let trial = attempt(
            &Coupled,
            &vector![1.0, 1.0],
            &vector![-1.0, 1.0],
            &Coupled.jacobian(&vector![1.0, 1.0]),
            0.4,
        )
        .expect("regular");
        let coupled = step_from(0.0, 0.4, vector![1.0, 1.0], &trial);
        let intervals = [(0.0, 1.0), (0.0, 0.3), (0.2, 0.9), (0.55, 0.56), (0.4, 0.4)];
        for (a, b) in intervals {
            let (ta, tb) = (step.t0 + a * 0.7, step.t0 + b * 0.7);
            let (got, want) = (step.integral(ta, tb), simpson(&step, ta, tb, 64));
            assert!(
                (got - want).amax() <= 1e-12 * want.amax().max(1e-300),
                "linear, {ta}..{tb}: {got} vs {want}"
            );
            let (ta, tb) = (a * 0.4, b * 0.4);
            let (got, want) = (coupled.integral(ta, tb), simpson(&coupled, ta, tb, 64));
            assert!(
                (got - want).amax() <= 1e-12 * want.amax().max(1e-300),
                "nonlinear, {ta}..{tb}: {got} vs {want}"
            );
        }
    }

    /// Blood exchanging with lung (300/h out, 30/h back) and a tissue (2/h, 0.5/h), the
    /// tissue losing cells to a sink at 0.002/h: columns sum to zero, cells are conserved.
    fn circulation() -> Linear<4> {
        Linear(matrix![
            -302.0, 30.0, 0.5, 0.0;
            300.0, -30.0, 0.0, 0.0;
            2.0, 0.0, -0.502, 0.0;
            0.0, 0.0, 0.002, 0.0
        ])
    }

    #[test]
    fn follows_a_stiff_conserving_system_over_180_days() {
        let system = circulation();
        let y0 = vector![1e6, 0.0, 0.0, 0.0];
        let options = Options {
            rtol: 1e-8,
            atol: SVector::repeat(1e-3),
            h_max: 1e3,
            max_steps: 10_000,
        };
        let mut stats = Stats::default();
        let mut checked = Vec::new();
        let (mut last_t1, mut last_y1) = (0.0, y0);
        let (y_end, _) = integrate(
            &system,
            0.0,
            4320.0,
            y0,
            Some(1e-4),
            &options,
            &mut stats,
            |s| {
                assert_eq!(s.t0, last_t1, "steps are contiguous");
                (last_t1, last_y1) = (s.t1, s.y1);
                let mid = 0.5 * (s.t0 + s.t1);
                checked.push((s.t1, s.y1, system.exact(&y0, s.t1)));
                checked.push((mid, s.state_at(mid), system.exact(&y0, mid)));
            },
        )
        .expect("a linear problem");
        assert_eq!(last_t1, 4320.0, "the last step lands on the end");
        assert_eq!(y_end, last_y1);
        println!("circulation over 4320 h: {stats:?}");
        assert!(stats.accepted < 500, "{stats:?}");

        let largest = checked
            .iter()
            .fold(SVector::<f64, 4>::zeros(), |m, (_, _, want)| {
                m.sup(&want.abs())
            });
        let total = y0.sum();
        for (t, got, want) in &checked {
            for i in 0..4 {
                assert!(
                    (got[i] - want[i]).abs() <= 1e-6 * largest[i],
                    "state {i} at t = {t}: {} vs {} (largest {})",
                    got[i],
                    want[i],
                    largest[i]
                );
            }
            assert!(
                (got.sum() - total).abs() <= 1e-12 * total,
                "cells not conserved at t = {t}: {} vs {total}",
                got.sum()
            );
        }
    }

    #[test]
    fn meets_the_tolerance_on_logistic_growth() {
        let (r, k, y0) = (1.0, 10.0, 0.1);
        let exact = |t: f64| k / (1.0 + (k / y0 - 1.0) * (-r * t).exp());
        let options = Options {
            rtol: 1e-6,
            atol: vector![1e-9],
            h_max: 100.0,
            max_steps: 10_000,
        };
        let mut stats = Stats::default();
        let mut worst: f64 = 0.0;
        integrate(
            &Logistic { r, k },
            0.0,
            20.0,
            vector![y0],
            None,
            &options,
            &mut stats,
            |s| {
                for t in [s.t1, 0.5 * (s.t0 + s.t1)] {
                    let want = exact(t);
                    let allowed = 10.0 * (options.atol[0] + options.rtol * want.abs());
                    worst = worst.max((s.state_at(t)[0] - want).abs() / allowed);
                }
            },
        )
        .expect("a smooth problem");
        assert!(
            worst <= 1.0,
            "error reached {worst} of 10x the tolerance ({stats:?})"
        );
        assert!(stats.accepted > 5, "{stats:?}");
    }

    #[test]
    fn empty_span_returns_the_start() {
        let options = Options {
            rtol: 1e-6,
            atol: vector![1e-9, 1e-9],
            h_max: 1.0,
            max_steps: 10,
        };
        let mut called = false;
        let (y, h) = integrate(
            &Coupled,
            2.0,
            2.0,
            vector![3.0, 4.0],
            Some(0.25),
            &options,
            &mut Stats::default(),
            |_| called = true,
        )
        .expect("nothing to do");
        assert_eq!((y, h, called), (vector![3.0, 4.0], 0.25, false));
    }

    struct NotANumber;

    impl System<1> for NotANumber {
        type Jacobian = SMatrix<f64, 1, 1>;

        fn rhs(&self, _y: &SVector<f64, 1>) -> SVector<f64, 1> {
            vector![f64::NAN]
        }
        fn jacobian(&self, _y: &SVector<f64, 1>) -> SMatrix<f64, 1, 1> {
            matrix![0.0]
        }
    }

    #[test]
    fn reports_why_it_gave_up() {
        let options = Options {
            rtol: 1e-6,
            atol: vector![1e-9],
            h_max: 1.0,
            max_steps: 100_000,
        };
        let got = integrate(
            &NotANumber,
            0.0,
            1.0,
            vector![1.0],
            None,
            &options,
            &mut Stats::default(),
            |_| {},
        );
        assert_eq!(got, Err(Error::NotFinite { t: 0.0 }));

        let got = integrate(
            &BlowUp,
            0.0,
            2.0,
            vector![1.0],
            None,
            &options,
            &mut Stats::default(),
            |_| {},
        );
        match got {
            Err(Error::StepTooSmall { t }) => assert!((t - 1.0).abs() < 1e-3, "stopped at {t}"),
            other => panic!("expected StepTooSmall near t = 1, got {other:?}"),
        }

        let few = Options {
            max_steps: 3,
            ..options.clone()
        };
        let mut stats = Stats::default();
        let got = integrate(
            &Logistic { r: 1.0, k: 10.0 },
            0.0,
            1000.0,
            vector![0.1],
            Some(0.01),
            &few,
            &mut stats,
            |_| {},
        );
        assert!(
            matches!(got, Err(Error::TooManySteps { max_steps: 3, .. })),
            "{got:?}"
        );
        assert_eq!(stats.accepted + stats.rejected, 3);
    }

    /// The Hermite step reproduces a cubic exactly, with its derivative and integral.
    #[test]
    fn hermite_steps_reproduce_a_cubic() {
        let y = |t: f64| vector![2.0 - t + 0.5 * t * t * t, 3.0 * t * t];
        let f = |t: f64| vector![-1.0 + 1.5 * t * t, 6.0 * t];
        let (t0, t1) = (0.5, 2.0);
        let step = Step::hermite(t0, t1, y(t0), y(t1), f(t0), f(t1));
        for t in [0.5, 0.8, 1.3, 2.0] {
            assert!((step.state_at(t) - y(t)).amax() < 1e-12, "{t}");
            assert!((step.derivative_at(t) - f(t)).amax() < 1e-12, "{t}");
        }
        // The integral of y over [0.5, 2] in closed form.
        let antiderivative = |t: f64| vector![2.0 * t - t * t / 2.0 + t.powi(4) / 8.0, t.powi(3)];
        let exact = antiderivative(t1) - antiderivative(t0);
        assert!((step.integral(t0, t1) - exact).amax() < 1e-12);
    }

    #[test]
    fn stats_add_up() {
        let mut a = Stats {
            accepted: 3,
            rejected: 1,
        };
        a += Stats {
            accepted: 2,
            rejected: 5,
        };
        assert_eq!(
            a + Stats::default(),
            Stats {
                accepted: 5,
                rejected: 6
            }
        );
    }
}
