#!/usr/bin/env bash
# Benchmarks of statusstack-webhooks next to this machine's limits. See docs/performance.md.
#
#   bench/run.sh [--rounds N] [--seconds S] [--concurrency C] [--payload-bytes B]
#                [--sweep-seconds S] [--sweep-rounds N] [--no-sweep] [--no-micro] [--no-store]
#                [--no-pg] [--pg-events N] [--store-dir DIR] [--chart FILE]
#                [--chart-only]   (only redraw the chart from the last sweep's results)
#
# 1. Installs what it needs from Debian if missing (nginx, wrk, gnuplot-nox, libbenchmark-dev, jq,
#    golang-go, nodejs, npm), builds the release preset, the Go sender (bench/go_sender, `go build`
#    into build/release/bench, its caches in build/release) and installs the Node sender's locked
#    undici (bench/node_sender, `npm ci`); without the npm registry the Node sender is left out.
# 2. Starts a private nginx on 127.0.0.1 (own prefix in a temp dir, free ports, access_log off) as a
#    keep-alive receiver answering 200 to any POST, over HTTP and over HTTPS (generated certificate).
# 3. Rounds, alternating the order of the senders: wrk (the receiver's ceiling with the same body
#    size, headers and connections), raw_curl_multi (libcurl by hand), webhook_bench (the library
#    with its defaults), webhook_bench with one I/O thread, and the senders a user would write
#    instead: Go net/http (go_sender) and Node undici Pool (node_sender), over HTTP and HTTPS. Prints
#    each rate, its ratio to the same round's wrk (best and worst over the rounds), the library's
#    defaults to wrk, raw_curl_multi, Go and Node, CPU per event of sender and receiver and the
#    capacity that follows; then dispatch() latency from a paced producer, with controls.
# 4. A concurrency sweep (1..256) over HTTP of every sender, for the chart (gnuplot, PNG).
# 5. Micro-benchmarks (signing, events, dispatch()) and the memory benchmark.
# 6. The durable store (bench_store, about 90 s): a SQLite file in --store-dir (/var/tmp), each
#    figure next to its target, met or missed; its delivery figure uses the same nginx over HTTP.
# 6b. The PostgreSQL store (bench_pg, about 2 minutes; only when the build has it, i.e. libpq-dev, and
#    Debian's postgresql server is installed): its own PostgreSQL cluster in a temp dir under
#    --store-dir; --pg-events deliveries over the same nginx (HTTP) with the in-memory Dispatcher,
#    the SQLite store and the PostgreSQL store with 1, 2 and 3 instance processes; the queue's
#    enqueue and claim + finish rates.
# 7. One table of every target of issue 16 from this run's results.
# Everything is bounded in time; nginx is stopped on exit. Results go to build/release/bench-results/.
set -euo pipefail

rounds=3
seconds=3
concurrency=64
payload=600
sweep_seconds=2
sweep_rounds=2
sweep=1
micro=1
store=1
pg=1
pg_events=30000
store_dir=/var/tmp
chart_only=0
root=$(cd "$(dirname "$0")/.." && pwd)
chart="$root/docs/performance-concurrency.png"

while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --payload-bytes) payload=$2; shift 2 ;;
    --sweep-seconds) sweep_seconds=$2; shift 2 ;;
    --sweep-rounds) sweep_rounds=$2; shift 2 ;;
    --no-sweep) sweep=0; shift ;;
    --no-micro) micro=0; shift ;;
    --no-store) store=0; shift ;;
    --no-pg) pg=0; shift ;;
    --pg-events) pg_events=$2; shift 2 ;;
    --store-dir) store_dir=$2; shift 2 ;;
    --chart) chart=$2; shift 2 ;;
    --chart-only) chart_only=1; shift ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
# wrk takes whole seconds only.
for value in "$rounds" "$seconds" "$sweep_seconds" "$sweep_rounds" "$concurrency" "$payload" "$pg_events"; do
  case "$value" in ''|*[!0-9]*) echo "run.sh: expected a whole number, got \"$value\"" >&2; exit 2 ;; esac
done

bin="$root/build/release/bench"
out="$root/build/release/bench-results"

# The chart of the concurrency sweep (events/s against concurrency), from $out/sweep.dat.
render_chart() {
  local title
  title=$(sed -n 's/^# title: //p' "$out/sweep.dat")
  gnuplot <<EOF
set terminal pngcairo size 720,420 font "sans,9" noenhanced
set output "$chart"
set title "$title"
set xlabel "concurrency (connections / transfers in flight)"
set ylabel "events per second"
set logscale x 2
set xrange [0.8:320]
set yrange [0:*]
set grid
set key top left horizontal maxrows 2 width 1
set offsets 0, 0, graph 0.15, 0
set format y "%.0s%c"
plot "$out/sweep.dat" using 1:2 with linespoints lw 2 pt 7 title "wrk (ceiling)", \
     "$out/sweep.dat" using 1:4 with linespoints lw 2 pt 13 title "webhook_bench, defaults", \
     "$out/sweep.dat" using 1:5 with linespoints lw 2 pt 5 title "webhook_bench, 1 I/O thread", \
     "$out/sweep.dat" using 1:3 with linespoints lw 2 pt 9 title "raw_curl_multi (by hand)", \
     "$out/sweep.dat" using 1:6 with linespoints lw 2 pt 11 title "Go net/http", \
     "$out/sweep.dat" using 1:(\$7 > 0 ? \$7 : 1/0) with linespoints lw 2 pt 3 title "Node undici"
EOF
}

if [ "$chart_only" -eq 1 ]; then
  render_chart
  echo "chart: $chart"
  exit 0
fi

# --- 1. tools and build ---------------------------------------------------------------------------
need=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v wrk >/dev/null || need+=(wrk)
command -v gnuplot >/dev/null || need+=(gnuplot-nox)
command -v jq >/dev/null || need+=(jq)
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
[ -f /usr/include/benchmark/benchmark.h ] || need+=(libbenchmark-dev)
command -v go >/dev/null || need+=(golang-go)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  as_root=""
  [ "$(id -u)" -eq 0 ] || as_root="sudo"
  # Installing nginx must not start the system's nginx: this script runs its own.
  policy=/usr/sbin/policy-rc.d
  added_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $as_root tee "$policy" >/dev/null && $as_root chmod +x "$policy" && added_policy=1
  fi
  $as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq "${need[@]}" >/dev/null
  [ "$added_policy" -eq 0 ] || $as_root rm -f "$policy"
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

echo "== building (release preset)"
(cd "$root" && cmake --preset release >/dev/null &&
  cmake --build --preset release -j2 --target webhook_bench raw_curl_multi bench_memory bench_signature \
    bench_events bench_dispatch bench_store >/dev/null)
# bench_pg exists only when the build has the PostgreSQL store (libpq-dev found at configure time).
pg_built=0
if [ "$pg" -eq 1 ] && grep -q '^STATUSSTACK_WEBHOOKS_POSTGRES:BOOL=ON' "$root/build/release/CMakeCache.txt"; then
  (cd "$root" && cmake --build --preset release -j2 --target bench_pg >/dev/null) && pg_built=1
fi
mkdir -p "$out"
rm -f "$out"/*.jsonl

# The senders a user would write instead of the library. Go: standard library only, so nothing is
# fetched (GOPROXY=off); its caches stay in the build tree. Node: undici at the version locked in
# package-lock.json, installed into bench/node_sender/node_modules only when it is not there yet.
echo "== building the Go sender and installing the Node sender's undici"
(cd "$root/bench/go_sender" &&
  GOPATH="$root/build/release/go" GOCACHE="$root/build/release/go-cache" GOPROXY=off GOFLAGS='' CGO_ENABLED=0 \
    timeout 600 go build -o "$bin/go_sender" .)
senders=(wrk raw lib lib1 go)
node_dir="$root/bench/node_sender"
undici_locked=$(jq -r '.packages["node_modules/undici"].version' "$node_dir/package-lock.json")
if ! node -e 'const [major, minor] = process.versions.node.split(".").map(Number);
              process.exit(major > 18 || (major === 18 && minor >= 17) ? 0 : 1)'; then
  echo "run.sh: node $(node --version) is older than undici $undici_locked supports (18.17): the Node sender is left out" >&2
elif [ "$(jq -r .version "$node_dir/node_modules/undici/package.json" 2>/dev/null)" = "$undici_locked" ] ||
  (cd "$node_dir" && timeout 180 env npm_config_cache="$root/build/release/npm-cache" \
    npm ci --no-audit --no-fund --fetch-retries 1 >"$out/npm.log" 2>&1); then
  senders+=(node)
else
  echo "run.sh: npm could not install undici $undici_locked (no registry?, see $out/npm.log): the Node sender is left out" >&2
fi

# --- 2. the private nginx -------------------------------------------------------------------------
tmp=$(mktemp -d /tmp/ssw-bench.XXXXXX)
chmod 755 "$tmp"  # nginx workers may run as nobody
nginx_pid=""
cleanup() {
  if [ -n "$nginx_pid" ] && kill -0 "$nginx_pid" 2>/dev/null; then
    kill "$nginx_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$nginx_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$nginx_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  local port
  for _ in $(seq 100); do
    port=$((20000 + RANDOM % 20000))
    if ! ss -Htln "sport = :$port" | grep -q .; then echo "$port"; return; fi
  done
  echo "run.sh: no free port found" >&2; exit 1
}
http_port=$(free_port)
https_port=$(free_port)
while [ "$https_port" = "$http_port" ]; do https_port=$(free_port); done

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" >/dev/null 2>&1
chmod 644 "$tmp/key.pem"

mkdir -p "$tmp/logs"
cat >"$tmp/nginx.conf" <<EOF
worker_processes 2;
error_log $tmp/logs/error.log warn;
pid $tmp/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $tmp/client_body;
  proxy_temp_path $tmp/proxy;
  fastcgi_temp_path $tmp/fastcgi;
  uwsgi_temp_path $tmp/uwsgi;
  scgi_temp_path $tmp/scgi;
  # Keep every connection for the whole run (nginx closes after 1000 requests by default).
  keepalive_requests 100000000;
  keepalive_timeout 120s;
  # The body is read (into memory) and dropped before the answer, so the connection stays usable.
  client_body_buffer_size 64k;
  client_max_body_size 1m;
  server {
    listen 127.0.0.1:$http_port backlog=4096;
    listen 127.0.0.1:$https_port ssl backlog=4096;
    ssl_certificate $tmp/cert.pem;
    ssl_certificate_key $tmp/key.pem;
    location / { return 200; }
  }
}
EOF
"$nginx_bin" -p "$tmp" -c "$tmp/nginx.conf" -g "daemon off;" 2>"$tmp/logs/stderr.log" &
nginx_pid=$!
http_url="http://127.0.0.1:$http_port/hook"
https_url="https://127.0.0.1:$https_port/hook"
for _ in $(seq 100); do
  if curl -s -o /dev/null --max-time 1 -d x "$http_url" && curl -s -o /dev/null --max-time 1 --cacert "$tmp/cert.pem" -d x "$https_url"; then
    break
  fi
  sleep 0.1
done
curl -sf -o /dev/null --max-time 2 --cacert "$tmp/cert.pem" -d x "$https_url" || {
  echo "run.sh: nginx did not come up" >&2; cat "$tmp/logs/stderr.log" "$tmp/logs/error.log" >&2; exit 1; }
echo "== nginx $("$nginx_bin" -v 2>&1 | sed 's/.*\///') on $http_url and $https_url"

# wrk sends the same body size and the same headers (static values) as the senders.
body_bytes=$(timeout 60 "$bin/webhook_bench" --url "$http_url" --events 1 --concurrency 1 --payload-bytes "$payload" | jq .payload_bytes)
cat >"$tmp/post.lua" <<EOF
wrk.method = "POST"
wrk.body = string.rep("x", $body_bytes)
wrk.headers["Content-Type"] = "application/json"
wrk.headers["User-Agent"] = "statusstack-webhooks/0.1.0"
wrk.headers["X-StatusStack-Event"] = "incident.updated"
wrk.headers["X-StatusStack-Delivery"] = "dlv_0123456789abcdefghjkmnpqrs"
wrk.headers["X-StatusStack-Timestamp"] = "1700000000"
wrk.headers["X-StatusStack-Signature"] = string.rep("ab", 32)
EOF

# CPU time (clock ticks) nginx's workers used so far: the receiver's cost per request.
nginx_ticks() {
  local total=0 pid
  for pid in $(pgrep -P "$nginx_pid"); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

# --- 3. rounds ------------------------------------------------------------------------------------
# Each runner prints one JSON line with at least events_per_sec.
run_wrk() {  # url concurrency seconds
  local threads=$(( $2 < 2 ? $2 : 2 ))
  local TIMEFORMAT='%U %S'
  { time timeout $(( $3 + 30 )) wrk -t"$threads" -c"$2" -d"${3}s" -s "$tmp/post.lua" "$1" >"$tmp/wrk.out" 2>&1 ; } \
    2>"$tmp/wrk.time" || true
  awk -v url="$1" -v c="$2" '
    FNR == NR { cpu = ($1 + $2) * 1e6; next }
    /requests in/ { requests = $1; gsub(/s,?/, "", $4); secs = $4 }
    /^Requests\/sec:/ { rps = $2 }
    /Non-2xx|Socket errors/ { errors = errors $0 " " }
    END {
      printf "{\"tool\":\"wrk\",\"url\":\"%s\",\"concurrency\":%d,\"seconds\":%s,\"events_per_sec\":%.0f,", url, c, secs + 0, rps + 0
      printf "\"delivered\":%d,\"cpu_us_per_event\":%.2f,\"errors\":\"%s\"}\n", requests, (requests > 0 ? cpu / requests : 0), errors
    }' "$tmp/wrk.time" "$tmp/wrk.out"
}
run_raw() {  # url concurrency seconds
  timeout $(( $3 + 60 )) "$bin/raw_curl_multi" --url "$1" --concurrency "$2" --events 20000000 \
    --max-seconds "$3" --payload-bytes "$payload" --cacert "$tmp/cert.pem" || true
}
run_lib() {  # url concurrency seconds [more webhook_bench flags]
  timeout $(( $3 + 60 )) "$bin/webhook_bench" --url "$1" --concurrency "$2" --events 20000000 \
    --max-seconds "$3" --payload-bytes "$payload" --cacert "$tmp/cert.pem" "${@:4}" || true
}
# run_lib is the library's defaults (io_threads 0: one I/O thread per hardware thread, up to 4, the
# endpoint's connections split between them); run_lib1 has one I/O thread, one curl loop like
# raw_curl_multi's.
run_lib1() { run_lib "$@" --io-threads 1; }
# What a user would write instead of the library: Go net/http and Node undici (bench/*_sender).
run_go() {  # url concurrency seconds
  timeout $(( $3 + 60 )) "$bin/go_sender" --url "$1" --concurrency "$2" --events 20000000 \
    --max-seconds "$3" --payload-bytes "$payload" --cacert "$tmp/cert.pem" || true
}
run_node() {  # url concurrency seconds
  timeout $(( $3 + 60 )) node "$node_dir/sender.mjs" --url "$1" --concurrency "$2" --events 20000000 \
    --max-seconds "$3" --payload-bytes "$payload" --cacert "$tmp/cert.pem" || true
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== $rounds rounds of ${seconds}s per sender, concurrency $concurrency, body $body_bytes bytes"
for round in $(seq "$rounds"); do
  order="${senders[*]}"
  [ $((round % 2)) -eq 1 ] || order=$(printf '%s\n' "${senders[@]}" | tac | tr '\n' ' ')
  for scheme in http https; do
    url=$http_url; [ "$scheme" = https ] && url=$https_url
    for tool in $order; do
      before=$(nginx_ticks)
      line=$("run_$tool" "$url" "$concurrency" "$seconds" | tail -n 1)
      after=$(nginx_ticks)
      [ -n "$line" ] || line='{"events_per_sec":0,"delivered":0}'
      line=$(echo "$line" | jq -c --arg s "$scheme" --argjson r "$round" --arg t "$tool" \
        --argjson ticks "$((after - before))" --argjson hz "$(getconf CLK_TCK)" \
        '. + {scheme:$s, round:$r, runner:$t,
              receiver_cpu_us_per_event: (if .delivered > 0 then ($ticks * 1e6 / $hz / .delivered * 100 | round / 100) else 0 end)}')
      echo "$line" >>"$out/rounds.jsonl"
      echo "$line" | jq -r '"   round \(.round) \(.scheme)\t\(.runner)\t\(.events_per_sec) events/s\tsender \(.cpu_us_per_event) us/event\treceiver \(.receiver_cpu_us_per_event) us/event"' 
    done
  done
done

summary="$out/summary.md"
# The runners of this run as a JSON list, and their names in the tables.
runners=$(printf '%s\n' "${senders[@]}" | jq -R . | jq -s -c .)
io_threads=$(jq -s 'map(select(.runner=="lib")) | first | .io_threads // 0' "$out/rounds.jsonl")
labels='{"wrk":"wrk","raw":"raw_curl_multi","lib":"webhook_bench, defaults ('"$io_threads"' I/O threads)","lib1":"webhook_bench, 1 I/O thread",
         "go":"go_sender (Go net/http)","node":"node_sender (Node undici Pool)"}'
{
  echo "$(date -u +%Y-%m-%dT%H:%MZ); $(nproc) cores: $(awk -F: '/model name/ {gsub(/^ +/, "", $2); print $2; exit}' /proc/cpuinfo);" \
    "kernel $(uname -r); load average before the rounds $load_before, after $(cut -d' ' -f1-3 /proc/loadavg);" \
    "$(curl-config --version 2>/dev/null || curl --version | head -n 1 | cut -d' ' -f1-2); $(openssl version | cut -d' ' -f1-2);" \
    "nginx $("$nginx_bin" -v 2>&1 | sed 's/.*\///'); $(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2);" \
    "$(go version | cut -d' ' -f3); node $(node --version)$(case " ${senders[*]} " in *" node "*) echo ", undici $undici_locked" ;; esac)"
  echo
  echo "| scheme | sender | events/s best | events/s worst | ratio to wrk best | ratio to wrk worst | sender CPU µs/event (median) | receiver CPU µs/event (median) |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  jq -s -r --argjson runners "$runners" --argjson names "$labels" '
    group_by(.scheme)[] as $s
    | ($s | map(select(.runner=="wrk")) | map({key:(.round|tostring), value:.events_per_sec}) | from_entries) as $wrk
    | $runners[] as $t
    | ($s | map(select(.runner==$t))) as $rows
    | ($rows | map(.events_per_sec)) as $eps
    | ($rows | map(if ($wrk[.round|tostring] // 0) > 0 then .events_per_sec / $wrk[.round|tostring] else 0 end)) as $ratio
    | def median: sort | .[length / 2 | floor];
    "| \($s[0].scheme) | \($names[$t]) | \($eps|max|floor) | \($eps|min|floor) | \($ratio|max*100|round/100) | \($ratio|min*100|round/100) | \($rows|map(.cpu_us_per_event)|median) | \($rows|map(.receiver_cpu_us_per_event)|median) |"
  ' "$out/rounds.jsonl"
  echo
  echo "The library with its defaults (webhook_bench, $io_threads I/O threads here) next to each other sender: its rate"
  echo "divided by the other's in the same round, best and worst over the rounds, and the target of issue 16"
  echo "(met: in every round; missed: in none)."
  echo
  echo "| scheme | webhook_bench to | ratio best | ratio worst | target | |"
  echo "| --- | --- | ---: | ---: | ---: | --- |"
  jq -s -r --argjson runners "$runners" --argjson names "$labels" '
    group_by(.scheme)[] as $s
    | ($s | map(select(.runner=="lib"))) as $lib
    | ({"wrk":0.5,"raw":1.5,"go":1.8,"node":1.8} | to_entries[]) as {key:$t, value:$target}
    | select($runners | index($t))
    | [ $lib[] as $l
        | ($s | map(select(.runner==$t and .round==$l.round)) | first | .events_per_sec // 0) as $other
        | select($other > 0) | $l.events_per_sec / $other ] as $r
    | if ($r | length) == 0 then "| \($s[0].scheme) | \($names[$t]) | - | - | ≥ \($target) | no figure |"
      else "| \($s[0].scheme) | \($names[$t]) | \($r|max*100|round/100) | \($r|min*100|round/100) | ≥ \($target) | \(if ($r|min) >= $target then "met" elif ($r|max) < $target then "missed" else "met in some rounds" end) |"
      end
  ' "$out/rounds.jsonl"
  echo
  echo "Capacity from CPU per event (medians; what the rates would be on two otherwise idle cores): a sender"
  echo "cannot go faster than its busiest thread allows (1 core), nor than sender + receiver CPU fit in $(nproc) cores."
  echo "(wrk: 2 threads; webhook_bench: its I/O threads' CPU, without the producer's, split evenly between them;"
  echo "Go: its CPU spread over GOMAXPROCS threads; Node: all of it counted on its one JS thread.)"
  echo
  echo "| scheme | sender | busiest thread µs/event | sender + receiver µs/event | capacity events/s | ratio to wrk |"
  echo "| --- | --- | ---: | ---: | ---: | ---: |"
  jq -s -r --argjson cores "$(nproc)" --argjson runners "$runners" --argjson names "$labels" '
    def median: sort | .[length / 2 | floor];
    group_by(.scheme)[] as $s
    | [ $runners[] as $t
        | ($s | map(select(.runner==$t))) as $rows
        | ($rows | map(.cpu_us_per_event) | median) as $cpu
        | ($rows | map(.receiver_cpu_us_per_event) | median) as $recv
        | (if $t == "wrk" then $cpu / 2
           elif $t == "lib" or $t == "lib1" then
             ($rows | map((.cpu_us_per_event - .producer_cpu_us_per_event) / ([.io_threads, 1] | max)) | median)
           elif $t == "go" then ($rows | map(.cpu_us_per_event / ([.gomaxprocs // 1, $cores] | min)) | median)
           else $cpu end) as $thread
        | { t: $t, thread: $thread, total: ($cpu + $recv),
            cap: (if $thread > 0 then [1e6 / $thread, $cores * 1e6 / ($cpu + $recv)] | min else 0 end) } ] as $caps
    | ($caps | map(select(.t=="wrk"))[0].cap) as $wrk
    | $caps[]
    | "| \($s[0].scheme) | \($names[.t]) | \(.thread*100|round/100) | \(.total*100|round/100) | \(.cap|floor) | \(if $wrk > 0 then .cap / $wrk * 100 | round / 100 else "-" end) |"
  ' "$out/rounds.jsonl"
  echo
  echo "webhook_bench, per round (dispatch() ns and delivery latency ms; the other senders' latency is the request's time on the wire):"
  echo
  echo "| scheme | round | dispatch p50 | dispatch p99 | dispatch max | producer preempted | producer CPU µs/event | latency p50 | latency p99 | peak RSS MiB | raw_curl_multi latency p50 / p99 | go_sender latency p50 / p99 | node_sender latency p50 / p99 |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  jq -s -r '
    def latency($t): map(select(.runner==$t and .latency_ms_p50 != null)) | map({key:"\(.scheme)\(.round)", value:"\(.latency_ms_p50) / \(.latency_ms_p99)"}) | from_entries;
    latency("raw") as $raw | latency("go") as $go | latency("node") as $node
    | map(select(.runner=="lib"))[]
    | "| \(.scheme) | \(.round) | \(.dispatch_ns_p50) | \(.dispatch_ns_p99) | \(.dispatch_ns_max) | \(.producer_preempted) | \(.producer_cpu_us_per_event) | \(.latency_ms_p50) | \(.latency_ms_p99) | \(.peak_rss_mib) | \($raw["\(.scheme)\(.round)"] // "-") | \($go["\(.scheme)\(.round)"] // "-") | \($node["\(.scheme)\(.round)"] // "-") |"
  ' "$out/rounds.jsonl"
} >"$summary"
echo
cat "$summary"

# --- 3b. dispatch() latency from a paced producer ---------------------------------------------------
# A service dispatching at a moderate rate: the I/O threads are idle between events. 2,000 events/s
# over HTTP, once per round; then 1,000 slots/s with controls (webhook_bench --controls): first a
# to_json() of the event (the probe: what any code pays first after the producer's sleep), then
# dispatch(), then a second dispatch() at once (the same call with warm caches), 2,000 events/s again.
echo
echo "== dispatch() latency with a producer paced at 2,000 events/s (HTTP)"
for round in $(seq "$rounds"); do
  for pace in "2000 0" "1000 1"; do
    # shellcheck disable=SC2086
    set -- $pace
    timeout $(( seconds + 60 )) "$bin/webhook_bench" --url "$http_url" --concurrency "$concurrency" --events 20000000 \
      --max-seconds "$seconds" --rate "$1" --controls "$2" --payload-bytes "$payload" | tail -n 1 |
      jq -c --argjson r "$round" '. + {round:$r}' | tee -a "$out/paced.jsonl" |
      jq -r 'if .probe_ns_p50 > 0
             then "   round \(.round), 1,000 slots/s with controls: to_json probe p50 \(.probe_ns_p50) ns, p99 \(.probe_ns_p99) ns; then dispatch p50 \(.dispatch_ns_p50) ns, p99 \(.dispatch_ns_p99) ns; second dispatch p50 \(.second_call_ns_p50) ns, p99 \(.second_call_ns_p99) ns"
             else "   round \(.round), 2,000/s: dispatch p50 \(.dispatch_ns_p50) ns, p99 \(.dispatch_ns_p99) ns, max \(.dispatch_ns_max) ns; delivery latency p50 \(.latency_ms_p50) ms, p99 \(.latency_ms_p99) ms" end'
  done
done

# --- 4. concurrency sweep -------------------------------------------------------------------------
if [ "$sweep" -eq 1 ]; then
  echo
  echo "== concurrency sweep over HTTP, ${sweep_seconds}s per point"
  cpu=$(awk -F: '/model name/ {gsub(/^ +/, "", $2); print $2; exit}' /proc/cpuinfo)
  {
    printf '# title: Events/s vs concurrency: HTTP/1.1 keep-alive, %s-byte body, nginx on loopback\\n' "$body_bytes"
    printf '%s cores (%s), best of %s runs of %ss, %s\n' "$(nproc)" "$cpu" "$sweep_rounds" "$sweep_seconds" "$(date -u +%Y-%m-%d)"
    printf '# concurrency wrk raw_curl_multi webhook_bench-defaults webhook_bench-1-io-thread go node (events/s; 0: not run)\n'
  } >"$out/sweep.dat"
  for c in 1 2 4 8 16 32 64 128 256; do
    declare -A best=([wrk]=0 [raw]=0 [lib]=0 [lib1]=0 [go]=0 [node]=0)
    for round in $(seq "$sweep_rounds"); do
      order="${senders[*]}"
      [ $((round % 2)) -eq 1 ] || order=$(printf '%s\n' "${senders[@]}" | tac | tr '\n' ' ')
      for tool in $order; do
        eps=$("run_$tool" "$http_url" "$c" "$sweep_seconds" | tail -n 1 | jq '.events_per_sec // 0 | floor')
        [ "${eps:-0}" -gt "${best[$tool]}" ] && best[$tool]=$eps
      done
    done
    printf '%s %s %s %s %s %s %s\n' "$c" "${best[wrk]}" "${best[raw]}" "${best[lib]}" "${best[lib1]}" "${best[go]}" \
      "${best[node]}" | tee -a "$out/sweep.dat"
  done
  render_chart
  echo "chart: $chart"
fi

# --- 5. micro-benchmarks and memory ---------------------------------------------------------------
if [ "$micro" -eq 1 ]; then
  echo
  echo "== signing (1 KiB)"
  timeout 300 "$bin/bench_signature" --benchmark_filter='/1024' --benchmark_min_time=0.5 \
    --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
    --benchmark_out="$out/signature.json" --benchmark_out_format=json >"$out/signature.log" 2>&1
  jq -r '
    (.benchmarks | map(select(.aggregate_name=="median")) | map({key:.run_name, value:.cpu_time}) | from_entries) as $t
    | "Signer_sign_into/1024 \($t["Signer_sign_into/1024"]|floor) ns, OpenSSL HMAC() \($t["OpenSSL_HMAC_oneshot/1024"]|floor) ns, EVP_MAC reused \($t["OpenSSL_EVP_MAC_reused/1024"]|floor) ns",
      "speed vs HMAC(): \($t["OpenSSL_HMAC_oneshot/1024"] / $t["Signer_sign_into/1024"] * 100 | round / 100)x (sign_into), \($t["OpenSSL_HMAC_oneshot/1024"] / $t["Signer_sign/1024"] * 100 | round / 100)x (sign)",
      "speed vs reused EVP_MAC: \($t["OpenSSL_EVP_MAC_reused/1024"] / $t["Signer_sign_into/1024"] * 100 | round / 100)x (sign_into)"
  ' "$out/signature.json" | tee "$out/signature.txt"

  echo
  echo "== events: to_json and parse_event per type"
  timeout 300 "$bin/bench_events" --benchmark_min_time=0.2 --benchmark_out="$out/events.json" \
    --benchmark_out_format=json >"$out/events.log" 2>&1
  jq -r '.benchmarks[] | "\(.name) \(.label) \(.cpu_time|floor) ns"' "$out/events.json" | tee "$out/events.txt"

  echo
  echo "== dispatch() with 1 and 8 producer threads (600-byte event, endpoint that never answers)"
  timeout 300 "$bin/bench_dispatch" --benchmark_min_time=0.3 --benchmark_out="$out/dispatch.json" \
    --benchmark_out_format=json >"$out/dispatch.log" 2>&1
  jq -r '.benchmarks[] | "\(.name): mean \(.real_time|floor) ns wall, \(.cpu_time|floor) ns cpu" +
      (if .p99_ns then ", p50 \(.p50_ns|floor) ns, p99 \(.p99_ns|floor) ns, max \(.max_ns|floor) ns" else "" end)' \
    "$out/dispatch.json" | tee "$out/dispatch.txt"

  echo
  echo "== memory: 100,000 deliveries queued for an endpoint that does not answer"
  timeout 120 "$bin/bench_memory" --deliveries 100000 --payload-bytes "$payload" | tee "$out/memory.jsonl"
fi

# --- 6. the durable store ------------------------------------------------------------------------
if [ "$store" -eq 1 ]; then
  echo
  echo "== durable store: a SQLite file in $store_dir, synchronous FULL, $rounds rounds"
  timeout 300 "$bin/bench_store" --dir "$store_dir" --rounds "$rounds" --url "$http_url" \
    --payload-bytes "$payload" >"$out/store.log" 2>&1 || { cat "$out/store.log" >&2; echo "run.sh: bench_store failed" >&2; }
  grep -v '^{' "$out/store.log" || true
  grep '^{"tool":"bench_store"' "$out/store.log" >"$out/store.jsonl" || true
  if [ -s "$out/store.jsonl" ]; then
    {
      echo
      echo "Durable store (bench_store):"
      echo
      jq -r '
        "\(.cores) cores, load average \(.load) at its start; store file in \(.dir) (\(.filesystem)); \(.payload_bytes)-byte events; \(.durability) unless said; fdatasync there p50 \(.fdatasync_ms_p50) ms, p99 \(.fdatasync_ms_p99) ms",
        "",
        "| figure | target | measured, \(.rounds) rounds | |",
        "| --- | --- | ---: | --- |",
        (.figures[] | "| \(.label) | \(.target // "-") | \(if .low == .high then "\(.low)" else "\(.low) – \(.high)" end) \(.unit) | \(.verdict) |")
      ' "$out/store.jsonl"
    } | tee -a "$summary"
  fi
fi

# --- 6b. the PostgreSQL store ---------------------------------------------------------------------
if [ "$pg" -eq 1 ]; then
  echo
  if [ "$pg_built" -eq 0 ]; then
    echo "== PostgreSQL store: skipped (the build has no PostgreSQL store: apt-get install libpq-dev, then configure again)"
  elif ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "== PostgreSQL store: skipped (no PostgreSQL server to start: apt-get install postgresql)"
  else
    echo "== PostgreSQL store: a private cluster under $store_dir, $pg_events deliveries, $rounds rounds"
    timeout 600 "$bin/bench_pg" --dir "$store_dir" --rounds "$rounds" --url "$http_url" --events "$pg_events" \
      --payload-bytes "$payload" >"$out/pg.log" 2>&1 || { cat "$out/pg.log" >&2; echo "run.sh: bench_pg failed" >&2; }
    grep -v '^{' "$out/pg.log" || true
    grep '^{"tool":"bench_pg"' "$out/pg.log" >"$out/pg.jsonl" || true
    if [ -s "$out/pg.jsonl" ]; then
      {
        echo
        echo "PostgreSQL store (bench_pg):"
        echo
        jq -r '
          "\(.cores) cores, load average \(.load_before) at its start and \(.load_after) at its end; PostgreSQL \(.server) (\(.settings)) in \(.dir); fdatasync there p50 \(.fdatasync_ms_p50) ms, p99 \(.fdatasync_ms_p99) ms",
          "",
          "| \(.events) deliveries of \(.payload_bytes) bytes, \(.rounds) rounds | deliveries/s best | worst | / in memory, same round | CPU µs/event: Dispatchers + PostgreSQL | cores busy | iowait |",
          "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
          (.delivery[] | "| \(.label) | \(.best) | \(.worst) | \(.ratio_best) – \(.ratio_worst) | \(.cpu_us)\(if .server_cpu_us > 0 then " + \(.server_cpu_us)" else "" end) | \(.busy_pct)% | \(.iowait_pct)% |"),
          "",
          "| queue (pg::Queue, \(.queue_rows) rows) | rows/s best | worst | prototype | share of the time in claim() |",
          "| --- | ---: | ---: | ---: | ---: |",
          (.queue[] | "| \(.label) | \(.best) | \(.worst) | \(if .prototype == "" then "-" else .prototype end) | \(if .claim_share == null then "-" else "\(.claim_share * 100 | round)%" end) |")
        ' "$out/pg.jsonl"
      } | tee -a "$summary"
    fi
  fi
fi

# --- 7. every target of issue 16 in one table -------------------------------------------------------
{
  echo
  echo "Issue 16's targets, each from this run (ranges are best – worst over the rounds; met: in every round):"
  echo
  echo "| figure | target | measured | |"
  echo "| --- | --- | ---: | --- |"
  verdict() {  # best worst target at_least(1|0)
    awk -v b="$1" -v w="$2" -v t="$3" -v up="$4" 'BEGIN {
      if (up) { m = (w >= t) ? "met" : (b < t ? "missed" : "met in some rounds") }
      else    { m = (w <= t) ? "met" : (b > t ? "missed" : "met in some rounds") }
      print m }'
  }
  row() {  # label target best worst unit at_least
    if [ -z "$3" ] || [ "$3" = null ]; then echo "| $1 | $2 | not measured | |"; return; fi
    local shown="$3"; [ "$3" = "$4" ] || shown="$3 – $4"
    local judged=""; [ "$2" = "-" ] || judged=$(verdict "$3" "$4" "$(echo "$2" | tr -dc '0-9.')" "$6")
    echo "| $1 | $2 | $shown $5 | $judged |"
  }
  for scheme in http https; do
    for pair in "wrk 0.5" "raw 1.5" "go 1.8" "node 1.8"; do
      # shellcheck disable=SC2086
      set -- $pair
      range=$(jq -s -r --arg s "$scheme" --arg t "$1" '
        map(select(.scheme==$s)) as $rows
        | [ $rows[] | select(.runner=="lib") as $l
            | ($rows | map(select(.runner==$t and .round==$l.round)) | first | .events_per_sec // 0) as $o
            | select($o > 0) | $l.events_per_sec / $o ]
        | if length == 0 then "" else "\(max*100|round/100) \(min*100|round/100)" end' "$out/rounds.jsonl")
      # shellcheck disable=SC2086
      row "$scheme: defaults / $1 (events/s)" "≥ $2" $range "x" 1
    done
  done
  range=$(jq -s -r 'map(select(.runner=="lib") | .dispatch_ns_p99 / 1000) | if length == 0 then "" else "\(min*10|round/10) \(max*10|round/10)" end' "$out/rounds.jsonl")
  # shellcheck disable=SC2086
  row "dispatch() p99 at full load (the rounds above)" "≤ 5" $range "µs" 0
  range=$(jq -s -r 'map(select(.probe_ns_p50 == 0) | .dispatch_ns_p99 / 1000) | if length == 0 then "" else "\(min*10|round/10) \(max*10|round/10)" end' "$out/paced.jsonl")
  # shellcheck disable=SC2086
  row "dispatch() p99 paced at 2,000/s" "≤ 5" $range "µs" 0
  range=$(jq -s -r 'map(select(.probe_ns_p50 > 0) | .second_call_ns_p99 / 1000) | if length == 0 then "" else "\(min*10|round/10) \(max*10|round/10)" end' "$out/paced.jsonl")
  # shellcheck disable=SC2086
  row "(control: a second dispatch() right after a paced one, warm caches)" "≤ 5" $range "µs" 0
  range=$(jq -s -r 'map(select(.probe_ns_p50 > 0) | .probe_ns_p99 / 1000) | if length == 0 then "" else "\(min*10|round/10) \(max*10|round/10)" end' "$out/paced.jsonl")
  # shellcheck disable=SC2086
  row "(control: a to_json() of the event, first after the sleep; warm it takes ~0.5 µs)" "-" $range "µs" 0
  if [ "$micro" -eq 1 ]; then
    bytes=$(jq -r '.rss_bytes_per_delivery' "$out/memory.jsonl" 2>/dev/null | tail -n 1)
    row "memory per queued 600-byte delivery (RSS)" "≤ 900" "$bytes" "$bytes" "B" 0
    ratio=$(jq -r '(.benchmarks | map(select(.aggregate_name=="median")) | map({key:.run_name, value:.cpu_time}) | from_entries) as $t
      | $t["OpenSSL_EVP_MAC_reused/1024"] / $t["Signer_sign_into/1024"] * 100 | round / 100' "$out/signature.json" 2>/dev/null)
    row "signing 1 KiB, speed / a reused EVP_MAC_CTX" "≥ 0.95" "$ratio" "$ratio" "x" 1
  fi
  if [ "$store" -eq 1 ] && [ -s "$out/store.jsonl" ]; then
    range=$(jq -r '.figures[] | select(.key=="d_ratio") | "\(.high) \(.low)"' "$out/store.jsonl")
    # shellcheck disable=SC2086
    row "delivered with the SQLite store / in memory, same round" "≥ 0.8" $range "x" 1
  fi
} | tee -a "$summary"

echo
echo "results in $out"
