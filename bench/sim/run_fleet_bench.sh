#!/bin/sh
# Fleet-mode capacity: COUNT chargers x 20 ports (default 10,000) against chargehub-sim-sink on loopback
# for DURATION real seconds at the scenario's time scale. Prints the fleet summary and the sink's CPU.
#   bench/sim/run_fleet_bench.sh [BUILD_DIR] [COUNT] [DURATION] [TIME_SCALE]
set -eu
BUILD=${1:-build}
COUNT=${2:-10000}
DURATION=${3:-60}
SCALE=${4:-60}
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
trap 'kill "$SINK" 2>/dev/null || true; rm -rf "$TMP"' EXIT
"$BUILD/bin/chargehub-sim-sink" --port 0 --port-file "$TMP/port" --stats-s 10 2>"$TMP/sink.log" &
SINK=$!
while [ ! -s "$TMP/port" ]; do sleep 0.1; done
PORT=$(cat "$TMP/port")
"$BUILD/bin/chargehub-sim" fleet --scenario "$HERE/fleet-10k.json" --bridge "127.0.0.1:$PORT" \
  --count "$COUNT" --duration "$DURATION" --time-scale "$SCALE" --summary-json "$TMP/summary.json"
TICKS=$(getconf CLK_TCK)
SINK_CPU=$(awk -v t="$TICKS" '{printf "%.1f", ($14+$15)/t}' "/proc/$SINK/stat")
SINK_RSS=$(awk '/VmHWM/ {print $2/1024 " MB"}' "/proc/$SINK/status")
kill "$SINK"; wait "$SINK" 2>/dev/null || true
tail -2 "$TMP/sink.log"
echo "sink: ${SINK_CPU} s CPU, peak RSS ${SINK_RSS}"
cat "$TMP/summary.json"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
