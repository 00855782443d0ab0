#!/usr/bin/env bash
# The vendor simulators at scale (issue 12 point 1; the table in docs/performance.md,
# "Simulator at scale"). For each OBJECTS and each VENDORS entry: a fresh
# `simulate --objects N` (so its peak RSS is that vendor's alone), its time to listening, then
# one `serve` (`interval: 1h`, lookback 48h) reading that vendor's demo targets until every
# target has logged its first `refreshed`. Prints one table row per run: time to listening,
# first refresh wall, objects exported, collectors failed, simulator and serve peak RSS
# (`VmHWM`), simulator CPU.
#
# Not part of the test suite. Wrap it in `flock /work/release.lock` on a shared machine.
#
# Environment:
#   PROFILE=perf   cargo profile of the binary (perf: optimised; dev: debug build)
#   OBJECTS        objects per vendor, space separated (default: "1000 10000")
#   VENDORS        vendors to read, space separated; `all` reads every target at once
#                  (default: "cloutility backupdr cloudtower cloudsync clumio all")
#   LIMIT          seconds to wait for a first refresh before giving up (default: 900)
#   BUILD=1        build the binary first (default: 1)
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE=${PROFILE:-perf}
OBJECTS=${OBJECTS:-"1000 10000"}
VENDORS=${VENDORS:-"cloutility backupdr cloudtower cloudsync clumio all"}
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
since() { printf '%.2f' "$(echo "$(now) - $1" | bc)"; }

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); profile $PROFILE; $(git rev-parse --short HEAD)"
echo "| objects | vendor | targets | listening | first refresh | objects exported | failed collectors | simulator peak RSS | simulator CPU | serve peak RSS |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for n in $OBJECTS; do
    for vendor in $VENDORS; do
        rm -f "$work/sim.yml"
        t0=$(now)
        (cd "$work" && exec "$bin" simulate --listen "127.0.0.1:$PORT_SIM" --config-out sim.yml \
            --objects "$n" >sim.log 2>&1) &
        sim=$!
        pids+=("$sim")
        until [ -s "$work/sim.yml" ] && curl -s -o /dev/null "http://127.0.0.1:$PORT_SIM/"; do
            kill -0 "$sim" 2>/dev/null || { echo "simulator died:"; cat "$work/sim.yml" "$work/sim.log"; exit 1; }
            sleep 0.05
        done
        listening=$(since "$t0")
        # The targets of this vendor (or all), with `interval: 1h`.
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
            printf 'defaults: {interval: 1h, timeout: 15m, lookback: 48h}\ntargets:\n'
            cat "$work/targets.yml"
        } >"$work/serve.yml"
        t1=$(now)
        (cd "$work" && exec "$bin" serve --config serve.yml --listen "127.0.0.1:$PORT_SERVE" \
            --log-level backup_exporter::scheduler=debug,warn >serve.log 2>&1) &
        srv=$!
        pids+=("$srv")
        refresh="> ${LIMIT} s"
        while [ "$(grep -c refreshed "$work/serve.log" 2>/dev/null || true)" -lt "$targets" ]; do
            if [ "$(echo "$(now) - $t1 > $LIMIT" | bc)" = 1 ] || ! kill -0 "$srv" 2>/dev/null \
                || ! kill -0 "$sim" 2>/dev/null; then
                refresh="gave up"
                break
            fi
            sleep 0.1
        done
        [ "$refresh" = "gave up" ] || refresh="$(since "$t1") s"
        sleep 1 # the last publish
        exported=$(curl -s "http://127.0.0.1:$PORT_SERVE/metrics" \
            | awk '/^backup_exported_objects[{ ]/ {s += $NF} END {print s + 0}')
        failed=$(grep -c 'collector failed' "$work/serve.log" || true)
        sim_hwm=$(hwm_mib "$sim" 2>/dev/null || echo "?")
        sim_cpu=$(cpu_s "$sim" 2>/dev/null || echo "?")
        srv_hwm=$(hwm_mib "$srv" 2>/dev/null || echo "?")
        echo "| $n | $vendor | $targets | $listening s | $refresh | $exported | $failed | $sim_hwm MiB | $sim_cpu s | $srv_hwm MiB |"
        if [ "$failed" != 0 ]; then grep 'collector failed' "$work/serve.log" | head -3 | cut -c1-400 >&2; fi
        kill "$srv" "$sim" 2>/dev/null || true
        wait "$srv" "$sim" 2>/dev/null || true
    done
done
