//! Engine benchmarks on a shipped scenario: 180 days, 6 one-hour infusions, hourly output.
//!
//! IDs: `engine/exact/180d_6doses/timecourse` (full run: time course, metrics, per-dose
//! metrics) and `engine/exact/180d_6doses/metrics_only` (metrics of the schedule, no time
//! course). Run with `cargo bench --bench engine`.

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use std::path::Path;

use cellpk::scenario;
use cellpk::simulation;
use criterion::{criterion_group, criterion_main, Criterion};

fn engine(c: &mut Criterion) {
    let s = scenario::load(Path::new("scenarios/human_six_monthly_infusions.toml"))
        .expect("the shipped benchmark scenario is valid");
    assert_eq!(s.schedule().len(), 6);
    let mut group = c.benchmark_group("engine/exact/180d_6doses");
    group.bench_function("timecourse", |b| b.iter(|| simulation::run(&s)));
    group.bench_function("metrics_only", |b| b.iter(|| simulation::metrics_only(&s)));
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
