//! Sweep throughput of `simulation::Evaluator`, one thread, on the reference sweep: the base
//! scenario of `scenarios/sweeps/human_dose_interval_route.toml` (human, decompensated
//! cirrhosis, 30-minute infusions) over 180 days, cells_per_kg logspace(1e5, 1e7, 21) x
//! interval_days {7, 14, 28, 56, 84} x count 1..6 x five routes = 3150 points, built by
//! editing the parsed base scenario.
//!
//! IDs (throughput in points per second; the time per point is the time divided by the
//! points):
//!
//! - `sweep/evaluator/3150_points/cold`: a new evaluator for each pass over the grid, as a
//!   sweep meets it (three eigendecompositions, one walk per schedule shape, the other
//!   dose levels from the result per unit dose);
//! - `sweep/evaluator/3150_points/warm`: one evaluator across passes (every shape walked);
//! - `sweep/evaluator/3150_points/walk_each`: an explicit liver threshold of 1e5 cells, so
//!   that no two dose levels share a result and every point is walked;
//! - `sweep/metrics_only/150_points`: the reference walk on every 21st point (one dose
//!   level of each of the 150 schedule shapes; its cost does not depend on the dose), for
//!   the speed-up.
//!
//! Run with `cargo bench --bench sweep`.

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use std::path::Path;

use cellpk::dosing::Amount;
use cellpk::presets::Route;
use cellpk::scenario::{self, Scenario};
use cellpk::simulation::{self, Evaluator};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

/// The 3150 points, the dose level varying fastest.
fn grid(threshold: Option<f64>) -> Vec<Scenario> {
    let mut base = scenario::load(Path::new(
        "scenarios/human_decompensated_peripheral_vein.toml",
    ))
    .expect("the shipped base scenario is valid");
    base.duration_days = 180.0;
    base.liver_threshold_cells = threshold;
    let mut points = Vec::with_capacity(3150);
    for route in [
        Route::PeripheralVein,
        Route::HepaticArtery,
        Route::PortalVein,
        Route::Intrasplenic,
        Route::Intrahepatic,
    ] {
        for count in 1..=6 {
            for interval_days in [7.0, 14.0, 28.0, 56.0, 84.0] {
                for level in 0..21 {
                    let mut s = base.clone();
                    let dose = &mut s.doses[0];
                    dose.route = route;
                    dose.count = count;
                    dose.interval_days = interval_days;
                    dose.amount = Amount::PerKg(1e5 * 10f64.powf(2.0 * f64::from(level) / 20.0));
                    points.push(s);
                }
            }
        }
    }
    points
}

fn sweep(c: &mut Criterion) {
    let points = grid(None);
    let fixed = grid(Some(1e5));
    assert_eq!(points.len(), 3150);
    let mut group = c.benchmark_group("sweep/evaluator/3150_points");
    group.throughput(Throughput::Elements(points.len() as u64));
    group.bench_function("cold", |b| {
        b.iter_batched(
            Evaluator::new,
            |mut evaluator| {
                for s in &points {
                    criterion::black_box(evaluator.metrics(s));
                }
            },
            BatchSize::SmallInput,
        )
    });
    let mut warm = Evaluator::new();
    group.bench_function("warm", |b| {
        b.iter(|| {
            for s in &points {
                criterion::black_box(warm.metrics(s));
            }
        })
    });
    group.bench_function("walk_each", |b| {
        b.iter_batched(
            Evaluator::new,
            |mut evaluator| {
                for s in &fixed {
                    criterion::black_box(evaluator.metrics(s));
                }
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();

    let sample: Vec<&Scenario> = points.iter().step_by(21).collect();
    let mut group = c.benchmark_group("sweep/metrics_only");
    group.throughput(Throughput::Elements(sample.len() as u64));
    group.sample_size(10);
    group.bench_function("150_points", |b| {
        b.iter(|| {
            for s in &sample {
                criterion::black_box(simulation::metrics_only(s));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, sweep);
criterion_main!(benches);
