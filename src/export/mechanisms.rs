//! The `[model]` mechanisms of `mechanisms::system`, written symbolically for the SBML
//! export: the mechanisms' states that are on, with their ODEs as rate rules, and the
//! scaling values (`flows::Scaling`) as assignment rules of those states, the cells and
//! the named parameters. The flows then stay mass action on their source compartment, with
//! rate constants that move with the states, as `Extended::rates` assembles them.
//!
//! Every expression is `system.rs`'s, term by term (including its clipping of states at
//! zero); the test below evaluates them and holds them against `Driven::rhs_at`. The
//! shadow states of `system.rs` are left out: they only serve the metric
//! `liver_reached_fraction`, which the file does not compute.

use super::expr::Expr;
use super::flows::{param, Derived, Scaling, DEATHS};
use crate::compartment::Compartment as C;
use crate::mechanisms::system::SIGNAL_WEIGHTS;
use crate::mechanisms::Slow;
use crate::params::Param;
use crate::scenario::Mechanisms;

/// A mechanism's state: an SBML parameter driven by a rate rule.
#[derive(Debug, Clone, PartialEq)]
pub struct StateRule {
    /// SBML id: the state's column name in `timecourse.csv`.
    pub id: &'static str,
    /// What it is, for the `name` attribute.
    pub name: &'static str,
    /// Its value before any cells are given, as `Extended::initial` sets it.
    pub initial: f64,
    /// Whether it counts cells (else it is dimensionless).
    pub in_cells: bool,
    /// Its time derivative (1/h times the state's unit).
    pub rate: Expr,
}

/// The mechanisms that are on, as SBML rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// The scaling values the flows are built with.
    pub scaling: Scaling,
    /// Dimensionless quantities the scaling and the rates use, in definition order.
    pub derived: Vec<Derived>,
    /// The states that are on, in `Slow::NAMES` order.
    pub states: Vec<StateRule>,
}

/// The cells in compartment `c` (its species).
fn cells(c: C) -> Expr {
    Expr::id(c.name())
}

/// `sum of parameter x cells` over `terms` (the paracrine signal, the death flux).
fn weighted_sum(terms: &[(C, Param)]) -> Expr {
    terms
        .iter()
        .map(|&(c, p)| param(p).times(&cells(c)))
        .reduce(|a, b| a.plus(&b))
        .expect("not empty")
}

impl Rules {
    /// The rules of the mechanisms `on`, starting from the mechanisms' states `initial`.
    pub fn new(on: Mechanisms, initial: &Slow) -> Rules {
        let mut derived = Vec::new();
        let mut define = |id: &str, name: &str, expr: Expr| {
            derived.push(Derived {
                id: id.to_string(),
                name: name.to_string(),
                expr,
                is_rate: false,
            });
            Expr::id(id)
        };
        let one = Expr::Num(1.0);
        let mut scaling = Scaling::resolved();
        let mut homing = one.clone();
        if on.injury {
            // Homing multiplier m(r) = 1/f + (f - 1)/f max(r, 0) on the resolved hazard.
            let f = param(Param::InjuryHomingFold);
            homing = define(
                "injury_homing",
                "homing multiplier at the current injury",
                one.over(&f).plus(
                    &f.minus(&one)
                        .over(&f)
                        .times(&Expr::id("injury").at_least_zero("dimensionless")),
                ),
            );
            // E = 1 - (1 - E_resolved)^m: the hazard times m (E_resolved = 1 stays 1).
            scaling.liver_extraction = define(
                "liver_extraction_now",
                "liver extraction per pass at the current injury",
                scaling
                    .liver_extraction
                    .complement()
                    .pow(&homing)
                    .complement(),
            );
        }
        let mut room = one.clone();
        if on.niche {
            room = define(
                "niche_room",
                "room left in the liver niche, max(0, 1 - engrafted / capacity)",
                cells(C::LiverEngrafted)
                    .over(&param(Param::NicheCapacity))
                    .complement()
                    .at_least_zero("dimensionless"),
            );
        }
        scaling.engraftment = homing.times(&room);
        scaling.depot_engraftment = room;
        if on.sensitization {
            scaling.death = define(
                "death_factor",
                "death-rate multiplier at the current sensitization",
                one.plus(
                    &param(Param::SensitizationFold)
                        .minus(&one)
                        .times(&Expr::id("sensitization").at_least_zero("dimensionless")),
                ),
            );
        }
        let action = (on.injury || on.effect).then(|| {
            let signal = weighted_sum(&SIGNAL_WEIGHTS).at_least_zero("cell");
            define(
                "paracrine_action",
                "paracrine action of the live cells (0 to 1)",
                signal.over(&param(Param::SignalHalfMax).plus(&signal)),
            )
        });

        let mut states = Vec::new();
        let mut state = |id, name, initial, in_cells, rate| {
            states.push(StateRule {
                id,
                name,
                initial,
                in_cells,
                rate,
            })
        };
        if let (true, Some(action)) = (on.injury, &action) {
            let r = Expr::id("injury");
            state(
                "injury",
                "liver injury relative to the disease's level (1 untreated, 0 healed)",
                initial.injury,
                false,
                param(Param::InjuryRelapse)
                    .times(&r.complement())
                    .minus(&param(Param::InjuryRepair).times(action).times(&r)),
            );
        }
        if on.sensitization {
            let u = Expr::id("antigen");
            let z = Expr::id("sensitization");
            let u_plus = u.at_least_zero("cell");
            state(
                "antigen",
                "antigen: debris of dead donor cells (dead-cell equivalents)",
                initial.antigen,
                true,
                scaling
                    .death
                    .times(&weighted_sum(&DEATHS))
                    .minus(&param(Param::AntigenClearance).times(&u)),
            );
            state(
                "sensitization",
                "sensitization of the host (0 naive, 1 fully sensitized)",
                initial.sensitization,
                false,
                param(Param::SensitizationOnset)
                    .times(&u_plus.over(&param(Param::AntigenHalfMax).plus(&u_plus)))
                    .times(&z.complement())
                    .minus(&param(Param::SensitizationDecay).times(&z)),
            );
        }
        if let (true, Some(action)) = (on.effect, &action) {
            let k = param(Param::MarkerTurnover);
            state(
                "marker",
                "liver-function marker relative to its baseline",
                initial.marker,
                false,
                k.times(&one.plus(&param(Param::EffectEmax).times(action)))
                    .minus(&k.times(&Expr::id("marker"))),
            );
        }
        Rules {
            scaling,
            derived,
            states,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::compartment::N;
    use crate::export::flows::{param_id, Flows};
    use crate::mechanisms::system::{self, Driven, Extended, Y};
    use crate::params::{resolve, Subject};
    use crate::presets::routes::DepotSite;
    use crate::presets::{CellSource, Disease, Donor, Modification, Species};

    /// The rules, evaluated at a state with every mechanism away from its rest, give
    /// `Driven::rhs_at`'s derivative of every cell and mechanism state, for every depot
    /// site and every combination of mechanisms.
    #[test]
    fn the_rules_are_the_extended_system() {
        let p = resolve(&Subject {
            species: Species::Human,
            body_weight_kg: 70.0,
            disease: Disease::DecompensatedCirrhosis,
            source: CellSource::BoneMarrow,
            donor: Donor::Allogeneic,
            modification: Modification::None,
        });
        for bits in 0..16 {
            let on = Mechanisms {
                niche: bits & 1 != 0,
                injury: bits & 2 != 0,
                sensitization: bits & 4 != 0,
                effect: bits & 8 != 0,
            };
            for depot in [None, Some(DepotSite::Liver), Some(DepotSite::Spleen)] {
                let system = Extended::new(&p, depot, on);
                let mut y: Y = system.initial();
                let rules = Rules::new(on, &system::slow(&y));
                for (i, c) in C::ALL.iter().enumerate() {
                    y[i] = 1e5 * (1.0 + i as f64);
                    if *c == C::LiverEngrafted {
                        y[i] = 0.5 * p.get(Param::NicheCapacity);
                    }
                }
                let slow = [0.6, 3e6, 0.3, 1.1];
                for (k, v) in slow.iter().enumerate() {
                    y[N + k] = *v;
                }
                assert_eq!(system::slow(&y).values(), slow, "the states' positions");
                let dy = Driven {
                    system: &system,
                    input: crate::compartment::State::zeros(),
                }
                .rhs_at(&y);

                let flows = Flows::new(depot, &rules.scaling);
                let mut values: HashMap<String, f64> =
                    p.iter().map(|(q, r)| (param_id(q), r.value)).collect();
                for (i, c) in C::ALL.iter().enumerate() {
                    values.insert(c.name().to_string(), y[i]);
                }
                for (name, v) in Slow::NAMES.iter().zip(slow) {
                    values.insert(name.to_string(), v);
                }
                for d in rules.derived.iter().chain(&flows.derived) {
                    let v = d.expr.eval(&values).expect("defined before use");
                    values.insert(d.id.clone(), v);
                }
                for (i, c) in C::ALL.iter().enumerate() {
                    let net: f64 = flows
                        .flows
                        .iter()
                        .map(|f| {
                            let flux = values[&f.rate] * values[f.from.name()];
                            if f.to == *c {
                                flux
                            } else if f.from == *c {
                                -flux
                            } else {
                                0.0
                            }
                        })
                        .sum();
                    let scale = 1e-12 * dy.fixed_rows::<N>(0).amax();
                    assert!(
                        (net - dy[i]).abs() <= scale,
                        "{on:?} {depot:?}: d{}/dt: rules {net:e}, system {:e}",
                        c.name(),
                        dy[i]
                    );
                }
                let want = system::slow(&dy).values();
                for (k, name) in Slow::NAMES.iter().enumerate() {
                    let got = rules
                        .states
                        .iter()
                        .find(|s| s.id == *name)
                        .map_or(0.0, |s| s.rate.eval(&values).expect("defined"));
                    assert!(
                        (got - want[k]).abs() <= 1e-12 * want[k].abs(),
                        "{on:?} {depot:?}: d{name}/dt: rules {got:e}, system {:e}",
                        want[k]
                    );
                }
            }
        }
    }
}
