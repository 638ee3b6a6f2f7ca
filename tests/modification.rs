//! Modified and pretreated cells (`[cells] modification`): multipliers on homing and
//! survival, on by name, sweepable, and off by default.

use crate::common;

use std::path::Path;

use cellpk::params::Param;
use cellpk::presets::{Choice, Modification};
use cellpk::scenario::{self, Scenario};
use cellpk::simulation;

/// The decompensated peripheral-vein scenario with `modification` set (or absent).
fn scenario(modification: Option<&str>) -> Scenario {
    let text = std::fs::read_to_string("scenarios/human_decompensated_peripheral_vein.toml")
        .expect("the shipped scenario is readable");
    let text = match modification {
        Some(m) => text.replacen("[cells]", &format!("[cells]\nmodification = \"{m}\""), 1),
        None => text,
    };
    scenario::parse(&text, Path::new("modified.toml"))
        .unwrap_or_else(|e| panic!("{modification:?}: {e}"))
}

#[test]
fn unmodified_is_the_default_and_changes_nothing() {
    let absent = scenario(None);
    let none = scenario(Some("none"));
    assert_eq!(absent.subject.modification, Modification::None);
    assert_eq!(absent.parameters, none.parameters);
}

#[test]
fn each_modification_multiplies_homing_and_survival_as_its_preset_says() {
    let none = scenario(None);
    for &m in Modification::ALL {
        let s = scenario(Some(m.name()));
        let (homing, clearance) = (m.homing_factor().value, m.clearance_factor().value);
        let (p, p0) = (&s.parameters, &none.parameters);
        // Liver arrest as a hazard, 1 - E' = (1 - E)^homing, on the share f of the liver
        // inflow that meets the sinusoids (the disease's perfusion factor): E = f E_s.
        let f = s.subject.disease.effects().liver_perfusion_factor.value;
        common::assert_close(
            1.0 - p.get(Param::LiverExtraction) / f,
            (1.0 - p0.get(Param::LiverExtraction) / f).powf(homing),
            1e-12,
            0.0,
            &format!("{}: liver extraction", m.name()),
        );
        for (param, factor) in [
            (Param::Engraftment, homing),
            (Param::LungDeath, clearance),
            (Param::SinusoidDeath, clearance),
            (Param::EngraftedDeath, clearance),
            (Param::DepotDeath, clearance),
            (Param::LungRelease, 1.0),
            (Param::LungExtraction, 1.0),
        ] {
            common::assert_close(
                p.get(param),
                p0.get(param) * factor,
                1e-12,
                0.0,
                &format!("{}: {}", m.name(), param.name()),
            );
        }
        let source = &p.entry(Param::LiverExtraction).source;
        assert!(
            homing == 1.0 || source.contains(m.name()),
            "{}: the source names the modification: {source}",
            m.name()
        );
    }
}

#[test]
fn better_homing_brings_more_cells_to_the_liver() {
    let none = simulation::metrics_only(&scenario(None)).expect("simulates");
    let cxcr4 =
        simulation::metrics_only(&scenario(Some("cxcr4_overexpression"))).expect("simulates");
    assert!(
        cxcr4.liver_reached_fraction > none.liver_reached_fraction,
        "reached: CXCR4 {} vs unmodified {}",
        cxcr4.liver_reached_fraction,
        none.liver_reached_fraction
    );
    assert!(cxcr4.liver_engrafted_auc_cell_days > none.liver_engrafted_auc_cell_days);
    assert!(cxcr4.mass_balance_rel_error < 1e-9);
}

#[test]
fn an_unknown_modification_names_the_valid_ones() {
    let text = std::fs::read_to_string("scenarios/human_decompensated_peripheral_vein.toml")
        .expect("readable")
        .replacen("[cells]", "[cells]\nmodification = \"cxcr4\"", 1);
    let err = scenario::parse(&text, Path::new("bad.toml"))
        .expect_err("an unknown modification is refused")
        .to_string();
    assert!(err.contains("cxcr4_overexpression"), "{err}");
}

#[test]
fn modification_is_a_sweep_axis() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = std::fs::canonicalize("scenarios/human_decompensated_peripheral_vein.toml")
        .expect("the shipped scenario exists");
    let file = dir.path().join("modifications.toml");
    std::fs::write(
        &file,
        format!(
            "name = \"modifications\"\nbase = {:?}\n\n[[axis]]\npath = \"cells.modification\"\n\
             values = [\"none\", \"cxcr4_overexpression\", \"cmet_overexpression\", \
             \"hypoxic_preconditioning\"]\n",
            base.display().to_string()
        ),
    )
    .expect("write the sweep");
    let sweep = cellpk::sweep::load(&file).unwrap_or_else(|e| panic!("{e}"));
    for (i, &m) in Modification::ALL.iter().enumerate() {
        let s = sweep.scenario(i as u64).expect("a valid point");
        assert_eq!(s.subject.modification, m);
        assert_eq!(s.parameters, scenario(Some(m.name())).parameters);
    }
}
