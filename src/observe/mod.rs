//! The observation layer (MODEL.md, "What an observer sees"): what a study measuring by a
//! given method would have seen in each organ, as a percent of the injected dose (or of the
//! injected activity).
//!
//! - `live`: live cells, the model's truth.
//! - `bioluminescence`: live cells only, so the same numbers as `live`; named apart because
//!   studies are.
//! - `radiolabel`: a share of the injected activity is bound to cells (the rest is free
//!   label, excreted). Label leaves live cells (efflux) into the plasma, where free 111In
//!   binds transferrin and is taken up by liver and bone marrow. Cells that die where they
//!   are held in the liver or the spleen (sinusoids, parenchyma, an intrahepatic or
//!   intrasplenic depot) leave their label there; the label of cells dying in the lungs,
//!   other tissues, blood or a peritoneal depot is taken up by liver, spleen and
//!   bone-marrow phagocytes, in shares that depend on the disease. Label held in liver,
//!   spleen and marrow leaves the body with its own half-life. Physical decay is left out
//!   (decay-corrected) or applied, as the study reported.
//! - `dna_pcr`: live cells plus the DNA of dead cells, which stays where they died until
//!   it is degraded.
//!
//! Label and DNA follow from the walk of the cells: debris, DNA and efflux are integrated
//! along each step by quadrature (`tracker`). Efflux and decay depend on the time since a
//! cell was labelled, so with several administrations a radiolabel is followed one
//! administration at a time, which superposition allows in the linear model.

mod tracker;

use rayon::prelude::*;

use crate::compartment::Compartment as C;
use crate::dosing::Dose;
use crate::model::Model;
use crate::params::Param;
use crate::presets::routes::DepotSite;
use crate::presets::{choice_enum, Choice};
use crate::scenario::{Method, Observe, Scenario};
use crate::simulation::{self, Failure, Problem};
use tracker::{Recording, Tracker};

pub use tracker::Budget;

choice_enum! {
    /// An organ as studies report it.
    pub enum Organ {
        /// Circulating blood (venous and arterial).
        Blood => "blood",
        /// Lungs.
        Lung => "lung",
        /// Liver (sinusoids and parenchyma).
        Liver => "liver",
        /// Spleen.
        Spleen => "spleen",
        /// Every other tissue (kidney, gut, muscle, bone marrow, ...): where live cells
        /// trapped outside lungs, liver and spleen are.
        Other => "other",
        /// A peritoneal injection site (an intrasplenic or intrahepatic depot counts as
        /// spleen or liver).
        InjectionSite => "injection_site",
        /// Bone marrow as imaging sees it: label taken up by marrow phagocytes and, on
        /// transferrin, by the marrow (radiolabel). Live cells in the marrow are not
        /// modelled apart from `other`, so the other methods show nothing here.
        Marrow => "marrow",
        /// Everything still in the body: the sum of the other regions (blood, organs,
        /// injection site), as a whole-body count measures it.
        WholeBody => "whole_body",
    }
}

/// Number of organs (observed regions, `whole_body` included).
pub const ORGANS: usize = 8;

impl Organ {
    /// The organ holding compartment `c`, for a depot at `depot` (`None` for `Dead`). No
    /// compartment is in `Marrow` or `WholeBody`.
    pub fn of(c: C, depot: Option<DepotSite>) -> Option<Organ> {
        Some(match c {
            C::BloodVenous | C::BloodArterial => Organ::Blood,
            C::Lung => Organ::Lung,
            C::LiverSinusoid | C::LiverEngrafted => Organ::Liver,
            C::Spleen => Organ::Spleen,
            C::Other => Organ::Other,
            C::Depot => match depot {
                Some(DepotSite::Spleen) => Organ::Spleen,
                Some(DepotSite::Liver) => Organ::Liver,
                Some(DepotSite::Peritoneum) | None => Organ::InjectionSite,
            },
            C::Dead => return None,
        })
    }
}

/// What the method shows at the requested times.
#[derive(Debug, Clone, PartialEq)]
pub struct Signals {
    /// The times (hours), as requested.
    pub time_h: Vec<f64>,
    /// Percent of the dose (or activity) injected up to that time, per organ in
    /// `Organ::ALL` order; 0 before anything is given.
    pub percent: Vec<[f64; ORGANS]>,
    /// Where the label is (radiolabel; zero otherwise), in cells' worth of label.
    pub budget: Vec<Budget>,
}

impl Signals {
    /// The percent in `organ` at each time.
    pub fn organ(&self, organ: Organ) -> Vec<f64> {
        self.percent.iter().map(|p| p[organ.position()]).collect()
    }
}

/// The signals of `scenario`'s `[observe]` method (live cells without one) at `times`
/// (hours, ascending, within the simulated time).
pub fn predict(scenario: &Scenario, times: &[f64]) -> Result<Signals, Failure> {
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "observation times are sorted"
    );
    let problem = Problem::new(scenario);
    let schedule = &problem.schedule;
    let observe = scenario.observe.unwrap_or_default();
    let by_administration = observe.method == Method::Radiolabel && schedule.len() > 1;
    let walks: Vec<&[Dose]> = if by_administration {
        schedule.iter().map(std::slice::from_ref).collect()
    } else {
        vec![schedule]
    };
    // The death rates the trackers need, of the model as resolved.
    let model = simulation::model(scenario);
    let settings = settings(scenario, &observe, &model, times);
    let recordings = walks
        .par_iter()
        .map(|doses| {
            let settings = tracker::Settings {
                labelled_at: doses
                    .iter()
                    .map(|d| d.start_h)
                    .fold(f64::INFINITY, f64::min),
                ..settings.clone()
            };
            record(&problem, settings, doses)
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    let percent = (0..times.len())
        .map(|i| {
            let given: f64 = schedule.iter().map(|d| d.given_by(times[i])).sum();
            std::array::from_fn(|o| {
                let amount: f64 = recordings.iter().map(|r| r.amounts[i][o]).sum();
                if given > 0.0 {
                    100.0 * amount / given
                } else {
                    0.0
                }
            })
        })
        .collect();
    let budget = (0..times.len())
        .map(|i| recordings.iter().map(|r| r.budget[i]).sum())
        .collect();
    Ok(Signals {
        time_h: times.to_vec(),
        percent,
        budget,
    })
}

/// What every walk's tracker shares; `labelled_at` is set per walk.
fn settings(
    scenario: &Scenario,
    observe: &Observe,
    model: &Model,
    times: &[f64],
) -> tracker::Settings {
    let p = &scenario.parameters;
    let radiolabel = observe.method == Method::Radiolabel;
    let decay_per_h = match (radiolabel, observe.decay_corrected, observe.isotope) {
        (true, false, Some(isotope)) => std::f64::consts::LN_2 / isotope.half_life_h().value,
        _ => 0.0,
    };
    let liver = p.get(Param::DebrisLiverShare);
    let spleen = (1.0 - liver) * p.get(Param::DebrisSpleenShare);
    let transferrin_liver = p.get(Param::TransferrinLiverShare);
    tracker::Settings {
        method: observe.method,
        depot: simulation::depot_site(scenario),
        death_rates: model.rates.row(C::Dead.index()).transpose(),
        labelled_at: 0.0,
        bound: if radiolabel {
            observe.labelled_fraction
        } else {
            0.0
        },
        efflux_per_h: p.get(Param::LabelEfflux),
        phagocyte_shares: [liver, spleen, 1.0 - liver - spleen],
        transferrin_shares: [transferrin_liver, 0.0, 1.0 - transferrin_liver]
            .map(|share| share * (1.0 - p.get(Param::PlasmaExcretedShare))),
        plasma_clearance_per_h: p.get(Param::PlasmaClearance),
        held_clearance_per_h: p.get(Param::DebrisClearance),
        dna_degradation_per_h: p.get(Param::DnaDegradation),
        decay_per_h,
        times: times.to_vec(),
    }
}

/// One walk of `doses` (the whole schedule, or one administration) with the problem's
/// engine.
fn record(
    problem: &Problem,
    settings: tracker::Settings,
    doses: &[Dose],
) -> Result<Recording, Failure> {
    let mut tracker = Tracker::new(settings);
    // Only the end needs to be an output node: the tracker reads the walk inside steps.
    problem.walk(doses, &problem.end_only_plan(), &mut tracker)?;
    Ok(tracker.finish())
}
