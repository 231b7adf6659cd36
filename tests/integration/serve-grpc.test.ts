// The Open Inference Protocol over gRPC (--grpc-port), against the REST API of the same server. The client is
// built here from the committed proto file with @grpc/proto-loader + @grpc/grpc-js (none of serve/node/grpc.ts),
// so a server that drifted from KServe's grpc_predict_v2.proto would fail. Covers: health and metadata equal to
// REST's, ModelInfer with raw_input_contents and with typed contents giving REST's logits for real test images,
// malformed requests -> INVALID_ARGUMENT / NOT_FOUND with a message, the shared queue / in-flight limits ->
// RESOURCE_EXHAUSTED, the queue deadline -> UNAVAILABLE, request metrics, and SIGTERM with calls in flight.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import sharp from 'sharp';
import { type RunningServer, startServer } from '../../serve/node/server.js';
import { type ChildServer, REPO_ROOT, type ServeModel, makeServeModel, startChildServer } from '../helpers/serve-helpers.js';
import { type GrpcClient as Client, type InferResponse, assertStatus, call, closeClients, connect, floatsLE } from '../helpers/grpc-client.js';

const MODEL = 'fmnist-grpc';
const MAX_BATCH = 8;
const BODY_LIMIT = 1 << 20;
const IMG = 28 * 28;

function assertClose(got: readonly number[], want: readonly number[], what: string) {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-5 * Math.max(1, Math.abs(want[i]!)), `${what}[${i}]: ${got[i]} vs ${want[i]}`);
}

let root: string;
let model: ServeModel;
let srv: RunningServer;
let client: Client;
/** Real Fashion-MNIST test images (the shipped samples), 28x28 grey. */
let images: Buffer[];

const rawRequest = (pixels: Buffer, n: number, extra: Record<string, unknown> = {}) => ({
  model_name: MODEL,
  inputs: [{ name: 'pixels', datatype: 'UINT8', shape: [n, 28, 28, 1] }],
  raw_input_contents: [pixels],
  ...extra,
});
const typedRequest = (pixels: Buffer, n: number, extra: Record<string, unknown> = {}) => ({
  model_name: MODEL,
  inputs: [{ name: 'pixels', datatype: 'UINT8', shape: [n, 28, 28, 1], contents: { uint_contents: Array.from(pixels) } }],
  ...extra,
});

async function restInfer(base: string, pixels: Buffer, n: number): Promise<{ outputs: Array<{ name: string; shape: number[]; datatype: string; data: number[] }> }> {
  const res = await fetch(`${base}/v2/models/${MODEL}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'pixels', shape: [n, 28, 28, 1], datatype: 'UINT8', data: Array.from(pixels) }] }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as never;
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'ecl-serve-grpc-'));
  model = await makeServeModel(root, { name: MODEL, embedding: true });
  srv = await startServer({ modelPath: model.modelPath, port: 0, grpcPort: 0, ep: 'cpu', maxBatch: MAX_BATCH, maxQueue: 2, bodyLimit: BODY_LIMIT, defaultMetrics: false });
  assert.ok(srv.grpcAddress && srv.grpcPort! > 0);
  client = connect(srv.grpcAddress);
  const dir = join(REPO_ROOT, 'pipeline', 'data', 'embedded', 'samples');
  images = await Promise.all(
    readdirSync(dir)
      .filter((f) => f.endsWith('.png'))
      .sort()
      .slice(0, 4)
      .map((f) => sharp(join(dir, f)).greyscale().resize(28, 28).raw().toBuffer()),
  );
  for (const im of images) assert.equal(im.length, IMG);
});

after(async () => {
  closeClients();
  await srv?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('gRPC health and metadata', () => {
  it('ServerLive, ServerReady and ModelReady (default and served version) are true', async () => {
    assert.deepEqual(await call(client, 'ServerLive', {}), { live: true });
    assert.deepEqual(await call(client, 'ServerReady', {}), { ready: true });
    assert.deepEqual(await call(client, 'ModelReady', { name: MODEL }), { ready: true });
    assert.deepEqual(await call(client, 'ModelReady', { name: MODEL, version: srv.model.version }), { ready: true });
    await assertStatus(call(client, 'ModelReady', { name: 'nope' }), grpc.status.NOT_FOUND, /unknown model 'nope'/);
  });

  it('ServerMetadata equals GET /v2', async () => {
    const rest = (await (await fetch(`${srv.url}/v2`)).json()) as { name: string; version: string; extensions: string[] };
    assert.deepEqual(await call(client, 'ServerMetadata', {}), { name: rest.name, version: rest.version, extensions: rest.extensions });
  });

  it("ModelMetadata: name, versions, platform and tensors equal GET /v2/models/{m}", async () => {
    const rest = (await (await fetch(`${srv.url}/v2/models/${MODEL}`)).json()) as Record<string, unknown>;
    const md = await call<{ name: string; versions: string[]; platform: string; inputs: Array<{ shape: string[] }>; outputs: Array<{ shape: string[] }> }>(client, 'ModelMetadata', { name: MODEL });
    const numeric = (ts: Array<{ shape: string[] }>) => ts.map((t) => ({ ...t, shape: t.shape.map(Number) }));
    assert.deepEqual({ name: md.name, versions: md.versions, platform: md.platform, inputs: numeric(md.inputs), outputs: numeric(md.outputs) }, {
      name: rest.name,
      versions: rest.versions,
      platform: rest.platform,
      inputs: rest.inputs,
      outputs: rest.outputs,
    });
    assert.ok(md.outputs.length >= 2, 'the fixture model has logits, probs (and an embedding)');
    await assertStatus(call(client, 'ModelMetadata', { name: MODEL, version: '7' }), grpc.status.NOT_FOUND, /unknown version '7'/);
  });
});

describe('gRPC ModelInfer', () => {
  it('raw_input_contents: raw outputs equal to REST for the same real images', async () => {
    const n = images.length;
    const pixels = Buffer.concat(images);
    const rest = await restInfer(srv.url, pixels, n);
    const res = await call<InferResponse>(client, 'ModelInfer', rawRequest(pixels, n, { id: 'raw-1' }));
    assert.equal(res.model_name, MODEL);
    assert.equal(res.model_version, srv.model.version); // the served file's version (12 hex of its sha256)
    assert.equal(res.id, 'raw-1');
    assert.equal(res.parameters.execution_provider?.string_param, 'cpu');
    assert.deepEqual(
      res.outputs.map((o) => o.name),
      rest.outputs.map((o) => o.name),
    );
    assert.equal(res.raw_output_contents.length, res.outputs.length);
    res.outputs.forEach((o, i) => {
      const r = rest.outputs[i]!;
      assert.equal(o.datatype, r.datatype);
      assert.deepEqual(o.shape.map(Number), r.shape);
      assert.equal(o.contents, null, 'raw request -> no typed contents');
      assertClose(floatsLE(res.raw_output_contents[i]!), r.data, o.name);
    });
  });

  it('typed uint_contents: fp32_contents equal to REST, no raw outputs', async () => {
    const pixels = Buffer.concat(images.slice(0, 2));
    const rest = await restInfer(srv.url, pixels, 2);
    const res = await call<InferResponse>(client, 'ModelInfer', typedRequest(pixels, 2));
    assert.equal(res.raw_output_contents.length, 0);
    res.outputs.forEach((o, i) => {
      assert.deepEqual(o.shape.map(Number), rest.outputs[i]!.shape);
      assertClose(o.contents!.fp32_contents, rest.outputs[i]!.data, o.name);
    });
  });

  it('FP32 inputs with integer values (typed and raw little-endian) give the UINT8 answer; outputs selects', async () => {
    const px = images[0]!;
    const want = await call<InferResponse>(client, 'ModelInfer', typedRequest(px, 1, { outputs: [{ name: 'logits' }] }));
    assert.deepEqual(
      want.outputs.map((o) => o.name),
      ['logits'],
    );
    const typed = await call<InferResponse>(client, 'ModelInfer', {
      model_name: MODEL,
      inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 28, 28, 1], contents: { fp32_contents: Array.from(px) } }],
      outputs: [{ name: 'logits' }],
    });
    const f32 = Buffer.alloc(IMG * 4);
    px.forEach((v, i) => f32.writeFloatLE(v, i * 4));
    const raw = await call<InferResponse>(client, 'ModelInfer', {
      model_name: MODEL,
      model_version: srv.model.version,
      inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 28, 28, 1] }],
      outputs: [{ name: 'logits' }],
      raw_input_contents: [f32],
    });
    assertClose(typed.outputs[0]!.contents!.fp32_contents, want.outputs[0]!.contents!.fp32_contents, 'typed FP32');
    assertClose(floatsLE(raw.raw_output_contents[0]!), want.outputs[0]!.contents!.fp32_contents, 'raw FP32');
  });

  it('malformed requests -> INVALID_ARGUMENT / NOT_FOUND saying what is wrong; the server keeps serving', async () => {
    const px = images[0]!;
    const bad: Array<[string, unknown, grpc.status, RegExp]> = [
      ['wrong shape', { ...rawRequest(px, 1), inputs: [{ name: 'pixels', datatype: 'UINT8', shape: [1, 28, 1, 28] }] }, grpc.status.INVALID_ARGUMENT, /shape \[1, 28, 1, 28\] does not match the model input \[-1, 28, 28, 1\]/],
      ['wrong datatype', { ...rawRequest(px, 1), inputs: [{ name: 'pixels', datatype: 'INT32', shape: [1, 28, 28, 1] }] }, grpc.status.INVALID_ARGUMENT, /datatype INT32 is not accepted/],
      ['raw byte count', rawRequest(px.subarray(0, 700), 1), grpc.status.INVALID_ARGUMENT, /raw_input_contents\[0\] byte count 700 does not match 784 UINT8 elements/],
      ['raw and typed', { ...typedRequest(px, 1), raw_input_contents: [px] }, grpc.status.INVALID_ARGUMENT, /contents\.uint_contents given together with raw_input_contents/],
      ['unknown input', { ...rawRequest(px, 1), inputs: [{ name: 'image', datatype: 'UINT8', shape: [1, 28, 28, 1] }] }, grpc.status.INVALID_ARGUMENT, /unknown input 'image'.*has one input 'pixels'/],
      ['unknown model', { ...rawRequest(px, 1), model_name: 'nope' }, grpc.status.NOT_FOUND, /unknown model 'nope'/],
      ['unknown version', { ...rawRequest(px, 1), model_version: '2' }, grpc.status.NOT_FOUND, /unknown version '2'/],
      ['typed count', typedRequest(px.subarray(0, 10), 1), grpc.status.INVALID_ARGUMENT, /inputs\[0\]\.contents\.uint_contents has 10 elements, shape \[1, 28, 28, 1\] needs 784/],
      ['typed value', { ...typedRequest(px, 1), inputs: [{ name: 'pixels', datatype: 'UINT8', shape: [1, 28, 28, 1], contents: { uint_contents: [...Array(783).fill(0), 300] } }] }, grpc.status.INVALID_ARGUMENT, /uint_contents\[783\]: 300 is not allowed/],
      ['typed field for another datatype', { ...rawRequest(px, 1), raw_input_contents: [], inputs: [{ name: 'pixels', datatype: 'UINT8', shape: [1, 28, 28, 1], contents: { fp32_contents: Array.from(px) } }] }, grpc.status.INVALID_ARGUMENT, /datatype UINT8 takes its values in contents\.uint_contents, got contents\.fp32_contents/],
      ['fractional FP32', { model_name: MODEL, inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 28, 28, 1], contents: { fp32_contents: Array(IMG).fill(0.5) } }] }, grpc.status.INVALID_ARGUMENT, /FP32 values for this UINT8 input must be integers 0\.\.255/],
      ['no data', { model_name: MODEL, inputs: [{ name: 'pixels', datatype: 'UINT8', shape: [1, 28, 28, 1] }] }, grpc.status.INVALID_ARGUMENT, /no tensor data/],
      ['no inputs', { model_name: MODEL }, grpc.status.INVALID_ARGUMENT, /inputs is empty/],
      ['raw entries', { ...rawRequest(px, 1), raw_input_contents: [px, px] }, grpc.status.INVALID_ARGUMENT, /raw_input_contents has 2 entries for 1 inputs/],
      ['too many images', rawRequest(Buffer.alloc((MAX_BATCH + 1) * IMG), MAX_BATCH + 1), grpc.status.INVALID_ARGUMENT, /9 images in one request, the limit is 8 \(--max-batch\)/],
      ['unknown output', rawRequest(px, 1, { outputs: [{ name: 'scores' }] }), grpc.status.INVALID_ARGUMENT, /unknown output 'scores'/],
      ['input twice', { ...rawRequest(px, 1), inputs: [{ name: 'pixels', datatype: 'UINT8', shape: [1, 28, 28, 1] }, { name: 'pixels', datatype: 'UINT8', shape: [1, 28, 28, 1] }], raw_input_contents: [px, px] }, grpc.status.INVALID_ARGUMENT, /given more than once/],
    ];
    for (const [what, req, code, details] of bad) {
      await assertStatus(call(client, 'ModelInfer', req), code, details).catch((e: Error) => {
        throw new Error(`${what}: ${e.message}`);
      });
    }
    // A message over --body-limit is refused by the transport.
    await assertStatus(call(client, 'ModelInfer', rawRequest(Buffer.alloc(BODY_LIMIT + 1), 1)), grpc.status.RESOURCE_EXHAUSTED, /larger than max/i);
    const ok = await call<InferResponse>(client, 'ModelInfer', rawRequest(px, 1));
    assert.equal(ok.outputs.length, 3);
  });

  it('a full queue (--max-queue, shared with REST) -> RESOURCE_EXHAUSTED; the queued calls still succeed', async () => {
    srv.batcher.pause();
    try {
      const queued = [call<InferResponse>(client, 'ModelInfer', rawRequest(images[0]!, 1, { id: 'q1' })), restInfer(srv.url, images[1]!, 1)];
      for (let i = 0; srv.batcher.queuedRequests < 2; i++) {
        assert.ok(i < 1000, 'calls not queued');
        await new Promise((r) => setTimeout(r, 5));
      }
      await assertStatus(call(client, 'ModelInfer', rawRequest(images[2]!, 1)), grpc.status.RESOURCE_EXHAUSTED, /inference queue is full/);
      srv.batcher.resume();
      const [g] = await Promise.all(queued);
      assert.equal((g as InferResponse).id, 'q1');
    } finally {
      srv.batcher.resume();
    }
  });

  it('counts gRPC calls in the request metrics under a grpc: route', async () => {
    const text = await (await fetch(`${srv.url}/metrics`)).text();
    const count = (status: number) =>
      Number(new RegExp(`^ecl_http_requests_total\\{route="grpc:/inference\\.GRPCInferenceService/ModelInfer",method="POST",status="${status}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    assert.ok(count(200) >= 6, `200s: ${count(200)}`);
    assert.ok(count(400) >= 15, `400s: ${count(400)}`);
    assert.ok(count(404) >= 2, `404s: ${count(404)}`);
    assert.ok(count(429) >= 1, `429s: ${count(429)}`);
    assert.match(text, /route="grpc:\/inference\.GRPCInferenceService\/ServerLive",method="POST",status="200"/);
    assert.match(text, /ecl_inference_rejected_total\{reason="queue_full"\} [1-9]/);
  });
});

describe('gRPC limits shared with REST', () => {
  it('--max-inflight counts REST and gRPC together -> RESOURCE_EXHAUSTED; a request past --queue-timeout-ms -> UNAVAILABLE', async () => {
    const s = await startServer({ modelPath: model.modelPath, port: 0, grpcPort: 0, ep: 'cpu', inference: 'inline', maxInflight: 2, maxQueue: 10, queueTimeoutMs: 300, defaultMetrics: false });
    try {
      const c = connect(s.grpcAddress!);
      s.batcher.pause();
      const t0 = performance.now();
      const late = call<InferResponse>(c, 'ModelInfer', rawRequest(images[0]!, 1));
      const rest = fetch(`${s.url}/v2/models/${MODEL}/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ name: 'pixels', shape: [1, 28, 28, 1], datatype: 'UINT8', data: Array.from(images[1]!) }] }),
      });
      for (let i = 0; s.batcher.queuedRequests < 2; i++) {
        assert.ok(i < 1000, 'calls not queued');
        await new Promise((r) => setTimeout(r, 5));
      }
      await assertStatus(call(c, 'ModelInfer', rawRequest(images[2]!, 1)), grpc.status.RESOURCE_EXHAUSTED, /2 requests in flight \(--max-inflight\)/);
      // Both queued requests are past their deadline when the batcher resumes: shed, never run.
      await new Promise((r) => setTimeout(r, Math.max(0, 400 - (performance.now() - t0))));
      s.batcher.resume();
      await assertStatus(late, grpc.status.UNAVAILABLE, /longer than the queue deadline of 300 ms/);
      assert.equal((await rest).status, 503);
      const shed = await (await fetch(`${s.url}/metrics`)).text();
      assert.match(shed, /ecl_inference_rejected_total\{reason="deadline_expired"\} 2\b/, 'the gRPC call and the REST request, both shed from the queue');
      // Released: the next call is admitted and answered.
      assert.equal((await call<InferResponse>(c, 'ModelInfer', rawRequest(images[2]!, 1))).outputs.length, 3);
    } finally {
      s.batcher.resume();
      await s.close();
    }
  });
});

describe('gRPC admission wait', () => {
  it('a call whose expected wait exceeds the admission limit -> UNAVAILABLE before it queues; REST and gRPC see the same batcher', async () => {
    const s = await startServer({ modelPath: model.modelPath, port: 0, grpcPort: 0, ep: 'cpu', maxBatch: MAX_BATCH, preferredBatch: 2, admissionWaitMs: 'auto', queueTimeoutMs: 0, defaultMetrics: false });
    try {
      const c = connect(s.grpcAddress!);
      assert.equal((await call<InferResponse>(c, 'ModelInfer', rawRequest(images[0]!, 1))).outputs.length, 3, 'nothing ahead: answered');
      // 1 s an image (the model is far faster): batches of 2 take 2 s, the auto limit is 3 s.
      s.batcher.cost.calibrate([{ n: 1, ms: 1000 }]);
      assert.equal(s.batcher.admissionLimitMs, 3000);
      s.batcher.pause();
      const queued = [s.batcher.submit(Buffer.alloc(2 * IMG), 2), s.batcher.submit(Buffer.alloc(2 * IMG), 2)];
      assert.equal(s.batcher.expectedWaitMs, 4000, 'two full batches ahead');
      await assertStatus(call(c, 'ModelInfer', rawRequest(images[1]!, 1)), grpc.status.UNAVAILABLE, /expected wait \(4000 ms\) exceeds the admission limit of 3000 ms \(--admission-wait-ms/);
      assert.equal(s.batcher.queuedRequests, 2, 'the refused call never queued');
      const metrics = await (await fetch(`${s.url}/metrics`)).text();
      assert.match(metrics, /ecl_inference_rejected_total\{reason="queue_timeout"\} 1\b/);
      s.batcher.resume();
      await Promise.all(queued);
      assert.equal((await call<InferResponse>(c, 'ModelInfer', rawRequest(images[1]!, 1))).outputs.length, 3, 'the queue drained: answered again');
    } finally {
      s.batcher.resume();
      await s.close();
    }
  });
});

describe('gRPC shutdown', () => {
  const children: ChildServer[] = [];
  after(() => {
    for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
  });

  it('prints the gRPC address; SIGTERM answers every call in flight, then refuses new ones (UNAVAILABLE), exits 0', async () => {
    // A batch that never fills and a long delay keep every call queued until the signal.
    const child = await startChildServer(['--model', model.modelPath, '--ep', 'cpu', '--grpc-port', '0', '--max-batch', '64', '--preferred-batch', '64', '--max-delay-ms', '8000', '--max-queue', '100']);
    children.push(child);
    assert.match(child.grpc!, /^127\.0\.0\.1:\d+$/);
    const c = connect(child.grpc!);
    const pending = Array.from({ length: 12 }, (_, i) => call<InferResponse>(c, 'ModelInfer', rawRequest(images[i % images.length]!, 1, { id: `t${i}` })));
    for (let i = 0; ; i++) {
      const m = await (await fetch(`${child.url}/metrics`)).text();
      if (Number(/^ecl_inference_queue_depth\{[^}]*\} (\S+)$/m.exec(m)?.[1] ?? 0) >= 12) break;
      assert.ok(i < 1000, 'calls not queued');
      await new Promise((r) => setTimeout(r, 10));
    }
    child.proc.kill('SIGTERM');
    for (let i = 0; !/SIGTERM: draining/.test(child.stderr()); i++) {
      assert.ok(i < 1000, 'no drain');
      await new Promise((r) => setTimeout(r, 10));
    }
    // Draining: a new call (new connection, or the old channel after GOAWAY) is refused.
    await assertStatus(call(connect(child.grpc!), 'ModelInfer', rawRequest(images[0]!, 1)), grpc.status.UNAVAILABLE, /./);
    const results = await Promise.all(pending);
    assert.deepEqual(
      results.map((r) => r.id),
      Array.from({ length: 12 }, (_, i) => `t${i}`),
    );
    for (const r of results) assert.equal(r.outputs.length, 3);
    const { code } = await child.exited;
    assert.equal(code, 0, child.stderr());
  });
});
