// FusedBatchNorm (tf.batchNorm, the per-channel affine map) for tfjs-backend-wasm: one threaded SIMD pass
// (simd/elementwise.c channel_affine) where the SIMD kernels are on and C % 4 == 0, else XNNPACK 1x1 depthwise
// convs. Not to be confused with wasm-batchnorm-kernels.ts (the fused training-mode BN_STATS / BN_GRAD kernels).
// Split out of wasm-training-kernels.ts.
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { simdPool } from './simd-pool.js';
import { f32, heapOffset } from './wasm-heap.js';
import { call, stock, type Attrs, type KernelArgs, type TI } from './wasm-kernel-support.js';

// ---------------------------------------------------------------------------------------------
// FusedBatchNorm (tf.batchNorm) with per-channel parameters: stock wasm evaluates
// offset + (x - mean) * scale * rsqrt(var + eps) with four modulo indices per element (~10 ms per
// 2M elements); here it is one XNNPACK 1x1 depthwise conv (x * s + t), plus one more for x - mean
// when mean is non-zero (kept separate so large means do not cancel against the offset).

function channelParam(backend: BackendWasm, t: TI | undefined, c: number, dflt: number): Float64Array | null {
  const out = new Float64Array(c);
  if (t == null) return out.fill(dflt);
  const size = tf.util.sizeFromShape(t.shape);
  if (t.dtype !== 'float32' || (size !== c && size !== 1)) return null;
  const v = f32(backend, t);
  for (let i = 0; i < c; i++) out[i] = v[size === 1 ? 0 : i]!;
  return out;
}

/** Per-channel float32 scale gamma * rsqrt(var + eps), rounded as tfjs's own FusedBatchNorm does. */
export function affineScale(gamma: Float64Array, variance: Float64Array, eps: number): Float64Array {
  return gamma.map((g, i) => Math.fround(g * Math.fround(1 / Math.sqrt(Math.fround(variance[i]! + eps)))));
}

/** [s | t | m] as one float32 heap tensor: the coef argument of channel_affine and channel_affine_relu. */
export function affineCoefficients(backend: BackendWasm, s: Float64Array, t: Float64Array, m: Float64Array): TI {
  const c = s.length;
  const coef = backend.makeOutput([3 * c], 'float32');
  const k = f32(backend, coef);
  k.set(s, 0);
  k.set(t, c);
  k.set(m, 2 * c);
  return coef;
}

/** channelParam for a required [C] float32 parameter of a fused kernel (a clear error otherwise). */
export function channelVector(backend: BackendWasm, t: TI | undefined, c: number, kernel: string, name: string): Float64Array {
  const v = t ? channelParam(backend, t, c, 0) : null;
  if (!v || tf.util.sizeFromShape(t!.shape) !== c) throw new Error(`${kernel}: ${name} must be float32 of shape [${c}]`);
  return v;
}

function depthwiseAffine(backend: BackendWasm, x: TI, w: Float64Array, b: Float64Array): TI {
  const c = w.length;
  const filter = backend.makeOutput([1, 1, c, 1], 'float32');
  const bias = backend.makeOutput([c], 'float32');
  f32(backend, filter).set(w);
  f32(backend, bias).set(b);
  const out = call(tf.FusedDepthwiseConv2D, backend, { x, filter, bias }, {
    strides: [1, 1],
    pad: 'valid',
    dilations: [1, 1],
    dataFormat: 'NHWC',
    activation: 'linear',
  } as unknown as Attrs);
  backend.disposeData(filter.dataId);
  backend.disposeData(bias.dataId);
  return out;
}

export function fusedBatchNorm(args: KernelArgs): TI {
  const { inputs, backend, attrs } = args;
  const x = inputs.x!;
  if (x.dtype !== 'float32' || x.shape.length !== 4) return stock(tf.FusedBatchNorm)(args) as TI;
  const c = x.shape[3]!;
  const eps = (attrs.varianceEpsilon as number | undefined) ?? 0.001;
  const m = channelParam(backend, inputs.mean, c, 0);
  const v = channelParam(backend, inputs.variance, c, 1);
  const off = channelParam(backend, inputs.offset, c, 0);
  const sc = channelParam(backend, inputs.scale, c, 1);
  if (!m || !v || !off || !sc) return stock(tf.FusedBatchNorm)(args) as TI;
  const s = affineScale(sc, v, eps);
  const pool = c % 4 === 0 ? simdPool(backend.wasm, getThreadsCount()) : null;
  if (pool) {
    // y = (x - m) * s + t: the same operations, in the same order, as the two depthwise passes below.
    const coef = affineCoefficients(backend, s, off, m);
    const out = backend.makeOutput(x.shape, 'float32');
    pool.run('channel_affine', [heapOffset(backend, x), heapOffset(backend, coef), heapOffset(backend, out), c], tf.util.sizeFromShape(x.shape) / c);
    backend.disposeData(coef.dataId);
    return out;
  }
  let cur = x;
  if (m.some((e) => e !== 0)) {
    cur = depthwiseAffine(backend, x, new Float64Array(c).fill(1), m.map((e) => -e));
    if (s.every((e) => e === 1) && off.every((e) => e === 0)) return cur;
  }
  const out = depthwiseAffine(backend, cur, s, off);
  if (cur !== x) backend.disposeData(cur.dataId);
  return out;
}
