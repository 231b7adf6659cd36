// serve/node/batcher.ts on its own, driven by a fake runner and a fake clock (performance.now and setTimeout
// mocked; setImmediate real, so the batcher's same-turn grouping and the test's flushes behave as in the server).
// Covers the batch-forming rules (maxDelayMs, maxBatch, FIFO packing), the per-request rows and stats, the
// refusals (their exact messages), queue deadlines, pause/expedite/close, and failure isolation.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { type BatchStats, DynamicBatcher, QueueFullError, QueueTimeoutError, ShuttingDownError, type SubmitResult, sliceRows } from '../../serve/node/batcher.js';
import type { RunResult } from '../../serve/node/runner.js';

const SHAPE = [2, 1, 2] as const; // 4 bytes per image
const IMG = 4;

let clock = 0;
/** Armed (not yet fired or cleared) timers, and how many were ever armed: a stale timer would keep a closing server alive. */
let live: Set<unknown>;
let armed = 0;
beforeEach(() => {
  clock = 0;
  live = new Set();
  armed = 0;
  mock.method(performance, 'now', () => clock);
  mock.timers.enable({ apis: ['setTimeout'] });
  const fakeSet = globalThis.setTimeout;
  const fakeClear = globalThis.clearTimeout;
  mock.method(globalThis, 'setTimeout', ((fn: () => void, ms: number) => {
    const id: unknown = fakeSet(() => {
      live.delete(id);
      fn();
    }, ms);
    live.add(id);
    armed++;
    return id;
  }) as typeof setTimeout);
  mock.method(globalThis, 'clearTimeout', ((id: NodeJS.Timeout | null) => {
    live.delete(id);
    fakeClear(id ?? undefined);
  }) as typeof clearTimeout);
});
afterEach(() => {
  mock.restoreAll();
  mock.timers.reset();
});

/** Lets every pending setImmediate and promise continuation run (the batcher dispatches on setImmediate). */
async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

/** Moves the fake clock and the mocked setTimeout together. */
async function advance(ms: number): Promise<void> {
  clock += ms;
  mock.timers.tick(ms);
  await flush();
}

interface Call {
  dims: number[];
  pixels: number[];
}

/** A runner answering, per image, its first byte (output 'a', [n, 1]) and its 4 bytes (output 'b', [n, 2, 2]). */
function fakeRunner(calls: Call[], computeMs = 7) {
  return async (px: Uint8Array, dims: number[]): Promise<RunResult> => {
    calls.push({ dims: [...dims], pixels: Array.from(px) });
    const n = dims[0]!;
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = px[i * IMG]!;
    return { outputs: { a: { dims: [n, 1], data: a }, b: { dims: [n, 2, 2], data: Float32Array.from(px) } }, computeMs };
  };
}

/** n images whose bytes are v, v+1, v+2, ... */
const imgs = (n: number, v: number) => Uint8Array.from({ length: n * IMG }, (_, i) => v + i);

const opts = (o: Partial<ConstructorParameters<typeof DynamicBatcher>[1]> = {}) => ({ maxBatch: 4, maxDelayMs: 0, maxQueue: 10, imageShape: SHAPE, ...o });

describe('DynamicBatcher: construction and refusals', () => {
  it('validates its options and derives the image size', () => {
    const msg = /^Error: batcher: maxBatch, maxQueue and maxPendingBatches must be >= 1, maxDelayMs >= 0$/;
    for (const bad of [{ maxBatch: 0 }, { maxQueue: 0 }, { maxDelayMs: -1 }, { maxBatch: NaN }, { maxQueue: NaN }, { maxDelayMs: NaN }])
      assert.throws(() => new DynamicBatcher(fakeRunner([]), opts(bad)), (e: Error) => msg.test(String(e)), JSON.stringify(bad));
    // The smallest legal values are accepted.
    const b = new DynamicBatcher(fakeRunner([]), opts({ maxBatch: 1, maxQueue: 1, maxDelayMs: 0, imageShape: [3, 5, 2] }));
    assert.equal(b.imageBytes, 30);
    assert.deepEqual([b.queuedRequests, b.queuedImages, b.busy, b.isClosed], [0, 0, false, false]);
  });

  it('refuses bad sizes with exact messages, before queueing anything', async () => {
    const calls: Call[] = [];
    const b = new DynamicBatcher(fakeRunner(calls), opts({ maxBatch: 3 }));
    for (const n of [0, 4, 1.5, NaN])
      await assert.rejects(b.submit(new Uint8Array(IMG), n), (e: Error) => e instanceof RangeError && e.message === `batch of ${n} images (allowed 1..3)`);
    await assert.rejects(b.submit(new Uint8Array(5), 1), (e: Error) => e instanceof RangeError && e.message === 'pixel buffer has 5 bytes, expected 4');
    await assert.rejects(b.submit(new Uint8Array(8), 3), (e: Error) => e instanceof RangeError && e.message === 'pixel buffer has 8 bytes, expected 12');
    // The boundaries themselves are fine.
    const r = await Promise.all([b.submit(imgs(1, 0), 1), b.submit(imgs(3, 0), 3)]);
    assert.deepEqual(r.map((x) => x.batchImages), [1, 3]);
    assert.deepEqual(b.queuedRequests, 0);
  });

  it('QueueFullError once maxQueue requests wait (the running batch not counted), with the count in the message', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const inner = fakeRunner([]);
    const b = new DynamicBatcher(async (px, dims) => (await gate, inner(px, dims)), opts({ maxBatch: 1, maxQueue: 2 }));
    const running = b.submit(imgs(1, 0), 1);
    await flush();
    assert.equal(b.busy, true);
    assert.equal(b.queuedRequests, 0, 'the running request left the queue');
    const waiting = [b.submit(imgs(1, 1), 1), b.submit(imgs(1, 2), 1)];
    assert.deepEqual([b.queuedRequests, b.queuedImages], [2, 2]);
    await assert.rejects(b.submit(imgs(1, 3), 1), (e: Error) => e instanceof QueueFullError && e.name === 'QueueFullError' && e.message === 'server busy: the inference queue is full (2 requests waiting); retry later');
    release();
    const out = await Promise.all([running, ...waiting]);
    assert.deepEqual(out.map((o) => o.outputs.a!.data[0]), [0, 1, 2]);
    assert.equal(b.busy, false);
  });

  it('close(): new requests get ShuttingDownError, accepted ones still run, even after pause()', async () => {
    const calls: Call[] = [];
    const b = new DynamicBatcher(fakeRunner(calls), opts({ maxBatch: 2, maxDelayMs: 60_000 }));
    b.pause();
    const accepted = [b.submit(imgs(1, 10), 1), b.submit(imgs(1, 20), 1), b.submit(imgs(1, 30), 1)];
    const closed = b.close();
    assert.equal(b.isClosed, true);
    await assert.rejects(b.submit(imgs(1, 0), 1), (e: Error) => e instanceof ShuttingDownError && e.name === 'ShuttingDownError' && e.message === 'server is shutting down');
    await closed; // no clock advance: closing does not wait for maxDelayMs
    assert.deepEqual((await Promise.all(accepted)).map((o) => o.outputs.a!.data[0]), [10, 20, 30]);
    assert.deepEqual(calls.map((c) => c.dims), [[2, 2, 1, 2], [1, 2, 1, 2]]);
  });
});

describe('DynamicBatcher: when a batch forms', () => {
  it('maxDelayMs: the oldest request waits exactly that long for companions', async () => {
    const calls: Call[] = [];
    const b = new DynamicBatcher(fakeRunner(calls), opts({ maxBatch: 4, maxDelayMs: 100 }));
    clock = 5000;
    const p1 = b.submit(imgs(1, 1), 1);
    await flush();
    await advance(40);
    const p2 = b.submit(imgs(2, 2), 2);
    await advance(59);
    assert.equal(calls.length, 0, 'not before 100 ms');
    await advance(1);
    assert.deepEqual(calls.map((c) => c.dims[0]), [3]);
    const [r1, r2] = await Promise.all([p1, p2]);
    assert.deepEqual([r1.queueMs, r2.queueMs], [100, 60]);
  });

  it('one timer per wait, rounded up to whole ms (no polling), none left once the batch ran', async () => {
    const calls: Call[] = [];
    const b = new DynamicBatcher(fakeRunner(calls), opts({ maxBatch: 4, maxDelayMs: 2.5 }));
    const p = b.submit(imgs(1, 1), 1);
    await advance(2);
    assert.equal(calls.length, 0, 'not before 2.5 ms');
    await advance(1);
    assert.equal(calls.length, 1);
    assert.equal(armed, 1, 'a single 3 ms timer');
    assert.equal((await p).queueMs, 3);
    const b2 = new DynamicBatcher(fakeRunner(calls), opts({ maxBatch: 4, maxDelayMs: 100 }));
    const p2 = [b2.submit(imgs(1, 1), 1)];
    await advance(30);
    p2.push(b2.submit(imgs(1, 1), 1), b2.submit(imgs(1, 1), 1));
    await advance(70);
    await Promise.all(p2);
    assert.deepEqual([armed, live.size], [2, 0], 'one more timer for the 100 ms wait, however many joined');
  });

  it('a batch that forms early (full, expedite, close, pause) cancels its delay timer', async () => {
    const calls: Call[] = [];
    const b = new DynamicBatcher(fakeRunner(calls), opts({ maxBatch: 2, maxDelayMs: 60_000 }));
    const full = [b.submit(imgs(1, 0), 1)];
    assert.equal(live.size, 1);
    full.push(b.submit(imgs(1, 0), 1));
    assert.equal(live.size, 0, 'full: timer cancelled');
    await Promise.all(full);
    const e = b.submit(imgs(1, 0), 1);
    assert.equal(live.size, 1);
    b.expedite();
    assert.equal(live.size, 0, 'expedite: timer cancelled');
    await e;
    const b2 = new DynamicBatcher(fakeRunner(calls), opts({ maxBatch: 2, maxDelayMs: 60_000 }));
    const q = b2.submit(imgs(1, 0), 1);
    b2.pause();
    assert.equal(live.size, 0, 'pause: timer cancelled');
    b2.resume();
    assert.equal(live.size, 1, 'resume: waits again');
    await b2.close();
    assert.equal(live.size, 0, 'close: timer cancelled');
    await q;
    assert.equal(calls.length, 3);
  });

  it('maxBatch images waiting run at once, without waiting for maxDelayMs; one fewer waits', async () => {
    const calls: Call[] = [];
    const b = new DynamicBatcher(fakeRunner(calls), opts({ maxBatch: 3, maxDelayMs: 1000 }));
    const p = [b.submit(imgs(1, 0), 1), b.submit(imgs(1, 4), 1)];
    await flush();
    assert.equal(calls.length, 0, '2 of 3 images: waits');
    p.push(b.submit(imgs(1, 8), 1));
    await flush();
    assert.deepEqual(calls.map((c) => c.dims[0]), [3]);
    await Promise.all(p);
  });

  it('maxDelayMs 0: runs as soon as idle; requests of the same turn share the batch', async () => {
    const calls: Call[] = [];
    const b = new DynamicBatcher(fakeRunner(calls), opts({ maxBatch: 8 }));
    const p = [b.submit(imgs(1, 0), 1), b.submit(imgs(1, 4), 1)];
    await flush();
    assert.deepEqual(calls.map((c) => c.dims[0]), [2]);
    await Promise.all(p);
  });

  it('packs whole requests in arrival order, never past maxBatch, never skipping ahead', async () => {
    const calls: Call[] = [];
    const b = new DynamicBatcher(fakeRunner(calls), opts({ maxBatch: 4, maxDelayMs: 5 }));
    b.pause();
    const sizes = [3, 2, 1, 2, 2, 4];
    const ps = sizes.map((n, i) => b.submit(imgs(n, 10 * i), n));
    assert.deepEqual([b.queuedRequests, b.queuedImages], [6, 14]);
    b.resume();
    await flush();
    // [3] (2 does not fit, and the 1 behind it may not jump the queue), [2, 1], [2, 2], [4].
    assert.deepEqual(calls.map((c) => c.dims[0]), [3, 3, 4, 4]);
    const out = await Promise.all(ps);
    assert.deepEqual(out.map((o) => o.batchImages), [3, 3, 3, 4, 4, 4]);
    assert.deepEqual([b.queuedRequests, b.queuedImages], [0, 0]);
  });

  it('expedite(): stops waiting for maxDelayMs, keeps accepting', async () => {
    const calls: Call[] = [];
    const b = new DynamicBatcher(fakeRunner(calls), opts({ maxDelayMs: 60_000 }));
    const p1 = b.submit(imgs(1, 0), 1);
    await advance(1000);
    assert.equal(calls.length, 0);
    b.expedite();
    await p1;
    await b.submit(imgs(1, 0), 1);
    assert.equal(b.isClosed, false);
    assert.deepEqual(calls.map((c) => c.dims[0]), [1, 1]);
    await advance(60_000);
    assert.equal(calls.length, 2, 'the cancelled delay timer does not fire a batch');
  });

  it('pause() cancels a pending delay; resume() runs what became due', async () => {
    const calls: Call[] = [];
    const b = new DynamicBatcher(fakeRunner(calls), opts({ maxDelayMs: 50 }));
    const p = b.submit(imgs(1, 0), 1);
    await advance(10);
    b.pause();
    await advance(100);
    assert.equal(calls.length, 0, 'paused');
    b.resume();
    await flush();
    assert.equal(calls.length, 1, 'overdue: runs at once');
    await p;
  });

  it('the next batch forms as soon as the running one ends; drained() resolves only when all is done', async () => {
    let release: () => void = () => {};
    const calls: Call[] = [];
    const inner = fakeRunner(calls);
    const b = new DynamicBatcher(
      async (px, dims) => {
        if (calls.length === 0) await new Promise<void>((r) => (release = r));
        return inner(px, dims);
      },
      // One batch at a time (pipelining, the default 2, is batcher-pipeline.test.ts's).
      opts({ maxBatch: 2, maxPendingBatches: 1 }),
    );
    await b.drained(); // idle: resolves at once
    const p1 = b.submit(imgs(1, 0), 1);
    await flush();
    const p2 = [b.submit(imgs(1, 4), 1), b.submit(imgs(1, 8), 1)];
    let drained = false;
    void b.drained().then(() => (drained = true));
    await flush();
    assert.equal(drained, false);
    assert.equal(b.queuedRequests, 2);
    release();
    await Promise.all([p1, ...p2]);
    await flush();
    assert.equal(drained, true);
    assert.deepEqual(calls.map((c) => c.dims[0]), [1, 2]);
  });
});

describe('DynamicBatcher: idle and drained()', () => {
  it('resume(), expedite() and close() on an idle batcher are no-ops; close() resolves', async () => {
    const b = new DynamicBatcher(fakeRunner([]), opts({ maxDelayMs: 10 }));
    b.pause();
    b.resume();
    b.expedite();
    await b.close();
    assert.equal(live.size, 0);
  });

  it('drained() waits for the running batch and for paused requests, and works again and again', async () => {
    let release: () => void = () => {};
    const b = new DynamicBatcher(async (_px, dims) => {
      await new Promise<void>((r) => (release = r));
      return { outputs: { a: { dims: [dims[0]!, 1], data: new Float32Array(dims[0]!) } }, computeMs: 0 };
    }, opts());
    for (let round = 0; round < 3; round++) {
      const p = b.submit(imgs(1, 0), 1);
      await flush();
      assert.deepEqual([b.busy, b.queuedRequests], [true, 0]);
      let drained = false;
      const d = b.drained().then(() => (drained = true));
      await flush();
      assert.equal(drained, false, `round ${round}: the batch still runs`);
      release();
      await p;
      await d;
    }
    b.pause();
    const p = b.submit(imgs(1, 0), 1);
    let drained = false;
    const d = b.drained().then(() => (drained = true));
    await flush();
    assert.equal(drained, false, 'a paused request is still pending');
    b.resume();
    await flush();
    release();
    await Promise.all([p, d]);
  });
});

describe('DynamicBatcher: results', () => {
  it('each request gets its own rows of every output, the batch size, queue and compute times; onBatch sees the batch', async () => {
    const calls: Call[] = [];
    const stats: BatchStats[] = [];
    const b = new DynamicBatcher(fakeRunner(calls, 12.5), opts({ maxBatch: 8, maxDelayMs: 30 }));
    b.onBatch = (s) => stats.push(s);
    const p1 = b.submit(imgs(2, 0), 2);
    await advance(10);
    const p2 = b.submit(imgs(1, 100), 1);
    await advance(5);
    const p3 = b.submit(imgs(3, 50), 3);
    await advance(15);
    const [r1, r2, r3] = (await Promise.all([p1, p2, p3])) as SubmitResult[];
    // The runner got one buffer: the three requests' bytes in order.
    assert.deepEqual(calls.map((c) => c.dims), [[6, 2, 1, 2]]);
    assert.deepEqual(calls[0]!.pixels, [...imgs(2, 0), ...imgs(1, 100), ...imgs(3, 50)]);
    assert.deepEqual(Array.from(r1!.outputs.a!.data), [0, 4]);
    assert.deepEqual(Array.from(r2!.outputs.a!.data), [100]);
    assert.deepEqual(Array.from(r3!.outputs.a!.data), [50, 54, 58]);
    assert.deepEqual(r1!.outputs.b!.dims, [2, 2, 2]);
    assert.deepEqual(r3!.outputs.a!.dims, [3, 1]);
    assert.deepEqual(Array.from(r2!.outputs.b!.data), [100, 101, 102, 103]);
    assert.deepEqual(Array.from(r3!.outputs.b!.data), Array.from(imgs(3, 50)));
    assert.deepEqual([r1!.queueMs, r2!.queueMs, r3!.queueMs], [30, 20, 15]);
    assert.deepEqual([r1!.computeMs, r2!.computeMs, r3!.batchImages], [12.5, 12.5, 6]);
    assert.deepEqual(stats, [{ images: 6, requests: 3, computeMs: 12.5, queueMs: [30, 20, 15] }]);
  });

  it('a lone request: the runner gets a copy of its pixels, and the request gets the runner\'s outputs as they are', async () => {
    let seen: Uint8Array | null = null;
    const result = { dims: [2, 1], data: Float32Array.from([1, 2]) };
    const b = new DynamicBatcher(async (px) => ((seen = px), { outputs: { y: result }, computeMs: 0 }), opts());
    const mine = imgs(2, 9);
    const r = await b.submit(mine, 2);
    assert.notEqual(seen, mine, 'the runner may keep or overwrite its buffer');
    assert.deepEqual(Array.from(seen!), Array.from(mine));
    assert.equal(r.outputs.y!.data, result.data, 'no copy of a whole-batch output');
  });

  it('a failing run rejects every request of its batch (non-Errors wrapped); the next batch runs', async () => {
    let fail: unknown = new Error('boom');
    const stats: BatchStats[] = [];
    const inner = fakeRunner([]);
    const b = new DynamicBatcher(async (px, dims) => {
      if (fail !== null) {
        const f = fail;
        fail = null;
        throw f;
      }
      return inner(px, dims);
    }, opts());
    b.onBatch = (s) => stats.push(s);
    const failed = [b.submit(imgs(1, 0), 1), b.submit(imgs(1, 0), 1)];
    await assert.rejects(failed[0]!, /^Error: boom$/);
    await assert.rejects(failed[1]!, /^Error: boom$/);
    assert.equal(stats.length, 0, 'no stats for a failed batch');
    assert.equal((await b.submit(imgs(1, 5), 1)).outputs.a!.data[0], 5);
    fail = 'plain string';
    await assert.rejects(b.submit(imgs(1, 0), 1), (e: unknown) => e instanceof Error && e.message === 'plain string');
    assert.equal(b.busy, false);
  });

  it('an output without the batch dimension rejects the requests with a clear error', async () => {
    const b = new DynamicBatcher(async () => ({ outputs: { z: { dims: [1, 3], data: new Float32Array(3) } }, computeMs: 0 }), opts());
    const ps = [b.submit(imgs(1, 0), 1), b.submit(imgs(1, 0), 1)];
    for (const p of ps) await assert.rejects(p, /^Error: output 'z' has batch dimension 1, expected 2$/);
  });

  it('sliceRows: rows [start, start + n) of every output; the whole batch as is', () => {
    const t = { dims: [3, 2], data: Float32Array.from([0, 1, 2, 3, 4, 5]) };
    const mid = sliceRows({ t }, 3, 1, 2).t!;
    assert.deepEqual(mid.dims, [2, 2]);
    assert.deepEqual(Array.from(mid.data), [2, 3, 4, 5]);
    assert.deepEqual(Array.from(sliceRows({ t }, 3, 0, 1).t!.data), [0, 1]);
    assert.equal(sliceRows({ t }, 3, 0, 3).t!.data, t.data);
    assert.throws(() => sliceRows({ t }, 4, 0, 1), /^Error: output 't' has batch dimension 3, expected 4$/);
  });
});

/** A batcher (100 ms deadline, two pending batches) whose first batch computes until release() is called. */
function firstBatchHeld(maxBatch: number) {
  const calls: Call[] = [];
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const inner = fakeRunner(calls);
  const b = new DynamicBatcher(async (px, dims) => {
    const r = inner(px, dims);
    if (calls.length === 1) await gate;
    return r;
  }, opts({ maxBatch, queueTimeoutMs: 100, maxPendingBatches: 2 }));
  return { calls, release, b };
}

describe('DynamicBatcher: queue deadline (queueTimeoutMs)', () => {
  it('refuses at submit a request that arrived longer ago than the deadline (exactly the deadline is fine)', async () => {
    clock = 1000;
    const b = new DynamicBatcher(fakeRunner([]), opts({ queueTimeoutMs: 100 }));
    await assert.rejects(b.submit(imgs(1, 0), 1, 899.6), (e: Error) => e instanceof QueueTimeoutError && e.name === 'QueueTimeoutError' && e.message === 'server busy: the request waited 100 ms, longer than the queue deadline of 100 ms (--queue-timeout-ms); retry later');
    await assert.rejects(b.submit(imgs(1, 0), 1, 850), /waited 150 ms/);
    b.pause();
    const refused = b.submit(imgs(1, 0), 1, 850);
    assert.equal(b.queuedRequests, 0, 'refused at once, never queued');
    await assert.rejects(refused, QueueTimeoutError);
    b.resume();
    assert.equal((await b.submit(imgs(1, 3), 1, 900)).outputs.a!.data[0], 3);
  });

  it('sheds queued requests past the deadline (counted from arrival) when the batch forms; the rest run', async () => {
    const calls: Call[] = [];
    const b = new DynamicBatcher(fakeRunner(calls), opts({ maxBatch: 8, queueTimeoutMs: 100 }));
    b.pause();
    const old1 = b.submit(imgs(1, 1), 1, -50); // arrived 50 ms before it was queued
    const old2 = b.submit(imgs(2, 2), 2, -1);
    const edge = b.submit(imgs(1, 3), 1, 0);
    await advance(60);
    const fresh = b.submit(imgs(1, 4), 1);
    await advance(40); // now 100: old1 waited 150, old2 101, edge exactly 100
    assert.deepEqual([b.queuedRequests, b.queuedImages], [4, 5]);
    b.resume();
    await assert.rejects(old1, /waited 150 ms, longer than the queue deadline of 100 ms/);
    await assert.rejects(old2, /waited 101 ms/);
    assert.equal((await edge).outputs.a!.data[0], 3);
    assert.equal((await fresh).outputs.a!.data[0], 4);
    assert.deepEqual(calls.map((c) => c.dims[0]), [2], 'only edge and fresh ran');
    assert.deepEqual([b.queuedRequests, b.queuedImages], [0, 0]);
  });

  it('when every waiting request is shed, nothing runs and drained() resolves', async () => {
    const calls: Call[] = [];
    const b = new DynamicBatcher(fakeRunner(calls), opts({ queueTimeoutMs: 10 }));
    b.pause();
    const p = b.submit(imgs(1, 0), 1);
    const d = b.drained();
    await advance(20);
    b.resume();
    await assert.rejects(p, QueueTimeoutError);
    await d;
    assert.equal(calls.length, 0);
    assert.equal(b.queuedImages, 0);
  });

  it('no deadline (0 or unset) and a closing batcher shed nothing: accepted work still runs', async () => {
    for (const queueTimeoutMs of [0, undefined]) {
      const b = new DynamicBatcher(fakeRunner([]), opts({ queueTimeoutMs }));
      assert.equal((await b.submit(imgs(1, 7), 1, -1e9)).outputs.a!.data[0], 7);
    }
    const b = new DynamicBatcher(fakeRunner([]), opts({ queueTimeoutMs: 10 }));
    b.pause();
    const p = b.submit(imgs(1, 8), 1);
    await advance(500);
    await b.close();
    assert.equal((await p).outputs.a!.data[0], 8);
  });

  it('arrivals do not scan the queue: a request past its deadline is shed when its batch would form, not by later arrivals', async () => {
    // Shedding walks the whole queue; on every arrival it would make a refusal-heavy overload cost O(queue) per request.
    const { calls, release, b } = firstBatchHeld(4);
    const first = b.submit(imgs(1, 1), 1);
    await flush();
    let shed = false;
    const old = b.submit(imgs(1, 2), 1).catch((e: Error) => ((shed = true), e));
    await advance(150); // `old` is past its deadline while the first batch computes
    const young = b.submit(imgs(1, 3), 1);
    await flush();
    assert.equal(shed, false, 'not shed by the arrival of another request');
    assert.deepEqual([b.queuedRequests, b.pendingBatches], [2, 1]);
    release();
    assert.equal((await first).outputs.a!.data[0], 1);
    assert.match(String(await old), /waited 150 ms/);
    assert.equal((await young).outputs.a!.data[0], 3);
    assert.deepEqual(calls.map((c) => c.dims[0]), [1, 1]);
  });

  it('a full batch behind a computing one that shedding leaves partial waits for the runner (no partial batch pipelined)', async () => {
    const { calls, release, b } = firstBatchHeld(2);
    const first = b.submit(imgs(1, 1), 1);
    await flush();
    assert.equal(b.pendingBatches, 1, 'the first batch computes');
    // Two waiting images make a full batch, so one is scheduled behind the computing batch; before it is
    // dispatched (next turn) the older request passes its deadline and is shed, leaving one image.
    const old = b.submit(imgs(1, 2), 1, -99);
    const young = b.submit(imgs(1, 3), 1);
    clock += 2;
    await assert.rejects(old, /waited 101 ms/);
    await flush();
    assert.equal(calls.length, 1, 'the lone image waits for the runner instead of running as a partial batch behind it');
    assert.deepEqual([b.pendingBatches, b.queuedRequests], [1, 1]);
    release();
    assert.equal((await first).outputs.a!.data[0], 1);
    assert.equal((await young).outputs.a!.data[0], 3);
    assert.deepEqual(calls.map((c) => c.dims[0]), [1, 1]);
  });
});
