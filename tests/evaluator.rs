//! `evaluator::Evaluator` against the reference walk, `simulation::metrics_only`: random
//! scenarios sent through one evaluator in shuffled order, twice (so that its caches serve
//! scenarios they were not built for, and must not change a result even in its last
//! digit), a sample of the reference sweep grid, more models than an evaluator keeps, and
//! a model the closed form must refuse.
//!
//! What is asserted, metric by metric (`assert_agrees`):
//!
//! - what follows from the schedule alone (`cells_scheduled`, `cells_given`,
//!   `doses_after_end`, `liver_threshold`): equal;
//! - cells, areas and fractions: |got - want| <= 1e-9 |want| + atol, with atol 1e-12 of the
//!   cells scheduled (times the days simulated for areas; 1e-12 for fractions): both walks
//!   carry errors of about 1e-13 of the cells in the system, so a quantity that is a tiny
//!   share of the dose (the spleen without splenic trapping) can agree only absolutely;
//! - peak times: within 1e-6 days, or else the curve at the evaluator's time (the engine's
//!   own walk stopped there) is within 1e-11 of the reference peak. Equal doses whose
//!   residues have died out give peaks equal to rounding at every dose; either walk may
//!   pick any of them, and both are right. (Over the reference sweep such ties are equal
//!   to 3e-15; 1e-11 leaves room for the 1e-12 to which both walks place peak values.)
//! - days above the threshold: |got - want| <= 1e-9 |want| + 1e-8 days (the walks stop
//!   refining a crossing at 1e-9 h; a schedule has at most a few dozen crossings);
//! - `mass_balance_rel_error`: both below 1e-9 (each measures its own rounding).
//!
//! The reference walk looks for one sign change of a curve's slope per grid step (at most
//! an hour, finer just after each dose event), and for none in a step whose slope starts at
//! exactly zero, so it can miss an extremum the evaluator finds (which brackets every one,
//! `evaluator::expsum`). Then the evaluator reports a higher peak or a different time above
//! the threshold, and the case passes only if the same walk on a grid 64 times finer
//! agrees with the evaluator; for a peak, it passes also if the evaluator's peak is a value
//! the curve takes at the evaluator's time and is no lower than what either walk found
//! (the finer walk can miss a peak for the same reasons).

use crate::common;

use cellpk::compartment::{Compartment, State, Total};
use cellpk::engine::{self, Node, Observer};
use cellpk::evaluator::Evaluator;
use cellpk::metrics::{Metric, Metrics};
use cellpk::params::Param;
use cellpk::presets::{CellSource, Disease, Species};
use cellpk::scenario::Scenario;
use cellpk::simulation;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

const RATES: [&str; 12] = [
    "lung.death_per_h",
    "lung.release_per_h",
    "liver.engraftment_per_h",
    "liver.sinusoid_release_per_h",
    "liver.sinusoid_death_per_h",
    "liver.engrafted_death_per_h",
    "spleen.release_per_h",
    "other.release_per_h",
    "depot.death_per_h",
    "depot.intrasplenic_release_per_h",
    "depot.intrahepatic_washout_per_h",
    "blood.death_per_h",
];

/// One `[[dose]]` block: route, cells, count, interval (days), start (days), minutes.
type Block = (&'static str, f64, u32, f64, f64, f64);

/// A block whose start and infusion length are often exactly 0 (a bolus at time 0, the
/// case in which a slope starts at zero).
fn block(route: &'static str) -> impl Strategy<Value = Block> {
    (
        1e4f64..1e8,
        1u32..5,
        0.2f64..10.0,
        prop_oneof![Just(0.0), 0.0f64..5.0],
        prop_oneof![Just(0.0), 0.0f64..240.0],
    )
        .prop_map(move |(cells, count, interval, start, minutes)| {
            (route, cells, count, interval, start, minutes)
        })
}

/// Blocks with distinct vascular routes plus at most one depot route.
fn blocks() -> impl Strategy<Value = Vec<Block>> {
    (
        proptest::sample::subsequence(common::VASCULAR.to_vec(), 0..=3),
        proptest::option::of(proptest::sample::select(common::DEPOTS.to_vec())),
    )
        .prop_filter("at least one dose", |(v, d)| !v.is_empty() || d.is_some())
        .prop_flat_map(|(vascular, depot)| {
            vascular
                .into_iter()
                .chain(depot)
                .map(block)
                .collect::<Vec<_>>()
        })
}

/// Overrides, exact 0 and 1 included (rates of 0 make states absorbing).
fn overrides() -> impl Strategy<Value = Vec<(&'static str, f64)>> {
    let fractions =
        proptest::sample::subsequence(common::FRACTIONS.to_vec(), 0..=3).prop_flat_map(|names| {
            names
                .into_iter()
                .map(|n| (Just(n), prop_oneof![Just(0.0), Just(1.0), 0.0f64..=1.0]))
                .collect::<Vec<_>>()
        });
    let rates = proptest::sample::subsequence(RATES.to_vec(), 0..=4).prop_flat_map(|names| {
        names
            .into_iter()
            .map(|n| (Just(n), prop_oneof![1 => Just(0.0), 4 => 0.0f64..2.0]))
            .collect::<Vec<_>>()
    });
    (fractions, rates).prop_map(|(mut f, r)| {
        f.extend(r);
        f
    })
}

/// Everything a random scenario is made of.
#[derive(Debug, Clone)]
struct Spec {
    subject: (&'static str, &'static str, &'static str, bool),
    blocks: Vec<Block>,
    overrides: Vec<(&'static str, f64)>,
    duration_days: f64,
    output_every_hours: f64,
    threshold: Option<f64>,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        (
            proptest::sample::select(common::names::<Species>()),
            proptest::sample::select(common::names::<Disease>()),
            proptest::sample::select(common::names::<CellSource>()),
            any::<bool>(),
        ),
        blocks(),
        overrides(),
        1.0f64..60.0,
        0.5f64..8.0,
        proptest::option::of(1.0f64..1e7),
    )
        .prop_map(
            |(subject, blocks, overrides, duration_days, output_every_hours, threshold)| {
                // A scenario must give something before its end.
                let first = blocks.iter().map(|b| b.4).fold(f64::INFINITY, f64::min);
                Spec {
                    subject,
                    blocks,
                    overrides,
                    duration_days: duration_days.max(first + 0.5),
                    output_every_hours,
                    threshold,
                }
            },
        )
}

impl Spec {
    fn text(&self, dose_scale: f64) -> String {
        let (species, disease, source, allogeneic) = self.subject;
        let donor = if allogeneic {
            "allogeneic"
        } else {
            "autologous"
        };
        let mut text = format!(
            "name = \"evaluator\"\n[subject]\nspecies = \"{species}\"\ndisease = \"{disease}\"\n\
             [cells]\nsource = \"{source}\"\ndonor = \"{donor}\"\n"
        );
        for (route, cells, count, interval, start, minutes) in &self.blocks {
            text += &format!(
                "[[dose]]\nroute = \"{route}\"\ncells = {:?}\ncount = {count}\n\
                 interval_days = {interval:?}\nstart_day = {start:?}\ninfusion_minutes = {minutes:?}\n",
                cells * dose_scale
            );
        }
        text += &format!(
            "[simulation]\nduration_days = {:?}\noutput_every_hours = {:?}\n",
            self.duration_days, self.output_every_hours
        );
        if let Some(threshold) = self.threshold {
            text += &format!("liver_threshold_cells = {threshold:?}\n");
        }
        text += "[parameters]\n";
        for (name, value) in &self.overrides {
            text += &format!("\"{name}\" = {value:?}\n");
        }
        text
    }
}

/// Keeps the state at the last node of a walk.
struct Last(State);

impl Observer for Last {
    fn node(&mut self, node: &Node) {
        self.0 = node.x;
    }
}

/// The lungs (or the live liver) at `day`, from the engine's own walk stopped there.
fn curve_at(s: &Scenario, day: f64, lung: bool) -> f64 {
    let problem = simulation::Problem::new(s);
    let plan = engine::Plan {
        duration_h: day * 24.0,
        ..problem.plan
    };
    let mut last = Last(State::zeros());
    problem
        .walk(&problem.schedule, &plan, &mut last)
        .expect("walks");
    if lung {
        last.0[Compartment::Lung.index()]
    } else {
        Total::Liver.of(&last.0)
    }
}

/// The reference on a grid 64 times finer (steps of at most 1/64 h).
fn finer(s: &Scenario) -> Metrics {
    let mut fine = s.clone();
    fine.output_every_hours = s.output_every_hours.min(1.0) / 64.0;
    simulation::metrics_only(&fine).expect("simulates")
}

fn close(got: f64, want: f64, rtol: f64, atol: f64) -> bool {
    (got - want).abs() <= rtol * want.abs() + atol
}

/// Asserts that `got` (the evaluator's) agrees with `want` (the reference walk's) as the
/// module documentation says; returns whether the reference walk missed an extremum.
fn assert_agrees(s: &Scenario, got: &Metrics, want: &Metrics) -> Result<bool, TestCaseError> {
    let cells = want.cells_scheduled;
    let mut fine: Option<Metrics> = None;
    let mut missed = false;
    prop_assert_eq!(got.largest_dose_cells, want.largest_dose_cells);
    for &metric in Metric::ALL {
        let (g, w) = (metric.value(got), metric.value(want));
        let what = format!("{}: evaluator {g:e}, reference {w:e}", metric.name());
        match metric {
            Metric::CellsScheduled
            | Metric::CellsGiven
            | Metric::DosesAfterEnd
            | Metric::LiverThreshold => prop_assert_eq!(g, w, "{}", what),
            Metric::MassBalanceError => {
                prop_assert!(g <= 1e-9 && w <= 1e-9, "{}", what);
            }
            Metric::LiverAuc | Metric::LiverEngraftedAuc | Metric::SpleenAuc => {
                prop_assert!(
                    close(g, w, 1e-9, 1e-12 * cells * s.duration_days),
                    "{}",
                    what
                );
            }
            Metric::LiverCellsEnd => {
                prop_assert!(close(g, w, 1e-9, 1e-12 * cells), "{}", what);
            }
            Metric::LiverReachedFraction => {
                prop_assert!(close(g, w, 1e-9, 1e-12), "{}", what);
            }
            Metric::ImprovementAuc
            | Metric::ImprovementMax
            | Metric::DaysImproved
            | Metric::DaysToBaseline => {
                // Random scenarios leave the effect layer off: both NaN.
                prop_assert!(g.is_nan() && w.is_nan(), "{}", what);
            }
            Metric::LungPeak | Metric::LiverPeak | Metric::LungPeakFraction => {
                // Checked with their times below (the fraction is the lung peak over the
                // largest administration, both checked).
            }
            Metric::LungPeakDay | Metric::LiverPeakDay => {
                let lung = metric == Metric::LungPeakDay;
                let (gp, wp) = if lung {
                    (got.lung_peak_cells, want.lung_peak_cells)
                } else {
                    (got.liver_peak_cells, want.liver_peak_cells)
                };
                let atol = 1e-12 * cells;
                if close(gp, wp, 1e-9, atol) {
                    // Peaks within 1e-9 of each other are one, the first kept (`Peak::offer`):
                    // on a plateau the two engines may name different times within it.
                    let flat = || close(curve_at(s, g, lung), wp, 2e-9, atol);
                    prop_assert!(
                        (g - w).abs() <= 1e-6 || flat(),
                        "{what}; peak {gp:e} vs {wp:e}, not flat between the two times"
                    );
                } else {
                    // The reference walk missed the peak: the evaluator's must be higher,
                    // a value the curve takes, and what the finer walk finds.
                    let f = *fine.get_or_insert_with(|| finer(s));
                    let fp = if lung {
                        f.lung_peak_cells
                    } else {
                        f.liver_peak_cells
                    };
                    prop_assert!(gp > wp, "{what}; evaluator peak {gp:e} below {wp:e}");
                    prop_assert!(
                        close(curve_at(s, g, lung), gp, 1e-9, atol),
                        "{what}; the curve at the evaluator's time is not its peak {gp:e}"
                    );
                    prop_assert!(
                        close(gp, fp, 1e-9, atol) || gp > fp,
                        "{what}; evaluator peak {gp:e} below the finer walk's {fp:e}"
                    );
                    missed = true;
                }
            }
            Metric::DaysLiverAboveThreshold => {
                if !close(g, w, 1e-9, 1e-8) {
                    let f = *fine.get_or_insert_with(|| finer(s));
                    let fw = f.days_liver_above_threshold;
                    prop_assert!(close(g, fw, 1e-9, 1e-8), "{what}, finer walk {fw:e}");
                    missed = true;
                }
            }
        }
    }
    Ok(missed)
}

/// Random cases, and the stride through the sweep grid: the README's `cargo test --release`
/// runs the full checks; a debug build, whose reference walk is some 50 times slower,
/// runs a tenth of them.
const CASES: u32 = if cfg!(debug_assertions) { 4 } else { 40 };
const GRID_STRIDE: usize = if cfg!(debug_assertions) { 131 } else { 13 };

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// Random scenarios, each with a twin whose doses are scaled (the evaluator reuses the
    /// result per unit dose), through one evaluator in a shuffled order, twice.
    #[test]
    fn evaluator_matches_metrics_only_on_random_scenarios(
        specs in proptest::collection::vec(spec(), 2..5),
        scale in 0.01f64..100.0,
        shuffle_seed in any::<u64>(),
    ) {
        let mut scenarios: Vec<Scenario> = Vec::new();
        for spec in &specs {
            scenarios.push(common::scenario(&spec.text(1.0)));
            scenarios.push(common::scenario(&spec.text(scale)));
        }
        let want: Vec<Metrics> = scenarios.iter().map(|s| simulation::metrics_only(s).expect("simulates")).collect();
        let mut order: Vec<usize> = (0..scenarios.len()).collect();
        let mut state = shuffle_seed | 1;
        for i in (1..order.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            order.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let mut evaluator = Evaluator::new();
        for pass in 0..2 {
            for &i in &order {
                let got = evaluator.metrics(&scenarios[i]).expect("simulates");
                let text = || specs[i / 2].text(if i % 2 == 0 { 1.0 } else { scale });
                assert_agrees(&scenarios[i], &got, &want[i]).map_err(|e| {
                    TestCaseError::fail(format!(
                        "pass {pass}, scenario {i} of {}:\n{}\n{e}",
                        scenarios.len(),
                        text()
                    ))
                })?;
                // What the evaluator computed before must not change a result, not even in
                // its last digit (a sweep's output must not depend on its threads).
                let alone = Evaluator::new().metrics(&scenarios[i]).expect("simulates");
                prop_assert_eq!(got, alone, "pass {}, scenario {}:\n{}", pass, i, text());
            }
        }
    }
}

#[test]
fn evaluator_matches_metrics_only_on_the_sweep_grid() {
    let grid = common::reference_sweep();
    assert_eq!(grid.len(), 3150);
    let mut evaluator = Evaluator::new();
    let got: Vec<Metrics> = grid
        .iter()
        .map(|s| evaluator.metrics(s).expect("simulates"))
        .collect();
    // In the opposite order through another evaluator (as another thread of a sweep would
    // meet the points): the same results, bit for bit.
    let mut backwards = Evaluator::new();
    for (i, s) in grid.iter().enumerate().rev() {
        assert_eq!(
            backwards.metrics(s).expect("simulates"),
            got[i],
            "grid point {i} depends on the order"
        );
    }
    // Every 13th point, 243 points, over every route, count and interval, and (13 being
    // prime to 21) every dose level; every 131st, 25 points, in a debug build.
    for (i, s) in grid.iter().enumerate().step_by(GRID_STRIDE) {
        let want = simulation::metrics_only(s).expect("simulates");
        let missed =
            assert_agrees(s, &got[i], &want).unwrap_or_else(|e| panic!("grid point {i}: {e}"));
        // The grid's doses are infusions, whose slopes never start a step at zero: there,
        // the reference walk misses nothing and the evaluator must agree with it directly.
        assert!(
            !missed,
            "grid point {i}: the reference walk missed an extremum"
        );
    }
}

#[test]
fn models_evicted_from_an_evaluator_give_the_same_results() {
    // More models than one evaluator keeps (32), met in turn twice: the second round finds
    // the early ones evicted and builds them again.
    let scenarios: Vec<Scenario> = (0..40)
        .map(|i| {
            let extraction = 0.5 + 0.01 * f64::from(i);
            common::human(
                "peripheral_vein",
                "count = 2\ninterval_days = 1.5\ninfusion_minutes = 20",
                "duration_days = 4",
                &format!("\"lung.extraction\" = {extraction:?}"),
            )
        })
        .collect();
    let alone: Vec<Metrics> = scenarios
        .iter()
        .map(|s| Evaluator::new().metrics(s).expect("simulates"))
        .collect();
    let mut evaluator = Evaluator::new();
    for round in 0..2 {
        for (i, s) in scenarios.iter().enumerate() {
            assert_eq!(
                evaluator.metrics(s).expect("simulates"),
                alone[i],
                "round {round}, model {i}"
            );
        }
    }
    for i in [0, 39] {
        assert_agrees(
            &scenarios[i],
            &alone[i],
            &simulation::metrics_only(&scenarios[i]).expect("simulates"),
        )
        .unwrap_or_else(|e| panic!("model {i}: {e}"));
    }
}

#[test]
fn an_evaluator_can_move_to_another_thread() {
    fn send<T: Send>(_: T) {}
    send(Evaluator::default());
}

/// Two hepatic-artery doses 3 days apart with no release from the sinusoids, so that cells
/// leave them only by death and engraftment; engrafted cells die at that total rate times
/// `1 + gap`.
fn liver_chain(gap: f64) -> Scenario {
    let no_release = "\"liver.sinusoid_release_per_h\" = 0.0";
    let scenario = |parameters: &str| {
        common::human(
            "hepatic_artery",
            "count = 2\ninterval_days = 3",
            "duration_days = 10",
            parameters,
        )
    };
    let base = scenario(no_release);
    let p = &base.parameters;
    let outflow = p.get(Param::SinusoidDeath) + p.get(Param::Engraftment);
    scenario(&format!(
        "{no_release}\n\"liver.engrafted_death_per_h\" = {:?}",
        outflow * (1.0 + gap)
    ))
}

#[test]
fn a_defective_rate_matrix_goes_through_the_reference_walk() {
    // When engrafted cells die at exactly the rate cells leave the sinusoids, the
    // sinusoid -> engrafted chain has a repeated eigenvalue with one eigenvector (the
    // Bateman equations' degenerate case, t e^(-k t)): no eigenbasis exists, and the
    // evaluator must use the walk.
    let s = liver_chain(0.0);
    let want = simulation::metrics_only(&s).expect("simulates");
    let got = Evaluator::new().metrics(&s).expect("simulates");
    assert_eq!(got, want, "not the reference walk's result, bit for bit");
}

#[test]
fn an_ill_conditioned_eigenbasis_goes_through_the_reference_walk() {
    // Engrafted cells dying at the rate cells leave the sinusoids plus 1e-7 of it: an
    // eigenbasis exists, but its two liver eigenvectors are nearly parallel, so the
    // closed form must refuse it and the evaluator use the walk.
    let s = liver_chain(1e-7);
    let want = simulation::metrics_only(&s).expect("simulates");
    let got = Evaluator::new().metrics(&s).expect("simulates");
    assert_eq!(got, want, "not the reference walk's result, bit for bit");
}

/// The time (days) where the live liver crosses `level` between `a` (below) and `b`
/// (above), or the reverse, by bisection on the engine's exact state: independent of both
/// walks' root finders.
fn crossing(s: &Scenario, level: f64, mut a: f64, mut b: f64) -> f64 {
    let above_at_a = curve_at(s, a, false) > level;
    for _ in 0..60 {
        let m = 0.5 * (a + b);
        if (curve_at(s, m, false) > level) == above_at_a {
            a = m;
        } else {
            b = m;
        }
    }
    0.5 * (a + b)
}

#[test]
fn a_threshold_just_below_the_peak_is_crossed_where_the_curve_crosses_it() {
    // The liver's time above a level 1e-10 below its peak is a few seconds: a root finder
    // that stops when its last move is small, not its bracket, loses one side of the peak.
    let base = common::human(
        "peripheral_vein",
        "",
        "duration_days = 30",
        "\"lung.release_per_h\" = 0.01\n\"liver.sinusoid_release_per_h\" = 0.001",
    );
    let peak = simulation::metrics_only(&base).expect("simulates");
    let mut s = base.clone();
    s.liver_threshold_cells = Some(peak.liver_peak_cells * (1.0 - 1e-10));
    let level = s.liver_threshold_cells.unwrap_or_default();
    let t = peak.liver_peak_day;
    let width = 0.01;
    let truth = crossing(&s, level, t + width, t) - crossing(&s, level, t - width, t);
    assert!(truth > 0.0, "the level lies below the peak");
    for (name, m) in [
        (
            "reference walk",
            simulation::metrics_only(&s).expect("simulates"),
        ),
        (
            "evaluator",
            Evaluator::new().metrics(&s).expect("simulates"),
        ),
    ] {
        // Bisection and both walks resolve times to about 1e-9 h; the span is ~1e-6 days.
        common::assert_close(m.days_liver_above_threshold, truth, 1e-3, 0.0, name);
    }
}

#[test]
fn a_threshold_equal_to_a_node_value_is_reached_there() {
    // The threshold is the liver at the end of the run, a node of both walks: the root
    // of the crossing is that node, not the other end of its step.
    let base = common::human(
        "hepatic_artery",
        "count = 2\ninterval_days = 3",
        "duration_days = 10",
        "",
    );
    let mut s = base.clone();
    s.liver_threshold_cells = Some(
        simulation::metrics_only(&base)
            .expect("simulates")
            .liver_cells_end,
    );
    let reference = simulation::metrics_only(&s).expect("simulates");
    let evaluator = Evaluator::new().metrics(&s).expect("simulates");
    assert!(
        reference.days_liver_above_threshold > 9.99,
        "the liver stays above its final value from the first minutes: got {} days",
        reference.days_liver_above_threshold
    );
    common::assert_close(
        evaluator.days_liver_above_threshold,
        reference.days_liver_above_threshold,
        0.0,
        1e-9,
        "days above, evaluator vs reference walk",
    );
}

#[test]
fn a_very_short_late_infusion_delivers_exactly_its_cells() {
    // A 0.006-second infusion at day 5: the step that covers it is a difference of two
    // times near 120 h, whose rounding is a visible share of its length unless the rate is
    // taken over that same difference.
    let s = common::human(
        "peripheral_vein",
        "start_day = 5\ninfusion_minutes = 1e-4",
        "duration_days = 6",
        "",
    );
    for (name, m) in [
        (
            "reference walk",
            simulation::metrics_only(&s).expect("simulates"),
        ),
        (
            "evaluator",
            Evaluator::new().metrics(&s).expect("simulates"),
        ),
    ] {
        assert!(
            m.mass_balance_rel_error < 1e-12,
            "{name}: mass balance error {:e}",
            m.mass_balance_rel_error
        );
    }
}

#[test]
fn nearly_repeated_eigenvalues_agree_with_the_reference_walk() {
    // Engrafted cells dying at nearly the rate cells leave the sinusoids (the defective
    // case above, perturbed by `gap`): the eigenvectors approach each other, and the
    // evaluator must either stay accurate or fall back to the walk, across the limit where
    // its conditioning check switches (about 2e-4 to 5e-4 relative).
    for gap in [1e-2, 1e-3, 5e-4, 3e-4, 2e-4, 1e-4, 1e-5, 1e-7] {
        for sign in [-1.0, 1.0] {
            let s = liver_chain(sign * gap);
            let got = Evaluator::new().metrics(&s).expect("simulates");
            let want = simulation::metrics_only(&s).expect("simulates");
            if let Err(e) = assert_agrees(&s, &got, &want) {
                panic!("relative gap {}: {e}", sign * gap);
            }
        }
    }
}
