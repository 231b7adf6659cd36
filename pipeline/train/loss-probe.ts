// `ecl loss-probe`: evaluate the ECL terms on hand-supplied tensors (for checking against other
// implementations). Pure: JSON text in, numbers out, on whatever tfjs backend is active.
//
// Input schema (all matrices are arrays of equal-length rows of finite numbers):
//   features           [2B][k]  contrastive-view embeddings (v2 rows then v3 rows), BEFORE normalisation
//   labels             [2B]     integer class of each feature row, in [0, C)
//   prototypes         [C][k]   prototypes phi(W), BEFORE normalisation
//   classifierWeights  [C][d]   classifier W
//   logits             [B][C]   classifier-view logits
//   logitLabels        [B]      integer class of each logits row, in [0, C)
//   classCounts        [C]      training-set class counts (non-negative, positive total)
//   temperature        tau > 0
//   laTau              tau_LA (finite; 0 gives plain CE)
// Unknown fields are ignored.
import * as tf from '@tensorflow/tfjs-core';
import { l2Normalize } from '../../models/forward.js';
import { logitCompensatedCE } from '../../models/losses/classification.js';
import { bcEclLoss, bcEclMeanVectorLoss, bclLoss, ccGeLoss } from '../../models/losses/contrastive.js';

/**
 * The terms. `bcEclMeanVector`: BC-ECL with the mean-vector reading of the class masses; `ccGeDirect`: CC-GE in the
 * direct form ||W/||W||_F - P/||P||_F||_F (null when the classifier's d differs from the prototypes' k).
 */
export type LossProbeResult = Record<'lc' | 'bcEcl' | 'bcl' | 'ccGe' | 'bcEclMeanVector', number> & { ccGeDirect: number | null };

/** Thrown for any problem with the probe's input; the message names the field and the problem. */
export class LossProbeInputError extends Error {
  constructor(message: string) {
    super(`loss-probe input: ${message}`);
    this.name = 'LossProbeInputError';
  }
}

function fail(message: string): never {
  throw new LossProbeInputError(message);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number' && Number.isNaN(v)) return 'NaN';
  return typeof v === 'string' ? `a string (${JSON.stringify(v.length > 20 ? v.slice(0, 20) + '...' : v)})` : `a ${typeof v}`;
}

function field(obj: Record<string, unknown>, name: string): unknown {
  if (!(name in obj) || obj[name] === undefined) fail(`missing required field '${name}'`);
  return obj[name];
}

function finiteNumber(v: unknown, where: string): number {
  if (typeof v !== 'number') fail(`${where} must be a number, got ${describe(v)}`);
  if (!Number.isFinite(v)) fail(`${where} must be finite, got ${v}`);
  return v;
}

function matrix(obj: Record<string, unknown>, name: string): number[][] {
  const v = field(obj, name);
  if (!Array.isArray(v)) fail(`'${name}' must be an array of rows (a matrix), got ${describe(v)}`);
  if (v.length === 0) fail(`'${name}' must have at least one row, got an empty array`);
  let cols = -1;
  return v.map((r: unknown, i) => {
    if (!Array.isArray(r)) fail(`'${name}[${i}]' must be an array of numbers (a row), got ${describe(r)}`);
    if (cols < 0) {
      if (r.length === 0) fail(`'${name}[0]' is an empty row; rows need at least one value`);
      cols = r.length;
    } else if (r.length !== cols) {
      fail(`'${name}' is ragged: row ${i} has ${r.length} values but row 0 has ${cols}`);
    }
    return r.map((x: unknown, j) => finiteNumber(x, `'${name}[${i}][${j}]'`));
  });
}

function vector(obj: Record<string, unknown>, name: string): number[] {
  const v = field(obj, name);
  if (!Array.isArray(v)) fail(`'${name}' must be an array of numbers, got ${describe(v)}`);
  if (v.length === 0) fail(`'${name}' must not be empty`);
  return v.map((x: unknown, i) => finiteNumber(x, `'${name}[${i}]'`));
}

function labelVector(obj: Record<string, unknown>, name: string, numClasses: number): number[] {
  const v = vector(obj, name);
  v.forEach((y, i) => {
    if (!Number.isInteger(y)) fail(`'${name}[${i}]' must be an integer class index, got ${y}`);
    if (y < 0 || y >= numClasses) fail(`'${name}[${i}]' is ${y}, out of range: classes are 0..${numClasses - 1} (C = ${numClasses} from 'prototypes')`);
  });
  return v;
}

function nonZeroRows(m: number[][], name: string): void {
  m.forEach((r, i) => {
    if (!r.some((x) => x !== 0)) fail(`'${name}[${i}]' is all zeros and cannot be L2-normalised`);
  });
}

interface ProbeInput {
  features: number[][];
  labels: number[];
  prototypes: number[][];
  classifierWeights: number[][];
  logits: number[][];
  logitLabels: number[];
  classCounts: number[];
  temperature: number;
  laTau: number;
}

/** Parse and validate the probe's JSON; throws LossProbeInputError with a field-naming message. */
export function parseLossProbeInput(jsonText: string): ProbeInput {
  let raw: unknown;
  try {
    raw = JSON.parse(jsonText);
  } catch (e) {
    fail(`not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(`top level must be a JSON object, got ${describe(raw)}`);
  const obj = raw as Record<string, unknown>;

  const prototypes = matrix(obj, 'prototypes');
  const C = prototypes.length;
  const k = prototypes[0]!.length;
  if (C < 2) fail(`'prototypes' must have at least 2 rows (one per class), got ${C}`);
  nonZeroRows(prototypes, 'prototypes');

  const features = matrix(obj, 'features');
  if (features[0]!.length !== k) fail(`'features' rows have ${features[0]!.length} values but 'prototypes' rows have ${k}; both must have the embedding dimension k`);
  if (features.length % 2 !== 0) fail(`'features' must have 2B rows (views v2 then v3), got an odd count ${features.length}`);
  nonZeroRows(features, 'features');
  const labels = labelVector(obj, 'labels', C);
  if (labels.length !== features.length) fail(`'labels' has ${labels.length} entries but 'features' has ${features.length} rows`);

  const classifierWeights = matrix(obj, 'classifierWeights');
  if (classifierWeights.length !== C) fail(`'classifierWeights' has ${classifierWeights.length} rows but 'prototypes' has ${C}; both need one row per class`);

  const logits = matrix(obj, 'logits');
  const B = features.length / 2;
  if (logits.length !== B) fail(`'logits' has ${logits.length} rows but 'features' has ${features.length} = 2B rows, so B = ${B}`);
  if (logits[0]!.length !== C) fail(`'logits' rows have ${logits[0]!.length} values but there are C = ${C} classes (rows of 'prototypes')`);
  const logitLabels = labelVector(obj, 'logitLabels', C);
  if (logitLabels.length !== B) fail(`'logitLabels' has ${logitLabels.length} entries but 'logits' has ${B} rows`);

  const classCounts = vector(obj, 'classCounts');
  if (classCounts.length !== C) fail(`'classCounts' has ${classCounts.length} entries but there are C = ${C} classes (rows of 'prototypes')`);
  classCounts.forEach((n, i) => {
    if (n < 0) fail(`'classCounts[${i}]' is ${n}; counts must be non-negative`);
  });
  if (classCounts.reduce((a, b) => a + b, 0) <= 0) fail(`'classCounts' must have a positive total`);

  const temperature = finiteNumber(field(obj, 'temperature'), "'temperature'");
  if (temperature <= 0) fail(`'temperature' must be positive, got ${temperature}`);
  const laTau = finiteNumber(field(obj, 'laTau'), "'laTau'");
  const empty = classCounts.findIndex((n) => n === 0);
  if (laTau !== 0 && empty >= 0) fail(`'classCounts[${empty}]' is 0: the logit adjustment (laTau ${laTau}) needs at least one training image per class`);

  return { features, labels, prototypes, classifierWeights, logits, logitLabels, classCounts, temperature, laTau };
}

function oneHot(labels: number[], C: number): tf.Tensor2D {
  const data = new Float32Array(labels.length * C);
  labels.forEach((y, i) => (data[i * C + y] = 1));
  return tf.tensor2d(data, [labels.length, C]);
}

/**
 * Evaluate L_LC (logit-compensated CE), L_BC (ECL), L_BCL and L_CC (Gram form) on the given input.
 * Features and prototypes are L2-normalised here.
 */
export function runLossProbe(jsonText: string): LossProbeResult {
  const inp = parseLossProbeInput(jsonText);
  const C = inp.prototypes.length;
  const values = tf.tidy(() => {
    const z = l2Normalize(tf.tensor2d(inp.features)) as tf.Tensor2D;
    const p = l2Normalize(tf.tensor2d(inp.prototypes)) as tf.Tensor2D;
    const y = oneHot(inp.labels, C);
    const w = tf.tensor2d(inp.classifierWeights);
    const lc = logitCompensatedCE({ logits: tf.tensor2d(inp.logits), oneHot: oneHot(inp.logitLabels, C), classCounts: inp.classCounts }, inp.laTau);
    const direct = w.shape[1] === p.shape[1] ? [ccGeLoss(w, p, 'direct')] : [];
    return tf.stack([lc, bcEclLoss(z, y, p, inp.temperature), bclLoss(z, y, p, inp.temperature), ccGeLoss(w, p, 'gram'), bcEclMeanVectorLoss(z, y, p, inp.temperature), ...direct]);
  });
  const [lc, bcEcl, bcl, ccGe, bcEclMeanVector, ccGeDirect] = Array.from(values.dataSync());
  values.dispose();
  return { lc: lc!, bcEcl: bcEcl!, bcl: bcl!, ccGe: ccGe!, bcEclMeanVector: bcEclMeanVector!, ccGeDirect: ccGeDirect ?? null };
}
