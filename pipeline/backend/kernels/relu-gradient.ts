// ReLU's gradient through the fused EclReluGrad kernel where the active backend registers one (webgpu:
// webgpu-elementwise-kernels.ts; wasm: wasm-elementwise-kernels.ts), else tfjs's dy * step(x) (two full-size
// passes and a temporary). Backend-neutral so either backend's registration can install it.
import * as tf from '@tensorflow/tfjs-core';
import { RELU_GRAD } from '../../../models/ops/batchnorm.js';

export { RELU_GRAD };

/** ReLU's gradient through EclReluGrad where the backend has it (same values as tfjs's dy * step(x), +0 for -0). */
export function registerReluGradient(): void {
  tf.registerGradient({
    kernelName: tf.Relu,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as [tf.Tensor];
      const d = dy as tf.Tensor;
      if (x.dtype === 'float32' && tf.getKernel(RELU_GRAD, tf.getBackend())) return { x: () => tf.engine().runKernel(RELU_GRAD, { dy: d, x }, {}) as tf.Tensor };
      return { x: () => tf.mul(d, tf.cast(tf.step(x), 'float32')) };
    },
  });
}
