//! Summary metrics of a run, computed exactly from the walk rather than from samples.
//!
//! AUCs add the exact per-step areas of the engine. Peaks and threshold crossings are
//! located inside steps by root finding on the exact solution (PITFALLS.md: peaks read off
//! hourly samples were 1-1.3 % low). "Reached the liver" is a first-passage fraction,
//! from a second walk with the liver made absorbing. The effect layer's metrics, read off
//! the marker's path in a general walk, are in `effect`.

pub mod effect;

use crate::compartment::{Compartment, State, Total};
use crate::dosing::Dose;
use crate::engine::{self, Node, Observer, Plan, Segment};
use crate::model::Model;
use effect::Effect;

/// Tolerance on the time of a peak or crossing (hours; about 4 microseconds).
pub(crate) const TIME_TOLERANCE_H: f64 = 1e-9;

/// The metrics of one run (or of one dose alone, by superposition).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metrics {
    /// Cells in every administration of the schedule, whether or not within the horizon.
    pub cells_scheduled: f64,
    /// Cells administered within the simulated time (an infusion cut by the end counts
    /// the part given).
    pub cells_given: f64,
    /// Cells in the largest single administration given within the simulated time.
    pub largest_dose_cells: f64,
    /// Administrations starting after the end of the simulation (not given).
    pub doses_after_end: usize,
    /// Area under live liver cells (sinusoid + engrafted), cell-days.
    pub liver_auc_cell_days: f64,
    /// Area under engrafted liver cells, cell-days.
    pub liver_engrafted_auc_cell_days: f64,
    /// Highest number of live liver cells.
    pub liver_peak_cells: f64,
    /// When the liver peak occurs (days).
    pub liver_peak_day: f64,
    /// Share of the cells given that entered the liver at least once.
    pub liver_reached_fraction: f64,
    /// Highest number of cells trapped in the lungs.
    pub lung_peak_cells: f64,
    /// When the lung peak occurs (days).
    pub lung_peak_day: f64,
    /// Area under spleen cells, cell-days.
    pub spleen_auc_cell_days: f64,
    /// Live liver cells at the end.
    pub liver_cells_end: f64,
    /// Threshold used for `days_liver_above_threshold` (cells).
    pub liver_threshold_cells: f64,
    /// Time with more live liver cells than the threshold (days).
    pub days_liver_above_threshold: f64,
    /// Largest |cells in all states - cells given| over the run, relative to cells given.
    pub mass_balance_rel_error: f64,
    /// The effect layer's metrics, when `[model] effect` is on.
    pub effect: Option<Effect>,
}

impl Metrics {
    /// The metrics of the same schedule with every administration `scale` times as large:
    /// the model is linear, so every count of cells and every area scales and times and
    /// fractions do not. The totals of the schedule and the threshold are not scaled
    /// (they are the caller's to set).
    pub(crate) fn scaled(&self, scale: f64) -> Metrics {
        Metrics {
            liver_auc_cell_days: self.liver_auc_cell_days * scale,
            liver_engrafted_auc_cell_days: self.liver_engrafted_auc_cell_days * scale,
            liver_peak_cells: self.liver_peak_cells * scale,
            lung_peak_cells: self.lung_peak_cells * scale,
            spleen_auc_cell_days: self.spleen_auc_cell_days * scale,
            liver_cells_end: self.liver_cells_end * scale,
            ..*self
        }
    }

    /// The lung peak as a share of one dose (the largest administration given): after a
    /// bolus into a vein, the share of that dose the lungs hold at most.
    pub fn lung_peak_fraction(&self) -> f64 {
        ratio(self.lung_peak_cells, self.largest_dose_cells)
    }
}

/// `a / b`, or 0 when nothing was given (`b` = 0).
pub(crate) fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

macro_rules! metric_table {
    ($($variant:ident => ($name:literal, $unit:literal, $per_dose:literal, $doc:literal, |$m:ident| $value:expr),)+) => {
        /// A named metric, as written in `metrics.csv` (and selected in sweeps).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Metric {
            $(#[doc = $doc] $variant,)+
        }

        impl Metric {
            /// Every metric, in output order.
            pub const ALL: &'static [Metric] = &[$(Metric::$variant,)+];

            /// Column name.
            pub const fn name(self) -> &'static str {
                match self { $(Metric::$variant => $name,)+ }
            }

            /// Unit of the value.
            pub const fn unit(self) -> &'static str {
                match self { $(Metric::$variant => $unit,)+ }
            }

            /// Whether the metric is also reported for each dose alone.
            pub const fn per_dose(self) -> bool {
                match self { $(Metric::$variant => $per_dose,)+ }
            }

            /// What it measures.
            pub const fn description(self) -> &'static str {
                match self { $(Metric::$variant => $doc,)+ }
            }

            /// Its value in `metrics`.
            pub fn value(self, metrics: &Metrics) -> f64 {
                match self { $(Metric::$variant => { let $m = metrics; $value },)+ }
            }
        }
    };
}

metric_table! {
    CellsScheduled => ("cells_scheduled", "cells", true, "Cells in every scheduled administration.", |m| m.cells_scheduled),
    CellsGiven => ("cells_given", "cells", true, "Cells administered within the simulated time.", |m| m.cells_given),
    DosesAfterEnd => ("doses_after_end", "administrations", false, "Administrations scheduled after the end (not given).", |m| m.doses_after_end as f64),
    LiverAuc => ("liver_auc", "cell-days", true, "Area under live liver cells (sinusoid + engrafted).", |m| m.liver_auc_cell_days),
    LiverEngraftedAuc => ("liver_engrafted_auc", "cell-days", true, "Area under engrafted liver cells.", |m| m.liver_engrafted_auc_cell_days),
    LiverPeak => ("liver_peak", "cells", true, "Highest number of live liver cells.", |m| m.liver_peak_cells),
    LiverPeakDay => ("liver_peak_day", "days", true, "Time of the liver peak.", |m| m.liver_peak_day),
    LiverReachedFraction => ("liver_reached_fraction", "fraction of cells given", true, "Share of cells given that entered the liver at least once.", |m| m.liver_reached_fraction),
    LungPeak => ("lung_peak", "cells", true, "Highest number of cells in the lungs.", |m| m.lung_peak_cells),
    LungPeakFraction => ("lung_peak_fraction", "fraction of a dose", true, "Lung peak as a share of the largest administration.", |m| m.lung_peak_fraction()),
    LungPeakDay => ("lung_peak_day", "days", true, "Time of the lung peak.", |m| m.lung_peak_day),
    SpleenAuc => ("spleen_auc", "cell-days", true, "Area under spleen cells.", |m| m.spleen_auc_cell_days),
    LiverCellsEnd => ("liver_cells_end", "cells", true, "Live liver cells at the end.", |m| m.liver_cells_end),
    LiverThreshold => ("liver_threshold", "cells", false, "Threshold for days_liver_above_threshold.", |m| m.liver_threshold_cells),
    DaysLiverAboveThreshold => ("days_liver_above_threshold", "days", false, "Time with live liver cells above the threshold.", |m| m.days_liver_above_threshold),
    MassBalanceError => ("mass_balance_rel_error", "fraction of cells given", false, "Largest |sum of states - cells given| / cells given.", |m| m.mass_balance_rel_error),
    ImprovementAuc => ("improvement_auc", "fraction of baseline x days", false, "Area under the marker's rise above baseline (`[model]` effect).", |m| effect(m, |e| e.improvement_auc_days)),
    ImprovementMax => ("improvement_max", "fraction of baseline", false, "Largest rise of the marker above baseline (`[model]` effect).", |m| effect(m, |e| e.improvement_max)),
    DaysImproved => ("days_improved", "days", false, "Time with the marker's rise above effect.improvement_threshold (`[model]` effect).", |m| effect(m, |e| e.days_improved)),
    DaysToBaseline => ("days_to_baseline", "days", false, "From the start of the last administration to the rise's final fall below effect.baseline_tolerance; empty if not back by the end (`[model]` effect).", |m| effect(m, |e| e.days_to_baseline)),
}

impl Metric {
    /// The name in words, e.g. "Liver engrafted AUC" for `liver_engrafted_auc`: how
    /// figures title the metric (axes, bar categories), without file syntax.
    pub fn words(self) -> String {
        let words: Vec<&str> = self
            .name()
            .split('_')
            .map(|w| if w == "auc" { "AUC" } else { w })
            .collect();
        let text = words.join(" ");
        let mut chars = text.chars();
        chars.next().map_or_else(String::new, |first| {
            first.to_uppercase().chain(chars).collect()
        })
    }
}

/// An effect metric of `m`, NaN when the effect layer is off.
fn effect(m: &Metrics, value: impl Fn(&Effect) -> f64) -> f64 {
    m.effect.as_ref().map_or(f64::NAN, value)
}

impl Metric {
    /// Whether the metric needs `[model] effect`.
    pub const fn needs_effect(self) -> bool {
        matches!(
            self,
            Metric::ImprovementAuc
                | Metric::ImprovementMax
                | Metric::DaysImproved
                | Metric::DaysToBaseline
        )
    }
}

/// Relative difference within which two peaks are one (the first is kept).
const PEAK_TIE: f64 = 1e-9;

/// The highest value offered so far and its time (hours): the first time it was reached.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peak {
    pub(crate) value: f64,
    pub(crate) t: f64,
}

impl Peak {
    /// Nothing offered yet.
    pub(crate) const NONE: Peak = Peak {
        value: f64::NEG_INFINITY,
        t: 0.0,
    };

    /// Offers `value` at `t`; offers come in time order. Equal peaks (as repeated doses
    /// give, to rounding) keep the first: a value replaces the peak only when it exceeds it
    /// by more than `PEAK_TIE` of its size, so that every engine, whose rounding differs,
    /// names the same peak.
    pub(crate) fn offer(&mut self, t: f64, value: f64) {
        let bar = if self.value.is_finite() {
            self.value + PEAK_TIE * self.value.abs()
        } else {
            self.value
        };
        if value > bar {
            self.value = value;
            self.t = t;
        }
    }
}

/// A root of `f` in [a, b] where f(a) and f(b) differ in sign: the Illinois variant of
/// regula falsi, which keeps the bracket and converges superlinearly.
///
/// An end where `f` is exactly zero is the root (`signum` would give it a side). The search
/// stops when the bracket, not the last move, is narrower than `TIME_TOLERANCE_H`: a
/// stalled regula falsi moves little while the root is still far.
pub(crate) fn bracketed_root(
    mut a: f64,
    mut fa: f64,
    mut b: f64,
    mut fb: f64,
    f: impl Fn(f64) -> f64,
) -> f64 {
    if fa == 0.0 {
        return a;
    }
    if fb == 0.0 {
        return b;
    }
    let mut side = 0;
    let mut c = a;
    for _ in 0..200 {
        c = (a * fb - b * fa) / (fb - fa);
        if !(c > a && c < b) {
            c = 0.5 * (a + b);
        }
        if b - a < TIME_TOLERANCE_H {
            break;
        }
        let fc = f(c);
        if fc == 0.0 {
            break;
        }
        if fc.signum() == fb.signum() {
            b = c;
            fb = fc;
            if side == -1 {
                fa *= 0.5;
            }
            side = -1;
        } else {
            a = c;
            fa = fc;
            if side == 1 {
                fb *= 0.5;
            }
            side = 1;
        }
    }
    c
}

/// The interior extremum of `weights . x(t)` within a step, if its derivative changes sign.
fn interior_extremum(segment: &Segment, weights: &State) -> Option<(f64, f64)> {
    turning_point(
        segment.t0,
        segment.t1,
        |t| weights.dot(&segment.derivative_at(t)),
        |t| weights.dot(&segment.state_at(t)),
    )
}

/// The time and value of the turn of `value` within [t0, t1] where its `slope` changes
/// sign between the ends, if it does (a step holds at most one turn).
pub(crate) fn turning_point(
    t0: f64,
    t1: f64,
    slope: impl Fn(f64) -> f64,
    value: impl Fn(f64) -> f64,
) -> Option<(f64, f64)> {
    let (d0, d1) = (slope(t0), slope(t1));
    if d0 * d1 >= 0.0 || d0.is_nan() || d1.is_nan() {
        return None;
    }
    let t = bracketed_root(t0, d0, t1, d1, slope);
    Some((t, value(t)))
}

/// Time above `threshold` within `[ta, tb]`, where `value` is monotone.
pub(crate) fn time_above(
    value: impl Fn(f64) -> f64,
    (ta, va): (f64, f64),
    (tb, vb): (f64, f64),
    threshold: f64,
) -> f64 {
    match (va > threshold, vb > threshold) {
        (true, true) => tb - ta,
        (false, false) => 0.0,
        (above_a, _) => {
            let tc = bracketed_root(ta, va - threshold, tb, vb - threshold, |t| {
                value(t) - threshold
            });
            if above_a {
                tc - ta
            } else {
                tb - tc
            }
        }
    }
}

/// The metrics that follow from the schedule and the horizon alone, counted in one place
/// for the walk and for `evaluator::Evaluator`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Totals {
    /// Cells in every administration.
    pub cells_scheduled: f64,
    /// Cells administered by the end.
    pub cells_given: f64,
    /// Cells in the largest administration given by the end.
    pub largest_dose_cells: f64,
    /// Administrations starting after the end.
    pub doses_after_end: usize,
}

impl Totals {
    /// The totals of `schedule` over `plan`.
    pub(crate) fn of(schedule: &[Dose], plan: &Plan) -> Self {
        Totals {
            cells_scheduled: schedule.iter().map(|d| d.cells).sum(),
            cells_given: schedule
                .iter()
                .map(|d| d.given_by(plan.duration_h))
                .sum::<f64>(),
            largest_dose_cells: schedule
                .iter()
                .map(|d| d.given_by(plan.duration_h))
                .fold(0.0, f64::max),
            doses_after_end: schedule
                .iter()
                .filter(|d| d.start_h > plan.duration_h)
                .count(),
        }
    }
}

/// A linear read-out of the state whose area over the run is a metric, written once here
/// for both walks: the reference walk applies it to the states' areas, and
/// `evaluator::Evaluator` to the modes' areas through the eigenbasis. A new area metric is
/// a variant here, its field in `Metrics`, and its lines in `Gathered::metrics` and
/// `Metrics::scaled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Area {
    /// Live liver cells (sinusoid + engrafted).
    Liver,
    /// Engrafted liver cells.
    Engrafted,
    /// Spleen cells.
    Spleen,
}

impl Area {
    /// Every area, in the order of `Gathered::areas_cell_h`.
    pub(crate) const ALL: [Area; 3] = [Area::Liver, Area::Engrafted, Area::Spleen];

    /// Its weights on the state.
    pub(crate) fn weights(self) -> State {
        match self {
            Area::Liver => Total::Liver.weights(),
            Area::Engrafted => Compartment::LiverEngrafted.unit(),
            Area::Spleen => Compartment::Spleen.unit(),
        }
    }
}

/// What a walk gathers, in its own units (cell-hours, hours, cells), before
/// `Gathered::metrics` turns it into the reported ones: shared by the reference walk and
/// `evaluator::Evaluator`, so that both report the same quantities the same way.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Gathered {
    /// The area under each of `Area::ALL` (cell-hours).
    pub areas_cell_h: [f64; Area::ALL.len()],
    pub liver_peak: Peak,
    pub lung_peak: Peak,
    /// Cells that reached the liver (first passage).
    pub liver_reached: f64,
    pub liver_end: f64,
    pub threshold: f64,
    pub above_h: f64,
    /// Largest |cells in the system - cells given| seen.
    pub worst_balance: f64,
}

impl Gathered {
    /// The area under `area` (cell-hours).
    fn area(&self, area: Area) -> f64 {
        self.areas_cell_h[area as usize]
    }

    /// The metrics of a walk of `schedule` over `plan`.
    pub(crate) fn metrics(&self, schedule: &[Dose], plan: &Plan) -> Metrics {
        let totals = Totals::of(schedule, plan);
        let given = totals.cells_given;
        let days = |hours: f64| hours / 24.0;
        Metrics {
            cells_scheduled: totals.cells_scheduled,
            cells_given: given,
            largest_dose_cells: totals.largest_dose_cells,
            doses_after_end: totals.doses_after_end,
            liver_auc_cell_days: days(self.area(Area::Liver)),
            liver_engrafted_auc_cell_days: days(self.area(Area::Engrafted)),
            liver_peak_cells: self.liver_peak.value,
            liver_peak_day: days(self.liver_peak.t),
            liver_reached_fraction: ratio(self.liver_reached, given),
            lung_peak_cells: self.lung_peak.value,
            lung_peak_day: days(self.lung_peak.t),
            spleen_auc_cell_days: days(self.area(Area::Spleen)),
            liver_cells_end: self.liver_end,
            liver_threshold_cells: self.threshold,
            days_liver_above_threshold: days(self.above_h),
            mass_balance_rel_error: ratio(self.worst_balance, given),
            effect: None,
        }
    }
}

/// Collects the metrics during a walk.
#[derive(Debug, Clone)]
pub struct Accumulator {
    threshold: f64,
    auc: State,
    lung: Peak,
    liver: Peak,
    above_h: f64,
    worst_balance: f64,
    last: Option<Node>,
}

impl Accumulator {
    /// A fresh accumulator; `threshold` is the liver threshold (cells).
    pub fn new(threshold: f64) -> Self {
        Accumulator {
            threshold,
            auc: State::zeros(),
            lung: Peak::NONE,
            liver: Peak::NONE,
            above_h: 0.0,
            worst_balance: 0.0,
            last: None,
        }
    }

    /// The metrics, given the schedule and the first-passage liver fraction.
    pub fn finish(self, schedule: &[Dose], plan: &Plan, liver_reached: f64) -> Metrics {
        let end = self
            .last
            .expect("a walk reports at least the node at t = 0");
        Gathered {
            areas_cell_h: Area::ALL.map(|a| a.weights().dot(&self.auc)),
            liver_peak: self.liver,
            lung_peak: self.lung,
            liver_reached,
            liver_end: Total::Liver.of(&end.x),
            threshold: self.threshold,
            above_h: self.above_h,
            worst_balance: self.worst_balance,
        }
        .metrics(schedule, plan)
    }
}

impl Observer for Accumulator {
    fn node(&mut self, node: &Node) {
        self.lung.offer(node.t, node.x[Compartment::Lung.index()]);
        self.liver.offer(node.t, Total::Liver.of(&node.x));
        // A state that is not a number is the worst balance of all (`f64::max` would drop it).
        let miss = (node.x.sum() - node.given).abs();
        self.worst_balance = if miss.is_nan() {
            f64::INFINITY
        } else {
            self.worst_balance.max(miss)
        };
        self.last = Some(*node);
    }

    fn segment(&mut self, segment: &Segment) {
        self.auc += segment.auc;
        let lung_max = interior_extremum(segment, &Compartment::Lung.unit());
        if let Some((t, v)) = lung_max {
            self.lung.offer(t, v);
        }
        let w = Total::Liver.weights();
        let start = (segment.t0, w.dot(&segment.x0));
        let end = (segment.t1, w.dot(&segment.x1));
        self.liver.offer(end.0, end.1);
        let liver = |t: f64| w.dot(&segment.state_at(t));
        let thr = self.threshold;
        self.above_h += match interior_extremum(segment, &w) {
            Some(turn) => {
                self.liver.offer(turn.0, turn.1);
                time_above(liver, start, turn, thr) + time_above(liver, turn, end, thr)
            }
            None => time_above(liver, start, end, thr),
        };
    }
}

/// Keeps only the final state of a walk.
#[derive(Debug, Default)]
struct FinalState(State);

impl Observer for FinalState {
    fn node(&mut self, node: &Node) {
        self.0 = node.x;
    }
}

/// Cells that entered the liver at least once by the end of `plan`.
pub fn liver_reached(model: &Model, schedule: &[Dose], plan: &Plan) -> f64 {
    let mut last = FinalState::default();
    engine::simulate(&model.with_absorbing_liver(), schedule, plan, &mut last);
    Total::Liver.of(&last.0)
}

/// The metrics of `schedule` without keeping a time course.
pub fn compute(model: &Model, schedule: &[Dose], plan: &Plan, threshold: f64) -> Metrics {
    let mut acc = Accumulator::new(threshold);
    engine::simulate(model, schedule, plan, &mut acc);
    acc.finish(schedule, plan, liver_reached(model, schedule, plan))
}
