//! The metrics of a schedule from the eigenbasis of its model: stepped from dose event to
//! dose event instead of hour by hour, with every extremum and threshold crossing of the
//! exact solution bracketed rigorously (`evaluator::expsum`) instead of searched for on a grid.
//!
//! Between events each state is a sum of real exponentials in time, so a step costs one
//! exponential per mode, areas and end values are closed forms, and the first-passage
//! fraction comes from a second eigenbasis: the model with the liver made absorbing,
//! restricted to the states cells reach the liver from (cells placed in the liver count at
//! once; the liver's inflow is integrated). What a model shares across scenarios (both
//! eigenbases, the route entries and read-outs in modal coordinates) is built once in
//! `Basis`; what repeats across the scenarios of a sweep (the factors of each step length,
//! a walk of each schedule per unit dose: its metrics and the liver's monotone pieces, from
//! which any threshold costs only its crossings) is remembered in `Memo`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::expsum::{refine, Bracket, ExpSum, Uncertain, EVALUATION_ROUNDING, ROUNDING};
use super::modal::{advance, Exps, Modal, Modes, Step};
use crate::compartment::{Compartment as C, State, Total};
use crate::dosing::Dose;
use crate::engine::Plan;
use crate::metrics::{Area, Gathered, Metrics, Peak, Totals, TIME_TOLERANCE_H};
use crate::model::Model;
use crate::presets::routes::DepotSite;
use crate::presets::{Choice, Route};
use crate::scenario::DEFAULT_THRESHOLD_SHARE;

/// Step lengths whose factors are kept per model (600 bytes each); past this the store
/// starts afresh (a sweep meets a few dozen lengths, a stream of random schedules would
/// grow without end, and a step costs only two exponentials per mode to redo).
const MAX_STEPS: usize = 1024;

/// Zeros per step whose places are remembered as guesses (later ones start unguided).
const MAX_RANK: usize = 8;

/// Walks per unit dose kept per model (about 3 kB each for six doses); past this the store
/// starts afresh. The reference sweep has 150 schedule shapes per model.
const MAX_RESULTS: usize = 1024;

/// Bytes of liver pieces kept per model: a walk grows with its schedule (about 1.3 MB for
/// 3,000 infusions), so the count of walks alone does not bound memory. Past this the
/// store starts afresh; a walk larger than the budget is kept alone.
const MAX_RESULT_BYTES: usize = 4 << 20;

/// A model prepared for closed-form evaluation, with what its evaluations remember.
#[derive(Debug)]
pub(super) struct FastModel {
    basis: Basis,
    memo: Memo,
}

/// What does not change once the model is known.
#[derive(Debug)]
struct Basis {
    depot: Option<DepotSite>,
    main: Modal,
    absorbing: Modal,
    /// Entry of one cell of each route, in `Route::ALL` order.
    routes: Vec<RouteModes>,
    lung: Modes,
    liver: Modes,
    /// The read-out of each of `Area::ALL`.
    areas: [Modes; Area::ALL.len()],
    /// Weights of the sum of live states.
    live: Modes,
    /// Rate of cells dying out of each state (the `dead` sink's inflow).
    death: Modes,
    /// Rate of cells entering the liver (absorbing model).
    liver_inflow: Modes,
}

/// Where one cell of a route enters, in both eigenbases.
#[derive(Debug, Clone, Copy)]
struct RouteModes {
    main: Modes,
    absorbing: Modes,
    /// Share placed directly in the liver (counts as having reached it).
    direct_liver: f64,
}

/// What evaluations of one model learn and reuse, and buffers they share.
#[derive(Debug, Default)]
struct Memo {
    /// Walks of schedules scaled to a largest administration of one cell (`unit_key`).
    results: HashMap<Vec<u64>, Unit, BuildHasherDefault<BitsHasher>>,
    /// Bytes of liver pieces in `results`.
    result_bytes: usize,
    work: Work,
}

/// What a walk uses besides the model: the factors of the step lengths met, and buffers.
#[derive(Debug, Default)]
struct Work {
    steps: Steps,
    guesses: Guesses,
    events: Vec<f64>,
    brackets: Vec<Bracket>,
    unit_schedule: Vec<Dose>,
    key: Vec<u64>,
}

/// The factors of each step length met so far, in both eigenbases.
#[derive(Debug, Default)]
struct Steps {
    index: HashMap<u64, usize, BuildHasherDefault<BitsHasher>>,
    factors: Vec<(Step, Step)>,
}

/// Hashes keys made of the bits of numbers with one multiply per word (the keys come from
/// the program, not from an adversary, so SipHash's protection is not needed, and its
/// cost would show at every evaluation).
#[derive(Debug, Default)]
struct BitsHasher(u64);

impl Hasher for BitsHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut w = [0; 8];
            w.copy_from_slice(word);
            self.write_u64(u64::from_le_bytes(w));
        }
        for &b in words.remainder() {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl Steps {
    /// The factors of a step of `h` hours, computed once per length.
    fn get(&mut self, basis: &Basis, h: f64) -> &(Step, Step) {
        if self.factors.len() >= MAX_STEPS {
            self.index.clear();
            self.factors.clear();
        }
        let factors = &mut self.factors;
        let i = *self.index.entry(h.to_bits()).or_insert_with(|| {
            factors.push((basis.main.step(h), basis.absorbing.step(h)));
            factors.len() - 1
        });
        &self.factors[i]
    }
}

/// What a zero was solved for, to find it again in a later step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// An extremum of the lungs.
    LungTurn = 0,
    /// An extremum of the liver.
    LiverTurn = 1,
    /// The liver crossing the threshold.
    LiverCrossing = 2,
}

/// Where zeros fell in earlier steps of the same walk, by target, by whether the step had
/// an input, and by their rank within the step: Newton's first point in a similar later
/// step (repeated doses of one shape put their zeros at nearly the same time into a step).
/// A place is used only by the walk that found it (it carries the walk's number): reusing
/// places across walks would be faster still, but would make a result depend, in its last
/// digits, on what the evaluator computed before, and a sweep's output on its threads.
#[derive(Debug, Default)]
struct Guesses {
    walk: u64,
    /// By target, then by whether the step had an input, then by rank.
    places: [[[Place; MAX_RANK]; 2]; 3],
}

/// Where a zero fell, and in which walk.
#[derive(Debug, Default, Clone, Copy)]
struct Place {
    walk: u64,
    exps: Option<Exps>,
}

/// What a guess is kept under: the target, whether the step has an input, the rank.
type GuessKey = (Target, bool, usize);

impl Guesses {
    /// Solves for a zero of `f` on `curve`, starting from where the same kind of zero
    /// (`key`) last fell in this walk, and remembers where this one falls.
    fn solve(
        &mut self,
        curve: &Curve,
        bracket: &Bracket,
        key: GuessKey,
        f: impl Fn(&Curve, &Exps) -> (f64, f64, f64),
    ) -> Sample {
        let zero = curve.solve(bracket, self.get(key), f);
        self.set(key, zero.exps);
        zero
    }

    /// Forgets every place (in constant time).
    fn start_walk(&mut self) {
        self.walk += 1;
    }

    fn get(&self, (target, input, rank): GuessKey) -> Option<&Exps> {
        let place = self.places[target as usize][usize::from(input)].get(rank)?;
        (place.walk == self.walk).then_some(place.exps.as_ref())?
    }

    fn set(&mut self, (target, input, rank): GuessKey, exps: Exps) {
        if let Some(place) = self.places[target as usize][usize::from(input)].get_mut(rank) {
            *place = Place {
                walk: self.walk,
                exps: Some(exps),
            };
        }
    }
}

impl FastModel {
    /// The closed-form model, or `None` when either eigenbasis cannot stand in for the
    /// matrix exponential.
    pub(super) fn new(model: &Model, depot: Option<DepotSite>) -> Option<Self> {
        let k = &model.rates;
        // The depot state is never filled without a depot route: leave it out.
        let live: Vec<C> = C::ALL
            .into_iter()
            .filter(|&c| c.is_live() && (c != C::Depot || depot.is_some()))
            .collect();
        let liver_parts = Total::Liver.parts();
        let transient: Vec<C> = live
            .iter()
            .copied()
            .filter(|c| !liver_parts.contains(c))
            .collect();
        let main = Modal::new(k, &live)?;
        let absorbing = Modal::new(k, &transient)?;

        let row_over = |rows: &[C], states: &[C]| {
            let mut w = State::zeros();
            for &c in states {
                w[c.index()] = rows.iter().map(|r| k[(r.index(), c.index())]).sum();
            }
            w
        };
        let routes = Route::ALL
            .iter()
            .map(|&r| {
                let entry = model.entry(r);
                RouteModes {
                    main: main.modes_of(entry),
                    absorbing: absorbing.modes_of(entry),
                    direct_liver: Total::Liver.of(entry),
                }
            })
            .collect();
        let live_sum: State = live.iter().map(|c| c.unit()).sum();
        let basis = Basis {
            depot,
            lung: main.weights_of(&C::Lung.unit()),
            liver: main.weights_of(&Total::Liver.weights()),
            areas: Area::ALL.map(|a| main.weights_of(&a.weights())),
            live: main.weights_of(&live_sum),
            death: main.weights_of(&row_over(&[C::Dead], &live)),
            liver_inflow: absorbing.weights_of(&row_over(&liver_parts, &transient)),
            main,
            absorbing,
            routes,
        };
        Some(FastModel {
            basis,
            memo: Memo::default(),
        })
    }

    /// The metrics of `schedule` over `plan` with the liver threshold `threshold` (cells;
    /// `None` for the default, a share of the largest administration scheduled), or `None`
    /// when a dose uses a depot this model was not built for, or an extremum could not be
    /// isolated (the caller then runs the full walk).
    ///
    /// The model is linear: scaling every administration by c scales every count of cells
    /// and every area by c and leaves times and fractions as they were. So the schedule is
    /// walked per unit of its largest administration, and a schedule that differs from an
    /// earlier one only by such a factor reuses that walk: a sweep over dose levels walks
    /// each schedule shape once. The time above the threshold, which depends on the
    /// threshold per unit dose, comes from the liver's monotone pieces the walk recorded
    /// (`LiverPieces`), whatever the threshold, so that it too is a function of the
    /// schedule alone and not of which scenario walked it first.
    pub(super) fn metrics(
        &mut self,
        schedule: &[Dose],
        plan: &Plan,
        threshold: Option<f64>,
    ) -> Option<Metrics> {
        if schedule.iter().any(|d| {
            d.route
                .depot()
                .is_some_and(|site| Some(site) != self.basis.depot)
        }) {
            return None;
        }
        // As `Scenario::liver_threshold`: the default is a share of the largest
        // administration scheduled, which is 1 per unit of itself.
        let scale = schedule.iter().map(|d| d.cells).fold(0.0, f64::max);
        if !(scale > 0.0 && scale.is_finite()) {
            return None;
        }
        let (threshold, unit_threshold) = match threshold {
            Some(cells) => (cells, cells / scale),
            None => (DEFAULT_THRESHOLD_SHARE * scale, DEFAULT_THRESHOLD_SHARE),
        };
        // Every step of the walk is within the run.
        self.basis.main.reach(plan.duration_h);
        let Memo {
            results,
            result_bytes,
            work,
        } = &mut self.memo;
        unit_key(schedule, plan, scale, &mut work.key);
        if !results.contains_key(work.key.as_slice()) {
            let mut unit_schedule = std::mem::take(&mut work.unit_schedule);
            unit_schedule.clear();
            unit_schedule.extend(schedule.iter().map(|d| Dose {
                cells: d.cells / scale,
                ..*d
            }));
            let unit = work.walk(&self.basis, &unit_schedule, plan);
            work.unit_schedule = unit_schedule;
            let unit = unit?;
            let bytes = unit.liver.bytes();
            if results.len() >= MAX_RESULTS || *result_bytes + bytes > MAX_RESULT_BYTES {
                results.clear();
                *result_bytes = 0;
            }
            *result_bytes += bytes;
            results.insert(work.key.clone(), unit);
        }
        let unit = results.get_mut(work.key.as_slice())?;
        let above_h = match unit.above {
            Some((bits, hours)) if bits == unit_threshold.to_bits() => hours,
            _ => {
                let hours = unit
                    .liver
                    .time_above(&self.basis, unit_threshold, &mut work.guesses);
                unit.above = Some((unit_threshold.to_bits(), hours));
                hours
            }
        };
        let totals = Totals::of(schedule, plan);
        Some(Metrics {
            cells_scheduled: totals.cells_scheduled,
            cells_given: totals.cells_given,
            largest_dose_cells: totals.largest_dose_cells,
            doses_after_end: totals.doses_after_end,
            liver_threshold_cells: threshold,
            days_liver_above_threshold: above_h / 24.0,
            ..unit.metrics.scaled(scale)
        })
    }
}

impl Work {
    /// One walk of `schedule` over its events: every metric but the time above a
    /// threshold, and the liver's monotone pieces for that.
    fn walk(&mut self, basis: &Basis, schedule: &[Dose], plan: &Plan) -> Option<Unit> {
        let Work {
            steps,
            guesses,
            events,
            brackets,
            ..
        } = self;
        let t_end = plan.duration_h;
        events.clear();
        events.extend(
            schedule
                .iter()
                .flat_map(|d| [d.start_h, d.end_h().min(t_end)])
                .filter(|&t| t > 0.0 && t <= t_end),
        );
        events.sort_by(f64::total_cmp);
        events.dedup();
        if events.last() != Some(&t_end) {
            events.push(t_end);
        }

        guesses.start_walk();
        let mut walk = Walk::new(basis, guesses, brackets);
        walk.boluses(schedule, 0.0);
        walk.node(schedule, 0.0);
        let mut t0 = 0.0;
        for &t1 in events.iter() {
            let h = t1 - t0;
            let (mut v, mut va) = (Modes::zeros(), Modes::zeros());
            let (mut rate, mut direct_rate) = (0.0, 0.0);
            for d in schedule
                .iter()
                .filter(|d| !d.is_bolus() && d.start_h <= t0 && d.end_h() >= t1)
            {
                let r = basis.route(d.route);
                let cells_per_h = d.rate_per_h();
                v += r.main * cells_per_h;
                va += r.absorbing * cells_per_h;
                rate += cells_per_h;
                direct_rate += r.direct_liver * cells_per_h;
            }
            let (step, step_a) = steps.get(basis, h);
            let y1 = advance(step, &walk.y, &v, &mut walk.area);
            walk.extrema(t0, (&v, rate), &step.exps, &y1).ok()?;
            walk.y = y1;
            walk.z = advance(step_a, &walk.z, &va, &mut walk.area_z);
            walk.reached_direct += direct_rate * h;
            walk.boluses(schedule, t1);
            walk.node(schedule, t1);
            t0 = t1;
        }
        Some(walk.finish(schedule, plan))
    }
}

/// A walk per unit dose: its metrics (all but the time above a threshold, which is
/// left at 0), the liver's monotone pieces, and the time above the last threshold asked.
#[derive(Debug)]
struct Unit {
    metrics: Metrics,
    liver: LiverPieces,
    /// The last threshold (bits) and the hours above it.
    above: Option<(u64, f64)>,
}

/// The live liver over a walk, cut at its extrema into pieces on which it is monotone:
/// enough to find the time above any threshold without walking again (on a monotone
/// piece the curve crosses a level at most once).
#[derive(Debug, Default)]
struct LiverPieces {
    steps: Vec<LiverStep>,
    pieces: Vec<Piece>,
}

/// One step of the walk, as a liver curve needs it (see `Curve::new`).
#[derive(Debug, Clone, Copy)]
struct LiverStep {
    y0: Modes,
    v: Modes,
    cells: f64,
    rate: f64,
    /// Its pieces, `pieces[first..end]`, in time order.
    first: usize,
    end: usize,
}

/// A monotone piece of the liver curve within a step: times (hours into the step) and
/// values at both ends.
#[derive(Debug, Clone, Copy)]
struct Piece {
    ta: f64,
    fa: f64,
    tb: f64,
    fb: f64,
}

impl LiverPieces {
    /// The memory its steps and pieces hold.
    fn bytes(&self) -> usize {
        self.steps.len() * std::mem::size_of::<LiverStep>()
            + self.pieces.len() * std::mem::size_of::<Piece>()
    }

    /// Hours with the live liver above `threshold` (cells).
    fn time_above(&self, basis: &Basis, threshold: f64, guesses: &mut Guesses) -> f64 {
        guesses.start_walk();
        let mut above = 0.0;
        for step in &self.steps {
            let input = step.v != Modes::zeros();
            let curve = || {
                Curve::new(
                    &basis.main,
                    &basis.liver,
                    &step.y0,
                    &step.v,
                    step.cells,
                    step.rate,
                )
            };
            let mut liver = None;
            for (rank, p) in self.pieces[step.first..step.end].iter().enumerate() {
                above += match (p.fa > threshold, p.fb > threshold) {
                    (true, true) => p.tb - p.ta,
                    (false, false) => 0.0,
                    (above_a, _) => {
                        let bracket = Bracket {
                            lo: basis.main.exps(p.ta),
                            hi: p.tb,
                            positive_before: above_a,
                        };
                        let key = (Target::LiverCrossing, input, rank);
                        let curve = liver.get_or_insert_with(curve);
                        let tc = guesses
                            .solve(curve, &bracket, key, |c, e| {
                                let s = c.at(e);
                                (s.value - threshold, s.slope, s.value_noise)
                            })
                            .exps;
                        if above_a {
                            tc.tau - p.ta
                        } else {
                            p.tb - tc.tau
                        }
                    }
                };
            }
        }
        above
    }
}

/// What identifies a schedule per unit of its largest administration (`scale`): the
/// horizon and each administration's route, start, length and share of the largest, as
/// exact bits.
fn unit_key(schedule: &[Dose], plan: &Plan, scale: f64, key: &mut Vec<u64>) {
    key.clear();
    key.push(plan.duration_h.to_bits());
    for d in schedule {
        key.extend([
            route_index(d.route) as u64,
            d.start_h.to_bits(),
            d.duration_h.to_bits(),
            (d.cells / scale).to_bits(),
        ]);
    }
}

/// Position of a route in `Route::ALL`.
fn route_index(route: Route) -> usize {
    Route::ALL
        .iter()
        .position(|&r| r == route)
        .expect("Route::ALL lists every route")
}

impl Basis {
    fn route(&self, route: Route) -> &RouteModes {
        &self.routes[route_index(route)]
    }
}

/// One linear combination of states over one step, in closed form at any time inside it.
struct Curve<'a> {
    modal: &'a Modal,
    weights: Modes,
    y0: Modes,
    v: Modes,
    slope: ExpSum<'a>,
    /// Error scales of the terms of the value (see `ExpSum`): for the modes at the start
    /// and for the input.
    start_error: Modes,
    input_error: Modes,
}

/// A time inside a step with the curve's value and first two derivatives there, and the
/// rounding level of the value.
#[derive(Debug, Clone, Copy)]
struct Sample {
    exps: Exps,
    value: f64,
    slope: f64,
    curvature: f64,
    value_noise: f64,
}

impl<'a> Curve<'a> {
    /// The curve `weights . x` over a step that starts at modes `y0` with `cells` cells in
    /// the system and has modal input `v`, `rate` cells per hour in all.
    fn new(
        modal: &'a Modal,
        weights: &Modes,
        y0: &Modes,
        v: &Modes,
        cells: f64,
        rate: f64,
    ) -> Self {
        // d/dtau of w . y = sum_j w_j (lambda_j y0_j + v_j) e^(lambda_j tau).
        let lambda = modal.lambda();
        let beta = weights.component_mul(&(lambda.component_mul(y0) + v));
        let scale = weights.abs().component_mul(modal.left_scale());
        let start_error = scale * cells;
        let input_error = scale * rate;
        let slope_error = start_error.component_mul(&lambda.abs()) + input_error;
        Curve {
            modal,
            weights: *weights,
            y0: *y0,
            v: *v,
            slope: ExpSum::new(modal, beta, slope_error),
            start_error,
            input_error,
        }
    }

    /// The curve where the exponentials are `exps`.
    fn at(&self, exps: &Exps) -> Sample {
        let phi1 = self.modal.phi1(exps);
        let terms = self
            .weights
            .component_mul(&(exps.e.component_mul(&self.y0) + phi1.component_mul(&self.v)));
        let (slope, curvature, _) = self.slope.at(&exps.e);
        Sample {
            exps: *exps,
            value: terms.sum(),
            slope,
            curvature,
            value_noise: EVALUATION_ROUNDING * terms.abs().sum()
                + ROUNDING * (self.start_error.dot(&exps.e) + self.input_error.dot(&phi1.abs())),
        }
    }

    /// The zero in `bracket` of the function `f` (its value, derivative and rounding level
    /// where the exponentials are given): Newton's first point is `guess` when it lies
    /// inside, else one Newton step from the left end when the value there is on its side,
    /// else the middle. Each new time is evaluated from the exponentials at the previous
    /// one when the two are close (`exps_near`). Returns the curve at the zero.
    fn solve(
        &self,
        bracket: &Bracket,
        guess: Option<&Exps>,
        f: impl Fn(&Curve, &Exps) -> (f64, f64, f64),
    ) -> Sample {
        let inside = |x: &&Exps| x.tau > bracket.lo.tau && x.tau < bracket.hi;
        let (mut last, start) = match guess.filter(inside) {
            Some(g) => (*g, g.tau),
            None => {
                let (v, d, noise) = f(self, &bracket.lo);
                let start = if v.abs() > noise && (v > 0.0) == bracket.positive_before {
                    bracket.lo.tau - v / d
                } else {
                    0.5 * (bracket.lo.tau + bracket.hi)
                };
                (bracket.lo, start)
            }
        };
        let tau = refine(bracket, start, TIME_TOLERANCE_H, |tau| {
            if tau != last.tau {
                last = self.modal.exps_near(&last, tau);
            }
            f(self, &last)
        });
        // The last evaluation is within the tolerance of the zero: extrapolate to it (the
        // error is of second order in that distance).
        let at_last = self.at(&last);
        let d = tau - last.tau;
        Sample {
            exps: self.modal.exps_near(&last, tau),
            value: at_last.value + at_last.slope * d,
            slope: at_last.slope + at_last.curvature * d,
            ..at_last
        }
    }

    /// The slope, curvature and slope rounding where the exponentials are `exps`: what
    /// Newton's method needs to find an extremum.
    fn slope_at(&self, exps: &Exps) -> (f64, f64, f64) {
        self.slope.at(&exps.e)
    }
}

/// The state of a walk and the metrics gathered so far.
struct Walk<'a> {
    basis: &'a Basis,
    guesses: &'a mut Guesses,
    brackets: &'a mut Vec<Bracket>,
    /// Modes of the model (after any boluses at the current node).
    y: Modes,
    /// Area under each mode so far (cell-hours).
    area: Modes,
    /// Modes of the absorbing model.
    z: Modes,
    /// Area under each mode of the absorbing model.
    area_z: Modes,
    /// Cells placed directly in the liver so far.
    reached_direct: f64,
    lung_peak: Peak,
    liver_peak: Peak,
    liver: LiverPieces,
    worst_balance: f64,
    /// Cells given up to the current node (a bound on the cells in the system).
    given: f64,
}

impl<'a> Walk<'a> {
    fn new(basis: &'a Basis, guesses: &'a mut Guesses, brackets: &'a mut Vec<Bracket>) -> Self {
        let start = Peak::NONE;
        Walk {
            basis,
            guesses,
            brackets,
            y: Modes::zeros(),
            area: Modes::zeros(),
            z: Modes::zeros(),
            area_z: Modes::zeros(),
            reached_direct: 0.0,
            lung_peak: start,
            liver_peak: start,
            liver: LiverPieces::default(),
            worst_balance: 0.0,
            given: 0.0,
        }
    }

    /// Adds the boluses given at `t`.
    fn boluses(&mut self, schedule: &[Dose], t: f64) {
        for d in schedule.iter().filter(|d| d.is_bolus() && d.start_h == t) {
            let r = self.basis.route(d.route);
            self.y += r.main * d.cells;
            self.z += r.absorbing * d.cells;
            self.reached_direct += r.direct_liver * d.cells;
        }
    }

    /// Records the node at `t` (after its boluses).
    fn node(&mut self, schedule: &[Dose], t: f64) {
        let b = self.basis;
        self.lung_peak.offer(t, b.lung.dot(&self.y));
        self.liver_peak.offer(t, b.liver.dot(&self.y));
        self.given = schedule.iter().map(|d| d.given_by(t)).sum();
        let cells = b.live.dot(&self.y) + b.death.dot(&self.area);
        // A state that is not a number is the worst balance of all (`f64::max` would drop it).
        let miss = (cells - self.given).abs();
        self.worst_balance = if miss.is_nan() {
            f64::INFINITY
        } else {
            self.worst_balance.max(miss)
        };
    }

    /// The step from `t0` that starts at the current modes, has modal input `v`, ends
    /// where the exponentials are `end` with modes `y1` (before any boluses there): every
    /// interior maximum of the lungs and the liver is offered as a peak, and the liver's
    /// extrema cut the step into the monotone pieces kept for the time above a threshold.
    fn extrema(
        &mut self,
        t0: f64,
        (v, rate): (&Modes, f64),
        end: &Exps,
        y1: &Modes,
    ) -> Result<(), Uncertain> {
        let b = self.basis;
        let input = *v != Modes::zeros();
        let ladder = b.main.ladder();
        let mut brackets = std::mem::take(self.brackets);

        let lung = Curve::new(&b.main, &b.lung, &self.y, v, self.given, rate);
        lung.slope.isolate(end, ladder, &mut brackets)?;
        for (rank, bracket) in brackets.iter().enumerate() {
            if bracket.positive_before {
                let key = (Target::LungTurn, input, rank);
                let peak = self
                    .guesses
                    .solve(&lung, bracket, key, |c, e| c.slope_at(e));
                self.lung_peak.offer(t0 + peak.exps.tau, peak.value);
            }
        }

        let liver = Curve::new(&b.main, &b.liver, &self.y, v, self.given, rate);
        liver.slope.isolate(end, ladder, &mut brackets)?;
        let first = self.liver.pieces.len();
        let (mut ta, mut fa) = (0.0, b.liver.dot(&self.y));
        for (rank, bracket) in brackets.iter().enumerate() {
            let key = (Target::LiverTurn, input, rank);
            let turn = self
                .guesses
                .solve(&liver, bracket, key, |c, e| c.slope_at(e));
            if bracket.positive_before {
                self.liver_peak.offer(t0 + turn.exps.tau, turn.value);
            }
            let (tb, fb) = (turn.exps.tau, turn.value);
            self.liver.pieces.push(Piece { ta, fa, tb, fb });
            (ta, fa) = (tb, fb);
        }
        let (tb, fb) = (end.tau, b.liver.dot(y1));
        self.liver.pieces.push(Piece { ta, fa, tb, fb });
        self.liver.steps.push(LiverStep {
            y0: self.y,
            v: *v,
            cells: self.given,
            rate,
            first,
            end: self.liver.pieces.len(),
        });
        *self.brackets = brackets;
        Ok(())
    }

    /// The metrics at the end of the walk (the time above a threshold left at 0), and the
    /// liver's pieces.
    fn finish(self, schedule: &[Dose], plan: &Plan) -> Unit {
        let b = self.basis;
        let metrics = Gathered {
            areas_cell_h: b.areas.map(|w| w.dot(&self.area)),
            liver_peak: self.liver_peak,
            lung_peak: self.lung_peak,
            liver_reached: self.reached_direct + b.liver_inflow.dot(&self.area_z),
            liver_end: b.liver.dot(&self.y),
            // Per unit dose, the threshold is applied afterwards (`LiverPieces`).
            threshold: 0.0,
            above_h: 0.0,
            worst_balance: self.worst_balance,
        }
        .metrics(schedule, plan);
        Unit {
            metrics,
            liver: self.liver,
            above: None,
        }
    }
}
