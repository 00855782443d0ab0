#!/usr/bin/env bash
# Instructions per steady-state refresh of `serve` against the simulated Cloutility (issue 12
# point 3), counted by callgrind: stable on a noisy shared machine, where CPU time is not.
#
# `serve` runs under callgrind with instrumentation off; after its first (warm-up) refresh,
# instrumentation is switched on for REFRESHES refreshes (`interval: 1s`), then off. Prints
# the instructions per refresh and leaves the profile for `callgrind_annotate` in OUT.
#
# Environment:
#   BIN        the binary (default: target/perf/backup-exporter; build it with
#              `cargo build --profile perf`, which has line tables)
#   OBJECTS    objects of the simulated Cloutility (default: 25)
#   REFRESHES  refreshes to count (default: 20)
#   OUT        the callgrind profile (default: /tmp/callgrind.refresh.out)
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-$PWD/target/perf/backup-exporter}
OBJECTS=${OBJECTS:-25}
REFRESHES=${REFRESHES:-20}
OUT=${OUT:-/tmp/callgrind.refresh.out}
PORT_SIM=${PORT_SIM:-19958}
PORT_SERVE=${PORT_SERVE:-19957}
work=$(mktemp -d /tmp/backup-exporter-callgrind.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

(cd "$work" && exec "$BIN" simulate --listen "127.0.0.1:$PORT_SIM" --config-out sim.yml \
    --objects "$OBJECTS" >sim.log 2>&1) &
pids+=("$!")
until [ -s "$work/sim.yml" ] && curl -s -o /dev/null "http://127.0.0.1:$PORT_SIM/"; do sleep 0.1; done
{
    printf 'defaults: {interval: 1s, timeout: 1m, lookback: 48h}\ntargets:\n'
    awk '/^- / {n++} n==1' "$work/sim.yml" | sed 's/^- /  - /; s/^  \([a-z]\)/    \1/'
} >"$work/serve.yml"

refreshed() { grep -c refreshed "$work/serve.log" 2>/dev/null || true; }
(cd "$work" && exec valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT" \
    --log-file=valgrind.log "$BIN" serve --config serve.yml --listen "127.0.0.1:$PORT_SERVE" \
    --log-level backup_exporter::scheduler=debug,warn >serve.log 2>&1) &
srv=$!
pids+=("$srv")
until [ "$(refreshed)" -ge 1 ]; do sleep 0.05; done
# Switch on right after a refresh ends and off right after the REFRESHES-th one after it.
r0=$(refreshed)
until [ "$(refreshed)" -gt "$r0" ]; do sleep 0.01; done
callgrind_control -i on "$srv" >/dev/null
r1=$(refreshed)
until [ "$(refreshed)" -ge $((r1 + REFRESHES)) ]; do sleep 0.01; done
callgrind_control -i off "$srv" >/dev/null
r2=$(refreshed)
callgrind_control -d "$srv" >/dev/null
sleep 1
kill -INT "$srv"
wait "$srv" 2>/dev/null || true
# The dump taken while counting is the largest file; the one written at exit is empty.
# (awk reads to the end: leaving early would fail the pipe under pipefail.)
total=$(callgrind_annotate "$(ls -S "$OUT"* | head -1)" 2>/dev/null \
    | awk '/PROGRAM TOTALS/ && !seen {gsub(",", "", $1); print $1; seen = 1}')
echo "refreshes counted: $((r2 - r1)); instructions: $total; per refresh: $((total / (r2 - r1)))"
