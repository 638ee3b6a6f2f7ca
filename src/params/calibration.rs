//! Base values calibrated to data, laid over the presets during resolution.
//!
//! A [`Calibration`] maps a parameter (optionally for one species) to a value and the text
//! saying how it was calibrated. `params::resolve_with` starts that parameter's derivation
//! from it instead of the preset, so the subject's factors (disease homing, donor and
//! cell-source clearance, species weight scaling) still apply on top, and a scenario's
//! `[parameters]` overrides still win. The presets carry the shipped calibration,
//! `src/presets/calibrated.toml`, which `cellpk calibrate` writes in the same format.

use std::path::Path;
use std::sync::LazyLock;

use serde::Deserialize;

use crate::error::{InputError, Location};
use crate::presets::{Choice, Species};

use super::Param;

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

/// Calibrated base values; at most one entry per parameter and species scope.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Calibration {
    entries: Vec<Entry>,
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
        Ok(calibration)
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
        entries.push(entry);
        Calibration { entries }
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
        out
    }
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
