// The Open Inference Protocol (KServe v2) over gRPC: service inference.GRPCInferenceService of KServe's
// grpc_predict_v2.proto (serve/node/proto/, loaded at run time with @grpc/proto-loader), served by @grpc/grpc-js
// next to the REST API (`--grpc-port`). The service talks to a small GrpcBackend, not to ServeContext, so that
// how models are found (one model today, a repository later) changes only grpcBackendFromContext at the bottom.
//
// Same rules as REST: the input checks of v2.ts, the same batcher and --max-batch, the global --max-inflight and
// --max-queue of admission.ts, --body-limit as the largest message received. Status codes (gRPC's status-code
// guide; REST's answer in brackets):
//   INVALID_ARGUMENT    malformed request: shape, datatype, byte count, raw + typed, unknown input/output,
//                       more than --max-batch images [400/413]
//   NOT_FOUND           unknown model or version [404]
//   RESOURCE_EXHAUSTED  --max-queue or --max-inflight full, or a message over --body-limit [503/413]
//   UNAVAILABLE         draining (and, once closed, the transport refuses new calls); the request waited past
//                       --queue-timeout-ms, or its expected wait exceeds --admission-wait-ms (refused or shed
//                       before it ran, so a retry with backoff is safe: the guide's
//                       "transient condition" - not DEADLINE_EXCEEDED, which is the client's deadline) [503]
//   INTERNAL            the model failed [500]
import { existsSync } from 'node:fs';
import { endianness } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Admission } from './admission.js';
import { ExpectedWaitError, QueueFullError, QueueTimeoutError, ShuttingDownError } from './batcher.js';
import type { ServeContext } from './context.js';
import { HttpError, errorMessage } from './errors.js';
import type { ServeMetrics } from './metrics.js';
import type { ModelInfo } from './model-info.js';
import { ModelNotFoundError, ModelUnavailableError, type ServedModel } from './model-repository.js';
import type { OutputTensor } from './runner.js';
import { SERVER_EXTENSIONS, binaryToUint8, checkInputName, checkInputTensor, modelMetadata, selectOutputs, tensorDataToUint8 } from './v2.js';

export const GRPC_SERVICE = 'inference.GRPCInferenceService';
export const PROTO_FILE = 'grpc_predict_v2.proto';

/**
 * Where the proto is: <package root>/serve/node/proto/grpc_predict_v2.proto (this module is
 * dist/serve/node/grpc.js, so the root is three levels up), or proto/ next to this module.
 */
export function grpcProtoPath(): string {
  const candidates = [new URL(`../../../serve/node/proto/${PROTO_FILE}`, import.meta.url), new URL(`./proto/${PROTO_FILE}`, import.meta.url)].map((u) => fileURLToPath(u));
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`the gRPC service definition ${PROTO_FILE} is missing (looked at ${candidates.join(', ')}); ship serve/node/proto/ with dist/`);
  return found;
}

// ---------------------------------------------------------------------------------------------------------
// What the service needs from the server.

/** A refusal the backend answers instead of a model or an admission ticket. */
export interface GrpcRefusal {
  code: 'not-found' | 'unavailable' | 'resource-exhausted';
  message: string;
}

export interface GrpcTensorMetadata {
  name: string;
  datatype: string;
  /** -1 for a variable dimension. */
  shape: number[];
}

/** One servable model version. */
export interface GrpcModel {
  /** The input spec (validation) and the outputs (names). */
  info: ModelInfo;
  /** Answered as model_version. */
  version: string;
  /** Most images in one request (--max-batch). */
  maxBatch: number;
  ready(): boolean;
  /** Counts the request in flight on this version until the returned release is called, so an unload waits for it. */
  hold(): (() => void) | GrpcRefusal;
  metadata(): { name: string; versions: string[]; platform: string; inputs: GrpcTensorMetadata[]; outputs: GrpcTensorMetadata[] };
  /**
   * Runs n images (uint8 NHWC) through the model's batcher; `arrivedAt` (performance.now()) starts the queue
   * deadline. Rejects with the batcher's QueueFullError / QueueTimeoutError / ShuttingDownError when refused.
   */
  infer(pixels: Uint8Array, n: number, arrivedAt: number): Promise<{ outputs: Record<string, OutputTensor>; parameters: Record<string, string | number | boolean> }>;
}

export interface GrpcBackend {
  serverName: string;
  serverVersion: string;
  extensions: readonly string[];
  live(): boolean;
  ready(): boolean;
  /** version '' = the default version. */
  resolve(name: string, version: string): GrpcModel | GrpcRefusal;
  /** The global admission (drain, queue, in-flight): a release function to call once answered, or a refusal. */
  admit(): (() => void) | GrpcRefusal;
  metrics: Pick<ServeMetrics, 'observeRequest' | 'rejected'>;
}

// ---------------------------------------------------------------------------------------------------------
// Messages (proto-loader with keepCase, longs as Number, defaults: repeated fields are arrays, messages null).

type InferParameter = { bool_param?: boolean; int64_param?: number; string_param?: string };
interface TensorContents {
  bool_contents: boolean[];
  int_contents: number[];
  int64_contents: number[];
  uint_contents: number[];
  uint64_contents: number[];
  fp32_contents: number[];
  fp64_contents: number[];
  bytes_contents: Buffer[];
}
interface InferInputTensor {
  name: string;
  datatype: string;
  shape: number[];
  contents: TensorContents | null;
}
interface ModelInferRequest {
  model_name: string;
  model_version: string;
  id: string;
  inputs: InferInputTensor[];
  outputs: Array<{ name: string }>;
  raw_input_contents: Buffer[];
}
interface InferOutputTensor {
  name: string;
  datatype: string;
  shape: number[];
  contents?: { fp32_contents: number[] };
}
interface ModelInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  parameters: Record<string, InferParameter>;
  outputs: InferOutputTensor[];
  raw_output_contents: Buffer[];
}

class GrpcError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
    this.name = 'GrpcError';
  }
}

const REFUSAL_CODE: Record<GrpcRefusal['code'], grpc.status> = {
  'not-found': grpc.status.NOT_FOUND,
  unavailable: grpc.status.UNAVAILABLE,
  'resource-exhausted': grpc.status.RESOURCE_EXHAUSTED,
};
const refusalError = (r: GrpcRefusal) => new GrpcError(REFUSAL_CODE[r.code], r.message);
const isRefusal = (x: unknown): x is GrpcRefusal => typeof x === 'object' && x !== null && 'code' in x && typeof (x as GrpcRefusal).code === 'string';

/** google.rpc.Code -> HTTP status (google/rpc/code.proto), for the request metrics shared with REST. */
const HTTP_STATUS: Partial<Record<grpc.status, number>> = {
  [grpc.status.OK]: 200,
  [grpc.status.CANCELLED]: 499,
  [grpc.status.INVALID_ARGUMENT]: 400,
  [grpc.status.DEADLINE_EXCEEDED]: 504,
  [grpc.status.NOT_FOUND]: 404,
  [grpc.status.ALREADY_EXISTS]: 409,
  [grpc.status.PERMISSION_DENIED]: 403,
  [grpc.status.UNAUTHENTICATED]: 401,
  [grpc.status.RESOURCE_EXHAUSTED]: 429,
  [grpc.status.FAILED_PRECONDITION]: 400,
  [grpc.status.ABORTED]: 409,
  [grpc.status.OUT_OF_RANGE]: 400,
  [grpc.status.UNIMPLEMENTED]: 501,
  [grpc.status.UNAVAILABLE]: 503,
};
export const httpStatusOfGrpc = (code: grpc.status): number => HTTP_STATUS[code] ?? 500;

/** Any failure -> the status the client gets. */
function toGrpcError(e: unknown, metrics: GrpcBackend['metrics']): GrpcError {
  if (e instanceof GrpcError) return e;
  if (e instanceof QueueFullError) {
    metrics.rejected.inc({ reason: 'queue_full' });
    return new GrpcError(grpc.status.RESOURCE_EXHAUSTED, e.message);
  }
  if (e instanceof QueueTimeoutError || e instanceof ExpectedWaitError) {
    metrics.rejected.inc({ reason: e instanceof QueueTimeoutError ? 'deadline_expired' : 'queue_timeout' });
    return new GrpcError(grpc.status.UNAVAILABLE, e.message);
  }
  if (e instanceof ShuttingDownError) {
    metrics.rejected.inc({ reason: 'shutting_down' });
    return new GrpcError(grpc.status.UNAVAILABLE, e.message);
  }
  // v2.ts's validation: 400 and 413 (--max-batch) are both a request the client must change.
  if (e instanceof HttpError) {
    const code = e.statusCode === 404 ? grpc.status.NOT_FOUND : e.statusCode === 503 ? grpc.status.UNAVAILABLE : e.statusCode < 500 ? grpc.status.INVALID_ARGUMENT : grpc.status.INTERNAL;
    return new GrpcError(code, e.message);
  }
  process.stderr.write(`serve: grpc: ${(e instanceof Error ? (e.stack ?? e.message) : String(e)).split('\n').slice(0, 4).join('\n')}\n`);
  return new GrpcError(grpc.status.INTERNAL, `inference failed: ${errorMessage(e)}`);
}

/** A unary handler: answer, map failures to a status, count it in the request metrics. */
function unary<Req, Res>(method: string, metrics: GrpcBackend['metrics'], fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Res | Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  const route = `grpc:/${GRPC_SERVICE}/${method}`;
  return (call, callback) => {
    const t0 = performance.now();
    const done = (code: grpc.status) => metrics.observeRequest(route, 'POST', httpStatusOfGrpc(code), (performance.now() - t0) / 1000);
    Promise.resolve()
      .then(() => fn(call.request, call))
      .then(
        (res) => {
          done(grpc.status.OK);
          callback(null, res);
        },
        (e: unknown) => {
          const err = toGrpcError(e, metrics);
          done(err.code);
          callback({ code: err.code, details: err.message });
        },
      );
  };
}

const CONTENT_FIELDS = ['bool_contents', 'int_contents', 'int64_contents', 'uint_contents', 'uint64_contents', 'fp32_contents', 'fp64_contents', 'bytes_contents'] as const;
const invalid = (message: string) => new GrpcError(grpc.status.INVALID_ARGUMENT, message);

/** Validates a ModelInferRequest against the model (v2.ts's rules): the pixels, the outputs to return, raw or typed. */
export function parseGrpcInfer(req: ModelInferRequest, model: Pick<GrpcModel, 'info' | 'maxBatch'>): { pixels: Uint8Array; n: number; outputs: string[]; raw: boolean } {
  const { info } = model;
  const inputs = req.inputs ?? [];
  const raw = req.raw_input_contents ?? [];
  if (inputs.length === 0) throw invalid(`inputs is empty (model '${info.name}' has one input '${info.input.name}')`);
  if (raw.length > 0 && raw.length !== inputs.length)
    throw invalid(`raw_input_contents has ${raw.length} entries for ${inputs.length} inputs (one per input, in the order of inputs)`);
  let pixels: Uint8Array | null = null;
  let n = 0;
  inputs.forEach((inp, i) => {
    const where = `inputs[${i}]`;
    checkInputName(inp.name, where, info);
    if (pixels) throw invalid(`${where}: input '${inp.name}' given more than once`);
    const { datatype, shape, count } = checkInputTensor(inp.datatype, inp.shape, where, info, model.maxBatch);
    n = shape[0]!;
    const contents = inp.contents;
    const typed = contents ? CONTENT_FIELDS.filter((f) => (contents[f]?.length ?? 0) > 0) : [];
    if (raw.length > 0) {
      if (typed.length > 0) throw invalid(`${where}: contents.${typed[0]} given together with raw_input_contents (use one or the other, for every input)`);
      pixels = binaryToUint8(raw[i]!, count, datatype, where, `raw_input_contents[${i}] byte count`);
      return;
    }
    const field = datatype === 'UINT8' ? 'uint_contents' : 'fp32_contents';
    const other = typed.find((f) => f !== field);
    if (other) throw invalid(`${where}: datatype ${datatype} takes its values in contents.${field}, got contents.${other}`);
    if (typed.length === 0) throw invalid(`${where}: no tensor data: give contents.${field} or raw_input_contents`);
    pixels = tensorDataToUint8(contents![field], shape, datatype, where, `${where}.contents.${field}`);
  });
  if (!pixels) throw invalid(`missing input '${info.input.name}'`);
  const requested = (req.outputs ?? []).length > 0 ? req.outputs.map((o) => ({ name: o.name })) : undefined;
  const outputs = selectOutputs(requested, info, false).map((o) => o.name);
  return { pixels, n, outputs, raw: raw.length > 0 };
}

/** float32 values as little-endian bytes (a view on little-endian machines). */
function float32LE(a: Float32Array): Buffer {
  if (endianness() === 'LE') return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const b = Buffer.allocUnsafe(a.length * 4);
  for (let i = 0; i < a.length; i++) b.writeFloatLE(a[i]!, i * 4);
  return b;
}

function parameter(v: string | number | boolean): InferParameter {
  if (typeof v === 'boolean') return { bool_param: v };
  if (typeof v === 'number' && Number.isInteger(v)) return { int64_param: v };
  return { string_param: String(v) };
}

function resolveModel(backend: GrpcBackend, name: string, version: string): GrpcModel {
  const m = backend.resolve(name, version);
  if (isRefusal(m)) throw refusalError(m);
  return m;
}

/** The service's handlers. */
export function grpcHandlers(backend: GrpcBackend): grpc.UntypedServiceImplementation {
  const { metrics } = backend;
  type NameVersion = { name: string; version: string };
  return {
    ServerLive: unary('ServerLive', metrics, () => ({ live: backend.live() })),
    ServerReady: unary('ServerReady', metrics, () => ({ ready: backend.ready() })),
    ServerMetadata: unary('ServerMetadata', metrics, () => ({ name: backend.serverName, version: backend.serverVersion, extensions: [...backend.extensions] })),
    ModelReady: unary('ModelReady', metrics, (req: NameVersion) => {
      const m = backend.resolve(req.name, req.version);
      // A model that exists but cannot serve now (loading, unloading) is "not ready", not an error.
      if (isRefusal(m)) {
        if (m.code === 'unavailable') return { ready: false };
        throw refusalError(m);
      }
      return { ready: m.ready() };
    }),
    ModelMetadata: unary('ModelMetadata', metrics, (req: NameVersion) => {
      const md = resolveModel(backend, req.name, req.version).metadata();
      return { name: md.name, versions: md.versions, platform: md.platform, inputs: md.inputs, outputs: md.outputs };
    }),
    ModelInfer: unary('ModelInfer', metrics, async (req: ModelInferRequest, call): Promise<ModelInferResponse> => {
      const arrivedAt = performance.now();
      // Admission first, as for REST (before the model is looked up): draining or full answers at once.
      const ticket = backend.admit();
      if (isRefusal(ticket)) throw refusalError(ticket);
      let releaseModel: (() => void) | undefined;
      try {
        const model = resolveModel(backend, req.model_name, req.model_version);
        const held = model.hold();
        if (isRefusal(held)) throw refusalError(held);
        releaseModel = held;
        const parsed = parseGrpcInfer(req, model);
        if (call.cancelled) throw new GrpcError(grpc.status.CANCELLED, 'cancelled by the client');
        const result = await model.infer(parsed.pixels, parsed.n, arrivedAt);
        const outputs: InferOutputTensor[] = [];
        const rawOut: Buffer[] = [];
        for (const name of parsed.outputs) {
          const t = result.outputs[name];
          if (!t) throw new Error(`the model returned no output '${name}'`);
          // As Triton: raw outputs for a raw request, typed ones otherwise (every output is float32).
          if (parsed.raw) {
            outputs.push({ name, datatype: 'FP32', shape: t.dims });
            rawOut.push(float32LE(t.data));
          } else outputs.push({ name, datatype: 'FP32', shape: t.dims, contents: { fp32_contents: Array.from(t.data) } });
        }
        return {
          model_name: model.info.name,
          model_version: model.version,
          id: req.id ?? '',
          parameters: Object.fromEntries(Object.entries(result.parameters).map(([k, v]) => [k, parameter(v)])),
          outputs,
          raw_output_contents: rawOut,
        };
      } finally {
        releaseModel?.();
        ticket();
      }
    }),
  };
}

export interface GrpcServerOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  /** Largest request message (--body-limit); bigger ones get RESOURCE_EXHAUSTED from grpc-js. */
  maxReceiveMessageLength: number;
}

export interface RunningGrpcServer {
  server: grpc.Server;
  host: string;
  port: number;
  /** host:port as a gRPC target ([v6]:port). */
  address: string;
  /** Graceful: stop accepting connections and calls (new calls get UNAVAILABLE), let in-flight calls finish. Idempotent. */
  close(): Promise<void>;
}

/** Loads the proto, binds host:port and serves the backend. */
export async function startGrpcServer(backend: GrpcBackend, opts: GrpcServerOptions): Promise<RunningGrpcServer> {
  const def = protoLoader.loadSync(grpcProtoPath(), { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { inference: { GRPCInferenceService: grpc.ServiceClientConstructor } };
  const server = new grpc.Server({ 'grpc.max_receive_message_length': opts.maxReceiveMessageLength });
  server.addService(pkg.inference.GRPCInferenceService.service, grpcHandlers(backend));
  const host = opts.host.includes(':') && !opts.host.startsWith('[') ? `[${opts.host}]` : opts.host;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${opts.port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  ).catch((e: unknown) => {
    server.forceShutdown();
    throw new Error(`cannot listen (gRPC) on ${host}:${opts.port}: ${errorMessage(e)}`);
  });
  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= new Promise<void>((resolve) =>
      server.tryShutdown((err) => {
        if (err) server.forceShutdown();
        resolve();
      }),
    ));
  return { server, host: opts.host, port, address: `${host}:${port}`, close };
}

// ---------------------------------------------------------------------------------------------------------
// The adapter from the server (model repository + admission) to the service.

/** Maps the repository's typed errors to gRPC refusals (NOT_FOUND, UNAVAILABLE); rethrows anything else. */
function refusalOf(e: unknown): GrpcRefusal {
  if (e instanceof ModelNotFoundError) return { code: 'not-found', message: e.message };
  if (e instanceof ModelUnavailableError) return { code: 'unavailable', message: e.message };
  throw e;
}

/** One loaded version as the gRPC service sees it; `hold` leases it from the repository (unload drains leases). */
function grpcModel(ctx: ServeContext, m: ServedModel): GrpcModel {
  return {
    info: m.info,
    version: m.version,
    maxBatch: ctx.limits.maxBatch,
    ready: () => m.state === 'READY' && m.runner.healthy,
    hold() {
      try {
        return ctx.repository.lease(m.name, m.version).release;
      } catch (e) {
        return refusalOf(e);
      }
    },
    metadata: () => modelMetadata(m, ctx) as unknown as ReturnType<GrpcModel['metadata']>,
    infer: async (pixels, n, arrivedAt) => {
      // REST refuses on arrival, before the body, beyond the admission limit; a gRPC message arrives whole, so the
      // same check runs here, before it queues (the model's time is what it saves).
      if (m.batcher.wouldMissDeadline) throw new ExpectedWaitError(m.batcher.expectedWaitMs, m.batcher.admissionLimitMs);
      const r = await m.batcher.submit(pixels, n, arrivedAt);
      return { outputs: r.outputs, parameters: { execution_provider: m.runner.ep, batch_images: r.batchImages } };
    },
  };
}

/** The gRPC service over the server's model repository and its global admission (the REST routes' limits). */
export function grpcBackendFromContext(ctx: ServeContext, admission: Admission): GrpcBackend {
  return {
    serverName: ctx.serverName,
    serverVersion: ctx.serverVersion,
    extensions: SERVER_EXTENSIONS,
    live: () => true,
    ready: () => ctx.isReady(),
    resolve(name, version) {
      try {
        return grpcModel(ctx, ctx.repository.resolve(name, version === '' ? undefined : version));
      } catch (e) {
        return refusalOf(e);
      }
    },
    admit() {
      const a = admission.acquire();
      if ('release' in a) return a.release;
      return { code: a.reason === 'shutting_down' ? 'unavailable' : 'resource-exhausted', message: a.message };
    },
    metrics: ctx.metrics,
  };
}
