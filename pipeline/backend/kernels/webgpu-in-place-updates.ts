// In-place SGD-with-momentum and BN running-statistics updates for tfjs-backend-webgpu: raw WGSL dispatches that
// rewrite the variables' own buffers through the backend's internals (the InPlaceUpdater that
// pipeline/train/optim.ts uses when registered). Split out of webgpu-training-kernels.ts.
import * as tf from '@tensorflow/tfjs-core';
import type { InPlaceUpdater } from '../../train/optim.js';

// ---------------------------------------------------------------------------------------------------
// In-place parameter updates. A tfjs program has one new output tensor, so SGD with momentum is two
// dispatches (velocity, then weight) plus two tensor allocations per parameter. These dispatches rewrite
// the variables' own buffers instead, recorded into tfjs-backend-webgpu's command stream in order (its
// internals: device, tensorMap, command encoder, uniform pool), so queue order keeps every earlier read of
// the old values correct. Only for buffers no other tensor shares (refCount 1); the CPU copy a read may
// have cached is dropped.

interface TensorData {
  refCount: number;
  values: unknown;
  resource: GPUBuffer;
  dtype: string;
}
interface BackendInternals {
  device: GPUDevice;
  tensorMap: { get(id: unknown): TensorData | undefined };
  commandQueueOwnedIds: WeakSet<object>;
  computePassEncoder: GPUComputePassEncoder | null;
  commandEncoder: GPUCommandEncoder;
  dispatchCountInPass: number;
  uploadToGPU(id: unknown): void;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  makeUniforms(u: { type: string; data: number[] }[]): GPUBufferBinding;
}

const IN_PLACE_WGSL: Record<'sgd' | 'running', string> = {
  sgd: `
    struct U { n : i32, lr : f32, mu : f32, wd : f32 };
    @group(0) @binding(0) var<storage, read_write> w : array<f32>;
    @group(0) @binding(1) var<storage, read_write> v : array<f32>;
    @group(0) @binding(2) var<storage, read> g : array<f32>;
    @group(0) @binding(3) var<uniform> u : U;
    @compute @workgroup_size(256) fn main(@builtin(global_invocation_id) id : vec3<u32>) {
      let i = i32(id.x);
      if (i >= u.n) { return; }
      let vn = u.mu * v[i] + g[i] + u.wd * w[i];
      v[i] = vn;
      w[i] = w[i] - u.lr * vn;
    }`,
  running: `
    struct U { n : i32, m : f32, k : f32 };
    @group(0) @binding(0) var<storage, read_write> meanR : array<f32>;
    @group(0) @binding(1) var<storage, read_write> varR : array<f32>;
    @group(0) @binding(2) var<storage, read> mean : array<f32>;
    @group(0) @binding(3) var<storage, read> variance : array<f32>;
    @group(0) @binding(4) var<uniform> u : U;
    @compute @workgroup_size(256) fn main(@builtin(global_invocation_id) id : vec3<u32>) {
      let i = i32(id.x);
      if (i >= u.n) { return; }
      meanR[i] = u.m * meanR[i] + u.k * mean[i];
      varR[i] = u.m * varR[i] + u.k * variance[i];
    }`,
};
const inPlacePipelines = new Map<string, GPUComputePipeline>();

/** Records one in-place dispatch; false (nothing recorded) when a buffer is shared or not float32. */
function dispatchInPlace(kind: 'sgd' | 'running', written: tf.Tensor[], read: tf.Tensor[], uniforms: { type: string; data: number[] }[]): boolean {
  const backend = tf.backend() as unknown as BackendInternals;
  const n = written[0]!.size;
  const all = [...written, ...read];
  if (all.some((t) => t.dtype !== 'float32' || t.size !== n) || Math.ceil(n / 256) > 65535) return false;
  for (const t of written) if ((backend.tensorMap.get(t.dataId)?.refCount ?? 0) !== 1) return false;
  const buffers: GPUBuffer[] = [];
  for (const t of all) {
    backend.uploadToGPU(t.dataId);
    const td = backend.tensorMap.get(t.dataId)!;
    buffers.push(td.resource);
    backend.commandQueueOwnedIds.add(t.dataId as object);
  }
  for (const t of written) backend.tensorMap.get(t.dataId)!.values = null;
  let pipeline = inPlacePipelines.get(kind);
  if (!pipeline) {
    const module = backend.device.createShaderModule({ code: IN_PLACE_WGSL[kind], label: `eclInPlace_${kind}` });
    pipeline = backend.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: `eclInPlace_${kind}` });
    inPlacePipelines.set(kind, pipeline);
  }
  const bindGroup = backend.device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [...buffers.map((buffer, i) => ({ binding: i, resource: { buffer } })), { binding: buffers.length, resource: backend.makeUniforms(uniforms) }],
  });
  backend.ensureCommandEncoderReady();
  if (!backend.computePassEncoder) backend.computePassEncoder = backend.commandEncoder.beginComputePass({});
  backend.computePassEncoder.setPipeline(pipeline);
  backend.computePassEncoder.setBindGroup(0, bindGroup);
  backend.computePassEncoder.dispatchWorkgroups(Math.ceil(n / 256));
  backend.dispatchCountInPass++;
  if ((tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number) <= backend.dispatchCountInPass) {
    backend.endComputePassEncoder();
    backend.submitQueue();
  }
  return true;
}

export const inPlaceUpdater: InPlaceUpdater = {
  sgd: (w, v, g, o) =>
    dispatchInPlace('sgd', [w, v], [g], [
      { type: 'int32', data: [w.size] },
      { type: 'float32', data: [o.lr] },
      { type: 'float32', data: [o.momentum] },
      { type: 'float32', data: [o.weightDecay] },
    ]),
  running: (meanR, mean, varR, variance, m) =>
    dispatchInPlace('running', [meanR, varR], [mean, variance], [
      { type: 'int32', data: [meanR.size] },
      { type: 'float32', data: [m] },
      { type: 'float32', data: [1 - m] },
    ]),
};
