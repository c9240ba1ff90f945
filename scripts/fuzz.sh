#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (library instrumented, ASan + UBSan) in build/fuzz and
# runs them one after the other, each from its seed corpus in tests/fuzz/corpus/<name> (the
# target's name without "fuzz_") with its dictionary tests/fuzz/<name>.dict when there is one.
#
# SECONDS is the whole run, shared evenly by the targets that run (at least 1 s each): `fuzz.sh 60`
# gives each of the 8 targets 7 s. Name targets to run only those (`fuzz.sh 600 fuzz_url` gives
# fuzz_url ten minutes). New interesting inputs go to build/fuzz/corpus/<name> (never the
# repository) and are reused by the next run. A target that crashes, leaks, times out or breaks an
# invariant leaves its input in build/fuzz/crash-<target>/ (crash-*, leak-*, timeout-*, ...), the
# other targets still run, and the script fails at the end naming it.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]     (default 60 s; targets: fuzz_parse_event ...)
set -euo pipefail
cd "$(dirname "$0")/.."

all_targets=(fuzz_parse_event fuzz_parse_rules fuzz_retry_after fuzz_signature_headers fuzz_vendor_answer
             fuzz_url fuzz_network fuzz_store_rows)

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
  echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]  (targets: ${all_targets[*]})" >&2
  exit 2
fi
shift $(( $# > 0 ? 1 : 0 ))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for target in "${targets[@]}"; do
  if [[ " ${all_targets[*]} " != *" $target "* ]]; then
    echo "fuzz: unknown target \"$target\" (targets: ${all_targets[*]})" >&2
    exit 2
  fi
done

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
cmake --build "$build" --parallel "$(nproc)" --target "${targets[@]}"

each=$(( seconds / ${#targets[@]} ))
[ "$each" -ge 1 ] || each=1
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
failed=()
for target in "${targets[@]}"; do
  name="${target#fuzz_}"
  # The longest input worth trying: events and rules files are documents, the rest are short values.
  case "$name" in
    parse_event | parse_rules | vendor_answer) max_len=65536 ;;
    retry_after) max_len=512 ;;
    *) max_len=8192 ;;
  esac
  dict=()
  [ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
  artifacts="$build/crash-$target"
  mkdir -p "$build/corpus/$name" "$artifacts"
  echo "fuzz: $target for ${each} s" >&2
  if ! "$build/tests/fuzz/$target" \
      -max_total_time="$each" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" -print_final_stats=1 \
      "${dict[@]}" -artifact_prefix="$artifacts/" \
      "$build/corpus/$name" "tests/fuzz/corpus/$name"; then
    failed+=("$target")
  fi
  rmdir "$artifacts" 2>/dev/null || true  # kept only when it holds an input
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (inputs in $build/crash-<target>/; rerun one with" \
       "$build/tests/fuzz/<target> <file>)" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} target(s), no crash" >&2
