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
cd "${BUILD_DIR:-build}"
# Tests wait on sockets and processes more than on the CPU: run more of them than there are cores.
ctest --output-on-failure --timeout 300 -j "${TEST_JOBS:-4}" "$@"
