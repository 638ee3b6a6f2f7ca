//! End to end: every class of bad scenario file is rejected with exit code 2, an `error: `
//! message naming the file, line, key and fix, and nothing written.
//!
//! Each file in `tests/fixtures/bad/` is a valid scenario with one defect, described by the
//! comment at its top. The table at the bottom lists, for each, where the defect is and the
//! text the message must contain; one helper runs `run`, `check` and `params` on it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;

use crate::common;

/// The exit code for bad input (`cellpk::error::EXIT_BAD_INPUT`).
const BAD_INPUT: i32 = 2;

/// Longer than any rejection should take; a run that hangs fails instead of blocking.
const TIMEOUT: Duration = Duration::from_secs(60);

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bad")
        .join(name)
}

fn valid_scenario() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/mouse_tail_vein.toml")
}

fn cellpk() -> Command {
    let mut cmd = Command::cargo_bin("cellpk").expect("the cellpk binary is built");
    cmd.timeout(TIMEOUT);
    cmd
}

/// Where the message must place the defect.
#[derive(Debug, Clone, Copy)]
enum Line {
    /// A validation error: `FILE:LINE: ` before the key.
    Key(usize),
    /// A TOML syntax or shape error: the parser's `FILE: TOML parse error at line N, column`.
    Parser(usize),
    /// No line asserted (the defect is an absence with no line of its own).
    Unasserted,
}

struct Output {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn output(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("cellpk runs");
    Output {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Collects what is wrong with one command's result, for one report per fixture.
fn expect_rejected(
    what: &str,
    out: &Output,
    expected: &[String],
    stdout_empty: bool,
    problems: &mut Vec<String>,
) {
    if out.code != Some(BAD_INPUT) {
        problems.push(format!(
            "{what}: exit code {:?}, expected {BAD_INPUT}",
            out.code
        ));
    }
    if !out.stderr.starts_with("error: ") {
        problems.push(format!("{what}: stderr does not start with `error: `"));
    }
    for text in expected {
        if !out.stderr.contains(text.as_str()) {
            problems.push(format!("{what}: stderr lacks {text:?}"));
        }
    }
    if stdout_empty && !out.stdout.is_empty() {
        let start: String = out.stdout.chars().take(200).collect();
        problems.push(format!("{what}: stdout is not empty: {start:?}..."));
    }
}

/// Runs `run`, `check` and `params` on a bad fixture and asserts that each exits with code
/// 2 and an `error: ` message containing the file name, the line and every `expected`
/// text, and that `run` writes nothing, not even a hidden temporary directory.
fn assert_rejected(name: &str, line: Line, expected: &[&str]) {
    let file = fixture(name);
    assert!(file.is_file(), "missing fixture {}", file.display());
    let shown = file.display().to_string();
    let mut texts: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    texts.push(match line {
        Line::Key(n) => format!("{shown}:{n}: `"),
        Line::Parser(n) => format!("{shown}: TOML parse error at line {n}, column"),
        Line::Unasserted => format!("{shown}:"),
    });

    let mut problems = Vec::new();
    let out_dir = tempfile::tempdir().expect("temp dir");
    let run = output(
        cellpk()
            .arg("run")
            .arg(&file)
            .arg("--out")
            .arg(out_dir.path()),
    );
    expect_rejected("run", &run, &texts, true, &mut problems);
    let written: Vec<_> = std::fs::read_dir(out_dir.path())
        .expect("list --out")
        .map(|e| e.expect("entry").file_name())
        .collect();
    if !written.is_empty() {
        problems.push(format!("run: wrote {written:?} into --out"));
    }

    let check = output(cellpk().arg("check").arg(&file));
    texts.push("error: 1 of 1 scenario files are invalid".to_string());
    expect_rejected("check", &check, &texts, true, &mut problems);
    texts.pop();

    let params = output(cellpk().arg("params").arg(&file));
    expect_rejected("params", &params, &texts, true, &mut problems);

    assert!(
        problems.is_empty(),
        "{name}:\n  {}\n--- run stderr:\n{}--- check stderr:\n{}",
        problems.join("\n  "),
        run.stderr,
        check.stderr
    );
}

/// One test per class: `test: "fixture.toml" at LINE => [texts the message must contain]`.
/// Attributes (`#[ignore = "..."]`) before a row apply to its test.
macro_rules! bad_inputs {
    ($($(#[$meta:meta])* $test:ident: $fixture:literal at $line:expr => [$($text:expr),* $(,)?];)+) => {
        /// Every fixture of the table.
        const FIXTURES: &[&str] = &[$($fixture),+];
        $(
            $(#[$meta])*
            #[test]
            fn $test() {
                assert_rejected($fixture, $line, &[$($text),*]);
            }
        )+
    };
}

bad_inputs! {
    malformed_toml: "syntax.toml" at Line::Parser(6) => [
        "species = \"human",
        "invalid basic string",
    ];
    unknown_key_in_subject: "unknown_subject_key.toml" at Line::Parser(7) => [
        "unknown field `body_weight`, expected one of `species`, `body_weight_kg`, `disease`",
        "did you mean `body_weight_kg`?",
    ];
    unknown_top_level_table: "unknown_table.toml" at Line::Parser(25) => [
        "[paramters]",
        "unknown field `paramters`, expected one of `name`, `description`, `subject`, \
         `cells`, `dose`, `simulation`, `model`, `parameters`",
        "did you mean `parameters`?",
    ];
    unknown_species: "unknown_species.toml" at Line::Parser(6) => [
        "species = \"mice\"",
        "unknown variant `mice`, expected one of `mouse`, `rat`, `pig`, `human`",
    ];
    unknown_route: "unknown_route.toml" at Line::Parser(15) => [
        "route = \"portal\"",
        "unknown variant `portal`, expected one of `peripheral_vein`, `hepatic_artery`, \
         `portal_vein`, `intrasplenic`, `intrahepatic`, `intraperitoneal`",
        "did you mean `portal_vein`?",
    ];
    unknown_disease: "unknown_disease.toml" at Line::Parser(8) => [
        "disease = \"cirrhosis\"",
        "unknown variant `cirrhosis`, expected one of `healthy`, `compensated_cirrhosis`, \
         `decompensated_cirrhosis`, `acute_liver_failure`, `acute_on_chronic_liver_failure`, \
         `liver_transplant_rejection`",
        "did you mean `compensated_cirrhosis` or `decompensated_cirrhosis`?",
    ];
    radiolabel_without_isotope: "radiolabel_without_isotope.toml" at Line::Key(20) => [
        "`observe.isotope`: a radiolabel needs its isotope (for physical decay)",
        "fix: add `isotope = ...`, one of `in111`, `tc99m`, `zr89`, `cr51`",
    ];
    fold_error_below_one: "validation_fold_error_below_one.toml" at Line::Key(26) => [
        "`validation.max_fold_error`: 0.5 is not a fold error >= 1",
        "fix: set `validation.max_fold_error` to a fold error >= 1",
    ];
    radiolabel_over_doses_with_a_mechanism: "radiolabel_over_doses_with_mechanism.toml" at Line::Key(27) => [
        "`observe.method`: a radiolabel over 2 administrations is followed one administration \
         at a time, which the `[model]` mechanisms (niche) do not allow",
        "fix: observe one administration, switch the mechanisms off",
    ];
    exact_solver_with_a_mechanism: "exact_solver_with_mechanism.toml" at Line::Key(22) => [
        "`simulation.solver`: the exact engine needs a linear model, and `[model]` switches on niche",
        "fix: set `solver = \"auto\"` (or `\"rodas\"`), or switch the mechanisms off",
    ];
    tolerance_out_of_range: "tolerance_out_of_range.toml" at Line::Key(19) => [
        "`simulation.rtol`: 1e-16 is not a tolerance from 1e-13 to 0.1",
        "fix: set `simulation.rtol` to a tolerance from 1e-13 to 0.1",
    ];
    unknown_key_in_model: "unknown_model_key.toml" at Line::Parser(18) => [
        "unknown field `nitche`, expected one of `niche`, `injury`, `sensitization`, `effect`",
        "did you mean `niche`?",
    ];
    unknown_parameter_override: "unknown_parameter.toml" at Line::Key(26) => [
        "lung.extration",
        "no such parameter",
        "fix: did you mean `lung.extraction`?",
    ];
    negative_cells_per_kg: "negative_cells_per_kg.toml" at Line::Key(16) => [
        "`dose[1].cells_per_kg`: -1000000 is not a number of cells per kg > 0",
        "fix: set `dose[1].cells_per_kg` to a number of cells per kg > 0",
    ];
    nan_value: "nan_value.toml" at Line::Key(7) => [
        "`subject.body_weight_kg`: NaN is not a body weight in kg between 2 and 250 for a human",
        "fix: set `subject.body_weight_kg` to a body weight in kg between 2 and 250 for a human",
    ];
    negative_infusion_minutes: "negative_infusion_minutes.toml" at Line::Key(19) => [
        "`dose[1].infusion_minutes`: -30 is not 0 (a bolus) or a number of minutes from 0.0001 (6 ms)",
        "fix: set `dose[1].infusion_minutes` to 0 (a bolus) or a number of minutes from 0.0001",
    ];
    fraction_override_out_of_range: "fraction_out_of_range.toml" at Line::Key(26) => [
        "`parameters.\"lung.extraction\"`: 1.5 is not a fraction between 0 and 1 (fraction per pass)",
        "fix: set `parameters.\"lung.extraction\"` to a fraction between 0 and 1",
    ];
    flow_fractions_above_one: "flow_fractions_above_one.toml" at Line::Key(27) => [
        "`parameters.\"flow.gut_fraction\"`: organ flow fractions sum to 1.1, above 1 (all of \
         cardiac output): \"flow.hepatic_artery_fraction\" = 0.3, \"flow.spleen_fraction\" = \
         0.3, \"flow.gut_fraction\" = 0.5",
        "fix: lower the overridden flow fractions so that they sum to at most 1",
    ];
    both_cells_and_cells_per_kg: "cells_and_cells_per_kg.toml" at Line::Key(14) => [
        "`dose[1].cells`: both `cells_per_kg` and `cells` are given",
        "fix: keep exactly one of them",
    ];
    neither_cells_nor_cells_per_kg: "no_amount.toml" at Line::Key(14) => [
        "`dose[1].cells_per_kg`: the dose gives no amount",
        "fix: add `cells_per_kg = ...` or `cells = ...`",
    ];
    count_without_interval: "count_without_interval.toml" at Line::Key(14) => [
        "`dose[1].interval_days`: 2 administrations need an interval",
        "fix: add `interval_days = ...` (days between administrations)",
    ];
    count_out_of_range: "zero_count.toml" at Line::Key(17) => [
        "`dose[1].count`: 0 is not a number of administrations from 1 to 1000",
        "fix: set `count` between 1 and 1000",
    ];
    overlapping_doses: "overlapping_doses.toml" at Line::Key(15) => [
        "`dose[1]`: administration 2 at day 0.01 overlaps administration 1 of dose[1] \
         (day 0, 60 min) by the same route `peripheral_vein`",
        "fix: space administrations by more than the infusion length, or give the cells as \
         one larger dose",
    ];
    two_depot_routes: "two_depot_routes.toml" at Line::Key(19) => [
        "`dose[2].route`: `intrahepatic` and `intrasplenic` both leave cells in a local depot, \
         and the model has one depot state",
        "fix: simulate the two depot routes as separate scenarios (their outcomes add)",
    ];
    output_grid_too_large: "output_grid_too_large.toml" at Line::Key(24) => [
        "`simulation.output_every_hours`: 3650 days every 0.0001 h is 876000001 samples, \
         more than the 5000000 a run keeps in memory",
        "fix: set `output_every_hours` to at least 0.0176",
    ];
    implausible_body_weight: "implausible_body_weight.toml" at Line::Key(7) => [
        "`subject.body_weight_kg`: 70 is not a body weight in kg between 0.01 and 0.06 for a mouse",
        "fix: set `subject.body_weight_kg` to a body weight in kg between 0.01 and 0.06 for a mouse",
    ];
    implausible_dose: "implausible_dose.toml" at Line::Key(17) => [
        "`dose[1].cells_per_kg`: 7e12 cells in one administration (70 kg) is not a plausible dose",
        "fix: give from 1 to 1e12 cells per administration; check the exponent and per-kg vs total",
    ];
    every_dose_after_the_end: "doses_after_end.toml" at Line::Key(24) => [
        "`simulation.duration_days`: every administration starts after day 90, the end",
        "fix: lengthen `duration_days` or move `start_day` earlier",
    ];
    no_dose_block: "no_dose.toml" at Line::Unasserted => [
        "`dose`: the scenario gives no cells",
        "fix: add a `[[dose]]` block with `route` and `cells_per_kg` or `cells`",
    ];
    invalid_output_directory_name: "invalid_name.toml" at Line::Key(2) => [
        "`name`: \"../x\" cannot name an output directory",
        "fix: use up to 100 letters, digits, `_`, `-` and `.`, starting with a letter or digit",
    ];
    missing_required_key: "missing_duration.toml" at Line::Parser(21) => [
        "[simulation]",
        "missing field `duration_days`",
        "fix: add `duration_days = ...` to this table",
    ];
    wrong_type: "wrong_type.toml" at Line::Parser(22) => [
        "duration_days = \"90\"",
        "invalid type: string \"90\", expected a number",
    ];
    output_directory_name_too_long: "name_too_long.toml" at Line::Key(3) => [
        "`name`: a name of 300 characters is too long for a directory",
        "fix: use up to 100 letters",
    ];
    unbounded_duration: "unbounded_duration.toml" at Line::Key(24) => [
        "`simulation.duration_days`: 1e300 is not a number of days from 0.01 (14.4 min) to 36525 (100 years)",
        "fix: set `simulation.duration_days` to a number of days from 0.01 (14.4 min) to 36525",
    ];
    rate_faster_than_the_model_resolves: "rate_too_fast.toml" at Line::Key(26) => [
        "`parameters.\"lung.release_per_h\"`: 1e15 is not a rate from 0 to 1e4 (1/h)",
        "fix: set `parameters.\"lung.release_per_h\"` to a rate from 0 to 1e4 (1/h)",
    ];
    blood_turning_over_too_fast: "blood_turnover_too_fast.toml" at Line::Key(26) => [
        "`parameters.\"circulation.arterial_volume_l\"`: cardiac output 390 L/h over \
         `circulation.arterial_volume_l` = 1e-5 L turns the blood over 39000000 times an hour, \
         faster than the 1e5 /h the model resolves",
        "fix: raise `circulation.arterial_volume_l` to at least 0.0039 L",
    ];
    infusion_shorter_than_six_seconds: "infusion_too_short.toml" at Line::Key(19) => [
        "`dose[1].infusion_minutes`: 1e-12 is not 0 (a bolus) or a number of minutes from 0.0001 (6 ms)",
    ];
    duration_shorter_than_the_minimum: "duration_too_short.toml" at Line::Key(22) => [
        "`simulation.duration_days`: 5e-324 is not a number of days from 0.01 (14.4 min)",
    ];
    variability_of_an_unknown_parameter: "variability_unknown_parameter.toml" at Line::Key(28) => [
        "`variability.parameters.\"lung.extration\"`: no such parameter",
        "fix: did you mean `lung.extraction`?",
    ];
    variability_with_a_cv_not_positive: "variability_cv_not_positive.toml" at Line::Key(30) => [
        "`variability.parameters.\"lung.extraction\".cv`: 0 is not a CV > 0 and <= 10",
    ];
    variability_correlations_not_positive_definite: "variability_not_positive_definite.toml" at Line::Key(43) => [
        "`variability.correlation`: the correlations are not positive definite",
        "fix: weaken the correlations of `portal.shunt_fraction`",
    ];
    variability_calibrated_without_a_calibration: "variability_calibrated_not_calibrated.toml" at Line::Key(29) => [
        "`variability.parameters.\"lung.extraction\".distribution`: `lung.extraction` is not calibrated for a human",
        "fix: give it a distribution of its own",
    ];
    variability_calibrated_where_the_subject_derives_another_value: "variability_calibrated_derived.toml" at Line::Key(29) => [
        "`variability.parameters.\"liver.extraction\".distribution`: this subject's `liver.extraction` is 0.34",
        "hazard x 1.96 homing in decompensated_cirrhosis",
        "fix: give it a distribution of its own",
    ];
    variability_physiology_unknown: "variability_physiology_unknown.toml" at Line::Parser(27) => [
        "unknown variant `between_patients`, expected `between_patient`",
        "did you mean `between_patient`?",
    ];
    variability_centred_outside_the_range: "variability_median_out_of_range.toml" at Line::Key(27) => [
        "the distribution's median, 4, is not a fraction between 0 and 1",
        "fix: centre the distribution within",
    ];
}

#[test]
fn every_fixture_is_in_the_table_and_says_what_is_wrong() {
    let dir = fixture("");
    let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("list the fixtures")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let in_table: BTreeSet<String> = FIXTURES.iter().map(|s| s.to_string()).collect();
    assert_eq!(on_disk, in_table, "fixtures on disk vs in the table");
    for name in FIXTURES {
        let text = std::fs::read_to_string(fixture(name)).expect("read fixture");
        assert!(
            text.starts_with("# BAD: "),
            "{name} should begin with a `# BAD: ` comment saying what is wrong"
        );
    }
}

#[test]
fn check_reports_each_file_and_fails_if_any_is_invalid() {
    let valid = valid_scenario();
    let invalid = fixture("zero_count.toml");
    let out = output(cellpk().arg("check").arg(&valid).arg(&invalid));
    assert_eq!(out.code, Some(BAD_INPUT), "stderr: {}", out.stderr);
    assert_eq!(out.stdout, format!("ok  {}\n", valid.display()));
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("{}:17: `dose[1].count`", invalid.display())),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .ends_with("error: 1 of 2 scenario files are invalid\n"),
        "{}",
        out.stderr
    );
}

#[test]
fn check_accepts_every_shipped_scenario() {
    let files = common::toml_files("scenarios");
    assert!(!files.is_empty());
    let out = output(cellpk().arg("check").args(&files));
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    assert_eq!(out.stdout.lines().count(), files.len(), "{}", out.stdout);
}

#[test]
fn run_on_a_missing_file_says_so_once_and_writes_nothing() {
    let missing = fixture("no_such_scenario.toml");
    let out_dir = tempfile::tempdir().expect("temp dir");
    let out = output(
        cellpk()
            .arg("run")
            .arg(&missing)
            .arg("--out")
            .arg(out_dir.path()),
    );
    assert_eq!(out.code, Some(BAD_INPUT), "stderr: {}", out.stderr);
    assert!(
        out.stderr.starts_with(&format!(
            "error: {}: cannot read the file: ",
            missing.display()
        )),
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stderr.matches("(os error").count(),
        1,
        "the OS error shows once: {}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
    assert_eq!(
        std::fs::read_dir(out_dir.path()).expect("list").count(),
        0,
        "nothing is written"
    );
}

#[test]
fn params_on_a_bad_file_exits_2_and_prints_no_table() {
    let out = output(
        cellpk()
            .arg("params")
            .arg(fixture("fraction_out_of_range.toml")),
    );
    assert_eq!(out.code, Some(BAD_INPUT), "stderr: {}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(
        out.stderr.starts_with("error: ")
            && out.stderr.contains("`parameters.\"lung.extraction\"`"),
        "{}",
        out.stderr
    );
}

#[test]
fn population_refuses_no_subjects_too_many_and_a_scenario_without_variability() {
    let varied = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/human_decompensated_uncertain_portal.toml");
    let cases: [(&Path, &str, &[&str]); 3] = [
        (
            &varied,
            "0",
            &["is not a number of subjects from 1 to 200000"],
        ),
        (
            &varied,
            "200001",
            &["is not a number of subjects from 1 to 200000"],
        ),
        (
            &valid_scenario(),
            "10",
            &[
                "`variability`: the scenario has no `[variability]`",
                "fix: add",
            ],
        ),
    ];
    for (scenario, n, expected) in cases {
        let out_dir = tempfile::tempdir().expect("temp dir");
        let out = output(
            cellpk()
                .args(["population", &scenario.display().to_string(), "--n", n])
                .arg("--out")
                .arg(out_dir.path()),
        );
        assert_eq!(out.code, Some(BAD_INPUT), "--n {n}: {}", out.stderr);
        assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
        for text in expected {
            assert!(out.stderr.contains(text), "--n {n}: {}", out.stderr);
        }
        let written = std::fs::read_dir(out_dir.path())
            .expect("list --out")
            .count();
        assert_eq!(written, 0, "--n {n} wrote into --out");
    }
}

#[test]
fn population_refuses_an_unknown_format_naming_the_formats() {
    let varied = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/human_decompensated_uncertain_portal.toml");
    let out_dir = tempfile::tempdir().expect("temp dir");
    let out = output(
        cellpk()
            .arg("population")
            .arg(&varied)
            .args(["--n", "5", "--format", "xlsx", "--out"])
            .arg(out_dir.path()),
    );
    assert_eq!(out.code, Some(BAD_INPUT), "{}", out.stderr);
    for text in ["'xlsx'", "csv", "parquet"] {
        assert!(out.stderr.contains(text), "{}", out.stderr);
    }
    let written = std::fs::read_dir(out_dir.path())
        .expect("list --out")
        .count();
    assert_eq!(written, 0, "wrote into --out");
}

#[test]
fn population_whose_draws_always_break_a_rule_exits_2_and_writes_nothing() {
    // The gut's share of cardiac output alone near 1: with the hepatic artery's and the
    // spleen's, the flow fractions always sum above 1.
    let text = std::fs::read_to_string(valid_scenario()).expect("the scenario")
        + "\n[variability]\n[variability.parameters.\"flow.gut_fraction\"]\n\
           distribution = \"uniform\"\nrange = [0.97, 1]\n";
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("always_too_much_flow.toml");
    std::fs::write(&file, text).expect("write the scenario");
    let out_dir = dir.path().join("out");
    let out = output(
        cellpk()
            .arg("population")
            .arg(&file)
            .args(["--n", "5", "--out"])
            .arg(&out_dir),
    );
    assert_eq!(out.code, Some(BAD_INPUT), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("none of 1000 draws of `[variability]` gives a valid scenario"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("fix: narrow the distributions"),
        "{}",
        out.stderr
    );
    assert!(!out_dir.exists(), "nothing is written");
}
