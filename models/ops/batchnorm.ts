// Batch normalisation over all axes but the last (NHWC or NC).
import * as tf from '@tensorflow/tfjs-core';

export interface BatchNormTrainingResult {
  y: tf.Tensor;
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

/** Training-mode BN with batch statistics (biased variance, as in the forward pass of PyTorch/Keras). */
export function batchNormTraining(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): BatchNormTrainingResult {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const { mean, variance } = tf.moments(x, axes);
  const y = tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, epsilon))), gamma), beta);
  return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
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
