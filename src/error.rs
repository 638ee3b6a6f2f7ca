//! Errors in user input: where (file, line, key), what is wrong, and how to fix it.
//!
//! Every bad-input path of the library ends in an `InputError`; the binary maps it to exit
//! code 2 (`EXIT_BAD_INPUT`) before anything is written.

use std::fmt;
use std::path::PathBuf;

/// Exit code for bad input (malformed file, unknown key, impossible value).
pub const EXIT_BAD_INPUT: i32 = 2;

/// Exit code for a failure while working (I/O, a plot that could not be drawn).
pub const EXIT_FAILURE: i32 = 1;

/// A place in an input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, when one line is to blame.
    pub line: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.file.display()),
            None => write!(f, "{}", self.file.display()),
        }
    }
}

/// Bad input, found before any simulation runs.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file could not be read.
    #[error("{}: cannot read the file: {cause}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// What the operating system said (shown in the message, so not a `source` that
        /// a caller printing the error chain would repeat).
        cause: std::io::Error,
    },
    /// The file is not valid TOML or does not have the expected shape (parser's message,
    /// which shows the line, plus the nearest valid name where one was misspelled).
    #[error("{}: {message}", file.display())]
    Syntax {
        /// The file.
        file: PathBuf,
        /// The parser's message, with line, column and a suggestion.
        message: String,
    },
    /// A value is present but not acceptable.
    #[error("{at}: `{key}`: {problem}\n  fix: {fix}")]
    Invalid {
        /// Where.
        at: Location,
        /// Key path, e.g. `dose[2].interval_days`.
        key: String,
        /// What is wrong with it.
        problem: String,
        /// How to fix it.
        fix: String,
    },
    /// Some of several files checked together are invalid (each was reported as found).
    #[error("{invalid} of {total} scenario files are invalid")]
    SomeInvalid {
        /// Files with errors.
        invalid: usize,
        /// Files checked.
        total: usize,
    },
    /// A command-line argument is not acceptable.
    #[error("`{argument}`: {problem}\n  fix: {fix}")]
    Argument {
        /// The argument, e.g. `--compartment`.
        argument: String,
        /// What is wrong with it.
        problem: String,
        /// How to fix it.
        fix: String,
    },
}
