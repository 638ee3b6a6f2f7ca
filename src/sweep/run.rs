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
//!
//! The same workers and writer produce Parquet (`--format parquet`): a worker fills
//! columns instead of text (`Rows`: the point's metrics are computed once, by `compute`,
//! for either format), the writer cuts the blocks into fixed row groups, and the workers
//! encode waiting groups into files of their own between blocks, which are joined at the
//! end; `sweep::parquet` says why a Parquet run is resumed from finished row groups rather
//! than appended to.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use super::identity::{self, Identity};
use super::parquet::{self, Columns, Grouper, Layout};
use super::population;
use super::{csv_field, Sweep};
use crate::evaluator;
use crate::output::number::push_exponential;
use crate::output::{write_file_atomically, Format};
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
    /// The file format (default CSV).
    pub format: Format,
}

/// What a finished run did.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The file written (CSV or Parquet).
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
    output_path(sweep, out, shard, Format::Csv)
}

/// The file of a sweep (or of one shard) under `out` in `format`: `sweep.csv`,
/// `sweep.shard-K-of-N.parquet`, ...
pub fn output_path(sweep: &Sweep, out: &Path, shard: Option<Shard>, format: Format) -> PathBuf {
    let stem = match shard {
        None => "sweep".to_string(),
        Some(s) => format!("sweep.shard-{}-of-{}", s.k, s.n),
    };
    out.join(&sweep.name)
        .join(format!("{stem}.{}", format.extension()))
}

/// Where a run keeps its rows until the last is written: `sweep.csv.partial` (a file) or
/// `sweep.parquet.partial` (a directory of row-group files).
fn partial_path(target: &Path) -> PathBuf {
    let mut name = target.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// Where a worker puts the rows of a block, in grid order: CSV text or columns.
trait Rows: Send {
    /// Appends the row of point `index`, whose axis value indices are `digits`: each metric's
    /// value (NaN where it does not exist), or why the point has none.
    fn push(&mut self, index: u64, digits: &[usize], row: Result<&[f64], &str>);
}

/// Rows as CSV text, with each axis's values formatted once.
struct Text<'a> {
    labels: &'a Labels,
    metrics: usize,
    text: String,
}

impl Rows for Text<'_> {
    fn push(&mut self, index: u64, digits: &[usize], row: Result<&[f64], &str>) {
        use std::fmt::Write as _;
        let text = &mut self.text;
        let _ = write!(text, "{index}");
        for (axis, &k) in self.labels.iter().zip(digits) {
            text.push(',');
            text.push_str(&axis[k]);
        }
        match row {
            Ok(values) => {
                for &v in values {
                    // A value that does not exist (the marker not back at baseline) is empty.
                    text.push(',');
                    if !v.is_nan() {
                        push_exponential(text, v);
                    }
                }
                text.push(',');
            }
            Err(message) => {
                text.push_str(&",".repeat(self.metrics));
                text.push(',');
                text.push_str(&csv_field(message));
            }
        }
        text.push('\n');
    }
}

impl Rows for Columns {
    fn push(&mut self, index: u64, _digits: &[usize], row: Result<&[f64], &str>) {
        let at = self.points.len();
        self.points.push(index);
        match row {
            Ok(values) => {
                for (column, &v) in self.metrics.iter_mut().zip(values) {
                    column.push(v);
                }
            }
            Err(message) => {
                for column in &mut self.metrics {
                    column.push(f64::NAN);
                }
                self.errors.push((at, message.to_string()));
            }
        }
    }
}

/// Computes the points `range` into `rows`: each point's metrics, or an empty metric for
/// each column and the broken rule (or the integrator's failure) as its error. Returns the
/// number of error rows. (The evaluator walks each schedule per unit dose, so points that
/// differ only in dose amount share one walk.)
fn compute(sweep: &Sweep, base: &Scenario, range: Range<u64>, rows: &mut impl Rows) -> u64 {
    let mut errors = 0;
    for index in range {
        let digits = sweep.digits(index);
        let metrics = sweep
            .scenario_from(base, &digits)
            .map_err(|v| format!("{}: {}", v.key, v.problem))
            .and_then(|s| match &sweep.population {
                Some(p) => population::point_values(p, &s, &sweep.metrics, &sweep.columns),
                None => evaluator::with_evaluator(|e| e.metrics(&s))
                    .map(|m| sweep.metrics.iter().map(|k| k.value(&m)).collect())
                    .map_err(|failure| format!("simulation: {failure}")),
            });
        match metrics {
            Ok(values) => rows.push(index, &digits, Ok(&values)),
            Err(message) => {
                errors += 1;
                rows.push(index, &digits, Err(&message));
            }
        }
    }
    errors
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

/// What the writer thread does with the blocks, in grid order.
trait Sink<R>: Send {
    /// Takes the next block.
    fn write(&mut self, rows: R) -> io::Result<()>;
    /// Called about once a second.
    fn sync(&mut self) -> io::Result<()>;
    /// Called after the last block.
    fn finish(self) -> io::Result<()>;
}

/// CSV: blocks appended to the partial file.
struct Append(File);

impl Sink<Text<'_>> for Append {
    fn write(&mut self, rows: Text<'_>) -> io::Result<()> {
        self.0.write_all(rows.text.as_bytes())
    }
    fn sync(&mut self) -> io::Result<()> {
        self.0.sync_data()
    }
    fn finish(self) -> io::Result<()> {
        self.0.sync_all()
    }
}

/// Parquet: blocks cut into row groups, which wait in `encoder` for a free worker.
struct ToGroups<'a> {
    grouper: Grouper,
    encoder: &'a Encoder<'a>,
}

impl Sink<Columns> for ToGroups<'_> {
    fn write(&mut self, rows: Columns) -> io::Result<()> {
        let done = self.grouper.push(rows);
        self.encoder
            .waiting
            .lock()
            .expect("no thread panics holding it")
            .extend(done);
        Ok(())
    }
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn finish(self) -> io::Result<()> {
        let rest = self.grouper.rest();
        if !rest.points.is_empty() {
            self.encoder
                .waiting
                .lock()
                .expect("no thread panics holding it")
                .push(rest);
        }
        Ok(())
    }
}

/// Complete row groups waiting to be encoded into their files in the partial directory,
/// by the workers between blocks (so that encoding runs in parallel and the writer thread
/// only copies rows).
struct Encoder<'a> {
    sweep: &'a Sweep,
    layout: Layout,
    dir: PathBuf,
    waiting: Mutex<Vec<Columns>>,
    failed: Mutex<Option<io::Error>>,
}

impl Encoder<'_> {
    /// Encodes one waiting group, if any; false once an encoding has failed.
    fn encode_one(&self) -> bool {
        let group = self
            .waiting
            .lock()
            .expect("no thread panics holding it")
            .pop();
        if let Some(group) = group {
            if let Err(e) = self.encode(&group) {
                self.failed
                    .lock()
                    .expect("no thread panics holding it")
                    .get_or_insert(e);
            }
        }
        self.failed
            .lock()
            .expect("no thread panics holding it")
            .is_none()
    }

    fn encode(&self, group: &Columns) -> io::Result<()> {
        let bytes = self.layout.encode(self.sweep, group)?;
        write_file_atomically(&group_path(&self.dir, group.points[0]), &bytes)
    }

    /// Encodes the groups still waiting, on `pool`; reports the first failure.
    fn finish(self, pool: &rayon::ThreadPool) -> io::Result<Layout> {
        use rayon::prelude::*;
        let lock = "no thread panics holding it";
        if let Some(e) = self.failed.lock().expect(lock).take() {
            return Err(e);
        }
        let waiting = std::mem::take(&mut *self.waiting.lock().expect(lock));
        pool.install(|| waiting.par_iter().try_for_each(|g| self.encode(g)))?;
        Ok(self.layout)
    }
}

/// The file of the row group starting at point `first` in a partial directory.
fn group_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("rows-{first}.parquet"))
}

/// The rows of the complete row groups at the start of a Parquet partial directory (the
/// group files are written atomically, so a present file is complete).
fn complete_groups(dir: &Path, range: Range<u64>) -> u64 {
    parquet::groups(range)
        .take_while(|g| group_path(dir, g.start).is_file())
        .map(|g| g.end - g.start)
        .sum()
}

/// Copies the group files of `dir` into `target` (through a temporary sibling), in grid
/// order, then removes `dir`.
fn stitch_groups(layout: &Layout, dir: &Path, range: Range<u64>, target: &Path) -> io::Result<()> {
    let tmp = target.with_extension("parquet.tmp");
    let mut writer = layout.writer(io::BufWriter::new(File::create(&tmp)?))?;
    for g in parquet::groups(range) {
        parquet::stitch(&mut writer, &File::open(group_path(dir, g.start))?)?;
    }
    parquet::finish(writer, &tmp, target)?;
    fs::remove_dir_all(dir)
}

/// Computes the points `todo` on `pool` and hands their rows, block by block in grid order,
/// to `sink` on a writer thread; returns the number of error rows. A block never crosses
/// `limit(first)` (a row group's end). `between` runs on a worker before each block (it
/// encodes waiting row groups) and stops the workers when it returns false.
#[allow(clippy::too_many_arguments)]
fn stream<R: Rows, S: Sink<R>>(
    sweep: &Sweep,
    pool: &rayon::ThreadPool,
    todo: Range<u64>,
    progress: &indicatif::ProgressBar,
    limit: impl Fn(u64) -> u64 + Sync,
    rows: impl Fn(usize) -> R + Sync,
    mut sink: S,
    between: impl Fn() -> bool + Sync,
) -> io::Result<u64> {
    let threads = pool.current_num_threads() as u64;
    // Each worker takes the next points from a shared counter, as many as it computes in
    // about `BLOCK_TIME`; the writer puts the blocks back in grid order.
    let next = AtomicU64::new(todo.start);
    let (sender, receiver) = mpsc::channel::<(u64, u64, R, u64)>();
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> io::Result<u64> {
            let mut waiting = BTreeMap::new();
            let mut written = todo.start;
            let mut synced = Instant::now();
            let mut error_rows = 0;
            for (first, count, rows, errors) in receiver {
                waiting.insert(first, (count, rows, errors));
                while let Some((count, rows, errors)) = waiting.remove(&written) {
                    sink.write(rows)?;
                    error_rows += errors;
                    written += count;
                    progress.inc(count);
                }
                if synced.elapsed() >= SYNC_EVERY {
                    sink.sync()?;
                    synced = Instant::now();
                }
            }
            sink.finish()?;
            Ok(error_rows)
        });
        pool.broadcast(|_| {
            let base = sweep.base.unshared();
            // One point first: its cost is not known yet.
            let mut size = 1;
            while between() {
                let end_of = |first: u64| (first + size).min(todo.end).min(limit(first));
                let Ok(first) = next.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |f| {
                    (f < todo.end).then(|| end_of(f))
                }) else {
                    break;
                };
                let end = end_of(first);
                let clock = Instant::now();
                let mut block = rows((end - first) as usize);
                let errors = compute(sweep, &base, first..end, &mut block);
                let per_point = clock.elapsed().as_secs_f64() / (end - first) as f64;
                // A closed channel means the writer failed: its error is reported below.
                if sender.send((first, end - first, block, errors)).is_err() {
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
}

/// Runs `sweep` (or one shard of it) and writes its rows in `opts.format`.
pub fn execute(sweep: &Sweep, opts: &Options) -> Result<Summary, RunError> {
    let started = Instant::now();
    let target = output_path(sweep, &opts.out, opts.shard, opts.format);
    let partial = partial_path(&target);
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
    let parquet = opts.format == Format::Parquet;

    let dir = target
        .parent()
        .expect("output_path puts the file in a directory");
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let resumed = if partial.exists() {
        let done = || match parquet {
            true => Ok(complete_groups(&partial, range.clone())),
            false => complete_rows(&partial, &header, range.start).map(|rows| rows.count),
        };
        if !opts.resume {
            return Err(RunError::PartialExists {
                rows: done()?,
                path: partial,
            });
        }
        identity
            .check_beside(&target)
            .map_err(|mismatch| RunError::NotThisSweep {
                partial: partial.clone(),
                why: mismatch.why("its rows belong to"),
            })?;
        if !parquet {
            let rows = complete_rows(&partial, &header, range.start)?;
            let file = OpenOptions::new()
                .write(true)
                .open(&partial)
                .map_err(io_err(&partial))?;
            file.set_len(rows.bytes).map_err(io_err(&partial))?;
        }
        done()?
    } else {
        let path = identity::path_beside(&target);
        write_file_atomically(&path, identity.to_text().as_bytes()).map_err(io_err(&path))?;
        if parquet {
            fs::create_dir(&partial).map_err(io_err(&partial))?;
        } else {
            let mut file = File::create(&partial).map_err(io_err(&partial))?;
            writeln!(file, "{header}").map_err(io_err(&partial))?;
        }
        0
    };

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads.unwrap_or(0))
        .build()
        .expect("a thread pool with a valid thread count builds");
    let todo = range.start + resumed..range.end;
    let progress = crate::output::progress_bar(todo.end - todo.start, "points");
    let error_rows = if parquet {
        let metrics = sweep.columns.len();
        let encoder = Encoder {
            sweep,
            layout: Layout::of(sweep),
            dir: partial.clone(),
            waiting: Mutex::new(Vec::new()),
            failed: Mutex::new(None),
        };
        let sink = ToGroups {
            grouper: Grouper::new(metrics, todo.start, todo.end),
            encoder: &encoder,
        };
        let errors = stream(
            sweep,
            &pool,
            todo.clone(),
            &progress,
            parquet::group_end,
            |n| Columns::new(metrics, n),
            sink,
            || encoder.encode_one(),
        )
        .map_err(io_err(&partial))?;
        let layout = encoder.finish(&pool).map_err(io_err(&partial))?;
        stitch_groups(&layout, &partial, range, &target).map_err(io_err(&target))?;
        errors
    } else {
        let file = OpenOptions::new()
            .append(true)
            .open(&partial)
            .map_err(io_err(&partial))?;
        let labels = labels(sweep);
        let text = |n: usize| Text {
            labels: &labels,
            metrics: sweep.metrics.len(),
            text: String::with_capacity(64 * n),
        };
        let errors = stream(
            sweep,
            &pool,
            todo.clone(),
            &progress,
            |_| u64::MAX,
            text,
            Append(file),
            || true,
        )
        .map_err(io_err(&partial))?;
        fs::rename(&partial, &target).map_err(io_err(&target))?;
        errors
    };
    progress.finish_and_clear();
    Ok(Summary {
        csv: target,
        computed: todo.end - todo.start,
        resumed,
        error_rows,
        elapsed: started.elapsed(),
        threads: pool.current_num_threads(),
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
