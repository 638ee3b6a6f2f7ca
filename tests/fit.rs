//! `cellpk fit`: parameters recovered from data that cellpk itself simulated, with and
//! without noise, and clear failures on data it cannot use.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use cellpk::fit::problem::{self, FreeParam};
use cellpk::observe::{self, Organ};
use cellpk::params::Param;
use cellpk::presets::Choice;
use cellpk::scenario::{self, Scenario};
use cellpk::validation::{compare, data};

const SCENARIO: &str = r#"
name = "synthetic"
[subject]
species = "mouse"
disease = "healthy"
[cells]
source = "bone_marrow"
donor = "autologous"
[[dose]]
route = "peripheral_vein"
cells = 1e6
[simulation]
duration_days = 4
[observe]
method = "dna_pcr"
"#;

const TIMES: [f64; 7] = [0.5, 2.0, 6.0, 12.0, 24.0, 48.0, 96.0];
const ORGANS: [Organ; 3] = [Organ::Lung, Organ::Liver, Organ::Spleen];

/// The truth the data are simulated from, away from the defaults the fit starts at.
const TRUTH: [(Param, f64); 2] = [(Param::LungDeath, 0.05), (Param::LiverExtraction, 0.75)];

fn base() -> Scenario {
    scenario::parse(SCENARIO, Path::new("synthetic.toml")).expect("valid")
}

/// A tidy observations file simulated at `TRUTH`, each value multiplied by
/// exp(cv x z) with z from a seeded normal sequence (no noise when cv = 0), with SD
/// cv x value (5 % when noise-free, so that every row has a weight).
fn synthetic_csv(cv: f64, seed: u64) -> String {
    let mut truth = base();
    for (p, v) in TRUTH {
        truth.parameters.set(p, v);
    }
    let signals = observe::predict(&truth, &TIMES).expect("simulates");
    let mut rng = seed;
    let mut normal = move || {
        // Box-Muller on a 64-bit LCG (Knuth's MMIX constants): deterministic noise.
        let mut uniform = || {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((rng >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let (u1, u2) = (uniform(), uniform());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    };
    let mut out = data::COLUMNS.join(",") + "\n";
    for organ in ORGANS {
        for (i, t) in TIMES.iter().enumerate() {
            let exact = signals.percent[i][organ.position()];
            let value = exact * (cv * normal()).exp();
            let sd = cv.max(0.05) * value;
            writeln!(
                out,
                "synthetic,mouse,peripheral_vein,{},{t},{value:e},percent_injected,dna_pcr,{sd:e},,,simulated by cellpk,",
                organ.name()
            )
            .expect("writing to a String cannot fail");
        }
    }
    out
}

fn free() -> Vec<FreeParam> {
    problem::parse_free("lung.death_per_h,liver.extraction=0.05:0.99").expect("valid --free")
}

fn fit(csv: &str) -> problem::Fitted {
    let file = Path::new("synthetic.csv");
    let rows = data::parse(csv, file).expect("valid data");
    let refs: Vec<_> = rows.iter().collect();
    let s = base();
    compare::check_usable(&s, &refs, file).expect("usable");
    problem::fit(&s, &refs, &free(), file).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn recovers_parameters_from_noise_free_simulated_data() {
    let f = fit(&synthetic_csv(0.0, 1));
    for (i, (p, truth)) in TRUTH.iter().enumerate() {
        let start = base().parameters.get(*p);
        assert!(
            (start - truth).abs() > 0.2 * truth,
            "the fit starts away from {p:?}"
        );
        let e = f.estimate.values[i];
        assert!(
            (e - truth).abs() <= 1e-5 * truth,
            "{p:?}: estimate {e} against truth {truth}"
        );
    }
    assert!(
        f.estimate.ssr < 1e-10,
        "exact data fit exactly: SSR {}",
        f.estimate.ssr
    );
    assert!(f.after.geometric_mean_fold_error().expect("rows") < 1.0 + 1e-6);
}

#[test]
fn recovers_a_parameter_from_relative_data_against_their_series_reference() {
    // Lung donor DNA relative to its value at 1 h, as Lee et al. 2009 report it.
    let mut truth = base();
    truth.parameters.set(Param::LungDeath, 0.05);
    let times = [1.0, 6.0, 12.0, 24.0, 48.0];
    let lung = observe::predict(&truth, &times)
        .expect("simulates")
        .organ(Organ::Lung);
    let mut csv = data::COLUMNS.join(",") + "\n";
    for (t, v) in times.iter().zip(&lung) {
        let relative = 100.0 * v / lung[0];
        writeln!(
            csv,
            "rel,mouse,peripheral_vein,lung,{t},{relative:e},percent_of_first,dna_pcr,,,,simulated,"
        )
        .expect("writing to a String cannot fail");
    }
    let file = Path::new("relative.csv");
    let rows = data::parse(&csv, file).expect("valid data");
    let refs: Vec<_> = rows.iter().collect();
    let free = problem::parse_free("lung.death_per_h").expect("valid --free");
    let f = problem::fit(&base(), &refs, &free, file).unwrap_or_else(|e| panic!("{e}"));
    let e = f.estimate.values[0];
    assert!((e - 0.05).abs() <= 1e-5 * 0.05, "estimate {e} against 0.05");
    assert_eq!(
        f.estimate.n,
        times.len() - 1,
        "the reference row is not a residual"
    );
}

#[test]
fn recovers_parameters_from_noisy_data_within_their_standard_errors() {
    // 10 % log-normal noise, SD given as 10 % of each value.
    for seed in [7, 8, 9] {
        let f = fit(&synthetic_csv(0.1, seed));
        for (i, (p, truth)) in TRUTH.iter().enumerate() {
            let (e, se) = (f.estimate.values[i], f.estimate.standard_errors[i]);
            assert!(se > 0.0 && se < 0.2 * truth, "{p:?}: SE {se}");
            assert!(
                (e - truth).abs() <= 4.0 * se,
                "seed {seed}, {p:?}: estimate {e} +/- {se} against truth {truth}"
            );
        }
        let r = f.estimate.correlation[(0, 1)];
        assert!(r.abs() < 1.0, "a correlation, not a degenerate one: {r}");
    }
}

/// `cellpk fit SCENARIO --data DATA`, to be completed.
fn fit_command(scenario: &Path, data: &Path) -> Command {
    let mut c = Command::cargo_bin("cellpk").expect("the binary is built");
    c.arg("fit").arg(scenario).arg("--data").arg(data);
    c
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("temp file");
    path
}

#[test]
fn the_command_writes_estimates_fitted_scenario_and_predictions() {
    let dir = tempfile::tempdir().expect("temp dir");
    let s = write(dir.path(), "synthetic.toml", SCENARIO);
    let d = write(dir.path(), "data.csv", &synthetic_csv(0.0, 1));
    let out = dir.path().join("out");
    fit_command(&s, &d)
        .args([
            "--free",
            "lung.death_per_h,liver.extraction=0.05:0.99",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success()
        .stdout(predicates::str::contains("lung.death_per_h: 5.0000"));
    let fitted = out.join("synthetic-fit");
    let report = std::fs::read_to_string(fitted.join("fit.md")).expect("fit.md");
    assert!(report.contains("standard error") && report.contains("Correlations"));
    // The fitted scenario reproduces the truth when run again.
    let again = scenario::load(&fitted.join("fitted.toml")).expect("fitted.toml is valid");
    let v = again.parameters.get(Param::LungDeath);
    assert!((v - 0.05).abs() < 1e-5 * 0.05, "{v}");
    assert!(fitted.join("predictions.csv").exists());
    // The figures: the fitted model over time, and observed against predicted.
    for figure in [
        "fit_timecourse.png",
        "fit_timecourse.svg",
        "fit_scatter.png",
        "fit_scatter.svg",
    ] {
        let bytes = std::fs::read(fitted.join(figure)).unwrap_or_else(|e| panic!("{figure}: {e}"));
        assert!(bytes.len() > 10_000, "{figure} has {} bytes", bytes.len());
    }
    let scatter = std::fs::read_to_string(fitted.join("fit_scatter.svg")).expect("svg");
    for text in ["Observed (% of injected dose)", "lung", "liver", "spleen"] {
        assert!(scatter.contains(text), "fit_scatter.svg lacks {text}");
    }
}

#[test]
fn data_it_cannot_use_fail_clearly_with_nothing_written() {
    let good = synthetic_csv(0.0, 1);
    let first_row = good.lines().nth(1).expect("a row").to_owned();
    let cases = [
        (first_row.replace(",lung,", ",brain,"), "unknown organ"),
        (first_row.replace(",dna_pcr,", ",mri,"), "unknown method"),
        (
            first_row.replacen(",0.5,", ",0.5,-", 1),
            "not a finite number >= 0",
        ),
        (
            first_row.replacen(",0.5,", ",500,", 1),
            "no overlap in time",
        ),
        (
            first_row.replace(",dna_pcr,", ",radiolabel,"),
            "measured by radiolabel",
        ),
        (first_row.replace("mouse", "rat"), "for a rat"),
    ];
    for (row, expected) in cases {
        let dir = tempfile::tempdir().expect("temp dir");
        let s = write(dir.path(), "synthetic.toml", SCENARIO);
        let text = format!(
            "{}\n{row}\n{}",
            data::COLUMNS.join(","),
            good.lines().nth(2).expect("a second row")
        );
        let d = write(dir.path(), "data.csv", &text);
        let out = dir.path().join("out");
        fit_command(&s, &d)
            .args(["--free", "lung.death_per_h", "--out"])
            .arg(&out)
            .assert()
            .code(2)
            .stderr(predicates::str::contains(expected));
        assert!(!out.exists(), "{expected}: nothing written");
    }
    // A parameter that does not exist, and too few rows for the free parameters.
    let dir = tempfile::tempdir().expect("temp dir");
    let s = write(dir.path(), "synthetic.toml", SCENARIO);
    let one = format!("{}\n{first_row}\n", data::COLUMNS.join(","));
    let d = write(dir.path(), "data.csv", &one);
    for (free, expected) in [
        ("lung.deth_per_h", "no parameter is named"),
        (
            "lung.death_per_h,liver.extraction",
            "more residuals than free parameters",
        ),
    ] {
        fit_command(&s, &d)
            .args(["--free", free])
            .assert()
            .code(2)
            .stderr(predicates::str::contains(expected));
    }
}

// `cellpk calibrate`: base values shared by several cases.

mod calibrate {
    use super::*;
    use cellpk::fit::calibrate::{self as cal, Case};
    use cellpk::params::calibration::Entry;
    use cellpk::params::{self, Calibration};
    use cellpk::presets::Species;

    /// The base per-pass liver arrest the data are simulated from.
    const TRUTH: f64 = 0.7;

    /// Two designs: a healthy mouse and a rat in acute liver failure (whose homing factor
    /// acts on the base value), each a validation case of its own study in `data.csv`.
    fn case_text(study: &str) -> String {
        let (species, disease) = match study {
            "mouse_iv" => ("mouse", "healthy"),
            _ => ("rat", "acute_liver_failure"),
        };
        format!(
            r#"
name = "{study}"
[subject]
species = "{species}"
disease = "{disease}"
[cells]
source = "bone_marrow"
donor = "autologous"
[[dose]]
route = "peripheral_vein"
cells = 1e6
[simulation]
duration_days = 2
[observe]
method = "dna_pcr"
[validation]
data = "data.csv"
study = "{study}"
max_fold_error = 1.5
"#
        )
    }

    /// Liver and lung rows of `study` simulated with the base liver arrest `TRUTH`, SD 0.01 %
    /// of each value (tight data, so that the prior moves the estimate by far less than
    /// the tolerance).
    fn rows(study: &str) -> String {
        let mut s = scenario::parse(&case_text(study), Path::new("case.toml")).expect("valid");
        // The shipped calibration with the truth laid over it: the base values a
        // calibration starts from.
        let truth = Calibration::shipped().with(Entry {
            param: Param::LiverExtraction,
            species: None,
            value: TRUTH,
            source: "truth".into(),
        });
        s.parameters = params::resolve_with(&s.subject, &truth);
        let times = [0.5, 4.0, 24.0];
        let signals = observe::predict(&s, &times).expect("simulates");
        let species = s.subject.species.name();
        let mut out = String::new();
        for organ in [Organ::Liver, Organ::Lung] {
            for (i, t) in times.iter().enumerate() {
                let v = signals.percent[i][organ.position()];
                writeln!(
                    out,
                    "{study},{species},peripheral_vein,{},{t},{v:e},percent_injected,dna_pcr,{:e},,,simulated by cellpk,",
                    organ.name(),
                    1e-4 * v
                )
                .expect("writing to a String cannot fail");
            }
        }
        out
    }

    fn csv() -> String {
        data::COLUMNS.join(",") + "\n" + &rows("mouse_iv") + &rows("rat_alf")
    }

    fn cases() -> Vec<Case> {
        let all = data::parse(&csv(), Path::new("data.csv")).expect("valid data");
        ["mouse_iv", "rat_alf"]
            .iter()
            .map(|&study| Case {
                name: study.into(),
                scenario: scenario::parse(&case_text(study), Path::new("case.toml"))
                    .expect("valid"),
                rows: all.iter().filter(|o| o.study == study).cloned().collect(),
            })
            .collect()
    }

    #[test]
    fn recovers_a_base_value_shared_by_two_cases() {
        let free = cal::parse_free("liver.extraction=0.1:0.95").expect("valid --free");
        let f = cal::calibrate(&cases(), &free).unwrap_or_else(|e| panic!("{e}"));
        let shipped = Calibration::shipped()
            .get(Param::LiverExtraction, Species::Mouse)
            .map_or(0.5, |e| e.value);
        assert_eq!(
            free[0].start, shipped,
            "the search starts at the shipped base value"
        );
        let e = f.values[0];
        assert!(
            (e - TRUTH).abs() <= 1e-5 * TRUTH,
            "estimate {e} against {TRUTH}"
        );
        assert!(f.estimate.converged, "{}", f.estimate.termination);
        for c in &f.cases {
            let before = cal::gmfe(&c.before).expect("rows");
            let after = cal::gmfe(&c.after).expect("rows");
            assert!(
                before > 1.01,
                "{}: the preset misses the data ({before})",
                c.name
            );
            assert!(after < 1.0 + 1e-5, "{}: GMFE {after} after", c.name);
        }
        // The rat's resolved value is the base value under its disease's homing factor.
        let rat = cal::resolved_under(&cases()[1].scenario, &f.calibration);
        let entry = rat.parameters.entry(Param::LiverExtraction);
        assert!(entry.value > e + 0.05, "homing in liver failure raises it");
        assert!(entry.source.starts_with("calibrated: cases mouse_iv, rat_alf; prior: log-normal 95 % range 0.1-0.95 (assumption:"), "{}", entry.source);
    }

    #[test]
    fn the_prior_sets_a_value_the_data_do_not_inform() {
        // No case has a depot: its death rate changes no prediction, and the estimate is the
        // prior's median, with the prior's own uncertainty.
        let free = cal::parse_free("liver.extraction=0.1:0.95,depot.death_per_h=0.01:1")
            .expect("valid --free");
        let f = cal::calibrate(&cases(), &free).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            (f.values[0] - TRUTH).abs() <= 1e-5 * TRUTH,
            "{:?}",
            f.values
        );
        let median = (0.01f64 * 1.0).sqrt();
        assert!(
            (f.values[1] - median).abs() <= 1e-6 * median,
            "{:?}",
            f.values
        );
        let (lo, hi) = f.intervals[1];
        assert!((lo - 0.01).abs() <= 1e-4 * 0.01, "{lo}");
        assert!((hi - 1.0).abs() <= 1e-4, "{hi}");
        assert!(f.estimate.correlation[(0, 1)].abs() < 1e-6);
    }

    fn calibrate_command(dir: &Path) -> Command {
        let mut c = Command::cargo_bin("cellpk").expect("the binary is built");
        c.current_dir(dir).arg("calibrate");
        c
    }

    fn write_cases(dir: &Path) {
        write(dir, "mouse_iv.toml", &case_text("mouse_iv"));
        write(dir, "rat_alf.toml", &case_text("rat_alf"));
        write(dir, "data.csv", &csv());
    }

    #[test]
    fn the_command_writes_estimates_and_held_out_predictions() {
        let dir = tempfile::tempdir().expect("temp dir");
        write_cases(dir.path());
        calibrate_command(dir.path())
            .args([
                "mouse_iv.toml",
                "rat_alf.toml",
                "--free",
                "liver.extraction=0.1:0.95",
                "--cross-validate",
                "--out",
                "out",
            ])
            .assert()
            .success()
            .stdout(predicates::str::contains("liver.extraction: 0.7000"));
        let out = dir.path().join("out/calibration");
        for file in [
            "calibration.md",
            "estimates.csv",
            "cases.csv",
            "calibrated.toml",
            "heldout.csv",
            "calibration_scatter.png",
            "calibration_scatter.svg",
        ] {
            assert!(out.join(file).exists(), "{file}");
        }
        let held = std::fs::read_to_string(out.join("heldout.csv")).expect("heldout.csv");
        let lines: Vec<&str> = held.lines().collect();
        assert!(
            lines[0].starts_with("case,species,route,fitted_gmfe,held_out_gmfe"),
            "{}",
            lines[0]
        );
        assert_eq!(lines.len(), 3, "one row per case:\n{held}");
        assert!(lines[1].starts_with("mouse_iv,mouse,peripheral_vein,"));
        // Each case alone determines the value: held out, it is still predicted exactly.
        for line in &lines[1..] {
            let gmfe: f64 = line
                .split(',')
                .nth(4)
                .expect("held_out_gmfe")
                .parse()
                .expect("a number");
            assert!(gmfe < 1.0 + 1e-4, "{line}");
        }
        let report = std::fs::read_to_string(out.join("calibration.md")).expect("md");
        for text in ["Leave one study out", "Laplace", "| `rat_alf` |"] {
            assert!(report.contains(text), "calibration.md lacks {text}");
        }
        // calibrated.toml is in the format the presets load, and resolves to the estimate.
        let text = std::fs::read_to_string(out.join("calibrated.toml")).expect("toml");
        let c = Calibration::parse(&text, Path::new("calibrated.toml")).expect("loads");
        let mouse = scenario::parse(&case_text("mouse_iv"), Path::new("m.toml")).expect("valid");
        let entry = params::resolve_with(&mouse.subject, &c)
            .entry(Param::LiverExtraction)
            .clone();
        assert!((entry.value - TRUTH).abs() < 1e-5, "{}", entry.value);
        assert!(entry
            .source
            .starts_with("calibrated: cases mouse_iv, rat_alf;"));
        // With the covariance of the free value on the fit's scale (ln of the hazard).
        assert!(text.contains("scales = [\"ln_hazard\"]"), "{text}");
        let covariance = c.covariance().expect("a covariance");
        assert_eq!(covariance.parameters, vec![(Param::LiverExtraction, None)]);
        let variance = covariance.get(0, 0);
        assert!(variance > 0.0 && variance.is_finite(), "{variance}");
    }

    #[test]
    fn bad_input_exits_2_with_nothing_written() {
        let dir = tempfile::tempdir().expect("temp dir");
        write_cases(dir.path());
        // A case with one informative row.
        write(
            dir.path(),
            "one.toml",
            &case_text("mouse_iv").replace("data.csv", "one.csv"),
        );
        let first = rows("mouse_iv").lines().next().expect("a row").to_owned();
        write(
            dir.path(),
            "one.csv",
            &(data::COLUMNS.join(",") + "\n" + &first + "\n"),
        );
        for (cases, free, expected) in [
            (
                vec!["mouse_iv.toml"],
                "liver.extracton",
                "no parameter is named",
            ),
            (
                vec!["mouse_iv.toml"],
                "liver.extraction=0.9:0.2",
                "is not a 95 % range",
            ),
            (
                vec!["mouse_iv.toml"],
                "liver.extraction=0.2:1.5",
                "is not a 95 % range",
            ),
            (vec!["missing.toml"], "liver.extraction", "cannot read"),
            (
                vec!["one.toml"],
                "liver.extraction,lung.death_per_h",
                "1 informative rows (values and ranges, series references left out) in the \
                 cases for 2 free parameters",
            ),
            (
                vec!["mouse_iv.toml"],
                "human:lung.extraction",
                "no case is of species human",
            ),
            (
                vec!["mouse_iv.toml"],
                "niche.capacity_cells",
                "cannot be calibrated",
            ),
        ] {
            calibrate_command(dir.path())
                .args(&cases)
                .args(["--free", free, "--out", "out"])
                .assert()
                .code(2)
                .stderr(predicates::str::contains(expected));
            assert!(
                !dir.path().join("out").exists(),
                "{expected}: nothing written"
            );
        }
    }
}

#[test]
fn free_parameters_without_an_upper_bound_stop_at_what_check_accepts() {
    let free = problem::parse_free(
        "lung.death_per_h,liver.extraction,niche.capacity_cells,injury.homing_fold,\
         lung.release_per_h=0.5:inf",
    )
    .expect("valid --free");
    for f in &free {
        let kind = f.param.kind();
        let (low, _, high) = kind.bounds();
        assert_eq!(f.upper, high, "{}: the accepted maximum", f.param.name());
        assert!(kind.admits(f.upper), "{}", f.param.name());
        if f.param != Param::LungRelease {
            assert_eq!(f.lower, low, "{}: the accepted minimum", f.param.name());
        }
    }
    assert_eq!(free[4].lower, 0.5, "a lower bound given is kept");
    assert_eq!(free[0].upper, cellpk::params::MAX_RATE_PER_H);
    // A bound beyond what `check` accepts is refused, not clamped.
    let err = problem::parse_free("lung.death_per_h=0.1:1e5").expect_err("above the maximum");
    assert!(err.to_string().contains("a rate from 0 to 1e4"), "{err}");
}
