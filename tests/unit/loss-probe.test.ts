// runLossProbe: values against the float64 references, and clear schema errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { LossProbeInputError, runLossProbe } from '../../pipeline/train/loss-probe.js';
import { normalizeRows, refCcDirect, refCcGram, refContrastive, refLc } from '../helpers/losses-reference.js';

await tf.setBackend('cpu');

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what}: got ${actual}, expected ${expected}`);
}

const VALID = {
  features: [
    [1, 2, 0],
    [0, -1, 1],
    [2, 1, 1],
    [-1, 0, 3],
  ],
  labels: [0, 1, 0, 1],
  prototypes: [
    [1, 0, 0.5],
    [0, 1, -1],
  ],
  classifierWeights: [
    [0.5, -0.2],
    [0.1, 0.9],
  ],
  logits: [
    [1.5, -0.5],
    [0.2, 0.3],
  ],
  logitLabels: [0, 1],
  classCounts: [90, 10],
  temperature: 0.2,
  laTau: 1,
};

test('probe values match the float64 references', () => {
  const before = tf.memory().numTensors;
  const r = runLossProbe(JSON.stringify(VALID));
  assert.equal(tf.memory().numTensors, before, 'probe leaked tensors');
  // The original keys, unchanged, plus the two other readings (mean-vector BC-ECL, direct-form CC-GE).
  assert.deepEqual(Object.keys(r).sort(), ['bcEcl', 'bcEclMeanVector', 'bcl', 'ccGe', 'ccGeDirect', 'lc']);
  const z = normalizeRows(VALID.features);
  const p = normalizeRows(VALID.prototypes);
  close(r.lc, refLc(VALID.logits, VALID.logitLabels, VALID.classCounts, VALID.laTau), 1e-5, 'lc');
  close(r.bcEcl, refContrastive(z, VALID.labels, p, VALID.temperature, 'ecl'), 1e-5, 'bcEcl');
  close(r.bcl, refContrastive(z, VALID.labels, p, VALID.temperature, 'bcl'), 1e-5, 'bcl');
  close(r.ccGe, refCcGram(VALID.classifierWeights, p), 1e-5, 'ccGe');
  close(r.bcEclMeanVector, refContrastive(z, VALID.labels, p, VALID.temperature, 'ecl-mean-vector'), 1e-5, 'bcEclMeanVector');
  assert.ok(Math.abs(r.bcEclMeanVector - r.bcEcl) > 1e-4, 'the two readings of BC-ECL differ here (Jensen)');
  if (VALID.classifierWeights[0]!.length === VALID.prototypes[0]!.length) close(r.ccGeDirect!, refCcDirect(VALID.classifierWeights, p), 1e-5, 'ccGeDirect');
  else assert.equal(r.ccGeDirect, null);
  // With d = k the direct form is reported and equals the float64 reference.
  const w3 = [
    [0.5, -0.2, 0.3],
    [0.1, 0.9, -0.4],
  ];
  close(runLossProbe(JSON.stringify({ ...VALID, classifierWeights: w3 })).ccGeDirect!, refCcDirect(w3, p), 1e-5, 'ccGeDirect (d = k)');
  // Scaling the raw features/prototypes does not matter (they are normalised).
  const scaled = { ...VALID, features: VALID.features.map((row) => row.map((x) => 7 * x)), prototypes: VALID.prototypes.map((row) => row.map((x) => 0.1 * x)) };
  const r2 = runLossProbe(JSON.stringify(scaled));
  close(r2.bcEcl, r.bcEcl, 1e-5, 'scale invariance');
  // laTau = 0 is plain CE.
  const ce = runLossProbe(JSON.stringify({ ...VALID, laTau: 0 })).lc;
  close(ce, refLc(VALID.logits, VALID.logitLabels, VALID.classCounts, 0), 1e-5, 'plain CE');
});

function expectError(input: unknown, pattern: RegExp, raw = false): void {
  const text = raw ? (input as string) : JSON.stringify(input);
  assert.throws(
    () => runLossProbe(text),
    (e: unknown) => {
      assert.ok(e instanceof LossProbeInputError, `expected LossProbeInputError, got ${String(e)}`);
      assert.match(e.message, /^loss-probe input: /);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

const without = (key: keyof typeof VALID): Record<string, unknown> => {
  const o: Record<string, unknown> = { ...VALID };
  delete o[key];
  return o;
};

test('schema errors name the field and the problem', () => {
  expectError('{"features": [[1,2]', /not valid JSON/, true);
  expectError('[1, 2]', /top level must be a JSON object, got an array/, true);
  expectError('null', /top level must be a JSON object, got null/, true);
  for (const key of Object.keys(VALID) as (keyof typeof VALID)[]) expectError(without(key), new RegExp(`missing required field '${key}'`));
  expectError({ ...VALID, features: 'abc' }, /'features' must be an array of rows.*got a string/);
  expectError({ ...VALID, features: [] }, /'features' must have at least one row/);
  expectError({ ...VALID, features: [[1, 2, 0], 5, [1, 1, 1], [1, 0, 0]] }, /'features\[1\]' must be an array of numbers/);
  expectError({ ...VALID, features: [[1, 2, 0], [0, -1], [2, 1, 1], [-1, 0, 3]] }, /'features' is ragged: row 1 has 2 values but row 0 has 3/);
  expectError({ ...VALID, features: [[1, 2, 0], [0, '1', 1], [2, 1, 1], [-1, 0, 3]] }, /'features\[1\]\[1\]' must be a number, got a string/);
  expectError({ ...VALID, features: [[1, 2, 0], [0, null, 1], [2, 1, 1], [-1, 0, 3]] }, /'features\[1\]\[1\]' must be a number, got null/);
  expectError(JSON.stringify(VALID).replace('"temperature":0.2', '"temperature":1e999'), /'temperature' must be finite, got Infinity/, true);
  expectError(JSON.stringify(VALID).replace('"temperature":0.2', '"temperature":NaN'), /not valid JSON/, true);
  expectError({ ...VALID, temperature: 'NaN' }, /'temperature' must be a number, got a string/);
  expectError({ ...VALID, features: [[1, 2], [0, 1], [2, 1], [0, 3]] }, /'features' rows have 2 values but 'prototypes' rows have 3/);
  expectError({ ...VALID, features: VALID.features.slice(0, 3), labels: [0, 1, 0] }, /2B rows.*odd count 3/);
  expectError({ ...VALID, features: [[0, 0, 0], ...VALID.features.slice(1)] }, /'features\[0\]' is all zeros/);
  expectError({ ...VALID, prototypes: [[1, 0, 0], [0, 0, 0]] }, /'prototypes\[1\]' is all zeros/);
  expectError({ ...VALID, prototypes: [[1, 0, 0]] }, /'prototypes' must have at least 2 rows/);
  expectError({ ...VALID, labels: [0, 1, 0] }, /'labels' has 3 entries but 'features' has 4 rows/);
  expectError({ ...VALID, labels: [0, 1, 2, 1] }, /'labels\[2\]' is 2, out of range: classes are 0..1/);
  expectError({ ...VALID, labels: [0, 1, -1, 1] }, /'labels\[2\]' is -1, out of range/);
  expectError({ ...VALID, labels: [0, 1, 0.5, 1] }, /'labels\[2\]' must be an integer/);
  expectError({ ...VALID, classifierWeights: [[1, 2]] }, /'classifierWeights' has 1 rows but 'prototypes' has 2/);
  expectError({ ...VALID, logits: [[1, 2]] }, /'logits' has 1 rows but 'features' has 4 = 2B rows, so B = 2/);
  expectError({ ...VALID, logits: [[1, 2, 3], [1, 2, 3]] }, /'logits' rows have 3 values but there are C = 2 classes/);
  expectError({ ...VALID, logitLabels: [0] }, /'logitLabels' has 1 entries but 'logits' has 2 rows/);
  expectError({ ...VALID, logitLabels: [0, 3] }, /'logitLabels\[1\]' is 3, out of range/);
  expectError({ ...VALID, classCounts: [1, 2, 3] }, /'classCounts' has 3 entries but there are C = 2 classes/);
  expectError({ ...VALID, classCounts: [5, -1] }, /'classCounts\[1\]' is -1; counts must be non-negative/);
  expectError({ ...VALID, classCounts: [0, 0] }, /'classCounts' must have a positive total/);
  expectError({ ...VALID, temperature: 0 }, /'temperature' must be positive, got 0/);
  expectError({ ...VALID, temperature: -0.1 }, /'temperature' must be positive/);
  expectError({ ...VALID, laTau: true }, /'laTau' must be a number, got a boolean/);
});

test('unknown fields are ignored', () => {
  const r = runLossProbe(JSON.stringify({ ...VALID, comment: 'hello', expected: { lc: 1 } }));
  assert.ok(Number.isFinite(r.lc));
});
