//! Species physiology: body weight, cardiac output, blood volume and organ blood-flow
//! fractions (MODEL.md, "Circulation").
//!
//! Values were read in public PBPK model code that cites the primary tables (Brown et al.
//! 1997; Davies & Morris 1993; ICRP 2002) and collected in `shared/reference/physiology.csv`;
//! each `Sourced` names the primary source and the file it was read in.

use super::choice_enum;
use crate::sourced::Sourced;

choice_enum! {
    /// The animal or person receiving the cells.
    pub enum Species {
        /// Laboratory mouse.
        Mouse => "mouse",
        /// Laboratory rat.
        Rat => "rat",
        /// Domestic pig.
        Pig => "pig",
        /// Adult human.
        Human => "human",
    }
}

/// Physiology of one species at its reference body weight.
#[derive(Debug, Clone, Copy)]
pub struct Physiology {
    /// Reference body weight (kg): the default when a scenario gives none.
    pub reference_weight_kg: Sourced,
    /// Cardiac output at the reference weight (L/h); scaled to other weights by
    /// `ALLOMETRIC_EXPONENT`.
    pub cardiac_output_l_per_h: Sourced,
    /// Total blood volume per body weight (L/kg).
    pub blood_l_per_kg: Sourced,
    /// Fraction of the blood volume that is venous (the rest is arterial).
    pub venous_fraction: Sourced,
    /// Hepatic-artery blood flow (fraction of cardiac output).
    pub hepatic_artery_fraction: Sourced,
    /// Splenic blood flow (fraction of cardiac output), drained by the portal vein.
    pub spleen_fraction: Sourced,
    /// Non-splenic splanchnic flow (gut, stomach, pancreas) drained by the portal vein
    /// (fraction of cardiac output): total liver flow minus hepatic artery minus spleen.
    pub gut_fraction: Sourced,
    /// Per-pass arrest of bone-marrow MSCs in this species' lungs (other products scale
    /// it by `CellSource::lung_hazard_factor`). Nowhere measured per pass: each value
    /// states its evidence and plausible range, the prior of `cellpk calibrate`.
    pub lung_extraction: Sourced,
    /// Body weights (kg) accepted for this species; outside them a scenario is rejected as
    /// a probable unit mistake.
    pub plausible_weight_kg: (f64, f64),
}

/// Exponent of body weight in cardiac output, Q = Q_ref (W / W_ref)^0.75.
pub const ALLOMETRIC_EXPONENT: Sourced = Sourced::cited(
    0.75,
    "Brown et al. 1997 (cardiac output = QCC x BW^0.75), as coded in public PBPK models \
     (shared/reference/physiology.csv)",
);

impl Species {
    /// The species' physiology presets.
    pub fn physiology(self) -> Physiology {
        match self {
            Species::Mouse => MOUSE,
            Species::Rat => RAT,
            Species::Pig => PIG,
            Species::Human => HUMAN,
        }
    }
}

const TWO_THIRDS_VENOUS: Sourced = Sourced::assumed(
    2.0 / 3.0,
    "venous:arterial blood 2:1, as measured in rat (11.3 vs 5.6 mL per 250 g, \
     doi:10.1007/bf02353860) and coded for human (5.62 vs 2.81 % BW); no species value read",
);

const RODENT_LUNG: Sourced = Sourced::assumed(
    0.9,
    "no per-pass lung value for MSCs in rodents; after IV injection the lungs hold nearly \
     all MSCs: mouse, 2e6 hMSCs IV, fewer than 1000 cells in six other tissues (Lee et al. \
     2009, PMC4154377, Alu qPCR) and most 51Cr in the lungs at 1 h (Eggenhofer et al. \
     2012, PMC3458305); rat, IV, most MSCs trapped in the lungs, 30-fold less pulmonary \
     passage than bone-marrow mononuclear cells (Fischer et al. 2009, doi \
     10.1089/scd.2008.0253). Plausible range 0.6-0.99. Not Toma et al. 2009's 0.92, which \
     is the rat cremaster muscle (other.first_pass_extraction)",
);

const LARGE_MAMMAL_LUNG: Sourced = Sourced::assumed(
    0.5,
    "no per-pass lung arrest of MSCs measured in humans or pigs (shared/reference/\
     human_evidence.md). Lower than in rodents: rodent studies give 10-100 times the \
     clinical dose per kg as one fast bolus, and splitting an MSC bolus in two raised \
     pulmonary passage in rats (Fischer et al. 2009), while clinical doses are infused \
     slowly; human 99mTc-granulocytes (smaller, deformable) lodge 22-31 % in the lungs at \
     first (Skretting et al. 1988, Eur J Nucl Med 14:1, healthy volunteers, IV), a lower \
     bound for larger MSCs. Plausible range 0.2-0.9",
);

const MOUSE: Physiology = Physiology {
    reference_weight_kg: Sourced::cited(
        0.025,
        "Brown et al. 1997 reference mouse (25 g), as coded in jhhughes256/len_pbpk \
         mouse_build12.R",
    ),
    cardiac_output_l_per_h: Sourced::cited(
        0.8388,
        "13.98 mL/min at 25 g, Brown et al. 1997, as coded in jhhughes256/len_pbpk \
         mouse_build12.R",
    ),
    blood_l_per_kg: Sourced::cited(
        0.049,
        "4.9 % of body weight, Brown et al. 1997 Table 21 (as cited in the Chen/Lin mrgsolve \
         PBTK mouse model and a JPET PBPK table)",
    ),
    venous_fraction: TWO_THIRDS_VENOUS,
    hepatic_artery_fraction: Sourced::cited(
        0.02,
        "Brown et al. 1997 (2.0 % of CO), as cited in Lee et al. 2020 Suppl. Table 1",
    ),
    spleen_fraction: Sourced::cited(
        0.011,
        "Davies & Morris 1993 Table III (1.1 % of CO), as cited in the Chen/Lin mrgsolve \
         PBTK mouse model",
    ),
    gut_fraction: Sourced::cited(
        0.13,
        "total liver flow 16.1 % of CO (Brown et al. 1997 Table 23) minus hepatic artery \
         2.0 % minus spleen 1.1 %",
    ),
    lung_extraction: RODENT_LUNG,
    plausible_weight_kg: (0.01, 0.06),
};

const RAT: Physiology = Physiology {
    reference_weight_kg: Sourced::cited(
        0.25,
        "reference 250 g rat, Davies & Morris 1993 (as coded in the PBK_Grouping PFOA model)",
    ),
    cardiac_output_l_per_h: Sourced::cited(
        4.44,
        "74 mL/min for a 250 g rat, Davies & Morris 1993 (as coded in the PBK_Grouping PFOA \
         model)",
    ),
    blood_l_per_kg: Sourced::cited(
        0.0676,
        "venous 11.3 + arterial 5.6 mL per 250 g, doi:10.1007/bf02353860 (as coded in the \
         PBK_Grouping PFOA model)",
    ),
    venous_fraction: Sourced::cited(
        0.6686,
        "11.3 of 16.9 mL venous, doi:10.1007/bf02353860 (as coded in the PBK_Grouping PFOA \
         model)",
    ),
    hepatic_artery_fraction: Sourced::cited(
        0.021,
        "Brown et al. 1997 (2.1 % of CO), as coded in the PBK_Grouping PFOA model",
    ),
    spleen_fraction: Sourced::cited(
        0.0085,
        "0.63 of 74 mL/min, Davies & Morris 1993 (as coded in the PBK_Grouping PFOA model)",
    ),
    gut_fraction: Sourced::cited(
        0.2125,
        "total liver flow 24.2 % of CO (F344 rat PBPK, J Toxicol 2012:629781 Table 1) minus \
         hepatic artery 2.1 % minus spleen 0.85 %",
    ),
    lung_extraction: RODENT_LUNG,
    plausible_weight_kg: (0.05, 1.0),
};

const PIG: Physiology = Physiology {
    reference_weight_kg: Sourced::cited(
        40.0,
        "model default pig, Mi & Lin mrgsolve swine PBPK (as coded)",
    ),
    cardiac_output_l_per_h: Sourced::cited(
        348.0,
        "8.7 L/h/kg x 40 kg, Lin et al. 2020 Table 36 (as coded in the Mi & Lin swine PBPK)",
    ),
    blood_l_per_kg: Sourced::cited(
        0.041,
        "Lin et al. 2020 Table 9 (as coded in the Mi & Lin swine PBPK)",
    ),
    venous_fraction: TWO_THIRDS_VENOUS,
    hepatic_artery_fraction: Sourced::assumed(
        0.0619,
        "pig liver flow 24.3 % of CO (Lin et al. 2020 Table 28) split between hepatic artery, \
         spleen and gut in human proportions (6.5 : 3 : 16); no pig split read",
    ),
    spleen_fraction: Sourced::assumed(
        0.0286,
        "pig splenic flow is a known gap; 24.3 % liver flow (Lin et al. 2020) x human share \
         3/25.5",
    ),
    gut_fraction: Sourced::assumed(
        0.1525,
        "pig liver flow 24.3 % (Lin et al. 2020) minus the assumed hepatic-artery and splenic \
         shares",
    ),
    lung_extraction: LARGE_MAMMAL_LUNG,
    plausible_weight_kg: (5.0, 350.0),
};

const HUMAN: Physiology = Physiology {
    reference_weight_kg: Sourced::cited(
        70.0,
        "ICRP reference adult male, as tabulated in NRC 1999 (radon report, Appendix A)",
    ),
    cardiac_output_l_per_h: Sourced::cited(
        390.0,
        "6.5 L/min, reference adult male, NRC 1999 Appendix Table A-1 (CO from Williams \
         1993); same value in PubMed 14506981",
    ),
    blood_l_per_kg: Sourced::cited(
        0.079,
        "7.9 % of body weight, Brown et al. 1997 (as cited in a JPET PBPK table)",
    ),
    venous_fraction: Sourced::cited(
        2.0 / 3.0,
        "venous 5.62 % and arterial 2.81 % of BW, as coded in metrumresearchgroup \
         BayesPBPK-tutorial (no per-line citation)",
    ),
    hepatic_artery_fraction: Sourced::cited(
        0.065,
        "6.5 % of CO, NRC 1999 Appendix Table A-1; Brown et al. 1997",
    ),
    spleen_fraction: Sourced::cited(0.03, "3 % of CO, ICRP 2002 (as coded in PBPK models)"),
    gut_fraction: Sourced::cited(
        0.16,
        "gut 14 % + stomach 1 % + pancreas 1 % of CO: total liver flow 25.5 % minus hepatic \
         artery and spleen, as coded in metrumresearchgroup BayesPBPK-tutorial",
    ),
    lung_extraction: LARGE_MAMMAL_LUNG,
    plausible_weight_kg: (2.0, 250.0),
};
