// The HTTP server: fastify + KServe v2 routes (+ the model repository extension) + /v1/classify + /metrics,
// dynamic batching in front of one onnxruntime-node session (in a worker thread) per served model version
// (model-repository.ts), limits everywhere, graceful shutdown.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { type IncomingMessage, type ServerResponse, createServer as createHttpServer } from 'node:http';
import { resolve } from 'node:path';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { EpAttempt, EpChoice, EpName } from './ep.js';
import { defaultModelName, type ModelInfo, readModelMetadataProps } from './model-info.js';
import type { DynamicBatcher } from './batcher.js';
import { registerClassifyRoute } from './classify.js';
import type { ServeContext } from './context.js';
import { HttpError, ServeUsageError } from './errors.js';
import { ServeMetrics } from './metrics.js';
import { MODEL_NAME, type ModelFile, ModelRepository, type ServedModel, StaleModelError, staleModelReason } from './model-repository.js';
import { installModelLeases } from './model-route.js';
import { registerRepositoryRoutes } from './repository-routes.js';
import type { InferenceMode } from './runner.js';
import { registerV2Routes } from './v2.js';
import { webAppPlugin } from './web-plugin.js';
import { type Admission, type AdmissionLimits, installAdmission } from './admission.js';
import { SERVE_DEFAULTS } from './defaults.js';
import type { RunningGrpcServer } from './grpc.js';

export interface ServeOptions {
  /** Path of one exported model (runs/<name>/model.onnx); its name: modelName, else from the path. */
  modelPath?: string;
  /** More exported models (`--model name=path`, repeatable); version: the first 12 hex chars of the file's sha256. */
  models?: Array<{ name?: string; path: string }>;
  /** A Triton-style model repository: <dir>/<name>/<version>/model.onnx, <version> a positive integer. */
  modelRepository?: string;
  /** The model of /v1/classify without ?model= and of the web app (default: the first --model, else the repository's first). */
  defaultModel?: string;
  host?: string;
  /** 0 = any free port. */
  port?: number;
  ep?: EpChoice;
  /** Most images per request and per onnxruntime run. */
  maxBatch?: number;
  /** How long the oldest queued request may wait for companions (0 = run whatever is queued as soon as idle). */
  maxDelayMs?: number;
  /** Images per batch formed from several requests; 'auto' (default): the knee of the per-image cost timed at load. */
  preferredBatch?: number | 'auto';
  /** Refuse on arrival (before the body) when the expected wait exceeds this (ms); 'auto' (default): 1.5 x a preferred batch's time, at least 10 ms; 0: only --queue-timeout-ms. */
  admissionWaitMs?: number | 'auto';
  /** Most requests waiting (not running); beyond: 503 + Retry-After. */
  maxQueue?: number;
  /** Request body bytes (JSON, raw image, each multipart file). */
  bodyLimit?: number;
  /** Admitted inference requests not yet answered; beyond: 503 + Retry-After before the body is read. */
  maxInflight?: number;
  /** Inference requests in flight on one connection (pipelining); beyond: 503. */
  maxInflightPerConnection?: number;
  /** Shed requests older than this (from arrival) when their batch forms: 503 (0 = no deadline). */
  queueTimeoutMs?: number;
  /** A body not fully received within this many ms: 408, connection closed. */
  bodyTimeoutMs?: number;
  /** Open connections; beyond, new ones are closed at once. */
  maxConnections?: number;
  /** Drain: how long idle keep-alive connections stay open for a last request (answered 503 + Connection: close). */
  drainGraceMs?: number;
  /** Image width or height allowed (checked from the header, before decoding). */
  maxImageSide?: number;
  /** Longer side / shorter side allowed (before decoding). */
  maxAspectRatio?: number;
  /** Decoded width x height allowed per uploaded image. */
  maxImagePixels?: number;
  /** Name of modelPath in /v2/models/{name} (default: runs/<name>/model.onnx -> <name>). */
  modelName?: string;
  /** 'worker' (default): session.run in a worker thread; 'inline': on the event loop. */
  inference?: InferenceMode;
  /** onnxruntime intra-op threads (0 = onnxruntime default). */
  intraOpThreads?: number;
  /** onnxruntime thread spinning (its default; default true). */
  ortSpin?: boolean;
  /** Status lines (EP choice, listening, shutdown). Default: none. */
  log?: (line: string) => void;
  /** prom-client default process metrics (default true). */
  defaultMetrics?: boolean;
  /** Serve a model whose checkpoint_sha256 no longer matches the checkpoint of its run folder (default false). */
  allowStale?: boolean;
  /** The Open Inference Protocol over gRPC on this port too (grpc.ts; 0 = any free port; default: no gRPC). */
  grpcPort?: number;
  /** Address for gRPC (default: host). */
  grpcHost?: string;
}

export { SERVE_DEFAULTS };

export interface RunningServer {
  app: FastifyInstance;
  /** http://host:port */
  url: string;
  host: string;
  port: number;
  /** Every served model version. */
  repository: ModelRepository;
  /** The default model's latest READY version (as of the call: a reload swaps it). */
  readonly model: ServedModel;
  /** Its info, execution provider (and everything tried) and batcher. */
  readonly info: ModelInfo;
  readonly ep: EpName;
  readonly tried: EpAttempt[];
  readonly batcher: DynamicBatcher;
  metrics: ServeMetrics;
  ctx: ServeContext;
  /** The gRPC port, and host:port as a gRPC target; null without --grpc-port. */
  grpcPort: number | null;
  grpcAddress: string | null;
  /** Graceful: stop accepting, finish in-flight and queued requests, release the model. Idempotent. */
  close(): Promise<void>;
}

const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function positiveInt(name: string, v: number, min = 1): number {
  if (!Number.isInteger(v) || v < min) throw new ServeUsageError(`--${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

export { staleModelReason };

/**
 * The server's fastify options (also the HTTP floor of bench-serve, pipeline/bench/http-floor-server.ts, so the two
 * stay in step). Our own node server: `shed` (admission's overload fast path) runs before fastify, and node's
 * request timeout (checked every second) backs up admission.ts's body timer for requests fastify never saw.
 */
export function fastifyOptions(bodyLimit: number, bodyTimeoutMs: number, shed: (req: IncomingMessage, res: ServerResponse) => boolean = () => false) {
  return {
    serverFactory: (handler: (req: IncomingMessage, res: ServerResponse) => void) =>
      createHttpServer(
        { connectionsCheckingInterval: 1000, headersTimeout: Math.min(60_000, bodyTimeoutMs), requestTimeout: bodyTimeoutMs + 1000, keepAliveTimeout: 72_000 },
        (req, res) => {
          if (!shed(req, res)) handler(req, res);
        },
      ),
    logger: false,
    bodyLimit,
    routerOptions: { ignoreTrailingSlash: true },
    // The drain answers requests itself (admission.ts: 503 + Retry-After + Connection: close).
    return503OnClosing: false,
    forceCloseConnections: 'idle' as const,
  };
}

/** Raw bodies for images and the binary tensor extension; JSON stays fastify's (secure) parser, +json types too. */
export function addBodyParsers(app: FastifyInstance, bodyLimit: number): void {
  const raw = (_req: unknown, body: Buffer, done: (err: Error | null, body?: Buffer) => void) => done(null, body);
  app.addContentTypeParser(/^image\/[\w.+-]+/i, { parseAs: 'buffer', bodyLimit }, raw);
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit }, raw);
  // Structured +json types (application/vnd.x+json) are JSON too (v2.ts JSON_CONTENT_TYPE), same parser.
  app.addContentTypeParser(/^application\/[\w.-]+\+json\s*(;|$)/i, { parseAs: 'string', bodyLimit }, app.getDefaultJsonParser('error', 'error'));
}

/** Builds the fastify app around a loaded model repository (no listen). */
export function buildApp(
  ctx: ServeContext,
  opts: { bodyLimit: number; webApp?: { modelPath: string | (() => string) }; admission?: AdmissionLimits; isDraining?: () => boolean },
): { app: FastifyInstance; admission: Admission } {
  const bodyTimeoutMs = opts.admission?.bodyTimeoutMs ?? SERVE_DEFAULTS.bodyTimeoutMs;
  let admission: Admission | undefined;
  const app = Fastify(fastifyOptions(opts.bodyLimit, bodyTimeoutMs, (req, res) => admission?.shed(req, res) ?? false));
  const isDraining = opts.isDraining ?? (() => !ctx.isReady());
  admission = installAdmission(
    app,
    ctx,
    opts.admission ?? {
      maxInflight: SERVE_DEFAULTS.maxInflight,
      maxInflightPerConnection: SERVE_DEFAULTS.maxInflightPerConnection,
      maxQueue: SERVE_DEFAULTS.maxQueue,
      bodyTimeoutMs: SERVE_DEFAULTS.bodyTimeoutMs,
    },
    isDraining,
  );
  // After admission's hook: only admitted inference requests take a model lease.
  installModelLeases(app, ctx);

  addBodyParsers(app, opts.bodyLimit);
  void app.register(multipart, { limits: { fileSize: opts.bodyLimit, files: ctx.limits.maxBatch } });

  // While draining, every response closes its connection, so keep-alive clients do not hold the server open.
  app.addHook('onSend', async (_req, reply, payload) => {
    if (isDraining()) void reply.header('connection', 'close');
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    ctx.metrics.observeRequest(route, req.method, reply.statusCode, reply.elapsedTime / 1000);
  });

  app.setErrorHandler(async (err: FastifyError | HttpError | Error, req, reply) => {
    if ((err as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      await drainBody(req.raw, Math.max(OVERSIZE_DRAIN_BYTES, 4 * opts.bodyLimit), bodyTimeoutMs);
    let status = (err as { statusCode?: number }).statusCode ?? 500;
    if (!(status >= 400 && status < 600)) status = 500;
    if (err instanceof HttpError) for (const [k, v] of Object.entries(err.headers)) void reply.header(k, v);
    const code = (err as FastifyError).code;
    let message = err.message;
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') message = `request body exceeds ${opts.bodyLimit} bytes (--body-limit)`;
    else if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') message = `unsupported content type: ${message}`;
    else if (err instanceof SyntaxError || code === 'FST_ERR_CTP_INVALID_JSON_BODY') message = `invalid JSON body: ${message}`;
    if (status >= 500) {
      message = err instanceof HttpError ? message : `internal error: ${message}`;
      if (status === 500) process.stderr.write(`serve: ${(err.stack ?? err.message).split('\n').slice(0, 4).join('\n')}\n`);
    }
    return reply.code(status).send({ error: message });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}` });
  });

  // Every known path answers the other methods with 405 + Allow.
  const allow = (url: string, methods: string[]) => {
    const others = HTTP_METHODS.filter((m) => !methods.includes(m));
    app.route({
      method: others,
      url,
      handler: async (req, reply) => reply.code(405).header('allow', methods.join(', ')).send({ error: `method ${req.method} not allowed on ${req.url.split("?")[0]} (allowed: ${methods.join(', ')})` }),
    });
  };

  registerV2Routes(app, ctx, allow);
  registerRepositoryRoutes(app, ctx, allow);
  registerClassifyRoute(app, ctx, allow);
  app.get('/metrics', async (_req, reply) => reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics()));
  allow('/metrics', ['GET', 'HEAD']);
  // The browser app (onnxruntime-web) at `/`, with the same model file.
  if (opts.webApp) void app.register(webAppPlugin, opts.webApp);
  return { app, admission };
}

const connections = (server: import('node:http').Server) => new Promise<number>((r) => server.getConnections((e, n) => r(e ? 0 : n)));

/**
 * An oversized body is refused (413) before it is read. Answering and closing at once resets clients that
 * send the whole body before reading (Python's urllib, curl --data-binary): they see a broken pipe instead of
 * the 413. So the rest of the body is read and discarded first, up to OVERSIZE_DRAIN_BYTES (or the body
 * timeout); then the 413 goes out with Connection: close.
 */
const OVERSIZE_DRAIN_BYTES = 64 << 20;
function drainBody(raw: IncomingMessage, maxBytes: number, timeoutMs: number): Promise<void> {
  if (raw.complete || raw.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let seen = 0;
    const finish = () => {
      raw.off('data', onData);
      raw.off('end', finish);
      raw.off('close', finish);
      clearTimeout(timer);
      resolve();
    };
    const onData = (c: Buffer) => {
      seen += c.length;
      if (seen > maxBytes) finish();
    };
    const timer = setTimeout(finish, timeoutMs);
    raw.on('data', onData);
    raw.once('end', finish);
    raw.once('close', finish);
    raw.resume();
  });
}

/** The `--model` files: missing paths, bad or repeated names and (without --allow-stale) stale models are usage errors (exit 2). */
function modelFiles(o: Pick<ServeOptions, 'modelPath' | 'modelName' | 'models' | 'allowStale' | 'log'>): ModelFile[] {
  const given = [...(o.modelPath !== undefined ? [{ path: o.modelPath, ...(o.modelName ? { name: o.modelName } : {}) }] : []), ...(o.models ?? [])];
  const files: ModelFile[] = [];
  for (const m of given) {
    const path = resolve(m.path);
    if (!existsSync(path)) throw new ServeUsageError(`model not found: ${m.path} (export it first: ecl export runs/<name>)`);
    const name = m.name ?? defaultModelName(path);
    if (!MODEL_NAME.test(name)) throw new ServeUsageError(`invalid model name '${name}' (letters, digits, '_', '.', '-'; not starting with '.' or '-')`);
    if (files.some((f) => f.name === name)) throw new ServeUsageError(`model name '${name}' given twice (name them: --model name=path)`);
    let props: Record<string, string> | null = null;
    try {
      props = readModelMetadataProps(path);
    } catch {
      // Unreadable or not ONNX: the repository reports it (UNAVAILABLE), and the server stops only if nothing loads.
    }
    const stale = props && staleModelReason(path, props);
    if (stale && !o.allowStale) throw new ServeUsageError(`refusing a stale model: ${stale} (or serve it anyway with --allow-stale)`);
    files.push({ name, path });
  }
  return files;
}

/** Loads every model, starts their batchers and listens. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const o = { ...SERVE_DEFAULTS, allowStale: false, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as Required<
    Omit<ServeOptions, 'modelName' | 'log' | 'grpcPort' | 'grpcHost' | 'modelPath' | 'models' | 'modelRepository' | 'defaultModel'>
  > &
    Pick<ServeOptions, 'modelName' | 'log' | 'grpcPort' | 'grpcHost' | 'modelPath' | 'models' | 'modelRepository' | 'defaultModel'>;
  const log = o.log ?? (() => {});
  positiveInt('max-batch', o.maxBatch);
  positiveInt('max-queue', o.maxQueue);
  positiveInt('body-limit', o.bodyLimit);
  positiveInt('max-image-pixels', o.maxImagePixels);
  positiveInt('port', o.port, 0);
  if (o.grpcPort !== undefined) positiveInt('grpc-port', o.grpcPort, 0);
  positiveInt('max-inflight', o.maxInflight);
  positiveInt('max-inflight-per-connection', o.maxInflightPerConnection);
  positiveInt('queue-timeout-ms', o.queueTimeoutMs, 0);
  if (o.preferredBatch !== 'auto') {
    positiveInt('preferred-batch', o.preferredBatch);
    if (o.preferredBatch > o.maxBatch) throw new ServeUsageError(`--preferred-batch (${o.preferredBatch}) must be <= --max-batch (${o.maxBatch})`);
  }
  if (o.admissionWaitMs !== 'auto' && !(Number.isFinite(o.admissionWaitMs) && o.admissionWaitMs >= 0)) throw new ServeUsageError(`--admission-wait-ms must be 'auto' or a number >= 0, got ${o.admissionWaitMs}`);
  positiveInt('body-timeout-ms', o.bodyTimeoutMs);
  positiveInt('max-connections', o.maxConnections);
  positiveInt('drain-grace-ms', o.drainGraceMs, 0);
  positiveInt('max-image-side', o.maxImageSide);
  if (!(o.maxAspectRatio >= 1)) throw new ServeUsageError(`--max-aspect-ratio must be >= 1, got ${o.maxAspectRatio}`);
  if (!(o.maxDelayMs >= 0)) throw new ServeUsageError(`--max-delay-ms must be >= 0, got ${o.maxDelayMs}`);
  const files = modelFiles(o);
  let root: string | undefined;
  if (o.modelRepository !== undefined) {
    root = resolve(o.modelRepository);
    if (!existsSync(root) || !statSync(root).isDirectory()) throw new ServeUsageError(`model repository not found: ${o.modelRepository} (a folder of <name>/<version>/model.onnx)`);
    const clash = files.find((f) => existsSync(resolve(root!, f.name)));
    if (clash) throw new ServeUsageError(`model name '${clash.name}' is both a --model and a folder of the model repository (rename one: --model name=path)`);
  }
  if (files.length === 0 && root === undefined) throw new ServeUsageError('no model to serve: give --model runs/<name>/model.onnx or --model-repository DIR');

  const metrics = new ServeMetrics({ defaultMetrics: o.defaultMetrics });
  const repository = new ModelRepository({
    files,
    ...(root !== undefined ? { root } : {}),
    ep: o.ep,
    inference: o.inference,
    intraOpThreads: o.intraOpThreads,
    ortSpin: o.ortSpin,
    maxBatch: o.maxBatch,
    preferredBatch: o.preferredBatch,
    admissionWaitMs: o.admissionWaitMs,
    maxDelayMs: o.maxDelayMs,
    maxQueue: o.maxQueue,
    queueTimeoutMs: o.queueTimeoutMs,
    allowStale: o.allowStale,
    metrics,
    log,
  });
  await repository.loadAll();
  if (repository.loaded().length === 0) {
    const failures = repository.failures();
    await repository.close();
    // One model asked for: its own error (exit 2 for a stale one, 3 for an unreadable one), as before repositories.
    const only = failures.length === 1 ? failures[0]!.error : null;
    if (only instanceof StaleModelError) throw new ServeUsageError(only.message);
    if (only instanceof Error) throw only;
    throw new Error(failures.length ? `no model could be loaded: ${failures.map((f) => `${f.name} version ${f.version}: ${f.reason}`).join('; ')}` : `no model found in the model repository ${o.modelRepository} (<name>/<version>/model.onnx)`);
  }
  const names = repository.names();
  const defaultModel = o.defaultModel ?? files[0]?.name ?? names.find((n) => repository.latestReady(n)) ?? names[0]!;
  if (!names.includes(defaultModel)) {
    await repository.close();
    throw new ServeUsageError(`--default-model '${defaultModel}' is not served (models: ${names.join(', ')})`);
  }

  let draining = false;
  const ctx: ServeContext = {
    repository,
    defaultModel,
    metrics,
    limits: { maxBatch: o.maxBatch, maxImagePixels: o.maxImagePixels, maxImageSide: o.maxImageSide, maxAspectRatio: o.maxAspectRatio, bodyLimit: o.bodyLimit },
    serverName: 'ecl-serve',
    serverVersion: packageVersion(),
    isReady: () => !draining && repository.isReady(),
  };
  const atStart = repository.latestReady(defaultModel);
  if (!atStart) log(`default model '${defaultModel}' did not load: no web app at /`);
  const { app, admission } = buildApp(ctx, {
    bodyLimit: o.bodyLimit,
    // The web app runs the default model's current file (a reload may swap it).
    ...(atStart ? { webApp: { modelPath: () => repository.latestReady(defaultModel)?.path ?? atStart.path } } : {}),
    admission: { maxInflight: o.maxInflight, maxInflightPerConnection: o.maxInflightPerConnection, maxQueue: o.maxQueue, bodyTimeoutMs: o.bodyTimeoutMs },
    isDraining: () => draining,
  });
  try {
    await app.listen({ host: o.host, port: o.port });
    app.server.maxConnections = o.maxConnections;
  } catch (e) {
    await repository.close();
    throw new Error(`cannot listen on ${o.host}:${o.port}: ${(e as Error).message}`);
  }
  let grpcServer: RunningGrpcServer | null = null;
  if (o.grpcPort !== undefined) {
    try {
      // Loaded only with --grpc-port: grpc-js and the proto are not needed otherwise.
      const { grpcBackendFromContext, startGrpcServer } = await import('./grpc.js');
      grpcServer = await startGrpcServer(grpcBackendFromContext(ctx, admission), { host: o.grpcHost ?? o.host, port: o.grpcPort, maxReceiveMessageLength: o.bodyLimit });
    } catch (e) {
      await app.close();
      await repository.close();
      throw e;
    }
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const hostForUrl = o.host.includes(':') ? `[${o.host}]` : o.host;
  let closing: Promise<void> | null = null;
  const close = () => {
    if (!closing) {
      draining = true;
      closing = (async () => {
        // 1. Stop listening but keep the idle keep-alive connections: node's server.close() would close them at
        //    once, racing with the client's next request on them (ECONNRESET, issue 17). Meanwhile every answer
        //    carries Connection: close and new inference requests get 503 + Retry-After (admission.ts).
        for (const m of repository.loaded()) m.batcher.expedite();
        // gRPC: no new connections or calls (UNAVAILABLE); in-flight calls finish (they are in admission and the batchers).
        const grpcClosed = grpcServer?.close();
        const server = app.server as typeof app.server & { closeIdleConnections: () => void };
        server.closeIdleConnections = () => {};
        const closed = app.close();
        // 2. Answer everything accepted: in-flight requests wait for their batches.
        await admission.idle();
        await Promise.all(repository.loaded().map((m) => m.batcher.drained()));
        // 3. A short grace for keep-alive clients to send their last request (answered 503 + close), then close
        //    the connections that are still idle: a FIN after their last response, not a reset mid-request.
        const until = Date.now() + o.drainGraceMs;
        while (Date.now() < until && (await connections(server)) > 0) await new Promise((r) => setTimeout(r, 20));
        await admission.idle();
        delete (server as Partial<typeof server>).closeIdleConnections;
        server.closeIdleConnections();
        await closed;
        await grpcClosed;
        // 4. Every model drains (nothing is left by now) and its runner closes.
        await repository.close();
      })();
    }
    return closing;
  };
  // The default model's current version: what the single-model API of this object (info, batcher, ...) refers to.
  const current = (): ServedModel => {
    const m = repository.latestReady(defaultModel) ?? repository.loaded()[0];
    if (!m) throw new Error('no model is loaded');
    return m;
  };
  return {
    app,
    url: `http://${hostForUrl}:${port}`,
    host: o.host,
    port,
    repository,
    get model() {
      return current();
    },
    get info() {
      return current().info;
    },
    get ep() {
      return current().runner.ep;
    },
    get tried() {
      return current().runner.tried;
    },
    get batcher() {
      return current().batcher;
    },
    metrics,
    ctx,
    grpcPort: grpcServer?.port ?? null,
    grpcAddress: grpcServer?.address ?? null,
    close,
  };
}
