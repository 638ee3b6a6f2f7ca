//! Doses as data: `[[dose]]` blocks expand to a time-sorted list of administrations.
//!
//! The engine integrates from event to event and knows nothing of blocks, counts or
//! intervals; everything about a schedule is decided here.

use crate::presets::Route;

/// How much one administration of a block gives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Amount {
    /// Cells per kg of body weight.
    PerKg(f64),
    /// Cells in total.
    Total(f64),
}

impl Amount {
    /// Cells given for a subject of `body_weight_kg`.
    pub fn cells(self, body_weight_kg: f64) -> f64 {
        match self {
            Amount::PerKg(per_kg) => per_kg * body_weight_kg,
            Amount::Total(cells) => cells,
        }
    }
}

/// One validated `[[dose]]` block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DoseBlock {
    /// Route of administration.
    pub route: Route,
    /// Amount per administration.
    pub amount: Amount,
    /// Number of administrations (>= 1).
    pub count: u32,
    /// Days between administrations (0 when `count` is 1 and none was given).
    pub interval_days: f64,
    /// Day of the first administration.
    pub start_day: f64,
    /// Infusion length (minutes); 0 for a bolus.
    pub infusion_minutes: f64,
}

/// One administration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dose {
    /// Index of the `[[dose]]` block it came from (0-based).
    pub block: usize,
    /// Which administration of the block (1-based).
    pub number: u32,
    /// Route of administration.
    pub route: Route,
    /// Start (hours from time 0).
    pub start_h: f64,
    /// Infusion length (hours); 0 for a bolus.
    pub duration_h: f64,
    /// Cells given.
    pub cells: f64,
}

impl Dose {
    /// End of the administration (hours).
    pub fn end_h(&self) -> f64 {
        self.start_h + self.duration_h
    }

    /// Cells per hour of an infusion. Divided by the span between the start and end times
    /// the walks step between (not by `duration_h`, which differs from it by rounding), so
    /// that steps covering the whole infusion deliver exactly `cells`, however short the
    /// infusion and however late it starts.
    pub fn rate_per_h(&self) -> f64 {
        self.cells / (self.end_h() - self.start_h)
    }

    /// Whether the dose is given at once.
    pub fn is_bolus(&self) -> bool {
        self.duration_h == 0.0
    }

    /// Cells administered by time `t_h` (a bolus counts from its own time on).
    pub fn given_by(&self, t_h: f64) -> f64 {
        if t_h < self.start_h {
            0.0
        } else if self.is_bolus() || t_h >= self.end_h() {
            self.cells
        } else {
            // Over the rounded span, as `rate_per_h` delivers it: over `duration_h`, a 6 ms
            // infusion at day 1.4 counted 4e-9 of its cells that the walk had not given yet.
            self.rate_per_h() * (t_h - self.start_h)
        }
    }
}

/// Expands blocks to administrations sorted by start time (ties keep block order).
/// Times come from the dose's index, never from an accumulated sum.
pub fn expand(blocks: &[DoseBlock], body_weight_kg: f64) -> Vec<Dose> {
    let mut doses: Vec<Dose> = blocks
        .iter()
        .enumerate()
        .flat_map(|(block, b)| {
            (0..b.count).map(move |i| Dose {
                block,
                number: i + 1,
                route: b.route,
                start_h: (b.start_day + f64::from(i) * b.interval_days) * 24.0,
                duration_h: b.infusion_minutes / 60.0,
                cells: b.amount.cells(body_weight_kg),
            })
        })
        .collect();
    doses.sort_by(|a, b| a.start_h.total_cmp(&b.start_h));
    doses
}

/// Two administrations by the same route whose times overlap: the second starts before
/// the first ends, or both start at the same moment.
pub fn first_overlap(doses: &[Dose]) -> Option<(Dose, Dose)> {
    doses.iter().enumerate().find_map(|(i, a)| {
        doses[i + 1..]
            .iter()
            .filter(|b| b.route == a.route)
            .find(|b| b.start_h < a.end_h() || b.start_h == a.start_h)
            .map(|b| (*a, *b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(route: Route, count: u32, interval_days: f64, minutes: f64) -> DoseBlock {
        DoseBlock {
            route,
            amount: Amount::PerKg(1e6),
            count,
            interval_days,
            start_day: 1.0,
            infusion_minutes: minutes,
        }
    }

    #[test]
    fn expands_in_time_order_from_indices() {
        let doses = expand(
            &[
                block(Route::PeripheralVein, 3, 28.0, 30.0),
                block(Route::PortalVein, 1, 0.0, 0.0),
            ],
            70.0,
        );
        let starts: Vec<f64> = doses.iter().map(|d| d.start_h).collect();
        assert_eq!(starts, vec![24.0, 24.0, 29.0 * 24.0, 57.0 * 24.0]);
        assert_eq!(doses[0].cells, 7e7);
        assert_eq!(doses[2].number, 2);
        assert!(
            first_overlap(&doses).is_none(),
            "different routes may coincide"
        );
    }

    #[test]
    fn finds_overlapping_infusions_of_one_route() {
        let doses = expand(&[block(Route::PeripheralVein, 2, 0.5, 24.0 * 60.0)], 70.0);
        let (a, b) = first_overlap(&doses).expect("12-hour spacing of 24-hour infusions");
        assert_eq!((a.number, b.number), (1, 2));
    }

    #[test]
    fn given_by_follows_an_infusion() {
        let d = expand(&[block(Route::PeripheralVein, 1, 0.0, 60.0)], 1.0)[0];
        assert_eq!(d.given_by(24.5), 0.5e6);
        assert_eq!(d.given_by(30.0), 1e6);
        assert_eq!(d.given_by(0.0), 0.0);
    }
}
