//! Between-patient physiology: how much cardiac output, splenic flow and portal shunting
//! differ between subjects of one species and liver condition, for
//! `[variability] physiology = "between_patient"`.
//!
//! Each spread is data with its source, as every preset is: the study, species and measure
//! it was read in and what its spread is, or an `assumption:` saying why no measured spread
//! is used. A spread measured in one species or vascular bed is not carried over to
//! another: the laboratory animals' spreads are assumptions, since none was read for them.
//!
//! Spreads are of subjects of one body weight (the scenario's): body weight itself, which
//! sets doses per kg, blood volumes and cardiac output through the derivation of every
//! parameter, is not drawn (the parameters are resolved once per scenario), so the cardiac
//! output's spread is that of people of one size (of the cardiac index).

use super::{Disease, Species};
use crate::sourced::{Source, Sourced};

/// How one parameter is spread between subjects.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Spread {
    /// Log-normal with the scenario's resolved value as its median and this coefficient of
    /// variation (the value of the `Sourced`).
    LogNormal(Sourced),
    /// Uniform over `[low, high]`, whatever the resolved value.
    Uniform {
        /// Lowest value.
        low: f64,
        /// Highest value.
        high: f64,
        /// Where the range comes from.
        source: Source,
    },
}

impl Spread {
    /// Where the spread comes from.
    pub fn source(self) -> Source {
        match self {
            Spread::LogNormal(s) => s.source,
            Spread::Uniform { source, .. } => source,
        }
    }
}

/// The between-patient spreads of one species and liver condition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BetweenPatient {
    /// Of the cardiac output (at the scenario's body weight).
    pub cardiac_output: Spread,
    /// Of the splenic share of cardiac output.
    pub spleen_flow: Spread,
    /// Of the portal shunt, where the condition has one (`None`: the shunt is 0 and stays
    /// so).
    pub portal_shunt: Option<Spread>,
}

/// Healthy adults, cardiac magnetic resonance (aortic flow): cardiac index 3.2 +/- 0.5
/// (men) and 3.1 +/- 0.4 L/min/m^2 (women), mean +/- SD.
const HUMAN_CO_HEALTHY: Sourced = Sourced::cited(
    0.16,
    "human, 144 healthy volunteers, cardiac index by CMR aortic flow 3.2 +/- 0.5 (men) and \
     3.1 +/- 0.4 L/min/m^2 (women), mean +/- SD (J Cardiovasc Magn Reson 2012;14:51, read at \
     jcmr-online.biomedcentral.com): CV 0.5 / 3.2 = 0.16; the index's spread, since the \
     scenario fixes the body size",
);

/// Cirrhosis: the share of hyperdynamic patients, above 8 L/min (right heart
/// catheterization, Ripoll et al. 2015), around the model's healthy 6.5 L/min, which it
/// keeps in cirrhosis.
const HUMAN_CO_COMPENSATED: Sourced = Sourced::assumed(
    0.23,
    "human cirrhosis without ascites: 18 % had a hyperdynamic circulation, a cardiac output above 8 \
     L/min with systemic vascular resistance below 800 (right heart catheterization, 437 \
     cirrhotics; Ripoll et al. 2015, Z Gastroenterol 53:A2_2, read at \
     dx.doi.org/10.1055/s-0034-1397096); a log-normal with the model's 6.5 L/min as median \
     puts 18 % above 8 L/min with sigma = ln(8/6.5) / 0.915 = 0.227, CV 0.23 (no mean +/- SD \
     was read, and more than that share has a cardiac output above 8 L/min, so the spread is \
     a lower bound; the model keeps the healthy mean in cirrhosis, so this spread carries \
     the hyperdynamic patients)",
);

const HUMAN_CO_ASCITES: Sourced = Sourced::assumed(
    0.32,
    "human cirrhosis with ascites: 25 % had a hyperdynamic circulation, a cardiac output above 8 \
     L/min with systemic vascular resistance below 800 (right heart catheterization, 437 \
     cirrhotics; Ripoll et al. 2015, Z Gastroenterol 53:A2_2, read at \
     dx.doi.org/10.1055/s-0034-1397096); a log-normal with the model's 6.5 L/min as median \
     puts 25 % above 8 L/min with sigma = ln(8/6.5) / 0.674 = 0.308, CV 0.32 (no mean +/- SD \
     was read, and more than that share has a cardiac output above 8 L/min, so the spread is \
     a lower bound; the model keeps the healthy mean in cirrhosis, so this spread carries \
     the hyperdynamic patients)",
);

/// Spleen volume, CT/SPECT (Groshar et al. 2002), controls.
const HUMAN_SPLEEN_NORMAL: Sourced = Sourced::assumed(
    0.38,
    "human spleen volume 239 +/- 90 cm^3 (mean +/- SD, SPECT, 36 controls without cirrhosis; \
     Groshar et al. 2002, J Nucl Med 43:312, read at jnm.snmjournals.org): CV 0.38 of the \
     volume, taken as that of the splenic flow (no between-patient spread of splenic flow \
     was read; the presets already take splenic flow as proportional to volume, 99mTc-phytate \
     uptake per cm^3 being the same in cirrhosis)",
);

/// Spleen volume, CT/SPECT (Groshar et al. 2002), cirrhosis.
const HUMAN_SPLEEN_CIRRHOSIS: Sourced = Sourced::assumed(
    0.55,
    "human spleen volume 833 +/- 460 cm^3 (mean +/- SD, SPECT, 60 cirrhotics; Groshar et al. \
     2002, J Nucl Med 43:312, read at jnm.snmjournals.org): CV 0.55 of the volume, taken as \
     that of the splenic flow (no between-patient spread of splenic flow was read; the \
     presets already take splenic flow as proportional to volume)",
);

/// Per-rectal shunt index in cirrhosis without varices (Hamazaki et al. 1993).
const HUMAN_SHUNT_COMPENSATED: Sourced = Sourced::assumed(
    0.38,
    "human per-rectal 99mTc-pertechnetate shunt index 21.2 +/- 8.0 % in 13 cirrhotics \
     without oesophageal varices (Hamazaki et al. 1993, Hiroshima J Med Sci 42:143, read at \
     pubmedhh.nlm.nih.gov PMID 8014065): CV 0.38, taken around the compensated preset (0.27) \
     for cirrhosis without complications",
);

/// Shiomi et al. 1995: cirrhotics in three groups of roughly equal size by shunt index.
const HUMAN_SHUNT_DECOMPENSATED: Source = Source::Assumption(
    "human cirrhotics fell into three groups of roughly equal size with a per-rectal \
     99mTc-pertechnetate shunt index under 30 %, 30-70 % and over 70 % (Shiomi et al. 1995, \
     Am J Gastroenterol 90:460, read at biomaterialdatabase.com); mean 48.5 % in 214 \
     cirrhotics (Ikeoka et al. 1989, Nihon Shokakibyo Gakkai Zasshi 86:2757). A uniform \
     distribution on 0-1 has its tertiles at 0.33 and 0.67, the closest a single family \
     comes to tertiles at 0.3 and 0.7 (a normal truncated to 0-1 cannot spread that far); \
     taken for the decompensated although the index is higher with varices, ascites or \
     encephalopathy (Shiomi 1995), since no spread of the decompensated alone was read",
);

const HUMAN_CO_OTHER: Sourced = Sourced::assumed(
    0.16,
    "no spread of cardiac output was read in this condition: the healthy one (human, cardiac \
     index by CMR, CV 0.16, J Cardiovasc Magn Reson 2012;14:51)",
);

const HUMAN_SPLEEN_OTHER: Sourced = Sourced::assumed(
    0.38,
    "no spread of spleen size was read in this condition (no splenomegaly in its preset): \
     the controls' spleen volume CV (239 +/- 90 cm^3, Groshar et al. 2002) taken for \
     splenic flow",
);

const ANIMAL_CO: Sourced = Sourced::assumed(
    0.15,
    "no between-animal spread of cardiac output was read for this species (a human spread \
     is not carried over); laboratory animals of one strain and weight, taken as about as \
     variable as people of one size",
);

const ANIMAL_SPLEEN: Sourced = Sourced::assumed(
    0.3,
    "no between-animal spread of splenic flow or spleen size was read for this species (a \
     human spread is not carried over); 0.3, between the cardiac output's assumed spread and \
     the human spleen's",
);

const ANIMAL_SHUNT: Sourced = Sourced::assumed(
    0.4,
    "no between-animal spread of portosystemic shunting was read for this species (a human \
     spread is not carried over); 0.4, about as wide as the human cirrhotics' without \
     varices",
);

/// The between-patient spreads of `species` in `disease`.
pub fn between_patient(species: Species, disease: Disease) -> BetweenPatient {
    let cirrhotic = matches!(
        disease,
        Disease::CompensatedCirrhosis
            | Disease::DecompensatedCirrhosis
            | Disease::AcuteOnChronicLiverFailure
    );
    let shunted = disease.effects().portal_shunt.value > 0.0;
    if species != Species::Human {
        return BetweenPatient {
            cardiac_output: Spread::LogNormal(ANIMAL_CO),
            spleen_flow: Spread::LogNormal(ANIMAL_SPLEEN),
            portal_shunt: shunted.then_some(Spread::LogNormal(ANIMAL_SHUNT)),
        };
    }
    let cardiac_output = match disease {
        Disease::Healthy => HUMAN_CO_HEALTHY,
        Disease::CompensatedCirrhosis => HUMAN_CO_COMPENSATED,
        Disease::DecompensatedCirrhosis | Disease::AcuteOnChronicLiverFailure => HUMAN_CO_ASCITES,
        Disease::AcuteLiverFailure | Disease::LiverTransplantRejection => HUMAN_CO_OTHER,
    };
    let spleen_flow = match disease {
        Disease::Healthy => HUMAN_SPLEEN_NORMAL,
        _ if cirrhotic => HUMAN_SPLEEN_CIRRHOSIS,
        _ => HUMAN_SPLEEN_OTHER,
    };
    let portal_shunt = match disease {
        Disease::CompensatedCirrhosis => Some(Spread::LogNormal(HUMAN_SHUNT_COMPENSATED)),
        Disease::DecompensatedCirrhosis | Disease::AcuteOnChronicLiverFailure => {
            Some(Spread::Uniform {
                low: 0.0,
                high: 1.0,
                source: HUMAN_SHUNT_DECOMPENSATED,
            })
        }
        _ => None,
    };
    debug_assert_eq!(portal_shunt.is_some(), shunted);
    BetweenPatient {
        cardiac_output: Spread::LogNormal(cardiac_output),
        spleen_flow: Spread::LogNormal(spleen_flow),
        portal_shunt,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::Choice;

    #[test]
    fn every_spread_has_a_source_and_a_shunt_exactly_where_the_preset_has_one() {
        for &species in Species::ALL {
            for &disease in Disease::ALL {
                let b = between_patient(species, disease);
                let mut spreads = vec![b.cardiac_output, b.spleen_flow];
                spreads.extend(b.portal_shunt);
                for s in spreads {
                    assert!(
                        s.source().text().len() > 40,
                        "{species:?} {disease:?}: {s:?}"
                    );
                    if let Spread::LogNormal(cv) = s {
                        assert!(cv.value > 0.0 && cv.value < 1.0, "{cv:?}");
                    }
                }
                assert_eq!(
                    b.portal_shunt.is_some(),
                    disease.effects().portal_shunt.value > 0.0,
                    "{species:?} {disease:?}"
                );
                // A human spread is never carried over to an animal.
                if species != Species::Human {
                    assert!(matches!(
                        b.cardiac_output.source(),
                        Source::Assumption(t) if t.contains("not carried over")
                    ));
                }
            }
        }
    }
}
