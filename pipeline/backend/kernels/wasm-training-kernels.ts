// Kernels that let tfjs-backend-wasm (4.22) train convnets, and train them fast.
//
// Convolutions run on our own wasm SIMD128 kernels (pipeline/backend/kernels/simd/*.c, on tfjs's heap, split across
// worker threads by pipeline/backend/kernels/simd-pool.ts) for float32 NHWC with Cout % 8 == 0:
//  - Conv2D: Winograd F(4x4, 3x3) for 3x3 stride 1 with Cin % 4 == 0, else a direct kernel (4 pixels x 8
//    channels of accumulators; no im2col, no weight packing). 2.5-3.5x XNNPACK's conv on ResNet-32 layers.
//  - Conv2DBackpropFilter (missing in stock wasm): Winograd F(4x4, 3x3) for 3x3 stride 1, else a direct kernel that
//    streams x and dy once per block of rows with a 4x8 accumulator tile per (tap, channels) unit.
//  - Conv2DBackpropInput: strides > 1 as a direct transposed conv (only the taps that reach each pixel);
//    stride 1 as the conv with the flipped filter, on the kernels above (the phase decomposition's s = 1 case).
//  - BatchNorm statistics and gradient (wasm-batchnorm-kernels.ts), the per-channel affine map (FusedBatchNorm)
//    and the ReLU gradient (wasm-elementwise-kernels.ts).
// ECL_WASM_SIMD_KERNELS=0, other dtypes or channel counts take XNNPACK routes instead:
//  - Conv2DBackpropFilter as ONE XNNPACK call: a forward conv on transposed tensors x^T [Cin,H,W,N] (*)
//    dy^T [Ho,Wo,N,Cout] with dilation = the forward stride (input channels act as the batch, the batch as
//    the channels), or ONE matmul im2col(x)^T x dy (im2col gathered in JS) for few input channels or
//    stride 2, or for 1x1 filters the same matmul with the strided x gathered directly.
//  - the phase decomposition's conv and Conv2D on XNNPACK.
// Also replaced for measured speed-ups (batch-128 NHWC tensors of ~2M elements):
//  - MaxPool and MaxPoolGrad 2x2/2 (threaded SIMD; the grad ~35 ms -> ~3 ms), FusedBatchNorm (~10 ms -> ~1 ms, as XNNPACK 1x1 depthwise convs),
//    Sum/Mean over non-innermost axes (~5 ms -> ~0.5 ms, XNNPACK average pooling + float64 chunk sums),
//    Tile (~170 ms -> ~2 ms), BatchMatMul with transpose flags (~40 ms -> ~6 ms: transpose, then the
//    XNNPACK path), Identity and same-dtype Cast (memcpy -> zero-copy incRef, as on every other
//    backend). The zero-copy Identity also makes customGrad's save() (tf.logSoftmax, our BatchNorm)
//    pass the engine's IS_TEST leak check, which pipeline/backend/select.ts turns on and which otherwise
//    throws "Backend 'wasm' has an internal memory leak" in every training step.
// Every kernel falls back to the stock one for cases it does not handle (other dtypes, NCHW, ...).
//
// This module registers the kernels; they live in modules split by kind:
//   wasm-kernel-support.ts           shared types, stock-kernel capture and calls, conv geometry
//   wasm-conv-forward-kernel.ts      Conv2D (and the stride-1 `conv` the gradients run on)
//   wasm-conv-filter-grad-kernel.ts  Conv2DBackpropFilter
//   wasm-conv-input-grad-kernel.ts   Conv2DBackpropInput (phase decomposition)
//   wasm-layout-kernels.ts           Identity, Cast, Tile, BatchMatMul, JS layout helpers
//   wasm-reduction-kernels.ts        Sum, Mean
//   wasm-fused-batchnorm-kernel.ts   FusedBatchNorm
//   wasm-maxpool-kernels.ts          MaxPool, MaxPoolGrad
//   wasm-batchnorm-kernels.ts        BN_STATS, BN_GRAD
//   wasm-elementwise-kernels.ts      EclReluGrad (ReLU's gradient: relu-gradient.ts)
import * as tf from '@tensorflow/tfjs-core';
// Loads the wasm backend and its stock kernels (also imported by the kernel modules; first here, as before the split).
import '@tensorflow/tfjs-backend-wasm';
import { simdKernelsWanted } from './simd-pool.js';
import { batchNormGrad, batchNormStats } from './wasm-batchnorm-kernels.js';
import { BN_GRAD, BN_RELU, BN_STATS } from '../../../models/ops/batchnorm.js';
import { batchNormRelu } from './wasm-batchnorm-relu-kernel.js';
import { BACKEND, stock, type KernelArgs, type KFunc } from './wasm-kernel-support.js';
import { conv2D } from './wasm-conv-forward-kernel.js';
import { conv2DBackpropFilter } from './wasm-conv-filter-grad-kernel.js';
import { conv2DBackpropInput } from './wasm-conv-input-grad-kernel.js';
import { batchMatMul, cast, identity, tile } from './wasm-layout-kernels.js';
import { mean, sum } from './wasm-reduction-kernels.js';
import { fusedBatchNorm } from './wasm-fused-batchnorm-kernel.js';
import { maxPool, maxPoolGrad } from './wasm-maxpool-kernels.js';
import { reluGrad } from './wasm-elementwise-kernels.js';
import { registerReluGradient, RELU_GRAD } from './relu-gradient.js';

interface Replacement {
  kernelName: string;
  kernelFunc: KFunc;
}

const replacements: Replacement[] = [
  { kernelName: tf.Conv2D, kernelFunc: conv2D },
  { kernelName: tf.Conv2DBackpropFilter, kernelFunc: conv2DBackpropFilter },
  { kernelName: tf.Conv2DBackpropInput, kernelFunc: conv2DBackpropInput },
  { kernelName: tf.MaxPool, kernelFunc: maxPool },
  { kernelName: tf.MaxPoolGrad, kernelFunc: maxPoolGrad },
  { kernelName: tf.FusedBatchNorm, kernelFunc: fusedBatchNorm },
  { kernelName: tf.Sum, kernelFunc: sum },
  { kernelName: tf.Mean, kernelFunc: mean },
  { kernelName: tf.Tile, kernelFunc: tile },
  { kernelName: tf.BatchMatMul, kernelFunc: batchMatMul },
  { kernelName: tf.Identity, kernelFunc: identity },
  { kernelName: tf.Cast, kernelFunc: cast },
];

let registered: string[] | undefined;
const MARK = Symbol.for('ecl.wasmTrainingKernel');

/**
 * Registers the wasm training kernels; returns their names. Idempotent. Call it after importing
 * '@tensorflow/tfjs-backend-wasm' (this module does) and before tf.setBackend('wasm'); it also works
 * after. Gradient functions themselves come from the '@tensorflow/tfjs' bundle (see pipeline/backend/select.ts).
 */
export function registerWasmTrainingKernels(): string[] {
  if (registered) return registered;
  // Another copy of this module (loaded under another URL) may have registered them already.
  const existing = tf.getKernel(tf.Conv2DBackpropFilter, BACKEND);
  if (existing && (existing.kernelFunc as { [MARK]?: boolean })[MARK]) return (registered = replacements.map((r) => r.kernelName));
  // Kernels we call into; capture them before replacing any (the ones stock wasm lacks have nothing to capture).
  const added = new Set<string>([tf.Conv2DBackpropFilter, BN_STATS, BN_GRAD, BN_RELU, RELU_GRAD]);
  for (const name of [tf.Conv2D, tf.Transpose, tf.Slice, tf.FusedDepthwiseConv2D, tf.AvgPool, ...replacements.map((r) => r.kernelName)]) {
    if (!added.has(name)) stock(name);
  }
  // The fused BatchNorm kernels only with the SIMD kernels on: ECL_WASM_SIMD_KERNELS=0 keeps the composite path.
  const all = simdKernelsWanted()
    ? [...replacements, { kernelName: BN_STATS, kernelFunc: batchNormStats }, { kernelName: BN_GRAD, kernelFunc: batchNormGrad }, { kernelName: BN_RELU, kernelFunc: batchNormRelu }, { kernelName: RELU_GRAD, kernelFunc: reluGrad }]
    : replacements;
  // ReLU's gradient uses EclReluGrad where the active backend has it (it falls back to dy * step(x) elsewhere).
  registerReluGradient();
  const names: string[] = [];
  for (const r of all) {
    const old = tf.getKernel(r.kernelName, BACKEND);
    if (old) tf.unregisterKernel(r.kernelName, BACKEND);
    const kernelFunc = ((args: KernelArgs) => r.kernelFunc(args)) as unknown as tf.KernelFunc & { [MARK]?: boolean };
    kernelFunc[MARK] = true;
    const cfg: tf.KernelConfig = { kernelName: r.kernelName, backendName: BACKEND, kernelFunc };
    // Keep the stock setup (cwrap) alive: fallbacks call the stock kernelFunc.
    if (old?.setupFunc) cfg.setupFunc = old.setupFunc;
    tf.registerKernel(cfg);
    names.push(r.kernelName);
  }
  registered = names;
  return names;
}
