// Conv2DBackpropFilter for tfjs-backend-webgpu as a split-K matmul dW = im2col(x)^T x dy: pass 1
// (FilterGradPartialProgram) gathers the im2col on the fly into workgroup memory and writes one partial per chunk
// of R = N*Ho*Wo, pass 2 (SumSplitsProgram) adds the partials in a fixed order. NCHW and non-float32 inputs take
// the stock kernel. Split out of webgpu-training-kernels.ts.
import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import { stockKernels, SumSplitsProgram, TARGET_WORKGROUPS, type KernelArgs } from './webgpu-kernel-support.js';

/** Rows of R per workgroup-memory tile. */
const KT = 16;
/** Filter rows (kh*kw*Cin) per workgroup; every thread owns a 4x4 block of the output tile. */
const TM = 64;
/** Cap on the partial-sum buffer (floats), so huge layers do not allocate hundreds of MB. */
const MAX_PARTIAL_FLOATS = 16 * 1024 * 1024;
/** Shortest chunk of R a workgroup reduces (amortises the tile set-up). */
const MIN_CHUNK = 64;

export interface FilterGradPlan {
  /** Filter rows kh*kw*Cin and output channels Cout. */
  m: number;
  n: number;
  /** Rows of the reduction, N*Ho*Wo. */
  r: number;
  /** Output-channel tile width (16, 32 or 64). */
  tn: number;
  /** Rows of R per workgroup (a multiple of KT) and the number of such chunks. */
  chunk: number;
  splits: number;
}

/** How pass 1 is tiled and split for a layer (pure; unit-tested). */
export function planFilterGrad(m: number, n: number, r: number): FilterGradPlan {
  const tn = n <= 16 ? 16 : n <= 32 ? 32 : 64;
  const tiles = Math.ceil(n / tn) * Math.ceil(m / TM);
  let splits = Math.max(1, Math.ceil(TARGET_WORKGROUPS / tiles));
  splits = Math.min(splits, Math.max(1, Math.floor(MAX_PARTIAL_FLOATS / (m * n))));
  let chunk = Math.ceil(r / splits);
  chunk = Math.max(MIN_CHUNK, Math.ceil(chunk / KT) * KT);
  splits = Math.ceil(r / chunk);
  return { m, n, r, tn, chunk, splits };
}

class FilterGradPartialProgram implements WebGPUProgram {
  variableNames = ['x', 'dy'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [1], y: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms = 'kw : i32, strideH : i32, strideW : i32, padTop : i32, padLeft : i32, fm : i32, fr : i32, chunk : i32,';
  private readonly tn: number;

  constructor(plan: FilterGradPlan) {
    this.tn = plan.tn;
    this.outputShape = [plan.splits, plan.m * plan.n];
    this.workgroupSize = [(plan.tn / 4) * (TM / 4), 1, 1];
    this.dispatch = [Math.ceil(plan.n / plan.tn), Math.ceil(plan.m / TM), plan.splits];
    this.shaderKey = `eclFilterGradPartial_${plan.tn}`;
  }

  getUserCode(): string {
    const tn = this.tn;
    const tnThreads = tn / 4;
    const threads = this.workgroupSize[0];
    // Loop trip counts come from uniforms only: workgroupBarrier() needs uniform control flow.
    return `
      var<workgroup> tileA : array<array<f32, ${TM}>, ${KT}>;
      var<workgroup> tileB : array<array<f32, ${tn}>, ${KT}>;

      fn main() {
        let tid = i32(localIndex);
        let tcol = tid % ${tnThreads};
        let trow = tid / ${tnThreads};
        let n0 = i32(workgroupId.x) * ${tn};
        let m0 = i32(workgroupId.y) * ${TM};
        let split = i32(workgroupId.z);
        let rBegin = split * uniforms.chunk;
        let rEnd = min(rBegin + uniforms.chunk, uniforms.fr);
        let inH = uniforms.xShape.y;
        let inW = uniforms.xShape.z;
        let cin = uniforms.xShape.w;
        let outH = uniforms.dyShape.y;
        let outW = uniforms.dyShape.z;
        let cout = uniforms.dyShape.w;
        var acc : array<vec4<f32>, 4>;
        for (var i = 0; i < 4; i++) { acc[i] = vec4<f32>(0.0); }
        let steps = uniforms.chunk / ${KT};
        for (var t = 0; t < steps; t++) {
          let r0 = rBegin + t * ${KT};
          for (var e = tid; e < ${KT * TM}; e += ${threads}) {
            let k = e / ${TM};
            let mm = e % ${TM};
            let r = r0 + k;
            let m = m0 + mm;
            var v = 0.0;
            if (r < rEnd && m < uniforms.fm) {
              let ci = m % cin;
              let tap = m / cin;
              let kx = tap % uniforms.kw;
              let ky = tap / uniforms.kw;
              let ox = r % outW;
              let q = r / outW;
              let oy = q % outH;
              let b = q / outH;
              let iy = oy * uniforms.strideH - uniforms.padTop + ky;
              let ix = ox * uniforms.strideW - uniforms.padLeft + kx;
              if (iy >= 0 && iy < inH && ix >= 0 && ix < inW) {
                v = x[((b * inH + iy) * inW + ix) * cin + ci];
              }
            }
            tileA[k][mm] = v;
          }
          for (var e = tid; e < ${KT * tn}; e += ${threads}) {
            let k = e / ${tn};
            let nn = e % ${tn};
            let r = r0 + k;
            let n = n0 + nn;
            var v = 0.0;
            if (r < rEnd && n < cout) {
              v = dy[r * cout + n];
            }
            tileB[k][nn] = v;
          }
          workgroupBarrier();
          for (var k = 0; k < ${KT}; k++) {
            let bv = vec4<f32>(tileB[k][tcol * 4], tileB[k][tcol * 4 + 1], tileB[k][tcol * 4 + 2], tileB[k][tcol * 4 + 3]);
            for (var i = 0; i < 4; i++) {
              acc[i] = fma(vec4<f32>(tileA[k][trow * 4 + i]), bv, acc[i]);
            }
          }
          workgroupBarrier();
        }
        let base = split * uniforms.fm * cout;
        for (var i = 0; i < 4; i++) {
          let m = m0 + trow * 4 + i;
          if (m < uniforms.fm) {
            for (var j = 0; j < 4; j++) {
              let n = n0 + tcol * 4 + j;
              if (n < cout) {
                result[base + m * cout + n] = acc[i][j];
              }
            }
          }
        }
      }
    `;
  }
}

export function conv2DBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as tf.TensorInfo;
  const dy = inputs.dy as tf.TensorInfo;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  if (dataFormat === 'NCHW' || x.dtype !== 'float32' || dy.dtype !== 'float32' || x.shape.length !== 4) {
    return stockKernels.get(tf.Conv2DBackpropFilter)!(args) as tf.TensorInfo;
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const m = info.filterHeight * info.filterWidth * info.inChannels;
  const n = info.outChannels;
  const r = info.batchSize * info.outHeight * info.outWidth;
  const plan = planFilterGrad(m, n, r);
  const partial = backend.runWebGPUProgram(new FilterGradPartialProgram(plan), [x, dy], 'float32', [
    { type: 'int32', data: [info.filterWidth] },
    { type: 'int32', data: [info.strideHeight] },
    { type: 'int32', data: [info.strideWidth] },
    { type: 'int32', data: [info.padInfo.top] },
    { type: 'int32', data: [info.padInfo.left] },
    { type: 'int32', data: [m] },
    { type: 'int32', data: [r] },
    { type: 'int32', data: [plan.chunk] },
  ]);
  const out = backend.runWebGPUProgram(new SumSplitsProgram(info.filterShape), [partial], 'float32', [
    { type: 'int32', data: [plan.splits] },
    { type: 'float32', data: [1] },
  ]);
  backend.disposeData(partial.dataId);
  return out;
}
