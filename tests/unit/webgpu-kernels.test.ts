// The webgpu training kernels (pipeline/backend/kernels/webgpu-training-kernels.ts) against tfjs-backend-cpu and
// the wasm path, run on a real WebGPU device: Dawn (the `webgpu` package) over SwiftShader's Vulkan driver,
// which Debian's chromium package ships (CI installs it). Every comparison: max|got - want| / max|want| <= 1e-4.
// Without a SwiftShader/GPU adapter the suite is skipped and says why.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { isSoftwareAdapter, selectBackend } from '../../pipeline/backend/select.js';
import { planColumnSum, planFilterGrad } from '../../pipeline/backend/kernels/webgpu-training-kernels.js';
import { runningStatsStep, sgdMomentumStep } from '../../pipeline/train/optim.js';
import { batchNormTraining } from '../../models/ops/batchnorm.js';
import { checkTrainNumerics } from '../../pipeline/bench/numerics.js';
import { type Arr, T, assertClose, on, rand } from '../helpers/kernel-test-utils.js';
import { skipUnless } from '../helpers/require.js';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
// The Vulkan loader complains on stderr without one.
process.env.XDG_RUNTIME_DIR ??= tmpdir();

async function compare(what: string, f: () => tf.Tensor | tf.Tensor[], ref = 'cpu'): Promise<void> {
  const want = await on(ref, f);
  const got = await on('webgpu', f);
  assert.equal(got.length, want.length);
  got.forEach((g, i) => assertClose(g, want[i]!, `${what} [${i}]`));
}

// Skip only where there is genuinely no adapter (and ECL_REQUIRE does not name webgpu); any other failure to
// set the backend up — a kernel registration that throws, kernels missing — fails every test below.
let skip: string | false = false;
let setupError: Error | undefined;
before(async () => {
  try {
    const c = await selectBackend('webgpu');
    if (!c.details.kernels?.includes('Conv2DBackpropFilter')) setupError = new Error(`custom webgpu kernels not registered: ${c.details.kernels}`);
  } catch (e) {
    const msg = (e as Error).message;
    if (!/no WebGPU adapter/.test(msg)) setupError = e as Error;
    else skip = skipUnless('webgpu', `no WebGPU adapter here (${msg}); install chromium (SwiftShader's Vulkan driver) and libvulkan1 (the loader)`);
  }
});
/** Per test: the skip reason, or throws the set-up failure. */
const skipReason = (): string | false => {
  if (setupError) throw setupError;
  return skip;
};

describe('pure planning', () => {
  test('planFilterGrad: chunks cover R exactly once, are KT-aligned, partials stay bounded', () => {
    for (const [m, n, r] of [
      [27, 16, 512 * 1024],
      [144, 16, 128 * 1024],
      [576, 64, 512 * 64],
      [16, 32, 2 * 16 * 16],
      [9 * 70, 70, 5],
    ] as const) {
      const p = planFilterGrad(m, n, r);
      assert.equal(p.chunk % 16, 0, 'chunk is a multiple of the tile depth');
      assert.ok(p.splits * p.chunk >= r && (p.splits - 1) * p.chunk < r, `splits ${p.splits} x chunk ${p.chunk} covers r ${r} once`);
      assert.ok(p.splits * m * n <= 16 * 1024 * 1024 || p.splits === 1, 'partial buffer capped');
      assert.ok([16, 32, 64].includes(p.tn));
    }
  });
  test('planColumnSum: power-of-two tiles of 256 threads, rows covered once', () => {
    for (const [rows, cols] of [
      [512 * 1024, 16],
      [7, 3],
      [100, 300],
      [1, 1],
    ] as const) {
      const p = planColumnSum(rows, cols);
      assert.equal(p.tile * p.lanes, 256);
      assert.ok(p.splits * p.chunk >= rows && (p.splits - 1) * p.chunk < rows);
    }
  });
  test('software adapters are recognised (auto mode skips them)', () => {
    assert.equal(isSoftwareAdapter({ vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader driver 5.0.0' }), true);
    assert.equal(isSoftwareAdapter({ vendor: 'mesa', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' }), true);
    assert.equal(isSoftwareAdapter({ vendor: 'nvidia', description: 'NVIDIA: 580.159.04 580.159.4.0' }), false);
  });
});

describe('webgpu kernels match tfjs-backend-cpu', () => {
  const convCases: { x: number[]; k: number; cout: number; stride: number; pad: 'same' | 'valid' }[] = [
    { x: [2, 8, 8, 3], k: 3, cout: 16, stride: 1, pad: 'same' }, // stem-like, Cin 3
    { x: [3, 9, 7, 5], k: 3, cout: 10, stride: 2, pad: 'same' }, // odd sizes: asymmetric TF padding, Cout not /4
    { x: [2, 8, 8, 16], k: 1, cout: 32, stride: 2, pad: 'valid' }, // 1x1 projection shortcut
    { x: [1, 5, 5, 4], k: 3, cout: 70, stride: 1, pad: 'valid' }, // Cout > 64: two column tiles
    { x: [2, 6, 6, 64], k: 3, cout: 64, stride: 1, pad: 'same' }, // M = 576: nine row tiles
  ];
  for (const c of convCases) {
    test(`Conv2DBackpropFilter (and input) x${JSON.stringify(c.x)} k${c.k} cout ${c.cout} s${c.stride} ${c.pad}`, async (t) => {
      if (skipReason()) return t.skip(skip as string);
      const x = rand(c.x, 1);
      const w = rand([c.k, c.k, c.x[3]!, c.cout], 2, 0.5);
      const outShape = tf.tidy(() => tf.conv2d(T(x) as tf.Tensor4D, T(w) as tf.Tensor4D, c.stride, c.pad).shape);
      const dy = rand(outShape, 3);
      await compare('conv grads', () => {
        const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad), T(dy)));
        return tf.grads(f)([T(x), T(w)]);
      });
    });
  }

  test('Sum / Mean over every axis but the last (and other axes through the stock kernels)', async (t) => {
    if (skipReason()) return t.skip(skip as string);
    const x = rand([3, 5, 7, 19], 4, 2, 0.5);
    await compare('reductions', () => [
      tf.sum(T(x), [0, 1, 2]),
      tf.mean(T(x), [0, 1, 2]),
      tf.mean(T(x), [0, 1, 2], true),
      tf.sum(T(x), [2, 1, 0]),
      tf.sum(T(x), [1, 2]),
      tf.mean(T(x), -1),
      tf.sum(T(rand([40, 300], 5)), 0),
    ]);
  });

  test('fused BatchNorm (stats + gradient kernels) equals the tfjs-op version on cpu', async (t) => {
    if (skipReason()) return t.skip(skip as string);
    const x = rand([4, 6, 5, 12], 6, 3, 1.5);
    const g = rand([12], 7, 0.5, 1);
    const b = rand([12], 8, 0.5);
    const dy = rand([4, 6, 5, 12], 9);
    await compare('batchnorm', () => {
      const f = (xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(batchNormTraining(xi, gi as tf.Tensor1D, bi as tf.Tensor1D, 1e-3).y, T(dy)));
      const grads = tf.grads(f)([T(x), T(g), T(b)]);
      const r = batchNormTraining(T(x), T(g) as tf.Tensor1D, T(b) as tf.Tensor1D, 1e-3);
      return [r.y, r.mean, r.variance, ...grads];
    });
  });

  test('ReLU gradient', async (t) => {
    if (skipReason()) return t.skip(skip as string);
    const x = rand([2, 3, 4, 5], 10);
    const dy = rand([2, 3, 4, 5], 11);
    await compare('relu grad', () => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.relu(a), T(dy))))(T(x)));
  });
});

describe('in-place parameter updates', () => {
  test('SGD with momentum and BN running statistics equal the tfjs-op path; reads see every update', async (t) => {
    if (skipReason()) return t.skip(skip as string);
    const w0 = rand([3, 3, 4, 8], 12);
    const g0 = rand([3, 3, 4, 8], 13, 0.1);
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      // Variables that own their buffers (refCount 1), so webgpu takes the in-place path from the first step.
      const own = (init: tf.Tensor, name: string) => {
        const v = tf.variable(init, true, `${name}_${backend}`);
        init.dispose();
        return v;
      };
      const w = own(T(w0), 'w');
      const v = own(tf.zeros(w0.shape), 'v');
      const mR = own(tf.zeros([8]), 'm');
      const vR = own(tf.ones([8]), 'vr');
      const ids = [w, v, mR, vR].map((x) => x.dataId);
      const seen: number[] = [];
      for (let s = 0; s < 3; s++) {
        tf.tidy(() => {
          sgdMomentumStep(w, v, tf.mul(T(g0), s + 1), { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
          runningStatsStep(mR, tf.fill([8], s + 1), vR, tf.fill([8], 2 * s), 0.9);
        });
        seen.push((await w.data())[0]!); // a read caches values on the CPU: the next update must drop them
      }
      const out = [w, v, mR, vR].map(async (x) => ({ shape: x.shape.slice(), data: Float32Array.from((await x.data()) as Float32Array) }));
      const inPlace = [w, v, mR, vR].every((x, i) => x.dataId === ids[i]);
      const res = { vals: await Promise.all(out), seen, inPlace };
      tf.dispose([w, v, mR, vR]);
      return res;
    };
    const want = await run('cpu');
    const got = await run('webgpu');
    assert.equal(got.inPlace, true, 'webgpu updated the variables in place (same buffers)');
    assert.equal(want.inPlace, false, 'cpu assigned new tensors');
    got.vals.forEach((g, i) => assertClose(g, want.vals[i]!, `update ${i}`));
    assert.equal(new Set(got.seen).size, 3, `weights changed every step: ${got.seen}`);
    got.seen.forEach((s, i) => assert.ok(Math.abs(s - want.seen[i]!) <= 1e-5 * Math.max(1, Math.abs(want.seen[i]!)), `step ${i} read ${s} vs ${want.seen[i]}`));
  });
});

describe('training numerics (the real trainer)', () => {
  test('20 steps of cnn28 on real images: webgpu losses equal the wasm path within 1e-3', async (t) => {
    if (skipReason()) return t.skip(skip as string);
    const r = await checkTrainNumerics({ model: 'cnn28', loss: 'la-ce', batch: 4, steps: 20, backends: ['wasm', 'webgpu'], tol: 1e-3, lr: 0.01, data: 'embedded' });
    assert.equal(r.ran[1]!.backend, 'webgpu');
    assert.ok(r.pass, `max relative difference ${r.maxRelDiff.toExponential(2)}`);
    assert.ok(r.reference.at(-1)! < r.reference[0]!, 'the loss went down (the run trained)');
  });
});
