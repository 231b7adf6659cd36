// Loss-term weights under `--loss-weights normalised`: ProConDual's scheme (suminRoh/ProConDual main_cifar.py,
// train()): epoch 0 trains with every weight 1 and averages each raw term over the epoch; from epoch 1 on each
// term is weighted constant / its epoch-0 average, with ProConDual's constants 0.7 (LC, weight_a), 0.3 (the
// contrastive term, weight_b) and 0.5 (CC, weight_c), so each term starts at about its constant. Here the BC and
// CC constants are --lambda-bc / --lambda-cc (defaulting to 0.3 / 0.5 in this mode); LC's stays 0.7. The averages
// and the weights are stored in the checkpoint and run.json, so a resumed run uses the very same weights.
// ProConDual rounds each weight to 2 decimals; we do not (docs/ECL.md "Loss weights").

/** ProConDual's constants: weight_a (LC), weight_b (contrastive), weight_c (ProDual / CC-GE). */
export const PROCONDUAL_CONSTANTS = { lc: 0.7, bc: 0.3, cc: 0.5 } as const;

export type LossWeightMode = 'fixed' | 'normalised';
export const LOSS_WEIGHT_MODES: readonly LossWeightMode[] = ['fixed', 'normalised'];

/** What a normalised run records once epoch 0 is over. */
export interface LossWeightRecord {
  mode: 'normalised';
  /** Numerator per term (lc, bc[, cc]). */
  constants: Record<string, number>;
  /** Each raw term's mean over the steps of epoch 0. */
  epoch0Means: Record<string, number>;
  /** constants[t] / epoch0Means[t]: the weights of every epoch after the first. */
  weights: Record<string, number>;
}

/** constants[t] / means[t] for every term of `constants`; a missing, non-finite or non-positive mean is an error. */
export function normalisedWeights(constants: Record<string, number>, means: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [term, c] of Object.entries(constants)) {
    const m = means[term];
    if (m === undefined) throw new Error(`normalised loss weights: epoch 0 recorded no average for the '${term}' term`);
    if (!(Number.isFinite(m) && m > 0)) throw new Error(`normalised loss weights: the '${term}' term averaged ${m} over epoch 0; it must be a positive number to divide by`);
    if (!(Number.isFinite(c) && c >= 0)) throw new Error(`normalised loss weights: constant for '${term}' must be a finite number >= 0, got ${c}`);
    out[term] = c / m;
  }
  return out;
}

/** The record after epoch 0: constants for the terms the loss has, their epoch-0 means and the weights. */
export function normalisedRecord(constants: Record<string, number>, epoch0Means: Record<string, number>): LossWeightRecord {
  const means = Object.fromEntries(Object.keys(constants).map((t) => [t, epoch0Means[t]!]));
  return { mode: 'normalised', constants: { ...constants }, epoch0Means: means, weights: normalisedWeights(constants, epoch0Means) };
}

const isNumRecord = (v: unknown): v is Record<string, number> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'number' && Number.isFinite(x));

/** A stored record (checkpoint header), checked: the weights must be the constants over the means. */
export function parseLossWeightRecord(raw: unknown, source: string): LossWeightRecord {
  const r = raw as Partial<LossWeightRecord> | null;
  if (!r || r.mode !== 'normalised' || !isNumRecord(r.constants) || !isNumRecord(r.epoch0Means) || !isNumRecord(r.weights))
    throw new Error(`${source}: lossWeights is not a normalised-weights record {mode, constants, epoch0Means, weights}`);
  const again = normalisedWeights(r.constants, r.epoch0Means);
  for (const [t, w] of Object.entries(again))
    if (Math.abs((r.weights[t] ?? NaN) - w) > 1e-12 * Math.max(1, Math.abs(w))) throw new Error(`${source}: lossWeights.weights.${t} = ${r.weights[t]} is not constants / epoch0Means = ${w}`);
  return { mode: 'normalised', constants: r.constants, epoch0Means: r.epoch0Means, weights: r.weights };
}
