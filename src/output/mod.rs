//! What a run writes: the files' contents (pure functions returning text, or the bytes of
//! a Parquet table) and the one place that puts them on disk, atomically; and the progress
//! bar of long work.

pub mod atomic;
pub mod csv;
pub mod format;
pub mod number;
pub mod parquet;
pub mod progress;
pub mod resolved;

pub use atomic::{stream_file_atomically, write_dir_atomically, write_file_atomically};
pub use format::Format;
pub use progress::progress_bar;
