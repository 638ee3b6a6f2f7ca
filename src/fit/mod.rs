//! Estimating model parameters from observations.
//!
//! [`estimate`] is the numerical core and knows nothing of the model: it minimizes a sum of
//! squared weighted residuals over bounded parameters and reports standard errors. Which
//! scenario keys are free and how observations become residuals belong to the caller, so
//! the optimizer can be tested on functions whose answers are known exactly. `problem`
//! fits one scenario's overrides; `calibrate` fits base values shared by many cases.

pub mod calibrate;
pub mod estimate;
pub mod problem;
