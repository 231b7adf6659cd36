// Batch normalisation over all axes but the last (NHWC or NC).
import * as tf from '@tensorflow/tfjs-core';

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
