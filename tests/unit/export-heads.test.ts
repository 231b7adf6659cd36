// The reference heads through the exporter: a cosine classifier (--classifier cosine) and a projection head with
// BatchNorm (--proj-bn) export to a valid graph (l2normalize + Gemm for the classifier, the head's BN folded into its
// Gemm) whose onnxruntime outputs equal the tfjs model's within the families' tolerances.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { exportRun } from '../../export/export-run.js';
import { decodeModel, metadataMap } from '../../export/onnx-builder.js';
import { compareWithTfjs } from '../../pipeline/parity/export-check.js';
import { makeRun, randomImages } from '../helpers/export-fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'ecl-export-heads-'));
after(() => rmSync(root, { recursive: true, force: true }));

for (const family of ['cnn28', 'resnet8'] as const) {
  test(`${family} with a cosine classifier and a BN projection head: export, graph, metadata, parity with tfjs`, async (t) => {
    const run = await makeRun(root, family, 21, `${family}-heads`, { classifier: 'cosine', projectionBatchNorm: true });
    const res = await exportRun(run.dir, { embedding: true });
    assert.equal(res.validation?.ortCpu, 'passed');
    const g = decodeModel(readFileSync(res.path)).graph!;
    const ops = g.node!.map((n) => n.opType);
    assert.equal(ops.filter((o) => o === 'BatchNormalization').length, 0);
    assert.ok(res.metadata && res.foldedBatchNorms > 0);
    // The classifier: ReduceL2 / Max / Div on h, then a bias-free Gemm producing the logits.
    const logitsNode = g.node!.find((n) => n.output!.includes('logits'))!;
    assert.equal(logitsNode.opType, 'Gemm');
    assert.equal(logitsNode.input!.length, 2, 'no bias input');
    const divNode = g.node!.find((n) => n.output!.includes(logitsNode.input![0]!))!;
    assert.equal(divNode.opType, 'Div', 'the Gemm reads the L2-normalised features');
    // Its weight rows (one per class) have norm s = 30: normalisation and scale folded in.
    const w = g.initializer!.find((i) => i.name === logitsNode.input![1])!;
    const dims = w.dims!.map(Number);
    assert.equal(dims[0], 10);
    const raw = w.rawData!;
    const vals = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    for (let c = 0; c < 10; c++) {
      const n = Math.hypot(...vals.subarray(c * dims[1]!, (c + 1) * dims[1]!));
      assert.ok(Math.abs(n - 30) < 1e-3, `class ${c} weight norm ${n}`);
    }
    // proj_bn folded into proj_fc1's Gemm (no Mul/Add pair left for it).
    const head = g.node!.filter((n) => n.name!.includes('proj_bn'));
    assert.deepEqual(head.map((n) => [n.opType, n.name]), [['Gemm', 'proj_fc1+proj_bn']]);
    assert.equal(metadataMap(decodeModel(readFileSync(res.path))).classifier, 'cosine:30');

    const { images, labels } = randomImages(run.spec, 96, 4);
    const r = await compareWithTfjs(run.dir, images, 96, { labels, backend: 'wasm' });
    t.diagnostic(`${family}: max |Δlogit| ${r.maxAbsLogitDiff.toExponential(2)} (max |logit| ${r.maxAbsLogit.toFixed(2)}), max |Δemb| ${r.maxAbsEmbeddingDiff?.toExponential(2)}, top-1 ${(100 * r.top1Agreement).toFixed(1)}%`);
    assert.ok(r.maxAbsLogit <= 30 + 1e-3, 'cosine logits are bounded by s');
    assert.ok(r.maxAbsLogitDiff <= 1e-4, `max |Δlogit| ${r.maxAbsLogitDiff}`);
    assert.ok(r.maxAbsEmbeddingDiff !== null && r.maxAbsEmbeddingDiff <= 1e-5, `max |Δembedding| ${r.maxAbsEmbeddingDiff}`);
    assert.equal(r.top1Agreement, 1);
  });
}

test('a linear-classifier model says so in its metadata', async () => {
  const run = await makeRun(root, 'cnn28', 3, 'linear');
  const res = await exportRun(run.dir, { validate: false });
  assert.equal(res.metadata.classifier, 'linear');
});
