//! `cellpk validate` end to end: the shipped cases, a case made to fail, and bad data.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use cellpk::validation::data;

use crate::common::cellpk;

use crate::common;

fn validate(cases: &[&Path], out: &Path) -> Output {
    cellpk()
        .arg("validate")
        .args(cases)
        .arg("--out")
        .arg(out)
        .output()
        .expect("runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The shipped case files, sorted.
fn shipped() -> Vec<PathBuf> {
    common::toml_files("validation")
}

/// A copy of the case `name` and the shipped observations in a temp dir, with `edit`
/// applied to the case text and `data` to the CSV text.
fn copied_case(
    name: &str,
    edit: impl Fn(&str) -> String,
    data: impl Fn(&str) -> String,
) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let case = fs::read_to_string(format!("validation/{name}.toml")).expect("case");
    let csv = fs::read_to_string("validation/observations.csv").expect("data");
    let file = dir.path().join(format!("{name}.toml"));
    fs::write(&file, edit(&case)).expect("write case");
    fs::write(dir.path().join("observations.csv"), data(&csv)).expect("write data");
    (dir, file)
}

/// Replaces the `max_fold_error` line of a case.
fn tolerance(case: &str, value: &str) -> String {
    case.lines()
        .map(|l| {
            if l.starts_with("max_fold_error") {
                format!("max_fold_error = {value}")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Replaces `from` by `to` in the first row of `study` only.
fn edit_row(csv: &str, study: &str, from: &str, to: &str) -> String {
    let mut done = false;
    csv.lines()
        .map(|l| {
            if !done && l.starts_with(&format!("{study},")) && l.contains(from) {
                done = true;
                l.replacen(from, to, 1)
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
fn shipped_cases_exit_as_they_pass_or_fail() {
    let out = tempfile::tempdir().expect("temp dir");
    let all = cellpk()
        .arg("validate")
        .arg("--out")
        .arg(out.path())
        .output()
        .expect("runs");
    let stdout = text(&all.stdout);
    let cases = shipped();
    assert!(!cases.is_empty());
    let mut any_fail = false;
    for case in &cases {
        let name = case.file_stem().expect("stem").to_string_lossy();
        let line = stdout
            .lines()
            .find(|l| l.contains(&format!(" {name}:")))
            .unwrap_or_else(|| panic!("no summary line for {name} in\n{stdout}"));
        let pass = line.starts_with("PASS") || line.starts_with("KNOWN DISAGREEMENT");
        assert!(pass || line.starts_with("FAIL"), "{line}");
        any_fail |= !pass;
        // Alone, each case exits as its verdict says.
        let single = tempfile::tempdir().expect("temp dir");
        let run = validate(&[case], single.path());
        assert_eq!(run.status.success(), pass, "{name}: {}", text(&run.stderr));
        if !pass {
            assert_eq!(
                run.status.code(),
                Some(1),
                "a failing case is not bad input"
            );
        }
    }
    assert_eq!(all.status.success(), !any_fail, "{}", text(&all.stderr));
    // What CI relies on: every shipped case agrees, or disagrees as its file declares.
    assert!(!any_fail, "{stdout}");

    let dir = out.path().join("validation");
    let report = fs::read_to_string(dir.join("report.md")).expect("report.md");
    let table = fs::read_to_string(dir.join("comparison.csv")).expect("comparison.csv");
    assert!(table.starts_with(
        "case,study,organ,time_h,unit,method,observed,sd,low,high,predicted,fold_error,in_range\n"
    ));
    for case in &cases {
        let name = case.file_stem().expect("stem").to_string_lossy();
        assert!(
            report.contains(&format!("## {name}")),
            "{name} in report.md"
        );
        assert!(
            table.contains(&format!("\n{name},")),
            "{name} in comparison.csv"
        );
        for ext in ["png", "svg"] {
            let figure = dir.join(format!("{name}.{ext}"));
            assert!(
                fs::metadata(&figure).map(|m| m.len()).unwrap_or(0) > 1000,
                "{}",
                figure.display()
            );
        }
    }
    let svg = fs::read_to_string(dir.join("toma2009_rat_ia.svg")).expect("svg");
    assert!(svg.contains("Time after the first administration (h)"));
    assert!(svg.contains("toma2009_rat_ia: live"));
}

#[test]
fn an_impossible_tolerance_fails_with_exit_code_1() {
    // With a loose tolerance the same case passes: the failure below is the tolerance's.
    let (loose, case) = copied_case("toma2009_rat_ia", |c| tolerance(c, "1000"), str::to_owned);
    let run = validate(&[&case], &loose.path().join("out"));
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert!(text(&run.stdout).contains("PASS  toma2009_rat_ia"));

    let (dir, case) = copied_case("toma2009_rat_ia", |c| tolerance(c, "1.0001"), str::to_owned);
    let out = dir.path().join("out");
    let run = validate(&[&case], &out);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stderr));
    let stdout = text(&run.stdout);
    assert!(
        stdout.contains("FAIL  toma2009_rat_ia") && stdout.contains("> 1.0001"),
        "{stdout}"
    );
    assert!(text(&run.stderr).contains("1 of 1 validation cases failed"));
    // The report explaining the failure is written.
    let report = fs::read_to_string(out.join("validation/report.md")).expect("report");
    assert!(report.contains("| FAIL |"));
}

/// Runs a bad case and checks exit code 2, the message, and that nothing was written.
fn rejected(dir: &tempfile::TempDir, case: &Path, expected: &[&str]) {
    let out = dir.path().join("out");
    let run = validate(&[case], &out);
    let stderr = text(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    for e in expected {
        assert!(stderr.contains(e), "missing {e:?} in {stderr}");
    }
    assert!(!out.exists(), "nothing written on bad input");
}

#[test]
fn bad_rows_are_input_errors_naming_file_line_and_fix() {
    let study = "toma2009_rat_ia";
    let cases: [(&str, &str, &[&str]); 4] = [
        (
            ",other,0.01,",
            ",kidney,0.01,",
            &["observations.csv:5", "unknown organ \"kidney\"", "fix:"],
        ),
        (
            ",live,7,",
            ",pet,7,",
            &["observations.csv:5", "unknown method \"pet\"", "fix:"],
        ),
        (
            ",92,percent_injected",
            ",-92,percent_injected",
            &["observations.csv:5", "`value`", ">= 0"],
        ),
        (
            ",other,0.01,",
            ",other,500,",
            &["observations.csv:5", "no overlap in time", "duration_days"],
        ),
    ];
    for (from, to, expected) in cases {
        let (dir, case) = copied_case(study, str::to_owned, |csv| edit_row(csv, study, from, to));
        rejected(&dir, &case, expected);
    }
}

#[test]
fn a_study_not_in_the_file_is_an_input_error() {
    let (dir, case) = copied_case(
        "toma2009_rat_ia",
        |c| c.replace("study = \"toma2009_rat_ia\"", "study = \"toma2010\""),
        str::to_owned,
    );
    rejected(
        &dir,
        &case,
        &["no row has study \"toma2010\"", "toma2009_rat_ia"],
    );
}

#[test]
fn a_case_without_validation_is_an_input_error() {
    let (dir, case) = copied_case(
        "toma2009_rat_ia",
        |c| c.split("[validation]").next().expect("head").to_owned(),
        str::to_owned,
    );
    rejected(
        &dir,
        &case,
        &["toma2009_rat_ia.toml", "no `[validation]` section", "fix:"],
    );
}

#[test]
fn a_declared_disagreement_passes_only_while_the_model_disagrees() {
    // Detante's statements are missed as declared: without the declaration the case fails.
    let (dir, case) = copied_case(
        "detante2009_rat_iv",
        |c| {
            c.lines()
                .filter(|l| !l.starts_with("known_disagreement"))
                .collect::<Vec<_>>()
                .join("\n")
        },
        str::to_owned,
    );
    let run = validate(&[&case], &dir.path().join("out"));
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stdout));
    assert!(text(&run.stdout).contains("FAIL  detante2009_rat_iv"));
    // A case that agrees but declares a disagreement fails, so the declaration goes.
    let (dir, case) = copied_case(
        "toma2009_rat_ia",
        |c| format!("{c}\nknown_disagreement = \"a stale declaration\"\n"),
        str::to_owned,
    );
    let run = validate(&[&case], &dir.path().join("out"));
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stdout));
    assert!(
        text(&run.stdout).contains("remove `known_disagreement`"),
        "{}",
        text(&run.stdout)
    );
}

/// Observation files may name the regions imaging studies report beyond the model's
/// compartments: bone marrow and the whole body. A radiolabel scenario predicts both
/// (the whole body, decay-corrected, keeps nearly all of a residualizing label in a day).
#[test]
fn marrow_and_whole_body_rows_are_compared() {
    let rows = |csv: &str| {
        let mut csv = csv.to_owned();
        for (organ, low) in [("whole_body", 95), ("marrow", 0)] {
            csv.push_str(&format!(
                "forstrom1995_human_granulocytes,human,peripheral_vein,{organ},20,,\
                 percent_injected,radiolabel,,{low},100,test row,test row\n"
            ));
        }
        csv
    };
    // An 111In case: the label's defaults keep it in the body.
    let (dir, case) = copied_case("forstrom1995_human_granulocytes", str::to_owned, rows);
    let out = dir.path().join("out");
    let run = validate(&[&case], &out);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let table = fs::read_to_string(out.join("validation/comparison.csv")).expect("comparison.csv");
    for organ in ["whole_body", "marrow"] {
        let row = table
            .lines()
            .find(|l| l.contains(&format!(",{organ},20,percent_injected,")))
            .unwrap_or_else(|| panic!("no {organ} row in\n{table}"));
        assert!(row.ends_with(",true"), "{row}");
    }
}

/// Rows in `fold_auc_of_control` are areas as multiples of the control group's: a case
/// whose control is the same scenario predicts exactly 1 for every organ. A ratio row in a
/// case without a control, and a control naming a control of its own (which could make a
/// cycle), are bad input.
#[test]
fn area_ratios_are_taken_against_the_control_group() {
    let dir = tempfile::tempdir().expect("temp dir");
    let control = fs::read_to_string("validation/controls/ma2022_mouse_healthy.toml")
        .expect("shipped control");
    fs::write(dir.path().join("control.toml"), &control).expect("write control");
    let validation = "\n[validation]\ndata = \"rows.csv\"\nstudy = \"self\"\n\
                      max_fold_error = 1.000001\n";
    let case = dir.path().join("case.toml");
    let with_control = format!("{control}{validation}control = \"control.toml\"\n");
    fs::write(&case, &with_control).expect("write case");
    let mut rows = data::COLUMNS.join(",");
    for organ in ["liver", "lung", "spleen"] {
        rows.push_str(&format!(
            "\nself,mouse,peripheral_vein,{organ},48,1,fold_auc_of_control,dna_pcr,,,,test,test"
        ));
    }
    fs::write(dir.path().join("rows.csv"), rows + "\n").expect("write rows");
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let out = elsewhere.path().join("out");
    let run = validate(&[&case], &out);
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert!(
        text(&run.stdout).contains("GMFE 1.000 <= 1.000001"),
        "{}",
        text(&run.stdout)
    );
    let table = fs::read_to_string(out.join("validation/comparison.csv")).expect("table");
    assert_eq!(
        table
            .matches(",fold_auc_of_control,dna_pcr,1,,,,1,1,")
            .count(),
        3,
        "{table}"
    );

    // Without a control.
    fs::write(&case, format!("{control}{validation}")).expect("write case");
    rejected(
        &dir,
        &case,
        &["rows.csv:2", "`unit`", "`[validation] control`"],
    );
    // A control with a control of its own.
    fs::write(&case, &with_control).expect("write case");
    let looped = control.replace("[observe]", "[validation]\ndata = \"rows.csv\"\nstudy = \"self\"\nmax_fold_error = 2\ncontrol = \"case.toml\"\n\n[observe]");
    fs::write(dir.path().join("control.toml"), looped).expect("write control");
    rejected(
        &dir,
        &case,
        &["control.toml", "validation.control", "of its own", "fix:"],
    );
}
