//! `cellpk export-sbml` end to end, without Python: the export of every shipped scenario
//! is well-formed XML naming every state and every parameter of `cellpk params`, with
//! boluses at t = 0 as initial assignments, one event per later bolus, an infusion's
//! input rate as a state starting at the rate running at t = 0 with events at later
//! starts and at ends (no event at t = 0; triggers starting false), and with `[model]` mechanisms a rate rule for
//! each mechanism state that is on (and none for the others); bad input fails as `run`
//! does; nothing is left half-written. Whether the file
//! reproduces `cellpk run` from t = 0 is checked in libRoadRunner and COPASI by
//! `tests/sbml/run.sh`.

use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;

use cellpk::compartment::Compartment;
use cellpk::presets::Choice;

use crate::common;
use common::toml_files;

const TIME: &str =
    "<csymbol encoding=\"text\" definitionURL=\"http://www.sbml.org/sbml/symbols/time\">time</csymbol>";

/// The exit code for bad input (`cellpk::error::EXIT_BAD_INPUT`).
const BAD_INPUT: i32 = 2;

fn cellpk() -> Command {
    let mut cmd = Command::cargo_bin("cellpk").expect("the cellpk binary is built");
    cmd.timeout(Duration::from_secs(60));
    cmd
}

/// Checks that `xml` is well-formed enough for an XML parser: tags balance and nest, and
/// every `&` starts one of the five predefined entities. Returns the first problem.
fn well_formed(xml: &str) -> Result<(), String> {
    let mut open: Vec<&str> = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find('<') {
        let text = &rest[..start];
        check_entities(text)?;
        let end = rest[start..].find('>').ok_or("a tag is not closed")? + start;
        let tag = &rest[start + 1..end];
        check_entities(tag)?;
        if tag.starts_with('?') {
            if !tag.ends_with('?') {
                return Err(format!("bad declaration <{tag}>"));
            }
        } else if let Some(name) = tag.strip_prefix('/') {
            match open.pop() {
                Some(top) if top == name.trim() => {}
                other => return Err(format!("</{name}> closes {other:?}")),
            }
        } else if !tag.ends_with('/') {
            let name = tag.split_whitespace().next().ok_or("empty tag")?;
            open.push(name);
        }
        if !tag.matches('"').count().is_multiple_of(2) {
            return Err(format!("unbalanced quotes in <{tag}>"));
        }
        rest = &rest[end + 1..];
    }
    check_entities(rest)?;
    match open.as_slice() {
        [] => Ok(()),
        left => Err(format!("unclosed elements {left:?}")),
    }
}

fn check_entities(text: &str) -> Result<(), String> {
    for (i, _) in text.match_indices('&') {
        let entity = &text[i..];
        if !["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
            .iter()
            .any(|e| entity.starts_with(e))
        {
            return Err(format!("raw & in {:?}", &text[i..(i + 20).min(text.len())]));
        }
    }
    Ok(())
}

#[test]
fn the_well_formedness_check_can_fail() {
    assert!(well_formed("<a><b/></a>").is_ok());
    assert!(well_formed("<a><b></a></b>").is_err());
    assert!(well_formed("<a>x & y</a>").is_err());
    assert!(well_formed("<a x=\"1></a>").is_err());
    assert!(well_formed("<a>").is_err());
}

#[test]
fn every_scenario_exports_its_states_parameters_and_doses() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut exported, mut mechanisms) = (0, 0);
    let (mut initial_boluses, mut later_boluses, mut infused) = (0, 0, 0);
    for file in toml_files("scenarios") {
        let scenario = cellpk::scenario::load(&file).expect("shipped scenarios are valid");
        let target = dir.path().join(format!("{}.xml", scenario.name));
        let out = cellpk()
            .args(["export-sbml".as_ref(), file.as_os_str(), "-o".as_ref()])
            .arg(&target)
            .output()
            .expect("cellpk runs");
        assert!(out.status.success(), "{}: {:?}", file.display(), out);
        exported += 1;
        let xml = std::fs::read_to_string(&target).expect("the export is written");
        well_formed(&xml).unwrap_or_else(|e| panic!("{}: {e}", target.display()));
        assert!(xml.contains("level=\"3\" version=\"2\""));
        let on = scenario.mechanisms;
        mechanisms += usize::from(on.any());
        for (state, is_on) in [
            ("injury", on.injury),
            ("antigen", on.sensitization),
            ("sensitization", on.sensitization),
            ("marker", on.effect),
        ] {
            let declared = format!("<parameter id=\"{state}\" name=");
            let rule = format!("<rateRule variable=\"{state}\">");
            assert_eq!(xml.contains(&declared), is_on, "{}: {state}", scenario.name);
            assert_eq!(xml.contains(&rule), is_on, "{}: {state}", scenario.name);
        }
        for c in Compartment::ALL {
            assert!(
                xml.contains(&format!(
                    "<species id=\"{0}\" name=\"{0}\" compartment=\"body\"",
                    c.name()
                )),
                "{}: species {}",
                scenario.name,
                c.name()
            );
        }
        let params = cellpk()
            .arg("params")
            .arg(&file)
            .output()
            .expect("cellpk runs");
        let table = String::from_utf8_lossy(&params.stdout);
        let names: Vec<&str> = table
            .lines()
            .skip(2)
            .filter(|l| !l.starts_with(' ') && !l.is_empty())
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        assert_eq!(names.len(), cellpk::params::Param::ALL.len(), "{table}");
        for name in names {
            let declared = format!(
                "<parameter id=\"{}\" name=\"{name}\" value=",
                name.replace('.', "_")
            );
            assert!(xml.contains(&declared), "{}: {declared}", scenario.name);
        }
        let schedule = scenario.schedule();
        let at_zero = schedule
            .iter()
            .filter(|d| d.is_bolus() && d.start_h == 0.0)
            .count();
        let later = schedule
            .iter()
            .filter(|d| d.is_bolus() && d.start_h > 0.0)
            .count();
        let infusions: Vec<_> = schedule.iter().filter(|d| !d.is_bolus()).collect();
        initial_boluses += at_zero;
        later_boluses += later;
        infused += infusions.len();
        let started = infusions.iter().filter(|d| d.start_h > 0.0).count();
        // One event per bolus after t = 0 and none at t = 0; per infusion, one at its end
        // and one at its start if after t = 0.
        assert_eq!(
            xml.matches("<event ").count(),
            later + infusions.len() + started,
            "{}",
            scenario.name
        );
        assert_eq!(xml.matches("_bolus\"").count(), later, "{}", scenario.name);
        assert_eq!(xml.matches("_infusion_start\"").count(), started);
        assert_eq!(xml.matches("_infusion_end\"").count(), infusions.len());
        // Every trigger starts false and stays true once reached (see `sbml.rs`), and
        // none is at t = 0.
        assert_eq!(
            xml.matches("<trigger initialValue=\"false\" persistent=\"true\">")
                .count(),
            later + infusions.len() + started,
            "{}",
            scenario.name
        );
        assert!(
            !xml.contains(&format!("<geq/>{TIME}<cn sbml:units=\"hour\">0</cn>")),
            "{}: an event at t = 0",
            scenario.name
        );
        // Boluses at t = 0 are initial assignments of the entry compartments.
        assert_eq!(
            xml.contains("<listOfInitialAssignments>"),
            at_zero > 0,
            "{}",
            scenario.name
        );
        // An infusion route's input rate is a state starting at the rate of the infusions
        // running at t = 0.
        for d in &infusions {
            let id = format!("infusion_{}_cells_per_h", d.route.name());
            let initial: f64 = infusions
                .iter()
                .filter(|e| e.route == d.route && e.start_h == 0.0)
                .map(|e| e.rate_per_h())
                .sum();
            let declared = format!(
                "<parameter id=\"{id}\" name=\"input rate of {} infusions\" value=\"{initial:e}\"",
                d.route.name()
            );
            assert!(xml.contains(&declared), "{}: {declared}", scenario.name);
            let rule = format!("<rateRule variable=\"{id}\">");
            assert!(xml.contains(&rule), "{}: {rule}", scenario.name);
        }
        assert!(
            !xml.contains("-0.001"),
            "{}: no start-before-0 advice",
            scenario.name
        );
    }
    // What the shipped scenarios cover: boluses at t = 0 and later, infusions.
    assert!(initial_boluses >= 1 && later_boluses >= 1 && infused >= 1);
    // Floors, so adding a scenario keeps passing: eight shipped, one with mechanisms.
    assert!(exported >= 8, "the shipped scenarios are exported");
    assert!(mechanisms >= 1, "a scenario with mechanisms is exported");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".xml"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

#[test]
fn the_default_output_is_output_name_xml() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/mouse_tail_vein.toml");
    cellpk()
        .current_dir(dir.path())
        .arg("export-sbml")
        .arg(&file)
        .assert()
        .success()
        .stdout("wrote output/mouse_tail_vein.xml\n");
    let written: Vec<_> = std::fs::read_dir(dir.path().join("output"))
        .expect("output/")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(
        written,
        vec![std::ffi::OsString::from("mouse_tail_vein.xml")]
    );
}

#[test]
fn bad_input_fails_as_run_does_and_writes_nothing() {
    for file in toml_files("tests/fixtures/bad") {
        let dir = tempfile::tempdir().expect("temp dir");
        let run = cellpk()
            .current_dir(dir.path())
            .arg("run")
            .arg(&file)
            .output()
            .expect("cellpk runs");
        let export = cellpk()
            .current_dir(dir.path())
            .arg("export-sbml")
            .arg(&file)
            .output()
            .expect("cellpk runs");
        assert_eq!(export.status.code(), Some(BAD_INPUT), "{}", file.display());
        assert_eq!(
            String::from_utf8_lossy(&export.stderr),
            String::from_utf8_lossy(&run.stderr),
            "{}",
            file.display()
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).expect("list").count(),
            0,
            "{}: nothing written",
            file.display()
        );
    }
}

#[test]
fn an_unwritable_target_leaves_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/mouse_tail_vein.toml");
    // A directory in the way of the file: the rename fails after the temporary is written.
    let target = dir.path().join("model.xml");
    std::fs::create_dir(&target).expect("create dir");
    std::fs::write(target.join("keep"), "x").expect("write");
    cellpk()
        .arg("export-sbml")
        .arg(&file)
        .arg("-o")
        .arg(&target)
        .assert()
        .code(1);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("model.xml")]);
}

#[test]
fn markup_in_free_text_is_escaped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("escape.toml");
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/mouse_tail_vein.toml"),
    )
    .expect("shipped scenario")
    .replace(
        "description = \"Tail-vein bolus of 5e5 syngeneic BM-MSCs in a healthy mouse\"",
        "description = \"<b>dose</b> & 'quotes' \\\"here\\\"\"",
    );
    std::fs::write(&file, text).expect("write");
    let target = dir.path().join("escape.xml");
    cellpk()
        .arg("export-sbml")
        .arg(&file)
        .arg("-o")
        .arg(&target)
        .assert()
        .success();
    let xml = std::fs::read_to_string(&target).expect("written");
    well_formed(&xml).expect("well-formed");
    assert!(xml.contains("&lt;b&gt;dose&lt;/b&gt; &amp; &apos;quotes&apos; &quot;here&quot;"));
}
