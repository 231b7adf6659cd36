// export/op-mapping.ts beyond the model families: a cosine classifier right after a flatten (permuted rows,
// the column norm and scale folded into the constant), a residual whose body and shortcut hold the flat
// features in different orders (Gather back to tfjs order), the attributes every node states, the
// preprocessing constants, and each refusal with its exact message. Small specs, checked against tfjs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeModel, type OnnxModel, valueInfoShape } from '../../export/onnx-builder.js';
import { buildOnnxModel } from '../../export/export-run.js';
import { flattenPermutation } from '../../export/layout.js';
import { buildInferenceGraph, SUPPORTED_LAYER_KINDS, UnsupportedLayerError } from '../../export/op-mapping.js';
import type { ParamStore } from '../../models/builders.js';
import type { LayerSpec, ModelSpec } from '../../models/spec.js';
import { compareWithTfjs } from '../../pipeline/parity/export-check.js';
import { perturbedParams, randomImages } from '../helpers/export-fixtures.js';

type Graph = NonNullable<OnnxModel['graph']>;
type Node = NonNullable<Graph['node']>[number];

/** 4x4x2 input; conv (stride 2) -> 2x2x3 -> flatten (12 features, permuted in ONNX) -> cosine classifier. */
function cosineSpec(): ModelSpec {
  return {
    family: 'cnn28',
    input: { height: 4, width: 4, channels: 2, mean: [0.25, 0.5], std: [0.5, 0.2] },
    numClasses: 3,
    featureDim: 12,
    embeddingDim: 5,
    backbone: [
      { kind: 'conv2d', name: 'c1', filters: 3, kernel: 3, stride: 2, padding: 'same', useBias: true },
      { kind: 'relu', name: 'r1' },
      { kind: 'flatten', name: 'flat' },
      { kind: 'flatten', name: 'flat_again' }, // flat input: the identity, no node
    ],
    classifier: { kind: 'cosinedense', name: 'cls', units: 3, scale: 7, epsilon: 1e-12 },
    projector: [
      { kind: 'dense', name: 'proj', units: 5, useBias: false },
      { kind: 'l2normalize', name: 'proj_norm', epsilon: 1e-12 },
    ],
    prototypeMap: { kind: 'dense', name: 'proto', units: 5, useBias: false },
  };
}

/** Flat features whose residual body re-orders them (dense) while the identity shortcut keeps ONNX order. */
function residualSpec(): ModelSpec {
  return {
    family: 'cnn28',
    input: { height: 2, width: 2, channels: 3, mean: [0, 0, 0], std: [1, 1, 1] },
    numClasses: 2,
    featureDim: 12,
    embeddingDim: 12,
    backbone: [
      { kind: 'flatten', name: 'flat' },
      { kind: 'residual', name: 'res', body: [{ kind: 'dense', name: 'res_fc', units: 12, useBias: true }], shortcut: [], postRelu: true },
    ],
    classifier: { kind: 'dense', name: 'cls', units: 2, useBias: true },
    projector: [{ kind: 'relu', name: 'proj_relu' }],
    prototypeMap: { kind: 'dense', name: 'proto', units: 12, useBias: false },
  };
}

const attrs = (n: Node): Record<string, unknown> =>
  Object.fromEntries(
    n.attribute!.map((a) => {
      if (a.ints && a.ints.length) return [a.name!, a.ints.map(Number)];
      if (a.type === 1) return [a.name!, a.f];
      return [a.name!, Number(a.i)];
    }),
  );
const floats = (g: Graph, name: string): number[] => {
  const t = g.initializer!.find((i) => i.name === name)!;
  const raw = t.rawData!;
  return Array.from(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)));
};
const graphOf = (spec: ModelSpec, params: ParamStore, embedding: boolean): Graph => decodeModel(buildOnnxModel(spec, params, { embedding }).bytes).graph!;

test('cosine classifier after a flatten: permuted rows, scale * w_c / ||w_c|| folded in, tfjs parity', async () => {
  const spec = cosineSpec();
  const params = await perturbedParams(spec, 4);
  const { stats } = buildInferenceGraph(spec, params, { embedding: true });
  assert.deepEqual(stats, { foldedBatchNorms: [], unfoldedBatchNorms: [], permutedDense: ['cls', 'proj'] });
  const g = graphOf(spec, params, true);
  assert.deepEqual(
    g.node!.map((n) => [n.opType, n.name]),
    [
      ['Cast', 'Cast_pixels_float'],
      ['Transpose', 'Transpose_pixels_nchw'],
      ['Mul', 'Mul_pixels_scaled'],
      ['Add', 'Add_input_nchw'],
      ['Conv', 'c1'],
      ['Relu', 'Relu_r1'],
      ['Flatten', 'Flatten_flat'],
      ['ReduceL2', 'ReduceL2_cls_input_norm_norm'],
      ['Max', 'Max_cls_input_norm_denom'],
      ['Div', 'Div_cls_input_norm'],
      ['Gemm', 'cls'],
      ['Softmax', 'Softmax_probs_1'],
      ['Gemm', 'proj'],
      ['ReduceL2', 'ReduceL2_proj_norm_norm'],
      ['Max', 'Max_proj_norm_denom'],
      ['Div', 'Div_proj_norm'],
    ],
  );
  const node = (name: string) => g.node!.find((n) => n.name === name)!;
  assert.deepEqual(attrs(node('c1')), { kernel_shape: [3, 3], strides: [2, 2], pads: [0, 0, 1, 1], dilations: [1, 1], group: 1 });
  for (const gemm of ['cls', 'proj']) assert.deepEqual(attrs(node(gemm)), { alpha: 1, beta: 1, transA: 0, transB: 1 });
  assert.deepEqual(node('cls').input, ['cls_input_norm', 'cls/weight']);
  assert.deepEqual(node('cls').output, ['logits']);
  assert.deepEqual(attrs(node('ReduceL2_cls_input_norm_norm')), { axes: [1], keepdims: 1 });
  assert.deepEqual(node('Max_cls_input_norm_denom').input, ['cls_input_norm_norm', 'cls_input_norm/epsilon']);
  assert.deepEqual(floats(g, 'cls_input_norm/epsilon'), [Math.fround(1e-12)]);
  assert.deepEqual(attrs(node('Flatten_flat')), { axis: 1 });
  assert.deepEqual(attrs(node('Softmax_probs_1')), { axis: -1 });
  assert.deepEqual(attrs(node('Cast_pixels_float')), { to: 1 });
  assert.deepEqual(attrs(node('Transpose_pixels_nchw')), { perm: [0, 3, 1, 2] });
  // Preprocessing: x * 1/(255 std) + (-mean/std), per channel, [C, 1, 1].
  const init = (name: string) => g.initializer!.find((i) => i.name === name)!;
  assert.deepEqual(init('preprocess/scale').dims!.map(Number), [2, 1, 1]);
  assert.deepEqual(floats(g, 'preprocess/scale'), [1 / 127.5, 1 / 51].map(Math.fround));
  assert.deepEqual(floats(g, 'preprocess/shift'), [-0.5, -2.5].map(Math.fround));
  // Conv weight OIHW [3, 2, 3, 3] and its bias; Gemm weights [out, in].
  assert.deepEqual(init('c1/weight').dims!.map(Number), [3, 2, 3, 3]);
  assert.deepEqual(floats(g, 'c1/bias'), Array.from(params.get('c1/bias')!.data));
  assert.deepEqual(init('cls/weight').dims!.map(Number), [3, 12]);
  assert.deepEqual(init('proj/weight').dims!.map(Number), [5, 12]);
  assert.equal(g.initializer!.some((i) => i.name === 'cls/bias'), false);
  // W'[c, p] = 7 * w[perm[p], c] / ||w_c||: the column norm in float64, the flatten permutation on the rows.
  const w = params.get('cls/kernel')!.data;
  const perm = flattenPermutation(3, 2, 2)!;
  const got = floats(g, 'cls/weight');
  for (let c = 0; c < 3; c++) {
    let sq = 0;
    for (let r = 0; r < 12; r++) sq += w[r * 3 + c]! ** 2;
    for (let p = 0; p < 12; p++) {
      const want = (7 * w[perm[p]! * 3 + c]!) / Math.sqrt(sq);
      assert.ok(Math.abs(got[c * 12 + p]! - want) <= 1e-6 * Math.abs(want) + 1e-7, `W'[${c}, ${p}] ${got[c * 12 + p]} vs ${want}`);
    }
  }
  // Graph input and outputs.
  assert.equal(g.input![0]!.name, 'pixels');
  assert.deepEqual(valueInfoShape(g.input![0]!), ['N', 4, 4, 2]);
  assert.equal(g.input![0]!.docString, 'raw pixels, NHWC, uint8 0..255');
  assert.deepEqual(
    g.output!.map((o) => [o.name, valueInfoShape(o), o.docString]),
    [
      ['logits', ['N', 3], 'classifier logits'],
      ['probs', ['N', 3], 'softmax(logits)'],
      ['embedding', ['N', 5], 'L2-normalised projection-head embedding'],
    ],
  );
  const { images, labels } = randomImages(spec, 32, 2);
  const r = await compareWithTfjs({ spec, params }, images, 32, { labels, backend: 'cpu' });
  assert.ok(r.maxAbsLogit <= 7 + 1e-4, 'cosine logits are bounded by the scale');
  assert.ok(r.maxAbsLogitDiff <= 1e-5, `max |Δlogit| ${r.maxAbsLogitDiff}`);
  assert.ok(r.maxAbsEmbeddingDiff !== null && r.maxAbsEmbeddingDiff <= 1e-5, `max |Δembedding| ${r.maxAbsEmbeddingDiff}`);
});

test('a cosine column of zeros: the norm is floored at epsilon (zero logits, no NaN)', async () => {
  const spec = cosineSpec();
  const params = await perturbedParams(spec, 5);
  const k = params.get('cls/kernel')!.data;
  for (let r = 0; r < 12; r++) k[r * 3 + 1] = 0;
  const g = graphOf(spec, params, false);
  const got = floats(g, 'cls/weight');
  assert.deepEqual(got.slice(12, 24), new Array(12).fill(0));
  assert.ok(got.every(Number.isFinite));
  assert.deepEqual(g.output!.map((o) => o.name), ['logits', 'probs']);
});

test('a cosine layer ending the projector is a flat [N, units] embedding (tfjs parity)', async () => {
  const spec: ModelSpec = { ...cosineSpec(), projector: [{ kind: 'cosinedense', name: 'pcos', units: 5, scale: 3, epsilon: 1e-12 }] };
  const params = await perturbedParams(spec, 12);
  const g = graphOf(spec, params, true);
  assert.deepEqual(valueInfoShape(g.output!.find((o) => o.name === 'embedding')!), ['N', 5]);
  const { images, labels } = randomImages(spec, 16, 4);
  const r = await compareWithTfjs({ spec, params }, images, 16, { labels, backend: 'cpu' });
  assert.ok(r.maxAbsLogitDiff <= 1e-4 && r.maxAbsEmbeddingDiff !== null && r.maxAbsEmbeddingDiff <= 1e-5, JSON.stringify(r));
});

test('residual over flat features held in different orders: Gather to tfjs order, tfjs parity', async () => {
  const spec = residualSpec();
  const params = await perturbedParams(spec, 6);
  const g = graphOf(spec, params, true);
  const gathers = g.node!.filter((n) => n.opType === 'Gather');
  // The identity shortcut (the permuted flatten) goes back to tfjs order before the Add with the dense body.
  assert.deepEqual(gathers.map((n) => [n.input, n.output, attrs(n)]), [[['flat', 'flat/tfjs_order'], ['flat_tfjs_order'], { axis: 1 }]]);
  const idx = g.initializer!.find((i) => i.name === 'flat/tfjs_order')!;
  assert.deepEqual(idx.dims!.map(Number), [12]);
  const raw = idx.rawData!;
  const order = Array.from(new BigInt64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)), Number);
  const perm = flattenPermutation(3, 2, 2)!;
  // Gather picks, for tfjs feature f, the ONNX position holding it: order[f] = p with perm[p] = f.
  order.forEach((p, f) => assert.equal(perm[p], f));
  const add = g.node!.find((n) => n.opType === 'Add' && n.input!.includes('flat_tfjs_order'))!;
  assert.deepEqual(add.input, ['res_fc', 'flat_tfjs_order']);
  assert.deepEqual(add.output, ['res_sum']);
  assert.equal(g.node!.find((n) => n.input!.includes('res_sum'))!.opType, 'Relu');
  const { stats } = buildInferenceGraph(spec, params, { embedding: true });
  assert.deepEqual(stats.permutedDense, ['res_fc']);
  const { images, labels } = randomImages(spec, 16, 3);
  const r = await compareWithTfjs({ spec, params }, images, 16, { labels, backend: 'cpu' });
  assert.ok(r.maxAbsLogitDiff <= 1e-4, `max |Δlogit| ${r.maxAbsLogitDiff}`);
  assert.ok(r.maxAbsEmbeddingDiff !== null && r.maxAbsEmbeddingDiff <= 1e-5, `max |Δembedding| ${r.maxAbsEmbeddingDiff}`);
  // Permuted flat features as the embedding: Gathered back to tfjs order into the output itself.
  const spec2: ModelSpec = { ...spec, backbone: [{ kind: 'flatten', name: 'flat' }] };
  const g2 = graphOf(spec2, params, true);
  assert.deepEqual(
    g2.node!.filter((n) => n.opType === 'Gather').map((n) => [n.input, n.output]),
    [[['proj_relu', 'proj_relu/tfjs_order'], ['embedding']]],
  );
  assert.deepEqual(buildInferenceGraph(spec2, params, { embedding: true }).stats.permutedDense, ['cls']);
  const r2 = await compareWithTfjs({ spec: spec2, params }, images, 16, { labels, backend: 'cpu' });
  assert.ok(r2.maxAbsLogitDiff <= 1e-4 && r2.maxAbsEmbeddingDiff !== null && r2.maxAbsEmbeddingDiff <= 1e-5, JSON.stringify(r2));
});

test('an unfolded BatchNorm on feature maps uses [C, 1, 1] constants; a residual without postRelu ends in its Add', async () => {
  const spec: ModelSpec = {
    ...cosineSpec(),
    backbone: [
      { kind: 'relu', name: 'r0' },
      { kind: 'batchnorm', name: 'bn0', epsilon: 1e-3, momentum: 0.9 },
      { kind: 'residual', name: 'res', body: [{ kind: 'conv2d', name: 'rc', filters: 2, kernel: 1, stride: 1, padding: 'valid', useBias: false }], shortcut: [], postRelu: false },
      { kind: 'maxpool', name: 'mp', size: 2, stride: 2, padding: 'valid' },
      { kind: 'globalavgpool', name: 'gap' },
    ],
    featureDim: 2,
    classifier: { kind: 'dense', name: 'cls', units: 3, useBias: false },
    projector: [],
    embeddingDim: 2,
  };
  const params = await perturbedParams(spec, 8);
  const g = graphOf(spec, params, false);
  const init = (name: string) => g.initializer!.find((i) => i.name === name)!;
  assert.deepEqual(init('bn0/scale').dims!.map(Number), [2, 1, 1]);
  assert.deepEqual(init('bn0/shift').dims!.map(Number), [2, 1, 1]);
  const add = g.node!.find((n) => n.output!.includes('res'))!;
  assert.equal(add.opType, 'Add');
  assert.deepEqual(add.input, ['rc', 'bn0']);
  const pool = g.node!.find((n) => n.opType === 'MaxPool')!;
  assert.deepEqual(attrs(pool), { kernel_shape: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], ceil_mode: 0 });
  assert.deepEqual(
    g.node!.filter((n) => ['GlobalAveragePool', 'Flatten'].includes(n.opType!)).map((n) => [n.opType, n.output, attrs(n)]),
    [
      ['GlobalAveragePool', ['gap_pooled'], {}],
      ['Flatten', ['gap'], { axis: 1 }],
    ],
  );
  const { images, labels } = randomImages(spec, 16, 4);
  const r = await compareWithTfjs({ spec, params }, images, 16, { labels, backend: 'cpu', embedding: false });
  assert.ok(r.maxAbsLogitDiff <= 1e-4, `max |Δlogit| ${r.maxAbsLogitDiff}`);
});

test('every refusal names the layer, where it is and what is wrong', async () => {
  const base = cosineSpec();
  const params = await perturbedParams(base, 4);
  const fails = (spec: ModelSpec, message: string, p: ParamStore = params, embedding = true) =>
    assert.throws(
      () => buildInferenceGraph(spec, p, { embedding }),
      (e: Error) => e.message === message,
      message,
    );
  const withBackbone = (backbone: LayerSpec[], extra: Partial<ModelSpec> = {}): ModelSpec => ({ ...base, backbone, ...extra });
  const [conv, relu, flat] = base.backbone as [LayerSpec, LayerSpec, LayerSpec];
  fails(withBackbone([flat, conv]), "conv2d layer 'c1' (in backbone) needs 4-D feature maps, got a flat [N, 32] tensor");
  fails(withBackbone([conv, { kind: 'dense', name: 'd', units: 12, useBias: false }]), "dense layer 'd' (in backbone) needs a flat [N, d] input, got [N, 3, 2, 2] feature maps (missing flatten or globalavgpool?)");
  fails(withBackbone([conv, { kind: 'cosinedense', name: 'cd', units: 3, scale: 1, epsilon: 1e-12 }]), "cosinedense layer 'cd' (in backbone) needs a flat [N, d] input, got [N, 3, 2, 2] feature maps");
  fails(withBackbone([flat, { kind: 'maxpool', name: 'mp', size: 2, stride: 2, padding: 'valid' }]), "maxpool layer 'mp' (in backbone) needs 4-D feature maps, got a flat [N, 32] tensor");
  fails(withBackbone([flat, { kind: 'globalavgpool', name: 'gap' }]), "globalavgpool layer 'gap' (in backbone) needs 4-D feature maps, got a flat [N, 32] tensor");
  for (const scale of [0, -1, NaN, Infinity])
    fails({ ...base, classifier: { ...base.classifier, scale } as LayerSpec as ModelSpec['classifier'] }, `cosinedense layer 'cls' (in classifier): scale must be a positive number, got ${scale}`);
  fails(withBackbone([conv, relu]), 'backbone output is [N, 3, 2, 2], spec.featureDim is 12');
  fails(withBackbone([conv, flat], { featureDim: 11 }), 'backbone output is [N, 12], spec.featureDim is 11');
  fails({ ...base, embeddingDim: 6 }, 'projector output is not [N, 6] (spec.embeddingDim)');
  fails({ ...base, projector: [relu] }, 'projector output is not [N, 5] (spec.embeddingDim)');
  fails({ ...base, input: { ...base.input, mean: [0.5] } }, 'input normalisation has 1 means / 2 stds for 2 channels');
  fails({ ...base, input: { ...base.input, std: [1, 1, 1] } }, 'input normalisation has 2 means / 3 stds for 2 channels');
  fails({ ...base, numClasses: 4 }, "classifier 'cls' has 3 units but the model has 4 classes");
  fails(
    withBackbone([conv, { kind: 'residual', name: 'rr', body: [{ kind: 'conv2d', name: 'rb', filters: 3, kernel: 1, stride: 2, padding: 'valid', useBias: false }], shortcut: [], postRelu: false }, flat]),
    "residual 'rr' (in backbone): body gives [N, 3, 1, 1] but shortcut gives [N, 3, 2, 2] (NCHW)",
    new Map([...params, ['rb/kernel', { shape: [1, 1, 3, 3], data: new Float32Array(9) }]]),
  );
  // Parameters: missing, inconsistent with their own shape, or of the wrong shape (rank or size).
  const without = new Map(params);
  without.delete('c1/bias');
  fails(base, "checkpoint has no parameter 'c1/bias' (needed by layer 'c1')", without);
  fails(base, "parameter 'c1/bias': shape [3] does not match its 4 values", new Map([...params, ['c1/bias', { shape: [3], data: new Float32Array(4) }]]));
  fails(base, "parameter 'c1/bias' has shape [1,3], the spec needs [3]", new Map([...params, ['c1/bias', { shape: [1, 3], data: new Float32Array(3) }]]));
  fails(base, "parameter 'c1/kernel' has shape [3,3,2,4], the spec needs [3,3,2,3]", new Map([...params, ['c1/kernel', { shape: [3, 3, 2, 4], data: new Float32Array(72) }]]));
  // Unknown kinds are found before any work, in the classifier and (only when exported) the projector.
  const bogus = { kind: 'dropout', name: 'drop' } as unknown as LayerSpec;
  const unsupported = (spec: ModelSpec, where: string, embedding = true) =>
    assert.throws(
      () => buildInferenceGraph(spec, params, { embedding }),
      (e: unknown) =>
        e instanceof UnsupportedLayerError &&
        e.name === 'UnsupportedLayerError' &&
        e.layer === 'drop' &&
        e.layerKind === 'dropout' &&
        e.message === `layer 'drop' of kind 'dropout' (in ${where}) has no ONNX mapping; supported kinds: ${SUPPORTED_LAYER_KINDS.join(', ')}`,
      where,
    );
  unsupported({ ...base, classifier: bogus as ModelSpec['classifier'] }, 'classifier');
  unsupported({ ...base, projector: [bogus] }, 'projector');
  unsupported(withBackbone([{ kind: 'residual', name: 'rz', body: [], shortcut: [bogus], postRelu: false }]), "backbone > residual 'rz' shortcut");
  unsupported(withBackbone([{ kind: 'residual', name: 'rz', body: [{ kind: 'residual', name: 'in', body: [bogus], shortcut: [], postRelu: false }], shortcut: [], postRelu: false }]), "backbone > residual 'rz' body > residual 'in' body");
  assert.throws(
    () => buildInferenceGraph(withBackbone([{ name: 'anon' } as unknown as LayerSpec]), params, { embedding: true }),
    (e: Error) => e.message.startsWith("layer 'anon' of kind '<no kind>' (in backbone)"),
  );
  assert.throws(
    () => buildInferenceGraph(withBackbone([{ kind: 'dropout' } as unknown as LayerSpec]), params, { embedding: true }),
    (e: Error) => e.message.startsWith("layer '<unnamed>' of kind 'dropout' (in backbone)"),
  );
  // Without the embedding output the projector is not looked at.
  const noProj = buildInferenceGraph({ ...base, projector: [bogus] }, params, { embedding: false });
  assert.deepEqual(noProj.stats.permutedDense, ['cls']);
});

test('unknown kinds are reported first (nested ones too), before any other spec error; names, where strings, graph name', async () => {
  const base = cosineSpec();
  const params = await perturbedParams(base, 4);
  const bogus = { kind: 'dropout', name: 'drop' } as unknown as LayerSpec;
  const nested: LayerSpec = { kind: 'residual', name: 'rz', body: [{ kind: 'relu', name: 'ok' }, bogus], shortcut: [], postRelu: false };
  // Each spec also has a wrong class count, checked only after the kinds.
  for (const [spec, where] of [
    [{ ...base, numClasses: 9, backbone: [nested, ...base.backbone] }, "backbone > residual 'rz' body"],
    [{ ...base, numClasses: 9, backbone: [{ ...nested, body: [], shortcut: [bogus] } as LayerSpec, ...base.backbone] }, "backbone > residual 'rz' shortcut"],
    [{ ...base, numClasses: 9, projector: [bogus] }, 'projector'],
  ] as Array<[ModelSpec, string]>)
    assert.throws(() => buildInferenceGraph(spec, params, { embedding: true }), (e: Error) => e instanceof UnsupportedLayerError && e.message.includes(`(in ${where})`), where);
  const fails = (spec: ModelSpec, message: string, p: ParamStore = params) =>
    assert.throws(() => buildInferenceGraph(spec, p, { embedding: true }), (e: Error) => e.message === message, message);
  const [conv, , flat] = base.backbone as [LayerSpec, LayerSpec, LayerSpec];
  const mp: LayerSpec = { kind: 'maxpool', name: 'mp', size: 2, stride: 2, padding: 'valid' };
  fails({ ...base, backbone: [conv, flat, { kind: 'residual', name: 'rr', body: [mp], shortcut: [], postRelu: false }] }, "maxpool layer 'mp' (in backbone > residual 'rr' body) needs 4-D feature maps, got a flat [N, 12] tensor");
  fails({ ...base, backbone: [conv, flat, { kind: 'residual', name: 'rr', body: [], shortcut: [mp], postRelu: false }] }, "maxpool layer 'mp' (in backbone > residual 'rr' shortcut) needs 4-D feature maps, got a flat [N, 12] tensor");
  fails({ ...base, projector: [mp] }, "maxpool layer 'mp' (in projector) needs 4-D feature maps, got a flat [N, 12] tensor");
  // Flat residual shapes that differ are refused too.
  fails(
    { ...base, backbone: [conv, flat, { kind: 'residual', name: 'rf', body: [{ kind: 'dense', name: 'rd', units: 5, useBias: false }], shortcut: [], postRelu: false }] },
    "residual 'rf' (in backbone): body gives [N, 5] but shortcut gives [N, 12] (NCHW)",
    new Map([...params, ['rd/kernel', { shape: [12, 5], data: new Float32Array(60) }]]),
  );
  // A parameter of lower rank whose dims match the spec's prefix.
  fails(base, "parameter 'c1/bias' has shape [], the spec needs [3]", new Map([...params, ['c1/bias', { shape: [], data: new Float32Array(1) }]]));
  fails(base, "parameter 'c1/kernel' has shape [3,3,2], the spec needs [3,3,2,3]", new Map([...params, ['c1/kernel', { shape: [3, 3, 2], data: new Float32Array(18) }]]));
  assert.equal(graphOf(base, params, false).name, 'cnn28_inference');
});

test('flat features in ONNX order: no Gather when body and shortcut agree; BN and cosine on them are not permuted', async () => {
  // Permuted flatten through a residual whose body keeps the order: nothing to re-order.
  const spec: ModelSpec = { ...residualSpec(), backbone: [{ kind: 'flatten', name: 'flat' }, { kind: 'residual', name: 'res', body: [{ kind: 'relu', name: 'rr' }], shortcut: [], postRelu: false }] };
  const params = await perturbedParams(spec, 9);
  const g = graphOf(spec, params, false);
  assert.equal(g.node!.filter((n) => n.opType === 'Gather').length, 0);
  assert.deepEqual(buildInferenceGraph(spec, params, { embedding: false }).stats.permutedDense, ['cls']);
  // After a global pool the features are in tfjs order: an unfolded BN and a cosine classifier use them as they are.
  const spec2: ModelSpec = {
    ...cosineSpec(),
    backbone: [(cosineSpec().backbone[0] as LayerSpec), { kind: 'globalavgpool', name: 'gap' }, { kind: 'batchnorm', name: 'gbn', epsilon: 1e-3, momentum: 0.9 }],
    featureDim: 3,
    projector: [],
    embeddingDim: 3,
  };
  const params2 = await perturbedParams(spec2, 10);
  const { stats } = buildInferenceGraph(spec2, params2, { embedding: false });
  assert.deepEqual(stats, { foldedBatchNorms: [], unfoldedBatchNorms: ['gbn'], permutedDense: [] });
  const { images, labels } = randomImages(spec2, 16, 5);
  const r = await compareWithTfjs({ spec: spec2, params: params2 }, images, 16, { labels, backend: 'cpu', embedding: false });
  assert.ok(r.maxAbsLogitDiff <= 1e-4, `max |Δlogit| ${r.maxAbsLogitDiff}`);
});
