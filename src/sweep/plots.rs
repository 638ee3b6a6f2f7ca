//! Sweep figures: the `[[plot]]` blocks of a sweep file drawn from its CSV.
//!
//! The CSV is read only when the identity recorded beside it is the sweep's, and as a
//! stream: only the rows of each figure's slice of the grid (the fixed axes at their chosen
//! values) are kept, so drawing does not need the whole sweep in memory.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::axis::Value;
use super::identity::Identity;
use super::population::Stat;
use super::{Axis, PlotKind, PlotSpec, Sweep};
use crate::output::Format;
use crate::plot::{self, Heatmap, LinePlot, Panel, PlotError, Series};

/// Why a figure could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum FigureError {
    /// The CSV could not be read.
    #[error("cannot read {}", file.display())]
    Io {
        /// The CSV.
        file: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The CSV is not this sweep's.
    #[error("{}: {why}", file.display())]
    Csv {
        /// The CSV.
        file: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// Drawing failed.
    #[error("plot {index}: {source}")]
    Draw {
        /// 1-based `[[plot]]` index.
        index: usize,
        /// The plotting error.
        source: PlotError,
    },
}

/// One figure's values: `values[cell]` for the cells of its slice (NaN where missing).
struct Slice {
    values: Vec<f64>,
}

/// The position of point `digits` within a plot's slice, or None if it is outside it.
fn cell(spec: &PlotSpec, sweep: &Sweep, digits: &[usize]) -> Option<usize> {
    if spec.fixed.iter().any(|&(a, k)| digits[a] != k) {
        return None;
    }
    let len = |a: usize| sweep.axes[a].values.len();
    Some(match spec.kind {
        PlotKind::Heatmap { x, y, facet } => {
            let panel = facet.map_or(0, |f| digits[f]);
            (panel * len(y) + digits[y]) * len(x) + digits[x]
        }
        PlotKind::Lines { x, line } => line.map_or(0, |l| digits[l]) * len(x) + digits[x],
    })
}

fn slice_len(spec: &PlotSpec, sweep: &Sweep) -> usize {
    let len = |a: usize| sweep.axes[a].values.len();
    match spec.kind {
        PlotKind::Heatmap { x, y, facet } => facet.map_or(1, len) * len(y) * len(x),
        PlotKind::Lines { x, line } => line.map_or(1, len) * len(x),
    }
}

/// Reads the slices of every plot from the sweep CSV in one pass, once the identity beside
/// it (see `identity`) says its rows are those of the sweep as it is now: a CSV of the same
/// columns from an edited grid would otherwise put its values at the wrong points without a
/// word (the header cannot tell), as `--resume` and `merge` would mix two grids.
fn read_slices(sweep: &Sweep, csv: &Path) -> Result<Vec<Slice>, FigureError> {
    Identity::of(sweep)
        .check_beside(csv)
        .map_err(|mismatch| FigureError::Csv {
            file: csv.to_path_buf(),
            why: format!(
                "it is not the CSV of this sweep as it is now ({}); run the sweep again (or \
                 plot with the sweep file it was run from)",
                mismatch.since("this CSV")
            ),
        })?;
    let io = |source| FigureError::Io {
        file: csv.to_path_buf(),
        source,
    };
    let mut slices: Vec<(usize, Slice)> = sweep
        .plots
        .iter()
        .map(|p| {
            let metric = (sweep.columns.iter())
                .position(|c| *c == p.column)
                .expect("plot metrics are checked to be columns");
            let values = vec![f64::NAN; slice_len(p, sweep)];
            (metric, Slice { values })
        })
        .collect();
    // Puts point `point`'s value of each figure's column (`value` of its index in
    // `sweep.columns`) into the figure's slice, if the point is in it.
    let mut put = |point: u64, value: &dyn Fn(usize) -> f64| {
        if point >= sweep.len() {
            return;
        }
        let digits = sweep.digits(point);
        for ((metric, slice), spec) in slices.iter_mut().zip(&sweep.plots) {
            if let Some(i) = cell(spec, sweep, &digits) {
                slice.values[i] = value(*metric);
            }
        }
    };
    if Format::of(csv) == Format::Parquet {
        let not_this = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::InvalidData => FigureError::Csv {
                file: csv.to_path_buf(),
                why: e.to_string(),
            },
            _ => io(e),
        };
        for group in super::parquet::read_groups(csv, sweep).map_err(not_this)? {
            let group = group.map_err(io)?;
            for (row, &point) in group.points.iter().enumerate() {
                put(point, &|m| group.metrics[m][row]);
            }
        }
    } else {
        let mut lines = BufReader::new(File::open(csv).map_err(io)?).lines();
        let header = lines.next().transpose().map_err(io)?.unwrap_or_default();
        if header != sweep.header() {
            return Err(FigureError::Csv {
                file: csv.to_path_buf(),
                why: "its header is not this sweep's (was it written by another sweep file?)"
                    .into(),
            });
        }
        let first_metric = 1 + sweep.axes.len();
        for line in lines {
            let line = line.map_err(io)?;
            let fields: Vec<&str> = line.split(',').collect();
            let Some(point) = fields.first().and_then(|f| f.parse::<u64>().ok()) else {
                continue;
            };
            let value = |m: usize| {
                (fields.get(first_metric + m))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(f64::NAN)
            };
            put(point, &value);
        }
    }
    Ok(slices.into_iter().map(|(_, s)| s).collect())
}

/// Draws every `[[plot]]` of `sweep` from `csv`: (file name, contents) pairs, PNG and SVG.
pub fn figures(sweep: &Sweep, csv: &Path) -> Result<Vec<(String, Vec<u8>)>, FigureError> {
    if sweep.plots.is_empty() {
        // Nothing to draw: do not read a CSV that may hold millions of rows.
        return Ok(Vec::new());
    }
    let slices = read_slices(sweep, csv)?;
    let mut files = Vec::new();
    for (n, (spec, slice)) in sweep.plots.iter().zip(slices).enumerate() {
        let draw = |source| FigureError::Draw {
            index: n + 1,
            source,
        };
        let axis = |a: usize| &sweep.axes[a];
        let fixed: Vec<String> = spec
            .fixed
            .iter()
            .map(|&(a, k)| condition(axis(a), &axis(a).values[k]))
            .collect();
        let metric = sweep.column_words(spec.column);
        let title = if fixed.is_empty() {
            format!("{}: {metric}", sweep.name)
        } else {
            format!("{}: {metric} ({})", sweep.name, fixed.join(", "))
        };
        // An axis title: the block's own, else the axis or metric in words.
        let [x_label, y_label, colour_label] = &spec.labels;
        let title_or = |given: &Option<String>, words: String| given.clone().unwrap_or(words);
        // A share's title says what reaches what; its colour bar only the share.
        let metric_label = match spec.column.stat {
            Stat::Reached => "Share of subjects".to_string(),
            _ => format!("{metric} ({})", spec.column.unit()),
        };
        let stem = format!("plot{}_{}", n + 1, spec.column.name());
        let drawn = match spec.kind {
            PlotKind::Heatmap { x, y, facet } => {
                let per_panel = axis(x).values.len() * axis(y).values.len();
                let panels: Vec<Panel> = match facet {
                    None => vec![Panel {
                        title: String::new(),
                        z: slice.values,
                    }],
                    Some(f) => axis(f)
                        .values
                        .iter()
                        .zip(slice.values.chunks(per_panel))
                        .map(|(v, z)| Panel {
                            title: condition(axis(f), v),
                            z: z.to_vec(),
                        })
                        .collect(),
                };
                let (xs, ys) = (axis(x).numbers(), axis(y).numbers());
                let figure = Heatmap {
                    title: &title,
                    x_label: &title_or(x_label, axis(x).target.label()),
                    y_label: &title_or(y_label, axis(y).target.label()),
                    colour_label: &title_or(colour_label, metric_label),
                    x_values: &xs,
                    y_values: &ys,
                    x_log: axis(x).log,
                    y_log: axis(y).log,
                    colour_log: spec.log,
                    // A share runs from none of the subjects to all of them.
                    colour_span: (spec.column.stat == Stat::Reached).then_some((0.0, 1.0)),
                    panels: &panels,
                };
                plot::heatmap(&figure).map_err(draw)?
            }
            PlotKind::Lines { x, line } => {
                let nx = axis(x).values.len();
                let lines: Vec<Series> = match line {
                    None => vec![Series {
                        label: metric.clone(),
                        values: slice.values,
                    }],
                    Some(l) => axis(l)
                        .values
                        .iter()
                        .zip(slice.values.chunks(nx))
                        .map(|(v, ys)| Series {
                            label: v.to_string(),
                            values: ys.to_vec(),
                        })
                        .collect(),
                };
                let xs = axis(x).numbers();
                let figure = LinePlot {
                    title: &title,
                    x_label: &title_or(x_label, axis(x).target.label()),
                    y_label: &title_or(y_label, metric_label),
                    x_values: &xs,
                    x_log: axis(x).log,
                    y_log: spec.log,
                    lines: &lines,
                };
                plot::line_plot(&figure).map_err(draw)?
            }
        };
        files.push((format!("{stem}.png"), drawn.png));
        files.push((format!("{stem}.svg"), drawn.svg.into_bytes()));
    }
    Ok(files)
}

/// An axis at one value, for titles: "Dosing interval = 28 days", "Dose = 1e6 cells/kg",
/// "Route = portal_vein" (large numbers in the tick labels' compact style).
fn condition(axis: &Axis, value: &Value) -> String {
    let label = axis.target.label();
    let value = match value {
        Value::Number(x) if x.abs() >= 1e4 => format!("{x:e}"),
        v => v.to_string(),
    };
    match label.strip_suffix(')').and_then(|l| l.split_once(" (")) {
        Some((name, unit)) => format!("{name} = {value} {unit}"),
        None => format!("{label} = {value}"),
    }
}
