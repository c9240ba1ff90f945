#!/usr/bin/env bash
# The demo's run, shared by scripts/demo.sh and ctest: starts the example receiver on a free
# loopback port, runs the quickstart against it with a store file (every delivery kept in SQLite
# until it is final), prints what the dispatcher reported next to what the receiver verified, and
# stops everything. Exits 0 only when all seven events were delivered to the "all" rule, every
# delivery of both rules was reported delivered, the receiver verified and handled each of them,
# and the store was left holding none. Every wait is bounded; nothing is left running, and the
# temporary folder with the store file is removed.
# Usage: examples/run-demo.sh RECEIVER_BINARY QUICKSTART_BINARY
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 RECEIVER_BINARY QUICKSTART_BINARY" >&2
  exit 2
fi
receiver_bin=$1
quickstart_bin=$2
# The quickstart's rules: "all" takes the 7 event types, "oncall" the 3 incident.* and monitor.down.
expected_all=7
expected_total=11

work=$(mktemp -d "${TMPDIR:-/tmp}/statusstack-demo.XXXXXX")
# The quickstart's store: a SQLite file that holds each delivery until it is final (docs/durability.md).
store="$work/webhooks.db"
receiver_pid=""
cleanup() {
  if [ -n "$receiver_pid" ]; then
    kill "$receiver_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$receiver_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$receiver_pid" 2>/dev/null || true
    wait "$receiver_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM  # the EXIT trap still runs

fail() {
  echo "demo: FAILED: $*" >&2
  for f in receiver.out receiver.err quickstart.out quickstart.err; do
    if [ -s "$work/$f" ]; then
      echo "--- $f" >&2
      cat "$work/$f" >&2
    fi
  done
  exit 1
}

# A fresh secret shared by the sender and the receiver, passed in the environment (not argv,
# which anyone on the machine can read in ps).
STATUSSTACK_WEBHOOK_SECRET="demo-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
export STATUSSTACK_WEBHOOK_SECRET

started=$(date +%s%N)
# Created here, not by the background job's redirection, which may not have happened yet when
# the loop below first reads the file.
: >"$work/receiver.out"
"$receiver_bin" --port 0 --expect "$expected_total" --timeout 30 >"$work/receiver.out" 2>"$work/receiver.err" &
receiver_pid=$!

# Its first line says where it listens: "listening on http://127.0.0.1:PORT".
base=""
for _ in $(seq 100); do
  base=$(sed -n '1s/^listening on //p' "$work/receiver.out")
  [ -n "$base" ] && break
  kill -0 "$receiver_pid" 2>/dev/null || fail "the receiver exited before listening"
  sleep 0.1
done
[ -n "$base" ] || fail "the receiver did not say where it listens within 10 s"
echo "receiver:   examples/receiver listening on $base (checks every X-StatusStack-Signature)"
echo "dispatcher: examples/quickstart sends one event of each type to $base/all (every event)"
echo "            and $base/oncall (incident.* and monitor.down only),"
echo "            keeping each delivery in a store file until it is final ($store, removed at the end)"
echo

quickstart_rc=0
timeout 30 "$quickstart_bin" --store "$store" "$base/all" "$base/oncall" >"$work/quickstart.out" \
  2>"$work/quickstart.err" || quickstart_rc=$?

# The receiver exits by itself once it has handled every delivery; give it 10 s more at most.
receiver_rc=""
for _ in $(seq 100); do
  if ! kill -0 "$receiver_pid" 2>/dev/null; then
    receiver_rc=0
    wait "$receiver_pid" || receiver_rc=$?
    receiver_pid=""
    break
  fi
  sleep 0.1
done
elapsed_ms=$((($(date +%s%N) - started) / 1000000))

# Side by side, joined on the delivery id: the dispatcher's report, then what the receiver did.
grep -E '^(delivered|failed) ' "$work/quickstart.out" | sort -k3,3 -k4,4 >"$work/reports" || true
awk '
  FNR == NR {
    if ($1 == "accepted") {
      id = $2; path[id] = $3; summary = ""
      for (i = 5; i <= NF; ++i) summary = summary (i > 5 ? " " : "") $i
      what[id] = summary
    }
    next
  }
  {
    id = $2; details = ""
    for (i = 5; i <= NF; ++i) details = details (i > 5 ? " " : "") $i
    sub(/, [0-9]+ attempt\(s\)/, "", details)
    receiver = (id in path) ? "verified " path[id] ": " what[id] : "NOT RECEIVED"
    printf "%-14s %-7s %-25s %-9s %-16s %s\n", "dlv_.." substr(id, length(id) - 7), $3, $4, $1, details, receiver
  }
' "$work/receiver.out" "$work/reports" >"$work/table"
printf "%-14s %-7s %-25s %-26s %s\n" "delivery" "rule" "event" "dispatcher reported" "receiver"
cat "$work/table"
echo
grep -E '^(store|summary)' "$work/quickstart.out" | sed "s|$work/||" || true
echo

[ "$quickstart_rc" -eq 0 ] || fail "the quickstart exited with $quickstart_rc"
[ "$receiver_rc" = 0 ] || fail "the receiver did not handle $expected_total deliveries (exit ${receiver_rc:-still running})"
grep -q '^rejected ' "$work/receiver.out" && fail "the receiver rejected requests"
delivered=$(grep -c '^delivered ' "$work/reports" || true)
[ "$delivered" -eq "$expected_total" ] || fail "$delivered of $expected_total deliveries reported delivered"
grep -q 'NOT RECEIVED' "$work/table" && fail "a delivery reported delivered never reached the receiver"
grep -q '^store .*: 0 deliveries resumed from an earlier run$' "$work/quickstart.out" ||
  fail "the quickstart did not open its store, or found deliveries in a new one"
grep -q '^summary: .*, 0 left in the store$' "$work/quickstart.out" || fail "the quickstart left deliveries in its store"
all_types=$(awk '$1 == "accepted" && $3 == "/all" { print $4 }' "$work/receiver.out" | sort -u | wc -l)
[ "$all_types" -eq "$expected_all" ] || fail "$all_types of $expected_all event types verified on /all"

echo "demo: all $expected_all events delivered and verified ($expected_total deliveries to 2 rules, signatures checked by the receiver) in $elapsed_ms ms"
