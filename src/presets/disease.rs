//! Liver disease states and what they change: portosystemic shunting, homing of cells to
//! an injured liver, and the spleen (MODEL.md, "What changes the parameters").

use super::choice_enum;
use crate::sourced::Sourced;

choice_enum! {
    /// The recipient's liver condition.
    pub enum Disease {
        /// No liver disease.
        Healthy => "healthy",
        /// Cirrhosis without decompensation.
        CompensatedCirrhosis => "compensated_cirrhosis",
        /// Cirrhosis with ascites, variceal bleeding or encephalopathy.
        DecompensatedCirrhosis => "decompensated_cirrhosis",
        /// Acute liver failure in a previously healthy liver.
        AcuteLiverFailure => "acute_liver_failure",
        /// Acute-on-chronic liver failure.
        AcuteOnChronicLiverFailure => "acute_on_chronic_liver_failure",
        /// Rejection after liver transplantation.
        LiverTransplantRejection => "liver_transplant_rejection",
    }
}

/// How a disease modifies the healthy parameters (MODEL.md, "What changes the parameters";
/// evidence in `shared/reference/human_evidence.md`, sections 3 and 4).
#[derive(Debug, Clone, Copy)]
pub struct DiseaseEffects {
    /// Fraction of portal blood that bypasses the liver to the systemic veins through
    /// portosystemic collaterals.
    pub portal_shunt: Sourced,
    /// Multiplier on the liver's per-pass arrest for the share of liver inflow that
    /// still meets Kupffer cells and open sinusoids (intrahepatic shunts and
    /// capillarized sinusoids in cirrhosis bypass them).
    pub liver_perfusion_factor: Sourced,
    /// Multiplier on the liver homing hazard (per-pass arrest, in hazard form) and on the
    /// engraftment rate: an injured liver attracts cells through SDF-1/CXCR4 signalling.
    pub liver_homing_factor: Sourced,
    /// Multiplier on the splenic blood flow (splenomegaly): the enlarged spleen receives
    /// more blood with the same capture per pass, so the per-pass arrest is unchanged.
    pub spleen_flow_factor: Sourced,
}

const NO_SHUNT: Sourced = Sourced::assumed(
    0.0,
    "no portal hypertension, hence no portosystemic collaterals (the 4.8 % per-rectal shunt \
     index of healthy subjects, Ikeoka et al. 1989, reflects rectal veins that drain to the \
     systemic circulation anyway, not portal blood)",
);
const CIRRHOSIS_SHUNT: Sourced = Sourced::cited(
    0.485,
    "portosystemic shunt index 48.5 % in cirrhosis vs 4.8 % healthy and 8.4 % chronic \
     hepatitis (per-rectal 99mTc-pertechnetate, human, n = 214/13/79; Ikeoka et al. 1989, \
     Nihon Shokakibyo Gakkai Zasshi 86:2757); higher with varices, ascites or \
     encephalopathy (Shiomi et al. 1995, Am J Gastroenterol 90:460), so a lower bound for \
     decompensated patients",
);
const FULL_PERFUSION: Sourced = Sourced::assumed(
    1.0,
    "no intrahepatic shunting: every cell in the liver inflow meets the sinusoids",
);
const CIRRHOSIS_PERFUSION: Sourced = Sourced::cited(
    0.81,
    "single-pass hepatic extraction of colloidal 131I-albumin 75.8 % in cirrhosis with a \
     patent portal vein vs 94 % normal (human, hepatic inflow; intrahepatic shunts bypass \
     Kupffer cells): 75.8 / 94 (shared/reference/human_evidence.md section 4)",
);
/// Venous blood that crosses the lungs through dilated vessels without meeting their
/// capillaries (hepatopulmonary vasodilatation). Off by default for every disease: it is
/// present in some cirrhotics only, so a scenario of such a patient sets it.
pub const PULMONARY_SHUNT: Sourced = Sourced::assumed(
    0.0,
    "off unless a scenario sets it: intrapulmonary vasodilatation on contrast \
     echocardiography in 165 of 375 cirrhotics (44 %; Suceveanu et al. 2017, IntechOpen \
     'Liver Cirrhosis - Update'), hepatopulmonary syndrome in 4-47 % by definition, and a \
     99mTc-MAA shunt index of 6 % or more defines it (human; shared/reference/\
     human_evidence.md section 2): for such a patient 0.06-0.3",
);
const NO_FACTOR: Sourced = Sourced::assumed(1.0, "reference state: the healthy parameters");
const CHRONIC_HOMING: Sourced = Sourced::cited(
    1.96,
    "liver AUC(0-72 h) of hMSCs +96.2 % in chronic CCl4 fibrosis vs healthy mice (Ma et al. \
     2022, Drug Metab Dispos); applied to the homing hazard (assumption until calibrated)",
);
const ACUTE_HOMING: Sourced = Sourced::cited(
    2.77,
    "liver AUC(0-72 h) of hMSCs +177.1 % in acute CCl4 injury vs healthy mice (Ma et al. \
     2022, Drug Metab Dispos); applied to the homing hazard (assumption until calibrated)",
);
const DECOMPENSATED_SPLEEN: Sourced = Sourced::cited(
    2.5,
    "inference from two human cohorts: spleen volume 833 +/- 460 vs 239 +/- 90 mL (CT/SPECT, \
     cirrhosis vs controls; Groshar et al. 2002, J Nucl Med 43:312) times splenic perfusion \
     117.5 vs 160.3 mL/min/100 g (H2-15O PET; Oguro et al. 1993, Ann Nucl Med): 3.5 x 0.73 \
     = 2.5-fold splenic flow; capture per unit volume unchanged (99mTc-phytate 0.033 vs \
     0.032 %ID/cm3, Groshar 2002)",
);
const COMPENSATED_SPLEEN: Sourced = Sourced::assumed(
    1.5,
    "spleen/(liver + spleen) volume 26.7 % in Child A vs 15.7 % in controls (human CT; \
     Ozgen et al. 2024, J Exp Clin Med 41:738), about twice the spleen:liver ratio, taken \
     as twice the volume with a preserved liver, times the perfusion per volume of \
     cirrhosis (0.73, Oguro et al. 1993): 1.5-fold flow",
);

impl Disease {
    /// The disease's effects on the model.
    pub fn effects(self) -> DiseaseEffects {
        match self {
            Disease::Healthy => DiseaseEffects {
                portal_shunt: NO_SHUNT,
                liver_perfusion_factor: FULL_PERFUSION,
                liver_homing_factor: NO_FACTOR,
                spleen_flow_factor: NO_FACTOR,
            },
            Disease::CompensatedCirrhosis => DiseaseEffects {
                portal_shunt: Sourced::assumed(
                    0.27,
                    "less portal hypertension than the 48.5 % cirrhosis mean (Ikeoka et al. \
                     1989): functional portosystemic shunting 27 % in moderate chronic liver \
                     disease (ICG/antipyrine clearances, human; McLean et al. 1979, Clin \
                     Pharmacol Ther 25:161)",
                ),
                liver_perfusion_factor: Sourced::assumed(
                    0.9,
                    "halfway between a normal liver (1) and cirrhosis with a patent portal \
                     vein (0.81, colloidal albumin extraction 75.8 vs 94 %): hepatic colloid \
                     uptake falls progressively from Child A to C (Rutland & Que 1995, Nucl \
                     Med Commun 16:26)",
                ),
                liver_homing_factor: CHRONIC_HOMING,
                spleen_flow_factor: COMPENSATED_SPLEEN,
            },
            Disease::DecompensatedCirrhosis => DiseaseEffects {
                portal_shunt: CIRRHOSIS_SHUNT,
                liver_perfusion_factor: CIRRHOSIS_PERFUSION,
                liver_homing_factor: CHRONIC_HOMING,
                spleen_flow_factor: DECOMPENSATED_SPLEEN,
            },
            Disease::AcuteLiverFailure => DiseaseEffects {
                portal_shunt: NO_SHUNT,
                liver_perfusion_factor: FULL_PERFUSION,
                liver_homing_factor: ACUTE_HOMING,
                spleen_flow_factor: NO_FACTOR,
            },
            Disease::AcuteOnChronicLiverFailure => DiseaseEffects {
                portal_shunt: Sourced::assumed(
                    0.485,
                    "ACLF arises on cirrhosis: shunting as measured in cirrhotics (Ikeoka et \
                     al. 1989)",
                ),
                liver_perfusion_factor: Sourced::assumed(
                    0.81,
                    "ACLF arises on cirrhosis: intrahepatic shunting as in cirrhosis \
                     (colloidal albumin extraction 75.8 vs 94 %)",
                ),
                liver_homing_factor: Sourced::assumed(
                    2.77,
                    "acute injury on a chronic liver: the acute CCl4 factor of Ma et al. 2022",
                ),
                spleen_flow_factor: Sourced::assumed(
                    2.5,
                    "ACLF arises on cirrhosis: splenic flow as in decompensated cirrhosis",
                ),
            },
            Disease::LiverTransplantRejection => DiseaseEffects {
                portal_shunt: Sourced::assumed(
                    0.0,
                    "a new graft relieves portal hypertension; shunts are often ligated",
                ),
                liver_perfusion_factor: FULL_PERFUSION,
                liver_homing_factor: Sourced::assumed(
                    1.96,
                    "an inflamed graft is taken to attract cells like a chronically injured \
                     liver (Ma et al. 2022 chronic factor); no graft data found",
                ),
                spleen_flow_factor: Sourced::assumed(
                    1.0,
                    "splenomegaly regresses slowly after transplantation; taken as resolved \
                     (no data on splenic flow in rejection found)",
                ),
            },
        }
    }
}
