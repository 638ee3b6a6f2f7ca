#!/usr/bin/env bash
# SBML cross-check (tests/sbml/crosscheck.py): export every shipped scenario, check it
# with libSBML and simulate it from t = 0 in libRoadRunner and COPASI (basico), against
# `cellpk run`. Installs pinned packages from the package index into target/sbml-venv on
# first use; if that fails it says so and exits non-zero (never a silent pass).
set -euo pipefail
cd "$(dirname "$0")/../.."

source tests/pinned-venv.sh
venv=target/sbml-venv
pinned_venv sbml "SBML cross-check" libroadrunner==2.10.0 python-libsbml==5.21.2 copasi-basico==0.92 python-copasi==4.48.311
# `--prepare`: only install (.ci/run starts it early, to overlap the download with the build).
[ "${1:-}" = --prepare ] && exit 0

cargo build --release --locked --quiet
rm -rf target/sbml-crosscheck
"$venv/bin/python" tests/sbml/crosscheck.py --cellpk target/release/cellpk --work target/sbml-crosscheck
