//! The observation layer (`[observe]`): each method's defining behaviour, label and DNA
//! conservation, decay correction, and bad `[observe]` input.

use std::path::Path;

use cellpk::compartment::Compartment;
use cellpk::observe::{self, Method, Organ, Signals};
use cellpk::params::Param;
use cellpk::presets::observation::Isotope;
use cellpk::presets::{Choice, Route};
use cellpk::scenario::{self, Scenario};

/// A mouse given `doses` by `route` (each 1e6 cells, 7 days apart), observed by `observe`.
fn mouse(route: &str, doses: u32, infusion_minutes: f64, observe: &str) -> Scenario {
    let interval = if doses > 1 { "interval_days = 7" } else { "" };
    let text = format!(
        r#"
name = "observed"
[subject]
species = "mouse"
disease = "acute_liver_failure"
[cells]
source = "bone_marrow"
donor = "allogeneic"
[[dose]]
route = "{route}"
cells = 1e6
count = {doses}
{interval}
infusion_minutes = {infusion_minutes}
[simulation]
duration_days = 30
{observe}
"#
    );
    scenario::parse(&text, Path::new("observed.toml")).unwrap_or_else(|e| panic!("{e}"))
}

fn radiolabel(isotope: &str, decay_corrected: bool, bound: f64) -> String {
    format!(
        "[observe]\nmethod = \"radiolabel\"\nisotope = \"{isotope}\"\n\
         decay_corrected = {decay_corrected}\nlabelled_fraction = {bound}\n"
    )
}

/// Every hour and a few early times, over `days`.
fn times(days: f64) -> Vec<f64> {
    let mut t = vec![0.0, 0.01, 0.1, 0.5];
    t.extend((1..=(days * 24.0) as usize).map(|h| h as f64));
    t
}

fn predict(s: &Scenario, t: &[f64]) -> Signals {
    observe::predict(s, t).unwrap_or_else(|e| panic!("{e}"))
}

fn total(percent: &[f64; observe::ORGANS]) -> f64 {
    percent.iter().sum()
}

#[test]
fn bioluminescence_shows_live_cells_and_falls_to_zero_as_they_die() {
    let live = mouse("peripheral_vein", 1, 0.0, "[observe]\nmethod = \"live\"");
    let bli = mouse(
        "peripheral_vein",
        1,
        0.0,
        "[observe]\nmethod = \"bioluminescence\"",
    );
    let t = times(30.0);
    let (a, b) = (predict(&live, &t), predict(&bli, &t));
    assert_eq!(a.percent, b.percent, "bioluminescence is live cells");
    let outcome = cellpk::simulation::run(&live).expect("runs");
    let last = outcome.timecourse.states.last().expect("a time course");
    let live_share = 100.0 * (last.sum() - last[Compartment::Dead.index()]) / 1e6;
    let end = b.percent.last().expect("rows");
    assert!(
        (total(end) - live_share).abs() < 1e-9,
        "{} vs {live_share}",
        total(end)
    );
    assert!(
        total(end) < 1.0,
        "live cells nearly gone after 30 days (engrafted liver cells remain): {}",
        total(end)
    );
    assert!(
        total(&b.percent[1]) > 99.9,
        "all alive just after the bolus"
    );
}

#[test]
fn radiolabel_stays_in_liver_and_spleen_after_the_cells_die() {
    let s = mouse("peripheral_vein", 1, 0.0, &radiolabel("in111", true, 1.0));
    let live = mouse("peripheral_vein", 1, 0.0, "[observe]\nmethod = \"live\"");
    let t = [1.0, 24.0, 72.0, 168.0];
    let (label, cells) = (predict(&s, &t), predict(&live, &t));
    let lung = label.organ(Organ::Lung);
    let liver = label.organ(Organ::Liver);
    assert!(
        lung[0] > liver[0],
        "lungs hold most label first: {lung:?} {liver:?}"
    );
    assert!(
        liver[3] > lung[3],
        "label moves to the liver over days: {lung:?} {liver:?}"
    );
    for organ in [Organ::Liver, Organ::Spleen] {
        let (l, c) = (label.organ(organ)[3], cells.organ(organ)[3]);
        assert!(
            l > 5.0 * c,
            "{organ}: label {l} % against live cells {c} % at 7 days"
        );
    }
    // Label in the lungs follows the live cells there (debris goes to phagocytes).
    let efflux = (-s.parameters.get(Param::LabelEfflux) * 168.0).exp();
    let lung_cells = cells.organ(Organ::Lung)[3];
    assert!((lung[3] - lung_cells * efflux).abs() <= 1e-9 * lung_cells.max(1e-300));
}

#[test]
fn without_decay_correction_activity_falls_by_the_isotope_half_life() {
    for isotope in Isotope::ALL {
        let corrected = mouse(
            "hepatic_artery",
            1,
            0.0,
            &radiolabel(isotope.name(), true, 0.8),
        );
        let raw = mouse(
            "hepatic_artery",
            1,
            0.0,
            &radiolabel(isotope.name(), false, 0.8),
        );
        let t = times(10.0);
        let (c, r) = (predict(&corrected, &t), predict(&raw, &t));
        let half_life = isotope.half_life_h().value;
        for (i, &ti) in t.iter().enumerate() {
            let decay = 0.5f64.powf(ti / half_life);
            for o in 0..observe::ORGANS {
                let expected = c.percent[i][o] * decay;
                assert!(
                    (r.percent[i][o] - expected).abs() <= 1e-12 * c.percent[i][o].max(1e-300),
                    "{isotope} at {ti} h, organ {o}: {} vs {expected}",
                    r.percent[i][o]
                );
            }
        }
    }
}

/// Label on live cells, deposited in phagocytes, effluxed and unbound adds up to the
/// label given, to `tolerance` of it: the quadrature of the debris and efflux integrals
/// along the walk against the cells' own balance.
fn assert_label_conserved(s: &Scenario, tolerance: f64) {
    let t = times(30.0);
    let signals = predict(s, &t);
    for (i, &ti) in t.iter().enumerate() {
        let given: f64 = s.schedule().iter().map(|d| d.given_by(ti)).sum();
        let b = signals.budget[i];
        let sum = b.on_live_cells + b.deposited + b.effluxed + b.unbound;
        assert!(
            (sum - given).abs() <= tolerance * given.max(1.0),
            "{}: at {ti} h label {sum} against {given} given ({b:?})",
            s.name
        );
    }
}

#[test]
fn label_is_conserved_for_every_route_infusions_and_repeated_doses() {
    for route in Route::ALL {
        assert_label_conserved(
            &mouse(route.name(), 1, 0.0, &radiolabel("in111", true, 0.7)),
            1e-6,
        );
    }
    assert_label_conserved(
        &mouse("peripheral_vein", 1, 30.0, &radiolabel("zr89", true, 0.9)),
        1e-6,
    );
    assert_label_conserved(
        &mouse("portal_vein", 3, 0.0, &radiolabel("in111", false, 1.0)),
        1e-6,
    );
    let mut general = mouse("peripheral_vein", 1, 0.0, &radiolabel("in111", true, 1.0));
    general.mechanisms.niche = true;
    general.mechanisms.sensitization = true;
    assert!(general.uses_general());
    assert_label_conserved(&general, 1e-6);
}

#[test]
fn without_efflux_or_clearance_every_percent_of_label_stays_in_an_organ() {
    let mut s = mouse("peripheral_vein", 2, 0.0, &radiolabel("in111", true, 1.0));
    s.parameters.set(Param::LabelEfflux, 0.0);
    s.parameters.set(Param::DebrisClearance, 0.0);
    let t = times(20.0);
    for (ti, p) in t.iter().zip(&predict(&s, &t).percent) {
        assert!((total(p) - 100.0).abs() < 1e-6, "at {ti} h: {} %", total(p));
    }
}

#[test]
fn dna_of_dead_cells_counts_until_degraded() {
    let mut kept = mouse("intrasplenic", 1, 0.0, "[observe]\nmethod = \"dna_pcr\"");
    kept.parameters.set(Param::DnaDegradation, 0.0);
    let t = times(20.0);
    for (ti, p) in t.iter().zip(&predict(&kept, &t).percent) {
        assert!(
            (total(p) - 100.0).abs() < 1e-6,
            "undegraded DNA at {ti} h: {} %",
            total(p)
        );
    }
    let dna = mouse("intrasplenic", 1, 0.0, "[observe]\nmethod = \"dna_pcr\"");
    let live = mouse("intrasplenic", 1, 0.0, "[observe]\nmethod = \"live\"");
    let (d, l) = (predict(&dna, &t), predict(&live, &t));
    for i in 1..t.len() {
        for o in 0..observe::ORGANS {
            assert!(
                d.percent[i][o] >= l.percent[i][o] - 1e-12,
                "DNA includes the live cells"
            );
        }
    }
    // The excess over live cells is the DNA not yet degraded: it shrinks as degradation
    // quickens, and vanishes when degradation is instant next to dying.
    let mut fast = dna.clone();
    fast.parameters.set(Param::DnaDegradation, 1e3);
    let f = predict(&fast, &t);
    for (i, ti) in t.iter().enumerate().skip(1) {
        let excess = |s: &Signals| total(&s.percent[i]) - total(&l.percent[i]);
        assert!(excess(&f) <= excess(&d) + 1e-12, "at {ti} h");
        let live = total(&l.percent[i]);
        assert!(excess(&f) <= 1e-3 * live, "at {ti} h: {}", excess(&f));
    }
}

#[test]
fn the_method_is_named_in_the_scenario_and_checked() {
    let cases = [
        ("[observe]\nmethod = \"radiolabel\"", "observe.isotope"),
        (
            "[observe]\nmethod = \"live\"\nisotope = \"in111\"",
            "observe.isotope",
        ),
        (
            "[observe]\nmethod = \"radiolabel\"\nisotope = \"in111\"\nlabelled_fraction = 0",
            "observe.labelled_fraction",
        ),
        ("[observe]\nmethod = \"xray\"", "xray"),
        (
            "[observe]\nmethod = \"radiolabel\"\nisotope = \"i131\"",
            "i131",
        ),
    ];
    for (section, key) in cases {
        let text = format!(
            "name = \"x\"\n[subject]\nspecies = \"mouse\"\ndisease = \"healthy\"\n[cells]\n\
             source = \"bone_marrow\"\ndonor = \"autologous\"\n[[dose]]\n\
             route = \"peripheral_vein\"\ncells = 1e6\n[simulation]\nduration_days = 1\n{section}\n"
        );
        let err = scenario::parse(&text, Path::new("x.toml")).expect_err(section);
        assert!(err.to_string().contains(key), "{section}: {err}");
    }
    let mut two = mouse("peripheral_vein", 2, 0.0, "");
    two.mechanisms.niche = true;
    two.observe = Some(observe::Observe {
        method: Method::Radiolabel,
        isotope: Some(Isotope::In111),
        ..observe::Observe::default()
    });
    let v = scenario::rules::check(&two).expect_err("radiolabel over 2 doses with a mechanism");
    assert_eq!(v.key, "observe.method");
}
