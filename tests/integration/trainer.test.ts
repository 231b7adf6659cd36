// Trainer behaviour on a tiny generated dataset with the real model code on the wasm backend:
// bit-exact resume, leak-freedom, NaN handling, and that training actually learns.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../pipeline/backend/select.js';
import { readCheckpoint } from '../../models/artifacts/checkpoint.js';
import { resolveConfig } from '../../pipeline/train/config.js';
import type { DatasetSplits, ImageSet } from '../../pipeline/data/types.js';
import { NonFiniteLossError, train } from '../../pipeline/train/trainer.js';
import { Rng } from '../../models/rng.js';

/** Class c = a bright square at a class-specific position plus noise: learnable in a few steps. */
function synthSet(count: number, seed: number, C = 4): ImageSet {
  const rng = new Rng(seed);
  const H = 28;
  const images = new Uint8Array(count * H * H);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const c = i % C;
    labels[i] = c;
    const ox = 2 + (c % 2) * 14;
    const oy = 2 + Math.floor(c / 2) * 14;
    for (let y = 0; y < H; y++)
      for (let x = 0; x < H; x++) {
        const inside = x >= ox && x < ox + 10 && y >= oy && y < oy + 10;
        images[i * H * H + y * H + x] = Math.min(255, Math.floor((inside ? 180 : 20) + rng.next() * 60));
      }
  }
  return { images, labels, count, height: H, width: H, channels: 1, classNames: ['a', 'b', 'c', 'd'].slice(0, C) };
}

function synthData(): DatasetSplits {
  const train = synthSet(64, 1);
  const test = synthSet(32, 2);
  const val = synthSet(16, 3);
  return {
    name: 'synthetic',
    source: 'generated',
    train,
    val,
    test,
    classCounts: [16, 16, 16, 16],
    valCounts: [4, 4, 4, 4],
    classNames: train.classNames,
    mean: [0.3],
    std: [0.3],
    imbalanceFactor: 1,
    notes: [],
  };
}

let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ecl-trainer-'));
  await selectBackend('wasm');
});
after(() => rmSync(dir, { recursive: true, force: true }));

const quiet = () => {};
const cfgFor = (name: string, extra: Record<string, unknown> = {}) =>
  resolveConfig({ dataset: 'embedded', name, runsDir: dir, epochs: 3, batchSize: 16, lr: 0.05, backend: 'wasm', seed: 7, ...extra });

test('resume continues bit-exactly: 1 epoch + resume == 3 uninterrupted epochs', async () => {
  const data = synthData();
  await train(cfgFor('full'), { data, log: quiet });
  await train(cfgFor('split'), { data, log: quiet, stopAfterEpochs: 1 });
  assert.equal(readCheckpoint(join(dir, 'split', 'checkpoint.ckpt')).meta.epoch, 1);
  await train(cfgFor('split'), { data, log: quiet, resume: true });
  const a = readCheckpoint(join(dir, 'full', 'checkpoint.ckpt'));
  const b = readCheckpoint(join(dir, 'split', 'checkpoint.ckpt'));
  assert.equal(b.meta.epoch, 3);
  assert.equal(a.params.size, b.params.size);
  for (const [name, t] of a.params) assert.deepEqual(Buffer.from(b.params.get(name)!.data.buffer), Buffer.from(t.data.buffer), `param ${name} differs`);
  for (const [name, t] of a.optimizer) assert.deepEqual(Buffer.from(b.optimizer.get(name)!.data.buffer), Buffer.from(t.data.buffer), `momentum ${name} differs`);
  const lines = readFileSync(join(dir, 'split', 'metrics.jsonl'), 'utf8').trim().split('\n');
  assert.deepEqual(lines.map((l) => JSON.parse(l).epoch), [1, 2, 3]);
  // A fresh (non-resume) run into the same directory starts its metrics over.
  await train(cfgFor('split', { epochs: 1 }), { data, log: quiet });
  const again = readFileSync(join(dir, 'split', 'metrics.jsonl'), 'utf8').trim().split('\n');
  assert.deepEqual(again.map((l) => JSON.parse(l).epoch), [1]);
});

test('training learns the synthetic task and reports the backend', async () => {
  // No augmentation: a horizontal flip would swap the left and right classes of this task.
  const r = await train(cfgFor('learn', { epochs: 6, augment: false, warmupEpochs: 0 }), { data: synthData(), log: quiet });
  assert.equal(r.backend.name, 'wasm');
  const last = r.epochs.at(-1)!;
  assert.ok(last.test.top1 >= 0.9, `test top-1 ${last.test.top1}`);
  assert.ok(r.epochs[0]!.trainLoss > last.trainLoss, 'loss decreases');
  assert.equal(JSON.parse(readFileSync(join(dir, 'learn', 'run.json'), 'utf8')).backend.name, 'wasm');
});

test('no tensor leaks across steps', async () => {
  const counts: number[] = [];
  await train(cfgFor('leak', { epochs: 2 }), { data: synthData(), log: quiet, onStep: () => counts.push(tf.memory().numTensors) });
  assert.ok(counts.length >= 8);
  // After the first step (lazily created kernels/constants), the count must stay flat.
  const steady = counts.slice(1);
  assert.deepEqual(new Set(steady).size, 1, `tensor count drifts: ${steady.join(',')}`);
});

test('NaN loss stops the run with a clear error and keeps the last good checkpoint', async () => {
  const data = synthData();
  const cfg = cfgFor('nan', { epochs: 3 });
  await assert.rejects(
    train(cfg, { data, log: quiet, lossTransform: (l, step) => (step >= 6 ? tf.mul(l, NaN) : l) }),
    (e: unknown) => e instanceof NonFiniteLossError && /loss became NaN at epoch 2/.test(e.message) && /last good checkpoint/.test(e.message),
  );
  const ck = readCheckpoint(join(dir, 'nan', 'checkpoint.ckpt'));
  assert.equal(ck.meta.epoch, 1);
  assert.ok(existsSync(join(dir, 'nan', 'metrics.jsonl')));
});

test('a diverging loss stops the run with an error instead of finishing at chance', async () => {
  const data = synthData();
  const cfg = cfgFor('diverge', { epochs: 3 });
  // Step 6 onwards the loss (and its gradient) is 1e5 times larger: far past DIVERGENCE_FACTOR x the first step's.
  await assert.rejects(
    train(cfg, { data, log: quiet, lossTransform: (l, step) => (step >= 6 ? tf.mul(l, 1e5) : l) }),
    (e: unknown) => e instanceof NonFiniteLossError && /training diverged: loss .* at epoch 2/.test(e.message) && /last good checkpoint/.test(e.message),
  );
  assert.equal(readCheckpoint(join(dir, 'diverge', 'checkpoint.ckpt')).meta.epoch, 1);
  // And a real one: --lr 1e6 must not end "successfully".
  await assert.rejects(train(cfgFor('diverge-lr', { epochs: 2, lr: 1e6 }), { data, log: quiet }), NonFiniteLossError);
});
