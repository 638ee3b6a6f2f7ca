//! The sampled time course of a run: every state on the output grid.

use crate::compartment::{State, Total};
use crate::engine::{Node, Observer};
use crate::mechanisms::Slow;

/// States at the output times, after any boluses at those times.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimeCourse {
    /// Output times (hours).
    pub time_h: Vec<f64>,
    /// Cells in each compartment at each time.
    pub states: Vec<State>,
    /// Cells administered up to and including each time.
    pub given: Vec<f64>,
    /// The mechanisms' states at each time (empty for the exact engine).
    pub slow: Vec<Slow>,
}

impl TimeCourse {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.time_h.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.time_h.is_empty()
    }

    /// A total (blood, liver) at every sample.
    pub fn total(&self, total: Total) -> Vec<f64> {
        self.states.iter().map(|x| total.of(x)).collect()
    }
}

impl Observer for TimeCourse {
    fn node(&mut self, node: &Node) {
        if node.is_output {
            self.time_h.push(node.t);
            self.states.push(node.x);
            self.given.push(node.given);
            self.slow.extend(node.slow);
        }
    }
}
