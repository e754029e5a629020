#!/usr/bin/env bash
# The libFuzzer harnesses of fuzz/ (clang from Debian), built into build-fuzz/ (or $FUZZ_BUILD_DIR).
#
#   ./scripts/fuzz.sh build                        configure and build every fuzzer (installs clang if
#                                                  missing, when run as root)
#   ./scripts/fuzz.sh smoke <name> [seconds]       over its corpus, then `seconds` (default 5) of fuzzing;
#                                                  fails on any crash (ctest Fuzz.<name>; the corpus is
#                                                  only read)
#   ./scripts/fuzz.sh run <name> [seconds] [jobs]  a long run (default 600 s, 1 job): new inputs go to
#                                                  build-fuzz/corpus/<name>, crashes to build-fuzz/crashes/<name>
#   ./scripts/fuzz.sh merge <name>                 adds the inputs of a long run that reach new code to
#                                                  fuzz/corpus/<name> (commit them; keep the corpus small)
#   ./scripts/fuzz.sh list
#
# A crash input is a regression case: copy it into fuzz/corpus/<name>/ with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DIR=${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
NAMES=(frame_stream bodies payloads differential plugin_auth firmware)
# Whole inputs up to this size: a frame is at most 1043 bytes, a payload a few hundred.
MAX_LEN=${FUZZ_MAX_LEN:-4096}

usage() { sed -n '2,16p' "$0" >&2; exit 2; }
known() { local n; for n in "${NAMES[@]}"; do [ "$n" = "$1" ] && return 0; done; echo "fuzz.sh: no fuzzer '$1' (${NAMES[*]})" >&2; exit 2; }

build() {
  if ! command -v clang++ >/dev/null || [ -z "$(ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a 2>/dev/null)" ]; then
    if [ "$(id -u)" -ne 0 ]; then echo "fuzz.sh: run as root to install clang (apt: clang)" >&2; exit 1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev >/dev/null
  fi
  local gen=() launcher=()
  command -v ninja >/dev/null && gen=(-G Ninja)
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  [ -f "$DIR/CMakeCache.txt" ] && gen=()   # keep the generator it was made with
  # -O1 with line tables: fast to build, fast enough to fuzz, and asserts stay on.
  cmake -S "$ROOT" -B "$DIR" "${gen[@]}" "${launcher[@]}" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
    -DCHARGEHUB_FUZZ=ON -DCHARGEHUB_TESTS=OFF -DCHARGEHUB_BENCH=OFF >/dev/null
  nice cmake --build "$DIR" --target fuzzers -j"${JOBS:-$(nproc)}"
}

binary() {
  local bin="$DIR/bin/fuzz_$1"
  if [ ! -x "$bin" ]; then echo "fuzz.sh: $bin is not built (./scripts/fuzz.sh build)" >&2; exit 1; fi
  echo "$bin"
}

options() {
  local o=(-max_len="$MAX_LEN" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
  [ -f "$ROOT/fuzz/$1.dict" ] && o+=(-dict="$ROOT/fuzz/$1.dict")
  echo "${o[@]}"
}

smoke() {
  local name=$1 secs=${2:-5} bin tmp rc=0
  bin=$(binary "$name")
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  mkdir -p "$tmp/new"
  # The first corpus directory receives new inputs: a scratch one, so the kept corpus is only read.
  "$bin" $(options "$name") -max_total_time="$secs" -artifact_prefix="$tmp/" "$tmp/new" "$ROOT/fuzz/corpus/$name" \
    >"$tmp/log" 2>&1 || rc=$?
  if [ $rc -ne 0 ]; then
    tail -n 60 "$tmp/log"
    for f in "$tmp"/crash-* "$tmp"/leak-* "$tmp"/timeout-* "$tmp"/oom-*; do
      [ -f "$f" ] || continue
      echo "input $(basename "$f"):"; od -An -tx1 "$f" | head -n 20
    done
    echo "fuzz.sh: $name failed (exit $rc)" >&2
    return 1
  fi
  grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "$tmp/log" | tail -n 2
  echo "fuzz.sh: $name ok ($(ls "$ROOT/fuzz/corpus/$name" | wc -l) corpus inputs, ${secs} s)"
}

run() {
  local name=$1 secs=${2:-600} jobs=${3:-1} bin
  bin=$(binary "$name")
  mkdir -p "$DIR/corpus/$name" "$DIR/crashes/$name"
  "$bin" $(options "$name") -max_total_time="$secs" -jobs="$jobs" -workers="$jobs" \
    -artifact_prefix="$DIR/crashes/$name/" "$DIR/corpus/$name" "$ROOT/fuzz/corpus/$name"
}

merge() {
  local name=$1 bin
  bin=$(binary "$name")
  mkdir -p "$ROOT/fuzz/corpus/$name"
  "$bin" $(options "$name") -merge=1 "$ROOT/fuzz/corpus/$name" "$DIR/corpus/$name"
}

[ $# -ge 1 ] || usage
cmd=$1; shift
case "$cmd" in
  build) build ;;
  smoke) [ $# -ge 1 ] || usage; known "$1"; smoke "$@" ;;
  run) [ $# -ge 1 ] || usage; known "$1"; run "$@" ;;
  merge) [ $# -ge 1 ] || usage; known "$1"; merge "$1" ;;
  list) printf '%s\n' "${NAMES[@]}" ;;
  *) usage ;;
esac
