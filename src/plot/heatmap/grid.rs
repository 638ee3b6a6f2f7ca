//! Where the heatmap's cells and panels go: cell edges around the grid
//! values on each axis, and the grid of panels.

use super::super::axis::{Ticks, FEW_VALUES};
use super::MAX_COLUMNS;

/// One grid axis of the heatmap, in axis units: log10 of the value on a log
/// axis, the value's index on a categorical one, the value itself otherwise.
#[derive(Debug)]
pub(super) struct GridAxis {
    /// The `n + 1` cell edges, increasing.
    pub(super) edges: Vec<f64>,
    pub(super) ticks: Ticks,
    pub(super) log: bool,
}

impl GridAxis {
    /// The axis over checked `values` (see the module documentation).
    pub(super) fn new(values: &[f64], log: bool) -> Self {
        let categorical = !log && values.len() <= FEW_VALUES;
        let centres: Vec<f64> = if log {
            values.iter().map(|v| v.log10()).collect()
        } else if categorical {
            (0..values.len()).map(|i| i as f64).collect()
        } else {
            values.to_vec()
        };
        let edges = cell_edges(&centres);
        let (lo, hi) = (edges[0], edges[edges.len() - 1]);
        let ticks = Ticks::sweep(values, centres, lo, hi, log);
        Self { edges, ticks, log }
    }

    /// Low end of the axis: the first cell's outer edge.
    pub(super) fn lo(&self) -> f64 {
        self.edges[0]
    }

    /// High end of the axis: the last cell's outer edge.
    pub(super) fn hi(&self) -> f64 {
        self.edges[self.edges.len() - 1]
    }

    /// Pixel position of axis value `u` when the axis runs from pixel `from`
    /// (at its low end) to pixel `to`.
    pub(super) fn to_pixel(&self, u: f64, (from, to): (i32, i32)) -> i32 {
        let f = (u - self.lo()) / (self.hi() - self.lo());
        (f64::from(from) + f * f64::from(to - from)).round() as i32
    }
}

impl GridAxis {
    /// Pixel positions of the cell edges on a span as in [`GridAxis::to_pixel`].
    pub(super) fn edge_pixels(&self, span: (i32, i32)) -> Vec<i32> {
        self.edges.iter().map(|&u| self.to_pixel(u, span)).collect()
    }
}

/// Cell edges around increasing `centres`: halfway between neighbours, and
/// as far beyond the first and last centre as the neighbouring half-gap (half
/// a unit for a single centre).
pub(super) fn cell_edges(centres: &[f64]) -> Vec<f64> {
    if let [only] = centres {
        return vec![only - 0.5, only + 0.5];
    }
    let n = centres.len();
    let mut edges = Vec::with_capacity(n + 1);
    edges.push(centres[0] - 0.5 * (centres[1] - centres[0]));
    edges.extend(centres.windows(2).map(|w| 0.5 * (w[0] + w[1])));
    edges.push(centres[n - 1] + 0.5 * (centres[n - 1] - centres[n - 2]));
    edges
}

/// Grid of panels: `(columns, rows)`. Rows are filled as evenly as three a
/// row allows, so four panels make two rows of two rather than three and one.
pub(super) fn panel_grid(panels: usize) -> (usize, usize) {
    let rows = panels.div_ceil(MAX_COLUMNS).max(1);
    (panels.div_ceil(rows).max(1), rows)
}

#[cfg(test)]
mod tests {
    use super::super::tests::INTERVALS;
    use super::*;

    #[test]
    fn cell_edges_are_midpoints() {
        assert_eq!(cell_edges(&[0.0, 1.0, 3.0]), vec![-0.5, 0.5, 2.0, 4.0]);
        assert_eq!(cell_edges(&[2.0]), vec![1.5, 2.5]);
        // Geometric midpoints on a log axis: between 1e5 and 1e7 lies 1e6.
        let log = GridAxis::new(&[1e5, 1e7], true);
        assert!((log.edges[1] - 6.0).abs() < 1e-12);
        assert_eq!(log.ticks.labels, ["1e4", "1e5", "1e6", "1e7", "1e8"]);
        // Few linear values are categories, ticked at each value.
        let intervals = GridAxis::new(&INTERVALS, false);
        assert_eq!(intervals.edges, vec![-0.5, 0.5, 1.5, 2.5, 3.5, 4.5]);
        assert_eq!(intervals.ticks.labels, ["7", "14", "28", "56", "84"]);
        // Under two decades, 1-2-5 ticks.
        let narrow = GridAxis::new(&[1e5, 2e5, 4e5, 8e5], true);
        assert!(narrow.ticks.labels.contains(&"2e5".to_owned()));
    }

    #[test]
    fn panels_fill_rows_evenly() {
        assert_eq!(panel_grid(1), (1, 1));
        assert_eq!(panel_grid(3), (3, 1));
        assert_eq!(panel_grid(4), (2, 2));
        assert_eq!(panel_grid(5), (3, 2));
        assert_eq!(panel_grid(7), (3, 3));
    }
}
