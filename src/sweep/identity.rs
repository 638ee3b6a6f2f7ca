//! The identity of a resolved sweep: what a row of its CSV depends on, recorded beside the
//! CSV so that `--resume` and `merge` never join rows of two different grids.
//!
//! It lives in a sidecar file (`sweep.identity` beside `sweep.csv`, `sweep.shard-K-of-N.identity`
//! beside a shard) rather than in the CSV, so that the CSV stays a plain table that pandas
//! and R read without options. The sidecar is `key = value` lines: the cellpk version and
//! [`MODEL_REVISION`], the sweep's name, its columns, each axis (path, count, ends and a
//! hash of its expanded values) and every line of the base scenario as resolved (each
//! parameter's value, the doses, the solver; not its name and description, which change no
//! number), so that a mismatch names what changed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::Sweep;
use crate::output::resolved::resolved_toml;

/// Bumped whenever the model changes the numbers a scenario gives (equations, presets,
/// metrics), so that rows computed by an older model are not joined with new ones even
/// when the crate version stays the same.
pub const MODEL_REVISION: u32 = 2;

/// The hash of every preset parameter value (`tests::preset_values_hash`) that
/// `MODEL_REVISION` was last set for: a test fails when the presets give other numbers and
/// this was not updated, which is the moment to bump `MODEL_REVISION` too.
#[cfg(test)]
const PRESET_VALUES_HASH: u64 = 0x7544_5e72_8503_eb99;

/// The identity file beside a sweep's (or a shard's) CSV: `sweep.identity`.
pub fn path_beside(csv: &Path) -> PathBuf {
    csv.with_extension("identity")
}

/// Why the rows of a CSV cannot be taken as rows of the sweep as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// No identity file beside the CSV (its path).
    Missing(PathBuf),
    /// A file beside the CSV that is not an identity file cellpk wrote (its path).
    NotAnIdentity(PathBuf),
    /// The sweep changed since the rows were written: what changed, in words.
    Changed(String),
}

impl Mismatch {
    /// In words; `rows` ends "nothing says which sweep ..." for a missing file (e.g.
    /// "wrote this shard"), so that each command names what it was reading.
    pub fn why(&self, rows: &str) -> String {
        match self {
            Mismatch::Missing(path) => format!(
                "{} is missing, so nothing says which sweep {rows}",
                path.display()
            ),
            Mismatch::NotAnIdentity(path) => {
                format!("{} is not an identity file cellpk wrote", path.display())
            }
            Mismatch::Changed(why) => why.clone(),
        }
    }

    /// In words for the rows of a file that is not continued but read (a shard to merge, a
    /// CSV to plot): `what` names it, e.g. "this shard".
    pub fn since(&self, what: &str) -> String {
        match self {
            Mismatch::Changed(why) => format!("the sweep changed since {what} was written: {why}"),
            other => other.why(&format!("wrote {what}")),
        }
    }
}

/// Lines of an identity file, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    entries: Vec<(String, String)>,
}

impl Identity {
    /// The identity of `sweep`.
    pub fn of(sweep: &Sweep) -> Identity {
        let mut entries = vec![
            ("cellpk".to_string(), env!("CARGO_PKG_VERSION").to_string()),
            ("model_revision".to_string(), MODEL_REVISION.to_string()),
            ("name".to_string(), sweep.name.clone()),
            ("columns".to_string(), sweep.header()),
        ];
        for (i, axis) in sweep.axes.iter().enumerate() {
            let values: Vec<String> = axis.values.iter().map(ToString::to_string).collect();
            let text = values.join("\n");
            entries.push((
                format!("axis[{}]", i + 1),
                format!(
                    "{} ({} values, {} .. {}, hash {:016x})",
                    axis.path,
                    values.len(),
                    values.first().map_or("", String::as_str),
                    values.last().map_or("", String::as_str),
                    fnv1a(text.as_bytes())
                ),
            ));
        }
        if let (Some(p), Some(v)) = (&sweep.population, &sweep.base.variability) {
            // The subjects: how many, their seed and distributions (at the base's centres;
            // the presets behind the centres are `model_revision`'s), and the targets.
            let mut push = |key: String, value: String| entries.push((key, value));
            push("population.n".into(), p.n.to_string());
            push("population.seed".into(), v.seed.to_string());
            for d in &v.draws {
                push(
                    format!("population.variability.{}", d.param.name()),
                    format!(
                        "{:?}, centred on the resolved value: {}",
                        d.distribution, d.centred_on_resolved
                    ),
                );
            }
            push("population.correlation".into(), format!("{:?}", v.cholesky));
            for g in &p.goals {
                push(
                    format!("population.target.{}", g.metric.name()),
                    g.at_least.map_or("> 0".into(), |t| format!(">= {t:e}")),
                );
            }
        }
        entries.push((
            "base.body_weight_given".to_string(),
            sweep.base_weight_given.to_string(),
        ));
        let mut section = String::new();
        let mut doses = 0;
        for line in resolved_toml(&sweep.base, "the base scenario").lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line == "[[dose]]" {
                doses += 1;
                section = format!("dose[{doses}]");
            } else if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = name.to_string();
            } else if let Some((key, value)) = line.split_once(" = ") {
                let key = key.trim_matches('"');
                // The base's own name and description change no number of any row.
                if section.is_empty() && (key == "name" || key == "description") {
                    continue;
                }
                let path = if section.is_empty() {
                    format!("base.{key}")
                } else {
                    format!("base.{section}.{key}")
                };
                entries.push((path, value.to_string()));
            }
        }
        Identity { entries }
    }

    /// A short hash of every entry, to tell identities apart at a glance.
    pub fn fingerprint(&self) -> String {
        format!("{:016x}", fnv1a(self.body().as_bytes()))
    }

    fn body(&self) -> String {
        let mut out = String::new();
        for (k, v) in &self.entries {
            let _ = writeln!(out, "{k} = {v}");
        }
        out
    }

    /// The text of the identity file.
    pub fn to_text(&self) -> String {
        format!(
            "# The identity of a cellpk sweep: `cellpk sweep --resume` and `cellpk merge` join\n\
             # only rows written under the same lines. Written by cellpk; do not edit.\n\
             fingerprint = {}\n{}",
            self.fingerprint(),
            self.body()
        )
    }

    /// Reads an identity file's text; `None` when it is not one.
    pub fn parse(text: &str) -> Option<Identity> {
        let mut entries = Vec::new();
        let mut fingerprint = None;
        for line in text.lines() {
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let (k, v) = line.split_once(" = ")?;
            if k == "fingerprint" {
                fingerprint = Some(v.to_string());
            } else {
                entries.push((k.to_string(), v.to_string()));
            }
        }
        let identity = Identity { entries };
        (fingerprint? == identity.fingerprint()).then_some(identity)
    }

    /// Checks that the identity recorded beside `csv` is `self`: the one check of
    /// `--resume`, `merge` and `plot` before they take rows of `csv` as this sweep's.
    pub fn check_beside(&self, csv: &Path) -> Result<(), Mismatch> {
        let path = path_beside(csv);
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Err(Mismatch::Missing(path));
        };
        let recorded = Identity::parse(&text).ok_or(Mismatch::NotAnIdentity(path))?;
        self.changes_since(&recorded)
            .map_or(Ok(()), |why| Err(Mismatch::Changed(why)))
    }

    /// What differs from `recorded` (the identity on disk) to `self` (the sweep now), in
    /// words: `None` when they are the same.
    pub fn changes_since(&self, recorded: &Identity) -> Option<String> {
        if self == recorded {
            return None;
        }
        let get = |id: &Identity, key: &str| {
            id.entries
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let mut keys: Vec<&str> = recorded.entries.iter().map(|(k, _)| k.as_str()).collect();
        for (k, _) in &self.entries {
            if !keys.contains(&k.as_str()) {
                keys.push(k);
            }
        }
        let mut model = Vec::new();
        let mut other = Vec::new();
        let mut base = Vec::new();
        for key in keys {
            let (was, now) = (get(recorded, key), get(self, key));
            if was == now {
                continue;
            }
            let show = |v: Option<String>| v.unwrap_or_else(|| "(none)".into());
            let change = format!("{key}: {} -> {}", show(was), show(now));
            if key == "cellpk" || key == "model_revision" {
                model.push(change);
            } else if key.starts_with("base.") {
                base.push(change["base.".len()..].to_string());
            } else {
                other.push(change);
            }
        }
        let mut parts = Vec::new();
        if !model.is_empty() {
            parts.push(format!("the model version changed ({})", model.join("; ")));
        }
        parts.extend(other);
        if !base.is_empty() {
            let shown = base.len().min(3);
            parts.push(format!(
                "the base scenario changed ({}{})",
                base[..shown].join("; "),
                if base.len() > shown {
                    format!(" and {} more", base.len() - shown)
                } else {
                    String::new()
                }
            ));
        }
        Some(parts.join("; "))
    }
}

/// FNV-1a, 64 bits: stable across platforms and versions, which `std`'s hasher is not.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{self, Subject};
    use crate::presets::{CellSource, Choice, Disease, Donor, Modification, Species};

    /// The resolved value of every parameter for every subject the presets distinguish
    /// (species, disease, cell source, donor, modification; at the species' reference
    /// weight and at twice it, for the allometric scaling), with the shipped calibration.
    /// Values to 13 digits, so that a libm rounding `powf` differently in the last bit does
    /// not fail it while any change of a preset does.
    fn preset_values_hash() -> u64 {
        let mut text = String::new();
        for &species in Species::ALL {
            let reference = species.physiology().reference_weight_kg.value;
            for &disease in Disease::ALL {
                for &source in CellSource::ALL {
                    for &donor in Donor::ALL {
                        for &modification in Modification::ALL {
                            for body_weight_kg in [reference, 2.0 * reference] {
                                let subject = Subject {
                                    species,
                                    body_weight_kg,
                                    disease,
                                    source,
                                    donor,
                                    modification,
                                };
                                for (p, r) in params::resolve(&subject).iter() {
                                    let _ = writeln!(text, "{} {:.12e}", p.name(), r.value);
                                }
                            }
                        }
                    }
                }
            }
        }
        fnv1a(text.as_bytes())
    }

    #[test]
    fn model_revision_is_bumped_with_the_presets() {
        let hash = preset_values_hash();
        assert_eq!(
            hash, PRESET_VALUES_HASH,
            "the preset parameter values changed (hash {hash:#018x}, recorded \
             {PRESET_VALUES_HASH:#018x}): sweep rows computed before no longer match new ones, \
             so bump MODEL_REVISION in src/sweep/identity.rs and set PRESET_VALUES_HASH there \
             to {hash:#018x}"
        );
    }

    fn id(entries: &[(&str, &str)]) -> Identity {
        Identity {
            entries: entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn text_round_trips_and_edits_are_caught() {
        let a = id(&[("cellpk", "0.1.0"), ("axis[1]", "dose.count (3 values)")]);
        assert_eq!(Identity::parse(&a.to_text()), Some(a.clone()));
        let edited = a.to_text().replace("3 values", "4 values");
        assert_eq!(
            Identity::parse(&edited),
            None,
            "the fingerprint no longer fits"
        );
    }

    #[test]
    fn changes_name_the_key() {
        let was = id(&[
            ("model_revision", "1"),
            ("axis[1]", "dose.count (3 values)"),
            ("base.subject.disease", "\"healthy\""),
        ]);
        let now = id(&[
            ("model_revision", "2"),
            ("axis[1]", "dose.count (4 values)"),
            ("base.subject.disease", "\"acute_liver_failure\""),
        ]);
        let why = now.changes_since(&was).expect("they differ");
        assert!(
            why.contains("model version changed (model_revision: 1 -> 2)"),
            "{why}"
        );
        assert!(
            why.contains("axis[1]: dose.count (3 values) -> dose.count (4 values)"),
            "{why}"
        );
        assert!(
            why.contains("base scenario changed (subject.disease: \"healthy\" -> "),
            "{why}"
        );
        assert_eq!(was.changes_since(&was), None);
    }
}
