//! `cellpk sensitivity` end to end: the outputs, their independence from the thread
//! count, the indices against a case with a known answer, and bad input.

use std::fs;
use std::path::Path;

use crate::common::cellpk;

const SCENARIO: &str = "scenarios/human_decompensated_portal_vein.toml";

/// Runs `cellpk sensitivity` with `args` into `out`; the written directory.
fn sensitivity(args: &[&str], out: &Path) -> std::path::PathBuf {
    let run = cellpk()
        .arg("sensitivity")
        .arg(SCENARIO)
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .expect("runs");
    crate::common::ok(&run);
    out.join("human_decompensated_portal_vein-sensitivity")
}

const PARAMS: &str =
    "--params=portal.shunt_fraction=0.2:0.7,lung.extraction=0.2:0.9,lung.death_per_h=0.01:0.2";

#[test]
fn sobol_results_do_not_depend_on_the_threads() {
    let (one, two) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let args = |t| {
        vec![
            PARAMS,
            "--n",
            "128",
            "--metrics",
            "liver_auc,lung_peak_fraction",
            "--threads",
            t,
        ]
    };
    let a = sensitivity(&args("1"), one.path());
    let b = sensitivity(&args("2"), two.path());
    for f in [
        "sensitivity.csv",
        "samples.csv",
        "sensitivity_liver_auc.svg",
    ] {
        assert_eq!(
            fs::read(a.join(f)).expect(f),
            fs::read(b.join(f)).expect(f),
            "{f}"
        );
    }
    assert!(a.join("sensitivity_lung_peak_fraction.png").is_file());
    let table = fs::read_to_string(a.join("sensitivity.csv")).expect("csv");
    // A header, and a row per metric and parameter.
    assert_eq!(table.lines().count(), 1 + 2 * 3, "{table}");
    // 128 (3 + 2) runs and a header.
    let samples = fs::read_to_string(a.join("samples.csv")).expect("csv");
    assert_eq!(samples.lines().count(), 1 + 128 * 5);
}

/// Engrafted liver cells never return to the blood, so how fast they die cannot move the
/// lungs' peak: that factor's total index and its Morris effect must be nil (to the
/// estimators' rounding), and those of the portal shunt and the lungs' arrest not.
#[test]
fn a_parameter_that_cannot_act_gets_no_index() {
    let out = tempfile::tempdir().expect("dir");
    let parse = |dir: &Path, column: usize| -> Vec<(String, f64)> {
        fs::read_to_string(dir.join("sensitivity.csv"))
            .expect("csv")
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f[1].to_string(), f[column].parse().expect("number"))
            })
            .collect()
    };
    let metric = ["--metrics", "lung_peak_fraction"];
    let params = "--params=portal.shunt_fraction=0.2:0.7,lung.extraction=0.2:0.9,\
                  liver.engrafted_death_per_h=0.0005:0.005";
    let sobol = sensitivity(&[&[params, "--n", "256"][..], &metric].concat(), out.path());
    let total = parse(&sobol, 7);
    assert_eq!(total[2].0, "liver.engrafted_death_per_h");
    assert!(
        total[2].1.abs() < 1e-3 && total[0].1 > 0.1 && total[1].1 > 0.1,
        "{total:?}"
    );
    let out = tempfile::tempdir().expect("dir");
    let morris = sensitivity(
        &[&[params, "--method", "morris", "--n", "20"][..], &metric].concat(),
        out.path(),
    );
    let mu_star = parse(&morris, 4);
    assert!(
        mu_star[2].1.abs() < 1e-6 && mu_star[0].1 > 0.01 && mu_star[1].1 > 0.01,
        "{mu_star:?}"
    );
}

#[test]
fn bad_input_exits_2_naming_the_argument_and_writes_nothing() {
    let out = tempfile::tempdir().expect("dir");
    for (args, names) in [
        (vec!["--params=lung.extraction=0.2:0.9"], "--params"),
        (
            vec!["--params=lung.extraction=0.2:1.5,liver.extraction=0.1:0.5"],
            "--params",
        ),
        (
            vec!["--params=lung.death_per_h=0:1,liver.extraction=0.1:0.5"],
            "--params",
        ),
        (vec![PARAMS, "--metrics", "liver_aux"], "--metrics"),
        (vec![PARAMS, "--n", "1"], "--n"),
        (vec![PARAMS, "--n", "100000"], "--n"),
    ] {
        let run = cellpk()
            .arg("sensitivity")
            .arg(SCENARIO)
            .args(&args)
            .arg("--out")
            .arg(out.path())
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(names), "{args:?}: {stderr}");
    }
    assert_eq!(fs::read_dir(out.path()).expect("dir").count(), 0);
}
