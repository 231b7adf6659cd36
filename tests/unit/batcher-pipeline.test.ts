// Pipelined dispatch (issue 17): while a batch computes, a full batch waiting is handed to the runner too (it
// starts the moment the first ends, without waiting for the event loop); a partial batch waits for the runner;
// never more than maxPendingBatches are outstanding.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DynamicBatcher } from '../../serve/node/batcher.js';
import type { RunResult } from '../../serve/node/runner.js';

const shape = [1, 1, 1] as const;

/** A runner whose runs finish only when the test says so; records each call's first pixel and size. */
function controlledRunner() {
  const calls: Array<{ first: number; n: number; finish: () => void }> = [];
  const run = (px: Uint8Array, dims: number[]) =>
    new Promise<RunResult>((resolve) => {
      const n = dims[0]!;
      calls.push({ first: px[0]!, n, finish: () => resolve({ outputs: { y: { dims: [n, 1], data: Float32Array.from(px) } }, computeMs: 1 }) });
    });
  return { calls, run };
}

const tick = () => new Promise((r) => setImmediate(r));
const px = (v: number) => new Uint8Array([v]);

describe('batcher pipelining', { timeout: 10_000 }, () => {
  it('a full batch goes to the runner while one computes; a partial one waits', async () => {
    const r = controlledRunner();
    const b = new DynamicBatcher(r.run, { maxBatch: 2, maxDelayMs: 0, maxQueue: 10, imageShape: shape });
    const p1 = b.submit(px(1), 1);
    await tick();
    assert.equal(r.calls.length, 1, 'the first request runs at once');
    const p2 = b.submit(px(2), 1);
    await tick();
    assert.equal(r.calls.length, 1, 'one waiting image (maxBatch 2) is a partial batch: it waits for the runner');
    assert.equal(b.pendingBatches, 1);
    const p3 = b.submit(px(3), 1);
    await tick();
    assert.equal(r.calls.length, 2, 'two waiting images are a full batch: handed over behind the computing one');
    assert.deepEqual([r.calls[1]!.first, r.calls[1]!.n], [2, 2]);
    assert.equal(b.pendingBatches, 2);
    assert.equal(b.queuedRequests, 0);
    // A third full batch waits: at most two batches are outstanding.
    const p4 = b.submit(px(4), 1);
    const p5 = b.submit(px(5), 1);
    await tick();
    assert.equal(r.calls.length, 2);
    assert.equal(b.queuedRequests, 2);
    r.calls[0]!.finish();
    assert.equal((await p1).outputs.y!.data[0], 1);
    await tick();
    assert.equal(r.calls.length, 3, 'a slot freed: the waiting full batch goes');
    assert.deepEqual([r.calls[2]!.first, r.calls[2]!.n], [4, 2]);
    r.calls[1]!.finish();
    r.calls[2]!.finish();
    const out = await Promise.all([p2, p3, p4, p5]);
    assert.deepEqual(out.map((o) => o.outputs.y!.data[0]), [2, 3, 4, 5], 'each request gets its own row, in order');
    await b.close();
    assert.equal(b.pendingBatches, 0);
  });

  it('maxPendingBatches 1: strictly one batch at a time, even when a full one waits', async () => {
    const r = controlledRunner();
    const b = new DynamicBatcher(r.run, { maxBatch: 1, maxDelayMs: 0, maxQueue: 10, imageShape: shape, maxPendingBatches: 1 });
    const ps = [1, 2, 3].map((v) => b.submit(px(v), 1));
    await tick();
    assert.equal(r.calls.length, 1);
    r.calls[0]!.finish();
    await ps[0];
    await tick();
    assert.equal(r.calls.length, 2);
    r.calls[1]!.finish();
    await tick();
    await tick();
    assert.equal(r.calls.length, 3);
    r.calls[2]!.finish();
    await Promise.all(ps);
  });

  it('close() waits for every outstanding batch', async () => {
    const r = controlledRunner();
    const b = new DynamicBatcher(r.run, { maxBatch: 1, maxDelayMs: 0, maxQueue: 10, imageShape: shape });
    const ps = [1, 2].map((v) => b.submit(px(v), 1));
    // The first hand-over schedules the second on the next turn of the event loop.
    await tick();
    await tick();
    assert.equal(r.calls.length, 2, 'a one-image batch is full: both outstanding');
    let closed = false;
    const c = b.close().then(() => (closed = true));
    r.calls[0]!.finish();
    await ps[0];
    await tick();
    assert.equal(closed, false, 'the second batch is still computing');
    r.calls[1]!.finish();
    await c;
    await Promise.all(ps);
  });

  it('rejects maxPendingBatches below 1 or fractional', () => {
    for (const m of [0, 1.5, -1]) {
      assert.throws(() => new DynamicBatcher(controlledRunner().run, { maxBatch: 1, maxDelayMs: 0, maxQueue: 1, imageShape: shape, maxPendingBatches: m }), /maxPendingBatches/);
    }
  });

  it('expectedWaitMs: the batches handed over plus the full batches waiting, at the recent per-image time; wouldMissDeadline past --queue-timeout-ms', async (t) => {
    // A frozen clock: the running batches count for their predicted time less the time since they started.
    t.mock.method(performance, 'now', () => 0);
    const calls: Array<() => void> = [];
    // Every batch reports 4 s per image, against a 10 s deadline: the expected waits cross it, while the real
    // waits (milliseconds, however busy the machine) never do.
    const run = (_px: Uint8Array, dims: number[]) => new Promise<RunResult>((resolve) => calls.push(() => resolve({ outputs: { y: { dims: [dims[0]!, 1], data: new Float32Array(dims[0]!) } }, computeMs: 4000 * dims[0]! })));
    const b = new DynamicBatcher(run, { maxBatch: 2, maxDelayMs: 0, maxQueue: 10, queueTimeoutMs: 10_000, imageShape: shape });
    assert.equal(b.expectedWaitMs, 0, 'no batch has run yet');
    const first = b.submit(px(1), 1);
    await tick();
    calls[0]!();
    await first;
    assert.equal(b.expectedWaitMs, 0, 'nothing waiting');
    const ps = [b.submit(px(2), 1)];
    await tick();
    assert.equal(b.pendingBatches, 1);
    assert.equal(b.expectedWaitMs, 4000, 'one image handed over');
    assert.equal(b.wouldMissDeadline, false);
    ps.push(b.submit(px(3), 1));
    assert.equal(b.expectedWaitMs, 4000, 'a waiting image that does not fill a batch joins the next one: nothing more ahead');
    ps.push(b.submit(px(4), 1), b.submit(px(5), 1));
    await tick();
    assert.equal(b.pendingBatches, 2, 'the full batch went behind the computing one');
    assert.equal(b.expectedWaitMs, 12_000, '1 + 2 images handed over, 1 waiting (not a full batch)');
    assert.equal(b.wouldMissDeadline, true, '12 s > the 10 s deadline');
    ps.push(b.submit(px(6), 1));
    assert.equal(b.expectedWaitMs, 20_000, 'now a full batch waits too');
    // Finish every run as it is handed over until all requests are answered.
    let done = false;
    const all = Promise.all(ps).then(() => (done = true));
    for (let i = 1; !done; await tick()) while (i < calls.length) calls[i++]!();
    await all;
    assert.equal(b.expectedWaitMs, 0);
    await b.close();
  });

  it('the per-image time is an exponential average (0.8 old, 0.2 new) of computeMs / images; no deadline, no refusal; equal is not over', async () => {
    let perImage = 1000;
    const run = (_px: Uint8Array, dims: number[]) => Promise.resolve<RunResult>({ outputs: { y: { dims: [dims[0]!, 1], data: new Float32Array(dims[0]!) } }, computeMs: perImage * dims[0]! });
    const deadline = new DynamicBatcher(run, { maxBatch: 4, maxDelayMs: 0, maxQueue: 10, queueTimeoutMs: 6000, imageShape: shape });
    const none = new DynamicBatcher(run, { maxBatch: 4, maxDelayMs: 0, maxQueue: 10, queueTimeoutMs: 0, imageShape: shape });
    for (const b of [deadline, none]) {
      perImage = 1000;
      await b.submit(new Uint8Array(2), 2); // first batch: 2 images at 1000 ms each -> 1000
      perImage = 2000;
      await b.submit(new Uint8Array(4), 4); // 4 images at 2000 ms each -> 0.8 * 1000 + 0.2 * 2000 = 1200
      b.pause();
      const waiting = [b.submit(new Uint8Array(4), 4), b.submit(new Uint8Array(1), 1)];
      assert.equal(b.expectedWaitMs, 4 * 1200, '5 images waiting: one full batch of 4 ahead x 1200 ms');
      b.resume();
      await Promise.all(waiting);
    }
    // 4000 ms expected against a 4000 ms deadline is not over it (one full batch at 1000 ms an image); no deadline never refuses.
    perImage = 1000;
    const eq = new DynamicBatcher(run, { maxBatch: 4, maxDelayMs: 0, maxQueue: 10, queueTimeoutMs: 4000, imageShape: shape });
    await eq.submit(new Uint8Array(1), 1);
    eq.pause();
    const w = [eq.submit(new Uint8Array(4), 4), eq.submit(new Uint8Array(2), 2)];
    assert.equal(eq.expectedWaitMs, 4000);
    assert.equal(eq.wouldMissDeadline, false, 'equal to the deadline is not past it');
    w.push(eq.submit(new Uint8Array(2), 2));
    assert.equal(eq.expectedWaitMs, 8000);
    assert.equal(eq.wouldMissDeadline, true);
    none.pause();
    const n = [none.submit(new Uint8Array(4), 4), none.submit(new Uint8Array(4), 4)];
    assert.ok(none.expectedWaitMs > 0);
    assert.equal(none.wouldMissDeadline, false, 'queueTimeoutMs 0: no deadline');
    eq.resume();
    none.resume();
    await Promise.all([...w, ...n]);
  });
});
