import { paramName } from '../models/spec.js';
import { batchNormAffine, foldAffineInto } from './bn-folding.js';
import { flattenPermutation, hwioToOihw, inversePermutation, onnxPads2D, permuteRows } from './layout.js';
import { DataType, OnnxGraphBuilder } from './onnx-builder.js';
export const SUPPORTED_LAYER_KINDS = ['conv2d', 'batchnorm', 'relu', 'maxpool', 'globalavgpool', 'flatten', 'dense', 'l2normalize', 'residual'];
export class UnsupportedLayerError extends Error {
    layer;
    layerKind;
    constructor(layer, layerKind, where) {
        super(`layer '${layer}' of kind '${layerKind}' (in ${where}) has no ONNX mapping; supported kinds: ${SUPPORTED_LAYER_KINDS.join(', ')}`);
        this.layer = layer;
        this.layerKind = layerKind;
        this.name = 'UnsupportedLayerError';
    }
}
export const INPUT_NAME = 'pixels';
export const OUTPUT_LOGITS = 'logits';
export const OUTPUT_PROBS = 'probs';
export const OUTPUT_EMBEDDING = 'embedding';
export const BATCH_DIM = 'N';
const f64 = (a) => Float64Array.from(a);
const f32 = (a) => Float32Array.from(a);
class SpecToOnnx {
    g;
    params;
    stats = { foldedBatchNorms: [], unfoldedBatchNorms: [], permutedDense: [] };
    constructor(g, params) {
        this.g = g;
        this.params = params;
    }
    param(layer, role, expectShape) {
        const name = paramName(layer, role);
        const t = this.params.get(name);
        if (!t)
            throw new Error(`checkpoint has no parameter '${name}' (needed by layer '${layer}')`);
        const n = t.shape.reduce((a, b) => a * b, 1);
        if (n !== t.data.length)
            throw new Error(`parameter '${name}': shape ${JSON.stringify(t.shape)} does not match its ${t.data.length} values`);
        if (expectShape && (t.shape.length !== expectShape.length || t.shape.some((d, i) => d !== expectShape[i])))
            throw new Error(`parameter '${name}' has shape ${JSON.stringify(t.shape)}, the spec needs ${JSON.stringify(expectShape)}`);
        return t.data;
    }
    /** Emits a pending Conv/Gemm (with whatever BatchNorms were folded into it). */
    flush(p) {
        const base = p.layers[0];
        const w = this.g.addFloatInitializer(`${base}/weight`, p.weightDims, f32(p.lin.weight));
        const inputs = [p.input, w];
        if (p.lin.bias)
            inputs.push(this.g.addFloatInitializer(`${base}/bias`, [p.lin.outChannels], f32(p.lin.bias)));
        const op = p.op === 'Gemm' && !p.lin.bias ? 'MatMul' : p.op;
        const outName = p.layers[p.layers.length - 1];
        const [out] = this.g.addNode(op, inputs, [outName], op === 'MatMul' ? {} : p.attrs, p.layers.join('+'));
        return { name: out, ...p.out };
    }
    runList(layers, x, where) {
        let cur = x;
        let pending = null;
        const settle = () => {
            if (pending) {
                cur = this.flush(pending);
                pending = null;
            }
            return cur;
        };
        for (const l of layers) {
            if (l.kind === 'batchnorm' && pending) {
                const c = pending.lin.outChannels;
                const bn = {
                    gamma: this.param(l.name, 'gamma', [c]),
                    beta: this.param(l.name, 'beta', [c]),
                    movingMean: this.param(l.name, 'movingMean', [c]),
                    movingVariance: this.param(l.name, 'movingVariance', [c]),
                    epsilon: l.epsilon,
                };
                foldAffineInto(pending.lin, batchNormAffine(bn, l.name), l.name);
                pending.layers.push(l.name);
                this.stats.foldedBatchNorms.push(l.name);
                continue;
            }
            const v = settle();
            if (l.kind === 'conv2d' || l.kind === 'dense')
                pending = this.linear(l, v, where);
            else
                cur = this.layer(l, v, where);
        }
        return settle();
    }
    linear(l, x, where) {
        if (l.kind === 'conv2d') {
            if (x.kind !== 'nchw')
                throw new Error(`conv2d layer '${l.name}' (in ${where}) needs 4-D feature maps, got a flat [N, ${x.n}] tensor`);
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
            attrs: { alpha: { float: 1 }, beta: { float: 1 }, transA: 0, transB: 0 },
            out: { kind: 'flat', n: l.units, perm: null },
        };
    }
    /** Reorders a permuted flat tensor back to tfjs feature order (only for unusual specs). */
    materialize(x) {
        if (x.kind !== 'flat' || !x.perm)
            return x;
        const idx = this.g.addInt64Initializer(`${x.name}/tfjs_order`, [x.n], Array.from(inversePermutation(x.perm)));
        const name = this.g.op('Gather', [x.name, idx], `${x.name}_tfjs_order`, { axis: 1 });
        return { name, kind: 'flat', n: x.n, perm: null };
    }
    layer(l, x, where) {
        switch (l.kind) {
            case 'batchnorm': {
                // Not preceded by a Conv/Gemm in this layer list: a per-channel Mul + Add.
                const c = x.kind === 'nchw' ? x.c : x.n;
                const bn = {
                    gamma: this.param(l.name, 'gamma', [c]),
                    beta: this.param(l.name, 'beta', [c]),
                    movingMean: this.param(l.name, 'movingMean', [c]),
                    movingVariance: this.param(l.name, 'movingVariance', [c]),
                    epsilon: l.epsilon,
                };
                let { scale, shift } = batchNormAffine(bn, l.name);
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
                if (x.kind !== 'nchw')
                    throw new Error(`maxpool layer '${l.name}' (in ${where}) needs 4-D feature maps, got a flat [N, ${x.n}] tensor`);
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
                if (x.kind !== 'nchw')
                    throw new Error(`globalavgpool layer '${l.name}' (in ${where}) needs 4-D feature maps, got a flat [N, ${x.n}] tensor`);
                const p = this.g.op('GlobalAveragePool', [x.name], `${l.name}_pooled`);
                return { name: this.g.op('Flatten', [p], l.name, { axis: 1 }), kind: 'flat', n: x.c, perm: null };
            }
            case 'flatten': {
                if (x.kind === 'flat')
                    return x; // tfjs reshape [N, -1] of a 2-D tensor is the identity
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
                const shape = (v) => (v.kind === 'nchw' ? `[N, ${v.c}, ${v.h}, ${v.w}]` : `[N, ${v.n}]`);
                if (shape(body) !== shape(sc))
                    throw new Error(`residual '${l.name}' (in ${where}): body gives ${shape(body)} but shortcut gives ${shape(sc)} (NCHW)`);
                const sum = this.g.op('Add', [body.name, sc.name], l.postRelu ? `${l.name}_sum` : l.name);
                return { ...body, name: l.postRelu ? this.g.op('Relu', [sum], l.name) : sum };
            }
            case 'conv2d':
            case 'dense':
                throw new Error(`internal error: ${l.kind} handled by linear()`);
            default: {
                const u = l;
                throw new UnsupportedLayerError(String(u.name ?? '<unnamed>'), String(u.kind ?? '<no kind>'), where);
            }
        }
    }
}
/** Names every leaf layer whose kind has no mapping, before any work is done. */
function checkKinds(layers, where) {
    for (const l of layers) {
        if (!SUPPORTED_LAYER_KINDS.includes(l.kind))
            throw new UnsupportedLayerError(String(l.name ?? '<unnamed>'), String(l.kind ?? '<no kind>'), where);
        if (l.kind === 'residual') {
            checkKinds(l.body ?? [], `${where} > residual '${String(l.name)}' body`);
            checkKinds(l.shortcut ?? [], `${where} > residual '${String(l.name)}' shortcut`);
        }
    }
}
/**
 * Builds the inference graph: pixels uint8 [N,H,W,C] -> Cast -> Mul/Add (preprocessing) -> Transpose to
 * NCHW -> backbone -> classifier -> logits, probs (Softmax), and optionally the projection-head embedding.
 */
export function buildInferenceGraph(spec, params, opts) {
    checkKinds(spec.backbone, 'backbone');
    checkKinds([spec.classifier], 'classifier');
    if (opts.embedding)
        checkKinds(spec.projector, 'projector');
    const { height: H, width: W, channels: C, mean, std } = spec.input;
    if (mean.length !== C || std.length !== C)
        throw new Error(`input normalisation has ${mean.length} means / ${std.length} stds for ${C} channels`);
    if (spec.classifier.units !== spec.numClasses)
        throw new Error(`classifier '${spec.classifier.name}' has ${spec.classifier.units} units but the model has ${spec.numClasses} classes`);
    const reserved = [INPUT_NAME, OUTPUT_LOGITS, OUTPUT_PROBS, OUTPUT_EMBEDDING];
    const g = new OnnxGraphBuilder(`${spec.family}_inference`, reserved);
    const conv = new SpecToOnnx(g, params);
    g.addInput(INPUT_NAME, DataType.UINT8, [BATCH_DIM, H, W, C], 'raw pixels, NHWC, uint8 0..255');
    // Exactly models/forward.ts preprocess(): x * float32(1 / (255 * std)) + float32(-mean / std), per channel.
    const cast = g.op('Cast', [INPUT_NAME], 'pixels_float', { to: DataType.FLOAT });
    const scale = g.addFloatInitializer('preprocess/scale', [C], std.map((s) => 1 / (255 * s)));
    const shift = g.addFloatInitializer('preprocess/shift', [C], mean.map((m, i) => -m / std[i]));
    const scaled = g.op('Mul', [cast, scale], 'pixels_scaled');
    const normed = g.op('Add', [scaled, shift], 'pixels_normalized');
    const nchw = g.op('Transpose', [normed], 'input_nchw', { perm: [0, 3, 1, 2] });
    const h = conv.runList(spec.backbone, { name: nchw, kind: 'nchw', c: C, h: H, w: W }, 'backbone');
    if (h.kind !== 'flat' || h.n !== spec.featureDim)
        throw new Error(`backbone output is ${h.kind === 'flat' ? `[N, ${h.n}]` : `[N, ${h.c}, ${h.h}, ${h.w}]`}, spec.featureDim is ${spec.featureDim}`);
    const logits = conv.materialize(conv.runList([spec.classifier], h, 'classifier'));
    const probs = g.op('Softmax', [logits.name], OUTPUT_PROBS, { axis: -1 });
    let emb;
    if (opts.embedding) {
        emb = conv.materialize(conv.runList(spec.projector, h, 'projector'));
        if (emb.kind !== 'flat' || emb.n !== spec.embeddingDim)
            throw new Error(`projector output is not [N, ${spec.embeddingDim}] (spec.embeddingDim)`);
    }
    g.addOutput(OUTPUT_LOGITS, logits.name, DataType.FLOAT, [BATCH_DIM, spec.numClasses], 'classifier logits');
    g.addOutput(OUTPUT_PROBS, probs, DataType.FLOAT, [BATCH_DIM, spec.numClasses], 'softmax(logits)');
    if (emb)
        g.addOutput(OUTPUT_EMBEDDING, emb.name, DataType.FLOAT, [BATCH_DIM, spec.embeddingDim], 'L2-normalised projection-head embedding');
    return { builder: g, stats: conv.stats };
}
//# sourceMappingURL=op-mapping.js.map