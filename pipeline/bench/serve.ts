// `ecl bench-serve` / `make bench-serve`: the served model under load (autocannon, single-image KServe v2
// requests at several concurrency levels) next to the ceiling, raw session.run throughput at the same
// batch sizes in this process. Writes bench/serve.json and prints a markdown table.
//
// The server runs as a child process (node dist/serve/node/main.js), so the load generator and the
// server do not share an event loop; they do share the machine's cores, as a real client on the same
// host would.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import ort from 'onnxruntime-node';
import { type EpChoice, createSession } from '../../serve/node/ep.js';
import { defaultModelName, readModelMetadataProps } from '../../serve/node/model-info.js';
import { inputSpecFromMetadata } from '../../models/onnx-contract.js';
import { type ChildServer, startChildServer } from '../../serve/node/child-server.js';

export interface BenchServeOptions {
  /** Model to serve; default: a freshly initialised `family` model exported to a temp dir. */
  model?: string;
  family?: string;
  durationS?: number;
  connections?: number[];
  maxBatch?: number;
  maxDelayMs?: number;
  ep?: EpChoice;
  payload?: 'json' | 'binary';
  inference?: 'worker' | 'inline';
  out?: string;
  /** Extra `serve` options for the server process, e.g. ['--ort-spin']. */
  serverArgs?: string[];
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
  /** os.loadavg() before and after the run: other processes on the machine skew both sides. */
  loadavgBefore: number[];
  loadavgAfter: number[];
  serverArgs: string[];
  node: string;
  levels: BenchLevel[];
  date: string;
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
  const text = await (await fetch(`${url}/metrics`)).text();
  const num = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { sum: num('ecl_inference_batch_size_sum'), count: num('ecl_inference_batch_size_count') };
}

export function formatBenchTable(r: BenchServeResult): string {
  const lines = [
    `serve benchmark: ${r.family ? `generated ${r.family}` : r.model} (input ${r.input.join('x')}, ep ${r.ep}, ${r.payload} payload, inference ${r.inference}, ` +
      `max-batch ${r.maxBatch}, max-delay ${r.maxDelayMs} ms${r.serverArgs.length ? `, ${r.serverArgs.join(' ')}` : ''}; ${r.cpus} CPUs, load average ${r.loadavgBefore[0]} -> ${r.loadavgAfter[0]})`,
    'ratio = served single-image req/s / raw session.run img/s at batch = concurrency (measured before and after each level, averaged)',
    '',
    '| concurrency | req/s | p50 ms | p99 ms | mean batch | session.run img/s (batch = concurrency) | ratio |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    ...r.levels.map(
      (l) =>
        `| ${l.concurrency} | ${l.reqPerSec.toFixed(0)} | ${l.latencyP50Ms.toFixed(1)} | ${l.latencyP99Ms.toFixed(1)} | ${l.meanBatch.toFixed(1)} | ${l.ceilingImgPerSec.toFixed(0)} | ${l.ratio.toFixed(2)} |`,
    ),
  ];
  const bad = r.levels.filter((l) => l.non2xx || l.errors);
  if (bad.length) lines.push('', `non-2xx/errors: ${bad.map((l) => `c=${l.concurrency}: ${l.non2xx} non-2xx, ${l.errors} errors`).join('; ')}`);
  return lines.join('\n');
}

export async function benchServe(opts: BenchServeOptions = {}): Promise<BenchServeResult> {
  const print = opts.print ?? true;
  const say = (s: string) => print && process.stderr.write(`bench-serve: ${s}\n`);
  const family = opts.family ?? 'cnn28';
  const durationS = opts.durationS ?? 8;
  const levels = opts.connections ?? [1, 16, 64];
  const maxBatch = opts.maxBatch ?? 64;
  const maxDelayMs = opts.maxDelayMs ?? 0;
  const ep = opts.ep ?? 'cpu';
  const payload = opts.payload ?? 'json';
  const inference = opts.inference ?? 'worker';
  const out = opts.out ?? 'bench/serve.json';
  if (levels.some((c) => !Number.isInteger(c) || c < 1)) throw new Error(`--connections must be positive integers, got ${levels.join(',')}`);

  const loadBefore = loadavg();
  const gen = opts.model ? null : await generatedModel(family);
  const model = opts.model ? resolve(opts.model) : gen!.path;
  let server: ChildServer | null = null;
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
    ]);
    say(`server ${server.url}`);
    const pixels = randomPixels(shape[0] * shape[1] * shape[2], 7);
    let body: Buffer;
    const headers: Record<string, string> = {};
    if (payload === 'json') {
      body = Buffer.from(JSON.stringify({ inputs: [{ name: spec.name, shape: [1, ...shape], datatype: 'UINT8', data: Array.from(pixels) }], outputs: [{ name: 'probs' }] }));
      headers['content-type'] = 'application/json';
    } else {
      const head = Buffer.from(
        JSON.stringify({ inputs: [{ name: spec.name, shape: [1, ...shape], datatype: 'UINT8', parameters: { binary_data_size: pixels.length } }], outputs: [{ name: 'probs' }] }),
      );
      body = Buffer.concat([head, pixels]);
      headers['content-type'] = 'application/octet-stream';
      headers['inference-header-content-length'] = String(head.length);
    }
    // Sanity: one request must succeed before measuring.
    const probe = await fetch(`${server.url}/v2/models/${name}/infer`, { method: "POST", headers, body: new Uint8Array(body) });
    if (probe.status !== 200) throw new Error(`probe request failed: ${probe.status} ${await probe.text()}`);

    const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
    const results: BenchLevel[] = [];
    for (const c of levels) {
      const target = { url: `${server.url}/v2/models/${name}/infer`, method: 'POST', headers, body, connections: c, pipelining: 1 };
      say(`concurrency ${c}: session.run ceiling at batch ${c}, then ${durationS} s of load`);
      const ceilBefore = await measureCeiling(ceilingSession, shape, c, ceilS);
      await autocannon({ ...target, duration: 1 }); // warm-up at this concurrency
      const before = await batchHistogram(server.url);
      const r = await autocannon({ ...target, duration: durationS });
      const after = await batchHistogram(server.url);
      const ceilAfter = await measureCeiling(ceilingSession, shape, c, ceilS);
      const reqPerSec = r['2xx'] / r.duration;
      const ceilingImgPerSec = (ceilBefore + ceilAfter) / 2;
      results.push({
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
      });
    }
    const result: BenchServeResult = {
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
      loadavgBefore: loadBefore.map((x) => Number(x.toFixed(2))),
      loadavgAfter: loadavg().map((x) => Number(x.toFixed(2))),
      serverArgs: opts.serverArgs ?? [],
      node: process.version,
      levels: results,
      date: new Date().toISOString(),
    };
    mkdirSync(dirname(resolve(out)), { recursive: true });
    writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    if (print) process.stdout.write(`${formatBenchTable(result)}\n\nwrote ${out}\n`);
    return result;
  } finally {
    await ceilingSession?.release();
    if (server) {
      const exited = new Promise((r) => server!.proc.once('exit', r));
      server.proc.kill('SIGTERM');
      await exited;
    }
    gen?.cleanup();
  }
}
