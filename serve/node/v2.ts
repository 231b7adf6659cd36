// KServe v2 / Open Inference Protocol, REST subset:
//   GET  /v2                                   server metadata {name, version, extensions}
//   GET  /v2/health/live | /v2/health/ready    200 (empty body) / 503 while not ready
//   GET  /v2/models/{m}[/versions/{v}]         model metadata
//   GET  /v2/models/{m}[/versions/{v}]/ready   200 / 503
//   POST /v2/models/{m}[/versions/{v}]/infer   inference (JSON, or the binary tensor data extension)
// Without /versions/{v}: the latest READY version (model-repository.ts). Unknown model or version: 404; a
// version that is loading, unloading, unloaded or failed: 503. The repository extension: repository-routes.ts.
// Errors: {"error": "..."} with a 4xx (5xx only for server faults).
//
// Input: the model's one uint8 NHWC input ('pixels', [-1, H, W, C]). datatype UINT8; FP32 is accepted
// when every value is an integer in 0..255 (converted to uint8), anything else is a 400. Tensor data
// may be flat (row-major) or nested exactly like the shape.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { submitting } from './admission.js';
import { QueueFullError, QueueTimeoutError, ShuttingDownError } from './batcher.js';
import type { ServeContext, ServeLimits } from './context.js';
import { HttpError, badRequest, errorMessage, tooLarge, unavailable, unsupportedMedia } from './errors.js';
import type { ModelInfo } from './model-info.js';
import type { ServedModel } from './model-repository.js';
import { leasedModel, resolveHttp } from './model-route.js';
import type { OutputTensor } from './runner.js';

/** The protocol extensions GET /v2 (and gRPC ServerMetadata) list. */
export const SERVER_EXTENSIONS: readonly string[] = ['binary_tensor_data', 'model_repository'];
export const BINARY_HEADER = 'inference-header-content-length';
/** application/json and structured-syntax +json types (RFC 6839), e.g. application/vnd.x+json; server.ts registers the parser for the same pattern. */
export const JSON_CONTENT_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** onnxruntime type -> v2 datatype. */
export function v2Datatype(ortType: string): string {
  const m: Record<string, string> = {
    uint8: 'UINT8',
    int8: 'INT8',
    uint16: 'UINT16',
    int16: 'INT16',
    uint32: 'UINT32',
    int32: 'INT32',
    uint64: 'UINT64',
    int64: 'INT64',
    float16: 'FP16',
    float32: 'FP32',
    float64: 'FP64',
    bool: 'BOOL',
    string: 'BYTES',
  };
  return m[ortType] ?? ortType.toUpperCase();
}

const v2Shape = (shape: ReadonlyArray<number | string>) => shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));

export interface ParsedInfer {
  id: string | undefined;
  pixels: Uint8Array;
  n: number;
  outputs: Array<{ name: string; binary: boolean }>;
}

function parseShape(shape: unknown, where: string): number[] {
  if (!Array.isArray(shape)) throw badRequest(`${where}.shape must be an array of dimensions`);
  shape.forEach((d, i) => {
    if (typeof d !== 'number' || !Number.isInteger(d)) throw badRequest(`${where}.shape[${i}] must be an integer, got ${JSON.stringify(d)}`);
    if (d < 0) throw badRequest(`${where}.shape[${i}] is negative (${d})`);
  });
  return shape as number[];
}

/**
 * A client's value for an error message, without walking it: JSON.stringify of a 20,000-deep array overflows the
 * stack (a 500 for a 43 KB body), and of 1e400 (parsed as Infinity) says "null".
 */
function describeValue(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? String(v);
  return 'an object';
}

/**
 * Flat or nested JSON tensor data -> uint8, validating structure, element count and values. `dataName` names the
 * field in messages (REST: inputs[i].data; gRPC: inputs[i].contents.uint_contents).
 */
export function tensorDataToUint8(data: unknown, shape: readonly number[], datatype: 'UINT8' | 'FP32', where: string, dataName = `${where}.data`): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (!Array.isArray(data)) throw badRequest(`${dataName} must be an array (flat or nested like the shape)`);
  const out = new Uint8Array(count);
  // The hot path of every JSON request: no per-element allocation (an element's path string is built only for
  // the error message; building it for every pixel was most of this function's ~11 µs per 28x28 image).
  const isPixel = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255;
  const refuse = (v: unknown, path: string): never => {
    const what = datatype === 'UINT8' ? 'UINT8 values must be integers 0..255' : 'FP32 values for this UINT8 input must be integers 0..255';
    throw badRequest(`${dataName}${path}: ${describeValue(v)} is not allowed (${what})`);
  };
  const nested = data.length > 0 && Array.isArray(data[0]);
  if (!nested) {
    if (data.length !== count) throw badRequest(`${dataName} has ${data.length} elements, shape [${shape.join(', ')}] needs ${count}`);
    for (let i = 0; i < data.length; i++) {
      const v: unknown = data[i];
      if (!isPixel(v)) refuse(v, `[${i}]`);
      out[i] = v as number;
    }
    return out;
  }
  // Nested like the shape; recursion depth is the model's input rank (checked against the shape before this).
  const index: number[] = [];
  const pathTo = (depth: number) => index.slice(0, depth).map((i) => `[${i}]`).join('');
  let k = 0;
  const walk = (node: unknown, depth: number): void => {
    if (depth === shape.length) {
      if (!isPixel(node)) refuse(node, pathTo(depth));
      out[k++] = node as number;
      return;
    }
    if (!Array.isArray(node)) throw badRequest(`${dataName}${pathTo(depth)} must be an array of ${shape[depth]} (nested data must follow shape [${shape.join(', ')}])`);
    if (node.length !== shape[depth])
      throw badRequest(`${dataName}${pathTo(depth)} has ${node.length} elements, shape [${shape.join(', ')}] needs ${shape[depth]} at depth ${depth}`);
    for (let i = 0; i < node.length; i++) {
      index[depth] = i;
      walk(node[i], depth + 1);
    }
  };
  walk(data, 0);
  return out;
}

/** Raw little-endian tensor bytes -> uint8 (FP32 values must be integers 0..255). `sizeName` names the byte count in messages. */
export function binaryToUint8(bytes: Buffer, count: number, datatype: 'UINT8' | 'FP32', where: string, sizeName = 'binary_data_size'): Uint8Array {
  if (datatype === 'UINT8') {
    if (bytes.length !== count) throw badRequest(`${where}: ${sizeName} ${bytes.length} does not match ${count} UINT8 elements`);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  }
  if (bytes.length !== count * 4) throw badRequest(`${where}: ${sizeName} ${bytes.length} does not match ${count} FP32 elements (${count * 4} bytes)`);
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const v = bytes.readFloatLE(i * 4);
    if (!Number.isInteger(v) || v < 0 || v > 255) throw badRequest(`${where}: FP32 element ${i} = ${v} is not an integer 0..255`);
    out[i] = v;
  }
  return out;
}

/** Validates a v2 inference request against the served model (throws HttpError 400/413). */
export function parseInferRequest(body: unknown, binary: Buffer | null, model: { info: ModelInfo }, limits: Pick<ServeLimits, 'maxBatch'>): ParsedInfer {
  if (!isRecord(body)) throw badRequest('inference request must be a JSON object {"inputs": [...]}');
  const { info } = model;
  let id: string | undefined;
  if (body.id !== undefined) {
    if (typeof body.id !== 'string') throw badRequest('"id" must be a string');
    id = body.id;
  }
  if (body.parameters !== undefined && !isRecord(body.parameters)) throw badRequest('"parameters" must be an object');
  const params = (body.parameters ?? {}) as Record<string, unknown>;
  if (!Array.isArray(body.inputs)) throw badRequest('"inputs" must be an array of {name, shape, datatype, data}');
  if (body.inputs.length === 0) throw badRequest('"inputs" is empty');
  const want = info.input;
  let pixels: Uint8Array | null = null;
  let n = 0;
  let binOffset = 0;
  body.inputs.forEach((inp: unknown, i: number) => {
    const where = `inputs[${i}]`;
    if (!isRecord(inp)) throw badRequest(`${where} must be an object {name, shape, datatype, data}`);
    checkInputName(inp.name, where, info);
    if (pixels) throw badRequest(`${where}: input '${inp.name}' given more than once`);
    const { datatype, shape, count } = checkInputTensor(inp.datatype, inp.shape, where, info, limits.maxBatch);
    n = shape[0]!;
    if (inp.parameters !== undefined && !isRecord(inp.parameters)) throw badRequest(`${where}.parameters must be an object`);
    const binSize = isRecord(inp.parameters) ? inp.parameters.binary_data_size : undefined;
    if (binSize !== undefined) {
      if (!binary) throw badRequest(`${where}: binary_data_size given but the request has no binary part (send application/octet-stream with Inference-Header-Content-Length)`);
      if (typeof binSize !== 'number' || !Number.isInteger(binSize) || binSize < 0) throw badRequest(`${where}.parameters.binary_data_size must be a non-negative integer`);
      if (inp.data !== undefined) throw badRequest(`${where}: give either "data" or parameters.binary_data_size, not both`);
      if (binOffset + binSize > binary.length) throw badRequest(`${where}: binary_data_size ${binSize} runs past the end of the request body`);
      pixels = binaryToUint8(binary.subarray(binOffset, binOffset + binSize), count, datatype, where);
      binOffset += binSize;
    } else {
      if (inp.data === undefined) throw badRequest(`${where}.data is missing`);
      pixels = tensorDataToUint8(inp.data, shape, datatype, where);
    }
  });
  if (binary && binOffset !== binary.length) throw badRequest(`binary part has ${binary.length} bytes but the inputs declare ${binOffset}`);
  if (!pixels) throw badRequest(`missing input '${want.name}'`);
  const outputs = selectOutputs(body.outputs, info, params.binary_data_output === true);
  return { id, pixels, n, outputs };
}

/** An input's name must be the model's one input (REST and gRPC). */
export function checkInputName(name: unknown, where: string, info: ModelInfo): asserts name is string {
  if (typeof name !== 'string') throw badRequest(`${where}.name must be a string`);
  if (name !== info.input.name) throw badRequest(`${where}: unknown input '${name}' (model '${info.name}' has one input '${info.input.name}')`);
}

/** An input's datatype and NHWC shape against the model and --max-batch (REST and gRPC); shape[0] is the image count. */
export function checkInputTensor(datatype: unknown, shapeIn: unknown, where: string, info: ModelInfo, maxBatch: number): { datatype: 'UINT8' | 'FP32'; shape: number[]; count: number } {
  const want = info.input;
  if (typeof datatype !== 'string') throw badRequest(`${where}.datatype must be a string (UINT8)`);
  if (datatype !== 'UINT8' && datatype !== 'FP32')
    throw badRequest(`${where}: datatype ${datatype} is not accepted for '${want.name}' (UINT8; FP32 with integer values 0..255 is converted)`);
  const shape = parseShape(shapeIn, where);
  const modelShape = [want.height, want.width, want.channels];
  if (shape.length !== 4 || shape[1] !== want.height || shape[2] !== want.width || shape[3] !== want.channels)
    throw badRequest(`${where}: shape [${shape.join(', ')}] does not match the model input [-1, ${modelShape.join(', ')}] (NHWC)`);
  const n = shape[0]!;
  if (n === 0) throw badRequest(`${where}: empty batch (shape[0] = 0)`);
  if (n > maxBatch) throw tooLarge(`${where}: ${n} images in one request, the limit is ${maxBatch} (--max-batch)`);
  return { datatype, shape, count: n * want.height * want.width * want.channels };
}

/** The request's "outputs" selection (undefined = every model output), each with its binary flag (REST and gRPC). */
export function selectOutputs(requested: unknown, info: ModelInfo, defaultBinary: boolean): Array<{ name: string; binary: boolean }> {
  if (requested === undefined) return info.outputs.map((o) => ({ name: o.name, binary: defaultBinary }));
  if (!Array.isArray(requested)) throw badRequest('"outputs" must be an array of {name}');
  const names = new Set(info.outputs.map((o) => o.name));
  const seen = new Set<string>();
  return requested.map((o: unknown, i: number) => {
    if (!isRecord(o) || typeof o.name !== 'string') throw badRequest(`outputs[${i}] must be an object {name}`);
    if (!names.has(o.name)) throw badRequest(`outputs[${i}]: unknown output '${o.name}' (model outputs: ${[...names].join(', ')})`);
    if (seen.has(o.name)) throw badRequest(`outputs[${i}]: output '${o.name}' requested twice`);
    seen.add(o.name);
    if (o.parameters !== undefined && !isRecord(o.parameters)) throw badRequest(`outputs[${i}].parameters must be an object`);
    const b = isRecord(o.parameters) ? o.parameters.binary_data : undefined;
    return { name: o.name, binary: b === undefined ? defaultBinary : b === true };
  });
}

/** A server-side absolute path in a message becomes its file name: clients need not learn the server's layout. */
export const withoutPaths = (s: string): string => s.replace(/(^|[\s(='"`,:;])\/(?:[^\s/)'"`,:;]+\/)*([^\s/)'"`,:;]+\/?)/g, '$1$2');

/** Model metadata of one loaded version; `versions` lists every READY version of the model. */
export function modelMetadata(model: ServedModel, ctx: ServeContext): Record<string, unknown> {
  const { info } = model;
  return {
    name: info.name,
    versions: ctx.repository.readyVersions(model.name),
    platform: 'onnxruntime',
    inputs: info.inputs.map((t) => ({ name: t.name, datatype: v2Datatype(t.type), shape: v2Shape(t.shape) })),
    outputs: info.outputs.map((t) => ({ name: t.name, datatype: v2Datatype(t.type), shape: v2Shape(t.shape) })),
    parameters: {
      version: model.version,
      execution_provider: model.runner.ep,
      execution_providers_tried: model.runner.tried.map((t) => ({ ...t, reason: withoutPaths(t.reason) })),
      input_layout: info.input.layout,
      input_size: [info.input.height, info.input.width, info.input.channels],
      max_batch_size: ctx.limits.maxBatch,
      // What the load-time timing chose (--preferred-batch / --admission-wait-ms auto): batches formed, and the
      // expected wait beyond which a request is refused on arrival (0 = none).
      preferred_batch_size: model.batcher.preferredBatch,
      admission_limit_ms: Math.round(model.batcher.admissionLimitMs * 10) / 10,
      class_labels: info.labels,
      ...(info.normalization ? { normalization: info.normalization } : {}),
    },
  };
}

/** Maps batcher failures to 503 (queue full / shutting down) or 500. */
export function submitError(e: unknown, ctx: ServeContext): HttpError {
  if (e instanceof QueueFullError) {
    ctx.metrics.rejected.inc({ reason: 'queue_full' });
    return unavailable(e.message, 1);
  }
  if (e instanceof QueueTimeoutError) {
    // Shed at batch forming: parsed and queued first, so nearly an answer's cost (queue_timeout is the cheap
    // refusal on arrival, admission.ts); the two are counted apart to tell which one overload is paying for.
    ctx.metrics.rejected.inc({ reason: 'deadline_expired' });
    return unavailable(e.message, 1);
  }
  if (e instanceof ShuttingDownError) {
    ctx.metrics.rejected.inc({ reason: 'shutting_down' });
    return unavailable(e.message, 5);
  }
  if (e instanceof HttpError) return e;
  return new HttpError(500, `inference failed: ${errorMessage(e)}`);
}

function outputJson(name: string, t: OutputTensor, binary: boolean): { meta: Record<string, unknown>; bytes: Buffer | null } {
  if (binary) {
    const bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    return { meta: { name, datatype: 'FP32', shape: t.dims, parameters: { binary_data_size: bytes.length } }, bytes };
  }
  return { meta: { name, datatype: 'FP32', shape: t.dims, data: Array.from(t.data) }, bytes: null };
}

type Params = { model: string; version?: string };

export function registerV2Routes(app: FastifyInstance, ctx: ServeContext, allow: (url: string, methods: string[]) => void): void {
  app.get('/v2', async () => ({ name: ctx.serverName, version: ctx.serverVersion, extensions: [...SERVER_EXTENSIONS] }));
  allow('/v2', ['GET', 'HEAD']);
  app.get('/v2/health/live', async (_req, reply) => reply.code(200).send());
  allow('/v2/health/live', ['GET', 'HEAD']);
  app.get('/v2/health/ready', async (_req, reply) => reply.code(ctx.isReady() ? 200 : 503).send());
  allow('/v2/health/ready', ['GET', 'HEAD']);

  const metadata = async (req: FastifyRequest) => {
    const p = req.params as Params;
    return modelMetadata(resolveHttp(ctx.repository, { name: p.model, ...(p.version !== undefined ? { version: p.version } : {}) }), ctx);
  };
  const ready = async (req: FastifyRequest, reply: FastifyReply) => {
    const p = req.params as Params;
    let up: boolean;
    try {
      up = resolveHttp(ctx.repository, { name: p.model, ...(p.version !== undefined ? { version: p.version } : {}) }).runner.healthy;
    } catch (e) {
      // Known but not ready (loading, unloading, unloaded, failed): 503 like any not-ready model; unknown: 404.
      if (e instanceof HttpError && e.statusCode === 503) up = false;
      else throw e;
    }
    return reply.code(up && ctx.isReady() ? 200 : 503).send();
  };
  const infer = async (req: FastifyRequest, reply: FastifyReply) => {
    const model = leasedModel(req);
    const ct = String(req.headers['content-type'] ?? '').toLowerCase();
    let body: unknown = req.body;
    let binary: Buffer | null = null;
    const headerLen = req.headers[BINARY_HEADER];
    if (headerLen !== undefined) {
      if (!Buffer.isBuffer(req.body)) throw unsupportedMedia(`binary tensor requests must be sent as application/octet-stream (got ${ct || 'no content type'})`);
      // Digits only: Number() would also take '0x77', ' 123', '1e2'.
      const len = typeof headerLen === 'string' && /^\d{1,10}$/.test(headerLen) ? Number(headerLen) : NaN;
      const buf = req.body;
      if (!Number.isInteger(len) || len < 2 || len > buf.length) throw badRequest(`${BINARY_HEADER} ${String(headerLen)} is not a valid JSON header length for a ${buf.length}-byte body`);
      try {
        body = JSON.parse(buf.subarray(0, len).toString('utf8')) as unknown;
      } catch (e) {
        throw badRequest(`invalid JSON inference header: ${errorMessage(e)}`);
      }
      binary = buf.subarray(len);
    } else if (ct.startsWith('application/octet-stream')) {
      throw badRequest(`binary inference requests need the ${BINARY_HEADER} header`);
    } else if (!JSON_CONTENT_TYPE.test(ct)) {
      throw unsupportedMedia(`inference requests must be application/json, or application/octet-stream with ${BINARY_HEADER} (got ${ct || 'no content type'})`);
    } else if (req.body === undefined || req.body === null) throw badRequest('missing request body: send a JSON inference request');
    const parsed = parseInferRequest(body, binary, model, ctx.limits);
    let result;
    try {
      result = await model.batcher.submit(parsed.pixels, parsed.n, submitting(req));
    } catch (e) {
      throw submitError(e, ctx);
    }
    const outs = parsed.outputs.map((o) => outputJson(o.name, result.outputs[o.name]!, o.binary));
    const response = {
      model_name: model.name,
      model_version: model.version,
      id: parsed.id ?? randomUUID(),
      parameters: { execution_provider: model.runner.ep, batch_images: result.batchImages },
      outputs: outs.map((o) => o.meta),
    };
    const bins = outs.flatMap((o) => (o.bytes ? [o.bytes] : []));
    if (bins.length === 0) return reply.send(response);
    const head = Buffer.from(JSON.stringify(response), 'utf8');
    return reply
      .header(BINARY_HEADER, String(head.length))
      .type('application/octet-stream')
      .send(Buffer.concat([head, ...bins]));
  };

  for (const prefix of ['/v2/models/:model', '/v2/models/:model/versions/:version']) {
    app.get(prefix, metadata);
    allow(prefix, ['GET', 'HEAD']);
    app.get(`${prefix}/ready`, ready);
    allow(`${prefix}/ready`, ['GET', 'HEAD']);
    app.post(`${prefix}/infer`, infer);
    allow(`${prefix}/infer`, ['POST']);
  }
}
