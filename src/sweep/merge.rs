//! Joining shard outputs into the whole sweep's CSV, refusing a set with gaps, overlaps, a
//! foreign header or an identity (see `identity`) that is not the sweep's as it is now.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::identity::{self, Identity};
use super::{parquet, run, Sweep};
use crate::output::{stream_file_atomically, write_file_atomically, Format};

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

/// One shard: where its rows start and how many there are, checked to be consecutive
/// points. The rows stay on disk: shards of a million-point sweep are merged in a
/// streaming pass.
struct ShardRows {
    file: PathBuf,
    first: u64,
    count: u64,
}

/// The lines of `file` after its header, which must be `header`.
fn rows(file: &Path, header: &str) -> Result<io::Lines<BufReader<File>>, MergeError> {
    let io = |source| MergeError::Io {
        file: file.to_path_buf(),
        source,
    };
    let mut lines = BufReader::new(File::open(file).map_err(io)?).lines();
    match lines.next().transpose().map_err(io)? {
        Some(h) if h == header => Ok(lines),
        _ => Err(MergeError::Bad {
            file: file.to_path_buf(),
            why: "its header is not this sweep's".into(),
        }),
    }
}

/// Checks that the identity file beside shard `file` is `identity`.
fn check_identity(file: &Path, identity: &Identity) -> Result<(), MergeError> {
    identity
        .check_beside(file)
        .map_err(|mismatch| MergeError::Bad {
            file: file.to_path_buf(),
            why: format!(
                "it is not a shard of this sweep as it is now ({}); run the shard again with \
                 the current sweep file (or merge with the sweep file the shards were run from)",
                mismatch.since("this shard")
            ),
        })
}

/// The points of shard `file`, in its order: the first field of each CSV line, or the
/// `point` column of each Parquet row group.
fn points(
    file: &Path,
    sweep: &Sweep,
    header: &str,
) -> Result<Box<dyn Iterator<Item = io::Result<Option<u64>>>>, MergeError> {
    let io = |source| MergeError::Io {
        file: file.to_path_buf(),
        source,
    };
    Ok(match Format::of(file) {
        Format::Csv => Box::new(
            rows(file, header)?
                .map(|line| line.map(|l| l.split(',').next().and_then(|f| f.parse::<u64>().ok()))),
        ),
        Format::Parquet => {
            let groups = parquet::read_groups(file, sweep).map_err(|e| match e.kind() {
                io::ErrorKind::InvalidData => MergeError::Bad {
                    file: file.to_path_buf(),
                    why: format!("{e}"),
                },
                _ => io(e),
            })?;
            Box::new(groups.flat_map(|g| {
                match g {
                    Ok(g) => g
                        .points
                        .into_iter()
                        .map(|p| Ok(Some(p)))
                        .collect::<Vec<_>>(),
                    Err(e) => vec![Err(e)],
                }
            }))
        }
    })
}

fn read_shard(file: &Path, sweep: &Sweep, identity: &Identity) -> Result<ShardRows, MergeError> {
    check_identity(file, identity)?;
    let mut first = None;
    let mut count = 0;
    for index in points(file, sweep, &sweep.header())? {
        let index = index.map_err(|source| MergeError::Io {
            file: file.to_path_buf(),
            source,
        })?;
        let expected = *first.get_or_insert(index.unwrap_or(0)) + count;
        if index != Some(expected) {
            return Err(MergeError::Bad {
                file: file.to_path_buf(),
                why: format!("row {} is not point {expected}", count + 1),
            });
        }
        count += 1;
    }
    Ok(ShardRows {
        file: file.to_path_buf(),
        first: first.unwrap_or(0),
        count,
    })
}

/// Merges shard CSVs of `sweep` into its whole CSV under `out`; returns the path written.
pub fn merge(sweep: &Sweep, shards: &[PathBuf], out: &Path) -> Result<PathBuf, MergeError> {
    let header = sweep.header();
    let identity = Identity::of(sweep);
    let mut parts = shards
        .iter()
        .map(|f| read_shard(f, sweep, &identity))
        .collect::<Result<Vec<_>, _>>()?;
    parts.retain(|p| p.count > 0);
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
        next += p.count;
    }
    if next != total {
        return Err(MergeError::Incomplete {
            covered: format!("0..{next}"),
            total,
            fix: "run the missing shards (or finish them with --resume) and merge again".into(),
        });
    }
    let format = Format::of(&parts.first().map_or(PathBuf::new(), |p| p.file.clone()));
    if let Some(other) = parts.iter().find(|p| Format::of(&p.file) != format) {
        return Err(MergeError::Bad {
            file: other.file.clone(),
            why: format!(
                "it is not {} like the other shards: run all the shards with one --format",
                format.extension()
            ),
        });
    }
    let target = run::output_path(sweep, out, None, format);
    if format == Format::Parquet {
        merge_parquet(sweep, &parts, &target)?;
        return record_identity(&identity, target);
    }
    // A shard that changed since it was checked is caught here (its rows are checked
    // again as they are copied) and leaves no merged file behind.
    let mut failure = None;
    let written = stream_file_atomically(&target, |w| {
        writeln!(w, "{header}")?;
        for p in &parts {
            let mut count = 0;
            for line in rows(&p.file, &header).map_err(|e| fail(&mut failure, e))? {
                let line = line.map_err(|source| {
                    let file = p.file.clone();
                    fail(&mut failure, MergeError::Io { file, source })
                })?;
                writeln!(w, "{line}")?;
                count += 1;
            }
            if count != p.count {
                let changed = MergeError::Bad {
                    file: p.file.clone(),
                    why: "it changed while it was merged".into(),
                };
                return Err(fail(&mut failure, changed));
            }
        }
        Ok(())
    });
    match (written, failure) {
        (Ok(()), _) => record_identity(&identity, target),
        (Err(_), Some(e)) => Err(e),
        (Err(source), None) => Err(MergeError::Io {
            file: target,
            source,
        }),
    }
}

/// Writes the identity the shards agreed on beside the merged file `target`.
fn record_identity(identity: &Identity, target: PathBuf) -> Result<PathBuf, MergeError> {
    let recorded = identity::path_beside(&target);
    write_file_atomically(&recorded, identity.to_text().as_bytes()).map_err(|source| {
        MergeError::Io {
            file: recorded.clone(),
            source,
        }
    })?;
    Ok(target)
}

/// Reads the Parquet shards' rows group by group and writes them again in the whole run's
/// row groups (a shard's groups end at its own edges), so that the merged file is the one
/// a single run writes; memory holds a row group or two.
fn merge_parquet(sweep: &Sweep, parts: &[ShardRows], target: &Path) -> Result<(), MergeError> {
    let blocks = parts.iter().flat_map(|p| {
        let named = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", p.file.display()));
        let groups: Box<dyn Iterator<Item = io::Result<parquet::Columns>>> =
            match parquet::read_groups(&p.file, sweep) {
                Ok(groups) => Box::new(groups.map(move |g| g.map_err(named))),
                Err(e) => Box::new(std::iter::once(Err(named(e)))),
            };
        groups
    });
    parquet::write_rows(sweep, 0..sweep.len(), blocks, target).map_err(|source| MergeError::Io {
        file: target.to_path_buf(),
        source,
    })
}

/// Keeps `e` to report, and stops the write with a placeholder error.
fn fail(slot: &mut Option<MergeError>, e: MergeError) -> io::Error {
    *slot = Some(e);
    io::Error::other("merge stopped")
}
