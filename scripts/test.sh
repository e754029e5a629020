#!/usr/bin/env bash
# The one command that installs what is needed, builds, and runs every test (CI runs exactly this).
#   ./scripts/test.sh               everything
#   ./scripts/test.sh -R Session    only tests whose name matches (ctest -R)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
# The fuzzers, with clang into build-fuzz/; ctest runs each briefly (Fuzz.*). Skipped by a filter without them.
if [ $# -eq 0 ] || [[ "$*" == *Fuzz* ]]; then ./scripts/fuzz.sh build; fi
# One throwaway PostgreSQL for the whole run (each test still creates its own database in it), torn
# down however the run ends. A cluster given in CHARGEHUB_TEST_PG is used as it is.
if [ -z "${CHARGEHUB_TEST_PG:-}" ]; then
  pg_cluster="$PWD/scripts/pg-test-cluster.sh"
  CHARGEHUB_TEST_PG=$("$pg_cluster" start)
  export CHARGEHUB_TEST_PG
  trap '"$pg_cluster" stop "$CHARGEHUB_TEST_PG"' EXIT
fi
cd "${BUILD_DIR:-build}"
# Tests wait on sockets and processes more than on the CPU: run more of them than there are cores.
ctest --output-on-failure --timeout 300 -j "${TEST_JOBS:-4}" "$@"
