// Batch normalisation over all axes but the last (NHWC or NC).
import * as tf from '@tensorflow/tfjs-core';
import { settings } from '../settings.js';

export interface BatchNormTrainingResult {
  y: tf.Tensor;
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

/**
 * Training-mode BN with batch statistics (biased variance, as in the forward pass of PyTorch/Keras).
 *
 * y has a hand-written gradient (tf.customGrad) built from per-channel reductions. With
 * xc = x - mean, s = rsqrt(var + eps), n = elements per channel:
 *   dbeta  = sum(dy)            dgamma = s * sum(dy * xc)
 *   dx     = gamma * s * dy  -  (gamma * s / n) * (dbeta + xc * s * dgamma)
 * Every full-size step is either a same-shape elementwise op or tf.batchNorm (a per-channel affine
 * map, one fused kernel on every backend); per-channel vectors are only ever broadcast, never tiled.
 * Backward: one multiply, two reductions, two batchNorm passes and one add. mean/variance are
 * returned for running-stat updates only; no gradient flows through them.
 */
/** Fused kernels a backend may register (webgpu does: pipeline/backend/kernels/webgpu-training-kernels.ts). */
export const BN_STATS = 'EclBatchNormStats';
export const BN_GRAD = 'EclBatchNormGrad';
/**
 * y = relu(BN(x) [+ residual]) with x, mean, variance, gamma, beta [, residual] and attrs { epsilon }: the same
 * values as tf.batchNorm, tf.add and tf.relu, in one pass (wasm registers it; its BN_GRAD then takes a `mask`).
 */
export const BN_RELU = 'EclBatchNormRelu';
/** dx = dy where x > 0, else 0 (inputs dy, x; float32): ReLU's gradient as one kernel (wasm and webgpu have it). */
export const RELU_GRAD = 'EclReluGrad';

/**
 * The same BN with two fused kernels: [mean, variance] = BN_STATS(x) and [dx, dgamma, dbeta] =
 * BN_GRAD(dy, x, mean, variance, gamma) (same formulas as below). On a GPU every kernel launch costs CPU
 * time; this path is ~10 launches per BN layer and step instead of ~25.
 */
function batchNormTrainingFused(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): BatchNormTrainingResult {
  const [mean, variance] = tf.engine().runKernel(BN_STATS, { x }, {}) as [tf.Tensor1D, tf.Tensor1D];
  const bn = tf.customGrad((xIn, gIn, bIn, save) => {
    (save as tf.GradSaveFunc)([xIn as tf.Tensor, gIn as tf.Tensor, mean, variance]);
    const value = tf.batchNorm(xIn as tf.Tensor, mean, variance, bIn as tf.Tensor1D, gIn as tf.Tensor1D, epsilon);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [xs, g, m, v] = saved as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
      return tf.engine().runKernel(BN_GRAD, { dy, x: xs, mean: m, variance: v, gamma: g }, { epsilon }) as tf.Tensor[];
    };
    return { value, gradFunc };
  });
  return { y: bn(x, gamma, beta), mean, variance };
}

export function batchNormTraining(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): BatchNormTrainingResult {
  if (x.dtype === 'float32' && tf.getKernel(BN_GRAD, tf.getBackend()) !== undefined) return batchNormTrainingFused(x, gamma, beta, epsilon);
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const channels = x.shape[x.rank - 1]!;
  const n = x.size / channels;
  const mean = tf.mean(x, axes) as tf.Tensor1D;
  const zero = tf.zerosLike(mean);
  const one = tf.onesLike(mean);
  // xc = x - mean as a per-channel affine map (same kernel as the normalisation itself). Offset and
  // scale are always passed: tfjs's own FusedBatchNorm gradient config saves them unconditionally.
  const xc = tf.batchNorm(x, mean, one, zero, one, 0);
  const variance = tf.mean(tf.mul(xc, xc), axes) as tf.Tensor1D;

  // Only x, gamma, beta are inputs of the custom op, so the gradient never flows into mean/variance.
  // xc/variance/zero exist before the op runs: saving them allocates no new backend buffers.
  const bn = tf.customGrad((xIn, gIn, bIn, save) => {
    (save as tf.GradSaveFunc)([xc, gIn as tf.Tensor, variance, zero]);
    const value = tf.batchNorm(xc, zero, variance, bIn as tf.Tensor1D, gIn as tf.Tensor1D, epsilon);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [xcs, g, v, z] = saved as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
      const invStd = tf.rsqrt(tf.add(v, epsilon));
      const dbeta = tf.sum(dy, axes);
      const dgamma = tf.mul(tf.sum(tf.mul(dy, xcs), axes), invStd);
      const c = tf.mul(tf.mul(g, invStd), -1 / n);
      // u = c * (dbeta + xc * s * dgamma)
      const u = tf.batchNorm(xcs, z, v, tf.mul(c, dbeta), tf.mul(c, dgamma), epsilon);
      // gamma * s * dy
      const scaled = tf.batchNorm(dy, z, v, z, g, epsilon);
      return [tf.add(scaled, u), dgamma, dbeta];
    };
    return { value, gradFunc };
  });
  const y = bn(x, gamma, beta);
  return { y, mean, variance };
}

/**
 * relu(BN(x) [+ residual]) in training mode: what batchNormTraining, tf.add and tf.relu compute, with the same
 * values. Where the backend has BN_RELU (wasm) the forward is one pass, and the gradient folds ReLU's mask into
 * BN_GRAD's two passes (without a residual; with one, the masked dy is needed as the residual's gradient anyway,
 * so it is computed once by ReLU's gradient kernel and fed to BN_GRAD). Elsewhere (webgpu, cpu, or
 * ECL_FUSE_BN_RELU=0) it is those three ops.
 */
export function batchNormReluTraining(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number, residual?: tf.Tensor): BatchNormTrainingResult {
  const backend = tf.getBackend();
  if (x.dtype !== 'float32' || !settings.fuseBatchNormRelu() || !tf.getKernel(BN_RELU, backend) || !tf.getKernel(BN_GRAD, backend) || !tf.getKernel(BN_STATS, backend) || !tf.getKernel(RELU_GRAD, backend)) {
    const r = batchNormTraining(x, gamma, beta, epsilon);
    return { ...r, y: tf.relu(residual ? tf.add(r.y, residual) : r.y) };
  }
  const [mean, variance] = tf.engine().runKernel(BN_STATS, { x }, {}) as [tf.Tensor1D, tf.Tensor1D];
  const forward = (xIn: tf.Tensor, g: tf.Tensor, b: tf.Tensor, res?: tf.Tensor) =>
    tf.engine().runKernel(BN_RELU, { x: xIn, mean, variance, gamma: g, beta: b, ...(res ? { residual: res } : {}) }, { epsilon }) as tf.Tensor;
  // Saved: x, gamma, the batch statistics and the output y (its sign is ReLU's mask). Saving keeps them alive
  // until the backward pass (tidy would dispose the statistics otherwise).
  const grad = (dy: tf.Tensor, saved: tf.Tensor[], withResidual: boolean): tf.Tensor[] => {
    const [xs, g, mean, variance, y] = saved as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D, tf.Tensor];
    if (!withResidual) return tf.engine().runKernel(BN_GRAD, { dy, x: xs, mean, variance, gamma: g, mask: y }, { epsilon }) as tf.Tensor[];
    const dz = tf.engine().runKernel(RELU_GRAD, { dy, x: y }, {}) as tf.Tensor;
    return [...(tf.engine().runKernel(BN_GRAD, { dy: dz, x: xs, mean, variance, gamma: g }, { epsilon }) as tf.Tensor[]), dz];
  };
  const op = residual
    ? tf.customGrad((xIn, gIn, bIn, rIn, save) => {
        const value = forward(xIn as tf.Tensor, gIn as tf.Tensor, bIn as tf.Tensor, rIn as tf.Tensor);
        (save as tf.GradSaveFunc)([xIn as tf.Tensor, gIn as tf.Tensor, mean, variance, value]);
        return { value, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => grad(dy, saved, true) };
      })
    : tf.customGrad((xIn, gIn, bIn, save) => {
        const value = forward(xIn as tf.Tensor, gIn as tf.Tensor, bIn as tf.Tensor);
        (save as tf.GradSaveFunc)([xIn as tf.Tensor, gIn as tf.Tensor, mean, variance, value]);
        return { value, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => grad(dy, saved, false) };
      });
  const y = residual ? (op as (...t: tf.Tensor[]) => tf.Tensor)(x, gamma, beta, residual) : (op as (...t: tf.Tensor[]) => tf.Tensor)(x, gamma, beta);
  return { y, mean, variance };
}

export function batchNormInference(
  x: tf.Tensor,
  movingMean: tf.Tensor1D,
  movingVariance: tf.Tensor1D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
): tf.Tensor {
  const scale = tf.mul(gamma, tf.rsqrt(tf.add(movingVariance, epsilon)));
  return tf.add(tf.mul(tf.sub(x, movingMean), scale), beta);
}
