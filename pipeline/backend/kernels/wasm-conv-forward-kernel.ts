// Conv2D (forward) for tfjs-backend-wasm on our wasm SIMD128 kernels (pipeline/backend/kernels/simd/conv2d.c and
// winograd43.c): Winograd F(4x4, 3x3) for 3x3 stride 1 with Cin % 4 == 0 (unless ECL_WASM_WINOGRAD=0), else the direct kernel, for float32
// NHWC with Cout % 8 == 0; XNNPACK (the stock kernel) otherwise. Also exports `conv`, the stride-1 conv with
// explicit pads that the filter- and input-gradient kernels (wasm-conv-filter-grad-kernel.ts,
// wasm-conv-input-grad-kernel.ts) run their transposed convolutions on. Split out of wasm-training-kernels.ts.
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { settings } from '../../../models/settings.js';
import { simdPool, type SimdPool } from './simd-pool.js';
import { f32, heapOffset } from './wasm-heap.js';
import { call, convInfo, perThreadFloats, stock, type Attrs, type KernelArgs, type TI } from './wasm-kernel-support.js';

/** Stride-1 conv with explicit pads [top, bottom, left, right]: the SIMD kernel where it applies, else XNNPACK. */
export const conv = (b: BackendWasm, x: TI, filter: TI, pad: [number, number, number, number], dilations: [number, number] = [1, 1]) =>
  (dilations[0] === 1 && dilations[1] === 1 ? simdConv(b, x, filter, [1, 1], pad) : null) ??
  call(tf.Conv2D, b, { x, filter }, {
    strides: [1, 1],
    pad: [
      [0, 0],
      [pad[0], pad[1]],
      [pad[2], pad[3]],
      [0, 0],
    ],
    dilations,
    dataFormat: 'NHWC',
  } as unknown as Attrs);

/** NHWC conv, dilation 1, on the wasm SIMD kernel (pipeline/backend/kernels/simd/conv2d.c); null where it does not apply. */
function simdConv(backend: BackendWasm, x: TI, filter: TI, strides: [number, number], pad: [number, number, number, number]): TI | null {
  const [n, H, W, cin] = x.shape as [number, number, number, number];
  const [kh, kw, fcin, cout] = filter.shape as [number, number, number, number];
  if (x.dtype !== 'float32' || filter.dtype !== 'float32' || fcin !== cin || cout % 8 !== 0) return null;
  const pool = simdPool(backend.wasm, getThreadsCount());
  if (!pool) return null;
  const [sh, sw] = strides;
  const ho = Math.floor((H + pad[0] + pad[1] - kh) / sh) + 1;
  const wo = Math.floor((W + pad[2] + pad[3] - kw) / sw) + 1;
  if (ho <= 0 || wo <= 0) return null;
  const out = backend.makeOutput([n, ho, wo, cout], 'float32');
  if (kh === 3 && kw === 3 && sh === 1 && sw === 1 && cin % 4 === 0 && settings.wasmWinograd()) {
    winogradConv(backend, pool, x, filter, out, pad);
    return out;
  }
  // Taps in the padding read zeros from here (C floats).
  const zeros = backend.makeOutput([cin], 'float32');
  f32(backend, zeros).fill(0);
  pool.run('conv2d', [heapOffset(backend, x), heapOffset(backend, filter), heapOffset(backend, out), heapOffset(backend, zeros), H, W, cin, ho, wo, cout, kh, kw, sh, sw, pad[0], pad[2]], n * ho);
  backend.disposeData(zeros.dataId);
  return out;
}

/** Winograd tiles per block in winograd43.c (TB). */
const WINOGRAD_TB = 16;

/**
 * 3x3 stride-1 conv by Winograd F(4x4, 3x3) (pipeline/backend/kernels/simd/winograd43.c): 4x fewer multiply-adds
 * than the direct kernel; measured 1.6-2.2x faster than F(2x2, 3x3) and 2.5-3x faster than XNNPACK's conv on
 * the ResNet-32 and cnn28 layers.
 */
function winogradConv(backend: BackendWasm, pool: SimdPool, x: TI, filter: TI, out: TI, pad: [number, number, number, number]): void {
  const [n, H, W, cin] = x.shape as [number, number, number, number];
  const [, ho, wo, cout] = out.shape as [number, number, number, number];
  const U = backend.makeOutput([36, cin, cout], 'float32');
  pool.runOnCaller('winograd43_filter', [heapOffset(backend, filter), heapOffset(backend, U), cin, cout]);
  const tx = Math.ceil(wo / 4);
  const rows = Math.max(1, Math.floor(WINOGRAD_TB / tx)); // tile rows per unit, as in winograd43_conv
  const units = n * Math.ceil(Math.ceil(ho / 4) / rows);
  // Per-thread scratch: 36 transformed-input planes a cache line longer than their data, one group's products.
  const perChunk = perThreadFloats(36 * (WINOGRAD_TB * cin + 16) + 36 * 32);
  const scratch = backend.makeOutput([pool.chunksFor(units) * perChunk], 'float32');
  pool.run('winograd43_conv', [heapOffset(backend, x), heapOffset(backend, U), heapOffset(backend, out), heapOffset(backend, scratch), H, W, cin, ho, wo, cout, pad[0], pad[2], perChunk], units);
  backend.disposeData(U.dataId);
  backend.disposeData(scratch.dataId);
}

/** Conv2D (forward): the SIMD kernel for float32 NHWC with dilation 1 and Cout % 8 == 0, else XNNPACK. */
export function conv2D(args: KernelArgs): TI {
  const { inputs, backend, attrs } = args;
  const x = inputs.x!;
  const filter = inputs.filter!;
  const dil = (attrs.dilations ?? 1) as number | [number, number];
  const [dh, dw] = typeof dil === 'number' ? [dil, dil] : dil;
  const format = attrs.dataFormat;
  if (dh === 1 && dw === 1 && (format == null || format === 'NHWC' || format === 'channelsLast') && x.shape.length === 4) {
    const info = convInfo(x.shape, filter.shape, attrs);
    const p = info.padInfo;
    const r = simdConv(backend, x, filter, [info.strideHeight, info.strideWidth], [p.top, p.bottom, p.left, p.right]);
    if (r && r.shape[1] === info.outHeight && r.shape[2] === info.outWidth) return r;
    if (r) backend.disposeData(r.dataId);
  }
  return stock(tf.Conv2D)(args) as TI;
}
