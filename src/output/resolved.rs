//! `resolved.toml`: the scenario with every default made explicit and every parameter
//! written out with its unit and source, so that `cellpk run resolved.toml` reproduces the
//! run exactly (floats are written in shortest round-trip form).
//!
//! Also the `cellpk params` table, which shows the same parameters for reading.

use std::fmt::Write;

use crate::dosing::Amount;
use crate::params::Param;
use crate::presets::Choice;
use crate::scenario::Scenario;

/// A TOML string literal.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A TOML float that reads back as the same f64.
fn float(v: f64) -> String {
    format!("{v:?}")
}

/// The text of `resolved.toml`; `origin` names the file it was resolved from.
pub fn resolved_toml(scenario: &Scenario, origin: &str) -> String {
    let s = scenario;
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(format!(
        "# Resolved by cellpk {} from {origin}: every default explicit;",
        env!("CARGO_PKG_VERSION")
    ));
    line("# `cellpk run` on this file reproduces the run.".into());
    line(format!("name = {}", quoted(&s.name)));
    if let Some(d) = &s.description {
        line(format!("description = {}", quoted(d)));
    }
    line(String::new());
    line("[subject]".into());
    line(format!("species = {}", quoted(s.subject.species.name())));
    line(format!(
        "body_weight_kg = {}",
        float(s.subject.body_weight_kg)
    ));
    line(format!("disease = {}", quoted(s.subject.disease.name())));
    line(String::new());
    line("[cells]".into());
    line(format!("source = {}", quoted(s.subject.source.name())));
    line(format!("donor = {}", quoted(s.subject.donor.name())));
    line(format!(
        "modification = {}",
        quoted(s.subject.modification.name())
    ));
    for d in &s.doses {
        line(String::new());
        line("[[dose]]".into());
        line(format!("route = {}", quoted(d.route.name())));
        match d.amount {
            Amount::PerKg(v) => line(format!("cells_per_kg = {}", float(v))),
            Amount::Total(v) => line(format!("cells = {}", float(v))),
        }
        line(format!("count = {}", d.count));
        line(format!("interval_days = {}", float(d.interval_days)));
        line(format!("start_day = {}", float(d.start_day)));
        line(format!("infusion_minutes = {}", float(d.infusion_minutes)));
    }
    line(String::new());
    line("[simulation]".into());
    line(format!("duration_days = {}", float(s.duration_days)));
    line(format!(
        "output_every_hours = {}",
        float(s.output_every_hours)
    ));
    line(format!(
        "liver_threshold_cells = {}",
        float(s.liver_threshold())
    ));
    line(format!("solver = {}", quoted(s.solver.name())));
    line(format!("rtol = {}", float(s.tolerance.rtol)));
    line(format!("atol = {}", float(s.tolerance.atol)));
    line(String::new());
    line("[model]".into());
    let m = s.mechanisms;
    line(format!("niche = {}", m.niche));
    line(format!("injury = {}", m.injury));
    line(format!("sensitization = {}", m.sensitization));
    line(format!("effect = {}", m.effect));
    line(String::new());
    // `[validation]` is left out: its data path is relative to the original file.
    if let Some(o) = &s.observe {
        line("[observe]".into());
        line(format!("method = {}", quoted(o.method.name())));
        if let Some(isotope) = o.isotope {
            line(format!("isotope = {}", quoted(isotope.name())));
            line(format!(
                "labelled_fraction = {}",
                float(o.labelled_fraction)
            ));
            line(format!("decay_corrected = {}", o.decay_corrected));
        }
        line(String::new());
    }
    line("[parameters]".into());
    for (p, r) in s.parameters.iter() {
        line(format!(
            "# {} ({}). Source: {}",
            p.description(),
            p.unit(),
            r.source
        ));
        line(format!("{} = {}", quoted(p.name()), float(r.value)));
    }
    out
}

/// A value for reading: six significant digits, in exponent form when small or large.
fn readable(v: f64) -> String {
    if v != 0.0 && !(1e-3..1e6).contains(&v.abs()) {
        format!("{v:.5e}")
    } else {
        format!("{v:.6}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

/// The `cellpk params` table: every resolved parameter with value, unit, the range an
/// override may take (`params::Kind::range`) and source, overrides marked.
pub fn params_table(scenario: &Scenario) -> String {
    let mut out = format!("{}: {}\n\n", scenario.name, subject(scenario));
    let width = Param::ALL.iter().map(|p| p.name().len()).max().unwrap_or(0);
    for (p, r) in scenario.parameters.iter() {
        let mark = if r.overridden { "  [override]" } else { "" };
        writeln!(
            out,
            "{:width$}  {:<12}  {}{mark}\n{:width$}  accepts: {} ({})\n{:width$}  source: {}",
            p.name(),
            readable(r.value),
            p.unit(),
            "",
            p.kind().range(),
            p.unit(),
            "",
            r.source,
        )
        .expect("writing to a String cannot fail");
    }
    out
}

/// The resolved parameters of a scenario as a Markdown table: parameter, value, unit and
/// source (citation, `assumption:` with its reason, or how presets were combined).
pub fn params_markdown(scenario: &Scenario) -> String {
    let mut out = format!(
        "Resolved for `{}`: {}.\n\n| parameter | value | unit | source |\n|---|---|---|---|\n",
        scenario.name,
        subject(scenario)
    );
    for (p, r) in scenario.parameters.iter() {
        let mark = if r.overridden { " (override)" } else { "" };
        writeln!(
            out,
            "| `{}` | {}{mark} | {} | {} |",
            p.name(),
            readable(r.value),
            p.unit(),
            r.source.replace('|', "\\|"),
        )
        .expect("writing to a String cannot fail");
    }
    out
}

/// The subject and cells a scenario's parameters were resolved for:
/// "human 70 kg, decompensated_cirrhosis, bone_marrow allogeneic cells".
fn subject(scenario: &Scenario) -> String {
    let s = &scenario.subject;
    format!(
        "{} {} kg, {}, {} {} cells{}",
        s.species,
        s.body_weight_kg,
        s.disease,
        s.source,
        s.donor,
        modified(s.modification)
    )
}

/// `", <name>"` for modified cells, nothing for unmodified ones.
pub fn modified(m: crate::presets::Modification) -> String {
    use crate::presets::{Choice, Modification};
    if m == Modification::None {
        String::new()
    } else {
        format!(", {}", m.name())
    }
}
