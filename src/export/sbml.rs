//! A scenario's model as an SBML Level 3 Version 2 document, so that COPASI,
//! libRoadRunner/Tellurium or any SBML tool can re-run what `cellpk run` computes.
//!
//! What the file holds: one compartment `body` (size 1; the states are amounts), one
//! species per state (cells, `hasOnlySubstanceUnits`), every resolved parameter as a
//! global parameter (dotted name in `name`, unit, and its source in `<notes>`), the
//! pass shares and rate constants as assignment rules over those parameters (`flows`),
//! with `[model]` mechanisms their states as parameters with rate rules and the values
//! they scale the flows by as assignment rules (`mechanisms`), one mass-action reaction
//! per flow, and the schedule as events: a bolus adds its cells
//! times the route's entry shares; an infusion raises its route's input rate at its start
//! and lowers it at its end. Events use the values at execution time, so doses that fall
//! at the same moment add up whatever order a simulator runs them in.
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
         amounts in cells. Each dose is an event that fires when time crosses the dose's \
         start (trigger initialValue true), so start the simulation slightly before t = 0 \
         (e.g. at -0.001 h): a dose at t = 0 fires then, also after a reset.",
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
                "      <parameter id=\"{}\" name=\"input rate of {} infusions\" value=\"0\" \
                 units=\"cell_per_hour\" constant=\"false\"/>",
                input_id(route),
                route.name()
            ),
        );
    }
    line(w, "    </listOfParameters>");

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

    line(w, "    <listOfEvents>");
    for (i, dose) in schedule.iter().enumerate() {
        for e in dose_events(i + 1, dose, flows.entry(dose.route)) {
            line(w, &format!("      {e}"));
        }
    }
    line(w, "    </listOfEvents>");
    line(w, "  </model>");
    line(w, "</sbml>");
    x
}

/// The events of administration `n` (1-based, in schedule order): one for a bolus, two
/// (start and end) for an infusion.
///
/// Triggers start true, so an event fires only when time crosses its moment: libRoadRunner
/// 2.10 fires a trigger that starts false at load time (t = 0) whatever the start time,
/// giving a dose at 0 twice from a start before 0, and loses it after `reset()`
/// (PITFALLS.md; measured). With the trigger true at the start, a simulation from slightly
/// before 0 gives it exactly once, fresh or after a reset.
fn dose_events(n: usize, dose: &Dose, entry: &Dist) -> Vec<String> {
    let what = format!(
        "dose {n}: administration {} of [[dose]] block {}, {} cells by {}",
        dose.number,
        dose.block + 1,
        dose.cells,
        dose.route.name()
    );
    let event = |id: String, name: String, at_h: f64, assignments: String| {
        format!(
            "<event id=\"{id}\" name=\"{}\" useValuesFromTriggerTime=\"false\">\
             <trigger initialValue=\"true\" persistent=\"true\">{MATH}<apply><geq/>{TIME}{}\
             </apply></math></trigger><listOfEventAssignments>{assignments}\
             </listOfEventAssignments></event>",
            escape(&name),
            Expr::Measured(at_h, "hour").mathml()
        )
    };
    let assign = |variable: &str, change: &Expr, sign: &str| {
        format!(
            "<eventAssignment variable=\"{variable}\">{MATH}<apply><{sign}/><ci>{variable}</ci>{}\
             </apply></math></eventAssignment>",
            change.mathml()
        )
    };
    if dose.is_bolus() {
        let cells = Expr::Measured(dose.cells, "cell");
        let assignments: String = entry
            .iter()
            .map(|(c, share)| assign(c.name(), &cells.times(share), "plus"))
            .collect();
        vec![event(
            format!("dose_{n}_bolus"),
            format!("{what}, bolus at {} h", dose.start_h),
            dose.start_h,
            assignments,
        )]
    } else {
        let input = input_id(dose.route);
        let rate = Expr::Measured(dose.rate_per_h(), "cell_per_hour");
        vec![
            event(
                format!("dose_{n}_infusion_start"),
                format!("{what}, infusion starts at {} h", dose.start_h),
                dose.start_h,
                assign(&input, &rate, "plus"),
            ),
            event(
                format!("dose_{n}_infusion_end"),
                format!("{what}, infusion ends at {} h", dose.end_h()),
                dose.end_h(),
                assign(&input, &rate, "minus"),
            ),
        ]
    }
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
