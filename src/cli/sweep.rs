//! The `sweep` and `merge` commands.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::emit;
use crate::output::write_file_atomically;
use crate::sweep::run::{self, Options, Shard};
use crate::sweep::{self as grid, merge as shards, plots, Sweep};

/// clap's parser for `--shard K/N`.
pub fn parse_shard(text: &str) -> Result<Shard, String> {
    Shard::parse(text)
}

/// `cellpk sweep`.
pub fn run(file: &Path, opts: &Options) -> anyhow::Result<()> {
    let sweep = grid::load(file)?;
    let shape: Vec<String> = sweep
        .axes
        .iter()
        .map(|a| format!("{} {}", a.values.len(), a.path))
        .collect();
    let range = opts.shard.map_or(0..sweep.len(), |s| s.range(sweep.len()));
    if sweep.population.is_none() && sweep.base.variability.is_some() {
        eprintln!(
            "note: the base scenario's `[variability]` is left out (one run a point); add \
             `[population]` with `n = 200` to the sweep file for the quantiles of 200 \
             subjects at every point"
        );
    }
    eprintln!(
        "sweep {}: {} points ({}){}{}",
        sweep.name,
        sweep.len(),
        shape.join(" x "),
        sweep
            .population
            .as_ref()
            .map_or(String::new(), |p| format!(", {} subjects each", p.n)),
        opts.shard.map_or(String::new(), |s| format!(
            "; shard {}/{}: points {}..{}",
            s.k, s.n, range.start, range.end
        )),
    );
    let summary = run::execute(&sweep, opts)?;
    let secs = summary.elapsed.as_secs_f64();
    let drawn = match opts.shard {
        None => draw(&sweep, &summary.csv)?,
        Some(_) => Vec::new(),
    };
    emit(&format!(
        "{} points in {:.2} s on {} thread{} ({:.0} points/s){}{}\nwrote {}\n",
        summary.computed,
        secs,
        summary.threads,
        if summary.threads == 1 { "" } else { "s" },
        summary.computed as f64 / secs.max(1e-9),
        if summary.resumed > 0 {
            format!("; {} rows resumed from disk", summary.resumed)
        } else {
            String::new()
        },
        if summary.error_rows > 0 {
            format!(
                "; {} points break a scenario rule (see their `error` column)",
                summary.error_rows
            )
        } else {
            String::new()
        },
        summary.csv.display()
    ))?;
    report_figures(&drawn)
}

/// Draws the sweep's figures from its CSV into the CSV's directory; returns their paths.
fn draw(sweep: &Sweep, csv: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let dir = csv.parent().unwrap_or(Path::new("."));
    let mut written = Vec::new();
    for (name, bytes) in plots::figures(sweep, csv)? {
        let path = dir.join(name);
        write_file_atomically(&path, &bytes)
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

fn report_figures(paths: &[PathBuf]) -> anyhow::Result<()> {
    let text: String = paths
        .iter()
        .map(|p| format!("wrote {}\n", p.display()))
        .collect();
    emit(&text)
}

/// `cellpk plot`: the sweep's figures from an existing CSV.
pub fn plot(file: &Path, csv: Option<&Path>, out: &Path) -> anyhow::Result<()> {
    let sweep = grid::load(file)?;
    let given = csv.is_some();
    let csv = csv.map_or_else(|| run::csv_path(&sweep, out, None), Path::to_path_buf);
    if !csv.is_file() {
        return Err(crate::error::InputError::Argument {
            argument: if given { "--csv" } else { "--out" }.into(),
            problem: format!("there is no sweep CSV at {}", csv.display()),
            fix: format!(
                "run `cellpk sweep {}` first (with the same --out), or name the CSV with --csv",
                file.display()
            ),
        }
        .into());
    }
    if sweep.plots.is_empty() {
        return emit(&format!(
            "{} has no [[plot]] blocks: nothing to draw\n",
            file.display()
        ));
    }
    report_figures(&draw(&sweep, &csv)?)
}

/// `cellpk merge`.
pub fn merge(file: &Path, parts: &[PathBuf], out: &Path) -> anyhow::Result<()> {
    let sweep = grid::load(file)?;
    let written = shards::merge(&sweep, parts, out)?;
    emit(&format!(
        "merged {} shards, {} points\nwrote {}\n",
        parts.len(),
        sweep.len(),
        written.display()
    ))?;
    report_figures(&draw(&sweep, &written)?)
}
