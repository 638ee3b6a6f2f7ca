//! Sobol variance-based indices by Saltelli's sampling scheme.
//!
//! Two independent n x d sample matrices A and B come from one scrambled Sobol sequence of
//! 2d dimensions (the first d columns are A, the last d are B); for each factor i, AB_i is
//! A with its column i taken from B. The model is evaluated on A, B and every AB_i:
//! n (d + 2) evaluations. Estimators (Saltelli et al. 2010, Comput Phys Commun 181:259,
//! their table 2, (b) and (f)), with V the variance of f over A and B together:
//!
//! ```text
//!     S_i  = mean_j( f(B)_j (f(AB_i)_j - f(A)_j) ) / V        first order
//!     ST_i = mean_j( (f(A)_j - f(AB_i)_j)^2 ) / (2 V)         total (Jansen 1999)
//! ```
//!
//! Confidence intervals are bootstrap percentiles: the n rows resampled with replacement
//! (seeded), the indices recomputed, the 2.5 and 97.5 % quantiles taken.
//!
//! The sequence is `sobol_burley`'s Owen-scrambled Sobol sequence (Burley 2020, with Kuo
//! et al.'s direction numbers): a maintained crate, seedable, up to 256 dimensions and
//! 2^16 points, which bounds this design to 128 factors and n = 65,536.

use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::population::quantile_of_sorted;

/// Most factors: the sequence has 256 dimensions, two per factor.
pub const MAX_FACTORS: usize = 128;
/// Most base samples: the sequence's length.
pub const MAX_SAMPLES: usize = 1 << 16;

/// The points to evaluate, in the unit cube: A's rows, then B's, then AB_1's, ...,
/// AB_d's (n (d + 2) points of d coordinates, row-major).
pub fn design(n: usize, d: usize, seed: u32) -> Vec<Vec<f64>> {
    assert!(n <= MAX_SAMPLES && (1..=MAX_FACTORS).contains(&d));
    // Index 0 of an Owen-scrambled sequence is as good as any other point, so it is used.
    let point = |j: usize, first: usize| -> Vec<f64> {
        (0..d)
            .map(|k| f64::from(sobol_burley::sample(j as u32, (first + k) as u32, seed)))
            .collect()
    };
    let a: Vec<Vec<f64>> = (0..n).map(|j| point(j, 0)).collect();
    let b: Vec<Vec<f64>> = (0..n).map(|j| point(j, d)).collect();
    let mut points = Vec::with_capacity(n * (d + 2));
    points.extend(a.iter().cloned());
    points.extend(b.iter().cloned());
    for i in 0..d {
        points.extend(a.iter().zip(&b).map(|(a, b)| {
            let mut ab = a.clone();
            ab[i] = b[i];
            ab
        }));
    }
    points
}

/// One index with its bootstrap 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The estimate from every sample.
    pub value: f64,
    /// 2.5 % bootstrap quantile.
    pub low: f64,
    /// 97.5 % bootstrap quantile.
    pub high: f64,
}

/// First-order and total indices of one factor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Indices {
    /// S_i: the share of the variance due to the factor alone.
    pub first: Estimate,
    /// ST_i: the share due to the factor with all its interactions.
    pub total: Estimate,
}

/// The indices of each of `d` factors from the outputs `y` of the points of [`design`]
/// (in its order), with `resamples` bootstrap resamples drawn from `seed`. `None` when
/// the output does not vary (no variance to share out) or is not finite.
pub fn indices(y: &[f64], n: usize, d: usize, resamples: usize, seed: u64) -> Option<Vec<Indices>> {
    assert_eq!(y.len(), n * (d + 2), "one output per design point");
    if y.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let all: Vec<usize> = (0..n).collect();
    let point = estimates(y, n, d, &all)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rows = vec![0; n];
    let mut boot: Vec<Vec<(f64, f64)>> = vec![Vec::with_capacity(resamples); d];
    for _ in 0..resamples {
        rows.iter_mut().for_each(|r| *r = rng.random_range(0..n));
        if let Some(e) = estimates(y, n, d, &rows) {
            for (b, e) in boot.iter_mut().zip(e) {
                b.push(e);
            }
        }
    }
    let interval = |mut v: Vec<f64>, value: f64| -> Estimate {
        v.sort_by(f64::total_cmp);
        Estimate {
            value,
            // Without a resample that varied, the estimate itself.
            low: if v.is_empty() {
                value
            } else {
                quantile_of_sorted(&v, 0.025)
            },
            high: if v.is_empty() {
                value
            } else {
                quantile_of_sorted(&v, 0.975)
            },
        }
    };
    Some(
        point
            .into_iter()
            .zip(boot)
            .map(|((s, st), b)| Indices {
                first: interval(b.iter().map(|e| e.0).collect(), s),
                total: interval(b.iter().map(|e| e.1).collect(), st),
            })
            .collect(),
    )
}

/// (S_i, ST_i) for each factor from the sample rows `rows` (indices into 0..n, repeats
/// allowed).
fn estimates(y: &[f64], n: usize, d: usize, rows: &[usize]) -> Option<Vec<(f64, f64)>> {
    let fa = |j: usize| y[j];
    let fb = |j: usize| y[n + j];
    let fab = |i: usize, j: usize| y[(2 + i) * n + j];
    let m = rows.len() as f64;
    let mean = rows.iter().map(|&j| fa(j) + fb(j)).sum::<f64>() / (2.0 * m);
    let variance = rows
        .iter()
        .map(|&j| (fa(j) - mean).powi(2) + (fb(j) - mean).powi(2))
        .sum::<f64>()
        / (2.0 * m - 1.0);
    if variance.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        return None;
    }
    Some(
        (0..d)
            .map(|i| {
                let (first, total) = rows.iter().fold((0.0, 0.0), |(s, t), &j| {
                    let change = fab(i, j) - fa(j);
                    (s + fb(j) * change, t + change * change)
                });
                (first / m / variance, total / (2.0 * m) / variance)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    /// Runs the design on `f` over the unit cube mapped by `to`.
    fn run(f: impl Fn(&[f64]) -> f64, d: usize, n: usize) -> Vec<Indices> {
        let y: Vec<f64> = design(n, d, 7).iter().map(|x| f(x)).collect();
        indices(&y, n, d, 500, 11).expect("varies")
    }

    fn ishigami(x: &[f64]) -> f64 {
        let [x1, x2, x3] = [0, 1, 2].map(|k| -PI + 2.0 * PI * x[k]);
        x1.sin() + 7.0 * x2.sin().powi(2) + 0.1 * x3.powi(4) * x1.sin()
    }

    /// The Ishigami function (a = 7, b = 0.1, x uniform on [-pi, pi]^3), whose indices are
    /// known in closed form (Ishigami & Homma 1990; Sobol' & Levitan 1999):
    /// V = a^2/8 + b pi^4/5 + b^2 pi^8/18 + 1/2, V1 = (1 + b pi^4/5)^2 / 2, V2 = a^2/8,
    /// V13 = b^2 pi^8 (1/18 - 1/50), V3 = V12 = V23 = V123 = 0.
    #[test]
    fn ishigami_indices_fall_in_their_bootstrap_intervals() {
        let (a, b) = (7.0, 0.1);
        let pi4 = PI.powi(4);
        let v = a * a / 8.0 + b * pi4 / 5.0 + b * b * pi4 * pi4 / 18.0 + 0.5;
        let v1 = (1.0 + b * pi4 / 5.0).powi(2) / 2.0;
        let v2 = a * a / 8.0;
        let v13 = b * b * pi4 * pi4 * (1.0 / 18.0 - 1.0 / 50.0);
        let exact = [(v1 / v, (v1 + v13) / v), (v2 / v, v2 / v), (0.0, v13 / v)];
        let got = run(ishigami, 3, 4096);
        for (i, ((s, st), g)) in exact.iter().zip(&got).enumerate() {
            for (what, want, e) in [("S", s, g.first), ("ST", st, g.total)] {
                assert!(
                    e.low <= *want && *want <= e.high && (e.value - want).abs() < 0.03,
                    "{what}{}: exact {want:.4}, estimate {:.4} [{:.4}, {:.4}]",
                    i + 1,
                    e.value,
                    e.low,
                    e.high
                );
            }
        }
    }

    /// A linear model of independent uniform factors: S_i = ST_i = c_i^2 / sum c_j^2.
    #[test]
    fn linear_model_indices_are_the_coefficients_shares() {
        let c = [1.0, 2.0, 0.5, 0.0];
        let total: f64 = c.iter().map(|c| c * c).sum();
        let got = run(|x| c.iter().zip(x).map(|(c, x)| c * x).sum(), 4, 2048);
        for (c, g) in c.iter().zip(&got) {
            let want = c * c / total;
            for e in [g.first, g.total] {
                assert!(
                    (e.value - want).abs() < 0.02
                        && e.low <= want + 1e-12
                        && want <= e.high + 1e-12,
                    "want {want:.4}, got {e:?}"
                );
            }
        }
    }

    #[test]
    fn a_constant_output_has_no_indices_and_the_bootstrap_is_seeded() {
        assert!(indices(&[3.0; 5 * 4], 5, 2, 10, 1).is_none());
        let y: Vec<f64> = design(256, 3, 1).iter().map(|x| ishigami(x)).collect();
        assert_eq!(indices(&y, 256, 3, 50, 4), indices(&y, 256, 3, 50, 4));
    }
}
