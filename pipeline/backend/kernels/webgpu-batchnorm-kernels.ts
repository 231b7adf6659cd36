// The fused training-mode BatchNorm kernels BN_STATS / BN_GRAD for tfjs-backend-webgpu (models/ops/batchnorm.ts
// uses them when registered): statistics in 4 dispatches, the gradient in 5, on the column reductions of
// webgpu-column-reduce-kernels.ts plus two elementwise programs. Split out of webgpu-training-kernels.ts.
import type * as tf from '@tensorflow/tfjs-core';
import { BN_STATS } from '../../../models/ops/batchnorm.js';
import { ElementwiseProgram, type KernelArgs } from './webgpu-kernel-support.js';
import { columnPass, rowsCols } from './webgpu-column-reduce-kernels.js';

/** dx of training-mode BN from dy, x, batch mean/variance, gamma and the per-channel sums [sum dy | sum dy*xc]. */
class BatchNormGradInputProgram extends ElementwiseProgram {
  variableNames = ['dy', 'x', 'mean', 'variance', 'gamma', 'sums'];
  shaderKey = 'eclBatchNormGradInput';
  uniforms = 'channels : i32, invCount : f32, epsilon : f32,';

  getUserCode(): string {
    // dx = gamma*s*(dy - (dbeta + xhat*dgamma)/n), s = rsqrt(var+eps), xhat = (x-mean)*s, dgamma = s*sum(dy*xc)
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let c = index % uniforms.channels;
          let s = inverseSqrt(variance[c] + uniforms.epsilon);
          let xhat = (x[index] - mean[c]) * s;
          let dbeta = sums[c];
          let dgamma = sums[uniforms.channels + c] * s;
          setOutputAtIndex(index, gamma[c] * s * (dy[index] - (dbeta + xhat * dgamma) * uniforms.invCount));
        }
      }
    `;
  }
}

/** dgamma = rsqrt(var+eps) * sum(dy*xc) (which = 1) or dbeta = sum(dy) (which = 0), from the sums [2C]. */
class BatchNormGradParamProgram extends ElementwiseProgram {
  // Every declared input must be read by the shader: 'auto' pipeline layouts drop unused bindings.
  variableNames: string[];
  shaderKey: string;
  uniforms = 'epsilon : f32,';
  private readonly which: 0 | 1;

  constructor(channels: number, which: 0 | 1) {
    super([channels]);
    this.which = which;
    this.variableNames = which === 1 ? ['sums', 'variance'] : ['sums'];
    this.shaderKey = `eclBatchNormGradParam_${which}`;
  }

  getUserCode(): string {
    const v = this.which === 1 ? 'sums[uniforms.size + index] * inverseSqrt(variance[index] + uniforms.epsilon)' : 'sums[index]';
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          setOutputAtIndex(index, ${v});
        }
      }
    `;
  }
}

/** [mean, variance] over every axis but the last (biased variance, two-pass): 4 dispatches. */
export function batchNormStats(args: KernelArgs): tf.TensorInfo[] {
  const { backend } = args;
  const x = args.inputs.x as tf.TensorInfo;
  if (x.dtype !== 'float32') throw new Error(`${BN_STATS}: float32 input expected, got ${x.dtype}`);
  const [rows, cols] = rowsCols(x);
  const mean = columnPass(backend, 'sum', [x], rows, cols, [cols], 1 / rows);
  const variance = columnPass(backend, 'centredSq', [x, mean], rows, cols, [cols], 1 / rows);
  return [mean, variance];
}

/** [dx, dgamma, dbeta] of training-mode BN: 5 dispatches (the tfjs-op version is ~15). */
export function batchNormGrad(args: KernelArgs): tf.TensorInfo[] {
  const { backend, attrs } = args;
  const { dy, x, mean, variance, gamma } = args.inputs as Record<string, tf.TensorInfo>;
  const epsilon = (attrs as unknown as { epsilon: number }).epsilon;
  const [rows, cols] = rowsCols(x!);
  const sums = columnPass(backend, 'bnGrad', [dy!, x!, mean!], rows, cols, [2 * cols], 1);
  const dx = backend.runWebGPUProgram(new BatchNormGradInputProgram(x!.shape), [dy!, x!, mean!, variance!, gamma!, sums], 'float32', [
    { type: 'int32', data: [cols] },
    { type: 'float32', data: [1 / rows] },
    { type: 'float32', data: [epsilon] },
  ]);
  const dgamma = backend.runWebGPUProgram(new BatchNormGradParamProgram(cols, 1), [sums, variance!], 'float32', [{ type: 'float32', data: [epsilon] }]);
  const dbeta = backend.runWebGPUProgram(new BatchNormGradParamProgram(cols, 0), [sums], 'float32', [{ type: 'float32', data: [epsilon] }]);
  backend.disposeData(sums.dataId);
  return [dx, dgamma, dbeta];
}
