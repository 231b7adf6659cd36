// Exporter building blocks: TF padding, NHWC->NCHW weights, flatten permutation, BN folding, and a
// hand-made spec that hits every mapping corner (asymmetric same pads, BN without a preceding conv,
// BN on permuted flat features, BN after dense, bias-less dense, projection shortcut), checked against tfjs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchNormAffine, foldAffineInto } from '../../export/bn-folding.js';
import { compareWithTfjs } from '../../pipeline/parity/export-check.js';
import { buildOnnxModel } from '../../export/export-run.js';
import { flattenPermutation, hwioToOihw, onnxPads2D, permuteRows, tfPadding } from '../../export/layout.js';
import { decodeModel } from '../../export/onnx-builder.js';
import { buildInferenceGraph, UnsupportedLayerError } from '../../export/op-mapping.js';
import { buildModelSpec, initParams } from '../../models/builders.js';
import type { LayerSpec, ModelSpec } from '../../models/spec.js';
import { perturbedParams, randomImages } from '../helpers/export-fixtures.js';

test('TF same padding: extra pad goes bottom/right; valid has none', () => {
  assert.deepEqual(tfPadding(32, 3, 2, 'same'), { out: 16, begin: 0, end: 1 });
  assert.deepEqual(tfPadding(32, 3, 1, 'same'), { out: 32, begin: 1, end: 1 });
  assert.deepEqual(tfPadding(9, 4, 2, 'same'), { out: 5, begin: 1, end: 2 });
  assert.deepEqual(tfPadding(32, 1, 2, 'same'), { out: 16, begin: 0, end: 0 });
  assert.deepEqual(tfPadding(28, 2, 2, 'valid'), { out: 14, begin: 0, end: 0 });
  assert.deepEqual(tfPadding(7, 2, 2, 'valid'), { out: 3, begin: 0, end: 0 });
  assert.deepEqual(onnxPads2D(5, 4, 3, 2, 'same'), { pads: [1, 0, 1, 1], outH: 3, outW: 2 });
});

test('HWIO -> OIHW kernel conversion', () => {
  const [kh, kw, ci, co] = [2, 3, 2, 4];
  const k = Float32Array.from({ length: kh * kw * ci * co }, (_, i) => i);
  const o = hwioToOihw(k, kh, kw, ci, co);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < ci; i++)
        for (let c = 0; c < co; c++) assert.equal(o[((c * ci + i) * kh + y) * kw + x], k[((y * kw + x) * ci + i) * co + c]);
});

test('flatten permutation: dense on C,H,W order with permuted rows == dense on H,W,C order', () => {
  const [c, h, w, units] = [3, 2, 4, 5];
  const n = c * h * w;
  const nhwc = Float64Array.from({ length: n }, (_, i) => Math.sin(i + 1));
  const nchw = new Float64Array(n);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) nchw[(ch * h + y) * w + x] = nhwc[(y * w + x) * c + ch]!;
  const kernel = Float64Array.from({ length: n * units }, (_, i) => Math.cos(i));
  const perm = flattenPermutation(c, h, w)!;
  const k2 = permuteRows(kernel, n, units, perm);
  for (let u = 0; u < units; u++) {
    let a = 0;
    let b = 0;
    for (let i = 0; i < n; i++) {
      a += nhwc[i]! * kernel[i * units + u]!;
      b += nchw[i]! * k2[i * units + u]!;
    }
    assert.ok(Math.abs(a - b) < 1e-12);
  }
  assert.equal(flattenPermutation(64, 1, 1), null);
});

test('BN folding into conv (OIHW) and dense ([in,out]) equals conv/dense followed by BN', () => {
  const bn = {
    gamma: Float32Array.from([0.5, 2, 1.5]),
    beta: Float32Array.from([0.1, -0.2, 0.3]),
    movingMean: Float32Array.from([1, -1, 0.5]),
    movingVariance: Float32Array.from([0.25, 4, 1]),
    epsilon: 1e-3,
  };
  const aff = batchNormAffine(bn);
  const bnRef = (y: number, o: number) => ((y - bn.movingMean[o]!) * bn.gamma[o]!) / Math.sqrt(bn.movingVariance[o]! + bn.epsilon) + bn.beta[o]!;
  // conv: 3 output channels, 2 weights each; dense: 2 inputs x 3 outputs.
  const conv = { weight: Float64Array.from([1, 2, 3, 4, 5, 6]), outChannels: 3, outAxis: 0 as const, bias: Float64Array.from([0.5, 0, -0.5]) };
  const x = [0.7, -1.3];
  const convOut = (wt: Float64Array, b: Float64Array | null, o: number) => wt[o * 2]! * x[0]! + wt[o * 2 + 1]! * x[1]! + (b ? b[o]! : 0);
  const before = [0, 1, 2].map((o) => bnRef(convOut(conv.weight, conv.bias, o), o));
  foldAffineInto(conv, aff);
  [0, 1, 2].forEach((o) => assert.ok(Math.abs(convOut(conv.weight, conv.bias, o) - before[o]!) < 1e-12));
  const dense = { weight: Float64Array.from([1, 2, 3, 4, 5, 6]), outChannels: 3, outAxis: 1 as const, bias: null as Float64Array | null };
  const denseOut = (wt: Float64Array, b: Float64Array | null, o: number) => x[0]! * wt[o]! + x[1]! * wt[3 + o]! + (b ? b[o]! : 0);
  const beforeD = [0, 1, 2].map((o) => bnRef(denseOut(dense.weight, null, o), o));
  foldAffineInto(dense, aff);
  [0, 1, 2].forEach((o) => assert.ok(Math.abs(denseOut(dense.weight, dense.bias, o) - beforeD[o]!) < 1e-12));
});

/** A spec exercising every mapping branch the model families do not. */
function cornerSpec(): ModelSpec {
  const bn = (name: string): LayerSpec => ({ kind: 'batchnorm', name, epsilon: 1e-3, momentum: 0.9 });
  return {
    family: 'cnn28',
    input: { height: 9, width: 7, channels: 2, mean: [0.5, 0.4], std: [0.2, 0.3] },
    numClasses: 5,
    featureDim: 8,
    embeddingDim: 4,
    backbone: [
      // 9x7 -> 5x4 with pads (1,2) on both axes: asymmetric TF 'same'.
      { kind: 'conv2d', name: 'c1', filters: 4, kernel: 4, stride: 2, padding: 'same', useBias: true },
      bn('b1'),
      { kind: 'relu', name: 'r1' },
      // 5x4 -> 3x2, W pads (0,1).
      { kind: 'maxpool', name: 'p1', size: 3, stride: 2, padding: 'same' },
      {
        kind: 'residual',
        name: 'res1',
        body: [bn('res1_bn'), { kind: 'relu', name: 'res1_relu' }, { kind: 'conv2d', name: 'res1_conv', filters: 4, kernel: 3, stride: 1, padding: 'same', useBias: false }],
        shortcut: [],
        postRelu: false,
      },
      {
        kind: 'residual',
        name: 'res2',
        body: [{ kind: 'conv2d', name: 'res2_conv', filters: 6, kernel: 1, stride: 2, padding: 'valid', useBias: false }, bn('res2_bn')],
        shortcut: [{ kind: 'conv2d', name: 'res2_sc', filters: 6, kernel: 1, stride: 2, padding: 'valid', useBias: true }],
        postRelu: true,
      },
      // 2x1x6 -> 12 features in H,W,C order (ONNX holds C,H,W).
      { kind: 'flatten', name: 'flat' },
      { kind: 'relu', name: 'flat_relu' },
      bn('flat_bn'),
      { kind: 'dense', name: 'fc', units: 8, useBias: false },
      bn('fc_bn'),
    ],
    classifier: { kind: 'dense', name: 'classifier', units: 5, useBias: true },
    projector: [
      { kind: 'dense', name: 'proj1', units: 8, useBias: true },
      bn('proj_bn'),
      { kind: 'relu', name: 'proj_relu' },
      { kind: 'dense', name: 'proj2', units: 4, useBias: true },
      { kind: 'l2normalize', name: 'proj_norm', epsilon: 1e-12 },
    ],
    prototypeMap: { kind: 'dense', name: 'proto', units: 4, useBias: false },
  };
}

test('corner-case spec: every mapping branch matches tfjs', async (t) => {
  const spec = cornerSpec();
  const params = await perturbedParams(spec, 3);
  const { stats } = buildInferenceGraph(spec, params, { embedding: true });
  assert.deepEqual(stats.foldedBatchNorms.sort(), ['b1', 'fc_bn', 'proj_bn', 'res2_bn']);
  assert.deepEqual(stats.unfoldedBatchNorms.sort(), ['flat_bn', 'res1_bn']);
  assert.deepEqual(stats.permutedDense, ['fc']);
  const built = buildOnnxModel(spec, params, { embedding: true });
  const g = decodeModel(built.bytes).graph!;
  assert.equal(g.node!.filter((n) => n.opType === 'BatchNormalization').length, 0);
  // A Conv/Gemm with BatchNorms folded in is named after all its layers, as Netron and profiles show it.
  assert.deepEqual(g.node!.filter((n) => n.name!.includes('+')).map((n) => `${n.opType} ${n.name}`).sort(), ['Conv c1+b1', 'Conv res2_conv+res2_bn', 'Gemm fc+fc_bn', 'Gemm proj1+proj_bn']);
  assert.equal(g.node!.filter((n) => n.opType === 'Transpose').length, 1);
  const conv1 = g.node!.find((n) => n.opType === 'Conv' && n.name!.startsWith('c1'))!;
  assert.deepEqual(conv1.attribute!.find((a) => a.name === 'pads')!.ints!.map(Number), [1, 1, 2, 2]);
  const pool = g.node!.find((n) => n.opType === 'MaxPool')!;
  assert.deepEqual(pool.attribute!.find((a) => a.name === 'pads')!.ints!.map(Number), [1, 0, 1, 1]);

  const { images, labels } = randomImages(spec, 64, 5);
  const r = await compareWithTfjs({ spec, params }, images, 64, { labels, backend: 'cpu' });
  t.diagnostic(`max |Δlogit| ${r.maxAbsLogitDiff.toExponential(2)} at max |logit| ${r.maxAbsLogit.toFixed(1)}; max |Δembedding| ${r.maxAbsEmbeddingDiff}`);
  assert.ok(r.maxAbsLogitDiff <= 1e-4, `max |Δlogit| ${r.maxAbsLogitDiff} (max |logit| ${r.maxAbsLogit})`);
  assert.ok(r.maxAbsEmbeddingDiff !== null && r.maxAbsEmbeddingDiff <= 1e-5, `max |Δembedding| ${r.maxAbsEmbeddingDiff}`);
  assert.equal(r.top1Agreement, 1);
  assert.equal(r.accuracyOnnx, r.accuracyTfjs);
});

test('unknown layer kind: clear error naming the layer and its kind', () => {
  const spec = buildModelSpec('resnet8', { numClasses: 10, input: { height: 32, width: 32, channels: 3, mean: [0, 0, 0], std: [1, 1, 1] } });
  const params = initParams(spec, 1);
  const res = spec.backbone[3] as Extract<LayerSpec, { kind: 'residual' }>;
  res.body.splice(2, 0, { kind: 'dropout', name: 'drop_in_body', rate: 0.5 } as unknown as LayerSpec);
  assert.throws(
    () => buildOnnxModel(spec, params),
    (e: unknown) => e instanceof UnsupportedLayerError && /'drop_in_body'/.test(e.message) && /'dropout'/.test(e.message) && /residual 's1b1' body/.test(e.message),
  );
});

test('missing parameter and shape mismatch are named', () => {
  const spec = buildModelSpec('cnn28', { numClasses: 10, input: { height: 28, width: 28, channels: 1, mean: [0], std: [1] } });
  const params = initParams(spec, 1);
  params.delete('bn2/movingVariance');
  assert.throws(() => buildOnnxModel(spec, params), /bn2\/movingVariance/);
  const p2 = initParams(spec, 1);
  p2.set('fc/kernel', { shape: [10, 128], data: new Float32Array(1280) });
  assert.throws(() => buildOnnxModel(spec, p2), /fc\/kernel.*\[10,128\].*\[3136,128\]/);
});
