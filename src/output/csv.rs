//! `timecourse.csv`, `metrics.csv` and `observed.csv`.
//!
//! Cell counts are written in shortest round-trip exponent form (`7e7`,
//! `1.2345678901234567e5`), so the files hold exactly the computed values.

use std::fmt::Write;

use crate::compartment::{Compartment, Total};
use crate::mechanisms::Slow;
use crate::metrics::{Metric, Metrics};
use crate::observe::{Organ, Signals};
use crate::presets::Choice;
use crate::scenario::Method;
use crate::simulation::Outcome;

/// `time_h,time_days,<states>,blood,liver,given`, then the mechanisms' states
/// (`injury,antigen,sensitization,marker`) when the general integrator ran: one row per
/// output time.
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
    out.push_str(",given");
    let slow = !tc.slow.is_empty();
    if slow {
        for name in Slow::NAMES {
            out.push(',');
            out.push_str(name);
        }
    }
    out.push('\n');
    for (i, ((t, x), given)) in tc.time_h.iter().zip(&tc.states).zip(&tc.given).enumerate() {
        write!(out, "{t},{}", t / 24.0).expect("writing to a String cannot fail");
        for v in x.iter() {
            write!(out, ",{v:e}").expect("writing to a String cannot fail");
        }
        for total in Total::ALL {
            write!(out, ",{:e}", total.of(x)).expect("writing to a String cannot fail");
        }
        write!(out, ",{given:e}").expect("writing to a String cannot fail");
        if slow {
            for v in tc.slow[i].values() {
                write!(out, ",{v:e}").expect("writing to a String cannot fail");
            }
        }
        out.push('\n');
    }
    out
}

/// Tidy metrics, `scope,route,start_day,metric,value,unit`: the whole schedule
/// (`scope = all`) and each administration alone (`scope = dose_<n>` in time order; none
/// when mechanisms are on). Effect metrics only when the effect layer is on; a value that
/// does not exist (the marker not back at baseline by the end) is left empty.
pub fn metrics(outcome: &Outcome) -> String {
    let mut out = String::from("scope,route,start_day,metric,value,unit\n");
    let mut rows = |scope: &str, route: &str, day: &str, m: &Metrics, per_dose: bool| {
        let shown =
            |k: &&Metric| (!per_dose || k.per_dose()) && (!k.needs_effect() || m.effect.is_some());
        for metric in Metric::ALL.iter().filter(shown) {
            let value = metric.value(m);
            let value = if value.is_nan() {
                String::new()
            } else {
                format!("{value:e}")
            };
            writeln!(
                out,
                "{scope},{route},{day},{},{value},{}",
                metric.name(),
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

/// `observed.csv`: `time_h,time_days,method,<organ>...` with each organ's percent of the
/// injected dose (or activity), one row per output time.
pub fn observed(method: Method, signals: &Signals) -> String {
    let mut out = String::from("time_h,time_days,method");
    for organ in Organ::ALL {
        write!(out, ",{}_percent", organ.name()).expect("writing to a String cannot fail");
    }
    out.push('\n');
    for (t, percent) in signals.time_h.iter().zip(&signals.percent) {
        write!(out, "{t},{},{method}", t / 24.0).expect("writing to a String cannot fail");
        for v in percent {
            write!(out, ",{v:e}").expect("writing to a String cannot fail");
        }
        out.push('\n');
    }
    out
}
