// Per-channel column reductions for tfjs-backend-webgpu: Sum/Mean over every axis but the last (BatchNorm
// statistics and gradients) as split rows in two dispatches (ColumnPartialProgram, then the ordered
// SumSplitsProgram), no transpose. `columnPass` is also what the BatchNorm kernels (webgpu-batchnorm-kernels.ts)
// reduce with. Other reductions take the stock kernels. Split out of webgpu-training-kernels.ts.
import type * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend, WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import { stockKernels, SumSplitsProgram, TARGET_WORKGROUPS, type KernelArgs } from './webgpu-kernel-support.js';

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
export type ColumnMode = 'sum' | 'centredSq' | 'bnGrad';
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

/** Axes reduced by Sum/Mean are exactly "every axis but the last" (BatchNorm's per-channel statistics). */
function isAllButLast(axis: number | number[], rank: number): boolean {
  const axes = [...new Set((Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);
  return rank >= 2 && axes.length === rank - 1 && axes.every((a, i) => a === i);
}

export function columnReduce(kind: 'Sum' | 'Mean', args: KernelArgs): tf.TensorInfo {
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
export function columnPass(backend: WebGPUBackend, mode: ColumnMode, inputs: tf.TensorInfo[], rows: number, cols: number, outShape: number[], scale: number): tf.TensorInfo {
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

export function rowsCols(x: tf.TensorInfo): [number, number] {
  const cols = x.shape[x.shape.length - 1]!;
  return [x.shape.reduce((a, b) => a * b, 1) / cols, cols];
}
