//! Engine benchmarks on a shipped scenario: 180 days, 6 one-hour infusions, hourly output.
//!
//! IDs: `engine/exact/180d_6doses/timecourse` (full run: time course, metrics, per-dose
//! metrics) and `engine/exact/180d_6doses/metrics_only` (metrics of the schedule, no time
//! course); and `population/180d_6doses/metrics_1000_subjects` (throughput in subjects per
//! second): 1000 virtual subjects of the same scenario with log-normal lung and liver
//! arrest, cardiac output and splenic flow, metrics only, on one thread (each subject a
//! new model: its own eigendecomposition). Run with `cargo bench --bench engine`.

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use std::path::Path;

use cellpk::scenario;
use cellpk::simulation;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// What varies between the benchmark's subjects.
const VARIABILITY: &str = r#"
[variability]
seed = 1
[variability.parameters."lung.extraction"]
distribution = "log_normal"
range_95 = [0.2, 0.9]
[variability.parameters."liver.extraction"]
distribution = "log_normal"
cv = 0.3
[variability.parameters."circulation.cardiac_output_l_per_h"]
distribution = "log_normal"
cv = 0.2
[variability.parameters."flow.spleen_fraction"]
distribution = "log_normal"
cv = 0.3
"#;

fn engine(c: &mut Criterion) {
    let s = scenario::load(Path::new("scenarios/human_six_monthly_infusions.toml"))
        .expect("the shipped benchmark scenario is valid");
    assert_eq!(s.schedule().len(), 6);
    let mut group = c.benchmark_group("engine/exact/180d_6doses");
    group.bench_function("timecourse", |b| b.iter(|| simulation::run(&s)));
    group.bench_function("metrics_only", |b| b.iter(|| simulation::metrics_only(&s)));
    group.finish();

    let file = Path::new("scenarios/human_six_monthly_infusions.toml");
    let text = std::fs::read_to_string(file).expect("the shipped benchmark scenario") + VARIABILITY;
    let s = scenario::parse(&text, file).expect("valid with [variability]");
    let variability = s.variability.clone().expect("[variability]");
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a thread");
    let hidden = indicatif::ProgressBar::hidden();
    let n = 1000;
    let mut group = c.benchmark_group("population/180d_6doses");
    group.throughput(Throughput::Elements(n as u64));
    group.sample_size(10);
    group.bench_function("metrics_1000_subjects", |b| {
        b.iter(|| one.install(|| cellpk::population::metrics(&s, &variability, n, &hidden)))
    });
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
