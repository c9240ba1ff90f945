#!/usr/bin/env bash
# Builds and runs every test. Usage: scripts/test.sh [preset]   (dev, asan, tsan, release; default dev)
# Installs what is missing first, so it works on a fresh Debian 12 machine.
set -euo pipefail
cd "$(dirname "$0")/.."

preset="${1:-dev}"
scripts/install-deps.sh

jobs="$(nproc)"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" --parallel "$jobs"
ctest --preset "$preset" --parallel "$jobs"
