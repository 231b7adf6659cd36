// The batch cost model behind the queue deadline's arrival check (serve/node/batch-cost.ts), and the batcher's
// calibration: a fixed cost per batch must not be charged once per image.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchCostModel } from '../../serve/node/batch-cost.js';
import { DynamicBatcher } from '../../serve/node/batcher.js';
import type { RunResult } from '../../serve/node/runner.js';

describe('BatchCostModel', () => {
  it('calibrate fits the fixed and per-image parts from the fastest timing of each size', () => {
    const m = new BatchCostModel();
    assert.equal(m.timeMs(3, 10), 0, 'nothing known yet');
    // The large batch first: the sizes are sorted, not taken in order.
    m.calibrate([
      { n: 16, ms: 19 },
      { n: 1, ms: 13 },
      { n: 16, ms: 18 },
      { n: 1, ms: 10.5 },
    ]);
    assert.ok(m.isCalibrated);
    // 10.5 at 1 and 18 at 16: 0.5 ms an image, 10 ms a batch.
    assert.equal(m.timeMs(1, 16), 18);
    assert.equal(m.timeMs(2, 17), 2 * 10 + 17 * 0.5);
    assert.equal(m.timeMs(0, 0), 0);
  });

  it('a large batch timed faster than a small one (noise) counts as all fixed cost; one size is all per-image', () => {
    const noisy = new BatchCostModel();
    noisy.calibrate([
      { n: 1, ms: 12 },
      { n: 8, ms: 10 },
    ]);
    assert.equal(noisy.timeMs(1, 1), 10);
    assert.equal(noisy.timeMs(1, 8), 10);
    const one = new BatchCostModel();
    one.calibrate([{ n: 4, ms: 8 }]);
    assert.equal(one.timeMs(1, 4), 8);
    assert.equal(one.timeMs(2, 2), 4, 'no fixed part: 2 ms an image');
  });

  it('rejects timings that are not numbers of images and milliseconds', () => {
    const m = new BatchCostModel();
    assert.throws(() => m.calibrate([]), /no timings/);
    assert.throws(() => m.calibrate([{ n: 0, ms: 1 }]), /batch timing/);
    assert.throws(() => m.calibrate([{ n: 1, ms: NaN }]), /batch timing/);
    assert.throws(() => m.calibrate([{ n: 1, ms: -1 }]), /batch timing/);
  });

  it('after calibration each batch rescales the curve (0.8 old, 0.2 measured / predicted), keeping its shape', () => {
    const m = new BatchCostModel();
    m.calibrate([
      { n: 1, ms: 10.5 },
      { n: 16, ms: 18 },
    ]);
    m.observe(16, 36); // twice the prediction -> scale 0.8 + 0.4 = 1.2
    assert.ok(Math.abs(m.timeMs(1, 16) - 1.2 * 18) < 1e-9);
    assert.ok(Math.abs(m.timeMs(1, 1) - 1.2 * 10.5) < 1e-9, 'the fixed part scales with it');
    m.observe(0, 5);
    m.observe(4, NaN);
    assert.ok(Math.abs(m.timeMs(1, 16) - 1.2 * 18) < 1e-9, 'nonsense timings are ignored');
    m.observe(16, 18); // as calibrated -> 0.8 * 1.2 + 0.2 = 1.16
    assert.ok(Math.abs(m.timeMs(1, 16) - 1.16 * 18) < 1e-9);
    m.observe(4, -5);
    assert.ok(Math.abs(m.timeMs(1, 16) - 1.16 * 18) < 1e-9, 'a negative time is ignored');
    m.observe(16, 0); // a batch under the timer's resolution counts: 0.8 * 1.16
    assert.ok(Math.abs(m.timeMs(1, 16) - 0.928 * 18) < 1e-9);
  });

  it('a calibration of zero times stays zero (no division by a zero prediction)', () => {
    const m = new BatchCostModel();
    m.calibrate([{ n: 1, ms: 0 }]);
    m.observe(1, 5);
    assert.equal(m.timeMs(1, 1), 0);
    assert.equal(m.timeMs(3, 40), 0);
  });

  it('without calibration the per-image time is learnt from batches (first, then 0.8 old + 0.2 new), no fixed part', () => {
    const m = new BatchCostModel();
    m.observe(2, 2000);
    assert.equal(m.timeMs(1, 1), 1000);
    m.observe(4, 8000);
    assert.equal(m.timeMs(5, 1), 1200);
    assert.ok(!m.isCalibrated);
  });
});

describe('batcher calibration', () => {
  const shape = [2, 2, 1] as const;
  // A model with 10 s of fixed cost per batch and 0.5 s an image (reported, not spent), against a 15 s deadline:
  // the expected waits cross it while the real waits (milliseconds, however busy the machine) never do.
  const sizes: number[] = [];
  const run = (px: Uint8Array, dims: number[]) => {
    sizes.push(dims[0]!);
    assert.equal(px.length, dims[0]! * 4);
    return Promise.resolve<RunResult>({ outputs: { y: { dims: [dims[0]!, 1], data: new Float32Array(dims[0]!) } }, computeMs: 10_000 + 500 * dims[0]! });
  };

  it('times one unmeasured full batch, then batches of 1 and maxBatch; the fixed cost counts once per batch', async () => {
    sizes.length = 0;
    const b = new DynamicBatcher(run, { maxBatch: 16, maxDelayMs: 0, maxQueue: 64, queueTimeoutMs: 15_000, imageShape: shape });
    await b.calibrate(3);
    assert.deepEqual(sizes, [16, 1, 16, 1, 16, 1, 16]);
    b.pause();
    const waiting = Array.from({ length: 15 }, () => b.submit(new Uint8Array(4), 1));
    assert.equal(b.expectedWaitMs, 0, '15 waiting images form one batch: nothing ahead of a new one');
    assert.equal(b.wouldMissDeadline, false);
    waiting.push(b.submit(new Uint8Array(4), 1), b.submit(new Uint8Array(4), 1));
    assert.equal(b.expectedWaitMs, 18_000, 'one full batch (10 + 16 x 0.5 s) ahead');
    assert.equal(b.wouldMissDeadline, true, '18 s > the 15 s deadline');
    b.resume();
    await Promise.all(waiting);
    await b.close();
  });

  it('uncalibrated, the same single-image history would charge the fixed cost per image', async () => {
    const b = new DynamicBatcher(run, { maxBatch: 16, maxDelayMs: 0, maxQueue: 64, queueTimeoutMs: 15_000, imageShape: shape });
    await b.submit(new Uint8Array(4), 1); // 10.5 s for one image
    b.pause();
    const waiting = Array.from({ length: 16 }, () => b.submit(new Uint8Array(4), 1));
    assert.equal(b.expectedWaitMs, 16 * 10_500);
    b.resume();
    await Promise.all(waiting);
    await b.close();
  });

  it('maxBatch 1 times single images only', async () => {
    sizes.length = 0;
    const b = new DynamicBatcher(run, { maxBatch: 1, maxDelayMs: 0, maxQueue: 8, queueTimeoutMs: 15_000, imageShape: shape });
    await b.calibrate();
    assert.deepEqual(sizes, [1, 1, 1]);
    b.pause();
    const waiting = [b.submit(new Uint8Array(4), 1), b.submit(new Uint8Array(4), 1)];
    assert.equal(b.expectedWaitMs, 2 * 10_500, 'two single-image batches ahead');
    b.resume();
    await Promise.all(waiting);
    await b.close();
  });
});
