// Kernels that let tfjs-backend-wasm (4.22) train convnets, and train them fast.
//
// Convolutions run on our own wasm SIMD128 kernels (pipeline/kernels/simd/*.c, on tfjs's heap, split across
// worker threads by pipeline/kernels/simd-pool.ts) for float32 NHWC with Cout % 8 == 0:
//  - Conv2D: Winograd F(4x4, 3x3) for 3x3 stride 1 with Cin % 4 == 0, else a direct kernel (4 pixels x 8
//    channels of accumulators; no im2col, no weight packing). 2.5-3.5x XNNPACK's conv on ResNet-32 layers.
//  - Conv2DBackpropFilter (missing in stock wasm): Winograd F(2x2, 3x3) for 3x3 stride 1, else a direct kernel that
//    streams x and dy once per block of rows with a 4x8 accumulator tile per (tap, channels) unit.
//  - Conv2DBackpropInput: a sub-pixel ("phase") decomposition of the transposed conv (below) whose one
//    stride-1 conv runs on the kernels above.
//  - BatchNorm statistics and gradient (wasm-batchnorm-kernels.ts).
// ECL_WASM_SIMD_KERNELS=0, other dtypes or channel counts take XNNPACK routes instead:
//  - Conv2DBackpropFilter as ONE XNNPACK call: a forward conv on transposed tensors x^T [Cin,H,W,N] (*)
//    dy^T [Ho,Wo,N,Cout] with dilation = the forward stride (input channels act as the batch, the batch as
//    the channels), or ONE matmul im2col(x)^T x dy (im2col gathered in JS) for few input channels or
//    stride 2, or for 1x1 filters the same matmul with the strided x gathered directly.
//  - the phase decomposition's conv and Conv2D on XNNPACK.
// Also replaced for measured speed-ups (batch-128 NHWC tensors of ~2M elements):
//  - MaxPoolGrad (~35 ms -> ~3 ms), FusedBatchNorm (~10 ms -> ~1 ms, as XNNPACK 1x1 depthwise convs),
//    Sum/Mean over non-innermost axes (~5 ms -> ~0.5 ms, XNNPACK average pooling + float64 chunk sums),
//    Tile (~170 ms -> ~2 ms), BatchMatMul with transpose flags (~40 ms -> ~6 ms: transpose, then the
//    XNNPACK path), Identity and same-dtype Cast (memcpy -> zero-copy incRef, as on every other
//    backend). The zero-copy Identity also makes customGrad's save() (tf.logSoftmax, our BatchNorm)
//    pass the engine's IS_TEST leak check, which pipeline/backend.ts turns on and which otherwise
//    throws "Backend 'wasm' has an internal memory leak" in every training step.
// Every kernel falls back to the stock one for cases it does not handle (other dtypes, NCHW, ...).
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { simdKernelsWanted, simdPool, type SimdPool } from './simd-pool.js';
import { f32, heapOffset } from './wasm-heap.js';
import { batchNormGrad, batchNormStats } from './wasm-batchnorm-kernels.js';
import { BN_GRAD, BN_STATS } from '../../models/ops/batchnorm.js';

type TI = tf.TensorInfo;
type Attrs = tf.NamedAttrMap;
type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: Attrs };
type KFunc = (args: KernelArgs) => TI | TI[];

const BACKEND = 'wasm';

/** Stock wasm kernel configs we call into (captured before anything is replaced). */
const stockConfigs = new Map<string, tf.KernelConfig>();

function stock(name: string): KFunc {
  let cfg = stockConfigs.get(name);
  if (!cfg) {
    cfg = tf.getKernel(name, BACKEND);
    if (!cfg) throw new Error(`wasm kernel ${name} is not registered`);
    stockConfigs.set(name, cfg);
  }
  return cfg.kernelFunc as unknown as KFunc;
}

function call(name: string, backend: BackendWasm, inputs: tf.NamedTensorInfoMap, attrs: Attrs = {}): TI {
  return stock(name)({ inputs, backend, attrs }) as TI;
}

const transpose = (b: BackendWasm, x: TI, perm: number[]) => call(tf.Transpose, b, { x }, { perm });
/** Stride-1 conv with explicit pads [top, bottom, left, right]: the SIMD kernel where it applies, else XNNPACK. */
const conv = (b: BackendWasm, x: TI, filter: TI, pad: [number, number, number, number], dilations: [number, number] = [1, 1]) =>
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

/** NHWC conv, dilation 1, on the wasm SIMD kernel (pipeline/kernels/simd/conv2d.c); null where it does not apply. */
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
  if (kh === 3 && kw === 3 && sh === 1 && sw === 1 && cin % 4 === 0) {
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
 * Floats per thread for a SIMD kernel's scratch (or partial sums) of `floats` floats: 16 KiB of gap, whole
 * KiB. Threads writing neighbouring lines slowed each other down 1.5x (prefetchers pulling the other core's lines).
 */
const perThreadFloats = (floats: number) => Math.ceil((floats + 4096) / 1024) * 1024;

/**
 * 3x3 stride-1 conv by Winograd F(4x4, 3x3) (pipeline/kernels/simd/winograd43.c): 4x fewer multiply-adds
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

/** Batch slices of the Winograd filter gradient: fixed, so results do not depend on the thread count. */
const WINOGRAD_GRAD_PARTS = 4;

/**
 * Filter gradient of a 3x3 stride-1 conv by Winograd F(2x2, 3x3) (winograd.c): each of WINOGRAD_GRAD_PARTS
 * batch slices sums its tiles' V^T (A dY A^T) products; the slices are added in order and mapped back by G^T . G.
 * Measured 1.3-2x faster than the direct kernel on the ResNet-32 layers (one thread).
 */
function winogradFilterGrad(backend: BackendWasm, pool: SimdPool, x: TI, dy: TI, info: tf.backend_util.Conv2DInfo): TI {
  const { batchSize: n, inHeight: H, inWidth: W, inChannels: cin, outChannels: cout, outHeight: ho, outWidth: wo } = info;
  const tx = Math.ceil(wo / 2);
  const tilesPerBlock = (tx >= 32 ? 1 : Math.floor(32 / tx)) * tx; // grad_rows_per_block(TX) * TX in winograd.c
  const perChunk = perThreadFloats(16 * (tilesPerBlock * cin + 16) + 16 * (tilesPerBlock * cout + 16));
  const partStride = perThreadFloats(16 * cin * cout);
  const parts = WINOGRAD_GRAD_PARTS;
  const scratch = backend.makeOutput([pool.chunksFor(parts) * perChunk], 'float32');
  const partials = backend.makeOutput([parts * partStride], 'float32');
  pool.run('winograd_filter_grad', [heapOffset(backend, x), heapOffset(backend, dy), heapOffset(backend, partials), heapOffset(backend, scratch), n, H, W, cin, ho, wo, cout, info.padInfo.top, info.padInfo.left, parts, partStride, perChunk], parts);
  const out = backend.makeOutput([3, 3, cin, cout], 'float32');
  pool.runOnCaller('winograd_filter_grad_out', [heapOffset(backend, partials), parts, partStride, heapOffset(backend, out), cin, cout]);
  backend.disposeData(partials.dataId);
  backend.disposeData(scratch.dataId);
  return out;
}

/** Conv2D (forward): the SIMD kernel for float32 NHWC with dilation 1 and Cout % 8 == 0, else XNNPACK. */
function conv2D(args: KernelArgs): TI {
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

const slice = (b: BackendWasm, x: TI, begin: number[], size: number[]) => call(tf.Slice, b, { x }, { begin, size });

/** Conv geometry (NHWC, dilation 1) from a conv kernel's attrs. */
function convInfo(xShape: number[], filterShape: number[], attrs: Attrs): tf.backend_util.Conv2DInfo {
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

function checkNHWC(kernel: string, dataFormat: unknown): void {
  if (dataFormat != null && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast')
    throw new Error(`${kernel} (wasm training kernels): only NHWC is supported, got ${String(dataFormat)}`);
}

// ---------------------------------------------------------------------------------------------
// Conv2DBackpropFilter: dW[i,j,ci,co] = sum_{n,p,q} x[n, p*sh+i-top, q*sw+j-left, ci] dy[n,p,q,co]

function conv2DBackpropFilter({ inputs, backend, attrs }: KernelArgs): TI {
  const x = inputs.x!;
  const dy = inputs.dy!;
  checkNHWC('Conv2DBackpropFilter', attrs.dataFormat);
  const filterShape = attrs.filterShape as [number, number, number, number];
  const info = convInfo(x.shape, filterShape, attrs);
  const { inHeight: H, inWidth: W, inChannels: cin, outChannels: cout, outHeight: ho, outWidth: wo, filterHeight: kh, filterWidth: kw } = info;
  const { strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const pool = x.dtype === 'float32' && dy.dtype === 'float32' && cout % 8 === 0 ? simdPool(backend.wasm, getThreadsCount()) : null;
  if (pool && kh === 3 && kw === 3 && sh === 1 && sw === 1 && cin % 4 === 0) return winogradFilterGrad(backend, pool, x, dy, info);
  if (pool) {
    const n = x.shape[0]!;
    const out = backend.makeOutput([kh, kw, cin, cout], 'float32');
    const units = kh * kw * (cin % 4 === 0 ? cin / 4 : cin) * (cout / 8);
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

// ---------------------------------------------------------------------------------------------
// Conv2DBackpropInput via phase decomposition.
//
// 1-D derivation (per spatial axis; stride s, kernel k, leading pad P, dy length O, dx length I):
//   dx[h] = sum_{p,i: p*s + i - P = h} dy[p] w[i].  With h + P = a*s + r (0 <= r < s) and i = m*s + r:
//   dx[a*s + r - P] = sum_{m=0}^{K-1} dy[a-m] w[m*s+r],  K = ceil(k/s)   (w[i] = 0 for i >= k)
// which is a stride-1 correlation over dy with taps f_r[t] = w[(K-1-t)*s + r], left pad K-1.
// Output phase a runs from a0 = floor(P/s); full[(a-a0)*s + r] = z_r[a] and dx = full[c0 : c0+I]
// with c0 = P - a0*s.

interface AxisPlan {
  s: number;
  K: number;
  lo: number;
  hi: number;
  c0: number;
}

function planAxis(s: number, k: number, P: number, I: number, O: number): AxisPlan | null {
  const K = Math.ceil(k / s);
  const a0 = Math.floor(P / s);
  const c0 = P - a0 * s;
  const A = Math.ceil((I + c0) / s);
  const lo = K - 1 - a0;
  if (lo < 0) return null;
  const hi = Math.max(0, a0 + A - O);
  return { s, K, lo, hi, c0 };
}

function conv2DBackpropInput(args: KernelArgs): TI {
  const { inputs, backend, attrs } = args;
  const dy = inputs.dy!;
  const filter = inputs.filter!;
  checkNHWC('Conv2DBackpropInput', attrs.dataFormat);
  const inputShape = attrs.inputShape as [number, number, number, number];
  const info = convInfo(inputShape, filter.shape, attrs);
  const { batchSize: n, inHeight: H, inWidth: W, inChannels: cin, outChannels: cout, outHeight: ho, outWidth: wo, filterHeight: kh, filterWidth: kw } = info;
  const ph = planAxis(info.strideHeight, kh, info.padInfo.top, H, ho);
  const pw = planAxis(info.strideWidth, kw, info.padInfo.left, W, wo);
  if (!ph || !pw || ph.s !== pw.s) return stock(STOCK_BACKPROP_INPUT)(args) as TI;
  const s = ph.s;
  const ss = s * s;
  const oc = ss * cin;

  // Phase filter F[th, tw, co, (rh*s + rw)*cin + ci] = w[(Kh-1-th)*s + rh, (Kw-1-tw)*s + rw, ci, co].
  const F = backend.makeOutput([ph.K, pw.K, cout, oc], 'float32');
  {
    const wv = backend.typedArrayFromHeap(filter) as Float32Array;
    const fv = backend.typedArrayFromHeap(F) as Float32Array;
    fv.fill(0);
    for (let th = 0; th < ph.K; th++) {
      for (let rh = 0; rh < s; rh++) {
        const i = (ph.K - 1 - th) * s + rh;
        if (i >= kh) continue;
        for (let tw = 0; tw < pw.K; tw++) {
          for (let rw = 0; rw < s; rw++) {
            const j = (pw.K - 1 - tw) * s + rw;
            if (j >= kw) continue;
            const wBase = (i * kw + j) * cin * cout;
            const fBase = (th * pw.K + tw) * cout * oc + (rh * s + rw) * cin;
            for (let ci = 0; ci < cin; ci++) {
              const wRow = wBase + ci * cout;
              let f = fBase + ci;
              for (let co = 0; co < cout; co++, f += oc) fv[f] = wv[wRow + co]!;
            }
          }
        }
      }
    }
  }
  let r = conv(backend, dy, F, [ph.lo, ph.hi, pw.lo, pw.hi]); // [N, convOutH, convOutW, s*s*Cin]
  backend.disposeData(F.dataId);
  if (s > 1 || ph.c0 !== 0 || pw.c0 !== 0 || r.shape[1] !== H || r.shape[2] !== W) {
    const c = depthToSpaceCrop(backend, r, s, ph.c0, pw.c0, H, W);
    backend.disposeData(r.dataId);
    r = c;
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Identity without a copy (what the cpu/webgl/webgpu backends do).

function identity(args: KernelArgs): TI {
  const x = args.inputs.x!;
  if (x.dtype === 'string') return stock(STOCK_IDENTITY)(args) as TI;
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** Cast to the same dtype is an identity (tfjs's Relu gradient casts step(x) to float32): no copy. */
function cast(args: KernelArgs): TI {
  const x = args.inputs.x!;
  if (x.dtype !== args.attrs.dtype || x.dtype === 'string') return stock(tf.Cast)(args) as TI;
  return identity(args);
}

// ---------------------------------------------------------------------------------------------
// Layout helpers in plain JS on the wasm heap. The stock C transpose / depth-to-space / tile walk
// memory element by element with div/mod index math (10-170 ms for a 2M-element NHWC tensor); these
// loops stream contiguous rows and are 3-80x faster.

/** [A, B, C] -> [C, B, A] (used as NHWC -> CHWN with B = H*W). */
function swapOuterInner(backend: BackendWasm, x: TI, a: number, bMid: number, c: number, outShape: number[]): TI {
  const out = backend.makeOutput(outShape, 'float32');
  const xv = f32(backend, x);
  const ov = f32(backend, out);
  const bA = bMid * a;
  for (let j = 0; j < bMid; j++) {
    for (let i = 0; i < a; i++) {
      const src = (i * bMid + j) * c;
      let dst = j * a + i;
      for (let k = 0; k < c; k++, dst += bA) ov[dst] = xv[src + k]!;
    }
  }
  return out;
}

/** DepthToSpace(block s) of x [N, h, w, s*s*C] followed by the crop [c0h, c0w] size [H, W]. */
function depthToSpaceCrop(backend: BackendWasm, x: TI, s: number, c0h: number, c0w: number, H: number, W: number): TI {
  const [n, h, w, cs] = x.shape as [number, number, number, number];
  const C = cs / (s * s);
  const out = backend.makeOutput([n, H, W, C], 'float32');
  const xv = f32(backend, x);
  const ov = f32(backend, out);
  let dst = 0;
  for (let b = 0; b < n; b++) {
    for (let oh = 0; oh < H; oh++) {
      const fh = oh + c0h;
      const ih = Math.floor(fh / s);
      const rh = fh - ih * s;
      const rowBase = ((b * h + ih) * w) * cs + rh * s * C;
      for (let ow = 0; ow < W; ow++) {
        const fw = ow + c0w;
        const iw = Math.floor(fw / s);
        const rw = fw - iw * s;
        const src = rowBase + iw * cs + rw * C;
        for (let k = 0; k < C; k++) ov[dst++] = xv[src + k]!;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Tile (tf.broadcastTo lowers to it): copy whole input rows, then replicate blocks with copyWithin.

function tile(args: KernelArgs): TI {
  const { inputs, backend, attrs } = args;
  const x = inputs.x!;
  const reps = attrs.reps as number[];
  if (x.dtype !== 'float32' || x.shape.length === 0 || reps.length !== x.shape.length) return stock(tf.Tile)(args) as TI;
  const shape = x.shape;
  const rank = shape.length;
  const outShape = shape.map((d, i) => d * reps[i]!);
  const out = backend.makeOutput(outShape, 'float32');
  if (tf.util.sizeFromShape(outShape) === 0) return out;
  const xv = f32(backend, x);
  const ov = f32(backend, out);
  // Build the output bottom-up: level r holds the tile of dims r..rank-1 for one index prefix.
  // rec(dim, srcOff, dstOff) writes the [outShape[dim..]] block for input prefix offset srcOff.
  const inStride: number[] = new Array(rank);
  const outStride: number[] = new Array(rank);
  inStride[rank - 1] = 1;
  outStride[rank - 1] = 1;
  for (let d = rank - 2; d >= 0; d--) {
    inStride[d] = inStride[d + 1]! * shape[d + 1]!;
    outStride[d] = outStride[d + 1]! * outShape[d + 1]!;
  }
  const rec = (d: number, src: number, dst: number): void => {
    const n = shape[d]!;
    if (d === rank - 1) {
      if (n === 1) ov.fill(xv[src]!, dst, dst + reps[d]!);
      else {
        ov.set(xv.subarray(src, src + n), dst);
        for (let r = 1; r < reps[d]!; r++) ov.copyWithin(dst + r * n, dst, dst + n);
      }
      return;
    }
    for (let i = 0; i < n; i++) rec(d + 1, src + i * inStride[d]!, dst + i * outStride[d]!);
    const block = n * outStride[d]!;
    for (let r = 1; r < reps[d]!; r++) ov.copyWithin(dst + r * block, dst, dst + block);
  };
  rec(0, 0, 0);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Sum / Mean over a contiguous run of axes that is not the innermost one (BatchNorm statistics and
// its gradient reduce NHWC over [0,1,2]; global average pooling over [1,2]). Stock wasm transposes
// the reduced axes to the back first. Here XNNPACK average pooling reduces chunks of <= 1024 rows and
// the chunk results are summed in float64 (the cpu backend also accumulates in float64).

function contiguousReduction(x: TI, axisAttr: unknown): { outer: number; red: number; inner: number; axes: number[] } | null {
  if (x.dtype !== 'float32') return null;
  const rank = x.shape.length;
  if (rank === 0) return null;
  const axes = tf.util.parseAxisParam(axisAttr as number | number[], x.shape).slice().sort((p, q) => p - q);
  if (axes.length === 0) return null;
  for (let i = 1; i < axes.length; i++) if (axes[i] !== axes[i - 1]! + 1) return null;
  const first = axes[0]!;
  const last = axes[axes.length - 1]!;
  if (last === rank - 1) return null; // innermost: stock is fine
  const prod = (a: number, b: number) => x.shape.slice(a, b).reduce((p, d) => p * d, 1);
  return { outer: prod(0, first), red: prod(first, last + 1), inner: prod(last + 1, rank), axes };
}

/** Largest divisor of n in [lo, hi], or 0. */
function divisorIn(n: number, lo: number, hi: number): number {
  for (let d = Math.min(n, hi); d >= lo; d--) if (n % d === 0) return d;
  return 0;
}

function reduceSum(backend: BackendWasm, x: TI, r: { outer: number; red: number; inner: number; axes: number[] }, keepDims: boolean, scale: number): TI {
  const outShape = x.shape.map((d, i) => (r.axes.includes(i) ? 1 : d)).filter((_, i) => keepDims || !r.axes.includes(i));
  const { outer, red, inner } = r;
  // Chunks of c reduced rows are averaged by XNNPACK's average pooling (10x faster than a JS loop);
  // the chunk means are then summed in float64.
  const c = inner >= 4 ? divisorIn(red, 16, 1024) : 0;
  let src: TI = x;
  let rows = red;
  let rowScale = 1;
  if (c > 0) {
    const view: TI = { dataId: x.dataId, shape: [outer * (red / c), c, 1, inner], dtype: 'float32' };
    src = call(tf.AvgPool, backend, { x: view }, { filterSize: [c, 1], strides: [c, 1], pad: 'valid' } as unknown as Attrs);
    rows = red / c;
    rowScale = c;
  }
  const out = backend.makeOutput(outShape, 'float32');
  const xv = f32(backend, src);
  const ov = f32(backend, out);
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    acc.fill(0);
    let p = o * rows * inner;
    for (let k = 0; k < rows; k++) {
      for (let j = 0; j < inner; j++) acc[j]! += xv[p + j]!;
      p += inner;
    }
    const ob = o * inner;
    const f = rowScale * scale;
    for (let j = 0; j < inner; j++) ov[ob + j] = acc[j]! * f;
  }
  if (src !== x) backend.disposeData(src.dataId);
  return out;
}

function sum(args: KernelArgs): TI {
  const x = args.inputs.x!;
  const r = contiguousReduction(x, args.attrs.axis);
  if (!r) return stock(tf.Sum)(args) as TI;
  return reduceSum(args.backend, x, r, !!args.attrs.keepDims, 1);
}

function mean(args: KernelArgs): TI {
  const x = args.inputs.x!;
  const r = contiguousReduction(x, args.attrs.axis);
  if (!r) return stock(tf.Mean)(args) as TI;
  return reduceSum(args.backend, x, r, !!args.attrs.keepDims, 1 / r.red);
}

// ---------------------------------------------------------------------------------------------
// FusedBatchNorm (tf.batchNorm) with per-channel parameters: stock wasm evaluates
// offset + (x - mean) * scale * rsqrt(var + eps) with four modulo indices per element (~10 ms per
// 2M elements); here it is one XNNPACK 1x1 depthwise conv (x * s + t), plus one more for x - mean
// when mean is non-zero (kept separate so large means do not cancel against the offset).

function channelParam(backend: BackendWasm, t: TI | undefined, c: number, dflt: number): Float64Array | null {
  const out = new Float64Array(c);
  if (t == null) return out.fill(dflt);
  const size = tf.util.sizeFromShape(t.shape);
  if (t.dtype !== 'float32' || (size !== c && size !== 1)) return null;
  const v = f32(backend, t);
  for (let i = 0; i < c; i++) out[i] = v[size === 1 ? 0 : i]!;
  return out;
}

function depthwiseAffine(backend: BackendWasm, x: TI, w: Float64Array, b: Float64Array): TI {
  const c = w.length;
  const filter = backend.makeOutput([1, 1, c, 1], 'float32');
  const bias = backend.makeOutput([c], 'float32');
  f32(backend, filter).set(w);
  f32(backend, bias).set(b);
  const out = call(tf.FusedDepthwiseConv2D, backend, { x, filter, bias }, {
    strides: [1, 1],
    pad: 'valid',
    dilations: [1, 1],
    dataFormat: 'NHWC',
    activation: 'linear',
  } as unknown as Attrs);
  backend.disposeData(filter.dataId);
  backend.disposeData(bias.dataId);
  return out;
}

function fusedBatchNorm(args: KernelArgs): TI {
  const { inputs, backend, attrs } = args;
  const x = inputs.x!;
  if (x.dtype !== 'float32' || x.shape.length !== 4) return stock(tf.FusedBatchNorm)(args) as TI;
  const c = x.shape[3]!;
  const eps = (attrs.varianceEpsilon as number | undefined) ?? 0.001;
  const m = channelParam(backend, inputs.mean, c, 0);
  const v = channelParam(backend, inputs.variance, c, 1);
  const off = channelParam(backend, inputs.offset, c, 0);
  const sc = channelParam(backend, inputs.scale, c, 1);
  if (!m || !v || !off || !sc) return stock(tf.FusedBatchNorm)(args) as TI;
  const s = new Float64Array(c);
  for (let i = 0; i < c; i++) s[i] = Math.fround(sc[i]! * Math.fround(1 / Math.sqrt(Math.fround(v[i]! + eps))));
  let cur = x;
  if (m.some((e) => e !== 0)) {
    cur = depthwiseAffine(backend, x, new Float64Array(c).fill(1), m.map((e) => -e));
    if (s.every((e) => e === 1) && off.every((e) => e === 0)) return cur;
  }
  const out = depthwiseAffine(backend, cur, s, off);
  if (cur !== x) backend.disposeData(cur.dataId);
  return out;
}

// ---------------------------------------------------------------------------------------------
// MaxPoolGrad: gradient to the first maximum of each window (row-major scan, strict '>'), exactly
// the tfjs cpu rule. Stock wasm loops over dx and re-derives windows per element (~35 ms for
// [128,14,14,64]); this does one pass over the windows.

function maxPoolGrad(args: KernelArgs): TI {
  const { inputs, backend, attrs } = args;
  const dy = inputs.dy!;
  const x = inputs.input!;
  if (x.dtype !== 'float32') return stock(tf.MaxPoolGrad)(args) as TI;
  const info = tf.backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterSize as [number, number],
    attrs.strides as [number, number],
    1,
    attrs.pad as 'same',
    attrs.dimRoundingMode as 'floor' | undefined,
  );
  const { batchSize: n, inHeight: H, inWidth: W, inChannels: C, outHeight: ho, outWidth: wo } = info;
  const { strideHeight: sh, strideWidth: sw, effectiveFilterHeight: fh, effectiveFilterWidth: fw } = info;
  const { top, left } = info.padInfo;
  const out = backend.makeOutput(x.shape, 'float32');
  const xv = f32(backend, x);
  const dyv = f32(backend, dy);
  const dxv = f32(backend, out);
  dxv.fill(0);
  if (fh === 2 && fw === 2 && sh === 2 && sw === 2 && top === 0 && left === 0 && 2 * ho <= H && 2 * wo <= W) {
    // The usual 2x2/2 'valid' pool: four candidates per output, no bounds checks.
    const rowStride = W * C;
    for (let b = 0; b < n; b++) {
      for (let yr = 0; yr < ho; yr++) {
        for (let yc = 0; yc < wo; yc++) {
          const p00 = ((b * H + 2 * yr) * W + 2 * yc) * C;
          const p10 = p00 + rowStride;
          const ob = ((b * ho + yr) * wo + yc) * C;
          for (let d = 0; d < C; d++) {
            let m = -Infinity;
            let p = -1;
            let v = xv[p00 + d]!;
            if (v > m) (m = v), (p = p00 + d);
            v = xv[p00 + C + d]!;
            if (v > m) (m = v), (p = p00 + C + d);
            v = xv[p10 + d]!;
            if (v > m) (m = v), (p = p10 + d);
            v = xv[p10 + C + d]!;
            if (v > m) (m = v), (p = p10 + C + d);
            if (p >= 0) dxv[p] = dyv[ob + d]!;
          }
        }
      }
    }
    return out;
  }
  const best = new Float32Array(C);
  const pos = new Int32Array(C);
  for (let b = 0; b < n; b++) {
    for (let yr = 0; yr < ho; yr++) {
      const r0 = yr * sh - top;
      const rMin = Math.max(0, r0);
      const rMax = Math.min(H, r0 + fh);
      for (let yc = 0; yc < wo; yc++) {
        const c0 = yc * sw - left;
        const cMin = Math.max(0, c0);
        const cMax = Math.min(W, c0 + fw);
        best.fill(-Infinity);
        pos.fill(-1);
        for (let r = rMin; r < rMax; r++) {
          for (let cc = cMin; cc < cMax; cc++) {
            const base = ((b * H + r) * W + cc) * C;
            for (let d = 0; d < C; d++) {
              const v = xv[base + d]!;
              if (v > best[d]!) {
                best[d] = v;
                pos[d] = base + d;
              }
            }
          }
        }
        const ob = ((b * ho + yr) * wo + yc) * C;
        for (let d = 0; d < C; d++) {
          const p = pos[d]!;
          if (p >= 0) dxv[p]! += dyv[ob + d]!;
        }
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// BatchMatMul: stock wasm only uses XNNPACK when neither operand is transposed; with a transpose
// flag it falls back to a scalar loop (10x slower for the dense-layer gradients). Transpose first.

function batchMatMul(args: KernelArgs): TI {
  const { inputs, backend, attrs } = args;
  let a = inputs.a!;
  let b = inputs.b!;
  const ta = !!attrs.transposeA;
  const tb = !!attrs.transposeB;
  if ((!ta && !tb) || a.dtype !== 'float32' || b.dtype !== 'float32') return stock(tf.BatchMatMul)(args) as TI;
  const swapLast = (t: TI) => {
    const r = t.shape.length;
    const perm = t.shape.map((_, i) => i);
    perm[r - 2] = r - 1;
    perm[r - 1] = r - 2;
    return transpose(backend, t, perm);
  };
  const tmp: TI[] = [];
  if (ta) tmp.push((a = swapLast(a)));
  if (tb) tmp.push((b = swapLast(b)));
  const out = call(tf.BatchMatMul, backend, { a, b }, { ...attrs, transposeA: false, transposeB: false });
  for (const t of tmp) backend.disposeData(t.dataId);
  return out;
}

// ---------------------------------------------------------------------------------------------

const STOCK_BACKPROP_INPUT = 'Conv2DBackpropInput';
const STOCK_IDENTITY = 'Identity';

interface Replacement {
  kernelName: string;
  kernelFunc: KFunc;
}

const replacements: Replacement[] = [
  { kernelName: tf.Conv2D, kernelFunc: conv2D },
  { kernelName: tf.Conv2DBackpropFilter, kernelFunc: conv2DBackpropFilter },
  { kernelName: tf.Conv2DBackpropInput, kernelFunc: conv2DBackpropInput },
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
 * after. Gradient functions themselves come from the '@tensorflow/tfjs' bundle (see pipeline/backend.ts).
 */
export function registerWasmTrainingKernels(): string[] {
  if (registered) return registered;
  // Another copy of this module (loaded under another URL) may have registered them already.
  const existing = tf.getKernel(tf.Conv2DBackpropFilter, BACKEND);
  if (existing && (existing.kernelFunc as { [MARK]?: boolean })[MARK]) return (registered = replacements.map((r) => r.kernelName));
  // Kernels we call into; capture them before replacing any (the ones stock wasm lacks have nothing to capture).
  const added = new Set<string>([tf.Conv2DBackpropFilter, BN_STATS, BN_GRAD]);
  for (const name of [tf.Conv2D, tf.Transpose, tf.Slice, tf.FusedDepthwiseConv2D, tf.AvgPool, ...replacements.map((r) => r.kernelName)]) {
    if (!added.has(name)) stock(name);
  }
  // The fused BatchNorm kernels only with the SIMD kernels on: ECL_WASM_SIMD_KERNELS=0 keeps the composite path.
  const all = simdKernelsWanted() ? [...replacements, { kernelName: BN_STATS, kernelFunc: batchNormStats }, { kernelName: BN_GRAD, kernelFunc: batchNormGrad }] : replacements;
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
