#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (library instrumented, ASan + UBSan) in build/fuzz and
# runs fuzz_parse_event for the given number of seconds (default 60), starting from the seed
# corpus in tests/fuzz/corpus/parse_event. New interesting inputs go to build/fuzz/corpus/ (not
# the repository); a crash leaves build/fuzz/crash-* and makes this script fail.
# Usage: scripts/fuzz.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
scripts/install-deps.sh

build=build/fuzz
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
flags+=" -fsanitize-ignorelist=$PWD/tests/fuzz/ubsan-ignorelist.txt"  # see the file: RapidJSON 1.1.0
CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DSTATUSSTACK_WEBHOOKS_FUZZ=ON \
  -DSTATUSSTACK_WEBHOOKS_BUILD_TESTS=OFF -DSTATUSSTACK_WEBHOOKS_BUILD_EXAMPLES=OFF \
  -DSTATUSSTACK_WEBHOOKS_BUILD_CLI=OFF -DSTATUSSTACK_WEBHOOKS_INSTALL=OFF \
  -DSTATUSSTACK_WEBHOOKS_PACKAGE_TESTS=OFF >/dev/null
cmake --build "$build" --parallel "$(nproc)" --target fuzz_parse_event

mkdir -p "$build/corpus/parse_event"
echo "fuzz: fuzz_parse_event for ${seconds} s" >&2
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
"$build/tests/fuzz/fuzz_parse_event" \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
  -dict=tests/fuzz/parse_event.dict -artifact_prefix="$build/" \
  "$build/corpus/parse_event" tests/fuzz/corpus/parse_event
