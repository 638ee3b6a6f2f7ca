//! cellpk: where therapeutic cells go after they are injected.
//!
//! A compartment model of mesenchymal stem/stromal cell (MSC) trapping, homing,
//! engraftment and death (blood, lungs, liver, spleen, other tissues), for each injection
//! route, solved exactly between dose events with matrix exponentials; with the nonlinear
//! mechanisms of `[model]` on (saturable niche, injury, sensitization, effect), integrated
//! by a stiff Rosenbrock method instead. The science is in `MODEL.md`-style terms in each
//! module; the pipeline is
//!
//! ```text
//! scenario::parse -> Scenario (validated, parameters resolved)
//!   -> simulation::Problem (schedule, plan, threshold, the system its engine solves)
//!   -> Problem::walk: engine::simulate, or engine::general::simulate with the mechanisms
//!   -> TimeCourse + Metrics (and observe's signals) -> output / plot
//! ```
//!
//! ```
//! use std::path::Path;
//! let text = r#"
//!     name = "doc_example"
//!     [subject]
//!     species = "human"
//!     disease = "decompensated_cirrhosis"
//!     [cells]
//!     source = "bone_marrow"
//!     donor = "allogeneic"
//!     [[dose]]
//!     route = "portal_vein"
//!     cells_per_kg = 1e6
//!     [simulation]
//!     duration_days = 28
//! "#;
//! let scenario = cellpk::scenario::parse(text, Path::new("example.toml")).unwrap();
//! let metrics = cellpk::simulation::metrics_only(&scenario).unwrap();
//! assert_eq!(metrics.cells_given, 7e7);
//! assert!(metrics.liver_reached_fraction > 0.3);
//! assert!(metrics.mass_balance_rel_error < 1e-9);
//! ```

// The modules in pipeline order: each uses only modules listed before it (checked by the
// `layers` test; DESIGN.md has the diagram). Blank lines keep rustfmt from sorting them.

// Numerical methods that use no other module (no science): first, so that every layer may
// use them (the Cholesky factor serves `params` and `scenario`, RODAS the engine).
pub mod numerics;

// Sources and errors, the presets and parameters they resolve to.
pub mod sourced;

pub mod error;

pub mod presets;

pub mod params;

// The model: states, schedules, rate matrix, and the scenario that configures a run.
pub mod compartment;

pub mod dosing;

pub mod model;

pub mod scenario;

// Solving it: the mechanisms' ODE system, the walks, what they yield.
pub mod mechanisms;

pub mod engine;

pub mod metrics;

pub mod timecourse;

pub mod simulation;

pub mod evaluator;

// What a study would have seen, and what is written and drawn.
pub mod observe;

pub mod output;

pub mod plot;

// Many subjects of one scenario: virtual populations.
pub mod population;

// Commands built on a run: sweeps, validation against data, fitting, export, the CLI.
pub mod sweep;

pub mod validation;

pub mod fit;

pub mod sensitivity;

pub mod export;

pub mod cli;

#[cfg(test)]
mod layers;
