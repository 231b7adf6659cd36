// The trainer with the ECL objective on imbalanced counts: the three views are distinct augmentations of the
// same images, every loss term is present and finite, and the first step's loss equals a float64 reference
// computed from the batch the trainer used (so a view in the wrong slot or a term left out is caught).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { buildModelSpec, initParams } from '../../models/builders.js';
import { classifierWeights, forwardClassifier, projectFeatures, prototypes } from '../../models/forward.js';
import { selectBackend } from '../../pipeline/backend/select.js';
import type { DatasetSplits } from '../../pipeline/data/types.js';
import { LONG_TAIL_COUNTS, syntheticLongTail } from '../helpers/long-tail-fixture.js';
import { resolveConfig } from '../../pipeline/train/config.js';
import { ModelState } from '../../pipeline/train/model-state.js';
import { train } from '../../pipeline/train/trainer.js';
import { refCcGram, refContrastive, refLc } from '../helpers/losses-reference.js';

const COUNTS = LONG_TAIL_COUNTS;
const H = 28;
const data: DatasetSplits = syntheticLongTail();

let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ecl-train-ecl-'));
  await selectBackend('wasm');
});
after(() => rmSync(dir, { recursive: true, force: true }));

const rows = (t: tf.Tensor): number[][] => t.arraySync() as number[][];

test('ECL training: distinct views, finite terms, first-step loss equal to a float64 reference', { timeout: 240_000 }, async () => {
  const cfg = resolveConfig({ dataset: 'embedded', name: 'ecl', runsDir: dir, loss: 'ecl', epochs: 1, batchSize: 16, lr: 0.05, backend: 'wasm', seed: 5, laTau: 1, lambdaBc: 0.6, lambdaCc: 5, temperature: 0.1 });
  let first: { pixels: Float32Array; views: number; labels: Int32Array } | undefined;
  const losses: number[] = [];
  await train(cfg, {
    data,
    log: () => {},
    onBatch: (step, pixels, views, labels) => {
      if (step === 0) first = { pixels: pixels.slice(), views, labels: labels.slice() };
    },
    onStep: (_s, l) => losses.push(l),
  });
  assert.ok(first, 'the first batch was seen');
  const B = cfg.batchSize;
  const px = H * H;
  assert.equal(first.views, 3, 'ECL trains on three views');
  // Views: same labels for all three (one label array), each non-empty, pairwise different (random crop + flip).
  const view = (v: number) => first!.pixels.subarray(v * B * px, (v + 1) * B * px);
  for (let v = 0; v < 3; v++) assert.ok(view(v).some((x) => x !== 0), `view ${v} is filled`);
  for (const [a, b] of [[0, 1], [0, 2], [1, 2]] as const) assert.ok(view(a).some((x, i) => x !== view(b)[i]), `views ${a} and ${b} differ`);
  // An imbalanced batch: the head class dominates.
  const perClass = COUNTS.map((_, c) => first!.labels.filter((y) => y === c).length);
  assert.ok(perClass[0]! > perClass[3]!, `batch class counts ${perClass}`);

  // Every term of the objective is present and finite in the epoch's metrics.
  const m = JSON.parse(readFileSync(join(dir, 'ecl', 'metrics.jsonl'), 'utf8').trim().split('\n')[0]!) as { lossParts: Record<string, number> };
  assert.deepEqual(Object.keys(m.lossParts).sort(), ['bc', 'cc', 'lc']);
  for (const [k, v] of Object.entries(m.lossParts)) assert.ok(Number.isFinite(v) && v > 0, `${k} = ${v}`);

  // Float64 reference from the same initial weights and the same batch (BatchNorm on all 3B images, as trained).
  const spec = buildModelSpec('cnn28', { numClasses: 4, input: { height: H, width: H, channels: 1, mean: data.mean, std: data.std } });
  const state = new ModelState(initParams(spec, cfg.seed));
  const ref = tf.tidy(() => {
    const params = state.params();
    const out = forwardClassifier(spec, params, tf.tensor4d(first!.pixels, [3 * B, H, H, 1]), { training: true });
    const logits = rows(tf.slice(out.logits, [0, 0], [B, 4]));
    const z = rows(projectFeatures(spec, params, tf.slice(out.features, [B, 0], [2 * B, spec.featureDim]), { training: true }));
    const p = rows(prototypes(spec, params));
    const w = rows(classifierWeights(spec, params));
    const y = Array.from(first!.labels);
    return refLc(logits, y, COUNTS, cfg.laTau) + cfg.lambdaBc * refContrastive(z, [...y, ...y], p, cfg.temperature, 'ecl') + cfg.lambdaCc * refCcGram(w, p);
  });
  state.dispose();
  assert.ok(Math.abs(losses[0]! - ref) <= 1e-4 * Math.abs(ref), `first-step loss ${losses[0]} vs float64 reference ${ref}`);
});
