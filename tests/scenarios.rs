//! Every shipped scenario runs end to end through the binary, writes every output, and
//! its `resolved.toml` reproduces the run exactly.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

use crate::common;

/// The example scenarios and the clinical trials' (`scenarios/trials/`).
fn shipped() -> Vec<PathBuf> {
    let mut files = common::toml_files("scenarios");
    files.extend(common::toml_files(trials::DIR));
    files
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

/// The clinical trials of MSC therapy for liver disease (Yang et al. 2020, Table 2), one
/// scenario each in `scenarios/trials/`, and the table itself in `trials.csv`.
mod trials {
    use std::collections::HashMap;
    use std::fs;
    use std::path::{Path, PathBuf};

    use assert_cmd::Command;
    use cellpk::dosing::Amount;
    use cellpk::presets::Choice;

    use crate::common;

    pub(super) const DIR: &str = "scenarios/trials";

    /// The rows of `trials.csv`, by trial, each as column name to value.
    fn rows() -> HashMap<String, HashMap<String, String>> {
        let file = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(DIR)
            .join("trials.csv");
        let mut reader = csv::Reader::from_path(&file).expect("trials.csv reads");
        let headers = reader.headers().expect("a header").clone();
        let mut rows = HashMap::new();
        for record in reader.records() {
            let record = record.expect("a well-formed row");
            let row: HashMap<String, String> = headers
                .iter()
                .zip(record.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect();
            assert!(
                rows.insert(row["trial"].clone(), row).is_none(),
                "a trial appears twice"
            );
        }
        rows
    }

    fn cellpk(args: &[&str]) -> std::process::Output {
        Command::cargo_bin("cellpk")
            .expect("binary built")
            .args(args)
            .output()
            .expect("cellpk runs")
    }

    #[test]
    fn every_trial_of_the_table_has_a_scenario_that_agrees_with_its_row() {
        let rows = rows();
        assert_eq!(rows.len(), 22, "Table 2 lists 22 trials");
        let files = common::toml_files(DIR);
        assert_eq!(files.len(), 22, "one scenario per trial");
        for file in &files {
            let s = cellpk::scenario::load(file).expect("a valid scenario");
            let row = rows
                .get(&s.name)
                .unwrap_or_else(|| panic!("{}: no row for `{}`", file.display(), s.name));
            let what = |column: &str| format!("{}: {column}", s.name);
            assert_eq!(file.file_stem().expect("a name").to_string_lossy(), s.name);
            assert_eq!(
                s.subject.disease.name(),
                row["cellpk_disease"],
                "{}",
                what("disease")
            );
            assert_eq!(s.subject.source.name(), row["source"], "{}", what("source"));
            assert_eq!(s.subject.donor.name(), row["donor"], "{}", what("donor"));
            let [dose] = s.doses.as_slice() else {
                panic!("{}: one [[dose]] block per trial", s.name);
            };
            assert_eq!(dose.route.name(), row["route"], "{}", what("route"));
            let number = |column: &str| row[column].parse::<f64>().ok();
            let amount = match dose.amount {
                Amount::PerKg(v) => (Some(v), None),
                Amount::Total(v) => (None, Some(v)),
            };
            assert_eq!(
                amount,
                (number("cells_per_kg"), number("cells")),
                "{}",
                what("cells_per_kg, cells")
            );
            assert_eq!(dose.count.to_string(), row["count"], "{}", what("count"));
            let interval = (dose.count > 1).then_some(dose.interval_days);
            assert_eq!(
                interval,
                number("interval_days"),
                "{}",
                what("interval_days")
            );
            assert!(
                ["improved", "partly", "not_improved"].contains(&row["response"].as_str()),
                "{}",
                what("response")
            );
            // Each file cites its trial and states its outcome; an assumed value says so
            // in the description as well as the comments.
            let text = fs::read_to_string(file).expect("readable");
            for needed in [
                "# Trial: ",
                "Reported outcome",
                "Yang et al., Cell Biosci 2020",
            ] {
                assert!(text.contains(needed), "{}: no `{needed}`", s.name);
            }
            let description = s.description.as_deref().unwrap_or_default();
            assert_eq!(
                description.contains("assumption:"),
                !row["assumptions"].is_empty(),
                "{}: description and the assumptions column disagree",
                s.name
            );
            for assumed in row["assumptions"].split(';').filter(|a| !a.is_empty()) {
                assert!(
                    description.contains(&format!("{assumed}: ")),
                    "{}: the description does not say what its {assumed} assumes",
                    s.name
                );
            }
        }
    }

    #[test]
    fn the_trial_scenarios_pass_check() {
        let mut args = vec!["check".to_string()];
        args.extend(
            common::toml_files(DIR)
                .iter()
                .map(|f| f.display().to_string()),
        );
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = cellpk(&args);
        crate::common::ok(&out);
        assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 22);
    }

    #[test]
    fn every_trial_conserves_its_cells() {
        for file in common::toml_files(DIR) {
            let s = cellpk::scenario::load(&file).expect("valid");
            let m = cellpk::simulation::Problem::new(&s)
                .metrics()
                .expect("simulates");
            assert!(m.mass_balance_rel_error < 1e-9, "{}: {m:?}", s.name);
            assert!(
                m.liver_auc_cell_days > 0.0 && m.cells_given > 0.0,
                "{}",
                s.name
            );
        }
    }

    fn atlas(dir: &Path, out: &Path) -> std::process::Output {
        cellpk(&[
            "atlas",
            &dir.display().to_string(),
            "--out",
            &out.display().to_string(),
        ])
    }

    const WRITTEN: [&str; 5] = [
        "atlas.csv",
        "liver_exposure.png",
        "liver_exposure.svg",
        "dose_exposure.png",
        "dose_exposure.svg",
    ];

    #[test]
    fn the_atlas_of_the_trials_joins_their_responses_and_reruns_byte_identical() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(DIR);
        let (a, b) = (
            tempfile::tempdir().expect("temp dir"),
            tempfile::tempdir().expect("temp dir"),
        );
        for out in [a.path(), b.path()] {
            let run = atlas(&dir, out);
            crate::common::ok(&run);
        }
        for file in WRITTEN {
            let first = fs::read(a.path().join("atlas").join(file)).expect("written");
            let second = fs::read(b.path().join("atlas").join(file)).expect("written");
            assert!(first.len() > 100, "{file} is empty");
            assert!(first == second, "{file} differs on a rerun");
        }
        let table = fs::read_to_string(a.path().join("atlas/atlas.csv")).expect("written");
        let mut lines = table.lines();
        assert_eq!(
            lines.next(),
            Some(
                "name,route,disease,cells_given,liver_auc,liver_peak,liver_reached_fraction,\
                 liver_engrafted_auc,lung_peak_fraction,days_liver_above_threshold,response"
            )
        );
        let rows = rows();
        let names: Vec<&str> = lines
            .map(|line| {
                let fields: Vec<&str> = line.split(',').collect();
                let row = &rows[fields[0]];
                assert_eq!(fields[1], row["route"], "{line}");
                assert_eq!(fields[10], row["response"], "{line}");
                fields[0]
            })
            .collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names.len(), 22);
        assert_eq!(names, sorted, "rows in file-name order");
    }

    /// A scenario directory of `files` (name, text).
    fn directory(files: &[(&str, String)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, text) in files {
            fs::write(dir.path().join(name), text).expect("write");
        }
        dir
    }

    fn trial(name: &str) -> String {
        fs::read_to_string(PathBuf::from(DIR).join(format!("{name}.toml"))).expect("shipped")
    }

    #[test]
    fn the_atlas_refuses_bad_directories_and_writes_nothing() {
        let out = tempfile::tempdir().expect("temp dir");
        let empty = directory(&[("notes.txt", "no scenario here".into())]);
        let invalid = directory(&[
            ("a.toml", trial("lin2017")),
            (
                "b.toml",
                trial("wang2013").replace("count = 3", "count = -3"),
            ),
        ]);
        let twins = directory(&[("a.toml", trial("lin2017")), ("b.toml", trial("lin2017"))]);
        let bad_table = directory(&[
            ("a.toml", trial("lin2017")),
            ("trials.csv", "trial,response\nlin2017,cured\n".into()),
        ]);
        for (dir, names) in [
            (&empty, "holds no scenario"),
            (&invalid, "b.toml"),
            (&twins, "both named `lin2017`"),
            (&bad_table, "trials.csv"),
        ] {
            let run = atlas(dir.path(), out.path());
            let stderr = String::from_utf8_lossy(&run.stderr);
            assert_eq!(run.status.code(), Some(2), "{stderr}");
            assert!(stderr.contains(names), "{stderr}");
            assert_eq!(
                fs::read_dir(out.path()).expect("list").count(),
                0,
                "nothing written: {stderr}"
            );
        }
        let missing = atlas(&out.path().join("no_such_dir"), out.path());
        assert_eq!(missing.status.code(), Some(2));
    }

    /// `--population`: each trial's liver AUC over virtual subjects of its
    /// `[variability]`, as three quantile columns in order around the point value, drawn
    /// as bands; the same bytes on a rerun; a scenario without `[variability]` refused.
    #[test]
    fn the_atlas_with_a_population_brackets_each_trial_and_refuses_one_without_variability() {
        let dir = directory(&[("x.toml", trial("shi2017")), ("y.toml", trial("jang2014"))]);
        let (a, b) = (
            tempfile::tempdir().expect("dir"),
            tempfile::tempdir().expect("dir"),
        );
        for out in [a.path(), b.path()] {
            let run = cellpk(&[
                "atlas",
                &dir.path().display().to_string(),
                "--population",
                "200",
                "--out",
                &out.display().to_string(),
            ]);
            crate::common::ok(&run);
        }
        for file in WRITTEN {
            let first = fs::read(a.path().join("atlas").join(file)).expect("written");
            let second = fs::read(b.path().join("atlas").join(file)).expect("written");
            assert!(first == second, "{file} differs on a rerun");
        }
        let table = fs::read_to_string(a.path().join("atlas/atlas.csv")).expect("written");
        let header: Vec<&str> = table.lines().next().expect("header").split(',').collect();
        let column = |name: &str| header.iter().position(|h| *h == name).expect(name);
        let (auc, p5, p50, p95) = (
            column("liver_auc"),
            column("liver_auc_p5"),
            column("liver_auc_p50"),
            column("liver_auc_p95"),
        );
        for line in table.lines().skip(1) {
            let f: Vec<f64> = line
                .split(',')
                .map(|v| v.parse().unwrap_or(f64::NAN))
                .collect();
            assert!(
                f[p5] < f[p50] && f[p50] < f[p95] && f[p5] < f[auc] && f[auc] < f[p95],
                "{line}"
            );
        }
        let svg = fs::read_to_string(a.path().join("atlas/liver_exposure.svg")).expect("drawn");
        assert!(
            svg.contains("5-95 % of virtual"),
            "the bands are in the legend"
        );

        let plain = trial("lin2017");
        let without = plain[..plain.find("[variability]").expect("shipped with one")].to_string();
        let dir = directory(&[("a.toml", trial("shi2017")), ("b.toml", without)]);
        let out = tempfile::tempdir().expect("dir");
        let run = cellpk(&[
            "atlas",
            &dir.path().display().to_string(),
            "--population",
            "10",
            "--out",
            &out.path().display().to_string(),
        ]);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("b.toml") && stderr.contains("--population"),
            "{stderr}"
        );
        assert_eq!(fs::read_dir(out.path()).expect("list").count(), 0);
    }

    #[test]
    fn without_a_trials_table_the_response_column_is_empty() {
        let dir = directory(&[("x.toml", trial("shi2017")), ("y.toml", trial("sakai2017"))]);
        let out = tempfile::tempdir().expect("temp dir");
        let run = atlas(dir.path(), out.path());
        crate::common::ok(&run);
        let table = fs::read_to_string(out.path().join("atlas/atlas.csv")).expect("written");
        let rows: Vec<&str> = table.lines().skip(1).collect();
        assert_eq!(rows.len(), 2);
        assert!(rows[0].starts_with("shi2017,peripheral_vein,"), "{table}");
        assert!(rows.iter().all(|r| r.ends_with(',')), "{table}");
        let svg = fs::read_to_string(out.path().join("atlas/liver_exposure.svg")).expect("drawn");
        assert!(
            svg.contains("No response"),
            "the legend says no response is known"
        );
    }
}

/// Every file of `cellpk population` on `scenario` with `threads` workers and `extra`
/// options.
fn population(scenario: &str, threads: &str, out: &Path, extra: &[&str]) -> Vec<(String, Vec<u8>)> {
    let output = Command::cargo_bin("cellpk")
        .expect("binary built")
        .args(["population", scenario, "--n", "300", "--seed", "5"])
        .args(["--threads", threads, "--out", &out.display().to_string()])
        .args(extra)
        .output()
        .expect("cellpk runs");
    crate::common::ok(&output);
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
    let a = population(scenario, "1", one.path(), &[]);
    let b = population(scenario, "2", two.path(), &[]);
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

/// `--format parquet`: population.parquet in place of population.csv, holding its rows
/// (read back with the parquet crate), the same bytes for one thread or two; every other
/// file (summary, quantiles, figures) as the CSV run writes it.
#[test]
fn a_population_as_parquet_holds_the_csv_rows_and_is_the_same_bytes_for_one_thread_or_two() {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;

    let scenario = "scenarios/human_decompensated_uncertain_portal.toml";
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().expect("dir")).collect();
    let csv = population(scenario, "2", dirs[0].path(), &[]);
    let one = population(scenario, "1", dirs[1].path(), &["--format", "parquet"]);
    let two = population(scenario, "2", dirs[2].path(), &["--format", "parquet"]);
    assert!(one == two, "the files differ between 1 and 2 threads");
    let file = |files: &[(String, Vec<u8>)], name: &str| {
        (files.iter().find(|f| f.0 == name).map(|f| f.1.clone()))
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    let names = |files: &[(String, Vec<u8>)]| -> Vec<String> {
        files
            .iter()
            .map(|f| f.0.replace(".parquet", ".csv"))
            .collect()
    };
    assert_eq!(
        names(&one),
        names(&csv),
        "population.parquet in place of the CSV"
    );
    // The rest, but for the manifest that lists them.
    let rest = csv
        .iter()
        .filter(|f| f.0 != "population.csv" && !f.0.starts_with('.'));
    for (name, bytes) in rest {
        assert!(
            file(&one, name) == *bytes,
            "{name} differs from the CSV run's"
        );
    }

    let text = String::from_utf8(file(&csv, "population.csv")).expect("UTF-8");
    let reader = SerializedFileReader::new(bytes::Bytes::from(file(&one, "population.parquet")))
        .expect("a Parquet file");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    let columns: Vec<&str> = schema.columns().iter().map(|c| c.name()).collect();
    assert_eq!(columns, header, "the CSV's columns, in order");
    let mut rows = 0;
    for (row, line) in reader.get_row_iter(None).expect("rows").zip(lines) {
        let row = row.expect("a row");
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(row.len(), fields.len(), "{line}");
        for ((name, field), &text) in row.get_column_iter().zip(&fields) {
            match field {
                Field::Null => assert_eq!(text, "", "{name} of {line}"),
                Field::Long(v) => assert_eq!(v.to_string(), text, "{name}"),
                Field::Double(v) => assert_eq!(Some(*v), text.parse().ok(), "{name} of {line}"),
                other => panic!("{name}: unexpected {other:?}"),
            }
        }
        rows += 1;
    }
    assert_eq!(rows, 300, "a row per subject");
}
