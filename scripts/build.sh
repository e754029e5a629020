#!/usr/bin/env bash
# Configures and builds ChargeHub into ./build (or $BUILD_DIR). Extra arguments go to cmake --build.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} -DCHARGEHUB_SKIP="" >/dev/null
cmake --build "$BUILD_DIR" -j"$JOBS" "$@"
