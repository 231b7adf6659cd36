// One-dispatch elementwise kernels for tfjs-backend-webgpu: EclLinearCombination (a*x + b*y + c*z; the SGD and
// running-statistics updates when they cannot run in place) and EclReluGrad (the ReLU gradient that uses it is in
// relu-gradient.ts).
// Split out of webgpu-training-kernels.ts.
import * as tf from '@tensorflow/tfjs-core';
import { LINEAR_COMBINATION } from '../../train/optim.js';
import { ElementwiseProgram, type KernelArgs } from './webgpu-kernel-support.js';
import { registerReluGradient, RELU_GRAD } from './relu-gradient.js';

export { registerReluGradient, RELU_GRAD };

/** out = a*x + b*y + c*z (z optional): the SGD and running-statistics updates in one dispatch. */
class LinearCombinationProgram extends ElementwiseProgram {
  variableNames: string[];
  shaderKey: string;
  uniforms = 'ca : f32, cb : f32, cc : f32,';

  constructor(shape: number[], terms: 2 | 3) {
    super(shape);
    this.variableNames = terms === 3 ? ['x', 'y', 'z'] : ['x', 'y'];
    this.shaderKey = `eclLinearCombination_${terms}`;
  }

  getUserCode(): string {
    const z = this.variableNames.length === 3 ? ' + uniforms.cc * z[index]' : '';
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          setOutputAtIndex(index, uniforms.ca * x[index] + uniforms.cb * y[index]${z});
        }
      }
    `;
  }
}

export function linearCombination(args: KernelArgs): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const names = inputs.z ? ['x', 'y', 'z'] : ['x', 'y'];
  const ts = names.map((n) => inputs[n] as tf.TensorInfo);
  const shape = ts[0]!.shape;
  for (const t of ts) {
    if (t.dtype !== 'float32' || !tf.util.arraysEqual(t.shape, shape)) throw new Error(`${LINEAR_COMBINATION}: inputs must be float32 of one shape`);
  }
  const { a, b, c } = attrs as unknown as { a: number; b: number; c?: number };
  return backend.runWebGPUProgram(new LinearCombinationProgram(shape, ts.length as 2 | 3), ts, 'float32', [
    { type: 'float32', data: [a] },
    { type: 'float32', data: [b] },
    { type: 'float32', data: [c ?? 0] },
  ]);
}

/** dx of ReLU: dy where x > 0, else 0 (tfjs: dy * step(x), two dispatches). */
class ReluGradProgram extends ElementwiseProgram {
  variableNames = ['dy', 'x'];
  shaderKey = 'eclReluGrad';

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          setOutputAtIndex(index, select(0.0, dy[index], x[index] > 0.0));
        }
      }
    `;
  }
}

export function reluGrad(args: KernelArgs): tf.TensorInfo {
  const { dy, x } = args.inputs as Record<string, tf.TensorInfo>;
  return args.backend.runWebGPUProgram(new ReluGradProgram(x!.shape), [dy!, x!], 'float32', []);
}
