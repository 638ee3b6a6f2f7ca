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

pub mod effect;
pub mod system;

use serde::Deserialize;

/// Which mechanisms a scenario switches on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mechanisms {
    /// Saturable liver niche.
    #[serde(default)]
    pub niche: bool,
    /// Injury-driven homing that heals as cells act.
    #[serde(default)]
    pub injury: bool,
    /// Immune sensitization to allogeneic cells.
    #[serde(default)]
    pub sensitization: bool,
    /// Effect layer: paracrine signal driving a liver-function marker.
    #[serde(default)]
    pub effect: bool,
}

impl Mechanisms {
    /// Every mechanism on.
    pub const ALL: Mechanisms = Mechanisms {
        niche: true,
        injury: true,
        sensitization: true,
        effect: true,
    };

    /// Whether any mechanism is on (the model is then nonlinear).
    pub fn any(self) -> bool {
        self.niche || self.injury || self.sensitization || self.effect
    }

    /// The names of the mechanisms that are on, as written in `[model]`.
    pub fn names(self) -> Vec<&'static str> {
        [
            (self.niche, "niche"),
            (self.injury, "injury"),
            (self.sensitization, "sensitization"),
            (self.effect, "effect"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }
}

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
