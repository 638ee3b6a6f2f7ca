//! Axis ranges and ticks: where each axis starts and ends, its ticks, and how their
//! labels read; plain arithmetic, tested on its own. [`TickAxis`] hands the result to
//! plotters. The sweep figures get their own log rules ([`YAxis::log_sweep`],
//! [`Ticks::log_sweep`]): every positive value shown, 1-2-5 steps below two decades,
//! each label at its own precision. Thinning colliding labels needs text widths, so it
//! lives in `frame`.

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;

/// Linear sweep axes with at most this many values get a tick at each value.
pub(super) const FEW_VALUES: usize = 12;

/// The y axis in the coordinates the chart uses.
pub(super) struct YAxis {
    /// Bottom of the axis (log10 units for a log axis).
    pub(super) lo: f64,
    /// Top of the axis (log10 units for a log axis).
    pub(super) hi: f64,
    /// `Some(floor)` for a log axis: values below `floor` are not drawn.
    pub(super) log_floor: Option<f64>,
    /// Tick positions (axis units) and labels.
    pub(super) ticks: Ticks,
}

impl YAxis {
    /// Linear axis from zero (or 5 % below the most negative value) to 5 % above the peak.
    pub(super) fn linear(values: impl Iterator<Item = f64>) -> Self {
        let (min, max) = values.fold((0.0_f64, 0.0_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let lo = if min < 0.0 { 1.05 * min } else { 0.0 };
        let hi = if max > 0.0 { 1.05 * max } else { 0.0 };
        // All zeros: show a unit range rather than a degenerate axis.
        let (lo, hi) = if hi > lo { (lo, hi) } else { (0.0, 1.0) };
        let ticks = Ticks::linear(lo, hi, false);
        Self {
            lo,
            hi,
            log_floor: None,
            ticks,
        }
    }

    /// Decade axis over the positive values; the floor rule is explained in
    /// the [module documentation](super).
    pub(super) fn log(values: impl Iterator<Item = f64>) -> Self {
        let (lo, hi) = match extent(values.filter(|&v| v > 0.0)) {
            None => (0.0, 1.0),
            Some((min_pos, peak)) => {
                let lo = min_pos.max((1e-3 * peak).min(1.0)).log10().floor();
                (lo, log_top(peak).max(lo + 1.0))
            }
        };
        Self::log_from(lo, hi, Ticks::log_with(lo, hi, 2.5))
    }

    /// Log axis for the sweep figures, showing every positive value of
    /// `values` (there is no "one cell" floor as in the time course, since a
    /// sweep metric's unit is unknown). The axis starts at the decade at or
    /// below the smallest positive value, a decade lower still when that
    /// value would sit within `clearance` decades of the axis: bars need a
    /// visible height, markers only to stay off the axis line. Values <= 0
    /// and NaN are ignored; with no positive value the axis shows 1-10.
    pub(super) fn log_sweep(values: impl Iterator<Item = f64>, clearance: f64) -> Self {
        let (lo, hi) = match extent(values.filter(|&v| v > 0.0 && v.is_finite())) {
            None => (0.0, 1.0),
            Some((min_pos, peak)) => {
                let low = min_pos.log10();
                let lo = low.floor()
                    - if low - low.floor() < clearance {
                        1.0
                    } else {
                        0.0
                    };
                (lo, log_top(peak).max(lo + 1.0))
            }
        };
        Self::log_from(lo, hi, Ticks::log_sweep(lo, hi))
    }

    /// A log axis from `lo` to `hi` (log10 units) with `ticks`.
    fn log_from(lo: f64, hi: f64, ticks: Ticks) -> Self {
        let log_floor = Some(10_f64.powf(lo));
        Self {
            lo,
            hi,
            log_floor,
            ticks,
        }
    }
}

/// Smallest and largest of `values`, `None` when there are none.
pub(super) fn extent(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// Top of a log axis (log10 units) over `peak`: a little headroom, extended to the
/// next decade when that is close (so the top is labelled).
fn log_top(peak: f64) -> f64 {
    let top = peak.log10() + 0.1;
    if top.ceil() - top < 0.4 {
        top.ceil()
    } else {
        top
    }
}

/// Major tick positions with their labels, plus optional minor grid positions.
#[derive(Debug, Clone)]
pub(super) struct Ticks {
    /// Tick positions in axis units.
    pub(super) major: Vec<f64>,
    /// Label for each major tick.
    pub(super) labels: Vec<String>,
    /// Minor grid positions in axis units (log axes only).
    minor: Vec<f64>,
}

impl Ticks {
    /// "Nice" ticks (1, 2, 5 x 10^k) on a linear axis; for day axes spanning
    /// two weeks to about half a year, weekly multiples are preferred.
    pub(super) fn linear(lo: f64, hi: f64, days: bool) -> Self {
        const TARGET: f64 = 6.0;
        let span = hi - lo;
        let count = |step: f64| (hi / step + 1e-9).floor() - (lo / step - 1e-9).ceil() + 1.0;
        let base_exp = (span / 20.0).log10().floor() as i32;
        let mut candidates: Vec<(f64, f64)> = (base_exp..=base_exp + 3)
            .flat_map(|e| [1.0, 2.0, 5.0].map(|m| (m * 10_f64.powi(e), 0.0)))
            .collect();
        if days && (14.0..=200.0).contains(&span) {
            candidates.extend([(7.0, 1.5), (14.0, 1.5), (28.0, 1.5)]);
        }
        let step = candidates
            .iter()
            .filter(|(step, _)| (2.0..=10.0).contains(&count(*step)))
            .map(|&(step, bonus)| (step, (count(step) - TARGET).abs() - bonus))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map_or(span / TARGET, |(step, _)| step);
        let first = (lo / step - 1e-9).ceil() as i64;
        let last = (hi / step + 1e-9).floor() as i64;
        let major: Vec<f64> = (first..=last).map(|k| k as f64 * step).collect();
        Self::at_values(major.clone(), &major)
    }

    /// Ticks for the log axes of the sweep figures (`lo`, `hi` in log10
    /// units): decades, with 1-2-5 steps when the axis spans under two
    /// decades. An axis too short to hold two such ticks (say 3e5 to 4e5)
    /// gets "nice" linear values instead, so every log axis is readable.
    ///
    /// Each label gets the precision its own value needs ("0.001", "0.1",
    /// "10", "1e5"): a log axis spans magnitudes, so one shared precision
    /// would print "1000.000".
    pub(super) fn log_sweep(lo: f64, hi: f64) -> Self {
        let (values, minor) = log_tick_values(lo, hi, 2.0);
        if values.len() >= 2 {
            let labels = values.iter().flat_map(|&v| format_tick_labels(&[v], false));
            return Self::log_at(&values, labels.collect(), minor);
        }
        let linear = Self::linear(10_f64.powf(lo), 10_f64.powf(hi), false);
        let values: Vec<f64> = linear.major.into_iter().filter(|&v| v > 0.0).collect();
        Self::log_at(&values, format_tick_labels(&values, true), minor)
    }

    /// Ticks at `values` on a log axis (positions in log10 units), with `minor` grid lines.
    fn log_at(values: &[f64], labels: Vec<String>, minor: Vec<f64>) -> Self {
        let major = values.iter().map(|v| v.log10()).collect();
        Self {
            major,
            labels,
            minor,
        }
    }

    /// Ticks of a sweep axis from `lo` to `hi` over `values` placed at `positions`
    /// (axis units): log ticks on a `log` axis, a tick at each value when there are at
    /// most [`FEW_VALUES`], "nice" linear ticks otherwise.
    pub(super) fn sweep(values: &[f64], positions: Vec<f64>, lo: f64, hi: f64, log: bool) -> Self {
        if log {
            Self::log_sweep(lo, hi)
        } else if values.len() <= FEW_VALUES {
            Self::at_values(positions, values)
        } else {
            Self::linear(lo, hi, false)
        }
    }

    /// Ticks at `positions` (axis units) labelled with `values` (data
    /// units), for axes with a few distinct values where each deserves a label.
    pub(super) fn at_values(positions: Vec<f64>, values: &[f64]) -> Self {
        Self {
            major: positions,
            labels: format_tick_labels(values, true),
            minor: Vec::new(),
        }
    }

    /// No ticks at all: the category axis of a bar chart, labelled separately.
    pub(super) fn none() -> Self {
        Self::at_values(Vec::new(), &[])
    }

    /// Only the ticks at whole powers of ten (positions in log10 units);
    /// the minor grid is kept.
    pub(super) fn decades_only(&self) -> Self {
        self.keep(|_, pos| (pos - pos.round()).abs() < 1e-9)
    }

    /// Every `stride`-th tick, starting with the first.
    pub(super) fn every(&self, stride: usize) -> Self {
        self.keep(|i, _| i % stride.max(1) == 0)
    }

    /// The ticks for whose index and position `keep` is true, with the same minor grid.
    fn keep(&self, keep: impl Fn(usize, f64) -> bool) -> Self {
        let kept = self.major.iter().zip(&self.labels).enumerate();
        let (major, labels) = kept
            .filter(|&(i, (&pos, _))| keep(i, pos))
            .map(|(_, (&pos, label))| (pos, label.clone()))
            .unzip();
        let minor = self.minor.clone();
        Self {
            major,
            labels,
            minor,
        }
    }

    /// Decade ticks on a log axis (log10 units) with 1-2-5 ticks below `fine_below`
    /// decades, every n-th decade when it spans very many.
    fn log_with(lo: f64, hi: f64, fine_below: f64) -> Self {
        let (values, minor) = log_tick_values(lo, hi, fine_below);
        Self::log_at(&values, format_tick_labels(&values, false), minor)
    }

    /// A linear coordinate over `lo..hi` that uses these ticks verbatim.
    pub(super) fn coord(&self, lo: f64, hi: f64) -> TickAxis {
        TickAxis {
            inner: (lo..hi).into(),
            major: self.major.clone(),
            minor: self.minor.clone(),
        }
    }
}

/// Major tick values and minor grid positions (log10 units) of a log axis
/// from `lo` to `hi` (log10 units): decades, or 1-2-5 steps when the axis
/// spans under `fine_below` decades; every n-th decade when it spans very
/// many. Minor positions (the other integers times a decade) only up to four decades.
fn log_tick_values(lo: f64, hi: f64, fine_below: f64) -> (Vec<f64>, Vec<f64>) {
    let decades = hi - lo;
    let first = lo.ceil() as i32;
    let last = hi.floor() as i32;
    let mantissas: &[f64] = if decades < fine_below {
        &[1.0, 2.0, 5.0]
    } else {
        &[1.0]
    };
    let every = ((decades / 10.0).ceil() as i32).max(1);
    let mut values = Vec::new();
    let mut minor = Vec::new();
    for e in (lo.floor() as i32)..=last + 1 {
        let decade = 10_f64.powi(e);
        for m in 1..10 {
            let pos = f64::from(e) + f64::from(m).log10();
            if pos < lo - 1e-9 || pos > hi + 1e-9 {
                continue;
            }
            let is_major = mantissas.contains(&f64::from(m)) && (e - first) % every == 0;
            if is_major {
                values.push(f64::from(m) * decade);
            } else if decades <= 4.0 {
                minor.push(pos);
            }
        }
    }
    (values, minor)
}

/// A linear coordinate whose grid and tick positions are chosen by [`Ticks`]
/// rather than by plotters, so both axes get "nice", consistently formatted
/// ticks and log axes (drawn in log10 units) get decade ticks.
pub(super) struct TickAxis {
    inner: RangedCoordf64,
    major: Vec<f64>,
    minor: Vec<f64>,
}

impl Ranged for TickAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.minor.clone()
        } else {
            self.major.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

/// Formats tick values legibly for counts: plain numbers below 10^4 and
/// scientific notation ("2e5", "1.5e6") from 10^4 up (and below 10^-3), with
/// one precision per style so "1.0e6" and "1.5e6" line up. With `uniform`
/// (linear axes) the largest tick decides the style for the whole axis, so
/// "5000" never sits next to "1.0e4"; log axes read naturally as
/// 1, 10, 100, 1000, 1e4. Negative numbers get a typographic minus.
fn format_tick_labels(values: &[f64], uniform: bool) -> Vec<String> {
    let largest = values.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let scientific = |v: f64| {
        let magnitude = if uniform { largest } else { v.abs() };
        v != 0.0 && !(1e-3..1e4).contains(&magnitude)
    };
    let exact = |text: &str, v: f64| {
        text.parse::<f64>()
            .is_ok_and(|p| (p - v).abs() <= 1e-9 * v.abs().max(f64::MIN_POSITIVE))
    };
    let sci_precision = (0..=3)
        .find(|&p| {
            values
                .iter()
                .filter(|v| scientific(**v))
                .all(|&v| exact(&format!("{v:.p$e}"), v))
        })
        .unwrap_or(3);
    let plain_precision = (0..=6)
        .find(|&p| {
            values
                .iter()
                .filter(|v| !scientific(**v) && **v != 0.0)
                .all(|&v| exact(&format!("{v:.p$}"), v))
        })
        .unwrap_or(6);
    values
        .iter()
        .map(|&v| {
            let text = if v == 0.0 {
                "0".to_owned()
            } else if scientific(v) {
                format!("{v:.sci_precision$e}")
            } else {
                format!("{v:.plain_precision$}")
            };
            text.replace('-', "\u{2212}")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_are_compact() {
        let linear = |v: &[f64]| format_tick_labels(v, true);
        assert_eq!(linear(&[0.0, 2e5, 4e5, 1e6]), ["0", "2e5", "4e5", "1e6"]);
        assert_eq!(linear(&[1e6, 1.5e6]), ["1.0e6", "1.5e6"]);
        assert_eq!(
            linear(&[0.0, 5e3, 1e4, 1.5e4]),
            ["0", "5.0e3", "1.0e4", "1.5e4"]
        );
        assert_eq!(linear(&[0.0, 0.5, 1.0]), ["0", "0.5", "1.0"]);
        assert_eq!(linear(&[-2.0, 0.0, 2.0]), ["\u{2212}2", "0", "2"]);
        let log = format_tick_labels(&[1.0, 10.0, 1000.0, 1e4, 1e-4], false);
        assert_eq!(log, ["1", "10", "1000", "1e4", "1e\u{2212}4"]);
    }

    #[test]
    fn weekly_ticks_for_four_weeks() {
        let ticks = Ticks::linear(0.0, 28.0, true);
        assert_eq!(ticks.labels, ["0", "7", "14", "21", "28"]);
    }
}
