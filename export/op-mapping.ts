// ModelSpec -> ONNX graph. The second interpreter of the spec (the first is models/forward.ts): it walks
// the same layer lists and emits ONNX ops in NCHW, with every weight converted from NHWC once here.
//
//   conv2d        Conv (OIHW weight, explicit TF pads: extra padding bottom/right), BatchNorm folded in
//   batchnorm     folded into the preceding Conv/Gemm of the same layer list; otherwise Mul + Add
//   relu          Relu
//   maxpool       MaxPool (TF same/valid pads)
//   globalavgpool GlobalAveragePool + Flatten
//   flatten       Flatten; the next Dense's kernel rows are permuted to tfjs's H,W,C order
//   dense         Gemm, weight [out, in] with transB=1 (the portable form; no bias: Gemm without C)
//   cosinedense   l2normalize of the input, then a bias-free Gemm whose constant weight is scale * w_c / ||w_c||
//                 (the column normalisation and the scale folded in at export, in float64)
//   l2normalize   x / Max(ReduceL2(x), eps)
//   residual      body, shortcut, Add (+ Relu)
import type { ParamTensor } from '../models/builders.js';
import { INPUT_NAME, OUTPUT_EMBEDDING, OUTPUT_LOGITS, OUTPUT_PROBS } from '../models/onnx-contract.js';
import { type LayerSpec, type ModelSpec, paramName, type ParamRole } from '../models/spec.js';
import { batchNormAffine, type FoldableLinear, foldAffineInto } from './bn-folding.js';
import { flattenPermutation, hwioToOihw, inversePermutation, onnxPads2D, permuteRows } from './layout.js';
import { type AttrValue, DataType, OnnxGraphBuilder } from './onnx-builder.js';

export type ParamLookup = Map<string, ParamTensor>;

export const SUPPORTED_LAYER_KINDS = ['conv2d', 'batchnorm', 'relu', 'maxpool', 'globalavgpool', 'flatten', 'dense', 'cosinedense', 'l2normalize', 'residual'] as const;

export class UnsupportedLayerError extends Error {
  constructor(
    readonly layer: string,
    readonly layerKind: string,
    where: string,
  ) {
    super(
      `layer '${layer}' of kind '${layerKind}' (in ${where}) has no ONNX mapping; supported kinds: ${SUPPORTED_LAYER_KINDS.join(', ')}`,
    );
    this.name = 'UnsupportedLayerError';
  }
}

/** A tensor flowing through the graph, with its layout. */
type Value =
  | { name: string; kind: 'nchw'; c: number; h: number; w: number }
  /** [N, n]; perm[p] = index of the tfjs feature held at ONNX position p (null: same order). */
  | { name: string; kind: 'flat'; n: number; perm: Int32Array | null };

/** A Conv/Gemm whose node is not emitted yet, so a following BatchNorm can fold into it. */
interface PendingLinear {
  op: 'Conv' | 'Gemm';
  layers: string[];
  input: string;
  lin: FoldableLinear;
  weightDims: number[];
  attrs: Record<string, AttrValue>;
  out: { kind: 'nchw'; c: number; h: number; w: number } | { kind: 'flat'; n: number; perm: null };
}

export interface GraphStats {
  foldedBatchNorms: string[];
  unfoldedBatchNorms: string[];
  permutedDense: string[];
}

export interface BuildGraphOptions {
  embedding: boolean;
}

export const BATCH_DIM = 'N';

const f64 = (a: Float32Array): Float64Array => Float64Array.from(a);
const f32 = (a: Float64Array): Float32Array => Float32Array.from(a);
/** [rows, cols] row-major -> [cols, rows]. */
function transpose2D(a: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c]!;
  return t;
}

class SpecToOnnx {
  readonly stats: GraphStats = { foldedBatchNorms: [], unfoldedBatchNorms: [], permutedDense: [] };

  constructor(
    readonly g: OnnxGraphBuilder,
    readonly params: ParamLookup,
  ) {}

  param(layer: string, role: ParamRole, expectShape?: number[]): Float32Array {
    const name = paramName(layer, role);
    const t = this.params.get(name);
    if (!t) throw new Error(`checkpoint has no parameter '${name}' (needed by layer '${layer}')`);
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`parameter '${name}': shape ${JSON.stringify(t.shape)} does not match its ${t.data.length} values`);
    if (expectShape && (t.shape.length !== expectShape.length || t.shape.some((d, i) => d !== expectShape[i])))
      throw new Error(`parameter '${name}' has shape ${JSON.stringify(t.shape)}, the spec needs ${JSON.stringify(expectShape)}`);
    return t.data;
  }

  /** Emits a pending Conv/Gemm (with whatever BatchNorms were folded into it). */
  flush(p: PendingLinear): Value {
    const base = p.layers[0]!;
    // Gemm's constant B is written [out, in] with transB=1 (PyTorch's layout): OpenCV DNN and other importers
    // turn only that form into a fully-connected layer; onnxruntime computes the same dot products either way.
    const [weight, dims] =
      p.op === 'Gemm' ? [transpose2D(p.lin.weight, p.weightDims[0]!, p.weightDims[1]!), [p.weightDims[1]!, p.weightDims[0]!]] : [p.lin.weight, p.weightDims];
    const w = this.g.addFloatInitializer(`${base}/weight`, dims, f32(weight));
    const inputs = [p.input, w];
    // Gemm without bias leaves out the optional C input (no MatMul: OpenCV cannot import MatMul with a constant B).
    if (p.lin.bias) inputs.push(this.g.addFloatInitializer(`${base}/bias`, [p.lin.outChannels], f32(p.lin.bias)));
    const outName = p.layers[p.layers.length - 1]!;
    const [out] = this.g.addNode(p.op, inputs, [outName], p.attrs, p.layers.join('+'));
    return { name: out!, ...p.out };
  }

  runList(layers: LayerSpec[], x: Value, where: string): Value {
    let cur = x;
    let pending: PendingLinear | null = null;
    const settle = (): Value => {
      if (pending) {
        cur = this.flush(pending);
        pending = null;
      }
      return cur;
    };
    for (const l of layers) {
      if (l.kind === 'batchnorm' && pending) {
        foldAffineInto(pending.lin, batchNormAffine(this.batchNormParams(l, pending.lin.outChannels), l.name), l.name);
        pending.layers.push(l.name);
        this.stats.foldedBatchNorms.push(l.name);
        continue;
      }
      const v = settle();
      if (l.kind === 'conv2d' || l.kind === 'dense') pending = this.linear(l, v, where);
      else if (l.kind === 'cosinedense') pending = this.cosine(l, v, where);
      else cur = this.layer(l, v, where);
    }
    return settle();
  }

  linear(l: Extract<LayerSpec, { kind: 'conv2d' | 'dense' }>, x: Value, where: string): PendingLinear {
    if (l.kind === 'conv2d') {
      if (x.kind !== 'nchw') throw new Error(`conv2d layer '${l.name}' (in ${where}) needs 4-D feature maps, got a flat [N, ${x.n}] tensor`);
      const k = l.kernel;
      const kernel = this.param(l.name, 'kernel', [k, k, x.c, l.filters]);
      const { pads, outH, outW } = onnxPads2D(x.h, x.w, k, l.stride, l.padding);
      return {
        op: 'Conv',
        layers: [l.name],
        input: x.name,
        lin: {
          weight: hwioToOihw(kernel, k, k, x.c, l.filters),
          outChannels: l.filters,
          outAxis: 0,
          bias: l.useBias ? f64(this.param(l.name, 'bias', [l.filters])) : null,
        },
        weightDims: [l.filters, x.c, k, k],
        attrs: { kernel_shape: [k, k], strides: [l.stride, l.stride], pads, dilations: [1, 1], group: 1 },
        out: { kind: 'nchw', c: l.filters, h: outH, w: outW },
      };
    }
    if (x.kind !== 'flat')
      throw new Error(`dense layer '${l.name}' (in ${where}) needs a flat [N, d] input, got [N, ${x.c}, ${x.h}, ${x.w}] feature maps (missing flatten or globalavgpool?)`);
    let weight = f64(this.param(l.name, 'kernel', [x.n, l.units]));
    if (x.perm) {
      // tfjs flattened H,W,C; the ONNX tensor holds C,H,W: reorder the kernel's input rows to match.
      weight = permuteRows(weight, x.n, l.units, x.perm);
      this.stats.permutedDense.push(l.name);
    }
    return {
      op: 'Gemm',
      layers: [l.name],
      input: x.name,
      lin: { weight, outChannels: l.units, outAxis: 1, bias: l.useBias ? f64(this.param(l.name, 'bias', [l.units])) : null },
      weightDims: [x.n, l.units],
      attrs: { alpha: { float: 1 }, beta: { float: 1 }, transA: 0, transB: 1 },
      out: { kind: 'flat', n: l.units, perm: null },
    };
  }

  /**
   * Cosine classifier: x / max(||x||, eps) (permutation-invariant, so a permuted input stays permuted), then a
   * Gemm with W'[:, c] = scale * w_c / max(||w_c||, eps): the same numbers models/forward.ts cosineLogits computes.
   */
  cosine(l: Extract<LayerSpec, { kind: 'cosinedense' }>, x: Value, where: string): PendingLinear {
    if (x.kind !== 'flat') throw new Error(`cosinedense layer '${l.name}' (in ${where}) needs a flat [N, d] input, got [N, ${x.c}, ${x.h}, ${x.w}] feature maps`);
    if (!(l.scale > 0 && Number.isFinite(l.scale))) throw new Error(`cosinedense layer '${l.name}' (in ${where}): scale must be a positive number, got ${l.scale}`);
    const xn = this.layer({ kind: 'l2normalize', name: `${l.name}_input_norm`, epsilon: l.epsilon }, x, where);
    let weight = f64(this.param(l.name, 'kernel', [x.n, l.units]));
    for (let c = 0; c < l.units; c++) {
      let sq = 0;
      for (let r = 0; r < x.n; r++) sq += weight[r * l.units + c]! ** 2;
      const k = l.scale / Math.max(Math.sqrt(sq), l.epsilon);
      for (let r = 0; r < x.n; r++) weight[r * l.units + c]! *= k;
    }
    if (x.perm) {
      weight = permuteRows(weight, x.n, l.units, x.perm);
      this.stats.permutedDense.push(l.name);
    }
    return {
      op: 'Gemm',
      layers: [l.name],
      input: xn.name,
      lin: { weight, outChannels: l.units, outAxis: 1, bias: null },
      weightDims: [x.n, l.units],
      attrs: { alpha: { float: 1 }, beta: { float: 1 }, transA: 0, transB: 1 },
      out: { kind: 'flat', n: l.units, perm: null },
    };
  }

  /** Reorders a permuted flat tensor back to tfjs feature order (only for unusual specs). */
  materialize(x: Value): Value {
    if (x.kind !== 'flat' || !x.perm) return x;
    const idx = this.g.addInt64Initializer(`${x.name}/tfjs_order`, [x.n], Array.from(inversePermutation(x.perm)));
    const name = this.g.op('Gather', [x.name, idx], `${x.name}_tfjs_order`, { axis: 1 });
    return { name, kind: 'flat', n: x.n, perm: null };
  }

  /** A BatchNorm layer's parameters for c channels. */
  private batchNormParams(l: Extract<LayerSpec, { kind: 'batchnorm' }>, c: number) {
    return {
      gamma: this.param(l.name, 'gamma', [c]),
      beta: this.param(l.name, 'beta', [c]),
      movingMean: this.param(l.name, 'movingMean', [c]),
      movingVariance: this.param(l.name, 'movingVariance', [c]),
      epsilon: l.epsilon,
    };
  }

  layer(l: LayerSpec, x: Value, where: string): Value {
    switch (l.kind) {
      case 'batchnorm': {
        // Not preceded by a Conv/Gemm in this layer list: a per-channel Mul + Add.
        const c = x.kind === 'nchw' ? x.c : x.n;
        let { scale, shift } = batchNormAffine(this.batchNormParams(l, c), l.name);
        if (x.kind === 'flat' && x.perm) {
          // Per-feature constants follow the feature permutation.
          scale = permuteRows(scale, x.n, 1, x.perm);
          shift = permuteRows(shift, x.n, 1, x.perm);
        }
        const dims = x.kind === 'nchw' ? [c, 1, 1] : [c];
        const s = this.g.addFloatInitializer(`${l.name}/scale`, dims, f32(scale));
        const b = this.g.addFloatInitializer(`${l.name}/shift`, dims, f32(shift));
        const m = this.g.op('Mul', [x.name, s], `${l.name}_scaled`);
        this.stats.unfoldedBatchNorms.push(l.name);
        return { ...x, name: this.g.op('Add', [m, b], l.name) };
      }
      case 'relu':
        return { ...x, name: this.g.op('Relu', [x.name], l.name) };
      case 'maxpool': {
        if (x.kind !== 'nchw') throw new Error(`maxpool layer '${l.name}' (in ${where}) needs 4-D feature maps, got a flat [N, ${x.n}] tensor`);
        const { pads, outH, outW } = onnxPads2D(x.h, x.w, l.size, l.stride, l.padding);
        const name = this.g.op('MaxPool', [x.name], l.name, {
          kernel_shape: [l.size, l.size],
          strides: [l.stride, l.stride],
          pads,
          ceil_mode: 0,
        });
        return { name, kind: 'nchw', c: x.c, h: outH, w: outW };
      }
      case 'globalavgpool': {
        if (x.kind !== 'nchw') throw new Error(`globalavgpool layer '${l.name}' (in ${where}) needs 4-D feature maps, got a flat [N, ${x.n}] tensor`);
        const p = this.g.op('GlobalAveragePool', [x.name], `${l.name}_pooled`);
        return { name: this.g.op('Flatten', [p], l.name, { axis: 1 }), kind: 'flat', n: x.c, perm: null };
      }
      case 'flatten': {
        if (x.kind === 'flat') return x; // tfjs reshape [N, -1] of a 2-D tensor is the identity
        const name = this.g.op('Flatten', [x.name], l.name, { axis: 1 });
        return { name, kind: 'flat', n: x.c * x.h * x.w, perm: flattenPermutation(x.c, x.h, x.w) };
      }
      case 'l2normalize': {
        // x / max(||x||_2, eps) over the feature axis (NHWC's last axis = NCHW's axis 1); permutation-invariant.
        const norm = this.g.op('ReduceL2', [x.name], `${l.name}_norm`, { axes: [1], keepdims: 1 });
        const eps = this.g.addFloatInitializer(`${l.name}/epsilon`, [], [l.epsilon]);
        const den = this.g.op('Max', [norm, eps], `${l.name}_denom`);
        return { ...x, name: this.g.op('Div', [x.name, den], l.name) };
      }
      case 'residual': {
        let body = this.runList(l.body, x, `${where} > residual '${l.name}' body`);
        let sc = l.shortcut.length ? this.runList(l.shortcut, x, `${where} > residual '${l.name}' shortcut`) : x;
        if (body.kind === 'flat' && sc.kind === 'flat' && body.perm !== sc.perm) {
          body = this.materialize(body);
          sc = this.materialize(sc);
        }
        const shape = (v: Value) => (v.kind === 'nchw' ? `[N, ${v.c}, ${v.h}, ${v.w}]` : `[N, ${v.n}]`);
        if (shape(body) !== shape(sc))
          throw new Error(`residual '${l.name}' (in ${where}): body gives ${shape(body)} but shortcut gives ${shape(sc)} (NCHW)`);
        const sum = this.g.op('Add', [body.name, sc.name], l.postRelu ? `${l.name}_sum` : l.name);
        return { ...body, name: l.postRelu ? this.g.op('Relu', [sum], l.name) : sum };
      }
      case 'conv2d':
      case 'dense':
      case 'cosinedense':
        throw new Error(`internal error: ${l.kind} handled by linear() / cosine()`);
      default: {
        const u = l as unknown as { name?: unknown; kind?: unknown };
        throw new UnsupportedLayerError(String(u.name ?? '<unnamed>'), String(u.kind ?? '<no kind>'), where);
      }
    }
  }
}

/** Names every leaf layer whose kind has no mapping, before any work is done. */
function checkKinds(layers: LayerSpec[], where: string): void {
  for (const l of layers as unknown as { kind?: unknown; name?: unknown; body?: LayerSpec[]; shortcut?: LayerSpec[] }[]) {
    if (!(SUPPORTED_LAYER_KINDS as readonly unknown[]).includes(l.kind))
      throw new UnsupportedLayerError(String(l.name ?? '<unnamed>'), String(l.kind ?? '<no kind>'), where);
    if (l.kind === 'residual') {
      checkKinds(l.body ?? [], `${where} > residual '${String(l.name)}' body`);
      checkKinds(l.shortcut ?? [], `${where} > residual '${String(l.name)}' shortcut`);
    }
  }
}

/**
 * Builds the inference graph: pixels uint8 [N,H,W,C] -> Cast -> Transpose to NCHW -> Mul/Add (preprocessing)
 * -> backbone -> classifier -> logits, probs (Softmax), and optionally the projection-head embedding.
 */
export function buildInferenceGraph(spec: ModelSpec, params: ParamLookup, opts: BuildGraphOptions): { builder: OnnxGraphBuilder; stats: GraphStats } {
  checkKinds(spec.backbone, 'backbone');
  checkKinds([spec.classifier], 'classifier');
  if (opts.embedding) checkKinds(spec.projector, 'projector');
  const { height: H, width: W, channels: C, mean, std } = spec.input;
  if (mean.length !== C || std.length !== C)
    throw new Error(`input normalisation has ${mean.length} means / ${std.length} stds for ${C} channels`);
  if (spec.classifier.units !== spec.numClasses)
    throw new Error(`classifier '${spec.classifier.name}' has ${spec.classifier.units} units but the model has ${spec.numClasses} classes`);

  const reserved = [INPUT_NAME, OUTPUT_LOGITS, OUTPUT_PROBS, OUTPUT_EMBEDDING];
  const g = new OnnxGraphBuilder(`${spec.family}_inference`, reserved);
  const conv = new SpecToOnnx(g, params);

  g.addInput(INPUT_NAME, DataType.UINT8, [BATCH_DIM, H, W, C], 'raw pixels, NHWC, uint8 0..255');
  // Exactly models/forward.ts preprocess(): x * float32(1 / (255 * std)) + float32(-mean / std), per channel,
  // applied after the NCHW transpose with [C, 1, 1] constants (the same values: element-wise ops commute with a
  // transpose). Portability: importers such as OpenCV DNN read a per-channel constant as channel axis 1.
  const cast = g.op('Cast', [INPUT_NAME], 'pixels_float', { to: DataType.FLOAT });
  const transposed = g.op('Transpose', [cast], 'pixels_nchw', { perm: [0, 3, 1, 2] });
  const scale = g.addFloatInitializer('preprocess/scale', [C, 1, 1], std.map((s) => 1 / (255 * s)));
  const shift = g.addFloatInitializer('preprocess/shift', [C, 1, 1], mean.map((m, i) => -m / std[i]!));
  const scaled = g.op('Mul', [transposed, scale], 'pixels_scaled');
  const nchw = g.op('Add', [scaled, shift], 'input_nchw');

  const h = conv.runList(spec.backbone, { name: nchw, kind: 'nchw', c: C, h: H, w: W }, 'backbone');
  if (h.kind !== 'flat' || h.n !== spec.featureDim)
    throw new Error(`backbone output is ${h.kind === 'flat' ? `[N, ${h.n}]` : `[N, ${h.c}, ${h.h}, ${h.w}]`}, spec.featureDim is ${spec.featureDim}`);
  const logits = conv.materialize(conv.runList([spec.classifier], h, 'classifier'));
  const probs = g.op('Softmax', [logits.name], OUTPUT_PROBS, { axis: -1 });
  let emb: Value | undefined;
  if (opts.embedding) {
    emb = conv.materialize(conv.runList(spec.projector, h, 'projector'));
    if (emb.kind !== 'flat' || emb.n !== spec.embeddingDim)
      throw new Error(`projector output is not [N, ${spec.embeddingDim}] (spec.embeddingDim)`);
  }
  g.addOutput(OUTPUT_LOGITS, logits.name, DataType.FLOAT, [BATCH_DIM, spec.numClasses], 'classifier logits');
  g.addOutput(OUTPUT_PROBS, probs, DataType.FLOAT, [BATCH_DIM, spec.numClasses], 'softmax(logits)');
  if (emb) g.addOutput(OUTPUT_EMBEDDING, emb.name, DataType.FLOAT, [BATCH_DIM, spec.embeddingDim], 'L2-normalised projection-head embedding');
  return { builder: g, stats: conv.stats };
}
