//! `timecourse.csv` and `metrics.csv`.
//!
//! Cell counts are written in shortest round-trip exponent form (`7e7`,
//! `1.2345678901234567e5`), so the files hold exactly the computed values.

use std::fmt::Write;

use crate::compartment::{Compartment, Total};
use crate::metrics::{Metric, Metrics};
use crate::presets::Choice;
use crate::simulation::Outcome;

/// `time_h,time_days,<states>,blood,liver,given`: one row per output time.
pub fn timecourse(outcome: &Outcome) -> String {
    let tc = &outcome.timecourse;
    let mut out = String::from("time_h,time_days");
    for c in Compartment::ALL {
        out.push(',');
        out.push_str(c.name());
    }
    for t in Total::ALL {
        out.push(',');
        out.push_str(t.name());
    }
    out.push_str(",given\n");
    for ((t, x), given) in tc.time_h.iter().zip(&tc.states).zip(&tc.given) {
        write!(out, "{t},{}", t / 24.0).expect("writing to a String cannot fail");
        for v in x.iter() {
            write!(out, ",{v:e}").expect("writing to a String cannot fail");
        }
        for total in Total::ALL {
            write!(out, ",{:e}", total.of(x)).expect("writing to a String cannot fail");
        }
        writeln!(out, ",{given:e}").expect("writing to a String cannot fail");
    }
    out
}

/// Tidy metrics, `scope,route,start_day,metric,value,unit`: the whole schedule
/// (`scope = all`) and each administration alone (`scope = dose_<n>` in time order).
pub fn metrics(outcome: &Outcome) -> String {
    let mut out = String::from("scope,route,start_day,metric,value,unit\n");
    let mut rows = |scope: &str, route: &str, day: &str, m: &Metrics, per_dose: bool| {
        for metric in Metric::ALL.iter().filter(|k| !per_dose || k.per_dose()) {
            writeln!(
                out,
                "{scope},{route},{day},{},{:e},{}",
                metric.name(),
                metric.value(m),
                metric.unit()
            )
            .expect("writing to a String cannot fail");
        }
    };
    rows("all", "", "", &outcome.metrics, false);
    for (i, (dose, m)) in outcome.schedule.iter().zip(&outcome.per_dose).enumerate() {
        let day = format!("{}", dose.start_h / 24.0);
        rows(&format!("dose_{}", i + 1), dose.route.name(), &day, m, true);
    }
    out
}
