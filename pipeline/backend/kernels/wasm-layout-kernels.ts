// Data-movement kernels for tfjs-backend-wasm: zero-copy Identity and same-dtype Cast, Tile, BatchMatMul with
// transpose flags (transpose first, then XNNPACK), and the plain-JS layout helpers (NHWC -> CHWN, depth-to-space
// with crop) that the conv gradient kernels use. Split out of wasm-training-kernels.ts.
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { f32 } from './wasm-heap.js';
import { simdGemm } from './wasm-gemm-kernel.js';
import { call, stock, transpose, type KernelArgs, type TI } from './wasm-kernel-support.js';

const STOCK_IDENTITY = 'Identity';

// ---------------------------------------------------------------------------------------------
// Identity without a copy (what the cpu/webgl/webgpu backends do).

export function identity(args: KernelArgs): TI {
  const x = args.inputs.x!;
  if (x.dtype === 'string') return stock(STOCK_IDENTITY)(args) as TI;
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** Cast to the same dtype is an identity (tfjs's Relu gradient casts step(x) to float32): no copy. */
export function cast(args: KernelArgs): TI {
  const x = args.inputs.x!;
  if (x.dtype !== args.attrs.dtype || x.dtype === 'string') return stock(tf.Cast)(args) as TI;
  return identity(args);
}

// ---------------------------------------------------------------------------------------------
// Layout helpers in plain JS on the wasm heap. The stock C transpose / depth-to-space / tile walk
// memory element by element with div/mod index math (10-170 ms for a 2M-element NHWC tensor); these
// loops stream contiguous rows and are 3-80x faster.

/** [A, B, C] -> [C, B, A] (used as NHWC -> CHWN with B = H*W). */
export function swapOuterInner(backend: BackendWasm, x: TI, a: number, bMid: number, c: number, outShape: number[]): TI {
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
export function depthToSpaceCrop(backend: BackendWasm, x: TI, s: number, c0h: number, c0w: number, H: number, W: number): TI {
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

export function tile(args: KernelArgs): TI {
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
// BatchMatMul: large single products with a transposed operand run on the SIMD GEMM (wasm-gemm-kernel.ts).
// Otherwise stock wasm uses XNNPACK only when neither operand is transposed; with a transpose flag it falls
// back to a scalar loop (10x slower for the dense-layer gradients), so transpose first.

export function batchMatMul(args: KernelArgs): TI {
  const { inputs, backend, attrs } = args;
  let a = inputs.a!;
  let b = inputs.b!;
  const ta = !!attrs.transposeA;
  const tb = !!attrs.transposeB;
  const simd = simdGemm(backend, a, b, ta, tb);
  if (simd) return simd;
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
