// EclReluGrad for tfjs-backend-wasm (relu-gradient.ts routes ReLU's gradient through it): one threaded SIMD pass
// (simd/elementwise.c) instead of tfjs's dy * step(x) (two single-threaded passes and a temporary).
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { RELU_GRAD } from './relu-gradient.js';
import { simdPool } from './simd-pool.js';
import { f32, heapOffset } from './wasm-heap.js';
import type { KernelArgs, TI } from './wasm-kernel-support.js';

/** Floats per work unit of relu_grad (RELU_BLOCK in elementwise.c). */
const RELU_BLOCK = 16384;

export function reluGrad({ inputs, backend }: KernelArgs): TI {
  const { dy, x } = inputs as Record<string, TI>;
  if (dy!.dtype !== 'float32' || x!.dtype !== 'float32' || !tf.util.arraysEqual(dy!.shape, x!.shape)) throw new Error(`${RELU_GRAD}: dy and x must be float32 of one shape`);
  const size = tf.util.sizeFromShape(x!.shape);
  const out = backend.makeOutput(x!.shape, 'float32');
  const pool = simdPool(backend.wasm, getThreadsCount());
  if (pool) {
    pool.run('relu_grad', [heapOffset(backend, dy!), heapOffset(backend, x!), heapOffset(backend, out), size], Math.ceil(size / RELU_BLOCK));
  } else {
    const [d, xv, o] = [f32(backend, dy!), f32(backend, x!), f32(backend, out)];
    for (let i = 0; i < size; i++) o[i] = xv[i]! > 0 ? d[i]! : 0;
  }
  return out;
}
