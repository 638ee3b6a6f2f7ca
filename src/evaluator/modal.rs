//! Closed-form propagation in the eigenbasis of the rate matrix, for many runs of one model.
//!
//! When the rate matrix restricted to the states a run can fill is diagonalisable with
//! real, distinct eigenvalues, K = V diag(lambda) V^-1, and over a step of length tau with
//! constant input u the modal coordinates y = V^-1 x move independently:
//!
//! ```text
//!     y_j(tau) = e^(lambda_j tau) y_j(0) + phi1_j(tau) v_j,    v = V^-1 u
//!     int_0^tau y_j = phi1_j(tau) y_j(0) + phi2_j(tau) v_j
//!     phi1(tau) = (e^(lambda tau) - 1) / lambda,   phi2(tau) = (e^(lambda tau) - 1 - lambda tau) / lambda^2
//! ```
//!
//! so a step costs one exponential per mode instead of a matrix exponential, and any linear
//! combination of states is a sum of real exponentials whose extrema can be bracketed
//! rigorously (`expsum`).
//!
//! The decomposition follows the flow structure: cells move one way between the strongly
//! connected groups of states (depot -> circulation and trapping organs -> engrafted), so
//! K is block triangular over those groups. Each group's block is decomposed on its own (a
//! single state is its own exact eigenvalue, the circulation block by a real Schur
//! decomposition) and eigenvectors are extended to downstream groups, left eigenvectors
//! to upstream ones, by substitution. This keeps the zeros the structure implies exact (an
//! engrafted cell never appears in the lungs, not even at 1e-17) and the eigenvalues of
//! single states exact. A decomposition is refused, and callers fall back to the Van Loan
//! walk, when an eigenvalue is complex or repeated, the eigenvectors are ill-conditioned,
//! or the bound on how far exp(K h) rebuilt from it can be from the matrix exponential
//! (`exponential_error_bound`) is too large.

use nalgebra::{DMatrix, DVector, SVector};

use crate::compartment::{Compartment, State, StateMatrix, N};

/// Coordinates in the eigenbasis (entries past the number of modes are zero).
pub type Modes = SVector<f64, N>;

/// Largest accepted condition number of the eigenvector matrix (Frobenius norms): a nearly
/// defective matrix is better left to the matrix exponential. Presets stay below 1e2 and
/// random overrides below 1e4.
const MAX_CONDITION: f64 = 1e6;

/// Largest accepted bound on the difference between exp(K t) rebuilt from the eigenbasis
/// and the true matrix exponential (entries of exp(K t) lie in [0, 1]), for t up to
/// `CHECK_HORIZON_H` (`exponential_error_bound`). The test catches a basis gone wrong (a
/// nearly defective matrix). Presets and random overrides give bounds of 1e-15 to 1e-11
/// (measured 2026-12-08 over 9000 subjects of human and mouse populations and the
/// nearly repeated eigenvalues of `tests/evaluator.rs`); the agreement of the results
/// with the Van Loan walk is what the tests measure (1e-11 and better).
const MAX_CHECK_ERROR: f64 = 1e-10;

/// The longest time (hours) over which the eigenbasis is held to `MAX_CHECK_ERROR`: a
/// day, or the slowest model's fastest time scale if that is longer. The bound grows with
/// time (the residual is integrated), so holding it at the horizon holds it at every
/// shorter step; longer steps are, as before this bound, covered by the tests' agreement
/// with the walk.
const CHECK_HORIZON_H: f64 = 24.0;

/// Iteration cap of the real Schur decomposition (it converges in a few dozen sweeps on
/// these matrices; failing to converge means the closed form is not used).
const SCHUR_MAX_ITERATIONS: usize = 10_000;

/// Below this |lambda delta|, e^(lambda (tau + delta)) is obtained from the value at tau
/// and a short Taylor series of e^(lambda delta) - 1 (at most seven terms: error below
/// 1e-18).
const TAYLOR_LIMIT: f64 = 1e-2;

/// The eigendecomposition of K restricted to a set of states that no other state feeds.
#[derive(Debug, Clone)]
pub struct Modal {
    n: usize,
    lambda: Modes,
    /// Columns: right eigenvectors over the full state (rows of states outside the set are 0).
    v: StateMatrix,
    /// Rows: left eigenvectors, so that `v_inv * x` gives the modes of a state.
    v_inv: StateMatrix,
    /// Mode indices by decreasing eigenvalue (slowest first), then unused positions.
    order: [usize; N],
    /// The largest |lambda| (1/h).
    fastest: f64,
    /// Largest |entry| of each left eigenvector: a mode of a state with X cells in all is
    /// at most this times X, and carries rounding relative to that.
    left_scale: Modes,
    /// The exponentials at time 0.
    origin: Exps,
    /// The exponentials at times doubling from 1 / `fastest`, as far as `reach` was asked
    /// to go: where the zeros of exponential sums are first sought (`expsum`). Built on
    /// demand: a run needs rungs up to its own length only (a 180-day run 8 fewer than the
    /// longest allowed run, 100 years), and the absorbing-liver basis needs none.
    ladder: Vec<Exps>,
}

/// e^(lambda tau) and e^(lambda tau) - 1 for every mode, each to full relative precision.
#[derive(Debug, Clone, Copy)]
pub struct Exps {
    /// The time (hours).
    pub tau: f64,
    /// e^(lambda_j tau).
    pub e: Modes,
    /// e^(lambda_j tau) - 1.
    pub em1: Modes,
}

/// The per-mode factors of a step of fixed length.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    /// The exponentials at the step's length.
    pub exps: Exps,
    /// (e^(lambda_j h) - 1) / lambda_j.
    pub phi1: Modes,
    /// (e^(lambda_j h) - 1 - lambda_j h) / lambda_j^2.
    pub phi2: Modes,
}

/// One strongly connected group of states and the eigendecomposition of its block.
struct Group {
    /// Positions in the restricted matrix.
    members: Vec<usize>,
    lambda: Vec<f64>,
    /// Right eigenvectors of the block (columns) and their inverse (rows: left ones).
    right: DMatrix<f64>,
    left: DMatrix<f64>,
}

impl Modal {
    /// The eigendecomposition of `k` restricted to `states`, or `None` when it cannot stand
    /// in for the matrix exponential. Flow into `states` from outside the set is dropped:
    /// the check exponentiates the same restricted matrix, so it cannot see such flow, and
    /// the caller must want it gone (the absorbing-liver basis leaves out the liver, whose
    /// cells are counted once they arrive and never return).
    pub fn new(k: &StateMatrix, states: &[Compartment]) -> Option<Modal> {
        let n = states.len();
        let index: Vec<usize> = states.iter().map(|c| c.index()).collect();
        let a = DMatrix::from_fn(n, n, |i, j| k[(index[i], index[j])]);
        if a.iter().any(|x| !x.is_finite()) {
            return None;
        }
        let groups = groups(&a)
            .into_iter()
            .map(|members| Group::new(&a, members))
            .collect::<Option<Vec<_>>>()?;

        let mut lambda = Modes::zeros();
        let mut v_sub = DMatrix::<f64>::zeros(n, n);
        let mut u_sub = DMatrix::<f64>::zeros(n, n);
        let mut mode = 0;
        for (g, group) in groups.iter().enumerate() {
            for (c, &l) in group.lambda.iter().enumerate() {
                lambda[mode] = l;
                // Right: zero upstream, solved downstream; left: zero downstream, solved
                // upstream.
                let own = &group.members;
                let right = group.right.column(c).into_owned();
                let v = extend(&a, own, groups[g + 1..].iter(), l, &right, false)?;
                let left = group.left.row(c).transpose();
                let u = extend(&a, own, groups[..g].iter().rev(), l, &left, true)?;
                v_sub.set_column(mode, &v);
                u_sub.set_row(mode, &u.transpose());
                mode += 1;
            }
        }
        let condition = v_sub.norm() * u_sub.norm();
        if !condition.is_finite() || condition > MAX_CONDITION {
            return None;
        }
        refine(&a, &mut lambda, &mut v_sub, &mut u_sub);
        // The error bound below takes finite factors for granted.
        if !v_sub
            .iter()
            .chain(u_sub.iter())
            .chain(lambda.iter())
            .all(|x| x.is_finite())
        {
            return None;
        }

        let mut v = StateMatrix::zeros();
        let mut v_inv = StateMatrix::zeros();
        for j in 0..n {
            for i in 0..n {
                v[(index[i], j)] = v_sub[(i, j)];
                v_inv[(j, index[i])] = u_sub[(j, i)];
            }
        }
        let left_scale = Modes::from_fn(|j, _| if j < n { u_sub.row(j).amax() } else { 0.0 });
        let mut order = [0; N];
        for (slot, o) in order.iter_mut().enumerate() {
            *o = slot;
        }
        order[..n].sort_by(|&a, &b| lambda[b].total_cmp(&lambda[a]));
        let fastest = lambda.iter().fold(0.0, |m: f64, l| m.max(l.abs()));
        let modal = Modal {
            n,
            lambda,
            v,
            v_inv,
            order,
            fastest,
            left_scale,
            origin: Exps {
                tau: 0.0,
                e: Modes::from_fn(|j, _| if j < n { 1.0 } else { 0.0 }),
                em1: Modes::zeros(),
            },
            ladder: Vec::new(),
        };
        let horizon = if fastest > 0.0 {
            CHECK_HORIZON_H.max(1.0 / fastest)
        } else {
            CHECK_HORIZON_H
        };
        let error = exponential_error_bound(&a, &lambda, &v_sub, &u_sub, horizon);
        (error <= MAX_CHECK_ERROR).then_some(modal)
    }

    /// Number of modes.
    pub fn modes(&self) -> usize {
        self.n
    }

    /// Eigenvalues (1/h).
    pub fn lambda(&self) -> &Modes {
        &self.lambda
    }

    /// Largest |entry| of each left eigenvector: with X cells in the system, mode j is at
    /// most `left_scale[j]` X and carries rounding relative to that.
    pub fn left_scale(&self) -> &Modes {
        &self.left_scale
    }

    /// The exponentials at time 0.
    pub fn origin(&self) -> Exps {
        self.origin
    }

    /// The exponentials at times doubling from the fastest time scale (see `expsum`), as
    /// far as `reach` went.
    pub fn ladder(&self) -> &[Exps] {
        &self.ladder
    }

    /// Extends the ladder to its first rung at or past `horizon_h` hours, so that every
    /// rung within a step of up to that length is there. Each rung depends on its place
    /// alone, so how far earlier calls went changes no result.
    pub fn reach(&mut self, horizon_h: f64) {
        if self.fastest <= 0.0 || self.ladder.last().is_some_and(|x| x.tau >= horizon_h) {
            return;
        }
        let rung = |k: usize| 2f64.powi(k as i32) / self.fastest;
        let mut last = self.ladder.len();
        while rung(last) < horizon_h {
            last += 1;
        }
        // At once: grown one rung at a time, the ladder (150 bytes a rung) was copied at
        // every doubling of its capacity.
        self.ladder.reserve_exact(last + 1 - self.ladder.len());
        while self.ladder.len() <= last {
            let exps = self.exps(rung(self.ladder.len()));
            self.ladder.push(exps);
        }
    }

    /// Mode indices by decreasing eigenvalue (the first `modes()` entries).
    pub fn order(&self) -> &[usize] {
        &self.order[..self.n]
    }

    /// The modes of a state (states outside the set are ignored).
    pub fn modes_of(&self, x: &State) -> Modes {
        self.v_inv * x
    }

    /// The weights on the modes of the linear combination `w . x`.
    pub fn weights_of(&self, w: &State) -> Modes {
        self.v.tr_mul(w)
    }

    /// e^(lambda tau) and e^(lambda tau) - 1, with one exponential per mode.
    pub fn exps(&self, tau: f64) -> Exps {
        let mut e = Modes::zeros();
        let mut em1 = Modes::zeros();
        for j in 0..self.n {
            let z = self.lambda[j] * tau;
            // expm1 where e is near 1 (so e - 1 keeps its digits), exp elsewhere (so a
            // small e keeps its digits).
            if z.abs() <= 0.5 {
                em1[j] = z.exp_m1();
                e[j] = 1.0 + em1[j];
            } else {
                e[j] = z.exp();
                em1[j] = e[j] - 1.0;
            }
        }
        Exps { tau, e, em1 }
    }

    /// The exponentials at `tau`, from those at a nearby time when the two are close
    /// enough for a short series (no exponential is then evaluated), else afresh.
    pub fn exps_near(&self, near: &Exps, tau: f64) -> Exps {
        let delta = tau - near.tau;
        if self.fastest * delta.abs() > TAYLOR_LIMIT {
            return self.exps(tau);
        }
        // Enough terms of e^z - 1 = z (1 + z/2 (1 + z/3 (1 + ...))) for |z|^(terms + 1) /
        // (terms + 1)! to fall below 1e-17.
        let z_max = self.fastest * delta.abs();
        let terms = match z_max {
            z if z <= 1e-6 => 2,
            z if z <= 1e-4 => 3,
            z if z <= 1e-3 => 5,
            _ => 7,
        };
        let mut e = Modes::zeros();
        let mut em1 = Modes::zeros();
        for j in 0..self.n {
            let z = self.lambda[j] * delta;
            let mut s = 1.0;
            for k in (2..=terms).rev() {
                s = 1.0 + z / k as f64 * s;
            }
            let d = z * s;
            e[j] = near.e[j] + near.e[j] * d;
            em1[j] = near.em1[j] + near.e[j] * d;
        }
        Exps { tau, e, em1 }
    }

    /// (e^(lambda tau) - 1) / lambda for each mode, from `exps`.
    pub fn phi1(&self, exps: &Exps) -> Modes {
        let mut phi1 = Modes::zeros();
        for j in 0..self.n {
            let l = self.lambda[j];
            phi1[j] = if l == 0.0 { exps.tau } else { exps.em1[j] / l };
        }
        phi1
    }

    /// The factors of a step of `h` hours.
    pub fn step(&self, h: f64) -> Step {
        let exps = self.exps(h);
        let phi1 = self.phi1(&exps);
        let mut phi2 = Modes::zeros();
        for j in 0..self.n {
            phi2[j] = phi2_of(self.lambda[j], h, exps.em1[j]);
        }
        Step { exps, phi1, phi2 }
    }
}

impl Group {
    /// The eigendecomposition of the block of `a` over `members`.
    fn new(a: &DMatrix<f64>, members: Vec<usize>) -> Option<Group> {
        let m = members.len();
        let block = DMatrix::from_fn(m, m, |i, j| a[(members[i], members[j])]);
        if m == 1 {
            let one = DMatrix::from_element(1, 1, 1.0);
            return Some(Group {
                members,
                lambda: vec![block[(0, 0)]],
                right: one.clone(),
                left: one,
            });
        }
        let (q, t) = nalgebra::Schur::try_new(block, f64::EPSILON, SCHUR_MAX_ITERATIONS)?.unpack();
        // A nonzero subdiagonal entry is a 2 x 2 block: a complex pair.
        if (1..m).any(|i| t[(i, i - 1)] != 0.0) {
            return None;
        }
        // Eigenvectors of the triangular factor by back substitution (as LAPACK's trevc);
        // a repeated eigenvalue divides by zero and is refused by the checks below.
        let mut x = DMatrix::<f64>::identity(m, m);
        for c in 0..m {
            for i in (0..c).rev() {
                let s: f64 = (i + 1..=c).map(|j| t[(i, j)] * x[(j, c)]).sum();
                x[(i, c)] = -s / (t[(i, i)] - t[(c, c)]);
            }
        }
        let mut right = q * x;
        for mut column in right.column_iter_mut() {
            let norm = column.norm();
            column /= norm;
        }
        let left = right.clone().try_inverse()?;
        if right.iter().chain(left.iter()).any(|x| !x.is_finite()) {
            return None;
        }
        Some(Group {
            members,
            lambda: (0..m).map(|i| t[(i, i)]).collect(),
            right,
            left,
        })
    }
}

/// The strongly connected groups of states of `a` (j -> i when a[i][j] != 0), upstream
/// groups first.
fn groups(a: &DMatrix<f64>) -> Vec<Vec<usize>> {
    let n = a.nrows();
    // reach[i][j]: cells in j can get to i (transitive closure; n <= 9).
    let mut reach: Vec<Vec<bool>> = (0..n)
        .map(|i| (0..n).map(|j| i == j || a[(i, j)] != 0.0).collect())
        .collect();
    for m in 0..n {
        for i in 0..n {
            for j in 0..n {
                if reach[i][m] && reach[m][j] {
                    reach[i][j] = true;
                }
            }
        }
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, reaches_i) in reach.iter().enumerate() {
        match groups
            .iter_mut()
            .find(|g| reaches_i[g[0]] && reach[g[0]][i])
        {
            Some(g) => g.push(i),
            None => groups.push(vec![i]),
        }
    }
    // A group is upstream of another when it reaches it; the number of states that reach
    // a group grows downstream.
    groups.sort_by_key(|g| (0..n).filter(|&j| reach[g[0]][j]).count());
    groups
}

/// The eigenvector of `a` for eigenvalue `l` that is the block eigenvector `z` on the
/// states `own` of its group, extended group by group over `then`: each group solves
/// (l I - B) v = (inflow from the entries already set, a v) for a right eigenvector (zero
/// upstream, `then` the later groups), or u (l I - B) = (outflow to them weighted by u,
/// u a) for a left one (`transpose`; zero downstream, `then` the earlier groups, nearest
/// first).
fn extend<'g>(
    a: &DMatrix<f64>,
    own: &[usize],
    then: impl Iterator<Item = &'g Group>,
    l: f64,
    z: &DVector<f64>,
    transpose: bool,
) -> Option<DVector<f64>> {
    let n = a.nrows();
    let mut w = DVector::zeros(n);
    for (i, &s) in own.iter().enumerate() {
        w[s] = z[i];
    }
    for group in then {
        let members = &group.members;
        let rhs = DVector::from_fn(members.len(), |i, _| {
            (0..n)
                .map(|j| {
                    let coupling = if transpose {
                        a[(j, members[i])]
                    } else {
                        a[(members[i], j)]
                    };
                    coupling * w[j]
                })
                .sum::<f64>()
        });
        let x = shifted_solve(a, members, l, &rhs, transpose)?;
        for (i, &s) in members.iter().enumerate() {
            w[s] = x[i];
        }
    }
    Some(w)
}

/// Solves (l I - B) x = rhs (or its transpose) for the block B of `a` over `members`; a
/// zero right-hand side gives an exact zero, so unreachable states stay exactly empty.
fn shifted_solve(
    a: &DMatrix<f64>,
    members: &[usize],
    l: f64,
    rhs: &DVector<f64>,
    transpose: bool,
) -> Option<DVector<f64>> {
    if rhs.iter().all(|&r| r == 0.0) {
        return Some(DVector::zeros(members.len()));
    }
    let m = members.len();
    let shifted = DMatrix::from_fn(m, m, |i, j| {
        let (r, c) = if transpose { (j, i) } else { (i, j) };
        let b = a[(members[r], members[c])];
        if i == j {
            l - b
        } else {
            -b
        }
    });
    let x = shifted.lu().solve(rhs)?;
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// Corrects every eigenpair by one step of Newton's method, with residuals computed in
/// doubled precision (error-free products and sums, Ogita, Rump & Oishi 2005): first each
/// eigenvalue, l + u (A v - l v) / (u v); then each right and left eigenvector by the
/// first-order perturbation in the basis itself, v_j - sum_k v_k (u_k r_j) / (l_k - l_j)
/// with r_j = A v_j - l_j v_j, and likewise for the left ones.
///
/// Why: a backward-stable eigensolver is exact for a matrix within roundoff of A, about
/// 1e-16 x |K| = 4e-13 /h in a mouse (circulation at 2000 /h). That is an error of 4e-13 /h
/// in a slow eigenvalue, which grows into a relative error of 2e-9 in e^(lambda t) after
/// 180 days; and of 4e-13 divided by the gap in the eigenvectors of eigenvalues close
/// together (trapping organs sharing one release rate, a depot emptying at nearly the rate
/// of an organ), 1e-9 for gaps of 1e-3 /h. The residuals are of the size of those errors
/// while their terms are of the size of |K|, so they need more than working precision;
/// with them, one step brings each eigenvalue to the roundoff of its own size and each
/// eigenvector to roundoff over the gap squared. Exact zeros stay exact: a residual is zero
/// wherever the structure makes the eigenvector zero.
fn refine(a: &DMatrix<f64>, lambda: &mut Modes, v: &mut DMatrix<f64>, u: &mut DMatrix<f64>) {
    let n = a.nrows();
    // Into two buffers, rather than a new vector for each of the 3 n residuals.
    let right_residual = |lambda: &Modes, v: &DMatrix<f64>, j: usize, r: &mut DVector<f64>| {
        for i in 0..n {
            let terms = (0..n).map(|k| (a[(i, k)], v[(k, j)]));
            r[i] = compensated_dot(terms.chain([(-lambda[j], v[(i, j)])]));
        }
    };
    let left_residual = |lambda: &Modes, u: &DMatrix<f64>, j: usize, s: &mut DVector<f64>| {
        for k in 0..n {
            let terms = (0..n).map(|i| (u[(j, i)], a[(i, k)]));
            s[k] = compensated_dot(terms.chain([(-lambda[j], u[(j, k)])]));
        }
    };
    let (mut r, mut s) = (DVector::zeros(n), DVector::zeros(n));
    for j in 0..n {
        right_residual(lambda, v, j, &mut r);
        let norm = u.row(j).dot(&v.column(j).transpose());
        let corrected = lambda[j] + u.row(j).dot(&r.transpose()) / norm;
        if corrected.is_finite() {
            lambda[j] = corrected;
        }
    }
    let (old_v, old_u) = (v.clone(), u.clone());
    for j in 0..n {
        right_residual(lambda, &old_v, j, &mut r);
        left_residual(lambda, &old_u, j, &mut s);
        for k in (0..n).filter(|&k| k != j && lambda[k] != lambda[j]) {
            let gap = lambda[k] - lambda[j];
            let along_right = old_u.row(k).dot(&r.transpose()) / gap;
            let along_left = s.dot(&old_v.column(k)) / gap;
            for i in 0..n {
                v[(i, j)] -= old_v[(i, k)] * along_right;
                u[(j, i)] -= old_u[(k, i)] * along_left;
            }
        }
    }
    for j in 0..n {
        let norm = u.row(j).dot(&v.column(j).transpose());
        if norm.is_finite() && norm != 0.0 {
            for i in 0..n {
                u[(j, i)] /= norm;
            }
        }
    }
}

/// A bound on the largest entry of V e^(Lambda t) U - e^(A t), as evaluated in floating
/// point, for every t in [0, `t`], from what the basis leaves over: the residual
/// R = A V - V Lambda (column r_j for mode j) and V U - I.
///
/// Why it holds: with F(s) = e^(A (t - s)) V e^(Lambda s), F'(s) = -e^(A (t - s)) R e^(Lambda s),
/// so V e^(Lambda t) - e^(A t) V = -int_0^t e^(A (t - s)) R e^(Lambda s) ds, and
///
/// ```text
///     V e^(Lambda t) U - e^(A t) = e^(A t) (V U - I) - int_0^t e^(A (t - s)) R e^(Lambda s) ds U.
/// ```
///
/// In the 1-norm (which bounds every entry), |e^(A s)| <= e^(mu s) with mu the
/// logarithmic norm max_j (a_jj + sum_(i != j) |a_ij|), at most 0 for a rate matrix whose
/// columns lose cells (restricting it to some states keeps that); a rank-one term r_j u_j
/// has norm |r_j|_1 |u_j|_inf; and int_0^t e^(lambda_j s) ds is (e^(lambda_j t) - 1) /
/// lambda_j. Hence
///
/// ```text
///     |V e^(Lambda t) U - e^(A t)|_1 <= e^(max(mu, 0) t) (|V U - I|_1 + sum_j |r_j|_1 |u_j|_inf int_0^t e^(lambda_j s) ds)
/// ```
///
/// and each term grows with t. Evaluating V e^(Lambda t) U adds at most (n + 4) eps
/// e^(max(lambda, 0) t) max_(i,k) sum_j |v_ij| |u_jk| (n products, and each e^(lambda t)
/// good to a few ulp of 1). R and V U - I are computed in doubled precision
/// (`compensated_dot`): their terms are of the size of |A| and 1 while they are near
/// roundoff, so in working precision their own rounding would swamp them; the bound is
/// then exact to its own relative rounding, far inside the margin of `MAX_CHECK_ERROR`.
/// The three Pade matrix exponentials this replaces cost a quarter of a population
/// subject (issue 16) and were themselves only good to about 1e-12 for a mouse's
/// circulation.
fn exponential_error_bound(
    a: &DMatrix<f64>,
    lambda: &Modes,
    v: &DMatrix<f64>,
    u: &DMatrix<f64>,
    t: f64,
) -> f64 {
    let n = a.nrows();
    let mu = (0..n)
        .map(|j| {
            a[(j, j)]
                + (0..n)
                    .filter(|&i| i != j)
                    .map(|i| a[(i, j)].abs())
                    .sum::<f64>()
        })
        .fold(0.0, f64::max);
    let mut residual = 0.0;
    for j in 0..n {
        let r: f64 = (0..n)
            .map(|i| {
                let terms = (0..n).map(|k| (a[(i, k)], v[(k, j)]));
                compensated_dot(terms.chain([(-lambda[j], v[(i, j)])])).abs()
            })
            .sum();
        let l = lambda[j];
        let integral = if l == 0.0 { t } else { (l * t).exp_m1() / l };
        residual += r * u.row(j).amax() * integral;
    }
    let biorthogonal = (0..n)
        .map(|k| {
            (0..n)
                .map(|i| {
                    let terms = (0..n).map(|j| (v[(i, j)], u[(j, k)]));
                    let identity = if i == k { -1.0 } else { 0.0 };
                    compensated_dot(terms.chain([(identity, 1.0)])).abs()
                })
                .sum::<f64>()
        })
        .fold(0.0, f64::max);
    let largest = lambda.iter().take(n).fold(0.0, |m: f64, &l| m.max(l));
    let products = (0..n)
        .flat_map(|i| (0..n).map(move |k| (i, k)))
        .map(|(i, k)| (0..n).map(|j| (v[(i, j)] * u[(j, k)]).abs()).sum::<f64>())
        .fold(0.0, f64::max);
    let evaluation = (n + 4) as f64 * f64::EPSILON * (largest * t).exp() * products;
    (mu * t).exp() * (biorthogonal + residual) + evaluation
}

/// sum_k x_k y_k, as if computed in doubled precision. A product with a zero factor adds
/// exactly nothing to either part and is skipped: most entries of a rate matrix are zero
/// (the residuals of `refine` and `exponential_error_bound` are the larger part of an
/// eigendecomposition's cost), and the factors are finite.
fn compensated_dot(products: impl Iterator<Item = (f64, f64)>) -> f64 {
    let (mut hi, mut lo) = (0.0, 0.0);
    for (x, y) in products.filter(|&(x, y)| x != 0.0 && y != 0.0) {
        let (p, p_err) = two_product(x, y);
        let (s, s_err) = two_sum(hi, p);
        hi = s;
        lo += p_err + s_err;
    }
    hi + lo
}

/// a + b as s + e exactly (Knuth's TwoSum).
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// a b as p + e exactly (Dekker's product: each factor split into halves of 26 bits, whose
/// products are exact). The error term is unique, so this gives the bits a fused
/// multiply-add would; but without FMA in the compile target `mul_add` is a call into the
/// C library, which cost 6 % of a population subject. Exact unless a factor is beyond
/// 1e300 or a product below 1e-290, far outside rates, eigenvectors and their residuals.
fn two_product(a: f64, b: f64) -> (f64, f64) {
    let p = a * b;
    let (a_hi, a_lo) = split(a);
    let (b_hi, b_lo) = split(b);
    let e = ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo;
    (p, e)
}

/// x as hi + lo with hi holding the leading 26 bits (Veltkamp's split).
fn split(x: f64) -> (f64, f64) {
    let c = 134_217_729.0 * x; // 2^27 + 1
    let hi = c - (c - x);
    (hi, x - hi)
}

/// (e^z - 1 - z) / lambda^2 with z = lambda h: from `em1` = e^z - 1 where that difference
/// keeps its digits, from the Taylor series h^2 sum z^k / (k + 2)! where it would cancel.
fn phi2_of(lambda: f64, h: f64, em1: f64) -> f64 {
    let z = lambda * h;
    if z.abs() > 0.5 {
        return (em1 - z) / (lambda * lambda);
    }
    // Terms fall by at least a factor 6 from the first on: 25 terms reach below roundoff.
    let mut term = 0.5;
    let mut sum = 0.0;
    for k in 0..25 {
        sum += term;
        term *= z / (k as f64 + 3.0);
    }
    h * h * sum
}

/// Advances modes `y` over `step` under modal input `v`, returning the modes at the end
/// and adding the area under each mode to `area`.
pub fn advance(step: &Step, y: &Modes, v: &Modes, area: &mut Modes) -> Modes {
    *area += step.phi1.component_mul(y) + step.phi2.component_mul(v);
    step.exps.e.component_mul(y) + step.phi1.component_mul(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compartment::Compartment as C;

    /// A chain venous -> lung -> dead at rates `a` and `b` (1/h).
    fn chain(a: f64, b: f64) -> StateMatrix {
        let mut k = StateMatrix::zeros();
        let (v, l, d) = (C::BloodVenous.index(), C::Lung.index(), C::Dead.index());
        k[(v, v)] = -a;
        k[(l, v)] = a;
        k[(l, l)] = -b;
        k[(d, l)] = b;
        k
    }

    #[test]
    fn the_eigenbasis_reproduces_the_bateman_solution() {
        let (a, b) = (3.0, 0.25);
        let modal = Modal::new(&chain(a, b), &[C::BloodVenous, C::Lung])
            .expect("distinct rates: diagonalisable");
        let y0 = modal.modes_of(&C::BloodVenous.unit());
        for t in [0.01, 0.5, 3.0, 40.0] {
            let y = modal.exps(t).e.component_mul(&y0);
            let lung = modal.weights_of(&C::Lung.unit()).dot(&y);
            let exact = a / (b - a) * ((-a * t).exp() - (-b * t).exp());
            assert!(
                (lung - exact).abs() <= 1e-15 * exact.abs().max(1e-300),
                "t = {t}"
            );
        }
    }

    #[test]
    fn a_defective_chain_is_refused() {
        // Equal rates: the eigenvalue -a repeats with one eigenvector (t e^(-a t)).
        assert!(Modal::new(&chain(0.5, 0.5), &[C::BloodVenous, C::Lung]).is_none());
    }

    #[test]
    fn a_nearly_defective_chain_is_refused() {
        // Rates 1e-7 apart: an eigenbasis exists, but its eigenvectors are nearly
        // parallel (condition about 1e14), so rounding in it would swamp the result.
        assert!(Modal::new(&chain(0.5, 0.5 * (1.0 + 1e-7)), &[C::BloodVenous, C::Lung]).is_none());
    }

    proptest::proptest! {
        /// A basis accepted by the bound reproduces the matrix exponential (Pade, good to
        /// about 1e-13 at these rates) at the times the bound covers: exchange between
        /// venous blood, arterial blood and the lungs (a reversible cycle, so real
        /// eigenvalues), loss to the other states, and slower clearance from there.
        #[test]
        fn an_accepted_basis_reproduces_the_matrix_exponential(
            exchange in proptest::collection::vec(1e-2..50.0f64, 4),
            loss in proptest::collection::vec(1e-4..5.0f64, 5),
        ) {
            let states = [C::BloodVenous, C::BloodArterial, C::Lung, C::Spleen, C::Other];
            let mut k = StateMatrix::zeros();
            let mut flow = |from: C, to: C, rate: f64| {
                k[(from.index(), from.index())] -= rate;
                k[(to.index(), from.index())] += rate;
            };
            flow(C::BloodVenous, C::BloodArterial, exchange[0]);
            flow(C::BloodArterial, C::BloodVenous, exchange[1]);
            flow(C::BloodArterial, C::Lung, exchange[2]);
            flow(C::Lung, C::BloodArterial, exchange[3]);
            flow(C::BloodVenous, C::Spleen, loss[0]);
            flow(C::Lung, C::Other, loss[1]);
            flow(C::Spleen, C::Other, loss[2]);
            flow(C::Other, C::Dead, loss[3]);
            flow(C::Spleen, C::Dead, loss[4]);
            let Some(modal) = Modal::new(&k, &states) else {
                return Ok(());
            };
            let index: Vec<usize> = states.iter().map(|c| c.index()).collect();
            let a = DMatrix::from_fn(5, 5, |i, j| k[(index[i], index[j])]);
            for t in [1.0 / modal.fastest, 1.0, CHECK_HORIZON_H] {
                let reference = (&a * t).exp();
                let e = modal.exps(t).e;
                for (r, &i) in index.iter().enumerate() {
                    for (c, &j) in index.iter().enumerate() {
                        let rebuilt: f64 = (0..5).map(|m| modal.v[(i, m)] * e[m] * modal.v_inv[(m, j)]).sum();
                        proptest::prop_assert!(
                            (rebuilt - reference[(r, c)]).abs() <= MAX_CHECK_ERROR + 1e-12,
                            "t = {t}, entry ({r}, {c}): {rebuilt:e} against {:e}", reference[(r, c)]
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_cycle_with_complex_eigenvalues_is_refused() {
        // venous -> arterial -> lung -> venous at one rate: eigenvalues -1 + cube roots of 1.
        let mut k = StateMatrix::zeros();
        let states = [C::BloodVenous, C::BloodArterial, C::Lung];
        for (i, from) in states.iter().enumerate() {
            let to = states[(i + 1) % 3];
            k[(from.index(), from.index())] = -1.0;
            k[(to.index(), from.index())] = 1.0;
        }
        assert!(Modal::new(&k, &states).is_none());
    }

    #[test]
    fn exponentials_near_a_time_match_fresh_ones() {
        let modal = Modal::new(&chain(200.0, 0.04), &[C::BloodVenous, C::Lung])
            .expect("distinct rates: diagonalisable");
        let base = modal.exps(0.3);
        for delta in [1e-9, 1e-7, 1e-6, 3e-5, -4e-5] {
            let tau = 0.3 + delta;
            let (near, fresh) = (modal.exps_near(&base, tau), modal.exps(tau));
            for j in 0..2 {
                // The fresh exponential's argument lambda tau carries a rounding of
                // |lambda tau| ulp (60 at the fast mode), so the tolerance grows with it.
                let tolerance = 2e-16 * (4.0 + (modal.lambda()[j] * tau).abs());
                let close = |x: f64, y: f64| (x - y).abs() <= tolerance * y.abs();
                assert!(close(near.e[j], fresh.e[j]), "e, delta {delta}, mode {j}");
                assert!(
                    close(near.em1[j], fresh.em1[j]),
                    "e - 1, delta {delta}, mode {j}"
                );
            }
        }
    }

    proptest::proptest! {
        /// Dekker's product gives the fused multiply-add's error term, bit for bit.
        #[test]
        fn dekkers_product_is_exact(
            a in -1e6..1e6f64,
            b in -1e6..1e6f64,
            scale in -30..30i32,
        ) {
            let b = b * 2f64.powi(scale);
            let (p, e) = two_product(a, b);
            proptest::prop_assert_eq!(p, a * b);
            proptest::prop_assert_eq!(e.to_bits(), a.mul_add(b, -p).to_bits());
        }
    }

    #[test]
    fn phi2_agrees_across_its_two_formulas() {
        // At |z| = 0.5 both are accurate: the closed form loses only a factor ~10 to
        // cancellation there, the series converges fast.
        for (lambda, h) in [(-0.5, 1.0), (0.25, 2.0), (-1.0, 0.5)] {
            let z: f64 = lambda * h;
            let closed = (z.exp_m1() - z) / (lambda * lambda);
            let series = phi2_of(lambda, h * (1.0 - 1e-15), z.exp_m1());
            assert!(
                (series - closed).abs() <= 1e-13 * closed.abs(),
                "{lambda} {h}"
            );
        }
        assert_eq!(phi2_of(0.0, 2.0, 0.0), 2.0, "h^2 / 2 at lambda = 0");
    }
}
