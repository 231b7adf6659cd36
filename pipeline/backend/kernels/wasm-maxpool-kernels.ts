// MaxPool and MaxPoolGrad for tfjs-backend-wasm: 2x2 stride-2 'valid' pools (cnn28's) as threaded SIMD kernels
// (simd/elementwise.c), both with the tfjs cpu rule (the first maximum by a strict '>' scan from -inf); other
// pools: the stock MaxPool, and one JS pass over the windows for the gradient.
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { simdPool } from './simd-pool.js';
import { f32, heapOffset } from './wasm-heap.js';
import { stock, type KernelArgs, type TI } from './wasm-kernel-support.js';

/** 2x2 stride-2 with no padding and at least one output: the SIMD kernels' case. */
function twoByTwoValid(info: tf.backend_util.Conv2DInfo): boolean {
  const { inHeight: H, inWidth: W, outHeight: ho, outWidth: wo, batchSize: n, inChannels: C } = info;
  const { strideHeight: sh, strideWidth: sw, effectiveFilterHeight: fh, effectiveFilterWidth: fw } = info;
  return fh === 2 && fw === 2 && sh === 2 && sw === 2 && info.padInfo.top === 0 && info.padInfo.left === 0 && 2 * ho <= H && 2 * wo <= W && n * ho * wo * C > 0;
}

const poolInfo = (x: TI, attrs: KernelArgs['attrs']) =>
  tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], attrs.filterSize as [number, number], attrs.strides as [number, number], 1, attrs.pad as 'same', attrs.dimRoundingMode as 'floor' | undefined);

// ---------------------------------------------------------------------------------------------
// MaxPool: XNNPACK's single-threaded pool took ~8 ms for cnn28's [384,28,28,32] (a memory-bound pass).

export function maxPool(args: KernelArgs): TI {
  const { inputs, backend, attrs } = args;
  const x = inputs.x!;
  if (x.dtype !== 'float32' || x.shape.length !== 4) return stock(tf.MaxPool)(args) as TI;
  const info = poolInfo(x, attrs);
  const pool = twoByTwoValid(info) ? simdPool(backend.wasm, getThreadsCount()) : null;
  if (!pool) return stock(tf.MaxPool)(args) as TI;
  const out = backend.makeOutput([info.batchSize, info.outHeight, info.outWidth, info.inChannels], 'float32');
  pool.run('maxpool2x2', [heapOffset(backend, x), heapOffset(backend, out), info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth], info.batchSize * info.outHeight);
  return out;
}

// ---------------------------------------------------------------------------------------------
// MaxPoolGrad: gradient to the first maximum of each window (row-major scan, strict '>'), exactly
// the tfjs cpu rule. Stock wasm loops over dx and re-derives windows per element (~35 ms for
// [128,14,14,64]); this does one pass over the windows.

export function maxPoolGrad(args: KernelArgs): TI {
  const { inputs, backend, attrs } = args;
  const dy = inputs.dy!;
  const x = inputs.input!;
  if (x.dtype !== 'float32') return stock(tf.MaxPoolGrad)(args) as TI;
  const info = poolInfo(x, attrs);
  const { batchSize: n, inHeight: H, inWidth: W, inChannels: C, outHeight: ho, outWidth: wo } = info;
  const { strideHeight: sh, strideWidth: sw, effectiveFilterHeight: fh, effectiveFilterWidth: fw } = info;
  const { top, left } = info.padInfo;
  const out = backend.makeOutput(x.shape, 'float32');
  const twoByTwo = twoByTwoValid(info);
  const pool = twoByTwo ? simdPool(backend.wasm, getThreadsCount()) : null;
  if (pool) {
    // Writes every element of dx (zeros outside the windows): no fill pass.
    pool.run('maxpool2x2_grad', [heapOffset(backend, x), heapOffset(backend, dy), heapOffset(backend, out), H, W, C, ho, wo], n * ho);
    return out;
  }
  const xv = f32(backend, x);
  const dyv = f32(backend, dy);
  const dxv = f32(backend, out);
  dxv.fill(0);
  if (twoByTwo) {
    // Without the SIMD kernels: the usual 2x2/2 'valid' pool: four candidates per output, no bounds checks.
    const rowStride = W * C;
    for (let b = 0; b < n; b++) {
      for (let yr = 0; yr < ho; yr++) {
        for (let yc = 0; yc < wo; yc++) {
          const p00 = ((b * H + 2 * yr) * W + 2 * yc) * C;
          const p10 = p00 + rowStride;
          const ob = ((b * ho + yr) * wo + yc) * C;
          for (let d = 0; d < C; d++) {
            let m = -Infinity;
            let p = -1;
            let v = xv[p00 + d]!;
            if (v > m) (m = v), (p = p00 + d);
            v = xv[p00 + C + d]!;
            if (v > m) (m = v), (p = p00 + C + d);
            v = xv[p10 + d]!;
            if (v > m) (m = v), (p = p10 + d);
            v = xv[p10 + C + d]!;
            if (v > m) (m = v), (p = p10 + C + d);
            if (p >= 0) dxv[p] = dyv[ob + d]!;
          }
        }
      }
    }
    return out;
  }
  const best = new Float32Array(C);
  const pos = new Int32Array(C);
  for (let b = 0; b < n; b++) {
    for (let yr = 0; yr < ho; yr++) {
      const r0 = yr * sh - top;
      const rMin = Math.max(0, r0);
      const rMax = Math.min(H, r0 + fh);
      for (let yc = 0; yc < wo; yc++) {
        const c0 = yc * sw - left;
        const cMin = Math.max(0, c0);
        const cMax = Math.min(W, c0 + fw);
        best.fill(-Infinity);
        pos.fill(-1);
        for (let r = rMin; r < rMax; r++) {
          for (let cc = cMin; cc < cMax; cc++) {
            const base = ((b * H + r) * W + cc) * C;
            for (let d = 0; d < C; d++) {
              const v = xv[base + d]!;
              if (v > best[d]!) {
                best[d] = v;
                pos[d] = base + d;
              }
            }
          }
        }
        const ob = ((b * ho + yr) * wo + yc) * C;
        for (let d = 0; d < C; d++) {
          const p = pos[d]!;
          if (p >= 0) dxv[p]! += dyv[ob + d]!;
        }
      }
    }
  }
  return out;
}
