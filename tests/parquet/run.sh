#!/usr/bin/env bash
# Parquet read-back (tests/parquet/readback.py): a sweep written with --format parquet, read
# with pyarrow and pandas, must hold the CSV run's rows (count, columns, types and values).
# Installs pinned packages from the package index into target/parquet-venv on first use; if
# that fails it says so and exits non-zero (never a silent pass).
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=target/parquet-venv
pins=(pyarrow==21.0.0 pandas==2.3.3)
python=${PYTHON:-python3}

mkdir -p target
if [ ! -x "$venv/bin/python" ]; then
    if ! "$python" -m venv "$venv" >target/parquet-venv.log 2>&1; then
        echo "Parquet read-back NOT RUN: cannot create a virtual environment with $python ($(tail -n 1 target/parquet-venv.log))" >&2
        rm -rf "$venv"
        exit 3
    fi
fi
# Quick when the pins are already installed; upgrades the environment when they change.
if ! "$venv/bin/pip" install --quiet --disable-pip-version-check "${pins[@]}" >target/parquet-pip.log 2>&1; then
    echo "Parquet read-back NOT RUN: cannot install ${pins[*]} from the package index ($(tail -n 1 target/parquet-pip.log); full log: target/parquet-pip.log)" >&2
    exit 3
fi

cargo build --release --locked --quiet
out=target/parquet-readback
rm -rf "$out"
sweep=scenarios/sweeps/human_dose_interval_route.toml
target/release/cellpk sweep "$sweep" --out "$out" >/dev/null
target/release/cellpk sweep "$sweep" --out "$out" --format parquet >/dev/null
"$venv/bin/python" tests/parquet/readback.py "$out/human_dose_interval_route/sweep.csv" \
    "$out/human_dose_interval_route/sweep.parquet"
