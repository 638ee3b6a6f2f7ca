//! The `sweep` and `merge` commands.

use std::path::{Path, PathBuf};

use super::emit;
use crate::sweep::run::{self, Options, Shard};
use crate::sweep::{self as grid, merge as shards};

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
    eprintln!(
        "sweep {}: {} points ({}){}",
        sweep.name,
        sweep.len(),
        shape.join(" x "),
        opts.shard.map_or(String::new(), |s| format!(
            "; shard {}/{}: points {}..{}",
            s.k, s.n, range.start, range.end
        )),
    );
    let summary = run::execute(&sweep, opts)?;
    let secs = summary.elapsed.as_secs_f64();
    emit(&format!(
        "{} points in {:.2} s on {} threads ({:.0} points/s){}{}\nwrote {}\n",
        summary.computed,
        secs,
        summary.threads,
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
    ))
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
    ))
}
