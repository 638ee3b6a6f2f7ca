//! The general integrator with every mechanism on: 180 days, six doses 28 days apart.
//!
//! - human: `scenarios/human_six_monthly_infusions.toml` (six one-hour peripheral-vein
//!   infusions of 1e6 UC-MSC/kg, ACLF, allogeneic) with `[model]` niche, injury,
//!   sensitization and effect on;
//! - mouse: the same schedule in a 25 g mouse with acute liver failure (5e5 allogeneic
//!   BM-MSCs per tail-vein bolus), every mechanism on.
//!
//! IDs: `general/<species>_180d_6doses_all/metrics_only` (the metrics, as a sweep computes
//! them) and `.../timecourse` (a full `run` with hourly output). Before them it prints the
//! steps RODAS takes, and the steps and time of a full run with `[simulation] solver =
//! "dopri5"` (ode_solvers' explicit Dopri5) on the same scenario, timed once: its
//! stability-capped step makes it too slow for repeated samples.
//!
//! Run with `cargo bench --bench mechanisms`.

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use std::path::Path;
use std::time::Instant;

use cellpk::scenario::{self, Mechanisms, Scenario, Solver};
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

fn general(c: &mut Criterion) {
    for (name, s) in [("human", human()), ("mouse", mouse())] {
        assert!(s.uses_general() && s.schedule().len() == 6);
        let steps = simulation::run(&s)
            .expect("simulates")
            .steps
            .expect("general");
        let mut explicit = s.clone();
        explicit.solver = Solver::Dopri5;
        let start = Instant::now();
        let dopri5 = match simulation::run(&explicit) {
            Ok(outcome) => {
                let steps = outcome.steps.expect("general");
                format!(
                    "{} steps ({} rejected), {:.2} s",
                    steps.accepted,
                    steps.rejected,
                    start.elapsed().as_secs_f64()
                )
            }
            Err(why) => why.to_string(),
        };
        println!(
            "{name}: RODAS {} steps ({} rejected); Dopri5 on the same scenario: {dopri5}",
            steps.accepted, steps.rejected
        );
        let mut group = c.benchmark_group(format!("general/{name}_180d_6doses_all"));
        group.bench_function("metrics_only", |b| {
            b.iter(|| simulation::metrics_only(&s).expect("simulates"))
        });
        group.bench_function("timecourse", |b| {
            b.iter(|| simulation::run(&s).expect("simulates"))
        });
        group.finish();
    }
}

criterion_group!(benches, general);
criterion_main!(benches);
