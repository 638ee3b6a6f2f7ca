//! The serde mirror of a sweep TOML file.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// A whole sweep file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepFile {
    /// Name of the sweep (output directory); the file's stem by default.
    pub name: Option<Spanned<String>>,
    /// Base scenario, relative to the sweep file.
    pub base: Spanned<String>,
    /// The axes; the grid is their Cartesian product, the last axis varying fastest.
    #[serde(default)]
    pub axis: Vec<Spanned<AxisFile>>,
    /// `[output]`.
    #[serde(default)]
    pub output: OutputFile,
    /// `[[plot]]` blocks.
    #[serde(default)]
    pub plot: Vec<Spanned<PlotFile>>,
    /// `[population]`: virtual subjects at every point.
    pub population: Option<Spanned<PopulationFile>>,
}

/// `[population]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopulationFile {
    /// Subjects per point.
    pub n: Spanned<i64>,
    /// The least value of a metric that reaches its target, by metric name.
    pub targets: Option<Spanned<BTreeMap<String, f64>>>,
}

/// One `[[axis]]`: a path and exactly one of `values`, `linspace`, `logspace`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AxisFile {
    /// Scenario key, e.g. `dose.cells_per_kg`.
    pub path: Spanned<String>,
    /// Explicit values (numbers or names).
    pub values: Option<Spanned<Vec<toml::Value>>>,
    /// Evenly spaced values.
    pub linspace: Option<Spanned<RangeFile>>,
    /// Logarithmically spaced values.
    pub logspace: Option<Spanned<RangeFile>>,
}

/// `{ from, to, steps }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeFile {
    /// First value.
    pub from: f64,
    /// Last value.
    pub to: f64,
    /// Number of values (>= 2, or 1 for `from` alone).
    pub steps: i64,
}

/// `[output]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputFile {
    /// Metric columns, by name; every metric when absent.
    pub metrics: Option<Spanned<Vec<String>>>,
}

/// One `[[plot]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlotFile {
    /// `heatmap` or `lines`.
    pub kind: Spanned<String>,
    /// Metric plotted.
    pub metric: Spanned<String>,
    /// Axis along x.
    pub x: Spanned<String>,
    /// Axis along y (heatmap).
    pub y: Option<Spanned<String>>,
    /// Axis whose values make the panels (heatmap, optional).
    pub facet: Option<Spanned<String>>,
    /// Axis whose values make the lines (lines).
    pub line: Option<Spanned<String>>,
    /// Values fixing every other axis.
    #[serde(default, rename = "where")]
    pub fixed: BTreeMap<String, toml::Value>,
    /// Logarithmic colour scale (heatmap) or y axis (lines); default false.
    #[serde(default)]
    pub log: bool,
    /// Title of the x axis, instead of the one named after the axis path.
    pub x_label: Option<Spanned<String>>,
    /// Title of the y axis (heatmap: the `y` axis; lines: the metric).
    pub y_label: Option<Spanned<String>>,
    /// Title of a heatmap's colour bar (the metric).
    pub colour_label: Option<Spanned<String>>,
}
