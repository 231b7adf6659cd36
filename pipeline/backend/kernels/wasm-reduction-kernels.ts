// Sum and Mean for tfjs-backend-wasm over a contiguous run of non-innermost axes (BatchNorm statistics, global
// average pooling): XNNPACK average pooling over row chunks, then float64 sums. Other reductions take the stock
// kernels. Split out of wasm-training-kernels.ts.
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { f32 } from './wasm-heap.js';
import { call, stock, type Attrs, type KernelArgs, type TI } from './wasm-kernel-support.js';

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

export function sum(args: KernelArgs): TI {
  const x = args.inputs.x!;
  const r = contiguousReduction(x, args.attrs.axis);
  if (!r) return stock(tf.Sum)(args) as TI;
  return reduceSum(args.backend, x, r, !!args.attrs.keepDims, 1);
}

export function mean(args: KernelArgs): TI {
  const x = args.inputs.x!;
  const r = contiguousReduction(x, args.attrs.axis);
  if (!r) return stock(tf.Mean)(args) as TI;
  return reduceSum(args.backend, x, r, !!args.attrs.keepDims, 1 / r.red);
}
