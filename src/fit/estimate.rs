//! Bounded weighted least squares for residual functions that may be whole simulations.
//!
//! The search is Levenberg–Marquardt (the `levenberg-marquardt` crate) with a
//! finite-difference Jacobian, run on transformed parameters that are unbounded
//! (logit or log of the distance to a bound), so that every point evaluated lies within the
//! bounds without a constrained step and a model that is undefined beyond a bound (a
//! negative rate) is never asked there. The uncertainty is then computed in the natural
//! space; see [`least_squares`] for why.
//!
//! Evaluations are the cost that matters (each may be a simulation): the Jacobian's `2p`
//! evaluations run in parallel, the residuals of a point are kept for its Jacobian, and the
//! number of trial steps is capped.

use std::cell::OnceCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use levenberg_marquardt::{LeastSquaresProblem, LevenbergMarquardt, TerminationReason};
use nalgebra::storage::Owned;
use nalgebra::{DMatrix, DVector, Dyn};
use rayon::prelude::*;

/// Relative finite-difference step. Central differences err by O(h^2) from truncation and
/// by O(eps/h) from rounding; at 1e-6 both stay near 1e-10 relative for a model computed to
/// machine precision (a model computed to a looser tolerance gets derivatives only as good
/// as that tolerance divided by this step).
const FD_STEP: f64 = 1e-6;

/// Stop when a step reduces the sum of squares by less than this fraction: far below any
/// change that matters statistically (a shift of 1e-6 standard errors changes it by about
/// 1e-12 of its value), yet above the rounding of a simulated sum of squares.
const FTOL: f64 = 1e-12;

/// Stop when the trust region has shrunk below this fraction of the (scaled) parameters.
const XTOL: f64 = 1e-10;

/// Stop when the residuals are this close to orthogonal to every Jacobian column (cosine):
/// the gradient is then zero to the accuracy the finite-difference Jacobian has.
const GTOL: f64 = 1e-10;

/// Trial steps allowed per parameter plus one. The two-parameter fits of the tests take
/// about ten steps from starts several-fold off; the cap bounds the cost of a fit that
/// wanders (each accepted step also costs a `2p`-evaluation Jacobian).
const PATIENCE: usize = 50;

/// Smallest value, relative to the parameter's scale, that the natural-space step is
/// relative to. Below it the value is no guide to the step: at an estimate near zero (say
/// on a bound of zero) a step relative to the value would be lost in the residuals'
/// rounding.
const STEP_FLOOR: f64 = 1e-3;

/// Reciprocal condition number, after scaling the Jacobian's columns to unit length, below
/// which `J^T J` counts as singular. Finite-difference noise is near 1e-10, so exactly
/// dependent parameters fall well below; parameters this close to dependent would have
/// standard errors inflated ten-million-fold, which is unidentifiable in practice.
const RCOND_MIN: f64 = 1e-7;

/// A parameter whose component in a near-null direction of the Jacobian is at least this
/// large is named as one of those that cannot be told apart.
const NULL_COMPONENT: f64 = 0.1;

/// An estimate this close to a bound, relative to the parameter's scale, is on it.
const AT_BOUND: f64 = 1e-6;

/// One free parameter: its name (for messages), bounds (`lower < upper`; either may be
/// infinite) and start value strictly inside them.
#[derive(Debug, Clone, PartialEq)]
pub struct Free {
    /// Name, used only in messages.
    pub name: String,
    /// Lower bound, or `f64::NEG_INFINITY` for none.
    pub lower: f64,
    /// Upper bound, or `f64::INFINITY` for none.
    pub upper: f64,
    /// Start of the search, strictly between the bounds.
    pub start: f64,
}

impl Free {
    fn check(&self) -> Result<(), EstimateError> {
        if self.lower.is_nan() || self.upper.is_nan() || self.lower >= self.upper {
            return Err(EstimateError::BoundsNotOrdered {
                name: self.name.clone(),
                lower: self.lower,
                upper: self.upper,
            });
        }
        let inside = self.start.is_finite() && self.lower < self.start && self.start < self.upper;
        if !inside {
            return Err(EstimateError::StartOutside {
                name: self.name.clone(),
                start: self.start,
                lower: self.lower,
                upper: self.upper,
            });
        }
        Ok(())
    }

    /// The parameter's natural size, for when its value is no guide (near zero, or on a
    /// bound of zero): the width between finite bounds, else the larger of the bound and
    /// the start's distance from it, else the start.
    fn scale(&self) -> f64 {
        let size = match (self.lower.is_finite(), self.upper.is_finite()) {
            (true, true) => self.upper - self.lower,
            (true, false) => self.lower.abs().max(self.start - self.lower),
            (false, true) => self.upper.abs().max(self.upper - self.start),
            (false, false) => self.start.abs(),
        };
        if size > 0.0 {
            size
        } else {
            1.0
        }
    }

    fn on_bound(&self, x: f64) -> bool {
        let tolerance = AT_BOUND * self.scale();
        x - self.lower <= tolerance || self.upper - x <= tolerance
    }

    fn contains(&self, x: f64) -> bool {
        self.lower <= x && x <= self.upper
    }
}

/// The estimate, in the order of the [`Free`] parameters given.
#[derive(Debug, Clone)]
pub struct Estimate {
    /// Estimated values (natural scale).
    pub values: Vec<f64>,
    /// Standard errors (natural scale): `cov = s^2 (J^T J)^-1` with `s^2 = SSR / (n - p)`
    /// and `J` the Jacobian of the residuals at the estimate. Unreliable where
    /// [`Estimate::at_bound`] is set: the estimate is not a stationary point there.
    pub standard_errors: Vec<f64>,
    /// Standard errors with the residuals' scale taken as known, `cov = (J^T J)^-1`: the
    /// right ones when every residual is already divided by a known SD, as in a maximum a
    /// posteriori fit whose residuals include the priors' (the Laplace approximation of
    /// the posterior). Same caveat at a bound.
    pub unscaled_standard_errors: Vec<f64>,
    /// Correlations of the estimates (from the same covariance), `p x p`.
    pub correlation: DMatrix<f64>,
    /// Sum of squared (weighted) residuals at the estimate.
    pub ssr: f64,
    /// Number of residuals.
    pub n: usize,
    /// Number of free parameters.
    pub p: usize,
    /// Calls of the residual function, all included (search, Jacobians, uncertainty).
    pub evaluations: usize,
    /// Whether the search met a convergence test; when not, [`Estimate::termination`] says
    /// why it stopped and the values are the best found.
    pub converged: bool,
    /// Why the search stopped, in words.
    pub termination: String,
    /// Per parameter: the estimate lies on a bound (within 1e-6 of the parameter's scale:
    /// the width between two bounds, else the larger of the bound and the start's distance
    /// from it).
    pub at_bound: Vec<bool>,
}

/// Why no estimate could be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EstimateError {
    /// The list of free parameters is empty.
    #[error("nothing to estimate: no parameter is free; free at least one")]
    NoFreeParameters,
    /// `lower < upper` does not hold (or a bound is NaN).
    #[error(
        "parameter `{name}`: bounds [{lower}, {upper}] are not ordered; the lower bound must be \
         below the upper (use -inf or inf for no bound)"
    )]
    BoundsNotOrdered {
        /// The parameter.
        name: String,
        /// Its lower bound.
        lower: f64,
        /// Its upper bound.
        upper: f64,
    },
    /// The start value is not strictly inside the bounds (or not finite).
    #[error(
        "parameter `{name}`: start value {start} is not strictly inside its bounds \
         ({lower}, {upper}); choose a start between them"
    )]
    StartOutside {
        /// The parameter.
        name: String,
        /// Its start value.
        start: f64,
        /// Its lower bound.
        lower: f64,
        /// Its upper bound.
        upper: f64,
    },
    /// The residual function returned `None` at the start values.
    #[error("the model cannot be evaluated at the start values ({at}); choose other start values")]
    NotEvaluableAtStart {
        /// The start values, as `name = value` pairs.
        at: String,
    },
    /// A residual is infinite or NaN at the start values.
    #[error(
        "residual {index} is {value} at the start values ({at}); check that observation and its \
         SD (an SD of zero gives infinite weight), or choose other start values"
    )]
    NotFiniteAtStart {
        /// 0-based index of the first non-finite residual.
        index: usize,
        /// Its value.
        value: f64,
        /// The start values, as `name = value` pairs.
        at: String,
    },
    /// No more residuals than free parameters: the residual variance, and so the standard
    /// errors, cannot be estimated (and with fewer, not even the values).
    #[error(
        "{n} residuals for {p} free parameters: estimating parameters with standard errors needs \
         more residuals than free parameters; add observations or fix parameters"
    )]
    TooFewResiduals {
        /// Number of residuals.
        n: usize,
        /// Number of free parameters.
        p: usize,
    },
    /// The residual function returned a different number of residuals than at the start.
    #[error(
        "the residual function returned {got} residuals after {expected} at the start; it must \
         return one per observation, always the same number"
    )]
    ResidualCountChanged {
        /// The number at the start.
        expected: usize,
        /// The number returned later.
        got: usize,
    },
    /// The residual function failed at the estimate, where it had succeeded during the
    /// search.
    #[error(
        "the model cannot be evaluated at the estimate ({at}) although it was during the \
         search; the residual function must give the same answer for the same values"
    )]
    NotEvaluableAtEstimate {
        /// The estimate, as `name = value` pairs.
        at: String,
    },
    /// Neither side of the estimate of a parameter could be evaluated for its derivative.
    #[error(
        "the model cannot be evaluated on either side of `{name}` = {value} to compute its \
         standard error; fix `{name}` or let the model be evaluated around that value"
    )]
    NoDerivative {
        /// The parameter.
        name: String,
        /// Its estimate.
        value: f64,
    },
    /// `J^T J` is singular at the estimate: the named parameters can change together (or
    /// one alone) without changing the fit.
    #[error(
        "not identifiable from these data: {} (some change of them leaves the fit unchanged); \
         fix one of them at a known value, or add observations that tell them apart",
        .names.join(", ")
    )]
    NotIdentifiable {
        /// The parameters involved.
        names: Vec<String>,
    },
}

/// Minimizes `sum(r_i^2)` over the free parameters, where `r = residuals(values)` are
/// already weighted (e.g. `(pred - obs) / sd`) and `values` are in the order of `free`.
///
/// `residuals` returns `None` where the model cannot be evaluated; the search treats such a
/// point as a failed step and shrinks its trust region rather than stopping. Infinite or
/// NaN residuals are treated the same way. It is called from several threads at once.
///
/// Standard errors and correlations come from a second Jacobian, computed in the natural
/// space at the estimate (central differences, one-sided where a side would cross a bound
/// or cannot be evaluated), not from the search's: the transform only serves to keep the
/// search inside the bounds. Near a bound its derivative vanishes, so a transformed-space
/// covariance would blow up there and would in any case describe the transformed
/// parameters; and the search's last Jacobian belongs to the point before the last step.
pub fn least_squares<F>(residuals: F, free: &[Free]) -> Result<Estimate, EstimateError>
where
    F: Fn(&[f64]) -> Option<Vec<f64>> + Sync,
{
    if free.is_empty() {
        return Err(EstimateError::NoFreeParameters);
    }
    for parameter in free {
        parameter.check()?;
    }
    let start: Vec<f64> = free.iter().map(|f| f.start).collect();
    let start_residuals = residuals(&start).ok_or_else(|| EstimateError::NotEvaluableAtStart {
        at: describe(free, &start),
    })?;
    if let Some((index, &value)) = start_residuals
        .iter()
        .enumerate()
        .find(|(_, r)| !r.is_finite())
    {
        return Err(EstimateError::NotFiniteAtStart {
            index,
            value,
            at: describe(free, &start),
        });
    }
    let (n, p) = (start_residuals.len(), free.len());
    if n <= p {
        return Err(EstimateError::TooFewResiduals { n, p });
    }

    let model = Model {
        residuals: &residuals,
        n,
        evaluations: AtomicUsize::new(1),
        wrong_count: OnceLock::new(),
    };
    let transforms: Vec<Transform> = free.iter().map(Transform::of).collect();
    let start_residuals = DVector::from_vec(start_residuals);
    let search = Search {
        model: &model,
        transforms: &transforms,
        u: DVector::from_iterator(
            p,
            transforms.iter().zip(&start).map(|(t, &x)| t.to_search(x)),
        ),
        // At least ten times the start's norm, which bounds the norm of every point the
        // search has accepted: such a step reduces nothing, so the LM rejects it.
        failed: DVector::from_element(n, 10.0 * start_residuals.norm().max(1.0)),
        residuals: OnceCell::from(Some(start_residuals)),
    };
    let (search, report) = LevenbergMarquardt::new()
        .with_ftol(FTOL)
        .with_xtol(XTOL)
        .with_gtol(GTOL)
        .with_patience(PATIENCE)
        .minimize(search);
    if let Some(&got) = model.wrong_count.get() {
        return Err(EstimateError::ResidualCountChanged { expected: n, got });
    }

    let values = natural(&transforms, search.u.as_slice());
    let center = model
        .eval(&values)
        .ok_or_else(|| EstimateError::NotEvaluableAtEstimate {
            at: describe(free, &values),
        })?;
    let at_bound: Vec<bool> = free
        .iter()
        .zip(&values)
        .map(|(f, &x)| f.on_bound(x))
        .collect();
    let step = |j: usize, x: f64| FD_STEP * x.abs().max(STEP_FLOOR * free[j].scale());
    let inside = |x: &[f64]| {
        if free.iter().zip(x).all(|(f, &v)| f.contains(v)) {
            model.eval(x)
        } else {
            None
        }
    };
    let j = jacobian(&values, &center, step, inside).map_err(|j| EstimateError::NoDerivative {
        name: free[j].name.clone(),
        value: values[j],
    })?;
    let ssr = center.norm_squared();
    let (standard_errors, unscaled_standard_errors, correlation) = uncertainty(&j, ssr, free)?;

    Ok(Estimate {
        values,
        standard_errors,
        unscaled_standard_errors,
        correlation,
        ssr,
        n,
        p,
        evaluations: model.evaluations.load(Ordering::Relaxed),
        converged: report.termination.was_successful(),
        termination: termination(&report.termination, PATIENCE * (p + 1)),
        at_bound,
    })
}

/// How a parameter is searched: unbounded coordinates, so that no step can leave the
/// bounds and the LM needs no constraint handling.
#[derive(Debug, Clone, Copy)]
enum Transform {
    /// No bound: searched as is.
    Identity,
    /// Lower bound only: `u = ln(x - lower)`.
    Above(f64),
    /// Upper bound only: `u = ln(upper - x)`.
    Below(f64),
    /// Both bounds: `u = logit((x - lower) / (upper - lower))`.
    Between(f64, f64),
}

impl Transform {
    fn of(free: &Free) -> Self {
        match (free.lower.is_finite(), free.upper.is_finite()) {
            (false, false) => Self::Identity,
            (true, false) => Self::Above(free.lower),
            (false, true) => Self::Below(free.upper),
            (true, true) => Self::Between(free.lower, free.upper),
        }
    }

    fn to_search(self, x: f64) -> f64 {
        match self {
            Self::Identity => x,
            Self::Above(lower) => (x - lower).ln(),
            Self::Below(upper) => (upper - x).ln(),
            Self::Between(lower, upper) => ((x - lower) / (upper - x)).ln(),
        }
    }

    fn to_natural(self, u: f64) -> f64 {
        match self {
            Self::Identity => u,
            Self::Above(lower) => lower + u.exp(),
            Self::Below(upper) => upper - u.exp(),
            // Measured from the nearer bound, so that a value close to either bound keeps
            // its distance from it to full precision.
            Self::Between(lower, upper) if u < 0.0 => lower + (upper - lower) * logistic(u),
            Self::Between(lower, upper) => upper - (upper - lower) * logistic(-u),
        }
    }
}

fn logistic(u: f64) -> f64 {
    1.0 / (1.0 + (-u).exp())
}

fn natural(transforms: &[Transform], u: &[f64]) -> Vec<f64> {
    transforms
        .iter()
        .zip(u)
        .map(|(t, &u)| t.to_natural(u))
        .collect()
}

fn describe(free: &[Free], values: &[f64]) -> String {
    free.iter()
        .zip(values)
        .map(|(f, v)| format!("{} = {v}", f.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The caller's residual function with the bookkeeping around it: the count of
/// evaluations, and the check that the number of residuals never changes (a changed count
/// is recorded, since the LM cannot be stopped with an error of ours, and reported after).
struct Model<'a, F> {
    residuals: &'a F,
    n: usize,
    evaluations: AtomicUsize,
    wrong_count: OnceLock<usize>,
}

impl<F> Model<'_, F>
where
    F: Fn(&[f64]) -> Option<Vec<f64>> + Sync,
{
    /// Residuals at natural values `x`, or `None` where there are none to use: the model
    /// failed, or gave non-finite or the wrong number of residuals.
    fn eval(&self, x: &[f64]) -> Option<DVector<f64>> {
        self.evaluations.fetch_add(1, Ordering::Relaxed);
        let residuals = (self.residuals)(x)?;
        if residuals.len() != self.n {
            // Only the first wrong count is reported; a later one changes nothing.
            let _ = self.wrong_count.set(residuals.len());
            return None;
        }
        residuals
            .iter()
            .all(|r| r.is_finite())
            .then(|| DVector::from_vec(residuals))
    }
}

/// The problem as the LM sees it: parameters in the search space; the residuals of the
/// current point are computed at most once and kept for its Jacobian (whose one-sided
/// differences need them).
struct Search<'a, F> {
    model: &'a Model<'a, F>,
    transforms: &'a [Transform],
    u: DVector<f64>,
    residuals: OnceCell<Option<DVector<f64>>>,
    /// What the LM is given where the model fails: it stops on `None`, but rejects a step
    /// to residuals this large and shrinks its trust region.
    failed: DVector<f64>,
}

impl<F> Search<'_, F>
where
    F: Fn(&[f64]) -> Option<Vec<f64>> + Sync,
{
    fn evaluated(&self) -> Option<&DVector<f64>> {
        self.residuals
            .get_or_init(|| {
                self.model
                    .eval(&natural(self.transforms, self.u.as_slice()))
            })
            .as_ref()
    }
}

impl<F> LeastSquaresProblem<f64, Dyn, Dyn> for Search<'_, F>
where
    F: Fn(&[f64]) -> Option<Vec<f64>> + Sync,
{
    type ResidualStorage = Owned<f64, Dyn>;
    type JacobianStorage = Owned<f64, Dyn, Dyn>;
    type ParameterStorage = Owned<f64, Dyn>;

    fn set_params(&mut self, u: &DVector<f64>) {
        self.u.copy_from(u);
        self.residuals = OnceCell::new();
    }

    fn params(&self) -> DVector<f64> {
        self.u.clone()
    }

    fn residuals(&self) -> Option<DVector<f64>> {
        Some(self.evaluated().unwrap_or(&self.failed).clone())
    }

    fn jacobian(&self) -> Option<DMatrix<f64>> {
        // The LM asks only at accepted points, whose residuals exist.
        let center = self.evaluated()?;
        let (model, transforms) = (self.model, self.transforms);
        let step = |_: usize, u: f64| FD_STEP * u.abs().max(1.0);
        jacobian(self.u.as_slice(), center, step, |u| {
            model.eval(&natural(transforms, u))
        })
        .ok()
    }
}

/// Finite-difference Jacobian of `eval` at `at`, whose residuals are `center`; `step(j,
/// at[j])` is the step of parameter `j`. All `2p` evaluations run in parallel, since each
/// may be a simulation. Central differences, one-sided where `eval` gives `None` on one
/// side; `Err(j)` where it does on both sides of parameter `j`.
fn jacobian<S, E>(
    at: &[f64],
    center: &DVector<f64>,
    step: S,
    eval: E,
) -> Result<DMatrix<f64>, usize>
where
    S: Fn(usize, f64) -> f64 + Sync,
    E: Fn(&[f64]) -> Option<DVector<f64>> + Sync,
{
    let columns = (0..at.len())
        .into_par_iter()
        .map(|j| {
            let h = step(j, at[j]);
            // Differences are taken over the steps as rounded, not as intended.
            let moved = |to: f64| {
                let mut x = at.to_vec();
                x[j] = to;
                (to, eval(&x))
            };
            let ((up, plus), (down, minus)) = rayon::join(|| moved(at[j] + h), || moved(at[j] - h));
            match (plus, minus) {
                (Some(plus), Some(minus)) => Ok((plus - minus) / (up - down)),
                (Some(plus), None) => Ok((plus - center) / (up - at[j])),
                (None, Some(minus)) => Ok((center - minus) / (at[j] - down)),
                (None, None) => Err(j),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(DMatrix::from_columns(&columns))
}

/// Standard errors (scaled by the residual variance, and unscaled) and the correlation
/// matrix.
type Uncertainty = (Vec<f64>, Vec<f64>, DMatrix<f64>);

/// Standard errors and correlation matrix by the delta method from the Jacobian `j` at the
/// estimate, or the parameters that make `J^T J` singular. The columns are scaled to unit
/// length first so that the singularity test does not depend on the parameters' units, and
/// `(J^T J)^-1` is formed from the SVD rather than by inverting `J^T J`, whose condition
/// number is the square of `J`'s.
fn uncertainty(j: &DMatrix<f64>, ssr: f64, free: &[Free]) -> Result<Uncertainty, EstimateError> {
    let (n, p) = j.shape();
    let norms: Vec<f64> = j.column_iter().map(|c| c.norm()).collect();
    let no_effect: Vec<String> = free
        .iter()
        .zip(&norms)
        .filter(|(_, &norm)| norm == 0.0)
        .map(|(f, _)| f.name.clone())
        .collect();
    if !no_effect.is_empty() {
        return Err(EstimateError::NotIdentifiable { names: no_effect });
    }
    let mut scaled = j.clone();
    for (mut column, norm) in scaled.column_iter_mut().zip(&norms) {
        column /= *norm;
    }
    let svd = scaled.svd(false, true);
    let v_t = svd.v_t.expect("the SVD was asked for V^T");
    let largest = svd.singular_values.max();
    let mut involved = vec![false; p];
    for (k, &sigma) in svd.singular_values.iter().enumerate() {
        if sigma < RCOND_MIN * largest {
            for (flag, component) in involved.iter_mut().zip(v_t.row(k).iter()) {
                *flag |= component.abs() >= NULL_COMPONENT;
            }
        }
    }
    if involved.contains(&true) {
        let names = free
            .iter()
            .zip(&involved)
            .filter(|(_, &flag)| flag)
            .map(|(f, _)| f.name.clone())
            .collect();
        return Err(EstimateError::NotIdentifiable { names });
    }
    // (J_s^T J_s)^-1 = V S^-2 V^T for the scaled Jacobian J_s = U S V^T.
    let inverse =
        v_t.transpose() * DMatrix::from_diagonal(&svd.singular_values.map(|s| s.powi(-2))) * &v_t;
    let variance = ssr / (n - p) as f64;
    let unscaled: Vec<f64> = (0..p).map(|i| inverse[(i, i)].sqrt() / norms[i]).collect();
    let standard_errors = unscaled.iter().map(|se| variance.sqrt() * se).collect();
    let correlation = DMatrix::from_fn(p, p, |i, k| {
        inverse[(i, k)] / (inverse[(i, i)] * inverse[(k, k)]).sqrt()
    });
    Ok((standard_errors, unscaled, correlation))
}

/// Why the LM stopped, in words.
fn termination(reason: &TerminationReason, trial_steps: usize) -> String {
    match reason {
        TerminationReason::ResidualsZero => "converged: the residuals are zero".to_string(),
        TerminationReason::Orthogonal => format!(
            "converged: the residuals are orthogonal to the effect of every parameter \
             (cosine below {GTOL:e})"
        ),
        TerminationReason::Converged { ftol: true, .. } => format!(
            "converged: the sum of squares stopped decreasing (relative change below {FTOL:e})"
        ),
        TerminationReason::Converged { .. } => {
            format!("converged: the parameters stopped changing (relative step below {XTOL:e})")
        }
        TerminationReason::LostPatience => format!(
            "not converged: all {trial_steps} trial steps used; start closer to the optimum or \
             fix some parameters"
        ),
        TerminationReason::User(_) => {
            "not converged: the model could not be evaluated on either side of a parameter \
             to compute derivatives"
                .to_string()
        }
        TerminationReason::Numerical(what) => {
            format!("not converged: numerical breakdown ({what})")
        }
        // The rest cannot occur: the input checks exclude no parameters or residuals and
        // wrong dimensions, and tolerances above machine precision pre-empt the
        // machine-precision stops.
        other => format!("stopped: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64: a few lines, good enough for test noise, and the same on every platform.
    struct Rng(u64);

    impl Rng {
        fn uniform(&mut self) -> f64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            // 53 random bits, shifted into (0, 1) so that the logarithm below is finite.
            ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        }

        /// Standard normal by Box–Muller (one of the pair).
        fn normal(&mut self) -> f64 {
            let (u1, u2) = (self.uniform(), self.uniform());
            (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
        }
    }

    fn free(name: &str, lower: f64, upper: f64, start: f64) -> Free {
        Free {
            name: name.to_string(),
            lower,
            upper,
            start,
        }
    }

    fn times() -> Vec<f64> {
        (0..=20).map(|i| 0.5 * i as f64).collect()
    }

    /// Observations of `a exp(-k t)` at `times()` plus noise of SD `sd` from `seed`.
    fn decay_data(a: f64, k: f64, sd: f64, seed: u64) -> Vec<f64> {
        let mut rng = Rng(seed);
        times()
            .iter()
            .map(|t| a * (-k * t).exp() + sd * rng.normal())
            .collect()
    }

    /// Weighted residuals of `a exp(-k t)` against `data` of SD `sd`.
    fn decay_residuals(data: &[f64], sd: f64) -> impl Fn(&[f64]) -> Option<Vec<f64>> + Sync + '_ {
        move |x: &[f64]| {
            let (a, k) = (x[0], x[1]);
            Some(
                times()
                    .iter()
                    .zip(data)
                    .map(|(t, y)| (a * (-k * t).exp() - y) / sd)
                    .collect(),
            )
        }
    }

    fn decay_free() -> Vec<Free> {
        vec![
            free("A", 0.0, f64::INFINITY, 1.0),
            free("k", 0.0, 10.0, 1.0),
        ]
    }

    #[test]
    fn noise_free_decay_is_recovered() {
        let data = decay_data(5.0, 0.3, 0.0, 1);
        let fit = least_squares(decay_residuals(&data, 0.1), &decay_free()).expect("fits");
        assert!(fit.converged, "{}", fit.termination);
        // Tolerance: 1e-6 relative, as the finite-difference Jacobian allows.
        assert!(
            (fit.values[0] - 5.0).abs() <= 1e-6 * 5.0,
            "{:?}",
            fit.values
        );
        assert!(
            (fit.values[1] - 0.3).abs() <= 1e-6 * 0.3,
            "{:?}",
            fit.values
        );
        assert!(fit.ssr < 1e-12, "ssr {}", fit.ssr);
        assert_eq!((fit.n, fit.p), (21, 2));
        assert_eq!(fit.at_bound, [false, false]);
        // From a start five- and threefold off, a few tens of steps with their Jacobians.
        assert!(fit.evaluations < 200, "{} evaluations", fit.evaluations);
    }

    #[test]
    fn linear_fit_has_the_exact_regression_standard_errors() {
        // y = a + b t + N(0, sd^2), fitted with the slope bounded below (searched on a log
        // scale) to show that the search transform does not leak into the uncertainty.
        let (a, b, sd) = (2.0, 0.5, 0.3);
        let t = times();
        let mut rng = Rng(7);
        let y: Vec<f64> = t.iter().map(|t| a + b * t + sd * rng.normal()).collect();
        let residuals = |x: &[f64]| {
            Some(
                t.iter()
                    .zip(&y)
                    .map(|(t, y)| (x[0] + x[1] * t - y) / sd)
                    .collect(),
            )
        };
        let fit = least_squares(
            residuals,
            &[
                free("a", f64::NEG_INFINITY, f64::INFINITY, 0.0),
                free("b", 0.0, f64::INFINITY, 2.0),
            ],
        )
        .expect("fits");
        assert!(fit.converged, "{}", fit.termination);

        // Ordinary least squares in closed form.
        let n = t.len() as f64;
        let t_mean = t.iter().sum::<f64>() / n;
        let y_mean = y.iter().sum::<f64>() / n;
        let sxx: f64 = t.iter().map(|t| (t - t_mean).powi(2)).sum();
        let sxy: f64 = t
            .iter()
            .zip(&y)
            .map(|(t, y)| (t - t_mean) * (y - y_mean))
            .sum();
        let slope = sxy / sxx;
        let intercept = y_mean - slope * t_mean;
        let rss: f64 = t
            .iter()
            .zip(&y)
            .map(|(t, y)| (y - intercept - slope * t).powi(2))
            .sum();
        let sigma2 = rss / (n - 2.0);
        let se_slope = (sigma2 / sxx).sqrt();
        let se_intercept = (sigma2 * (1.0 / n + t_mean * t_mean / sxx)).sqrt();
        let correlation = -t_mean / (sxx / n + t_mean * t_mean).sqrt();

        // Tolerances: values to 1e-8 of a standard error (the search stops within about
        // 1e-10); standard errors, correlation and SSR to 1e-8 relative (central
        // differences are exact for a linear model up to rounding, about 1e-12 here).
        assert!((fit.values[0] - intercept).abs() <= 1e-8 * se_intercept);
        assert!((fit.values[1] - slope).abs() <= 1e-8 * se_slope);
        let close = |got: f64, want: f64| (got - want).abs() <= 1e-8 * want.abs();
        assert!(
            close(fit.standard_errors[0], se_intercept),
            "{:?}",
            fit.standard_errors
        );
        assert!(
            close(fit.standard_errors[1], se_slope),
            "{:?}",
            fit.standard_errors
        );
        assert!(
            close(fit.correlation[(0, 1)], correlation),
            "{}",
            fit.correlation
        );
        assert!(
            close(fit.correlation[(1, 0)], correlation),
            "{}",
            fit.correlation
        );
        assert!(close(fit.correlation[(0, 0)], 1.0) && close(fit.correlation[(1, 1)], 1.0));
        assert!(close(fit.ssr, rss / (sd * sd)), "ssr {}", fit.ssr);
    }

    #[test]
    fn noisy_decay_standard_errors_match_the_scatter_over_seeds() {
        let (a, k, sd) = (5.0, 0.3, 0.05);
        let truth = [a, k];
        let seeds = 50;
        let mut estimates = vec![Vec::new(); 2];
        let mut errors = vec![Vec::new(); 2];
        for seed in 1..=seeds {
            let data = decay_data(a, k, sd, seed);
            let fit = least_squares(decay_residuals(&data, sd), &decay_free()).expect("fits");
            assert!(fit.converged, "seed {seed}: {}", fit.termination);
            for i in 0..2 {
                let z = (fit.values[i] - truth[i]) / fit.standard_errors[i];
                // One data set: within 3 SE. Each of 50: within 4 SE (a correct estimator
                // fails this with probability about 100 * 6e-5).
                let limit = if seed == 1 { 3.0 } else { 4.0 };
                assert!(z.abs() <= limit, "seed {seed}, parameter {i}: z = {z}");
                estimates[i].push(fit.values[i]);
                errors[i].push(fit.standard_errors[i]);
            }
        }
        for i in 0..2 {
            let count = seeds as f64;
            let mean = estimates[i].iter().sum::<f64>() / count;
            let scatter = (estimates[i].iter().map(|v| (v - mean).powi(2)).sum::<f64>()
                / (count - 1.0))
                .sqrt();
            let reported = errors[i].iter().sum::<f64>() / count;
            // Tolerance: a factor 2 (the scatter of 50 estimates is itself uncertain by
            // about 10%).
            let ratio = reported / scatter;
            assert!(
                (0.5..=2.0).contains(&ratio),
                "parameter {i}: SE / scatter = {ratio}"
            );
        }
    }

    #[test]
    fn an_optimum_beyond_a_bound_ends_on_it() {
        // Falling data, slope bounded below by 0: the best slope is 0 and the intercept
        // then the mean.
        let t = times();
        let y: Vec<f64> = t.iter().map(|t| 4.0 - 0.3 * t).collect();
        let residuals = |x: &[f64]| {
            Some(
                t.iter()
                    .zip(&y)
                    .map(|(t, y)| (x[0] + x[1] * t - y) / 0.1)
                    .collect(),
            )
        };
        let fit = least_squares(
            residuals,
            &[
                free("a", f64::NEG_INFINITY, f64::INFINITY, 1.0),
                free("b", 0.0, f64::INFINITY, 1.0),
            ],
        )
        .expect("fits");
        let mean = y.iter().sum::<f64>() / y.len() as f64;
        // Tolerances: the slope within 1e-6 of its scale (1, the start's distance from the
        // bound) of the bound, and the intercept within 1e-6 relative of the mean.
        assert!(
            fit.values[1] >= 0.0 && fit.values[1] <= 1e-6,
            "{:?}",
            fit.values
        );
        assert!(
            (fit.values[0] - mean).abs() <= 1e-6 * mean,
            "{:?}",
            fit.values
        );
        assert_eq!(fit.at_bound, [false, true]);
        assert!(fit.standard_errors.iter().all(|se| se.is_finite()));

        // Rising decay rate, bounded above between two bounds: k ends on the upper one.
        let data = decay_data(5.0, 0.3, 0.0, 1);
        let bounded = [free("A", 0.0, 100.0, 1.0), free("k", 0.01, 0.2, 0.1)];
        let fit = least_squares(decay_residuals(&data, 0.1), &bounded).expect("fits");
        // Tolerance: within 1e-6 of the width (0.19) of the upper bound.
        assert!(
            fit.values[1] <= 0.2 && fit.values[1] >= 0.2 - 0.19e-6,
            "{:?}",
            fit.values
        );
        assert_eq!(fit.at_bound, [false, true]);
    }

    #[test]
    fn a_model_that_fails_in_places_is_searched_around_them() {
        // r = exp(k) - 1 (truth k = 0), from k = 3: the first Gauss-Newton step lands at
        // k = 2.05, inside the band where the model fails; the search must step around it.
        let failures = AtomicUsize::new(0);
        let residuals = |x: &[f64]| {
            if (2.0..2.1).contains(&x[0]) {
                failures.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            Some(vec![x[0].exp() - 1.0; 5])
        };
        let fit = least_squares(
            residuals,
            &[free("k", f64::NEG_INFINITY, f64::INFINITY, 3.0)],
        )
        .expect("fits");
        assert!(
            failures.load(Ordering::Relaxed) > 0,
            "the failing band was never hit"
        );
        assert!(fit.converged, "{}", fit.termination);
        // Tolerance: 1e-6 absolute around the root at 0.
        assert!(fit.values[0].abs() <= 1e-6, "{:?}", fit.values);
    }

    #[test]
    fn bad_input_is_refused_with_the_parameter_named() {
        let data = decay_data(5.0, 0.3, 0.0, 1);
        let residuals = decay_residuals(&data, 0.1);

        // No more residuals than parameters (here 2 for 2, and 1 for 2).
        let two = |x: &[f64]| Some(vec![x[0], x[1]]);
        assert_eq!(
            least_squares(two, &decay_free()).err(),
            Some(EstimateError::TooFewResiduals { n: 2, p: 2 })
        );
        let one = |x: &[f64]| Some(vec![x[0] + x[1]]);
        assert_eq!(
            least_squares(one, &decay_free()).err(),
            Some(EstimateError::TooFewResiduals { n: 1, p: 2 })
        );

        // Start on a bound; bounds reversed.
        let on_bound = [free("A", 0.0, 10.0, 0.0), free("k", 0.0, 1.0, 0.5)];
        match least_squares(&residuals, &on_bound) {
            Err(EstimateError::StartOutside { name, .. }) => assert_eq!(name, "A"),
            other => panic!("{other:?}"),
        }
        let reversed = [free("A", 0.0, 10.0, 1.0), free("k", 1.0, 0.0, 0.5)];
        match least_squares(&residuals, &reversed) {
            Err(EstimateError::BoundsNotOrdered { name, .. }) => assert_eq!(name, "k"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            least_squares(&residuals, &[]).err(),
            Some(EstimateError::NoFreeParameters)
        );

        // An SD of zero for the third observation: infinite residual at the start.
        let zero_sd = |x: &[f64]| {
            Some(
                (0..5)
                    .map(|i| (x[0] - 1.0) / if i == 2 { 0.0 } else { 1.0 })
                    .collect(),
            )
        };
        let k = [free("k", f64::NEG_INFINITY, f64::INFINITY, 2.0)];
        match least_squares(zero_sd, &k) {
            Err(e @ EstimateError::NotFiniteAtStart { index: 2, .. }) => {
                assert!(e.to_string().contains("k = 2"), "{e}")
            }
            other => panic!("{other:?}"),
        }
        let never = |_: &[f64]| None;
        assert!(matches!(
            least_squares(never, &k),
            Err(EstimateError::NotEvaluableAtStart { .. })
        ));

        // One residual more once k exceeds 2.5.
        let growing = |x: &[f64]| Some(vec![x[0] - 3.0; if x[0] > 2.5 { 6 } else { 5 }]);
        assert_eq!(
            least_squares(growing, &k).err(),
            Some(EstimateError::ResidualCountChanged {
                expected: 5,
                got: 6
            })
        );
    }

    #[test]
    fn parameters_seen_only_together_are_not_identifiable() {
        // y = c + a b t: a and b enter only as their product, so only that is determined.
        let t = times();
        let y: Vec<f64> = t.iter().map(|t| 1.0 + 0.6 * t).collect();
        let line = |c: f64, slope: f64| -> Option<Vec<f64>> {
            Some(
                t.iter()
                    .zip(&y)
                    .map(|(t, y)| (c + slope * t - y) / 0.1)
                    .collect(),
            )
        };
        let product = [
            free("a", 0.0, f64::INFINITY, 1.0),
            free("b", 0.0, f64::INFINITY, 2.0),
            free("c", f64::NEG_INFINITY, f64::INFINITY, 0.0),
        ];
        assert_eq!(
            least_squares(|x: &[f64]| line(x[2], x[0] * x[1]), &product).err(),
            Some(EstimateError::NotIdentifiable {
                names: vec!["a".to_string(), "b".to_string()]
            })
        );

        // A parameter that the residuals do not depend on at all.
        let unused = [
            free("slope", f64::NEG_INFINITY, f64::INFINITY, 1.0),
            free("c", f64::NEG_INFINITY, f64::INFINITY, 0.0),
            free("d", 0.0, 1.0, 0.5),
        ];
        let err = least_squares(|x: &[f64]| line(x[1], x[0]), &unused).expect_err("refused");
        assert_eq!(
            err,
            EstimateError::NotIdentifiable {
                names: vec!["d".to_string()]
            }
        );
        assert!(err.to_string().contains("fix one of them"), "{err}");
    }
}
