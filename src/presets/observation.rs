//! Defaults of the observation layer (MODEL.md, "What an observer sees"): the radionuclides
//! cells are labelled with, and what becomes of the label and of the DNA of cells that die.
//!
//! The physical half-lives are measured constants. How fast label leaves live MSCs is a
//! known gap of the reference data (`shared/reference/README.md`), and nothing there
//! measures where debris goes or how fast dead cells' DNA is degraded: those are
//! `assumption:`s, overridable as parameters (`label.*`, `dna.*`) and estimable with
//! `cellpk fit`.

use super::choice_enum;
use crate::sourced::Sourced;

choice_enum! {
    /// The radionuclide of a radiolabel (`[observe] isotope`).
    pub enum Isotope {
        /// Indium-111 (111In-oxine or -tropolone; SPECT).
        In111 => "in111",
        /// Technetium-99m (99mTc-HMPAO; SPECT).
        Tc99m => "tc99m",
        /// Zirconium-89 (89Zr-desferrioxamine; PET).
        Zr89 => "zr89",
        /// Chromium-51 (51Cr-chromate; gamma counting of organs).
        Cr51 => "cr51",
    }
}

impl Isotope {
    /// Physical half-life (hours).
    pub const fn half_life_h(self) -> Sourced {
        match self {
            Isotope::In111 => Sourced::cited(
                2.8049 * 24.0,
                "2.8049 d, BIPM Table of Radionuclides 2006 as cited by Wikipedia \
                 'Indium-111' (shared/reference/cell_parameters.csv)",
            ),
            Isotope::Tc99m => Sourced::cited(
                6.0067,
                "6.0067 h, Laboratoire National Henri Becquerel, DDEP 'Tc-99m tables' (2012), as \
                 cited by Wikipedia 'Technetium-99m'; not in shared/reference",
            ),
            Isotope::Zr89 => Sourced::cited(
                78.4,
                "78.4 h, EJNMMI Res 2015 'Novel 89Zr cell labeling approach for PET-based \
                 cell trafficking studies' (shared/reference/cell_parameters.csv)",
            ),
            Isotope::Cr51 => Sourced::cited(
                27.704 * 24.0,
                "27.704(4) d, ChemLin 'Chromium-51' (NUBASE-based nuclide data; Wikipedia \
                 'Isotopes of chromium' gives 27.7025 d); not in shared/reference",
            ),
        }
    }
}

/// Loss of label from live cells (1/h).
pub const LABEL_EFFLUX_PER_H: Sourced = Sourced::assumed(
    0.1 / 24.0,
    "no efflux rate of 111In from MSCs was found (shared/reference README, known gaps); 10 % \
     a day keeps the label quantitative of live cells over the survival half-lives of 20 h \
     to 37 d for which Blackwood et al. 2011 (Int J Mol Imaging 2011:472375) found 111In \
     activity quantitative",
);

/// Share of dead cells' label taken up by liver phagocytes.
pub const DEBRIS_LIVER_SHARE: Sourced = Sourced::assumed(
    0.8,
    "debris of dead cells is cleared by the mononuclear phagocyte system, which takes up \
     particles mainly in the liver (Kupffer cells) and less in the spleen and bone marrow, \
     as with colloid liver-spleen scintigraphy; no MSC measurement",
);

/// Share of the rest (not taken up by the liver) taken up by the spleen; the remainder goes
/// to other organs (bone marrow).
pub const DEBRIS_SPLEEN_SHARE_OF_REST: Sourced = Sourced::assumed(
    0.5,
    "spleen and bone marrow take up the phagocytosed share the liver leaves, about equally \
     (about 10 % each of the whole); no MSC measurement",
);

/// Loss of dead cells' label from the phagocytes that took it up (1/h).
pub const DEBRIS_CLEARANCE_PER_H: Sourced = Sourced::assumed(
    std::f64::consts::LN_2 / (7.0 * 24.0),
    "half-life of 7 days: radiometals (111In, 89Zr) are residualizing, retained in \
     phagocytes for days to weeks; the transit of label from killed cells to them (2.3 h, \
     canine myocardium, shared/reference/cell_parameters.csv) is short beside it and taken \
     as instantaneous",
);

/// Degradation of dead cells' DNA where the cells died (1/h).
pub const DNA_DEGRADATION_PER_H: Sourced = Sourced::assumed(
    std::f64::consts::LN_2 / 2.0,
    "half-life of 2 h: no measurement for MSCs. Lee et al. 2009 (PMC4154377) read their \
     human-DNA (Alu) qPCR signal in mouse lungs as cells, and its half-life of about a day \
     is the live-cell loss of the lung preset; that reading presumes dead cells' DNA is \
     cleared within hours (by phagocytes and nucleases). With a half-life of 12 h the \
     signal would lag the cells so much that the preset would no longer reproduce the \
     study's half-life (validation/lee2009_mouse_iv.toml)",
);
