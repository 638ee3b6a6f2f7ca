//! Typed tables as Parquet: the one encoder of cellpk's Parquet files (a sweep's row groups,
//! `sweep::parquet`; a population's subjects, `population::parquet`), through the `parquet`
//! crate's column writers (no Arrow: the low-level API needs none of the Arrow crates,
//! which would add minutes to a clean build).
//!
//! A table is a list of columns, each an INT64, a DOUBLE or a UTF8 string, required or
//! optional (null where a CSV field is empty), dictionary-encoded or plain. Files are
//! uncompressed (full-precision doubles barely compress, and a codec would cost build time
//! and writer speed) and carry no column statistics (each chunk's min and max cost 40 % of
//! the encoding; row groups hold fixed ranges of rows, so a reader finds a row's group
//! without them). Their bytes depend on the rows alone: nothing of the time or the machine
//! is written.

use std::io::{self, Write};
use std::sync::Arc;

use parquet::basic::{LogicalType, Repetition, Type as Physical};
use parquet::data_type::{ByteArray, ByteArrayType, DataType, DoubleType, Int64Type};
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::file::writer::{SerializedFileWriter, SerializedRowGroupWriter};
use parquet::schema::types::{ColumnPath, Type, TypePtr};

/// Rows in a row group (the last of a file, or of a sweep's range, may be shorter).
pub const GROUP_ROWS: u64 = 1 << 14;

/// An error of the Parquet layer as an I/O error (what cellpk's files report).
pub fn io_error(e: ParquetError) -> io::Error {
    match e {
        ParquetError::External(e) => io::Error::other(e),
        other => io::Error::other(other),
    }
}

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// INT64.
    Integer,
    /// DOUBLE.
    Double,
    /// UTF8 string (BYTE_ARRAY).
    Text,
}

/// A column of a table.
#[derive(Debug, Clone)]
pub struct Column {
    /// Its name (the CSV's header field).
    pub name: String,
    /// What it holds.
    pub kind: Kind,
    /// Whether a row may have no value (null).
    pub optional: bool,
    /// Whether its values are dictionary-encoded: for few distinct values in long runs,
    /// which a dictionary and run lengths store in a few bits a row.
    pub dictionary: bool,
}

impl Column {
    /// A plain column with a value on every row.
    pub fn required(name: &str, kind: Kind) -> Column {
        Column {
            name: name.to_string(),
            kind,
            optional: false,
            dictionary: false,
        }
    }

    /// A plain column whose rows may have no value.
    pub fn optional(name: &str, kind: Kind) -> Column {
        Column {
            optional: true,
            ..Column::required(name, kind)
        }
    }

    /// The column, dictionary-encoded.
    pub fn with_dictionary(self) -> Column {
        Column {
            dictionary: true,
            ..self
        }
    }
}

/// The Parquet schema and writer settings of a table.
pub struct Table {
    schema: TypePtr,
    props: Arc<WriterProperties>,
}

impl Table {
    /// A table named `name` (the schema's root) of `columns`, in order.
    pub fn new(name: &str, columns: &[Column]) -> Table {
        let mut props = WriterProperties::builder()
            .set_writer_version(WriterVersion::PARQUET_1_0)
            .set_dictionary_enabled(false)
            .set_statistics_enabled(EnabledStatistics::None)
            .set_max_row_group_row_count(Some(GROUP_ROWS as usize))
            .set_created_by(format!("cellpk {}", env!("CARGO_PKG_VERSION")));
        let mut fields = Vec::with_capacity(columns.len());
        for c in columns {
            let physical = match c.kind {
                Kind::Integer => Physical::INT64,
                Kind::Double => Physical::DOUBLE,
                Kind::Text => Physical::BYTE_ARRAY,
            };
            let repetition = match c.optional {
                true => Repetition::OPTIONAL,
                false => Repetition::REQUIRED,
            };
            let field = Type::primitive_type_builder(&c.name, physical)
                .with_repetition(repetition)
                .with_logical_type((c.kind == Kind::Text).then_some(LogicalType::String))
                .build()
                .expect("a primitive column with a plain name is a valid type");
            fields.push(Arc::new(field));
            if c.dictionary {
                props = props
                    .set_column_dictionary_enabled(ColumnPath::new(vec![c.name.clone()]), true);
            }
        }
        let schema = Type::group_type_builder(name)
            .with_fields(fields)
            .build()
            .expect("a group of primitive columns is a valid schema");
        Table {
            schema: Arc::new(schema),
            props: Arc::new(props.build()),
        }
    }

    /// A writer of a file of this table into `sink`: its row groups are added with
    /// [`Group::next`] (or copied from other files), its footer written by `close` or
    /// `into_inner`.
    pub fn writer<W: Write + Send>(&self, sink: W) -> io::Result<SerializedFileWriter<W>> {
        SerializedFileWriter::new(sink, self.schema.clone(), self.props.clone()).map_err(io_error)
    }

    /// A whole file of this table in memory: the row groups `fill` writes into it.
    pub fn encode(
        &self,
        fill: impl FnOnce(&mut SerializedFileWriter<Vec<u8>>) -> io::Result<()>,
    ) -> io::Result<Vec<u8>> {
        let mut file = self.writer(Vec::new())?;
        fill(&mut file)?;
        file.into_inner().map_err(io_error)
    }
}

/// A row group being written: its columns in the table's order, each given whole.
pub struct Group<'a, W: Write + Send> {
    group: SerializedRowGroupWriter<'a, W>,
}

impl<'a, W: Write + Send> Group<'a, W> {
    /// The next row group of `file`.
    pub fn next(file: &'a mut SerializedFileWriter<W>) -> io::Result<Group<'a, W>> {
        Ok(Group {
            group: file.next_row_group().map_err(io_error)?,
        })
    }

    /// The next column, an INT64 one with a value on every row.
    pub fn integers(&mut self, values: &[i64]) -> io::Result<()> {
        self.column::<Int64Type>(values, None)
    }

    /// The next column, a DOUBLE one with a value on every row.
    pub fn doubles(&mut self, values: &[f64]) -> io::Result<()> {
        self.column::<DoubleType>(values, None)
    }

    /// The next column, an optional DOUBLE one: a value per row, NaN where the row has
    /// none (written as null).
    pub fn optional_doubles(&mut self, values: &[f64]) -> io::Result<()> {
        let mut defs = Vec::with_capacity(values.len());
        let mut present = Vec::with_capacity(values.len());
        for &v in values {
            let value = !v.is_nan();
            defs.push(i16::from(value));
            if value {
                present.push(v);
            }
        }
        self.column::<DoubleType>(&present, Some(&defs))
    }

    /// The next column, a string one with a value on every row.
    pub fn texts(&mut self, values: &[ByteArray]) -> io::Result<()> {
        self.column::<ByteArrayType>(values, None)
    }

    /// The next column, an optional string one over `rows` rows: null but on the rows of
    /// `values` (row, text), in row order.
    pub fn sparse_texts(&mut self, rows: usize, values: &[(usize, String)]) -> io::Result<()> {
        let mut defs = vec![0i16; rows];
        let mut texts = Vec::with_capacity(values.len());
        for (row, text) in values {
            defs[*row] = 1;
            texts.push(ByteArray::from(text.as_str()));
        }
        self.column::<ByteArrayType>(&texts, Some(&defs))
    }

    /// Closes the row group (every column written).
    pub fn close(self) -> io::Result<()> {
        self.group.close().map(drop).map_err(io_error)
    }

    /// Writes the next column: `values` (the non-null ones) and, for an optional column, a
    /// definition level per row (1 where the row has a value).
    fn column<T: DataType>(&mut self, values: &[T::T], defs: Option<&[i16]>) -> io::Result<()> {
        let mut column = self
            .group
            .next_column()
            .map_err(io_error)?
            .expect("the table has a column for each one written");
        column
            .typed::<T>()
            .write_batch(values, defs, None)
            .map_err(io_error)?;
        column.close().map_err(io_error)
    }
}
