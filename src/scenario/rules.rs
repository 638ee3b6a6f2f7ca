//! Rules that tie several values of a typed scenario together: doses of one route must not
//! overlap, one depot route at most, some dose within the horizon, plausible dose sizes,
//! organ flows within cardiac output, an output grid that fits in memory.
//!
//! They are checked on the typed `Scenario`, not the file, because a sweep builds scenarios
//! by changing values of a validated one: a combination of valid values can still break a
//! rule (doses overlapping once the interval is shorter than the infusion), and the sweep
//! reports it for that point. `validate` maps a `Violation` back to a line of the file.

use super::Scenario;
use crate::dosing;
use crate::params::{Param, MAX_TURNOVER_PER_H};
use crate::scenario::Method;
use crate::scenario::Solver;

/// Most time-course samples a run keeps in memory (about 110 bytes each).
pub const MAX_SAMPLES: usize = 5_000_000;

/// More cells than this in one administration is not a plausible dose (an adult human
/// body has about 3 x 10^13 cells).
pub const MAX_CELLS_PER_DOSE: f64 = 1e12;

/// Fewer cells than one in an administration is not a dose.
pub const MIN_CELLS_PER_DOSE: f64 = 1.0;

/// What a violation is about, so that a file's error can point at the right line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blame {
    /// A `[[dose]]` block (0-based).
    Dose(usize),
    /// The amount of a `[[dose]]` block (0-based).
    DoseAmount(usize),
    /// The route of a `[[dose]]` block (0-based).
    DoseRoute(usize),
    /// `simulation.duration_days`.
    Duration,
    /// `simulation.output_every_hours`.
    OutputEvery,
    /// The overridden organ flow fractions.
    FlowFractions,
    /// One parameter, overridden in `[parameters]` (else the line of the subject).
    Parameter(Param),
    /// `simulation.solver`.
    Solver,
    /// `[observe]`.
    Observe,
}

/// A broken rule: the key to blame, what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where to point.
    pub blame: Blame,
    /// Key path, e.g. `dose[2]`.
    pub key: String,
    /// What is wrong.
    pub problem: String,
    /// How to fix it.
    pub fix: String,
}

/// Checks every cross-value rule of `s`.
pub fn check(s: &Scenario) -> Result<(), Violation> {
    doses_are_plausible(s)?;
    one_depot_route(s)?;
    output_fits_in_memory(s)?;
    let schedule = s.schedule();
    doses_do_not_overlap(&schedule)?;
    some_dose_within_the_horizon(s, &schedule)?;
    flows_within_cardiac_output(s)?;
    blood_turnover_within_bounds(s)?;
    exact_engine_needs_a_linear_model(s)?;
    radiolabel_follows_administrations_apart(s, &schedule)
}

/// A radiolabel is followed one administration at a time (each carries label from its own
/// labelling), which superposition allows only in the linear model.
fn radiolabel_follows_administrations_apart(
    s: &Scenario,
    schedule: &[dosing::Dose],
) -> Result<(), Violation> {
    let radiolabel = s.observe.is_some_and(|o| o.method == Method::Radiolabel);
    if !radiolabel || !s.mechanisms.any() || schedule.len() < 2 {
        return Ok(());
    }
    Err(Violation {
        blame: Blame::Observe,
        key: "observe.method".into(),
        problem: format!(
            "a radiolabel over {} administrations is followed one administration at a time, \
             which the `[model]` mechanisms ({}) do not allow: they couple the administrations",
            schedule.len(),
            s.mechanisms.names().join(", ")
        ),
        fix: "observe one administration, switch the mechanisms off, or use `method = \
              \"bioluminescence\"` or `\"dna_pcr\"`"
            .into(),
    })
}

/// `solver = "exact"` cannot run the nonlinear mechanisms: it would ignore them.
fn exact_engine_needs_a_linear_model(s: &Scenario) -> Result<(), Violation> {
    if s.solver == Solver::Exact && s.mechanisms.any() {
        return Err(Violation {
            blame: Blame::Solver,
            key: "simulation.solver".into(),
            problem: format!(
                "the exact engine needs a linear model, and `[model]` switches on {}",
                s.mechanisms.names().join(", ")
            ),
            fix: "set `solver = \"auto\"` (or `\"rodas\"`), or switch the mechanisms off".into(),
        });
    }
    Ok(())
}

fn doses_are_plausible(s: &Scenario) -> Result<(), Violation> {
    for (i, block) in s.doses.iter().enumerate() {
        let cells = block.amount.cells(s.subject.body_weight_kg);
        if !(MIN_CELLS_PER_DOSE..=MAX_CELLS_PER_DOSE).contains(&cells) {
            let field = match block.amount {
                dosing::Amount::PerKg(_) => "cells_per_kg",
                dosing::Amount::Total(_) => "cells",
            };
            return Err(Violation {
                blame: Blame::DoseAmount(i),
                key: format!("dose[{}].{field}", i + 1),
                problem: format!(
                    "{} cells in one administration ({} kg) is not a plausible dose",
                    readable(cells),
                    s.subject.body_weight_kg
                ),
                fix: format!(
                    "give from {MIN_CELLS_PER_DOSE} to {MAX_CELLS_PER_DOSE:e} cells per \
                     administration; check the exponent and per-kg vs total"
                ),
            });
        }
    }
    Ok(())
}

fn one_depot_route(s: &Scenario) -> Result<(), Violation> {
    let mut depots = s
        .doses
        .iter()
        .enumerate()
        .filter(|(_, d)| d.route.depot().is_some());
    let Some((_, first)) = depots.next() else {
        return Ok(());
    };
    match depots.find(|(_, d)| d.route != first.route) {
        None => Ok(()),
        Some((i, second)) => Err(Violation {
            blame: Blame::DoseRoute(i),
            key: format!("dose[{}].route", i + 1),
            problem: format!(
                "`{}` and `{}` both leave cells in a local depot, and the model has one depot \
                 state",
                second.route, first.route
            ),
            fix: "simulate the two depot routes as separate scenarios (their outcomes add)".into(),
        }),
    }
}

fn output_fits_in_memory(s: &Scenario) -> Result<(), Violation> {
    let samples = (s.duration_days * 24.0 / s.output_every_hours).floor() + 1.0;
    if samples <= MAX_SAMPLES as f64 {
        return Ok(());
    }
    Err(Violation {
        blame: Blame::OutputEvery,
        key: "simulation.output_every_hours".into(),
        problem: format!(
            "{} days every {} h is {} samples, more than the {MAX_SAMPLES} a run keeps in memory",
            readable(s.duration_days),
            readable(s.output_every_hours),
            readable(samples)
        ),
        fix: format!(
            "set `output_every_hours` to at least {}",
            (s.duration_days * 24.0 / (MAX_SAMPLES as f64 - 1.0) * 1e4).ceil() / 1e4
        ),
    })
}

fn doses_do_not_overlap(schedule: &[dosing::Dose]) -> Result<(), Violation> {
    match dosing::first_overlap(schedule) {
        None => Ok(()),
        Some((a, b)) => Err(Violation {
            blame: Blame::Dose(b.block),
            key: format!("dose[{}]", b.block + 1),
            problem: format!(
                "administration {} at day {} overlaps administration {} of dose[{}] (day {}, {} \
                 min) by the same route `{}`",
                b.number,
                b.start_h / 24.0,
                a.number,
                a.block + 1,
                a.start_h / 24.0,
                a.duration_h * 60.0,
                a.route
            ),
            fix: "space administrations by more than the infusion length, or give the cells as \
                  one larger dose"
                .into(),
        }),
    }
}

fn some_dose_within_the_horizon(s: &Scenario, schedule: &[dosing::Dose]) -> Result<(), Violation> {
    let end = s.duration_h();
    if schedule.iter().any(|d| d.start_h <= end) {
        return Ok(());
    }
    Err(Violation {
        blame: Blame::Duration,
        key: "simulation.duration_days".into(),
        problem: format!(
            "every administration starts after day {}, the end",
            s.duration_days
        ),
        fix: "lengthen `duration_days` or move `start_day` earlier".into(),
    })
}

fn flows_within_cardiac_output(s: &Scenario) -> Result<(), Violation> {
    let p = &s.parameters;
    let sum = p.flow_fraction_sum();
    if sum <= 1.0 + 1e-12 {
        return Ok(());
    }
    let terms: Vec<String> = Param::FLOW_FRACTIONS
        .iter()
        .map(|&f| format!("\"{}\" = {}", f.name(), p.get(f)))
        .collect();
    let blamed = Param::FLOW_FRACTIONS
        .iter()
        .find(|&&f| p.entry(f).overridden)
        .unwrap_or(&Param::FLOW_FRACTIONS[0]);
    Err(Violation {
        blame: Blame::FlowFractions,
        key: format!("parameters.\"{}\"", blamed.name()),
        problem: format!(
            "organ flow fractions sum to {sum}, above 1 (all of cardiac output): {}",
            terms.join(", ")
        ),
        fix: "lower the overridden flow fractions so that they sum to at most 1".into(),
    })
}

/// Blood must not turn over faster than `MAX_TURNOVER_PER_H`: cardiac output and the blood
/// volumes are each within bounds, but their ratio is what the engine resolves.
fn blood_turnover_within_bounds(s: &Scenario) -> Result<(), Violation> {
    let p = &s.parameters;
    let output = p.get(Param::CardiacOutput);
    for volume in [Param::VenousVolume, Param::ArterialVolume] {
        let turnover = output / p.get(volume);
        if turnover <= MAX_TURNOVER_PER_H {
            continue;
        }
        // Blame the override that made the ratio: the volume if it was set, else the output.
        let blamed = if p.entry(volume).overridden || !p.entry(Param::CardiacOutput).overridden {
            volume
        } else {
            Param::CardiacOutput
        };
        return Err(Violation {
            blame: Blame::Parameter(blamed),
            key: format!("parameters.\"{}\"", blamed.name()),
            problem: format!(
                "cardiac output {} L/h over `{}` = {} L turns the blood over {} times an hour, \
                 faster than the {MAX_TURNOVER_PER_H:e} /h the model resolves",
                readable(output),
                volume.name(),
                readable(p.get(volume)),
                readable(turnover)
            ),
            fix: format!(
                "raise `{}` to at least {} L or lower `{}` (check the units: litres, L/h)",
                volume.name(),
                readable(output / MAX_TURNOVER_PER_H),
                Param::CardiacOutput.name()
            ),
        });
    }
    Ok(())
}

/// A number for a message: plain when of ordinary size, in exponent form otherwise (so that
/// 1e300 does not print as 301 digits).
pub fn readable(v: f64) -> String {
    if v == 0.0 || !v.is_finite() || (1e-4..1e9).contains(&v.abs()) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}
