//! The integration tests, as one binary: each module is one area (its file beside this
//! one), linked against the crate once rather than once per area (`autotests = false` in
//! Cargo.toml). `docs/testing.md` says what each checks.

mod common;

mod anatomy;
mod bad_input;
mod compare;
mod docs;
mod engine;
mod evaluator;
mod fit;
mod mechanisms;
mod modification;
mod observe;
mod properties;
mod sbml;
mod scenarios;
mod sensitivity;
mod sweep;
mod validate;
