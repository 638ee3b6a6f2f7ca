//! Joining shard outputs into the whole sweep's CSV, refusing a set with gaps, overlaps or
//! a foreign header.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::{run, Sweep};
use crate::output::write_file_atomically;

/// Why shards cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A shard does not fit with the others or with the sweep.
    #[error("{}: {why}", file.display())]
    Bad {
        /// The shard.
        file: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// The shards leave points out.
    #[error("the shards cover points {covered}, not the whole grid 0..{total}: {fix}")]
    Incomplete {
        /// What the shards cover.
        covered: String,
        /// The grid's size.
        total: u64,
        /// What to do.
        fix: String,
    },
    /// Reading or writing failed.
    #[error("{}: {source}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

/// One shard's rows, checked to be consecutive points.
struct ShardRows {
    file: PathBuf,
    first: u64,
    lines: Vec<String>,
}

fn read_shard(file: &Path, header: &str) -> Result<ShardRows, MergeError> {
    let bad = |why: String| MergeError::Bad {
        file: file.to_path_buf(),
        why,
    };
    let io = |source| MergeError::Io {
        file: file.to_path_buf(),
        source,
    };
    let mut lines = BufReader::new(File::open(file).map_err(io)?).lines();
    match lines.next().transpose().map_err(io)? {
        Some(h) if h == header => {}
        _ => return Err(bad("its header is not this sweep's".into())),
    }
    let rows: Vec<String> = lines.collect::<Result<_, _>>().map_err(io)?;
    let index = |line: &String| line.split(',').next().and_then(|f| f.parse::<u64>().ok());
    let first = rows.first().and_then(index).unwrap_or(0);
    for (k, line) in rows.iter().enumerate() {
        if index(line) != Some(first + k as u64) {
            return Err(bad(format!(
                "row {} is not point {}",
                k + 1,
                first + k as u64
            )));
        }
    }
    Ok(ShardRows {
        file: file.to_path_buf(),
        first,
        lines: rows,
    })
}

/// Merges shard CSVs of `sweep` into its whole CSV under `out`; returns the path written.
pub fn merge(sweep: &Sweep, shards: &[PathBuf], out: &Path) -> Result<PathBuf, MergeError> {
    let header = run::header(sweep);
    let mut parts = shards
        .iter()
        .map(|f| read_shard(f, &header))
        .collect::<Result<Vec<_>, _>>()?;
    parts.retain(|p| !p.lines.is_empty());
    parts.sort_by_key(|p| p.first);
    let total = sweep.len();
    let mut next = 0;
    for p in &parts {
        if p.first != next {
            let why = if p.first < next {
                format!(
                    "overlaps the previous shard (starts at point {}, expected {next})",
                    p.first
                )
            } else {
                format!("leaves a gap: points {next}..{} are in no shard", p.first)
            };
            return Err(MergeError::Bad {
                file: p.file.clone(),
                why,
            });
        }
        next += p.lines.len() as u64;
    }
    if next != total {
        return Err(MergeError::Incomplete {
            covered: format!("0..{next}"),
            total,
            fix: "run the missing shards (or finish them with --resume) and merge again".into(),
        });
    }
    let mut text = header;
    text.push('\n');
    for p in &parts {
        for line in &p.lines {
            text.push_str(line);
            text.push('\n');
        }
    }
    let target = run::csv_path(sweep, out, None);
    write_file_atomically(&target, text.as_bytes()).map_err(|source| MergeError::Io {
        file: target.clone(),
        source,
    })?;
    Ok(target)
}
