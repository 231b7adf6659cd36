// Kernels that make tfjs-backend-webgpu (4.22) fast enough to train on a GPU.
//
// Stock webgpu runs one thread per filter weight, each looping over batch x output height x output width
// (for ResNet layers: a few thousand threads doing ~10^5-10^6 serial steps each). Measured on an H200,
// that kernel was 95.5% of a ResNet-20 training step. Here the filter gradient is what it is, a matmul
//   dW[kh*kw*Cin, Cout] = im2col(x)^T [kh*kw*Cin, R] x dy [R, Cout],   R = N*Ho*Wo,
// with the im2col gathered on the fly into workgroup memory (never materialised) and the long R axis
// split across workgroups ("split-K"): pass 1 writes one partial [M, Cout] per chunk of R, pass 2 adds the
// partials in a fixed order. No atomics, so results are deterministic.
// Sum/Mean over every axis but the last (BatchNorm statistics and gradients): stock webgpu transposes the
// whole tensor to put the channels first, then reduces each channel in ONE workgroup (16-64 workgroups on
// a GPU with 132 SMs); here it is the same split-rows scheme, two small dispatches, no transpose.
// EclLinearCombination (a*x + b*y + c*z): the SGD-with-momentum and BN running-statistics updates in one
// dispatch each instead of 3-6 elementwise ops (pipeline/train/optim.ts); a training step is ~2000 dispatches,
// and each costs CPU time in tfjs and Dawn.
//
// This module registers the kernels and sets the training flags; the kernels live in modules split by kind:
//   webgpu-kernel-support.ts           shared types, stock-kernel map, elementwise and split-sum programs
//   webgpu-conv-filter-grad-kernel.ts  Conv2DBackpropFilter (split-K matmul; planFilterGrad)
//   webgpu-column-reduce-kernels.ts    Sum, Mean over all axes but the last (planColumnSum, columnPass)
//   webgpu-batchnorm-kernels.ts        BN_STATS, BN_GRAD
//   webgpu-elementwise-kernels.ts      EclLinearCombination, EclReluGrad and the ReLU gradient
//   webgpu-in-place-updates.ts         in-place SGD and running-statistics updates
import * as tf from '@tensorflow/tfjs-core';
import { LINEAR_COMBINATION, registerInPlaceUpdater } from '../../train/optim.js';
import { BN_GRAD, BN_STATS } from '../../../models/ops/batchnorm.js';
import { settings } from '../../../models/settings.js';
import { BACKEND, stockKernels, type KernelArgs, type KFunc } from './webgpu-kernel-support.js';
import { conv2DBackpropFilter } from './webgpu-conv-filter-grad-kernel.js';
import { columnReduce } from './webgpu-column-reduce-kernels.js';
import { batchNormGrad, batchNormStats } from './webgpu-batchnorm-kernels.js';
import { linearCombination, registerReluGradient, RELU_GRAD, reluGrad } from './webgpu-elementwise-kernels.js';
import { inPlaceUpdater } from './webgpu-in-place-updates.js';

export { planFilterGrad, type FilterGradPlan } from './webgpu-conv-filter-grad-kernel.js';
export { planColumnSum, type ColumnSumPlan } from './webgpu-column-reduce-kernels.js';
export { RELU_GRAD } from './webgpu-elementwise-kernels.js';

const MARK = Symbol.for('ecl.webgpuTrainingKernel');
let registered: string[] | undefined;

/**
 * Replaces webgpu's Conv2DBackpropFilter; returns the replaced kernel names. Idempotent. Call it after
 * importing '@tensorflow/tfjs-backend-webgpu' (its kernels must be registered first).
 */
export function registerWebgpuTrainingKernels(): string[] {
  if (registered) return registered;
  const old = tf.getKernel(tf.Conv2DBackpropFilter, BACKEND);
  if (!old) throw new Error('tfjs-backend-webgpu is not loaded: its Conv2DBackpropFilter kernel is missing');
  const names = [tf.Conv2DBackpropFilter, tf.Sum, tf.Mean, LINEAR_COMBINATION, BN_STATS, BN_GRAD, RELU_GRAD];
  if ((old.kernelFunc as { [MARK]?: boolean })[MARK]) return (registered = names);
  const replacements: [string, (a: KernelArgs) => tf.TensorInfo | tf.TensorInfo[]][] = [
    [tf.Conv2DBackpropFilter, conv2DBackpropFilter],
    [tf.Sum, (a) => columnReduce('Sum', a)],
    [tf.Mean, (a) => columnReduce('Mean', a)],
    [LINEAR_COMBINATION, linearCombination],
    [BN_STATS, batchNormStats],
    [BN_GRAD, batchNormGrad],
    [RELU_GRAD, reluGrad],
  ];
  for (const [name, fn] of replacements) {
    const prev = tf.getKernel(name, BACKEND);
    if (prev) {
      stockKernels.set(name, prev.kernelFunc as unknown as KFunc);
      tf.unregisterKernel(name, BACKEND);
    }
    const kernelFunc = ((a: KernelArgs) => fn(a)) as unknown as tf.KernelFunc & { [MARK]?: boolean };
    kernelFunc[MARK] = true;
    tf.registerKernel({ kernelName: name, backendName: BACKEND, kernelFunc });
  }
  registerInPlaceUpdater(BACKEND, inPlaceUpdater);
  registerReluGradient();
  registered = names;
  return registered;
}

/** tfjs-backend-webgpu flags for training, then any `ECL_WEBGPU_FLAGS="NAME=value,..."` overrides. */
export const WEBGPU_TRAINING_FLAGS: Record<string, number | boolean> = {
  // Small tensors without a GPU buffer would otherwise run on the CPU, a read-back away from the GPU.
  WEBGPU_CPU_FORWARD: false,
  // Dispatches per queue submission (tfjs: 15). Measured on an H200, ResNet-32 batch 512: 24 -> 5.3k
  // img/s, 64 -> 4.1k, 512 -> 3.2k: small batches let the GPU start while the CPU is still encoding.
  WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE: 24,
};

export function configureWebgpuForTraining(overrides = settings.webgpuFlags()): string {
  const flags: Record<string, number | boolean> = { ...WEBGPU_TRAINING_FLAGS };
  for (const item of overrides.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [k, v] = item.split('=');
    if (!k || v === undefined) throw new Error(`ECL_WEBGPU_FLAGS: expected NAME=value, got '${item}'`);
    flags[k] = v === 'true' ? true : v === 'false' ? false : Number(v);
    if (typeof flags[k] === 'number' && !Number.isFinite(flags[k])) throw new Error(`ECL_WEBGPU_FLAGS: '${item}' is not a number or boolean`);
  }
  for (const [k, v] of Object.entries(flags)) tf.env().set(k, v);
  return Object.entries(flags)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}
