//! Follows one walk and records, at requested times, what each organ holds of the
//! observed signal, integrating the debris, DNA and efflux along each step.
//!
//! Within a step, cells die at the death flux dDead/dt, split between compartments in
//! proportion to their death rate times their cells (a common factor such as
//! sensitization cancels); where a compartment's dead cells leave their label (in place,
//! or with phagocytes) follows from the compartment. Pools cleared at a constant rate k are
//! advanced as pool(tb) = pool(ta) e^(-k h) + integral of e^(-k (tb - s)) inflow(s) ds, the
//! integral by 5-point Gauss-Legendre quadrature on the exact (or dense-output) solution:
//! steps are short next to the circulation's transients and the integrands smooth within
//! them. Label that passes through the plasma on its way to liver and marrow (a chain of
//! two first-order pools) reaches them with the chain's kernel, `transfer`, in place of
//! e^(-k (tb - s)).

use std::iter::Sum;
use std::ops::Add;

use super::{Organ, ORGANS};
use crate::compartment::{Compartment as C, State};
use crate::engine::{Node, Observer, Segment};
use crate::presets::routes::DepotSite;
use crate::presets::Choice;
use crate::scenario::Method;

/// Gauss-Legendre nodes on [-1, 1] and their weights (exact for polynomials of degree 9).
const GAUSS: [(f64, f64); 5] = [
    (-0.906_179_845_938_664, 0.236_926_885_056_189_1),
    (-0.538_469_310_105_683_1, 0.478_628_670_499_366_5),
    (0.0, 0.568_888_888_888_888_9),
    (0.538_469_310_105_683_1, 0.478_628_670_499_366_5),
    (0.906_179_845_938_664, 0.236_926_885_056_189_1),
];

/// The organs that hold label off live cells (dead cells' label, in place or taken up by
/// phagocytes, and label taken up from plasma), in the order of `Settings`'s shares.
const HOLDERS: [Organ; 3] = [Organ::Liver, Organ::Spleen, Organ::Marrow];

/// Where the label given with the cells of a walk is, in cells' worth of label (decay
/// not applied): what label conservation is checked on. Two balances hold at every time:
/// `on_live_cells + deposited + effluxed + unbound` is the label given, and
/// `deposited + effluxed - in_plasma - held` is the label excreted so far (`excreted`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Budget {
    /// Label on live cells.
    pub on_live_cells: f64,
    /// Label of dead cells deposited so far, in place or in phagocytes (some since
    /// cleared).
    pub deposited: f64,
    /// Label that left live cells so far (into the plasma).
    pub effluxed: f64,
    /// Free label injected with the cells (excreted).
    pub unbound: f64,
    /// Effluxed label still in the plasma (bound to transferrin).
    pub in_plasma: f64,
    /// Label held in liver, spleen and marrow: dead cells' and taken up from plasma.
    pub held: f64,
}

impl Budget {
    /// Bound label still in the body: on live cells, in plasma, held in organs.
    pub fn in_body(&self) -> f64 {
        self.on_live_cells + self.in_plasma + self.held
    }

    /// Bound label that has left the body (cleared from the organs that held it).
    pub fn excreted(&self) -> f64 {
        self.deposited + self.effluxed - self.in_plasma - self.held
    }
}

impl Add for Budget {
    type Output = Budget;
    fn add(self, o: Budget) -> Budget {
        Budget {
            on_live_cells: self.on_live_cells + o.on_live_cells,
            deposited: self.deposited + o.deposited,
            effluxed: self.effluxed + o.effluxed,
            unbound: self.unbound + o.unbound,
            in_plasma: self.in_plasma + o.in_plasma,
            held: self.held + o.held,
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
    /// Shares of the label of cells dying outside liver and spleen taken up by the
    /// phagocytes of liver, spleen and marrow (`HOLDERS` order).
    pub phagocyte_shares: [f64; 3],
    /// Shares of the label cleared from plasma taken up by liver, spleen and marrow; the
    /// rest is excreted.
    pub transferrin_shares: [f64; 3],
    /// Clearance of effluxed label from the plasma (1/h).
    pub plasma_clearance_per_h: f64,
    /// Loss of label held in liver, spleen and marrow, out of the body (1/h).
    pub held_clearance_per_h: f64,
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
    /// Which compartments' dead cells leave their label in place, in liver and in spleen
    /// (1 or 0 per compartment); the rest goes to phagocytes.
    in_place: [State; 2],
    /// Label held in the organs of `HOLDERS`.
    held: [f64; 3],
    /// Effluxed label in the plasma.
    plasma: f64,
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
        let mut in_place = [State::zeros(), State::zeros()];
        for c in C::ALL {
            if let Some(i) = dies_in_place(c, settings.depot) {
                in_place[i][c.index()] = 1.0;
            }
        }
        Tracker {
            settings,
            in_place,
            held: [0.0; 3],
            plasma: 0.0,
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
                for (organ, held) in HOLDERS.iter().zip(self.held) {
                    activity[organ.position()] += held;
                }
                activity[Organ::Blood.position()] += self.plasma;
                let decay = (-s.decay_per_h * (t - s.labelled_at).max(0.0)).exp();
                activity.map(|a| a * decay)
            }
        };
        let amounts = with_whole_body(amounts);
        let budget = if s.method == Method::Radiolabel {
            Budget {
                on_live_cells: self.label_per_cell(t) * (x.sum() - x[C::Dead.index()]),
                deposited: self.deposited,
                effluxed: self.effluxed,
                unbound: (1.0 - s.bound) * given,
                in_plasma: self.plasma,
                held: self.held.iter().sum(),
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
        let k_held = s.held_clearance_per_h;
        let k_plasma = s.plasma_clearance_per_h;
        let k_dna = s.dna_degradation_per_h;
        // Label reaching the holders by tb: dead cells' directly, effluxed via the plasma.
        let mut held_in = [0.0; 3];
        let mut via_plasma = 0.0;
        let mut plasma_in = 0.0;
        let mut deposited = 0.0;
        let mut effluxed = 0.0;
        let mut dna_in = State::zeros();
        for (xi, w) in GAUSS {
            let t = ta + 0.5 * h * (1.0 + xi);
            let w = 0.5 * h * w;
            let (x, dx) = segment.state_and_derivative_at(t);
            let death_flux = dx[C::Dead.index()];
            let dying = s.death_rates.component_mul(&x);
            if radiolabel {
                let label = self.label_per_cell(t);
                let live = x.sum() - x[C::Dead.index()];
                let deposit = w * label * death_flux;
                deposited += deposit;
                let fade = (-k_held * (tb - t)).exp();
                for (pool, share) in held_in.iter_mut().zip(self.death_split(&dying)) {
                    *pool += fade * share * deposit;
                }
                // Label that left cells still waiting in an infusion bag counts as
                // effluxed too: infused cells carry what is left on them.
                let efflux = w * (s.efflux_per_h * label * live + (s.bound - label) * dx.sum());
                effluxed += efflux;
                plasma_in += (-k_plasma * (tb - t)).exp() * efflux;
                via_plasma += transfer(k_plasma, k_held, tb - t) * efflux;
            } else {
                let total = dying.sum();
                if total > 0.0 {
                    dna_in += dying * (w * (-k_dna * (tb - t)).exp() * death_flux / total);
                }
            }
        }
        if radiolabel {
            let fade = (-k_held * h).exp();
            let from_plasma = self.plasma * transfer(k_plasma, k_held, h) + via_plasma;
            for ((pool, arrived), share) in
                self.held.iter_mut().zip(held_in).zip(s.transferrin_shares)
            {
                *pool = *pool * fade + arrived + share * from_plasma;
            }
            self.plasma = self.plasma * (-k_plasma * h).exp() + plasma_in;
            self.deposited += deposited;
            self.effluxed += effluxed;
        } else {
            self.dna = self.dna * (-k_dna * h).exp() + dna_in;
        }
    }

    /// Shares of the dead cells' label that liver, spleen and marrow (`HOLDERS`) receive,
    /// with `dying` the death flux of each compartment up to a common factor: in place in
    /// liver and spleen, the rest through the phagocytes' shares (all of it when nothing
    /// is dying, so that no label is lost to a flux that rounding left over).
    fn death_split(&self, dying: &State) -> [f64; 3] {
        let total = dying.sum();
        let [liver, spleen] = if total > 0.0 {
            self.in_place.each_ref().map(|mask| mask.dot(dying) / total)
        } else {
            [0.0, 0.0]
        };
        let rest = 1.0 - liver - spleen;
        let p = self.settings.phagocyte_shares;
        [liver + rest * p[0], spleen + rest * p[1], rest * p[2]]
    }
}

/// Where compartment `c`'s dying cells leave their label in place, as an index into
/// `HOLDERS` (liver 0, spleen 1); `None` where phagocytes take it up. Cells die in place
/// where they are held in liver or spleen (the platelets of human_evidence.md section 1);
/// lungs, other tissues, blood and a peritoneal depot hand their dead cells to phagocytes.
fn dies_in_place(c: C, depot: Option<DepotSite>) -> Option<usize> {
    match Organ::of(c, depot) {
        Some(Organ::Liver) => Some(0),
        Some(Organ::Spleen) => Some(1),
        _ => None,
    }
}

/// `amounts` with `WholeBody` set to the sum of the other regions.
fn with_whole_body(mut amounts: [f64; ORGANS]) -> [f64; ORGANS] {
    let whole = Organ::WholeBody.position();
    amounts[whole] = 0.0;
    amounts[whole] = amounts.iter().sum();
    amounts
}

/// What reaches a pool cleared at `k_out` (1/h), `tau` hours after entering the plasma
/// cleared at `k_in` (1/h) into it: k_in (e^(-k_out tau) - e^(-k_in tau)) / (k_in - k_out),
/// written so that neither equal rates nor a wide gap between them lose precision.
fn transfer(k_in: f64, k_out: f64, tau: f64) -> f64 {
    let gap = (k_in - k_out).abs();
    let slow = k_in.min(k_out);
    let rise = if gap > 0.0 {
        -(-gap * tau).exp_m1() / gap
    } else {
        tau
    };
    k_in * (-slow * tau).exp() * rise
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
