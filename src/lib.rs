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
//!   -> simulation::model + Scenario::schedule -> engine::simulate
//!      (or mechanisms::system + engine::general::simulate)
//!   -> TimeCourse + Metrics -> output / plot
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

pub mod cli;
pub mod compartment;
pub mod dosing;
pub mod engine;
pub mod error;
pub mod export;
pub mod fit;
pub mod mechanisms;
pub mod metrics;
pub mod model;
pub mod observe;
pub mod output;
pub mod params;
pub mod plot;
pub mod presets;
pub mod scenario;
pub mod simulation;
pub mod sourced;
pub mod sweep;
pub mod timecourse;
pub mod validation;
