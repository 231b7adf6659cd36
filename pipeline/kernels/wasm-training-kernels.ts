// Kernels that let tfjs-backend-wasm (4.22) train convnets, and train them fast.
//
// Stock wasm lacks Conv2DBackpropFilter entirely, and its Conv2DBackpropInput is a naive scalar loop.
// Both are rewritten here as ONE XNNPACK forward convolution each (plus cheap layout ops):
//  - filter gradient: x^T [Cin,H,W,N] (*) dy^T [Ho,Wo,N,Cout] with dilation = forward stride, giving
//    [Cin,kh,kw,Cout] (input channels act as the batch, the batch acts as the channels);
//  - input gradient: a sub-pixel ("phase") decomposition of the transposed convolution: for stride s
//    every output phase (r_h, r_w) is a stride-1 conv of dy with a ceil(k/s)-tap slice of the flipped
//    filter; all s*s phases run as one conv with s*s*Cin output channels, then DepthToSpace interleaves
//    them (for s = 1 this is just the flipped-filter conv). No zero-dilated dy, no wasted 3/4 of MACs.
// Identity is replaced by the zero-copy version every other backend uses (incRef instead of memcpy):
// tf.clone / customGrad's save() then cost nothing, and the engine's IS_TEST leak check (which
// pipeline/backend.ts turns on) no longer fails every customGrad op (tf.logSoftmax, BN) on wasm.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { registerTrainingGradients } from './gradients.js';

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
const conv = (b: BackendWasm, x: TI, filter: TI, pad: [number, number, number, number], dilations: [number, number] = [1, 1]) =>
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
const slice = (b: BackendWasm, x: TI, begin: number[], size: number[]) => call(tf.Slice, b, { x }, { begin, size });

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
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    attrs.strides as [number, number],
    1,
    attrs.pad as 'same',
    attrs.dimRoundingMode as 'floor' | undefined,
    false,
    'channelsLast',
  );
  const { inHeight: H, inWidth: W, inChannels: cin, outChannels: cout, outHeight: ho, outWidth: wo, filterHeight: kh, filterWidth: kw } = info;
  const { strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  // Pad so that the dilated "filter" dy^T slides over exactly kh x kw positions; a negative far-side
  // pad (rows the forward conv never read) is handled by computing a few extra positions and slicing.
  let bottom = kh - H - top + (ho - 1) * sh;
  let right = kw - W - left + (wo - 1) * sw;
  const extraH = Math.max(0, -bottom);
  const extraW = Math.max(0, -right);
  bottom = Math.max(0, bottom);
  right = Math.max(0, right);

  const xT = transpose(backend, x, [3, 1, 2, 0]); // [Cin, H, W, N]
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
    const out = backend.makeOutput([kh, kw, 1, cout], 'float32');
    backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(r));
    backend.disposeData(r.dataId);
    return out;
  }
  const out = transpose(backend, r, [1, 2, 0, 3]);
  backend.disposeData(r.dataId);
  return out;
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
  convOut: number;
}

function planAxis(s: number, k: number, P: number, I: number, O: number): AxisPlan | null {
  const K = Math.ceil(k / s);
  const a0 = Math.floor(P / s);
  const c0 = P - a0 * s;
  const A = Math.ceil((I + c0) / s);
  const lo = K - 1 - a0;
  if (lo < 0) return null;
  const hi = Math.max(0, a0 + A - O);
  return { s, K, lo, hi, c0, convOut: O + lo + hi - K + 1 };
}

function conv2DBackpropInput(args: KernelArgs): TI {
  const { inputs, backend, attrs } = args;
  const dy = inputs.dy!;
  const filter = inputs.filter!;
  checkNHWC('Conv2DBackpropInput', attrs.dataFormat);
  const inputShape = attrs.inputShape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides as [number, number],
    1,
    attrs.pad as 'same',
    attrs.dimRoundingMode as 'floor' | undefined,
    false,
    'channelsLast',
  );
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
  if (s > 1) {
    const d = call(tf.DepthToSpace, backend, { x: r }, { blockSize: s, dataFormat: 'NHWC' });
    backend.disposeData(r.dataId);
    r = d;
  }
  if (ph.c0 !== 0 || pw.c0 !== 0 || r.shape[1] !== H || r.shape[2] !== W) {
    const c = slice(backend, r, [0, ph.c0, pw.c0, 0], [n, H, W, cin]);
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

// ---------------------------------------------------------------------------------------------

const STOCK_BACKPROP_INPUT = 'Conv2DBackpropInput';
const STOCK_IDENTITY = 'Identity';

interface Replacement {
  kernelName: string;
  kernelFunc: KFunc;
}

const replacements: Replacement[] = [
  { kernelName: tf.Conv2DBackpropFilter, kernelFunc: conv2DBackpropFilter },
  { kernelName: tf.Conv2DBackpropInput, kernelFunc: conv2DBackpropInput },
  { kernelName: tf.Identity, kernelFunc: identity },
];

let registered: string[] | undefined;

/**
 * Registers the wasm training kernels (and the gradient configs tfjs-core's Node bundle lacks).
 * Idempotent. Call before tf.setBackend('wasm'); works after it too.
 */
export function registerWasmTrainingKernels(): string[] {
  if (registered) return registered;
  registerTrainingGradients();
  // Kernels we call into; capture them before replacing any.
  for (const name of [tf.Conv2D, tf.Transpose, tf.Slice, tf.DepthToSpace, STOCK_BACKPROP_INPUT, STOCK_IDENTITY]) stock(name);
  const names: string[] = [];
  for (const r of replacements) {
    const old = tf.getKernel(r.kernelName, BACKEND);
    if (old) tf.unregisterKernel(r.kernelName, BACKEND);
    const cfg: tf.KernelConfig = {
      kernelName: r.kernelName,
      backendName: BACKEND,
      kernelFunc: r.kernelFunc as unknown as tf.KernelFunc,
    };
    // Keep the stock setup (cwrap) alive: fallbacks call the stock kernelFunc.
    if (old?.setupFunc) cfg.setupFunc = old.setupFunc;
    tf.registerKernel(cfg);
    names.push(r.kernelName);
  }
  registered = names;
  return names;
}
