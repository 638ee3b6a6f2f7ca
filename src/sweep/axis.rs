//! Sweep axes: which scenario key an axis changes (`Target`), the values it takes, and how
//! a value is written into a typed scenario.
//!
//! A path names a scenario key as in the TOML file: `subject.species`, `dose.cells_per_kg`
//! (every dose block), `dose[2].interval_days` (block 2 only), `simulation.duration_days`,
//! `parameters."lung.extraction"`. Values are checked once against the base scenario when
//! the sweep is loaded; per point, `apply` only writes them.

use std::fmt;

use crate::dosing::Amount;
use crate::params::Param;
use crate::presets::{CellSource, Choice, Disease, Donor, Modification, Route, Species};
use crate::scenario::Mechanisms;
use crate::scenario::Scenario;
use crate::scenario::Solver;

/// A field of a `[[dose]]` block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoseField {
    /// `route`.
    Route,
    /// `cells_per_kg` (replaces `cells` if the block had it).
    CellsPerKg,
    /// `cells` (replaces `cells_per_kg` if the block had it).
    Cells,
    /// `count`.
    Count,
    /// `interval_days`.
    IntervalDays,
    /// `start_day`.
    StartDay,
    /// `infusion_minutes`.
    InfusionMinutes,
}

impl DoseField {
    const ALL: [DoseField; 7] = [
        DoseField::Route,
        DoseField::CellsPerKg,
        DoseField::Cells,
        DoseField::Count,
        DoseField::IntervalDays,
        DoseField::StartDay,
        DoseField::InfusionMinutes,
    ];

    /// The field's key in a `[[dose]]` block.
    pub fn name(self) -> &'static str {
        match self {
            DoseField::Route => "route",
            DoseField::CellsPerKg => "cells_per_kg",
            DoseField::Cells => "cells",
            DoseField::Count => "count",
            DoseField::IntervalDays => "interval_days",
            DoseField::StartDay => "start_day",
            DoseField::InfusionMinutes => "infusion_minutes",
        }
    }
}

/// The scenario key an axis changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `subject.species`.
    Species,
    /// `subject.body_weight_kg`.
    BodyWeight,
    /// `subject.disease`.
    Disease,
    /// `cells.source`.
    Source,
    /// `cells.donor`.
    Donor,
    /// `cells.modification`.
    Modification,
    /// A field of one dose block (`Some(index)`, 0-based) or of every block (`None`).
    Dose(Option<usize>, DoseField),
    /// `simulation.duration_days`.
    Duration,
    /// `simulation.liver_threshold_cells`.
    LiverThreshold,
    /// `simulation.solver`.
    Solver,
    /// `simulation.rtol`.
    Rtol,
    /// `simulation.atol`.
    Atol,
    /// A switch of `[model]`: `model.niche`, `model.injury`, ...
    Mechanism(Switch),
    /// A model parameter, `parameters."name"`.
    Parameter(Param),
}

/// A mechanism switch of `[model]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    /// `niche`.
    Niche,
    /// `injury`.
    Injury,
    /// `sensitization`.
    Sensitization,
    /// `effect`.
    Effect,
}

impl Switch {
    const ALL: [Switch; 4] = [
        Switch::Niche,
        Switch::Injury,
        Switch::Sensitization,
        Switch::Effect,
    ];

    /// The key in `[model]`.
    pub fn name(self) -> &'static str {
        match self {
            Switch::Niche => "niche",
            Switch::Injury => "injury",
            Switch::Sensitization => "sensitization",
            Switch::Effect => "effect",
        }
    }

    /// The switch in a scenario's mechanisms.
    pub fn of(self, m: &mut Mechanisms) -> &mut bool {
        match self {
            Switch::Niche => &mut m.niche,
            Switch::Injury => &mut m.injury,
            Switch::Sensitization => &mut m.sensitization,
            Switch::Effect => &mut m.effect,
        }
    }
}

impl Target {
    /// The axis title a figure gives this key: the quantity in words with its
    /// unit, e.g. "Dose (cells/kg)" for `dose.cells_per_kg`, so a figure reads
    /// without the scenario-file syntax. Per-block dose keys name the block.
    pub fn label(self) -> String {
        let words = match self {
            Target::Species => "Species",
            Target::BodyWeight => "Body weight (kg)",
            Target::Disease => "Disease",
            Target::Source => "Cell source",
            Target::Donor => "Donor",
            Target::Modification => "Modification",
            Target::Dose(block, field) => {
                let words = match field {
                    DoseField::Route => "Route",
                    DoseField::CellsPerKg => "Dose (cells/kg)",
                    DoseField::Cells => "Dose (cells)",
                    DoseField::Count => "Number of doses",
                    DoseField::IntervalDays => "Dosing interval (days)",
                    DoseField::StartDay => "Start of dosing (days)",
                    DoseField::InfusionMinutes => "Infusion length (min)",
                };
                return match block {
                    Some(b) => format!("{words}, dose block {}", b + 1),
                    None => words.to_owned(),
                };
            }
            Target::Duration => "Simulated time (days)",
            Target::LiverThreshold => "Liver threshold (cells)",
            Target::Solver => "Solver",
            Target::Rtol => "Relative tolerance",
            Target::Atol => "Absolute tolerance (cells)",
            Target::Mechanism(m) => return format!("Mechanism: {}", m.name()),
            Target::Parameter(p) => return format!("{} ({})", p.name(), p.unit()),
        };
        words.to_owned()
    }

    /// Every path valid for a base scenario with `blocks` dose blocks (for suggestions).
    pub fn all_paths(blocks: usize) -> Vec<String> {
        let mut paths: Vec<String> = [
            "subject.species",
            "subject.body_weight_kg",
            "subject.disease",
            "cells.source",
            "cells.donor",
            "cells.modification",
            "simulation.duration_days",
            "simulation.liver_threshold_cells",
            "simulation.solver",
            "simulation.rtol",
            "simulation.atol",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        paths.extend(Switch::ALL.iter().map(|m| format!("model.{}", m.name())));
        for f in DoseField::ALL {
            paths.push(format!("dose.{}", f.name()));
            for b in 1..=blocks {
                paths.push(format!("dose[{b}].{}", f.name()));
            }
        }
        paths.extend(
            Param::ALL
                .iter()
                .map(|p| format!("parameters.\"{}\"", p.name())),
        );
        paths
    }

    /// The target named by `path`, for a base with `blocks` dose blocks.
    pub fn parse(path: &str, blocks: usize) -> Option<Target> {
        let simple = match path {
            "subject.species" => Some(Target::Species),
            "subject.body_weight_kg" => Some(Target::BodyWeight),
            "subject.disease" => Some(Target::Disease),
            "cells.source" => Some(Target::Source),
            "cells.donor" => Some(Target::Donor),
            "cells.modification" => Some(Target::Modification),
            "simulation.duration_days" => Some(Target::Duration),
            "simulation.liver_threshold_cells" => Some(Target::LiverThreshold),
            "simulation.solver" => Some(Target::Solver),
            "simulation.rtol" => Some(Target::Rtol),
            "simulation.atol" => Some(Target::Atol),
            _ => None,
        };
        if simple.is_some() {
            return simple;
        }
        if let Some(name) = path.strip_prefix("model.") {
            return Switch::ALL
                .into_iter()
                .find(|m| m.name() == name)
                .map(Target::Mechanism);
        }
        if let Some(name) = path.strip_prefix("parameters.") {
            return Param::from_name(name.trim_matches('"')).map(Target::Parameter);
        }
        let (block, field) = if let Some(field) = path.strip_prefix("dose.") {
            (None, field)
        } else {
            let rest = path.strip_prefix("dose[")?;
            let (n, field) = rest.split_once("].")?;
            let n: usize = n.parse().ok()?;
            if n == 0 || n > blocks {
                return None;
            }
            (Some(n - 1), field)
        };
        let field = DoseField::ALL.into_iter().find(|f| f.name() == field)?;
        Some(Target::Dose(block, field))
    }

    /// Whether a value for this target is a name (a choice) rather than a number.
    pub fn takes_names(self) -> bool {
        matches!(
            self,
            Target::Species
                | Target::Disease
                | Target::Source
                | Target::Donor
                | Target::Modification
                | Target::Solver
                | Target::Mechanism(_)
                | Target::Dose(_, DoseField::Route)
        )
    }

    /// Whether a value for this target must be a whole number.
    pub fn takes_integers(self) -> bool {
        matches!(self, Target::Dose(_, DoseField::Count))
    }

    /// Whether changing this target changes the resolved parameters (a new model).
    pub fn changes_model(self) -> bool {
        matches!(
            self,
            Target::Species
                | Target::BodyWeight
                | Target::Disease
                | Target::Source
                | Target::Donor
                | Target::Modification
                | Target::Parameter(_)
        )
    }

    /// The valid names for a choice target, for messages.
    pub fn valid_names(self) -> Option<String> {
        match self {
            Target::Species => Some(Species::valid_names()),
            Target::Disease => Some(Disease::valid_names()),
            Target::Source => Some(CellSource::valid_names()),
            Target::Donor => Some(Donor::valid_names()),
            Target::Modification => Some(Modification::valid_names()),
            Target::Dose(_, DoseField::Route) => Some(Route::valid_names()),
            Target::Solver => Some(Solver::valid_names()),
            Target::Mechanism(_) => Some("`true`, `false`".into()),
            _ => None,
        }
    }
}

/// One value of an axis.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number (integers are exact up to 2^53).
    Number(f64),
    /// A name: species, disease, source, donor, modification, route, solver, or `true` and
    /// `false` for a mechanism switch.
    Name(String),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Number(v) => write!(f, "{v}"),
            Value::Name(n) => f.write_str(n),
        }
    }
}

impl Value {
    /// The value as TOML for `target`, for validating it in the base scenario's file.
    pub fn to_toml(&self, target: Target) -> toml::Value {
        match self {
            Value::Number(v) if target.takes_integers() => toml::Value::Integer(*v as i64),
            Value::Number(v) => toml::Value::Float(*v),
            Value::Name(n) if matches!(target, Target::Mechanism(_)) => {
                toml::Value::Boolean(n == "true")
            }
            Value::Name(n) => toml::Value::String(n.clone()),
        }
    }
}

fn choice<T: Choice>(name: &str) -> T {
    *T::ALL
        .iter()
        .find(|c| c.name() == name)
        .expect("axis names were checked against the choices when the sweep was loaded")
}

/// Writes `value` into `scenario` (subject and parameter changes are resolved by the caller).
pub fn apply(scenario: &mut Scenario, target: Target, value: &Value) {
    let number = || match value {
        Value::Number(v) => *v,
        Value::Name(_) => unreachable!("numeric targets were given numbers when loaded"),
    };
    let name = || match value {
        Value::Name(n) => n.as_str(),
        Value::Number(_) => unreachable!("choice targets were given names when loaded"),
    };
    match target {
        Target::Species => scenario.subject.species = choice(name()),
        Target::BodyWeight => scenario.subject.body_weight_kg = number(),
        Target::Disease => scenario.subject.disease = choice(name()),
        Target::Source => scenario.subject.source = choice(name()),
        Target::Donor => scenario.subject.donor = choice(name()),
        Target::Modification => scenario.subject.modification = choice(name()),
        Target::Duration => scenario.duration_days = number(),
        Target::LiverThreshold => scenario.liver_threshold_cells = Some(number()),
        Target::Solver => scenario.solver = choice(name()),
        Target::Rtol => scenario.tolerance.rtol = number(),
        Target::Atol => scenario.tolerance.atol = number(),
        Target::Mechanism(m) => *m.of(&mut scenario.mechanisms) = name() == "true",
        Target::Parameter(p) => scenario.parameters.set(p, number()),
        Target::Dose(block, field) => {
            let blocks = match block {
                Some(i) => i..i + 1,
                None => 0..scenario.doses.len(),
            };
            for d in &mut scenario.doses[blocks] {
                match field {
                    DoseField::Route => d.route = choice(name()),
                    DoseField::CellsPerKg => d.amount = Amount::PerKg(number()),
                    DoseField::Cells => d.amount = Amount::Total(number()),
                    DoseField::Count => d.count = number() as u32,
                    DoseField::IntervalDays => d.interval_days = number(),
                    DoseField::StartDay => d.start_day = number(),
                    DoseField::InfusionMinutes => d.infusion_minutes = number(),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip() {
        for path in Target::all_paths(2) {
            assert!(Target::parse(&path, 2).is_some(), "{path}");
        }
        assert_eq!(
            Target::parse("dose[2].count", 2),
            Some(Target::Dose(Some(1), DoseField::Count))
        );
        assert_eq!(Target::parse("dose[3].count", 2), None);
        assert_eq!(
            Target::parse("parameters.lung.extraction", 1),
            Some(Target::Parameter(Param::LungExtraction))
        );
    }
}
