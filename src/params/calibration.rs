//! Base values calibrated to data, laid over the presets during resolution.
//!
//! A [`Calibration`] maps a parameter (optionally for one species) to a value and the text
//! saying how it was calibrated. `params::resolve_with` starts that parameter's derivation
//! from it instead of the preset, so the subject's factors (disease homing, donor and
//! cell-source clearance, species weight scaling) still apply on top, and a scenario's
//! `[parameters]` overrides still win. The presets carry the shipped calibration,
//! `src/presets/calibrated.toml`, which `cellpk calibrate` writes in the same format.
//!
//! A calibration may also carry the joint [`Covariance`] of its estimates on the scale the
//! fit searched ([`Scale`]: ln of the per-pass hazard for a fraction, ln of the value
//! otherwise), the Laplace approximation of the posterior; `[variability]`'s `calibrated`
//! distribution draws from it.

use std::path::Path;
use std::sync::LazyLock;

use serde::Deserialize;

use crate::error::{InputError, Location};
use crate::numerics::cholesky;
use crate::presets::{Choice, Species};

use super::{Kind, Param};

/// The shipped calibration's text (embedded, so that a binary needs no data files).
const SHIPPED_TEXT: &str = include_str!("../presets/calibrated.toml");

/// Where the shipped calibration lives, for messages.
pub const SHIPPED_FILE: &str = "src/presets/calibrated.toml";

static SHIPPED: LazyLock<Calibration> = LazyLock::new(|| {
    Calibration::parse(SHIPPED_TEXT, Path::new(SHIPPED_FILE))
        .unwrap_or_else(|e| panic!("the shipped calibration is checked by a test: {e}"))
});

/// One calibrated base value.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The parameter.
    pub param: Param,
    /// The species it applies to (`None`: every species without an entry of its own).
    pub species: Option<Species>,
    /// The base value, in the parameter's unit.
    pub value: f64,
    /// How it was calibrated (starts the parameter's source text).
    pub source: String,
}

/// The scale on which a calibration searches and states its covariance: on it the prior
/// is normal and every value is admitted, so a normal distribution there needs no bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// ln x, for a positive value.
    Ln,
    /// ln h with h = -ln(1 - E) the per-pass hazard of a fraction E, which maps (0, 1)
    /// onto the real line (and on which disease homing multiplies).
    LnHazard,
}

impl Scale {
    /// The scale of `param`: the hazard's for a fraction, else the value's.
    pub fn of(param: Param) -> Scale {
        if param.kind() == Kind::Fraction {
            Scale::LnHazard
        } else {
            Scale::Ln
        }
    }

    /// The coordinate of a value on this scale.
    pub fn to_fit(self, x: f64) -> f64 {
        match self {
            Scale::Ln => x.ln(),
            Scale::LnHazard => (-(-x).ln_1p()).ln(),
        }
    }

    /// The value at a coordinate (the inverse of `to_fit`).
    pub fn to_natural(self, u: f64) -> f64 {
        match self {
            Scale::Ln => u.exp(),
            Scale::LnHazard => -(-u.exp()).exp_m1(),
        }
    }

    /// d value / d u at `u`, for standard errors by the delta method.
    pub fn slope(self, u: f64) -> f64 {
        let h = u.exp();
        match self {
            Scale::Ln => h,
            Scale::LnHazard => h * (-h).exp(),
        }
    }

    /// The name written in a calibration file.
    pub fn name(self) -> &'static str {
        match self {
            Scale::Ln => "ln_value",
            Scale::LnHazard => "ln_hazard",
        }
    }

    /// In words, for reports and messages.
    pub fn describe(self) -> &'static str {
        match self {
            Scale::Ln => "ln x",
            Scale::LnHazard => "ln(-ln(1 - E)), ln of the per-pass hazard",
        }
    }
}

/// The joint covariance of a calibration's estimates on their fit [`Scale`]s: the inverse
/// of J^T J of the residuals (data and priors, each in SD units) at the estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct Covariance {
    /// The estimates it is of, each a parameter and the species scope of its entry.
    pub parameters: Vec<(Param, Option<Species>)>,
    /// `parameters.len()` squared, row by row; symmetric, positive definite.
    pub matrix: Vec<f64>,
}

impl Covariance {
    /// The position of the entry of `param` with scope `species`.
    pub fn index(&self, param: Param, species: Option<Species>) -> Option<usize> {
        self.parameters
            .iter()
            .position(|&(p, s)| p == param && s == species)
    }

    /// The covariance of positions `i` and `k`.
    pub fn get(&self, i: usize, k: usize) -> f64 {
        self.matrix[i * self.parameters.len() + k]
    }
}

/// `[species:]name`, as `--free` and the covariance's `parameters` write an entry's scope.
pub fn label(param: Param, species: Option<Species>) -> String {
    match species {
        Some(s) => format!("{}:{}", s.name(), param.name()),
        None => param.name().to_owned(),
    }
}

/// Calibrated base values; at most one entry per parameter and species scope.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Calibration {
    entries: Vec<Entry>,
    covariance: Option<Covariance>,
}

/// Why a parameter's base value cannot be calibrated: its preset is per kilogram of body
/// weight (or a share of a per-kg volume), so a value in the parameter's unit has no
/// place to replace in the derivation.
pub fn not_calibratable(param: Param) -> Option<&'static str> {
    match param {
        Param::VenousVolume | Param::ArterialVolume => {
            Some("its preset is blood volume per kg body weight, not a volume")
        }
        Param::NicheCapacity | Param::SignalHalfMax | Param::AntigenHalfMax => {
            Some("its preset is per kg body weight, not a count of cells")
        }
        _ => None,
    }
}

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    parameter: Vec<RawEntry>,
    covariance: Option<RawCovariance>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCovariance {
    parameters: Vec<String>,
    scales: Vec<String>,
    matrix: Vec<Vec<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    name: String,
    species: Option<String>,
    value: f64,
    source: String,
}

impl Calibration {
    /// No calibrated value: every parameter starts from its preset.
    pub fn none() -> Calibration {
        Calibration::default()
    }

    /// The calibration the presets ship with (`src/presets/calibrated.toml`).
    pub fn shipped() -> &'static Calibration {
        &SHIPPED
    }

    /// Parses a calibration file's text (`file` names it in messages).
    pub fn parse(text: &str, file: &Path) -> Result<Calibration, InputError> {
        let raw: File = toml::from_str(text).map_err(|e| InputError::Syntax {
            file: file.to_path_buf(),
            message: format!("not a valid calibration file: {e}"),
        })?;
        let mut calibration = Calibration::none();
        for (i, r) in raw.parameter.into_iter().enumerate() {
            let invalid = |key: &str, problem: String, fix: String| InputError::Invalid {
                at: Location {
                    file: file.to_path_buf(),
                    line: None,
                },
                key: format!("parameter[{i}].{key}"),
                problem,
                fix,
            };
            let param = Param::from_name(&r.name).ok_or_else(|| {
                invalid(
                    "name",
                    format!("no parameter is named {:?}", r.name),
                    "run `cellpk params SCENARIO` to list the parameters".into(),
                )
            })?;
            if let Some(why) = not_calibratable(param) {
                return Err(invalid(
                    "name",
                    format!("{} cannot be calibrated: {why}", r.name),
                    "remove the entry".into(),
                ));
            }
            let species = match &r.species {
                None => None,
                Some(name) => Some(
                    Species::ALL
                        .iter()
                        .copied()
                        .find(|s| s.name() == name)
                        .ok_or_else(|| {
                            invalid(
                                "species",
                                format!("unknown species {name:?}"),
                                format!(
                                    "use one of {}, or leave `species` out",
                                    Species::valid_names()
                                ),
                            )
                        })?,
                ),
            };
            if !param.kind().admits(r.value) {
                return Err(invalid(
                    "value",
                    format!("{} is not {}", r.value, param.kind().range()),
                    format!("give {} a value in range ({})", r.name, param.unit()),
                ));
            }
            if r.source.trim().is_empty() {
                return Err(invalid(
                    "source",
                    "is empty".into(),
                    "say how the value was calibrated (cases, prior, preset)".into(),
                ));
            }
            if calibration.scoped(param, species).is_some() {
                return Err(invalid(
                    "name",
                    format!("{} is calibrated twice for the same species scope", r.name),
                    "keep one entry per parameter and species".into(),
                ));
            }
            calibration.entries.push(Entry {
                param,
                species,
                value: r.value,
                source: r.source.trim().to_owned(),
            });
        }
        if let Some(raw) = raw.covariance {
            calibration.covariance = Some(covariance(&calibration, raw, file)?);
        }
        Ok(calibration)
    }

    /// The joint covariance of the estimates on their fit scales, if the calibration that
    /// wrote the file stated one.
    pub fn covariance(&self) -> Option<&Covariance> {
        self.covariance.as_ref()
    }

    /// This calibration with `covariance` (of entries it has) in place of its own.
    pub fn with_covariance(mut self, covariance: Covariance) -> Calibration {
        debug_assert!(covariance
            .parameters
            .iter()
            .all(|&(p, s)| self.scoped(p, s).is_some()));
        self.covariance = Some(covariance);
        self
    }

    /// Every entry, in file order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry that applies to `param` for `species`: the species' own, else the one for
    /// every species.
    pub fn get(&self, param: Param, species: Species) -> Option<&Entry> {
        self.scoped(param, Some(species))
            .or_else(|| self.scoped(param, None))
    }

    fn scoped(&self, param: Param, species: Option<Species>) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.param == param && e.species == species)
    }

    /// This calibration with `entry` added, replacing an entry of the same parameter and
    /// species scope.
    pub fn with(&self, entry: Entry) -> Calibration {
        let mut entries: Vec<Entry> = self
            .entries
            .iter()
            .filter(|e| !(e.param == entry.param && e.species == entry.species))
            .cloned()
            .collect();
        // The covariance was of the value replaced: it no longer describes the entries.
        let covariance = self
            .covariance
            .clone()
            .filter(|c| c.index(entry.param, entry.species).is_none());
        entries.push(entry);
        Calibration {
            entries,
            covariance,
        }
    }

    /// The calibration as a file `parse` reads, after `header` (comment lines, each
    /// without its `#`).
    pub fn to_toml(&self, header: &[String]) -> String {
        let mut out: String = header.iter().map(|l| format!("# {l}\n")).collect();
        for e in &self.entries {
            out.push_str("\n[[parameter]]\n");
            out.push_str(&format!("name = {}\n", quoted(e.param.name())));
            if let Some(s) = e.species {
                out.push_str(&format!("species = {}\n", quoted(s.name())));
            }
            // `{:?}` prints the shortest text that reads back as the same f64.
            out.push_str(&format!("value = {:?}\n", e.value));
            out.push_str(&format!("source = {}\n", quoted(&e.source)));
        }
        if let Some(c) = &self.covariance {
            let n = c.parameters.len();
            out.push_str(
                "\n# The joint covariance of the estimates (Laplace approximation, (J^T J)^-1 of\n\
                 # the residuals and priors in SD units), on the scale the fit searched:\n\
                 # `ln_hazard` is ln(-ln(1 - E)) of a fraction E, `ln_value` is ln x. Rows and\n\
                 # columns in the order of `parameters` ([species:]name, as `--free` writes them).\n\
                 [covariance]\n",
            );
            let list = |items: Vec<String>| {
                items
                    .iter()
                    .map(|i| quoted(i))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            out.push_str(&format!(
                "parameters = [{}]\n",
                list(c.parameters.iter().map(|&(p, s)| label(p, s)).collect())
            ));
            out.push_str(&format!(
                "scales = [{}]\n",
                list(
                    c.parameters
                        .iter()
                        .map(|&(p, _)| Scale::of(p).name().to_owned())
                        .collect()
                )
            ));
            out.push_str("matrix = [\n");
            for i in 0..n {
                let row: Vec<String> = (0..n).map(|k| format!("{:?}", c.get(i, k))).collect();
                out.push_str(&format!("    [{}],\n", row.join(", ")));
            }
            out.push_str("]\n");
        }
        out
    }
}

/// Smallest pivot of a covariance's Cholesky factor, relative to its diagonal entry:
/// below it the matrix is singular to rounding.
const MIN_RELATIVE_PIVOT: f64 = 1e-12;

/// The `[covariance]` table, checked against the entries of `calibration`.
fn covariance(
    calibration: &Calibration,
    raw: RawCovariance,
    file: &Path,
) -> Result<Covariance, InputError> {
    let invalid = |key: &str, problem: String, fix: &str| InputError::Invalid {
        at: Location {
            file: file.to_path_buf(),
            line: None,
        },
        key: format!("covariance.{key}"),
        problem,
        fix: fix.to_owned(),
    };
    let n = raw.parameters.len();
    let mut parameters = Vec::with_capacity(n);
    for (i, l) in raw.parameters.iter().enumerate() {
        let (species, name) = match l.split_once(':') {
            Some((s, n)) => (Species::ALL.iter().copied().find(|c| c.name() == s), n),
            None => (None, l.as_str()),
        };
        let found = Param::from_name(name)
            .filter(|&p| calibration.scoped(p, species).is_some())
            .filter(|_| !l.contains(':') || species.is_some());
        let Some(param) = found else {
            return Err(invalid(
                &format!("parameters[{i}]"),
                format!("{l:?} is no `[[parameter]]` entry of the file"),
                "name each estimate as `[species:]name` of an entry",
            ));
        };
        if parameters.contains(&(param, species)) {
            return Err(invalid(
                &format!("parameters[{i}]"),
                format!("{l:?} is named twice"),
                "name each estimate once",
            ));
        }
        parameters.push((param, species));
    }
    let scales: Vec<&str> = parameters
        .iter()
        .map(|&(p, _)| Scale::of(p).name())
        .collect();
    if raw.scales != scales {
        return Err(invalid(
            "scales",
            format!(
                "{:?} are not the fit's scales of the parameters",
                raw.scales
            ),
            &format!("write `scales = {scales:?}` (a fraction's is its hazard's)"),
        ));
    }
    let square = raw.matrix.len() == n && raw.matrix.iter().all(|r| r.len() == n);
    if !square {
        return Err(invalid(
            "matrix",
            format!("is not {n} rows of {n} numbers"),
            "give one row and one column per name of `parameters`",
        ));
    }
    let matrix: Vec<f64> = raw.matrix.concat();
    let symmetric = (0..n).all(|i| {
        (0..n).all(|k| {
            let (a, b) = (matrix[i * n + k], matrix[k * n + i]);
            a.is_finite() && (a - b).abs() <= 1e-12 * (a.abs() + b.abs())
        })
    });
    if !symmetric {
        return Err(invalid(
            "matrix",
            "is not a finite symmetric matrix".into(),
            "write the covariance `cellpk calibrate` wrote",
        ));
    }
    cholesky::lower(&matrix, n, MIN_RELATIVE_PIVOT).map_err(|row| {
        invalid(
            "matrix",
            format!(
                "is not positive definite (it fails at {:?})",
                raw.parameters[row]
            ),
            "write the covariance `cellpk calibrate` wrote",
        )
    })?;
    Ok(Covariance { parameters, matrix })
}

/// A TOML basic string.
fn quoted(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Calibration, InputError> {
        Calibration::parse(text, Path::new("calibrated.toml"))
    }

    #[test]
    fn the_shipped_calibration_parses_and_says_it_was_calibrated() {
        for e in Calibration::shipped().entries() {
            assert!(
                e.source.starts_with("calibrated: cases "),
                "{}: {}",
                e.param.name(),
                e.source
            );
        }
    }

    #[test]
    fn a_file_round_trips_and_species_entries_win() {
        let c = Calibration::none()
            .with(Entry {
                param: Param::LungExtraction,
                species: None,
                value: 0.8,
                source: "calibrated: cases a, b; \"quoted\"".into(),
            })
            .with(Entry {
                param: Param::LungExtraction,
                species: Some(Species::Human),
                value: 0.1 + 0.2,
                source: "calibrated: case c".into(),
            });
        let text = c.to_toml(&["written by a test".into()]);
        let back = parse(&text).expect("reads back");
        assert_eq!(back, c);
        assert_eq!(
            back.get(Param::LungExtraction, Species::Human)
                .map(|e| e.value),
            Some(0.1 + 0.2)
        );
        assert_eq!(
            back.get(Param::LungExtraction, Species::Mouse)
                .map(|e| e.value),
            Some(0.8)
        );
        assert!(back.get(Param::LiverExtraction, Species::Mouse).is_none());
    }

    #[test]
    fn a_covariance_round_trips_and_a_bad_one_is_refused() {
        let c = Calibration::none()
            .with(Entry {
                param: Param::LungExtraction,
                species: Some(Species::Rat),
                value: 0.6,
                source: "calibrated: case a".into(),
            })
            .with(Entry {
                param: Param::LungDeath,
                species: None,
                value: 0.01,
                source: "calibrated: case a".into(),
            })
            .with_covariance(Covariance {
                parameters: vec![
                    (Param::LungExtraction, Some(Species::Rat)),
                    (Param::LungDeath, None),
                ],
                matrix: vec![0.09, -0.1 / 3.0, -0.1 / 3.0, 0.25],
            });
        let text = c.to_toml(&[]);
        assert!(
            text.contains("scales = [\"ln_hazard\", \"ln_value\"]"),
            "{text}"
        );
        assert_eq!(parse(&text).expect("reads back"), c);
        // A new value of an entry leaves the covariance, which was of the old one.
        let moved = c.with(Entry {
            param: Param::LungDeath,
            species: None,
            value: 0.02,
            source: "calibrated: case b".into(),
        });
        assert!(moved.covariance().is_none());
        for (from, to, expected) in [
            (
                "\"rat:lung.extraction\", \"lung",
                "\"mouse:lung.extraction\", \"lung",
                "is no `[[parameter]]` entry",
            ),
            (
                "\"ln_hazard\", \"ln_value\"",
                "\"ln_value\", \"ln_value\"",
                "are not the fit's scales",
            ),
            ("0.25]", "0.25, 1]", "is not 2 rows of 2 numbers"),
            ("[0.09, ", "[0.001, ", "is not positive definite"),
            ("[0.09, -0.03333333333333333]", "[0.09, 0.03]", "symmetric"),
        ] {
            let bad = text.replacen(from, to, 1);
            assert_ne!(bad, text, "{from}");
            let err = parse(&bad).expect_err(expected).to_string();
            assert!(
                err.contains(expected) && err.contains("covariance."),
                "{err}"
            );
        }
    }

    #[test]
    fn bad_entries_are_refused_with_the_key_named() {
        let entry = |name: &str, species: &str, value: &str| {
            format!("[[parameter]]\nname = \"{name}\"\n{species}value = {value}\nsource = \"s\"\n")
        };
        for (text, expected) in [
            (entry("liver.extracton", "", "0.5"), "no parameter is named"),
            (entry("liver.extraction", "", "1.5"), "is not a fraction"),
            (
                entry("liver.extraction", "species = \"cat\"\n", "0.5"),
                "unknown species",
            ),
            (
                entry("circulation.venous_volume_l", "", "3"),
                "cannot be calibrated",
            ),
            (
                entry("liver.extraction", "", "0.5") + &entry("liver.extraction", "", "0.6"),
                "calibrated twice",
            ),
            (
                "[[parameter]]\nname = \"x\"\nvalue = 1\nsource = \"s\"\nunit = \"h\"\n".into(),
                "unknown field",
            ),
        ] {
            let err = parse(&text).expect_err(expected).to_string();
            assert!(err.contains(expected), "{err}");
        }
    }
}
