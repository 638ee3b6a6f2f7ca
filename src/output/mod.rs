//! What a run writes: the files' contents (pure functions returning text) and the one
//! place that puts them on disk, atomically.

pub mod atomic;
pub mod csv;
pub mod resolved;

pub use atomic::{stream_file_atomically, write_dir_atomically, write_file_atomically};

/// Longest name of a run, sweep or comparison: it names a directory (file systems allow
/// 255 bytes) and the atomic writer adds a hidden prefix and suffix.
pub const MAX_NAME_LEN: usize = 100;

/// Whether `name` can name an output directory on any platform: up to `MAX_NAME_LEN`
/// letters, digits, `_`, `-` and `.`, starting with a letter or digit (no hidden names, no
/// path separators).
pub fn is_directory_name(name: &str) -> bool {
    name.len() <= MAX_NAME_LEN
        && name
            .chars()
            .next()
            .is_some_and(|ch| ch.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '-' | '.'))
}
