#!/usr/bin/env bash
# The table of issue 12, one row per simulator size: `simulate --objects N` (all five vendors)
# in one process and `serve` reading every target of its config in another (interval 1h,
# default lookback 48h), on an optimised build. Per row: simulator time to listening, first
# refresh of every target ready (/-/ready), objects exported, serve peak RSS after scrapes
# (VmHWM), /metrics time and bytes plain and gzip (p50 of SCRAPES), simulator peak RSS.
#
# Not part of the test suite. Environment:
#   PROFILE=perf        cargo profile (perf: optimised; dev: debug)
#   TABLE_OBJECTS       objects per vendor, space separated (default: "1000 3000 10000")
#   SCRAPES             scrapes per form (default: 5)
#   READY_TIMEOUT       seconds to wait for the first refresh of every target (default: 900)
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE=${PROFILE:-perf}
TABLE_OBJECTS=${TABLE_OBJECTS:-1000 3000 10000}
SCRAPES=${SCRAPES:-5}
READY_TIMEOUT=${READY_TIMEOUT:-900}
PORT_SIM=${PORT_SIM:-19978}
PORT_SERVE=${PORT_SERVE:-19977}
work=$(mktemp -d /tmp/backup-exporter-table.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

dir=$PROFILE
[ "$PROFILE" = dev ] && dir=debug
cargo build -q --profile "$PROFILE" --bin backup-exporter
bin="$PWD/target/$dir/backup-exporter"
hwm() { awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
now() { date +%s.%N; }
since() { printf "%.1f" "$(echo "$(now) - $1" | bc)"; }
p50() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1 /proc/loadavg); profile $PROFILE; $(git rev-parse --short HEAD)"
echo "| objects per vendor | objects exported | simulator listening | first refresh ready | serve peak RSS (after scrapes) | /metrics plain p50 | text | /metrics gzip p50 | gzip | simulator peak RSS |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for n in $TABLE_OBJECTS; do
    rm -f "$work/sim.yml"
    t0=$(now)
    (cd "$work" && exec "$bin" simulate --listen "127.0.0.1:$PORT_SIM" --config-out sim.yml --objects "$n" >sim.log 2>&1) &
    sim=$!
    pids+=("$sim")
    until [ -s "$work/sim.yml" ] && curl -s -o /dev/null "http://127.0.0.1:$PORT_SIM/"; do
        kill -0 "$sim" 2>/dev/null || { echo "simulator died"; tail "$work/sim.log"; exit 1; }
        sleep 0.1
    done
    listening=$(since "$t0")
    # Every target, refreshed hourly (the first refresh is what is measured).
    sed -e 's/^  interval: .*/  interval: 1h/; s/^  timeout: .*/  timeout: 15m/; s/^  max_stale: .*/  max_stale: 2h/' "$work/sim.yml" >"$work/serve.yml"
    t1=$(now)
    (cd "$work" && exec "$bin" serve --config serve.yml --listen "127.0.0.1:$PORT_SERVE" >serve.log 2>&1) &
    srv=$!
    pids+=("$srv")
    until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT_SERVE/-/ready")" = 200 ]; do
        kill -0 "$srv" 2>/dev/null || { echo "serve died"; tail "$work/serve.log"; exit 1; }
        [ "$(echo "$(now) - $t1 > $READY_TIMEOUT" | bc)" = 1 ] && { echo "not ready in ${READY_TIMEOUT}s"; break; }
        sleep 0.2
    done
    ready=$(since "$t1")
    url="http://127.0.0.1:$PORT_SERVE/metrics"
    plain=$(for _ in $(seq "$SCRAPES"); do curl -s -o "$work/m.txt" -w '%{time_total}\n' "$url"; done | p50)
    gz=$(for _ in $(seq "$SCRAPES"); do curl -s -H 'Accept-Encoding: gzip' -H 'Accept: application/openmetrics-text;version=1.0.0' -o "$work/m.gz" -w '%{time_total}\n' "$url"; done | p50)
    objects=$(awk '/^backup_exported_objects/ {s += $2} END {print s}' "$work/m.txt")
    errors=$(grep -c '^backup_target_up{.*} 0' "$work/m.txt" || true)
    printf '| %s | %s%s | %s s | %s s | %s MiB | %.0f ms | %.1f MB | %.0f ms | %.2f MB | %s MiB |\n' \
        "$n" "$objects" "$([ "$errors" -gt 0 ] && echo " ($errors targets down)")" "$listening" "$ready" "$(hwm "$srv")" \
        "$(echo "$plain * 1000" | bc)" "$(echo "scale=1; $(stat -c %s "$work/m.txt") / 1000000" | bc)" \
        "$(echo "$gz * 1000" | bc)" "$(echo "scale=3; $(stat -c %s "$work/m.gz") / 1000000" | bc)" "$(hwm "$sim")"
    kill "$srv" "$sim" 2>/dev/null || true
    wait "$srv" "$sim" 2>/dev/null || true
done
