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
 * y has a hand-written gradient (tf.customGrad) built from per-channel reductions, so the backward pass
 * costs two reductions and three full-size elementwise ops on any backend, instead of autodiff through
 * moments (which materialises several full-size broadcasts). With xc = x - mean, s = rsqrt(var + eps):
 *   dbeta  = sum(dy)                    dgamma = s * sum(dy * xc)
 *   dx     = gamma * s * (dy - dbeta / n - xc * s^2 * sum(dy * xc) / n)
 * mean/variance are returned for running-stat updates only; no gradient flows through them.
 */
export function batchNormTraining(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): BatchNormTrainingResult {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const channels = x.shape[x.rank - 1]!;
  const n = x.size / channels;
  const mean = tf.mean(x, axes) as tf.Tensor1D;
  const variance = tf.mean(tf.squaredDifference(x, mean), axes) as tf.Tensor1D;

  const bn = tf.customGrad((xIn, gIn, bIn, save) => {
    const xt = xIn as tf.Tensor;
    const g = gIn as tf.Tensor1D;
    // mean/variance are created before this op, so saving them adds no new backend buffers.
    (save as tf.GradSaveFunc)([xt, g, mean, variance]);
    const value = tf.batchNorm(xt, mean, variance, bIn as tf.Tensor1D, g, epsilon);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [xs, gs, m, v] = saved as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
      const invStd = tf.rsqrt(tf.add(v, epsilon));
      const dbeta = tf.sum(dy, axes);
      // sum(dy * (x - mean)) = sum(dy * x) - mean * sum(dy): one full-size op instead of two.
      const sdyxc = tf.sub(tf.sum(tf.mul(dy, xs), axes), tf.mul(m, dbeta));
      const dgamma = tf.mul(sdyxc, invStd);
      const a = tf.mul(gs, invStd);
      // u = -(a/n) * (dbeta + xc * s * dgamma), as one fused per-channel affine of x.
      const aOverN = tf.mul(a, -1 / n);
      const u = tf.batchNorm(xs, m, v, tf.mul(aOverN, dbeta), tf.mul(aOverN, dgamma), epsilon);
      const dx = tf.add(tf.mul(dy, a), u);
      return [dx, dgamma, dbeta];
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
