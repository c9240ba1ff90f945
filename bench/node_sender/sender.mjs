// node_sender: the StatusStack webhook sender a Node user would write in an afternoon instead of
// using the library, measured by bench/run.sh next to wrk, raw_curl_multi and webhook_bench.
//
//   node sender.mjs --url http://127.0.0.1:8080/ --events 200000 --concurrency 64 --payload-bytes 600
//
// One undici Pool to the receiver's origin with `concurrency` keep-alive connections (pipelining 1)
// and `concurrency` requests in flight: each signs an event (HMAC-SHA256 of the exact body bytes,
// lowercase hex), sets the StatusStack headers with a fresh delivery id (randomUUID), POSTs it and
// reads the answer. Counts 2xx answers as delivered; no retries, no queue. Prints one JSON line with
// the same fields as raw_curl_multi. Delivery latency is the request's time on the wire.

import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

const secret = 'bench-secret-0123456789abcdef0123456789';

// A JSON body of about `size` bytes shaped like an incident.updated event: the same bytes
// raw_curl_multi sends.
function makeBody(size) {
  const head =
    '{"event":"incident.updated","timestamp":"2024-01-15T10:30:00Z","stack":{"id":"stack_abc123",' +
    '"name":"Production Infrastructure","slug":"production"},"incident":{"id":"inc_7f3a","title":' +
    '"Elevated error rates","status":"identified","impact":"major","latest_update":{"message":"';
  const tail = '"}}}';
  const padding = Math.max(0, size - head.length - tail.length);
  return Buffer.from(head + 'x'.repeat(padding) + tail);
}

// The q-quantile (0..1) of sorted samples by nearest rank, as bench_util.hpp does.
function percentile(sorted, q) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(Math.round(q * (sorted.length - 1)), sorted.length - 1)];
}

function usage(message) {
  process.stderr.write(`node_sender: ${message}\n` +
    'usage: node sender.mjs --url URL [--events N] [--concurrency C] [--payload-bytes B] ' +
    '[--cacert FILE] [--max-seconds S]\n');
  process.exit(2);
}

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      url: { type: 'string' },
      events: { type: 'string', default: '100000' },
      concurrency: { type: 'string', default: '64' },
      'payload-bytes': { type: 'string', default: '600' },
      cacert: { type: 'string', default: '' },
      'max-seconds': { type: 'string', default: '0' },
    },
  }));
} catch (error) {
  usage(error.message);
}
const events = Number(args.events);
const concurrency = Number(args.concurrency);
const maxSeconds = Number(args['max-seconds']);
if (!args.url) usage('--url is required');
if (!Number.isInteger(events) || !Number.isInteger(concurrency) || concurrency < 1 || !(maxSeconds >= 0))
  usage('--events and --concurrency take whole numbers (concurrency at least 1), --max-seconds a number');

const url = new URL(args.url);
const path = url.pathname + url.search;
const body = makeBody(Number(args['payload-bytes']));
const pool = new Pool(url.origin, {
  connections: concurrency,
  pipelining: 1,
  headersTimeout: 5000,
  bodyTimeout: 5000,
  connect: args.cacert ? { ca: readFileSync(args.cacert) } : undefined,
});

let started = 0;
let delivered = 0;
let failed = 0;
const latencies = [];
const start = performance.now();
const cpuBefore = process.cpuUsage();

// Signs and POSTs one event; resolves to the HTTP status.
async function send() {
  const signature = createHmac('sha256', secret).update(body).digest('hex');
  const { statusCode, body: answer } = await pool.request({
    path,
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-statusstack-event': 'incident.updated',
      'x-statusstack-delivery': `dlv_${randomUUID()}`,
      'x-statusstack-timestamp': String(Math.floor(Date.now() / 1000)),
      'x-statusstack-signature': signature,
    },
    body,
  });
  // Read the whole answer so the connection goes back to the pool.
  await answer.dump();
  return statusCode;
}

// One of the `concurrency` loops: one request in flight at a time until time or events run out.
async function worker() {
  while (started < events && !(maxSeconds > 0 && (performance.now() - start) / 1000 > maxSeconds)) {
    ++started;
    const sent = performance.now();
    try {
      const status = await send();
      if (status >= 200 && status < 300) {
        ++delivered;
      } else if (++failed <= 3) {
        process.stderr.write(`node_sender: HTTP ${status}\n`);
      }
    } catch (error) {
      if (++failed <= 3) process.stderr.write(`node_sender: ${error.message}\n`);
    }
    latencies.push(performance.now() - sent);
  }
}

await Promise.all(Array.from({ length: concurrency }, worker));
const seconds = (performance.now() - start) / 1000;
const cpu = process.cpuUsage(cpuBefore);
await pool.close();

latencies.sort((a, b) => a - b);
const round = (value, places) => Math.round(value * 10 ** places) / 10 ** places;
console.log(JSON.stringify({
  tool: 'node_sender',
  url: args.url,
  events: started,
  concurrency,
  payload_bytes: body.length,
  seconds: round(seconds, 3),
  events_per_sec: Math.round(delivered / seconds),
  cpu_us_per_event: round((cpu.user + cpu.system) / Math.max(delivered, 1), 2),
  delivered,
  failed,
  latency_ms_p50: round(percentile(latencies, 0.5), 3),
  latency_ms_p99: round(percentile(latencies, 0.99), 3),
  peak_rss_mib: round(process.resourceUsage().maxRSS / 1024, 1),
  runtime: `node ${process.version}, undici ${JSON.parse(readFileSync(new URL('node_modules/undici/package.json', import.meta.url))).version}`,
}));
process.exitCode = failed === 0 ? 0 : 1;
