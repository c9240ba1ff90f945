#!/usr/bin/env bash
# The demo: installs what is missing, builds, and shows the library at work.
# Usage: scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake --preset dev >/dev/null
cmake --build --preset dev --parallel "$(nproc)" --target statusstack-webhook >/dev/null

cli=build/dev/src/cli/statusstack-webhook
echo "== $($cli --version)"
$cli --help
