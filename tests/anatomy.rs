//! The circulation's anatomy: which organ a route's cells meet first, and what a
//! portosystemic shunt does.

use crate::common;

use cellpk::compartment::{Compartment, Total};
use cellpk::params::Param;
use cellpk::presets::Route;
use cellpk::simulation;
use common::{assert_close, human};

/// The first output time after 0 (a run's second sample).
const FIRST: usize = 1;

#[test]
fn a_peripheral_vein_dose_meets_the_lungs_before_the_liver() {
    let s = human(
        "peripheral_vein",
        "",
        "duration_days = 2\noutput_every_hours = 0.002",
        "",
    );
    let out = simulation::run(&s).expect("simulates");
    let x = out.timecourse.states[FIRST];
    assert!(
        x[Compartment::Lung.index()] > 20.0 * Total::Liver.of(&x),
        "after 7.2 s the lungs hold {} cells, the liver {}",
        x[Compartment::Lung.index()],
        Total::Liver.of(&x)
    );
    assert!(out.metrics.lung_peak_day < out.metrics.liver_peak_day);
    // The first pass alone traps lung.extraction of the dose; re-trapping adds to it.
    let first_pass = s.parameters.get(Param::LungExtraction);
    assert!(
        out.metrics.lung_peak_fraction() >= first_pass,
        "lung peak {} below the first pass's {first_pass}",
        out.metrics.lung_peak_fraction()
    );
}

#[test]
fn a_portal_dose_without_shunt_passes_the_liver_before_the_lungs() {
    // The passes are instantaneous: right after the bolus the liver holds its first pass,
    // E_first of the dose, and the lungs the first pass of what the liver let through.
    let s = human(
        "portal_vein",
        "",
        "duration_days = 0.5\noutput_every_hours = 0.0002",
        "\"portal.shunt_fraction\" = 0",
    );
    let out = simulation::run(&s).expect("simulates");
    let at_zero = out.timecourse.states[0];
    let p = &s.parameters;
    let e_liver = p.get(Param::LiverFirstPassExtraction);
    assert_close(
        at_zero[Compartment::LiverSinusoid.index()],
        e_liver * 1e6,
        1e-12,
        0.0,
        "sinusoid cells right after the bolus",
    );
    assert_close(
        at_zero[Compartment::Lung.index()],
        (1.0 - e_liver) * p.get(Param::LungExtraction) * 1e6,
        1e-12,
        0.0,
        "lung cells right after the bolus",
    );
}

#[test]
fn shunting_moves_cells_from_liver_to_lung() {
    let run = |shunt: f64| {
        simulation::run(&human(
            "portal_vein",
            "",
            "duration_days = 7",
            &format!("\"portal.shunt_fraction\" = {shunt}"),
        ))
        .expect("simulates")
    };
    let mut previous = run(0.0).metrics;
    for shunt in [0.2, 0.36, 0.6, 1.0] {
        let m = run(shunt).metrics;
        assert!(
            m.liver_reached_fraction < previous.liver_reached_fraction,
            "shunt {shunt}"
        );
        assert!(
            m.lung_peak_cells > previous.lung_peak_cells,
            "shunt {shunt}"
        );
        assert!(
            m.liver_auc_cell_days < previous.liver_auc_cell_days,
            "shunt {shunt}"
        );
        previous = m;
    }
    // The entry distribution is (1 - s) E_first to the sinusoids, the rest through the
    // lungs' first pass (E_lung to the lungs, the rest to arterial blood).
    let s = human(
        "portal_vein",
        "",
        "duration_days = 1",
        "\"portal.shunt_fraction\" = 0.36",
    );
    let entry = simulation::model(&s).entry(Route::PortalVein).to_owned();
    let e_liver = s.parameters.get(Param::LiverFirstPassExtraction);
    let e_lung = s.parameters.get(Param::LungExtraction);
    assert_close(
        entry[Compartment::LiverSinusoid.index()],
        0.64 * e_liver,
        1e-15,
        0.0,
        "liver share",
    );
    assert_close(
        entry[Compartment::Lung.index()],
        (1.0 - 0.64 * e_liver) * e_lung,
        1e-15,
        0.0,
        "lung share",
    );
    assert_close(entry.sum(), 1.0, 1e-15, 0.0, "entry sums to one cell");
}

#[test]
fn the_hepatic_artery_bypasses_the_portal_shunt() {
    let shunted = "\"portal.shunt_fraction\" = 0.36";
    let ha = simulation::run(&human("hepatic_artery", "", "duration_days = 7", shunted))
        .expect("simulates")
        .metrics;
    let pv = simulation::run(&human("portal_vein", "", "duration_days = 7", shunted))
        .expect("simulates")
        .metrics;
    assert!(ha.liver_reached_fraction > pv.liver_reached_fraction);
}

#[test]
fn depots_release_through_their_own_paths() {
    // Intrasplenic cells pass the spleen before the liver; intraperitoneal ones reach the
    // lungs first, through venous blood; intrahepatic ones engraft without circulating.
    let first_day = "duration_days = 1\noutput_every_hours = 0.25";
    let is = simulation::run(&human("intrasplenic", "", first_day, "")).expect("simulates");
    let x = is.timecourse.states[1];
    assert!(x[Compartment::Spleen.index()] > 0.0 && Total::Liver.of(&x) > 0.0);
    let ip = simulation::run(&human("intraperitoneal", "", first_day, "")).expect("simulates");
    let x = ip.timecourse.states[1];
    assert!(x[Compartment::Lung.index()] > Total::Liver.of(&x));
    let ih = simulation::run(&human(
        "intrahepatic",
        "",
        first_day,
        "\"depot.intrahepatic_washout_per_h\" = 0",
    ))
    .expect("simulates");
    let x = ih.timecourse.states.last().copied().expect("samples");
    assert_eq!(
        x[Compartment::Lung.index()],
        0.0,
        "nothing circulates without wash-out"
    );
    assert!(x[Compartment::LiverEngrafted.index()] > 0.0);
}

/// The shipped decompensated-cirrhosis scenario of `route`, over its first 6 hours
/// sampled every 36 s, with `parameters` added.
fn decompensated_first_hours(route: &str, parameters: &str) -> simulation::Outcome {
    let file = format!("scenarios/human_decompensated_{route}.toml");
    let text = std::fs::read_to_string(&file).expect("a shipped scenario");
    let start = text.find("[simulation]").expect("a [simulation] table");
    let end = text[start + 1..]
        .find("\n[")
        .map_or(text.len(), |i| start + 1 + i);
    let text = format!(
        "{}[simulation]\nduration_days = 0.25\noutput_every_hours = 0.01\n{}\n[parameters]\n{parameters}\n",
        &text[..start],
        &text[end..]
    );
    let s = common::scenario(&text);
    simulation::run(&s).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// Highest liver cell count over the first 6 hours.
fn early_liver_peak(out: &simulation::Outcome) -> f64 {
    out.timecourse
        .states
        .iter()
        .map(|x| Total::Liver.of(x))
        .fold(0.0, f64::max)
}

#[test]
fn liver_directed_routes_put_more_cells_in_the_liver_than_in_the_lungs() {
    for route in ["hepatic_artery", "intrahepatic"] {
        let out = decompensated_first_hours(route, "");
        for (t, x) in out
            .timecourse
            .time_h
            .iter()
            .zip(&out.timecourse.states)
            .skip(1)
        {
            assert!(
                Total::Liver.of(x) > x[Compartment::Lung.index()],
                "{route} at {t} h: liver {} <= lungs {}",
                Total::Liver.of(x),
                x[Compartment::Lung.index()]
            );
        }
    }
}

/// In decompensated cirrhosis about half of a portal dose bypasses the liver
/// (`portal.shunt_fraction` 0.485), yet the portal route still gives the liver's early peak
/// a multiple of what a peripheral-vein dose gives it, whose cells meet the lungs first
/// and reach the liver only with the part of the cardiac output that perfuses it. The
/// multiple depends on the lungs' first-pass arrest, which has no human measurement: over
/// its plausible range 0.2-0.9 it runs from 1.9 to 10.4, 2.6 at the default
/// (docs/validation.md).
#[test]
fn a_portal_dose_in_cirrhosis_gives_the_liver_a_multiple_of_a_peripheral_one() {
    let ratio = |lung: &str| {
        early_liver_peak(&decompensated_first_hours("portal_vein", lung))
            / early_liver_peak(&decompensated_first_hours("peripheral_vein", lung))
    };
    let at_default = ratio("");
    assert!(
        at_default > 2.0,
        "portal/peripheral liver peak {at_default}"
    );
    let (low, high) = (
        ratio("\"lung.extraction\" = 0.2"),
        ratio("\"lung.extraction\" = 0.9"),
    );
    assert!(
        low < at_default && at_default < high,
        "{low} {at_default} {high}"
    );
    eprintln!("portal/peripheral early liver peak: {low:.2} (E_lung 0.2), {at_default:.2} (default), {high:.2} (0.9)");
}
