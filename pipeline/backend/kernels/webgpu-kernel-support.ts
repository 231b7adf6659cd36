// Shared plumbing of the webgpu training kernels (split out of webgpu-training-kernels.ts so that each kernel
// module stays small): the kernel-args types, the stock kernels captured at registration (the fallbacks), the
// workgroup target the split-reduction plans aim for, and the two program shapes several kernels use: a flat
// elementwise program and the ordered sum of split partials. No kernel is registered here.
import type * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend, WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';

export const BACKEND = 'webgpu';
/** Workgroups pass 1 aims for (enough to fill a large GPU); fewer when R is short. */
export const TARGET_WORKGROUPS = 4096;

export type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: WebGPUBackend; attrs: tf.NamedAttrMap };
export type KFunc = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

/** Stock webgpu kernels replaced at registration (filled by registerWebgpuTrainingKernels; fallbacks call them). */
export const stockKernels = new Map<string, KFunc>();

/** One thread per output element over a flat dispatch (tfjs's `main(index)` form with uniforms.size). */
export abstract class ElementwiseProgram implements WebGPUProgram {
  abstract variableNames: string[];
  abstract shaderKey: string;
  outputShape: number[];
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;

  constructor(shape: number[]) {
    this.outputShape = shape;
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    this.dispatch = [Math.ceil(shape.reduce((a, b) => a * b, 1) / 64), 1, 1];
  }

  abstract getUserCode(): string;
}

/** Adds the split partials [S, size] in order s = 0..S-1 (deterministic), times a scale. */
export class SumSplitsProgram extends ElementwiseProgram {
  variableNames = ['partials'];
  shaderKey = 'eclSumSplits';
  uniforms = 'splits : i32, scale : f32,';

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          var s = 0.0;
          for (var k = 0; k < uniforms.splits; k++) {
            s = s + partials[k * uniforms.size + index];
          }
          setOutputAtIndex(index, s * uniforms.scale);
        }
      }
    `;
  }
}
