//! `population.parquet` (`cellpk population --format parquet`): the columns of
//! `population.csv`, typed, through the table encoder of every cellpk Parquet file
//! (`output::parquet`), which a sweep's files go through too.
//!
//! Columns: `subject` (INT64), each varied parameter (DOUBLE), each metric (optional
//! DOUBLE: null where the CSV is empty, a value that does not exist); one row per subject,
//! in subject order, in row groups of `GROUP_ROWS` subjects. `summary.csv` and
//! `quantiles.csv` stay CSV: their size does not grow with the subjects (docs/uncertainty.md).

use std::io;

use super::Population;
use crate::metrics::Metric;
use crate::output::parquet::{Column, Group, Kind, Table, GROUP_ROWS};

/// The population as a Parquet file: `population.csv`'s rows with typed columns.
pub fn population(p: &Population) -> io::Result<Vec<u8>> {
    let metrics: Vec<Metric> = p.reported().collect();
    let mut columns = vec![Column::required("subject", Kind::Integer)];
    columns.extend((p.params.iter()).map(|param| Column::required(param.name(), Kind::Double)));
    columns.extend((metrics.iter()).map(|m| Column::optional(m.name(), Kind::Double)));
    let width = p.params.len();
    Table::new("population", &columns).encode(|file| {
        for start in (0..p.len()).step_by(GROUP_ROWS as usize) {
            let subjects = start..(start + GROUP_ROWS as usize).min(p.len());
            let mut group = Group::next(file)?;
            let index: Vec<i64> = subjects.clone().map(|i| i as i64).collect();
            group.integers(&index)?;
            let values = &p.values[subjects.start * width..subjects.end * width];
            for k in 0..width {
                let param: Vec<f64> = values.iter().skip(k).step_by(width).copied().collect();
                group.doubles(&param)?;
            }
            for metric in &metrics {
                let column: Vec<f64> = (p.metrics[subjects.clone()].iter())
                    .map(|m| metric.value(m))
                    .collect();
                group.optional_doubles(&column)?;
            }
            group.close()?;
        }
        Ok(())
    })
}
