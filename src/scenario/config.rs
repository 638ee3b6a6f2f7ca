//! The choices a scenario makes that the layers above it act on: how it is integrated,
//! which mechanisms are on, what a study measured, and what may name a run. They live
//! here, with the scenario that holds them, so that parsing and validating a scenario
//! needs nothing from the engine, the mechanisms, the observation layer or the writers
//! (DESIGN.md, the layers).

use serde::Deserialize;

use crate::presets::choice_enum;
use crate::presets::observation::Isotope;

choice_enum! {
    /// How a scenario is integrated (`[simulation] solver`).
    pub enum Solver {
        /// The exact engine when the model is linear, the general integrator otherwise.
        Auto => "auto",
        /// The exact matrix-exponential engine (linear model only).
        Exact => "exact",
        /// The general integrator (RODAS, a stiff Rosenbrock method), whatever the model.
        Rodas => "rodas",
        /// The general path stepped by ode_solvers' explicit Dopri5: a non-stiff reference
        /// for RODAS, hundreds to thousands of times its steps on cellpk's stiff systems.
        Dopri5 => "dopri5",
    }
}

/// Error tolerances of the general integrator (`[simulation] rtol`, `atol`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// Relative tolerance per step.
    pub rtol: f64,
    /// Absolute tolerance: a fraction of the largest administration for states counted in
    /// cells, and as is for the dimensionless states of the mechanisms.
    pub atol: f64,
}

impl Tolerance {
    /// Defaults: `rtol` 1e-6 and `atol` 1e-6, errors of a millionth of the value or of a
    /// dose (assumption: far below any measurement's error; compartments holding less than
    /// a millionth of a dose are known to that absolute error only). Steps are spent mostly
    /// resolving the circulation's transient after each dose event down to `atol`: 1e-8
    /// costs twice the steps (`benches/README.md`); tighten it to study such small
    /// compartments.
    pub const DEFAULT: Tolerance = Tolerance {
        rtol: 1e-6,
        atol: 1e-6,
    };
}

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

choice_enum! {
    /// What a study measured (`[observe] method`).
    pub enum Method {
        /// Live cells (the model's truth; e.g. intravital microscopy).
        Live => "live",
        /// Activity of a radiolabel (111In, 99mTc, 89Zr, 51Cr).
        Radiolabel => "radiolabel",
        /// Bioluminescence of live cells (luciferase).
        Bioluminescence => "bioluminescence",
        /// Donor DNA by quantitative PCR (e.g. human Alu sequences).
        DnaPcr => "dna_pcr",
    }
}

/// A scenario's `[observe]` section.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observe {
    /// What was measured.
    pub method: Method,
    /// The radiolabel's isotope (radiolabel only).
    pub isotope: Option<Isotope>,
    /// Share of the injected activity bound to cells; the rest is free label, excreted
    /// (radiolabel only).
    pub labelled_fraction: f64,
    /// Whether activity is reported corrected for physical decay (radiolabel only).
    pub decay_corrected: bool,
}

impl Default for Observe {
    /// Live cells: what a scenario without `[observe]` reports.
    fn default() -> Self {
        Observe {
            method: Method::Live,
            isotope: None,
            labelled_fraction: 1.0,
            decay_corrected: true,
        }
    }
}

/// Longest name of a run, sweep or comparison: it names a directory (file systems allow
/// 255 bytes) and the atomic writer adds a hidden prefix and suffix.
pub const MAX_NAME_LEN: usize = 100;

/// Whether `name` can name an output directory on any platform: up to `MAX_NAME_LEN`
/// letters, digits, `_`, `-` and `.`, starting with a letter or digit (no hidden names, no
/// path separators).
pub fn is_directory_name(name: &str) -> bool {
    name.len() <= MAX_NAME_LEN
        && name
            .chars()
            .next()
            .is_some_and(|ch| ch.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '-' | '.'))
}
