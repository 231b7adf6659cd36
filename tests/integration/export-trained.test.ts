// Every model family, briefly trained on real Fashion-MNIST images, exported to ONNX and compared with the
// tfjs model on the Fashion-MNIST test split (its 5k test half when Debian's dataset is installed, as in CI).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { selectBackend } from '../../pipeline/backend/select.js';
import { resolveConfig } from '../../pipeline/train/config.js';
import { loadDataset } from '../../pipeline/data/registry.js';
import type { DatasetSplits } from '../../pipeline/data/types.js';
import { train } from '../../pipeline/train/trainer.js';
import { exportRun } from '../../export/export-run.js';
import { compareWithTfjs } from '../../pipeline/parity/export-check.js';
import type { ModelFamily } from '../../models/spec.js';
import { skipUnless } from '../helpers/require.js';

const FMNIST = '/usr/share/datasets/fashion-mnist';
let dir: string;
let embedded: DatasetSplits;
let testSet: DatasetSplits['test'];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ecl-export-trained-'));
  await selectBackend('wasm');
  embedded = await loadDataset('embedded', { imbalance: 100, seed: 1, trainLimit: 192 });
  // Without Debian's Fashion-MNIST the shipped subset stands in, unless ECL_REQUIRE names fmnist.
  testSet = !skipUnless('fmnist', existsSync(FMNIST) ? false : `${FMNIST} not found (apt-get install dataset-fashion-mnist)`) ? (await loadDataset('fmnist-lt', { imbalance: 100, seed: 1 })).test : embedded.test;
});
after(() => rmSync(dir, { recursive: true, force: true }));

for (const family of ['cnn28', 'resnet8', 'resnet20', 'resnet32'] as ModelFamily[]) {
  test(`${family}: trained model exports and matches tfjs on ${existsSync(FMNIST) ? 'the fmnist-lt' : 'the embedded'} test split`, async () => {
    const cfg = resolveConfig({ dataset: 'embedded', model: family, name: family, runsDir: dir, epochs: 1, batchSize: 32, lr: 0.05, backend: 'wasm', warmupEpochs: 0 });
    await train(cfg, { data: embedded, log: () => {} });
    const runDir = join(dir, family);
    const res = await exportRun(runDir, { validate: true });
    assert.equal(res.opset, 17);
    const r = await compareWithTfjs(runDir, testSet.images, testSet.count, { labels: testSet.labels, backend: 'wasm', batchSize: 250 });
    assert.equal(r.count, testSet.count);
    assert.ok(r.maxAbsLogitDiff <= 1e-4, `max |Δlogit| ${r.maxAbsLogitDiff}`);
    assert.equal(r.top1Agreement, 1);
    assert.equal(r.accuracyTfjs, r.accuracyOnnx);
  });
}
