// The batch cost model behind the queue deadline's arrival check (serve/node/batch-cost.ts), and the batcher's
// calibration: a fixed cost per batch must not be charged once per image.
import assert from 'node:assert/strict';
import { type TestContext, describe, it } from 'node:test';
import { BatchCostModel, kneeBatch } from '../../serve/node/batch-cost.js';
import { AUTO_ADMISSION_FLOOR_MS, DynamicBatcher, ExpectedWaitError } from '../../serve/node/batcher.js';
import { AUTO_BATCH_MAX_MS } from '../../serve/node/defaults.js';
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

  it('times one unmeasured single image, then batches of 1 and the batch size; the fixed cost counts once per batch', async () => {
    sizes.length = 0;
    const b = new DynamicBatcher(run, { maxBatch: 16, maxDelayMs: 0, maxQueue: 64, queueTimeoutMs: 15_000, imageShape: shape });
    await b.calibrate(3);
    assert.deepEqual(sizes, [1, 1, 1, 1, 16, 16, 16], 'a fixed batch size ignores the time budget (these report 10 s and more)');
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
    assert.deepEqual(sizes, [1, 1, 1, 1, 1, 1], 'one unmeasured, then the default 5 rounds');
    b.pause();
    const waiting = [b.submit(new Uint8Array(4), 1), b.submit(new Uint8Array(4), 1)];
    assert.equal(b.expectedWaitMs, 2 * 10_500, 'two single-image batches ahead');
    b.resume();
    await Promise.all(waiting);
    await b.close();
  });
});

describe('kneeBatch', () => {
  it('the smallest size within 15% of the best time per image (the fastest timing of each size)', () => {
    // ResNet-32 on 2 cores, ms: single images cost twice as much per image as batches of 8 and more.
    const resnet = [{ n: 1, ms: 1.3 }, { n: 2, ms: 2.57 }, { n: 4, ms: 9.1 }, { n: 8, ms: 5.04 }, { n: 16, ms: 9.99 }, { n: 32, ms: 19.5 }, { n: 64, ms: 39.2 }];
    assert.equal(kneeBatch(resnet), 8);
    // cnn28: the per-image time falls slowly; 8 is 7% above the best (0.041 ms at 32 and 64).
    const cnn = [{ n: 1, ms: 0.1 }, { n: 2, ms: 0.14 }, { n: 4, ms: 0.21 }, { n: 8, ms: 0.35 }, { n: 16, ms: 0.66 }, { n: 32, ms: 1.3 }, { n: 64, ms: 2.62 }];
    assert.equal(kneeBatch(cnn), 8);
    assert.equal(kneeBatch(cnn, 0.05), 16, 'a tighter tolerance asks for a bigger batch');
    assert.equal(kneeBatch(cnn, 0), 32, 'tolerance 0: the smallest of the best');
    // A slow outlier of a size does not count against it: its fastest timing does.
    assert.equal(kneeBatch([{ n: 1, ms: 10 }, { n: 4, ms: 90 }, { n: 4, ms: 12 }, { n: 16, ms: 44 }]), 4);
    // Fixed cost only (a GPU at small sizes): the largest size.
    assert.equal(kneeBatch([{ n: 1, ms: 5 }, { n: 2, ms: 5 }, { n: 4, ms: 5 }, { n: 8, ms: 5 }]), 8);
    // Exactly at the tolerance counts as within it.
    assert.equal(kneeBatch([{ n: 1, ms: 1.15 }, { n: 2, ms: 2 }]), 1);
    assert.equal(kneeBatch([{ n: 3, ms: 3 }]), 3);
  });

  it('at most maxBatchMs a batch, among the sizes up to the knee within 50% of the best per image: the largest that fits, else the smallest', () => {
    // ResNet-32 on the Zen 5 VM (ms per image 0.946 0.796 0.540 0.439 0.420 0.385 0.372): the knee is 16 (6.7 ms).
    const zen5 = [1, 2, 4, 8, 16, 32, 64].map((n, k) => ({ n, ms: n * [0.946, 0.796, 0.54, 0.439, 0.42, 0.385, 0.372][k]! }));
    assert.equal(kneeBatch(zen5), 16);
    assert.equal(kneeBatch(zen5, 0.15, 5), 8, '8 images take 3.5 ms, 16 take 6.7 ms');
    assert.equal(kneeBatch(zen5, 0.15, 6.72), 16, 'exactly at the limit counts as within it');
    assert.equal(kneeBatch(zen5, 0.15, 1000), 16, 'never above the knee');
    assert.equal(kneeBatch(zen5, 0.15, 0.5), 4, 'no size fits: the smallest within 50% of the best time per image (4: +45%)');
    // A slow model: no size fits; 2 images cost 33% more per image than 4 (within 50%): the smaller.
    assert.equal(kneeBatch([{ n: 2, ms: 100 }, { n: 4, ms: 150 }], 0.15, 5), 2);
    assert.equal(kneeBatch([{ n: 2, ms: 100 }, { n: 4, ms: 120 }], 0.15, 5), 4, '2 images cost 67% more per image: the knee stays');
    // A GPU-like curve (small batches several times slower per image): the cap may cost at most 50% per image.
    const gpu = [[1, 2], [2, 2.1], [4, 2.2], [8, 2.5], [16, 4], [32, 7], [64, 13]].map(([n, ms]) => ({ n: n!, ms: ms! }));
    assert.equal(kneeBatch(gpu), 32);
    assert.equal(kneeBatch(gpu, 0.15, 5), 16, '16: 4 ms, 23% above the best per image');
    assert.equal(kneeBatch(gpu, 0.15, 1), 16, 'nothing fits 1 ms: the smallest within 50% (8 is 54% above)');
  });

  it('rejects bad timings', () => {
    assert.throws(() => kneeBatch([]), /no timings/);
    assert.throws(() => kneeBatch([{ n: 1.5, ms: 1 }]), /batch timing 1.5 images/);
    assert.throws(() => kneeBatch([{ n: 2, ms: Infinity }]), /batch timing 2 images in Infinity ms/);
    assert.throws(() => kneeBatch([{ n: 2, ms: -1 }]), /batch timing/);
    assert.throws(() => kneeBatch([{ n: 0, ms: 1 }]), /batch timing 0 images/);
    assert.throws(() => kneeBatch([{ n: -2, ms: 1 }]), /batch timing -2 images/);
    assert.equal(kneeBatch([{ n: 1, ms: 0 }, { n: 2, ms: 1 }]), 1, 'a 0 ms timing is valid (the fastest possible)');
  });

  it('sizes in any order: the smallest within tolerance wins, not the first given', () => {
    assert.equal(kneeBatch([{ n: 8, ms: 8 }, { n: 1, ms: 1 }, { n: 4, ms: 4 }]), 1);
    assert.equal(kneeBatch([{ n: 16, ms: 8 }, { n: 2, ms: 4 }, { n: 4, ms: 2.2 }]), 4);
  });
});

describe("batcher: 'auto' batch size and admission wait", () => {
  const shape = [2, 2, 1] as const;
  // Reported times (not spent) of the ResNet-32 table above, in seconds instead of ms, so that no real delay matters.
  const table: Record<number, number> = { 1: 1300, 2: 2570, 4: 9100, 8: 5040, 16: 9990, 32: 19_500, 64: 39_200 };
  const sizes: number[] = [];
  const run = (px: Uint8Array, dims: number[]) => {
    sizes.push(dims[0]!);
    const n = dims[0]!;
    return Promise.resolve<RunResult>({ outputs: { y: { dims: [n, 1], data: new Float32Array(n) } }, computeMs: table[n] ?? 600 * n });
  };

  it('times 1, 2, 4, ... maxBatch, forms batches of the knee, refuses beyond 1.5 batches of expected wait', async () => {
    sizes.length = 0;
    // Seconds instead of ms: no batch-time cap here (it has its own test below).
    const b = new DynamicBatcher(run, { maxBatch: 64, preferredBatch: 'auto', autoBatchMaxMs: Infinity, admissionWaitMs: 'auto', maxDelayMs: 0, maxQueue: 100, imageShape: shape });
    assert.equal(b.preferredBatch, 64, 'maxBatch until calibrated');
    assert.equal(b.admissionLimitMs, 0, "'auto' refuses nothing before calibration");
    const cal = await b.calibrate(2, Infinity);
    assert.deepEqual(sizes, [1, 1, 1, 2, 2, 4, 4, 8, 8, 16, 16, 32, 32, 64, 64]);
    assert.equal(cal.preferredBatch, 8);
    assert.equal(b.preferredBatch, 8);
    // The cost model is fitted on 1 and 8 images: t(8) = 5.04 s, the admission limit 1.5 x that.
    assert.ok(Math.abs(cal.batchMs - 5040) < 1e-6, `${cal.batchMs}`);
    assert.ok(Math.abs(b.cost.timeMs(1, 1) - 1300) < 1e-6, 'the single-image timing is part of the fit');
    assert.ok(Math.abs(b.admissionLimitMs - 7560) < 1e-6, `${b.admissionLimitMs}`);
    assert.equal(cal.admissionLimitMs, b.admissionLimitMs);
    // 20 single-image requests and one of 12 images: batches of 8, 8, then the 4 left, then the big one alone.
    sizes.length = 0;
    b.pause();
    const waiting = Array.from({ length: 20 }, () => b.submit(new Uint8Array(4), 1));
    waiting.push(b.submit(new Uint8Array(12 * 4), 12));
    b.resume();
    await Promise.all(waiting);
    assert.deepEqual(sizes, [8, 8, 4, 12]);
    await b.close();
  });

  it(`'auto' forms no batch longer than ${AUTO_BATCH_MAX_MS} ms by default (ResNet-32 on the Zen 5 VM: 8, not the knee's 16)`, async () => {
    const perImage: Record<number, number> = { 1: 0.946, 2: 0.796, 4: 0.54, 8: 0.439, 16: 0.42, 32: 0.385, 64: 0.372 };
    const zen5 = (px: Uint8Array, dims: number[]) => Promise.resolve<RunResult>({ outputs: { y: { dims: [dims[0]!, 1], data: new Float32Array(dims[0]!) } }, computeMs: dims[0]! * perImage[dims[0]!]! });
    const mk = (autoBatchMaxMs?: number) => new DynamicBatcher(zen5, { maxBatch: 64, preferredBatch: 'auto', ...(autoBatchMaxMs !== undefined ? { autoBatchMaxMs } : {}), admissionWaitMs: 'auto', maxDelayMs: 0, maxQueue: 100, imageShape: shape });
    const capped = mk();
    assert.equal((await capped.calibrate(1, Infinity)).preferredBatch, 8);
    assert.ok(Math.abs(capped.admissionLimitMs - 1.5 * 8 * 0.439) < 1e-9, `1.5 batches of 3.5 ms, above the ${AUTO_ADMISSION_FLOOR_MS} ms floor: ${capped.admissionLimitMs}`);
    assert.equal((await mk(Infinity).calibrate(1, Infinity)).preferredBatch, 16);
    await capped.close();
  });

  it("'auto' stops growing the batch once the timings have taken the budget, and picks among the sizes timed", async () => {
    sizes.length = 0;
    const b = new DynamicBatcher(run, { maxBatch: 64, preferredBatch: 'auto', maxDelayMs: 0, maxQueue: 100, imageShape: shape });
    // 3 x 1.3 s, then 3 x 2.57 s: past 10 s after the second size.
    const cal = await b.calibrate(3, 10_000);
    assert.deepEqual(sizes, [1, 1, 1, 1, 2, 2, 2]);
    // Exactly at the budget is not past it: 3 x 1.3 s = 3.9 s goes on to the next size.
    sizes.length = 0;
    await new DynamicBatcher(run, { maxBatch: 4, preferredBatch: 'auto', maxDelayMs: 0, maxQueue: 1, imageShape: shape }).calibrate(3, 3900);
    assert.deepEqual(sizes, [1, 1, 1, 1, 2, 2, 2]);
    assert.deepEqual([...new Set(cal.timings.map((t) => t.n))], [1, 2]);
    assert.equal(cal.preferredBatch, 1, '1.3 s is within 15% of 2.57 / 2');
    await b.close();
  });

  it('reservations (admitted, body not yet read) count as waiting images until released, once', async () => {
    const b = new DynamicBatcher(run, { maxBatch: 64, preferredBatch: 8, admissionWaitMs: 'auto', maxDelayMs: 0, maxQueue: 100, imageShape: shape });
    await b.calibrate(1);
    assert.ok(Math.abs(b.admissionLimitMs - 7560) < 1e-6);
    const releases = Array.from({ length: 7 }, () => b.reserve());
    assert.equal(b.expectedWaitMs, 0, '7 reserved images: a partial batch, nothing ahead');
    assert.equal(b.wouldMissDeadline, false);
    releases.push(b.reserve());
    assert.ok(Math.abs(b.expectedWaitMs - 5040) < 1e-6, 'a full batch ahead');
    assert.equal(b.wouldMissDeadline, false, '5.04 s <= 7.56 s');
    for (let i = 0; i < 8; i++) releases.push(b.reserve());
    assert.ok(Math.abs(b.expectedWaitMs - 10_080) < 1e-6, 'two full batches ahead');
    assert.equal(b.wouldMissDeadline, true);
    releases[0]!();
    releases[0]!();
    assert.ok(Math.abs(b.expectedWaitMs - 5040) < 1e-6, 'released once, however often called: 15 left, one full batch');
    for (const r of releases) r();
    assert.equal(b.expectedWaitMs, 0);
    await b.close();
  });

  it('a reservation counts for reservationTtlMs at most (a slow upload does not hold a place)', async (t) => {
    let clock = 1000;
    t.mock.method(performance, 'now', () => clock);
    const b = new DynamicBatcher(run, { maxBatch: 8, preferredBatch: 2, maxDelayMs: 0, maxQueue: 10, imageShape: shape });
    assert.equal(b.reservationTtlMs, 250);
    const r1 = b.reserve();
    clock += 100;
    b.reserve();
    b.reserve();
    assert.equal(b.reservedRequests, 3);
    clock += 150; // r1 is 250 ms old: still counts
    assert.equal(b.reservedRequests, 3);
    clock += 1;
    assert.equal(b.reservedRequests, 2, 'r1 expired');
    r1(); // releasing an expired one changes nothing
    assert.equal(b.reservedRequests, 2);
    clock += 100;
    assert.equal(b.reservedRequests, 0);
    const r4 = b.reserve();
    const r5 = b.reserve();
    r4();
    assert.equal(b.reservedRequests, 1);
    r5();
    assert.equal(b.reservedRequests, 0);
    await b.close();
  });

  /**
   * A batcher (batches of 8, two pending) on a runner that answers only when the test calls finish.shift()!(), and
   * a fake clock; calibrated (t(8) = 5040 ms), then 16 single images handed over as two batches at clock 0.
   */
  async function twoPendingBatches(t: TestContext) {
    const clock = { now: 0 };
    t.mock.method(performance, 'now', () => clock.now);
    const finish: Array<() => void> = [];
    const slow = (px: Uint8Array, dims: number[]) =>
      new Promise<RunResult>((resolve) => {
        const n = dims[0]!;
        finish.push(() => resolve({ outputs: { y: { dims: [n, 1], data: new Float32Array(n) } }, computeMs: table[n] ?? 600 * n }));
      });
    const b = new DynamicBatcher(slow, { maxBatch: 8, preferredBatch: 8, maxDelayMs: 0, maxQueue: 100, imageShape: shape, maxPendingBatches: 2 });
    const cal = b.calibrate(1);
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setImmediate(r));
      finish.shift()!();
    }
    await cal;
    const ps = Array.from({ length: 16 }, () => b.submit(new Uint8Array(4), 1));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    return { clock, finish, b, ps };
  }

  it('the running batches count for what is left of them: their predicted time less the time since they started', async (t) => {
    const { clock, finish, b, ps } = await twoPendingBatches(t);
    assert.equal(b.pendingBatches, 2, 'two full batches handed to the runner');
    assert.ok(Math.abs(b.expectedWaitMs - 10_080) < 1e-6, `${b.expectedWaitMs}`);
    clock.now += 3000;
    assert.ok(Math.abs(b.expectedWaitMs - 7080) < 1e-6, `3 s into the first: ${b.expectedWaitMs}`);
    clock.now += 9000;
    assert.equal(b.expectedWaitMs, 0, 'past their predicted time (their answers not yet handled): nothing left');
    // A batch handed over behind a running one does not restart the clock: the oldest's start counts.
    finish.shift()!();
    finish.shift()!();
    await Promise.all(ps);
    clock.now = 50_000;
    const more = Array.from({ length: 8 }, () => b.submit(new Uint8Array(4), 1));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.equal(b.pendingBatches, 1);
    clock.now += 1000;
    assert.ok(Math.abs(b.expectedWaitMs - 4040) < 1e-6, `the first batch started at 50 s: ${b.expectedWaitMs}`);
    more.push(...Array.from({ length: 8 }, () => b.submit(new Uint8Array(4), 1)));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.equal(b.pendingBatches, 2);
    assert.ok(Math.abs(b.expectedWaitMs - 9080) < 1e-6, `two batches less the 1 s since the first started: ${b.expectedWaitMs}`);
    finish.shift()!();
    finish.shift()!();
    await Promise.all(more);
    await b.close();
  });

  it('a pipelined batch counts from when the one before it was answered', async (t) => {
    const { clock, finish, b, ps } = await twoPendingBatches(t);
    clock.now += 12_000;
    finish.shift()!();
    await new Promise((r) => setImmediate(r));
    assert.equal(b.pendingBatches, 1);
    assert.ok(Math.abs(b.expectedWaitMs - 5040) < 1e-6, 'the second counts from when the first was answered');
    finish.shift()!();
    await Promise.all(ps);
    assert.equal(b.expectedWaitMs, 0);
    await b.close();
  });

  it('an explicit admission wait, and the smaller of it and the queue deadline; 0 leaves only the deadline', async () => {
    const mk = (admissionWaitMs: number | 'auto', queueTimeoutMs?: number) =>
      new DynamicBatcher(run, { maxBatch: 8, preferredBatch: 8, admissionWaitMs, ...(queueTimeoutMs !== undefined ? { queueTimeoutMs } : {}), maxDelayMs: 0, maxQueue: 10, imageShape: shape });
    assert.equal(mk(3000).admissionLimitMs, 3000);
    assert.equal(mk(3000, 2000).admissionLimitMs, 2000);
    assert.equal(mk(0, 2000).admissionLimitMs, 2000);
    assert.equal(mk(0).admissionLimitMs, 0);
    const auto = mk('auto', 2000);
    assert.equal(auto.admissionLimitMs, 2000, 'before calibration only the deadline');
    await auto.calibrate(1);
    assert.equal(auto.admissionLimitMs, 2000, 'the deadline is smaller than 1.5 x 5.04 s');
    // A fast model: 1.5 batches of 2 at 0.8 ms an image is 2.4 ms, less than the floor; a slower one is above it.
    const cal = (ms: number, queueTimeoutMs?: number) => {
      const b = mk('auto', queueTimeoutMs);
      b.cost.calibrate([{ n: 1, ms }, { n: 2, ms: 2 * ms }]);
      return b.admissionLimitMs;
    };
    assert.equal(AUTO_ADMISSION_FLOOR_MS, 4);
    assert.equal(cal(0.1), AUTO_ADMISSION_FLOOR_MS, 'preferred batch of 8 at 0.1 ms an image: 1.2 ms, raised to the floor');
    assert.ok(Math.abs(cal(2) - 24) < 1e-9, `8 images at 2 ms: 1.5 x 16 ms = 24 ms, above the floor: ${cal(2)}`);
    assert.equal(cal(0.1, 3), 3, 'a queue deadline below the floor still wins');
    assert.equal(mk(3).admissionLimitMs, 3, 'an explicit wait has no floor');
    // A fixed size stays fixed, even where the knee of its timings is elsewhere (1.3 s for 1 is within 15% of 2.57 / 2).
    const two = new DynamicBatcher(run, { maxBatch: 8, preferredBatch: 2, maxDelayMs: 0, maxQueue: 1, imageShape: shape });
    assert.equal((await two.calibrate(1)).preferredBatch, 2);
    assert.equal(two.preferredBatch, 2);
    const e = new ExpectedWaitError(4000.4, 2999.6);
    assert.equal(e.name, 'ExpectedWaitError');
    assert.equal(e.message, 'server busy: the expected wait (4000 ms) exceeds the admission limit of 3000 ms (--admission-wait-ms, --queue-timeout-ms); retry later');
    assert.throws(() => mk(-1), /admissionWaitMs must be 'auto' or a number >= 0, got -1/);
    assert.throws(() => new DynamicBatcher(run, { maxBatch: 8, preferredBatch: 9, maxDelayMs: 0, maxQueue: 1, imageShape: shape }), /preferredBatch must be 'auto' or an integer 1..maxBatch \(8\), got 9/);
    assert.throws(() => new DynamicBatcher(run, { maxBatch: 8, preferredBatch: 0, maxDelayMs: 0, maxQueue: 1, imageShape: shape }), /got 0/);
  });
});
