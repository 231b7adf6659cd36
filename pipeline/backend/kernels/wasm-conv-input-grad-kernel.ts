// Conv2DBackpropInput for tfjs-backend-wasm: the transposed conv as a sub-pixel ("phase") decomposition, one
// stride-1 conv (wasm-conv-forward-kernel.ts: SIMD or XNNPACK) followed by a depth-to-space crop
// (wasm-layout-kernels.ts). Falls back to the stock kernel where the plan does not apply. Split out of
// wasm-training-kernels.ts.
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
