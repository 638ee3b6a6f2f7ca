//! The serde mirror of a scenario TOML file, before validation.
//!
//! Every table denies unknown keys, and values that later rules check keep their byte span
//! (`Spanned`) so that a message can name the line.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::presets::observation::Isotope;
use crate::presets::{CellSource, Disease, Donor, Modification, Route, Species};
use crate::scenario::Mechanisms;
use crate::scenario::Method;
use crate::scenario::Solver;

/// A whole scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Name of the run; also the output directory name.
    pub name: Spanned<String>,
    /// Free text.
    pub description: Option<String>,
    /// `[subject]`.
    pub subject: SubjectFile,
    /// `[cells]`.
    pub cells: CellsFile,
    /// `[[dose]]` blocks.
    #[serde(default)]
    pub dose: Vec<Spanned<DoseFile>>,
    /// `[simulation]`.
    pub simulation: SimulationFile,
    /// `[model]`: the nonlinear mechanisms (all off when absent).
    #[serde(default)]
    pub model: Mechanisms,
    /// `[parameters]`: overrides by dotted name.
    #[serde(default)]
    pub parameters: BTreeMap<Spanned<String>, Spanned<f64>>,
    /// `[observe]`: what a study of this design measured (live cells when absent).
    pub observe: Option<Spanned<ObserveFile>>,
    /// `[validation]`: observations to hold the scenario against (`cellpk validate`).
    pub validation: Option<ValidationFile>,
    /// `[variability]`: distributions of parameters across virtual subjects
    /// (`cellpk population`). Not `Spanned`: toml 0.8 cannot give the span of a table
    /// that only dotted headers create (`[variability.parameters."X"]` with no
    /// `[variability]` line), and refuses such a file with "expected a borrowed string".
    pub variability: Option<VariabilityFile>,
}

/// `[variability]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariabilityFile {
    /// Seed of the draws (default 1).
    pub seed: Option<Spanned<i64>>,
    /// Default distributions of the physiology that differs between subjects.
    pub physiology: Option<Spanned<PhysiologyVariation>>,
    /// `[variability.parameters."NAME"]`: one distribution per parameter.
    #[serde(default)]
    pub parameters: BTreeMap<Spanned<String>, Spanned<DistributionFile>>,
    /// `[[variability.correlation]]`: correlations between two of those parameters.
    #[serde(default)]
    pub correlation: Vec<Spanned<CorrelationFile>>,
}

/// `[variability] physiology`: which default distributions of physiology to add.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhysiologyVariation {
    /// Cardiac output, splenic flow and portal shunt spread as between patients of the
    /// scenario's species and liver condition (`presets::between_patient`).
    BetweenPatient,
}

/// The families of distribution `[variability.parameters."NAME"]` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Log-normal: `geometric_mean` (default: the resolved value) with `cv`, or `range_95`.
    LogNormal,
    /// Normal: `mean` (default: the resolved value) and `sd`.
    Normal,
    /// Uniform over `range`.
    Uniform,
    /// The calibration's: normal on the fit's scale with the estimate and its Laplace
    /// variance, jointly with the other parameters drawn so (their covariance).
    Calibrated,
}

/// `[variability.parameters."NAME"]`: every key any family uses; the validation refuses
/// the keys of another family.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistributionFile {
    /// The family.
    pub distribution: Spanned<Family>,
    /// Log-normal: the median.
    pub geometric_mean: Option<Spanned<f64>>,
    /// Log-normal: the coefficient of variation (sd / mean of the values).
    pub cv: Option<Spanned<f64>>,
    /// Log-normal: the central 95 % range.
    pub range_95: Option<Spanned<Vec<f64>>>,
    /// Normal: the mean.
    pub mean: Option<Spanned<f64>>,
    /// Normal: the standard deviation.
    pub sd: Option<Spanned<f64>>,
    /// Uniform: the lowest and highest value.
    pub range: Option<Spanned<Vec<f64>>>,
}

/// `[[variability.correlation]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrelationFile {
    /// The two parameters, by dotted name.
    pub parameters: Spanned<Vec<String>>,
    /// Their correlation (of the normal scores: a Gaussian copula).
    pub r: Spanned<f64>,
}

/// `[observe]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObserveFile {
    /// The method (default `live`).
    pub method: Option<Method>,
    /// Radionuclide (radiolabel only; required there).
    pub isotope: Option<Spanned<Isotope>>,
    /// Share of injected activity bound to cells (radiolabel only; default 1).
    pub labelled_fraction: Option<Spanned<f64>>,
    /// Whether the study corrected activity for physical decay (radiolabel only; default
    /// true).
    pub decay_corrected: Option<Spanned<bool>>,
}

/// `[validation]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationFile {
    /// Tidy observations CSV, relative to the scenario file.
    pub data: Spanned<String>,
    /// The value of the `study` column selecting this case's rows.
    pub study: Spanned<String>,
    /// Largest geometric mean fold error accepted.
    pub max_fold_error: Spanned<f64>,
    /// Why the model is known to miss these data (the case then passes while it misses).
    pub known_disagreement: Option<Spanned<String>>,
    /// The control group's scenario, relative to this file (for rows in
    /// `fold_auc_of_control`).
    pub control: Option<Spanned<String>>,
}

/// `[subject]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectFile {
    /// Species.
    pub species: Species,
    /// Body weight (kg); species default when absent.
    pub body_weight_kg: Option<Spanned<f64>>,
    /// Liver condition.
    pub disease: Disease,
}

/// `[cells]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellsFile {
    /// Tissue of origin.
    pub source: CellSource,
    /// Origin relative to the recipient.
    pub donor: Donor,
    /// Modification or pretreatment (`none` when absent).
    #[serde(default = "unmodified")]
    pub modification: Modification,
}

/// Cells are unmodified unless the file says otherwise.
fn unmodified() -> Modification {
    Modification::None
}

/// One `[[dose]]` block.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoseFile {
    /// Route of administration.
    pub route: Route,
    /// Cells per kg body weight (exactly one of this and `cells`).
    pub cells_per_kg: Option<Spanned<f64>>,
    /// Total cells per administration.
    pub cells: Option<Spanned<f64>>,
    /// Number of administrations (default 1).
    pub count: Option<Spanned<i64>>,
    /// Days between administrations (required when `count` > 1).
    pub interval_days: Option<Spanned<f64>>,
    /// Day of the first administration (default 0).
    pub start_day: Option<Spanned<f64>>,
    /// Infusion length (minutes); 0 = bolus (default 0).
    pub infusion_minutes: Option<Spanned<f64>>,
}

/// `[simulation]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulationFile {
    /// Simulated time (days).
    pub duration_days: Spanned<f64>,
    /// Spacing of the time-course output (hours; default 1).
    pub output_every_hours: Option<Spanned<f64>>,
    /// Liver cell count for "days above threshold" (default 1 % of the largest dose).
    pub liver_threshold_cells: Option<Spanned<f64>>,
    /// Integrator (default `auto`).
    pub solver: Option<Spanned<Solver>>,
    /// Relative tolerance of the general integrator.
    pub rtol: Option<Spanned<f64>>,
    /// Absolute tolerance of the general integrator (fraction of the largest dose for cells).
    pub atol: Option<Spanned<f64>>,
}
