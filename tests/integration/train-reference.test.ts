// The reference training options end to end on a tiny generated long-tail set (wasm backend):
//  - --loss-weights normalised: epoch 1 trains with weights 1 and records its term averages; later epochs use
//    constant / average; the record is in the checkpoint and run.json, and 1 epoch + resume == 3 epochs bit-exactly;
//  - --views reference --classifier cosine --proj-bn: seeded distinct views, the heads in the checkpoint's spec, the
//    head's BatchNorm statistics trained, the options in config.json, and a resume that changes a head refused.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readCheckpoint } from '../../models/artifacts/checkpoint.js';
import { selectBackend } from '../../pipeline/backend/select.js';
import type { DatasetSplits } from '../../pipeline/data/types.js';
import { LONG_TAIL_COUNTS, squaresSet, syntheticLongTail } from '../helpers/long-tail-fixture.js';
import { resolveConfig, type TrainConfig } from '../../pipeline/train/config.js';
import { type EpochMetrics, train } from '../../pipeline/train/trainer.js';

const COUNTS = LONG_TAIL_COUNTS;
const H = 28;
const data: DatasetSplits = syntheticLongTail();

let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ecl-train-ref-'));
  await selectBackend('wasm');
});
after(() => rmSync(dir, { recursive: true, force: true }));

const quiet = () => {};
const cfgFor = (name: string, extra: Partial<TrainConfig> = {}) =>
  resolveConfig({ dataset: 'embedded', name, runsDir: dir, loss: 'ecl', epochs: 3, batchSize: 16, lr: 0.05, backend: 'wasm', seed: 3, temperature: 0.1, ...extra });
const metrics = (name: string): EpochMetrics[] =>
  readFileSync(join(dir, name, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as EpochMetrics);

test('--loss-weights normalised: epoch-0 averages -> weights, stored, used, and kept across resume', { timeout: 240_000 }, async () => {
  await train(cfgFor('norm-full', { lossWeights: 'normalised' }), { data, log: quiet });
  const m = metrics('norm-full');
  assert.deepEqual(m[0]!.lossWeights, { lc: 1, bc: 1, cc: 1 }, 'epoch 1 measures with every weight 1');
  const ck = readCheckpoint(join(dir, 'norm-full', 'checkpoint.ckpt'));
  const rec = ck.meta.lossWeights!;
  assert.ok(rec, 'the checkpoint holds the record');
  assert.deepEqual(rec.constants, { lc: 0.7, bc: 0.3, cc: 0.5 });
  assert.deepEqual(rec.epoch0Means, m[0]!.lossParts, 'the averages are epoch 1 raw term means');
  for (const t of ['lc', 'bc', 'cc'] as const) assert.equal(rec.weights[t], rec.constants[t]! / rec.epoch0Means[t]!);
  assert.deepEqual(m[1]!.lossWeights, rec.weights);
  assert.deepEqual(m[2]!.lossWeights, rec.weights);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'norm-full', 'run.json'), 'utf8')).lossWeights, rec);
  const cfg = JSON.parse(readFileSync(join(dir, 'norm-full', 'config.json'), 'utf8')) as TrainConfig;
  assert.deepEqual([cfg.lossWeights, cfg.lambdaBc, cfg.lambdaCc], ['normalised', 0.3, 0.5]);
  // The weighted terms start near their constants: epoch 2's weighted LC is about 0.7 (it was exactly 0.7 on average in epoch 1's weights).
  assert.ok(Number.isFinite(m[1]!.trainLoss) && m[1]!.trainLoss < 10, `epoch 2 loss ${m[1]!.trainLoss}`);

  await train(cfgFor('norm-split', { lossWeights: 'normalised' }), { data, log: quiet, stopAfterEpochs: 1 });
  assert.deepEqual(readCheckpoint(join(dir, 'norm-split', 'checkpoint.ckpt')).meta.lossWeights, rec, 'recorded after epoch 1');
  await train(cfgFor('norm-split', { lossWeights: 'normalised' }), { data, log: quiet, resume: true });
  const b = readCheckpoint(join(dir, 'norm-split', 'checkpoint.ckpt'));
  assert.equal(b.meta.epoch, 3);
  assert.deepEqual(b.meta.lossWeights, rec);
  for (const [name, t] of ck.params) assert.deepEqual(Buffer.from(b.params.get(name)!.data.buffer), Buffer.from(t.data.buffer), `param ${name} differs after resume`);
  assert.deepEqual(metrics('norm-split').map((e) => e.lossWeights), m.map((e) => e.lossWeights));
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'norm-split', 'run.json'), 'utf8')).lossWeights, rec, 'run.json of the resumed run');
  // Resuming with other numerators would leave them unused: refused.
  await assert.rejects(train(cfgFor('norm-split', { lossWeights: 'normalised', lambdaCc: 1, epochs: 4 }), { data, log: quiet, resume: true }), /lambda-cc 1 differs from the 0.5/);
  await assert.rejects(train(cfgFor('norm-split', { epochs: 4 }), { data, log: quiet, resume: true }), /config 'lossWeights' differs from the checkpoint \(normalised vs fixed\)/);
});

test('--views reference --classifier cosine --proj-bn: seeded views, the heads trained and recorded', { timeout: 240_000 }, async () => {
  const extra: Partial<TrainConfig> = { views: 'reference', classifier: 'cosine', projBn: true, epochs: 2 };
  const firstBatch = async (name: string) => {
    let first: Float32Array | undefined;
    await train(cfgFor(name, extra), { data, log: quiet, onBatch: (step, pixels) => void (step === 0 && (first = pixels.slice())) });
    return first!;
  };
  const a = await firstBatch('ref-a');
  const b = await firstBatch('ref-b');
  assert.deepEqual(Buffer.from(a.buffer), Buffer.from(b.buffer), 'same seed, same views');
  const px = 16 * H * H;
  const view = (v: number) => a.subarray(v * px, (v + 1) * px);
  for (const [x, y] of [[0, 1], [0, 2], [1, 2]] as const) assert.ok(view(x).some((p, i) => p !== view(y)[i]), `views ${x} and ${y} differ`);
  for (const p of a) assert.ok(Number.isInteger(p) && p >= 0 && p <= 255);
  // The weak policy on the same seed gives other pixels: the option is really used.
  let weak: Float32Array | undefined;
  await train(cfgFor('weak', { epochs: 1 }), { data, log: quiet, onBatch: (step, pixels) => void (step === 0 && (weak = pixels.slice())) });
  assert.ok(weak!.some((p, i) => p !== a[i]));

  const cfg = JSON.parse(readFileSync(join(dir, 'ref-a', 'config.json'), 'utf8')) as TrainConfig;
  assert.deepEqual([cfg.views, cfg.classifier, cfg.projBn, cfg.lossWeights], ['reference', 'cosine', true, 'fixed']);
  const ck = readCheckpoint(join(dir, 'ref-a', 'checkpoint.ckpt'));
  assert.equal(ck.meta.spec.classifier.kind, 'cosinedense');
  assert.deepEqual(ck.meta.spec.projector.map((l) => l.kind), ['dense', 'batchnorm', 'relu', 'dense', 'l2normalize']);
  const mv = ck.params.get('proj_bn/movingVariance')!.data;
  assert.ok(mv.some((v) => v !== 1), 'the head BN running statistics were updated');
  const m = metrics('ref-a');
  for (const e of m) for (const [k, v] of Object.entries(e.lossParts)) assert.ok(Number.isFinite(v), `${k} = ${v}`);

  await assert.rejects(train(cfgFor('ref-a', { ...extra, classifier: 'linear', epochs: 3 }), { data, log: quiet, resume: true }), /config 'classifier' differs from the checkpoint \(cosine vs linear\)/);
  await assert.rejects(train(cfgFor('ref-a', { ...extra, views: 'weak', epochs: 3 }), { data, log: quiet, resume: true }), /config 'views' differs/);
});

test('a cosine classifier with a BN projection head learns the synthetic task (la-ce and ecl)', { timeout: 240_000 }, async () => {
  const balanced: DatasetSplits = { ...data, train: squaresSet([16, 16, 16, 16], 5), classCounts: [16, 16, 16, 16], imbalanceFactor: 1 };
  // No augmentation: a horizontal flip would swap the left and right classes of this task.
  for (const loss of ['la-ce', 'ecl'] as const) {
    const r = await train(cfgFor(`learn-${loss}`, { loss, classifier: 'cosine', projBn: true, augment: false, warmupEpochs: 0, epochs: 6 }), { data: balanced, log: quiet });
    const last = r.epochs.at(-1)!;
    assert.ok(last.test.top1 >= 0.9, `${loss}: test top-1 ${last.test.top1}`);
    assert.ok(r.epochs[0]!.trainLoss > last.trainLoss, `${loss}: loss decreases`);
  }
});
