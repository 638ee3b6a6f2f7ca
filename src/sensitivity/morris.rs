//! Morris elementary effects: a screening that ranks factors at r (d + 1) evaluations.
//!
//! Each of r trajectories starts at a random point of a p-level grid in the unit cube and
//! moves one factor at a time, in random order, by Delta = p / (2 (p - 1)) up or down
//! (Morris 1991, Technometrics 33:161). The elementary effect of factor i on a trajectory
//! is the change of the output over the step divided by the signed step. Over the
//! trajectories, mu* (the mean of the absolute effects; Campolongo et al. 2007, Environ
//! Model Softw 22:1509) ranks influence, and sigma (their standard deviation) shows
//! nonlinearity or interactions: a factor acting linearly and alone has sigma 0.

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Grid levels (p = 4, the usual choice: Delta = 2/3).
pub const LEVELS: usize = 4;

/// One trajectory: its d + 1 points, and for each step the factor moved and the signed
/// step.
#[derive(Debug, Clone, PartialEq)]
pub struct Trajectory {
    /// The points, each d coordinates in [0, 1].
    pub points: Vec<Vec<f64>>,
    /// Step k (from point k to k + 1): the factor moved and by how much.
    pub steps: Vec<(usize, f64)>,
}

/// `r` trajectories over `d` factors, drawn from `seed`.
pub fn design(r: usize, d: usize, seed: u64) -> Vec<Trajectory> {
    let delta = LEVELS as f64 / (2.0 * (LEVELS - 1) as f64);
    // Starting levels k / (p - 1) for k below p / 2, so that a step up stays in the cube.
    let starts = LEVELS / 2;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..r)
        .map(|_| {
            let mut x: Vec<f64> = (0..d)
                .map(|_| rng.random_range(0..starts) as f64 / (LEVELS - 1) as f64)
                .collect();
            let up: Vec<bool> = (0..d).map(|_| rng.random_bool(0.5)).collect();
            // A factor stepped down starts Delta higher.
            for (x, &up) in x.iter_mut().zip(&up) {
                if !up {
                    *x += delta;
                }
            }
            let mut order: Vec<usize> = (0..d).collect();
            order.shuffle(&mut rng);
            let mut points = vec![x.clone()];
            let mut steps = Vec::with_capacity(d);
            for i in order {
                let step = if up[i] { delta } else { -delta };
                x[i] += step;
                points.push(x.clone());
                steps.push((i, step));
            }
            Trajectory { points, steps }
        })
        .collect()
}

/// The screening measures of one factor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Effects {
    /// Mean of the absolute elementary effects.
    pub mu_star: f64,
    /// Mean of the elementary effects (signed).
    pub mu: f64,
    /// Their standard deviation (n - 1 in the denominator; 0 for one trajectory).
    pub sigma: f64,
}

/// The effects of each of `d` factors from the outputs along each trajectory of
/// [`design`] (`outputs[t][k]` at point k of trajectory t).
pub fn effects(trajectories: &[Trajectory], outputs: &[Vec<f64>], d: usize) -> Vec<Effects> {
    let mut per_factor: Vec<Vec<f64>> = vec![Vec::with_capacity(trajectories.len()); d];
    for (t, y) in trajectories.iter().zip(outputs) {
        for (k, &(i, step)) in t.steps.iter().enumerate() {
            per_factor[i].push((y[k + 1] - y[k]) / step);
        }
    }
    per_factor
        .iter()
        .map(|ee| {
            let n = ee.len() as f64;
            let mu = ee.iter().sum::<f64>() / n;
            let sigma = if ee.len() > 1 {
                (ee.iter().map(|e| (e - mu).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
            } else {
                0.0
            };
            Effects {
                mu_star: ee.iter().map(|e| e.abs()).sum::<f64>() / n,
                mu,
                sigma,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screen(f: impl Fn(&[f64]) -> f64, d: usize, r: usize) -> Vec<Effects> {
        let t = design(r, d, 3);
        let y: Vec<Vec<f64>> = t
            .iter()
            .map(|t| t.points.iter().map(|x| f(x)).collect())
            .collect();
        effects(&t, &y, d)
    }

    #[test]
    fn trajectories_stay_on_the_grid_and_move_each_factor_once() {
        for t in design(50, 6, 9) {
            assert_eq!(t.points.len(), 7);
            let mut moved: Vec<usize> = t.steps.iter().map(|s| s.0).collect();
            moved.sort_unstable();
            assert_eq!(moved, (0..6).collect::<Vec<_>>());
            for p in t.points.iter().flatten() {
                let level = p * (LEVELS - 1) as f64;
                assert!((0.0..=1.0).contains(p) && (level - level.round()).abs() < 1e-12);
            }
        }
    }

    /// A linear function's elementary effects are its coefficients exactly, every time.
    #[test]
    fn a_linear_function_has_its_coefficients_as_effects_and_no_spread() {
        let c = [3.0, -1.0, 0.0, 0.5];
        let got = screen(|x| c.iter().zip(x).map(|(c, x)| c * x).sum(), 4, 20);
        for (c, e) in c.iter().zip(&got) {
            assert!((e.mu - c).abs() < 1e-12 && (e.mu_star - c.abs()).abs() < 1e-12);
            assert!(e.sigma < 1e-12, "{e:?}");
        }
    }

    /// A known ranking: 10 x1^2 (nonlinear) > 5 x2 > x3 > x4 (inert), and only x1's
    /// effects spread (sigma > 0).
    #[test]
    fn screening_orders_a_known_function_right() {
        let got = screen(|x| 10.0 * x[0] * x[0] + 5.0 * x[1] + x[2], 4, 40);
        let mu: Vec<f64> = got.iter().map(|e| e.mu_star).collect();
        assert!(
            mu[0] > mu[1] && mu[1] > mu[2] && mu[2] > mu[3] && mu[3] == 0.0,
            "{mu:?}"
        );
        assert!(got[0].sigma > 1.0 && got[1].sigma < 1e-12, "{got:?}");
    }
}
