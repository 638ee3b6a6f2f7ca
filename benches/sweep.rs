//! Sweep throughput of `evaluator::Evaluator`, one thread, on the reference sweep
//! `scenarios/sweeps/human_dose_interval_route.toml` (human, decompensated cirrhosis,
//! 180 days, cells_per_kg logspace(1e5, 1e7, 21) x interval_days {7, 14, 28, 56, 84} x
//! count 1..6 x five routes = 3150 points), its scenarios built by the sweep itself.
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
//! - `sweep/writer/parquet/1M_rows/encode_and_stitch`: the Parquet writer alone, one
//!   thread: the million rows of `scenarios/sweeps/human_million.toml` (5 axes, one of
//!   them names; 2 metrics, one value in 64 missing), already computed, encoded into its
//!   62 row groups and copied into one file in memory, as a run does (where the workers
//!   encode the groups in parallel and the writer only stitches);
//! - `sweep/writer/parquet/1M_rows/stitch`: the stitching alone, the serial part.
//!
//! Run with `cargo bench --bench sweep` (`-- writer` for the writer alone).

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use std::path::Path;

use cellpk::evaluator::Evaluator;
use cellpk::scenario::Scenario;
use cellpk::simulation;
use criterion::{criterion_group, criterion_main, BatchSize, Bencher, Criterion, Throughput};

/// The 3150 points of the shipped sweep, the dose level varying fastest, with the liver
/// threshold `threshold` (cells; `None` for the default share of the largest dose).
fn grid(threshold: Option<f64>) -> Vec<Scenario> {
    let sweep = cellpk::sweep::load(Path::new("scenarios/sweeps/human_dose_interval_route.toml"))
        .expect("the shipped sweep is valid");
    (0..sweep.len())
        .map(|i| {
            let mut s = sweep.scenario(i).expect("every point is valid");
            s.liver_threshold_cells = threshold;
            s
        })
        .collect()
}

/// Each pass through a new evaluator, as a sweep meets the points.
fn cold(b: &mut Bencher, points: &[Scenario]) {
    b.iter_batched(
        Evaluator::new,
        |mut evaluator| {
            for s in points {
                criterion::black_box(evaluator.metrics(s).expect("simulates"));
            }
        },
        BatchSize::SmallInput,
    );
}

fn sweep(c: &mut Criterion) {
    let points = grid(None);
    let fixed = grid(Some(1e5));
    assert_eq!(points.len(), 3150);
    let mut group = c.benchmark_group("sweep/evaluator/3150_points");
    group.throughput(Throughput::Elements(points.len() as u64));
    group.bench_function("cold", |b| cold(b, &points));
    let mut warm = Evaluator::new();
    group.bench_function("warm", |b| {
        b.iter(|| {
            for s in &points {
                criterion::black_box(warm.metrics(s).expect("simulates"));
            }
        })
    });
    group.bench_function("walk_each", |b| cold(b, &fixed));
    group.finish();

    let sample: Vec<&Scenario> = points.iter().step_by(21).collect();
    let mut group = c.benchmark_group("sweep/metrics_only");
    group.throughput(Throughput::Elements(sample.len() as u64));
    group.sample_size(10);
    group.bench_function("150_points", |b| {
        b.iter(|| {
            for s in &sample {
                criterion::black_box(simulation::metrics_only(s).expect("simulates"));
            }
        })
    });
    group.finish();
}

/// The Parquet writer alone on the million-point sweep's rows (metric values made up: the
/// metric columns are stored plain, so their values do not change the cost).
fn writer(c: &mut Criterion) {
    use cellpk::sweep::parquet::{self, Columns, Layout};
    let sweep = cellpk::sweep::load(Path::new("scenarios/sweeps/human_million.toml"))
        .expect("the shipped sweep is valid");
    let rows = sweep.len();
    let value = |i: u64, scale: f64| match i % 64 {
        0 => f64::NAN,
        _ => scale * (1.0 + (i as f64).sqrt()),
    };
    let groups: Vec<Columns> = parquet::groups(0..rows)
        .map(|g| Columns {
            points: g.clone().collect(),
            metrics: vec![
                g.clone().map(|i| value(i, 1.7e6)).collect(),
                g.map(|i| value(i, 3.1e4)).collect(),
            ],
            errors: Vec::new(),
        })
        .collect();
    let layout = Layout::of(&sweep);
    let encoded: Vec<bytes::Bytes> = (groups.iter())
        .map(|g| layout.encode(&sweep, g).expect("encodes").into())
        .collect();
    let size: usize = encoded.iter().map(|b| b.len()).sum();
    let mut group = c.benchmark_group("sweep/writer/parquet/1M_rows");
    group.throughput(Throughput::Elements(rows));
    group.sample_size(10);
    group.bench_function("encode_and_stitch", |b| {
        b.iter(|| {
            let mut file = layout
                .writer(Vec::with_capacity(size + 4096))
                .expect("writer");
            for g in &groups {
                let bytes = layout.encode(&sweep, g).expect("encodes");
                parquet::stitch(&mut file, &bytes::Bytes::from(bytes)).expect("stitches");
            }
            criterion::black_box(file.into_inner().expect("footer"))
        })
    });
    group.bench_function("stitch", |b| {
        b.iter(|| {
            let mut file = layout
                .writer(Vec::with_capacity(size + 4096))
                .expect("writer");
            for bytes in &encoded {
                parquet::stitch(&mut file, bytes).expect("stitches");
            }
            criterion::black_box(file.into_inner().expect("footer"))
        })
    });
    group.finish();
}

criterion_group!(benches, sweep, writer);
criterion_main!(benches);
