// The "distance to the limit" arithmetic of the benchmarks: the FLOP count of a training step from the model
// spec, the hand-assembled wasm SIMD peak module, and bench-serve's summary against min(session.run, floor).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildModelSpec } from '../../models/builders.js';
import { stepFlops } from '../../pipeline/bench/step-flops.js';
import { FLOPS_PER_ITER, measureModule, simdPeakModule } from '../../pipeline/bench/simd-peak.js';
import { type BenchLevel, batchHistogramTotals, summarizeLevels } from '../../pipeline/bench/serve.js';
import { ServeMetrics } from '../../serve/node/metrics.js';

const cnn28 = () => buildModelSpec('cnn28', { numClasses: 10, input: { height: 28, width: 28, channels: 1, mean: [0.5], std: [0.5] } });

test('stepFlops: cnn28 by hand (forward, backward without the first layer input gradient)', () => {
  // conv1 28x28x1 -> 32 (3x3 same), conv2 14x14x32 -> 64, fc 3136 -> 128, classifier 128 -> 10; MACs per image:
  const conv1 = 28 * 28 * 32 * 9 * 1;
  const conv2 = 14 * 14 * 64 * 9 * 32;
  const fc = 7 * 7 * 64 * 128;
  const cls = 128 * 10;
  const B = 4;
  const f = stepFlops(cnn28(), B, 1);
  assert.equal(f.forward, 2 * B * (conv1 + conv2 + fc + cls));
  assert.equal(f.backward, 2 * B * (conv1 + 2 * (conv2 + fc + cls)));
  assert.equal(f.total, f.forward + f.backward);
  // ECL: the backbone and classifier on 3B rows, the projection head (128->128->128) on 2B, phi on the C rows of W.
  const e = stepFlops(cnn28(), B, 3);
  const proj = 128 * 128 + 128 * 128;
  const phi = 128 * 128;
  assert.equal(e.forward, 2 * (3 * B * (conv1 + conv2 + fc + cls) + 2 * B * proj + 10 * phi));
});

test('stepFlops: ResNet-32 strided and 1x1 shortcut convolutions use the output size', () => {
  const spec = buildModelSpec('resnet32', { numClasses: 10, input: { height: 32, width: 32, channels: 3, mean: [0, 0, 0], std: [1, 1, 1] } });
  const f = stepFlops(spec, 1, 1);
  // stem 32x32x3->16; stage 1: 10 convs 32x32x16->16; stage 2: first conv stride 2 16->32 at 16x16, 9 convs 32->32 at
  // 16x16, 1x1 shortcut 16->32 at 16x16; stage 3 likewise at 8x8 with 64 channels; classifier 64->10.
  const macs =
    32 * 32 * 16 * 27 +
    10 * 32 * 32 * 16 * 9 * 16 +
    (16 * 16 * 32 * 9 * 16 + 9 * 16 * 16 * 32 * 9 * 32 + 16 * 16 * 32 * 16) +
    (8 * 8 * 64 * 9 * 32 + 9 * 8 * 8 * 64 * 9 * 64 + 8 * 8 * 64 * 32) +
    64 * 10;
  assert.equal(f.forward, 2 * macs);
  assert.ok(Math.abs(f.forward / 1e6 - 138.6) < 1, `ResNet-32 is ~69 MMACs per image, got ${f.forward / 2e6}`);
});

test('simd-peak: the assembled module validates, runs and returns a finite lane sum', () => {
  const bytes = simdPeakModule(false);
  assert.ok(WebAssembly.validate(bytes));
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes)) as unknown as { exports: { run(n: number): number } };
  // One loop iteration = 4 unrolled updates acc = acc * 0.999999 + 1e-6 of 12 chains starting at 1 + i/16; the
  // result is the sum over chains of lane 0 (float32 arithmetic, summed in chain order).
  const one = inst.exports.run(1);
  const f = Math.fround;
  const chains = Array.from({ length: 12 }, (_, i) => {
    let a = f(1 + (i + 1) / 16);
    for (let u = 0; u < 4; u++) a = f(f(a * f(0.999999)) + f(1e-6));
    return a;
  });
  const expected = chains.reduce((s, a) => f(s + a));
  assert.equal(one, expected);
  assert.equal(FLOPS_PER_ITER, 12 * 4 * 4 * 2);
  assert.ok(measureModule(bytes, 20) > 0);
  // The relaxed variant only validates where V8 has relaxed SIMD; either way it must not throw.
  assert.equal(typeof WebAssembly.validate(simdPeakModule(true)), 'boolean');
});

const level = (c: number, req: number, p99: number, ceil: number, floor: number | null): BenchLevel => ({
  concurrency: c,
  reqPerSec: req,
  latencyP50Ms: p99 / 2,
  latencyP99Ms: p99,
  requests: 1,
  non2xx: 0,
  errors: 0,
  meanBatch: 1,
  ceilingImgPerSec: ceil,
  ratio: req / ceil,
  floorReqPerSec: floor,
  floorLatencyP99Ms: null,
  ratioToLimit: req / Math.min(ceil, floor ?? Infinity),
});

test('summarizeLevels: highest concurrency against min(session.run, floor); p99 against the unloaded p99', () => {
  const s = summarizeLevels([level(1, 1000, 2, 5000, 3000), level(64, 4000, 10, 16000, 8000), level(16, 3000, 5, 9000, 7000)])!;
  assert.equal(s.concurrency, 64);
  assert.equal(s.limitIs, 'HTTP floor');
  assert.equal(s.limit, 8000);
  assert.equal(s.ratioToLimit, 0.5);
  assert.equal(s.unloadedP99Ms, 2);
  assert.equal(s.p99VsUnloaded, 5);
  const t = summarizeLevels([level(64, 4000, 10, 5000, 8000)])!;
  assert.equal(t.limitIs, 'session.run');
  assert.equal(t.ratioToLimit, 0.8);
  assert.equal(t.p99VsUnloaded, null, 'no concurrency-1 level: no unloaded p99');
  assert.equal(summarizeLevels([level(64, 4000, 10, 5000, null)])!.limitIs, 'session.run');
  assert.equal(summarizeLevels([level(1, 1000, 2, 5000, 3000), level(64, 4000, 10, 16000, 8000)], 0.5)!.p99VsUnloaded, 20, 'the sequential probe wins over concurrency 1');
  assert.equal(summarizeLevels([]), null);
});

test("bench-serve's mean batch reads the server's labelled batch-size histogram (it read 0 before)", async () => {
  const m = new ServeMetrics({ defaultMetrics: false });
  m.observeBatch({ model: 'a', version: '1' }, 8, 0.01, []);
  m.observeBatch({ model: 'a', version: '1' }, 4, 0.01, []);
  m.observeBatch({ model: 'b', version: '2' }, 6, 0.01, []);
  const t = batchHistogramTotals(await m.registry.metrics());
  assert.deepEqual(t, { sum: 18, count: 3 });
  assert.deepEqual(batchHistogramTotals('ecl_inference_batch_size_sum_other 5\n'), { sum: 0, count: 0 });
});
