#!/usr/bin/env bash
# Parquet read-back (tests/parquet/readback.py): a sweep and a population written with
# --format parquet, read with pyarrow and pandas, must hold the CSV runs' rows (count,
# columns, types and values).
# Installs pinned packages from the package index into target/parquet-venv on first use; if
# that fails it says so and exits non-zero (never a silent pass).
set -euo pipefail
cd "$(dirname "$0")/../.."

source tests/pinned-venv.sh
venv=target/parquet-venv
pinned_venv parquet "Parquet read-back" pyarrow==21.0.0 pandas==2.3.3
# `--prepare`: only install (.ci/run starts it early, to overlap the download with the build).
[ "${1:-}" = --prepare ] && exit 0

cargo build --release --locked --quiet
out=target/parquet-readback
rm -rf "$out"
sweep=scenarios/sweeps/human_dose_interval_route.toml
target/release/cellpk sweep "$sweep" --out "$out" >/dev/null
target/release/cellpk sweep "$sweep" --out "$out" --format parquet >/dev/null
"$venv/bin/python" tests/parquet/readback.py "$out/human_dose_interval_route/sweep.csv" \
    "$out/human_dose_interval_route/sweep.parquet"
scenario=scenarios/human_decompensated_uncertain_peripheral.toml
population=human_decompensated_uncertain_peripheral-population
target/release/cellpk population "$scenario" --n 20000 --out "$out/csv" >/dev/null
target/release/cellpk population "$scenario" --n 20000 --out "$out/parquet" --format parquet >/dev/null
"$venv/bin/python" tests/parquet/readback.py "$out/csv/$population/population.csv" \
    "$out/parquet/$population/population.parquet"
