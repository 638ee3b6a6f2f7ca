//! The general path and the nonlinear mechanisms (`[model]`): agreement with the exact
//! engine when every mechanism is off, each mechanism's defining behaviour, conservation.

use crate::common;

use std::path::Path;

use cellpk::compartment::{Compartment, Total};
use cellpk::metrics::Metric;
use cellpk::params::Param;
use cellpk::scenario::{self, Mechanisms, Scenario, Solver, Tolerance};
use cellpk::simulation::{self, Outcome};
use cellpk::timecourse::TimeCourse;
use common::assert_close;

/// Tolerances for the agreement test: tighter than the defaults, so that the integrator's
/// own error stays well inside the 1e-6 the comparison asks (at atol 1e-13, Dopri5's
/// error reached the bound in a state a millionth of its peak).
const TIGHT: Tolerance = Tolerance {
    rtol: 1e-9,
    atol: 1e-15,
};

fn run(s: &Scenario) -> Outcome {
    simulation::run(s).unwrap_or_else(|e| panic!("{}: {e}", s.name))
}

fn shipped() -> Vec<Scenario> {
    let files = common::toml_files("scenarios");
    assert!(files.len() >= 7, "shipped scenarios: {files:?}");
    files
        .iter()
        .map(|f| scenario::load(f).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

/// With every mechanism off, the general integrator reproduces the exact engine on every
/// shipped scenario: every state at every output time to 1e-6 of that state's largest
/// value, and the metrics to 1e-6 relative (times and cell counts that are zero or
/// rounding noise compared with 1e-6 of a dose).
#[test]
fn general_path_agrees_with_the_exact_engine_on_every_shipped_scenario() {
    for mut s in shipped() {
        s.mechanisms = Mechanisms::default();
        let (exact, general) = assert_engines_agree(s.clone(), &s.name, Solver::Rodas);
        let dose = exact.metrics.largest_dose_cells;
        for metric in Metric::ALL.iter().filter(|m| !m.needs_effect()) {
            let (want, got) = (metric.value(&exact.metrics), metric.value(&general.metrics));
            let floor = match metric.unit() {
                "cells" | "cell-days" => 1e-6 * dose,
                "days" => 1e-4,
                _ => 1e-9,
            };
            assert_close(
                got,
                want,
                1e-6,
                floor,
                &format!("{} {}", s.name, metric.name()),
            );
        }
        assert_eq!(exact.per_dose.len(), general.per_dose.len());
    }
}

/// Runs `s` on the exact engine and on the general path with `solver` (at tight
/// tolerances), compares the output times exactly and every state at every output time
/// to 1e-6 of that state's range, and returns both outcomes (exact, general).
fn assert_engines_agree(mut s: Scenario, what: &str, solver: Solver) -> (Outcome, Outcome) {
    s.solver = Solver::Exact;
    let exact = run(&s);
    s.solver = solver;
    s.tolerance = TIGHT;
    let general = run(&s);
    let (e, g) = (&exact.timecourse, &general.timecourse);
    let first_difference = e.time_h.iter().zip(&g.time_h).position(|(a, b)| a != b);
    assert!(
        e.time_h.len() == g.time_h.len() && first_difference.is_none(),
        "{what}: output times differ: {} vs {} samples, first difference at {:?}",
        e.time_h.len(),
        g.time_h.len(),
        first_difference.map(|i| (e.time_h[i], g.time_h[i]))
    );
    assert_cells_agree(e, g, what);
    (exact, general)
}

/// Every compartment of `got` at every output time within 1e-6 of that compartment's
/// largest value in `want` (same output times).
fn assert_cells_agree(want: &TimeCourse, got: &TimeCourse, what: &str) {
    for c in Compartment::ALL {
        let i = c.index();
        let scale = want.states.iter().map(|x| x[i].abs()).fold(0.0, f64::max);
        for (k, (xw, xg)) in want.states.iter().zip(&got.states).enumerate() {
            let at = format!("{what}: {} at {} h", c.name(), want.time_h[k]);
            assert_close(xg[i], xw[i], 0.0, 1e-6 * scale, &at);
        }
    }
}

/// ode_solvers' Dopri5 on the general path, the non-stiff reference: with every mechanism
/// off it reproduces the exact engine on every shipped scenario (as RODAS does, above),
/// and with every mechanism on it agrees with RODAS on every state, the mechanisms'
/// included, to 1e-6 of each state's range.
#[test]
fn dopri5_agrees_with_the_exact_engine_and_with_rodas() {
    for mut s in shipped() {
        s.mechanisms = Mechanisms::default();
        // Dopri5's steps are bounded by the circulation's stiffness, not by the schedule:
        // the first 60 days hold every route's first doses and infusions at a third of
        // the cost of 180 to 365 (the suite's second-longest test otherwise).
        s.duration_days = s.duration_days.min(60.0);
        let what = format!("{} (dopri5)", s.name);
        let (_, dopri5) = assert_engines_agree(s, &what, Solver::Dopri5);
        let steps = dopri5.steps.expect("the general path ran");
        assert!(steps.accepted > 0, "{what}: {steps:?}");
    }
    let mut s = two_doses(
        "niche = true\ninjury = true\nsensitization = true\neffect = true",
        60.0,
        "allogeneic",
        "",
    );
    s.tolerance = TIGHT;
    let rodas = run(&s);
    s.solver = Solver::Dopri5;
    let dopri5 = run(&s);
    let (r, d) = (&rodas.timecourse, &dopri5.timecourse);
    assert_eq!(r.time_h, d.time_h);
    let slow = |m: &cellpk::mechanisms::Slow| [m.injury, m.antigen, m.sensitization, m.marker];
    assert_cells_agree(r, d, "every mechanism (dopri5 against rodas)");
    for (n, name) in ["injury", "antigen", "sensitization", "marker"]
        .iter()
        .enumerate()
    {
        let scale = r.slow.iter().map(|m| slow(m)[n].abs()).fold(0.0, f64::max);
        for (k, (mr, md)) in r.slow.iter().zip(&d.slow).enumerate() {
            let what = format!("{name} at {} h", r.time_h[k]);
            assert_close(slow(md)[n], slow(mr)[n], 0.0, 1e-6 * scale, &what);
        }
    }
}

/// A 70 kg human with decompensated cirrhosis given `donor` bone-marrow MSCs, with the
/// rest of the scenario (`[[dose]]` blocks onwards) in `rest`.
fn decompensated(donor: &str, rest: &str) -> Scenario {
    common::scenario(&format!(
        r#"
name = "decompensated"
[subject]
species = "human"
disease = "decompensated_cirrhosis"
[cells]
source = "bone_marrow"
donor = "{donor}"
{rest}
"#
    ))
}

/// A scenario with the demonstration's dosing and a choice of mechanisms.
fn two_doses(mechanisms: &str, interval_days: f64, donor: &str, parameters: &str) -> Scenario {
    decompensated(
        donor,
        &format!(
            "[[dose]]\nroute = \"hepatic_artery\"\ncells_per_kg = 1e6\ncount = 2\n\
             interval_days = {interval_days}\n[model]\n{mechanisms}\n[simulation]\n\
             duration_days = 240\n[parameters]\n{parameters}\n"
        ),
    )
}

/// The time course's value of `f` at hour `t` (an output time).
fn at(outcome: &Outcome, t: f64, f: impl Fn(usize) -> f64) -> f64 {
    let i = outcome
        .timecourse
        .time_h
        .iter()
        .position(|&h| h == t)
        .unwrap_or_else(|| panic!("no output at {t} h"));
    f(i)
}

fn engrafted(outcome: &Outcome, i: usize) -> f64 {
    outcome.timecourse.states[i][Compartment::LiverEngrafted.index()]
}

#[test]
fn a_full_niche_admits_fewer_cells() {
    let open = run(&two_doses("", 30.0, "allogeneic", ""));
    let with_niche = two_doses("niche = true", 30.0, "allogeneic", "");
    let capacity = with_niche.parameters.get(Param::NicheCapacity);
    let niche = run(&with_niche);
    // Engrafted cells never exceed the capacity.
    for x in &niche.timecourse.states {
        assert!(x[Compartment::LiverEngrafted.index()] <= capacity * (1.0 + 1e-9));
    }
    // What the second dose adds to the engrafted cells within a week, with and without
    // the niche: the niche, still filled by the first dose, admits a smaller share.
    let gain = |o: &Outcome| {
        at(o, 30.0 * 24.0 + 168.0, |i| engrafted(o, i)) - at(o, 30.0 * 24.0, |i| engrafted(o, i))
    };
    let first = |o: &Outcome| at(o, 168.0, |i| engrafted(o, i));
    let (first_share, second_share) = (first(&niche) / first(&open), gain(&niche) / gain(&open));
    assert!(gain(&open) > 0.0);
    // The first dose meets an empty niche and is slowed only as it fills it; the second
    // meets a niche still mostly filled by the first.
    assert!(
        second_share < 0.6 && second_share < first_share - 0.1,
        "engrafted within a week with the niche / without: first dose {first_share}, \
         second dose {second_share}"
    );
}

#[test]
fn a_sensitized_host_clears_the_second_dose_faster() {
    // Share of the second dose's cells dead one day after it, from the dead count.
    let dead_share = |o: &Outcome| {
        let dead = |t: f64| at(o, t, |i| o.timecourse.states[i][Compartment::Dead.index()]);
        let t2 = 14.0 * 24.0;
        (dead(t2 + 24.0) - dead(t2)) / (o.metrics.cells_given / 2.0)
    };
    let naive = run(&two_doses("", 14.0, "allogeneic", ""));
    let sensitized = run(&two_doses("sensitization = true", 14.0, "allogeneic", ""));
    let autologous = run(&two_doses("sensitization = true", 14.0, "autologous", ""));
    let i2 = 14 * 24;
    assert!(sensitized.timecourse.slow[i2].sensitization > 0.05);
    assert!(
        dead_share(&sensitized) > 1.1 * dead_share(&naive),
        "sensitized {} vs naive {}",
        dead_share(&sensitized),
        dead_share(&naive)
    );
    // Autologous cells raise no alloresponse: the default fold is 1.
    let naive_autologous = run(&two_doses("", 14.0, "autologous", ""));
    assert_close(
        dead_share(&autologous),
        dead_share(&naive_autologous),
        1e-5,
        0.0,
        "autologous",
    );
    // Sensitization decays between doses.
    let z = &sensitized.timecourse.slow;
    let peak = z.iter().map(|s| s.sensitization).fold(0.0, f64::max);
    assert!(z.last().expect("samples").sensitization < 0.5 * peak);
}

#[test]
fn healing_lowers_homing_and_the_injury_relapses() {
    let o = run(&two_doses(
        "injury = true",
        30.0,
        "allogeneic",
        r#""injury.repair_per_h" = 0.01"#,
    ));
    let s = two_doses("injury = true", 30.0, "allogeneic", "");
    let first_pass = s.parameters.get(Param::LiverFirstPassExtraction);
    let injury = |t: f64| at(&o, t, |i| o.timecourse.slow[i].injury);
    assert_eq!(injury(0.0), 1.0);
    assert!(injury(30.0 * 24.0) < 0.9, "healed by the second dose");
    assert!(injury(240.0 * 24.0) > injury(60.0 * 24.0), "relapses");
    // A hepatic-artery bolus lodges on its first pass as the whole product does, whatever
    // the injury: the resolved first-pass arrest.
    let arrested = at(&o, 0.0, |i| {
        o.timecourse.states[i][Compartment::LiverSinusoid.index()]
    }) / (o.metrics.cells_given / 2.0);
    assert_close(arrested, first_pass, 1e-12, 0.0, "first pass, dose 1");
    // Homing acts on the circulating cells: healed by the second dose, the liver gains
    // fewer of them in the hours after it than a liver whose injury never heals.
    let unhealed = run(&two_doses(
        "injury = true",
        30.0,
        "allogeneic",
        r#""injury.repair_per_h" = 0"#,
    ));
    let gain = |o: &Outcome| {
        let liver = |t: f64| at(o, t, |i| Total::Liver.of(&o.timecourse.states[i]));
        liver(30.0 * 24.0 + 6.0) - liver(30.0 * 24.0 - 1.0)
    };
    assert!(
        gain(&o) < gain(&unhealed),
        "healed {} vs unhealed {}",
        gain(&o),
        gain(&unhealed)
    );
}

#[test]
fn the_effect_returns_to_baseline_when_the_cells_are_gone() {
    let s = common::scenario(
        r#"
name = "effect"
[subject]
species = "human"
disease = "decompensated_cirrhosis"
[cells]
source = "bone_marrow"
donor = "allogeneic"
[[dose]]
route = "hepatic_artery"
cells_per_kg = 1e6
[model]
effect = true
[simulation]
duration_days = 1500
output_every_hours = 24
"#,
    );
    let o = run(&s);
    let e = o.metrics.effect.expect("effect on");
    assert!(e.improvement_max > 0.01, "{e:?}");
    assert!(e.days_improved > 0.0);
    assert!(
        e.days_to_baseline.is_finite() && e.days_to_baseline > 10.0,
        "{e:?}"
    );
    let last = o.timecourse.slow.last().expect("samples");
    assert!(
        (last.marker - 1.0).abs() < 1e-3,
        "marker at the end {}",
        last.marker
    );
    // The area under the improvement matches the samples (trapezoid on a daily grid).
    let trapezoid: f64 = o
        .timecourse
        .slow
        .windows(2)
        .map(|w| (w[0].marker + w[1].marker - 2.0) / 2.0)
        .sum();
    assert_close(
        e.improvement_auc_days,
        trapezoid,
        1e-3,
        0.0,
        "improvement AUC",
    );
    // No action, no effect.
    let mut none = s.clone();
    none.parameters.set(Param::EffectEmax, 0.0);
    let flat = run(&none).metrics.effect.expect("effect on");
    assert_eq!(flat.improvement_max, 0.0);
    assert_eq!(flat.days_to_baseline, 0.0);
}

/// Every mechanism on, every route: cells are conserved, stay non-negative, and the
/// first-passage fraction is a fraction.
#[test]
fn cells_are_conserved_with_every_mechanism_on() {
    for route in [
        "peripheral_vein",
        "hepatic_artery",
        "portal_vein",
        "intrasplenic",
        "intrahepatic",
        "intraperitoneal",
    ] {
        let s = common::scenario(&format!(
            r#"
name = "all"
[subject]
species = "mouse"
disease = "acute_liver_failure"
[cells]
source = "umbilical_cord"
donor = "allogeneic"
[[dose]]
route = "{route}"
cells = 5e5
count = 3
interval_days = 20
infusion_minutes = 30
[model]
niche = true
injury = true
sensitization = true
effect = true
[simulation]
duration_days = 90
"#
        ));
        let o = run(&s);
        let given = o.metrics.cells_given;
        assert!(
            o.metrics.mass_balance_rel_error < 1e-9,
            "{route}: {:e}",
            o.metrics.mass_balance_rel_error
        );
        for (x, g) in o.timecourse.states.iter().zip(&o.timecourse.given) {
            assert_close(x.sum(), *g, 1e-10, 0.0, route);
            assert!(x.min() >= -1e-6 * given, "{route}: negative state {x:?}");
        }
        let reached = o.metrics.liver_reached_fraction;
        assert!((0.0..=1.0 + 1e-9).contains(&reached), "{route}: {reached}");
        assert!(o.per_dose.is_empty());
        assert!(Total::Liver.of(o.timecourse.states.last().expect("samples")) >= 0.0);
    }
}

#[test]
fn bad_model_settings_are_named() {
    let text = |extra: &str| {
        format!(
            r#"
name = "bad"
[subject]
species = "human"
disease = "healthy"
[cells]
source = "bone_marrow"
donor = "autologous"
[[dose]]
route = "peripheral_vein"
cells = 1e6
{extra}
"#
        )
    };
    let cases = [
        (
            "[model]\nniche = true\n[simulation]\nduration_days = 10\nsolver = \"exact\"",
            "simulation.solver",
        ),
        (
            "[simulation]\nduration_days = 10\nrtol = 0.5",
            "simulation.rtol",
        ),
        (
            "[simulation]\nduration_days = 10\natol = -1",
            "simulation.atol",
        ),
        (
            "[simulation]\nduration_days = 10\nrtol = 1e-16",
            "a tolerance from 1e-13 to 0.1",
        ),
        (
            "[model]\nnitche = true\n[simulation]\nduration_days = 10",
            "nitche",
        ),
        (
            "[simulation]\nduration_days = 10\nsolver = \"euler\"",
            "euler",
        ),
    ];
    for (extra, key) in cases {
        let err = scenario::parse(&text(extra), Path::new("bad.toml"))
            .expect_err(extra)
            .to_string();
        assert!(err.contains(key), "{extra}: {err}");
    }
}

/// A decompensated 70 kg human given allogeneic cells by `doses` (TOML `[[dose]]`
/// blocks) over `simulation`.
fn human_with(doses: &str, simulation: &str) -> Scenario {
    decompensated(
        "allogeneic",
        &format!("{doses}\n[simulation]\n{simulation}"),
    )
}

/// Output grids whose times fall within rounding of an event or of the end give the same
/// samples as the exact walk (found in review: a dose at 11.399999999999999 h hid the
/// 11.4 h sample; an end at 2.4000000000000004 h gave a second sample at 2.4 h).
#[test]
fn awkward_output_grids_give_the_exact_walks_samples() {
    let hepatic = "[[dose]]\nroute = \"hepatic_artery\"\ncells_per_kg = 1e6\n";
    for solver in [Solver::Rodas, Solver::Dopri5] {
        assert_engines_agree(
            human_with(
                &format!("{hepatic}[[dose]]\nroute = \"portal_vein\"\ncells_per_kg = 1e6\nstart_day = 0.475\n"),
                "duration_days = 1\noutput_every_hours = 0.3",
            ),
            "dose just below a grid time",
            solver,
        );
        assert_engines_agree(
            human_with(hepatic, "duration_days = 0.1\noutput_every_hours = 0.01"),
            "grid time within rounding of the end",
            solver,
        );
    }
}

/// Dose events within rounding of each other (back-to-back infusions; a bolus as an
/// infusion ends) leave pieces far shorter than any step: they are integrated, not refused.
#[test]
fn events_within_rounding_of_each_other_are_integrated() {
    let back_to_back = "[[dose]]\nroute = \"peripheral_vein\"\ncells_per_kg = 1e6\nstart_day = 2\n\
         count = 2\ninterval_days = 0.006944444444444444\ninfusion_minutes = 10\n";
    let mut s = human_with(back_to_back, "duration_days = 20\noutput_every_hours = 24");
    s.mechanisms.effect = true;
    let o = run(&s);
    assert!(o.metrics.mass_balance_rel_error < 1e-9);
    for solver in [Solver::Rodas, Solver::Dopri5] {
        assert_engines_agree(
            human_with(
                "[[dose]]\nroute = \"peripheral_vein\"\ncells_per_kg = 1e6\nstart_day = 1\n\
                 infusion_minutes = 1\n[[dose]]\nroute = \"portal_vein\"\ncells_per_kg = 1e6\n\
                 start_day = 1.0006944444444445\n",
                "duration_days = 20\noutput_every_hours = 24",
            ),
            "bolus as an infusion ends",
            solver,
        );
    }
}

/// Two doses a rounding apart (the fuzz found `interval_days = 5e-324`) are both given on
/// the general path, whose integrators cannot step so short a span: cells are conserved.
#[test]
fn doses_a_rounding_apart_are_both_given() {
    for interval in ["5e-324", "1e-13", "1e-9"] {
        let text = std::fs::read_to_string("scenarios/human_two_doses_niche_injury.toml")
            .expect("a shipped scenario");
        let text = text.replacen(
            "interval_days = 30",
            &format!("interval_days = {interval}"),
            1,
        );
        assert!(
            text.contains(interval),
            "the scenario has `interval_days = 30`"
        );
        let s = common::scenario(&text);
        let o = run(&s);
        let last = o.timecourse.states.last().expect("samples");
        assert_close(last.sum(), o.metrics.cells_given, 1e-9, 0.0, interval);
        assert!(o.metrics.mass_balance_rel_error <= 1e-9, "{interval}");
    }
}

/// RODAS's step counts on the benchmark scenario (`benches/mechanisms.rs`): every shipped
/// human mechanism on, six infusions over 180 days, default tolerances. Pinned so that a
/// change in the integrator (its error test, step-size control, starting step, events)
/// shows here even when every accuracy test still passes; a deliberate change updates the
/// numbers here and in `benches/README.md`.
#[test]
fn rodas_step_counts_are_pinned() {
    let mut s = scenario::load(Path::new("scenarios/human_six_monthly_infusions.toml"))
        .expect("the shipped scenario is valid");
    s.mechanisms = Mechanisms::ALL;
    let steps = run(&s).steps.expect("the general integrator ran");
    assert_eq!((steps.accepted, steps.rejected), (489, 33));
}

/// A case `check` accepts that the property test of the input contract found failing: a
/// mouse whose blood turns over 10^4 times an hour receives 2.3 x 10^11 cells into the
/// hepatic artery in 6 ms, with injury on and a paracrine signal that is half-maximal at
/// one cell. The signal goes from nothing to saturation within 1e-20 h of the start, which
/// RODAS's step cannot resolve; `general::simulate` steps over it and must conserve cells.
#[test]
fn a_switch_faster_than_any_step_is_stepped_over_and_conserves_cells() {
    let zero = [
        "flow.hepatic_artery_fraction",
        "flow.spleen_fraction",
        "flow.gut_fraction",
        "portal.shunt_fraction",
        "lung.extraction",
        "lung.recirculating_extraction",
        "liver.extraction",
        "liver.first_pass_extraction",
        "spleen.extraction",
        "other.extraction",
        "other.first_pass_extraction",
        "liver.sinusoid_death_per_h",
        "liver.engraftment_per_h",
        "lung.death_per_h",
        "other.death_per_h",
        "signal.weight_lung",
        "signal.weight_liver",
        "signal.weight_spleen",
        "signal.weight_other",
        "injury.relapse_per_h",
    ];
    let mut text = String::from(
        "name = \"switch\"\n[subject]\nspecies = \"mouse\"\ndisease = \"healthy\"\n\
         [cells]\nsource = \"bone_marrow\"\ndonor = \"autologous\"\n\
         [[dose]]\nroute = \"hepatic_artery\"\ncells = 228524978960.7767\n\
         start_day = 0.9\ninfusion_minutes = 0.0001\n\
         [simulation]\nduration_days = 1.0\n[model]\ninjury = true\n[parameters]\n\
         \"circulation.cardiac_output_l_per_h\" = 0.1\n\"circulation.venous_volume_l\" = 1e-5\n\
         \"circulation.arterial_volume_l\" = 1e-5\n\"injury.homing_fold\" = 0.001\n\
         \"injury.repair_per_h\" = 56.68243212288512\n\"signal.weight_blood\" = 460.46\n\
         \"signal.half_max_cells\" = 1.0\n",
    );
    for name in zero {
        text += &format!("\"{name}\" = 0.0\n");
    }
    let s = common::scenario(&text);
    let out = run(&s);
    assert!(
        out.metrics.mass_balance_rel_error <= 1e-9,
        "{}",
        out.metrics.mass_balance_rel_error
    );
    let slow = &out.timecourse.slow;
    let (first, last) = (slow.first().expect("rows"), slow.last().expect("rows"));
    assert_eq!(first.injury, 1.0, "untreated before the dose");
    assert!(
        last.injury < 1e-3,
        "healed by the saturated signal: {}",
        last.injury
    );
}

/// Cases `check` accepts that the property test of the input contract found failing: a
/// mouse niche of one cell under an intrasplenic bolus of 10^10 to 10^12 cells. With the
/// dose's absolute tolerance on engrafted cells, RODAS overfilled the niche by 2,000 cells
/// in one step and then chattered across the room's kink for 10^6 steps (day 4.4); with
/// the tolerance fixed, a niche whose engrafted cells die at 0.001 /h (sensitized) still
/// chattered within that tolerance above the capacity until the Jacobian kept the room's
/// slope there; and RODAS's first step guess for a niche filling from a depot in place was
/// below its shortest step. Engrafted cells may never exceed the capacity (by more than the tolerance
/// of a millionth of it), and fill it.
#[test]
fn a_niche_of_one_cell_under_a_large_dose_stays_within_its_capacity() {
    let common = "\"circulation.cardiac_output_l_per_h\" = 0.1\n\
                  \"circulation.venous_volume_l\" = 1e-5\n\
                  \"circulation.arterial_volume_l\" = 1e-5\n\
                  \"liver.engraftment_per_h\" = 1.0\n\
                  \"depot.intrasplenic_release_per_h\" = 1.0\n\
                  \"niche.capacity_cells\" = 1.0\n";
    let dying_fast = "\"lung.extraction\" = 0.1273551230559659\n\
                      \"liver.extraction\" = 0.9791847519602169\n\
                      \"liver.first_pass_extraction\" = 0.2598469942350168\n\
                      \"liver.engrafted_death_per_h\" = 4509.7110689303145\n\
                      \"depot.death_per_h\" = 0.0\n";
    let sensitized = "\"lung.extraction\" = 0.0\n\"liver.extraction\" = 0.0\n\
                      \"liver.first_pass_extraction\" = 0.6165791693954171\n\
                      \"liver.engrafted_death_per_h\" = 1.0\n\"depot.death_per_h\" = 1.0\n\
                      \"sensitization.max_clearance_fold\" = 0.001\n\
                      \"sensitization.onset_per_h\" = 6831.651042314391\n\
                      \"sensitization.decay_per_h\" = 0.0\n\
                      \"sensitization.antigen_clearance_per_h\" = 0.0\n\
                      \"sensitization.half_max_antigen_cells\" = 1.0\n";
    let in_place = |rate: f64| {
        format!(
            "\"lung.extraction\" = 0.0\n\"liver.extraction\" = 0.0\n\
             \"liver.first_pass_extraction\" = 0.0\n\
             \"liver.engrafted_death_per_h\" = 0.0\n\"depot.death_per_h\" = 0.0\n\
             \"depot.intrahepatic_engraftment_per_h\" = {rate}\n\
             \"depot.intrahepatic_washout_per_h\" = 0.0\n"
        )
    };
    for ((route, start), cells, days, model, parameters) in [
        (
            ("intrasplenic", 0.0),
            37728198089.515045,
            17.587083175086743,
            "niche = true\n",
            dying_fast.to_string(),
        ),
        (
            ("intrasplenic", 0.0),
            805829899274.9426,
            18.66475093323277,
            "niche = true\nsensitization = true\n",
            sensitized.to_string(),
        ),
        // RODAS's first step guess (2e-14 h) fell below its shortest step (2.4e-13 h).
        (
            ("intrahepatic", 0.0),
            451145464684.8607,
            1.0,
            "niche = true\n",
            in_place(1.0),
        ),
        // The niche fills in 1e-14 h: RODAS's error test rejects every step it may take,
        // and explicit Euler steps over it blow up; linearly implicit ones land on it.
        (
            ("intrahepatic", 0.0),
            70436157949.81349,
            1.0,
            "niche = true\n",
            in_place(1101.4996424713659),
        ),
        // The same kind of transient after a portal dose at 67.5 h, where RODAS may take
        // no step under 7e-13 h: one RODAS step many times longer lands on its end.
        (
            ("portal_vein", 67.51191299709015 / 24.0),
            497779660637.42175,
            29.937623213054007,
            "niche = true\n",
            "\"lung.extraction\" = 0.0\n\"liver.extraction\" = 0.957592123762998\n\
             \"liver.first_pass_extraction\" = 0.463761730005805\n\
             \"liver.engrafted_death_per_h\" = 0.0\n\"depot.death_per_h\" = 0.0\n\
             \"portal.shunt_fraction\" = 0.7086825898735921\n\
             \"flow.spleen_fraction\" = 0.11507050930136258\n\
             \"flow.hepatic_artery_fraction\" = 0.05438484869861724\n"
                .to_string(),
        ),
    ] {
        let mut text = format!(
            "name = \"niche\"\n[subject]\nspecies = \"mouse\"\ndisease = \"healthy\"\n\
             [cells]\nsource = \"umbilical_cord\"\ndonor = \"autologous\"\n\
             [[dose]]\nroute = \"{route}\"\ncells = {cells}\nstart_day = {start}\n\
             [simulation]\nduration_days = {days}\n[model]\n{model}[parameters]\n\
             {common}{parameters}"
        );
        for name in [
            "flow.hepatic_artery_fraction",
            "flow.spleen_fraction",
            "flow.gut_fraction",
            "portal.shunt_fraction",
            "lung.recirculating_extraction",
            "spleen.extraction",
            "other.extraction",
            "other.first_pass_extraction",
            "blood.death_per_h",
            "lung.release_per_h",
            "lung.death_per_h",
            "liver.sinusoid_release_per_h",
            "liver.sinusoid_death_per_h",
            "spleen.release_per_h",
            "spleen.death_per_h",
            "other.release_per_h",
            "other.death_per_h",
        ] {
            if !parameters.contains(&format!("\"{name}\"")) {
                text += &format!("\"{name}\" = 0.0\n");
            }
        }
        let out = run(&common::scenario(&text));
        let what = format!("{route} {cells} cells, {model}");
        assert!(
            out.metrics.mass_balance_rel_error <= 1e-9,
            "{what}: {}",
            out.metrics.mass_balance_rel_error
        );
        let most = (0..out.timecourse.states.len())
            .map(|i| engrafted(&out, i))
            .fold(0.0, f64::max);
        assert!(
            most <= 1.0 + 1e-6,
            "{what}: engrafted cells above capacity: {most}"
        );
        assert!(most > 0.99, "{what}: the niche fills: {most}");
    }
}
