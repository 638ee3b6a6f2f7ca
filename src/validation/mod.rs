//! Holding the model against measurements: tidy observation files (`data`) and the
//! comparison of a scenario's predicted signals with them (`compare`).

pub mod compare;
pub mod data;
