//! Every shipped scenario runs end to end through the binary, writes every output, and
//! its `resolved.toml` reproduces the run exactly.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

mod common;

fn shipped() -> Vec<PathBuf> {
    common::toml_files("scenarios")
}

fn run(scenario: &Path, out: &Path) -> String {
    let output = Command::cargo_bin("cellpk")
        .expect("binary built")
        .args([
            "run",
            &scenario.display().to_string(),
            "--out",
            &out.display().to_string(),
        ])
        .output()
        .expect("cellpk runs");
    assert!(
        output.status.success(),
        "{} failed: {}",
        scenario.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 summary")
}

#[test]
fn every_shipped_scenario_runs_and_reproduces_from_resolved_toml() {
    let files = shipped();
    assert!(
        files.len() >= 6,
        "five human routes and a mouse study are shipped"
    );
    assert!(
        files
            .iter()
            .any(|f| cellpk::scenario::load(f).is_ok_and(|s| s.observe.is_some())),
        "a scenario with [observe] is shipped"
    );
    for file in files {
        let first = tempfile::tempdir().expect("temp dir");
        let summary = run(&file, first.path());
        assert!(summary.contains("mass-balance error"), "{summary}");
        let name = file
            .file_stem()
            .expect("file name")
            .to_string_lossy()
            .to_string();
        let dir = first.path().join(&name);
        for output in [
            "timecourse.csv",
            "metrics.csv",
            "timecourse.png",
            "timecourse.svg",
            "resolved.toml",
        ] {
            let len = fs::metadata(dir.join(output)).map(|m| m.len()).unwrap_or(0);
            assert!(len > 100, "{name}/{output} missing or empty");
        }
        // The mechanisms' figure exactly when a mechanism with a state to draw is on.
        let scenario = cellpk::scenario::load(&file).expect("valid");
        let m = scenario.mechanisms;
        let drawn = m.injury || m.sensitization || m.effect;
        for output in ["mechanisms.png", "mechanisms.svg"] {
            assert_eq!(dir.join(output).exists(), drawn, "{name}/{output}");
        }
        // What a study's method would show exactly when the scenario names one.
        let observed = ["observed.csv", "observed.png", "observed.svg"];
        for output in observed {
            assert_eq!(
                dir.join(output).exists(),
                scenario.observe.is_some(),
                "{name}/{output}"
            );
        }
        let second = tempfile::tempdir().expect("temp dir");
        run(&dir.join("resolved.toml"), second.path());
        let compared = ["timecourse.csv", "metrics.csv", "resolved.toml"]
            .into_iter()
            .chain(scenario.observe.is_some().then_some(observed[0]));
        for output in compared {
            let a = fs::read_to_string(dir.join(output)).expect("first run");
            let b = fs::read_to_string(second.path().join(&name).join(output)).expect("second run");
            if output == "resolved.toml" {
                // Only the header naming the origin file differs.
                assert_eq!(
                    a.lines().skip(2).collect::<Vec<_>>(),
                    b.lines().skip(2).collect::<Vec<_>>()
                );
            } else {
                assert_eq!(
                    a, b,
                    "{name}/{output} differs when rerun from resolved.toml"
                );
            }
        }
    }
}

#[test]
fn params_marks_overrides_and_lists_every_parameter() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("s.toml");
    let text = fs::read_to_string("scenarios/mouse_tail_vein.toml").expect("shipped scenario")
        + "\n[parameters]\n\"lung.extraction\" = 0.8\n";
    fs::write(&file, text).expect("write scenario");
    let output = Command::cargo_bin("cellpk")
        .expect("binary built")
        .args(["params", &file.display().to_string()])
        .output()
        .expect("cellpk runs");
    assert!(output.status.success());
    let table = String::from_utf8(output.stdout).expect("UTF-8");
    for p in cellpk::params::Param::ALL {
        assert!(table.contains(p.name()), "{} missing", p.name());
    }
    let lung = table
        .lines()
        .find(|l| l.starts_with("lung.extraction"))
        .expect("lung row");
    assert!(
        lung.contains("[override]") && lung.contains("0.8"),
        "{lung}"
    );
    assert!(table.contains("Toma et al. 2009"), "sources are printed");
}

#[test]
fn every_command_has_help_with_an_example() {
    use clap::CommandFactory;
    cellpk::cli::Cli::command().debug_assert();
    for sub in ["run", "check", "params"] {
        let output = Command::cargo_bin("cellpk")
            .expect("binary")
            .args([sub, "--help"])
            .output()
            .expect("runs");
        let help = String::from_utf8(output.stdout).expect("UTF-8");
        assert!(
            help.contains("Example"),
            "`cellpk {sub} --help` has no example:\n{help}"
        );
    }
}

#[test]
fn the_shortest_accepted_run_and_the_shortest_late_infusion_complete_with_their_plots() {
    // At the bounds `check` accepts: 14.4 minutes simulated (5e-324 days panicked in the
    // plot's axis), and a 6 ms infusion starting 100 years in (1e-12 min lost its cells).
    let shipped = fs::read_to_string("scenarios/mouse_tail_vein.toml").expect("shipped scenario");
    for (name, edited) in [
        (
            "shortest",
            shipped
                .replace("duration_days = 7", "duration_days = 0.01")
                .replace("output_every_hours = 0.25", "output_every_hours = 100"),
        ),
        (
            "late_infusion",
            shipped
                .replace("duration_days = 7", "duration_days = 36525")
                .replace("output_every_hours = 0.25", "output_every_hours = 8760")
                .replace(
                    "cells = 5e5",
                    "cells = 5e5\nstart_day = 36520\ninfusion_minutes = 1e-4",
                ),
        ),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join(format!("{name}.toml"));
        fs::write(&file, edited).expect("write scenario");
        let output = Command::cargo_bin("cellpk")
            .expect("binary built")
            .args(["run", &file.display().to_string(), "--out"])
            .arg(dir.path())
            .output()
            .expect("cellpk runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{name}: {stderr}");
        let metrics = fs::read_to_string(dir.path().join("mouse_tail_vein/metrics.csv"))
            .expect("metrics written");
        assert!(
            metrics.contains("5e5") || metrics.contains("500000"),
            "{name}: {metrics}"
        );
        assert!(dir.path().join("mouse_tail_vein/timecourse.png").is_file());
    }
}

/// Every file of `cellpk population` on `scenario` with `threads` workers.
fn population(scenario: &str, threads: &str, out: &Path) -> Vec<(String, Vec<u8>)> {
    let output = Command::cargo_bin("cellpk")
        .expect("binary built")
        .args(["population", scenario, "--n", "300", "--seed", "5"])
        .args(["--threads", threads, "--out", &out.display().to_string()])
        .output()
        .expect("cellpk runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dir = out.join("human_decompensated_uncertain_portal-population");
    let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(&dir)
        .expect("the population directory")
        .map(|e| {
            let e = e.expect("entry");
            let name = e.file_name().to_string_lossy().into_owned();
            (name, fs::read(e.path()).expect("read"))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_population_is_the_same_bytes_for_one_thread_or_two() {
    let scenario = "scenarios/human_decompensated_uncertain_portal.toml";
    let (one, two) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let a = population(scenario, "1", one.path());
    let b = population(scenario, "2", two.path());
    let names: Vec<&str> = a.iter().map(|(n, _)| n.as_str()).collect();
    for file in [
        "population.csv",
        "summary.csv",
        "quantiles.csv",
        "bands.png",
        "bands.svg",
        "histograms.png",
        "histograms.svg",
    ] {
        assert!(names.contains(&file), "{file} missing from {names:?}");
    }
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{name} differs between 1 and 2 threads");
    }
    assert_eq!(a.len(), b.len());
    let rows = String::from_utf8_lossy(&a.iter().find(|f| f.0 == "population.csv").expect("csv").1)
        .lines()
        .count();
    assert_eq!(rows, 301, "a header and a row per subject");
}
