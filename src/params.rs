//! Model parameters by name, and their resolution from presets and overrides.
//!
//! A parameter has one dotted name (`lung.extraction`) used in `[parameters]` overrides,
//! `cellpk params`, `resolved.toml` and sweep axes. `resolve` combines the species, cell,
//! donor and disease presets into the value the model uses, keeping a source text that
//! shows how the value was obtained; an override then replaces the value. A
//! [`Calibration`] (`resolve_with`) replaces the preset a derivation starts from.

pub mod calibration;

use std::sync::Arc;

use crate::presets::cells::FATES;
use crate::presets::disease;
use crate::presets::mechanisms as mech;
use crate::presets::observation;
use crate::presets::routes::DEPOT;
use crate::presets::species::ALLOMETRIC_EXPONENT;
use crate::presets::{CellSource, Choice, Disease, Donor, Modification, Species};
use crate::sourced::Sourced;

pub use calibration::Calibration;

/// Fastest first-order rate accepted (1/h): a turnover of 0.36 s.
///
/// Assumption: no process the model resolves is faster. Its fastest dynamics are the
/// circulation's (blood turns over every 10-40 s in a human, every 2-5 s in a mouse, about
/// 1e3 /h), and the engine resolves the first 0.36 s after each dose event
/// (`engine::TRANSIENT_OFFSETS_H` start at 1e-4 h). A cell fate faster than that is
/// instantaneous at every resolution the outputs have, so a larger value is an error in
/// the unit or the exponent, not a faster biology. The bound also keeps the rate matrix
/// within the range where its exponential conserves cells to rounding (1e15 /h gave
/// mass-balance errors of 8e2 of the dose, 1e40 /h hung the matrix exponential).
pub const MAX_RATE_PER_H: f64 = 1e4;

/// Cardiac output accepted (L/h): from a quarter of a 10 g mouse's (0.42 L/h, allometric
/// from 0.84 L/h at 25 g) to five times a 350 kg pig's (about 1,800 L/h). Assumption:
/// physiological orders of magnitude across the four species at every accepted body
/// weight, with margin either side for hyperdynamic or failing circulations.
pub const CARDIAC_OUTPUT_L_PER_H: (f64, f64) = (1e-1, 1e4);

/// Blood volumes accepted (L): from a sixteenth of a 10 g mouse's arterial blood (1.6e-4 L)
/// to twenty times a 350 kg pig's venous blood (9.6 L). Assumption as for cardiac output:
/// physiological orders of magnitude with margin. How fast the blood turns over, cardiac
/// output over a volume, is bounded as well (`MAX_TURNOVER_PER_H`), since the two bounds
/// alone would allow 1e9 /h.
pub const BLOOD_VOLUME_L: (f64, f64) = (1e-5, 2e2);

/// Fastest turnover of a blood compartment accepted, cardiac output over its volume (1/h):
/// once every 36 ms. The fastest of any accepted subject's presets is a 10 g mouse's
/// arterial blood, about 2,600 /h (1.4 s); the bound leaves a factor of 40 and keeps the
/// rate matrix within the range where the exact engine conserves cells to rounding.
pub const MAX_TURNOVER_PER_H: f64 = 1e5;

/// Largest fold, weight or multiple of a baseline accepted. Assumption: a homing or
/// clearance fold, a paracrine weight or a rise of a marker's production a thousand times
/// its reference is beyond any reported biology; larger values multiply rates past
/// `MAX_RATE_PER_H` inside the mechanisms and stall the general integrator.
pub const MAX_MULTIPLE: f64 = 1e3;

/// Smallest fold accepted: a thousandth (the mirror of `MAX_MULTIPLE`).
pub const MIN_FOLD: f64 = 1e-3;

/// Largest cell count a parameter accepts (a niche capacity, a half-maximal count): a
/// thousand times the largest dose accepted (`scenario::rules::MAX_CELLS_PER_DOSE`) and
/// above the 3e13 cells of an adult human body. Fewer than one cell is not a count.
pub const CELLS: (f64, f64) = (1.0, 1e15);

/// The range of values a parameter accepts. Every bound is finite: `check` accepting a
/// value is a promise that `run` and `sweep` complete with cells conserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A fraction in [0, 1].
    Fraction,
    /// A first-order rate in [0, `MAX_RATE_PER_H`] (per hour).
    Rate,
    /// A first-order rate in (0, `MAX_RATE_PER_H`] (per hour).
    PositiveRate,
    /// Cardiac output within `CARDIAC_OUTPUT_L_PER_H` (L/h).
    CardiacOutput,
    /// A blood volume within `BLOOD_VOLUME_L` (L).
    Volume,
    /// A number of cells within `CELLS`.
    Cells,
    /// A fold in [`MIN_FOLD`, `MAX_MULTIPLE`].
    Fold,
    /// A weight or multiple in [0, `MAX_MULTIPLE`].
    Weight,
    /// A multiple in (0, `MAX_MULTIPLE`].
    Positive,
}

impl Kind {
    /// The lower bound, whether it is itself accepted, and the (accepted) upper bound.
    pub const fn bounds(self) -> (f64, bool, f64) {
        match self {
            Kind::Fraction => (0.0, true, 1.0),
            Kind::Rate => (0.0, true, MAX_RATE_PER_H),
            Kind::PositiveRate => (0.0, false, MAX_RATE_PER_H),
            Kind::CardiacOutput => (CARDIAC_OUTPUT_L_PER_H.0, true, CARDIAC_OUTPUT_L_PER_H.1),
            Kind::Volume => (BLOOD_VOLUME_L.0, true, BLOOD_VOLUME_L.1),
            Kind::Cells => (CELLS.0, true, CELLS.1),
            Kind::Fold => (MIN_FOLD, true, MAX_MULTIPLE),
            Kind::Weight => (0.0, true, MAX_MULTIPLE),
            Kind::Positive => (0.0, false, MAX_MULTIPLE),
        }
    }

    /// Whether `value` is acceptable; NaN and infinities never are.
    pub fn admits(self, value: f64) -> bool {
        let (low, closed, high) = self.bounds();
        value.is_finite() && (value > low || (closed && value == low)) && value <= high
    }

    /// The accepted range, for messages and `cellpk params` (which add the unit).
    pub const fn range(self) -> &'static str {
        match self {
            Kind::Fraction => "a fraction between 0 and 1",
            Kind::Rate => "a rate from 0 to 1e4",
            Kind::PositiveRate => "a rate > 0 and <= 1e4",
            Kind::CardiacOutput => "a cardiac output from 0.1 to 1e4",
            Kind::Volume => "a blood volume from 1e-5 to 200",
            Kind::Cells => "a number from 1 to 1e15",
            Kind::Fold => "a fold from 0.001 to 1000",
            Kind::Weight => "a number >= 0 and <= 1000",
            Kind::Positive => "a number > 0 and <= 1000",
        }
    }
}

macro_rules! parameters {
    ($($variant:ident => ($name:literal, $unit:literal, $kind:ident, $doc:literal),)+) => {
        /// A model parameter. Names, units and ranges are listed once, here.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Param {
            $(#[doc = $doc] $variant,)+
        }

        impl Param {
            /// Every parameter, in table order.
            pub const ALL: &'static [Param] = &[$(Param::$variant,)+];

            /// Dotted name used in scenario files and outputs.
            pub const fn name(self) -> &'static str {
                match self { $(Param::$variant => $name,)+ }
            }

            /// Unit of the value.
            pub const fn unit(self) -> &'static str {
                match self { $(Param::$variant => $unit,)+ }
            }

            /// Accepted range.
            pub const fn kind(self) -> Kind {
                match self { $(Param::$variant => Kind::$kind,)+ }
            }

            /// What the parameter means.
            pub const fn description(self) -> &'static str {
                match self { $(Param::$variant => $doc,)+ }
            }
        }
    };
}

parameters! {
    CardiacOutput => ("circulation.cardiac_output_l_per_h", "L/h", CardiacOutput, "Cardiac output."),
    VenousVolume => ("circulation.venous_volume_l", "L", Volume, "Venous blood volume."),
    ArterialVolume => ("circulation.arterial_volume_l", "L", Volume, "Arterial blood volume."),
    HepaticArteryFlow => ("flow.hepatic_artery_fraction", "fraction of cardiac output", Fraction, "Hepatic-artery share of cardiac output."),
    SpleenFlow => ("flow.spleen_fraction", "fraction of cardiac output", Fraction, "Splenic share of cardiac output (drains to the portal vein)."),
    GutFlow => ("flow.gut_fraction", "fraction of cardiac output", Fraction, "Gut, stomach and pancreas share of cardiac output (drains to the portal vein)."),
    PortalShunt => ("portal.shunt_fraction", "fraction of portal flow", Fraction, "Portal blood bypassing the liver to systemic veins."),
    LungExtraction => ("lung.extraction", "fraction per pass", Fraction, "Cells just given trapped in their first pass through the lungs."),
    LungRecirculatingExtraction => ("lung.recirculating_extraction", "fraction per pass", Fraction, "Circulating cells, which have passed a capillary bed, trapped in one pass through the lungs."),
    LungShunt => ("lung.shunt_fraction", "fraction of venous flow", Fraction, "Venous blood crossing the lungs through dilated vessels, past their capillaries (hepatopulmonary vasodilatation)."),
    LiverExtraction => ("liver.extraction", "fraction per pass", Fraction, "Circulating cells arrested in one pass through the liver sinusoids."),
    LiverFirstPassExtraction => ("liver.first_pass_extraction", "fraction per pass", Fraction, "Cells just given into the portal vein or the hepatic artery arrested in their first pass through the liver."),
    SpleenExtraction => ("spleen.extraction", "fraction per pass", Fraction, "Cells trapped in one pass through the spleen."),
    OtherExtraction => ("other.extraction", "fraction per pass", Fraction, "Cells trapped in one pass through other capillary beds, having passed the lungs."),
    OtherFirstPassExtraction => ("other.first_pass_extraction", "fraction per pass", Fraction, "Cells trapped in the first systemic capillary bed they meet after an injection into a systemic artery."),
    BloodDeath => ("blood.death_per_h", "1/h", Rate, "Death of circulating cells."),
    LungRelease => ("lung.release_per_h", "1/h", Rate, "Release of lung-trapped cells to venous blood."),
    LungDeath => ("lung.death_per_h", "1/h", Rate, "Death of lung-trapped cells."),
    SinusoidRelease => ("liver.sinusoid_release_per_h", "1/h", Rate, "Release of sinusoidal cells to venous blood."),
    SinusoidDeath => ("liver.sinusoid_death_per_h", "1/h", Rate, "Death of sinusoidal cells."),
    Engraftment => ("liver.engraftment_per_h", "1/h", Rate, "Engraftment of sinusoidal cells in the parenchyma."),
    EngraftedDeath => ("liver.engrafted_death_per_h", "1/h", Rate, "Death of engrafted cells."),
    SpleenRelease => ("spleen.release_per_h", "1/h", Rate, "Release of spleen-trapped cells to the portal vein."),
    SpleenDeath => ("spleen.death_per_h", "1/h", Rate, "Death of spleen-trapped cells."),
    OtherRelease => ("other.release_per_h", "1/h", Rate, "Release of cells trapped elsewhere to venous blood."),
    OtherDeath => ("other.death_per_h", "1/h", Rate, "Death of cells trapped elsewhere."),
    IntrasplenicRelease => ("depot.intrasplenic_release_per_h", "1/h", Rate, "Release of an intrasplenic depot into the splenic circulation."),
    IntrahepaticEngraftment => ("depot.intrahepatic_engraftment_per_h", "1/h", Rate, "Engraftment in place of an intrahepatic depot."),
    IntrahepaticWashout => ("depot.intrahepatic_washout_per_h", "1/h", Rate, "Wash-out of an intrahepatic depot into the sinusoids."),
    IntraperitonealAbsorption => ("depot.intraperitoneal_absorption_per_h", "1/h", Rate, "Absorption of an intraperitoneal depot to venous blood."),
    DepotDeath => ("depot.death_per_h", "1/h", Rate, "Death of cells at an injection depot."),
    NicheCapacity => ("niche.capacity_cells", "cells", Cells, "Engrafted liver cells at which engraftment stops (`[model]` niche)."),
    InjuryHomingFold => ("injury.homing_fold", "fold", Fold, "Liver homing at the disease's injury level relative to a healed liver (`[model]` injury)."),
    InjuryRepair => ("injury.repair_per_h", "1/h", Rate, "Repair of the injury at full paracrine action (`[model]` injury)."),
    InjuryRelapse => ("injury.relapse_per_h", "1/h", Rate, "Return of the injury towards the disease's level (`[model]` injury)."),
    SignalHalfMax => ("signal.half_max_cells", "cells", Cells, "Weighted live cells giving half the maximal paracrine action (`[model]` injury, effect)."),
    SignalWeightBlood => ("signal.weight_blood", "per liver cell", Weight, "Paracrine weight of a circulating cell."),
    SignalWeightLung => ("signal.weight_lung", "per liver cell", Weight, "Paracrine weight of a cell trapped in the lungs."),
    SignalWeightLiver => ("signal.weight_liver", "per liver cell", Weight, "Paracrine weight of a cell in the liver (sinusoid or engrafted)."),
    SignalWeightSpleen => ("signal.weight_spleen", "per liver cell", Weight, "Paracrine weight of a cell trapped in the spleen."),
    SignalWeightOther => ("signal.weight_other", "per liver cell", Weight, "Paracrine weight of a cell trapped elsewhere."),
    SignalWeightDepot => ("signal.weight_depot", "per liver cell", Weight, "Paracrine weight of a cell at an injection depot."),
    SensitizationFold => ("sensitization.max_clearance_fold", "fold", Fold, "Death-rate multiplier of a fully sensitized host (`[model]` sensitization)."),
    SensitizationOnset => ("sensitization.onset_per_h", "1/h", Rate, "Rise of sensitization under saturating antigen."),
    SensitizationDecay => ("sensitization.decay_per_h", "1/h", Rate, "Decay of sensitization."),
    AntigenClearance => ("sensitization.antigen_clearance_per_h", "1/h", Rate, "Clearance of antigen (debris of dead donor cells)."),
    AntigenHalfMax => ("sensitization.half_max_antigen_cells", "cells", Cells, "Antigen (dead-cell equivalents) giving half-maximal sensitization."),
    EffectEmax => ("effect.emax", "fraction of baseline", Weight, "Maximal rise of the marker's production (`[model]` effect)."),
    MarkerTurnover => ("effect.marker_turnover_per_h", "1/h", PositiveRate, "Turnover of the liver-function marker (ln 2 / half-life)."),
    ImprovementThreshold => ("effect.improvement_threshold", "fraction of baseline", Weight, "Improvement above which days_improved counts."),
    BaselineTolerance => ("effect.baseline_tolerance", "fraction of baseline", Positive, "Improvement below which the marker is back at baseline (days_to_baseline)."),
    LabelEfflux => ("label.efflux_per_h", "1/h", Rate, "Loss of label from live cells (`[observe]` radiolabel)."),
    DebrisLiverShare => ("label.debris_liver_share", "fraction", Fraction, "Share of the label of cells dying in lungs, other tissues, blood or a peritoneal depot taken up by liver phagocytes; cells dying in liver or spleen leave it there (radiolabel)."),
    DebrisSpleenShare => ("label.debris_spleen_share_of_rest", "fraction", Fraction, "Share of the rest of that label taken up by the spleen; bone marrow takes what remains (radiolabel)."),
    DebrisClearance => ("label.debris_clearance_per_h", "1/h", Rate, "Loss, out of the body, of label held in liver, spleen and marrow: dead cells' and transferrin-borne (radiolabel)."),
    PlasmaClearance => ("label.plasma_clearance_per_h", "1/h", Rate, "Clearance from plasma (bound to transferrin) of label that left live cells, to liver and marrow (radiolabel)."),
    TransferrinLiverShare => ("label.transferrin_liver_share", "fraction", Fraction, "Share of the label taken up from plasma that the liver takes up; bone marrow takes the rest (radiolabel)."),
    PlasmaExcretedShare => ("label.plasma_excreted_share", "fraction", Fraction, "Share of the label cleared from plasma that the kidneys excrete; liver and marrow take up the rest (radiolabel)."),
    DnaDegradation => ("dna.degradation_per_h", "1/h", Rate, "Degradation of dead cells' DNA where they died (`[observe]` dna_pcr)."),
}

impl Param {
    /// The parameter with this dotted name.
    pub fn from_name(name: &str) -> Option<Param> {
        Param::ALL.iter().copied().find(|p| p.name() == name)
    }

    /// The flow fractions that must not sum above 1.
    pub const FLOW_FRACTIONS: [Param; 3] =
        [Param::HepaticArteryFlow, Param::SpleenFlow, Param::GutFlow];
}

/// One resolved value with how it was obtained.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The value the model uses, in the parameter's unit.
    pub value: f64,
    /// Citation, assumption, or the composition of presets that gave the value. Shared,
    /// not copied: a population or sensitivity run copies the table for every subject it
    /// draws, and copying some seventy texts each time cost more than the draw.
    pub source: Arc<str>,
    /// Whether the scenario's `[parameters]` table set this value.
    pub overridden: bool,
}

/// An override of one parameter made ready by [`Parameters::prepare`].
#[derive(Debug, Clone)]
pub struct Prepared {
    param: Param,
    /// The entry it was prepared from (not an override: `set` keeps an override's source).
    preset: Resolved,
    /// The source `set` writes over that entry.
    source: Arc<str>,
}

/// The source of a value set over `preset` (not itself an override).
fn override_source(preset: &Resolved) -> Arc<str> {
    format!(
        "override in scenario file (preset {}: {})",
        preset.value, preset.source
    )
    .into()
}

/// Every parameter's resolved value.
///
/// Shared behind an `Arc`: a sweep clones its base scenario at every point, and copying
/// every source text each time cost more than the point's metrics. `set` copies on write.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameters {
    values: Arc<Vec<Resolved>>,
}

impl Parameters {
    /// A copy with its own table, for a thread that clones it at a high rate: clones of
    /// one shared table from several threads contend on its reference count.
    pub fn unshared(&self) -> Parameters {
        // The texts too: copies of the table share them, and every copy counts them.
        let values = self
            .values
            .iter()
            .map(|r| Resolved {
                source: Arc::from(&*r.source),
                ..*r
            })
            .collect();
        Parameters {
            values: Arc::new(values),
        }
    }

    /// The value of `p`.
    pub fn get(&self, p: Param) -> f64 {
        self.values[p as usize].value
    }

    /// The value of `p` with its source.
    pub fn entry(&self, p: Param) -> &Resolved {
        &self.values[p as usize]
    }

    /// Sets `p` as a scenario override does, keeping the preset it replaced in the source.
    /// A value equal to the preset changes nothing (so that `resolved.toml`, which writes
    /// every value, resolves to the same sources as the run it came from).
    pub fn set(&mut self, p: Param, value: f64) {
        self.set_with(p, value, override_source);
    }

    /// What `set` of `p` on this table (or a copy) writes as the source, composed once
    /// for a caller that sets `p` on many copies.
    pub fn prepare(&self, p: Param) -> Prepared {
        let preset = self.values[p as usize].clone();
        Prepared {
            param: p,
            source: override_source(&preset),
            preset,
        }
    }

    /// `set` with a source composed by `prepare`: the same result, without formatting the
    /// preset's value again (that cost 6 % of a sensitivity run, which sets ten values on
    /// a copy of one table per run). If the entry is no longer the one prepared from, the
    /// source is composed afresh.
    pub fn set_prepared(&mut self, prepared: &Prepared, value: f64) {
        self.set_with(prepared.param, value, |preset| {
            // Bits, not ==: 0 and -0 print differently.
            let same = preset.value.to_bits() == prepared.preset.value.to_bits()
                && preset.source == prepared.preset.source;
            if same {
                prepared.source.clone()
            } else {
                override_source(preset)
            }
        });
    }

    fn set_with(&mut self, p: Param, value: f64, compose: impl FnOnce(&Resolved) -> Arc<str>) {
        let preset = &self.values[p as usize];
        if value == preset.value {
            return;
        }
        let source = if preset.overridden {
            preset.source.clone()
        } else {
            compose(preset)
        };
        Arc::make_mut(&mut self.values)[p as usize] = Resolved {
            value,
            source,
            overridden: true,
        };
    }

    /// Every parameter with its resolved value.
    pub fn iter(&self) -> impl Iterator<Item = (Param, &Resolved)> {
        Param::ALL.iter().copied().zip(self.values.iter())
    }

    /// Sum of the organ flow fractions that leave the arterial blood for named organs.
    pub fn flow_fraction_sum(&self) -> f64 {
        Param::FLOW_FRACTIONS.iter().map(|&p| self.get(p)).sum()
    }
}

/// What `resolve` needs to know of a scenario.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Subject {
    /// Species of the recipient.
    pub species: Species,
    /// Body weight (kg).
    pub body_weight_kg: f64,
    /// Liver condition.
    pub disease: Disease,
    /// Tissue the cells came from.
    pub source: CellSource,
    /// Origin of the cells.
    pub donor: Donor,
    /// Modification or pretreatment of the cells.
    pub modification: Modification,
}

/// A value being derived from presets, with the text of how.
#[derive(Clone)]
struct Derivation {
    value: f64,
    text: String,
}

impl Derivation {
    fn from(s: Sourced) -> Self {
        Derivation {
            value: s.value,
            text: s.source.to_string(),
        }
    }

    /// Multiplies by a preset factor; a factor of exactly 1 changes nothing and is not shown.
    fn times(mut self, what: &str, factor: Sourced) -> Self {
        if factor.value != 1.0 {
            self.value *= factor.value;
            self.text
                .push_str(&format!("; x {} {what} ({})", factor.value, factor.source));
        }
        self
    }

    /// Multiplies the per-pass hazard: E' = 1 - (1 - E)^factor, which stays within [0, 1].
    fn hazard_times(mut self, what: &str, factor: Sourced) -> Self {
        if factor.value != 1.0 {
            self.value = 1.0 - (1.0 - self.value).powf(factor.value);
            self.text.push_str(&format!(
                "; hazard x {} {what}, E' = 1 - (1 - E)^{} ({})",
                factor.value, factor.value, factor.source
            ));
        }
        self
    }

    fn scaled(mut self, factor: f64, how: String) -> Self {
        self.value *= factor;
        self.text.push_str(&format!("; {how}"));
        self
    }

    fn done(self) -> Resolved {
        Resolved {
            value: self.value,
            source: self.text.into(),
            overridden: false,
        }
    }
}

/// Resolves every parameter from the presets for `subject` and the shipped calibration
/// (overrides are applied by the caller with `Parameters::set`).
pub fn resolve(subject: &Subject) -> Parameters {
    resolve_with(subject, Calibration::shipped())
}

/// Resolves every parameter from the presets for `subject`, each derivation starting from
/// `calibration`'s value for the parameter (and the subject's species) where it has one,
/// instead of the preset: the value for the reference subject (healthy, bone marrow,
/// autologous, unmodified, the species' reference weight), on which the subject's factors
/// then act as on the preset. Where the preset itself is chosen by the subject (the
/// source's lung arrest, the species' flows, the disease's shunt), the calibrated value
/// replaces every choice's.
pub fn resolve_with(subject: &Subject, calibration: &Calibration) -> Parameters {
    let phys = subject.species.physiology();
    let effects = subject.disease.effects();
    let debris = observation::debris_shares(subject.disease);
    let weight = subject.body_weight_kg;
    let w_ref = phys.reference_weight_kg.value;
    let disease = subject.disease.name();
    let donor = subject.donor.name();
    let source = subject.source.name();
    let modification = subject.modification.name();
    let homing = subject.modification.homing_factor();
    let survival = subject.modification.clearance_factor();

    // The start of `p`'s derivation: the calibrated value, else the preset's.
    let base = |p: Param, preset: Derivation| match calibration.get(p, subject.species) {
        Some(e) => Derivation {
            value: e.value,
            text: e.source.clone(),
        },
        None => preset,
    };
    let cardiac_output = {
        let d = base(
            Param::CardiacOutput,
            Derivation::from(phys.cardiac_output_l_per_h),
        );
        if weight == w_ref {
            d
        } else {
            let factor = (weight / w_ref).powf(ALLOMETRIC_EXPONENT.value);
            d.scaled(
                factor,
                format!(
                    "scaled from {w_ref} kg to {weight} kg by (W/W_ref)^{} ({})",
                    ALLOMETRIC_EXPONENT.value, ALLOMETRIC_EXPONENT.source
                ),
            )
        }
    };
    let blood_volume = |share: f64, what: &str| {
        Derivation::from(phys.blood_l_per_kg).scaled(
            share * weight,
            format!(
                "x {what} share {share:.4} ({}) x {weight} kg",
                phys.venous_fraction.source
            ),
        )
    };
    let venous = phys.venous_fraction.value;
    // Death of cells outside the blood depends on the product and the host's immunity.
    let death = |p: Param, loss: Sourced| {
        base(
            p,
            Derivation::from(loss).times(
                "share that dies",
                Sourced {
                    value: 1.0 - FATES.release_share.value,
                    source: FATES.release_share.source,
                },
            ),
        )
        .times(
            &format!("{source} clearance"),
            subject.source.clearance_factor(),
        )
        .times(&format!("{donor} donor"), subject.donor.clearance_factor())
        .times(&format!("{modification} cells"), survival)
    };
    let release = |p: Param, loss: Sourced| {
        base(
            p,
            Derivation::from(loss).times("share released", FATES.release_share),
        )
    };
    let depot_death = || {
        base(Param::DepotDeath, Derivation::from(DEPOT.death_per_h))
            .times(
                &format!("{source} clearance"),
                subject.source.clearance_factor(),
            )
            .times(&format!("{donor} donor"), subject.donor.clearance_factor())
            .times(&format!("{modification} cells"), survival)
    };

    let per_kg = |s: Sourced| {
        Derivation::from(s).scaled(weight, format!("per kg x {weight} kg body weight"))
    };
    // A parameter whose derivation is its preset alone.
    let plain = |p: Param, s: Sourced| base(p, Derivation::from(s));

    let values = Param::ALL
        .iter()
        .map(|&p| match p {
            Param::CardiacOutput => cardiac_output.clone(),
            Param::VenousVolume => blood_volume(venous, "venous"),
            Param::ArterialVolume => blood_volume(1.0 - venous, "arterial"),
            Param::HepaticArteryFlow => plain(p, phys.hepatic_artery_fraction),
            Param::GutFlow => plain(p, phys.gut_fraction),
            Param::PortalShunt => plain(p, effects.portal_shunt),
            Param::SpleenFlow => plain(p, phys.spleen_fraction).times(
                &format!("splenic flow in {disease}"),
                effects.spleen_flow_factor,
            ),
            Param::LungExtraction => plain(p, phys.lung_extraction).hazard_times(
                &format!("{source} cells"),
                subject.source.lung_hazard_factor(),
            ),
            Param::LungRecirculatingExtraction | Param::OtherExtraction => {
                plain(p, FATES.recirculating_capillary_extraction)
            }
            Param::LungShunt => plain(p, disease::PULMONARY_SHUNT),
            Param::LiverExtraction => plain(p, FATES.liver_extraction)
                .hazard_times(&format!("homing in {disease}"), effects.liver_homing_factor)
                .hazard_times(&format!("homing of {modification} cells"), homing)
                .times(
                    &format!("share of liver inflow meeting the sinusoids in {disease}"),
                    effects.liver_perfusion_factor,
                ),
            Param::LiverFirstPassExtraction => plain(p, FATES.liver_first_pass_extraction).times(
                &format!("share of liver inflow meeting the sinusoids in {disease}"),
                effects.liver_perfusion_factor,
            ),
            Param::SpleenExtraction => plain(p, FATES.spleen_extraction),
            Param::OtherFirstPassExtraction => plain(p, FATES.other_first_pass_extraction),
            Param::BloodDeath => plain(p, FATES.blood_death_per_h),
            Param::LungRelease => release(p, FATES.lung_loss_per_h),
            Param::LungDeath => death(p, FATES.lung_loss_per_h),
            Param::SinusoidRelease | Param::SpleenRelease | Param::OtherRelease => {
                release(p, FATES.trapped_loss_per_h)
            }
            Param::SinusoidDeath | Param::SpleenDeath | Param::OtherDeath => {
                death(p, FATES.trapped_loss_per_h)
            }
            Param::Engraftment => plain(p, FATES.engraftment_per_h)
                .times(&format!("homing in {disease}"), effects.liver_homing_factor)
                .times(&format!("homing of {modification} cells"), homing),
            Param::EngraftedDeath => plain(p, FATES.engrafted_death_per_h)
                .times(
                    &format!("{source} clearance"),
                    subject.source.clearance_factor(),
                )
                .times(&format!("{donor} donor"), subject.donor.clearance_factor())
                .times(&format!("{modification} cells"), survival),
            Param::IntrasplenicRelease => plain(p, DEPOT.intrasplenic_release_per_h),
            Param::IntrahepaticEngraftment => plain(p, DEPOT.intrahepatic_engraftment_per_h),
            Param::IntrahepaticWashout => plain(p, DEPOT.intrahepatic_washout_per_h),
            Param::IntraperitonealAbsorption => plain(p, DEPOT.intraperitoneal_absorption_per_h),
            Param::DepotDeath => depot_death(),
            Param::NicheCapacity => per_kg(mech::NICHE_CAPACITY_PER_KG),
            // The factor already in liver.extraction and engraftment, which injury undoes
            // as it heals.
            Param::InjuryHomingFold => plain(p, effects.liver_homing_factor),
            Param::InjuryRepair => plain(p, mech::INJURY_REPAIR_PER_H),
            Param::InjuryRelapse => plain(p, mech::INJURY_RELAPSE_PER_H),
            Param::SignalHalfMax => per_kg(mech::SIGNAL_HALF_MAX_PER_KG),
            Param::SignalWeightBlood => plain(p, mech::SIGNAL_WEIGHT_BLOOD),
            Param::SignalWeightLung => plain(p, mech::SIGNAL_WEIGHT_LUNG),
            Param::SignalWeightLiver => plain(p, mech::SIGNAL_WEIGHT_LIVER),
            Param::SignalWeightSpleen | Param::SignalWeightOther | Param::SignalWeightDepot => {
                plain(p, mech::SIGNAL_WEIGHT_ELSEWHERE)
            }
            Param::SensitizationFold => plain(
                p,
                match subject.donor {
                    Donor::Allogeneic => mech::SENSITIZED_CLEARANCE_FOLD,
                    Donor::Autologous => mech::AUTOLOGOUS_CLEARANCE_FOLD,
                },
            ),
            Param::SensitizationOnset => plain(p, mech::SENSITIZATION_ONSET_PER_H),
            Param::SensitizationDecay => plain(p, mech::SENSITIZATION_DECAY_PER_H),
            Param::AntigenClearance => plain(p, mech::ANTIGEN_CLEARANCE_PER_H),
            Param::AntigenHalfMax => per_kg(mech::ANTIGEN_HALF_MAX_PER_KG),
            Param::EffectEmax => plain(p, mech::EFFECT_EMAX),
            Param::MarkerTurnover => plain(p, mech::MARKER_TURNOVER_PER_H),
            Param::ImprovementThreshold => plain(p, mech::IMPROVEMENT_THRESHOLD),
            Param::BaselineTolerance => plain(p, mech::BASELINE_TOLERANCE),
            Param::LabelEfflux => plain(p, observation::LABEL_EFFLUX_PER_H),
            Param::DebrisLiverShare => plain(p, debris.liver),
            Param::DebrisSpleenShare => plain(p, debris.spleen_of_rest),
            Param::DebrisClearance => plain(p, observation::DEBRIS_CLEARANCE_PER_H),
            Param::PlasmaClearance => plain(p, observation::PLASMA_CLEARANCE_PER_H),
            Param::TransferrinLiverShare => plain(p, observation::TRANSFERRIN_LIVER_SHARE),
            Param::PlasmaExcretedShare => plain(p, observation::PLASMA_EXCRETED_SHARE),
            Param::DnaDegradation => plain(p, observation::DNA_DEGRADATION_PER_H),
        })
        .map(Derivation::done)
        .collect();
    Parameters {
        values: Arc::new(values),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every combination of presets, resolved at the species' reference weight.
    fn every_subject() -> Vec<Subject> {
        let mut all = Vec::new();
        for &species in Species::ALL {
            for &disease in Disease::ALL {
                for &source in CellSource::ALL {
                    for &donor in Donor::ALL {
                        for &modification in Modification::ALL {
                            all.push(Subject {
                                species,
                                body_weight_kg: species.physiology().reference_weight_kg.value,
                                disease,
                                source,
                                donor,
                                modification,
                            });
                        }
                    }
                }
            }
        }
        all
    }

    #[test]
    fn a_prepared_override_sets_what_set_does() {
        let base = resolve(&every_subject()[0]);
        let (lung, liver) = (Param::LungExtraction, Param::LiverExtraction);
        let prepared = [base.prepare(lung), base.prepare(liver)];
        let mut other = base.clone();
        other.set(liver, 0.3);
        // Fresh, on a table whose entry moved on (composed afresh or kept), and the preset
        // value itself (nothing changes).
        for table in [&base, &other] {
            for value in [0.25, 0.5, base.get(lung), base.get(liver)] {
                let (mut by_set, mut by_prepared) = (table.clone(), table.clone());
                for p in &prepared {
                    by_set.set(p.param, value);
                    by_prepared.set_prepared(p, value);
                }
                assert_eq!(by_set, by_prepared, "{value}");
            }
        }
    }

    #[test]
    fn every_default_has_a_source_and_a_valid_value() {
        for subject in every_subject() {
            let p = resolve(&subject);
            for (param, r) in p.iter() {
                assert!(
                    r.source.trim().len() > 10,
                    "{} has no source for {subject:?}",
                    param.name()
                );
                // A string literal broken without `\` keeps its indentation.
                assert!(
                    !r.source.contains("   "),
                    "{}'s source holds a run of spaces: {}",
                    param.name(),
                    r.source
                );
                assert!(
                    param.kind().admits(r.value),
                    "{} = {} is not {} for {subject:?}",
                    param.name(),
                    r.value,
                    param.kind().range()
                );
            }
            assert!(p.flow_fraction_sum() <= 1.0, "{subject:?}");
        }
    }

    #[test]
    fn names_are_unique_and_found() {
        for &p in Param::ALL {
            assert_eq!(Param::from_name(p.name()), Some(p));
        }
    }

    #[test]
    fn overrides_keep_the_preset_they_replace() {
        let mut p = resolve(&every_subject()[0]);
        let preset = p.get(Param::LungExtraction);
        p.set(Param::LungExtraction, preset);
        assert!(
            !p.entry(Param::LungExtraction).overridden,
            "equal to the preset"
        );
        p.set(Param::LungExtraction, 0.5);
        let entry = p.entry(Param::LungExtraction);
        assert!(entry.overridden);
        assert_eq!(entry.value, 0.5);
        assert!(entry.source.contains(&format!("preset {preset}")));
    }

    #[test]
    fn cardiac_output_scales_allometrically() {
        let mut subject = every_subject()[0];
        subject.species = Species::Human;
        subject.body_weight_kg = 70.0;
        let reference = resolve(&subject).get(Param::CardiacOutput);
        subject.body_weight_kg = 70.0 * 16.0;
        let scaled = resolve(&subject).get(Param::CardiacOutput);
        assert!((scaled / reference - 8.0).abs() < 1e-12, "16^0.75 = 8");
    }

    #[test]
    fn a_calibrated_base_value_is_derived_from_like_the_preset() {
        let text = "[[parameter]]\nname = \"liver.extraction\"\nvalue = 0.3\n\
                    source = \"calibrated: cases a, b; prior: log-normal 95 % range 0.1-0.9 (x)\"\n\
                    [[parameter]]\nname = \"lung.death_per_h\"\nspecies = \"rat\"\n\
                    value = 0.02\nsource = \"calibrated: case c\"\n";
        let calibration =
            Calibration::parse(text, std::path::Path::new("calibrated.toml")).expect("valid");
        let mut subject = every_subject()[0];
        subject.species = Species::Mouse;
        subject.disease = Disease::Healthy;
        let healthy = resolve_with(&subject, &calibration);
        let entry = healthy.entry(Param::LiverExtraction);
        assert_eq!(entry.value, 0.3);
        assert!(
            entry.source.starts_with("calibrated: cases a, b"),
            "{}",
            entry.source
        );
        assert_ne!(resolve(&subject).get(Param::LiverExtraction), 0.3);

        // The disease's homing factor acts on the calibrated hazard as on the preset's.
        subject.disease = Disease::AcuteLiverFailure;
        let factor = subject.disease.effects().liver_homing_factor.value;
        assert_ne!(factor, 1.0);
        let diseased = resolve_with(&subject, &calibration);
        let want = 1.0 - (1.0 - 0.3f64).powf(factor);
        assert!((diseased.get(Param::LiverExtraction) - want).abs() < 1e-15);
        assert!(diseased
            .entry(Param::LiverExtraction)
            .source
            .starts_with("calibrated: "));

        // A species-scoped value applies to that species alone, under the subject's
        // clearance factors; the other death rates keep their presets.
        subject.disease = Disease::Healthy;
        let uncalibrated = resolve_with(&subject, &Calibration::none());
        assert_eq!(
            healthy.get(Param::LungDeath),
            uncalibrated.get(Param::LungDeath)
        );
        subject.species = Species::Rat;
        subject.donor = Donor::Allogeneic;
        let rat = resolve_with(&subject, &calibration);
        let donor = Donor::Allogeneic.clearance_factor().value;
        assert!((rat.get(Param::LungDeath) - 0.02 * donor).abs() < 1e-15);
        assert_eq!(
            rat.get(Param::LungRelease),
            resolve_with(&subject, &Calibration::none()).get(Param::LungRelease)
        );
    }
}
