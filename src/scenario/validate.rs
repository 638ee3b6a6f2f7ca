//! Rules a scenario must satisfy beyond its TOML shape: ranges, cross-field rules and
//! resource limits, each reported with file, line, key and a fix.

use std::ops::Range;
use std::path::Path;

use toml::Spanned;

use super::checker::Checker;
use super::file::{DoseFile, ObserveFile, ScenarioFile, ValidationFile};
use super::rules::{self, Blame};
use super::{variability, Scenario, Validation};
use crate::dosing::{Amount, DoseBlock};
use crate::error::{InputError, Location};
use crate::params::{self, Param, Subject};
use crate::presets::observation::Isotope;
use crate::presets::Choice;
use crate::scenario::{is_directory_name, MAX_NAME_LEN};
use crate::scenario::{Method, Observe};
use crate::scenario::{Solver, Tolerance};

/// Longest time any duration, start, interval or infusion may span (days): 100 years.
/// Assumption: no question about cell therapy spans longer, and the engine's work grows with
/// simulated time (at least one step per hour), so an absurd value must fail here, not hang.
pub const MAX_DAYS: f64 = 36_525.0;

/// Shortest simulation accepted (days): 14.4 minutes. Assumption: the shortest question the
/// model answers, where the cells lodge in their first passes, is settled within minutes
/// (the engine's nodes after a dose reach 49 min); a shorter horizon is a unit error (hours
/// or minutes written as days). Below about 1e-300 days the plot's axis could not even be
/// divided into ticks (5e-324 panicked).
pub const MIN_DURATION_DAYS: f64 = 0.01;

/// Shortest infusion accepted (minutes): 6 ms; 0 is a bolus. An infusion of 1e-12 min
/// started late ended at its own start time once both were rounded to doubles, and its
/// cells were lost. At the latest accepted start (100 years, 876,600 h) doubles are
/// 1.2e-10 h apart, so 6 ms (1.7e-6 h) still spans 14,000 of them and the walks, which
/// take an infusion's rate over its rounded span (`Dose::rate_per_h`), deliver it exactly.
/// Assumption: nothing shorter is meant as an infusion (the fastest circulation, a
/// mouse's, takes seconds), so a shorter positive value is refused, not rounded to a bolus.
pub const MIN_INFUSION_MINUTES: f64 = 1e-4;

/// Loosest tolerance accepted: looser would let the integrator report numbers with no
/// correct digit.
const MAX_TOLERANCE: f64 = 0.1;

/// Tightest tolerance accepted: near the precision of a double, steps would shrink until
/// the integrator gives up, after a long wait.
const MIN_TOLERANCE: f64 = 1e-13;

/// Most administrations in one block.
const MAX_COUNT: i64 = 1000;

impl Checker<'_> {
    /// A time in days within (0 or above, MAX_DAYS]; strictly positive if `positive`.
    fn days(&self, value: &Spanned<f64>, key: &str, positive: bool) -> Result<f64, InputError> {
        let low = if positive { "> 0" } else { ">= 0" };
        self.number(
            value,
            key,
            |v| (v > 0.0 || (!positive && v == 0.0)) && v <= MAX_DAYS,
            &format!("a number of days {low} and <= {MAX_DAYS} (100 years)"),
        )
    }
}

pub(super) fn validate(
    raw: ScenarioFile,
    text: &str,
    file: &Path,
    cross_rules: bool,
) -> Result<Scenario, InputError> {
    let c = Checker { file, text };

    let name = raw.name.get_ref();
    if !is_directory_name(name) {
        let problem = if name.len() > MAX_NAME_LEN {
            format!(
                "a name of {} characters is too long for a directory",
                name.len()
            )
        } else {
            format!("{name:?} cannot name an output directory")
        };
        return Err(c.invalid(
            raw.name.span(),
            "name",
            problem,
            format!(
                "use up to {MAX_NAME_LEN} letters, digits, `_`, `-` and `.`, starting with a \
                 letter or digit"
            ),
        ));
    }

    let species = raw.subject.species;
    let phys = species.physiology();
    let body_weight_kg = match &raw.subject.body_weight_kg {
        None => phys.reference_weight_kg.value,
        Some(w) => {
            let (lo, hi) = phys.plausible_weight_kg;
            c.number(
                w,
                "subject.body_weight_kg",
                |v| (lo..=hi).contains(&v),
                &format!("a body weight in kg between {lo} and {hi} for a {species}"),
            )?
        }
    };

    let doses = raw
        .dose
        .iter()
        .enumerate()
        .map(|(i, d)| dose_block(&c, i, d))
        .collect::<Result<Vec<_>, _>>()?;
    if doses.is_empty() {
        return Err(InputError::Invalid {
            at: Location {
                file: file.to_path_buf(),
                line: None,
            },
            key: "dose".into(),
            problem: "the scenario gives no cells".into(),
            fix: "add a `[[dose]]` block with `route` and `cells_per_kg` or `cells`".into(),
        });
    }
    let sim = &raw.simulation;
    let duration_days = c.number(
        &sim.duration_days,
        "simulation.duration_days",
        |v| (MIN_DURATION_DAYS..=MAX_DAYS).contains(&v),
        &format!("a number of days from {MIN_DURATION_DAYS} (14.4 min) to {MAX_DAYS} (100 years)"),
    )?;
    let output_every_hours = match &sim.output_every_hours {
        None => 1.0,
        Some(h) => c.number(
            h,
            "simulation.output_every_hours",
            |v| v > 0.0 && v <= MAX_DAYS * 24.0,
            "a number of hours > 0 and at most 100 years",
        )?,
    };
    let liver_threshold_cells = sim
        .liver_threshold_cells
        .as_ref()
        .map(|t| {
            c.number(
                t,
                "simulation.liver_threshold_cells",
                |v| v >= 0.0,
                "a number of cells >= 0",
            )
        })
        .transpose()?;

    let solver = sim.solver.as_ref().map_or(Solver::Auto, |s| *s.get_ref());
    let tolerance = |value: &Option<Spanned<f64>>, key: &str, default: f64| {
        value.as_ref().map_or(Ok(default), |v| {
            c.number(
                v,
                key,
                |v| (MIN_TOLERANCE..=MAX_TOLERANCE).contains(&v),
                &format!("a tolerance from {MIN_TOLERANCE:e} to {MAX_TOLERANCE}"),
            )
        })
    };
    let tolerance = Tolerance {
        rtol: tolerance(&sim.rtol, "simulation.rtol", Tolerance::DEFAULT.rtol)?,
        atol: tolerance(&sim.atol, "simulation.atol", Tolerance::DEFAULT.atol)?,
    };

    let subject = Subject {
        species,
        body_weight_kg,
        disease: raw.subject.disease,
        source: raw.cells.source,
        donor: raw.cells.donor,
        modification: raw.cells.modification,
    };
    let mut parameters = params::resolve(&subject);
    let mut overrides = Vec::new();
    for (key, value) in &raw.parameters {
        let name = key.get_ref();
        let param = c.parameter(key, "parameters")?;
        let v = c.number(
            value,
            &format!("parameters.\"{name}\""),
            |v| param.kind().admits(v),
            &format!("{} ({})", param.kind().range(), param.unit()),
        )?;
        parameters.set(param, v);
        overrides.push((param, v));
    }
    let observe = observe(&c, raw.observe.as_ref())?;
    let validation = raw
        .validation
        .as_ref()
        .map(|v| validation(&c, v))
        .transpose()?;
    let variability = raw
        .variability
        .as_ref()
        .map(|v| variability::validate(&c, v, &parameters, &subject))
        .transpose()?;
    let scenario = Scenario {
        name: name.clone(),
        description: raw.description.clone(),
        subject,
        doses,
        duration_days,
        output_every_hours,
        liver_threshold_cells,
        overrides,
        parameters,
        mechanisms: raw.model,
        solver,
        tolerance,
        observe,
        validation,
        variability,
    };
    if !cross_rules {
        return Ok(scenario);
    }
    rules::check(&scenario).map_err(|v| {
        let (span, key) = blamed(&raw, &v);
        c.invalid(span, key, v.problem, v.fix)
    })?;
    Ok(scenario)
}

/// The span of the file that a rule violation is about, and the key as written there.
fn blamed(raw: &ScenarioFile, v: &rules::Violation) -> (Range<usize>, String) {
    let sim = &raw.simulation;
    let span = match v.blame {
        Blame::Dose(i) | Blame::DoseRoute(i) => raw.dose[i].span(),
        Blame::DoseAmount(i) => {
            let d = raw.dose[i].get_ref();
            d.cells_per_kg
                .as_ref()
                .or(d.cells.as_ref())
                .map_or(raw.dose[i].span(), Spanned::span)
        }
        Blame::Duration => sim.duration_days.span(),
        Blame::OutputEvery => sim
            .output_every_hours
            .as_ref()
            .map_or(sim.duration_days.span(), Spanned::span),
        Blame::Solver => sim.solver.as_ref().map_or(0..0, Spanned::span),
        Blame::Observe => raw.observe.as_ref().map_or(0..0, Spanned::span),
        Blame::Parameter(param) => {
            let written = raw.parameters.keys().find(|k| k.get_ref() == param.name());
            if let Some(k) = written {
                return (k.span(), format!("parameters.\"{}\"", k.get_ref()));
            }
            raw.subject
                .body_weight_kg
                .as_ref()
                .map_or(0..0, Spanned::span)
        }
        Blame::FlowFractions => {
            // The first flow fraction overridden in the file: only overrides break the rule.
            let first = raw
                .parameters
                .keys()
                .filter(|k| {
                    Param::FLOW_FRACTIONS
                        .iter()
                        .any(|p| p.name() == k.get_ref())
                })
                .min_by_key(|k| k.span().start);
            if let Some(k) = first {
                return (k.span(), format!("parameters.\"{}\"", k.get_ref()));
            }
            0..0
        }
    };
    (span, v.key.clone())
}

/// `[observe]`: the radiolabel's keys belong to it alone, and it needs its isotope.
fn observe(c: &Checker, raw: Option<&Spanned<ObserveFile>>) -> Result<Option<Observe>, InputError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let o = raw.get_ref();
    let method = o.method.unwrap_or(Method::Live);
    if method != Method::Radiolabel {
        let stray = [
            ("isotope", o.isotope.as_ref().map(Spanned::span)),
            (
                "labelled_fraction",
                o.labelled_fraction.as_ref().map(Spanned::span),
            ),
            (
                "decay_corrected",
                o.decay_corrected.as_ref().map(Spanned::span),
            ),
        ];
        if let Some((key, Some(span))) = stray.into_iter().find(|(_, s)| s.is_some()) {
            return Err(c.invalid(
                span,
                format!("observe.{key}"),
                format!("`{key}` describes a radiolabel, and the method is `{method}`"),
                format!("remove `{key}`, or set `method = \"radiolabel\"`"),
            ));
        }
    }
    let isotope = match (method, &o.isotope) {
        (Method::Radiolabel, None) => {
            return Err(c.invalid(
                raw.span(),
                "observe.isotope",
                "a radiolabel needs its isotope (for physical decay)",
                format!("add `isotope = ...`, one of {}", Isotope::valid_names()),
            ))
        }
        (_, i) => i.as_ref().map(|i| *i.get_ref()),
    };
    let labelled_fraction = match &o.labelled_fraction {
        None => 1.0,
        Some(f) => c.number(
            f,
            "observe.labelled_fraction",
            |v| v > 0.0 && v <= 1.0,
            "a share of the injected activity bound to cells, > 0 and <= 1",
        )?,
    };
    Ok(Some(Observe {
        method,
        isotope,
        labelled_fraction,
        decay_corrected: o.decay_corrected.as_ref().is_none_or(|d| *d.get_ref()),
    }))
}

/// `[validation]`: the data path is resolved against the scenario file's directory.
fn validation(c: &Checker, v: &ValidationFile) -> Result<Validation, InputError> {
    let max_fold_error = c.number(
        &v.max_fold_error,
        "validation.max_fold_error",
        |f| f >= 1.0,
        "a fold error >= 1 (1 = exact agreement)",
    )?;
    if v.study.get_ref().trim().is_empty() {
        return Err(c.invalid(
            v.study.span(),
            "validation.study",
            "the study name is empty",
            "set `study` to the value of the data's `study` column for this case",
        ));
    }
    let known_disagreement = match &v.known_disagreement {
        Some(reason) if reason.get_ref().trim().is_empty() => {
            return Err(c.invalid(
                reason.span(),
                "validation.known_disagreement",
                "the reason is empty",
                "say why the model misses these data, or remove the key",
            ))
        }
        other => other.as_ref().map(|r| r.get_ref().trim().to_owned()),
    };
    let dir = c.file.parent().unwrap_or(Path::new(""));
    let control = match &v.control {
        None => None,
        Some(path) => Some(Box::new(super::load_control(&dir.join(path.get_ref()))?)),
    };
    Ok(Validation {
        data: dir.join(v.data.get_ref()),
        study: v.study.get_ref().clone(),
        max_fold_error,
        known_disagreement,
        control,
    })
}

fn dose_block(c: &Checker, index: usize, raw: &Spanned<DoseFile>) -> Result<DoseBlock, InputError> {
    let d = raw.get_ref();
    let key = |field: &str| format!("dose[{}].{field}", index + 1);
    let amount = match (&d.cells_per_kg, &d.cells) {
        (Some(per_kg), None) => Amount::PerKg(c.number(
            per_kg,
            &key("cells_per_kg"),
            |v| v > 0.0,
            "a number of cells per kg > 0",
        )?),
        (None, Some(total)) => {
            Amount::Total(c.number(total, &key("cells"), |v| v > 0.0, "a number of cells > 0")?)
        }
        (Some(_), Some(_)) => {
            return Err(c.invalid(
                raw.span(),
                key("cells"),
                "both `cells_per_kg` and `cells` are given",
                "keep exactly one of them",
            ))
        }
        (None, None) => {
            return Err(c.invalid(
                raw.span(),
                key("cells_per_kg"),
                "the dose gives no amount",
                "add `cells_per_kg = ...` or `cells = ...`",
            ))
        }
    };
    let count = match &d.count {
        None => 1,
        Some(n) => {
            let v = *n.get_ref();
            if !(1..=MAX_COUNT).contains(&v) {
                return Err(c.invalid(
                    n.span(),
                    key("count"),
                    format!("{v} is not a number of administrations from 1 to {MAX_COUNT}"),
                    format!("set `count` between 1 and {MAX_COUNT}"),
                ));
            }
            u32::try_from(v).expect("count was checked to lie in 1..=1000")
        }
    };
    let interval_days = match (&d.interval_days, count) {
        (None, 1) => 0.0,
        (None, _) => {
            return Err(c.invalid(
                raw.span(),
                key("interval_days"),
                format!("{count} administrations need an interval"),
                "add `interval_days = ...` (days between administrations)",
            ))
        }
        (Some(i), n) => c.days(i, &key("interval_days"), n > 1)?,
    };
    let start_day = match &d.start_day {
        None => 0.0,
        Some(s) => c.days(s, &key("start_day"), false)?,
    };
    let infusion_minutes = match &d.infusion_minutes {
        None => 0.0,
        Some(m) => c.number(
            m,
            &key("infusion_minutes"),
            |v| v == 0.0 || (MIN_INFUSION_MINUTES..=MAX_DAYS * 1440.0).contains(&v),
            &format!(
                "0 (a bolus) or a number of minutes from {MIN_INFUSION_MINUTES} (6 ms) to 100 \
                 years"
            ),
        )?,
    };
    Ok(DoseBlock {
        route: d.route,
        amount,
        count,
        interval_days,
        start_day,
        infusion_minutes,
    })
}
