// The wasm SIMD kernels (pipeline/backend/kernels/simd/, run by pipeline/backend/kernels/simd-pool.ts): the embedded builds
// come from the committed C source, the filter-gradient kernel really runs and matches tfjs-backend-cpu, and
// its results are bit-identical whatever the thread count or tfjs build (shared or plain memory).
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { selectBackend } from '../../pipeline/backend/select.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { simdPool } from '../../pipeline/backend/kernels/simd-pool.js';
import { f64, heapOffset } from '../../pipeline/backend/kernels/wasm-heap.js';
import { sourceDigest } from '../../pipeline/backend/kernels/simd/kernels-wasm.js';
import { simdSourceDigest } from '../../pipeline/backend/kernels/simd/sources.js';
import { batchNormTraining } from '../../models/ops/batchnorm.js';
import { checkTrainNumerics } from '../../pipeline/bench/numerics.js';
import { T, assertClose, on, rand } from '../helpers/kernel-test-utils.js';
import { skipUnless } from '../helpers/require.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const backendModule = join(root, 'dist/pipeline/backend/select.js');

const filterGrad = (x: tf.Tensor, dy: tf.Tensor, k: number, s: number, pad: 'same' | 'valid') =>
  tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [s, s], pad, dataFormat: 'NHWC', filterShape: [k, k, x.shape[3]!, dy.shape[3]!] } as unknown as tf.NamedAttrMap) as tf.Tensor;

/** A fresh node with the given environment: prints the backend's simd line and the filter gradient's bits. */
function child(env: Record<string, string>): Promise<{ simd: string; bits: string }> {
  const script = `
    const tf = await import('@tensorflow/tfjs-core');
    const { selectBackend } = await import(${JSON.stringify(backendModule)});
    const c = await selectBackend('wasm');
    let s = 7;
    const r = (n) => Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5);
    const x = tf.tensor4d(r(6 * 12 * 12 * 16), [6, 12, 12, 16]);
    const dy = tf.tensor4d(r(6 * 12 * 12 * 32), [6, 12, 12, 32]);
    const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 16, 32] });
    const y = tf.conv2d(x, tf.tensor4d(r(5 * 5 * 16 * 8), [5, 5, 16, 8]), 2, 'same');
    const z = tf.conv2d(x, tf.tensor4d(r(3 * 3 * 16 * 8), [3, 3, 16, 8]), 1, 'same');
    const ga = tf.matMul(tf.tensor2d(r(200 * 300), [200, 300]), tf.tensor2d(r(200 * 72), [200, 72]), true, false); // GEMM, Aᵀ·B
    const gb = tf.matMul(tf.tensor2d(r(64 * 600), [64, 600]), tf.tensor2d(r(144 * 600), [144, 600]), false, true); // GEMM, A·Bᵀ
    const bits = Buffer.concat([dw, y, z, ga, gb].map((t) => Buffer.from(t.dataSync().buffer))).toString('base64');
    console.log(JSON.stringify({ simd: c.details.simd, bits }));`;
  return new Promise((res, rej) =>
    execFile(process.execPath, ['--input-type=module', '-e', script], { cwd: root, env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) =>
      err ? rej(new Error(`${err.message}\n${stderr.slice(-1000)}`)) : res(JSON.parse(stdout.trim().split('\n').at(-1)!)),
    ),
  );
}

before(async () => {
  await selectBackend('wasm');
});

describe('wasm SIMD kernels', () => {
  test('the embedded wasm was built from the committed C source (make simd-kernels after editing it)', () => {
    assert.equal(sourceDigest, simdSourceDigest());
  });

  const hasClang = (() => {
    try {
      execFileSync('clang', ['--version'], { stdio: 'ignore' });
      execFileSync('wasm-ld', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  test('rebuilding from source gives the embedded bytes', { skip: skipUnless('clang', hasClang ? false : 'clang and wasm-ld are not installed (apt-get install clang lld)') }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'ecl-simd-test-'));
    try {
      const out = join(dir, 'kernels-wasm.ts');
      execFileSync(process.execPath, [join(root, 'dist/scripts/build-simd-kernels.js'), '--out', out], { cwd: root, stdio: 'pipe' });
      assert.equal(readFileSync(out, 'utf8'), readFileSync(join(root, 'pipeline/backend/kernels/simd/kernels-wasm.ts'), 'utf8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const cases: [number[], number, number, number, 'same' | 'valid'][] = [
    [[4, 16, 16, 16], 3, 16, 1, 'same'], // Winograd
    [[3, 9, 11, 8], 3, 24, 1, 'same'], // Winograd: odd Ho, Wo (partial tiles); 3 images over 4 batch slices
    [[5, 6, 70, 4], 3, 8, 1, 'valid'], // Winograd: 34 tiles per row (one row per block)
    [[2, 8, 8, 6], 3, 8, 1, 'same'], // direct: Cin % 4 != 0
    [[3, 15, 13, 8], 3, 32, 2, 'same'],
    [[2, 11, 12, 3], 3, 16, 1, 'valid'],
    [[2, 9, 9, 20], 1, 8, 2, 'same'],
    [[3, 10, 9, 1], 3, 32, 1, 'same'], // 1 input channel, Cout % 32 == 0: 1 x 32 units (cnn28's first layer)
    [[2, 9, 8, 3], 3, 64, 2, 'same'], // Cin % 4 != 0: 1 x 32 units, strided
  ];
  for (const [shape, k, cout, s, pad] of cases) {
    test(`filter gradient x${JSON.stringify(shape)} k${k} cout${cout} s${s} ${pad}: SIMD kernel runs and matches cpu`, async () => {
      const pool = simdPool((tf.backend() as unknown as { wasm: unknown }).wasm, 2);
      assert.ok(pool, 'SIMD pool is on');
      const x = rand(shape, 3);
      const yShape = await on('cpu', () => tf.conv2d(T(x) as tf.Tensor4D, tf.zeros([k, k, shape[3]!, cout]) as tf.Tensor4D, s, pad));
      const dy = rand(yShape[0]!.shape, 4);
      const want = await on('cpu', () => filterGrad(T(x), T(dy), k, s, pad));
      // 3x3 stride 1 with Cin % 4 == 0: the Winograd F(4x4, 3x3) filter gradient (winograd43.c); else the direct one.
      const kernel = k === 3 && s === 1 && shape[3]! % 4 === 0 ? 'winograd43_filter_grad' : 'filter_grad';
      const before = pool.calls.get(kernel) ?? 0;
      const got = await on('wasm', () => filterGrad(T(x), T(dy), k, s, pad));
      assert.equal(pool.calls.get(kernel), before + 1, `${kernel} ran once`);
      assertClose(got[0]!, want[0]!, 'dW');
    });
  }

  // 3x3 stride 1 with Cin % 4 == 0 runs Winograd F(4x4, 3x3) (winograd43.c); the rest the direct kernel (conv2d.c).
  const convCases: [number[], number, number, number, 'same' | 'valid'][] = [
    [[2, 9, 11, 16], 3, 16, 1, 'same'], // Winograd: partial 4x4 tiles in both directions, 3 tiles per row
    [[3, 8, 8, 64], 3, 8, 1, 'same'], // Winograd: 2 tiles per row, tile rows grouped into one unit
    [[1, 6, 70, 4], 3, 8, 1, 'same'], // Winograd: 18 tiles per row = a block of 16 + 2
    [[2, 7, 10, 8], 3, 16, 1, 'valid'], // Winograd: Ho = 5, Wo = 8
    [[2, 14, 14, 32], 3, 64, 1, 'same'], // Winograd: cnn28's second layer
    [[2, 9, 11, 6], 3, 16, 1, 'same'], // direct: Cin % 4 != 0; border tiles on both sides, Wo % 4 = 3 single pixels
    [[3, 8, 8, 6], 3, 8, 1, 'same'], // direct: Wo = 8, both tiles touch a border
    [[2, 13, 14, 3], 3, 16, 2, 'same'],
    [[2, 10, 9, 5], 5, 24, 2, 'valid'],
    [[1, 7, 7, 1], 5, 8, 1, 'same'], // pad 2 on each side
    [[2, 6, 6, 12], 1, 32, 2, 'same'],
    [[1, 3, 3, 4], 5, 8, 1, 'same'], // filter wider than x
  ];
  for (const [shape, k, cout, s, pad] of convCases) {
    test(`conv2d x${JSON.stringify(shape)} k${k} cout${cout} s${s} ${pad}: SIMD kernel runs and matches cpu (forward and both gradients)`, async () => {
      const pool = simdPool((tf.backend() as unknown as { wasm: unknown }).wasm, 2)!;
      const x = rand(shape, 5);
      const w = rand([k, k, shape[3]!, cout], 6, 0.5);
      const f = () => tf.conv2d(T(x) as tf.Tensor4D, T(w) as tf.Tensor4D, s, pad);
      const want = await on('cpu', f);
      const kernel = k === 3 && s === 1 && shape[3]! % 4 === 0 ? 'winograd43_conv' : 'conv2d';
      const before = pool.calls.get(kernel) ?? 0;
      const got = await on('wasm', f);
      assert.equal(pool.calls.get(kernel), before + 1, `${kernel} ran once`);
      assertClose(got[0]!, want[0]!, 'y');
      const g = () => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.sin(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, pad))))([T(x), T(w)]);
      const gw = await on('cpu', g);
      const gg = await on('wasm', g);
      assertClose(gg[0]!, gw[0]!, 'dx');
      assertClose(gg[1]!, gw[1]!, 'dw');
    });
  }

  // MaxPool and MaxPoolGrad 2x2/2 'valid' (elementwise.c maxpool2x2, maxpool2x2_grad): selections, so bit-identical
  // to cpu and (the gradient) to the JS path (ECL_WASM_SIMD_KERNELS=0), including ties (ReLU zeros), NaN and -inf windows, odd H and W (rows and
  // columns outside every window get 0) and C % 4 != 0 (the scalar tail).
  const poolShapes: number[][] = [
    [2, 8, 8, 8],
    [3, 7, 9, 6],
    [2, 14, 14, 64],
    [1, 5, 3, 1],
    [4, 2, 2, 5],
  ];
  for (const shape of poolShapes) {
    test(`MaxPool and MaxPoolGrad 2x2/2 x${JSON.stringify(shape)}: SIMD kernels run, bit-identical to cpu (and the JS gradient path)`, async () => {
      const pool = simdPool((tf.backend() as unknown as { wasm: unknown }).wasm, 2)!;
      const x = rand(shape, 11);
      // ReLU-like ties at 0 in about half of the elements, and some NaN and -inf (whole windows of them too).
      for (let i = 0; i < x.data.length; i++) x.data[i] = Math.max(x.data[i]!, 0);
      for (let i = 0; i < x.data.length; i += 13) x.data[i] = NaN;
      for (let i = 5; i < x.data.length; i += 17) x.data[i] = -Infinity;
      const C = shape[3]!;
      for (let c = 0; c < C; c++) {
        x.data[c] = NaN; // the first window of image 0: NaN / -inf / NaN / -inf in channel c
        x.data[C + c] = -Infinity;
        x.data[shape[2]! * C + c] = c % 2 ? NaN : -Infinity;
        x.data[(shape[2]! + 1) * C + c] = -Infinity;
      }
      const ho = Math.floor(shape[1]! / 2);
      const wo = Math.floor(shape[2]! / 2);
      const dy = rand([shape[0]!, ho, wo, C], 12);
      const f = () => {
        const xt = T(x) as tf.Tensor4D;
        return tf.engine().runKernel('MaxPoolGrad', { dy: T(dy), input: xt, output: tf.maxPool(xt, 2, 2, 'valid') }, { filterSize: 2, strides: 2, pad: 'valid' } as unknown as tf.NamedAttrMap) as tf.Tensor;
      };
      const fwd = () => tf.maxPool(T(x) as tf.Tensor4D, 2, 2, 'valid');
      const wantY = await on('cpu', fwd);
      const fwdBefore = pool.calls.get('maxpool2x2') ?? 0;
      const gotY = await on('wasm', fwd);
      assert.equal(pool.calls.get('maxpool2x2'), fwdBefore + 1, 'maxpool2x2 ran once');
      const want = await on('cpu', f);
      const before = pool.calls.get('maxpool2x2_grad') ?? 0;
      const got = await on('wasm', f);
      assert.equal(pool.calls.get('maxpool2x2_grad'), before + 1, 'maxpool2x2_grad ran once');
      process.env.ECL_WASM_SIMD_KERNELS = '0';
      let js;
      try {
        js = await on('wasm', f);
      } finally {
        delete process.env.ECL_WASM_SIMD_KERNELS;
      }
      assert.equal(pool.calls.get('maxpool2x2_grad'), before + 1, 'the JS path ran without the kernel');
      const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
      assert.ok(bits(gotY[0]!.data).equals(bits(wantY[0]!.data)), 'MaxPool: SIMD kernel vs cpu: bit-identical (NaN windows give -inf)');
      assert.ok(gotY[0]!.data.some((v) => v === -Infinity), 'an all-NaN/-inf window is in the case');
      assert.ok(bits(got[0]!.data).equals(bits(want[0]!.data)), 'SIMD kernel vs cpu: bit-identical');
      assert.ok(bits(js[0]!.data).equals(bits(want[0]!.data)), 'JS path vs cpu: bit-identical');
      assert.ok(got[0]!.data.some((v) => v === 0) && got[0]!.data.some((v) => v !== 0), 'a mix of routed and zero gradients');
    });
  }

  // Strides > 1 with Cin % 8 == 0: the input gradient runs the direct transposed conv (conv_transpose.c).
  const transposeCases: [number[], number, number, number, 'same' | 'valid'][] = [
    [[2, 16, 16, 16], 3, 32, 2, 'same'], // ResNet's downsampling conv (pad 0 before, 1 after)
    [[2, 9, 11, 8], 3, 16, 2, 'same'], // odd sizes: pad 1 on each side, last column class shorter
    [[2, 10, 9, 16], 3, 8, 2, 'valid'], // rows/columns of x no output reads get zeros
    [[1, 11, 13, 8], 5, 8, 3, 'same'], // stride 3, three residue classes
    [[2, 8, 8, 16], 1, 32, 2, 'same'], // 1x1 projection shortcut: odd rows and columns are zero
    [[1, 9, 14, 24], 4, 16, 2, 'same'], // even filter: asymmetric padding
  ];
  for (const [shape, k, cout, s, pad] of transposeCases) {
    test(`input gradient x${JSON.stringify(shape)} k${k} cout${cout} s${s} ${pad}: direct transposed-conv kernel runs and matches cpu`, async () => {
      const pool = simdPool((tf.backend() as unknown as { wasm: unknown }).wasm, 2)!;
      const x = rand(shape, 12);
      const w = rand([k, k, shape[3]!, cout], 13, 0.5);
      const g = () => tf.grad((a: tf.Tensor) => tf.sum(tf.sin(tf.conv2d(a as tf.Tensor4D, T(w) as tf.Tensor4D, s, pad))))(T(x));
      const want = await on('cpu', g);
      const before = pool.calls.get('conv_transpose') ?? 0;
      const got = await on('wasm', g);
      assert.equal(pool.calls.get('conv_transpose'), before + 1, 'conv_transpose ran once');
      assertClose(got[0]!, want[0]!, 'dx');
    });
  }

  for (const shape of [[3, 7, 9, 16], [5, 3], [40000]]) {
    test(`ReLU gradient ${JSON.stringify(shape)}: the fused kernel runs and equals dy * step(x)`, async () => {
      const pool = simdPool((tf.backend() as unknown as { wasm: unknown }).wasm, 2)!;
      const x = rand(shape, 14);
      x.data[0] = 0; // step(0) = 0: no gradient at 0
      const dy = rand(shape, 15);
      const g = () => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.relu(a), T(dy))))(T(x));
      const want = await on('cpu', g);
      const before = pool.calls.get('relu_grad') ?? 0;
      const got = await on('wasm', g);
      assert.equal(pool.calls.get('relu_grad'), before + 1, 'relu_grad ran once');
      // A select, not arithmetic: the same values (0 where tfjs's dy * 0 gives -0).
      assert.deepEqual(Array.from(got[0]!.data, (v) => v + 0), Array.from(want[0]!.data, (v) => v + 0));
    });
  }

  test('tf.batchNorm (per-channel affine map) runs the SIMD kernel and matches cpu; C % 4 != 0 takes XNNPACK', async () => {
    const pool = simdPool((tf.backend() as unknown as { wasm: unknown }).wasm, 2)!;
    for (const [shape, calls] of [[[4, 5, 7, 12], 1], [[3, 5, 6], 0]] as const) {
      const C = shape[shape.length - 1]!;
      const x = rand([...shape], 16, 3, 1);
      const [m, v, o, sc] = [rand([C], 17), rand([C], 18, 0.5, 1), rand([C], 19), rand([C], 20)];
      const f = () => tf.batchNorm(T(x), T(m) as tf.Tensor1D, T(v) as tf.Tensor1D, T(o) as tf.Tensor1D, T(sc) as tf.Tensor1D, 1e-3);
      const want = await on('cpu', f);
      const before = pool.calls.get('channel_affine') ?? 0;
      const got = await on('wasm', f);
      assert.equal(pool.calls.get('channel_affine') ?? 0, before + calls, `channel_affine ran ${calls} time(s) for ${JSON.stringify(shape)}`);
      assertClose(got[0]!, want[0]!, 'y');
    }
  });

  test('training-mode BatchNorm runs the fused SIMD kernels and matches the composite path on cpu', async () => {
    const pool = simdPool((tf.backend() as unknown as { wasm: unknown }).wasm, 2)!;
    const x = rand([6, 9, 9, 32], 8, 2, 0.5);
    const g = rand([32], 9, 0.5, 1);
    const b = rand([32], 10);
    const r = rand([6, 9, 9, 32], 11);
    const f = () => {
      const bn = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(batchNormTraining(xx, gg as tf.Tensor1D, bb as tf.Tensor1D, 1e-5).y, T(r)));
      const { mean, variance } = batchNormTraining(T(x), T(g) as tf.Tensor1D, T(b) as tf.Tensor1D, 1e-5);
      return [mean, variance, ...tf.grads(bn)([T(x), T(g), T(b)])];
    };
    const want = await on('cpu', f);
    const sums = pool.calls.get('bn_col_sums') ?? 0;
    const applies = pool.calls.get('bn_grad_apply') ?? 0;
    const got = await on('wasm', f);
    // Statistics: twice (the stats call above and inside tf.grads) plus once per gradient; one dx pass.
    assert.equal(pool.calls.get('bn_col_sums'), sums + 3);
    assert.equal(pool.calls.get('bn_grad_apply'), applies + 1);
    ['mean', 'variance', 'dx', 'dgamma', 'dbeta'].forEach((n, k) => assertClose(got[k]!, want[k]!, n));
  });

  // BatchMatMul with a transposed operand (gemm.c via wasm-gemm-kernel.ts): rows not a multiple of 4 or of the
  // 16-row unit, K across the 256-wide chunks, both transposes; small products stay on XNNPACK.
  const gemmCases: [number, number, number, boolean, boolean][] = [
    [203, 300, 72, true, false], // dW-like: Aᵀ·B
    [50, 600, 144, false, true], // dX-like: A·Bᵀ
    [64, 520, 128, true, true],
    [7, 2000, 304, false, true], // fewer rows than a tile
  ];
  for (const [M, K, N, ta, tb] of gemmCases) {
    test(`matMul ${M}x${K}x${N} transposeA=${ta} transposeB=${tb}: SIMD GEMM runs and matches cpu`, async () => {
      const pool = simdPool((tf.backend() as unknown as { wasm: unknown }).wasm, 2)!;
      const a = rand(ta ? [K, M] : [M, K], 31);
      const b = rand(tb ? [N, K] : [K, N], 32);
      const f = () => tf.matMul(T(a) as tf.Tensor2D, T(b) as tf.Tensor2D, ta, tb);
      const want = await on('cpu', f);
      const before = pool.calls.get('gemm') ?? 0;
      const got = await on('wasm', f);
      assert.equal(pool.calls.get('gemm'), before + 1, 'gemm ran once');
      assert.deepEqual(got[0]!.shape, [M, N]);
      assertClose(got[0]!, want[0]!, 'C');
    });
  }
  test('small or untransposed products stay on XNNPACK', async () => {
    const pool = simdPool((tf.backend() as unknown as { wasm: unknown }).wasm, 2)!;
    const before = pool.calls.get('gemm') ?? 0;
    await on('wasm', () => tf.matMul(T(rand([40, 30], 1)) as tf.Tensor2D, T(rand([16, 30], 2)) as tf.Tensor2D, false, true));
    await on('wasm', () => tf.matMul(T(rand([203, 300], 1)) as tf.Tensor2D, T(rand([300, 72], 2)) as tf.Tensor2D));
    assert.equal(pool.calls.get('gemm') ?? 0, before);
  });

  // bn_col_sums (batchnorm.c): the documented order — per part, float32 sums over 32-row runs, each run's sum
  // added in float64 — replayed in JS with Math.fround, bit for bit, for the statistics (mode 0) and the gradient
  // (mode 1, with and without the ReLU mask), rows not a multiple of 32 and C = 16 (two channel blocks).
  for (const [mode, masked] of [[0, false], [1, false], [1, true]] as const) {
    test(`bn_col_sums mode ${mode}${masked ? ' with mask' : ''}: the documented summation order, bit for bit`, () => {
      const backend = tf.backend() as unknown as BackendWasm;
      const pool = simdPool(backend.wasm, 2)!;
      const [rows, C, parts] = [203, 16, 3];
      const av = rand([rows, C], 21).data;
      const bv = rand([rows, C], 22, 2, 0.5).data;
      const mv = rand([C], 23, 0.3).data;
      const kv = rand([rows, C], 24).data;
      const [a, b, mean, mask] = [av, bv, mv, kv].map((d, i) => tf.tensor(d, i === 2 ? [C] : [rows, C]));
      const partial = backend.makeOutput([parts * 2 * C * 2], 'float32');
      const off = (t: tf.TensorInfo) => heapOffset(backend, t);
      pool.run('bn_col_sums', [off(a!), mode ? off(b!) : 0, mode ? off(mean!) : 0, masked ? off(mask!) : 0, off(partial), rows, C, mode, parts], parts);
      const got = Float64Array.from(f64(backend, partial));
      backend.disposeData(partial.dataId);
      tf.dispose([a!, b!, mean!, mask!]);
      const f = Math.fround;
      for (let k = 0; k < parts; k++) {
        const r0 = Math.floor((k * rows) / parts);
        const r1 = Math.floor(((k + 1) * rows) / parts);
        for (let c = 0; c < C; c++) {
          let s1 = 0;
          let s2 = 0;
          for (let r = r0; r < r1; r += 32) {
            let f1 = 0;
            let f2 = 0;
            for (let i = r; i < Math.min(r1, r + 32); i++) {
              const j = i * C + c;
              const v = masked && !(kv[j]! > 0) ? 0 : av[j]!;
              const w = mode ? f(bv[j]! - mv[c]!) : v;
              f1 = f(f1 + v);
              f2 = f(f2 + f(v * w));
            }
            s1 += f1;
            s2 += f2;
          }
          assert.equal(got[k * 2 * C + c], s1, `part ${k} channel ${c}: first sum`);
          assert.equal(got[k * 2 * C + C + c], s2, `part ${k} channel ${c}: second sum`);
        }
      }
    });
  }

  test('bit-identical on 1 thread (plain memory), 2 and 3 threads (shared memory); ECL_WASM_SIMD_KERNELS=0 turns it off', async () => {
    const one = await child({ ECL_WASM_THREADS: '1' });
    const two = await child({ ECL_WASM_THREADS: '2' });
    const three = await child({ ECL_WASM_THREADS: '3' });
    assert.match(one.simd, /on 1 thread/);
    assert.match(two.simd, /on 2 thread/);
    assert.match(three.simd, /on 3 thread/);
    assert.equal(two.bits, one.bits);
    assert.equal(three.bits, one.bits);
    const off = await child({ ECL_WASM_THREADS: '2', ECL_WASM_SIMD_KERNELS: '0' });
    assert.match(off.simd, /^off/);
    // The XNNPACK routes: close (the filter gradient sums in another order).
    const floats = (b64: string) => {
      const buf = Buffer.from(b64, 'base64');
      return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
    };
    const a = floats(one.bits);
    const b = floats(off.bits);
    assert.equal(a.length, 3 * 3 * 16 * 32 + 6 * 6 * 6 * 8 + 6 * 12 * 12 * 8 + 300 * 72 + 64 * 144);
    let maxAbs = 0;
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(b[i]!));
      maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
    }
    assert.ok(maxDiff / maxAbs < 1e-5, `SIMD vs XNNPACK routes: ${maxDiff / maxAbs}`);
  });

  test('20 trainer steps on real images: the same losses (1e-3) with and without the SIMD kernels', async () => {
    const r = await checkTrainNumerics({ model: 'cnn28', loss: 'la-ce', batch: 32, steps: 20, backends: ['wasm:nosimd', 'wasm'], tol: 1e-3, lr: 0.01, data: 'embedded' });
    assert.ok(r.pass, `max relative difference ${r.maxRelDiff.toExponential(2)}`);
    assert.match(r.ran[0]!.detail, /SIMD kernels: off/);
    assert.match(r.ran[1]!.detail, /SIMD kernels: wasm SIMD128/);
  });
});
