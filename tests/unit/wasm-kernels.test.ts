// The wasm training kernels (pipeline/backend/kernels/wasm-training-kernels.ts) against tfjs-backend-cpu, and the
// BatchNorm custom gradient (models/ops/batchnorm.ts) against autodiff of the plain formula.
// Every comparison: max|got - want| / max|want| <= 1e-4.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { selectBackend } from '../../pipeline/backend/select.js';
import { registerWasmTrainingKernels } from '../../pipeline/backend/kernels/wasm-training-kernels.js';
import { batchNormTraining } from '../../models/ops/batchnorm.js';
import { buildModelSpec, initParams } from '../../models/builders.js';
import { forwardClassifier } from '../../models/forward.js';
import { softmaxCrossEntropy } from '../../models/losses/classification.js';
import type { ModelFamily } from '../../models/spec.js';
import { type Arr, T, TOL, assertClose, on, rand, relErr, testInput } from '../helpers/kernel-test-utils.js';

async function compare(what: string, f: () => tf.Tensor | tf.Tensor[]): Promise<void> {
  const want = await on('cpu', f);
  const got = await on('wasm', f);
  assert.equal(got.length, want.length);
  got.forEach((g, i) => assertClose(g, want[i]!, `${what} [${i}]`));
}

before(async () => {
  await selectBackend('wasm');
});

describe('registration', () => {
  test('registers the missing and replaced kernels, idempotently', () => {
    const names = registerWasmTrainingKernels();
    assert.ok(names.includes('Conv2DBackpropFilter'));
    assert.ok(names.includes('Conv2DBackpropInput'));
    assert.deepEqual(registerWasmTrainingKernels(), names);
    for (const n of names) assert.ok(tf.getKernel(n, 'wasm'), n);
  });
});

interface ConvCase {
  x: number[];
  k: number;
  cout: number;
  s: number;
  pad: 'same' | 'valid';
}

const convCases: ConvCase[] = [
  { x: [1, 5, 5, 1], k: 3, cout: 2, s: 1, pad: 'same' },
  { x: [2, 7, 6, 3], k: 3, cout: 4, s: 1, pad: 'same' },
  { x: [3, 9, 9, 4], k: 3, cout: 5, s: 2, pad: 'same' },
  { x: [2, 8, 8, 3], k: 3, cout: 6, s: 2, pad: 'same' },
  { x: [2, 7, 9, 2], k: 3, cout: 3, s: 2, pad: 'valid' },
  { x: [1, 8, 7, 3], k: 3, cout: 2, s: 1, pad: 'valid' },
  { x: [2, 6, 6, 5], k: 1, cout: 4, s: 1, pad: 'same' },
  { x: [2, 8, 8, 4], k: 1, cout: 6, s: 2, pad: 'same' },
  { x: [3, 7, 7, 2], k: 1, cout: 3, s: 2, pad: 'valid' },
  { x: [2, 9, 8, 2], k: 5, cout: 3, s: 2, pad: 'same' },
  { x: [1, 6, 6, 2], k: 2, cout: 3, s: 2, pad: 'valid' },
  { x: [2, 10, 10, 3], k: 4, cout: 2, s: 3, pad: 'same' },
  // Few output channels: the filter gradient takes the transposed-conv route (the cases above with
  // cout * stride^2 >= 2 * cin take the im2col-matmul route), including a 'valid' stride-2 conv
  // whose last input row is never read.
  { x: [2, 9, 9, 8], k: 3, cout: 3, s: 2, pad: 'same' },
  { x: [2, 8, 8, 8], k: 3, cout: 3, s: 2, pad: 'valid' },
  { x: [1, 11, 10, 9], k: 5, cout: 2, s: 2, pad: 'same' },
  { x: [3, 6, 5, 6], k: 3, cout: 6, s: 1, pad: 'same' },
  // Output channels a multiple of 8: the filter gradient runs the wasm SIMD kernel (pipeline/backend/kernels/simd),
  // in 4-input-channel units where cin % 4 == 0 and 1-channel units otherwise.
  { x: [2, 7, 6, 4], k: 3, cout: 8, s: 1, pad: 'same' },
  { x: [3, 9, 9, 8], k: 3, cout: 16, s: 2, pad: 'same' },
  { x: [2, 8, 8, 8], k: 3, cout: 8, s: 2, pad: 'valid' },
  { x: [2, 9, 8, 3], k: 5, cout: 8, s: 2, pad: 'same' },
  { x: [2, 6, 6, 12], k: 1, cout: 24, s: 1, pad: 'same' },
  { x: [3, 7, 7, 4], k: 1, cout: 8, s: 2, pad: 'valid' },
  { x: [2, 10, 10, 1], k: 4, cout: 16, s: 3, pad: 'same' },
];

describe('conv2d gradients match cpu', () => {
  convCases.forEach((c, i) => {
    const name = `x${JSON.stringify(c.x)} k${c.k} cout${c.cout} s${c.s} ${c.pad}`;
    const x = rand(c.x, 10 + i);
    const w = rand([c.k, c.k, c.x[3]!, c.cout], 20 + i, 0.5);
    test(`${name}: Conv2DBackpropFilter / Conv2DBackpropInput kernels`, async () => {
      const yShape = await on('cpu', () => tf.conv2d(T(x) as tf.Tensor4D, T(w) as tf.Tensor4D, c.s, c.pad));
      const dy = rand(yShape[0]!.shape, 30 + i);
      await compare(`${name} dW`, () =>
        tf.engine().runKernel('Conv2DBackpropFilter', { x: T(x), dy: T(dy) }, {
          strides: [c.s, c.s],
          pad: c.pad,
          dataFormat: 'NHWC',
          filterShape: w.shape,
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
      );
      await compare(`${name} dX`, () =>
        tf.engine().runKernel('Conv2DBackpropInput', { dy: T(dy), filter: T(w) }, {
          strides: [c.s, c.s],
          pad: c.pad,
          dataFormat: 'NHWC',
          inputShape: x.shape,
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
      );
    });
    test(`${name}: tf.grads of conv2d`, async () => {
      await compare(name, () => {
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad), tf.sin(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad)))));
        return g([T(x), T(w)]);
      });
    });
  });
});

describe('pooling, reductions, layout ops match cpu', () => {
  const pools: [number[], number, number, 'same' | 'valid'][] = [
    [[2, 8, 8, 3], 2, 2, 'valid'],
    [[1, 7, 7, 2], 2, 2, 'valid'],
    [[2, 7, 9, 3], 3, 2, 'same'],
    [[3, 6, 5, 4], 3, 1, 'same'],
  ];
  pools.forEach(([shape, size, stride, pad], i) => {
    test(`MaxPoolGrad ${JSON.stringify(shape)} ${size}/${stride} ${pad}`, async () => {
      const x = rand(shape, 40 + i);
      await compare('maxPool grad', () => tf.grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, size, stride, pad)))(T(x)));
      await compare('maxPool grad (weighted)', () =>
        tf.grad((a: tf.Tensor) => {
          const y = tf.maxPool(a as tf.Tensor4D, size, stride, pad);
          return tf.sum(tf.mul(y, tf.sin(y)));
        })(T(x)),
      );
    });
  });
  test('MaxPoolGrad with ties (ReLU zeros) sends dy to the first maximum, as cpu does', async () => {
    const x = rand([2, 6, 6, 3], 47);
    await compare('maxPool ties', () =>
      tf.grad((a: tf.Tensor) => {
        const y = tf.maxPool(tf.relu(tf.sub(a, 0.6)) as tf.Tensor4D, 2, 2, 'valid');
        return tf.sum(tf.mul(y, tf.add(y, 1)));
      })(T(x)),
    );
    await compare('maxPool ties direct', () => {
      const xt = tf.relu(tf.sub(T(x), 0.6)) as tf.Tensor4D;
      const y = tf.maxPool(xt, 2, 2, 'valid');
      return tf.engine().runKernel('MaxPoolGrad', { dy: tf.add(tf.zerosLike(y), 1), input: xt, output: y }, {
        filterSize: 2,
        strides: 2,
        pad: 'valid',
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
    });
  });

  const reductions: [number[], number[], boolean][] = [
    [[3, 5, 4, 6], [0, 1, 2], false],
    [[3, 5, 4, 6], [0, 1, 2], true],
    [[3, 5, 4, 6], [1, 2], false],
    [[3, 5, 4, 6], [0], true],
    [[3, 5, 4, 6], [1], false],
    [[3, 5, 4, 6], [3], false],
    [[3, 5, 4, 6], [2, 3], true],
    [[7, 9], [0], false],
    [[7, 9], [0, 1], false],
  ];
  reductions.forEach(([shape, axes, keep], i) => {
    test(`Sum/Mean over ${JSON.stringify(axes)} of ${JSON.stringify(shape)} keepDims=${keep}`, async () => {
      const x = rand(shape, 50 + i, 1, 0.3);
      await compare('sum', () => tf.sum(T(x), axes, keep));
      await compare('mean', () => tf.mean(T(x), axes, keep));
    });
  });

  const tiles: [number[], number[]][] = [
    [[2, 1, 1, 3], [1, 4, 5, 1]],
    [[2, 3], [3, 2]],
    [[4], [3]],
    [[1, 2, 1, 3], [2, 1, 3, 2]],
  ];
  tiles.forEach(([shape, reps], i) => {
    test(`Tile ${JSON.stringify(shape)} x ${JSON.stringify(reps)}`, async () => {
      const x = rand(shape, 60 + i);
      await compare('tile', () => tf.tile(T(x), reps));
    });
  });
  test('broadcastTo (lowers to Tile)', async () => {
    const x = rand([3, 1, 1, 4], 65);
    await compare('broadcastTo', () => tf.broadcastTo(T(x), [3, 5, 2, 4]));
  });

  test('BatchMatMul with every transpose combination, 2-D and batched', async () => {
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      const a = rand(ta ? [7, 5] : [5, 7], 70);
      const b = rand(tb ? [3, 7] : [7, 3], 71);
      await compare(`matMul ${ta} ${tb}`, () => tf.matMul(T(a), T(b), ta, tb));
      const a3 = rand(ta ? [2, 7, 5] : [2, 5, 7], 72);
      const b3 = rand(tb ? [2, 3, 7] : [2, 7, 3], 73);
      await compare(`batched matMul ${ta} ${tb}`, () => tf.matMul(T(a3), T(b3), ta, tb));
    }
  });

  const bnCases: { x: number[]; meanOffset: number }[] = [
    { x: [2, 5, 4, 3], meanOffset: 0 },
    { x: [3, 4, 4, 6], meanOffset: 3 },
    { x: [6, 5], meanOffset: -2 },
  ];
  bnCases.forEach((c, i) => {
    test(`FusedBatchNorm (tf.batchNorm) ${JSON.stringify(c.x)} mean offset ${c.meanOffset}`, async () => {
      const ch = c.x[c.x.length - 1]!;
      const x = rand(c.x, 80 + i, 2, c.meanOffset);
      const m = rand([ch], 81 + i, 1, c.meanOffset);
      const v = rand([ch], 82 + i, 0.4, 1);
      const off = rand([ch], 83 + i);
      const sc = rand([ch], 84 + i, 1, 0.5);
      await compare('batchNorm full', () => tf.batchNorm(T(x), T(m), T(v), T(off), T(sc), 1e-3));
      await compare('batchNorm no offset/scale', () => tf.batchNorm(T(x), T(m), T(v), undefined, undefined, 1e-5));
    });
  });

  test('Identity shares the buffer: a clone outlives its source', async () => {
    await tf.setBackend('wasm');
    const a = tf.tensor1d([1, 2, 3]);
    const b = tf.clone(a);
    a.dispose();
    assert.deepEqual(Array.from(b.dataSync()), [1, 2, 3]);
    b.dispose();
  });

  test('tf.logSoftmax / customGrad train under IS_TEST (leak check) on wasm', async () => {
    await tf.setBackend('wasm');
    const before = tf.env().getBool('IS_TEST');
    tf.env().set('IS_TEST', true);
    try {
      const g = tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(tf.logSoftmax(x)))(tf.tensor2d([1, 2, 3, 4], [2, 2])).dataSync());
      assert.equal(g.length, 4);
    } finally {
      tf.env().set('IS_TEST', before);
    }
  });
});

/** Plain BN: autodiff reference for the custom gradient. */
function plainBn(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const { mean, variance } = tf.moments(x, axes);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gamma), beta);
}

describe('batchNormTraining custom gradient', () => {
  const cases: { x: number[]; off: number }[] = [
    { x: [4, 3, 3, 5], off: 0 },
    { x: [2, 5, 4, 3], off: 2 },
    { x: [1, 6, 7, 4], off: -1 },
    { x: [9, 6], off: 0.5 },
    // Channels % 8 == 0: the fused SIMD kernels on wasm (pipeline/backend/kernels/wasm-batchnorm-kernels.ts), with rows
    // that split unevenly into the 8 summation parts, and a mean far from zero (one-pass float64 variance).
    { x: [3, 5, 7, 16], off: 0.3 },
    { x: [2, 4, 4, 8], off: 40 },
    { x: [5, 24], off: -2 },
  ];
  for (const backend of ['cpu', 'wasm']) {
    cases.forEach((c, i) => {
      test(`${backend}: y, mean, variance and d{x,gamma,beta} match the plain formula ${JSON.stringify(c.x)}`, async () => {
        const ch = c.x[c.x.length - 1]!;
        const x = rand(c.x, 90 + i, 1.5, c.off);
        const g = rand([ch], 91 + i, 0.5, 1);
        const b = rand([ch], 92 + i);
        const r = rand(c.x, 93 + i);
        const eps = 1e-5;
        const loss = (fn: (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor) => (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
          tf.sum(tf.mul(fn(xx, gg, bb), T(r)));
        const custom = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => batchNormTraining(xx, gg as tf.Tensor1D, bb as tf.Tensor1D, eps).y;
        const want = await on(backend, () => [plainBn(T(x), T(g), T(b), eps), ...tf.grads(loss((a, gg, bb) => plainBn(a, gg, bb, eps)))([T(x), T(g), T(b)])]);
        const got = await on(backend, () => [custom(T(x), T(g), T(b)), ...tf.grads(loss(custom))([T(x), T(g), T(b)])]);
        ['y', 'dx', 'dgamma', 'dbeta'].forEach((n, k) => assertClose(got[k]!, want[k]!, `${backend} ${n}`));
        const stats = await on(backend, () => {
          const { y, mean, variance } = batchNormTraining(T(x), T(g) as tf.Tensor1D, T(b) as tf.Tensor1D, eps);
          y.dispose();
          return [mean, variance];
        });
        const ref = await on(backend, () => {
          const m = tf.moments(T(x), x.shape.slice(0, -1).map((_, k) => k));
          return [m.mean, m.variance];
        });
        assertClose(stats[0]!, ref[0]!, 'mean');
        assertClose(stats[1]!, ref[1]!, 'variance');
      });
    });
  }
});

// resnet8 has every layer kind of resnet20/32 (stem, stride-2 blocks with 1x1 projection shortcuts,
// identity blocks, global average pooling); those two are checked the same way by
// `node dist/scripts/bench-wasm-step.js --verify --model resnet20|resnet32` (the cpu backend's
// Conv2DBackpropFilter alone takes ~10 s per resnet20 step, too slow for this file).
describe('full training step: wasm gradients match cpu, no tensor leaks', () => {
  const models: { family: ModelFamily; batch: number }[] = [
    { family: 'cnn28', batch: 3 },
    { family: 'resnet8', batch: 2 },
  ];
  for (const { family, batch } of models) {
    test(`${family} batch ${batch}`, async () => {
      const input = testInput(family);
      const spec = buildModelSpec(family, { numClasses: 10, input });
      const store = initParams(spec, 3);
      const pixels = rand([batch, input.height, input.width, input.channels], 7, 127.5, 127.5);
      const labels = Array.from({ length: batch }, (_, i) => (i * 3) % 10);
      const names = [...store.keys()].filter((n) => !n.startsWith('proj_') && !n.startsWith('proto_map') && !n.includes('moving'));

      const run = async (backend: string, steps: number) => {
        await tf.setBackend(backend);
        const params = new Map<string, tf.Tensor>();
        const vars: tf.Variable[] = [];
        for (const [n, p] of store) {
          const v = tf.variable(tf.tensor(p.data, p.shape), names.includes(n), `${family}_${backend}_${n}`.replace(/\//g, '_'));
          params.set(n, v);
          if (names.includes(n)) vars.push(v);
        }
        const x = T(pixels) as tf.Tensor4D;
        const oneHot = tf.oneHot(tf.tensor1d(labels, 'int32'), 10).cast('float32') as tf.Tensor2D;
        let grads: Arr[] = [];
        const counts: number[] = [];
        for (let s = 0; s < steps; s++) {
          const step = tf.tidy(() => {
            const { value, grads: g } = tf.variableGrads(() => softmaxCrossEntropy(forwardClassifier(spec, params, x, { training: true }).logits, oneHot), vars);
            const out = vars.map((v) => g[v.name]!);
            for (const v of vars) v.assign(tf.sub(v, tf.mul(g[v.name]!, 0.01)));
            return [value, ...out];
          });
          if (s === 0) grads = step.slice(1).map((t) => ({ shape: t.shape.slice(), data: Float32Array.from(t.dataSync() as Float32Array) }));
          tf.dispose(step);
          counts.push(tf.memory().numTensors);
        }
        tf.dispose([...params.values(), x, oneHot]);
        return { grads, counts };
      };
      const want = await run('cpu', 1);
      const got = await run('wasm', 3);
      assert.equal(got.counts[1], got.counts[0], `wasm tensor count grew: ${got.counts}`);
      assert.equal(got.counts[2], got.counts[0], `wasm tensor count grew: ${got.counts}`);
      names.forEach((n, i) => assertClose(got.grads[i]!, want.grads[i]!, `${family} d${n}`));
    });
  }
});
