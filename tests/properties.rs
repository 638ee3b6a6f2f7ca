//! Laws that must hold for any valid scenario: conservation of cells, non-negativity,
//! exact AUCs consistent with the sampled curve, linearity in dose and superposition of
//! doses. Scenarios are drawn at random over species, disease, product, routes, schedules
//! and parameter overrides.

mod common;

use cellpk::compartment::{Compartment, Total};
use cellpk::presets::{Disease, Species};
use cellpk::simulation;
use proptest::prelude::*;

const RATES: [&str; 6] = [
    "lung.death_per_h",
    "lung.release_per_h",
    "liver.engraftment_per_h",
    "liver.sinusoid_release_per_h",
    "spleen.release_per_h",
    "depot.death_per_h",
];

/// One `[[dose]]` block: route, cells, count, interval (days), start (days), minutes.
type Block = (String, f64, u32, f64, f64, f64);

fn block(route: &'static str, bolus_at_zero: bool) -> impl Strategy<Value = Block> {
    (
        1e4f64..1e8,
        1u32..4,
        0.5f64..5.0,
        0.0f64..2.0,
        0.0f64..120.0,
    )
        .prop_map(move |(cells, count, interval, start, minutes)| {
            let (start, minutes) = if bolus_at_zero {
                (0.0, 0.0)
            } else {
                (start, minutes)
            };
            (route.to_string(), cells, count, interval, start, minutes)
        })
}

/// Blocks with distinct vascular routes plus at most one depot route (never overlapping).
fn blocks(bolus_at_zero: bool) -> impl Strategy<Value = Vec<Block>> {
    (
        proptest::sample::subsequence(common::VASCULAR.to_vec(), 0..=3),
        proptest::option::of(proptest::sample::select(common::DEPOTS.to_vec())),
    )
        .prop_filter("at least one dose", |(v, d)| !v.is_empty() || d.is_some())
        .prop_flat_map(move |(vascular, depot)| {
            vascular
                .into_iter()
                .chain(depot)
                .map(|r| block(r, bolus_at_zero))
                .collect::<Vec<_>>()
        })
}

fn overrides() -> impl Strategy<Value = Vec<(String, f64)>> {
    let fractions =
        proptest::sample::subsequence(common::FRACTIONS.to_vec(), 0..=5).prop_flat_map(|names| {
            names
                .into_iter()
                .map(|n| (Just(n.to_string()), 0.0f64..=1.0))
                .collect::<Vec<_>>()
        });
    let rates = proptest::sample::subsequence(RATES.to_vec(), 0..=6).prop_flat_map(|names| {
        names
            .into_iter()
            .map(|n| (Just(n.to_string()), 0.0f64..2.0))
            .collect::<Vec<_>>()
    });
    (fractions, rates).prop_map(|(mut f, r)| {
        f.extend(r);
        f
    })
}

fn scenario_text(
    (species, disease, allogeneic): (&str, &str, bool),
    blocks: &[Block],
    params: &[(String, f64)],
    duration_days: f64,
    output_every_hours: f64,
) -> String {
    let mut text = format!(
        "name = \"prop\"\n[subject]\nspecies = \"{species}\"\ndisease = \"{disease}\"\n\
         [cells]\nsource = \"umbilical_cord\"\ndonor = \"{}\"\n",
        if allogeneic {
            "allogeneic"
        } else {
            "autologous"
        }
    );
    for (route, cells, count, interval, start, minutes) in blocks {
        text += &format!(
            "[[dose]]\nroute = \"{route}\"\ncells = {cells:?}\ncount = {count}\n\
             interval_days = {interval:?}\nstart_day = {start:?}\ninfusion_minutes = {minutes:?}\n"
        );
    }
    text += &format!(
        "[simulation]\nduration_days = {duration_days:?}\noutput_every_hours = {output_every_hours:?}\n[parameters]\n"
    );
    for (name, value) in params {
        text += &format!("\"{name}\" = {value:?}\n");
    }
    text
}

fn subject() -> impl Strategy<Value = (&'static str, &'static str, bool)> {
    (
        proptest::sample::select(common::names::<Species>()),
        proptest::sample::select(common::names::<Disease>()),
        any::<bool>(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn cells_are_conserved_and_never_negative(
        subject in subject(),
        blocks in blocks(false),
        params in overrides(),
        duration_days in 2.5f64..12.0,
        every in 0.5f64..8.0,
    ) {
        let s = common::scenario(&scenario_text(subject, &blocks, &params, duration_days, every));
        let out = simulation::run(&s).expect("simulates");
        let total = out.metrics.cells_scheduled;
        for ((t, x), given) in out.timecourse.time_h.iter().zip(&out.timecourse.states).zip(&out.timecourse.given) {
            prop_assert!((x.sum() - given).abs() <= 1e-9 * total, "cells not conserved at {t} h: {} vs {given}", x.sum());
            for c in Compartment::ALL {
                prop_assert!(x[c.index()] >= -1e-12 * total, "{} negative at {t} h: {}", c.name(), x[c.index()]);
            }
        }
        prop_assert!(out.metrics.mass_balance_rel_error <= 1e-9);
        prop_assert!(out.metrics.liver_reached_fraction <= 1.0 + 1e-9);
    }

    #[test]
    fn exact_auc_matches_the_sampled_curve(
        subject in subject(),
        blocks in blocks(true),
        params in overrides(),
        duration_days in 1.0f64..4.0,
    ) {
        // Boluses at t = 0 only, so the sampled curve has no jump between samples. For a
        // curve monotone between samples the trapezoid's error is at most h |dx| / 2 per
        // step: that sum is the sampling error allowed.
        let s = common::scenario(&scenario_text(subject, &blocks, &params, duration_days, 0.02));
        let out = simulation::run(&s).expect("simulates");
        let liver = out.timecourse.total(Total::Liver);
        let t = &out.timecourse.time_h;
        let (mut trapezoid, mut allowed) = (0.0, 0.0);
        for i in 1..t.len() {
            let h = t[i] - t[i - 1];
            trapezoid += h * (liver[i] + liver[i - 1]) / 2.0;
            allowed += h * (liver[i] - liver[i - 1]).abs() / 2.0;
        }
        let exact = out.metrics.liver_auc_cell_days * 24.0;
        prop_assert!(
            (exact - trapezoid).abs() <= allowed + 1e-9 * exact.abs(),
            "exact AUC {exact} vs trapezoid {trapezoid}, allowed sampling error {allowed}"
        );
    }

    #[test]
    fn response_is_linear_in_dose_and_doses_superpose(
        subject in subject(),
        blocks in blocks(false),
        params in overrides(),
        scale in 0.1f64..10.0,
    ) {
        let base = simulation::run(&common::scenario(&scenario_text(subject, &blocks, &params, 10.0, 4.0))).expect("simulates");
        let scaled_blocks: Vec<Block> = blocks.iter().map(|b| (b.0.clone(), b.1 * scale, b.2, b.3, b.4, b.5)).collect();
        let scaled = simulation::run(&common::scenario(&scenario_text(subject, &scaled_blocks, &params, 10.0, 4.0))).expect("simulates");
        let (m, n) = (&base.metrics, &scaled.metrics);
        for (a, b, what) in [
            (m.liver_auc_cell_days, n.liver_auc_cell_days, "liver AUC"),
            (m.lung_peak_cells, n.lung_peak_cells, "lung peak"),
            (m.spleen_auc_cell_days, n.spleen_auc_cell_days, "spleen AUC"),
            (m.liver_cells_end, n.liver_cells_end, "liver at end"),
        ] {
            prop_assert!((b - scale * a).abs() <= 1e-9 * (scale * a).abs() + 1e-9, "{what}: {b} vs {scale} x {a}");
        }
        prop_assert!((m.liver_reached_fraction - n.liver_reached_fraction).abs() <= 1e-9);
        let per_dose_auc: f64 = base.per_dose.iter().map(|d| d.liver_auc_cell_days).sum();
        prop_assert!(
            (per_dose_auc - m.liver_auc_cell_days).abs() <= 1e-9 * m.liver_auc_cell_days.abs() + 1e-9,
            "per-dose liver AUCs sum to {per_dose_auc}, the schedule's is {}", m.liver_auc_cell_days
        );
    }
}
