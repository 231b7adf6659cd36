// BatchNorm -> (residual add) -> ReLU as one op in training (models/ops/batchnorm.ts batchNormReluTraining, wasm kernel
// pipeline/backend/kernels/wasm-batchnorm-relu-kernel.ts, ReLU's mask folded into EclBatchNormGrad): the values and
// every gradient must be bit-identical to the three separate ops, and a whole trainer step identical with the fusion
// off (ECL_FUSE_BN_RELU=0).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { selectBackend } from '../../pipeline/backend/select.js';
import { BN_RELU, batchNormReluTraining, batchNormTraining } from '../../models/ops/batchnorm.js';
import { buildModelSpec, initParams } from '../../models/builders.js';
import { forwardClassifier } from '../../models/forward.js';
import { softmaxCrossEntropy } from '../../models/losses/classification.js';
import type { ModelFamily } from '../../models/spec.js';
import { type Arr, T, assertClose, on, rand, testInput } from '../helpers/kernel-test-utils.js';

before(async () => {
  await selectBackend('wasm');
});

/** Runs f with ECL_FUSE_BN_RELU set to v (restored afterwards). */
async function withFusion<R>(v: '0' | '1', f: () => Promise<R>): Promise<R> {
  const old = process.env.ECL_FUSE_BN_RELU;
  process.env.ECL_FUSE_BN_RELU = v;
  try {
    return await f();
  } finally {
    if (old === undefined) delete process.env.ECL_FUSE_BN_RELU;
    else process.env.ECL_FUSE_BN_RELU = old;
  }
}

function assertIdentical(got: Arr, want: Arr, what: string): void {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  for (let i = 0; i < want.data.length; i++) {
    if (!Object.is(got.data[i], want.data[i]) && !(got.data[i] === 0 && want.data[i] === 0)) {
      assert.fail(`${what}: element ${i} is ${got.data[i]}, the separate ops give ${want.data[i]}`);
    }
  }
}

describe('batchNormReluTraining', () => {
  // C % 8 == 0: every SIMD path; C = 12: SIMD forward and dx, float64 sums in JS; C = 3: the JS fallbacks.
  const shapes = [
    [3, 5, 7, 16],
    [2, 4, 4, 12],
    [2, 3, 5, 3],
    [6, 32],
  ];
  for (const shape of shapes) {
    for (const withResidual of [false, true]) {
      test(`${JSON.stringify(shape)}${withResidual ? ' + residual' : ''}: y and every gradient bit-identical to BN, add, ReLU`, async () => {
        const ch = shape[shape.length - 1]!;
        const x = rand(shape, 11, 1.5, 0.2);
        const g = rand([ch], 12, 0.5, 1);
        const b = rand([ch], 13, 0.5);
        const res = rand(shape, 14);
        const w = rand(shape, 15);
        const eps = 1e-5;
        const fused = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor, rr: tf.Tensor) =>
          batchNormReluTraining(xx, gg as tf.Tensor1D, bb as tf.Tensor1D, eps, withResidual ? rr : undefined).y;
        const separate = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor, rr: tf.Tensor) => {
          const y = batchNormTraining(xx, gg as tf.Tensor1D, bb as tf.Tensor1D, eps).y;
          return tf.relu(withResidual ? tf.add(y, rr) : y);
        };
        const run = (fn: typeof fused) => () => {
          const loss = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor, rr?: tf.Tensor) => tf.sum(tf.mul(fn(xx, gg, bb, rr ?? T(res)), T(w)));
          const args = [T(x), T(g), T(b), ...(withResidual ? [T(res)] : [])];
          return [fn(T(x), T(g), T(b), T(res)), ...tf.grads(loss as (...t: tf.Tensor[]) => tf.Tensor)(args)];
        };
        await tf.setBackend('wasm');
        const { kernelNames } = await tf.profile(() => fused(T(x), T(g), T(b), T(res)));
        assert.ok(kernelNames.includes(BN_RELU), `the fused kernel ran (kernels: ${kernelNames.join(', ')})`);
        const got = await on('wasm', run(fused));
        const want = await on('wasm', run(separate));
        const outs = ['y', 'dx', 'dgamma', 'dbeta', ...(withResidual ? ['dresidual'] : [])];
        assert.equal(got.length, outs.length);
        outs.forEach((n, k) => assertIdentical(got[k]!, want[k]!, n));
        assert.ok(got[0]!.data.some((v) => v === 0) && got[0]!.data.some((v) => v > 0), 'the case has both ReLU branches');
        // The cpu backend has no fused kernel: the same op is the three ops there, close to wasm's.
        const cpu = await on('cpu', run(fused));
        outs.forEach((n, k) => assertClose(got[k]!, cpu[k]!, `wasm vs cpu ${n}`));
      });
    }
  }

  test('a residual of another shape is refused by the kernel', async () => {
    await tf.setBackend('wasm');
    const x = tf.ones([2, 2, 2, 4]);
    const v = tf.ones([4]);
    assert.throws(
      () => tf.engine().runKernel(BN_RELU, { x, mean: v, variance: v, gamma: v, beta: v, residual: tf.ones([2, 2, 2, 8]) }, { epsilon: 1e-5 }),
      /residual must be float32 of x's shape/,
    );
    assert.throws(() => tf.engine().runKernel(BN_RELU, { x, mean: tf.ones([3]), variance: v, gamma: v, beta: v }, { epsilon: 1e-5 }), /mean must be float32 of shape \[4\]/);
  });
});

describe('a whole trainer step with and without the fusion', () => {
  const models: { family: ModelFamily; batch: number }[] = [
    { family: 'cnn28', batch: 5 },
    { family: 'resnet8', batch: 4 },
  ];
  for (const { family, batch } of models) {
    test(`${family}: loss, batch statistics and every parameter gradient bit-identical`, async () => {
      const input = testInput(family);
      const spec = buildModelSpec(family, { numClasses: 10, input });
      const store = initParams(spec, 5);
      const pixels = rand([batch, input.height, input.width, input.channels], 8, 127.5, 127.5);
      const names = [...store.keys()].filter((n) => !n.startsWith('proj_') && !n.startsWith('proto_map') && !n.includes('moving'));
      const step = () =>
        on('wasm', () => {
          const params = new Map<string, tf.Tensor>([...store].map(([n, p]) => [n, tf.tensor(p.data, p.shape)]));
          const stats: tf.Tensor[] = [];
          const oneHot = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), 'int32'), 10).cast('float32') as tf.Tensor2D;
          const f = () =>
            softmaxCrossEntropy(
              forwardClassifier(spec, params, T(pixels) as tf.Tensor4D, { training: true, onBatchStats: (_n, m, v) => stats.push(tf.keep(m.clone()), tf.keep(v.clone())) }).logits,
              oneHot,
            ) as tf.Scalar;
          const { value, grads } = tf.valueAndGrads(() => f())(names.map((n) => params.get(n)!)) as unknown as { value: tf.Tensor; grads: tf.Tensor[] };
          return [value, ...grads, ...stats];
        });
      const fused = await withFusion('1', step);
      const separate = await withFusion('0', step);
      assert.equal(fused.length, separate.length);
      assert.equal(fused.length, 1 + names.length + 2 * spec.backbone.filter((l) => l.kind === 'batchnorm').length + countResidualBn(spec.backbone));
      fused.forEach((t, i) => assertIdentical(t, separate[i]!, i === 0 ? 'loss' : i <= names.length ? `d${names[i - 1]}` : `batch statistic ${i}`));
    });
  }
});

/** Batch statistics reported from inside residual blocks (2 per BN layer there). */
function countResidualBn(layers: ReturnType<typeof buildModelSpec>['backbone']): number {
  let n = 0;
  for (const l of layers) if (l.kind === 'residual') n += 2 * [...l.body, ...l.shortcut].filter((b) => b.kind === 'batchnorm').length;
  return n;
}
