#!/usr/bin/env bash
# The exporter against the vendor simulators at scale: issue 12's table (docs/performance.md,
# "Exporter against the simulators"). For each OBJECTS and each VENDORS entry: a fresh
# `simulate --objects N` (so its peak RSS is that run's alone), its time to listening, then one
# `serve` reading that vendor's demo targets (or every target: `all`) with `interval: 1h`,
# `timeout: 15m` and the default lookback (48 h) until /-/ready answers 200 (every target has
# published its first refresh), then SCRAPES scrapes of each form. One table row per run.
#
# Columns: simulator time to listening; first refresh ready (wall) and serve's CPU until then;
# objects exported (`backup_exported_objects`, summed); collectors that failed; serve peak RSS
# after the scrapes (VmHWM); /metrics p50 and p99 (of SCRAPES) and bytes, plain text and gzip
# OpenMetrics; simulator peak RSS and CPU.
#
# Not part of the test suite. scripts/bench.sh runs it as its part 2.
#
# Environment:
#   PROFILE=perf   cargo profile of the binary (perf: optimised; dev: debug build)
#   OBJECTS        objects per vendor, space separated (default: "1000 3000 10000")
#   VENDORS        vendors to read, space separated; `all` reads every target at once
#                  (default: "all"; e.g. "cloutility backupdr cloudtower cloudsync clumio all")
#   SCRAPES        scrapes per form (default: 5)
#   LIMIT          seconds to wait for the first refresh before giving up (default: 900)
#   BUILD=1        build the binary first (default: 1)
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE=${PROFILE:-perf}
OBJECTS=${OBJECTS:-"1000 3000 10000"}
VENDORS=${VENDORS:-all}
SCRAPES=${SCRAPES:-5}
LIMIT=${LIMIT:-900}
PORT_SIM=${PORT_SIM:-19978}
PORT_SERVE=${PORT_SERVE:-19977}
dir=$PROFILE
[ "$PROFILE" = dev ] && dir=debug
bin="$PWD/target/$dir/backup-exporter"
[ "${BUILD:-1}" = 1 ] && cargo build -q --profile "$PROFILE" --bin backup-exporter

work=$(mktemp -d /tmp/backup-exporter-simscale.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

hwm_mib() { awk '/VmHWM/ {printf "%d", $2 / 1024}' "/proc/$1/status"; }
cpu_s() { awk '{printf "%.1f", ($14 + $15) / 100}' "/proc/$1/stat"; }
now() { date +%s.%N; }
since() { printf '%.1f' "$(echo "$(now) - $1" | bc)"; }
# p50 and p99 in ms of the times (seconds) on stdin.
percentiles() {
    sort -n | awk '{a[NR] = $1 * 1000} END {
        p99 = int(NR * 0.99 + 0.999); if (p99 > NR) p99 = NR
        printf "%.0f / %.0f ms", a[int((NR + 1) / 2)], a[p99] }'
}
mb() { stat -c %s "$1" | awk '{printf "%.2f", $1 / 1000000}'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg); profile $PROFILE; $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo " with uncommitted changes")"
echo "| objects per vendor | vendor | targets | simulator listening | first refresh ready | serve CPU to ready | objects exported | failed collectors | serve peak RSS | plain p50 / p99 | text | gzip p50 / p99 | gzip | simulator peak RSS | simulator CPU |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for n in $OBJECTS; do
    for vendor in $VENDORS; do
        rm -f "$work/sim.yml"
        t0=$(now)
        (cd "$work" && exec "$bin" simulate --listen "127.0.0.1:$PORT_SIM" --config-out sim.yml \
            --objects "$n" >sim.log 2>&1) &
        sim=$!
        pids+=("$sim")
        until [ -s "$work/sim.yml" ] && curl -s -o /dev/null "http://127.0.0.1:$PORT_SIM/"; do
            kill -0 "$sim" 2>/dev/null || { echo "simulator died:"; cat "$work/sim.log"; exit 1; }
            sleep 0.05
        done
        listening=$(since "$t0")
        # The targets of this vendor (or all).
        awk -v want="$vendor" '
            /^targets:/ { intargets = 1; next }
            intargets && /^[^ -]/ { intargets = 0 }
            !intargets { next }
            /^- / { if (block != "" && (want == "all" || v == want)) printf "%s", block; block = ""; v = "" }
            { block = block $0 "\n"; if ($1 == "vendor:" || $2 == "vendor:") v = $NF }
            END { if (block != "" && (want == "all" || v == want)) printf "%s", block }
        ' "$work/sim.yml" >"$work/targets.yml"
        targets=$(grep -c '^- ' "$work/targets.yml")
        {
            printf 'defaults: {interval: 1h, timeout: 15m, max_stale: 2h}\ntargets:\n'
            cat "$work/targets.yml"
        } >"$work/serve.yml"
        t1=$(now)
        (cd "$work" && exec "$bin" serve --config serve.yml --listen "127.0.0.1:$PORT_SERVE" \
            >serve.log 2>&1) &
        srv=$!
        pids+=("$srv")
        ready=""
        until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT_SERVE/-/ready")" = 200 ]; do
            if [ "$(echo "$(now) - $t1 > $LIMIT" | bc)" = 1 ] || ! kill -0 "$srv" 2>/dev/null \
                || ! kill -0 "$sim" 2>/dev/null; then
                ready="gave up after $(since "$t1") s"
                break
            fi
            sleep 0.1
        done
        [ -n "$ready" ] || ready="$(since "$t1") s"
        srv_cpu=$(cpu_s "$srv" 2>/dev/null || echo "?")
        url="http://127.0.0.1:$PORT_SERVE/metrics"
        : >"$work/plain.times"
        : >"$work/gzip.times"
        for _ in $(seq "$SCRAPES"); do
            curl -sS -o "$work/m.txt" -w '%{time_total}\n' "$url" >>"$work/plain.times" \
                || { echo "a plain scrape failed (curl exit $?)" >&2; exit 1; }
            curl -sS -H 'Accept-Encoding: gzip' -H 'Accept: application/openmetrics-text;version=1.0.0' \
                -o "$work/m.gz" -w '%{time_total}\n' "$url" >>"$work/gzip.times" \
                || { echo "a gzip scrape failed (curl exit $?)" >&2; exit 1; }
        done
        gzip -t "$work/m.gz" || { echo "the gzip body does not decode" >&2; exit 1; }
        [ "$(gzip -dc "$work/m.gz" | tail -1)" = "# EOF" ] || { echo "the gzip body is cut short" >&2; exit 1; }
        plain=$(percentiles <"$work/plain.times")
        gz=$(percentiles <"$work/gzip.times")
        exported=$(awk '/^backup_exported_objects[{ ]/ {s += $NF} END {print s + 0}' "$work/m.txt")
        failed=$(grep -c 'collector failed' "$work/serve.log" || true)
        echo "| $n | $vendor | $targets | $listening s | $ready | $srv_cpu s | $exported | $failed | $(hwm_mib "$srv") MiB | $plain | $(mb "$work/m.txt") MB | $gz | $(mb "$work/m.gz") MB | $(hwm_mib "$sim") MiB | $(cpu_s "$sim") s |"
        if [ "$failed" != 0 ]; then grep 'collector failed' "$work/serve.log" | head -3 | cut -c1-400 >&2; fi
        kill "$srv" "$sim" 2>/dev/null || true
        wait "$srv" "$sim" 2>/dev/null || true
    done
done
