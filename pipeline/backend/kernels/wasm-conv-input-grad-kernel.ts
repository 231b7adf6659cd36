// Conv2DBackpropInput for tfjs-backend-wasm. Strides > 1 on the SIMD kernels (float32, Cin % 8 == 0): the
// transposed conv computed directly (simd/conv_transpose.c). Otherwise a sub-pixel ("phase") decomposition, one
// stride-1 conv (wasm-conv-forward-kernel.ts: Winograd, the direct SIMD kernel or XNNPACK) followed, for strides
// > 1, by a depth-to-space crop (wasm-layout-kernels.ts). Falls back to the stock kernel where neither applies.
// Split out of wasm-training-kernels.ts.
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { simdPool } from './simd-pool.js';
import { f32, heapOffset } from './wasm-heap.js';
import { checkNHWC, convInfo, stock, type KernelArgs, type TI } from './wasm-kernel-support.js';
import { conv } from './wasm-conv-forward-kernel.js';
import { depthToSpaceCrop } from './wasm-layout-kernels.js';

const STOCK_BACKPROP_INPUT = 'Conv2DBackpropInput';

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

export function conv2DBackpropInput(args: KernelArgs): TI {
  const { inputs, backend, attrs } = args;
  const dy = inputs.dy!;
  const filter = inputs.filter!;
  checkNHWC('Conv2DBackpropInput', attrs.dataFormat);
  const inputShape = attrs.inputShape as [number, number, number, number];
  const info = convInfo(inputShape, filter.shape, attrs);
  const { batchSize: n, inHeight: H, inWidth: W, inChannels: cin, outChannels: cout, outHeight: ho, outWidth: wo, filterHeight: kh, filterWidth: kw } = info;
  if (info.strideHeight === info.strideWidth && info.strideHeight > 1) {
    const r = directTransposedConv(backend, dy, filter, info);
    if (r) return r;
  }
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

/**
 * Strided input gradient on simd/conv_transpose.c: every dx pixel sums only the taps that reach it (a 3x3
 * stride-2 layer: 9 per 2x2 pixels, where the phase decomposition multiplied 16, and no interleaving pass).
 * Null where it does not apply (dtype, Cin % 8, SIMD kernels off).
 */
function directTransposedConv(backend: BackendWasm, dy: TI, filter: TI, info: tf.backend_util.Conv2DInfo): TI | null {
  const { batchSize: n, inHeight: H, inWidth: W, inChannels: cin, outChannels: cout, outHeight: ho, outWidth: wo, filterHeight: kh, filterWidth: kw } = info;
  if (dy.dtype !== 'float32' || filter.dtype !== 'float32' || cin % 8 !== 0) return null;
  const pool = simdPool(backend.wasm, getThreadsCount());
  if (!pool) return null;
  // wt[i, j, co, ci] = w[i, j, ci, co]: the kernel's 8 accumulated channels are input channels.
  const wt = backend.makeOutput([kh, kw, cout, cin], 'float32');
  {
    const wv = f32(backend, filter);
    const tv = f32(backend, wt);
    for (let tap = 0; tap < kh * kw; tap++) {
      const base = tap * cin * cout;
      for (let ci = 0; ci < cin; ci++) for (let co = 0; co < cout; co++) tv[base + co * cin + ci] = wv[base + ci * cout + co]!;
    }
  }
  // Taps outside dy read zeros from here (Cout floats).
  const zeros = backend.makeOutput([cout], 'float32');
  f32(backend, zeros).fill(0);
  const out = backend.makeOutput([n, H, W, cin], 'float32');
  pool.run('conv_transpose', [heapOffset(backend, dy), heapOffset(backend, wt), heapOffset(backend, out), heapOffset(backend, zeros), H, W, cin, ho, wo, cout, kh, kw, info.strideHeight, info.padInfo.top, info.padInfo.left], n * H);
  backend.disposeData(wt.dataId);
  backend.disposeData(zeros.dataId);
  return out;
}
