//! Drawing one virtual subject's parameters: a random stream of its own, correlated normal
//! scores, and each parameter's distribution truncated to the values it accepts.
//!
//! **Reproducible whatever the threads.** A subject's stream is a SplitMix64 sequence
//! started from a hash of the seed and the subject's index, so subject 41's values are the
//! same whether it is drawn first, last, alone or on another thread. SplitMix64 (Steele,
//! Lea and Flood 2014, the seeder of `java.util.SplittableRandom`) passes BigCrush, and a
//! subject draws a few dozen numbers, so the streams of different subjects, which start at
//! hashed points of one 2^64 cycle, do not meet.
//!
//! **Truncated, not clamped.** A draw outside a parameter's accepted range (a log-normal
//! extraction above 1, a normal rate below 0) is neither clamped, which would pile
//! probability on the bound (extraction exactly 1 in a share of the subjects), nor redrawn
//! by rejection, which would bend the correlations. Each normal score's uniform u is
//! mapped into the part of the distribution within the bounds,
//! x = F^-1(F(low) + u (F(high) - F(low))): the distribution conditioned on the accepted
//! range, exactly, with the copula kept. Validation requires the median to be accepted, so
//! at least half of every distribution lies inside and the inverse is well conditioned.

use crate::params::calibration::Scale;
use crate::params::Param;
use crate::scenario::{Distribution, Variability};

/// A subject's random stream (SplitMix64).
#[derive(Debug, Clone)]
pub struct Stream(u64);

/// SplitMix64's output function: a bijective mix of 64 bits.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Stream {
    /// The stream of subject `index` under `seed`.
    pub fn new(seed: u64, index: u64) -> Self {
        Stream(mix(mix(seed) ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
    }

    /// The next 64 random bits.
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// A uniform number in the open interval (0, 1): 53 random bits, centred in their
    /// cell, so that neither 0 nor 1 (infinite normal scores) can come out.
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }
}

/// The standard normal distribution function, from the complementary error function to
/// full double precision in both tails.
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)
}

/// The standard normal quantile for 0 < p < 1: Acklam's rational approximation (relative
/// error 1.2e-9) refined by one Halley step on `normal_cdf`, which brings it to about
/// 1e-15.
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const LOW: f64 = 0.024_25;
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let x = if p < LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    };
    // Halley's step: e is the error in p, u the step Newton would take.
    let e = normal_cdf(x) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (0.5 * x * x).exp();
    x - u / (1.0 + 0.5 * x * u)
}

/// The distribution function of `d` at `x`.
pub fn cdf(d: Distribution, x: f64) -> f64 {
    match d {
        Distribution::LogNormal { mu, sigma } => {
            if x <= 0.0 {
                0.0
            } else {
                normal_cdf((x.ln() - mu) / sigma)
            }
        }
        Distribution::Normal { mean, sd } => normal_cdf((x - mean) / sd),
        Distribution::Uniform { low, high } => ((x - low) / (high - low)).clamp(0.0, 1.0),
        Distribution::Calibrated { mu, sigma, scale } => {
            // Every value the fit's scale maps is above 0 (and below 1 for a fraction).
            let (low, high) = match scale {
                Scale::Ln => (0.0, f64::INFINITY),
                Scale::LnHazard => (0.0, 1.0),
            };
            if x <= low {
                0.0
            } else if x >= high {
                1.0
            } else {
                normal_cdf((scale.to_fit(x) - mu) / sigma)
            }
        }
    }
}

/// The quantile of `d` at 0 < p < 1.
pub fn quantile(d: Distribution, p: f64) -> f64 {
    match d {
        Distribution::LogNormal { mu, sigma } => (mu + sigma * normal_quantile(p)).exp(),
        Distribution::Normal { mean, sd } => mean + sd * normal_quantile(p),
        Distribution::Uniform { low, high } => low + p * (high - low),
        Distribution::Calibrated { mu, sigma, scale } => {
            scale.to_natural(mu + sigma * normal_quantile(p))
        }
    }
}

/// The value of `param` at uniform `u` of its distribution `d` truncated to the values the
/// parameter accepts (see the module documentation).
pub fn truncated(param: Param, d: Distribution, u: f64) -> f64 {
    let kind = param.kind();
    let (low, closed, high) = kind.bounds();
    let (f_low, f_high) = (cdf(d, low), cdf(d, high));
    let x = quantile(d, f_low + u * (f_high - f_low));
    if kind.admits(x) {
        return x;
    }
    // Rounding at a bound (u within an ulp of the bound's probability): the nearest value
    // accepted.
    let x = x.clamp(low, high);
    if x == low && !closed {
        low.next_up()
    } else {
        x
    }
}

/// The values of `variability`'s draws for the next subject from `stream`: independent
/// standard normal scores, correlated by the Cholesky factor, mapped to uniforms and
/// through each truncated distribution. Written into `values` (one per draw).
pub fn draw(variability: &Variability, stream: &mut Stream, values: &mut [f64]) {
    let n = variability.draws.len();
    let scores: Vec<f64> = (0..n).map(|_| normal_quantile(stream.uniform())).collect();
    for (i, (draw, value)) in variability.draws.iter().zip(values.iter_mut()).enumerate() {
        let row = &variability.cholesky[i * n..=i * n + i];
        let z: f64 = row.iter().zip(&scores).map(|(l, e)| l * e).sum();
        *value = truncated(draw.param, draw.distribution, normal_cdf(z));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_normal_quantile_inverts_the_distribution_function() {
        for &p in &[
            1e-12, 1e-6, 0.01, 0.024, 0.1, 0.3, 0.5, 0.7, 0.9, 0.976, 0.999_999,
        ] {
            let z = normal_quantile(p);
            assert!((normal_cdf(z) - p).abs() <= 1e-14 * p.max(1e-2), "p = {p}");
        }
        assert!((normal_quantile(0.975) - crate::scenario::Z_975).abs() < 1e-14);
    }

    #[test]
    fn a_subject_draws_the_same_whatever_was_drawn_before() {
        let a: Vec<f64> = {
            let mut s = Stream::new(7, 41);
            (0..5).map(|_| s.uniform()).collect()
        };
        let _ = Stream::new(7, 40).uniform();
        let mut s = Stream::new(7, 41);
        let b: Vec<f64> = (0..5).map(|_| s.uniform()).collect();
        assert_eq!(a, b);
        assert_ne!(Stream::new(7, 42).uniform(), a[0]);
        assert_ne!(Stream::new(8, 41).uniform(), a[0]);
    }

    #[test]
    fn truncation_keeps_draws_within_bounds_and_conditions_the_distribution() {
        // Log-normal with median 0.8 on a fraction: P(X > 1) = 1 - Phi(ln 1.25 / 0.5).
        let d = Distribution::LogNormal {
            mu: 0.8f64.ln(),
            sigma: 0.5,
        };
        let kept = cdf(d, 1.0);
        for &u in &[1e-9, 0.25, 0.5, 0.75, 1.0 - 1e-12] {
            let x = truncated(Param::LungExtraction, d, u);
            assert!((0.0..=1.0).contains(&x), "{x}");
            // The truncated distribution function at x is u.
            assert!((cdf(d, x) / kept - u).abs() < 1e-12, "u = {u}");
        }
    }
}
