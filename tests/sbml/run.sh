#!/usr/bin/env bash
# SBML cross-check (tests/sbml/crosscheck.py): export every shipped scenario, check it
# with libSBML and simulate it from t = 0 in libRoadRunner and COPASI (basico), against
# `cellpk run`. Installs pinned packages from the package index into target/sbml-venv on
# first use; if that fails it says so and exits non-zero (never a silent pass).
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=target/sbml-venv
pins=(libroadrunner==2.10.0 python-libsbml==5.21.2 copasi-basico==0.92 python-copasi==4.48.311)
python=${PYTHON:-python3}

mkdir -p target
if [ ! -x "$venv/bin/python" ]; then
    if ! "$python" -m venv "$venv" >target/sbml-venv.log 2>&1; then
        echo "SBML cross-check NOT RUN: cannot create a virtual environment with $python ($(tail -n 1 target/sbml-venv.log))" >&2
        rm -rf "$venv"
        exit 3
    fi
fi
# Quick when the pins are already installed; upgrades the environment when they change.
if ! "$venv/bin/pip" install --quiet --disable-pip-version-check "${pins[@]}" >target/sbml-pip.log 2>&1; then
    echo "SBML cross-check NOT RUN: cannot install ${pins[*]} from the package index ($(tail -n 1 target/sbml-pip.log); full log: target/sbml-pip.log)" >&2
    exit 3
fi

cargo build --release --locked --quiet
rm -rf target/sbml-crosscheck
"$venv/bin/python" tests/sbml/crosscheck.py --cellpk target/release/cellpk --work target/sbml-crosscheck
