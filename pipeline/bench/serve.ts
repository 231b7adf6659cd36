// `ecl bench-serve` / `make bench-serve`: the served model under load (autocannon, single-image KServe v2
// requests at several concurrency levels) next to the ceiling, raw session.run throughput at the same
// batch sizes in this process. Writes bench/serve.json and prints a markdown table.
//
// The server runs as a child process (node dist/serve/node/main.js), so the load generator and the
// server do not share an event loop; they do share the machine's cores, as a real client on the same
// host would.
//
// The HTTP floor: at every level the same load generator sends the same bodies to http-floor-server.ts (a
// child process with the server's fastify options and body parsers, answering a fixed response without
// inference). The served throughput is reported against min(raw session.run, HTTP floor), and the loaded
// p99 against the unloaded p99 (400 sequential requests to the real server, high-resolution timer). Both payloads
// (JSON, binary) by default.
import { cpuFeatures, describeCpuFeatures, type CpuFeatures } from './cpu-features.js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import ort from 'onnxruntime-node';
import { type EpChoice, createSession } from '../../serve/node/ep.js';
import { defaultModelName, readModelMetadataProps } from '../../serve/node/model-info.js';
import { inputSpecFromMetadata } from '../../models/onnx-contract.js';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type ChildServer, startChildServer } from '../../serve/node/child-server.js';
import { SERVE_DEFAULTS } from '../../serve/node/defaults.js';
import { writeFileAtomic } from '../../models/artifacts/atomic-write.js';

export interface BenchServeOptions {
  /** Model to serve; default: a freshly initialised `family` model exported to a temp dir. */
  model?: string;
  family?: string;
  durationS?: number;
  connections?: number[];
  maxBatch?: number;
  maxDelayMs?: number;
  ep?: EpChoice;
  /** Request bodies to measure, each at every level (default both). */
  payloads?: ('json' | 'binary')[];
  /** Also measure the HTTP floor (default true). */
  floor?: boolean;
  /** Free text stored with the numbers, e.g. 'machine shared'. */
  note?: string;
  inference?: 'worker' | 'inline';
  out?: string;
  /** Extra `serve` options for the server process, e.g. ['--ort-spin']. */
  serverArgs?: string[];
  /**
   * Write a V8 CPU profile of the server process (node --cpu-prof) into this folder when it stops. Sampled every
   * 4 ms: at V8's default 1 ms the profiler's own thread took a core of this 2-core machine's and served 5x less.
   */
  serverProfileDir?: string;
  /** Print progress and the table (default true). */
  print?: boolean;
}

export interface BenchLevel {
  concurrency: number;
  reqPerSec: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
  /** Mean images per onnxruntime run on the server during this level (from /metrics). */
  meanBatch: number;
  /** Raw session.run images/s at batch size = concurrency. */
  ceilingImgPerSec: number;
  ratio: number;
  /** The HTTP floor server at this concurrency, same bodies and load generator (null with floor off). */
  floorReqPerSec: number | null;
  floorLatencyP99Ms: number | null;
  /** reqPerSec / min(ceilingImgPerSec, floorReqPerSec). */
  ratioToLimit: number | null;
}

/** The issue's two figures at the highest concurrency: throughput against the limit, p99 against unloaded. */
export interface BenchSummary {
  concurrency: number;
  reqPerSec: number;
  limit: number;
  limitIs: 'session.run' | 'HTTP floor';
  ratioToLimit: number;
  p99Ms: number;
  /** p99 of sequential single requests (high-resolution timer), or concurrency 1's autocannon p99. */
  unloadedP99Ms: number | null;
  p99VsUnloaded: number | null;
}

export interface BenchServeResult {
  model: string;
  family: string | null;
  input: [number, number, number];
  ep: string;
  payload: 'json' | 'binary';
  inference: string;
  maxBatch: number;
  maxDelayMs: number;
  durationS: number;
  cpus: number;
  /** Family/model and widest native SIMD (Linux; absent in reports written before 2026-12-02). */
  cpuFeatures?: CpuFeatures | null;
  /** os.loadavg() before and after the run: other processes on the machine skew both sides. */
  loadavgBefore: number[];
  loadavgAfter: number[];
  serverArgs: string[];
  node: string;
  levels: BenchLevel[];
  summary: BenchSummary | null;
  date: string;
}

/** bench/serve.json: one result per payload, measured in one run against one server. */
export interface BenchServeReport {
  generatedAt: string;
  note: string;
  /** What the floor server does and leaves out (http-floor-server.ts). */
  floor: string;
  results: BenchServeResult[];
}

interface AutocannonResult {
  latency: { p50: number; p99: number };
  duration: number;
  non2xx: number;
  errors: number;
  '2xx': number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;


async function generatedModel(family: string): Promise<{ path: string; cleanup: () => void }> {
  const { buildModelSpec, initParams } = await import('../../models/builders.js');
  const { buildOnnxModel } = await import('../../export/export-run.js');
  const fam = family as 'cnn28' | 'resnet8' | 'resnet20' | 'resnet32';
  const input =
    fam === 'cnn28'
      ? { height: 28, width: 28, channels: 1, mean: [0.5], std: [0.25] }
      : { height: 32, width: 32, channels: 3, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };
  const spec = buildModelSpec(fam, { numClasses: 10, input });
  const built = buildOnnxModel(spec, initParams(spec, 1), {});
  const dir = mkdtempSync(join(tmpdir(), 'ecl-bench-serve-'));
  mkdirSync(join(dir, `bench-${fam}`));
  const path = join(dir, `bench-${fam}`, 'model.onnx');
  writeFileSync(path, built.bytes);
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Raw session.run images/s at batch size b on an open session (nothing else running in this process). */
async function measureCeiling(session: ort.InferenceSession, shape: [number, number, number], b: number, seconds: number): Promise<number> {
  const x = new ort.Tensor('uint8', randomPixels(b * shape[0] * shape[1] * shape[2], b), [b, ...shape]);
  const feeds = { [session.inputNames[0]!]: x };
  for (let i = 0; i < 3; i++) await session.run(feeds);
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    await session.run(feeds);
    n++;
  }
  return (n * b) / ((performance.now() - t0) / 1000);
}

function randomPixels(n: number, seed: number): Uint8Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  const a = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    a[i] = (s >>> 0) & 0xff;
  }
  return a;
}


async function batchHistogram(url: string): Promise<{ sum: number; count: number }> {
  return batchHistogramTotals(await (await fetch(`${url}/metrics`)).text());
}

/** Sum and count of the batch-size histogram in a /metrics text, over every model/version label set. */
export function batchHistogramTotals(text: string): { sum: number; count: number } {
  const num = (name: string) => [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce((a, m) => a + Number(m[1]), 0);
  return { sum: num('ecl_inference_batch_size_sum'), count: num('ecl_inference_batch_size_count') };
}

export function formatBenchTable(r: BenchServeResult): string {
  const lines = [
    `serve benchmark: ${r.family ? `generated ${r.family}` : r.model} (input ${r.input.join('x')}, ep ${r.ep}, ${r.payload} payload, inference ${r.inference}, ` +
      `max-batch ${r.maxBatch}, max-delay ${r.maxDelayMs} ms${r.serverArgs.length ? `, ${r.serverArgs.join(' ')}` : ''}; ${r.cpus} CPUs${r.cpuFeatures !== undefined ? ` (${describeCpuFeatures(r.cpuFeatures)})` : ''}, load average ${r.loadavgBefore[0]} -> ${r.loadavgAfter[0]})`,
    'ratio = served single-image req/s / raw session.run img/s at batch = concurrency (measured before and after each level, averaged)',
    '',
    'ratio to limit = served req/s / min(session.run img/s, HTTP floor req/s)',
    '',
    '| concurrency | req/s | p50 ms | p99 ms | mean batch | session.run img/s (batch = concurrency) | ratio | HTTP floor req/s | floor p99 ms | ratio to limit |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...r.levels.map(
      (l) =>
        `| ${l.concurrency} | ${l.reqPerSec.toFixed(0)} | ${l.latencyP50Ms.toFixed(1)} | ${l.latencyP99Ms.toFixed(1)} | ${l.meanBatch.toFixed(1)} | ${l.ceilingImgPerSec.toFixed(0)} | ${l.ratio.toFixed(2)} | ` +
        `${l.floorReqPerSec === null ? '–' : l.floorReqPerSec.toFixed(0)} | ${l.floorLatencyP99Ms === null ? '–' : l.floorLatencyP99Ms.toFixed(1)} | ${l.ratioToLimit === null ? '–' : l.ratioToLimit.toFixed(2)} |`,
    ),
  ];
  const sm = r.summary;
  if (sm)
    lines.push(
      '',
      `at concurrency ${sm.concurrency}: ${sm.reqPerSec.toFixed(0)} req/s = ${sm.ratioToLimit.toFixed(2)}× the limit (${sm.limitIs}, ${sm.limit.toFixed(0)}/s); ` +
        `p99 ${sm.p99Ms.toFixed(1)} ms${sm.p99VsUnloaded === null ? '' : ` = ${sm.p99VsUnloaded.toFixed(1)}× the unloaded p99 (${sm.unloadedP99Ms!.toFixed(2)} ms, sequential requests)`}`,
    );
  const bad = r.levels.filter((l) => l.non2xx || l.errors);
  if (bad.length) lines.push('', `non-2xx/errors: ${bad.map((l) => `c=${l.concurrency}: ${l.non2xx} non-2xx, ${l.errors} errors`).join('; ')}`);
  return lines.join('\n');
}

/** A v2 request body of one image: the JSON data array, or the binary tensor extension. */
function requestOf(payload: 'json' | 'binary', inputName: string, shape: [number, number, number], pixels: Uint8Array): { body: Buffer; headers: Record<string, string> } {
  if (payload === 'json') {
    const body = Buffer.from(JSON.stringify({ inputs: [{ name: inputName, shape: [1, ...shape], datatype: 'UINT8', data: Array.from(pixels) }], outputs: [{ name: 'probs' }] }));
    return { body, headers: { 'content-type': 'application/json' } };
  }
  const head = Buffer.from(JSON.stringify({ inputs: [{ name: inputName, shape: [1, ...shape], datatype: 'UINT8', parameters: { binary_data_size: pixels.length } }], outputs: [{ name: 'probs' }] }));
  return { body: Buffer.concat([head, pixels]), headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(head.length) } };
}

/** http-floor-server.ts as a child process; resolves with its URL once it listens. */
function startFloorChild(bodyLimit: number): Promise<ChildServer> {
  const main = fileURLToPath(new URL('./http-floor-server.js', import.meta.url));
  const proc = spawn(process.execPath, [main, '--body-limit', String(bodyLimit)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  proc.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-8192)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => proc.on('exit', (code, signal) => res({ code, signal })));
  return new Promise((res, rej) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      rej(new Error(`the HTTP floor server did not start: ${err.trim()}`));
    }, 30_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        res({ proc, url: m[1]!, grpc: null, stderr: () => err, exited });
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      rej(new Error(`the HTTP floor server exited (code ${code}): ${err.trim()}`));
    });
  });
}

async function stopChild(c: ChildServer | null): Promise<void> {
  if (!c) return;
  const exited = new Promise((r) => c.proc.once('exit', r));
  c.proc.kill('SIGTERM');
  await exited;
}

/**
 * p99 of `n` sequential requests (one keep-alive connection, nothing else in flight), timed with
 * performance.now: autocannon reports whole milliseconds, and an unloaded request takes well under one.
 */
async function unloadedP99(url: string, headers: Record<string, string>, body: Buffer, n = 400): Promise<number> {
  const { Agent, request } = await import('node:http');
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const u = new URL(url);
  const once = () =>
    new Promise<number>((res, rej) => {
      const t0 = performance.now();
      const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { ...headers, 'content-length': String(body.length) }, agent }, (r) => {
        r.on('data', () => {});
        r.on('end', () => (r.statusCode === 200 ? res(performance.now() - t0) : rej(new Error(`unloaded probe: status ${r.statusCode}`))));
      });
      req.on('error', rej);
      req.end(body);
    });
  try {
    for (let i = 0; i < 20; i++) await once();
    const ms: number[] = [];
    for (let i = 0; i < n; i++) ms.push(await once());
    ms.sort((a, b) => a - b);
    return ms[Math.min(ms.length - 1, Math.ceil(0.99 * ms.length) - 1)]!;
  } finally {
    agent.destroy();
  }
}

/**
 * The summary at the highest level: served vs min(session.run, floor), and p99 vs the unloaded p99 (the
 * sequential probe when given, else concurrency 1's autocannon p99).
 */
export function summarizeLevels(levels: readonly BenchLevel[], unloadedProbeP99Ms?: number): BenchSummary | null {
  const top = [...levels].sort((a, b) => b.concurrency - a.concurrency)[0];
  if (!top) return null;
  const floor = top.floorReqPerSec;
  const limitIsFloor = floor !== null && floor < top.ceilingImgPerSec;
  const limit = limitIsFloor ? floor : top.ceilingImgPerSec;
  const unloaded = unloadedProbeP99Ms ?? levels.find((l) => l.concurrency === 1)?.latencyP99Ms ?? null;
  return {
    concurrency: top.concurrency,
    reqPerSec: top.reqPerSec,
    limit,
    limitIs: limitIsFloor ? 'HTTP floor' : 'session.run',
    ratioToLimit: top.reqPerSec / limit,
    p99Ms: top.latencyP99Ms,
    unloadedP99Ms: unloaded,
    p99VsUnloaded: unloaded && unloaded > 0 ? top.latencyP99Ms / unloaded : null,
  };
}

export const FLOOR_DESCRIPTION =
  "fastify with serve's options (node http server timeouts, logger off, body limit, router options) and body parsers (fastify's JSON parser; raw buffer for " +
  'application/octet-stream), POST /v2/models/:name/infer answering a fixed 10-probability v2 response; no admission control, validation, decoding, ' +
  'batching, inference or metrics hook (pipeline/bench/http-floor-server.ts)';

export async function benchServe(opts: BenchServeOptions = {}): Promise<BenchServeReport> {
  const print = opts.print ?? true;
  const say = (s: string) => print && process.stderr.write(`bench-serve: ${s}\n`);
  const family = opts.family ?? 'cnn28';
  const durationS = opts.durationS ?? 8;
  const levels = opts.connections ?? [1, 16, 64];
  const maxBatch = opts.maxBatch ?? 64;
  const maxDelayMs = opts.maxDelayMs ?? 0;
  const ep = opts.ep ?? 'cpu';
  const payloads = opts.payloads ?? ['json', 'binary'];
  const inference = opts.inference ?? 'worker';
  const out = opts.out ?? 'bench/serve.json';
  const withFloor = opts.floor ?? true;
  if (levels.some((c) => !Number.isInteger(c) || c < 1)) throw new Error(`--connections must be positive integers, got ${levels.join(',')}`);
  if (payloads.length === 0) throw new Error('--payload: give json, binary or both');

  const gen = opts.model ? null : await generatedModel(family);
  const model = opts.model ? resolve(opts.model) : gen!.path;
  let server: ChildServer | null = null;
  let floor: ChildServer | null = null;
  let ceilingSession!: ort.InferenceSession;
  try {
    const props = readModelMetadataProps(model);
    const spec = inputSpecFromMetadata(props);
    const shape: [number, number, number] = [spec.height, spec.width, spec.channels];
    const name = defaultModelName(model);

    // The ceiling session stays open (idle) while the server is loaded; it is measured right before and
    // right after each load level and averaged, so slow drifts of the machine affect both sides alike.
    const { session: ceilSession } = await createSession(model, { ep });
    ceilingSession = ceilSession;
    const ceilS = Math.min(3, Math.max(1, durationS / 4));

    server = await startChildServer([
      '--model', model, '--ep', ep, '--max-batch', String(maxBatch), '--max-delay-ms', String(maxDelayMs), '--max-queue', '4096', '--inference', inference,
      ...(opts.serverArgs ?? []),
    ], 30_000, opts.serverProfileDir ? ['--cpu-prof', '--cpu-prof-interval', '4000', '--cpu-prof-dir', resolve(opts.serverProfileDir)] : []);
    say(`server ${server.url}`);
    if (withFloor) {
      floor = await startFloorChild(SERVE_DEFAULTS.bodyLimit);
      say(`HTTP floor server ${floor.url}`);
    }
    const pixels = randomPixels(shape[0] * shape[1] * shape[2], 7);
    const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
    const results: BenchServeResult[] = [];
    for (const payload of payloads) {
      const loadBefore = loadavg();
      const { body, headers } = requestOf(payload, spec.name, shape, pixels);
      const path = `/v2/models/${name}/infer`;
      // Sanity: one request must succeed on each server before measuring.
      for (const base of [server.url, ...(floor ? [floor.url] : [])]) {
        const probe = await fetch(`${base}${path}`, { method: 'POST', headers, body: new Uint8Array(body) });
        if (probe.status !== 200) throw new Error(`probe request to ${base} failed: ${probe.status} ${await probe.text()}`);
      }
      const unloaded = await unloadedP99(`${server.url}${path}`, headers, body);
      say(`${payload}: unloaded p99 ${unloaded.toFixed(2)} ms (400 sequential requests)`);
      const levelResults: BenchLevel[] = [];
      for (const c of levels) {
        const target = (base: string) => ({ url: `${base}${path}`, method: 'POST', headers, body, connections: c, pipelining: 1 });
        say(`${payload} concurrency ${c}: session.run ceiling at batch ${c}, ${durationS} s of load${floor ? ', then the HTTP floor' : ''}`);
        const ceilBefore = await measureCeiling(ceilingSession, shape, c, ceilS);
        await autocannon({ ...target(server.url), duration: 1 }); // warm-up at this concurrency
        const before = await batchHistogram(server.url);
        const r = await autocannon({ ...target(server.url), duration: durationS });
        const after = await batchHistogram(server.url);
        const ceilAfter = await measureCeiling(ceilingSession, shape, c, ceilS);
        let fl: AutocannonResult | null = null;
        if (floor) {
          await autocannon({ ...target(floor.url), duration: 1 });
          fl = await autocannon({ ...target(floor.url), duration: durationS });
        }
        const reqPerSec = r['2xx'] / r.duration;
        const ceilingImgPerSec = (ceilBefore + ceilAfter) / 2;
        const floorReqPerSec = fl ? fl['2xx'] / fl.duration : null;
        levelResults.push({
          concurrency: c,
          reqPerSec,
          latencyP50Ms: r.latency.p50,
          latencyP99Ms: r.latency.p99,
          requests: r['2xx'],
          non2xx: r.non2xx,
          errors: r.errors,
          meanBatch: after.count > before.count ? (after.sum - before.sum) / (after.count - before.count) : 0,
          ceilingImgPerSec,
          ratio: reqPerSec / ceilingImgPerSec,
          floorReqPerSec,
          floorLatencyP99Ms: fl ? fl.latency.p99 : null,
          ratioToLimit: reqPerSec / Math.min(ceilingImgPerSec, floorReqPerSec ?? Infinity),
        });
      }
      results.push({
        model,
        family: gen ? family : null,
        input: shape,
        ep,
        payload,
        inference,
        maxBatch,
        maxDelayMs,
        durationS,
        cpus: cpus().length,
        cpuFeatures: cpuFeatures(),
        loadavgBefore: loadBefore.map((x) => Number(x.toFixed(2))),
        loadavgAfter: loadavg().map((x) => Number(x.toFixed(2))),
        serverArgs: opts.serverArgs ?? [],
        node: process.version,
        levels: levelResults,
        summary: summarizeLevels(levelResults, unloaded),
        date: new Date().toISOString(),
      });
      if (print) process.stdout.write(`${formatBenchTable(results.at(-1)!)}\n\n`);
    }
    const report: BenchServeReport = { generatedAt: new Date().toISOString(), note: opts.note ?? '', floor: withFloor ? FLOOR_DESCRIPTION : 'not measured', results };
    mkdirSync(dirname(resolve(out)), { recursive: true });
    writeFileAtomic(out, `${JSON.stringify(report, null, 2)}\n`);
    if (print) process.stdout.write(`wrote ${out}\n`);
    return report;
  } finally {
    await ceilingSession?.release();
    await stopChild(server);
    await stopChild(floor);
    gen?.cleanup();
  }
}
