//! The nonlinear mechanisms of MODEL.md ("Nonlinear extensions"), switched on in a
//! scenario's `[model]` section, and what a run reports of them.
//!
//! - `niche`: engraftment slows as engrafted cells approach `niche.capacity_cells`.
//! - `injury`: the liver's injury, at the disease's level when no cells act, scales liver
//!   homing (extraction hazard and engraftment) between a healed liver and the disease's
//!   homing factor; the cells' paracrine action repairs it and the disease brings it back.
//! - `sensitization`: debris of dead allogeneic cells sensitizes the host, which then
//!   clears cells faster (every death rate), with its own onset and decay.
//! - `effect`: the paracrine signal of live cells (weights per compartment) raises the
//!   production of a liver-function marker through an Emax relation, in a turnover
//!   (indirect-response) model.
//!
//! Each is off by default, so a scenario without `[model]` is the linear model.

pub mod system;

/// The mechanisms' own states at one time, reported beside the cells.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slow {
    /// Liver injury relative to the disease's level (1 untreated, 0 healed).
    pub injury: f64,
    /// Antigen presented: debris of dead donor cells (dead-cell equivalents).
    pub antigen: f64,
    /// Sensitization of the host (0 naive, 1 fully sensitized).
    pub sensitization: f64,
    /// Liver-function marker relative to its baseline (1 = baseline).
    pub marker: f64,
}

impl Slow {
    /// Column names, in the order of `values`.
    pub const NAMES: [&'static str; 4] = ["injury", "antigen", "sensitization", "marker"];

    /// The values in the order of `NAMES`.
    pub fn values(&self) -> [f64; 4] {
        [self.injury, self.antigen, self.sensitization, self.marker]
    }
}
