//! Laws that must hold for any valid scenario: conservation of cells, non-negativity,
//! exact AUCs consistent with the sampled curve, linearity in dose and superposition of
//! doses. Scenarios are drawn at random over species, disease, product, routes, schedules
//! and parameter overrides.

use crate::common;

use cellpk::compartment::{Compartment, Total};
use cellpk::params::{Kind, Param, MAX_TURNOVER_PER_H};
use cellpk::presets::{Disease, Species};
use cellpk::scenario::{MIN_DURATION_DAYS, MIN_INFUSION_MINUTES};
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

/// A value drawn across the whole accepted range of `param`: log-uniform over the decades
/// of rates, cell counts, folds and amounts (with the closed lower bound, often 0, drawn on
/// its own one time in eight), uniform for fractions.
fn any_value(param: Param) -> BoxedStrategy<f64> {
    let (low, closed, high) = param.kind().bounds();
    if param.kind() == Kind::Fraction {
        return (0.0..=1.0f64).boxed();
    }
    // The smallest positive value the log-uniform draw reaches: the bound itself when it is
    // positive, else 1e-12 of the top (a rate of 1e-8 /h is a turnover of 11,000 years).
    let floor = if low > 0.0 { low } else { high * 1e-12 };
    let log = (floor.log10()..=high.log10()).prop_map(move |e| 10f64.powf(e).clamp(0.0, high));
    if closed {
        prop_oneof![1 => Just(low), 7 => log].boxed()
    } else {
        log.boxed()
    }
}

/// A value for every parameter, the organ flow fractions scaled to sum to at most 1 and the
/// blood volumes raised to keep the blood's turnover within `MAX_TURNOVER_PER_H` (the two
/// cross-value rules on parameters; `check` refuses the rest, which `prop_assume` skips).
fn every_parameter() -> impl Strategy<Value = Vec<(String, f64)>> {
    Param::ALL
        .iter()
        .map(|&p| any_value(p).prop_map(move |v| (p, v)))
        .collect::<Vec<_>>()
        .prop_map(|values| {
            let flows: f64 = values
                .iter()
                .filter(|(p, _)| Param::FLOW_FRACTIONS.contains(p))
                .map(|(_, v)| v)
                .sum();
            let output = values
                .iter()
                .find(|(p, _)| *p == Param::CardiacOutput)
                .map_or(1.0, |(_, v)| *v);
            values
                .into_iter()
                .map(|(p, v)| {
                    let v = if Param::FLOW_FRACTIONS.contains(&p) && flows > 1.0 {
                        v / flows
                    } else if matches!(p, Param::VenousVolume | Param::ArterialVolume) {
                        v.max(output / MAX_TURNOVER_PER_H)
                    } else {
                        v
                    };
                    (p.name().to_string(), v)
                })
                .collect()
        })
}

/// The `[model]` table: each mechanism on or off.
fn mechanisms() -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<bool>(), 4).prop_map(|on| {
        let names = ["niche", "injury", "sensitization", "effect"];
        let mut text = "[model]\n".to_string();
        for (name, on) in names.iter().zip(on) {
            text += &format!("{name} = {on}\n");
        }
        text
    })
}

/// Blocks over the accepted range of schedules: counts, intervals and starts of days to
/// weeks, infusions from the 6 ms minimum to two hours or a bolus, doses from 1 to 1e12 cells.
fn extreme_blocks() -> impl Strategy<Value = Vec<Block>> {
    let one = |route: &'static str| {
        (
            0.0f64..12.0,
            1u32..4,
            -2.0f64..1.0,
            prop_oneof![Just(0.0), 0.0f64..3.0],
            prop_oneof![Just(0.0), Just(MIN_INFUSION_MINUTES), 0.1f64..120.0],
        )
            .prop_map(move |(cells, count, interval, start, minutes)| {
                // Administrations of one block spaced by more than their infusion.
                let interval = 10f64.powf(interval).max(2.0 * minutes / 1440.0);
                (
                    route.to_string(),
                    10f64.powf(cells),
                    count,
                    interval,
                    start,
                    minutes,
                )
            })
    };
    (
        proptest::sample::subsequence(common::VASCULAR.to_vec(), 0..=2),
        proptest::option::of(proptest::sample::select(common::DEPOTS.to_vec())),
    )
        .prop_filter("at least one dose", |(v, d)| !v.is_empty() || d.is_some())
        .prop_flat_map(move |(vascular, depot)| {
            vascular
                .into_iter()
                .chain(depot)
                .map(one)
                .collect::<Vec<_>>()
        })
}

proptest! {
    // Each case is one metrics-only walk of up to 60 days (a few ms on the exact engine,
    // tens of ms on the general integrator): 256 cases take a few seconds.
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The input contract: any scenario `check` accepts, with every parameter anywhere in
    /// its accepted range, runs to the end and conserves cells to the accepted 1e-9.
    #[test]
    fn every_accepted_scenario_completes_and_conserves_cells(
        subject in subject(),
        blocks in extreme_blocks(),
        params in every_parameter(),
        model in prop_oneof![Just(String::new()), mechanisms()],
        duration_days in (MIN_DURATION_DAYS.log10()..60f64.log10()).prop_map(|e| 10f64.powf(e)),
        every in (-2.0f64..2.0).prop_map(|e| 10f64.powf(e)),
    ) {
        // Starts drawn in days are moved within the horizon, so that most draws give cells.
        let blocks: Vec<Block> = blocks
            .into_iter()
            .map(|(r, c, n, i, start, m)| (r, c, n, i, start.min(0.9 * duration_days), m))
            .collect();
        let text = scenario_text(subject, &blocks, &params, duration_days, every) + &model;
        // Draws that break a cross-value rule (blood turning over too fast, every dose after
        // the end) are refused by `check`, which the contract allows.
        let parsed = cellpk::scenario::parse(&text, std::path::Path::new("drawn.toml"));
        prop_assume!(parsed.is_ok());
        let s = parsed.expect("accepted");
        let m = simulation::metrics_only(&s)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert!(m.mass_balance_rel_error <= 1e-9, "mass balance {:e}\n{text}", m.mass_balance_rel_error);
    }
}

/// Numbers written in the shipped scenarios: (file text, byte range of each number).
fn shipped_numbers() -> Vec<(String, Vec<std::ops::Range<usize>>)> {
    common::toml_files("scenarios")
        .iter()
        .map(|file| {
            let text = std::fs::read_to_string(file).expect("read a shipped scenario");
            let mut numbers = Vec::new();
            let mut start = 0;
            for line in text.split_inclusive('\n') {
                if let Some((key, value)) = line.split_once('=') {
                    let trimmed = value.trim();
                    if !key.trim_start().starts_with('#') && trimmed.parse::<f64>().is_ok() {
                        let at = start + key.len() + 1 + value.find(trimmed).expect("in value");
                        numbers.push(at..at + trimmed.len());
                    }
                }
                start += line.len();
            }
            (text, numbers)
        })
        .collect()
}

/// How the fuzz harness changes one number.
#[derive(Debug, Clone)]
enum Mutation {
    /// Times 10^k.
    Scale(i32),
    /// Replaced by this text.
    Set(&'static str),
    /// Negated.
    Negate,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        // Mostly near the shipped value, where values are accepted and simulated.
        3 => (-3i32..=3).prop_map(Mutation::Scale),
        2 => (-40i32..=40).prop_map(Mutation::Scale),
        2 => proptest::sample::select(vec![
            "0", "0.0", "5e-324", "1e-300", "1e-12", "1e300", "1.7976931348623157e308", "-1",
            "nan", "inf", "-inf", "1e4", "1e5", "36525", "0.1", "0.01",
        ])
        .prop_map(Mutation::Set),
        1 => Just(Mutation::Negate),
    ]
}

fn mutated(number: &str, m: &Mutation) -> String {
    let v: f64 = number.parse().expect("a number");
    match m {
        Mutation::Scale(k) => format!("{:e}", v * 10f64.powi(*k)),
        Mutation::Set(text) => (*text).to_string(),
        Mutation::Negate => format!("{:e}", -v),
    }
}

proptest! {
    // A bounded fuzz over scenario text: 192 mutated shipped scenarios, each parsed and, if
    // accepted, simulated for its metrics (seconds in CI).
    #![proptest_config(ProptestConfig::with_cases(192))]

    /// Any change to the numbers of a shipped scenario, or an override of any parameter to
    /// an extreme value, is either refused as bad input or simulated to the end with cells
    /// conserved, and never panics.
    #[test]
    fn mutated_scenarios_are_refused_or_simulated(
        file in any::<proptest::sample::Index>(),
        number in any::<proptest::sample::Index>(),
        changes in proptest::collection::vec(mutation(), 1..=2),
        override_param in proptest::option::of((any::<proptest::sample::Index>(), mutation())),
    ) {
        let files = shipped_numbers();
        let (text, numbers) = &files[file.index(files.len())];
        let mut text = text.clone();
        // One or two numbers changed, the later first so that the earlier's range holds.
        let mut picked: Vec<std::ops::Range<usize>> = changes
            .iter()
            .enumerate()
            .map(|(i, _)| numbers[(number.index(numbers.len()) + i * 7) % numbers.len()].clone())
            .collect();
        picked.dedup();
        let mut edits: Vec<_> = picked.into_iter().zip(&changes).collect();
        edits.sort_by_key(|(r, _)| std::cmp::Reverse(r.start));
        for (range, change) in edits {
            let new = mutated(&text[range.clone()], change);
            text.replace_range(range, &new);
        }
        if let Some((which, change)) = override_param {
            let p = Param::ALL[which.index(Param::ALL.len())];
            // Scaled from 1 or set outright.
            let line = format!("\"{}\" = {}\n", p.name(), mutated("1", &change));
            match text.find("[parameters]\n") {
                Some(at) => text.insert_str(at + "[parameters]\n".len(), &line),
                None => text += &format!("\n[parameters]\n{line}"),
            }
        }
        let parsed = cellpk::scenario::parse(&text, std::path::Path::new("fuzzed.toml"));
        let Ok(s) = parsed else {
            return Ok(());
        };
        let result = std::panic::catch_unwind(|| simulation::metrics_only(&s));
        let m = match result {
            Ok(Ok(m)) => m,
            Ok(Err(e)) => return Err(TestCaseError::fail(format!("accepted but failed: {e}\n{text}"))),
            Err(_) => return Err(TestCaseError::fail(format!("accepted but panicked\n{text}"))),
        };
        prop_assert!(m.mass_balance_rel_error <= 1e-9, "mass balance {:e}\n{text}", m.mass_balance_rel_error);

    }
}
