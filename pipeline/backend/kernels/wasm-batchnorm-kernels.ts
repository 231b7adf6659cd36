// Fused training-mode BatchNorm kernels for tfjs-backend-wasm: the BN_STATS / BN_GRAD kernels that
// models/ops/batchnorm.ts uses when a backend registers them (webgpu has its own). Per BN layer and step the
// composite path makes 11 full-size passes (means, centring, squares, sums, two affine maps, an add); these
// make 3 (statistics; the two gradient sums; dx), on the SIMD kernels of pipeline/backend/kernels/simd/batchnorm.c.
//
// Sums run in float64 over a fixed split of the rows (BN_PARTS parts, added in order), so the statistics and
// gradients do not depend on the thread count. Channel counts that are not a multiple of 8, or a backend
// without the SIMD pool, take the same formulas in plain JS.
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BN_GRAD, BN_STATS } from '../../../models/ops/batchnorm.js';
import { simdPool } from './simd-pool.js';
import { f32, f64, heapOffset } from './wasm-heap.js';

type TI = tf.TensorInfo;
type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: tf.NamedAttrMap };

const BN_PARTS = 8;

/**
 * Per-channel [sum a, sum a^2] (mode 0) or [sum a, sum a*(b - mean)] (mode 1) over every row, in float64; with a
 * mask (mode 1 only), a reads as 0 where mask <= 0 (ReLU's gradient, mask = the ReLU's output).
 */
function columnSums(backend: BackendWasm, a: TI, b: TI | null, mean: TI | null, rows: number, C: number, mask: TI | null = null): [Float64Array, Float64Array] {
  const s1 = new Float64Array(C);
  const s2 = new Float64Array(C);
  const pool = C % 8 === 0 ? simdPool(backend.wasm, getThreadsCount()) : null;
  if (pool) {
    const partial = backend.makeOutput([BN_PARTS * 2 * C * 2], 'float32'); // BN_PARTS x 2 x C doubles
    const at = (t: TI | null) => (t ? heapOffset(backend, t) : 0);
    pool.run('bn_col_sums', [at(a), at(b), at(mean), at(mask), heapOffset(backend, partial), rows, C, b ? 1 : 0, BN_PARTS], BN_PARTS);
    const p = f64(backend, partial);
    for (let k = 0; k < BN_PARTS; k++) {
      for (let c = 0; c < C; c++) {
        s1[c] += p[k * 2 * C + c]!;
        s2[c] += p[k * 2 * C + C + c]!;
      }
    }
    backend.disposeData(partial.dataId);
    return [s1, s2];
  }
  const av = f32(backend, a);
  const bv = b ? f32(backend, b) : null;
  const mv = mean ? f32(backend, mean) : null;
  const kv = mask ? f32(backend, mask) : null;
  for (let r = 0, i = 0; r < rows; r++) {
    for (let c = 0; c < C; c++, i++) {
      const v = kv && !(kv[i]! > 0) ? 0 : av[i]!;
      s1[c] += v;
      s2[c] += bv ? v * (bv[i]! - mv![c]!) : v * v;
    }
  }
  return [s1, s2];
}

function rowsCols(x: TI): [number, number] {
  const C = x.shape[x.shape.length - 1]!;
  return [tf.util.sizeFromShape(x.shape) / C, C];
}

/** [mean, variance] over every axis but the last (biased variance). */
export function batchNormStats({ inputs, backend }: KernelArgs): TI[] {
  const x = inputs.x!;
  if (x.dtype !== 'float32') throw new Error(`${BN_STATS}: float32 input expected, got ${x.dtype}`);
  const [rows, C] = rowsCols(x);
  const [s, sq] = columnSums(backend, x, null, null, rows, C);
  const mean = backend.makeOutput([C], 'float32');
  const variance = backend.makeOutput([C], 'float32');
  const mv = f32(backend, mean);
  const vv = f32(backend, variance);
  for (let c = 0; c < C; c++) {
    const m = s[c]! / rows;
    mv[c] = m;
    vv[c] = Math.max(0, sq[c]! / rows - m * m);
  }
  return [mean, variance];
}

/**
 * [dx, dgamma, dbeta] of training-mode BN (the formulas of models/ops/batchnorm.ts): with s = rsqrt(var + eps)
 * and n rows, dbeta = sum(dy), dgamma = s * sum(dy * (x - mean)), dx = A*dy + B*(x - mean) + D where
 * A = gamma*s, B = -gamma*s^2*dgamma/n, D = -gamma*s*dbeta/n. With the optional input mask (the output of a ReLU
 * after the BN, x's shape), dy is first taken as 0 where mask <= 0: the gradient of BN followed by ReLU.
 */
export function batchNormGrad({ inputs, backend, attrs }: KernelArgs): TI[] {
  const { dy, x, mean, variance, gamma, mask } = inputs as Record<string, TI>;
  const epsilon = (attrs as unknown as { epsilon: number }).epsilon;
  for (const t of [dy!, x!, mean!, variance!, gamma!, ...(mask ? [mask] : [])]) if (t.dtype !== 'float32') throw new Error(`${BN_GRAD}: float32 inputs expected`);
  if (mask && !tf.util.arraysEqual(mask.shape, x!.shape)) throw new Error(`${BN_GRAD}: mask must have x's shape`);
  const [rows, C] = rowsCols(x!);
  const [sdy, sdyx] = columnSums(backend, dy!, x!, mean!, rows, C, mask ?? null);
  const dgamma = backend.makeOutput([C], 'float32');
  const dbeta = backend.makeOutput([C], 'float32');
  const coef = backend.makeOutput([4 * C], 'float32');
  {
    const g = f32(backend, gamma!);
    const m = f32(backend, mean!);
    const v = f32(backend, variance!);
    const dg = f32(backend, dgamma);
    const db = f32(backend, dbeta);
    const k = f32(backend, coef);
    for (let c = 0; c < C; c++) {
      const s = 1 / Math.sqrt(v[c]! + epsilon);
      const dgc = s * sdyx[c]!;
      dg[c] = dgc;
      db[c] = sdy[c]!;
      k[c] = g[c]! * s;
      k[C + c] = (-g[c]! * s * s * dgc) / rows;
      k[2 * C + c] = (-g[c]! * s * sdy[c]!) / rows;
      k[3 * C + c] = m[c]!;
    }
  }
  const dx = backend.makeOutput(x!.shape, 'float32');
  const pool = C % 4 === 0 ? simdPool(backend.wasm, getThreadsCount()) : null;
  if (pool) {
    pool.run('bn_grad_apply', [heapOffset(backend, dy!), heapOffset(backend, x!), mask ? heapOffset(backend, mask) : 0, heapOffset(backend, coef), heapOffset(backend, dx), C], rows);
  } else {
    const [dyv, xv, k, out] = [f32(backend, dy!), f32(backend, x!), f32(backend, coef), f32(backend, dx)];
    const kv = mask ? f32(backend, mask) : null;
    for (let r = 0, i = 0; r < rows; r++) {
      for (let c = 0; c < C; c++, i++) out[i] = k[c]! * (kv && !(kv[i]! > 0) ? 0 : dyv[i]!) + k[C + c]! * (xv[i]! - k[3 * C + c]!) + k[2 * C + c]!;
    }
  }
  backend.disposeData(coef.dataId);
  return [dx, dgamma, dbeta];
}
