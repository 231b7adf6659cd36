// The real server on a loopback port with a real exported model: every endpoint over HTTP, parity with
// a direct onnxruntime-node run, and a battery of malformed requests that must each get the right 4xx
// while the server keeps serving.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import { type RunningServer, startServer } from '../../serve/node/server.js';
import { parseOnnxMetadataProps, resizePolicyFromMetadata } from '../../models/onnx-contract.js';
import { preprocessImage } from '../../serve/shared/preprocess.js';
import { type ServeModel, makeServeModel } from '../helpers/serve-helpers.js';

const MAX_BATCH = 8;
const BODY_LIMIT = 1 << 20;
const MAX_PIXELS = 1_000_000;

let root: string;
let model: ServeModel;
let srv: RunningServer;
let session: ort.InferenceSession;
let base: string;
let inferUrl: string;
let version: string;

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) & 0xff;
  };
}
const randomPixels = (n: number, seed: number) => Uint8Array.from({ length: n }, rng(seed));
const IMG = 28 * 28;

async function direct(pixels: Uint8Array, n: number): Promise<Record<string, Float32Array>> {
  const out = await session.run({ pixels: new ort.Tensor('uint8', pixels, [n, 28, 28, 1]) });
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
}

const argmax = (a: ArrayLike<number>) => {
  let b = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[b]!) b = i;
  return b;
};

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string) {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= tol, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
}

const post = (url: string, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  fetch(url, { method: 'POST', headers, body: typeof body === 'string' ? body : body instanceof Uint8Array ? (body as Uint8Array<ArrayBuffer>) : JSON.stringify(body) });

const goodRequest = (n = 1, seed = 1) => ({ id: `req-${seed}`, inputs: [{ name: 'pixels', shape: [n, 28, 28, 1], datatype: 'UINT8', data: Array.from(randomPixels(n * IMG, seed)) }] });

async function png(width: number, height: number, channels: 3 | 4, seed: number): Promise<Buffer> {
  const data = randomPixels(width * height * channels, seed);
  return sharp(Buffer.from(data), { raw: { width, height, channels } }).png().toBuffer();
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'ecl-serve-api-'));
  model = await makeServeModel(root, { name: 'fmnist-api', embedding: true });
  srv = await startServer({ modelPath: model.modelPath, port: 0, ep: 'auto', maxBatch: MAX_BATCH, bodyLimit: BODY_LIMIT, maxImagePixels: MAX_PIXELS, defaultMetrics: false });
  session = await ort.InferenceSession.create(model.modelPath, { executionProviders: ['cpu'] });
  base = srv.url;
  inferUrl = `${base}/v2/models/fmnist-api/infer`;
  // A --model's version: the first 12 hex chars of the file's sha256.
  version = createHash('sha256').update(readFileSync(model.modelPath)).digest('hex').slice(0, 12);
});

after(async () => {
  await srv?.close();
  await session?.release();
  rmSync(root, { recursive: true, force: true });
});

describe('KServe v2 metadata and health', () => {
  it('GET /v2 gives server metadata', async () => {
    const r = await fetch(`${base}/v2`);
    assert.equal(r.status, 200);
    const j = (await r.json()) as { name: string; version: string; extensions: string[] };
    assert.equal(j.name, 'ecl-serve');
    assert.equal(typeof j.version, 'string');
    assert.ok(Array.isArray(j.extensions));
  });

  it('health live/ready and model ready answer 200 with an empty body', async () => {
    for (const p of ['/v2/health/live', '/v2/health/ready', '/v2/models/fmnist-api/ready', `/v2/models/fmnist-api/versions/${version}/ready`]) {
      const r = await fetch(`${base}${p}`);
      assert.equal(r.status, 200, p);
      assert.equal(await r.text(), '', p);
    }
    assert.equal((await fetch(`${base}/v2/health/live`, { method: 'HEAD' })).status, 200);
  });

  it('model metadata lists inputs/outputs with -1 for the batch dimension and the EP that loaded', async () => {
    for (const p of ['/v2/models/fmnist-api', `/v2/models/fmnist-api/versions/${version}`]) {
      const r = await fetch(`${base}${p}`);
      assert.equal(r.status, 200);
      const j = (await r.json()) as Record<string, unknown> & { parameters: Record<string, unknown> };
      assert.equal(j.name, 'fmnist-api');
      assert.deepEqual(j.versions, [version]);
      assert.equal(j.platform, 'onnxruntime');
      assert.deepEqual(j.inputs, [{ name: 'pixels', datatype: 'UINT8', shape: [-1, 28, 28, 1] }]);
      assert.deepEqual(j.outputs, [
        { name: 'logits', datatype: 'FP32', shape: [-1, 10] },
        { name: 'probs', datatype: 'FP32', shape: [-1, 10] },
        { name: 'embedding', datatype: 'FP32', shape: [-1, 128] },
      ]);
      assert.equal(j.parameters.execution_provider, 'cpu');
      const tried = j.parameters.execution_providers_tried as Array<{ ep: string; ok: boolean; reason: string }>;
      assert.equal(tried[0]!.ep, 'cuda');
      assert.equal(tried[0]!.ok, false);
      assert.ok(tried[0]!.reason.length > 10);
      assert.deepEqual(j.parameters.class_labels, model.labels);
      // The batch size and admission limit the load-time timing chose (defaults: both auto), as the batcher has them.
      assert.equal(j.parameters.max_batch_size, MAX_BATCH);
      assert.equal(j.parameters.preferred_batch_size, srv.batcher.preferredBatch);
      assert.ok(Number.isInteger(j.parameters.preferred_batch_size) && (j.parameters.preferred_batch_size as number) >= 1 && (j.parameters.preferred_batch_size as number) <= MAX_BATCH);
      assert.equal(j.parameters.admission_limit_ms, Math.round(srv.batcher.admissionLimitMs * 10) / 10);
      assert.ok((j.parameters.admission_limit_ms as number) > 0, 'auto: calibrated at load, so a limit is set');
    }
  });
});

describe('KServe v2 inference', () => {
  it('matches a direct onnxruntime-node run (flat data, all outputs, id echoed)', async () => {
    const n = 5;
    const px = randomPixels(n * IMG, 42);
    const r = await post(inferUrl, { id: 'abc-1', inputs: [{ name: 'pixels', shape: [n, 28, 28, 1], datatype: 'UINT8', data: Array.from(px) }] });
    assert.equal(r.status, 200);
    const j = (await r.json()) as { model_name: string; model_version: string; id: string; outputs: Array<{ name: string; shape: number[]; datatype: string; data: number[] }> };
    assert.equal(j.model_name, 'fmnist-api');
    assert.equal(j.model_version, version);
    assert.equal(j.id, 'abc-1');
    assert.deepEqual(
      j.outputs.map((o) => [o.name, o.datatype, o.shape]),
      [
        ['logits', 'FP32', [n, 10]],
        ['probs', 'FP32', [n, 10]],
        ['embedding', 'FP32', [n, 128]],
      ],
    );
    const want = await direct(px, n);
    for (const o of j.outputs) assertClose(o.data, want[o.name]!, 1e-5, o.name);
    const probs = j.outputs.find((o) => o.name === 'probs')!.data;
    for (let i = 0; i < n; i++) assert.equal(argmax(probs.slice(i * 10, i * 10 + 10)), argmax(want.probs!.slice(i * 10, i * 10 + 10)));
  });

  it('accepts nested data, FP32 with integral values, output selection', async () => {
    const px = randomPixels(2 * IMG, 7);
    const nested = [0, 1].map((b) => Array.from({ length: 28 }, (_, y) => Array.from({ length: 28 }, (_, x) => [px[b * IMG + y * 28 + x]!])));
    const r = await post(`${base}/v2/models/fmnist-api/versions/${version}/infer`, {
      inputs: [{ name: 'pixels', shape: [2, 28, 28, 1], datatype: 'FP32', data: nested }],
      outputs: [{ name: 'probs' }],
    });
    assert.equal(r.status, 200);
    const j = (await r.json()) as { id: string; outputs: Array<{ name: string; data: number[] }> };
    assert.equal(typeof j.id, 'string');
    assert.deepEqual(
      j.outputs.map((o) => o.name),
      ['probs'],
    );
    assertClose(j.outputs[0]!.data, (await direct(px, 2)).probs!, 1e-5, 'probs');
  });

  it('supports the binary tensor data extension (binary input and output)', async () => {
    const px = randomPixels(3 * IMG, 9);
    const head = Buffer.from(
      JSON.stringify({
        inputs: [{ name: 'pixels', shape: [3, 28, 28, 1], datatype: 'UINT8', parameters: { binary_data_size: px.length } }],
        outputs: [{ name: 'probs', parameters: { binary_data: true } }, { name: 'logits' }],
      }),
    );
    const r = await post(inferUrl, Buffer.concat([head, px]), { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(head.length) });
    assert.equal(r.status, 200);
    const hl = Number(r.headers.get('inference-header-content-length'));
    const buf = Buffer.from(await r.arrayBuffer());
    const j = JSON.parse(buf.subarray(0, hl).toString()) as { outputs: Array<{ name: string; data?: number[]; parameters?: { binary_data_size: number } }> };
    assert.equal(j.outputs[0]!.name, 'probs');
    assert.equal(j.outputs[0]!.parameters!.binary_data_size, 3 * 10 * 4);
    const bin = buf.subarray(hl);
    const probs = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length));
    const want = await direct(px, 3);
    assertClose(probs, want.probs!, 1e-5, 'binary probs');
    assertClose(j.outputs[1]!.data!, want.logits!, 1e-5, 'json logits');
  });
});

describe('POST /v1/classify', () => {
  it('raw PNG body: top-k labels with probabilities and the EP, equal to a direct run on the shared preprocessing', async () => {
    const img = await png(40, 30, 3, 5); // not the model size: exercises resize + luma
    const r = await post(`${base}/v1/classify?k=3`, new Uint8Array(img), { 'content-type': 'image/png' });
    assert.equal(r.status, 200);
    const j = (await r.json()) as { ep: string; k: number; results: Array<{ width: number; height: number; predictions: Array<{ label: string; index: number; probability: number }> }> };
    assert.equal(j.ep, 'cpu');
    assert.equal(j.k, 3);
    assert.equal(j.results.length, 1);
    const res = j.results[0]!;
    assert.deepEqual([res.width, res.height], [40, 30]);
    assert.equal(res.predictions.length, 3);
    const { data, info } = await sharp(img).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    // The exporter's default policy (the fixture's config has no resize field): centre crop.
    const resize = resizePolicyFromMetadata(parseOnnxMetadataProps(readFileSync(model.modelPath)));
    assert.equal(resize, 'center-crop');
    const px = preprocessImage({ width: info.width, height: info.height, data }, { height: 28, width: 28, channels: 1, resize });
    const want = (await direct(px, 1)).probs!;
    const order = Array.from(want.keys()).sort((a, b) => want[b]! - want[a]!);
    assert.deepEqual(
      res.predictions.map((p) => p.index),
      order.slice(0, 3),
    );
    for (const p of res.predictions) {
      assert.equal(p.label, model.labels[p.index]);
      assert.ok(Math.abs(p.probability - want[p.index]!) < 1e-5);
    }
  });

  it('multipart with several images (JPEG, WebP, PNG) answers one result per file', async () => {
    const base28 = await png(28, 28, 3, 11);
    const jpeg = await sharp(base28).jpeg().toBuffer();
    const webp = await sharp(base28).webp({ lossless: true }).toBuffer();
    const fd = new FormData();
    fd.append('image', new Blob([new Uint8Array(jpeg)], { type: 'image/jpeg' }), 'a.jpg');
    fd.append('image', new Blob([new Uint8Array(webp)], { type: 'image/webp' }), 'b.webp');
    fd.append('image', new Blob([new Uint8Array(base28)], { type: 'image/png' }), 'c.png');
    fd.append('note', 'ignored field');
    const r = await fetch(`${base}/v1/classify`, { method: 'POST', body: fd });
    assert.equal(r.status, 200, await r.clone().text());
    const j = (await r.json()) as { k: number; results: Array<{ filename: string; predictions: Array<{ index: number; probability: number }> }> };
    assert.equal(j.k, 5);
    assert.deepEqual(
      j.results.map((x) => x.filename),
      ['a.jpg', 'b.webp', 'c.png'],
    );
    // Lossless WebP and PNG decode to the same pixels: same predictions.
    assert.deepEqual(j.results[1]!.predictions, j.results[2]!.predictions);
    for (const res of j.results) {
      const s = res.predictions.reduce((a, p) => a + p.probability, 0);
      assert.ok(s > 0 && s <= 1 + 1e-5);
    }
  });
});

describe('malformed requests get the right 4xx and the server keeps serving', () => {
  type Case = { name: string; status: number; send: () => Promise<Response> };
  const json = (body: unknown, url = () => inferUrl) => () => post(url(), body);
  const inp = (over: Record<string, unknown>) => ({ inputs: [{ name: 'pixels', shape: [1, 28, 28, 1], datatype: 'UINT8', data: Array(IMG).fill(0), ...over }] });
  const cases: Case[] = [
    { name: 'invalid JSON', status: 400, send: () => post(inferUrl, '{"inputs": [') },
    { name: 'empty JSON body', status: 400, send: () => post(inferUrl, '') },
    { name: 'JSON array instead of object', status: 400, send: json([1, 2, 3]) },
    { name: 'missing inputs', status: 400, send: json({ id: 'x' }) },
    { name: 'inputs not an array', status: 400, send: json({ inputs: { name: 'pixels' } }) },
    { name: 'inputs empty', status: 400, send: json({ inputs: [] }) },
    { name: 'input not an object', status: 400, send: json({ inputs: [42] }) },
    { name: 'input without name', status: 400, send: json({ inputs: [{ shape: [1, 28, 28, 1], datatype: 'UINT8', data: [] }] }) },
    { name: 'unknown input name', status: 400, send: json(inp({ name: 'image' })) },
    { name: 'input given twice', status: 400, send: json({ inputs: [inp({}).inputs[0], inp({}).inputs[0]] }) },
    { name: 'unsupported datatype INT32', status: 400, send: json(inp({ datatype: 'INT32' })) },
    { name: 'missing datatype', status: 400, send: json(inp({ datatype: undefined })) },
    { name: 'shape of wrong rank', status: 400, send: json(inp({ shape: [28, 28, 1] })) },
    { name: 'shape of another model (32x32x3)', status: 400, send: json(inp({ shape: [1, 32, 32, 3] })) },
    { name: 'negative dimension', status: 400, send: json(inp({ shape: [-1, 28, 28, 1] })) },
    { name: 'fractional dimension', status: 400, send: json(inp({ shape: [1.5, 28, 28, 1] })) },
    { name: 'shape not an array', status: 400, send: json(inp({ shape: '1x28x28x1' })) },
    { name: 'empty batch (shape[0] = 0)', status: 400, send: json(inp({ shape: [0, 28, 28, 1], data: [] })) },
    { name: 'data one element short', status: 400, send: json(inp({ data: Array(IMG - 1).fill(0) })) },
    { name: 'data one element long', status: 400, send: json(inp({ data: Array(IMG + 1).fill(0) })) },
    { name: 'UINT8 value 256', status: 400, send: json(inp({ data: [256, ...Array(IMG - 1).fill(0)] })) },
    { name: 'UINT8 value -1', status: 400, send: json(inp({ data: [-1, ...Array(IMG - 1).fill(0)] })) },
    { name: 'string element', status: 400, send: json(inp({ data: ['7', ...Array(IMG - 1).fill(0)] })) },
    { name: 'FP32 non-integral value', status: 400, send: json(inp({ datatype: 'FP32', data: [0.5, ...Array(IMG - 1).fill(0)] })) },
    { name: 'missing data', status: 400, send: json(inp({ data: undefined })) },
    { name: 'data not an array', status: 400, send: json(inp({ data: 'AAAA' })) },
    { name: 'nested data not following the shape', status: 400, send: json(inp({ data: [Array(28).fill(Array(27).fill([0]))] })) },
    { name: 'too many images', status: 413, send: json(inp({ shape: [MAX_BATCH + 1, 28, 28, 1], data: Array((MAX_BATCH + 1) * IMG).fill(0) })) },
    { name: 'unknown output', status: 400, send: json({ ...inp({}), outputs: [{ name: 'features' }] }) },
    { name: 'outputs not an array', status: 400, send: json({ ...inp({}), outputs: 'probs' }) },
    { name: 'output requested twice', status: 400, send: json({ ...inp({}), outputs: [{ name: 'probs' }, { name: 'probs' }] }) },
    { name: 'id not a string', status: 400, send: json({ ...inp({}), id: 7 }) },
    { name: 'body over --body-limit', status: 413, send: () => post(inferUrl, `{"inputs": [${'0,'.repeat(BODY_LIMIT)}0]}`) },
    { name: 'text/plain body', status: 415, send: () => post(inferUrl, 'hello', { 'content-type': 'text/plain' }) },
    { name: 'image body to infer', status: 415, send: () => post(inferUrl, new Uint8Array([0x89, 0x50]), { 'content-type': 'image/png' }) },
    { name: 'octet-stream without inference header', status: 400, send: () => post(inferUrl, new Uint8Array(10), { 'content-type': 'application/octet-stream' }) },
    {
      name: 'inference header length past the body',
      status: 400,
      send: () => post(inferUrl, new Uint8Array(10), { 'content-type': 'application/octet-stream', 'inference-header-content-length': '99' }),
    },
    {
      name: 'binary size not matching the shape',
      status: 400,
      send: () => {
        const head = Buffer.from(JSON.stringify({ inputs: [{ name: 'pixels', shape: [1, 28, 28, 1], datatype: 'UINT8', parameters: { binary_data_size: 100 } }] }));
        return post(inferUrl, Buffer.concat([head, Buffer.alloc(100)]), { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(head.length) });
      },
    },
    { name: 'unknown model (infer)', status: 404, send: json(inp({}), () => `${base}/v2/models/other/infer`) },
    { name: 'unknown model (metadata)', status: 404, send: () => fetch(`${base}/v2/models/other`) },
    { name: 'unknown model (ready)', status: 404, send: () => fetch(`${base}/v2/models/other/ready`) },
    { name: 'unknown version', status: 404, send: json(inp({}), () => `${base}/v2/models/fmnist-api/versions/7/infer`) },
    { name: 'unknown route', status: 404, send: () => fetch(`${base}/v3/anything`) },
    { name: 'GET on infer', status: 405, send: () => fetch(inferUrl) },
    { name: 'DELETE on /v2', status: 405, send: () => fetch(`${base}/v2`, { method: 'DELETE' }) },
    { name: 'PUT on classify', status: 405, send: () => fetch(`${base}/v1/classify`, { method: 'PUT', body: 'x' }) },
    { name: 'classify: non-image bytes', status: 415, send: () => post(`${base}/v1/classify`, new TextEncoder().encode('definitely not a png'), { 'content-type': 'image/png' }) },
    { name: 'classify: GIF', status: 415, send: () => post(`${base}/v1/classify`, new TextEncoder().encode('GIF89a\x01\x00\x01\x00\x00\x00\x00;'), { 'content-type': 'image/gif' }) },
    {
      name: 'classify: truncated PNG',
      status: 400,
      send: async () => post(`${base}/v1/classify`, new Uint8Array((await png(28, 28, 3, 1)).subarray(0, 60)), { 'content-type': 'image/png' }),
    },
    { name: 'classify: empty image body', status: 400, send: () => post(`${base}/v1/classify`, new Uint8Array(0), { 'content-type': 'image/png' }) },
    { name: 'classify: JSON body', status: 415, send: () => post(`${base}/v1/classify`, '{"image": "x"}') },
    {
      name: 'classify: decoded pixels over --max-image-pixels',
      status: 413,
      send: async () => post(`${base}/v1/classify`, new Uint8Array(await sharp({ create: { width: 1100, height: 1000, channels: 3, background: '#888' } }).png().toBuffer()), { 'content-type': 'image/png' }),
    },
    { name: 'classify: k=0', status: 400, send: async () => post(`${base}/v1/classify?k=0`, new Uint8Array(await png(28, 28, 3, 2)), { 'content-type': 'image/png' }) },
    { name: 'classify: k=abc', status: 400, send: async () => post(`${base}/v1/classify?k=abc`, new Uint8Array(await png(28, 28, 3, 2)), { 'content-type': 'image/png' }) },
    {
      name: 'classify: multipart without a file',
      status: 400,
      send: () => {
        const fd = new FormData();
        fd.append('k', '3');
        return fetch(`${base}/v1/classify`, { method: 'POST', body: fd });
      },
    },
    {
      name: 'classify: multipart with too many images',
      status: 413,
      send: async () => {
        const fd = new FormData();
        const p = new Uint8Array(await png(8, 8, 3, 3));
        for (let i = 0; i <= MAX_BATCH; i++) fd.append('image', new Blob([p], { type: 'image/png' }), `${i}.png`);
        return fetch(`${base}/v1/classify`, { method: 'POST', body: fd });
      },
    },
    {
      name: 'classify: multipart with a non-image file',
      status: 415,
      send: () => {
        const fd = new FormData();
        fd.append('image', new Blob(['hello world, no pixels here'], { type: 'image/png' }), 'fake.png');
        return fetch(`${base}/v1/classify`, { method: 'POST', body: fd });
      },
    },
    {
      name: 'classify: malformed multipart body',
      status: 400,
      send: () => post(`${base}/v1/classify`, '--xyz\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\nabc', { 'content-type': 'multipart/form-data; boundary=xyz' }),
    },
  ];

  it(`has at least 25 distinct malformed requests (${cases.length})`, () => {
    assert.ok(cases.length >= 25);
    assert.equal(new Set(cases.map((c) => c.name)).size, cases.length);
  });

  for (const c of cases) {
    it(`${c.name} -> ${c.status}`, async () => {
      const r = await c.send();
      const text = await r.text();
      assert.equal(r.status, c.status, `${c.name}: got ${r.status} ${text}`);
      const j = JSON.parse(text) as { error?: unknown };
      assert.equal(typeof j.error, 'string', `${c.name}: body ${text}`);
      assert.ok((j.error as string).length > 5);
      if (c.status === 405) assert.ok(r.headers.get('allow'));
    });
  }

  it('a good request still works after all of them', async () => {
    const r = await post(inferUrl, goodRequest(2, 99));
    assert.equal(r.status, 200);
    const r2 = await post(`${base}/v1/classify`, new Uint8Array(await png(28, 28, 4, 4)), { 'content-type': 'image/png' });
    assert.equal(r2.status, 200);
    assert.equal((await fetch(`${base}/v2/health/ready`)).status, 200);
  });
});

describe('GET /metrics', () => {
  it('exposes request counts/failures by route and status and the batching histograms', async () => {
    await post(inferUrl, goodRequest(1, 5));
    await post(inferUrl, { inputs: [] });
    const r = await fetch(`${base}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /text\/plain/);
    const m = await r.text();
    assert.match(m, /ecl_http_requests_total\{route="\/v2\/models\/:model\/infer",method="POST",status="200"\} \d+/);
    assert.match(m, /ecl_http_request_failures_total\{route="\/v2\/models\/:model\/infer",method="POST",status="400"\} \d+/);
    assert.match(m, /ecl_http_request_failures_total\{route="unmatched",method="GET",status="404"\} \d+/);
    const mv = `model="fmnist-api",version="${version}"`;
    assert.match(m, new RegExp(`ecl_inference_queue_seconds_bucket\\{le="[\\d.]+",${mv}\\} \\d+`));
    assert.match(m, new RegExp(`ecl_inference_compute_seconds_count\\{${mv}\\} \\d+`));
    assert.match(m, new RegExp(`ecl_inference_batch_size_bucket\\{le="1",${mv}\\} \\d+`));
    assert.match(m, /ecl_http_request_duration_seconds_bucket/);
    assert.ok(m.includes(`ecl_model_info{${mv},ep="cpu"} 1`), 'ecl_model_info names the model, version and EP');
  });
});
