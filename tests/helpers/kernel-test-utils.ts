// Shared by the kernel tests (wasm and webgpu): deterministic data and the relative-error check.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';

/** Every comparison: max|got - want| / max|want| <= TOL. */
export const TOL = 1e-4;

export type Arr = { shape: number[]; data: Float32Array };

/** Deterministic pseudo-random data (xorshift), values in [-1, 1) * scale + offset. */
export function rand(shape: number[], seed: number, scale = 1, offset = 0): Arr {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    data[i] = ((s / 4294967296) * 2 - 1) * scale + offset;
  }
  return { shape, data };
}

export const T = (a: Arr) => tf.tensor(a.data, a.shape);

export function relErr(got: Float32Array | number[], want: Float32Array | number[]): number {
  assert.equal(got.length, want.length, 'length');
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num = Math.max(num, Math.abs(got[i]! - want[i]!));
    den = Math.max(den, Math.abs(want[i]!));
  }
  return den === 0 ? num : num / den;
}

export function assertClose(got: Arr, want: Arr, what: string, tol = TOL): void {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  const e = relErr(got.data, want.data);
  assert.ok(e <= tol, `${what}: relative error ${e.toExponential(2)} > ${tol}`);
}

/** Runs f on a backend (async reads: webgpu in Node has no dataSync); returns plain arrays; checks f leaks no tensors. */
export async function on(backend: string, f: () => tf.Tensor | tf.Tensor[]): Promise<Arr[]> {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const outs = tf.tidy(() => {
    const r = f();
    return Array.isArray(r) ? r : [r];
  });
  const res: Arr[] = [];
  for (const t of outs) res.push({ shape: t.shape.slice(), data: Float32Array.from((await t.data()) as Float32Array) });
  tf.dispose(outs);
  assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
  return res;
}

/** The input spec the kernel tests use for a model family (28x28x1 for cnn28, 32x32x3 otherwise). */
export function testInput(family: string): { height: number; width: number; channels: number; mean: number[]; std: number[] } {
  return family === 'cnn28'
    ? { height: 28, width: 28, channels: 1, mean: [0.5], std: [0.5] }
    : { height: 32, width: 32, channels: 3, mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26] };
}
