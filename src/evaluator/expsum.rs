//! Sums of real exponentials, g(tau) = sum_j beta_j e^(lambda_j tau): where their zeros can
//! be, and each zero located to a tolerance.
//!
//! Between dose events every linear combination of states is such a sum in the eigenbasis
//! (`modal`), and its extrema are the zeros of its derivative, another such sum. To find
//! every extremum without sampling, zeros are first *isolated* into brackets that provably
//! hold exactly one sign change each, then refined by safeguarded Newton steps.
//!
//! Isolation uses two certificates on an interval [p, q]:
//!
//! - Laguerre's rule of signs for exponential sums (Polya & Szego, Problems and Theorems in
//!   Analysis II, Part V, problems 77-80): with the exponents in decreasing order, g has at
//!   most as many zeros in (p, infinity) as the partial sums of beta_j e^(lambda_j p) have
//!   sign changes (write g(p + s) as s times the Laplace transform of the step function of
//!   partial sums; the Laplace kernel does not increase sign changes). When g vanishes to
//!   order k at p, that transform vanishes to order k - 1 at s = 0, which the count also
//!   includes: for k >= 1, at most (changes - k + 1) zeros lie in (p, infinity) (for
//!   k = 0, at most `changes`). Mirrored (increasing
//!   order, at q), the rule bounds the zeros in (-infinity, q).
//! - a Taylor bound: if g^(k)(p) is the first derivative not zero at p and
//!   |g^(k)(p)| > (q - p) max|g^(k+1)| / (k + 1) over [p, q], g has no zero in (p, q]; the
//!   same on g' leaves g monotone there, so with at most one zero.
//!
//! With at most one zero, the signs of g just inside the two ends decide whether there is
//! one. Intervals are first cut at a ladder of times doubling from the fastest time scale
//! (where the exponentials are computed once per model), then halved where needed, within
//! a budget past which the caller is told that the zeros could not be isolated (and falls
//! back to the grid walk). Rounding is accounted for: a partial sum or derivative within
//! rounding of zero counts as zero, a partial sum so cancelled counting as two possible
//! sign changes.

use super::modal::{Exps, Modal, Modes};
use crate::compartment::N;

/// Most points at which the certificates are evaluated in one isolation.
const MAX_POINTS: usize = 400;

/// Most Newton or bisection steps of one refinement (bisection alone halves the bracket
/// each time, so 200 steps reach the smallest representable width of any bracket).
const MAX_REFINE_STEPS: usize = 200;

/// Multiple of the unit roundoff, times the sizes of the terms and of their errors, below
/// which a computed sum counts as zero (n <= 9 terms, each carrying a few roundings).
pub const ROUNDING: f64 = 64.0 * f64::EPSILON;

/// Orders of derivatives examined at a point: a sum of n <= 9 exponentials that is not
/// identically zero has a nonzero derivative of order below n at every point.
const ORDERS: usize = N + 1;

/// Multiple of the unit roundoff times the sum of magnitudes of the terms: the rounding of
/// evaluating a sum at one point, below which its sign is not trusted while refining.
pub const EVALUATION_ROUNDING: f64 = 8.0 * f64::EPSILON;

/// The zeros could not be isolated within the budget (a zero of even multiplicity, or
/// zeros closer together than rounding allows to separate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uncertain;

/// An interval (lo, hi) holding exactly one sign change of g.
#[derive(Debug, Clone, Copy)]
pub struct Bracket {
    /// Left end, with its exponentials.
    pub lo: Exps,
    /// Right end.
    pub hi: f64,
    /// Whether g is positive just right of `lo` (and so negative just left of `hi`).
    pub positive_before: bool,
}

/// g = sum_j beta_j e^(lambda_j tau) over the modes of `modal`.
#[derive(Debug, Clone, Copy)]
pub struct ExpSum<'a> {
    modal: &'a Modal,
    beta: Modes,
    /// Size of the error each coefficient may carry, in units of the roundoff: a modal
    /// coefficient is a projection of the state on a left eigenvector, whose rounding is
    /// relative to the cells in the system rather than to the coefficient.
    error: Modes,
}

/// What the certificates need at one point: the derivatives of g, their rounding levels,
/// and the order of the zero of g there.
#[derive(Debug, Clone, Copy)]
struct Point {
    exps: Exps,
    derivative: [f64; ORDERS],
    noise: [f64; ORDERS],
    /// Orders computed (the higher ones only when needed).
    computed: usize,
    /// Order of the first derivative above rounding (the order of the zero of g here);
    /// `ORDERS` when none is.
    order: usize,
}

impl Point {
    /// The order of the first derivative from order `from` on that is above rounding
    /// (among those computed).
    fn first_order_from(&self, from: usize) -> usize {
        (from..self.computed)
            .find(|&k| self.derivative[k].abs() > self.noise[k])
            .unwrap_or(ORDERS)
    }

    /// Sign of g just right (`right`) or just left of the point, from its first
    /// derivative above rounding (flipped for odd orders on the left); `None` where g is
    /// flat to rounding (every derivative within rounding of zero).
    fn side_sign(&self, right: bool) -> Option<bool> {
        let k = self.order;
        (k < ORDERS).then(|| (self.derivative[k] > 0.0) == (right || k.is_multiple_of(2)))
    }
}

impl<'a> ExpSum<'a> {
    /// The sum with coefficients `beta` on the modes of `modal`, each known to within
    /// `error` times the roundoff.
    pub fn new(modal: &'a Modal, beta: Modes, error: Modes) -> Self {
        ExpSum { modal, beta, error }
    }

    /// Whether every coefficient is zero (g vanishes identically).
    pub fn is_zero(&self) -> bool {
        self.beta.iter().all(|&b| b == 0.0)
    }

    /// g, g' and the rounding of evaluating g (`EVALUATION_ROUNDING`) where the
    /// exponentials are `e` (e_j = e^(lambda_j tau)).
    pub fn at(&self, e: &Modes) -> (f64, f64, f64) {
        let lambda = self.modal.lambda();
        let (mut g, mut g1, mut size, mut error) = (0.0, 0.0, 0.0, 0.0);
        for j in 0..self.modal.modes() {
            let t = self.beta[j] * e[j];
            g += t;
            g1 += t * lambda[j];
            size += t.abs();
            error += self.error[j] * e[j];
        }
        (g, g1, EVALUATION_ROUNDING * size + ROUNDING * error)
    }

    /// The certificates' view of g at `exps`: its value, or as many derivatives as it
    /// takes to find one above rounding (the certificates need the first such only).
    fn point(&self, exps: Exps) -> Point {
        let mut point = self.point_to(exps, 1);
        for computed in [3, ORDERS] {
            if point.order < ORDERS {
                break;
            }
            point = self.point_to(exps, computed);
        }
        point
    }

    /// The derivatives of g below order `computed` at `exps`, with their rounding levels.
    fn point_to(&self, exps: Exps, computed: usize) -> Point {
        let lambda = self.modal.lambda();
        let mut derivative = [0.0; ORDERS];
        let mut noise = [0.0; ORDERS];
        for j in 0..self.modal.modes() {
            let mut t = self.beta[j] * exps.e[j];
            let mut size = t.abs() + self.error[j] * exps.e[j];
            for k in 0..computed {
                derivative[k] += t;
                noise[k] += ROUNDING * size;
                t *= lambda[j];
                size *= lambda[j].abs();
            }
        }
        let mut point = Point {
            exps,
            derivative,
            noise,
            computed,
            order: ORDERS,
        };
        point.order = point.first_order_from(0);
        point
    }

    /// Laguerre's bound on the zeros of g in (tau, infinity) (`after`) or in
    /// (-infinity, tau) at `point`.
    fn zeros_bound(&self, point: &Point, after: bool) -> usize {
        let order = self.modal.order();
        let n = order.len();
        let mut changes: usize = 0;
        let mut last: Option<bool> = None;
        let (mut sum, mut magnitude) = (0.0, 0.0);
        for i in 0..n {
            let j = if after { order[i] } else { order[n - 1 - i] };
            let t = self.beta[j] * point.exps.e[j];
            sum += t;
            magnitude += t.abs() + self.error[j] * point.exps.e[j];
            if sum.abs() <= ROUNDING * magnitude {
                // The last partial sum is g itself: zero there is the zero at tau, whose
                // order is subtracted below.
                if i + 1 < n && magnitude > 0.0 {
                    changes += 2;
                }
                continue;
            }
            let positive = sum > 0.0;
            if last.is_some_and(|l| l != positive) {
                changes += 1;
            }
            last = Some(positive);
        }
        // A zero of known order k at tau is counted k - 1 times too often (see the module
        // documentation); where every derivative is within rounding the order is unknown,
        // and nothing is taken off.
        if point.order < ORDERS {
            changes.saturating_sub(point.order.saturating_sub(1))
        } else {
            changes
        }
    }

    /// Bound on |g^(k)| over [p, q] (each term is monotone, so it is largest at one end).
    fn derivative_bound(&self, k: usize, p: &Point, q: &Point) -> f64 {
        let lambda = self.modal.lambda();
        (0..self.modal.modes())
            .map(|j| (self.beta[j] * lambda[j].powi(k as i32)).abs() * p.exps.e[j].max(q.exps.e[j]))
            .sum()
    }

    /// Whether the derivative of order `from` of g (0: g itself) keeps one sign strictly
    /// inside (p, q] (`forward`, expanding at p) or [p, q) (expanding at q): its Taylor
    /// polynomial at that end, led by the first derivative above rounding, with every
    /// later term that could oppose the leading one taken at its largest and the
    /// remainder bounded by the largest size of the top derivative over [p, q], cannot
    /// reach zero. Lower derivatives within rounding of zero count as zero.
    fn keeps_sign(&self, from: usize, p: &Point, q: &Point, forward: bool) -> bool {
        let at = self.point_to((if forward { p } else { q }).exps, ORDERS);
        let at = &at;
        let k = at.first_order_from(from);
        if k >= ORDERS {
            return false;
        }
        let s = q.exps.tau - p.exps.tau;
        // Backward, the term of order i carries (-1)^(i - from).
        let side = |i: usize| {
            if forward || (i - from).is_multiple_of(2) {
                1.0
            } else {
                -1.0
            }
        };
        let lead = side(k) * at.derivative[k].signum();
        // Bound on the polynomial divided by its leading term's s^(k - from) / (k - from)!.
        let mut margin = at.derivative[k].abs();
        let mut factor = 1.0;
        for i in k + 1..ORDERS {
            factor *= s / (i - from) as f64;
            let aligned = lead * side(i) * at.derivative[i];
            margin -= (at.noise[i] + (-aligned).max(0.0)) * factor;
        }
        factor *= s / (ORDERS - from) as f64;
        margin -= self.derivative_bound(ORDERS, p, q) * factor;
        margin > 0.0
    }

    /// Brackets every sign change of g in (0, h) into `found`, in time order; `end` holds
    /// the exponentials at h and `ladder` those at the model's ladder of times. Extrema of the
    /// underlying curve exactly at 0 or h are not reported (the caller sees those ends as
    /// nodes).
    pub fn isolate(
        &self,
        end: &Exps,
        ladder: &[Exps],
        found: &mut Vec<Bracket>,
    ) -> Result<(), Uncertain> {
        found.clear();
        let h = end.tau;
        if self.is_zero() || h <= 0.0 {
            return Ok(());
        }
        let mut budget = MAX_POINTS;
        let start = self.point(self.modal.origin());
        let end = self.point(*end);
        let mut cuts = ladder.iter().filter(|x| x.tau > 0.0 && x.tau < h);
        let mut p = start;
        loop {
            // Once the rest of the step holds at most one zero, the ends decide.
            if self.zeros_bound(&p, true) <= 1 {
                return self.settle(&p, &end, found);
            }
            // A cut where g is within rounding of zero could hide a sign change between
            // the two intervals it separates: such a cut is passed over.
            let q = loop {
                match cuts.next() {
                    Some(x) => {
                        let cut = self.point(*x);
                        if cut.order == 0 {
                            break cut;
                        }
                    }
                    None => break end,
                }
            };
            self.isolate_within(&p, &q, &mut budget, found)?;
            if q.exps.tau >= h {
                return Ok(());
            }
            p = q;
        }
    }

    /// Adds the bracket of (p, q) if g changes sign there, knowing it has at most one zero.
    /// An end where g is within rounding of zero is moved inside to where g has left
    /// rounding (`clear_of_zero`), so that refining never trusts the sign of rounding. An end
    /// where every derivative is within rounding (a fast circulation's derivatives are
    /// large enough to drown a slow process's there) leaves the side unknown: uncertain.
    fn settle(&self, p: &Point, q: &Point, found: &mut Vec<Bracket>) -> Result<(), Uncertain> {
        let (Some(before), Some(after)) = (p.side_sign(true), q.side_sign(false)) else {
            return Err(Uncertain);
        };
        if before != after {
            let lo = match p.order {
                0 => p.exps,
                _ => self.clear_of_zero(p, q, true)?,
            };
            let hi = match q.order {
                0 => q.exps.tau,
                _ => self.clear_of_zero(q, p, false)?.tau,
            };
            found.push(Bracket {
                lo,
                hi,
                positive_before: before,
            });
        }
        Ok(())
    }

    /// For an end `at` where g is within rounding of zero, the exponentials at the nearest
    /// point towards `other` where g has left rounding with the sign it takes on that side
    /// of `at`: from the
    /// Taylor term that leads at `at`, the distance s where that term is a thousand times
    /// the rounding, checked and widened (by four, a few times) until the value there
    /// agrees. The skipped stretch is so short (well below the time tolerance when the
    /// leading order is low) that a zero inside it would be an extremum with the value of
    /// the end itself.
    fn clear_of_zero(&self, at: &Point, other: &Point, right: bool) -> Result<Exps, Uncertain> {
        let k = at.order;
        if k == 0 || k >= ORDERS {
            return Err(Uncertain);
        }
        let sign = at.side_sign(right).ok_or(Uncertain)?;
        let factorial: f64 = (1..=k).map(|i| i as f64).product();
        let room = (other.exps.tau - at.exps.tau).abs();
        let mut s = (1e3 * at.noise[0] * factorial / at.derivative[k].abs()).powf(1.0 / k as f64);
        for _ in 0..8 {
            if !s.is_finite() || s >= 0.5 * room {
                break;
            }
            let tau = if right {
                at.exps.tau + s
            } else {
                at.exps.tau - s
            };
            let inner = self.point(self.modal.exps(tau));
            if inner.order == 0 && (inner.derivative[0] > 0.0) == sign {
                return Ok(inner.exps);
            }
            s *= 4.0;
        }
        Err(Uncertain)
    }

    /// Isolates the zeros in (p, q), halving where no certificate applies.
    fn isolate_within(
        &self,
        p: &Point,
        q: &Point,
        budget: &mut usize,
        found: &mut Vec<Bracket>,
    ) -> Result<(), Uncertain> {
        // Depth-first, right half pushed first, so brackets come out in time order.
        let mut stack = vec![(*p, *q)];
        while let Some((p, q)) = stack.pop() {
            if self.zeros_bound(&p, true) <= 1
                || self.zeros_bound(&q, false) <= 1
                || self.keeps_sign(1, &p, &q, true)
                || self.keeps_sign(1, &p, &q, false)
            {
                self.settle(&p, &q, found)?;
                continue;
            }
            if self.keeps_sign(0, &p, &q, true) || self.keeps_sign(0, &p, &q, false) {
                continue;
            }
            // Halve, moving the cut off any point where g is within rounding of zero (for
            // the reason given in `isolate`).
            let mut mid = None;
            for share in [0.5, 0.6, 0.4, 0.7, 0.3] {
                let m = p.exps.tau + share * (q.exps.tau - p.exps.tau);
                if *budget == 0 || !(m > p.exps.tau && m < q.exps.tau) {
                    return Err(Uncertain);
                }
                *budget -= 1;
                let cut = self.point(self.modal.exps(m));
                if cut.order == 0 {
                    mid = Some(cut);
                    break;
                }
            }
            let mid = mid.ok_or(Uncertain)?;
            stack.push((mid, q));
            stack.push((p, mid));
        }
        Ok(())
    }
}

/// The zero of a function with one sign change in `bracket`, by Newton steps kept inside
/// the bracket (a bisection whenever a step would leave it or fails to halve the previous
/// one). `eval(tau)` returns the function, its derivative and the function's rounding
/// level: a value within rounding of zero says nothing about the side of the zero, so it
/// does not move the bracket. The first point tried is `start` when it lies inside, else
/// the middle. Stops when a step is shorter than `tolerance`; the last point passed to
/// `eval` is then within that step of the zero.
pub fn refine(
    bracket: &Bracket,
    start: f64,
    tolerance: f64,
    mut eval: impl FnMut(f64) -> (f64, f64, f64),
) -> f64 {
    let (mut lo, mut hi) = (bracket.lo.tau, bracket.hi);
    let mut x = if start > lo && start < hi {
        start
    } else {
        0.5 * (lo + hi)
    };
    let mut previous_step = hi - lo;
    for _ in 0..MAX_REFINE_STEPS {
        let (v, d, noise) = eval(x);
        if v == 0.0 {
            return x;
        }
        // Keep the sign change inside (lo, hi); a value within rounding of zero is as good
        // as a zero for the value, but says nothing about the side.
        let decided = v.abs() > noise;
        if decided && (v > 0.0) == bracket.positive_before {
            lo = x;
        } else if decided {
            hi = x;
        }
        let newton = x - v / d;
        let step = (newton - x).abs();
        // A Newton step below the tolerance has converged (it may round to x itself).
        if step < tolerance && newton >= lo && newton <= hi {
            return newton;
        }
        let inside = newton > lo && newton < hi;
        let next = if inside && (step <= 0.5 * previous_step || !decided) {
            newton
        } else {
            0.5 * (lo + hi)
        };
        previous_step = (next - x).abs();
        if previous_step < tolerance || hi - lo < tolerance {
            return next;
        }
        x = next;
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compartment::{Compartment as C, StateMatrix};

    /// Three states decaying on their own at rates 1, 2 and 3 (1/h): modes e^(-tau),
    /// e^(-2 tau), e^(-3 tau).
    fn decays() -> Modal {
        let mut k = StateMatrix::zeros();
        let states = [C::BloodVenous, C::Lung, C::Spleen];
        for (rate, c) in [1.0, 2.0, 3.0].into_iter().zip(states) {
            k[(c.index(), c.index())] = -rate;
            k[(C::Dead.index(), c.index())] = rate;
        }
        let mut modal = Modal::new(&k, &states).expect("distinct decay rates");
        modal.reach(24.0);
        modal
    }

    /// The sum with coefficients `c` on e^(-tau), e^(-2 tau), e^(-3 tau).
    fn sum<'a>(modal: &'a Modal, c: [f64; 3]) -> ExpSum<'a> {
        let mut beta = Modes::zeros();
        for j in 0..3 {
            let rate = -modal.lambda()[j];
            let i = [1.0, 2.0, 3.0]
                .iter()
                .position(|&r| r == rate)
                .expect("a known rate");
            beta[j] = c[i];
        }
        ExpSum::new(modal, beta, Modes::zeros())
    }

    #[test]
    fn both_zeros_of_a_three_term_sum_are_bracketed_and_found() {
        // x - 6 x^2 + 8 x^3 = x (1 - 2x) (1 - 4x) with x = e^(-tau): zeros at ln 2, ln 4.
        let modal = decays();
        let g = sum(&modal, [1.0, -6.0, 8.0]);
        let mut found = Vec::new();
        g.isolate(&modal.exps(3.0), modal.ladder(), &mut found)
            .expect("simple zeros");
        assert_eq!(found.len(), 2, "{found:?}");
        for (bracket, zero) in found.iter().zip([2f64.ln(), 4f64.ln()]) {
            assert!(
                bracket.lo.tau < zero && zero < bracket.hi,
                "{bracket:?} misses {zero}"
            );
            let tau = refine(bracket, bracket.lo.tau, 1e-12, |tau| {
                let (v, d, noise) = g.at(&modal.exps(tau).e);
                (v, d, noise)
            });
            assert!((tau - zero).abs() < 1e-11, "{tau} vs {zero}");
        }
    }

    #[test]
    fn a_sum_without_zeros_gives_no_bracket() {
        // e^(-tau) - 2 e^(-2 tau) + e^(-3 tau) = x (1 - x)^2 > 0 for tau > 0: a double zero
        // at tau = 0 only, outside (0, h).
        let modal = decays();
        let g = sum(&modal, [1.0, -2.0, 1.0]);
        let mut found = Vec::new();
        g.isolate(&modal.exps(5.0), modal.ladder(), &mut found)
            .expect("no zero inside");
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn laguerre_counts_bound_the_zeros_beyond_a_point() {
        let modal = decays();
        let g = sum(&modal, [1.0, -6.0, 8.0]);
        let at = |tau: f64| g.point(modal.exps(tau));
        // Both zeros (ln 2, ln 4) lie after 0.5 and one after 1.0: the bound may exceed the
        // count (it is 2 still at 1.5) but never falls below it, and once the slowest term
        // dominates every partial sum it is exact.
        for (tau, zeros) in [(0.5, 2), (1.0, 1), (1.5, 0)] {
            assert!(g.zeros_bound(&at(tau), true) >= zeros, "after {tau}");
        }
        assert_eq!(g.zeros_bound(&at(3.0), true), 0, "partial sums of one sign");
        // Before: none before 0.5, one before 1.0, two before 3.0.
        for (tau, zeros) in [(1.0, 1), (3.0, 2)] {
            assert!(g.zeros_bound(&at(tau), false) >= zeros, "before {tau}");
        }
    }
}
