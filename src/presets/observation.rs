//! Defaults of the observation layer (MODEL.md, "What an observer sees"): the radionuclides
//! cells are labelled with, and what becomes of the label and of the DNA of cells that die.
//!
//! The physical half-lives are measured constants. Where phagocytes take up the label of
//! dead cells follows a colloid scan in humans, by disease (`debris_shares`), and free
//! 111In leaves the plasma on transferrin as measured in dogs. How fast label leaves live
//! MSCs, how long phagocytes hold it and how fast dead cells' DNA is degraded are gaps of
//! the reference data (`shared/reference/README.md`), set as `assumption:`s with their
//! reasons. Every value is for a residualizing 111In-like label and overridable as a
//! parameter (`label.*`, `dna.*`), estimable with `cellpk fit`: a scenario with another
//! label (99mTc-HMPAO, 51Cr) should override the label's fate, which differs.

use super::choice_enum;
use super::disease::Disease;
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

/// Where phagocytes take up the label of cells that die outside the organs that hold them
/// (lungs, other tissues, blood, a peritoneal depot): a share to the liver, and of the rest
/// a share to the spleen, the remainder to bone marrow.
#[derive(Debug, Clone, Copy)]
pub struct DebrisShares {
    /// Share taken up by liver phagocytes (Kupffer cells).
    pub liver: Sourced,
    /// Share of the rest taken up by the spleen; bone marrow takes what remains.
    pub spleen_of_rest: Sourced,
}

/// Groshar D, Slobodin G, Zuckerman E, J Nucl Med 2002;43(3):312-317 (abstract; in
/// shared/reference/human_evidence.md, section 3), is the source of both pairs below:
/// humans, IV 99mTc-phytate colloid, quantitative SPECT of total liver and spleen uptake
/// (%ID), 36 controls without cirrhosis and 60 patients with cirrhosis. A colloid stands
/// for debris: both are cleared by the mononuclear phagocytes of the whole reticulo-
/// endothelial bed. Not measured there: the rest (100 % minus liver and spleen) is marrow
/// and background; all of it is given to marrow.
const HEALTHY_DEBRIS: DebrisShares = DebrisShares {
    liver: Sourced::cited(
        0.62,
        "liver uptake 61.6 +/- 10.2 %ID of IV 99mTc-phytate colloid by quantitative SPECT in 36 \
         human controls without cirrhosis (Groshar D et al., J Nucl Med 2002;43:312; \
         shared/reference/human_evidence.md section 3); a colloid stands for the debris of \
         dead cells, taken up by the same mononuclear phagocytes",
    ),
    spleen_of_rest: Sourced::cited(
        0.2,
        "spleen uptake 7.6 +/- 3.2 %ID of IV 99mTc-phytate colloid by quantitative SPECT in 36 \
         human controls, i.e. 7.6 / 38.4 = 0.198 of what the liver leaves (Groshar D et al., \
         J Nucl Med 2002;43:312; shared/reference/human_evidence.md section 3); the other \
         30.8 %ID (marrow and background, not measured) is given to bone marrow",
    ),
};

/// Cirrhosis: the colloid shift away from the liver to spleen and marrow (same study).
const CIRRHOSIS_DEBRIS: DebrisShares = DebrisShares {
    liver: Sourced::cited(
        0.36,
        "liver uptake 35.6 +/- 13.5 %ID of IV 99mTc-phytate colloid by quantitative SPECT in 60 \
         human cirrhotics of mixed Child-Pugh class (Groshar D et al., J Nucl Med 2002;43:312; \
         shared/reference/human_evidence.md section 3): the colloid shift of cirrhosis; a \
         colloid stands for the debris of dead cells",
    ),
    spleen_of_rest: Sourced::cited(
        0.39,
        "spleen uptake 24.9 +/- 12 %ID of IV 99mTc-phytate colloid by quantitative SPECT in 60 \
         human cirrhotics, i.e. 24.9 / 64.4 = 0.387 of what the liver leaves (Groshar D et \
         al., J Nucl Med 2002;43:312; shared/reference/human_evidence.md section 3); the \
         other 39.5 %ID (marrow and background, not measured) is given to bone marrow",
    ),
};

/// Compensated cirrhosis: Groshar's cirrhotics were of mixed stage, not split by it.
const COMPENSATED_DEBRIS: DebrisShares = DebrisShares {
    liver: Sourced::cited(
        0.36,
        "liver uptake 35.6 +/- 13.5 %ID of IV 99mTc-phytate colloid by quantitative SPECT in 60 \
         human cirrhotics (Groshar D et al., J Nucl Med 2002;43:312; \
         shared/reference/human_evidence.md section 3); their cirrhotics were of mixed \
         Child-Pugh class and the abstract gives no value by stage, so compensated cirrhosis \
         takes the mixed-stage value (liver uptake fell with severity, r = -0.68)",
    ),
    spleen_of_rest: Sourced::cited(
        0.39,
        "spleen uptake 24.9 +/- 12 %ID of IV 99mTc-phytate colloid by quantitative SPECT in 60 \
         human cirrhotics, 24.9 / 64.4 = 0.387 of what the liver leaves (Groshar D et al., J \
         Nucl Med 2002;43:312; shared/reference/human_evidence.md section 3); their \
         cirrhotics were of mixed Child-Pugh class, so compensated cirrhosis takes the \
         mixed-stage value",
    ),
};

/// A liver disease without portal hypertension: the healthy shares.
const NO_SHIFT_DEBRIS: DebrisShares = DebrisShares {
    liver: Sourced::assumed(
        0.62,
        "the healthy value, 61.6 %ID of IV 99mTc-phytate colloid in the liver by quantitative \
         SPECT in human controls (Groshar D et al., J Nucl Med 2002;43:312): the colloid \
         shift to spleen and marrow comes with portal hypertension and splenomegaly \
         (shared/reference/human_evidence.md section 3), which this disease does not have; \
         no colloid measurement in it was found",
    ),
    spleen_of_rest: Sourced::assumed(
        0.2,
        "the healthy value, 7.6 / 38.4 %ID of IV 99mTc-phytate colloid in the spleen by \
         quantitative SPECT in human controls (Groshar D et al., J Nucl Med 2002;43:312): no \
         portal hypertension, hence no colloid shift; no colloid measurement in this disease \
         was found",
    ),
};

/// Where phagocytes take up dead cells' label in `disease` (`label.debris_liver_share`,
/// `label.debris_spleen_share_of_rest`).
pub const fn debris_shares(disease: Disease) -> DebrisShares {
    match disease {
        Disease::Healthy => HEALTHY_DEBRIS,
        Disease::CompensatedCirrhosis => COMPENSATED_DEBRIS,
        Disease::DecompensatedCirrhosis | Disease::AcuteOnChronicLiverFailure => CIRRHOSIS_DEBRIS,
        Disease::AcuteLiverFailure | Disease::LiverTransplantRejection => NO_SHIFT_DEBRIS,
    }
}

/// Loss of label from the phagocytes that took it up, and from cells that died in place
/// (1/h).
pub const DEBRIS_CLEARANCE_PER_H: Sourced = Sourced::cited(
    // 2 % of the initial activity a day, as a first-order rate: -ln(0.98) per day.
    0.020_202_707_317_519_466 / 24.0,
    "elution of 111In from the human spleen's phagocytes of about 2 % of the initial \
     activity per day, after IV 111In-labelled heat-damaged erythrocytes in 14 subjects \
     (Peters AM, Klonizakis I, Lavender JP, Lewis SM 1982, J Clin Pathol 35:507, abstract \
     read at jcp.bmj.com/content/35/5/507), as a first-order rate (-ln 0.98 per day, a \
     half-life of 34 days): the bed is the one this value acts on, 111In held by \
     reticuloendothelial cells that took up labelled cells. The same study saw the liver \
     gain about 5 % of its initial uptake a day, eluted 111In being taken up again; the \
     model counts eluted label as leaving the body, so its late liver is a lower estimate \
     by up to that. Consistent with 111In-platelet label not lost from the \
     reticuloendothelial system over 9 days and negligible urine and stool excretion of \
     111In from granulocytes over 48 h (Forstrom et al. 1995, Nucl Med Commun 16:349; \
     shared/reference/human_evidence.md sections 1 and 5). Other labels differ and a \
     scenario using them should override: 99mTc-HMPAO released from dead cells is largely \
     excreted by the kidneys (Detante et al. 2009, rat), 51Cr in the urine. The transit of \
     label from killed cells to phagocytes (2.3 h, canine myocardium, \
     shared/reference/cell_parameters.csv) is short beside it and taken as instantaneous",
);

/// Clearance of label that left live cells from the plasma, where free 111In binds
/// transferrin (1/h).
pub const PLASMA_CLEARANCE_PER_H: Sourced = Sourced::cited(
    std::f64::consts::LN_2 / 6.0,
    "half-life of 6 h: 111In-transferrin in dogs left the plasma with half-lives of 6 h and \
     49 h, with progressive liver and bone-marrow uptake over 48 h (acemap 394146492; \
     shared/reference/human_evidence.md section 5); the fast phase is taken, the slow one \
     being in part the return of 111In from tissues. Free indium binds transferrin (rat \
     serum, J Environ Monit 2001) and is hardly excreted (granulocyte label in humans: \
     urine + stool negligible over 48 h, Forstrom et al. 1995). For a 111In-like \
     residualizing label; a label whose free form is excreted (99mTc-HMPAO: renal, \
     Detante et al. 2009) should override this and `label.transferrin_liver_share`",
);

/// Share of the label cleared from plasma (transferrin-bound) that the liver takes up; bone
/// marrow takes the rest.
pub const TRANSFERRIN_LIVER_SHARE: Sourced = Sourced::assumed(
    0.5,
    "111In-transferrin in dogs was taken up progressively by liver and bone marrow over 48 h \
     (acemap 394146492; shared/reference/human_evidence.md section 5), with no split in the \
     record read; 111InCl3 is a bone-marrow (erythroid) marker, and the liver holds \
     transferrin-bound iron stores: an even split until the shares are measured",
);

/// Share of the label cleared from plasma that the kidneys excrete; liver and marrow take
/// up the rest.
pub const PLASMA_EXCRETED_SHARE: Sourced = Sourced::cited(
    0.0,
    "111In that leaves cells binds transferrin and is hardly excreted: urine and stool \
     excretion negligible over 48 h after 111In-granulocytes in 10 healthy volunteers \
     (Forstrom et al. 1995, Nucl Med Commun 16:349). Other labels differ: 99mTc from \
     HMPAO-labelled cells is eliminated mainly by the kidneys (Detante et al. 2009, rat; \
     urine 30 % of 99mTc-granulocyte activity in 32 h, Skretting et al. 1988, human), so \
     99mTc scenarios set it near 1",
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
