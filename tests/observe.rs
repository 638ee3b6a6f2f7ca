//! The observation layer (`[observe]`): each method's defining behaviour, where label
//! goes (in place, to phagocytes, through plasma), label and DNA conservation, decay
//! correction, and bad `[observe]` input.

use std::path::Path;

use cellpk::compartment::Compartment;
use cellpk::observe::{self, Organ, Signals};
use cellpk::params::Param;
use cellpk::presets::observation::Isotope;
use cellpk::presets::{Choice, Route};
use cellpk::scenario::{self, Scenario};
use cellpk::scenario::{Method, Observe};

/// A mouse given `doses` by `route` (each 1e6 cells, 7 days apart), observed by `observe`.
fn mouse(route: &str, doses: u32, infusion_minutes: f64, observe: &str) -> Scenario {
    mouse_with(
        "acute_liver_failure",
        route,
        doses,
        infusion_minutes,
        observe,
    )
}

/// `mouse`, with `disease`.
fn mouse_with(
    disease: &str,
    route: &str,
    doses: u32,
    infusion_minutes: f64,
    observe: &str,
) -> Scenario {
    let interval = if doses > 1 { "interval_days = 7" } else { "" };
    let text = format!(
        r#"
name = "observed"
[subject]
species = "mouse"
disease = "{disease}"
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

/// What the whole body holds.
fn total(percent: &[f64; observe::ORGANS]) -> f64 {
    percent[Organ::WholeBody.position()]
}

/// The deaths of every compartment but those set by `keep` switched off.
const DEATHS: [Param; 7] = [
    Param::BloodDeath,
    Param::LungDeath,
    Param::SinusoidDeath,
    Param::EngraftedDeath,
    Param::SpleenDeath,
    Param::OtherDeath,
    Param::DepotDeath,
];

fn only_deaths(s: &mut Scenario, keep: &[Param]) {
    for p in DEATHS {
        if !keep.contains(&p) {
            s.parameters.set(p, 0.0);
        }
    }
}

/// `got` within `tolerance` of `want` (absolute, in percent of the dose), naming `what`.
fn assert_close(got: f64, want: f64, tolerance: f64, what: &str) {
    assert!(
        (got - want).abs() <= tolerance,
        "{what}: {got} against {want} (tolerance {tolerance})"
    );
}

#[test]
fn whole_body_is_the_sum_of_the_other_regions_for_every_method() {
    for method in Method::ALL {
        let section = if *method == Method::Radiolabel {
            radiolabel("in111", false, 0.8)
        } else {
            format!("[observe]\nmethod = \"{method}\"")
        };
        let s = mouse("intraperitoneal", 2, 0.0, &section);
        let t = times(20.0);
        for (ti, p) in t.iter().zip(&predict(&s, &t).percent) {
            let regions: f64 = Organ::ALL
                .iter()
                .filter(|&&o| o != Organ::WholeBody)
                .map(|o| p[o.position()])
                .sum();
            assert_close(
                total(p),
                regions,
                1e-12 * regions,
                &format!("{method} at {ti} h"),
            );
            if *method != Method::Radiolabel {
                assert_eq!(
                    p[Organ::Marrow.position()],
                    0.0,
                    "{method}: no live cells in marrow"
                );
            }
        }
    }
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

/// Label on live cells, deposited by dead cells, effluxed and unbound adds up to the
/// label given, to `tolerance` of it: the quadrature of the debris and efflux integrals
/// along the walk against the cells' own balance. What has left the body never falls and
/// never goes below zero, and what the whole body shows (decay-corrected) is the label
/// still in it.
fn assert_label_conserved(s: &Scenario, tolerance: f64) {
    let t = times(30.0);
    let signals = predict(s, &t);
    let corrected = s.observe.is_some_and(|o| o.decay_corrected);
    let mut excreted = 0.0;
    for (i, &ti) in t.iter().enumerate() {
        let given: f64 = s.schedule().iter().map(|d| d.given_by(ti)).sum();
        let b = signals.budget[i];
        let sum = b.on_live_cells + b.deposited + b.effluxed + b.unbound;
        let slack = tolerance * given.max(1.0);
        assert!(
            (sum - given).abs() <= slack,
            "{}: at {ti} h label {sum} against {given} given ({b:?})",
            s.name
        );
        assert!(
            b.excreted() >= excreted - slack && b.excreted() >= -slack,
            "{}: at {ti} h excreted {} after {excreted} ({b:?})",
            s.name,
            b.excreted()
        );
        excreted = b.excreted();
        if corrected && given > 0.0 {
            let whole = total(&signals.percent[i]);
            assert_close(
                whole,
                100.0 * b.in_body() / given,
                100.0 * tolerance,
                &format!("{}: whole body at {ti} h", s.name),
            );
        }
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

/// Efflux no longer leaves the body: label that leaves cells goes through the plasma to
/// liver and marrow, so without clearance from the organs the whole body keeps every
/// percent of the bound label, whatever the efflux.
#[test]
fn without_clearance_from_the_organs_the_whole_body_keeps_all_bound_label() {
    for (efflux, bound) in [(None, 1.0), (Some(0.0), 1.0), (Some(0.05), 0.7)] {
        let mut s = mouse("peripheral_vein", 2, 0.0, &radiolabel("in111", true, bound));
        if let Some(efflux) = efflux {
            s.parameters.set(Param::LabelEfflux, efflux);
        }
        s.parameters.set(Param::DebrisClearance, 0.0);
        let t = times(20.0);
        let signals = predict(&s, &t);
        for (i, ti) in t.iter().enumerate().skip(1) {
            let p = &signals.percent[i];
            let what = format!("efflux {efflux:?}, bound {bound}, at {ti} h");
            assert_close(total(p), 100.0 * bound, 1e-6, &what);
            assert!(signals.budget[i].excreted().abs() < 1e-6 * 2e6, "{what}");
        }
        let last = signals.percent.last().expect("rows");
        if efflux != Some(0.0) {
            assert!(
                last[Organ::Marrow.position()] > 1.0,
                "effluxed label reaches the marrow: {last:?}"
            );
        }
    }
}

/// A reference problem with a closed form: no cell dies, so label leaves the cells only
/// by efflux (rate ke), passes the plasma (cleared at kp) and settles in liver and marrow.
/// Plasma: N ke (e^(-ke t) - e^(-kp t)) / (kp - ke); settled: N (1 - e^(-ke t)) - plasma,
/// of which the marrow holds 1 - `label.transferrin_liver_share`.
#[test]
fn effluxed_label_passes_the_plasma_to_liver_and_marrow() {
    let mut s = mouse("peripheral_vein", 1, 0.0, &radiolabel("in111", true, 1.0));
    only_deaths(&mut s, &[]);
    s.parameters.set(Param::DebrisClearance, 0.0);
    let ke = 0.05;
    s.parameters.set(Param::LabelEfflux, ke);
    let kp = s.parameters.get(Param::PlasmaClearance);
    assert!(
        (kp - std::f64::consts::LN_2 / 6.0).abs() < 1e-15,
        "default 6 h"
    );
    let marrow_share = 1.0 - s.parameters.get(Param::TransferrinLiverShare);
    let t = times(10.0);
    let label = predict(&s, &t);
    for (i, &ti) in t.iter().enumerate() {
        let plasma = 100.0 * ke * ((-ke * ti).exp() - (-kp * ti).exp()) / (kp - ke);
        let settled = 100.0 * (1.0 - (-ke * ti).exp()) - plasma;
        let b = label.budget[i];
        let what = format!("at {ti} h");
        // 5-point Gauss-Legendre on steps of at most 1 h, against rates of 0.05-0.12 /h.
        assert_close(
            100.0 * b.in_plasma / 1e6,
            plasma,
            1e-9,
            &format!("plasma {what}"),
        );
        assert_close(100.0 * b.held / 1e6, settled, 1e-9, &format!("held {what}"));
        let marrow = label.percent[i][Organ::Marrow.position()];
        assert_close(
            marrow,
            marrow_share * settled,
            1e-9,
            &format!("marrow {what}"),
        );
    }
}

/// Cells that die where the spleen holds them leave their label in the spleen: with only
/// spleen cells dying, the spleen shows its live cells' label plus every dead cell's, and
/// no label reaches liver or marrow phagocytes.
#[test]
fn cells_dying_in_the_spleen_leave_their_label_there() {
    let mut s = mouse("peripheral_vein", 1, 0.0, &radiolabel("in111", true, 1.0));
    only_deaths(&mut s, &[Param::SpleenDeath]);
    s.parameters.set(Param::SpleenDeath, 0.05);
    // Only the spleen traps, so that many cells die there.
    for p in [
        Param::LungExtraction,
        Param::LungRecirculatingExtraction,
        Param::LiverExtraction,
        Param::OtherExtraction,
    ] {
        s.parameters.set(p, 0.0);
    }
    s.parameters.set(Param::LabelEfflux, 0.0);
    s.parameters.set(Param::DebrisClearance, 0.0);
    let mut cells = s.clone();
    cells.observe = Some(Observe::default());
    let t = times(10.0);
    let (label, live) = (predict(&s, &t), predict(&cells, &t));
    let dead = |i: usize| 100.0 * label.budget[i].deposited / 1e6;
    assert!(
        dead(t.len() - 1) > 10.0,
        "spleen cells died: {} %",
        dead(t.len() - 1)
    );
    for (i, &ti) in t.iter().enumerate() {
        let at = |signals: &Signals, organ: Organ| signals.percent[i][organ.position()];
        let what = |organ: Organ| format!("{organ} at {ti} h");
        assert_close(
            at(&label, Organ::Spleen),
            at(&live, Organ::Spleen) + dead(i),
            1e-9,
            &what(Organ::Spleen),
        );
        for organ in [Organ::Liver, Organ::Lung, Organ::Blood, Organ::Other] {
            assert_close(at(&label, organ), at(&live, organ), 1e-9, &what(organ));
        }
        assert_close(at(&label, Organ::Marrow), 0.0, 1e-9, &what(Organ::Marrow));
    }
    // The same deaths in an intrasplenic depot stay in the spleen too.
    let mut depot = mouse("intrasplenic", 1, 0.0, &radiolabel("in111", true, 1.0));
    only_deaths(&mut depot, &[Param::DepotDeath]);
    depot.parameters.set(Param::LabelEfflux, 0.0);
    let end = predict(&depot, &[240.0]).percent[0];
    assert_close(
        end[Organ::Marrow.position()],
        0.0,
        1e-9,
        "marrow, intrasplenic depot",
    );
    assert!(end[Organ::Spleen.position()] > 10.0, "{end:?}");
}

/// Cells that die in the lungs hand their label to phagocytes in the disease's shares,
/// which shift from the liver to spleen and marrow in cirrhosis (Groshar et al. 2002).
#[test]
fn lung_deaths_go_to_phagocytes_in_the_diseases_shares() {
    let shares = |disease: &str| {
        let mut s = mouse_with(
            disease,
            "peripheral_vein",
            1,
            0.0,
            &radiolabel("in111", true, 1.0),
        );
        only_deaths(&mut s, &[Param::LungDeath]);
        s.parameters.set(Param::LabelEfflux, 0.0);
        let p = &s.parameters;
        let liver = p.get(Param::DebrisLiverShare);
        let spleen = (1.0 - liver) * p.get(Param::DebrisSpleenShare);
        let mut cells = s.clone();
        cells.observe = Some(Observe::default());
        let t = [1.0, 24.0, 240.0];
        let (label, live) = (predict(&s, &t), predict(&cells, &t));
        for i in 0..t.len() {
            let b = label.budget[i];
            let dead = 100.0 * b.held / 1e6;
            let extra = |o: Organ| label.percent[i][o.position()] - live.percent[i][o.position()];
            for (organ, share) in [
                (Organ::Liver, liver),
                (Organ::Spleen, spleen),
                (Organ::Marrow, 1.0 - liver - spleen),
            ] {
                assert_close(
                    extra(organ),
                    share * dead,
                    1e-9,
                    &format!("{disease} {organ}"),
                );
            }
        }
        (liver, spleen)
    };
    let (healthy_liver, healthy_spleen) = shares("healthy");
    assert_eq!(healthy_liver, 0.62);
    assert!((healthy_spleen - 0.38 * 0.2).abs() < 1e-12);
    for disease in [
        "compensated_cirrhosis",
        "decompensated_cirrhosis",
        "acute_on_chronic_liver_failure",
    ] {
        let (liver, spleen) = shares(disease);
        assert_eq!(liver, 0.36, "{disease}");
        assert!(
            spleen > 3.0 * healthy_spleen,
            "{disease}: colloid shift to the spleen"
        );
    }
    for disease in ["acute_liver_failure", "liver_transplant_rejection"] {
        assert_eq!(
            shares(disease),
            (healthy_liver, healthy_spleen),
            "{disease}"
        );
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
    two.observe = Some(Observe {
        method: Method::Radiolabel,
        isotope: Some(Isotope::In111),
        ..Observe::default()
    });
    let v = scenario::rules::check(&two).expect_err("radiolabel over 2 doses with a mechanism");
    assert_eq!(v.key, "observe.method");
}
