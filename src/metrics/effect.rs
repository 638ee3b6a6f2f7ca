//! Metrics of the effect layer, from the marker's path in a general walk: improvement is
//! the marker's rise above its baseline, as a fraction of the baseline.

use super::{bracketed_root, time_above, turning_point, Peak};
use crate::engine::{Node, Observer, Path, Segment};
use crate::mechanisms::system;

/// What the effect layer achieved over a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Effect {
    /// Area under the improvement (fraction of baseline x days).
    pub improvement_auc_days: f64,
    /// Largest improvement (fraction of baseline).
    pub improvement_max: f64,
    /// Time with improvement above `effect.improvement_threshold` (days).
    pub days_improved: f64,
    /// From the start of the last administration given to the improvement's final fall below
    /// `effect.baseline_tolerance` (days); NaN if it is still above at the end.
    pub days_to_baseline: f64,
}

/// Collects `Effect` during a general walk.
#[derive(Debug, Clone)]
pub struct EffectAccumulator {
    threshold: f64,
    tolerance: f64,
    last_dose_h: f64,
    auc_h: f64,
    max: Peak,
    above_h: f64,
    /// When the improvement last fell to the tolerance (hours).
    last_fall_h: Option<f64>,
    /// Improvement at the latest node.
    latest: f64,
}

impl EffectAccumulator {
    /// An accumulator counting days above `threshold` and the return below `tolerance` from
    /// the last administration at `last_dose_h`.
    pub fn new(threshold: f64, tolerance: f64, last_dose_h: f64) -> Self {
        EffectAccumulator {
            threshold,
            tolerance,
            last_dose_h,
            auc_h: 0.0,
            max: Peak::NONE,
            above_h: 0.0,
            last_fall_h: None,
            latest: 0.0,
        }
    }

    /// The metrics of the walk.
    pub fn finish(&self) -> Effect {
        let days_to_baseline = if self.latest > self.tolerance {
            f64::NAN
        } else {
            self.last_fall_h
                .map_or(0.0, |t| (t - self.last_dose_h).max(0.0) / 24.0)
        };
        Effect {
            improvement_auc_days: self.auc_h / 24.0,
            improvement_max: self.max.value.max(0.0),
            days_improved: self.above_h / 24.0,
            days_to_baseline,
        }
    }

    /// Records a fall below the tolerance within a monotone piece.
    fn falls(&mut self, value: impl Fn(f64) -> f64, (ta, va): (f64, f64), (tb, vb): (f64, f64)) {
        let tol = self.tolerance;
        if va > tol && vb <= tol {
            let crossing = bracketed_root(ta, va - tol, tb, vb - tol, |t| value(t) - tol);
            self.last_fall_h = Some(crossing);
        }
    }
}

impl Observer for EffectAccumulator {
    fn node(&mut self, node: &Node) {
        if let Some(slow) = node.slow {
            self.latest = slow.marker - 1.0;
            self.max.offer(node.t, self.latest);
        }
    }

    fn segment(&mut self, segment: &Segment) {
        let Path::Dense { step } = segment.path else {
            return;
        };
        let (ta, tb) = (segment.t0, segment.t1);
        let improvement = |t: f64| system::slow(&step.state_at(t)).marker - 1.0;
        let slope = |t: f64| system::slow(&step.derivative_at(t)).marker;
        self.auc_h += system::slow(&step.integral(ta, tb)).marker - (tb - ta);
        let start = (ta, improvement(ta));
        let end = (tb, improvement(tb));
        let pieces = match turning_point(ta, tb, slope, improvement) {
            Some(turn) => {
                self.max.offer(turn.0, turn.1);
                vec![(start, turn), (turn, end)]
            }
            None => vec![(start, end)],
        };
        for (a, b) in pieces {
            self.above_h += time_above(improvement, a, b, self.threshold);
            self.falls(improvement, a, b);
        }
    }
}
