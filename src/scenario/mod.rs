//! Scenarios: one experiment read from a TOML file, validated and with every parameter
//! resolved.
//!
//! `parse` is the only way in: it turns text into a `Scenario` or an `InputError` that
//! names the file, line and key. Everything after it can assume valid input.

mod checker;
mod config;
mod file;
pub mod rules;
pub mod suggest;
mod validate;
mod variability;

use std::path::{Path, PathBuf};

use crate::dosing::{self, Dose, DoseBlock};
use crate::error::InputError;
use crate::params::{Param, Parameters, Subject};

pub use checker::Checker;
pub use config::{is_directory_name, Mechanisms, Method, Observe, Solver, Tolerance, MAX_NAME_LEN};
pub use rules::MAX_SAMPLES;
pub use validate::{MAX_DAYS, MIN_DURATION_DAYS, MIN_INFUSION_MINUTES};
pub use variability::{Distribution, Draw, NotRecentred, Variability, DEFAULT_SEED, MAX_CV, Z_975};

/// A validated scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Name of the run (also its output directory).
    pub name: String,
    /// Free text from the file.
    pub description: Option<String>,
    /// Recipient and cell product.
    pub subject: Subject,
    /// Dose blocks as written (validated).
    pub doses: Vec<DoseBlock>,
    /// Simulated time (days).
    pub duration_days: f64,
    /// Spacing of the time-course output (hours).
    pub output_every_hours: f64,
    /// Threshold for "days with liver cells above" (cells), if the file set one.
    pub liver_threshold_cells: Option<f64>,
    /// The file's `[parameters]` overrides, kept to re-apply when a sweep changes the
    /// subject and the presets are resolved again.
    pub overrides: Vec<(Param, f64)>,
    /// Every parameter, resolved from presets and overrides.
    pub parameters: Parameters,
    /// The nonlinear mechanisms switched on in `[model]`.
    pub mechanisms: Mechanisms,
    /// How to integrate (`[simulation] solver`).
    pub solver: Solver,
    /// Tolerances of the general integrator (`[simulation] rtol`, `atol`).
    pub tolerance: Tolerance,
    /// What is observed (`[observe]`), if the file says.
    pub observe: Option<Observe>,
    /// Observations to validate against (`[validation]`), if any.
    pub validation: Option<Validation>,
    /// What differs between virtual subjects (`[variability]`), for `cellpk population`.
    pub variability: Option<Variability>,
}

/// A scenario's `[validation]` section: the observations `cellpk validate` holds it
/// against.
#[derive(Debug, Clone, PartialEq)]
pub struct Validation {
    /// The tidy observations file (resolved against the scenario file's directory).
    pub data: PathBuf,
    /// The `study` whose rows are this case's.
    pub study: String,
    /// Largest geometric mean fold error accepted over the rows with a value.
    pub max_fold_error: f64,
    /// Why the model is known to miss these data, if it is: `cellpk validate` then expects
    /// the case to disagree.
    pub known_disagreement: Option<String>,
    /// The study's control group (`[validation] control`), which rows in
    /// `fold_auc_of_control` are a ratio to: a study that reports only how a disease
    /// changed exposure is compared as the same ratio of two simulations.
    pub control: Option<Box<Scenario>>,
}

/// Share of the largest administration used as the liver threshold when none is given.
pub const DEFAULT_THRESHOLD_SHARE: f64 = 0.01;

impl Scenario {
    /// A copy that shares no parameter table with `self` (see `Parameters`).
    pub fn unshared(&self) -> Scenario {
        Scenario {
            parameters: self.parameters.unshared(),
            ..self.clone()
        }
    }

    /// Whether the general integrator runs this scenario rather than the exact engine.
    pub fn uses_general(&self) -> bool {
        match self.solver {
            Solver::Auto => self.mechanisms.any(),
            Solver::Exact => false,
            Solver::Rodas | Solver::Dopri5 => true,
        }
    }

    /// Simulated time (hours).
    pub fn duration_h(&self) -> f64 {
        self.duration_days * 24.0
    }

    /// Every administration, sorted by time.
    pub fn schedule(&self) -> Vec<Dose> {
        dosing::expand(&self.doses, self.subject.body_weight_kg)
    }

    /// The liver threshold (cells): as set, or by default 1 % of the largest single
    /// administration (assumption: "a meaningful share of one dose is still in the liver").
    pub fn liver_threshold(&self) -> f64 {
        self.liver_threshold_of(&self.schedule())
    }

    /// `liver_threshold` given the scenario's `schedule`, already expanded.
    pub fn liver_threshold_of(&self, schedule: &[Dose]) -> f64 {
        self.liver_threshold_cells.unwrap_or_else(|| {
            DEFAULT_THRESHOLD_SHARE * schedule.iter().map(|d| d.cells).fold(0.0, f64::max)
        })
    }
}

/// Parses and validates scenario text read from `file`.
pub fn parse(text: &str, file: &Path) -> Result<Scenario, InputError> {
    parse_checked(text, file, true)
}

/// Parses scenario text checking each value on its own but not the rules that tie values
/// together (`rules::check`): a sweep checks its axis values this way against the base
/// scenario, and the cross-value rules per point, once every value of the point is known.
pub fn parse_values(text: &str, file: &Path) -> Result<Scenario, InputError> {
    parse_checked(text, file, false)
}

fn parse_checked(text: &str, file: &Path, cross_rules: bool) -> Result<Scenario, InputError> {
    validate::validate(raw_file(text, file)?, text, file, cross_rules)
}

/// The file's text as TOML, before any value is checked.
fn raw_file(text: &str, file: &Path) -> Result<file::ScenarioFile, InputError> {
    toml::from_str(text).map_err(|e| InputError::Syntax {
        file: file.to_path_buf(),
        message: suggest::explain(&e.to_string()),
    })
}

/// The text of `file`.
fn read(file: &Path) -> Result<String, InputError> {
    std::fs::read_to_string(file).map_err(|cause| InputError::Read {
        file: file.to_path_buf(),
        cause,
    })
}

/// Reads and validates the control group's scenario of a case (`[validation] control`),
/// which must name no control of its own: it is read before it is validated, so that a
/// chain or a cycle of controls is refused rather than followed.
fn load_control(file: &Path) -> Result<Scenario, InputError> {
    let text = read(file)?;
    let raw = raw_file(&text, file)?;
    if let Some(control) = raw.validation.as_ref().and_then(|v| v.control.as_ref()) {
        return Err(Checker { file, text: &text }.invalid(
            control.span(),
            "validation.control",
            "a control group's scenario names a control of its own",
            "remove `control` from the control group's `[validation]`: a control is \
             compared with nothing",
        ));
    }
    validate::validate(raw, &text, file, true)
}

/// Reads and validates a scenario file.
pub fn load(file: &Path) -> Result<Scenario, InputError> {
    parse(&read(file)?, file)
}
