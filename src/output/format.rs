//! The file format of a table that may be large (a sweep's rows, a population's
//! subjects): CSV or typed Parquet (`--format`).

use std::path::Path;

/// The file format of a large table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Comma-separated text, one line per row (`sweep.csv`, `population.csv`).
    #[default]
    Csv,
    /// Typed columns in row groups (`sweep.parquet`, `population.parquet`).
    Parquet,
}

impl Format {
    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
        }
    }

    /// The format of a file, by its extension (CSV unless `.parquet`).
    pub fn of(path: &Path) -> Format {
        match path.extension() {
            Some(e) if e == "parquet" => Format::Parquet,
            _ => Format::Csv,
        }
    }
}
