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

/// How a disease modifies the healthy parameters.
#[derive(Debug, Clone, Copy)]
pub struct DiseaseEffects {
    /// Fraction of portal blood that bypasses the liver to the systemic veins.
    pub portal_shunt: Sourced,
    /// Multiplier on the liver homing hazard (per-pass arrest, in hazard form) and on the
    /// engraftment rate: an injured liver attracts cells through SDF-1/CXCR4 signalling.
    pub liver_homing_factor: Sourced,
    /// Multiplier on the spleen's per-pass arrest hazard (splenomegaly).
    pub spleen_factor: Sourced,
}

const NO_SHUNT: Sourced = Sourced::assumed(
    0.0,
    "no portal hypertension, hence no portosystemic shunting",
);
const CIRRHOSIS_SHUNT: Sourced = Sourced::cited(
    0.36,
    "intrahepatic portosystemic shunt index 36 +/- 29 % (99mTc-MAA into the portal trunk, \
     n = 12 cirrhotics), Gastroenterology 1987;93:129 (PMID 3582900)",
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
const SPLENOMEGALY: Sourced = Sourced::assumed(
    1.5,
    "cirrhosis enlarges the spleen (congestive splenomegaly); splenic flow and trapping in \
     cirrhosis are a known gap",
);

impl Disease {
    /// The disease's effects on the model.
    pub fn effects(self) -> DiseaseEffects {
        match self {
            Disease::Healthy => DiseaseEffects {
                portal_shunt: NO_SHUNT,
                liver_homing_factor: NO_FACTOR,
                spleen_factor: NO_FACTOR,
            },
            Disease::CompensatedCirrhosis => DiseaseEffects {
                portal_shunt: Sourced::assumed(
                    0.15,
                    "below the 36 % measured in cirrhotics of mixed stage (PMID 3582900): \
                     compensated patients have less portal hypertension",
                ),
                liver_homing_factor: CHRONIC_HOMING,
                spleen_factor: SPLENOMEGALY,
            },
            Disease::DecompensatedCirrhosis => DiseaseEffects {
                portal_shunt: CIRRHOSIS_SHUNT,
                liver_homing_factor: CHRONIC_HOMING,
                spleen_factor: SPLENOMEGALY,
            },
            Disease::AcuteLiverFailure => DiseaseEffects {
                portal_shunt: NO_SHUNT,
                liver_homing_factor: ACUTE_HOMING,
                spleen_factor: NO_FACTOR,
            },
            Disease::AcuteOnChronicLiverFailure => DiseaseEffects {
                portal_shunt: Sourced::assumed(
                    0.36,
                    "ACLF arises on cirrhosis: shunting as measured in cirrhotics (PMID \
                     3582900)",
                ),
                liver_homing_factor: Sourced::assumed(
                    2.77,
                    "acute injury on a chronic liver: the acute CCl4 factor of Ma et al. 2022",
                ),
                spleen_factor: SPLENOMEGALY,
            },
            Disease::LiverTransplantRejection => DiseaseEffects {
                portal_shunt: Sourced::assumed(
                    0.0,
                    "a new graft relieves portal hypertension; shunts are often ligated",
                ),
                liver_homing_factor: Sourced::assumed(
                    1.96,
                    "an inflamed graft is taken to attract cells like a chronically injured \
                     liver (Ma et al. 2022 chronic factor); no graft data found",
                ),
                spleen_factor: NO_FACTOR,
            },
        }
    }
}
