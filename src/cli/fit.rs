//! `cellpk fit`: estimates named parameters of a scenario from an observations file and
//! writes the estimates, the fitted scenario, the predictions and two figures: the fitted
//! model against the data over time, and observed against predicted before and after.

use std::fmt::Write;
use std::path::PathBuf;

use anyhow::Context;

use super::emit;
use crate::fit::problem::{self, Fitted, DEFAULT_CV};
use crate::observe::Organ;
use crate::output::{self, resolved};
use crate::plot::{self, ModelVsData, ObservedVsPredicted, ScatterGroup};
use crate::presets::Choice;
use crate::scenario;
use crate::validation::compare::{self, Comparison};
use crate::validation::data::{self, Unit};
use crate::validation::report;

/// What `cellpk fit` was asked.
#[derive(Debug)]
pub struct Request {
    /// Scenario file.
    pub scenario: PathBuf,
    /// Observations file.
    pub data: PathBuf,
    /// `--free`, as written.
    pub free: String,
    /// Only the rows of this study (default: every row).
    pub study: Option<String>,
    /// Directory that receives the fit's directory.
    pub out: PathBuf,
}

/// Runs a fit and writes OUT/<name>-fit/.
pub fn fit(r: &Request) -> anyhow::Result<()> {
    let scenario = scenario::load(&r.scenario)?;
    let free = problem::parse_free(&r.free)?;
    let all = data::read(&r.data)?;
    let rows: Vec<&data::Observation> = match &r.study {
        Some(study) => data::study(&all, study, &r.data)?,
        None => all.iter().collect(),
    };
    compare::check_usable(&scenario, &rows, &r.data)?;
    let fitted = problem::fit(&scenario, &rows, &free, &r.data).map_err(|e| match e {
        problem::FitError::Input(e) => anyhow::Error::new(e),
        other => anyhow::Error::new(other).context(format!("cannot fit {}", r.scenario.display())),
    })?;
    let dir = r.out.join(format!("{}-fit", scenario.name));
    let origin = format!("{} fitted to {}", r.scenario.display(), r.data.display());
    let mut files = vec![
        ("fit.md", report(&fitted, &origin).into_bytes()),
        (
            "fitted.toml",
            resolved::resolved_toml(&fitted.scenario, &origin).into_bytes(),
        ),
        ("predictions.csv", predictions(&fitted).into_bytes()),
    ];
    files.extend(figures(&fitted, &scenario.name)?);
    output::write_dir_atomically(&dir, &files)
        .with_context(|| format!("cannot write the fit directory {}", dir.display()))?;
    emit(&format!("{}wrote {}/\n", summary(&fitted), dir.display()))
}

/// `fit_timecourse.png`/`.svg`, the fitted model against the rows over time (the figure
/// `cellpk validate` draws, from the comparison after the fit), and `fit_scatter.png`/
/// `.svg`, each row's observed value against its prediction at the start values (hollow)
/// and at the estimates (filled): together they show whether the fit is good over the
/// whole time course and which rows it moved.
fn figures(f: &Fitted, name: &str) -> anyhow::Result<Vec<(&'static str, Vec<u8>)>> {
    let method = f.scenario.observe.unwrap_or_default().method;
    let panels = report::panels(&f.scenario, method, &f.after)
        .context("cannot simulate the fitted scenario for the figures")?;
    let title = format!("{name}: fitted {method}, model vs data");
    let timecourse = ModelVsData {
        title: &title,
        x_label: report::TIME_LABEL,
        panels: &panels,
    };
    let groups = scatter_groups(f);
    let unit = unit_text(f);
    let (x_label, y_label) = (format!("Observed ({unit})"), format!("Predicted ({unit})"));
    let title = format!("{name}: fitted {method}, observed vs predicted");
    let scatter = ObservedVsPredicted {
        title: &title,
        x_label: &x_label,
        y_label: &y_label,
        before_label: "Predicted at the start values",
        after_label: "Predicted at the estimates",
        groups: &groups,
    };
    let timecourse = plot::model_vs_data(&timecourse).context("cannot draw fit_timecourse")?;
    let scatter = plot::observed_vs_predicted(&scatter).context("cannot draw fit_scatter")?;
    Ok(vec![
        ("fit_timecourse.png", timecourse.png),
        ("fit_timecourse.svg", timecourse.svg.into_bytes()),
        ("fit_scatter.png", scatter.png),
        ("fit_scatter.svg", scatter.svg.into_bytes()),
    ])
}

/// The fitted rows by organ, in `Organ::ALL` order and colours (as in the time course):
/// observed, predicted before and after.
fn scatter_groups(f: &Fitted) -> Vec<ScatterGroup> {
    Organ::ALL
        .iter()
        .filter_map(|&organ| {
            let mut group = ScatterGroup {
                label: organ.name().into(),
                colour: organ.position(),
                observed: Vec::new(),
                before: Vec::new(),
                after: Vec::new(),
            };
            for (b, a) in f.before.rows.iter().zip(&f.after.rows) {
                let o = &a.observation;
                if let Some(value) = o.value.filter(|_| o.organ == organ && a.informative()) {
                    group.observed.push(value);
                    group.before.push(b.predicted);
                    group.after.push(a.predicted);
                }
            }
            (!group.observed.is_empty()).then_some(group)
        })
        .collect()
}

/// The unit of the scatter's axes: the fitted rows may mix percent of the injected dose
/// and percent of a series' first value on one axis, and the title must say so.
fn unit_text(f: &Fitted) -> &'static str {
    let has = |unit: Unit| f.after.rows.iter().any(|r| r.observation.unit == unit);
    match (has(Unit::PercentInjected), has(Unit::PercentOfFirst)) {
        (true, true) => "% of injected dose or of first value",
        (false, true) => "% of first value",
        _ => "% of injected dose",
    }
}

/// The estimates in a few lines, for the terminal.
fn summary(f: &Fitted) -> String {
    let e = &f.estimate;
    let mut out = String::new();
    for (i, p) in f.free.iter().enumerate() {
        writeln!(
            out,
            "{}: {:.6e} +/- {:.2e} (start {:.6e}){}",
            p.param.name(),
            e.values[i],
            e.standard_errors[i],
            f.start[i],
            if e.at_bound[i] { ", at a bound" } else { "" }
        )
        .expect("writing to a String cannot fail");
    }
    writeln!(
        out,
        "{} rows, weighted SSR {:.4e}; geometric mean fold error {} before, {} after; {}",
        e.n,
        e.ssr,
        fold(&f.before),
        fold(&f.after),
        e.termination
    )
    .expect("writing to a String cannot fail");
    out
}

fn fold(c: &Comparison) -> String {
    c.geometric_mean_fold_error()
        .map_or_else(|| "n/a".into(), |g| format!("{g:.3}"))
}

/// `fit.md`: estimates, standard errors, correlations and goodness of fit.
fn report(f: &Fitted, origin: &str) -> String {
    let e = &f.estimate;
    let mut out = format!("# Fit of {origin}\n\n");
    let w = |out: &mut String, text: String| out.push_str(&text);
    w(
        &mut out,
        "| parameter | unit | start | estimate | standard error | relative SE | bounds |\n\
         |---|---|---|---|---|---|---|\n"
            .into(),
    );
    for (i, p) in f.free.iter().enumerate() {
        let rse = e.standard_errors[i] / e.values[i].abs();
        w(
            &mut out,
            format!(
                "| `{}` | {} | {:.6e} | {:.6e}{} | {:.3e} | {:.1} % | [{}, {}] |\n",
                p.param.name(),
                p.param.unit(),
                f.start[i],
                e.values[i],
                if e.at_bound[i] { " (at a bound)" } else { "" },
                e.standard_errors[i],
                100.0 * rse,
                p.lower,
                p.upper
            ),
        );
    }
    w(
        &mut out,
        "\n## Correlations of the estimates\n\n|   |".into(),
    );
    for p in &f.free {
        w(&mut out, format!(" `{}` |", p.param.name()));
    }
    w(
        &mut out,
        format!("\n|---|{}\n", "---|".repeat(f.free.len())),
    );
    for (i, p) in f.free.iter().enumerate() {
        w(&mut out, format!("| `{}` |", p.param.name()));
        for j in 0..f.free.len() {
            w(&mut out, format!(" {:.3} |", e.correlation[(i, j)]));
        }
        w(&mut out, "\n".into());
    }
    let n = e.n as f64;
    let p = e.p as f64;
    w(
        &mut out,
        format!(
            "\n## Goodness of fit\n\n\
             - rows fitted: {} (rows with a value; references of `percent_of_first` series \
             and range-only rows are not fitted)\n\
             - free parameters: {}\n\
             - weighted sum of squared residuals: {:.6e} (residual = (predicted - observed) / \
             SD; a row without SD is weighted with SD = {} x its value, an assumption)\n\
             - residual SD (sqrt(SSR / (n - p))): {:.4}\n\
             - AIC (n ln(SSR/n) + 2p): {:.3}\n\
             - geometric mean fold error: {} before, {} after\n\
             - optimizer: {}, {} model evaluations{}\n\n\
             Standard errors and correlations come from the Jacobian at the estimate \
             (s^2 (J^T J)^-1); they assume the model is right and the errors independent.\n",
            e.n,
            e.p,
            e.ssr,
            DEFAULT_CV,
            (e.ssr / (n - p)).sqrt(),
            n * (e.ssr / n).ln() + 2.0 * p,
            fold(&f.before),
            fold(&f.after),
            e.termination,
            e.evaluations,
            if e.converged { "" } else { " (NOT converged)" }
        ),
    );
    w(
        &mut out,
        "\n## Observed and predicted\n\n| line | organ | time_h | unit | observed | SD | \
         predicted before | predicted after | fitted |\n|---|---|---|---|---|---|---|---|---|\n"
            .into(),
    );
    for (b, a) in f.before.rows.iter().zip(&f.after.rows) {
        let o = &a.observation;
        w(
            &mut out,
            format!(
                "| {} | {} | {} | {} | {} | {} | {:.4} | {:.4} | {} |\n",
                o.line,
                o.organ.name(),
                o.time_h,
                o.unit.name(),
                o.value.map_or_else(String::new, |v| v.to_string()),
                o.sd.map_or_else(String::new, |v| v.to_string()),
                b.predicted,
                a.predicted,
                if a.informative() {
                    "yes"
                } else if a.reference {
                    "no (series reference)"
                } else {
                    "no (range)"
                }
            ),
        );
    }
    out
}

/// `predictions.csv`: each fitted row with its prediction before and after.
fn predictions(f: &Fitted) -> String {
    let mut out = String::from(
        "line,study,organ,time_h,unit,method,observed,sd,predicted_start,predicted_fit\n",
    );
    for (b, a) in f.before.rows.iter().zip(&f.after.rows) {
        let o = &a.observation;
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{:e},{:e}",
            o.line,
            csv_text(&o.study),
            o.organ.name(),
            o.time_h,
            o.unit.name(),
            o.method.name(),
            o.value.map_or_else(String::new, |v| v.to_string()),
            o.sd.map_or_else(String::new, |v| v.to_string()),
            b.predicted,
            a.predicted
        )
        .expect("writing to a String cannot fail");
    }
    out
}

/// A text field quoted for CSV when it holds a comma or a quote.
fn csv_text(s: &str) -> String {
    if s.contains([',', '"']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}
