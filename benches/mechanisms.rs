//! The general integrator with every mechanism on: 180 days, six doses 28 days apart.
//!
//! - human: `scenarios/human_six_monthly_infusions.toml` (six one-hour peripheral-vein
//!   infusions of 1e6 UC-MSC/kg, ACLF, allogeneic) with `[model]` niche, injury,
//!   sensitization and effect on;
//! - mouse: the same schedule in a 25 g mouse with acute liver failure (5e5 allogeneic
//!   BM-MSCs per tail-vein bolus), every mechanism on.
//!
//! IDs: `general/<species>_180d_6doses_all/metrics_only` (the metrics, as a sweep computes
//! them), `.../timecourse` (a full `run` with hourly output), and `.../dopri5` (ode_solvers'
//! explicit Dopri5 on the same system, event to event, rtol 1e-6; human only over the
//! first 2 days, as its stiffness-capped step makes the whole schedule take seconds: the
//! step counts printed before the benchmarks compare the two on the same span).
//!
//! Run with `cargo bench --bench mechanisms`.

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use std::path::Path;

use cellpk::dosing::Dose;
use cellpk::engine::general;
use cellpk::mechanisms::system::{Driven, Extended, Y};
use cellpk::mechanisms::Mechanisms;
use cellpk::scenario::{self, Scenario};
use cellpk::simulation;
use criterion::{criterion_group, criterion_main, Criterion};

fn human() -> Scenario {
    let mut s = scenario::load(Path::new("scenarios/human_six_monthly_infusions.toml"))
        .expect("the shipped benchmark scenario is valid");
    s.mechanisms = Mechanisms::ALL;
    s
}

fn mouse() -> Scenario {
    let text = r#"
name = "mouse_six_doses"
[subject]
species = "mouse"
disease = "acute_liver_failure"
[cells]
source = "bone_marrow"
donor = "allogeneic"
[[dose]]
route = "peripheral_vein"
cells = 5e5
count = 6
interval_days = 28
[model]
niche = true
injury = true
sensitization = true
effect = true
[simulation]
duration_days = 180
"#;
    scenario::parse(text, Path::new("mouse_six_doses.toml")).expect("valid")
}

/// ode_solvers' view of the extended system under one constant input.
struct Explicit<'a>(Driven<'a>);

impl ode_solvers::System<f64, Y> for Explicit<'_> {
    fn system(&self, _t: f64, y: &Y, dy: &mut Y) {
        *dy = self.0.rhs_at(y);
    }
}

/// Dopri5 from dose event to dose event over the first `span_h` hours: the steps accepted
/// and rejected, or where and why it gave up.
fn dopri5(s: &Scenario, span_h: f64) -> Result<(usize, usize), String> {
    let system = Extended::new(&s.parameters, None, s.mechanisms);
    let schedule: Vec<Dose> = s.schedule();
    let atol = 1e-9 * schedule.iter().map(|d| d.cells).fold(0.0, f64::max);
    let mut y = system.initial();
    let give = |y: &mut Y, t: f64| {
        for d in schedule.iter().filter(|d| d.is_bolus() && d.start_h == t) {
            system.give(y, d.route, d.cells);
        }
    };
    give(&mut y, 0.0);
    let (mut accepted, mut rejected, mut t) = (0, 0, 0.0);
    for te in general::events(&schedule, span_h) {
        let driven = general::driven(&system, &schedule, t, te);
        let mut solver = ode_solvers::Dopri5::new(Explicit(driven), t, te, te - t, y, 1e-6, atol);
        match solver.integrate() {
            Ok(stats) => {
                accepted += stats.accepted_steps as usize;
                rejected += stats.rejected_steps as usize;
            }
            Err(e) => {
                return Err(format!(
                    "gave up in the piece from {t} h ({accepted} steps before it): {e:?}"
                ))
            }
        }
        y = *solver.y_out().last().expect("an output at the end");
        give(&mut y, te);
        t = te;
    }
    Ok((accepted, rejected))
}

fn general(c: &mut Criterion) {
    for (name, s) in [("human", human()), ("mouse", mouse())] {
        assert!(s.uses_general() && s.schedule().len() == 6);
        let steps = simulation::run(&s)
            .expect("simulates")
            .steps
            .expect("general");
        let mut span = s.clone();
        span.duration_days = 2.0;
        let rodas_2d = simulation::run(&span)
            .expect("simulates")
            .steps
            .expect("general");
        let dopri = match dopri5(&s, 48.0) {
            Ok((accepted, rejected)) => format!("{accepted} steps ({rejected} rejected)"),
            Err(why) => why,
        };
        println!(
            "{name}: RODAS {} steps ({} rejected) over 180 days, {} ({}) over the first 2 \
             days; Dopri5 over the first 2 days: {dopri}",
            steps.accepted, steps.rejected, rodas_2d.accepted, rodas_2d.rejected
        );
        let mut group = c.benchmark_group(format!("general/{name}_180d_6doses_all"));
        group.bench_function("metrics_only", |b| {
            b.iter(|| simulation::metrics_only(&s).expect("simulates"))
        });
        group.bench_function("timecourse", |b| {
            b.iter(|| simulation::run(&s).expect("simulates"))
        });
        if dopri5(&s, 48.0).is_ok() {
            group.sample_size(10);
            group.bench_function("dopri5_first_2_days", |b| b.iter(|| dopri5(&s, 48.0)));
        }
        group.finish();
    }
}

criterion_group!(benches, general);
criterion_main!(benches);
