//! Parameter sweeps: a base scenario and axes over any of its keys; the grid is the axes'
//! Cartesian product.
//!
//! A point is computed from its index alone (mixed radix over the axes, the last axis
//! fastest), so threads work on index ranges, shards are index ranges and resuming needs
//! only the number of rows already written. Every axis path and value is checked against
//! the base scenario before any work; rules that tie values together (doses overlapping)
//! are checked per point and reported in that point's row.

pub mod axis;
mod file;
pub mod identity;
pub mod merge;
pub mod parquet;
pub mod plots;
pub mod population;
pub mod run;

use std::path::{Path, PathBuf};

use toml::Spanned;

use crate::error::InputError;
use crate::metrics::Metric;
use crate::params;
use crate::scenario::rules::{self, Violation};
use crate::scenario::{self, suggest, Checker, NotRecentred, Scenario};
use crate::scenario::{is_directory_name, MAX_NAME_LEN};
use axis::{DoseField, Target, Value};
use file::{AxisFile, PlotFile, SweepFile};
use population::{Column, Population, Stat};

/// Most points a sweep may have: at about 100 bytes a row, 10^10 points is a terabyte of CSV.
pub const MAX_POINTS: u64 = 10_000_000_000;

/// One axis of the grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// The path as written, e.g. `dose.cells_per_kg`; also its CSV column name.
    pub path: String,
    /// The key it changes.
    pub target: Target,
    /// Its values, in order.
    pub values: Vec<Value>,
    /// Whether it was given as a `logspace` (plots use a log axis).
    pub log: bool,
}

impl Axis {
    /// The axis values as numbers (NaN for names), for plot coordinates.
    pub fn numbers(&self) -> Vec<f64> {
        self.values
            .iter()
            .map(|v| match v {
                Value::Number(x) => *x,
                Value::Name(_) => f64::NAN,
            })
            .collect()
    }
}

/// What a `[[plot]]` block draws.
#[derive(Debug, Clone, PartialEq)]
pub enum PlotKind {
    /// Metric over axes `x` and `y`, one panel per value of `facet`.
    Heatmap {
        /// Axis index along x.
        x: usize,
        /// Axis index along y.
        y: usize,
        /// Axis index of the panels.
        facet: Option<usize>,
    },
    /// Metric against axis `x`, one line per value of `line`.
    Lines {
        /// Axis index along x.
        x: usize,
        /// Axis index of the lines.
        line: Option<usize>,
    },
}

/// A validated `[[plot]]` block.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotSpec {
    /// What to draw.
    pub kind: PlotKind,
    /// The metric column drawn (with `[population]`, a quantile or a share reached).
    pub column: Column,
    /// Every other axis fixed at one of its values: (axis index, value index).
    pub fixed: Vec<(usize, usize)>,
    /// Log colour scale (heatmap) or log y axis (lines).
    pub log: bool,
    /// Axis titles given in the block, each replacing the one cellpk words
    /// from the axis or metric: x, y and (heatmap) colour bar.
    pub labels: [Option<String>; 3],
}

/// A validated sweep.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// Name (output directory).
    pub name: String,
    /// The sweep file.
    pub file: PathBuf,
    /// The base scenario (values checked, cross-value rules not yet).
    pub base: Scenario,
    /// Whether the base file sets `body_weight_kg` (else a species axis takes each
    /// species' reference weight).
    base_weight_given: bool,
    /// The axes, slowest first.
    pub axes: Vec<Axis>,
    /// The metrics reported.
    pub metrics: Vec<Metric>,
    /// `[population]`: subjects at every point, or `None` for one run a point.
    pub population: Option<Population>,
    /// The metric columns: `metrics`, or their quantiles and shares with `[population]`.
    pub columns: Vec<Column>,
    /// Figures to draw.
    pub plots: Vec<PlotSpec>,
}

impl Sweep {
    /// `point,<axis paths>,<metric names>,error`.
    pub fn header(&self) -> String {
        let mut h = String::from("point");
        for a in &self.axes {
            h.push(',');
            h.push_str(&csv_field(&a.path));
        }
        for c in &self.columns {
            h.push(',');
            h.push_str(&c.name());
        }
        h.push_str(",error");
        h
    }

    /// Number of points.
    pub fn len(&self) -> u64 {
        self.axes.iter().map(|a| a.values.len() as u64).product()
    }

    /// Whether the grid is empty (never, once validated).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value index on each axis of point `index` (mixed radix, last axis fastest).
    pub fn digits(&self, mut index: u64) -> Vec<usize> {
        let mut digits = vec![0; self.axes.len()];
        for (d, axis) in digits.iter_mut().zip(&self.axes).rev() {
            let n = axis.values.len() as u64;
            *d = (index % n) as usize;
            index /= n;
        }
        digits
    }

    /// The title of a column in a figure: "Liver AUC, median of 200 subjects (cell-days)",
    /// "Share of 200 subjects with days liver above threshold >= 14 days".
    pub fn column_words(&self, column: Column) -> String {
        let n = self.population.as_ref().map_or(0, |p| p.n);
        let metric = column.metric.words();
        match column.stat {
            Stat::Value => metric,
            Stat::Quantile(k) => match crate::population::QUANTILES[k] {
                0.5 => format!("{metric}, median of {n} subjects"),
                q => format!(
                    "{metric}, {} % quantile of {n} subjects",
                    (q * 100.0).round()
                ),
            },
            Stat::Reached => {
                let goal = self
                    .population
                    .iter()
                    .flat_map(|p| &p.goals)
                    .find(|g| g.metric == column.metric)
                    .expect("a reached column has its goal");
                format!("Share of {n} subjects with {}", goal.words())
            }
        }
    }

    /// The scenario of point `index`, or the rule its combination of values breaks.
    pub fn scenario(&self, index: u64) -> Result<Scenario, Violation> {
        self.scenario_from(&self.base, &self.digits(index))
    }

    /// The scenario of the point with axis value indices `digits` (see `digits`), starting
    /// from `base`, a copy of the sweep's base scenario: each thread of a run clones its own
    /// (`Scenario::unshared`), so that the threads do not contend on the reference count of
    /// one shared parameter table at every point.
    pub fn scenario_from(&self, base: &Scenario, digits: &[usize]) -> Result<Scenario, Violation> {
        let mut s = base.clone();
        let mut new_model = false;
        let mut weight_set = false;
        for (axis, &k) in self.axes.iter().zip(digits) {
            let target = axis.target;
            if matches!(target, Target::Parameter(_)) {
                continue;
            }
            axis::apply(&mut s, target, &axis.values[k]);
            new_model |= target.changes_model();
            weight_set |= target == Target::BodyWeight;
        }
        if new_model {
            if !self.base_weight_given && !weight_set {
                s.subject.body_weight_kg = s.subject.species.physiology().reference_weight_kg.value;
            }
            s.parameters = params::resolve(&s.subject);
            for &(p, v) in &s.overrides {
                s.parameters.set(p, v);
            }
            if let (Some(_), Some(v)) = (&self.population, &s.variability) {
                let recentred = v.recentred(&s.parameters, &s.subject);
                s.variability = Some(recentred.map_err(|why| not_recentred(why, &s))?);
            }
        }
        for (axis, &k) in self.axes.iter().zip(digits) {
            if let Target::Parameter(_) = axis.target {
                axis::apply(&mut s, axis.target, &axis.values[k]);
            }
        }
        rules::check(&s)?;
        Ok(s)
    }
}

/// The rule a point breaks when its values cannot take the base's `[variability]` (an
/// axis changed the species, disease or cells): a log-normal centred on the resolved value
/// of `p` meets a resolved value of 0, or a `calibrated` draw's parameter is no longer the
/// calibrated value.
fn not_recentred(why: NotRecentred, s: &Scenario) -> Violation {
    let (p, problem, fix) = match why {
        NotRecentred::NoLogNormal(p) => (
            p,
            format!(
                "its resolved value at this point, {}, is no log-normal distribution's \
                 geometric mean",
                s.parameters.get(p)
            ),
            "give the distribution a `geometric_mean` in the base scenario, or use \
             `distribution = \"normal\"`",
        ),
        NotRecentred::Physiology => {
            return Violation {
                blame: rules::Blame::Parameter(crate::params::Param::CardiacOutput),
                key: "variability.physiology".into(),
                problem: format!(
                    "this point's subject ({} in {}) is not the base scenario's, whose \
                     between-patient spreads `physiology = \"between_patient\"` drew",
                    s.subject.species, s.subject.disease
                ),
                fix: "write the distributions in the base scenario's `[variability]`, or \
                      sweep the species and liver condition in separate sweeps"
                    .into(),
            }
        }
        NotRecentred::NotCalibrated(p) => (
            p,
            format!(
                "its value at this point, {}, is not the calibrated value the base scenario \
                 draws around (`distribution = \"calibrated\"`)",
                s.parameters.get(p)
            ),
            "give the parameter a distribution of its own (`log_normal` with `cv`), or \
             sweep only subjects that take the calibrated value",
        ),
    };
    Violation {
        blame: rules::Blame::Parameter(p),
        key: format!("variability.parameters.\"{}\"", p.name()),
        problem,
        fix: fix.into(),
    }
}

/// Reads and validates a sweep file and its base scenario.
pub fn load(path: &Path) -> Result<Sweep, InputError> {
    let text = std::fs::read_to_string(path).map_err(|cause| InputError::Read {
        file: path.to_path_buf(),
        cause,
    })?;
    let raw: SweepFile = toml::from_str(&text).map_err(|e| InputError::Syntax {
        file: path.to_path_buf(),
        message: suggest::explain(&e.to_string()),
    })?;
    let c = Checker {
        file: path,
        text: &text,
    };

    let base_path = path
        .parent()
        .unwrap_or(Path::new("."))
        .join(raw.base.get_ref());
    let base_text = std::fs::read_to_string(&base_path).map_err(|cause| InputError::Read {
        file: base_path.clone(),
        cause,
    })?;
    let base = scenario::parse_values(&base_text, &base_path)?;
    let base_table: toml::Table =
        toml::from_str(&base_text).expect("the base scenario parsed above is valid TOML");
    let base_weight_given = base_table
        .get("subject")
        .and_then(|s| s.get("body_weight_kg"))
        .is_some();

    let name = match &raw.name {
        Some(n) => n.get_ref().clone(),
        None => path
            .file_stem()
            .map_or_else(|| "sweep".to_string(), |s| s.to_string_lossy().into_owned()),
    };
    if !is_directory_name(&name) {
        let span = raw.name.as_ref().map_or(0..0, Spanned::span);
        return Err(c.invalid(
            span,
            "name",
            format!("{name:?} cannot name an output directory"),
            format!("use up to {MAX_NAME_LEN} letters, digits, `_`, `-` and `.`, starting with a letter or digit"),
        ));
    }

    if raw.axis.is_empty() {
        return Err(c.invalid(
            0..0,
            "axis",
            "the sweep has no axis",
            "add `[[axis]]` blocks with `path` and `values`, `linspace` or `logspace`",
        ));
    }
    let mut axes: Vec<Axis> = Vec::new();
    let mut spans = Vec::new();
    for (i, a) in raw.axis.iter().enumerate() {
        let axis = parse_axis(&c, i, a, &base)?;
        if let Some(j) = axes.iter().position(|b| b.path == axis.path) {
            return Err(c.invalid(
                a.span(),
                format!("axis[{}].path", i + 1),
                format!("`{}` is already axis {}", axis.path, j + 1),
                "give each key one axis (list all its values there)",
            ));
        }
        check_values(&c, i, a, &axis, &base_table, &base_path)?;
        axes.push(axis);
        spans.push(a.span());
    }
    let points: u128 = axes.iter().map(|a| a.values.len() as u128).product();
    if points > u128::from(MAX_POINTS) {
        return Err(c.invalid(
            0..0,
            "axis",
            format!("the grid has {points} points, more than {MAX_POINTS}"),
            "use fewer axis values, or split the sweep into several files",
        ));
    }

    let effect_on = base.mechanisms.effect
        || axes
            .iter()
            .any(|a| a.target == Target::Mechanism(axis::Switch::Effect));
    let metrics = match &raw.output.metrics {
        None => Metric::ALL
            .iter()
            .copied()
            .filter(|m| effect_on || !m.needs_effect())
            .collect(),
        Some(names) => names
            .get_ref()
            .iter()
            .map(|n| {
                metric_by_name(n).ok_or_else(|| {
                    c.invalid(
                        names.span(),
                        "output.metrics",
                        format!("no metric `{n}`"),
                        metric_hint(n),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    if let Some(m) = metrics.iter().find(|m| m.needs_effect() && !effect_on) {
        return Err(c.invalid(
            raw.output.metrics.as_ref().map_or(0..0, Spanned::span),
            "output.metrics",
            format!(
                "`{}` is a metric of the effect layer, which the base scenario leaves off \
                 and no axis switches on",
                m.name()
            ),
            "add `[model]` with `effect = true` to the base scenario, or drop the metric",
        ));
    }
    let population = match &raw.population {
        Some(p) => {
            let spanned: Vec<_> = axes.iter().cloned().zip(spans).collect();
            Some(population::parse(&c, p, &base, &spanned, &metrics)?)
        }
        None => None,
    };
    let columns = population::columns(&metrics, population.as_ref());
    let plots = raw
        .plot
        .iter()
        .enumerate()
        .map(|(i, p)| parse_plot(&c, i, p, &axes, &columns))
        .collect::<Result<Vec<_>, _>>()?;

    Ok(Sweep {
        name,
        file: path.to_path_buf(),
        base,
        base_weight_given,
        axes,
        metrics,
        population,
        columns,
        plots,
    })
}

/// The metric with this column name.
pub fn metric_by_name(name: &str) -> Option<Metric> {
    Metric::ALL.iter().copied().find(|m| m.name() == name)
}

fn metric_hint(name: &str) -> String {
    let names = Metric::ALL.iter().map(|m| m.name());
    suggest::did_you_mean(&suggest::nearest(name, names.clone())).unwrap_or_else(|| {
        format!(
            "choose from {}",
            names
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

fn parse_axis(
    c: &Checker,
    i: usize,
    a: &Spanned<AxisFile>,
    base: &Scenario,
) -> Result<Axis, InputError> {
    let raw = a.get_ref();
    let key = |field: &str| format!("axis[{}].{field}", i + 1);
    let path = raw.path.get_ref().clone();
    let blocks = base.doses.len();
    let target = Target::parse(&path, blocks).ok_or_else(|| {
        let paths = Target::all_paths(blocks);
        let hint =
            suggest::did_you_mean(&suggest::nearest(&path, paths.iter().map(String::as_str)))
                .unwrap_or_else(|| {
                    "use a scenario key such as `dose.cells_per_kg`, `dose[1].interval_days`, \
                 `subject.disease` or `parameters.\"lung.extraction\"`"
                        .into()
                });
        c.invalid(
            raw.path.span(),
            key("path"),
            format!("`{path}` is not a key this sweep can vary"),
            hint,
        )
    })?;
    let (values, log) = match (&raw.values, &raw.linspace, &raw.logspace) {
        (Some(v), None, None) => (explicit_values(c, &key("values"), v, target)?, false),
        (None, Some(r), None) => (range_values(c, &key("linspace"), r, target, false)?, false),
        (None, None, Some(r)) => (range_values(c, &key("logspace"), r, target, true)?, true),
        _ => {
            return Err(c.invalid(
                a.span(),
                key("values"),
                "an axis needs exactly one of `values`, `linspace` and `logspace`",
                "keep one of them",
            ))
        }
    };
    Ok(Axis {
        path,
        target,
        values,
        log,
    })
}

fn explicit_values(
    c: &Checker,
    key: &str,
    raw: &Spanned<Vec<toml::Value>>,
    target: Target,
) -> Result<Vec<Value>, InputError> {
    if raw.get_ref().is_empty() {
        return Err(c.invalid(
            raw.span(),
            key,
            "the axis has no values",
            "list at least one value",
        ));
    }
    let mut values = Vec::new();
    for v in raw.get_ref() {
        let value = match (v, target.takes_names()) {
            (toml::Value::Boolean(b), true) if matches!(target, Target::Mechanism(_)) => {
                Value::Name(b.to_string())
            }
            (toml::Value::String(s), true) if !matches!(target, Target::Mechanism(_)) => {
                Value::Name(s.clone())
            }
            (toml::Value::Integer(n), false) => Value::Number(*n as f64),
            (toml::Value::Float(x), false) if !target.takes_integers() => Value::Number(*x),
            (toml::Value::Float(x), false) if x.fract() == 0.0 => Value::Number(*x),
            (other, names) => {
                let wanted = if names {
                    format!("one of {}", target.valid_names().unwrap_or_default())
                } else if target.takes_integers() {
                    "a whole number".into()
                } else {
                    "a number".into()
                };
                return Err(c.invalid(
                    raw.span(),
                    key,
                    format!("{other} is not {wanted}"),
                    format!("give values that are {wanted}"),
                ));
            }
        };
        if values.contains(&value) {
            return Err(c.invalid(
                raw.span(),
                key,
                format!("{value} is listed twice"),
                "list each value once",
            ));
        }
        values.push(value);
    }
    Ok(values)
}

fn range_values(
    c: &Checker,
    key: &str,
    raw: &Spanned<file::RangeFile>,
    target: Target,
    log: bool,
) -> Result<Vec<Value>, InputError> {
    let r = raw.get_ref();
    let problem = if target.takes_names() {
        Some("a range cannot give names: list them in `values`".to_string())
    } else if !(r.from.is_finite() && r.to.is_finite()) {
        Some("`from` and `to` must be finite numbers".into())
    } else if log && (r.from <= 0.0 || r.to <= 0.0) {
        Some(format!(
            "a logspace needs `from` and `to` > 0 (got {} and {})",
            r.from, r.to
        ))
    } else if !(1..=1_000_000).contains(&r.steps) {
        Some(format!("{} steps is not from 1 to 1000000", r.steps))
    } else if r.steps == 1 && r.from != r.to {
        Some("one step cannot span from `from` to a different `to`".into())
    } else {
        None
    };
    if let Some(problem) = problem {
        return Err(c.invalid(
            raw.span(),
            key,
            problem,
            "write `{ from = A, to = B, steps = N }`",
        ));
    }
    let n = r.steps as usize;
    // Each value from its index (never an accumulated step); the ends are exact.
    let value = |i: usize| {
        if i + 1 == n {
            return r.to;
        }
        let f = i as f64 / (n - 1).max(1) as f64;
        if i == 0 {
            r.from
        } else if log {
            // In decades, so that a grid through 1e6 holds 1e6 exactly.
            10f64.powf(r.from.log10() + f * (r.to.log10() - r.from.log10()))
        } else {
            r.from + f * (r.to - r.from)
        }
    };
    let values: Vec<f64> = (0..n).map(value).collect();
    if target.takes_integers() && values.iter().any(|v| v.fract() != 0.0) {
        return Err(c.invalid(
            raw.span(),
            key,
            "the range gives values that are not whole numbers",
            "choose `from`, `to` and `steps` that give whole numbers, or list `values`",
        ));
    }
    Ok(values.into_iter().map(Value::Number).collect())
}

/// Checks each value of an axis in the base scenario's file, with the scenario's own
/// single-value rules (ranges, choices); rules that tie values together wait for the
/// points. An error about a different key belongs to the combination, not the value.
fn check_values(
    c: &Checker,
    i: usize,
    a: &Spanned<AxisFile>,
    axis: &Axis,
    base: &toml::Table,
    base_path: &Path,
) -> Result<(), InputError> {
    for value in &axis.values {
        let mut table = base.clone();
        write_value(&mut table, axis.target, value);
        let text = toml::to_string(&table).expect("a TOML table serialises");
        let err = match scenario::parse_values(&text, base_path) {
            Ok(_) => continue,
            Err(e) => e,
        };
        let (own, problem, fix) = match &err {
            InputError::Invalid {
                key, problem, fix, ..
            } => (
                concerns(key, axis.target),
                format!("{key}: {problem}"),
                fix.clone(),
            ),
            InputError::Syntax { message, .. } => (
                true,
                message.lines().last().unwrap_or_default().to_string(),
                match axis.target.valid_names() {
                    Some(names) => format!("use one of {names}"),
                    None => "give a valid value".to_string(),
                },
            ),
            other => (true, other.to_string(), String::new()),
        };
        if own {
            return Err(c.invalid(
                a.span(),
                format!("axis[{}] ({})", i + 1, axis.path),
                format!("value {value} is invalid in the base scenario: {problem}"),
                fix,
            ));
        }
    }
    Ok(())
}

/// Whether a scenario error about `key` is about the value of `target`.
fn concerns(key: &str, target: Target) -> bool {
    match target {
        Target::Dose(_, f) => key.ends_with(&format!(".{}", f.name())),
        Target::Parameter(p) => key.contains(p.name()),
        Target::Species | Target::BodyWeight | Target::Disease => key.starts_with("subject."),
        Target::Source | Target::Donor | Target::Modification => key.starts_with("cells."),
        Target::Duration => key == "simulation.duration_days",
        Target::LiverThreshold => key == "simulation.liver_threshold_cells",
        Target::Solver => key == "simulation.solver",
        Target::Rtol => key == "simulation.rtol",
        Target::Atol => key == "simulation.atol",
        Target::Mechanism(m) => key == format!("model.{}", m.name()),
    }
}

/// Writes a value into a scenario's TOML table at the target's key.
fn write_value(table: &mut toml::Table, target: Target, value: &Value) {
    let v = value.to_toml(target);
    let mut set = |section: &str, key: &str| {
        let entry = table
            .entry(section.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let Some(t) = entry.as_table_mut() {
            t.insert(key.to_string(), v.clone());
        }
    };
    match target {
        Target::Species => set("subject", "species"),
        Target::BodyWeight => set("subject", "body_weight_kg"),
        Target::Disease => set("subject", "disease"),
        Target::Source => set("cells", "source"),
        Target::Donor => set("cells", "donor"),
        Target::Modification => set("cells", "modification"),
        Target::Duration => set("simulation", "duration_days"),
        Target::LiverThreshold => set("simulation", "liver_threshold_cells"),
        Target::Solver => set("simulation", "solver"),
        Target::Rtol => set("simulation", "rtol"),
        Target::Atol => set("simulation", "atol"),
        Target::Mechanism(m) => set("model", m.name()),
        Target::Parameter(p) => set("parameters", p.name()),
        Target::Dose(block, field) => {
            let Some(toml::Value::Array(blocks)) = table.get_mut("dose") else {
                return;
            };
            for (b, d) in blocks.iter_mut().enumerate() {
                if block.is_some_and(|i| i != b) {
                    continue;
                }
                if let Some(d) = d.as_table_mut() {
                    match field {
                        DoseField::CellsPerKg => {
                            d.remove("cells");
                        }
                        DoseField::Cells => {
                            d.remove("cells_per_kg");
                        }
                        _ => {}
                    }
                    d.insert(field.name().to_string(), v.clone());
                }
            }
        }
    }
}

fn axis_index(
    c: &Checker,
    axes: &[Axis],
    key: &str,
    path: &Spanned<String>,
) -> Result<usize, InputError> {
    axes.iter()
        .position(|a| &a.path == path.get_ref())
        .ok_or_else(|| {
            let names: Vec<&str> = axes.iter().map(|a| a.path.as_str()).collect();
            c.invalid(
                path.span(),
                key,
                format!("`{}` is not an axis of this sweep", path.get_ref()),
                suggest::did_you_mean(&suggest::nearest(path.get_ref(), names.iter().copied()))
                    .unwrap_or_else(|| format!("use one of the axes: {}", names.join(", "))),
            )
        })
}

fn parse_plot(
    c: &Checker,
    i: usize,
    p: &Spanned<PlotFile>,
    axes: &[Axis],
    columns: &[Column],
) -> Result<PlotSpec, InputError> {
    let raw = p.get_ref();
    let key = |field: &str| format!("plot[{}].{field}", i + 1);
    let name = raw.metric.get_ref();
    let column = columns
        .iter()
        .copied()
        .find(|c| &c.name() == name)
        .ok_or_else(|| {
            let population = columns.iter().any(|c| c.stat != Stat::Value);
            let fix = match metric_by_name(name) {
                Some(m) if population && columns.iter().any(|c| c.metric == m) => format!(
                    "a population sweep reports quantiles: name one, e.g. `{name}_p50` (the \
                     median) or `{name}_p5` to `{name}_p95`"
                ),
                _ if population => {
                    "name a column of the sweep's CSV: `<metric>_p5` ... `<metric>_p95` of a \
                     metric in `[output] metrics`, or `<metric>_reached` of a target"
                        .into()
                }
                _ => "name a metric listed in `[output] metrics`".into(),
            };
            c.invalid(
                raw.metric.span(),
                key("metric"),
                format!("`{name}` is not a metric column of this sweep"),
                fix,
            )
        })?;
    let x = axis_index(c, axes, &key("x"), &raw.x)?;
    let optional = |field: &str, v: &Option<Spanned<String>>| {
        v.as_ref()
            .map(|p| axis_index(c, axes, &key(field), p))
            .transpose()
    };
    let kind = match raw.kind.get_ref().as_str() {
        "heatmap" => {
            let y = raw.y.as_ref().ok_or_else(|| {
                c.invalid(
                    p.span(),
                    key("y"),
                    "a heatmap needs a `y` axis",
                    "add `y = \"<axis path>\"`",
                )
            })?;
            PlotKind::Heatmap {
                x,
                y: axis_index(c, axes, &key("y"), y)?,
                facet: optional("facet", &raw.facet)?,
            }
        }
        "lines" => PlotKind::Lines {
            x,
            line: optional("line", &raw.line)?,
        },
        other => {
            return Err(c.invalid(
                raw.kind.span(),
                key("kind"),
                format!("no plot kind `{other}`"),
                "use `heatmap` or `lines`",
            ))
        }
    };
    let numeric: Vec<usize> = match kind {
        PlotKind::Heatmap { x, y, .. } => vec![x, y],
        PlotKind::Lines { x, .. } => vec![x],
    };
    if let Some(&a) = numeric.iter().find(|&&a| axes[a].target.takes_names()) {
        return Err(c.invalid(
            p.span(),
            key("x"),
            format!(
                "axis `{}` holds names, and a plot axis needs numbers",
                axes[a].path
            ),
            "draw a name axis as `facet` (heatmap) or `line` (lines)",
        ));
    }
    if let Some(&a) = numeric.iter().find(|&&a| {
        let v = axes[a].numbers();
        v.windows(2).any(|w| w[0] >= w[1])
    }) {
        return Err(c.invalid(
            p.span(),
            key("x"),
            format!(
                "axis `{}` is drawn along a plot axis but its values are not ascending",
                axes[a].path
            ),
            "list the axis values in ascending order",
        ));
    }
    let used: Vec<usize> = match kind {
        PlotKind::Heatmap { x, y, facet } => {
            [Some(x), Some(y), facet].into_iter().flatten().collect()
        }
        PlotKind::Lines { x, line } => [Some(x), line].into_iter().flatten().collect(),
    };
    if (1..used.len()).any(|k| used[..k].contains(&used[k])) {
        return Err(c.invalid(
            p.span(),
            key("x"),
            "the plot uses one axis twice",
            "give each role its own axis",
        ));
    }
    let mut fixed = Vec::new();
    for (a, axis) in axes.iter().enumerate().filter(|(a, _)| !used.contains(a)) {
        let Some(v) = raw.fixed.get(&axis.path) else {
            return Err(c.invalid(
                p.span(),
                key("where"),
                format!("axis `{}` is neither drawn nor fixed", axis.path),
                format!(
                    "add it to `where`, e.g. where = {{ \"{}\" = {} }}",
                    axis.path,
                    toml_value(&axis.values[0])
                ),
            ));
        };
        let wanted = match v {
            toml::Value::String(s) => Some(Value::Name(s.clone())),
            toml::Value::Boolean(b) => Some(Value::Name(b.to_string())),
            toml::Value::Integer(n) => Some(Value::Number(*n as f64)),
            toml::Value::Float(x) => Some(Value::Number(*x)),
            _ => None,
        };
        // Numbers match within 1e-9 relative: a logspace's 1e6 is exp(ln 1e5 + ...).
        let same = |v: &Value, w: &Value| match (v, w) {
            (Value::Number(a), Value::Number(b)) => (a - b).abs() <= 1e-9 * b.abs(),
            _ => v == w,
        };
        let k = wanted
            .and_then(|w| axis.values.iter().position(|v| same(v, &w)))
            .ok_or_else(|| {
                c.invalid(
                    p.span(),
                    key("where"),
                    format!("{v} is not a value of axis `{}`", axis.path),
                    "fix each free axis at one of its values",
                )
            })?;
        fixed.push((a, k));
    }
    if let Some(extra) = raw
        .fixed
        .keys()
        .find(|k| !axes.iter().any(|a| &a.path == *k))
    {
        return Err(c.invalid(
            p.span(),
            key("where"),
            format!("`{extra}` is not an axis of this sweep"),
            "fix only the sweep's axes",
        ));
    }
    if let (PlotKind::Lines { .. }, Some(label)) = (&kind, &raw.colour_label) {
        return Err(c.invalid(
            label.span(),
            key("colour_label"),
            "a line plot has no colour bar",
            "title its metric axis with `y_label`",
        ));
    }
    let label = |field: &str, v: &Option<Spanned<String>>| match v {
        Some(text) if text.get_ref().trim().is_empty() => Err(c.invalid(
            text.span(),
            key(field),
            "an axis title must not be empty",
            "write the quantity and its unit, e.g. \"Dose (cells/kg)\", or leave the key out",
        )),
        v => Ok(v.as_ref().map(|t| t.get_ref().trim().to_owned())),
    };
    Ok(PlotSpec {
        kind,
        column,
        fixed,
        log: raw.log,
        labels: [
            label("x_label", &raw.x_label)?,
            label("y_label", &raw.y_label)?,
            label("colour_label", &raw.colour_label)?,
        ],
    })
}

fn toml_value(v: &Value) -> String {
    match v {
        Value::Number(x) => format!("{x}"),
        Value::Name(n) => format!("\"{n}\""),
    }
}

/// A CSV field, quoted when it holds a comma, quote or line break.
pub(crate) fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}
