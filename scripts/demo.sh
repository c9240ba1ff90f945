#!/usr/bin/env bash
# The demo, the README's first command: installs what is missing, builds the two examples, then
# (examples/run-demo.sh) starts the example receiver on a free loopback port, runs the quickstart
# against it with a store file in a temporary folder (removed at the end), shows the dispatcher's
# reports next to what the receiver verified, and stops everything. Exits 0 only when all seven
# events were delivered and verified, and the store holds none of them at the end. The run itself
# is the same script ctest runs (example_quickstart_delivers_every_event_to_the_receiver).
# Usage: scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

scripts/install-deps.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "demo: building the library and the examples in build/dev (the first time takes a few minutes)"
if ! { cmake --preset dev &&
  cmake --build --preset dev --parallel "$(nproc)" --target example_receiver example_quickstart; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "demo: the build failed (output above)" >&2
  exit 1
fi

examples/run-demo.sh build/dev/examples/receiver/receiver build/dev/examples/quickstart/quickstart
echo "demo: done in $(($(date +%s) - start)) s"
