//! Defaults of the nonlinear mechanisms of `[model]` (MODEL.md, "Nonlinear extensions"):
//! the saturable liver niche, injury and homing, immune sensitization and the effect layer.
//!
//! No study in `shared/reference/` measures any of these for MSCs in the liver, so nearly
//! every value is an `assumption:` chosen for its order of magnitude and kept overridable;
//! the one measured value is the turnover of the marker (serum albumin).

use crate::sourced::Sourced;

/// Engrafted liver cells per kg of body weight at which the niche is full.
pub const NICHE_CAPACITY_PER_KG: Sourced = Sourced::assumed(
    1e5,
    "no measured capacity of the liver for engrafted MSCs; of the order of the cells a \
     hepatic-artery dose of 1e6 cells/kg engrafts in this model (about 9e4/kg), so that one \
     dose fills most of it: the premise under which a second dose one month later adds \
     little (MODEL.md, question 2)",
);

/// Repair of the injury at full paracrine signal (1/h).
pub const INJURY_REPAIR_PER_H: Sourced = Sourced::assumed(
    1.0 / (30.0 * 24.0),
    "e-folding time of 30 days at full signal: MSC trials in cirrhosis report changes in \
     liver function over weeks to months, not days",
);

/// Return of the injury towards the level the disease sets (1/h).
pub const INJURY_RELAPSE_PER_H: Sourced = Sourced::assumed(
    1.0 / (90.0 * 24.0),
    "e-folding time of 90 days: the underlying disease persists, and benefits reported in \
     trials faded over months",
);

/// Weighted live cells per kg of body weight giving half the maximal paracrine action.
pub const SIGNAL_HALF_MAX_PER_KG: Sourced = Sourced::assumed(
    5e4,
    "of the order of the live cells per kg that a dose of 1e6 cells/kg leaves in the lungs \
     and liver after a few days, so that doses in the trials' range act near half \
     saturation",
);

/// Paracrine weight of a circulating cell, relative to a cell in the liver.
pub const SIGNAL_WEIGHT_BLOOD: Sourced = Sourced::assumed(
    0.0,
    "cells circulate for seconds to minutes, too briefly to matter",
);
/// Paracrine weight of a cell trapped in the lungs, relative to a cell in the liver.
pub const SIGNAL_WEIGHT_LUNG: Sourced = Sourced::assumed(
    0.5,
    "MSCs trapped in the lungs secrete factors that act at a distance (TSG-6: Lee et al. \
     2009, Cell Stem Cell 5:54); half a liver cell's action, which is local",
);
/// Paracrine weight of a liver cell (sinusoid or engrafted): the reference.
pub const SIGNAL_WEIGHT_LIVER: Sourced =
    Sourced::assumed(1.0, "the reference: cells in the liver act locally");
/// Paracrine weight of a cell elsewhere (spleen, other organs, injection depot).
pub const SIGNAL_WEIGHT_ELSEWHERE: Sourced = Sourced::assumed(
    0.5,
    "cells outside the liver act on it only through the circulation, as lung cells do",
);

/// Death-rate multiplier of a host fully sensitized to allogeneic cells.
pub const SENSITIZED_CLEARANCE_FOLD: Sourced = Sourced::assumed(
    3.0,
    "allogeneic MSCs are immunogenic on re-exposure (donor-specific antibodies after repeated \
     doses); no rate measured, threefold is a placeholder",
);
/// The same for autologous cells, which raise no alloresponse.
pub const AUTOLOGOUS_CLEARANCE_FOLD: Sourced =
    Sourced::assumed(1.0, "the recipient's own cells raise no alloresponse");
/// Rise of sensitization under saturating antigen (1/h).
pub const SENSITIZATION_ONSET_PER_H: Sourced = Sourced::assumed(
    1.0 / (10.0 * 24.0),
    "a primary adaptive (antibody) response develops over one to two weeks",
);
/// Decay of sensitization (1/h).
pub const SENSITIZATION_DECAY_PER_H: Sourced = Sourced::assumed(
    std::f64::consts::LN_2 / (60.0 * 24.0),
    "half-life of 60 days: alloantibody titres wane over months",
);
/// Clearance of presented antigen, the debris of dead donor cells (1/h).
pub const ANTIGEN_CLEARANCE_PER_H: Sourced = Sourced::assumed(
    1.0 / (2.0 * 24.0),
    "debris of dead cells is presented for a few days after they die",
);
/// Antigen (dead-cell equivalents) per kg of body weight giving half-maximal sensitization.
pub const ANTIGEN_HALF_MAX_PER_KG: Sourced = Sourced::assumed(
    1e5,
    "a tenth of a dose of 1e6 cells/kg: doses in the trials' range sensitize, much smaller \
     ones little",
);

/// Maximal rise of the marker's production (fraction of its baseline).
pub const EFFECT_EMAX: Sourced = Sourced::assumed(
    0.3,
    "improvements of serum albumin reported in MSC trials in cirrhosis are of the order of \
     tens of percent",
);
/// Turnover of the liver-function marker (1/h): serum albumin.
pub const MARKER_TURNOVER_PER_H: Sourced = Sourced::cited(
    std::f64::consts::LN_2 / (19.0 * 24.0),
    "serum albumin half-life of about 19 days (Peters T, All About Albumin, Academic Press \
     1996); turnover = ln 2 / half-life",
);
/// Improvement counted by `days_improved` (fraction of baseline).
pub const IMPROVEMENT_THRESHOLD: Sourced = Sourced::assumed(
    0.05,
    "a 5 % rise as the smallest improvement worth counting",
);
/// Improvement below which the marker counts as back at its baseline.
pub const BASELINE_TOLERANCE: Sourced = Sourced::assumed(
    0.01,
    "a 1 % rise is within the day-to-day variation of a laboratory marker",
);
