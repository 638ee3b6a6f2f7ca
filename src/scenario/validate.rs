//! Rules a scenario must satisfy beyond its TOML shape: ranges, cross-field rules and
//! resource limits, each reported with file, line, key and a fix.

use std::ops::Range;
use std::path::Path;

use toml::Spanned;

use super::file::{DoseFile, ScenarioFile};
use super::{suggest, Scenario};
use crate::dosing::{self, Amount, DoseBlock};
use crate::error::{InputError, Location};
use crate::params::{self, Param, Subject};
use crate::presets::Route;

/// Most time-course samples a run keeps in memory (about 110 bytes each).
pub const MAX_SAMPLES: usize = 5_000_000;

/// Longest time any duration, start, interval or infusion may span (days): 100 years.
/// Assumption: no question about cell therapy spans longer, and the engine's work grows with
/// simulated time (at least one step per hour), so an absurd value must fail here, not hang.
pub const MAX_DAYS: f64 = 36_525.0;

/// Longest run name: it names a directory (file systems allow 255 bytes) and the atomic
/// writer adds a hidden prefix and suffix.
const MAX_NAME_LEN: usize = 100;

/// Fewer cells than one in an administration is not a dose.
const MIN_CELLS_PER_DOSE: f64 = 1.0;

/// Most administrations in one block.
const MAX_COUNT: i64 = 1000;

/// More cells than this in one administration is not a plausible dose (an adult human
/// body has about 3 x 10^13 cells).
const MAX_CELLS_PER_DOSE: f64 = 1e12;

/// Turns spans into locations and builds messages.
struct Checker<'a> {
    file: &'a Path,
    text: &'a str,
}

impl Checker<'_> {
    fn line(&self, span: Range<usize>) -> Location {
        let start = span.start.min(self.text.len());
        Location {
            file: self.file.to_path_buf(),
            line: Some(self.text[..start].matches('\n').count() + 1),
        }
    }

    fn invalid(
        &self,
        span: Range<usize>,
        key: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> InputError {
        InputError::Invalid {
            at: self.line(span),
            key: key.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }

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

    /// A finite number satisfying `ok`, else an error saying what is required.
    fn number(
        &self,
        value: &Spanned<f64>,
        key: &str,
        ok: impl Fn(f64) -> bool,
        required: &str,
    ) -> Result<f64, InputError> {
        let v = *value.get_ref();
        if v.is_finite() && ok(v) {
            Ok(v)
        } else {
            Err(self.invalid(
                value.span(),
                key,
                format!("{} is not {required}", readable(v)),
                format!("set `{key}` to {required}"),
            ))
        }
    }
}

pub(super) fn validate(raw: ScenarioFile, text: &str, file: &Path) -> Result<Scenario, InputError> {
    let c = Checker { file, text };

    let name = raw.name.get_ref();
    let name_ok = name.len() <= MAX_NAME_LEN
        && name
            .chars()
            .next()
            .is_some_and(|ch| ch.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '-' | '.'));
    if !name_ok {
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
        .map(|(i, d)| dose_block(&c, i, d, body_weight_kg))
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
    let depot_routes: Vec<(usize, Route)> = doses
        .iter()
        .enumerate()
        .filter(|(_, d)| d.route.depot().is_some())
        .map(|(i, d)| (i, d.route))
        .collect();
    if let Some(&(i, second)) = depot_routes.iter().find(|(_, r)| *r != depot_routes[0].1) {
        return Err(c.invalid(
            raw.dose[i].span(),
            format!("dose[{}].route", i + 1),
            format!(
                "`{second}` and `{}` both leave cells in a local depot, and the model has one \
                 depot state",
                depot_routes[0].1
            ),
            "simulate the two depot routes as separate scenarios (their outcomes add)",
        ));
    }

    let sim = &raw.simulation;
    let duration_days = c.days(&sim.duration_days, "simulation.duration_days", true)?;
    let output_every_hours = match &sim.output_every_hours {
        None => 1.0,
        Some(h) => c.number(
            h,
            "simulation.output_every_hours",
            |v| v > 0.0 && v <= MAX_DAYS * 24.0,
            "a number of hours > 0 and at most 100 years",
        )?,
    };
    let samples = (duration_days * 24.0 / output_every_hours).floor() + 1.0;
    if samples > MAX_SAMPLES as f64 {
        let span = sim
            .output_every_hours
            .as_ref()
            .map_or(sim.duration_days.span(), Spanned::span);
        return Err(c.invalid(
            span,
            "simulation.output_every_hours",
            format!(
                "{duration_days} days every {output_every_hours} h is {samples:.0} samples, \
                 more than the {MAX_SAMPLES} a run keeps in memory"
            ),
            format!(
                "set `output_every_hours` to at least {}",
                (duration_days * 24.0 / (MAX_SAMPLES as f64 - 1.0) * 1e4).ceil() / 1e4
            ),
        ));
    }
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

    let schedule = dosing::expand(&doses, body_weight_kg);
    if let Some((a, b)) = dosing::first_overlap(&schedule) {
        return Err(c.invalid(
            raw.dose[b.block].span(),
            format!("dose[{}]", b.block + 1),
            format!(
                "administration {} at day {} overlaps administration {} of dose[{}] (day {}, \
                 {} min) by the same route `{}`",
                b.number,
                b.start_h / 24.0,
                a.number,
                a.block + 1,
                a.start_h / 24.0,
                a.duration_h * 60.0,
                a.route
            ),
            "space administrations by more than the infusion length, or give the cells as one \
             larger dose",
        ));
    }
    let duration_h = duration_days * 24.0;
    if schedule.iter().all(|d| d.start_h > duration_h) {
        return Err(c.invalid(
            sim.duration_days.span(),
            "simulation.duration_days",
            format!("every administration starts after day {duration_days}, the end"),
            "lengthen `duration_days` or move `start_day` earlier",
        ));
    }

    let subject = Subject {
        species,
        body_weight_kg,
        disease: raw.subject.disease,
        source: raw.cells.source,
        donor: raw.cells.donor,
    };
    let mut parameters = params::resolve(&subject);
    for (key, value) in &raw.parameters {
        let name = key.get_ref();
        let param = Param::from_name(name).ok_or_else(|| {
            let names = Param::ALL.iter().map(|p| p.name());
            let hint = suggest::did_you_mean(&suggest::nearest(name, names))
                .unwrap_or_else(|| "run `cellpk params SCENARIO` to list every parameter".into());
            c.invalid(
                key.span(),
                format!("parameters.\"{name}\""),
                "no such parameter",
                hint,
            )
        })?;
        let v = c.number(
            value,
            &format!("parameters.\"{name}\""),
            |v| param.kind().admits(v),
            &format!("{} ({})", param.kind().range(), param.unit()),
        )?;
        parameters.set(param, v);
    }
    let flow_sum = parameters.flow_fraction_sum();
    if flow_sum > 1.0 + 1e-12 {
        let terms: Vec<String> = Param::FLOW_FRACTIONS
            .iter()
            .map(|&p| format!("\"{}\" = {}", p.name(), parameters.get(p)))
            .collect();
        // Blame the first flow fraction overridden in the file (only overrides can do this).
        let first = raw
            .parameters
            .keys()
            .filter(|k| {
                Param::FLOW_FRACTIONS
                    .iter()
                    .any(|p| p.name() == k.get_ref())
            })
            .min_by_key(|k| k.span().start)
            .expect("the presets' flow fractions sum to at most 1, so one was overridden");
        return Err(c.invalid(
            first.span(),
            format!("parameters.\"{}\"", first.get_ref()),
            format!(
                "organ flow fractions sum to {flow_sum}, above 1 (all of cardiac output): {}",
                terms.join(", ")
            ),
            "lower the overridden flow fractions so that they sum to at most 1",
        ));
    }

    Ok(Scenario {
        name: name.clone(),
        description: raw.description,
        subject,
        doses,
        duration_days,
        output_every_hours,
        liver_threshold_cells,
        parameters,
    })
}

fn dose_block(
    c: &Checker,
    index: usize,
    raw: &Spanned<DoseFile>,
    body_weight_kg: f64,
) -> Result<DoseBlock, InputError> {
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
    let cells = amount.cells(body_weight_kg);
    if !(MIN_CELLS_PER_DOSE..=MAX_CELLS_PER_DOSE).contains(&cells) {
        let (field, value) = match (&d.cells_per_kg, &d.cells) {
            (Some(per_kg), _) => ("cells_per_kg", per_kg),
            (None, Some(total)) => ("cells", total),
            (None, None) => unreachable!("an amount was parsed above"),
        };
        return Err(c.invalid(
            value.span(),
            key(field),
            format!(
                "{} cells in one administration ({body_weight_kg} kg) is not a plausible dose",
                readable(cells)
            ),
            format!(
                "give from {MIN_CELLS_PER_DOSE} to {MAX_CELLS_PER_DOSE:e} cells per \
                 administration; check the exponent and per-kg vs total"
            ),
        ));
    }
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
            |v| (0.0..=MAX_DAYS * 1440.0).contains(&v),
            "a number of minutes >= 0 (0 = bolus) and at most 100 years",
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

/// A number for a message: plain when of ordinary size, in exponent form otherwise (so that
/// 1e300 does not print as 301 digits).
fn readable(v: f64) -> String {
    if v == 0.0 || !v.is_finite() || (1e-4..1e9).contains(&v.abs()) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}
