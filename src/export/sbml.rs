//! A scenario's model as an SBML Level 3 Version 2 document, so that COPASI,
//! libRoadRunner/Tellurium or any SBML tool can re-run what `cellpk run` computes.
//!
//! What the file holds: one compartment `body` (size 1; the states are amounts), one
//! species per state (cells, `hasOnlySubstanceUnits`), every resolved parameter as a
//! global parameter (dotted name in `name`, unit, and its source in `<notes>`), the
//! pass shares and rate constants as assignment rules over those parameters (`flows`),
//! with `[model]` mechanisms their states as parameters with rate rules and the values
//! they scale the flows by as assignment rules (`mechanisms`), one mass-action reaction
//! per flow, and the schedule encoded so that every simulator gives each dose exactly
//! once from a start at t = 0, fresh or after a reset (PITFALLS.md: an event at t = 0 is
//! lost or doubled depending on the tool and the start): boluses at t = 0 are the entry
//! compartments' initial amounts (initial assignments: cells times the route's entry
//! shares); later boluses are events whose trigger starts false and turns true when time
//! reaches the dose; an infusion's route has an input rate that is a state (a rate rule
//! of 0, so that a reset restores it), starting at the rate of the infusions running at
//! t = 0 and raised and lowered by events at later starts and at ends. Events use the
//! values at execution time, so doses that fall at the same moment add up whatever order
//! a simulator runs them in.
//!
//! The XML is written by hand (no XML library for one output format); every text and
//! attribute goes through `escape`.

use std::collections::HashMap;
use std::fmt::Write;
use std::path::Path;

use super::expr::Expr;
use super::flows::{param_id, Dist, Flows};
use super::mechanisms::Rules;
use crate::compartment::Compartment;
use crate::dosing::Dose;
use crate::mechanisms::system::{self, Extended};
use crate::presets::{Choice, Route};
use crate::scenario::Scenario;
use crate::simulation;

const MATH: &str = "<math xmlns=\"http://www.w3.org/1998/Math/MathML\" \
                    xmlns:sbml=\"http://www.sbml.org/sbml/level3/version2/core\">";
const TIME: &str =
    "<csymbol encoding=\"text\" definitionURL=\"http://www.sbml.org/sbml/symbols/time\">time</csymbol>";

/// Unit definitions: cells are items, time is in hours.
const UNITS: &str = r#"    <listOfUnitDefinitions>
      <unitDefinition id="cell" name="cells"><listOfUnits><unit kind="item" exponent="1" scale="0" multiplier="1"/></listOfUnits></unitDefinition>
      <unitDefinition id="hour" name="h"><listOfUnits><unit kind="second" exponent="1" scale="0" multiplier="3600"/></listOfUnits></unitDefinition>
      <unitDefinition id="per_hour" name="1/h"><listOfUnits><unit kind="second" exponent="-1" scale="0" multiplier="3600"/></listOfUnits></unitDefinition>
      <unitDefinition id="litre_per_hour" name="L/h"><listOfUnits><unit kind="litre" exponent="1" scale="0" multiplier="1"/><unit kind="second" exponent="-1" scale="0" multiplier="3600"/></listOfUnits></unitDefinition>
      <unitDefinition id="cell_per_hour" name="cells/h"><listOfUnits><unit kind="item" exponent="1" scale="0" multiplier="1"/><unit kind="second" exponent="-1" scale="0" multiplier="3600"/></listOfUnits></unitDefinition>
      <unitDefinition id="cell_per_hour_per_hour" name="cells/h/h"><listOfUnits><unit kind="item" exponent="1" scale="0" multiplier="1"/><unit kind="second" exponent="-2" scale="0" multiplier="3600"/></listOfUnits></unitDefinition>
    </listOfUnitDefinitions>
"#;

/// The SBML unit of a parameter's unit as `params.rs` writes it; `None` for a unit this
/// exporter does not know (a test checks that every parameter's unit is known).
pub fn unit_id(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "L/h" => "litre_per_hour",
        "L" => "litre",
        "1/h" => "per_hour",
        "cells" => "cell",
        "fraction"
        | "fraction of cardiac output"
        | "fraction of portal flow"
        | "fraction of venous flow"
        | "fraction per pass"
        | "fraction of baseline"
        | "fold"
        | "per liver cell" => "dimensionless",
        _ => return None,
    })
}

/// Escapes text for XML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            other => out.push(other),
        }
    }
    out
}

/// An SBML id from free text: letters, digits and `_`, not starting with a digit.
fn sid(text: &str) -> String {
    let id: String = text
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if id.starts_with(|c: char| c.is_ascii_alphabetic()) {
        id
    } else {
        format!("m_{id}")
    }
}

/// XHTML notes holding one paragraph per line of `lines`.
fn notes(lines: &[String]) -> String {
    let mut out = String::from("<notes><body xmlns=\"http://www.w3.org/1999/xhtml\">");
    for line in lines {
        write!(out, "<p>{}</p>", escape(line)).expect("writing to a String cannot fail");
    }
    out.push_str("</body></notes>");
    out
}

/// Id of the input rate (cells/h) of infusions by `route`.
fn input_id(route: Route) -> String {
    format!("infusion_{}_cells_per_h", route.name())
}

/// The SBML document of `scenario`, read from `file` (named in errors).
pub fn document(scenario: &Scenario, file: &Path) -> String {
    let depot = simulation::depot_site(scenario);
    let on = scenario.mechanisms;
    // The mechanisms' states start where cellpk's general integrator starts them.
    let initial = system::slow(&Extended::new(&scenario.parameters, depot, on).initial());
    let mechanisms = Rules::new(on, &initial);
    let flows = Flows::new(depot, &mechanisms.scaling);
    // Definition order: the mechanisms' quantities scale the flows.
    let derived: Vec<_> = mechanisms.derived.iter().chain(&flows.derived).collect();
    let schedule = scenario.schedule();
    let mut routes: Vec<Route> = schedule.iter().map(|d| d.route).collect();
    routes.sort_by_key(|r| r.position());
    routes.dedup();
    let mut infused: Vec<Route> = schedule
        .iter()
        .filter(|d| !d.is_bolus())
        .map(|d| d.route)
        .collect();
    infused.sort_by_key(|r| r.position());
    infused.dedup();

    let mut x = String::new();
    let w = &mut x;
    let line = |w: &mut String, s: &str| {
        w.push_str(s);
        w.push('\n');
    };
    line(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    line(
        w,
        "<sbml xmlns=\"http://www.sbml.org/sbml/level3/version2/core\" level=\"3\" version=\"2\">",
    );
    line(
        w,
        &format!(
            "  <model id=\"{}\" name=\"{}\" substanceUnits=\"cell\" timeUnits=\"hour\" \
             extentUnits=\"cell\" volumeUnits=\"litre\">",
            sid(&scenario.name),
            escape(&scenario.name)
        ),
    );
    let mut about = vec![format!(
        "cellpk {}: the model of scenario {} ({}){}, exported by `cellpk export-sbml`.",
        env!("CARGO_PKG_VERSION"),
        scenario.name,
        file.display(),
        match on.names().as_slice() {
            [] => String::new(),
            names => format!(" with the `[model]` mechanisms {}", names.join(", ")),
        }
    )];
    if let Some(d) = &scenario.description {
        about.push(d.clone());
    }
    about.push(format!(
        "Simulate {} days (cellpk's horizon) with output every {} h. Time is in hours, \
         amounts in cells. Start at t = 0 (the time of the schedule's day 0): boluses at \
         t = 0 are the initial amounts of the compartments they enter (initial \
         assignments), later boluses are events whose trigger turns true at the dose \
         time, and an infusion's input rate (infusion_*_cells_per_h) starts at the rate \
         of the infusions running at t = 0 and is raised and lowered by events after \
         t = 0, so each dose is given once, also after a reset.",
        scenario.duration_days, scenario.output_every_hours
    ));
    about.push(
        "Rate constants k_* and pass shares pass_* are assignment rules over the named \
         parameters: edit a parameter and they follow."
            .to_string(),
    );
    if on.any() {
        about.push(
            "The mechanisms' states are parameters with rate rules; the quantities they \
             scale the flows by are assignment rules, so the rate constants move with them. \
             cellpk's shadow states (for the metric liver_reached_fraction) are not exported."
                .to_string(),
        );
    }
    line(w, &format!("    {}", notes(&about)));
    w.push_str(UNITS);
    line(w, "    <listOfCompartments>");
    line(
        w,
        "      <compartment id=\"body\" name=\"whole body (states are amounts of cells; \
         size 1 is a placeholder)\" spatialDimensions=\"3\" size=\"1\" units=\"litre\" \
         constant=\"true\"/>",
    );
    line(w, "    </listOfCompartments>");

    line(w, "    <listOfSpecies>");
    for c in Compartment::ALL {
        line(
            w,
            &format!(
                "      <species id=\"{0}\" name=\"{0}\" compartment=\"body\" initialAmount=\"0\" \
                 substanceUnits=\"cell\" hasOnlySubstanceUnits=\"true\" \
                 boundaryCondition=\"false\" constant=\"false\"/>",
                c.name()
            ),
        );
    }
    line(w, "    </listOfSpecies>");

    line(w, "    <listOfParameters>");
    let mut used = std::collections::BTreeSet::new();
    for e in derived
        .iter()
        .map(|d| &d.expr)
        .chain(mechanisms.states.iter().map(|s| &s.rate))
    {
        e.collect_ids(&mut used);
    }
    for (p, r) in scenario.parameters.iter() {
        let id = param_id(p);
        let unit = unit_id(p.unit()).expect("every parameter's unit is mapped (tested)");
        let mut text = vec![
            format!("{}: {}", p.name(), p.description()),
            format!("Unit: {}.", p.unit()),
            format!("Source: {}", r.source),
        ];
        if !used.contains(&id) {
            text.push(
                "Not used by this model (a `[model]` mechanism that is off or `[observe]` \
                 uses it)."
                    .to_string(),
            );
        }
        line(
            w,
            &format!(
                "      <parameter id=\"{id}\" name=\"{}\" value=\"{:e}\" units=\"{unit}\" \
                 constant=\"true\">{}</parameter>",
                escape(p.name()),
                r.value,
                notes(&text)
            ),
        );
    }
    for s in &mechanisms.states {
        line(
            w,
            &format!(
                "      <parameter id=\"{}\" name=\"{}\" value=\"{:e}\" units=\"{}\" \
                 constant=\"false\">{}</parameter>",
                s.id,
                escape(s.name),
                s.initial,
                if s.in_cells { "cell" } else { "dimensionless" },
                notes(&["Mechanism state: rate rule.".to_string()])
            ),
        );
    }
    // The derived values before the first dose, for a reader of the file (the rules
    // recompute them).
    let mut values: HashMap<String, f64> = scenario
        .parameters
        .iter()
        .map(|(p, r)| (param_id(p), r.value))
        .chain(Compartment::ALL.iter().map(|c| (c.name().to_string(), 0.0)))
        .chain(
            mechanisms
                .states
                .iter()
                .map(|s| (s.id.to_string(), s.initial)),
        )
        .collect();
    for d in &derived {
        let value = d
            .expr
            .eval(&values)
            .expect("derived quantities use only parameters and earlier ones (tested)");
        values.insert(d.id.clone(), value);
        line(
            w,
            &format!(
                "      <parameter id=\"{}\" name=\"{}\" units=\"{}\" constant=\"false\">{}</parameter>",
                d.id,
                escape(&d.name),
                if d.is_rate {
                    "per_hour"
                } else {
                    "dimensionless"
                },
                notes(&[format!(
                    "Assignment rule; {value:e} for this scenario before the first dose."
                )])
            ),
        );
    }
    for &route in &infused {
        line(
            w,
            &format!(
                "      <parameter id=\"{}\" name=\"input rate of {} infusions\" value=\"{:e}\" \
                 units=\"cell_per_hour\" constant=\"false\">{}</parameter>",
                input_id(route),
                route.name(),
                schedule
                    .iter()
                    .filter(|d| !d.is_bolus() && d.route == route && d.start_h <= 0.0)
                    .map(Dose::rate_per_h)
                    .sum::<f64>(),
                notes(&[
                    "The rate of the infusions running at t = 0; events raise it at \
                         later starts and lower it at ends. A rate rule of 0 makes it a state, \
                         so that a reset (libRoadRunner's reset()) restores it."
                        .to_string()
                ])
            ),
        );
    }
    line(w, "    </listOfParameters>");

    // Boluses at t = 0: initial amounts of the entry compartments, so that no simulator
    // has to fire an event at its start time.
    let mut at_start: std::collections::BTreeMap<Compartment, Vec<Expr>> = Default::default();
    for dose in schedule.iter().filter(|d| is_initial(d)) {
        let cells = Expr::Measured(dose.cells, "cell");
        for (c, share) in flows.entry(dose.route) {
            at_start.entry(*c).or_default().push(cells.times(share));
        }
    }
    if !at_start.is_empty() {
        line(w, "    <listOfInitialAssignments>");
        for (c, terms) in &at_start {
            let amount = terms
                .iter()
                .skip(1)
                .fold(terms[0].clone(), |sum, t| sum.plus(t));
            line(
                w,
                &format!(
                    "      <initialAssignment symbol=\"{}\">{MATH}{}</math></initialAssignment>",
                    c.name(),
                    amount.mathml()
                ),
            );
        }
        line(w, "    </listOfInitialAssignments>");
    }

    line(w, "    <listOfRules>");
    for d in &derived {
        line(
            w,
            &format!(
                "      <assignmentRule variable=\"{}\">{MATH}{}</math></assignmentRule>",
                d.id,
                d.expr.mathml()
            ),
        );
    }
    for &route in &infused {
        line(
            w,
            &format!(
                "      <rateRule variable=\"{}\">{MATH}{}</math></rateRule>",
                input_id(route),
                Expr::Measured(0.0, "cell_per_hour_per_hour").mathml()
            ),
        );
    }
    for s in &mechanisms.states {
        line(
            w,
            &format!(
                "      <rateRule variable=\"{}\">{MATH}{}</math></rateRule>",
                s.id,
                s.rate.mathml()
            ),
        );
    }
    line(w, "    </listOfRules>");

    line(w, "    <listOfReactions>");
    let species_ref = |s: Compartment| {
        format!(
            "<speciesReference species=\"{}\" stoichiometry=\"1\" constant=\"true\"/>",
            s.name()
        )
    };
    for f in &flows.flows {
        line(
            w,
            &format!(
                "      <reaction id=\"flow_{0}_to_{1}\" name=\"{0} -&gt; {1}\" reversible=\"false\">\
                 <listOfReactants>{2}</listOfReactants><listOfProducts>{3}</listOfProducts>\
                 <kineticLaw>{MATH}<apply><times/><ci>{4}</ci><ci>{0}</ci></apply></math>\
                 </kineticLaw></reaction>",
                f.from.name(),
                f.to.name(),
                species_ref(f.from),
                species_ref(f.to),
                f.rate
            ),
        );
    }
    for &route in &infused {
        for (c, share) in flows.entry(route) {
            let rate = Expr::id(&input_id(route)).times(share);
            line(
                w,
                &format!(
                    "      <reaction id=\"infusion_{0}_to_{1}\" name=\"{0} infusion -&gt; {1}\" \
                     reversible=\"false\"><listOfProducts>{2}</listOfProducts>\
                     <kineticLaw>{MATH}{3}</math></kineticLaw></reaction>",
                    route.name(),
                    c.name(),
                    species_ref(*c),
                    rate.mathml()
                ),
            );
        }
    }
    line(w, "    </listOfReactions>");

    let mut events = Vec::new();
    for (i, d) in schedule.iter().enumerate() {
        if d.is_bolus() {
            if !is_initial(d) {
                events.push(bolus_event(i + 1, d, flows.entry(d.route)));
            }
        } else {
            events.extend(infusion_events(i + 1, d));
        }
    }
    if !events.is_empty() {
        line(w, "    <listOfEvents>");
        for e in &events {
            line(w, &format!("      {e}"));
        }
        line(w, "    </listOfEvents>");
    }
    line(w, "  </model>");
    line(w, "</sbml>");
    x
}

/// Whether `dose` is a bolus at t = 0, given as initial amounts rather than an event.
fn is_initial(dose: &Dose) -> bool {
    dose.is_bolus() && dose.start_h <= 0.0
}

/// The events of infusion `n` (1-based, in schedule order): at its start if after t = 0
/// (an infusion running at t = 0 is in the input rate's initial value), raising its
/// route's input rate, and at its end, lowering it. Triggers as in `bolus_event`.
///
/// Why not a piecewise function of time for the input (measured on 2026-12-07): COPASI
/// 4.48's LSODA gave no cells for a pulse `piecewise(rate, t >= a && t < b, 0)` with
/// a > 0 (in a reaction, a rate rule or an assignment rule, with or without events at a
/// and b), and libRoadRunner 2.10's CVODE stepped over one a month after the start. And
/// why a rate rule of 0: libRoadRunner's reset() does not restore a plain parameter that
/// events changed, but does restore a rate-rule state.
fn infusion_events(n: usize, dose: &Dose) -> Vec<String> {
    let input = input_id(dose.route);
    let rate = Expr::Measured(dose.rate_per_h(), "cell_per_hour");
    [
        ("start", dose.start_h, "plus"),
        ("end", dose.end_h(), "minus"),
    ]
    .into_iter()
    .filter(|&(_, at_h, _)| at_h > 0.0)
    .map(|(which, at_h, sign)| {
        format!(
            "<event id=\"dose_{n}_infusion_{which}\" name=\"{}\" \
                 useValuesFromTriggerTime=\"false\"><trigger initialValue=\"false\" \
                 persistent=\"true\">{MATH}<apply><geq/>{TIME}{}</apply></math></trigger>\
                 <listOfEventAssignments><eventAssignment variable=\"{input}\">{MATH}\
                 <apply><{sign}/><ci>{input}</ci>{}</apply></math></eventAssignment>\
                 </listOfEventAssignments></event>",
            escape(&format!(
                "dose {n}: administration {} of [[dose]] block {}, {} cells by {}, \
                     infusion {which}s at {at_h} h",
                dose.number,
                dose.block + 1,
                dose.cells,
                dose.route.name()
            )),
            Expr::Measured(at_h, "hour").mathml(),
            rate.mathml()
        )
    })
    .collect()
}

/// The event of bolus `n` (1-based, in schedule order) given after t = 0: it adds the
/// cells times the route's entry shares.
///
/// The trigger `time >= start` starts false (`initialValue="false"`; false at a start at
/// or after 0 anyway, since the dose time is after 0) and is persistent: it turns true
/// once, when time reaches the dose, and stays true, so the event fires exactly once per
/// run, also after a reset. (Boluses at t = 0 are initial amounts: an event at the start
/// time is lost or doubled depending on the tool, PITFALLS.md.)
fn bolus_event(n: usize, dose: &Dose, entry: &Dist) -> String {
    let what = format!(
        "dose {n}: administration {} of [[dose]] block {}, {} cells by {}, bolus at {} h",
        dose.number,
        dose.block + 1,
        dose.cells,
        dose.route.name(),
        dose.start_h
    );
    let cells = Expr::Measured(dose.cells, "cell");
    let assignments: String = entry
        .iter()
        .map(|(c, share)| {
            format!(
                "<eventAssignment variable=\"{0}\">{MATH}<apply><plus/><ci>{0}</ci>{1}\
                 </apply></math></eventAssignment>",
                c.name(),
                cells.times(share).mathml()
            )
        })
        .collect();
    format!(
        "<event id=\"dose_{n}_bolus\" name=\"{}\" useValuesFromTriggerTime=\"false\">\
         <trigger initialValue=\"false\" persistent=\"true\">{MATH}<apply><geq/>{TIME}{}\
         </apply></math></trigger><listOfEventAssignments>{assignments}\
         </listOfEventAssignments></event>",
        escape(&what),
        Expr::Measured(dose.start_h, "hour").mathml()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Param;

    #[test]
    fn every_parameter_unit_has_an_sbml_unit() {
        for &p in Param::ALL {
            assert!(unit_id(p.unit()).is_some(), "{}: {}", p.name(), p.unit());
        }
    }

    #[test]
    fn escapes_markup_in_text_and_attributes() {
        assert_eq!(
            escape("a < b & \"c\" > 'd'"),
            "a &lt; b &amp; &quot;c&quot; &gt; &apos;d&apos;"
        );
        assert_eq!(sid("2 doses-v1.x"), "m_2_doses_v1_x");
    }
}
