// Conv2DBackpropFilter for tfjs-backend-wasm (stock wasm has none). On the SIMD kernels (float32, Cout % 8 == 0):
// Winograd F(4x4, 3x3) for 3x3 stride 1 with Cin % 4 == 0 (simd/winograd43.c; not with ECL_WASM_WINOGRAD=0), else the direct kernel
// (simd/filter_grad.c). Otherwise on XNNPACK: a 1x1 matmul on the strided x, one im2col matmul, or one forward conv
// on transposed tensors (see conv2DBackpropFilter). Split out of wasm-training-kernels.ts.
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { settings } from '../../../models/settings.js';
import { simdPool, type SimdPool } from './simd-pool.js';
import { f32, heapOffset } from './wasm-heap.js';
import { call, checkNHWC, convInfo, perThreadFloats, slice, transpose, type KernelArgs, type TI } from './wasm-kernel-support.js';
import { conv } from './wasm-conv-forward-kernel.js';
import { swapOuterInner } from './wasm-layout-kernels.js';

/** Batch slices of the Winograd filter gradient: fixed, so results do not depend on the thread count. */
const WINOGRAD_GRAD_PARTS = 4;
/** Tiles per block of winograd43_filter_grad (GB in winograd43.c). */
const WINOGRAD43_GRAD_BLOCK = 32;

/**
 * Filter gradient of a 3x3 stride-1 conv by Winograd F(4x4, 3x3) (winograd43.c): each of WINOGRAD_GRAD_PARTS
 * batch slices sums its tiles' V^T (A dY A^T) products; the slices are added in order and mapped back by G^T . G.
 * 36 products per 4x4 tile instead of F(2x2, 3x3)'s 16 per 2x2 tile.
 */
function winogradFilterGrad(backend: BackendWasm, pool: SimdPool, x: TI, dy: TI, info: tf.backend_util.Conv2DInfo): TI {
  const { batchSize: n, inHeight: H, inWidth: W, inChannels: cin, outChannels: cout, outHeight: ho, outWidth: wo } = info;
  const gb = WINOGRAD43_GRAD_BLOCK;
  const perChunk = perThreadFloats(36 * (gb * cin + 16) + 36 * (gb * cout + 16));
  const partStride = perThreadFloats(36 * cin * cout);
  const parts = WINOGRAD_GRAD_PARTS;
  const scratch = backend.makeOutput([pool.chunksFor(parts) * perChunk], 'float32');
  const partials = backend.makeOutput([parts * partStride], 'float32');
  pool.run('winograd43_filter_grad', [heapOffset(backend, x), heapOffset(backend, dy), heapOffset(backend, partials), heapOffset(backend, scratch), n, H, W, cin, ho, wo, cout, info.padInfo.top, info.padInfo.left, parts, partStride, perChunk], parts);
  const out = backend.makeOutput([3, 3, cin, cout], 'float32');
  pool.runOnCaller('winograd43_filter_grad_out', [heapOffset(backend, partials), parts, partStride, heapOffset(backend, out), cin, cout]);
  backend.disposeData(partials.dataId);
  backend.disposeData(scratch.dataId);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Conv2DBackpropFilter: dW[i,j,ci,co] = sum_{n,p,q} x[n, p*sh+i-top, q*sw+j-left, ci] dy[n,p,q,co]

export function conv2DBackpropFilter({ inputs, backend, attrs }: KernelArgs): TI {
  const x = inputs.x!;
  const dy = inputs.dy!;
  checkNHWC('Conv2DBackpropFilter', attrs.dataFormat);
  const filterShape = attrs.filterShape as [number, number, number, number];
  const info = convInfo(x.shape, filterShape, attrs);
  const { inHeight: H, inWidth: W, inChannels: cin, outChannels: cout, outHeight: ho, outWidth: wo, filterHeight: kh, filterWidth: kw } = info;
  const { strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const pool = x.dtype === 'float32' && dy.dtype === 'float32' && cout % 8 === 0 ? simdPool(backend.wasm, getThreadsCount()) : null;
  if (pool && kh === 3 && kw === 3 && sh === 1 && sw === 1 && cin % 4 === 0 && settings.wasmWinograd()) return winogradFilterGrad(backend, pool, x, dy, info);
  if (pool) {
    const n = x.shape[0]!;
    const out = backend.makeOutput([kh, kw, cin, cout], 'float32');
    // As filter_grad.c splits the work: 4 input x 8 output channels a unit, or 1 x 32 (1 x 8) when Cin % 4 != 0.
    const units = kh * kw * (cin % 4 === 0 ? (cin / 4) * (cout / 8) : cin * (cout % 32 === 0 ? cout / 32 : cout / 8));
    pool.run('filter_grad', [heapOffset(backend, x), heapOffset(backend, dy), heapOffset(backend, out), n, H, W, cin, ho, wo, cout, kh, kw, sh, sw, top, left], units);
    return out;
  }
  if (kh === 1 && kw === 1 && top === 0 && left === 0) return pointwiseFilterGrad(backend, x, dy, sh, sw, ho, wo);
  // Measured (batch 128, one thread): im2col wins where x is small next to dy, e.g. 1->32 channels
  // 40 -> 10 ms, 3->16 24 -> 15 ms, 32->64 60 -> 51 ms, 16->32 stride 2 31 -> 26 ms; with as many
  // output as input channels at stride 1 the conv route wins (16->16 68 vs 80 ms, 64->64 42 vs 92 ms).
  if (cout * sh * sw >= 2 * cin) return im2colFilterGrad(backend, x, dy, info);
  // Pad so that the dilated "filter" dy^T slides over exactly kh x kw positions; a negative far-side
  // pad (rows the forward conv never read) is handled by computing a few extra positions and slicing.
  let bottom = kh - H - top + (ho - 1) * sh;
  let right = kw - W - left + (wo - 1) * sw;
  const extraH = Math.max(0, -bottom);
  const extraW = Math.max(0, -right);
  bottom = Math.max(0, bottom);
  right = Math.max(0, right);

  const n = x.shape[0]!;
  const xT = swapOuterInner(backend, x, n, H * W, cin, [cin, H, W, n]); // [Cin, H, W, N]
  const dyT = transpose(backend, dy, [1, 2, 0, 3]); // [Ho, Wo, N, Cout]
  let r = conv(backend, xT, dyT, [top, bottom, left, right], [sh, sw]); // [Cin, kh(+), kw(+), Cout]
  backend.disposeData(xT.dataId);
  backend.disposeData(dyT.dataId);
  if (extraH > 0 || extraW > 0) {
    const s = slice(backend, r, [0, 0, 0, 0], [cin, kh, kw, cout]);
    backend.disposeData(r.dataId);
    r = s;
  }
  if (cin === 1) {
    // [1, kh, kw, Cout] and [kh, kw, 1, Cout] share one memory layout.
    return { dataId: r.dataId, shape: [kh, kw, 1, cout], dtype: 'float32' };
  }
  const out = transpose(backend, r, [1, 2, 0, 3]);
  backend.disposeData(r.dataId);
  return out;
}

/**
 * 1x1 filters: dW = xs^T dy as one XNNPACK matmul, with xs = x[:, ::sh, ::sw, :] gathered straight into
 * [Cin, N*Ho*Wo] (a strided projection shortcut reads only 1/4 of x) and dy used as is ([N*Ho*Wo, Cout]).
 */
function pointwiseFilterGrad(backend: BackendWasm, x: TI, dy: TI, sh: number, sw: number, ho: number, wo: number): TI {
  const [n, H, W, cin] = x.shape as [number, number, number, number];
  const cout = dy.shape[3]!;
  const K = n * ho * wo;
  const a = backend.makeOutput([1, cin, K], 'float32');
  {
    const xv = f32(backend, x);
    const av = f32(backend, a);
    let m = 0;
    for (let b = 0; b < n; b++) {
      for (let p = 0; p < ho; p++) {
        let src = ((b * H + p * sh) * W) * cin;
        for (let q = 0; q < wo; q++, m++, src += sw * cin) {
          let dst = m;
          for (let c = 0; c < cin; c++, dst += K) av[dst] = xv[src + c]!;
        }
      }
    }
  }
  const bView: TI = { dataId: dy.dataId, shape: [1, K, cout], dtype: 'float32' };
  const r = call(tf.BatchMatMul, backend, { a, b: bView }, { transposeA: false, transposeB: false });
  backend.disposeData(a.dataId);
  return { dataId: r.dataId, shape: [1, 1, cin, cout], dtype: 'float32' };
}

/**
 * dW = P^T dy as one XNNPACK matmul, P^T [kh*kw*Cin, N*Ho*Wo] being the (transposed) im2col of x
 * gathered in JS and dy used as is ([N*Ho*Wo, Cout]). Cheaper than the transposed-conv route when
 * x is small next to dy (few input channels, or stride 2): it never packs dy as conv weights.
 */
function im2colFilterGrad(backend: BackendWasm, x: TI, dy: TI, info: tf.backend_util.Conv2DInfo): TI {
  const { batchSize: n, inHeight: H, inWidth: W, inChannels: cin, outChannels: cout, outHeight: ho, outWidth: wo, filterHeight: kh, filterWidth: kw } = info;
  const { strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const K = n * ho * wo;
  const rows = kh * kw * cin;
  const a = backend.makeOutput([1, rows, K], 'float32');
  {
    const xv = f32(backend, x);
    const av = f32(backend, a);
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const rowBase = (i * kw + j) * cin * K;
        let m = 0;
        for (let b = 0; b < n; b++) {
          for (let p = 0; p < ho; p++) {
            const r = p * sh + i - top;
            const rowOk = r >= 0 && r < H;
            for (let q = 0; q < wo; q++, m++) {
              const c = q * sw + j - left;
              let dst = rowBase + m;
              if (rowOk && c >= 0 && c < W) {
                const src = ((b * H + r) * W + c) * cin;
                for (let ci = 0; ci < cin; ci++, dst += K) av[dst] = xv[src + ci]!;
              } else {
                for (let ci = 0; ci < cin; ci++, dst += K) av[dst] = 0;
              }
            }
          }
        }
      }
    }
  }
  const bView: TI = { dataId: dy.dataId, shape: [1, K, cout], dtype: 'float32' };
  const r = call(tf.BatchMatMul, backend, { a, b: bView }, { transposeA: false, transposeB: false });
  backend.disposeData(a.dataId);
  return { dataId: r.dataId, shape: [kh, kw, cin, cout], dtype: 'float32' };
}
