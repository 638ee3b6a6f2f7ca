//! `population.csv`, `summary.csv` and `quantiles.csv`.
//!
//! Numbers are written in shortest round-trip exponent form, as `cellpk run` writes its
//! files, so they hold exactly the computed values; a value that does not exist (the
//! marker not back at baseline by the end) is left empty.

use std::fmt::Write;

use super::{sorted_quantiles, Population};

/// A value as written: shortest round-trip exponent form, empty for NaN.
fn value(v: f64) -> String {
    if v.is_nan() {
        String::new()
    } else {
        format!("{v:e}")
    }
}

/// `subject,<varied parameters>,<metrics>`: one row per subject, in subject order.
pub fn population(p: &Population) -> String {
    let mut out = String::from("subject");
    for param in &p.params {
        out.push(',');
        out.push_str(param.name());
    }
    let metrics: Vec<_> = p.reported().collect();
    for m in &metrics {
        out.push(',');
        out.push_str(m.name());
    }
    out.push('\n');
    let width = p.params.len();
    for (i, m) in p.metrics.iter().enumerate() {
        write!(out, "{i}").expect("writing to a String cannot fail");
        for v in &p.values[i * width..(i + 1) * width] {
            write!(out, ",{v:e}").expect("writing to a String cannot fail");
        }
        for metric in &metrics {
            write!(out, ",{}", value(metric.value(m))).expect("writing to a String cannot fail");
        }
        out.push('\n');
    }
    out
}

/// `name,kind,unit,subjects,mean,sd,p5,p25,p50,p75,p95`: each varied parameter
/// (`kind = parameter`) and each metric (`kind = metric`) across the subjects with a value.
pub fn summary(p: &Population) -> String {
    let mut out = String::from("name,kind,unit,subjects,mean,sd,p5,p25,p50,p75,p95\n");
    let mut row = |name: &str, kind: &str, unit: &str, mut values: Vec<f64>| {
        let q = sorted_quantiles(&mut values);
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        write!(
            out,
            "{name},{kind},{unit},{},{},{}",
            values.len(),
            value(mean),
            value(sd)
        )
        .expect("writing to a String cannot fail");
        for v in q {
            write!(out, ",{}", value(v)).expect("writing to a String cannot fail");
        }
        out.push('\n');
    };
    for (k, param) in p.params.iter().enumerate() {
        row(param.name(), "parameter", param.unit(), p.param(k));
    }
    for metric in p.reported() {
        row(metric.name(), "metric", metric.unit(), p.metric(metric));
    }
    out
}

/// `time_h,time_days,column,subjects,p5,p25,p50,p75,p95`: the quantiles of every
/// compartment and total at every output time, over the subjects the bands keep.
pub fn quantiles(p: &Population) -> String {
    let b = &p.bands;
    let mut out = String::from("time_h,time_days,column,subjects,p5,p25,p50,p75,p95\n");
    for (t, time) in b.time_h.iter().enumerate() {
        for (c, column) in b.columns.iter().enumerate() {
            write!(out, "{time},{},{column},{}", time / 24.0, b.subjects)
                .expect("writing to a String cannot fail");
            for v in b.quantiles[c * b.time_h.len() + t] {
                write!(out, ",{}", value(v)).expect("writing to a String cannot fail");
            }
            out.push('\n');
        }
    }
    out
}
