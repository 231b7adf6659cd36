// Shared plumbing of the wasm training kernels (split out of wasm-training-kernels.ts so that each kernel module
// stays small): the kernel-args types, the stock tfjs-backend-wasm kernels they fall back to or call into (captured
// once, before registration replaces any), the Transpose/Slice shorthands, conv geometry from a kernel's attrs,
// and the per-thread scratch size of the SIMD kernels. No kernel is registered here.
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export type TI = tf.TensorInfo;
export type Attrs = tf.NamedAttrMap;
export type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: Attrs };
export type KFunc = (args: KernelArgs) => TI | TI[];

export const BACKEND = 'wasm';

/** Stock wasm kernel configs we call into (captured before anything is replaced). */
const stockConfigs = new Map<string, tf.KernelConfig>();

export function stock(name: string): KFunc {
  let cfg = stockConfigs.get(name);
  if (!cfg) {
    cfg = tf.getKernel(name, BACKEND);
    if (!cfg) throw new Error(`wasm kernel ${name} is not registered`);
    stockConfigs.set(name, cfg);
  }
  return cfg.kernelFunc as unknown as KFunc;
}

export function call(name: string, backend: BackendWasm, inputs: tf.NamedTensorInfoMap, attrs: Attrs = {}): TI {
  return stock(name)({ inputs, backend, attrs }) as TI;
}

export const transpose = (b: BackendWasm, x: TI, perm: number[]) => call(tf.Transpose, b, { x }, { perm });
export const slice = (b: BackendWasm, x: TI, begin: number[], size: number[]) => call(tf.Slice, b, { x }, { begin, size });

/**
 * Floats per thread for a SIMD kernel's scratch (or partial sums) of `floats` floats: 16 KiB of gap, whole
 * KiB. Threads writing neighbouring lines slowed each other down 1.5x (prefetchers pulling the other core's lines).
 */
export const perThreadFloats = (floats: number) => Math.ceil((floats + 4096) / 1024) * 1024;

/** Conv geometry (NHWC, dilation 1) from a conv kernel's attrs. */
export function convInfo(xShape: number[], filterShape: number[], attrs: Attrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number],
    1,
    attrs.pad as 'same',
    attrs.dimRoundingMode as 'floor' | undefined,
    false,
    'channelsLast',
  );
}

export function checkNHWC(kernel: string, dataFormat: unknown): void {
  if (dataFormat != null && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast')
    throw new Error(`${kernel} (wasm training kernels): only NHWC is supported, got ${String(dataFormat)}`);
}
