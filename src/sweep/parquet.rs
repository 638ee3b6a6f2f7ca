//! A sweep as Parquet (`--format parquet`): the CSV's columns, typed, in row groups of
//! [`GROUP_ROWS`] points, encoded by the table writer of every cellpk Parquet file
//! (`output::parquet`).
//!
//! Columns: `point` (INT64), one per axis (DOUBLE, INT64 for an integer key such as
//! `dose.count`, or a UTF8 string for a name; all dictionary-encoded), one optional DOUBLE
//! per metric (null where the CSV is empty: no value, or an error row), and `error`
//! (optional UTF8).
//!
//! Row groups cover fixed ranges of the grid (points `k * GROUP_ROWS ..`, clipped to the
//! run's range), so that a group's bytes depend on its points alone. That is what makes a
//! run resumable without appending to a Parquet file (its footer comes last, and a killed
//! writer leaves none): a run writes each group, once complete, as a small Parquet file of
//! its own in `<file>.partial/` (atomically, so a group file is whole or absent), encoded
//! by whichever worker is free, and when every group is there, [`stitch`] copies their
//! column chunks in grid order into the final file. `--resume` keeps the group files
//! present and computes the rest; the final file is byte-identical to an uninterrupted
//! run's, for any thread count. A kill loses the groups not yet complete: at most
//! `GROUP_ROWS` points per thread (a few hundredths of a second on the exact engine, about
//! 16 s of one thread on the general integrator at 1 ms a point). `merge` reads the shards
//! back, cuts their rows at the same boundaries and encodes them again, so merged shards
//! equal the whole run's file.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, Write};
use std::ops::Range;
use std::path::Path;
use std::sync::Mutex;

use bytes::Bytes;
use parquet::column::reader::{get_typed_column_reader, ColumnReader};
use parquet::column::writer::ColumnCloseResult;
use parquet::data_type::{ByteArray, ByteArrayType, DataType, DoubleType, Int64Type};
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaDataReader};
use parquet::file::reader::{ChunkReader, FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;

use super::axis::Value;
use super::Sweep;
pub use crate::output::parquet::GROUP_ROWS;
use crate::output::parquet::{io_error, Column, Group, Kind, Table};

/// The end of the row group that holds point `index`.
pub fn group_end(index: u64) -> u64 {
    (index / GROUP_ROWS + 1) * GROUP_ROWS
}

/// The row groups of a run over `range`: fixed grid ranges, clipped to it.
pub fn groups(range: Range<u64>) -> impl Iterator<Item = Range<u64>> {
    let mut start = range.start;
    std::iter::from_fn(move || {
        (start < range.end).then(|| {
            let end = group_end(start).min(range.end);
            let group = start..end;
            start = end;
            group
        })
    })
}

/// Rows of consecutive points as columns: what a worker fills and a group encodes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Columns {
    /// The points, consecutive.
    pub points: Vec<u64>,
    /// Each metric's values, NaN where the row has none (written as null).
    pub metrics: Vec<Vec<f64>>,
    /// The error rows: (row in this block, message).
    pub errors: Vec<(usize, String)>,
}

impl Columns {
    /// Empty columns for `metrics` metrics and about `rows` rows.
    pub fn new(metrics: usize, rows: usize) -> Columns {
        Columns {
            points: Vec::with_capacity(rows),
            metrics: vec![Vec::with_capacity(rows); metrics],
            errors: Vec::new(),
        }
    }

    /// Appends `other`'s rows.
    pub fn append(&mut self, mut other: Columns) {
        let offset = self.points.len();
        self.points.append(&mut other.points);
        for (mine, theirs) in self.metrics.iter_mut().zip(&mut other.metrics) {
            mine.append(theirs);
        }
        self.errors
            .extend(other.errors.into_iter().map(|(row, e)| (row + offset, e)));
    }

    /// Moves out the rows from `at` on.
    fn split_off(&mut self, at: usize) -> Columns {
        let errors_at = self.errors.partition_point(|(row, _)| *row < at);
        Columns {
            points: self.points.split_off(at),
            metrics: self.metrics.iter_mut().map(|m| m.split_off(at)).collect(),
            errors: (self.errors.split_off(errors_at).into_iter())
                .map(|(row, e)| (row - at, e))
                .collect(),
        }
    }
}

/// How an axis is stored: by the kind of its key.
fn kind(axis: &super::Axis) -> Kind {
    match axis.values.first() {
        Some(Value::Name(_)) => Kind::Text,
        _ if axis.target.takes_integers() => Kind::Integer,
        _ => Kind::Double,
    }
}

/// The Parquet table of `sweep`'s files.
pub struct Layout {
    table: Table,
}

impl Layout {
    /// The layout of `sweep`'s columns.
    pub fn of(sweep: &Sweep) -> Layout {
        let mut columns = vec![Column::required("point", Kind::Integer)];
        // An axis has few distinct values in long runs: a dictionary and run lengths store
        // them in a few bits a row.
        columns.extend(
            (sweep.axes.iter())
                .map(|axis| Column::required(&axis.path, kind(axis)).with_dictionary()),
        );
        columns.extend((sweep.columns.iter()).map(|c| Column::optional(&c.name(), Kind::Double)));
        columns.push(Column::optional("error", Kind::Text));
        Layout {
            table: Table::new("sweep", &columns),
        }
    }

    /// The rows `rows` (consecutive points) as a whole Parquet file of one row group.
    pub fn encode(&self, sweep: &Sweep, rows: &Columns) -> io::Result<Vec<u8>> {
        self.table.encode(|file| {
            let mut group = Group::next(file)?;
            let n = rows.points.len();
            let points: Vec<i64> = rows.points.iter().map(|&p| p as i64).collect();
            group.integers(&points)?;

            // Axis values from the points: an axis holds each value for `stride`
            // consecutive points (the product of the later axes' lengths), the last axis
            // for one.
            let first = rows.points.first().copied().unwrap_or(0);
            let mut stride = 1;
            let mut strides = vec![0; sweep.axes.len()];
            for (s, axis) in strides.iter_mut().zip(&sweep.axes).rev() {
                *s = stride;
                stride *= axis.values.len() as u64;
            }
            for (axis, &stride) in sweep.axes.iter().zip(&strides) {
                let numbers = || {
                    axis.values.iter().map(|v| match v {
                        Value::Number(x) => *x,
                        Value::Name(_) => f64::NAN,
                    })
                };
                match kind(axis) {
                    Kind::Double => {
                        let values: Vec<f64> = numbers().collect();
                        group.doubles(&runs(first, n, stride, &values))?
                    }
                    Kind::Integer => {
                        let values: Vec<i64> = numbers().map(|x| x as i64).collect();
                        group.integers(&runs(first, n, stride, &values))?
                    }
                    Kind::Text => {
                        let values: Vec<ByteArray> = (axis.values.iter())
                            .map(|v| ByteArray::from(Bytes::from_static(lasting(&v.to_string()))))
                            .collect();
                        group.texts(&runs(first, n, stride, &values))?
                    }
                }
            }
            for metric in &rows.metrics {
                group.optional_doubles(metric)?;
            }
            group.sparse_texts(n, &rows.errors)?;
            group.close()
        })
    }

    /// A writer of the final file that takes encoded groups (see [`stitch`]).
    pub fn writer<W: Write + Send>(&self, sink: W) -> io::Result<SerializedFileWriter<W>> {
        self.table.writer(sink)
    }
}

/// `name` for the life of the process. An axis name repeated on every row of a group as a
/// shared (reference-counted) buffer cost a quarter of the encoding in atomic counts; a
/// static one is copied as a pointer. The names are few (routes, species, choices), each
/// kept once.
fn lasting(name: &str) -> &'static [u8] {
    static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut names = NAMES.lock().expect("no thread panics holding it");
    match names.get(name) {
        Some(kept) => kept.as_bytes(),
        None => {
            let kept: &'static str = Box::leak(name.to_string().into_boxed_str());
            names.insert(kept);
            kept.as_bytes()
        }
    }
}

/// The values of an axis at the `n` points from `first`: each of `values` in turn, held
/// for `stride` points.
fn runs<T: Clone>(first: u64, n: usize, stride: u64, values: &[T]) -> Vec<T> {
    let mut out = Vec::with_capacity(n);
    let mut k = ((first / stride) % values.len() as u64) as usize;
    let mut run = (stride - first % stride) as usize;
    while out.len() < n {
        let take = run.min(n - out.len());
        out.extend(std::iter::repeat_n(values[k].clone(), take));
        k = (k + 1) % values.len();
        run = stride as usize;
    }
    out
}

/// Appends the row groups of the Parquet file `input` (the bytes of a group file, or the
/// file) to `out`, copying their column chunks as they are.
pub fn stitch<R: ChunkReader + 'static, W: Write + Send>(
    out: &mut SerializedFileWriter<W>,
    input: &R,
) -> io::Result<()> {
    let metadata = ParquetMetaDataReader::new()
        .with_page_index_policy(PageIndexPolicy::Optional)
        .parse_and_finish(input)
        .map_err(io_error)?;
    for (g, group) in metadata.row_groups().iter().enumerate() {
        let mut target = out.next_row_group().map_err(io_error)?;
        for (c, column) in group.columns().iter().enumerate() {
            let close = ColumnCloseResult {
                bytes_written: column.compressed_size() as u64,
                rows_written: group.num_rows() as u64,
                metadata: column.clone(),
                bloom_filter: None,
                column_index: metadata.column_index().and_then(|i| i[g].get(c)).cloned(),
                offset_index: metadata.offset_index().and_then(|i| i[g].get(c)).cloned(),
            };
            target.append_column(input, close).map_err(io_error)?;
        }
        target.close().map_err(io_error)?;
    }
    Ok(())
}

/// The rows of a Parquet sweep file (or group file) of `sweep`, group by group (the axis
/// columns are not read: they follow from the points). Fails on a file whose columns are
/// not `sweep`'s.
pub fn read_groups(
    path: &Path,
    sweep: &Sweep,
) -> io::Result<impl Iterator<Item = io::Result<Columns>>> {
    let reader = SerializedFileReader::new(File::open(path)?).map_err(io_error)?;
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    let names: Vec<&str> = schema.columns().iter().map(|c| c.name()).collect();
    if names.join(",") != sweep.header() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "its columns are not this sweep's",
        ));
    }
    let (columns, metrics) = (names.len(), sweep.columns.len());
    Ok((0..reader.num_row_groups()).map(move |g| {
        let group = reader.get_row_group(g).map_err(io_error)?;
        let rows = group.metadata().num_rows() as usize;
        let mut out = Columns::new(metrics, rows);
        let read = |c: usize| group.get_column_reader(c).map_err(io_error);
        let points = read_column::<Int64Type>(read(0)?, rows)?.1;
        out.points = points.into_iter().map(|p| p as u64).collect();
        for (m, column) in out.metrics.iter_mut().enumerate() {
            let (defs, values) = read_column::<DoubleType>(read(columns - 1 - metrics + m)?, rows)?;
            let mut values = values.into_iter();
            *column = (defs.iter())
                .map(|&d| match d {
                    1 => values.next().unwrap_or(f64::NAN),
                    _ => f64::NAN,
                })
                .collect();
        }
        let (defs, messages) = read_column::<ByteArrayType>(read(columns - 1)?, rows)?;
        let mut messages = messages.into_iter();
        for (row, _) in defs.iter().enumerate().filter(|(_, &d)| d == 1) {
            let text = messages
                .next()
                .map(|m| String::from_utf8_lossy(m.data()).into_owned());
            out.errors.push((row, text.unwrap_or_default()));
        }
        Ok(out)
    }))
}

/// All `rows` levels and values of one column chunk.
fn read_column<T: DataType>(
    column: ColumnReader,
    rows: usize,
) -> io::Result<(Vec<i16>, Vec<T::T>)> {
    let mut reader = get_typed_column_reader::<T>(column);
    let (mut defs, mut values) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
    let (records, _, _) = reader
        .read_records(rows, Some(&mut defs), None, &mut values)
        .map_err(io_error)?;
    if records != rows {
        return Err(io::Error::other(format!(
            "a column holds {records} of {rows} rows"
        )));
    }
    Ok((defs, values))
}

/// Cuts rows arriving in grid order into the fixed row groups (see [`groups`]).
pub struct Grouper {
    current: Columns,
    end: u64,
    range_end: u64,
}

impl Grouper {
    /// A grouper for the points from `start` to `range_end`.
    pub fn new(metrics: usize, start: u64, range_end: u64) -> Grouper {
        Grouper {
            current: Columns::new(metrics, 0),
            end: group_end(start).min(range_end),
            range_end,
        }
    }

    /// Adds `rows` (the next points in order); returns the groups it completes.
    pub fn push(&mut self, mut rows: Columns) -> Vec<Columns> {
        let mut done = Vec::new();
        loop {
            let first = self.current.points.first().or(rows.points.first()).copied();
            let Some(first) = first else { return done };
            let have = self.current.points.len() as u64;
            let room = (self.end - first - have) as usize;
            if rows.points.len() < room {
                self.current.append(rows);
                return done;
            }
            let rest = rows.split_off(room);
            self.current.append(rows);
            let metrics = self.current.metrics.len();
            done.push(std::mem::replace(
                &mut self.current,
                Columns::new(metrics, 0),
            ));
            self.end = group_end(self.end).min(self.range_end);
            rows = rest;
        }
    }

    /// The rows left: a group cut short by the end of the input (empty when the range's
    /// last group was complete).
    pub fn rest(self) -> Columns {
        self.current
    }
}

/// Writes `blocks` (of consecutive points, together the points `range` in order) to
/// `target` (through a temporary sibling), cut into the fixed row groups: the file a run
/// over `range` writes. Fails, leaving nothing, if the blocks are not the points of
/// `range` in order (a file that changed while it was read).
pub fn write_rows(
    sweep: &Sweep,
    range: Range<u64>,
    blocks: impl Iterator<Item = io::Result<Columns>>,
    target: &Path,
) -> io::Result<()> {
    let layout = Layout::of(sweep);
    let tmp = target.with_extension("parquet.tmp");
    let result = (|| {
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut writer = layout.writer(io::BufWriter::new(File::create(&tmp)?))?;
        let mut grouper = Grouper::new(sweep.columns.len(), range.start, range.end);
        let mut next = range.start;
        let changed = || io::Error::other("the rows changed while they were read");
        for block in blocks {
            let block = block?;
            if block.points.first().is_some_and(|&p| p != next) {
                return Err(changed());
            }
            next += block.points.len() as u64;
            for group in grouper.push(block) {
                stitch(&mut writer, &Bytes::from(layout.encode(sweep, &group)?))?;
            }
        }
        if next != range.end {
            return Err(changed());
        }
        let rest = grouper.rest();
        if !rest.points.is_empty() {
            stitch(&mut writer, &Bytes::from(layout.encode(sweep, &rest)?))?;
        }
        finish(writer, &tmp, target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Closes `writer` (the footer), syncs the file to disk and renames it from `tmp` to
/// `target`.
pub fn finish(
    writer: SerializedFileWriter<io::BufWriter<File>>,
    tmp: &Path,
    target: &Path,
) -> io::Result<()> {
    let file = writer
        .into_inner()
        .map_err(io_error)?
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?;
    file.sync_all()?;
    std::fs::rename(tmp, target)
}
