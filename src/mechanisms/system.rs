//! The model with its mechanisms as one ODE system, dy/dt = f(y), for the general integrator.
//!
//! The state `y` holds the cells (as in `compartment`), the mechanisms' states (`Slow`), and
//! a *shadow* of the compartments outside the liver holding the cells that have never
//! entered it: cells given minus the shadow's total is the first-passage "reached the liver"
//! count, which the linear engine gets from a second walk with an absorbing liver.
//!
//! Every mechanism acts through a value the model is affine in (`model::Scaling`): liver
//! extraction (injury), death rates (sensitization) and engraftment (injury, niche). So the
//! rate matrix at any state is `K_a + E K_b + c K_death + g K_graft + g_d K_depot_graft`,
//! from five matrices assembled once, and the Jacobian is analytic.

use nalgebra::{SMatrix, SVector};

use super::Slow;
use crate::compartment::{Compartment as C, State, StateMatrix, N};
use crate::model::{Model, Scaling};
use crate::numerics::lu::{self, Lu};
use crate::numerics::rodas;
use crate::params::{Param, Parameters};
use crate::presets::routes::DepotSite;
use crate::presets::{Choice, Route};
use crate::scenario::Mechanisms;

/// Number of states of the extended system.
pub const D: usize = N + 4 + SHADOWED.len();

/// A state of the extended system.
pub type Y = SVector<f64, D>;

/// Positions of the mechanisms' states.
const INJURY: usize = N;
const ANTIGEN: usize = N + 1;
const SENSITIZATION: usize = N + 2;
const MARKER: usize = N + 3;
/// First position of the shadow states.
const SHADOW: usize = N + 4;

/// The compartments outside the liver, in shadow order.
const SHADOWED: [C; 7] = [
    C::BloodVenous,
    C::BloodArterial,
    C::Lung,
    C::Spleen,
    C::Other,
    C::Depot,
    C::Dead,
];

/// The paracrine weight of a cell in each compartment (the dead have none): shared with
/// the SBML export, which writes the same signal.
pub const SIGNAL_WEIGHTS: [(C, Param); 8] = [
    (C::BloodVenous, Param::SignalWeightBlood),
    (C::BloodArterial, Param::SignalWeightBlood),
    (C::Lung, Param::SignalWeightLung),
    (C::LiverSinusoid, Param::SignalWeightLiver),
    (C::LiverEngrafted, Param::SignalWeightLiver),
    (C::Spleen, Param::SignalWeightSpleen),
    (C::Other, Param::SignalWeightOther),
    (C::Depot, Param::SignalWeightDepot),
];

/// A matrix over the shadowed compartments.
type Shadow = SMatrix<f64, { SHADOWED.len() }, { SHADOWED.len() }>;

/// The rows and columns of `m` of the shadowed compartments.
fn shadowed(m: &StateMatrix) -> Shadow {
    Shadow::from_fn(|a, b| m[(SHADOWED[a].index(), SHADOWED[b].index())])
}

/// The entries of `v` of the shadowed compartments.
fn shadowed_rows(v: &State) -> SVector<f64, { SHADOWED.len() }> {
    SVector::from_fn(|a, _| v[SHADOWED[a].index()])
}

/// The shadow of an extended state as cells in their compartments (none in the liver):
/// the shadow's flows are then the rate matrix's flows at that state, read off the
/// shadowed compartments.
fn shadow_cells(y: &Y) -> State {
    let mut x = State::zeros();
    for (j, c) in SHADOWED.iter().enumerate() {
        x[c.index()] = y[SHADOW + j];
    }
    x
}

/// Positions of the mechanisms' factors in `AffineRates::parts`.
const EXTRACTION: usize = 0;
const DEATH: usize = 1;
const GRAFT: usize = 2;
const DEPOT_GRAFT: usize = 3;

/// A rate matrix affine in the mechanisms' four factors (liver extraction, death, homing
/// times niche room for engraftment, niche room for depot engraftment):
/// `base + sum_i factor_i part_i`. The parts are kept as their nonzero entries (row,
/// column, value), a few dozen of their hundreds, as the matrix is assembled at every stage
/// of every step.
#[derive(Debug, Clone)]
struct AffineRates {
    base: StateMatrix,
    parts: [Vec<(usize, usize, f64)>; 4],
}

impl AffineRates {
    fn new(base: StateMatrix, parts: [StateMatrix; 4]) -> Self {
        let nonzero = |m: &StateMatrix| {
            let mut entries = Vec::new();
            for j in 0..N {
                for i in 0..N {
                    if m[(i, j)] != 0.0 {
                        entries.push((i, j, m[(i, j)]));
                    }
                }
            }
            entries
        };
        AffineRates {
            base,
            parts: parts.each_ref().map(nonzero),
        }
    }

    /// The rate matrix at `factors`.
    fn at(&self, factors: &[f64; 4]) -> StateMatrix {
        let mut k = self.base;
        for (part, factor) in self.parts.iter().zip(factors) {
            for &(i, j, v) in part {
                k[(i, j)] += v * factor;
            }
        }
        k
    }

    /// Part `i` times `v`: the change of the flows per unit of factor `i`.
    fn part_times(&self, i: usize, v: &State) -> State {
        let mut out = State::zeros();
        for &(row, column, value) in &self.parts[i] {
            out[row] += value * v[column];
        }
        out
    }
}

/// The cells of an extended state.
pub fn cells(y: &Y) -> State {
    y.fixed_rows::<N>(0).into_owned()
}

/// The mechanisms' states of an extended state.
pub fn slow(y: &Y) -> Slow {
    Slow {
        injury: y[INJURY],
        antigen: y[ANTIGEN],
        sensitization: y[SENSITIZATION],
        marker: y[MARKER],
    }
}

/// Cells of an extended state that have never entered the liver (the shadow's total).
pub fn never_in_liver(y: &Y) -> f64 {
    y.fixed_rows::<{ SHADOWED.len() }>(SHADOW).sum()
}

/// The model of one scenario with its mechanisms: fixed for a run.
#[derive(Debug, Clone)]
pub struct Extended {
    on: Mechanisms,
    /// The cells' rates: transport with no liver extraction, no death and no
    /// engraftment, changed per unit of liver extraction, of death (at the resolved
    /// rates), of engraftment of sinusoidal cells and of engraftment in place of an
    /// intrahepatic depot (both at the resolved rates).
    rates: AffineRates,
    /// Entry distributions, in `Route::ALL` order. They do not depend on the injury:
    /// cells just given lodge on their first pass as the whole product does
    /// (`liver.first_pass_extraction`), and homing acts on circulating cells.
    entries: Vec<State>,
    /// Paracrine weight of each compartment.
    weights: State,
    /// Death rate of each compartment (the `dead` row of the death part of `rates`).
    death_rates: State,
    extraction: f64,
    /// ln(1 - extraction), for the homing hazard (-infinity when every cell is arrested).
    ln_passing: f64,
    homing_fold: f64,
    capacity: f64,
    repair: f64,
    relapse: f64,
    half_signal: f64,
    clearance_fold: f64,
    onset: f64,
    decay: f64,
    antigen_clearance: f64,
    half_antigen: f64,
    emax: f64,
    turnover: f64,
}

/// Where the mechanisms stand at a state: the values the rate matrix is assembled from,
/// and their derivatives for the Jacobian.
struct Levels {
    extraction: f64,
    /// d extraction / d injury.
    extraction_slope: f64,
    homing: f64,
    /// d homing / d injury.
    homing_slope: f64,
    room: f64,
    /// d room / d engrafted cells.
    room_slope: f64,
    death: f64,
    /// d death / d sensitization.
    death_slope: f64,
}

impl Levels {
    /// The factors of `AffineRates`.
    fn factors(&self) -> [f64; 4] {
        [
            self.extraction,
            self.death,
            self.homing * self.room,
            self.room,
        ]
    }
}

impl Extended {
    /// The system of a scenario's parameters, depot site and mechanisms.
    pub fn new(p: &Parameters, depot: Option<DepotSite>, on: Mechanisms) -> Self {
        let assemble = |liver_extraction, death, engraftment, depot_engraftment| {
            Model::assemble_scaled(
                p,
                depot,
                &Scaling {
                    liver_extraction,
                    death,
                    engraftment,
                    depot_engraftment,
                },
            )
        };
        let a = assemble(0.0, 0.0, 0.0, 0.0);
        let b = assemble(1.0, 0.0, 0.0, 0.0);
        let death = assemble(0.0, 1.0, 0.0, 0.0);
        let graft = assemble(0.0, 0.0, 1.0, 0.0);
        let depot_graft = assemble(0.0, 0.0, 0.0, 1.0);
        let entries = Route::ALL.iter().map(|&r| *a.entry(r)).collect();
        let k_death = death.rates - a.rates;
        let mut weights = State::zeros();
        for (c, w) in SIGNAL_WEIGHTS {
            weights[c.index()] = p.get(w);
        }
        let k_b = b.rates - a.rates;
        let k_graft = graft.rates - a.rates;
        let k_depot_graft = depot_graft.rates - a.rates;
        let extraction = p.get(Param::LiverExtraction);
        let parts = [k_b, k_death, k_graft, k_depot_graft];
        Extended {
            on,
            death_rates: k_death.row(C::Dead.index()).transpose(),
            rates: AffineRates::new(a.rates, parts),
            entries,
            weights,
            extraction,
            ln_passing: (1.0 - extraction).ln(),
            homing_fold: p.get(Param::InjuryHomingFold),
            capacity: p.get(Param::NicheCapacity),
            repair: p.get(Param::InjuryRepair),
            relapse: p.get(Param::InjuryRelapse),
            half_signal: p.get(Param::SignalHalfMax),
            clearance_fold: p.get(Param::SensitizationFold),
            onset: p.get(Param::SensitizationOnset),
            decay: p.get(Param::SensitizationDecay),
            antigen_clearance: p.get(Param::AntigenClearance),
            half_antigen: p.get(Param::AntigenHalfMax),
            emax: p.get(Param::EffectEmax),
            turnover: p.get(Param::MarkerTurnover),
        }
    }

    /// The general integrator's absolute tolerance per state, from `atol` (a fraction)
    /// and `cells` (the largest dose). States counted in cells take `atol` of the dose,
    /// dimensionless ones `atol` itself. Engrafted liver cells under a niche take `atol`
    /// of the capacity when that is smaller, because the niche's room (1 - engrafted /
    /// capacity) turns on their scale, not the dose's: a niche of one cell under a dose of
    /// 4e10 was otherwise overfilled by 2,000 cells in one step, and the steps then
    /// chattered across the room's kink until RODAS gave up.
    pub fn absolute_tolerance(&self, atol: f64, cells: f64) -> Y {
        let counts_cells = |i: usize| i < N || i == ANTIGEN || i >= SHADOW;
        let mut y = Y::from_fn(|i, _| {
            if counts_cells(i) {
                atol * cells.max(1.0)
            } else {
                atol
            }
        });
        if self.on.niche {
            let e = C::LiverEngrafted.index();
            y[e] = y[e].min(atol * self.capacity);
        }
        y
    }

    /// The state before any cells are given: injury at the disease's level, a naive host,
    /// the marker at baseline.
    pub fn initial(&self) -> Y {
        let mut y = Y::zeros();
        y[INJURY] = 1.0;
        y[MARKER] = 1.0;
        y
    }

    /// Adds `cells` given by `route` at state `y` (a bolus).
    pub fn give(&self, y: &mut Y, route: Route, cells: f64) {
        let x = self.entries[route.position()] * cells;
        self.add_cells(y, &x);
    }

    /// The input (cells/h per compartment) of an infusion at `cells_per_h` by `route`.
    pub fn infusion(&self, route: Route, cells_per_h: f64) -> State {
        self.entries[route.position()] * cells_per_h
    }

    /// Adds cells `x` to the cells and to the shadow (cells arriving outside the liver have
    /// not entered it).
    fn add_cells(&self, y: &mut Y, x: &State) {
        for (i, c) in C::ALL.iter().enumerate() {
            y[i] += x[c.index()];
        }
        for (j, c) in SHADOWED.iter().enumerate() {
            y[SHADOW + j] += x[c.index()];
        }
    }

    fn levels(&self, y: &Y) -> Levels {
        let (homing, homing_slope) = if self.on.injury {
            let slope = (self.homing_fold - 1.0) / self.homing_fold;
            (1.0 / self.homing_fold + slope * y[INJURY].max(0.0), slope)
        } else {
            (1.0, 0.0)
        };
        // Homing multiplies the per-pass hazard: E = 1 - (1 - E_resolved)^homing.
        let (extraction, extraction_slope) = if !self.on.injury {
            (self.extraction, 0.0)
        } else if self.extraction >= 1.0 {
            (1.0, 0.0)
        } else {
            let stay = (self.ln_passing * homing).exp();
            (1.0 - stay, -stay * self.ln_passing * homing_slope)
        };
        // Past the capacity the room stays 0, but the Jacobian keeps the slope of the side
        // it filled from: a niche sits at its capacity, and a RODAS step taken from just
        // above it (by up to the engrafted cells' tolerance) must see how hard engraftment
        // turns back on below it, or its stages chatter across the kink (a one-cell niche
        // under 8e11 cells, engrafted cells dying at 0.001 /h, took 10^6 steps by day 2.5).
        let (room, room_slope) = if self.on.niche {
            let engrafted = y[C::LiverEngrafted.index()];
            (
                ((self.capacity - engrafted) / self.capacity).max(0.0),
                -1.0 / self.capacity,
            )
        } else {
            (1.0, 0.0)
        };
        let (death, death_slope) = if self.on.sensitization {
            let slope = self.clearance_fold - 1.0;
            (1.0 + slope * y[SENSITIZATION].max(0.0), slope)
        } else {
            (1.0, 0.0)
        };
        Levels {
            extraction,
            extraction_slope,
            homing,
            homing_slope,
            room,
            room_slope,
            death,
            death_slope,
        }
    }

    /// The paracrine action at cells `x` (0 to 1) and its derivative in the signal.
    fn action(&self, x: &State) -> (f64, f64) {
        let signal = self.weights.dot(x).max(0.0);
        let total = self.half_signal + signal;
        (signal / total, self.half_signal / (total * total))
    }
}

/// The extended system under a constant infusion input: what the integrator steps.
#[derive(Debug, Clone)]
pub struct Driven<'a> {
    /// The model.
    pub system: &'a Extended,
    /// Input of the infusions running (cells/h per compartment).
    pub input: State,
}

impl Driven<'_> {
    /// dy/dt at `y`.
    pub fn rhs_at(&self, y: &Y) -> Y {
        let s = self.system;
        let l = s.levels(y);
        let x = cells(y);
        let k = s.rates.at(&l.factors());
        let dx = k * x + self.input;
        let mut dy = Y::zeros();
        dy.fixed_rows_mut::<N>(0).copy_from(&dx);
        let (action, _) = s.action(&x);
        if s.on.injury {
            dy[INJURY] = s.relapse * (1.0 - y[INJURY]) - s.repair * action * y[INJURY];
        }
        if s.on.sensitization {
            let u_ag = y[ANTIGEN].max(0.0);
            dy[ANTIGEN] = l.death * s.death_rates.dot(&x) - s.antigen_clearance * y[ANTIGEN];
            dy[SENSITIZATION] = s.onset * u_ag / (s.half_antigen + u_ag) * (1.0 - y[SENSITIZATION])
                - s.decay * y[SENSITIZATION];
        }
        if s.on.effect {
            dy[MARKER] = s.turnover * (1.0 + s.emax * action) - s.turnover * y[MARKER];
        }
        let ds = shadowed_rows(&(k * shadow_cells(y) + self.input));
        dy.fixed_rows_mut::<{ SHADOWED.len() }>(SHADOW)
            .copy_from(&ds);
        dy
    }

    /// The Jacobian of `rhs_at` at `y`.
    pub fn jacobian_at(&self, y: &Y) -> Jacobian {
        let s = self.system;
        let l = s.levels(y);
        let k = s.rates.at(&l.factors());
        let x = cells(y);
        let mut j = Jacobian {
            main: SMatrix::zeros(),
            coupling: SMatrix::zeros(),
            shadow: shadowed(&k),
        };
        let main = &mut j.main;
        main.fixed_view_mut::<N, N>(0, 0).copy_from(&k);
        let e = C::LiverEngrafted.index();
        // The niche's room depends on engrafted cells.
        let graft_flows =
            s.rates.part_times(GRAFT, &x) * l.homing + s.rates.part_times(DEPOT_GRAFT, &x);
        for i in 0..N {
            main[(i, e)] += l.room_slope * graft_flows[i];
        }
        let d_extraction = s.rates.part_times(EXTRACTION, &x) * l.extraction_slope
            + s.rates.part_times(GRAFT, &x) * (l.homing_slope * l.room);
        let d_death = s.rates.part_times(DEATH, &x) * l.death_slope;
        for i in 0..N {
            main[(i, INJURY)] = d_extraction[i];
            main[(i, SENSITIZATION)] = d_death[i];
        }
        let (action, action_slope) = s.action(&x);
        if s.on.injury {
            for i in 0..N {
                main[(INJURY, i)] = -s.repair * y[INJURY] * action_slope * s.weights[i];
            }
            main[(INJURY, INJURY)] = -s.relapse - s.repair * action;
        }
        if s.on.sensitization {
            for i in 0..N {
                main[(ANTIGEN, i)] = l.death * s.death_rates[i];
            }
            main[(ANTIGEN, SENSITIZATION)] = l.death_slope * s.death_rates.dot(&x);
            main[(ANTIGEN, ANTIGEN)] = -s.antigen_clearance;
            let u_ag = y[ANTIGEN].max(0.0);
            let total = s.half_antigen + u_ag;
            if y[ANTIGEN] > 0.0 {
                main[(SENSITIZATION, ANTIGEN)] =
                    s.onset * s.half_antigen / (total * total) * (1.0 - y[SENSITIZATION]);
            }
            main[(SENSITIZATION, SENSITIZATION)] = -s.onset * u_ag / total - s.decay;
        }
        if s.on.effect {
            for i in 0..N {
                main[(MARKER, i)] = s.turnover * s.emax * action_slope * s.weights[i];
            }
            main[(MARKER, MARKER)] = -s.turnover;
        }
        let shadow = shadow_cells(y);
        let by_extraction =
            shadowed_rows(&s.rates.part_times(EXTRACTION, &shadow)) * l.extraction_slope;
        let by_death = shadowed_rows(&s.rates.part_times(DEATH, &shadow)) * l.death_slope;
        let by_room = shadowed_rows(&s.rates.part_times(DEPOT_GRAFT, &shadow)) * l.room_slope;
        for a in 0..SHADOWED.len() {
            j.coupling[(a, INJURY)] = by_extraction[a];
            j.coupling[(a, SENSITIZATION)] = by_death[a];
            j.coupling[(a, e)] = by_room[a];
        }
        j
    }
}

/// Number of states before the shadow: the cells and the mechanisms.
const MAIN: usize = SHADOW;

/// The Jacobian of the extended system, in blocks. Nothing in the cells or the mechanisms
/// depends on the shadow, so the Jacobian is block lower triangular and its iteration
/// matrix factors as two smaller ones: as one 20 x 20 matrix, the shadow took 37 % of
/// the time of a run.
#[derive(Debug, Clone)]
pub struct Jacobian {
    /// d (cells, mechanisms) / d (cells, mechanisms).
    main: SMatrix<f64, MAIN, MAIN>,
    /// d shadow / d (cells, mechanisms).
    coupling: SMatrix<f64, { SHADOWED.len() }, MAIN>,
    /// d shadow / d shadow.
    shadow: Shadow,
}

#[cfg(test)]
impl Jacobian {
    /// The whole matrix, row i holding the derivatives of `rhs_at(y)[i]`.
    fn dense(&self) -> SMatrix<f64, D, D> {
        let mut j = SMatrix::<f64, D, D>::zeros();
        j.fixed_view_mut::<MAIN, MAIN>(0, 0).copy_from(&self.main);
        j.fixed_view_mut::<{ SHADOWED.len() }, MAIN>(SHADOW, 0)
            .copy_from(&self.coupling);
        j.fixed_view_mut::<{ SHADOWED.len() }, { SHADOWED.len() }>(SHADOW, SHADOW)
            .copy_from(&self.shadow);
        j
    }
}

impl rodas::Jacobian<D> for Jacobian {
    type Factors = Factors;

    fn factor(&self, diagonal: f64) -> Option<Factors> {
        Some(Factors {
            main: Lu::new(SMatrix::from_diagonal_element(diagonal) - self.main)?,
            shadow: Lu::new(Shadow::from_diagonal_element(diagonal) - self.shadow)?,
            coupling: self.coupling,
        })
    }

    fn is_finite(&self) -> bool {
        [
            self.main.as_slice(),
            self.coupling.as_slice(),
            self.shadow.as_slice(),
        ]
        .iter()
        .all(|block| block.iter().all(|x| x.is_finite()))
    }
}

/// The factors of an iteration matrix `d I - J` of the extended system, by blocks.
#[derive(Debug)]
pub struct Factors {
    main: Lu<MAIN>,
    shadow: Lu<{ SHADOWED.len() }>,
    /// J's coupling block, which is minus the iteration matrix's.
    coupling: SMatrix<f64, { SHADOWED.len() }, MAIN>,
}

impl lu::Factors<D> for Factors {
    /// Forward substitution by blocks: the cells and mechanisms first, then the shadow
    /// given them.
    fn solve(&self, b: Y) -> Y {
        let top = self.main.solve(b.fixed_rows::<MAIN>(0).into_owned());
        let bottom = self
            .shadow
            .solve(b.fixed_rows::<{ SHADOWED.len() }>(SHADOW) + self.coupling * top);
        let mut x = Y::zeros();
        x.fixed_rows_mut::<MAIN>(0).copy_from(&top);
        x.fixed_rows_mut::<{ SHADOWED.len() }>(SHADOW)
            .copy_from(&bottom);
        x
    }
}

impl rodas::System<D> for Driven<'_> {
    type Jacobian = Jacobian;

    fn rhs(&self, y: &Y) -> Y {
        self.rhs_at(y)
    }

    fn jacobian(&self, y: &Y) -> Jacobian {
        self.jacobian_at(y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::general::MAX_STEP_H;
    use crate::params::{resolve, Subject};
    use crate::presets::{CellSource, Disease, Donor, Modification, Species};

    /// A state with every mechanism away from its rest: cells everywhere, the niche half
    /// full, injury partly healed, antigen and sensitization present.
    fn busy(system: &Extended) -> Y {
        let mut y = system.initial();
        for (i, c) in C::ALL.iter().enumerate() {
            y[i] = 1e6 * (1.0 + i as f64);
            if *c == C::LiverEngrafted {
                y[i] = 0.5 * system.capacity;
            }
        }
        y[INJURY] = 0.6;
        y[ANTIGEN] = 3e6;
        y[SENSITIZATION] = 0.3;
        y[MARKER] = 1.1;
        for j in 0..SHADOWED.len() {
            y[SHADOW + j] = 2e5 * (1.0 + j as f64);
        }
        y
    }

    fn parameters() -> Parameters {
        resolve(&Subject {
            species: Species::Human,
            body_weight_kg: 70.0,
            disease: Disease::DecompensatedCirrhosis,
            source: CellSource::BoneMarrow,
            donor: Donor::Allogeneic,
            modification: Modification::None,
        })
    }

    /// The analytic Jacobian matches central differences of the right-hand side, for every
    /// depot site, with every mechanism on and with all off.
    #[test]
    fn jacobian_matches_finite_differences() {
        let p = parameters();
        for on in [Mechanisms::ALL, Mechanisms::default()] {
            for depot in [
                None,
                Some(DepotSite::Spleen),
                Some(DepotSite::Liver),
                Some(DepotSite::Peritoneum),
            ] {
                let system = Extended::new(&p, depot, on);
                let driven = Driven {
                    system: &system,
                    input: system.infusion(Route::HepaticArtery, 1e7),
                };
                let y = busy(&system);
                let j = driven.jacobian_at(&y).dense();
                for col in 0..D {
                    let h = 1e-6 * y[col].abs().max(1e-3);
                    let (mut up, mut down) = (y, y);
                    up[col] += h;
                    down[col] -= h;
                    let fd = (driven.rhs_at(&up) - driven.rhs_at(&down)) / (2.0 * h);
                    for row in 0..D {
                        let scale = fd[row].abs().max(j[(row, col)].abs());
                        let tol = 1e-6 * scale
                            + 1e-9 * driven.rhs_at(&y)[row].abs() / y[col].abs().max(1e-3)
                            + 1e-12;
                        assert!(
                            (fd[row] - j[(row, col)]).abs() <= tol,
                            "{on:?} {depot:?}: d f[{row}] / d y[{col}]: analytic {:e}, finite difference {:e}",
                            j[(row, col)],
                            fd[row]
                        );
                    }
                }
            }
        }
    }

    /// Solving by blocks solves the whole iteration matrix `d I - J`: its residual at the
    /// solution is at rounding level, for steps from a third of a second to the longest.
    #[test]
    fn block_factors_solve_the_whole_iteration_matrix() {
        use crate::numerics::lu::Factors as _;
        use rodas::Jacobian as _;
        let p = parameters();
        for depot in [None, Some(DepotSite::Liver)] {
            let system = Extended::new(&p, depot, Mechanisms::ALL);
            let driven = Driven {
                system: &system,
                input: system.infusion(Route::PeripheralVein, 1e7),
            };
            let jacobian = driven.jacobian_at(&busy(&system));
            let b = Y::from_fn(|i, _| 1e6 * (1.0 + i as f64).sin());
            for h in [1e-4, 1e-2, 1.0, MAX_STEP_H] {
                let diagonal = 1.0 / (0.25 * h);
                let x = jacobian.factor(diagonal).expect("regular").solve(b);
                let w = SMatrix::<f64, D, D>::from_diagonal_element(diagonal) - jacobian.dense();
                let scale = (w.abs() * x.abs()).amax() + b.amax();
                let residual = (w * x - b).amax();
                assert!(
                    residual <= 1e-13 * scale,
                    "{depot:?}, h = {h}: residual {residual:e} of {scale:e}"
                );
            }
        }
    }
}
