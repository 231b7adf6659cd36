// Parameter updates of the trainer: SGD with momentum (PyTorch convention) and BN running statistics.
// A backend may install in-place updaters (webgpu does: pipeline/backend/kernels/webgpu-training-kernels.ts),
// one GPU dispatch per parameter that rewrites the weight and velocity buffers; otherwise a backend that
// registers EclLinearCombination does each update as one fused op, and all others as separate tfjs ops.
// The arithmetic is the same on every path.
import * as tf from '@tensorflow/tfjs-core';

export const LINEAR_COMBINATION = 'EclLinearCombination';

export interface SgdHyper {
  lr: number;
  momentum: number;
  /** 0 for parameters without weight decay. */
  weightDecay: number;
}

/** In-place update kernels of one backend; each returns false when it cannot take the case. */
export interface InPlaceUpdater {
  /** v = mu*v + g + wd*w; w -= lr*v. */
  sgd(w: tf.Variable, v: tf.Variable, g: tf.Tensor, o: SgdHyper): boolean;
  /** mean_r = m*mean_r + (1-m)*mean; var_r = m*var_r + (1-m)*variance. */
  running(meanR: tf.Variable, mean: tf.Tensor, varR: tf.Variable, variance: tf.Tensor, m: number): boolean;
}

const inPlace = new Map<string, InPlaceUpdater>();

export function registerInPlaceUpdater(backendName: string, u: InPlaceUpdater): void {
  inPlace.set(backendName, u);
}

function fused(): boolean {
  return tf.getKernel(LINEAR_COMBINATION, tf.getBackend()) !== undefined;
}

/** v = mu*v + g + wd*w; w -= lr*v (on the two variables). */
export function sgdMomentumStep(w: tf.Variable, v: tf.Variable, g: tf.Tensor, o: SgdHyper): void {
  if (inPlace.get(tf.getBackend())?.sgd(w, v, g, o)) return;
  if (fused()) {
    v.assign(tf.engine().runKernel(LINEAR_COMBINATION, { x: v, y: g, z: w }, { a: o.momentum, b: 1, c: o.weightDecay }) as tf.Tensor);
    w.assign(tf.engine().runKernel(LINEAR_COMBINATION, { x: w, y: v }, { a: 1, b: -o.lr }) as tf.Tensor);
    return;
  }
  const gd = o.weightDecay > 0 ? tf.add(g, tf.mul(w, o.weightDecay)) : g;
  v.assign(tf.add(tf.mul(v, o.momentum), gd));
  w.assign(tf.sub(w, tf.mul(v, o.lr)));
}

/** BN running statistics: running = m*running + (1-m)*batch, for the mean and the variance. */
export function runningStatsStep(meanR: tf.Variable, mean: tf.Tensor, varR: tf.Variable, variance: tf.Tensor, m: number): void {
  if (inPlace.get(tf.getBackend())?.running(meanR, mean, varR, variance, m)) return;
  for (const [r, b] of [
    [meanR, mean],
    [varR, variance],
  ] as const) {
    if (fused()) r.assign(tf.engine().runKernel(LINEAR_COMBINATION, { x: r, y: b }, { a: m, b: 1 - m }) as tf.Tensor);
    else r.assign(tf.add(tf.mul(r, m), tf.mul(b, 1 - m)));
  }
}
