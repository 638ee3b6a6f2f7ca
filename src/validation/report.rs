//! A validation case's verdict and what `cellpk validate` writes about it: the Markdown
//! report, the tidy comparison table and the panels of its model-versus-data figure.
//!
//! The verdict is kept apart from the command so that what "passes" means is stated in
//! one place: the geometric mean fold error of the informative rows (with a value, not a
//! series' reference) within the case's tolerance, and every range row's prediction within
//! its range. A case with no informative row is judged on its ranges alone.
//!
//! A case may declare a known disagreement (`[validation] known_disagreement`, with the
//! reason): the model is known to miss those data, the report shows by how much, and the
//! case passes while it still disagrees, like an expected failure. Should it come to
//! agree, it fails, so that the declaration is removed rather than left stale.

use std::fmt::Write;

use crate::observe;
use crate::plot::{DataPanel, DataPoint, OrganTrack};
use crate::presets::Choice;
use crate::scenario::{Method, Scenario};
use crate::simulation::Failure;

use super::compare::{self, relative, Compared, Comparison, FLOOR_PERCENT};
use super::data::{first_time, Observation, Unit};

/// Points on each model curve of a figure: smooth at print size.
pub const CURVE_POINTS: usize = 200;
/// The curves run this far past the last observation (as a fraction of its time), so the
/// last marker does not sit at the end of the line.
const CURVE_OVERHANG: f64 = 0.1;

/// One scenario held against its study's rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// The case's name: its file's stem (names its figure files).
    pub name: String,
    /// The study whose rows were compared.
    pub study: String,
    /// What the study measured.
    pub method: Method,
    /// Largest geometric mean fold error accepted.
    pub max_fold_error: f64,
    /// The rows with their predictions.
    pub comparison: Comparison,
    /// Why the model is known to miss these data, if it is.
    pub known_disagreement: Option<String>,
}

impl Case {
    /// Geometric mean fold error of the informative rows, if there are any.
    pub fn gmfe(&self) -> Option<f64> {
        self.comparison.geometric_mean_fold_error()
    }

    /// Range rows whose prediction lies in the range, and range rows.
    pub fn ranges(&self) -> (usize, usize) {
        let total = self
            .comparison
            .rows
            .iter()
            .filter(|r| r.in_range.is_some())
            .count();
        (total - self.comparison.out_of_range().count(), total)
    }

    /// Whether the model agrees with the data: GMFE within tolerance, every range met.
    pub fn agrees(&self) -> bool {
        let (passed, total) = self.ranges();
        self.gmfe().is_none_or(|g| g <= self.max_fold_error) && passed == total
    }

    /// Whether the case passes: it agrees, or it disagrees as declared (module
    /// documentation).
    pub fn passes(&self) -> bool {
        self.agrees() != self.known_disagreement.is_some()
    }

    /// The verdict, as printed.
    fn verdict(&self) -> &'static str {
        match (self.agrees(), self.known_disagreement.is_some()) {
            (true, false) => "PASS",
            (false, false) => "FAIL",
            (false, true) => "KNOWN DISAGREEMENT",
            (true, true) => "FAIL (agrees now: remove `known_disagreement`)",
        }
    }

    /// One line for the terminal: verdict, GMFE against tolerance, ranges.
    pub fn summary(&self) -> String {
        let (passed, total) = self.ranges();
        let fold = match self.gmfe() {
            Some(g) => format!(
                "GMFE {g:.3} {} {}",
                if g <= self.max_fold_error { "<=" } else { ">" },
                self.max_fold_error
            ),
            None => "no fold-error row".into(),
        };
        format!(
            "{}  {}: {fold}; ranges {passed}/{total} passed",
            self.verdict(),
            self.name
        )
    }
}

/// The Markdown report: one summary table over the cases, then each case's rows and its
/// citations.
pub fn report_md(cases: &[Case]) -> String {
    let mut md = String::from(
        "# Validation\n\n\
         GMFE: geometric mean of max(predicted/observed, observed/predicted) over the rows \
         with a value that are not a series' reference (100 % by definition); a case passes \
         when it is at most the tolerance and every range row's prediction lies in its \
         range.\n\n\
         | case | study | method | rows | GMFE | tolerance | ranges passed | result |\n\
         |---|---|---|---:|---:|---:|---:|---|\n",
    );
    for case in cases {
        let (passed, total) = case.ranges();
        line(
            &mut md,
            format_args!(
                "| {} | {} | {} | {} | {} | {} | {passed}/{total} | {} |",
                case.name,
                case.study,
                case.method,
                case.comparison.rows.len(),
                case.gmfe().map_or("-".into(), |g| format!("{g:.3}")),
                case.max_fold_error,
                case.verdict(),
            ),
        );
    }
    for case in cases {
        line(&mut md, format_args!("\n## {}\n", case.name));
        line(
            &mut md,
            format_args!(
                "Study `{}`, {}; figure `{}.png` / `{}.svg`.\n",
                case.study, case.method, case.name, case.name
            ),
        );
        if let Some(reason) = &case.known_disagreement {
            line(&mut md, format_args!("Known disagreement: {reason}\n"));
        }
        md.push_str(
            "| organ | time_h | unit | observed | predicted | fold error | in range |\n\
             |---|---:|---|---|---:|---:|---|\n",
        );
        for r in &case.comparison.rows {
            let o = &r.observation;
            line(
                &mut md,
                format_args!(
                    "| {} | {} | {} | {} | {} | {} | {} |",
                    o.organ,
                    o.time_h,
                    o.unit,
                    observed(r),
                    significant(r.predicted),
                    r.fold_error.map_or("-".into(), |f| format!("{f:.3}")),
                    r.in_range.map_or("-", |ok| if ok { "yes" } else { "NO" }),
                ),
            );
        }
        md.push_str("\nSources:\n\n");
        let mut cited: Vec<&str> = Vec::new();
        for r in &case.comparison.rows {
            let c = r.observation.citation.as_str();
            if !c.is_empty() && !cited.contains(&c) {
                cited.push(c);
                line(&mut md, format_args!("- {c}"));
            }
        }
    }
    md
}

fn line(md: &mut String, args: std::fmt::Arguments) {
    writeln!(md, "{args}").expect("writing to a String cannot fail");
}

/// What a row observed, as the report shows it.
fn observed(r: &Compared) -> String {
    let o = &r.observation;
    let mut parts = Vec::new();
    if let Some(v) = o.value {
        let mut text = significant(v);
        if let Some(sd) = o.sd {
            text.push_str(&format!(" ± {}", significant(sd)));
        }
        if r.reference {
            text.push_str(" (reference)");
        }
        parts.push(text);
    }
    if let Some((low, high)) = o.range {
        parts.push(format!("[{}, {}]", significant(low), significant(high)));
    }
    parts.join(" ")
}

/// Four significant digits, without trailing zeros: enough to read a fold error.
fn significant(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let decimals = (3 - v.abs().log10().floor() as i32).max(0) as usize;
    let text = format!("{v:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// The tidy table of every case's rows, one line per row.
pub fn comparison_csv(cases: &[Case]) -> String {
    let mut out = csv::Writer::from_writer(Vec::new());
    let header = [
        "case",
        "study",
        "organ",
        "time_h",
        "unit",
        "method",
        "observed",
        "sd",
        "low",
        "high",
        "predicted",
        "fold_error",
        "in_range",
    ];
    let number = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    let mut records = vec![header.map(String::from).to_vec()];
    for case in cases {
        for r in &case.comparison.rows {
            let o = &r.observation;
            records.push(vec![
                case.name.clone(),
                case.study.clone(),
                o.organ.name().into(),
                o.time_h.to_string(),
                o.unit.name().into(),
                o.method.name().into(),
                number(o.value),
                number(o.sd),
                number(o.range.map(|r| r.0)),
                number(o.range.map(|r| r.1)),
                r.predicted.to_string(),
                number(r.fold_error),
                r.in_range.map_or(String::new(), |b| b.to_string()),
            ]);
        }
    }
    for record in records {
        out.write_record(&record)
            .expect("writing to memory cannot fail");
    }
    String::from_utf8(out.into_inner().expect("writing to memory cannot fail"))
        .expect("the fields are UTF-8")
}

/// X-axis title of the model-versus-data figures: the rows' times count from the first
/// administration.
pub const TIME_LABEL: &str = "Time after the first administration (h)";

/// The panels of a model-versus-data figure of `comparison` (a case's, or a fit's rows
/// after the fit), observed by `method`: one per unit the rows use, one track per organ
/// with rows, each with the model on `CURVE_POINTS` times from 0 to a little past the last
/// observation, in the rows' unit (`percent_of_first` curves divided by the prediction at
/// the series' reference time, as the rows are).
pub fn panels(
    scenario: &Scenario,
    method: Method,
    comparison: &Comparison,
) -> Result<Vec<DataPanel>, Failure> {
    let all: Vec<&Observation> = comparison.rows.iter().map(|r| &r.observation).collect();
    let start = compare::first_start(scenario);
    let last = all.iter().map(|o| o.time_h).fold(0.0, f64::max);
    let end = if last > 0.0 {
        last * (1.0 + CURVE_OVERHANG)
    } else {
        1.0
    }
    .min(scenario.duration_h() - start);
    let grid: Vec<f64> = (0..CURVE_POINTS)
        .map(|i| end * i as f64 / (CURVE_POINTS - 1) as f64)
        .collect();
    // One walk for the curves and every series' reference time.
    let mut times: Vec<f64> = grid
        .iter()
        .copied()
        .chain(all.iter().map(|o| first_time(o, &all)))
        // A series of areas alone has no time points (`first_time` is infinite).
        .filter(|t| t.is_finite())
        .map(|t| t + start)
        .collect();
    times.sort_by(f64::total_cmp);
    times.dedup();
    let signals = observe::predict(scenario, &times)?;
    let at = |organ: observe::Organ, t: f64| {
        let i = times
            .iter()
            .position(|&s| s == t + start)
            .expect("predicted at every curve and reference time");
        signals.percent[i][organ.position()]
    };
    // The control group on the curves' grid, when rows are multiples of its areas.
    let control = match compare::control(scenario) {
        Some(control) if all.iter().any(|o| o.unit == Unit::FoldAucOfControl) => {
            let start = compare::first_start(control);
            let times: Vec<f64> = grid.iter().map(|t| t + start).collect();
            Some(observe::predict(control, &times)?)
        }
        _ => None,
    };
    let mut panels = Vec::new();
    for unit in Unit::ALL {
        let mut tracks = Vec::new();
        for organ in observe::Organ::ALL {
            let rows: Vec<&Compared> = comparison
                .rows
                .iter()
                .filter(|r| r.observation.unit == *unit && r.observation.organ == *organ)
                .collect();
            let Some(first) = rows.first() else {
                continue;
            };
            let raw = grid.iter().map(|&t| at(*organ, t));
            let values = match unit {
                Unit::PercentInjected => raw.collect(),
                Unit::PercentOfFirst => {
                    let reference = at(*organ, first_time(&first.observation, &all));
                    raw.map(|v| relative(v, reference)).collect()
                }
                Unit::FoldAucOfControl => {
                    let control = control.as_ref().expect("checked: the case has a control");
                    let p = organ.position();
                    fold_curve(&grid, &raw.collect::<Vec<_>>(), |k| control.percent[k][p])
                }
            };
            tracks.push(OrganTrack {
                label: organ.name().into(),
                colour: organ.position(),
                curve_h: grid.clone(),
                curve: values,
                points: rows
                    .iter()
                    .map(|r| DataPoint {
                        time_h: r.observation.time_h,
                        value: r.observation.value,
                        sd: r.observation.sd,
                        range: r.observation.range,
                        reference: r.reference,
                    })
                    .collect(),
            });
        }
        if !tracks.is_empty() {
            panels.push(DataPanel {
                y_label: y_label(method, *unit),
                tracks,
            });
        }
    }
    Ok(panels)
}

/// The case's area under `case` (values on `grid`) over the control's (`control(k)` at
/// `grid[k]`) from 0 to each time of the grid, by the trapezoid rule, as rows in
/// `fold_auc_of_control` are (on a coarser grid than `compare::AUC_POINTS`, for the
/// figure only); at 0, where both areas are nil, the value of the first step.
fn fold_curve(grid: &[f64], case: &[f64], control: impl Fn(usize) -> f64) -> Vec<f64> {
    let (mut a, mut b) = (0.0, 0.0);
    let mut curve = vec![0.0; grid.len()];
    for k in 1..grid.len() {
        let h = 0.5 * (grid[k] - grid[k - 1]);
        a += h * (case[k - 1] + case[k]);
        b += h * (control(k - 1) + control(k));
        curve[k] = a.max(FLOOR_PERCENT) / b.max(FLOOR_PERCENT);
    }
    if grid.len() > 1 {
        curve[0] = curve[1];
    }
    curve
}

/// The y-axis title of a panel: what the method sees, and the unit.
fn y_label(method: Method, unit: Unit) -> String {
    let signal = match method {
        Method::Live => "Live cells",
        Method::Bioluminescence => "Bioluminescence",
        Method::Radiolabel => "Activity",
        Method::DnaPcr => "Donor DNA",
    };
    match unit {
        Unit::PercentInjected => format!("{signal} (% of injected)"),
        Unit::PercentOfFirst => format!("{signal} (% of first time)"),
        Unit::FoldAucOfControl => format!("{signal}, area from 0 (x control's)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significant_digits_read_as_written() {
        assert_eq!(significant(92.0), "92");
        assert_eq!(significant(0.012345), "0.01235");
        assert_eq!(significant(1234.6), "1235");
        assert_eq!(significant(0.0), "0");
    }
}
