//! The model of `model::Model::assemble_scaled`, written symbolically: every rate constant
//! and every route's entry distribution as an expression of the named parameters and of
//! the scaling values (`Scaling`), so that the SBML file recomputes them when a parameter
//! is edited or, with `[model]` mechanisms, when the mechanisms' states move.
//!
//! This mirrors `model.rs` term by term (same passes, same order of sums); the test below
//! evaluates every expression and holds it against the assembled matrix K for every
//! shipped scenario and every route, at the resolved scaling and at another one, so the
//! two cannot drift apart unnoticed.

use std::collections::BTreeMap;

use super::expr::Expr;
use crate::compartment::Compartment as C;
use crate::params::Param;
use crate::presets::routes::{DepotSite, Entry};
use crate::presets::{Choice, Route};

/// SBML id of a parameter: its dotted name with `_` for `.` (ids cannot hold dots).
pub fn param_id(p: Param) -> String {
    p.name().replace('.', "_")
}

/// A quantity derived from the parameters, written as an SBML assignment rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Derived {
    /// SBML id.
    pub id: String,
    /// What it is, for the `name` attribute.
    pub name: String,
    /// Its definition over parameters and earlier derived quantities.
    pub expr: Expr,
    /// Whether it is a rate (1/h) rather than a fraction.
    pub is_rate: bool,
}

/// A first-order flow of cells: one mass-action reaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    /// Where the cells leave.
    pub from: C,
    /// Where they arrive.
    pub to: C,
    /// Id of the derived rate constant (1/h).
    pub rate: String,
}

/// The values of `model::Scaling` as expressions: the resolved parameters for the linear
/// model, assignment-ruled quantities of the mechanisms' states otherwise
/// (`super::mechanisms`).
#[derive(Debug, Clone, PartialEq)]
pub struct Scaling {
    /// Liver extraction per pass.
    pub liver_extraction: Expr,
    /// Multiplier on every death rate.
    pub death: Expr,
    /// Multiplier on the engraftment of sinusoidal cells.
    pub engraftment: Expr,
    /// Multiplier on the engraftment in place of an intrahepatic depot.
    pub depot_engraftment: Expr,
}

impl Scaling {
    /// `model::Scaling::resolved`: the linear model (factors of 1 drop out of products).
    pub fn resolved() -> Scaling {
        Scaling {
            liver_extraction: param(Param::LiverExtraction),
            death: Expr::Num(1.0),
            engraftment: Expr::Num(1.0),
            depot_engraftment: Expr::Num(1.0),
        }
    }
}

/// Each compartment's death rate, as `model.rs` gives it (sensitization scales them all;
/// the mechanisms' antigen is their flux).
pub const DEATHS: [(C, Param); 8] = [
    (C::BloodVenous, Param::BloodDeath),
    (C::BloodArterial, Param::BloodDeath),
    (C::Lung, Param::LungDeath),
    (C::LiverSinusoid, Param::SinusoidDeath),
    (C::LiverEngrafted, Param::EngraftedDeath),
    (C::Spleen, Param::SpleenDeath),
    (C::Other, Param::OtherDeath),
    (C::Depot, Param::DepotDeath),
];

/// A distribution of one cell over states, each share an expression.
pub type Dist = BTreeMap<C, Expr>;

/// The model's algebra: derived quantities in definition order, the flows, and the entry
/// distribution of each route.
#[derive(Debug, Clone, PartialEq)]
pub struct Flows {
    /// Derived quantities, each defined only from parameters and those before it.
    pub derived: Vec<Derived>,
    /// Every structurally nonzero off-diagonal entry of K.
    pub flows: Vec<Flow>,
    entries: Vec<Dist>,
}

/// A reference to parameter `p`.
pub fn param(p: Param) -> Expr {
    Expr::Id(param_id(p))
}

fn unit(c: C) -> Dist {
    BTreeMap::from([(c, Expr::Num(1.0))])
}

fn scale(d: &Dist, by: &Expr) -> Dist {
    d.iter().map(|(&c, e)| (c, e.times(by))).collect()
}

fn add(a: &Dist, b: &Dist) -> Dist {
    let mut sum = a.clone();
    for (&c, e) in b {
        let term = match sum.get(&c) {
            Some(before) => before.plus(e),
            None => e.clone(),
        };
        sum.insert(c, term);
    }
    sum
}

/// `organ x E + onward x (1 - E)`: one pass through an organ with extraction `E`.
fn split(organ: C, extraction: &Expr, onward: &Dist) -> Dist {
    add(
        &scale(&unit(organ), extraction),
        &scale(onward, &extraction.complement()),
    )
}

impl Flows {
    /// The algebra of the model that `Model::assemble_scaled(p, depot, s)` builds
    /// numerically, with `scaling` for `s`.
    pub fn new(depot: Option<DepotSite>, scaling: &Scaling) -> Flows {
        let mut derived = Vec::new();
        // Gives each share of a pass its own id, so later expressions stay short.
        let mut named = |pass: &str, what: &str, d: Dist| -> Dist {
            d.into_iter()
                .map(|(c, expr)| {
                    let id = format!("pass_{pass}_to_{}", c.name());
                    derived.push(Derived {
                        id: id.clone(),
                        name: format!("share of a cell {what} that ends in {}", c.name()),
                        expr,
                        is_rate: false,
                    });
                    (c, Expr::Id(id))
                })
                .collect()
        };
        let venous = unit(C::BloodVenous);
        let arterial = unit(C::BloodArterial);
        let lung_shunt = param(Param::LungShunt);
        let lungs = |extraction: Param| {
            add(
                &scale(&arterial, &lung_shunt),
                &scale(
                    &split(C::Lung, &param(extraction), &arterial),
                    &lung_shunt.complement(),
                ),
            )
        };
        let venous_outflow = named(
            "venous_outflow",
            "leaving the venous blood",
            lungs(Param::LungRecirculatingExtraction),
        );
        let injected_venous = named(
            "injected_venous",
            "just given into a vein",
            lungs(Param::LungExtraction),
        );
        let shunt = param(Param::PortalShunt);
        // The liver, portal vein and spleen passes with the liver's arrest `extraction` and
        // `onward` its outflow (as `model::Passes`), named with `prefix`.
        let mut liver_and_portal = |prefix: &str, what: &str, extraction: &Expr, onward: &Dist| {
            let liver_inflow = named(
                &format!("{prefix}liver_inflow"),
                &format!("{what}entering the liver inflow"),
                split(C::LiverSinusoid, extraction, onward),
            );
            let portal = named(
                &format!("{prefix}portal"),
                &format!("{what}entering the portal vein"),
                add(
                    &scale(onward, &shunt),
                    &scale(&liver_inflow, &shunt.complement()),
                ),
            );
            let spleen_inflow = named(
                &format!("{prefix}spleen_inflow"),
                &format!("{what}entering the splenic artery"),
                split(C::Spleen, &param(Param::SpleenExtraction), &portal),
            );
            (liver_inflow, portal, spleen_inflow)
        };
        let (liver_inflow, portal, spleen_inflow) =
            liver_and_portal("", "", &scaling.liver_extraction, &venous);
        let (injected_liver_inflow, injected_portal, injected_spleen_inflow) = liver_and_portal(
            "injected_",
            "just given and ",
            &param(Param::LiverFirstPassExtraction),
            &injected_venous,
        );
        let other = param(Param::OtherExtraction);
        let gut = named(
            "gut",
            "entering the gut circulation",
            split(C::Other, &other, &portal),
        );
        let rest_of_body = named(
            "rest_of_body",
            "entering the rest of the body",
            split(C::Other, &other, &venous),
        );
        let (ha, sp, gi) = (
            param(Param::HepaticArteryFlow),
            param(Param::SpleenFlow),
            param(Param::GutFlow),
        );
        let rest_share = Expr::Minus(
            Box::new(Expr::Minus(
                Box::new(Expr::Minus(Box::new(Expr::Num(1.0)), Box::new(ha.clone()))),
                Box::new(sp.clone()),
            )),
            Box::new(gi.clone()),
        );
        let arterial_outflow = named(
            "arterial_outflow",
            "leaving the arterial blood",
            add(
                &add(
                    &add(&scale(&liver_inflow, &ha), &scale(&spleen_inflow, &sp)),
                    &scale(&gut, &gi),
                ),
                &scale(&rest_of_body, &rest_share),
            ),
        );
        let systemic_bed = named(
            "systemic_bed",
            "entering a systemic artery",
            split(
                C::Other,
                &param(Param::OtherFirstPassExtraction),
                &injected_venous,
            ),
        );

        let dead = unit(C::Dead);
        let q = param(Param::CardiacOutput);
        let mut out: Vec<(C, Expr, Dist)> = vec![
            (
                C::BloodVenous,
                q.over(&param(Param::VenousVolume)),
                venous_outflow,
            ),
            (
                C::BloodArterial,
                q.over(&param(Param::ArterialVolume)),
                arterial_outflow,
            ),
            (C::Lung, param(Param::LungRelease), venous.clone()),
            (
                C::LiverSinusoid,
                param(Param::SinusoidRelease),
                venous.clone(),
            ),
            (
                C::LiverSinusoid,
                param(Param::Engraftment).times(&scaling.engraftment),
                unit(C::LiverEngrafted),
            ),
            (C::Spleen, param(Param::SpleenRelease), portal.clone()),
            (C::Other, param(Param::OtherRelease), venous.clone()),
        ];
        // Each death flow is the only term of its entry of K, so their order is free.
        for (c, p) in DEATHS {
            out.push((c, param(p).times(&scaling.death), dead.clone()));
        }
        match depot {
            Some(DepotSite::Spleen) => out.push((
                C::Depot,
                param(Param::IntrasplenicRelease),
                injected_spleen_inflow,
            )),
            Some(DepotSite::Liver) => {
                out.push((
                    C::Depot,
                    param(Param::IntrahepaticEngraftment).times(&scaling.depot_engraftment),
                    unit(C::LiverEngrafted),
                ));
                out.push((
                    C::Depot,
                    param(Param::IntrahepaticWashout),
                    unit(C::LiverSinusoid),
                ));
            }
            Some(DepotSite::Peritoneum) => out.push((
                C::Depot,
                param(Param::IntraperitonealAbsorption),
                injected_venous.clone(),
            )),
            None => {}
        }

        // K[to][from] is the sum, in `model.rs`'s order, of rate x share over the flows.
        let mut entries_of_k: BTreeMap<(C, C), Expr> = BTreeMap::new();
        for (from, rate, to) in &out {
            for (&c, share) in to.iter().filter(|(&c, _)| c != *from) {
                let term = share.times(rate);
                let sum = match entries_of_k.remove(&(*from, c)) {
                    Some(before) => before.plus(&term),
                    None => term,
                };
                entries_of_k.insert((*from, c), sum);
            }
        }
        let flows = entries_of_k
            .into_iter()
            .map(|((from, to), expr)| {
                let id = format!("k_{}_to_{}", from.name(), to.name());
                derived.push(Derived {
                    id: id.clone(),
                    name: format!("rate constant {} -> {}", from.name(), to.name()),
                    expr,
                    is_rate: true,
                });
                Flow { from, to, rate: id }
            })
            .collect();

        let entries = Route::ALL
            .iter()
            .map(|route| match route.entry() {
                Entry::Venous => injected_venous.clone(),
                Entry::LiverInflow => injected_liver_inflow.clone(),
                Entry::Portal => injected_portal.clone(),
                Entry::Depot(_) => unit(C::Depot),
                Entry::SystemicBed => systemic_bed.clone(),
            })
            .collect();
        Flows {
            derived,
            flows,
            entries,
        }
    }

    /// Where one cell given by `route` is at the moment of injection.
    pub fn entry(&self, route: Route) -> &Dist {
        &self.entries[route.position()]
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::Path;

    use super::*;
    use crate::model::Model;
    use crate::params::Parameters;

    /// Every value the derived quantities take for `p` and the values `given` of the
    /// scaling's identifiers.
    fn evaluate(flows: &Flows, p: &Parameters, given: &[(&str, f64)]) -> HashMap<String, f64> {
        let mut values: HashMap<String, f64> =
            p.iter().map(|(q, r)| (param_id(q), r.value)).collect();
        values.extend(given.iter().map(|&(id, v)| (id.to_string(), v)));
        for d in &flows.derived {
            let v = d.expr.eval(&values).expect("defined before use");
            values.insert(d.id.clone(), v);
        }
        values
    }

    fn shipped() -> Vec<crate::scenario::Scenario> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("scenarios/")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|f| crate::scenario::load(f).expect("shipped scenarios are valid"))
            .collect()
    }

    /// At the resolved scaling (the linear model) and at a scaling of identifiers set to
    /// values away from it (the mechanisms' case).
    #[test]
    fn the_algebra_is_the_assembled_matrix_for_every_scenario_depot_and_scaling() {
        let ids = Scaling {
            liver_extraction: Expr::id("e"),
            death: Expr::id("c"),
            engraftment: Expr::id("g"),
            depot_engraftment: Expr::id("g_d"),
        };
        let given = [("e", 0.37), ("c", 1.8), ("g", 0.45), ("g_d", 0.6)];
        for scenario in shipped() {
            let p = &scenario.parameters;
            let away = crate::model::Scaling {
                liver_extraction: 0.37,
                death: 1.8,
                engraftment: 0.45,
                depot_engraftment: 0.6,
            };
            for (scaling, numbers, given) in [
                (
                    Scaling::resolved(),
                    crate::model::Scaling::resolved(p),
                    &[][..],
                ),
                (ids.clone(), away, &given[..]),
            ] {
                for depot in [
                    None,
                    Some(DepotSite::Spleen),
                    Some(DepotSite::Liver),
                    Some(DepotSite::Peritoneum),
                ] {
                    check(&scenario.name, p, depot, &scaling, &numbers, given);
                }
            }
        }
    }

    /// Holds the algebra of `Flows::new(depot, scaling)` against
    /// `Model::assemble_scaled(p, depot, numbers)`.
    fn check(
        name: &str,
        p: &Parameters,
        depot: Option<DepotSite>,
        scaling: &Scaling,
        numbers: &crate::model::Scaling,
        given: &[(&str, f64)],
    ) {
        let model = Model::assemble_scaled(p, depot, numbers);
        let k = model.rates;
        let flows = Flows::new(depot, scaling);
        let values = evaluate(&flows, p, given);
        // The same sums in the same order: only the last bits of a product's
        // rounding may differ, far below 1e-14 of K's largest entry.
        let scale = k.amax();
        for from in C::ALL {
            for to in C::ALL.into_iter().filter(|&to| to != from) {
                let want = k[(to.index(), from.index())];
                let got = flows
                    .flows
                    .iter()
                    .find(|f| f.from == from && f.to == to)
                    .map_or(0.0, |f| values[&f.rate]);
                assert!(
                    (got - want).abs() <= 1e-14 * scale,
                    "{name} {depot:?}: K[{} <- {}] = {want}, SBML algebra {got}",
                    to.name(),
                    from.name()
                );
            }
        }
        for &route in Route::ALL {
            let want = model.entry(route);
            for c in C::ALL {
                let got = flows
                    .entry(route)
                    .get(&c)
                    .map_or(0.0, |e| e.eval(&values).expect("defined"));
                // Shares are at most 1: a few ulps at most.
                assert!(
                    (got - want[c.index()]).abs() <= 1e-15,
                    "{name} {}: entry share of {}: {} vs {got}",
                    route.name(),
                    c.name(),
                    want[c.index()]
                );
            }
        }
    }
}
