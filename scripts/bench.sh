#!/usr/bin/env bash
# One benchmark for issue 12, printed in one run (docs/performance.md holds the last figures):
#   1. the whole exporter at scale on a synthetic adapter (benches/scale.rs): first refresh wall
#      and CPU, peak RSS, /metrics scrape p50/p99 plain and gzip, text and gzip bytes, bytes per
#      object by family;
#   2. the exporter against the vendor simulators (scripts/sim-scale.sh): `simulate --objects N`
#      time to listening and peak RSS, `serve` reading every target: first refresh wall and CPU,
#      objects exported, peak RSS after scrapes, scrape p50/p99 and bytes plain and gzip;
#   3. CPU per refresh of `serve` against the Python peer on the same simulated Cloutility.
#
# Not part of the test suite (`cargo test` runs a small smoke of part 1 only).
#
# Environment:
#   PROFILE=perf   cargo profile (perf: optimised, codegen-units 16, no LTO; dev: debug build)
#   SCALE_ARGS     extra arguments for the scale bench (default: 5 targets x 10,000 objects)
#   TABLE_OBJECTS  objects per vendor for part 2, space separated (default: "1000 3000 10000";
#                  empty skips part 2)
#   SIM_OBJECTS    objects per vendor in the simulator of part 3, space separated
#                  (default: "25 5000")
#   REFRESHES      steady-state refreshes to average over (default: 10)
#   PEER           the Python peer's folder (default: /work/shared/peers/python-cloutility-exporter)
#   PEER_PYTHON    python with requests and prometheus_client (default: a venv made in /tmp)
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE=${PROFILE:-perf}
SIM_OBJECTS=${SIM_OBJECTS-25 5000}
TABLE_OBJECTS=${TABLE_OBJECTS-1000 3000 10000}
REFRESHES=${REFRESHES:-10}
PEER=${PEER:-/work/shared/peers/python-cloutility-exporter}
PORT_SIM=${PORT_SIM:-19988}
PORT_SERVE=${PORT_SERVE:-19987}
work=$(mktemp -d /tmp/backup-exporter-bench.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

dir=$PROFILE
[ "$PROFILE" = dev ] && dir=debug
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo); profile $PROFILE; $(git rev-parse --short HEAD)"

echo "== 1. exporter at scale (synthetic adapter)"
cargo build -q --profile "$PROFILE" --bin backup-exporter
# shellcheck disable=SC2086
cargo bench -q --profile "$PROFILE" --bench scale -- --bench ${SCALE_ARGS:-}

if [ -n "$TABLE_OBJECTS" ]; then
    echo "== 2. exporter against the simulators, every target"
    PROFILE=$PROFILE OBJECTS=$TABLE_OBJECTS BUILD=0 scripts/sim-scale.sh
fi

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
bin="target/$dir/backup-exporter"

if [ -z "${PEER_PYTHON:-}" ]; then
    PEER_PYTHON=/tmp/backup-exporter-peer-venv/bin/python
    if [ ! -x "$PEER_PYTHON" ]; then
        python3 -m venv /tmp/backup-exporter-peer-venv
        /tmp/backup-exporter-peer-venv/bin/pip install -q -r "$PEER/requirements.txt"
    fi
fi

for n in $SIM_OBJECTS; do
    echo "== 3. CPU per refresh on the simulated Cloutility, --objects $n"
    (cd "$work" && exec "$OLDPWD/$bin" simulate --listen "127.0.0.1:$PORT_SIM" --config-out sim.yml --objects "$n" >sim.log 2>&1) &
    sim=$!
    pids+=("$sim")
    t0=$(date +%s.%N)
    for _ in $(seq 1 600); do
        [ -s "$work/sim.yml" ] && curl -s -o /dev/null "http://127.0.0.1:$PORT_SIM/" && break
        sleep 0.1
    done
    echo "simulator listening after $(echo "$(date +%s.%N) - $t0" | bc) s"
    # The Cloutility target of the simulator's config, alone.
    awk '/^- / {n++} n==1' "$work/sim.yml" | sed 's/^- /  - /; s/^  \([a-z]\)/    \1/' >"$work/target.yml"
    printf 'defaults: {interval: 1s, timeout: 1m, lookback: 48h}\ntargets:\n' >"$work/serve.yml"
    cat "$work/target.yml" >>"$work/serve.yml"
    get() { awk -v k="$1:" '$1 == k || $2 == k {print $NF}' "$work/target.yml"; }

    # Ours: steady-state refreshes of `serve` (the first refresh warms caches and is left out).
    (cd "$work" && exec "$OLDPWD/$bin" serve --config serve.yml --listen "127.0.0.1:$PORT_SERVE" \
        --log-level backup_exporter::scheduler=debug,warn >serve.log 2>&1) &
    srv=$!
    pids+=("$srv")
    until [ "$(grep -c refreshed "$work/serve.log" 2>/dev/null)" -ge 2 ]; do sleep 0.05; done
    c0=$(cpu_ticks "$srv")
    r0=$(grep -c refreshed "$work/serve.log")
    until [ "$(grep -c refreshed "$work/serve.log")" -ge $((r0 + REFRESHES)) ]; do sleep 0.05; done
    c1=$(cpu_ticks "$srv")
    r1=$(grep -c refreshed "$work/serve.log")
    objects=$(curl -s "http://127.0.0.1:$PORT_SERVE/metrics" | awk '/^backup_exported_objects/ {print $2}')
    kill "$srv"
    ours=$(echo "scale=2; ($c1 - $c0) * 10 / ($r1 - $r0)" | bc)
    echo "ours:   $ours ms CPU per refresh (mean of $((r1 - r0)) steady-state refreshes, $objects objects, lookback 48h)"

    # The peer: one refresh, its own CPU accounting, with the lookback it was written for.
    out=$(CLOUTILITY_PASSWORD_FILE="$work/$(get password_file)" "$PEER_PYTHON" "$PEER/exporter.py" \
        --url "$(get url)" --client-id "$(get client_id)" --origin "$(get origin)" \
        --username "$(get username)" --lookback 1080h --workers 4 --once)
    echo "peer:   $out"
    peer=$(echo "$out" | sed 's/.*"refresh_cpu_seconds": \([0-9.]*\).*/\1/')
    echo "ratio:  peer / ours = $(echo "scale=1; $peer * 1000 / $ours" | bc)x"
    kill "$sim"
    wait "$sim" 2>/dev/null || true
    rm -f "$work/sim.yml"
done
