//! Sweeps end to end: the CSV equals one-by-one runs, is identical for any thread count,
//! resumes to the same file after an interruption, splits into shards that merge into the
//! whole, and bad sweep files fail before any work.

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::ok;
use assert_cmd::Command;
use cellpk::output::resolved::resolved_toml;

mod parquet;

/// A small grid over a short human scenario: 2 routes x 3 counts x 2 intervals x 3 doses,
/// with one interval short enough for the 2-day infusions to overlap (error rows).
const BASE: &str = r#"
name = "base"
[subject]
species = "human"
disease = "compensated_cirrhosis"
[cells]
source = "adipose"
donor = "allogeneic"
[[dose]]
route = "portal_vein"
cells_per_kg = 1e6
count = 2
interval_days = 3
infusion_minutes = 0
[simulation]
duration_days = 12
"#;

const SWEEP: &str = r#"
name = "small"
base = "base.toml"
[[axis]]
path = "dose.route"
values = ["portal_vein", "peripheral_vein"]
[[axis]]
path = "dose.count"
values = [1, 2, 3]
[[axis]]
path = "dose.interval_days"
values = [0.5, 4]
[[axis]]
path = "dose[1].cells_per_kg"
logspace = { from = 1e5, to = 1e7, steps = 3 }
[[axis]]
path = "dose.infusion_minutes"
values = [0, 1440]
"#;

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(sweep: &str) -> Setup {
        Setup::with_base(sweep, BASE)
    }

    fn with_base(sweep: &str, base: &str) -> Setup {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::write(dir.path().join("base.toml"), base).expect("write base");
        fs::write(dir.path().join("sweep.toml"), sweep).expect("write sweep");
        Setup { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn sweep(&self, args: &[&str]) -> std::process::Output {
        Command::cargo_bin("cellpk")
            .expect("binary")
            .arg("sweep")
            .arg(self.path("sweep.toml"))
            .arg("--out")
            .arg(self.path("out"))
            .args(args)
            .output()
            .expect("cellpk runs")
    }

    fn csv(&self, file: &str) -> String {
        fs::read_to_string(self.path("out").join("small").join(file)).expect("sweep CSV")
    }
}

#[test]
fn rows_equal_one_by_one_runs_and_report_broken_rules() {
    // Without a liver threshold the sweep scales one walk along the dose axis (linearity);
    // with one it walks every point: both must equal single runs.
    rows_equal_one_by_one_runs(BASE);
    rows_equal_one_by_one_runs(&format!("{BASE}liver_threshold_cells = 1e5\n"));
    // The general integrator, with the effect layer's metrics (some empty: not back at
    // baseline within the 12 days).
    let mechanisms = "[model]\nniche = true\ninjury = true\nsensitization = true\neffect = true\n";
    rows_equal_one_by_one_runs(&format!("{BASE}{mechanisms}"));
    // The same stepped by Dopri5, whose steps must not depend on the output grid either.
    rows_equal_one_by_one_runs(&format!("{BASE}solver = \"dopri5\"\n{mechanisms}"));
}

fn rows_equal_one_by_one_runs(base: &str) {
    let s = Setup::with_base(SWEEP, base);
    ok(&s.sweep(&["--threads", "2"]));
    let csv = s.csv("sweep.csv");
    let sweep = cellpk::sweep::load(&s.path("sweep.toml")).expect("valid sweep");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len() as u64, sweep.len() + 1);
    let header: Vec<&str> = lines[0].split(',').collect();
    let mut error_rows = 0;
    for (i, line) in lines[1..].iter().enumerate() {
        let fields: Vec<&str> = line.splitn(header.len(), ',').collect();
        let scenario = match sweep.scenario(i as u64) {
            Ok(sc) => sc,
            Err(v) => {
                assert!(fields.last().expect("error").contains(&v.key), "{line}");
                error_rows += 1;
                continue;
            }
        };
        // The point as its own scenario file. The first goes through `cellpk run`; the
        // others through the two calls `run` makes for metrics.csv, which skips drawing
        // figures for each of about 300 points (33 s of the suite's critical path).
        let file = s.path(&format!("point{i}.toml"));
        fs::write(&file, resolved_toml(&scenario, "sweep test")).expect("write point");
        let metrics = if i == 0 {
            let run = Command::cargo_bin("cellpk")
                .expect("binary")
                .args(["run", &file.display().to_string(), "--out"])
                .arg(s.path("runs"))
                .output()
                .expect("cellpk runs");
            ok(&run);
            fs::read_to_string(s.path("runs").join("base").join("metrics.csv")).expect("metrics")
        } else {
            let point = cellpk::scenario::load(&file).expect("the point's file loads");
            let outcome = cellpk::simulation::run(&point).expect("the point runs");
            cellpk::output::csv::metrics(&outcome)
        };
        for (name, value) in header.iter().zip(&fields).skip(6).take(header.len() - 7) {
            let want = metrics
                .lines()
                .find(|l| l.starts_with(&format!("all,,,{name},")))
                .and_then(|l| l.split(',').nth(4))
                .unwrap_or_else(|| panic!("{name} in metrics.csv"));
            if want.is_empty() || value.is_empty() {
                assert_eq!(
                    *value, want,
                    "point {i} {name}: a value missing on one side"
                );
                continue;
            }
            let want: f64 = want.parse().expect("metrics.csv value");
            let got: f64 = value.parse().expect("metric value");
            assert!(
                (got - want).abs() <= 1e-9 * want.abs() + 1e-12,
                "point {i} {name}: sweep {got} vs run {want}"
            );
        }
    }
    assert!(error_rows > 0, "2-day infusions 0.5 days apart overlap");
    assert!(error_rows < lines.len() - 1);
}

#[test]
fn one_and_two_threads_write_the_same_file() {
    let s = Setup::new(SWEEP);
    ok(&s.sweep(&["--threads", "1"]));
    let one = s.csv("sweep.csv");
    ok(&s.sweep(&["--threads", "2"]));
    assert_eq!(one, s.csv("sweep.csv"));
}

#[test]
fn resume_after_an_interruption_gives_the_uninterrupted_file() {
    let s = Setup::new(SWEEP);
    ok(&s.sweep(&[]));
    let whole = s.csv("sweep.csv");
    let partial = s.path("out").join("small").join("sweep.csv.partial");
    let header_end = whole.find('\n').expect("header") + 1;
    // Cut where a kill could leave the file: after the header, mid-row, at a row's end.
    for cut in [
        header_end,
        whole.len() / 3,
        whole.len() / 2 + 7,
        whole.len() - 1,
    ] {
        fs::remove_file(s.path("out").join("small").join("sweep.csv")).ok();
        fs::write(&partial, &whole[..cut]).expect("write partial");
        let refused = s.sweep(&[]);
        assert_eq!(
            refused.status.code(),
            Some(2),
            "a partial file is not overwritten"
        );
        assert!(String::from_utf8_lossy(&refused.stderr).contains("--resume"));
        ok(&s.sweep(&["--resume", "--threads", "2"]));
        assert_eq!(s.csv("sweep.csv"), whole, "resumed from byte {cut}");
        assert!(!partial.exists());
    }
}

#[test]
fn shards_merge_into_the_whole_and_gaps_are_refused() {
    let s = Setup::new(SWEEP);
    ok(&s.sweep(&[]));
    let whole = s.csv("sweep.csv");
    let shard = |k: u32| {
        s.path("out")
            .join("small")
            .join(format!("sweep.shard-{k}-of-3.csv"))
    };
    for k in 1..=3 {
        ok(&s.sweep(&["--shard", &format!("{k}/3")]));
    }
    fs::remove_file(s.path("out").join("small").join("sweep.csv")).expect("remove whole");
    let gap = merge(&s, &[shard(1), shard(3)]);
    assert_eq!(gap.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&gap.stderr).contains("gap"));
    let overlap = merge(&s, &[shard(1), shard(1), shard(2), shard(3)]);
    assert_eq!(overlap.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&overlap.stderr).contains("overlaps"));
    let missing_end = merge(&s, &[shard(1), shard(2)]);
    assert_eq!(missing_end.status.code(), Some(2));
    assert!(!s.path("out").join("small").join("sweep.csv").exists());
    ok(&merge(&s, &[shard(3), shard(1), shard(2)]));
    assert_eq!(s.csv("sweep.csv"), whole);
}

/// Each bad sweep: (what replaces what in the valid file, expected message parts).
const BAD: &[(&str, &str, &[&str])] = &[
    (
        "values = [0, 1440]\n",
        "values = [0, 1440]\n[output]\nmetrics = [\"liver_auc\", \"improvement_auc\"]\n",
        &[
            "`output.metrics`",
            "`improvement_auc` is a metric of the effect layer",
            "effect = true",
        ],
    ),
    (
        "path = \"dose.count\"",
        "path = \"dose.cont\"",
        &["`axis[2].path`", "did you mean `dose.count`?"],
    ),
    (
        "\"peripheral_vein\"]",
        "\"arm_vein\"]",
        &[
            "axis[1] (dose.route)",
            "value arm_vein",
            "`peripheral_vein`",
        ],
    ),
    (
        "values = [1, 2, 3]",
        "values = [1, 2.5, 3]",
        &["`axis[2].values`", "not a whole number"],
    ),
    (
        "values = [0.5, 4]",
        "values = [-1, 4]",
        &["axis[3] (dose.interval_days)", "value -1", "interval_days"],
    ),
    (
        "values = [0, 1440]",
        "values = []",
        &["`axis[5].values`", "no values"],
    ),
    ("from = 1e5", "from = 0", &["`axis[4].logspace`", "> 0"]),
    (
        "values = [0, 1440]",
        "values = [0, 1440]\nlinspace = { from = 0, to = 1, steps = 2 }",
        &["exactly one of"],
    ),
    (
        "base = \"base.toml\"",
        "base = \"nothing.toml\"",
        &["nothing.toml", "cannot read"],
    ),
    (
        "values = [0, 1440]",
        "values = [0, 1440]\n[output]\nmetrics = [\"liver_aux\"]",
        &["`output.metrics`", "did you mean `liver_auc`?"],
    ),
    (
        "name = \"small\"",
        "name = \"small\"\nspeed = 3",
        &["unknown field `speed`"],
    ),
    (
        "values = [0, 1440]",
        "values = [0, 1440]\n[[plot]]\nkind = \"lines\"\nmetric = \"liver_auc\"\nx = \"dose.count\"\n\
         line = \"dose.route\"\nx_label = \" \"\n\
         where = { \"dose.interval_days\" = 4, \"dose[1].cells_per_kg\" = 1e5, \"dose.infusion_minutes\" = 0 }",
        &["`plot[1].x_label`", "must not be empty"],
    ),
    (
        "values = [0, 1440]",
        "values = [0, 1440]\n[[plot]]\nkind = \"lines\"\nmetric = \"liver_auc\"\nx = \"dose.count\"\n\
         line = \"dose.route\"\ncolour_label = \"Liver AUC\"\n\
         where = { \"dose.interval_days\" = 4, \"dose[1].cells_per_kg\" = 1e5, \"dose.infusion_minutes\" = 0 }",
        &["`plot[1].colour_label`", "no colour bar", "y_label"],
    ),
];

#[test]
fn bad_sweep_files_fail_before_any_work() {
    for (from, to, expected) in BAD {
        assert!(SWEEP.contains(from), "{from}");
        let s = Setup::new(&SWEEP.replacen(from, to, 1));
        let out = s.sweep(&[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{to}: {stderr}");
        for part in *expected {
            assert!(
                stderr.contains(part),
                "{to}: stderr lacks {part:?}:\n{stderr}"
            );
        }
        assert!(!s.path("out").exists(), "{to}: nothing may be written");
        // `check` takes a sweep file too, and finds the same fault.
        let checked = cellpk(&[PathBuf::from("check"), s.path("sweep.toml")]);
        let stderr = String::from_utf8_lossy(&checked.stderr);
        assert_eq!(checked.status.code(), Some(2), "check, {to}: {stderr}");
        for part in *expected {
            assert!(
                stderr.contains(part),
                "check, {to}: lacks {part:?}:\n{stderr}"
            );
        }
    }
    // A good one is ok, with its number of points.
    let s = Setup::new(SWEEP);
    let checked = cellpk(&[PathBuf::from("check"), s.path("sweep.toml")]);
    ok(&checked);
    assert!(String::from_utf8_lossy(&checked.stdout).contains("(sweep of "));
    // More threads than any machine has are refused before any work.
    for threads in ["0", "10000"] {
        let out = s.sweep(&["--threads", threads]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--threads {threads}: {stderr}");
        assert!(
            stderr.contains("--threads") && stderr.contains("from 1 to 1024"),
            "{stderr}"
        );
        assert!(
            !s.path("out").exists(),
            "--threads {threads}: nothing may be written"
        );
    }
}

#[test]
fn plot_blocks_must_fix_every_free_axis() {
    let with_plot = format!(
        "{SWEEP}\n[[plot]]\nkind = \"heatmap\"\nmetric = \"liver_auc\"\nx = \"dose[1].cells_per_kg\"\n\
         y = \"dose.count\"\nwhere = {{ \"dose.route\" = \"portal_vein\", \"dose.interval_days\" = 4 }}\n"
    );
    let s = Setup::new(&with_plot);
    let out = s.sweep(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("axis `dose.infusion_minutes` is neither drawn nor fixed"),
        "{stderr}"
    );
    assert!(!Path::new(&s.path("out")).exists());
}

#[test]
fn mechanism_switches_and_the_solver_are_axes() {
    let sweep = r#"
name = "small"
base = "base.toml"
[[axis]]
path = "model.niche"
values = [false, true]
[[axis]]
path = "model.effect"
values = [false, true]
[[axis]]
path = "simulation.solver"
values = ["auto", "exact"]
[output]
metrics = ["liver_engrafted_auc", "improvement_auc"]
"#;
    let s = Setup::new(sweep);
    ok(&s.sweep(&[]));
    let csv = s.csv("sweep.csv");
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let row = |niche: &str, effect: &str, solver: &str| {
        rows.iter()
            .find(|r| r[1] == niche && r[2] == effect && r[3] == solver)
            .unwrap_or_else(|| panic!("row {niche} {effect} {solver} in\n{csv}"))
    };
    let engrafted = |r: &Vec<&str>| r[4].parse::<f64>().expect("a number");
    let linear = row("false", "false", "auto");
    assert_eq!(
        linear[4],
        row("false", "false", "exact")[4],
        "auto is exact when linear"
    );
    assert_eq!(linear[5], "", "no effect layer, no effect metric");
    for (niche, effect) in [("true", "false"), ("false", "true"), ("true", "true")] {
        let error = row(niche, effect, "exact");
        assert!(
            error[6].contains("simulation.solver") && error[4].is_empty(),
            "{error:?}"
        );
    }
    let effect_only = row("false", "true", "auto");
    let change = (engrafted(effect_only) - engrafted(linear)).abs() / engrafted(linear);
    assert!(change < 1e-5, "the effect layer leaves the cells: {change}");
    assert!(effect_only[5].parse::<f64>().expect("a number") > 0.0);
    assert!(engrafted(row("true", "false", "auto")) < engrafted(linear));
}

/// Every shipped sweep file loads (paths, values, metrics and figures checked against its
/// base), and the general-integrator sweeps have no broken combination.
#[test]
fn shipped_sweeps_load() {
    for entry in fs::read_dir("scenarios/sweeps").expect("scenarios/sweeps/ exists") {
        let path = entry.expect("readable entry").path();
        let sweep = cellpk::sweep::load(&path).unwrap_or_else(|e| panic!("{e}"));
        if sweep.base.mechanisms.any() {
            for i in 0..sweep.len() {
                if let Err(v) = sweep.scenario(i) {
                    panic!(
                        "{}: point {i} breaks {}: {}",
                        path.display(),
                        v.key,
                        v.problem
                    );
                }
            }
        }
    }
}

/// Runs `cellpk` with `args`.
fn cellpk<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> std::process::Output {
    Command::cargo_bin("cellpk")
        .expect("binary")
        .args(args)
        .output()
        .expect("cellpk runs")
}

/// Runs `cellpk merge` of `parts` with the setup's sweep file.
fn merge(s: &Setup, parts: &[PathBuf]) -> std::process::Output {
    let mut args = vec![PathBuf::from("merge"), s.path("sweep.toml")];
    args.extend_from_slice(parts);
    args.extend([PathBuf::from("--out"), s.path("out")]);
    cellpk(&args)
}

#[test]
fn resume_refuses_a_partial_file_of_an_edited_sweep() {
    let s = Setup::new(SWEEP);
    ok(&s.sweep(&[]));
    let whole = s.csv("sweep.csv");
    let dir = s.path("out").join("small");
    let partial = dir.join("sweep.csv.partial");
    // As a kill leaves it: half the rows, the last one cut.
    fs::remove_file(dir.join("sweep.csv")).expect("remove whole");
    fs::write(&partial, &whole[..whole.len() / 2]).expect("write partial");
    let refused = |what: &str, expected: &[&str]| {
        let out = s.sweep(&["--resume"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
        for part in expected {
            assert!(
                stderr.contains(part),
                "{what}: stderr lacks {part:?}:\n{stderr}"
            );
        }
        assert!(stderr.contains("Delete it to start again"), "{stderr}");
        assert_eq!(
            fs::read_to_string(&partial).expect("partial kept"),
            whole[..whole.len() / 2],
            "{what}: the partial file is left as it was"
        );
        assert!(!dir.join("sweep.csv").exists());
    };
    // The dose axis from 3 to 4 steps: the header stays, the grid does not.
    let steps = "logspace = { from = 1e5, to = 1e7, steps = 3 }";
    let more = SWEEP.replace(steps, "logspace = { from = 1e5, to = 1e7, steps = 4 }");
    fs::write(s.path("sweep.toml"), &more).expect("edit sweep");
    refused(
        "axis edited",
        &["axis[4]", "dose[1].cells_per_kg (3 values", "(4 values"],
    );
    fs::write(s.path("sweep.toml"), SWEEP).expect("restore sweep");
    fs::write(
        s.path("base.toml"),
        BASE.replace("duration_days = 12", "duration_days = 13"),
    )
    .expect("edit base");
    refused(
        "base edited",
        &[
            "the base scenario changed",
            "simulation.duration_days: 12.0 -> 13.0",
        ],
    );
    fs::write(s.path("base.toml"), BASE).expect("restore base");
    let identity = dir.join("sweep.identity");
    let recorded = fs::read_to_string(&identity).expect("identity beside the CSV");
    fs::remove_file(&identity).expect("remove identity");
    refused("identity deleted", &["sweep.identity is missing"]);
    fs::write(&identity, recorded).expect("restore identity");
    ok(&s.sweep(&["--resume"]));
    assert_eq!(s.csv("sweep.csv"), whole, "the unchanged sweep resumes");
}

#[test]
fn merge_refuses_shards_of_another_sweep() {
    let s = Setup::new(SWEEP);
    let dir = s.path("out").join("small");
    let shard = |k: u32| dir.join(format!("sweep.shard-{k}-of-2.csv"));
    ok(&s.sweep(&["--shard", "1/2"]));
    // Shard 2 from the same sweep with another interval: same columns, other points.
    fs::write(
        s.path("sweep.toml"),
        SWEEP.replace("values = [0.5, 4]", "values = [0.5, 5]"),
    )
    .expect("edit sweep");
    ok(&s.sweep(&["--shard", "2/2"]));
    fs::write(s.path("sweep.toml"), SWEEP).expect("restore sweep");
    let out = merge(&s, &[shard(1), shard(2)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for part in [
        "sweep.shard-2-of-2.csv",
        "axis[3]: dose.interval_days (2 values, 0.5 .. 5",
        "run the shard again",
    ] {
        assert!(stderr.contains(part), "stderr lacks {part:?}:\n{stderr}");
    }
    assert!(!dir.join("sweep.csv").exists());
    // Rerun with the sweep as it is, the shards merge.
    ok(&s.sweep(&["--shard", "2/2"]));
    ok(&merge(&s, &[shard(1), shard(2)]));
    assert!(dir.join("sweep.identity").exists());
}

/// A sweep on the general integrator (about a millisecond a point), killed with SIGKILL
/// mid-run, has saved rows within seconds and resumes to the uninterrupted file.
#[test]
fn a_killed_slow_sweep_has_saved_rows_and_resumes_to_the_same_file() {
    let base = format!(
        "{}[model]\nniche = true\ninjury = true\nsensitization = true\neffect = true\n",
        BASE.replace("duration_days = 12", "duration_days = 120")
    );
    let sweep = r#"
name = "small"
base = "base.toml"
[[axis]]
path = "dose.count"
values = [1, 2, 3, 4]
[[axis]]
path = "dose.interval_days"
linspace = { from = 7, to = 28, steps = 8 }
[[axis]]
path = "dose.cells_per_kg"
logspace = { from = 1e5, to = 1e7, steps = 150 }
"#;
    killed_sweep_resumes_to_the_same_file(&Setup::with_base(sweep, &base));
}

/// Runs the setup's sweep whole, then again killed with SIGKILL after half that time (at
/// most 3 s): the rows it saved are the whole file's, and `--resume` completes the file.
fn killed_sweep_resumes_to_the_same_file(s: &Setup) {
    let clock = std::time::Instant::now();
    ok(&s.sweep(&["--threads", "2"]));
    let uninterrupted = clock.elapsed();
    let whole = s.csv("sweep.csv");
    fs::remove_file(s.path("out").join("small").join("sweep.csv")).expect("remove whole");

    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("cellpk"))
        .arg("sweep")
        .arg(s.path("sweep.toml"))
        .arg("--out")
        .arg(s.path("out"))
        .args(["--threads", "2"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("cellpk starts");
    // About 3 s, or half the run on a machine fast enough to finish sooner.
    std::thread::sleep((uninterrupted / 2).min(std::time::Duration::from_secs(3)));
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let partial = s.path("out").join("small").join("sweep.csv.partial");
    let saved = fs::read_to_string(&partial).expect("the killed run left its partial file");
    let rows = saved.lines().count() - 1;
    assert!(rows > 0, "nothing saved before the kill");
    assert!(saved.len() < whole.len(), "killed before the end");
    assert_eq!(
        saved,
        whole[..saved.len()],
        "saved rows are the whole file's"
    );
    ok(&s.sweep(&["--resume", "--threads", "2"]));
    assert_eq!(s.csv("sweep.csv"), whole);
}

#[test]
fn plot_without_a_csv_says_how_to_make_one() {
    let s = Setup::new(SWEEP);
    let out = cellpk(&[
        PathBuf::from("plot"),
        s.path("sweep.toml"),
        PathBuf::from("--out"),
        s.path("out"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("there is no sweep CSV") && stderr.contains("run `cellpk sweep"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("sweep.csv").count(),
        1,
        "said once: {stderr}"
    );
    assert!(!s.path("out").exists(), "nothing written");
}

#[test]
fn plot_refuses_a_csv_of_another_sweep() {
    let with_plot = format!(
        "{SWEEP}\n[[plot]]\nkind = \"lines\"\nmetric = \"liver_auc\"\nx = \"dose[1].cells_per_kg\"\n\
         line = \"dose.count\"\nwhere = {{ \"dose.route\" = \"portal_vein\", \
         \"dose.interval_days\" = 4, \"dose.infusion_minutes\" = 0 }}\n"
    );
    let s = Setup::new(&with_plot);
    ok(&s.sweep(&[]));
    let dir = s.path("out").join("small");
    let figure = dir.join("plot1_liver_auc.png");
    let plot = |what: &str, expected: Option<&[&str]>| {
        fs::remove_file(&figure).expect("a figure to redraw");
        let out = cellpk(&[
            PathBuf::from("plot"),
            s.path("sweep.toml"),
            PathBuf::from("--out"),
            s.path("out"),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let Some(expected) = expected else {
            ok(&out);
            return;
        };
        assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
        for part in expected {
            assert!(
                stderr.contains(part),
                "{what}: stderr lacks {part:?}:\n{stderr}"
            );
        }
        assert!(!figure.exists(), "{what}: nothing drawn");
        fs::write(&figure, "").expect("placeholder");
    };
    // Another dose grid of the same size: the same header, other points.
    let steps = "logspace = { from = 1e5, to = 1e7, steps = 3 }";
    fs::write(
        s.path("sweep.toml"),
        with_plot.replace(steps, "logspace = { from = 1e4, to = 1e6, steps = 3 }"),
    )
    .expect("edit sweep");
    plot(
        "axis edited",
        Some(&[
            "sweep.csv: it is not the CSV of this sweep as it is now",
            "the sweep changed since this CSV was written: axis[4]: dose[1].cells_per_kg",
            "run the sweep again",
        ]),
    );
    fs::write(s.path("sweep.toml"), &with_plot).expect("restore sweep");
    let identity = dir.join("sweep.identity");
    let recorded = fs::read_to_string(&identity).expect("identity beside the CSV");
    fs::remove_file(&identity).expect("remove identity");
    plot("identity deleted", Some(&["sweep.identity is missing"]));
    fs::write(&identity, recorded).expect("restore identity");
    // Only the plot block edited: the same sweep, redrawn.
    fs::write(
        s.path("sweep.toml"),
        with_plot.replace(
            "metric = \"liver_auc\"",
            "metric = \"liver_auc\"\nlog = true",
        ),
    )
    .expect("edit the plot block");
    plot("plot block edited", None);
    assert!(figure.exists(), "redrawn");
}

/// `[variability]` for `BASE`: an uncalibrated arrest given by its range, and one around
/// the resolved value (so that a disease axis moves its centre), correlated.
const VARIABILITY: &str = r#"
[variability]
seed = 7
[variability.parameters."lung.extraction"]
distribution = "log_normal"
range_95 = [0.2, 0.9]
[variability.parameters."liver.extraction"]
distribution = "log_normal"
cv = 0.3
[[variability.correlation]]
parameters = ["lung.extraction", "liver.extraction"]
r = -0.3
"#;

/// A population sweep over a model-changing axis (the disease), the route and the dose:
/// 8 points of 40 subjects, a target of 2 days above the liver threshold.
const POPULATION_SWEEP: &str = r#"
name = "small"
base = "base.toml"
[[axis]]
path = "subject.disease"
values = ["compensated_cirrhosis", "acute_liver_failure"]
[[axis]]
path = "dose.route"
values = ["portal_vein", "peripheral_vein"]
[[axis]]
path = "dose.cells_per_kg"
values = [1e5, 1e6]
[output]
metrics = ["liver_auc", "lung_peak", "days_liver_above_threshold"]
[population]
n = 40
targets = { days_liver_above_threshold = 2 }
"#;

fn population_base() -> String {
    format!("{BASE}liver_threshold_cells = 1e6\n{VARIABILITY}")
}

fn population_sweep() -> String {
    POPULATION_SWEEP.to_string()
}

/// The fields of `line`, by the header's names.
fn fields<'a>(header: &'a str, line: &'a str) -> std::collections::HashMap<&'a str, &'a str> {
    header.split(',').zip(line.split(',')).collect()
}

#[test]
fn population_points_equal_cellpk_population_of_their_scenario() {
    let s = Setup::with_base(&population_sweep(), &population_base());
    ok(&s.sweep(&["--threads", "2"]));
    let csv = s.csv("sweep.csv");
    let sweep = cellpk::sweep::load(&s.path("sweep.toml")).expect("valid sweep");
    let mut lines = csv.lines();
    let header = lines.next().expect("header");
    let mut reached = Vec::new();
    for (i, line) in lines.enumerate() {
        let row = fields(header, line);
        assert_eq!(row["error"], "", "point {i}: {line}");
        // The point as its own scenario file (every parameter resolved, so a distribution
        // centred on the resolved value is centred where the sweep centred it), with the
        // base's `[variability]`, through `cellpk population` with the same N.
        let scenario = sweep.scenario(i as u64).expect("a valid point");
        let file = s.path(&format!("point{i}.toml"));
        let text = format!("{}{VARIABILITY}", resolved_toml(&scenario, "sweep test"));
        fs::write(&file, text).expect("write point");
        let out = cellpk(&[
            "population".as_ref(),
            file.as_os_str(),
            "--n".as_ref(),
            "40".as_ref(),
            "--out".as_ref(),
            s.path("pop").as_os_str(),
        ]);
        ok(&out);
        let dir = s.path("pop").join("base-population");
        let summary = fs::read_to_string(dir.join("summary.csv")).expect("summary.csv");
        let mut summary = summary.lines();
        let summary_header = summary.next().expect("header");
        for metric in ["liver_auc", "lung_peak", "days_liver_above_threshold"] {
            let want = summary
                .clone()
                .map(|l| fields(summary_header, l))
                .find(|r| r["name"] == metric)
                .expect("the metric's summary");
            for q in ["p5", "p25", "p50", "p75", "p95"] {
                let got: f64 = row[format!("{metric}_{q}").as_str()]
                    .parse()
                    .expect("number");
                let want: f64 = want[q].parse().expect("number");
                assert_eq!(got, want, "point {i}: {metric}_{q}");
            }
        }
        // The share reaching the target, from the subjects' own rows.
        let subjects = fs::read_to_string(dir.join("population.csv")).expect("population.csv");
        let mut subjects = subjects.lines();
        let subject_header = subjects.next().expect("header");
        let days: Vec<f64> = subjects
            .map(|l| {
                fields(subject_header, l)["days_liver_above_threshold"]
                    .parse()
                    .expect("days")
            })
            .collect();
        assert_eq!(days.len(), 40);
        let share = days.iter().filter(|&&d| d >= 2.0).count() as f64 / 40.0;
        let got: f64 = row["days_liver_above_threshold_reached"]
            .parse()
            .expect("share");
        assert_eq!(got, share, "point {i}: the share reaching 2 days");
        reached.push(got);
        fs::remove_dir_all(s.path("pop")).expect("clean");
    }
    assert!(
        reached.iter().any(|&r| r > 0.0 && r < 1.0),
        "a target some subjects reach and others do not: {reached:?}"
    );
}

#[test]
fn population_sweeps_are_the_same_for_any_threads_resume_and_shards() {
    let s = Setup::with_base(&population_sweep(), &population_base());
    ok(&s.sweep(&["--threads", "1"]));
    let whole = s.csv("sweep.csv");
    ok(&s.sweep(&["--threads", "2"]));
    assert_eq!(s.csv("sweep.csv"), whole, "1 and 2 threads");
    // Where a kill could leave the partial file: mid-row, and at a row's end.
    let dir = s.path("out").join("small");
    let partial = dir.join("sweep.csv.partial");
    let third_row = whole.match_indices('\n').nth(3).expect("rows").0 + 1;
    for cut in [whole.len() / 2 + 3, third_row] {
        fs::remove_file(dir.join("sweep.csv")).expect("remove whole");
        fs::write(&partial, &whole[..cut]).expect("write partial");
        ok(&s.sweep(&["--resume", "--threads", "2"]));
        assert_eq!(s.csv("sweep.csv"), whole, "resumed from byte {cut}");
    }
    for k in 1..=3 {
        ok(&s.sweep(&["--shard", &format!("{k}/3")]));
    }
    fs::remove_file(dir.join("sweep.csv")).expect("remove whole");
    let shards: Vec<PathBuf> = (1..=3)
        .map(|k| dir.join(format!("sweep.shard-{k}-of-3.csv")))
        .collect();
    ok(&merge(&s, &shards));
    assert_eq!(s.csv("sweep.csv"), whole, "merged shards");
}

/// A population sweep of about a second (32 points of 500 subjects), killed mid-run.
#[test]
fn a_killed_population_sweep_resumes_to_the_same_file() {
    let sweep = population_sweep()
        .replace(
            "values = [1e5, 1e6]",
            "logspace = { from = 1e5, to = 1e7, steps = 8 }",
        )
        .replace("n = 40", "n = 500");
    killed_sweep_resumes_to_the_same_file(&Setup::with_base(&sweep, &population_base()));
}

#[test]
fn a_changed_population_refuses_to_resume_or_merge() {
    let sweep = population_sweep();
    let s = Setup::with_base(&sweep, &population_base());
    ok(&s.sweep(&[]));
    let whole = s.csv("sweep.csv");
    let dir = s.path("out").join("small");
    fs::remove_file(dir.join("sweep.csv")).expect("remove whole");
    let partial = dir.join("sweep.csv.partial");
    fs::write(&partial, &whole[..whole.len() / 2]).expect("write partial");
    let refused = |what: &str, expected: &str| {
        let out = s.sweep(&["--resume"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{what}: lacks {expected:?}: {stderr}"
        );
        assert_eq!(
            fs::read_to_string(&partial).expect("partial kept"),
            whole[..whole.len() / 2],
            "{what}: the partial file is left as it was"
        );
    };
    fs::write(s.path("sweep.toml"), sweep.replace("n = 40", "n = 41")).expect("edit");
    refused("n", "population.n: 40 -> 41");
    fs::write(s.path("sweep.toml"), sweep.replace("= 2 }", "= 3 }")).expect("edit");
    refused(
        "target",
        "population.target.days_liver_above_threshold: >= 2e0 -> >= 3e0",
    );
    fs::write(s.path("sweep.toml"), &sweep).expect("restore");
    fs::write(
        s.path("base.toml"),
        population_base().replace("seed = 7", "seed = 8"),
    )
    .expect("edit base");
    refused("seed", "population.seed: 7 -> 8");
    fs::write(
        s.path("base.toml"),
        population_base().replace("cv = 0.3", "cv = 0.4"),
    )
    .expect("edit base");
    refused("distribution", "population.variability.liver.extraction");
    // A shard of the edited base does not merge with one of the original.
    ok(&s.sweep(&["--shard", "2/2"]));
    fs::write(s.path("base.toml"), population_base()).expect("restore base");
    ok(&s.sweep(&["--shard", "1/2"]));
    let shards: Vec<PathBuf> = (1..=2)
        .map(|k| dir.join(format!("sweep.shard-{k}-of-2.csv")))
        .collect();
    let out = merge(&s, &shards);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("population.variability"));
    ok(&s.sweep(&["--resume"]));
    assert_eq!(s.csv("sweep.csv"), whole, "the unchanged sweep resumes");
}

#[test]
fn population_figures_draw_a_share_or_a_quantile() {
    let sweep = r#"
name = "small"
base = "base.toml"
[[axis]]
path = "subject.disease"
values = ["compensated_cirrhosis", "acute_liver_failure"]
[[axis]]
path = 'parameters."portal.shunt_fraction"'
values = [0.1, 0.5]
[[axis]]
path = "dose.cells_per_kg"
values = [1e5, 1e6]
[output]
metrics = ["liver_auc", "days_liver_above_threshold"]
[population]
n = 10
[[plot]]
kind = "heatmap"
metric = "days_liver_above_threshold_reached"
x = "dose.cells_per_kg"
y = 'parameters."portal.shunt_fraction"'
facet = "subject.disease"
[[plot]]
kind = "lines"
metric = "liver_auc_p50"
x = "dose.cells_per_kg"
line = "subject.disease"
where = { 'parameters."portal.shunt_fraction"' = 0.5 }
"#;
    let s = Setup::with_base(sweep, &population_base());
    ok(&s.sweep(&[]));
    let dir = s.path("out").join("small");
    for (file, title) in [
        (
            "plot1_days_liver_above_threshold_reached.svg",
            "Share of 10 subjects with days liver above threshold &gt; 0",
        ),
        (
            "plot2_liver_auc_p50.svg",
            "Liver AUC, median of 10 subjects",
        ),
    ] {
        let svg = fs::read_to_string(dir.join(file)).expect(file);
        assert!(svg.contains(title), "{file}: lacks the title {title:?}");
    }
}

/// Bad population sweeps: (what replaces what in the valid file, expected message parts).
const BAD_POPULATION: &[(&str, &str, &[&str])] = &[
    ("n = 40", "n = 1", &["`population.n`", "1 is not a number of subjects from 2"]),
    ("n = 40", "n = 1000000000", &["`population.n`", "to 200000"]),
    (
        "path = \"dose.route\"\nvalues = [\"portal_vein\", \"peripheral_vein\"]",
        "path = 'parameters.\"liver.extraction\"'\nvalues = [0.2, 0.3]",
        &[
            "`axis[2].path`",
            "[variability.parameters.\"liver.extraction\"]",
            "remove the axis",
        ],
    ),
    (
        "= 2 }",
        "= 2, liver_aux = 3 }",
        &["`population.targets.liver_aux`", "not a metric column"],
    ),
    ("n = 40", "n = 40\nseed = 3", &["unknown field `seed`"]),
    (
        "[population]",
        "[[plot]]\nkind = \"lines\"\nmetric = \"liver_auc\"\nx = \"dose.cells_per_kg\"\n\
         where = { \"subject.disease\" = \"acute_liver_failure\", \"dose.route\" = \"portal_vein\" }\n\
         [population]",
        &["`plot[1].metric`", "`liver_auc_p50`"],
    ),
];

#[test]
fn bad_population_sweeps_fail_before_any_work() {
    let sweep = population_sweep();
    let mut cases: Vec<(String, String, &[&str])> = BAD_POPULATION
        .iter()
        .map(|(from, to, expected)| {
            assert!(sweep.contains(from), "{from}");
            (sweep.replacen(from, to, 1), population_base(), *expected)
        })
        .collect();
    cases.push((
        sweep.clone(),
        BASE.to_string(),
        &[
            "`population`",
            "no `[variability]`",
            "remove `[population]`",
        ],
    ));
    for (sweep, base, expected) in cases {
        let s = Setup::with_base(&sweep, &base);
        for args in [vec!["sweep"], vec!["check"]] {
            let mut all: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
            let file = s.path("sweep.toml");
            let out_dir = s.path("out");
            all.push(file.as_os_str());
            if args[0] == "sweep" {
                all.extend(["--out".as_ref(), out_dir.as_os_str()]);
            }
            let out = cellpk(&all);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{sweep}: {stderr}");
            for part in expected {
                assert!(stderr.contains(part), "stderr lacks {part:?}:\n{stderr}");
            }
            assert!(!s.path("out").exists(), "nothing may be written");
        }
    }
}

/// A log-normal centred on the resolved shunt of cirrhosis meets the healthy liver's shunt
/// of 0 on a disease axis: those points are error rows saying so, the others run. (Its
/// `[variability]` has no seed: the axis check writes the base out again, and must keep
/// the table's header.)
#[test]
fn a_point_whose_resolved_centre_no_log_normal_has_is_an_error_row() {
    let base = format!(
        "{BASE}[variability]\n[variability.parameters.\"portal.shunt_fraction\"]\n\
         distribution = \"log_normal\"\ncv = 0.3\n"
    );
    let sweep = r#"
name = "small"
base = "base.toml"
[[axis]]
path = "subject.disease"
values = ["compensated_cirrhosis", "healthy"]
[output]
metrics = ["liver_auc"]
[population]
n = 5
"#;
    let s = Setup::with_base(sweep, &base);
    ok(&s.sweep(&[]));
    let csv = s.csv("sweep.csv");
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert!(rows[0].ends_with(','), "cirrhosis runs: {}", rows[0]);
    for part in [
        "variability.parameters.\"\"portal.shunt_fraction\"\"",
        "is no log-normal distribution's geometric mean",
    ] {
        assert!(
            rows[1].contains(part),
            "healthy lacks {part:?}: {}",
            rows[1]
        );
    }
}
