//! `cellpk calibrate`: base parameter values shared by the validation cases, estimated at
//! the maximum of their posterior (`fit::calibrate`), with each case's fold error before
//! and after and, with `--cross-validate`, each case predicted by a calibration fitted
//! without it. Writes OUT/calibration/ whole, or nothing.

use std::fmt::Write;
use std::path::PathBuf;

use anyhow::Context;

use super::emit;
use super::validate::{self, Loaded};
use crate::fit::calibrate::{self, CalibrateError, Calibrated, Case, HeldOut, DEFAULT_PRIOR_FOLD};
use crate::fit::problem::DEFAULT_CV;
use crate::output;
use crate::plot::{self, ObservedVsPredicted, ScatterGroup};
use crate::presets::Choice;
use crate::validation::compare::Comparison;
use crate::validation::data::Unit;

/// What `cellpk calibrate` was asked.
#[derive(Debug)]
pub struct Request {
    /// Case files (default: the validation cases).
    pub cases: Vec<PathBuf>,
    /// `--free`, as written.
    pub free: String,
    /// Directory that receives `calibration/`.
    pub out: PathBuf,
    /// Also refit without each case and predict it.
    pub cross_validate: bool,
}

/// Runs a calibration and writes OUT/calibration/.
pub fn calibrate(r: &Request) -> anyhow::Result<()> {
    let free = calibrate::parse_free(&r.free)?;
    let cases: Vec<Case> = validate::load_cases(&r.cases, true)?
        .into_iter()
        .map(
            |Loaded {
                 name,
                 scenario,
                 rows,
             }| Case {
                name,
                scenario,
                rows,
            },
        )
        .collect();
    calibrate::check_scopes(&cases, &free)?;
    let fitted = calibrate::calibrate(&cases, &free).map_err(|e| match e {
        CalibrateError::Input(e) => anyhow::Error::new(e),
        other => anyhow::Error::new(other).context("cannot calibrate"),
    })?;
    let held_out = r
        .cross_validate
        .then(|| calibrate::cross_validate(&cases, &free));
    let command = command_line(r, &cases);

    let mut files = vec![
        (
            "calibration.md",
            report(&fitted, &cases, held_out.as_deref(), &command).into_bytes(),
        ),
        ("estimates.csv", estimates_csv(&fitted).into_bytes()),
        ("cases.csv", cases_csv(&fitted, &cases).into_bytes()),
        (
            "calibrated.toml",
            fitted
                .calibration
                .to_toml(&[
                    format!("Written by `{command}."),
                    "Base values for `params::resolve_with`; to ship them, copy this file to \
                     src/presets/calibrated.toml."
                        .into(),
                ])
                .into_bytes(),
        ),
    ];
    if let Some(h) = &held_out {
        files.push(("heldout.csv", heldout_csv(&fitted, &cases, h).into_bytes()));
    }
    files.extend(figures(&fitted)?);
    let dir = r.out.join("calibration");
    output::write_dir_atomically(&dir, &files)
        .with_context(|| format!("cannot write {}", dir.display()))?;
    emit(&format!(
        "{}wrote {}/ ({})\n",
        summary(&fitted, held_out.as_deref()),
        dir.display(),
        files.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
    ))
}

/// The command that regenerates the outputs, for the report and calibrated.toml, and the
/// default cases it ran on when it named none.
fn command_line(r: &Request, cases: &[Case]) -> String {
    let mut c = String::from("cellpk calibrate");
    for file in &r.cases {
        c.push_str(&format!(" {}", file.display()));
    }
    c.push_str(&format!(" --free {}", r.free));
    if r.cross_validate {
        c.push_str(" --cross-validate");
    }
    if r.cases.is_empty() {
        c.push_str(&format!(
            "` (run from the project's root: cases {})",
            cases
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    } else {
        c.push('`');
    }
    c
}

fn or_na(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{v:.3}"))
}

/// GMFE over the rows with a value (references left out).
fn value_gmfe(c: &Comparison) -> Option<f64> {
    c.geometric_mean_fold_error()
}

/// Each range row's fold distance outside its range (1 inside), in file order.
fn range_folds(c: &Comparison) -> Vec<f64> {
    c.rows
        .iter()
        .filter(|r| r.observation.value.is_none() && !r.reference)
        .filter_map(calibrate::fold)
        .collect()
}

fn folds_text(folds: &[f64], sep: &str) -> String {
    folds
        .iter()
        .map(|f| format!("{f:.3}"))
        .collect::<Vec<_>>()
        .join(sep)
}

/// The estimates and case fold errors in a few lines, for the terminal.
fn summary(f: &Calibrated, held_out: Option<&[HeldOut]>) -> String {
    let mut out = String::new();
    for (i, p) in f.free.iter().enumerate() {
        let (lo, hi) = f.intervals[i];
        writeln!(
            out,
            "{}: {:.4} +/- {:.2e} (95 % {:.4}-{:.4}; start {:.4}, prior median {:.4})",
            p.label(),
            f.values[i],
            f.standard_errors[i],
            lo,
            hi,
            p.start,
            p.prior.median()
        )
        .expect("writing to a String cannot fail");
    }
    for (i, c) in f.cases.iter().enumerate() {
        write!(
            out,
            "{}: GMFE {} before, {} after",
            c.name,
            or_na(calibrate::gmfe(&c.before)),
            or_na(calibrate::gmfe(&c.after))
        )
        .expect("writing to a String cannot fail");
        if let Some(h) = held_out {
            write!(out, ", {} held out", or_na(h[i].gmfe)).expect("writing to a String");
        }
        out.push('\n');
    }
    writeln!(
        out,
        "{}; {} model evaluations",
        f.estimate.termination, f.estimate.evaluations
    )
    .expect("writing to a String cannot fail");
    out
}

/// `calibration.md`.
fn report(f: &Calibrated, cases: &[Case], held_out: Option<&[HeldOut]>, command: &str) -> String {
    let mut out = String::new();
    let mut w = |text: String| out.push_str(&text);
    w(format!(
        "# Calibration of base parameter values\n\nRegenerate with `{command}.\n\n"
    ));
    w(
        "## Cases and weights\n\n| case | study | species | route | informative rows | weight |\n\
       |---|---|---|---|---|---|\n"
            .into(),
    );
    for (c, fit) in cases.iter().zip(&f.cases) {
        let study = c
            .scenario
            .validation
            .as_ref()
            .map_or("", |v| v.study.as_str());
        w(format!(
            "| `{}` | `{study}` | {} | {} | {} | {:.4} |\n",
            c.name,
            c.scenario.subject.species.name(),
            c.route(),
            fit.rows,
            fit.weight
        ));
    }
    w(format!(
        "\n## Objective\n\n\
         The estimates maximize the posterior (MAP): they minimize the sum of squared residuals of\n\
         \n\
         - each row with a value: (predicted - observed) / SD, SD = {DEFAULT_CV} x the value when \
         the row gives none (as `cellpk fit`);\n\
         - each row with a range only: 0 inside the range, else ln(fold distance to the nearer \
         bound) / ln(1 + {DEFAULT_CV}) (outside by the fold {} weighs as a value missed by one SD);\n\
         - each case's residuals multiplied by 1 / sqrt(its informative rows), so that every \
         study weighs as one row whatever its number of rows (references of `percent_of_first` \
         series are not rows);\n\
         - one prior residual per free value, (ln theta - mu) / sigma, where theta is the value \
         or, for a fraction E (a per-pass arrest), its per-pass hazard -ln(1 - E).\n\n\
         A free value is a base value: the value for a healthy subject given unmodified, \
         bone-marrow, autologous cells at the species' reference weight; each case is resolved \
         from it as from the preset (disease, donor, cell-source and modification factors and \
         weight scaling act on top), and a case's own `[parameters]` still win.\n\n\
         Standard errors and correlations: Laplace approximation, (J^T J)^-1 at the estimate on \
         the ln theta scale (the residuals are already in SD units, so no residual variance \
         scales it), mapped to the value by the delta method; 95 % intervals are ln theta -/+ \
         1.96 SE transformed back. The weights make these wider than if every row counted as \
         an independent observation.\n",
        1.0 + DEFAULT_CV
    ));
    w(
        "\n## Priors\n\n| parameter | species | unit | log-normal on | 95 % range | median | \
       uncalibrated preset | preset's source |\n|---|---|---|---|---|---|---|---|\n"
            .into(),
    );
    for p in &f.free {
        w(format!(
            "| `{}` | {} | {} | {} | {} - {}{} | {:.4} | {} | {} |\n",
            p.param.name(),
            p.species.map_or("every", |s| s.name()),
            p.param.unit(),
            p.prior.on(),
            p.prior.low,
            p.prior.high,
            if p.range_given {
                String::new()
            } else {
                format!(" (default: {DEFAULT_PRIOR_FOLD}x either side of the preset)")
            },
            p.prior.median(),
            p.preset.value,
            p.preset.source.replace('|', "\\|")
        ));
    }
    w(
        "\n## Estimates\n\n| parameter | species | start | estimate | standard error | 95 % \
       interval |\n|---|---|---|---|---|---|\n"
            .into(),
    );
    for (i, p) in f.free.iter().enumerate() {
        let (lo, hi) = f.intervals[i];
        w(format!(
            "| `{}` | {} | {:.6} | {:.6} | {:.3e} | {:.6} - {:.6} |\n",
            p.param.name(),
            p.species.map_or("every", |s| s.name()),
            p.start,
            f.values[i],
            f.standard_errors[i],
            lo,
            hi
        ));
    }
    w("\n## Correlations of the estimates (ln theta scale)\n\n|   |".into());
    for p in &f.free {
        w(format!(" `{}` |", p.label()));
    }
    w(format!("\n|---|{}\n", "---|".repeat(f.free.len())));
    for (i, p) in f.free.iter().enumerate() {
        w(format!("| `{}` |", p.label()));
        for j in 0..f.free.len() {
            w(format!(" {:.3} |", f.estimate.correlation[(i, j)]));
        }
        w("\n".into());
    }
    let e = &f.estimate;
    w(format!(
        "\n- residuals: {} ({} rows and {} priors); weighted SSR {:.6e}\n\
         - optimizer: {}, {} model evaluations{}\n",
        e.n,
        e.n - e.p,
        e.p,
        e.ssr,
        e.termination,
        e.evaluations,
        if e.converged { "" } else { " (NOT converged)" }
    ));
    w(
        "\n## Cases before and after\n\n`gmfe`: geometric mean over the informative rows of \
       max(pred/obs, obs/pred) for a value and max(1, low/pred, pred/high) for a range \
       (floored at 0.001 %). Before: the shipped presets; after: the estimates.\n\n\
       | case | gmfe before | gmfe after | value rows' GMFE before | after | range rows' fold \
       outside before | after |\n|---|---|---|---|---|---|---|\n"
            .into(),
    );
    for c in &f.cases {
        w(format!(
            "| `{}` | {} | {} | {} | {} | {} | {} |\n",
            c.name,
            or_na(calibrate::gmfe(&c.before)),
            or_na(calibrate::gmfe(&c.after)),
            or_na(value_gmfe(&c.before)),
            or_na(value_gmfe(&c.after)),
            folds_text(&range_folds(&c.before), ", "),
            folds_text(&range_folds(&c.after), ", ")
        ));
    }
    if let Some(held) = held_out {
        w(
            "\n## Leave one study out\n\nEach case predicted by the calibration fitted to the \
           other cases (`heldout.csv`).\n\n| case | species | route | gmfe, fitted with it | \
           gmfe, held out | estimates without it | note |\n|---|---|---|---|---|---|---|\n"
                .into(),
        );
        for ((c, fit), h) in cases.iter().zip(&f.cases).zip(held) {
            let values = h.values.as_ref().map_or_else(String::new, |v| {
                f.free
                    .iter()
                    .zip(v)
                    .map(|(p, v)| format!("{} {v:.4}", p.label()))
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            w(format!(
                "| `{}` | {} | {} | {} | {} | {} | {} |\n",
                c.name,
                c.scenario.subject.species.name(),
                c.route(),
                or_na(calibrate::gmfe(&fit.after)),
                or_na(h.gmfe),
                values,
                h.note.replace('|', "\\|").replace('\n', " ")
            ));
        }
    }
    w(
        "\n## Files\n\n`estimates.csv`, `cases.csv`, `calibrated.toml` (the shipped calibration \
       with the estimates laid over it, in the format of src/presets/calibrated.toml), \
       `calibration_scatter.png`/`.svg` (rows with a value: observed against predicted before, \
       hollow, and after, filled)"
            .into(),
    );
    w(if held_out.is_some() {
        ", `heldout.csv`.\n".into()
    } else {
        ".\n".into()
    });
    out
}

fn csv_field(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| format!("{v:e}"))
}

/// `estimates.csv`: one row per free value.
fn estimates_csv(f: &Calibrated) -> String {
    let mut out = String::from(
        "parameter,species,unit,prior_on,prior_low,prior_high,prior_median,preset,start,\
         estimate,standard_error,ci95_low,ci95_high\n",
    );
    for (i, p) in f.free.iter().enumerate() {
        writeln!(
            out,
            "{},{},{},{},{:e},{:e},{:e},{:e},{:e},{:e},{:e},{:e},{:e}",
            p.param.name(),
            p.species.map_or("", |s| s.name()),
            p.param.unit(),
            if p.prior.on_hazard { "hazard" } else { "value" },
            p.prior.low,
            p.prior.high,
            p.prior.median(),
            p.preset.value,
            p.start,
            f.values[i],
            f.standard_errors[i],
            f.intervals[i].0,
            f.intervals[i].1
        )
        .expect("writing to a String cannot fail");
    }
    out
}

/// `cases.csv`: one row per case, before and after.
fn cases_csv(f: &Calibrated, cases: &[Case]) -> String {
    let mut out = String::from(
        "case,species,route,informative_rows,weight,gmfe_before,gmfe_after,value_gmfe_before,\
         value_gmfe_after,range_folds_before,range_folds_after\n",
    );
    for (c, fit) in cases.iter().zip(&f.cases) {
        writeln!(
            out,
            "{},{},{},{},{:e},{},{},{},{},{},{}",
            c.name,
            c.scenario.subject.species.name(),
            c.route(),
            fit.rows,
            fit.weight,
            csv_field(calibrate::gmfe(&fit.before)),
            csv_field(calibrate::gmfe(&fit.after)),
            csv_field(value_gmfe(&fit.before)),
            csv_field(value_gmfe(&fit.after)),
            folds_text(&range_folds(&fit.before), ";"),
            folds_text(&range_folds(&fit.after), ";")
        )
        .expect("writing to a String cannot fail");
    }
    out
}

/// `heldout.csv`: one row per case, predicted with and without it.
fn heldout_csv(f: &Calibrated, cases: &[Case], held: &[HeldOut]) -> String {
    let mut out = String::from("case,species,route,fitted_gmfe,held_out_gmfe");
    for p in &f.free {
        out.push_str(&format!(",{}", p.label()));
    }
    out.push_str(",note\n");
    for ((c, fit), h) in cases.iter().zip(&f.cases).zip(held) {
        write!(
            out,
            "{},{},{},{},{}",
            c.name,
            c.scenario.subject.species.name(),
            c.route(),
            csv_field(calibrate::gmfe(&fit.after)),
            csv_field(h.gmfe)
        )
        .expect("writing to a String cannot fail");
        for i in 0..f.free.len() {
            let v = h.values.as_ref().map(|v| v[i]);
            out.push_str(&format!(",{}", csv_field(v)));
        }
        writeln!(
            out,
            ",\"{}\"",
            h.note.replace('"', "\"\"").replace('\n', " ")
        )
        .expect("writing to a String cannot fail");
    }
    out
}

/// `calibration_scatter.png`/`.svg`: each case's rows with a value, observed against
/// predicted before (hollow) and after (filled); none when no case has such a row.
fn figures(f: &Calibrated) -> anyhow::Result<Vec<(&'static str, Vec<u8>)>> {
    let groups: Vec<ScatterGroup> = f
        .cases
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let mut g = ScatterGroup {
                label: c.name.clone(),
                colour: i,
                observed: Vec::new(),
                before: Vec::new(),
                after: Vec::new(),
            };
            for (b, a) in c.before.rows.iter().zip(&c.after.rows) {
                if let Some(v) = a.observation.value.filter(|_| a.informative()) {
                    g.observed.push(v);
                    g.before.push(b.predicted);
                    g.after.push(a.predicted);
                }
            }
            (!g.observed.is_empty()).then_some(g)
        })
        .collect();
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let has = |unit: Unit| {
        f.cases.iter().any(|c| {
            c.after
                .rows
                .iter()
                .any(|r| r.informative() && r.observation.unit == unit)
        })
    };
    let unit = match (has(Unit::PercentInjected), has(Unit::PercentOfFirst)) {
        (true, true) => "% of injected dose or of first value",
        (false, true) => "% of first value",
        _ => "% of injected dose",
    };
    let (x_label, y_label) = (format!("Observed ({unit})"), format!("Predicted ({unit})"));
    let scatter = ObservedVsPredicted {
        title: "Calibration: observed vs predicted, rows with a value",
        x_label: &x_label,
        y_label: &y_label,
        before_label: "Shipped presets",
        after_label: "Calibrated",
        groups: &groups,
    };
    let drawn = plot::observed_vs_predicted(&scatter).context("cannot draw calibration_scatter")?;
    Ok(vec![
        ("calibration_scatter.png", drawn.png),
        ("calibration_scatter.svg", drawn.svg.into_bytes()),
    ])
}
