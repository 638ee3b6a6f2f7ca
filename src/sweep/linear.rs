//! The sweep's use of linearity: the model is linear in the cells given, so points that
//! differ only in the dose amount share one walk.
//!
//! When one axis sets the amount of every dose block (`dose.cells_per_kg` or `dose.cells`,
//! or `dose[1].*` with one block), the metrics of a point are those of the same schedule at
//! one cell (per kg), scaled by the amount: counts and areas scale, times and fractions do
//! not. The unit walk depends only on the point's other axis values, so it is computed once
//! per thread for each run of points that share them (consecutive when the amount axis is
//! the last), and the result of a point never depends on which points came before it: the
//! file is the same for any thread count. The liver threshold must scale too, so an
//! explicit threshold (base file or axis) turns this off.

use std::cell::RefCell;

use super::axis::{DoseField, Target, Value};
use super::Sweep;
use crate::dosing::Amount;
use crate::metrics::Metrics;
use crate::scenario::Scenario;
use crate::simulation;

/// The amount axis a sweep can scale along, if any.
pub fn amount_axis(sweep: &Sweep) -> Option<usize> {
    if sweep.base.liver_threshold_cells.is_some()
        || sweep
            .axes
            .iter()
            .any(|a| a.target == Target::LiverThreshold)
    {
        return None;
    }
    let amount_axes: Vec<usize> = sweep
        .axes
        .iter()
        .enumerate()
        .filter(|(_, a)| {
            matches!(
                a.target,
                Target::Dose(_, DoseField::CellsPerKg | DoseField::Cells)
            )
        })
        .map(|(i, _)| i)
        .collect();
    match amount_axes.as_slice() {
        [i] => match sweep.axes[*i].target {
            Target::Dose(None, _) => Some(*i),
            Target::Dose(Some(_), _) if sweep.base.doses.len() == 1 => Some(*i),
            _ => None,
        },
        _ => None,
    }
}

/// `m`, computed for one cell (per kg) per administration, for `amount` instead.
fn scaled(m: &Metrics, amount: f64) -> Metrics {
    Metrics {
        cells_scheduled: m.cells_scheduled * amount,
        cells_given: m.cells_given * amount,
        largest_dose_cells: m.largest_dose_cells * amount,
        liver_auc_cell_days: m.liver_auc_cell_days * amount,
        liver_engrafted_auc_cell_days: m.liver_engrafted_auc_cell_days * amount,
        liver_peak_cells: m.liver_peak_cells * amount,
        lung_peak_cells: m.lung_peak_cells * amount,
        spleen_auc_cell_days: m.spleen_auc_cell_days * amount,
        liver_cells_end: m.liver_cells_end * amount,
        liver_threshold_cells: m.liver_threshold_cells * amount,
        ..*m
    }
}

thread_local! {
    /// The last unit walk of this thread: (sweep identity, shape index) and its metrics.
    static LAST: RefCell<Option<((usize, u64), Metrics)>> = const { RefCell::new(None) };
}

/// The metrics of point `index` (whose scenario is `s`), scaling a unit walk shared with
/// the points that differ from it only along `axis`.
pub fn metrics(sweep: &Sweep, axis: usize, index: u64, s: &Scenario) -> Metrics {
    let digits = sweep.digits(index);
    let stride: u64 = sweep.axes[axis + 1..]
        .iter()
        .map(|a| a.values.len() as u64)
        .product();
    let shape = index - digits[axis] as u64 * stride;
    let key = (std::ptr::from_ref(sweep) as usize, shape);
    let amount = match &sweep.axes[axis].values[digits[axis]] {
        Value::Number(a) => *a,
        Value::Name(_) => unreachable!("amount axes hold numbers"),
    };
    let unit = LAST.with(|last| {
        if let Some((k, m)) = *last.borrow() {
            if k == key {
                return m;
            }
        }
        let mut one = s.clone();
        for d in &mut one.doses {
            d.amount = match d.amount {
                Amount::PerKg(_) => Amount::PerKg(1.0),
                Amount::Total(_) => Amount::Total(1.0),
            };
        }
        let m = simulation::with_evaluator(|e| e.metrics(&one));
        *last.borrow_mut() = Some((key, m));
        m
    });
    scaled(&unit, amount)
}
