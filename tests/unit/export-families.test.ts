// Every model family: checkpoint (non-trivial BN statistics) -> exportRun -> graph structure, metadata,
// onnx.checker, and tfjs vs onnxruntime-node parity on random uint8 images.
// The ResNets use the tfjs wasm backend for the reference forward pass (the cpu backend is slow); cnn28
// runs on the default cpu backend.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { compareWithTfjs, exportCheck } from '../../pipeline/parity/export-check.js';
import { exportRun } from '../../export/export-run.js';
import { decodeModel, metadataMap } from '../../export/onnx-builder.js';
import { onnxPythonUnavailable, runOnnxChecker } from '../../export/validate.js';
import { type ModelFamily, walkLayers } from '../../models/spec.js';
import { checkpointSha256 } from '../../models/artifacts/checkpoint.js';
import { makeRun, randomImages } from '../helpers/export-fixtures.js';
import { skipUnless } from '../helpers/require.js';

const root = mkdtempSync(join(tmpdir(), 'ecl-export-families-'));
after(() => rmSync(root, { recursive: true, force: true }));

const CASES: { family: ModelFamily; images: number; backend: 'cpu' | 'wasm' }[] = [
  { family: 'cnn28', images: 256, backend: 'wasm' },
  { family: 'resnet8', images: 128, backend: 'wasm' },
  { family: 'resnet20', images: 96, backend: 'wasm' },
  { family: 'resnet32', images: 64, backend: 'wasm' },
];

for (const c of CASES) {
  test(`${c.family}: export, structure, metadata, parity with tfjs`, async (t) => {
    const run = await makeRun(root, c.family, 11);
    const res = await exportRun(run.dir, { embedding: true });
    assert.equal(res.path, join(run.dir, 'model.onnx'));
    assert.equal(res.validation?.ortCpu, 'passed');
    assert.ok(res.validation.checker === 'passed' || res.validation.checker.startsWith('skipped: '));
    assert.deepEqual(readdirSync(run.dir).sort(), ['checkpoint.ckpt', 'model.onnx'], 'no temporary files left behind');

    const model = decodeModel(readFileSync(res.path));
    assert.equal(Number(model.irVersion), 8);
    assert.deepEqual(
      model.opsetImport!.map((o) => [o.domain ?? '', Number(o.version)]),
      [['', 17]],
    );
    assert.equal(model.producerName, 'ecl-longtail');
    assert.ok((model.docString ?? '').length > 20);
    const g = model.graph!;
    const ops = g.node!.map((n) => n.opType);
    assert.equal(ops.filter((o) => o === 'BatchNormalization').length, 0, 'BatchNorm folded');
    const transposes = g.node!.filter((n) => n.opType === 'Transpose');
    assert.equal(transposes.length, 1, 'only the input transpose');
    assert.deepEqual(transposes[0]!.attribute!.find((a) => a.name === 'perm')!.ints!.map(Number), [0, 3, 1, 2]);
    assert.deepEqual(ops.slice(0, 4), ['Cast', 'Transpose', 'Mul', 'Add'], 'preprocessing first, per-channel constants on NCHW');
    for (const k of ['preprocess/scale', 'preprocess/shift'])
      assert.deepEqual(g.initializer!.find((i) => i.name === k)!.dims!.map(Number), [run.spec.input.channels, 1, 1], `${k} is [C, 1, 1]`);
    // Portable dense layers (what OpenCV DNN imports): Gemm with a constant [out, in] weight and transB=1; no MatMul.
    assert.equal(ops.filter((o) => o === 'MatMul').length, 0);
    const gemms = g.node!.filter((n) => n.opType === 'Gemm');
    assert.ok(gemms.length >= 3, 'classifier and projector are Gemms');
    for (const n of gemms) {
      assert.equal(Number(n.attribute!.find((a) => a.name === 'transB')?.i ?? 0), 1, `${n.name}: transB=1`);
      const w = g.initializer!.find((i) => i.name === n.input![1])!;
      const out = g.output!.find((o) => o.name === n.output![0]);
      if (out) assert.equal(Number(w.dims![0]), Number(out.type!.tensorType!.shape!.dim![1]!.dimValue), `${n.name}: weight is [out, in]`);
    }
    assert.ok(ops.includes('Softmax') && ops.includes('ReduceL2'));
    let bnCount = 0;
    walkLayers([...run.spec.backbone, ...run.spec.projector], (l) => (bnCount += l.kind === 'batchnorm' ? 1 : 0));
    assert.ok(bnCount > 0);
    assert.equal(res.foldedBatchNorms, bnCount, 'every BatchNorm folded into its conv');
    assert.equal(ops.filter((o) => o === 'Conv').length, g.initializer!.filter((i) => /\/weight$/.test(i.name!) && i.dims!.length === 4).length);

    const input = g.input!.filter((i) => !(g.initializer ?? []).some((init) => init.name === i.name));
    assert.equal(input.length, 1);
    assert.equal(input[0]!.name, 'pixels');
    assert.equal(input[0]!.type!.tensorType!.elemType, 2 /* UINT8 */);
    const inDims = input[0]!.type!.tensorType!.shape!.dim!;
    assert.equal(inDims[0]!.dimParam, 'N');
    const { height, width, channels } = run.spec.input;
    assert.deepEqual(inDims.slice(1).map((d) => Number(d.dimValue)), [height, width, channels]);
    const outs = Object.fromEntries(g.output!.map((o) => [o.name, o.type!.tensorType!.shape!.dim!]));
    assert.deepEqual(Object.keys(outs), ['logits', 'probs', 'embedding']);
    for (const [name, dims] of Object.entries(outs) as [string, typeof inDims][]) {
      assert.equal(dims[0]!.dimParam, 'N', `${name} has a dynamic batch`);
      assert.equal(Number(dims[1]!.dimValue), name === 'embedding' ? run.spec.embeddingDim : 10);
    }

    const md = metadataMap(model);
    assert.deepEqual(JSON.parse(md.class_labels!), run.meta.classNames);
    assert.equal(md.input_layout, 'NHWC');
    assert.equal(md.input_dtype, 'uint8');
    assert.equal(md.input_size, `${height}x${width}x${channels}`);
    assert.deepEqual(JSON.parse(md.normalization!).mean, run.spec.input.mean);
    assert.deepEqual(JSON.parse(md.normalization!).std, run.spec.input.std);
    assert.equal(md.dataset, run.meta.config.dataset);
    assert.equal(md.loss, 'ecl');
    assert.deepEqual(JSON.parse(md.loss_hparams!), { temperature: 0.1, laTau: 1, lambdaBc: 1, lambdaCc: 1 });
    assert.equal(md.training_backend, 'cpu');
    assert.match(md.git_commit!, /^([0-9a-f]{40,64}|unknown)$/);
    assert.equal(md.checkpoint_sha256, checkpointSha256(join(run.dir, 'checkpoint.ckpt')));
    assert.equal(md.model_family, c.family);
    assert.equal(md.epoch, '3');
    assert.ok(!Number.isNaN(Date.parse(md.export_time!)));

    const { images, labels } = randomImages(run.spec, c.images, 2);
    const r = await compareWithTfjs(run.dir, images, c.images, { labels, backend: c.backend });
    t.diagnostic(
      `${c.family}: n=${r.count} (tfjs ${r.tfjsBackend}) max |Δlogit| ${r.maxAbsLogitDiff.toExponential(2)} ` +
        `(max |logit| ${r.maxAbsLogit.toFixed(2)}), mean ${r.meanAbs.toExponential(2)}, max |Δemb| ${r.maxAbsEmbeddingDiff?.toExponential(2)}, ` +
        `top-1 ${(r.top1Agreement * 100).toFixed(1)}%, checker ${res.validation.checker}`,
    );
    assert.equal(r.onnxSource, res.path);
    assert.ok(r.maxAbsLogitDiff <= 1e-4, `max |Δlogit| ${r.maxAbsLogitDiff}`);
    assert.ok(r.maxAbsEmbeddingDiff !== null && r.maxAbsEmbeddingDiff <= 1e-5, `max |Δembedding| ${r.maxAbsEmbeddingDiff}`);
    assert.equal(r.top1Agreement, 1);
    assert.equal(r.accuracyOnnx, r.accuracyTfjs);
  });
}

test('onnx.checker (full_check) through /usr/bin/python3', async (t) => {
  const why = await onnxPythonUnavailable('/usr/bin/python3');
  const skip = skipUnless('onnx', why ? `python onnx unavailable: ${why}` : false);
  if (skip) {
    t.skip(skip);
    return;
  }
  const run = await makeRun(root, 'resnet8', 5, 'checker');
  const res = await exportRun(run.dir, { validate: false });
  assert.equal(res.validation, null);
  assert.equal(await runOnnxChecker(res.path, '/usr/bin/python3'), 'passed');
});

test('exportCheck on the default tfjs cpu backend prints a table and passes', async () => {
  const run = await makeRun(root, 'cnn28', 13, 'check-cpu');
  await exportRun(run.dir, { validate: false });
  const { images, labels } = randomImages(run.spec, 48, 9);
  const lines: string[] = [];
  const r = await exportCheck(run.dir, images, labels, 48, { log: (l) => lines.push(l) });
  assert.equal(r.tfjsBackend, 'cpu');
  assert.ok(r.passed, r.failures.join('; '));
  assert.ok(lines.some((l) => l.startsWith('max |Δlogit|') && l.endsWith('PASS')));
  assert.ok(lines.some((l) => l.startsWith('top-1 agreement')));
  assert.equal(lines.at(-1), 'export-check passed');
});
