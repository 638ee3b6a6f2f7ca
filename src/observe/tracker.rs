//! Follows one walk and records, at requested times, what each organ holds of the
//! observed signal, integrating the debris, DNA and efflux along each step.
//!
//! Within a step, label of cells that die is deposited at the death flux dDead/dt, split
//! between compartments in proportion to their death rate times their cells (a common
//! factor such as sensitization cancels). Pools cleared at a constant rate k are advanced
//! as pool(tb) = pool(ta) e^(-k h) + integral of e^(-k (tb - s)) inflow(s) ds, the integral
//! by 5-point Gauss-Legendre quadrature on the exact (or dense-output) solution: steps are
//! short next to the circulation's transients and the integrands smooth within them.

use std::iter::Sum;
use std::ops::Add;

use super::{Method, Organ, ORGANS};
use crate::compartment::{Compartment as C, State};
use crate::engine::{Node, Observer, Segment};
use crate::presets::routes::DepotSite;
use crate::presets::Choice;

/// Gauss-Legendre nodes on [-1, 1] and their weights (exact for polynomials of degree 9).
const GAUSS: [(f64, f64); 5] = [
    (-0.906_179_845_938_664, 0.236_926_885_056_189_1),
    (-0.538_469_310_105_683_1, 0.478_628_670_499_366_5),
    (0.0, 0.568_888_888_888_888_9),
    (0.538_469_310_105_683_1, 0.478_628_670_499_366_5),
    (0.906_179_845_938_664, 0.236_926_885_056_189_1),
];

/// The organs whose phagocytes take up dead cells' label, in `Settings::debris_shares`
/// order.
const PHAGOCYTES: [Organ; 3] = [Organ::Liver, Organ::Spleen, Organ::Other];

/// Where the label given with the cells of a walk is, in cells' worth of label (decay
/// not applied): what label conservation is checked on.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Budget {
    /// Label on live cells.
    pub on_live_cells: f64,
    /// Label of dead cells deposited in phagocytes so far (some since cleared from them).
    pub deposited: f64,
    /// Label that left live cells so far.
    pub effluxed: f64,
    /// Free label injected with the cells.
    pub unbound: f64,
}

impl Add for Budget {
    type Output = Budget;
    fn add(self, o: Budget) -> Budget {
        Budget {
            on_live_cells: self.on_live_cells + o.on_live_cells,
            deposited: self.deposited + o.deposited,
            effluxed: self.effluxed + o.effluxed,
            unbound: self.unbound + o.unbound,
        }
    }
}

impl Sum for Budget {
    fn sum<I: Iterator<Item = Budget>>(iter: I) -> Budget {
        iter.fold(Budget::default(), Add::add)
    }
}

/// What a tracker needs to know of the scenario.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The method observed.
    pub method: Method,
    /// Where a depot route's cells sit, if any.
    pub depot: Option<DepotSite>,
    /// Death rate of each compartment (1/h): the `Dead` row of the rate matrix.
    pub death_rates: State,
    /// When the cells of the walk were labelled (their first administration, hours).
    pub labelled_at: f64,
    /// Share of injected activity bound to cells (0 unless radiolabel).
    pub bound: f64,
    /// Efflux of label from live cells (1/h).
    pub efflux_per_h: f64,
    /// Shares of dead cells' label taken up in liver, spleen and other organs.
    pub debris_shares: [f64; 3],
    /// Clearance of that label from the phagocytes (1/h).
    pub debris_clearance_per_h: f64,
    /// Degradation of dead cells' DNA (1/h).
    pub dna_degradation_per_h: f64,
    /// Physical decay applied to the reported activity (1/h; 0 when decay-corrected).
    pub decay_per_h: f64,
    /// Times to record at (hours, ascending).
    pub times: Vec<f64>,
}

/// What a walk recorded.
#[derive(Debug, Clone)]
pub struct Recording {
    /// Signal per organ at each requested time, in cells (or cells' worth of activity).
    pub amounts: Vec<[f64; ORGANS]>,
    /// Where the label is at each requested time.
    pub budget: Vec<Budget>,
}

/// The observer that integrates and records.
#[derive(Debug)]
pub struct Tracker {
    settings: Settings,
    /// Dead cells' label held by the phagocytes of `PHAGOCYTES`.
    debris: [f64; 3],
    /// Dead cells' DNA not yet degraded, by the compartment the cells died in.
    dna: State,
    /// Label deposited and effluxed so far.
    deposited: f64,
    effluxed: f64,
    /// Cells given so far in this walk (from the nodes: boluses and infusions).
    given: f64,
    recording: Recording,
}

impl Tracker {
    /// A tracker before the walk.
    pub fn new(settings: Settings) -> Self {
        Tracker {
            settings,
            debris: [0.0; 3],
            dna: State::zeros(),
            deposited: 0.0,
            effluxed: 0.0,
            given: 0.0,
            recording: Recording {
                amounts: Vec::new(),
                budget: Vec::new(),
            },
        }
    }

    /// What was recorded; times past the end of the walk were not reached and are an
    /// error of the caller.
    pub fn finish(self) -> Recording {
        assert_eq!(
            self.recording.amounts.len(),
            self.settings.times.len(),
            "every requested time lies within the walk"
        );
        self.recording
    }

    /// The next time to record at, if any.
    fn next_time(&self) -> Option<f64> {
        self.settings
            .times
            .get(self.recording.amounts.len())
            .copied()
    }

    /// Label per cell of the walk at `t`: bound share after efflux.
    fn label_per_cell(&self, t: f64) -> f64 {
        let s = &self.settings;
        s.bound * (-s.efflux_per_h * (t - s.labelled_at).max(0.0)).exp()
    }

    /// Records the signal with cells `x` at `t`, given `given` so far.
    fn record(&mut self, t: f64, x: &State, given: f64) {
        let s = &self.settings;
        let mut live = [0.0; ORGANS];
        for c in C::ALL {
            if let Some(organ) = Organ::of(c, s.depot) {
                live[organ.position()] += x[c.index()];
            }
        }
        let amounts = match s.method {
            Method::Live | Method::Bioluminescence => live,
            Method::DnaPcr => {
                let mut with_dna = live;
                for c in C::ALL {
                    if let Some(organ) = Organ::of(c, s.depot) {
                        with_dna[organ.position()] += self.dna[c.index()];
                    }
                }
                with_dna
            }
            Method::Radiolabel => {
                let per_cell = self.label_per_cell(t);
                let mut activity = live.map(|cells| cells * per_cell);
                for (organ, debris) in PHAGOCYTES.iter().zip(self.debris) {
                    activity[organ.position()] += debris;
                }
                let decay = (-s.decay_per_h * (t - s.labelled_at).max(0.0)).exp();
                activity.map(|a| a * decay)
            }
        };
        let budget = if s.method == Method::Radiolabel {
            Budget {
                on_live_cells: self.label_per_cell(t) * (x.sum() - x[C::Dead.index()]),
                deposited: self.deposited,
                effluxed: self.effluxed,
                unbound: (1.0 - s.bound) * given,
            }
        } else {
            Budget::default()
        };
        self.recording.amounts.push(amounts);
        self.recording.budget.push(budget);
    }

    /// Advances the pools over [ta, tb] within `segment`.
    fn advance(&mut self, segment: &Segment, ta: f64, tb: f64) {
        let h = tb - ta;
        if h <= 0.0 {
            return;
        }
        let s = &self.settings;
        let radiolabel = s.method == Method::Radiolabel;
        let dna = s.method == Method::DnaPcr;
        if !(radiolabel || dna) {
            return;
        }
        let k_debris = s.debris_clearance_per_h;
        let k_dna = s.dna_degradation_per_h;
        let mut debris_in = 0.0;
        let mut deposited = 0.0;
        let mut effluxed = 0.0;
        let mut dna_in = State::zeros();
        for (xi, w) in GAUSS {
            let t = ta + 0.5 * h * (1.0 + xi);
            let w = 0.5 * h * w;
            let (x, dx) = segment.state_and_derivative_at(t);
            let death_flux = dx[C::Dead.index()];
            if radiolabel {
                let label = self.label_per_cell(t);
                let live = x.sum() - x[C::Dead.index()];
                deposited += w * label * death_flux;
                debris_in += w * (-k_debris * (tb - t)).exp() * label * death_flux;
                // Label that left cells still waiting in an infusion bag counts as
                // effluxed too: infused cells carry what is left on them.
                effluxed += w * (s.efflux_per_h * label * live + (s.bound - label) * dx.sum());
            } else {
                let weights = s.death_rates.component_mul(&x);
                let total = weights.sum();
                if total > 0.0 {
                    dna_in += weights * (w * (-k_dna * (tb - t)).exp() * death_flux / total);
                }
            }
        }
        if radiolabel {
            let fade = (-k_debris * h).exp();
            for (pool, share) in self.debris.iter_mut().zip(s.debris_shares) {
                *pool = *pool * fade + share * debris_in;
            }
            self.deposited += deposited;
            self.effluxed += effluxed;
        } else {
            self.dna = self.dna * (-k_dna * h).exp() + dna_in;
        }
    }
}

impl Observer for Tracker {
    fn node(&mut self, node: &Node) {
        self.given = node.given;
        while self.next_time().is_some_and(|t| t <= node.t) {
            let given = self.given;
            self.record(node.t, &node.x, given);
        }
    }

    fn segment(&mut self, segment: &Segment) {
        let mut ta = segment.t0;
        while let Some(t) = self.next_time().filter(|&t| t > ta && t < segment.t1) {
            self.advance(segment, ta, t);
            // Cells given by t: an infusion running through the step adds at a constant rate.
            let x = segment.state_at(t);
            let given = self.given + infused(segment, t);
            self.record(t, &x, given);
            ta = t;
        }
        self.advance(segment, ta, segment.t1);
    }
}

/// Cells infused between the start of `segment` and `t`.
fn infused(segment: &Segment, t: f64) -> f64 {
    // Cells are conserved within a step (the dead included), so what the state gained is
    // what was infused.
    (segment.state_at(t).sum() - segment.x0.sum()).max(0.0)
}
