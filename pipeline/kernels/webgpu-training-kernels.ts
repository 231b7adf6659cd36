// Kernels that make tfjs-backend-webgpu (4.22) fast enough to train on a GPU.
//
// Stock webgpu runs one thread per filter weight, each looping over batch x output height x output width
// (for ResNet layers: a few thousand threads doing ~10^5-10^6 serial steps each). Measured on an H200,
// that kernel was 95.5% of a ResNet-20 training step. Here the filter gradient is what it is, a matmul
//   dW[kh*kw*Cin, Cout] = im2col(x)^T [kh*kw*Cin, R] x dy [R, Cout],   R = N*Ho*Wo,
// with the im2col gathered on the fly into workgroup memory (never materialised) and the long R axis
// split across workgroups ("split-K"): pass 1 writes one partial [M, Cout] per chunk of R, pass 2 adds the
// partials in a fixed order. No atomics, so results are deterministic.
// Sum/Mean over every axis but the last (BatchNorm statistics and gradients): stock webgpu transposes the
// whole tensor to put the channels first, then reduces each channel in ONE workgroup (16-64 workgroups on
// a GPU with 132 SMs); here it is the same split-rows scheme, two small dispatches, no transpose.
// EclLinearCombination (a*x + b*y + c*z): the SGD-with-momentum and BN running-statistics updates in one
// dispatch each instead of 3-6 elementwise ops (pipeline/optim.ts); a training step is ~2000 dispatches,
// and each costs CPU time in tfjs and Dawn.
import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend, WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import { type InPlaceUpdater, LINEAR_COMBINATION, registerInPlaceUpdater } from '../optim.js';
import { BN_GRAD, BN_STATS } from '../../models/ops/batchnorm.js';

const BACKEND = 'webgpu';
/** Rows of R per workgroup-memory tile. */
const KT = 16;
/** Filter rows (kh*kw*Cin) per workgroup; every thread owns a 4x4 block of the output tile. */
const TM = 64;
/** Workgroups pass 1 aims for (enough to fill a large GPU); fewer when R is short. */
const TARGET_WORKGROUPS = 4096;
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

/** One thread per output element over a flat dispatch (tfjs's `main(index)` form with uniforms.size). */
abstract class ElementwiseProgram implements WebGPUProgram {
  abstract variableNames: string[];
  abstract shaderKey: string;
  outputShape: number[];
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;

  constructor(shape: number[]) {
    this.outputShape = shape;
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    this.dispatch = [Math.ceil(shape.reduce((a, b) => a * b, 1) / 64), 1, 1];
  }

  abstract getUserCode(): string;
}

/** Adds the split partials [S, size] in order s = 0..S-1 (deterministic), times a scale. */
class SumSplitsProgram extends ElementwiseProgram {
  variableNames = ['partials'];
  shaderKey = 'eclSumSplits';
  uniforms = 'splits : i32, scale : f32,';

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          var s = 0.0;
          for (var k = 0; k < uniforms.splits; k++) {
            s = s + partials[k * uniforms.size + index];
          }
          setOutputAtIndex(index, s * uniforms.scale);
        }
      }
    `;
  }
}

export interface ColumnSumPlan {
  rows: number;
  cols: number;
  /** Column tile (a power of two <= 256) and row lanes per workgroup (256 / tile). */
  tile: number;
  lanes: number;
  chunk: number;
  splits: number;
}

/** Tiling of a column reduction [rows, cols] -> [cols] (pure; unit-tested). */
export function planColumnSum(rows: number, cols: number): ColumnSumPlan {
  let tile = 1;
  while (tile < Math.min(cols, 256)) tile *= 2;
  const lanes = 256 / tile;
  const tiles = Math.ceil(cols / tile);
  let splits = Math.max(1, Math.ceil(TARGET_WORKGROUPS / 4 / tiles));
  let chunk = Math.max(lanes * 8, Math.ceil(rows / splits));
  splits = Math.ceil(rows / chunk);
  return { rows, cols, tile, lanes, chunk, splits };
}

/**
 * Pass 1 of a reduction over every axis but the last: per chunk of rows, one partial sum per column.
 *   sum:        sum of x                                   -> [S, C]
 *   centredSq:  sum of (x - mean)^2        (inputs x, mean) -> [S, C]   (BN variance, two-pass)
 *   bnGrad:     sum of dy | sum of dy*(x - mean)  (inputs x = dy, y = x, mean) -> [S, 2C]
 */
type ColumnMode = 'sum' | 'centredSq' | 'bnGrad';
class ColumnPartialProgram implements WebGPUProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [1], y: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [256, 1, 1];
  uniforms = 'rows : i32, cols : i32, chunk : i32,';
  private readonly plan: ColumnSumPlan;
  private readonly mode: ColumnMode;

  constructor(plan: ColumnSumPlan, mode: ColumnMode = 'sum') {
    this.plan = plan;
    this.mode = mode;
    this.variableNames = mode === 'sum' ? ['x'] : mode === 'centredSq' ? ['x', 'mean'] : ['x', 'y', 'mean'];
    this.outputShape = [plan.splits, mode === 'bnGrad' ? 2 * plan.cols : plan.cols];
    this.dispatch = [Math.ceil(plan.cols / plan.tile), 1, plan.splits];
    this.shaderKey = `eclColumnPartial_${plan.tile}_${mode}`;
  }

  getUserCode(): string {
    const { tile, lanes } = this.plan;
    const two = this.mode === 'bnGrad';
    // Tree reduction over the lanes in workgroup memory; trip counts are constants (uniform control flow).
    let tree = '';
    for (let step = lanes / 2; step >= 1; step /= 2) {
      tree += `
        if (lane < ${step}) {
          buf[tid] = buf[tid] + buf[tid + ${step * tile}];${two ? `
          buf2[tid] = buf2[tid] + buf2[tid + ${step * tile}];` : ''}
        }
        workgroupBarrier();`;
    }
    const body =
      this.mode === 'sum'
        ? 's = s + x[i];'
        : this.mode === 'centredSq'
          ? 'let d = x[i] - m; s = s + d * d;'
          : 'let g = x[i]; s = s + g; s2 = s2 + g * (y[i] - m);';
    return `
      var<workgroup> buf : array<f32, 256>;
      ${two ? 'var<workgroup> buf2 : array<f32, 256>;' : ''}
      fn main() {
        let tid = i32(localIndex);
        let col = tid % ${tile};
        let lane = tid / ${tile};
        let c = i32(workgroupId.x) * ${tile} + col;
        let split = i32(workgroupId.z);
        let rBegin = split * uniforms.chunk;
        let rEnd = min(rBegin + uniforms.chunk, uniforms.rows);
        var s = 0.0;
        var s2 = 0.0;
        if (c < uniforms.cols) {
          ${this.mode === 'sum' ? '' : 'let m = mean[c];'}
          for (var r = rBegin + lane; r < rEnd; r += ${lanes}) {
            let i = r * uniforms.cols + c;
            ${body}
          }
        }
        buf[tid] = s;
        ${two ? 'buf2[tid] = s2;' : ''}
        workgroupBarrier();${tree}
        if (lane == 0 && c < uniforms.cols) {
          ${two
            ? 'result[split * 2 * uniforms.cols + c] = buf[tid]; result[split * 2 * uniforms.cols + uniforms.cols + c] = buf2[tid];'
            : 'result[split * uniforms.cols + c] = buf[tid];'}
        }
      }
    `;
  }
}

/** dx of training-mode BN from dy, x, batch mean/variance, gamma and the per-channel sums [sum dy | sum dy*xc]. */
class BatchNormGradInputProgram extends ElementwiseProgram {
  variableNames = ['dy', 'x', 'mean', 'variance', 'gamma', 'sums'];
  shaderKey = 'eclBatchNormGradInput';
  uniforms = 'channels : i32, invCount : f32, epsilon : f32,';

  getUserCode(): string {
    // dx = gamma*s*(dy - (dbeta + xhat*dgamma)/n), s = rsqrt(var+eps), xhat = (x-mean)*s, dgamma = s*sum(dy*xc)
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let c = index % uniforms.channels;
          let s = inverseSqrt(variance[c] + uniforms.epsilon);
          let xhat = (x[index] - mean[c]) * s;
          let dbeta = sums[c];
          let dgamma = sums[uniforms.channels + c] * s;
          setOutputAtIndex(index, gamma[c] * s * (dy[index] - (dbeta + xhat * dgamma) * uniforms.invCount));
        }
      }
    `;
  }
}

/** dgamma = rsqrt(var+eps) * sum(dy*xc) (which = 1) or dbeta = sum(dy) (which = 0), from the sums [2C]. */
class BatchNormGradParamProgram extends ElementwiseProgram {
  // Every declared input must be read by the shader: 'auto' pipeline layouts drop unused bindings.
  variableNames: string[];
  shaderKey: string;
  uniforms = 'epsilon : f32,';
  private readonly which: 0 | 1;

  constructor(channels: number, which: 0 | 1) {
    super([channels]);
    this.which = which;
    this.variableNames = which === 1 ? ['sums', 'variance'] : ['sums'];
    this.shaderKey = `eclBatchNormGradParam_${which}`;
  }

  getUserCode(): string {
    const v = this.which === 1 ? 'sums[uniforms.size + index] * inverseSqrt(variance[index] + uniforms.epsilon)' : 'sums[index]';
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          setOutputAtIndex(index, ${v});
        }
      }
    `;
  }
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: WebGPUBackend; attrs: tf.NamedAttrMap };
type KFunc = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

function conv2DBackpropFilter(args: KernelArgs): tf.TensorInfo {
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

/** Axes reduced by Sum/Mean are exactly "every axis but the last" (BatchNorm's per-channel statistics). */
function isAllButLast(axis: number | number[], rank: number): boolean {
  const axes = [...new Set((Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);
  return rank >= 2 && axes.length === rank - 1 && axes.every((a, i) => a === i);
}

function columnReduce(kind: 'Sum' | 'Mean', args: KernelArgs): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as tf.TensorInfo;
  const { axis, keepDims } = attrs as unknown as { axis: number | number[]; keepDims: boolean };
  if (x.dtype !== 'float32' || !isAllButLast(axis, x.shape.length) || x.shape.some((d) => d === 0)) {
    return stockKernels.get(kind)!(args) as tf.TensorInfo;
  }
  const [rows, cols] = rowsCols(x);
  const outShape = keepDims ? x.shape.map((d, i) => (i === x.shape.length - 1 ? d : 1)) : [cols];
  return columnPass(backend, 'sum', [x], rows, cols, outShape, kind === 'Mean' ? 1 / rows : 1);
}

/** Per-channel reduction of a [rows, C] view in two dispatches (partials, then their ordered sum). */
function columnPass(backend: WebGPUBackend, mode: ColumnMode, inputs: tf.TensorInfo[], rows: number, cols: number, outShape: number[], scale: number): tf.TensorInfo {
  const plan = planColumnSum(rows, cols);
  const partial = backend.runWebGPUProgram(new ColumnPartialProgram(plan, mode), inputs, 'float32', [
    { type: 'int32', data: [rows] },
    { type: 'int32', data: [cols] },
    { type: 'int32', data: [plan.chunk] },
  ]);
  const out = backend.runWebGPUProgram(new SumSplitsProgram(outShape), [partial], 'float32', [
    { type: 'int32', data: [plan.splits] },
    { type: 'float32', data: [scale] },
  ]);
  backend.disposeData(partial.dataId);
  return out;
}

function rowsCols(x: tf.TensorInfo): [number, number] {
  const cols = x.shape[x.shape.length - 1]!;
  return [x.shape.reduce((a, b) => a * b, 1) / cols, cols];
}

/** [mean, variance] over every axis but the last (biased variance, two-pass): 4 dispatches. */
function batchNormStats(args: KernelArgs): tf.TensorInfo[] {
  const { backend } = args;
  const x = args.inputs.x as tf.TensorInfo;
  if (x.dtype !== 'float32') throw new Error(`${BN_STATS}: float32 input expected, got ${x.dtype}`);
  const [rows, cols] = rowsCols(x);
  const mean = columnPass(backend, 'sum', [x], rows, cols, [cols], 1 / rows);
  const variance = columnPass(backend, 'centredSq', [x, mean], rows, cols, [cols], 1 / rows);
  return [mean, variance];
}

/** [dx, dgamma, dbeta] of training-mode BN: 5 dispatches (the tfjs-op version is ~15). */
function batchNormGrad(args: KernelArgs): tf.TensorInfo[] {
  const { backend, attrs } = args;
  const { dy, x, mean, variance, gamma } = args.inputs as Record<string, tf.TensorInfo>;
  const epsilon = (attrs as unknown as { epsilon: number }).epsilon;
  const [rows, cols] = rowsCols(x!);
  const sums = columnPass(backend, 'bnGrad', [dy!, x!, mean!], rows, cols, [2 * cols], 1);
  const dx = backend.runWebGPUProgram(new BatchNormGradInputProgram(x!.shape), [dy!, x!, mean!, variance!, gamma!, sums], 'float32', [
    { type: 'int32', data: [cols] },
    { type: 'float32', data: [1 / rows] },
    { type: 'float32', data: [epsilon] },
  ]);
  const dgamma = backend.runWebGPUProgram(new BatchNormGradParamProgram(cols, 1), [sums, variance!], 'float32', [{ type: 'float32', data: [epsilon] }]);
  const dbeta = backend.runWebGPUProgram(new BatchNormGradParamProgram(cols, 0), [sums], 'float32', [{ type: 'float32', data: [epsilon] }]);
  backend.disposeData(sums.dataId);
  return [dx, dgamma, dbeta];
}

/** out = a*x + b*y + c*z (z optional): the SGD and running-statistics updates in one dispatch. */
class LinearCombinationProgram extends ElementwiseProgram {
  variableNames: string[];
  shaderKey: string;
  uniforms = 'ca : f32, cb : f32, cc : f32,';

  constructor(shape: number[], terms: 2 | 3) {
    super(shape);
    this.variableNames = terms === 3 ? ['x', 'y', 'z'] : ['x', 'y'];
    this.shaderKey = `eclLinearCombination_${terms}`;
  }

  getUserCode(): string {
    const z = this.variableNames.length === 3 ? ' + uniforms.cc * z[index]' : '';
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          setOutputAtIndex(index, uniforms.ca * x[index] + uniforms.cb * y[index]${z});
        }
      }
    `;
  }
}


function linearCombination(args: KernelArgs): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const names = inputs.z ? ['x', 'y', 'z'] : ['x', 'y'];
  const ts = names.map((n) => inputs[n] as tf.TensorInfo);
  const shape = ts[0]!.shape;
  for (const t of ts) {
    if (t.dtype !== 'float32' || !tf.util.arraysEqual(t.shape, shape)) throw new Error(`${LINEAR_COMBINATION}: inputs must be float32 of one shape`);
  }
  const { a, b, c } = attrs as unknown as { a: number; b: number; c?: number };
  return backend.runWebGPUProgram(new LinearCombinationProgram(shape, ts.length as 2 | 3), ts, 'float32', [
    { type: 'float32', data: [a] },
    { type: 'float32', data: [b] },
    { type: 'float32', data: [c ?? 0] },
  ]);
}

// ---------------------------------------------------------------------------------------------------
// In-place parameter updates. A tfjs program has one new output tensor, so SGD with momentum is two
// dispatches (velocity, then weight) plus two tensor allocations per parameter. These dispatches rewrite
// the variables' own buffers instead, recorded into tfjs-backend-webgpu's command stream in order (its
// internals: device, tensorMap, command encoder, uniform pool), so queue order keeps every earlier read of
// the old values correct. Only for buffers no other tensor shares (refCount 1); the CPU copy a read may
// have cached is dropped.

interface TensorData {
  refCount: number;
  values: unknown;
  resource: GPUBuffer;
  dtype: string;
}
interface BackendInternals {
  device: GPUDevice;
  tensorMap: { get(id: unknown): TensorData | undefined };
  commandQueueOwnedIds: WeakSet<object>;
  computePassEncoder: GPUComputePassEncoder | null;
  commandEncoder: GPUCommandEncoder;
  dispatchCountInPass: number;
  uploadToGPU(id: unknown): void;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  makeUniforms(u: { type: string; data: number[] }[]): GPUBufferBinding;
}

const IN_PLACE_WGSL: Record<'sgd' | 'running', string> = {
  sgd: `
    struct U { n : i32, lr : f32, mu : f32, wd : f32 };
    @group(0) @binding(0) var<storage, read_write> w : array<f32>;
    @group(0) @binding(1) var<storage, read_write> v : array<f32>;
    @group(0) @binding(2) var<storage, read> g : array<f32>;
    @group(0) @binding(3) var<uniform> u : U;
    @compute @workgroup_size(256) fn main(@builtin(global_invocation_id) id : vec3<u32>) {
      let i = i32(id.x);
      if (i >= u.n) { return; }
      let vn = u.mu * v[i] + g[i] + u.wd * w[i];
      v[i] = vn;
      w[i] = w[i] - u.lr * vn;
    }`,
  running: `
    struct U { n : i32, m : f32, k : f32 };
    @group(0) @binding(0) var<storage, read_write> meanR : array<f32>;
    @group(0) @binding(1) var<storage, read_write> varR : array<f32>;
    @group(0) @binding(2) var<storage, read> mean : array<f32>;
    @group(0) @binding(3) var<storage, read> variance : array<f32>;
    @group(0) @binding(4) var<uniform> u : U;
    @compute @workgroup_size(256) fn main(@builtin(global_invocation_id) id : vec3<u32>) {
      let i = i32(id.x);
      if (i >= u.n) { return; }
      meanR[i] = u.m * meanR[i] + u.k * mean[i];
      varR[i] = u.m * varR[i] + u.k * variance[i];
    }`,
};
const inPlacePipelines = new Map<string, GPUComputePipeline>();

/** Records one in-place dispatch; false (nothing recorded) when a buffer is shared or not float32. */
function dispatchInPlace(kind: 'sgd' | 'running', written: tf.Tensor[], read: tf.Tensor[], uniforms: { type: string; data: number[] }[]): boolean {
  const backend = tf.backend() as unknown as BackendInternals;
  const n = written[0]!.size;
  const all = [...written, ...read];
  if (all.some((t) => t.dtype !== 'float32' || t.size !== n) || Math.ceil(n / 256) > 65535) return false;
  for (const t of written) if ((backend.tensorMap.get(t.dataId)?.refCount ?? 0) !== 1) return false;
  const buffers: GPUBuffer[] = [];
  for (const t of all) {
    backend.uploadToGPU(t.dataId);
    const td = backend.tensorMap.get(t.dataId)!;
    buffers.push(td.resource);
    backend.commandQueueOwnedIds.add(t.dataId as object);
  }
  for (const t of written) backend.tensorMap.get(t.dataId)!.values = null;
  let pipeline = inPlacePipelines.get(kind);
  if (!pipeline) {
    const module = backend.device.createShaderModule({ code: IN_PLACE_WGSL[kind], label: `eclInPlace_${kind}` });
    pipeline = backend.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: `eclInPlace_${kind}` });
    inPlacePipelines.set(kind, pipeline);
  }
  const bindGroup = backend.device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [...buffers.map((buffer, i) => ({ binding: i, resource: { buffer } })), { binding: buffers.length, resource: backend.makeUniforms(uniforms) }],
  });
  backend.ensureCommandEncoderReady();
  if (!backend.computePassEncoder) backend.computePassEncoder = backend.commandEncoder.beginComputePass({});
  backend.computePassEncoder.setPipeline(pipeline);
  backend.computePassEncoder.setBindGroup(0, bindGroup);
  backend.computePassEncoder.dispatchWorkgroups(Math.ceil(n / 256));
  backend.dispatchCountInPass++;
  if ((tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number) <= backend.dispatchCountInPass) {
    backend.endComputePassEncoder();
    backend.submitQueue();
  }
  return true;
}

const inPlaceUpdater: InPlaceUpdater = {
  sgd: (w, v, g, o) =>
    dispatchInPlace('sgd', [w, v], [g], [
      { type: 'int32', data: [w.size] },
      { type: 'float32', data: [o.lr] },
      { type: 'float32', data: [o.momentum] },
      { type: 'float32', data: [o.weightDecay] },
    ]),
  running: (meanR, mean, varR, variance, m) =>
    dispatchInPlace('running', [meanR, varR], [mean, variance], [
      { type: 'int32', data: [meanR.size] },
      { type: 'float32', data: [m] },
      { type: 'float32', data: [1 - m] },
    ]),
};

/** dx of ReLU: dy where x > 0, else 0 (tfjs: dy * step(x), two dispatches). */
class ReluGradProgram extends ElementwiseProgram {
  variableNames = ['dy', 'x'];
  shaderKey = 'eclReluGrad';

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          setOutputAtIndex(index, select(0.0, dy[index], x[index] > 0.0));
        }
      }
    `;
  }
}

export const RELU_GRAD = 'EclReluGrad';

function reluGrad(args: KernelArgs): tf.TensorInfo {
  const { dy, x } = args.inputs as Record<string, tf.TensorInfo>;
  return args.backend.runWebGPUProgram(new ReluGradProgram(x!.shape), [dy!, x!], 'float32', []);
}

/** ReLU's gradient through EclReluGrad where the backend has it (same values as tfjs's dy * step(x)). */
function registerReluGradient(): void {
  tf.registerGradient({
    kernelName: tf.Relu,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as [tf.Tensor];
      const d = dy as tf.Tensor;
      if (x.dtype === 'float32' && tf.getKernel(RELU_GRAD, tf.getBackend())) return { x: () => tf.engine().runKernel(RELU_GRAD, { dy: d, x }, {}) as tf.Tensor };
      return { x: () => tf.mul(d, tf.cast(tf.step(x), 'float32')) };
    },
  });
}

const stockKernels = new Map<string, KFunc>();

const MARK = Symbol.for('ecl.webgpuTrainingKernel');
let registered: string[] | undefined;

/**
 * Replaces webgpu's Conv2DBackpropFilter; returns the replaced kernel names. Idempotent. Call it after
 * importing '@tensorflow/tfjs-backend-webgpu' (its kernels must be registered first).
 */
export function registerWebgpuTrainingKernels(): string[] {
  if (registered) return registered;
  const old = tf.getKernel(tf.Conv2DBackpropFilter, BACKEND);
  if (!old) throw new Error('tfjs-backend-webgpu is not loaded: its Conv2DBackpropFilter kernel is missing');
  const names = [tf.Conv2DBackpropFilter, tf.Sum, tf.Mean, LINEAR_COMBINATION, BN_STATS, BN_GRAD, RELU_GRAD];
  if ((old.kernelFunc as { [MARK]?: boolean })[MARK]) return (registered = names);
  const replacements: [string, (a: KernelArgs) => tf.TensorInfo | tf.TensorInfo[]][] = [
    [tf.Conv2DBackpropFilter, conv2DBackpropFilter],
    [tf.Sum, (a) => columnReduce('Sum', a)],
    [tf.Mean, (a) => columnReduce('Mean', a)],
    [LINEAR_COMBINATION, linearCombination],
    [BN_STATS, batchNormStats],
    [BN_GRAD, batchNormGrad],
    [RELU_GRAD, reluGrad],
  ];
  for (const [name, fn] of replacements) {
    const prev = tf.getKernel(name, BACKEND);
    if (prev) {
      stockKernels.set(name, prev.kernelFunc as unknown as KFunc);
      tf.unregisterKernel(name, BACKEND);
    }
    const kernelFunc = ((a: KernelArgs) => fn(a)) as unknown as tf.KernelFunc & { [MARK]?: boolean };
    kernelFunc[MARK] = true;
    tf.registerKernel({ kernelName: name, backendName: BACKEND, kernelFunc });
  }
  registerInPlaceUpdater(BACKEND, inPlaceUpdater);
  registerReluGradient();
  registered = names;
  return registered;
}

/** tfjs-backend-webgpu flags for training, then any `ECL_WEBGPU_FLAGS="NAME=value,..."` overrides. */
export const WEBGPU_TRAINING_FLAGS: Record<string, number | boolean> = {
  // Small tensors without a GPU buffer would otherwise run on the CPU, a read-back away from the GPU.
  WEBGPU_CPU_FORWARD: false,
  // Dispatches per queue submission (tfjs: 15). Measured on an H200, ResNet-32 batch 512: 24 -> 5.3k
  // img/s, 64 -> 4.1k, 512 -> 3.2k: small batches let the GPU start while the CPU is still encoding.
  WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE: 24,
};

export function configureWebgpuForTraining(overrides = process.env.ECL_WEBGPU_FLAGS ?? ''): string {
  const flags: Record<string, number | boolean> = { ...WEBGPU_TRAINING_FLAGS };
  for (const item of overrides.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [k, v] = item.split('=');
    if (!k || v === undefined) throw new Error(`ECL_WEBGPU_FLAGS: expected NAME=value, got '${item}'`);
    flags[k] = v === 'true' ? true : v === 'false' ? false : Number(v);
    if (typeof flags[k] === 'number' && !Number.isFinite(flags[k])) throw new Error(`ECL_WEBGPU_FLAGS: '${item}' is not a number or boolean`);
  }
  for (const [k, v] of Object.entries(flags)) tf.env().set(k, v);
  return Object.entries(flags)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}
