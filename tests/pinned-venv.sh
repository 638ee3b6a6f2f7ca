# Sourced by the CI checks that need Python packages (tests/sbml/run.sh,
# tests/parquet/run.sh): `pinned_venv NAME WHAT PIN...` makes target/NAME-venv on first
# use and installs the pinned packages into it (quick when they already are). If either
# fails it says that WHAT was NOT RUN, and why, and exits 3: never a silent pass.
pinned_venv() {
    local name=$1 what=$2
    shift 2
    local venv=target/$name-venv python=${PYTHON:-python3}
    mkdir -p target
    if [ ! -x "$venv/bin/python" ]; then
        if ! "$python" -m venv "$venv" >"target/$name-venv.log" 2>&1; then
            echo "$what NOT RUN: cannot create a virtual environment with $python ($(tail -n 1 "target/$name-venv.log"))" >&2
            rm -rf "$venv"
            exit 3
        fi
    fi
    if ! "$venv/bin/pip" install --quiet --disable-pip-version-check "$@" >"target/$name-pip.log" 2>&1; then
        echo "$what NOT RUN: cannot install $* from the package index ($(tail -n 1 "target/$name-pip.log"); full log: target/$name-pip.log)" >&2
        exit 3
    fi
}
