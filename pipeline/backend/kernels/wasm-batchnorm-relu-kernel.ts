// EclBatchNormRelu for tfjs-backend-wasm: y = relu(batchNorm(x) [+ residual]) in one threaded SIMD pass
// (simd/elementwise.c channel_affine_relu) instead of three (the affine map, tfjs's Add, tfjs's Relu). The same
// float32 operations in the same order as those three kernels, so the values are bit-identical to them.
// models/ops/batchnorm.ts uses it for BatchNorm -> ReLU and BatchNorm -> add -> ReLU in training.
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { BN_RELU } from '../../../models/ops/batchnorm.js';
import { simdPool } from './simd-pool.js';
import { affineCoefficients, affineScale, channelVector } from './wasm-fused-batchnorm-kernel.js';
import { f32, heapOffset } from './wasm-heap.js';
import type { KernelArgs, TI } from './wasm-kernel-support.js';

/** Inputs x, mean, variance, gamma, beta and optionally residual (x's shape); attrs: epsilon. */
export function batchNormRelu({ inputs, backend, attrs }: KernelArgs): TI {
  const { x, mean, variance, gamma, beta, residual } = inputs as Record<string, TI | undefined>;
  if (!x || x.dtype !== 'float32') throw new Error(`${BN_RELU}: float32 x expected`);
  if (residual && (residual.dtype !== 'float32' || !tf.util.arraysEqual(residual.shape, x.shape))) throw new Error(`${BN_RELU}: residual must be float32 of x's shape`);
  const eps = (attrs as unknown as { epsilon: number }).epsilon;
  const C = x.shape[x.shape.length - 1]!;
  const rows = tf.util.sizeFromShape(x.shape) / C;
  const m = channelVector(backend, mean, C, BN_RELU, 'mean');
  const s = affineScale(channelVector(backend, gamma, C, BN_RELU, 'gamma'), channelVector(backend, variance, C, BN_RELU, 'variance'), eps);
  const t = channelVector(backend, beta, C, BN_RELU, 'beta');
  const out = backend.makeOutput(x.shape, 'float32');
  const pool = C % 4 === 0 ? simdPool(backend.wasm, getThreadsCount()) : null;
  if (pool) {
    const coef = affineCoefficients(backend, s, t, m);
    pool.run('channel_affine_relu', [heapOffset(backend, x), heapOffset(backend, coef), residual ? heapOffset(backend, residual) : 0, heapOffset(backend, out), C], rows);
    backend.disposeData(coef.dataId);
    return out;
  }
  // Each step rounded to float32, as the SIMD pass computes it.
  const [xv, rv, o] = [f32(backend, x), residual ? f32(backend, residual) : null, f32(backend, out)];
  const fr = Math.fround;
  for (let r = 0, i = 0; r < rows; r++) {
    for (let c = 0; c < C; c++, i++) {
      let v = fr(fr(fr(xv[i]! - m[c]!) * s[c]!) + t[c]!);
      if (rv) v = fr(v + rv[i]!);
      o[i] = v > 0 ? v : 0;
    }
  }
  return out;
}
