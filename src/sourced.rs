//! Numbers that carry their provenance.
//!
//! Every preset value is a `Sourced`: a value with the citation it was read from, or an
//! `assumption:` with the reason it was chosen. `cellpk params` prints these as stored, and a
//! test walks every preset to make sure none is left without a source.

use std::fmt;

/// Where a preset number comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Read in the literature; the text names the primary source and how it was obtained.
    Citation(&'static str),
    /// Chosen without a measurement; the text says why this value.
    Assumption(&'static str),
}

impl Source {
    /// The text of the source, without its kind.
    pub const fn text(self) -> &'static str {
        match self {
            Source::Citation(t) | Source::Assumption(t) => t,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Citation(t) => write!(f, "{t}"),
            Source::Assumption(t) => write!(f, "assumption: {t}"),
        }
    }
}

/// A preset value with its source.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sourced {
    /// The value, in the unit of the field that holds it.
    pub value: f64,
    /// Where the value comes from.
    pub source: Source,
}

impl Sourced {
    /// A value read in the literature.
    pub const fn cited(value: f64, text: &'static str) -> Self {
        Sourced {
            value,
            source: Source::Citation(text),
        }
    }

    /// A value chosen without a measurement, with the reason.
    pub const fn assumed(value: f64, text: &'static str) -> Self {
        Sourced {
            value,
            source: Source::Assumption(text),
        }
    }
}
