//! What a run writes: the files' contents (pure functions returning text) and the one
//! place that puts them on disk, atomically.

pub mod atomic;
pub mod csv;
pub mod resolved;

pub use atomic::{stream_file_atomically, write_dir_atomically, write_file_atomically};
