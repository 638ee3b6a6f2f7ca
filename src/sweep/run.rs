//! Running a sweep: points in parallel, rows streamed to CSV in grid order, resumable, and
//! sliceable into shards for a cluster.
//!
//! Each worker takes the next points from a shared counter, in blocks of about
//! `BLOCK_TIME` of work at its last measured cost per point, and a writer thread appends
//! the blocks in index order as soon as the rows before them are there: memory does not
//! grow with the grid, the file is the same for any number of threads, writing does not
//! hold the workers up, and rows reach the disk within a fraction of a second whether a
//! point costs a microsecond or tens of milliseconds. Rows go to `<csv>.partial`, renamed
//! to the final name when the last row is written; `--resume` continues a partial file
//! after its last complete row, once the identity recorded beside it (see `identity`) is
//! the sweep's as it is now.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::identity::{self, Identity};
use super::population;
use super::{csv_field, Sweep};
use crate::evaluator;
use crate::output::write_file_atomically;
use crate::scenario::Scenario;

/// Points a worker computes in one block at most: about 3 ms on the exact engine (0.7 us a
/// point), which keeps the messages to the writer few (blocks of 256 points woke it 4000
/// times for a million points, and ran a few percent slower on 1 thread).
const BLOCK: u64 = 4096;

/// Time a block should take: each worker sizes its next block from its last block's cost
/// per point (a block is at least one point), so that rows reach the partial file and the progress bar moves many times a
/// second even when a point costs milliseconds (the general integrator, Dopri5).
const BLOCK_TIME: Duration = Duration::from_millis(50);

/// Blocks per thread at least in what is left of the grid, so that the threads finish
/// within a sixteenth of that of each other (a short sweep, or the end of a long one).
const BLOCKS_PER_THREAD: u64 = 16;

/// Time between two syncs of the partial file to disk (rows are written to the file as
/// soon as the rows before them are; the sync only guards against a power cut).
const SYNC_EVERY: Duration = Duration::from_secs(1);

/// A slice of the grid: shard `k` of `n` (1-based), a contiguous range of point indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which shard, 1..=n.
    pub k: u64,
    /// How many shards.
    pub n: u64,
}

impl Shard {
    /// Parses `K/N` with 1 <= K <= N.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let parsed = text
            .split_once('/')
            .and_then(|(k, n)| Some((k.trim().parse().ok()?, n.trim().parse().ok()?)));
        match parsed {
            Some((k, n)) if (1..=n).contains(&k) => Ok(Shard { k, n }),
            _ => Err(format!(
                "`{text}` is not a shard K/N with 1 <= K <= N (e.g. `--shard 3/10`)"
            )),
        }
    }

    /// The point indices of this shard in a grid of `total` points: shards differ in size
    /// by at most one point and together cover the grid exactly once.
    pub fn range(self, total: u64) -> Range<u64> {
        let edge = |k: u64| (u128::from(total) * u128::from(k) / u128::from(self.n)) as u64;
        edge(self.k - 1)..edge(self.k)
    }
}

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Worker threads (all cores when `None`).
    pub threads: Option<usize>,
    /// Directory that receives `<name>/`.
    pub out: PathBuf,
    /// Continue a partial file instead of refusing to overwrite it.
    pub resume: bool,
    /// Run only this slice of the grid.
    pub shard: Option<Shard>,
}

/// What a finished run did.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The CSV written.
    pub csv: PathBuf,
    /// Points computed by this run (not counting resumed rows).
    pub computed: u64,
    /// Rows already on disk when resumed.
    pub resumed: u64,
    /// Rows reporting a broken rule instead of metrics.
    pub error_rows: u64,
    /// Wall time of this run.
    pub elapsed: Duration,
    /// Threads used.
    pub threads: usize,
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A partial file exists and `--resume` was not given.
    #[error(
        "{} holds {rows} rows of an unfinished run; pass --resume to continue it, or delete \
         the file to start again",
        path.display()
    )]
    PartialExists {
        /// The partial file.
        path: PathBuf,
        /// Its complete rows.
        rows: u64,
    },
    /// The partial file does not belong to this sweep.
    #[error(
        "{} does not continue this sweep ({why}); delete it to start again",
        path.display()
    )]
    PartialMismatch {
        /// The partial file.
        path: PathBuf,
        /// What differs.
        why: String,
    },
    /// The partial file was written by a different sweep (an axis, the base scenario, the
    /// columns or the model changed since), or nothing records which sweep wrote it.
    #[error(
        "{} holds rows of a different sweep, and continuing it would mix two grids: {why}. \
         Delete it to start again (or restore the sweep file and base scenario it was \
         started from and resume)",
        partial.display()
    )]
    NotThisSweep {
        /// The partial file.
        partial: PathBuf,
        /// What changed.
        why: String,
    },
    /// Reading or writing failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
}

/// The CSV file of a sweep (or of one shard) under `out`.
pub fn csv_path(sweep: &Sweep, out: &Path, shard: Option<Shard>) -> PathBuf {
    let file = match shard {
        None => "sweep.csv".to_string(),
        Some(s) => format!("sweep.shard-{}-of-{}.csv", s.k, s.n),
    };
    out.join(&sweep.name).join(file)
}

/// Appends the row of point `index` to `text`: its axis values, then its metrics (with
/// `[population]`, their quantiles and shares over the point's subjects), or an empty
/// field for each column and the broken rule (or the integrator's failure) in `error`.
/// Returns whether the point had metrics. (The evaluator walks each schedule per unit dose, so points that differ
/// only in dose amount share one walk.)
fn push_row(
    sweep: &Sweep,
    base: &Scenario,
    labels: &Labels,
    index: u64,
    text: &mut String,
) -> bool {
    use std::fmt::Write as _;
    let _ = write!(text, "{index}");
    let digits = sweep.digits(index);
    for (axis, &k) in labels.iter().zip(&digits) {
        text.push(',');
        text.push_str(&axis[k]);
    }
    let values = sweep
        .scenario_from(base, &digits)
        .map_err(|v| format!("{}: {}", v.key, v.problem))
        .and_then(|s| match &sweep.population {
            Some(p) => population::point_values(p, &s, &sweep.metrics, &sweep.columns),
            None => evaluator::with_evaluator(|e| e.metrics(&s))
                .map(|m| {
                    sweep
                        .metrics
                        .iter()
                        .map(|metric| metric.value(&m))
                        .collect()
                })
                .map_err(|failure| format!("simulation: {failure}")),
        });
    let ok = match values {
        Ok(values) => {
            for v in values {
                // A value that does not exist (the marker not back at baseline) is empty.
                if v.is_nan() {
                    text.push(',');
                } else {
                    let _ = write!(text, ",{v:e}");
                }
            }
            text.push(',');
            true
        }
        Err(message) => {
            text.push_str(&",".repeat(sweep.columns.len()));
            text.push(',');
            text.push_str(&csv_field(&message));
            false
        }
    };
    text.push('\n');
    ok
}

/// Each axis's values as CSV fields, formatted once rather than at every row.
type Labels = Vec<Vec<String>>;

fn labels(sweep: &Sweep) -> Labels {
    sweep
        .axes
        .iter()
        .map(|a| a.values.iter().map(|v| csv_field(&v.to_string())).collect())
        .collect()
}

/// The rows of the points `range`, as text, and how many of them are error rows.
fn block(sweep: &Sweep, base: &Scenario, labels: &Labels, range: Range<u64>) -> (String, u64) {
    let mut text = String::with_capacity(64 * (range.end - range.start) as usize);
    let errors = range
        .filter(|&i| !push_row(sweep, base, labels, i, &mut text))
        .count();
    (text, errors as u64)
}

/// A block of rows: its first point, its number of points, its text and its error rows.
type Rows = (u64, u64, String, u64);

/// Runs `sweep` (or one shard of it) and writes its CSV.
pub fn execute(sweep: &Sweep, opts: &Options) -> Result<Summary, RunError> {
    let started = Instant::now();
    let csv = csv_path(sweep, &opts.out, opts.shard);
    let partial = csv.with_extension("csv.partial");
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RunError::Io {
            path: path.clone(),
            source,
        }
    };
    let range = opts.shard.map_or(0..sweep.len(), |s| s.range(sweep.len()));
    let header = sweep.header();
    let identity = Identity::of(sweep);

    let dir = csv.parent().expect("csv_path puts the file in a directory");
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let resumed = if partial.exists() {
        if !opts.resume {
            let rows = complete_rows(&partial, &header, range.start)?;
            return Err(RunError::PartialExists {
                path: partial,
                rows: rows.count,
            });
        }
        identity
            .check_beside(&csv)
            .map_err(|mismatch| RunError::NotThisSweep {
                partial: partial.clone(),
                why: mismatch.why("its rows belong to"),
            })?;
        let rows = complete_rows(&partial, &header, range.start)?;
        let file = OpenOptions::new()
            .write(true)
            .open(&partial)
            .map_err(io_err(&partial))?;
        file.set_len(rows.bytes).map_err(io_err(&partial))?;
        rows.count
    } else {
        let path = identity::path_beside(&csv);
        write_file_atomically(&path, identity.to_text().as_bytes()).map_err(io_err(&path))?;
        let mut file = File::create(&partial).map_err(io_err(&partial))?;
        writeln!(file, "{header}").map_err(io_err(&partial))?;
        0
    };
    let mut file = OpenOptions::new()
        .append(true)
        .open(&partial)
        .map_err(io_err(&partial))?;

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads.unwrap_or(0))
        .build()
        .expect("a thread pool with a valid thread count builds");
    let threads = pool.current_num_threads() as u64;
    let todo = range.start + resumed..range.end;
    let progress = crate::output::progress_bar(todo.end - todo.start, "points");
    let labels = labels(sweep);
    // Each worker takes the next points from a shared counter, as many as it computes in
    // about `BLOCK_TIME`; the writer puts the blocks back in grid order.
    let next = AtomicU64::new(todo.start);
    let (sender, receiver) = mpsc::channel::<Rows>();
    let error_rows = std::thread::scope(|scope| {
        let writer = scope.spawn(|| -> io::Result<u64> {
            let mut waiting = BTreeMap::new();
            let mut written = todo.start;
            let mut synced = Instant::now();
            let mut error_rows = 0;
            for (first, count, text, errors) in receiver {
                waiting.insert(first, (count, text, errors));
                while let Some((count, text, errors)) = waiting.remove(&written) {
                    file.write_all(text.as_bytes())?;
                    error_rows += errors;
                    written += count;
                    progress.inc(count);
                }
                if synced.elapsed() >= SYNC_EVERY {
                    file.sync_data()?;
                    synced = Instant::now();
                }
            }
            file.sync_all()?;
            Ok(error_rows)
        });
        pool.broadcast(|_| {
            let base = sweep.base.unshared();
            // One point first: its cost is not known yet.
            let mut size = 1;
            loop {
                let first = next.fetch_add(size, Ordering::Relaxed);
                if first >= todo.end {
                    break;
                }
                let end = (first + size).min(todo.end);
                let clock = Instant::now();
                let (text, errors) = block(sweep, &base, &labels, first..end);
                let per_point = clock.elapsed().as_secs_f64() / (end - first) as f64;
                // A closed channel means the writer failed: its error is reported below.
                if sender.send((first, end - first, text, errors)).is_err() {
                    break;
                }
                let left = todo.end.saturating_sub(next.load(Ordering::Relaxed));
                let timed = (BLOCK_TIME.as_secs_f64() / per_point.max(1e-9)) as u64;
                size = timed
                    .min(BLOCK)
                    .min(left.div_ceil(BLOCKS_PER_THREAD * threads))
                    .max(1);
            }
        });
        drop(sender);
        writer.join().expect("the writer thread does not panic")
    })
    .map_err(io_err(&partial))?;
    fs::rename(&partial, &csv).map_err(io_err(&csv))?;
    progress.finish_and_clear();
    Ok(Summary {
        csv,
        computed: todo.end - todo.start,
        resumed,
        error_rows,
        elapsed: started.elapsed(),
        threads: threads as usize,
    })
}

/// Complete rows of a partial file: how many, and where the last one ends.
struct Written {
    count: u64,
    bytes: u64,
}

/// Reads a partial file, checking its header and that its rows are the points `first`,
/// `first + 1`, ... in order; a last line without its newline (cut by a kill) is not
/// counted.
fn complete_rows(path: &Path, header: &str, first: u64) -> Result<Written, RunError> {
    let mismatch = |why: String| RunError::PartialMismatch {
        path: path.to_path_buf(),
        why,
    };
    let io_err = |source| RunError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut reader = BufReader::new(File::open(path).map_err(io_err)?);
    let mut line = String::new();
    let mut bytes = reader.read_line(&mut line).map_err(io_err)? as u64;
    if line.trim_end_matches('\n') != header {
        return Err(mismatch("its header differs".into()));
    }
    let mut count = 0;
    loop {
        line.clear();
        let n = reader.read_line(&mut line).map_err(io_err)?;
        if n == 0 || !line.ends_with('\n') {
            break;
        }
        let index = line.split(',').next().and_then(|f| f.parse::<u64>().ok());
        if index != Some(first + count) {
            return Err(mismatch(format!(
                "row {} should be point {}",
                count + 1,
                first + count
            )));
        }
        count += 1;
        bytes += n as u64;
    }
    reader.stream_position().map_err(io_err)?;
    Ok(Written { count, bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_the_grid_once() {
        for total in [0u64, 1, 7, 3150, 1_000_003] {
            for n in 1..=9 {
                let mut next = 0;
                for k in 1..=n {
                    let r = Shard { k, n }.range(total);
                    assert_eq!(r.start, next);
                    next = r.end;
                }
                assert_eq!(next, total);
            }
        }
        assert!(Shard::parse("0/3").is_err());
        assert!(Shard::parse("4/3").is_err());
        assert_eq!(Shard::parse("2/3"), Ok(Shard { k: 2, n: 3 }));
    }

    #[test]
    fn fields_with_commas_are_quoted() {
        assert_eq!(csv_field("a,b \"c\""), "\"a,b \"\"c\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
