// Dynamic batching over real HTTP: concurrent requests share onnxruntime runs (and still get their own
// rows back), a full queue answers 503 + Retry-After, and the server recovers afterwards.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import { DynamicBatcher, QueueFullError, QueueTimeoutError, ShuttingDownError } from '../../serve/node/batcher.js';
import { type RunningServer, startServer } from '../../serve/node/server.js';
import { type ServeModel, makeServeModel } from '../helpers/serve-helpers.js';

const IMG = 28 * 28;
let root: string;
let model: ServeModel;
let session: ort.InferenceSession;

const pixels = (n: number, seed: number) => {
  let s = seed >>> 0 || 1;
  return Uint8Array.from({ length: n * IMG }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s >>> 24;
  });
};

const infer = (srv: RunningServer, px: Uint8Array, n: number, id: string) =>
  fetch(`${srv.url}/v2/models/${srv.info.name}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id, inputs: [{ name: 'pixels', shape: [n, 28, 28, 1], datatype: 'UINT8', data: Array.from(px) }], outputs: [{ name: 'probs' }] }),
  });

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'ecl-serve-batch-'));
  model = await makeServeModel(root, { name: 'fmnist-batch', seed: 5 });
  session = await ort.InferenceSession.create(model.modelPath, { executionProviders: ['cpu'] });
});

after(async () => {
  await session?.release();
  rmSync(root, { recursive: true, force: true });
});

describe('dynamic batching', () => {
  it('runs concurrent requests together (max-delay-ms) and gives each its own rows', async () => {
    const srv = await startServer({ modelPath: model.modelPath, port: 0, ep: 'cpu', maxBatch: 16, preferredBatch: 16, maxDelayMs: 150, defaultMetrics: false });
    try {
      const sizes = [1, 3, 1, 2, 1, 1, 4, 1];
      const reqs = sizes.map((n, i) => ({ n, px: pixels(n, 100 + i) }));
      const res = await Promise.all(reqs.map((r, i) => infer(srv, r.px, r.n, `r${i}`)));
      const bodies = (await Promise.all(res.map((r) => r.json()))) as Array<{ id: string; parameters: { batch_images: number }; outputs: Array<{ data: number[]; shape: number[] }> }>;
      res.forEach((r) => assert.equal(r.status, 200));
      // All 14 images arrived within the delay window: one run, or very few.
      const batches = new Set(bodies.map((b) => b.parameters.batch_images));
      assert.ok(Math.max(...batches) > 1, `batch sizes ${[...batches].join(',')}`);
      for (const [i, b] of bodies.entries()) {
        assert.equal(b.id, `r${i}`);
        assert.deepEqual(b.outputs[0]!.shape, [reqs[i]!.n, 10]);
        const want = (await session.run({ pixels: new ort.Tensor('uint8', reqs[i]!.px, [reqs[i]!.n, 28, 28, 1]) })).probs!.data as Float32Array;
        b.outputs[0]!.data.forEach((v, k) => assert.ok(Math.abs(v - want[k]!) < 1e-5, `request ${i} value ${k}: ${v} vs ${want[k]}`));
      }
      const m = await (await fetch(`${srv.url}/metrics`)).text();
      const sum = Number(/ecl_inference_batch_size_sum\{[^}]*\} (\S+)/.exec(m)![1]);
      const count = Number(/ecl_inference_batch_size_count\{[^}]*\} (\S+)/.exec(m)![1]);
      assert.equal(sum, 14);
      assert.ok(count < sizes.length, `${count} runs for ${sizes.length} requests`);
    } finally {
      await srv.close();
    }
  });

  it('answers 503 with Retry-After when the queue is full, then recovers (worker paused by the test hook)', async () => {
    const srv = await startServer({ modelPath: model.modelPath, port: 0, ep: 'cpu', maxBatch: 4, maxQueue: 3, defaultMetrics: false });
    try {
      srv.batcher.pause();
      const queued = [0, 1, 2].map((i) => infer(srv, pixels(1, i), 1, `q${i}`));
      const t0 = Date.now();
      while (srv.batcher.queuedRequests < 3) {
        assert.ok(Date.now() - t0 < 10_000, 'requests did not reach the queue');
        await new Promise((r) => setTimeout(r, 5));
      }
      const full = await infer(srv, pixels(1, 9), 1, 'overflow');
      assert.equal(full.status, 503);
      assert.equal(full.headers.get('retry-after'), '1');
      assert.match(((await full.json()) as { error: string }).error, /queue is full/);
      // classify goes through the same queue
      const { default: sharp } = await import('sharp');
      const img = await sharp({ create: { width: 28, height: 28, channels: 3, background: '#123456' } }).png().toBuffer();
      const full2 = await fetch(`${srv.url}/v1/classify`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: new Uint8Array(img) });
      assert.equal(full2.status, 503);
      assert.ok(full2.headers.get('retry-after'));
      // health/metadata do not queue
      assert.equal((await fetch(`${srv.url}/v2/health/ready`)).status, 200);
      srv.batcher.resume();
      for (const r of await Promise.all(queued)) assert.equal(r.status, 200);
      assert.equal((await infer(srv, pixels(2, 3), 2, 'after')).status, 200);
      const m = await (await fetch(`${srv.url}/metrics`)).text();
      assert.match(m, /ecl_http_request_failures_total\{route="\/v2\/models\/:model\/infer",method="POST",status="503"\} 1/);
      assert.match(m, /ecl_inference_rejected_total\{reason="queue_full"\} 2/);
    } finally {
      await srv.close();
    }
  });

  it('a burst larger than a tiny queue gets some 503s, the rest 200, no other status', async () => {
    const srv = await startServer({ modelPath: model.modelPath, port: 0, ep: 'cpu', maxBatch: 64, maxQueue: 2, maxDelayMs: 250, defaultMetrics: false });
    try {
      const res = await Promise.all(Array.from({ length: 20 }, (_, i) => infer(srv, pixels(1, i), 1, `b${i}`)));
      const statuses = res.map((r) => r.status);
      await Promise.all(res.map((r) => r.arrayBuffer()));
      assert.ok(statuses.every((s) => s === 200 || s === 503), statuses.join(','));
      assert.ok(statuses.includes(503) && statuses.includes(200), statuses.join(','));
      for (const r of res.filter((x) => x.status === 503)) assert.equal(r.headers.get('retry-after'), '1');
    } finally {
      await srv.close();
    }
  });
});

describe('DynamicBatcher (unit)', () => {
  const shape = [2, 2, 1] as const;
  const echo = (calls: number[]) => async (px: Uint8Array, dims: number[]) => {
    calls.push(dims[0]!);
    const n = dims[0]!;
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = px[i * 4]!;
    return { outputs: { first: { dims: [n, 1], data } }, computeMs: 1 };
  };

  it('run-as-soon-as-idle: the first request runs alone, the ones queued meanwhile run together, in order', async () => {
    const calls: number[] = [];
    const b = new DynamicBatcher(echo(calls), { maxBatch: 8, maxDelayMs: 0, maxQueue: 100, imageShape: shape });
    const req = (v: number, n = 1) => b.submit(new Uint8Array(4 * n).fill(v), n);
    const first = req(1);
    await new Promise((r) => setImmediate(r));
    const rest = [req(2), req(3, 2), req(4)];
    const out = await Promise.all([first, ...rest]);
    assert.deepEqual(
      out.map((o) => Array.from(o.outputs.first!.data)),
      [[1], [2], [3, 3], [4]],
    );
    assert.deepEqual(calls, [1, 4]);
  });

  it('never exceeds maxBatch, rejects oversize requests, and drains on close', async () => {
    const calls: number[] = [];
    const b = new DynamicBatcher(echo(calls), { maxBatch: 3, maxDelayMs: 0, maxQueue: 100, imageShape: shape });
    await assert.rejects(b.submit(new Uint8Array(16), 4), RangeError);
    await assert.rejects(b.submit(new Uint8Array(5), 1), RangeError);
    b.pause();
    const ps = [1, 2, 1, 1, 2].map((n, i) => b.submit(new Uint8Array(4 * n).fill(i), n));
    const closed = b.close();
    await assert.rejects(b.submit(new Uint8Array(4), 1), ShuttingDownError);
    await closed;
    await Promise.all(ps);
    assert.ok(calls.every((c) => c <= 3));
    assert.equal(
      calls.reduce((a, c) => a + c, 0),
      7,
    );
  });

  it('expedite() (shutdown) stops waiting for max-delay-ms but still accepts requests', async () => {
    const calls: number[] = [];
    const b = new DynamicBatcher(echo(calls), { maxBatch: 8, maxDelayMs: 60_000, maxQueue: 10, imageShape: shape });
    const t0 = Date.now();
    const p1 = b.submit(new Uint8Array(4), 1);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(calls, []);
    b.expedite();
    await p1;
    await b.submit(new Uint8Array(4), 1);
    assert.ok(Date.now() - t0 < 5000);
    assert.deepEqual(calls, [1, 1]);
  });

  it('QueueFullError at maxQueue waiting requests', async () => {
    const b = new DynamicBatcher(echo([]), { maxBatch: 4, maxDelayMs: 0, maxQueue: 2, imageShape: shape });
    b.pause();
    const a = [b.submit(new Uint8Array(4), 1), b.submit(new Uint8Array(4), 1)];
    await assert.rejects(b.submit(new Uint8Array(4), 1), QueueFullError);
    b.resume();
    await Promise.all(a);
  });

  it('queueTimeoutMs: requests older than the deadline (from their arrival) are shed, not run; the others run', async () => {
    const calls: number[] = [];
    const b = new DynamicBatcher(echo(calls), { maxBatch: 4, maxDelayMs: 0, maxQueue: 8, queueTimeoutMs: 100, imageShape: shape });
    // Arrived 150 ms ago (body read and decode took that long): refused at once.
    await assert.rejects(b.submit(new Uint8Array(4), 1, performance.now() - 150), QueueTimeoutError);
    b.pause();
    const old = b.submit(new Uint8Array(4).fill(1), 1);
    await new Promise((r) => setTimeout(r, 150));
    const fresh = b.submit(new Uint8Array(4).fill(2), 1);
    b.resume();
    await assert.rejects(old, /queue deadline of 100 ms/);
    assert.equal((await fresh).outputs.first!.data[0], 2);
    assert.deepEqual(calls, [1], 'only the fresh request ran');
    await b.close();
  });

  it('a failing run rejects every request of that batch and the next batch still runs', async () => {
    let fail = true;
    const b = new DynamicBatcher(
      async (_px, dims) => {
        if (fail) {
          fail = false;
          throw new Error('boom');
        }
        return { outputs: { x: { dims: [dims[0]!, 1], data: new Float32Array(dims[0]!) } }, computeMs: 0 };
      },
      { maxBatch: 4, maxDelayMs: 0, maxQueue: 10, imageShape: shape },
    );
    await assert.rejects(b.submit(new Uint8Array(4), 1), /boom/);
    const ok = await b.submit(new Uint8Array(4), 1);
    assert.equal(ok.outputs.x!.data.length, 1);
  });
});
