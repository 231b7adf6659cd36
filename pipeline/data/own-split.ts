// The stratified train/val/test split of the user's own images, and the long-tail profile printed before training.
import { DEFAULT_SHOTS } from '../../models/metrics/classification.js';
import { deriveRng } from '../../models/rng.js';
import { indicesByClass } from './longtail.js';
import type { SplitName } from './own-files.js';

/**
 * The split does not depend on --seed: every seed of a study is then measured on the same test images (as the
 * fixed ISIC split). Change the data or the fractions to change it.
 */
export const OWN_SPLIT_SEED = 2024;

export interface SplitIndices {
  train: number[];
  val: number[];
  test: number[];
}

/**
 * Per class (seeded shuffle of that class's items, in the order given): round(n * testFraction) test items,
 * then round(n * valFraction) validation items, the rest train. Every class keeps at least one training item:
 * validation gives way first, then test. Deterministic for the same labels, fractions and seed.
 */
export function stratifiedSplit(labels: ArrayLike<number>, numClasses: number, valFraction: number, testFraction: number, seed: number): SplitIndices {
  if (!(valFraction >= 0 && testFraction >= 0 && valFraction + testFraction < 1))
    throw new Error(`split fractions must be >= 0 with val + test < 1, got val ${valFraction}, test ${testFraction}`);
  const by = indicesByClass(labels, numClasses);
  const out: SplitIndices = { train: [], val: [], test: [] };
  for (let c = 0; c < numClasses; c++) {
    const idx = by[c]!;
    if (idx.length === 0) continue;
    deriveRng(seed, 'own-split', c).shuffle(idx);
    const n = idx.length;
    let nTest = Math.round(n * testFraction);
    let nVal = Math.round(n * valFraction);
    while (n - nTest - nVal < 1) {
      if (nVal > 0) nVal--;
      else nTest--;
    }
    out.test.push(...idx.slice(0, nTest));
    out.val.push(...idx.slice(nTest, nTest + nVal));
    out.train.push(...idx.slice(nTest + nVal));
  }
  for (const k of ['train', 'val', 'test'] as const) out[k].sort((a, b) => a - b);
  return out;
}

/** Preset splits where given (folders / CSV column); the rest by stratifiedSplit. */
export function assignSplits(
  labels: ArrayLike<number>,
  preset: ReadonlyArray<SplitName | undefined>,
  numClasses: number,
  valFraction: number,
  testFraction: number,
  seed: number,
): SplitIndices {
  const free = Array.from({ length: labels.length }, (_, i) => i).filter((i) => preset[i] === undefined);
  const out: SplitIndices = { train: [], val: [], test: [] };
  for (let i = 0; i < labels.length; i++) {
    const s = preset[i];
    if (s) out[s].push(i);
  }
  if (free.length) {
    const sub = stratifiedSplit(
      free.map((i) => labels[i]!),
      numClasses,
      valFraction,
      testFraction,
      seed,
    );
    for (const k of ['train', 'val', 'test'] as const) out[k].push(...sub[k].map((j) => free[j]!));
  }
  for (const k of ['train', 'val', 'test'] as const) out[k].sort((a, b) => a - b);
  return out;
}

export type ShotGroup = 'many' | 'medium' | 'few';

/** The many/medium/few group of a class with n training images (models/metrics/classification.ts thresholds). */
export function shotGroup(n: number): ShotGroup {
  return n > DEFAULT_SHOTS.many ? 'many' : n < DEFAULT_SHOTS.few ? 'few' : 'medium';
}

/** Lines of the long-tail profile: classes by count (largest first, ties by name), imbalance, group sizes. */
export function formatLongTailProfile(classNames: string[], counts: number[], opts: { maxRows?: number } = {}): string[] {
  const C = classNames.length;
  const total = counts.reduce((a, b) => a + b, 0);
  const nonzero = counts.filter((n) => n > 0);
  const max = nonzero.length ? Math.max(...nonzero) : 0;
  const min = nonzero.length ? Math.min(...nonzero) : 0;
  const groups = { many: 0, medium: 0, few: 0 };
  counts.forEach((n) => groups[shotGroup(n)]++);
  const order = counts.map((n, c) => c).sort((a, b) => counts[b]! - counts[a]! || (classNames[a]! < classNames[b]! ? -1 : 1));
  const nameW = Math.min(40, Math.max(5, ...classNames.map((n) => n.length)));
  const row = (c: number) => `  ${classNames[c]!.slice(0, nameW).padEnd(nameW)} ${String(counts[c]).padStart(7)}  ${shotGroup(counts[c]!)}`;
  const maxRows = opts.maxRows ?? 40;
  // Many classes: the head, a count of the ones left out, the 5 smallest (maxRows rows in all).
  const head = maxRows - 6;
  const rows = order.length <= maxRows ? order.map(row) : [...order.slice(0, head).map(row), `  ... ${order.length - head - 5} more classes ...`, ...order.slice(-5).map(row)];
  return [
    `long-tail profile of the training split: ${C} classes, ${total} images, imbalance factor ${min > 0 ? (max / min).toFixed(1) : 'n/a'} (max ${max} / min ${min})`,
    `  many-shot (>${DEFAULT_SHOTS.many}): ${groups.many} classes, medium (${DEFAULT_SHOTS.few}-${DEFAULT_SHOTS.many}): ${groups.medium}, few-shot (<${DEFAULT_SHOTS.few}): ${groups.few}`,
    `  ${'class'.padEnd(nameW)} ${'images'.padStart(7)}  group`,
    ...rows,
  ];
}
