//! The cell product: its source tissue, donor, and the fates of MSCs once trapped
//! (MODEL.md, "Fates of trapped cells" and "What changes the parameters").
//!
//! Cell-level facts were collected in `shared/reference/cell_parameters.csv`. Where the
//! reference set has a known gap (diameter by source, per-pass lung trapping against size,
//! survival by source) the value is an `assumption:` that a scenario can override.

use super::choice_enum;
use crate::sourced::Sourced;

choice_enum! {
    /// Tissue the MSCs were isolated from.
    pub enum CellSource {
        /// Bone-marrow MSCs.
        BoneMarrow => "bone_marrow",
        /// Umbilical-cord (Wharton's jelly) MSCs.
        UmbilicalCord => "umbilical_cord",
        /// Adipose-derived MSCs.
        Adipose => "adipose",
    }
}

choice_enum! {
    /// Whether the cells come from the patient or from another donor.
    pub enum Donor {
        /// The recipient's own cells.
        Autologous => "autologous",
        /// Cells from another individual of the same species.
        Allogeneic => "allogeneic",
    }
}

choice_enum! {
    /// Genetic modification or pretreatment of the cells before injection (MODEL.md, "What
    /// changes the parameters": multipliers on homing or survival).
    pub enum Modification {
        /// Unmodified cells.
        None => "none",
        /// Cells overexpressing CXCR4, the receptor of the liver's SDF-1 signal.
        Cxcr4Overexpression => "cxcr4_overexpression",
        /// Cells overexpressing c-Met, the receptor of HGF.
        CMetOverexpression => "cmet_overexpression",
        /// Cells cultured in low oxygen before injection.
        HypoxicPreconditioning => "hypoxic_preconditioning",
    }
}

/// Per-pass arrest of MSCs meeting a systemic capillary bed before any other.
const TOMA_ARREST: &str = "Toma et al. 2009 (PMC3700384): 92 +/- 7 % of 23 um rat BM-MSCs \
     arrested at precapillary level on first pass (rat cremaster muscle, intra-arterial bolus \
     into the common iliac artery, intravital microscopy)";

impl CellSource {
    /// Multiplier on the lungs' per-pass arrest hazard (`E' = 1 - (1 - E)^f`) relative to
    /// bone-marrow MSCs, for which the species' `lung_extraction` is set. Larger cells in
    /// suspension are trapped more (MODEL.md); diameter by source is a known gap.
    pub fn lung_hazard_factor(self) -> Sourced {
        match self {
            CellSource::BoneMarrow => {
                Sourced::assumed(1.0, "reference product of the species' lung arrest")
            }
            CellSource::UmbilicalCord => Sourced::assumed(
                0.75,
                "UC-MSCs are taken to be somewhat smaller in suspension than BM-MSCs, so \
                 trapped less (smaller MSC fractions passed capillary beds more: Ge et al. \
                 2014, Stem Cell Rev Rep 10:295, rats and mice, IA); diameter by source is \
                 a known gap",
            ),
            CellSource::Adipose => Sourced::assumed(
                1.0,
                "no diameter or per-pass data for adipose MSCs found; taken equal to BM-MSCs",
            ),
        }
    }

    /// Multiplier on the death rates of this product relative to bone-marrow MSCs.
    pub fn clearance_factor(self) -> Sourced {
        match self {
            CellSource::BoneMarrow => Sourced::assumed(
                1.0,
                "reference product: the fates below were measured with BM-MSCs",
            ),
            CellSource::UmbilicalCord | CellSource::Adipose => Sourced::assumed(
                1.0,
                "no comparative in-vivo survival data by source found; taken equal to BM-MSCs",
            ),
        }
    }
}

impl Donor {
    /// Multiplier on the death rates of trapped and engrafted cells.
    pub fn clearance_factor(self) -> Sourced {
        match self {
            Donor::Autologous => Sourced::cited(
                1.0,
                "reference: survival data below come from syngeneic or xenogeneic cells in \
                 immunocompromised hosts (Eggenhofer et al. 2012; Lee et al. 2009)",
            ),
            Donor::Allogeneic => Sourced::assumed(
                1.5,
                "an immunocompetent host clears allogeneic cells faster than its own; the \
                 size of the effect was not found, 1.5x is a placeholder to override",
            ),
        }
    }
}

impl Modification {
    /// Multiplier on homing to the liver: on the per-pass liver arrest (as a hazard,
    /// `1 - (1 - E)^f`) and on engraftment.
    pub fn homing_factor(self) -> Sourced {
        match self {
            Modification::None => Sourced::assumed(1.0, "reference: unmodified cells"),
            Modification::Cxcr4Overexpression => Sourced::assumed(
                2.0,
                "CXCR4-MSCs in CCl4 mice put almost all day-5 signal in the liver against \
                 liver ~ spleen for control MSCs (Ma HC et al. WJG 2014;20:14884, second-hand, \
                 shared/reference/cell_parameters.csv); no fold change was reported, 2x is a \
                 placeholder to override",
            ),
            Modification::CMetOverexpression => Sourced::assumed(
                2.0,
                "c-Met BMSCs homed to the liver significantly better in rat D-GalN/LPS failure \
                 (Wang K et al. Stem Cell Res Ther 2017;8:162, PMC5499016); qualitative only, \
                 2x is a placeholder to override",
            ),
            Modification::HypoxicPreconditioning => Sourced::assumed(
                1.5,
                "hypoxic culture is reported to raise CXCR4 expression, but the reference set \
                 holds no in-vivo homing data for it; 1.5x is a placeholder to override",
            ),
        }
    }

    /// Multiplier on the death rates of the cells outside the blood (below 1: they survive
    /// longer).
    pub fn clearance_factor(self) -> Sourced {
        match self {
            Modification::None | Modification::Cxcr4Overexpression => Sourced::assumed(
                1.0,
                "no survival effect reported or assumed (Ma HC et al. 2014 report homing only)",
            ),
            Modification::CMetOverexpression => Sourced::assumed(
                0.8,
                "c-Met BMSCs survived better in rat D-GalN/LPS failure (Wang K et al. 2017, \
                 PMC5499016); qualitative only, 0.8x is a placeholder to override",
            ),
            Modification::HypoxicPreconditioning => Sourced::assumed(
                0.8,
                "preconditioning aims at survival after injection; the reference set holds no \
                 in-vivo survival data for it, 0.8x is a placeholder to override",
            ),
        }
    }
}

/// First-order fates of MSCs (per hour) before the source, donor and disease modifiers.
#[derive(Debug, Clone, Copy)]
pub struct Fates {
    /// Death of circulating cells (complement, instant blood-mediated inflammatory reaction).
    pub blood_death_per_h: Sourced,
    /// Loss of cells trapped in the lungs (death + release).
    pub lung_loss_per_h: Sourced,
    /// Loss of cells trapped in systemic beds, sinusoids and spleen (death + release).
    pub trapped_loss_per_h: Sourced,
    /// Share of trapped-cell loss that is release back to venous blood, not death.
    pub release_share: Sourced,
    /// Per-pass arrest in capillary beds (lungs, `other`) of circulating cells, which have
    /// passed a capillary bed already.
    pub recirculating_capillary_extraction: Sourced,
    /// Per-pass arrest of cells injected into a systemic artery, which meet a systemic
    /// capillary bed before any other (route `systemic_artery`).
    pub other_first_pass_extraction: Sourced,
    /// Per-pass arrest in the liver sinusoids of a healthy liver, for circulating cells.
    pub liver_extraction: Sourced,
    /// Per-pass arrest in a healthy liver of cells just given into the portal vein or the
    /// hepatic artery (the whole product, not yet selected by a capillary bed).
    pub liver_first_pass_extraction: Sourced,
    /// Per-pass arrest in the spleen of a healthy subject.
    pub spleen_extraction: Sourced,
    /// Engraftment of sinusoidal cells into the parenchyma in a healthy liver.
    pub engraftment_per_h: Sourced,
    /// Death of engrafted cells.
    pub engrafted_death_per_h: Sourced,
}

/// The fates of MSCs, as measured or assumed.
pub const FATES: Fates = Fates {
    blood_death_per_h: Sourced::assumed(
        0.1,
        "IBMIR and complement act within minutes to hours; with circulation times of seconds \
         almost no cell stays in blood long enough for this rate to matter",
    ),
    lung_loss_per_h: Sourced::cited(
        0.0289,
        "ln 2 / 24 h: hMSCs trapped in mouse lung halve in about a day (Lee et al. 2009, \
         PMC4154377, Alu qPCR); viable only up to 24 h (Eggenhofer et al. 2012)",
    ),
    trapped_loss_per_h: Sourced::cited(
        0.0273,
        "-ln(0.14) / 72 h: 14 % of arrested MSCs remained at 3 days (Toma et al. 2009, \
         PMC3700384, rat cremaster)",
    ),
    release_share: Sourced::assumed(
        0.1,
        "Eggenhofer et al. 2012 found no viable MSCs outside the lungs after IV injection, so \
         most loss of trapped cells is death; 10 % release is an upper guess",
    ),
    recirculating_capillary_extraction: Sourced::assumed(
        0.1,
        "circulating cells have passed a capillary bed (pulmonary capillaries 5-8 um, no \
         wider than systemic ones), which selected the small and deformable ones: few of them \
         are arrested again, unlike the whole product on its first pass (lung.extraction; \
         Toma et al. 2009's 92 % for unselected cells, other.first_pass_extraction); smaller \
         MSC fractions pass capillary beds more (Ge et al. 2014, Stem Cell Rev Rep 10:295). \
         After IV injection label moves from the lungs to the liver and spleen, not to muscle \
         (rat: Gao et al. 2001, Cells Tissues Organs, 111In; dog: Kraitchman et al. 2005, \
         Circulation 112:1451). Plausible range 0.02-0.5",
    ),
    other_first_pass_extraction: Sourced::cited(0.92, TOMA_ARREST),
    liver_extraction: Sourced::assumed(
        0.5,
        "sinusoids (7-15 um) are wider than the capillaries of Toma et al. 2009 and flow is \
         slow, and circulating cells were selected small by a capillary bed; no per-pass \
         liver arrest measured for MSCs. Plausible range 0.2-0.95",
    ),
    liver_first_pass_extraction: Sourced::assumed(
        0.8,
        "the whole product meets portal venules and sinusoids (7-15 um) first: MSCs are \
         17-30 um in suspension (Ge et al. 2014; Toma et al. 2009: 23 um), so most lodge, \
         though fewer than the 92 % a muscle capillary bed arrests (Toma et al. 2009); no \
         per-pass value measured for MSCs. Plausible range 0.5-0.99",
    ),
    spleen_extraction: Sourced::assumed(
        0.5,
        "the red pulp filters large cells (spleen activity rises after IV MSCs, Detante et al. \
         2009) but no per-pass value was found",
    ),
    engraftment_per_h: Sourced::assumed(
        0.003,
        "transmigration of arrested MSCs into a healthy liver is slow and rare: with the \
         trapped-cell loss of Toma et al. 2009 about 10 % of sinusoidal cells engraft",
    ),
    engrafted_death_per_h: Sourced::assumed(
        0.001,
        "half-life of about 29 days: human-derived liver cells persisted weeks 2-10 and \
         declined by week 15 after intraportal hBMSCs in pigs (Li et al. 2012, PMID \
         22422600)",
    ),
};
