// The server's options (yargs) and its process lifecycle: start, log the choice of EP, drain on SIGTERM.
// Used by `ecl serve` (pipeline/cli/serve.ts) and by the standalone serve/node/main.ts, which must not load
// the training side. Heavy modules load only when the server starts.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { RUN_FILES } from '../../models/artifacts/run-dir.js';
import { settings, settingsHelp } from '../../models/settings.js';
import { EP_CHOICES, type EpChoice } from './ep.js';
import { AUTO_ADMISSION_FLOOR_MS, AUTO_BATCH_MAX_MS, SERVE_DEFAULTS } from './defaults.js';
import { ServeUsageError } from './errors.js';
import type { RunningServer, ServeOptions } from './server.js';

export interface ServeArgs {
  /** `--model [name=]path`, repeatable. */
  model?: string[];
  'model-repository'?: string;
  'default-model'?: string;
  host: string;
  port: number;
  ep: string;
  'max-batch': number;
  'preferred-batch': number | 'auto';
  'admission-wait-ms': number | 'auto';
  'max-delay-ms': number;
  'max-queue': number;
  'body-limit': number;
  'max-image-pixels': number;
  'max-image-side': number;
  'max-aspect-ratio': number;
  'max-inflight': number;
  'max-inflight-per-connection': number;
  'queue-timeout-ms': number;
  'body-timeout-ms': number;
  'max-connections': number;
  'drain-grace-ms': number;
  'model-name'?: string;
  inference: string;
  'intra-op-threads': number;
  'ort-spin': boolean;
  'shutdown-timeout': number;
  'allow-stale': boolean;
  'grpc-port'?: number;
  'grpc-host'?: string;
}

/**
 * yargs `coerce` for a number option: a value outside [min, max] (or not an integer where one is meant) fails
 * parsing with a message naming the option, before the model loads (`ecl serve` exits 2).
 */
function num(name: string, o: { min: number; max?: number; int?: boolean; above?: boolean }) {
  return (v: unknown): number => {
    const x = Array.isArray(v) ? v.at(-1) : v;
    const what = `${o.int ? 'an integer' : 'a finite number'} ${o.above ? '>' : '>='} ${o.min}${o.max !== undefined ? ` and <= ${o.max}` : ''}`;
    const ok = typeof x === 'number' && Number.isFinite(x) && (o.above ? x > o.min : x >= o.min) && (o.max === undefined || x <= o.max) && (!o.int || Number.isInteger(x));
    if (!ok) throw new Error(`--${name} must be ${what}, got ${typeof x === 'number' && Number.isNaN(x) ? 'a non-number' : JSON.stringify(x)}`);
    return x;
  };
}

/** 'auto' or a number checked like num(): yargs keeps the option a string so that 'auto' passes. */
function autoOr(name: string, o: { min: number; int?: boolean }) {
  const check = num(name, o);
  return (v: unknown): number | 'auto' => {
    const x = Array.isArray(v) ? v.at(-1) : v;
    if (x === 'auto') return 'auto';
    const n = typeof x === 'string' && /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(x) ? Number(x) : x;
    if (typeof n !== 'number') throw new Error(`--${name} must be 'auto' or ${o.int ? 'an integer' : 'a finite number'} >= ${o.min}, got ${JSON.stringify(x)}`);
    return check(n);
  };
}

/** An ECL_SERVE_*PORT value: an integer 0..65535. */
function envPort(name: string, raw: string): number {
  const port = Number(raw);
  if (!/^\s*\d+\s*$/.test(raw) || port > 65535) throw new ServeUsageError(`${name} must be an integer 0..65535, got '${raw}'`);
  return port;
}

/**
 * Defaults of --host/--port/--grpc-port: ECL_SERVE_HOST / ECL_SERVE_PORT / ECL_SERVE_GRPC_PORT where set (the
 * container image listens on 0.0.0.0:8080 and gRPC on 8081, KServe's convention), else SERVE_DEFAULTS (no gRPC).
 * The flags still win.
 */
export function listenDefaults(e: Readonly<Record<string, string | undefined>> = process.env): { host: string; port: number; grpcPort?: number } {
  const host = settings.serveHost(e) ?? SERVE_DEFAULTS.host;
  const raw = settings.servePort(e);
  const grpc = settings.serveGrpcPort(e);
  return {
    host,
    port: raw === undefined ? SERVE_DEFAULTS.port : envPort('ECL_SERVE_PORT', raw),
    ...(grpc === undefined ? {} : { grpcPort: envPort('ECL_SERVE_GRPC_PORT', grpc) }),
  };
}

/** The server's options, groups, examples and help epilogue; `cmd` is how the examples start ('$0 serve' in ecl). */
export const serveOptions = <T>(y: Argv<T>, cmd = '$0', listen = listenDefaults()) =>
  y
    .option('model', {
      type: 'string',
      coerce: (v: unknown) => [v].flat().map(String),
      describe: 'exported model, [name=]path, e.g. runs/<name>/model.onnx (or its run folder runs/<name>) or fast=runs/a/model.onnx; repeatable (version: first 12 hex chars of its sha256)',
    })
    .option('model-repository', { type: 'string', describe: 'folder of models, <name>/<version>/model.onnx with <version> a positive integer (Triton layout); combinable with --model' })
    .option('default-model', { type: 'string', describe: 'model of /v1/classify without ?model= and of the web app (default: the first --model, else the first in the repository)' })
    .option('model-name', { type: 'string', describe: 'name of a single unnamed --model in /v2/models/{name} (default: runs/<name>/model.onnx -> <name>)' })
    .option('allow-stale', { type: 'boolean', default: false, describe: "serve a model whose checkpoint_sha256 differs from its run folder's checkpoint.ckpt (retrained after export)" })
    .group(['model', 'model-repository', 'default-model', 'model-name', 'allow-stale'], 'Model:')
    .option('host', { type: 'string', default: listen.host, describe: 'address to listen on (default: $ECL_SERVE_HOST, else 127.0.0.1)' })
    .option('port', { type: 'number', default: listen.port, coerce: num('port', { min: 0, max: 65535, int: true }), describe: 'port (0 = any free port; default: $ECL_SERVE_PORT, else 8000)' })
    .option('body-limit', { type: 'number', default: SERVE_DEFAULTS.bodyLimit, coerce: num('body-limit', { min: 1, int: true }), describe: 'request body bytes (JSON, raw image, each multipart file)' })
    .option('max-image-pixels', { type: 'number', default: SERVE_DEFAULTS.maxImagePixels, coerce: num('max-image-pixels', { min: 1, int: true }), describe: 'decoded width x height allowed per uploaded image' })
    .option('max-image-side', { type: 'number', default: SERVE_DEFAULTS.maxImageSide, coerce: num('max-image-side', { min: 1, int: true }), describe: 'width or height allowed per uploaded image (from the header, before decoding)' })
    .option('max-aspect-ratio', { type: 'number', default: SERVE_DEFAULTS.maxAspectRatio, coerce: num('max-aspect-ratio', { min: 1 }), describe: 'longer side / shorter side allowed per uploaded image (before decoding)' })
    .option('body-timeout-ms', { type: 'number', default: SERVE_DEFAULTS.bodyTimeoutMs, coerce: num('body-timeout-ms', { min: 1, int: true }), describe: 'a request body not received within this time (stalled or dripped) gets 408 and its connection is closed' })
    .option('max-connections', { type: 'number', default: SERVE_DEFAULTS.maxConnections, coerce: num('max-connections', { min: 1, int: true }), describe: 'open connections; beyond, new ones are closed at once' })
    .option('shutdown-timeout', { type: 'number', default: 30, coerce: num('shutdown-timeout', { min: 0, above: true }), describe: 'seconds to drain on SIGTERM before giving up (exit 1)' })
    .option('drain-grace-ms', { type: 'number', default: SERVE_DEFAULTS.drainGraceMs, coerce: num('drain-grace-ms', { min: 0, int: true }), describe: 'on SIGTERM, how long idle keep-alive connections may send a last request (answered 503 + Connection: close) before they are closed' })
    .group(['host', 'port', 'body-limit', 'body-timeout-ms', 'max-connections', 'max-image-pixels', 'max-image-side', 'max-aspect-ratio', 'shutdown-timeout', 'drain-grace-ms'], 'HTTP:')
    .option('grpc-port', {
      type: 'number',
      ...(listen.grpcPort === undefined ? {} : { default: listen.grpcPort }),
      coerce: num('grpc-port', { min: 0, max: 65535, int: true }),
      describe: 'also serve the Open Inference Protocol over gRPC on this port (0 = any free port; default: $ECL_SERVE_GRPC_PORT, else no gRPC)',
    })
    .option('grpc-host', { type: 'string', describe: 'address for gRPC (default: --host)' })
    .group(['grpc-port', 'grpc-host'], 'gRPC (KServe v2 / Open Inference Protocol):')
    .option('max-batch', { type: 'number', default: SERVE_DEFAULTS.maxBatch, coerce: num('max-batch', { min: 1, int: true }), describe: 'most images per request (and per onnxruntime run when one request is that big)' })
    .option('preferred-batch', {
      type: 'string',
      default: String(SERVE_DEFAULTS.preferredBatch),
      coerce: autoOr('preferred-batch', { min: 1, int: true }),
      describe: `images per batch formed from several requests (<= --max-batch); auto: timed at load, the smallest size within 15% of the best time per image, at most ${AUTO_BATCH_MAX_MS} ms a batch where that costs under 50% per image`,
    })
    .option('admission-wait-ms', {
      type: 'string',
      default: String(SERVE_DEFAULTS.admissionWaitMs),
      coerce: autoOr('admission-wait-ms', { min: 0 }),
      describe: `refuse a request before its body is read (503) when the batches ahead would take longer than this; auto: 1.5 x one batch (about one full batch waits behind the computing one), at least ${AUTO_ADMISSION_FLOOR_MS} ms; 0: only --queue-timeout-ms`,
    })
    .option('max-delay-ms', {
      type: 'number',
      default: SERVE_DEFAULTS.maxDelayMs,
      coerce: num('max-delay-ms', { min: 0 }),
      describe: 'longest wait of the oldest queued request for companions (0: run whatever is queued as soon as the model is idle)',
    })
    .option('max-queue', { type: 'number', default: SERVE_DEFAULTS.maxQueue, coerce: num('max-queue', { min: 1, int: true }), describe: 'most requests waiting; beyond that 503 + Retry-After' })
    .option('max-inflight', { type: 'number', default: SERVE_DEFAULTS.maxInflight, coerce: num('max-inflight', { min: 1, int: true }), describe: 'inference requests admitted and not yet answered; beyond, 503 + Retry-After before the body is read' })
    .option('max-inflight-per-connection', { type: 'number', default: SERVE_DEFAULTS.maxInflightPerConnection, coerce: num('max-inflight-per-connection', { min: 1, int: true }), describe: 'inference requests in flight on one connection (pipelining); beyond, 503' })
    .option('queue-timeout-ms', { type: 'number', default: SERVE_DEFAULTS.queueTimeoutMs, coerce: num('queue-timeout-ms', { min: 0, int: true }), describe: 'shed a request that arrived longer ago than this when its batch forms: 503 (0 = no deadline)' })
    .group(['max-batch', 'preferred-batch', 'admission-wait-ms', 'max-delay-ms', 'max-queue', 'max-inflight', 'max-inflight-per-connection', 'queue-timeout-ms'], 'Batching and admission:')
    .option('ep', { type: 'string', choices: EP_CHOICES as unknown as string[], default: SERVE_DEFAULTS.ep, describe: 'execution provider: auto tries cuda then cpu' })
    .option('inference', { type: 'string', choices: ['worker', 'inline'], default: SERVE_DEFAULTS.inference, describe: 'run onnxruntime in a worker thread or on the event loop' })
    .option('intra-op-threads', { type: 'number', default: SERVE_DEFAULTS.intraOpThreads, coerce: num('intra-op-threads', { min: 0, int: true }), describe: 'onnxruntime intra-op threads (0 = its default)' })
    .option('ort-spin', { type: 'boolean', default: SERVE_DEFAULTS.ortSpin, describe: "onnxruntime thread spinning (off by default: the event loop shares the cores with inference; --ort-spin where onnxruntime has cores to itself)" })
    .group(['ep', 'inference', 'intra-op-threads', 'ort-spin'], 'onnxruntime:')
    .example(`${cmd} --model runs/demo/model.onnx`, 'the web app and the APIs on http://127.0.0.1:8000/')
    .example("curl -s -X POST --data-binary @pipeline/data/embedded/samples/sneaker.png -H 'content-type: image/png' 'http://127.0.0.1:8000/v1/classify?k=3'", 'classify a shipped sample image')
    .example(`${cmd} --model runs/demo/model.onnx --port 0 --ep cpu --intra-op-threads 2`, 'any free port, CPU only, 2 onnxruntime threads')
    .example(`${cmd} --model runs/demo/model.onnx --grpc-port 8001`, 'REST on 8000 and gRPC (inference.GRPCInferenceService) on 8001')
    .example(`${cmd} --model-repository models/ --model fast=runs/demo/model.onnx`, 'every models/<name>/<version>/model.onnx plus one more file; POST /v2/repository/index lists them')
    .example("curl -s -X POST --data-binary @photo.png -H 'content-type: image/png' 'http://127.0.0.1:8000/v1/classify?model=fast'", 'classify with a named model (&version=2 for one version)')
    .example("curl -s -X POST http://127.0.0.1:8000/v2/repository/models/fast/unload", 'unload a model (in-flight requests finish first); .../load (re)loads it')
    .epilogue(`${settingsHelp('serve')}\n\nExit codes: 0 drained after SIGTERM/SIGINT, 1 drain timed out, 2 usage error (bad option, missing or stale --model), 3 runtime error.`);

/** `--model name=path` -> {name, path}; a plain path (or an existing file whose name holds '=') -> {path}. A run
 * folder stands for its exported model (`runs/mine` -> `runs/mine/model.onnx`), as `ecl export runs/mine` takes it. */
export function parseModelArg(arg: string): { name?: string; path: string } {
  const m = /^([A-Za-z0-9_][A-Za-z0-9_.-]*)=(.+)$/.exec(arg);
  const parsed = !m || existsSync(arg) ? { path: arg } : { name: m[1]!, path: m[2]! };
  return { ...parsed, path: runFolderModel(parsed.path) };
}

function runFolderModel(path: string): string {
  if (!statSync(path, { throwIfNoEntry: false })?.isDirectory()) return path; // a file, or missing: the loader reports it
  const model = join(path, RUN_FILES.model);
  if (!existsSync(model)) throw new ServeUsageError(`${path} is a folder without model.onnx: export it first (ecl export ${path}), or give the .onnx file`);
  return model;
}

export function serveOptionsFromArgs(a: ServeArgs, log?: (line: string) => void): ServeOptions {
  const models = (a.model ?? []).map(parseModelArg);
  // --model-name names the one unnamed --model (as before repositories).
  const single = models.length === 1 && models[0]!.name === undefined ? models[0]! : undefined;
  return {
    ...(single ? { modelPath: single.path } : { models }),
    ...(a['model-repository'] !== undefined ? { modelRepository: a['model-repository'] } : {}),
    ...(a['default-model'] !== undefined ? { defaultModel: a['default-model'] } : {}),
    host: a.host,
    port: a.port,
    ep: a.ep as EpChoice,
    maxBatch: a['max-batch'],
    preferredBatch: a['preferred-batch'],
    admissionWaitMs: a['admission-wait-ms'],
    maxDelayMs: a['max-delay-ms'],
    maxQueue: a['max-queue'],
    bodyLimit: a['body-limit'],
    maxImagePixels: a['max-image-pixels'],
    maxImageSide: a['max-image-side'],
    maxAspectRatio: a['max-aspect-ratio'],
    maxInflight: a['max-inflight'],
    maxInflightPerConnection: a['max-inflight-per-connection'],
    queueTimeoutMs: a['queue-timeout-ms'],
    bodyTimeoutMs: a['body-timeout-ms'],
    maxConnections: a['max-connections'],
    drainGraceMs: a['drain-grace-ms'],
    ...(a['model-name'] ? { modelName: a['model-name'] } : {}),
    inference: a.inference as ServeOptions['inference'],
    intraOpThreads: a['intra-op-threads'],
    ortSpin: a['ort-spin'],
    allowStale: Boolean(a['allow-stale']),
    ...(a['grpc-port'] !== undefined ? { grpcPort: a['grpc-port'] } : {}),
    ...(a['grpc-host'] ? { grpcHost: a['grpc-host'] } : {}),
    ...(log ? { log } : {}),
  };
}

/**
 * Starts the server and installs SIGTERM/SIGINT handlers: stop accepting, finish in-flight and queued
 * requests, exit 0 (exit 1 when draining takes longer than --shutdown-timeout; a second signal exits 1 at once).
 */
export async function runServe(a: ServeArgs): Promise<RunningServer> {
  const log = (line: string) => process.stderr.write(`serve: ${line}\n`);
  const { startServer } = await import('./server.js');
  const srv = await startServer(serveOptionsFromArgs(a, log));
  for (const m of srv.repository.loaded()) {
    const failed = m.runner.tried.filter((t) => !t.ok);
    log(`model '${m.name}' version ${m.version} (${m.info.path}): input ${m.info.input.name} uint8 [N, ${m.info.input.height}, ${m.info.input.width}, ${m.info.input.channels}], ${m.info.numClasses} classes`);
    log(`execution provider: ${m.runner.ep}${failed.length ? ` (not used: ${failed.map((t) => `${t.ep}: ${t.reason}`).join('; ')})` : ''}`);
  }
  for (const f of srv.repository.failures()) log(`model '${f.name}' version ${f.version} UNAVAILABLE: ${f.reason}`);
  log(`default model (/v1/classify without ?model=, web app): '${srv.ctx.defaultModel}'`);
  log(`batching: max ${a['max-batch']} images, max delay ${a['max-delay-ms']} ms, queue ${a['max-queue']} requests; inference ${a.inference}`);
  let signalled = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled) {
      log(`${sig} again: exiting without draining`);
      process.exit(1);
    }
    signalled = true;
    const queued = srv.repository.loaded().reduce((n, m) => n + m.batcher.queuedRequests + (m.batcher.busy ? 1 : 0), 0);
    log(`${sig}: draining (${queued} batch(es)/requests pending), no new connections`);
    const timer = setTimeout(() => {
      log(`drain took longer than ${a['shutdown-timeout']} s, exiting`);
      process.exit(1);
    }, a['shutdown-timeout'] * 1000);
    timer.unref();
    srv.close().then(
      () => {
        log('drained, bye');
        process.exit(0);
      },
      (e: unknown) => {
        log(`shutdown failed: ${e instanceof Error ? e.message : String(e)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // Only now the address: a tool that reads it may signal at once, and before the handlers exist a SIGTERM kills
  // the process undrained (seen in tests on a busy machine: killed by the signal, no exit code).
  // The first line on stdout: tools (tests, bench) read the URL from it.
  process.stdout.write(`listening on ${srv.url}\n`);
  // The second line with --grpc-port: host:port, a gRPC target.
  if (srv.grpcAddress) process.stdout.write(`grpc listening on ${srv.grpcAddress}\n`);
  return srv;
}
