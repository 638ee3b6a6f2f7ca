//! Holding the model against measurements: tidy observation files (`data`), the
//! comparison of a scenario's predicted signals with them (`compare`), and each case's
//! verdict, report and figure panels (`report`).

pub mod compare;
pub mod data;
pub mod report;
