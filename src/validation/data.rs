//! Tidy observation files: one row per observation (study, species, route, organ, time,
//! value, unit, method, optional SD or range), as a user fills them from a paper or an
//! experiment. `validation/README.md` documents the columns.
//!
//! Every row is checked on reading, and a bad row is reported with its file, line and
//! column and the fix, so that no half-understood data reach a comparison or a fit.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::{InputError, Location};
use crate::observe::Organ;
use crate::presets::choice_enum;
use crate::presets::{Choice, Route, Species};
use crate::scenario::Method;

choice_enum! {
    /// What a value is a percent of.
    pub enum Unit {
        /// Percent of the dose (cells or activity) injected so far.
        PercentInjected => "percent_injected",
        /// Percent of the same study's value in the same organ by the same method at its
        /// earliest time in the file: for data that give only a relative change.
        PercentOfFirst => "percent_of_first",
        /// The area under the organ's signal from the first administration to `time_h`,
        /// as a multiple of the control group's (`[validation] control`): for studies
        /// that report only how a disease changed exposure.
        FoldAucOfControl => "fold_auc_of_control",
    }
}

/// The columns every file has, in order.
pub const COLUMNS: [&str; 13] = [
    "study", "species", "route", "organ", "time_h", "value", "unit", "method", "sd", "low", "high",
    "citation", "notes",
];

/// One observation.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Line in its file (1-based, the header being line 1).
    pub line: usize,
    /// Study identifier.
    pub study: String,
    /// Species.
    pub species: Species,
    /// Route of administration.
    pub route: Route,
    /// Organ.
    pub organ: Organ,
    /// Hours after the first administration began.
    pub time_h: f64,
    /// The value, if the row gives one (else only a range).
    pub value: Option<f64>,
    /// What the value is a percent of.
    pub unit: Unit,
    /// How it was measured.
    pub method: Method,
    /// Standard deviation, in the unit of the value.
    pub sd: Option<f64>,
    /// Range (low, high), in the unit of the value.
    pub range: Option<(f64, f64)>,
    /// Where it was read.
    pub citation: String,
}

impl Observation {
    /// Whether the row is the reference of its `percent_of_first` series (100 by
    /// definition, so it says nothing about the model).
    pub fn is_reference(&self, all: &[&Observation]) -> bool {
        self.unit == Unit::PercentOfFirst && self.time_h == first_time(self, all)
    }
}

/// The earliest time of `o`'s series: same study, organ and method, in either unit. A row
/// in `percent_injected` can be the reference of a `percent_of_first` series (in
/// `toma2009_rat_ia`, 14 % at 72 h is of the 92 % arrested at 0 h): filtering on the unit
/// would make such a row its own reference, 100 by definition, and drop it unseen.
pub fn first_time(o: &Observation, all: &[&Observation]) -> f64 {
    all.iter()
        .filter(|r| r.study == o.study && r.organ == o.organ && r.method == o.method)
        // An area's horizon is not a time point of the series.
        .filter(|r| r.unit != Unit::FoldAucOfControl)
        .map(|r| r.time_h)
        .fold(f64::INFINITY, f64::min)
}

/// A row as written: every field text, checked in `check`.
#[derive(Debug, Deserialize)]
struct Row {
    study: String,
    species: String,
    route: String,
    organ: String,
    time_h: String,
    value: String,
    unit: String,
    method: String,
    sd: String,
    low: String,
    high: String,
    citation: String,
    #[serde(rename = "notes")]
    _notes: String,
}

/// Reads every observation of a file.
pub fn read(file: &Path) -> Result<Vec<Observation>, InputError> {
    let text = std::fs::read_to_string(file).map_err(|cause| InputError::Read {
        file: file.to_path_buf(),
        cause,
    })?;
    parse(&text, file)
}

/// Parses the text of an observations file (`file` names it in messages).
pub fn parse(text: &str, file: &Path) -> Result<Vec<Observation>, InputError> {
    let at = |line: usize| Location {
        file: file.to_path_buf(),
        line: Some(line),
    };
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| syntax(file, &e))?
        .iter()
        .map(str::to_owned)
        .collect();
    if header != COLUMNS {
        return Err(InputError::Invalid {
            at: at(1),
            key: "header".into(),
            problem: format!("the columns are `{}`", header.join(",")),
            fix: format!(
                "use exactly these columns, in order: `{}`",
                COLUMNS.join(",")
            ),
        });
    }
    let mut rows = Vec::new();
    for record in reader.deserialize::<Row>() {
        let row = record.map_err(|e| syntax(file, &e))?;
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(InputError::Invalid {
            at: at(1),
            key: "rows".into(),
            problem: "the file holds no observation".into(),
            fix: "add one row per observation below the header".into(),
        });
    }
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| check(row, i + 2, &at))
        .collect()
}

fn syntax(file: &Path, e: &csv::Error) -> InputError {
    InputError::Syntax {
        file: file.to_path_buf(),
        message: format!("not a valid observations CSV: {e}"),
    }
}

/// A row's fields as typed values, or the first that is wrong.
fn check(row: Row, line: usize, at: &dyn Fn(usize) -> Location) -> Result<Observation, InputError> {
    let invalid = |key: &str, problem: String, fix: String| InputError::Invalid {
        at: at(line),
        key: key.into(),
        problem,
        fix,
    };
    fn choice<T: Choice>(
        text: &str,
        key: &str,
        invalid: &dyn Fn(&str, String, String) -> InputError,
    ) -> Result<T, InputError> {
        T::ALL
            .iter()
            .copied()
            .find(|c| c.name() == text.trim())
            .ok_or_else(|| {
                invalid(
                    key,
                    format!("unknown {key} {:?}", text.trim()),
                    format!("use one of {}", T::valid_names()),
                )
            })
    }
    let number = |text: &str, key: &str, required: bool| -> Result<Option<f64>, InputError> {
        let t = text.trim();
        if t.is_empty() {
            return if required {
                Err(invalid(
                    key,
                    "is empty".into(),
                    format!("give `{key}` a number"),
                ))
            } else {
                Ok(None)
            };
        }
        match t.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => Ok(Some(v)),
            Ok(v) => Err(invalid(
                key,
                format!("{v} is not a finite number >= 0"),
                format!("give `{key}` as a finite number >= 0 (signals cannot be negative)"),
            )),
            Err(_) => Err(invalid(
                key,
                format!("{t:?} is not a number"),
                format!("write `{key}` as a plain number, e.g. 12.5"),
            )),
        }
    };
    if row.study.trim().is_empty() {
        return Err(invalid(
            "study",
            "is empty".into(),
            "name the study the row comes from".into(),
        ));
    }
    let value = number(&row.value, "value", false)?;
    let low = number(&row.low, "low", false)?;
    let high = number(&row.high, "high", false)?;
    let range = match (low, high) {
        (None, None) => None,
        (Some(l), Some(h)) if l <= h => Some((l, h)),
        (Some(l), Some(h)) => {
            return Err(invalid(
                "low",
                format!("low {l} is above high {h}"),
                "swap `low` and `high`".into(),
            ))
        }
        _ => {
            return Err(invalid(
                "high",
                "a range needs both `low` and `high`".into(),
                "give both bounds, or neither".into(),
            ))
        }
    };
    if value.is_none() && range.is_none() {
        return Err(invalid(
            "value",
            "the row gives neither a value nor a range".into(),
            "fill `value`, or `low` and `high`".into(),
        ));
    }
    Ok(Observation {
        line,
        study: row.study.trim().to_owned(),
        species: choice(&row.species, "species", &invalid)?,
        route: choice(&row.route, "route", &invalid)?,
        organ: choice(&row.organ, "organ", &invalid)?,
        time_h: number(&row.time_h, "time_h", true)?.expect("required"),
        value,
        unit: choice(&row.unit, "unit", &invalid)?,
        method: choice(&row.method, "method", &invalid)?,
        sd: number(&row.sd, "sd", false)?,
        range,
        citation: row.citation.trim().to_owned(),
    })
}

/// The rows of `study`, or an error naming the studies the file has.
pub fn study<'a>(
    all: &'a [Observation],
    study: &str,
    file: &Path,
) -> Result<Vec<&'a Observation>, InputError> {
    let rows: Vec<_> = all.iter().filter(|o| o.study == study).collect();
    if rows.is_empty() {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for o in all {
            *counts.entry(&o.study).or_default() += 1;
        }
        let mut names: Vec<_> = counts.keys().copied().collect();
        names.sort_unstable();
        return Err(InputError::Invalid {
            at: Location {
                file: file.to_path_buf(),
                line: None,
            },
            key: "study".into(),
            problem: format!("no row has study {study:?}"),
            fix: format!("use one of the file's studies: {}", names.join(", ")),
        });
    }
    Ok(rows)
}
