//! Locations and messages of input errors: what every part of the validation of a
//! scenario (`validate`, `variability`) or a sweep file (`sweep`) reports through.

use std::ops::Range;
use std::path::Path;

use toml::Spanned;

use super::{rules, suggest};
use crate::error::{InputError, Location};
use crate::params::Param;

/// Turns spans into locations and builds messages.
pub struct Checker<'a> {
    /// The file the text was read from.
    pub file: &'a Path,
    /// Its text, which the spans index.
    pub text: &'a str,
}

impl Checker<'_> {
    fn line(&self, span: Range<usize>) -> Location {
        let start = span.start.min(self.text.len());
        Location {
            file: self.file.to_path_buf(),
            line: Some(self.text[..start].matches('\n').count() + 1),
        }
    }

    /// The error at `span`: its file and line, the key, what is wrong and the fix.
    pub fn invalid(
        &self,
        span: Range<usize>,
        key: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> InputError {
        InputError::Invalid {
            at: self.line(span),
            key: key.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    /// The parameter named by `key` in the table `table`, or an error suggesting the
    /// nearest name.
    pub(super) fn parameter(
        &self,
        key: &Spanned<String>,
        table: &str,
    ) -> Result<Param, InputError> {
        let name = key.get_ref();
        Param::from_name(name).ok_or_else(|| {
            let names = Param::ALL.iter().map(|p| p.name());
            let hint = suggest::did_you_mean(&suggest::nearest(name, names))
                .unwrap_or_else(|| "run `cellpk params SCENARIO` to list every parameter".into());
            self.invalid(
                key.span(),
                format!("{table}.\"{name}\""),
                "no such parameter",
                hint,
            )
        })
    }

    /// A finite number satisfying `ok`, else an error saying what is required.
    pub(super) fn number(
        &self,
        value: &Spanned<f64>,
        key: &str,
        ok: impl Fn(f64) -> bool,
        required: &str,
    ) -> Result<f64, InputError> {
        let v = *value.get_ref();
        if v.is_finite() && ok(v) {
            Ok(v)
        } else {
            Err(self.invalid(
                value.span(),
                key,
                format!("{} is not {required}", rules::readable(v)),
                format!("set `{key}` to {required}"),
            ))
        }
    }
}
