#!/usr/bin/env bash
# Slurm check (issue 19): docs/cluster.md's array-job recipe on a real single-node Slurm.
#
# Installs Debian's `slurm-wlm` and `munge` with apt-get if they are missing, starts a
# private munged, slurmctld and slurmd (own key, socket, ports and state under a temporary
# directory; nothing in /etc is used), and then:
#   1. takes the array script and the merge command from docs/cluster.md's ```sh blocks
#      (so the docs and this check cannot drift) and substitutes only the array size (3),
#      the CPUs per task (1) and the sweep (tests/slurm/slurm_check.toml, copied with its
#      base scenario into the scenarios/ layout the script expects; ${SCRATCH} is set);
#   2. submits the array script with sbatch, requeues task 2 (`scontrol requeue`) while it
#      runs, once a quarter of its slice is on disk, and counts the rows of its partial
#      file after the kill (slurm.conf shortens Slurm's delay before a requeued task may
#      start again: cred_expire=10 s instead of 120, a scheduler pass every second);
#   3. waits for the array (bounded), runs the merge command, and compares the merged CSV
#      byte for byte with a single-machine `cellpk sweep` of the same sweep;
#   4. checks that the requeued task resumed exactly the rows saved before the cancel
#      (its "R rows resumed from disk" message) and computed only the rest.
# The daemons it started are stopped on exit. Needs root (slurmd runs jobs as their user).
# If Slurm cannot be installed or started it prints "Slurm check NOT RUN: ..." and exits 3;
# it never passes silently. Exit 1: the recipe failed. Work files: target/slurm-check/.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD

tasks=3                     # array size replacing the docs' one
requeued=2                  # the task cancelled and requeued mid-run
sweep_name=slurm_check      # tests/slurm/slurm_check.toml
budget=180                  # seconds from the submission to the merge

start=$SECONDS
# Nothing from an enclosing Slurm job (if CI itself runs in one) reaches the private Slurm.
for var in $(compgen -e | grep '^SLURM_' || true); do
    unset "$var"
done
say() { printf '[slurm check %3d s] %s\n' $((SECONDS - start)) "$*"; }
not_run() {
    echo "Slurm check NOT RUN: $*" >&2
    exit 3
}
fail() {
    echo "Slurm check FAILED: $*" >&2
    exit 1
}

work=$repo/target/slurm-check
rm -rf "$work"
mkdir -p "$work/logs"

# --- Packages -------------------------------------------------------------------------
export PATH=$PATH:/usr/sbin:/sbin
missing=()
for tool in munged mungekey slurmctld slurmd sbatch srun squeue scontrol sinfo scancel; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "$(id -u)" != 0 ]; then
    not_run "needs root (slurmd runs the jobs as their user; the check also installs packages)"
fi
if [ ${#missing[@]} -gt 0 ]; then
    command -v apt-get >/dev/null 2>&1 || not_run "${missing[*]} missing and there is no apt-get to install slurm-wlm and munge"
    say "installing slurm-wlm and munge with apt-get (missing: ${missing[*]})"
    apt_install() {
        DEBIAN_FRONTEND=noninteractive timeout 150 apt-get install -y -q --no-install-recommends \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
            slurm-wlm munge >>"$work/logs/apt.log" 2>&1
    }
    if ! apt_install; then
        # A fresh image may have no package lists yet.
        timeout 90 apt-get update -q >>"$work/logs/apt.log" 2>&1 || true
        apt_install || not_run "apt-get install slurm-wlm munge failed ($(tail -n 1 "$work/logs/apt.log"); full log: $work/logs/apt.log)"
    fi
    for tool in "${missing[@]}"; do
        command -v "$tool" >/dev/null 2>&1 || not_run "$tool still missing after installing slurm-wlm and munge"
    done
    installed=$(dpkg-query -W -f '${Package} ${Version}, ' slurm-wlm munge 2>/dev/null || true)
    say "installed ${installed%, }"
fi
# `--prepare`: only install (.ci/run starts it early, to overlap the download with the build).
[ "${1:-}" = --prepare ] && exit 0
slurm_version=$(slurmd -V 2>/dev/null || true)

# --- The recipe from the docs ---------------------------------------------------------
# The ```sh blocks of docs/cluster.md: the one with #SBATCH lines and the one running merge.
block() {
    awk -v want="$1" '
        /^```sh$/ { inside = 1; text = ""; next }
        /^```$/ && inside { inside = 0; if (index(text, want)) { printf "%s", text; found++ } next }
        inside { text = text $0 "\n" }
        END { exit found == 1 ? 0 : 1 }' docs/cluster.md
}
array_doc=$(block '#SBATCH') || fail "docs/cluster.md: expected exactly one \`\`\`sh block with #SBATCH lines"
merge_doc=$(block 'cellpk merge') || fail "docs/cluster.md: expected exactly one \`\`\`sh block running cellpk merge"

drift() { fail "docs/cluster.md's recipe no longer has $1: update tests/slurm/run.sh with it"; }
[[ $array_doc =~ \#SBATCH\ --array=1-([0-9]+) ]] || drift "'#SBATCH --array=1-N'"
n=${BASH_REMATCH[1]}
[[ $array_doc =~ cellpk\ sweep\ (scenarios/sweeps/([A-Za-z0-9_]+)\.toml) ]] || drift "'cellpk sweep scenarios/sweeps/NAME.toml'"
sweep_doc=${BASH_REMATCH[1]}
stem_doc=${BASH_REMATCH[2]}
# The merge glob names the sweep's output directory by the sweep's name: the docs' sweep
# file must be named after it.
grep -qx "name = \"$stem_doc\"" "$sweep_doc" || fail "$sweep_doc is not named \"$stem_doc\", the directory the merge command reads"

# substitute VARIABLE OLD NEW: replaces every OLD (literally) and fails if there is none.
substitute() {
    local -n text=$1
    [[ $text == *"$2"* ]] || drift "'$2' (expected in the ${1%_sh} block)"
    text=${text//"$2"/"$3"}
}
array_sh=$array_doc
merge_sh=$merge_doc
substitute array_sh "--array=1-$n" "--array=1-$tasks"
substitute array_sh "\"\${SLURM_ARRAY_TASK_ID}/$n\"" "\"\${SLURM_ARRAY_TASK_ID}/$tasks\""
[[ $array_sh =~ --cpus-per-task=[0-9]+ ]] || drift "'#SBATCH --cpus-per-task=C'"
substitute array_sh "${BASH_REMATCH[0]}" "--cpus-per-task=1"
substitute array_sh "$stem_doc" "$sweep_name"
substitute merge_sh "-of-$n." "-of-$tasks."
substitute merge_sh "$stem_doc" "$sweep_name"

# The cluster's working directory, laid out as the docs say: the binary, the sweep file
# and its base scenario, at the relative paths the scripts use.
cargo build --release --locked --quiet
cluster=$work/cluster
export SCRATCH=$work/scratch
mkdir -p "$cluster/scenarios/sweeps" "$SCRATCH"
cp target/release/cellpk "$cluster/cellpk"
cp tests/slurm/slurm_check.toml "$cluster/scenarios/sweeps/$sweep_name.toml"
base=$(sed -n 's/^base = "\(.*\)"$/\1/p' tests/slurm/slurm_check.toml)
cp "scenarios/$(basename "$base")" "$cluster/scenarios/sweeps/$base"
printf '%s\n' "$array_sh" >"$cluster/array.sh"
printf '%s\n' "$merge_sh" >"$cluster/merge.sh"

# --- A private single-node Slurm ------------------------------------------------------
# The daemons run in their own session, so that a Ctrl-C reaches this script (which then
# cancels the job and stops them) rather than the daemons.
rt=$(mktemp -d /tmp/cellpk-slurm.XXXXXX)
chmod 700 "$rt"
mkdir -p "$rt/state" "$rt/spool"
export SLURM_CONF=$rt/slurm.conf
pids=()
jobid=
single=
cleanup() {
    local rc=$?
    set +e
    [ -n "$single" ] && kill "$single" 2>/dev/null
    if [ -n "$jobid" ]; then
        timeout 10 scancel "$jobid" >/dev/null 2>&1
        for _ in $(seq 20); do
            [ -z "$(timeout 5 squeue -h -j "$jobid" 2>/dev/null)" ] && break
            sleep 0.5
        done
    fi
    # Stop in reverse order of start: slurmd, slurmctld, munged.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill "${pids[i]}" 2>/dev/null
        for _ in $(seq 50); do
            kill -0 "${pids[i]}" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "${pids[i]}" 2>/dev/null
        wait "${pids[i]}" 2>/dev/null
    done
    # Whatever still runs with this Slurm's configuration in its environment (job steps
    # left behind by a slurmd that stopped first) was started by this check.
    mapfile -t strays < <(grep -lszxF "SLURM_CONF=$SLURM_CONF" /proc/[0-9]*/environ | cut -d/ -f3)
    if [ ${#strays[@]} -gt 0 ]; then
        kill "${strays[@]}" 2>/dev/null
        sleep 2
        kill -9 "${strays[@]}" 2>/dev/null
    fi
    cp "$rt"/*.log "$work/logs/" 2>/dev/null
    rm -rf "$rt"
    if [ "$rc" != 0 ]; then
        echo "Slurm logs: $work/logs/ (job output: $cluster/slurm-*.out)" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    local port
    for _ in $(seq 50); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    return 1
}
ctld_port=$(free_port) || not_run "no free TCP port for slurmctld"
slurmd_port=$(free_port) || not_run "no free TCP port for slurmd"
[ "$ctld_port" != "$slurmd_port" ] || slurmd_port=$((ctld_port + 1))

node=cellpk-node
cat >"$SLURM_CONF" <<EOF
# Written by tests/slurm/run.sh: one node on 127.0.0.1, run as root, no cgroups.
ClusterName=cellpk-check
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# A requeued job waits the credential lifetime (cred_expire, default 120 s) before it
# can start again: 10 s keeps the check short.
AuthInfo=socket=$rt/munge.socket,cred_expire=10
StateSaveLocation=$rt/state
SlurmdSpoolDir=$rt/spool
SlurmctldPidFile=$rt/slurmctld.pid
SlurmdPidFile=$rt/slurmd.pid
SlurmctldLogFile=$rt/slurmctld.log
SlurmdLogFile=$rt/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/builtin
# Without it, a requeued task whose delay is over waits for the next periodic pass (60 s).
SchedulerParameters=sched_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
# Jobs can be requeued only if they ask (the recipe's #SBATCH --requeue).
JobRequeue=0
MinJobAge=300
KillWait=5
SlurmdParameters=config_overrides
NodeName=$node NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=$tasks RealMemory=$((tasks * 2048 + 1024)) State=UNKNOWN
PartitionName=check Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF

mungekey --create --keyfile="$rt/munge.key" >/dev/null 2>&1 ||
    dd if=/dev/urandom of="$rt/munge.key" bs=1024 count=1 status=none
chmod 400 "$rt/munge.key"
setsid munged --foreground --force --socket="$rt/munge.socket" --key-file="$rt/munge.key" \
    --pid-file="$rt/munged.pid" --log-file="$rt/munged.log" --seed-file="$rt/munged.seed" \
    >"$rt/munged.out.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
    [ -S "$rt/munge.socket" ] && break
    sleep 0.1
done
[ -S "$rt/munge.socket" ] || not_run "munged did not start ($(tail -n 1 "$rt/munged.log" 2>/dev/null))"
setsid slurmctld -D -c -f "$SLURM_CONF" >"$rt/slurmctld.out.log" 2>&1 &
pids+=($!)
setsid slurmd -D -f "$SLURM_CONF" -N "$node" >"$rt/slurmd.out.log" 2>&1 &
pids+=($!)
for _ in $(seq 60); do
    state=$(timeout 5 sinfo -h -n "$node" -o %t 2>/dev/null || true)
    [ "$state" = idle ] && break
    sleep 0.5
done
[ "$state" = idle ] || not_run "the single-node Slurm did not come up (node state '${state:-none}'; logs in $work/logs/)"
say "$slurm_version up: node $node idle (slurmctld port $ctld_port, slurmd port $slurmd_port)"

# --- Submit, requeue one task mid-run -------------------------------------------------
cd "$cluster"
deadline=$((SECONDS + budget))
late() { [ "$SECONDS" -ge "$deadline" ]; }
jobid=$(timeout 10 sbatch --parsable array.sh) || fail "sbatch array.sh was refused"
jobid=${jobid%%;*}
say "submitted the docs' array script as job $jobid (3 tasks of 1 CPU)"

# The single-machine run to compare with, meanwhile (on all cores: the CSV is the same
# for any thread count).
./cellpk sweep "scenarios/sweeps/$sweep_name.toml" --out "$work/single" \
    >"$work/single.log" 2>&1 &
single=$!

task_state() { timeout 5 squeue -h -j "${jobid}_$1" -o %T 2>/dev/null | head -n 1; }
shard_dir=$SCRATCH/cellpk/$sweep_name
partial=$shard_dir/sweep.shard-$requeued-of-$tasks.csv.partial
out=$cluster/slurm-${jobid}_$requeued.out
rows() { echo $(($(wc -l <"$1") - 1)); } # complete rows below the header

# Wait until task 2 runs and has a quarter of its slice on disk.
while :; do
    late && fail "task $requeued did not get a quarter of its slice on disk in time (state $(task_state $requeued))"
    [ -f "${partial%.partial}" ] && fail "task $requeued finished its slice before it could be requeued: make tests/slurm/slurm_check.toml slower"
    if [ -f "$out" ] && [[ $(head -n 1 "$out") =~ points\ ([0-9]+)\.\.([0-9]+) ]]; then
        slice=$((BASH_REMATCH[2] - BASH_REMATCH[1]))
        if [ -f "$partial" ] && [ "$(rows "$partial")" -ge $((slice / 4)) ]; then
            break
        fi
    fi
    sleep 0.2
done
[ "$(task_state $requeued)" = RUNNING ] || fail "task $requeued is $(task_state $requeued), not running, when it should be requeued"
timeout 10 scontrol requeue "${jobid}_$requeued" || fail "scontrol requeue ${jobid}_$requeued failed"
requeued_at=$SECONDS
# Once Slurm has killed it, the partial file holds what the first run saved.
while [ "$(task_state $requeued)" != PENDING ]; do
    late && fail "requeued task $requeued did not go back to pending (state $(task_state $requeued))"
    sleep 0.2
done
[ -f "$partial" ] || fail "task $requeued finished its slice before the requeue took effect: make tests/slurm/slurm_check.toml slower"
# Its rows at the cancel: the count, once it no longer changes.
saved=$(rows "$partial")
while sleep 1 && [ "$(rows "$partial")" != "$saved" ]; do
    late && fail "the partial file of requeued task $requeued kept growing after the requeue"
    saved=$(rows "$partial")
done
say "requeued task $requeued with $saved of its $slice rows saved; waiting for it to start again"
while [ "$(task_state $requeued)" = PENDING ]; do
    late && fail "requeued task $requeued did not start again ($(timeout 5 squeue -h -j "${jobid}_$requeued" -o %r))"
    sleep 0.5
done
say "task $requeued started again $((SECONDS - requeued_at)) s after the requeue"

# --- Wait for the array, merge, compare -----------------------------------------------
while [ -n "$(timeout 5 squeue -h -j "$jobid" 2>/dev/null)" ]; do
    late && fail "the array job did not finish in time: $(timeout 5 squeue -h -j "$jobid" -o '%i %T %r' | tr '\n' ';')"
    sleep 0.5
done
for k in $(seq "$tasks"); do
    line=$(timeout 5 scontrol -o show job "${jobid}_$k" 2>/dev/null | grep -o 'JobState=[A-Z_]* .*ExitCode=[0-9:]*' || true)
    [[ $line == JobState=COMPLETED*ExitCode=0:0 ]] || fail "array task $k did not complete: ${line:-no job record} (output: $cluster/slurm-${jobid}_$k.out)"
done
restarts=$(timeout 5 scontrol -o show job "${jobid}_$requeued" | grep -o 'Restarts=[0-9]*' || true)
[ "$restarts" = Restarts=1 ] || fail "task $requeued should have run twice, but Slurm reports ${restarts:-no Restarts}"
say "array job $jobid completed"

wait "$single" || fail "the single-machine cellpk sweep failed: $(tail -n 3 "$work/single.log")"
bash merge.sh >"$work/merge.log" 2>&1 || fail "the docs' merge command failed: $(cat "$work/merge.log")"
cmp "$shard_dir/sweep.csv" "$work/single/$sweep_name/sweep.csv" ||
    fail "the merged sweep.csv differs from the single-machine run"
say "merged CSV is byte-identical to the single-machine run ($(rows "$shard_dir/sweep.csv") rows)"

# The requeued task continued its partial file: it resumed the rows saved before the
# cancel and computed only the rest of its slice.
[[ $(grep -h 'points in' "$out" | tail -n 1) =~ ^([0-9]+)\ points\ in.*\;\ ([0-9]+)\ rows\ resumed\ from\ disk ]] ||
    fail "the requeued task did not resume its partial file (no 'rows resumed from disk' in $out)"
computed=${BASH_REMATCH[1]}
resumed=${BASH_REMATCH[2]}
[ "$resumed" = "$saved" ] || fail "the requeued task resumed $resumed rows, but $saved were saved at the cancel"
[ $((computed + resumed)) = "$slice" ] || fail "the requeued task computed $computed points and resumed $resumed, not its slice of $slice"
say "requeued task resumed its $resumed saved rows and computed the other $computed"
say "passed ($slurm_version)"
