// Long-tail construction from a (balanced) training split.
//
// Profile: the standard exponential one (Cao et al. 2019, LDAM; Cui et al. 2019):
//   n_i = floor(n_max * IF^(-i/(C-1))),  i = 0..C-1 in class-index order,
// so class 0 keeps n_max images and class C-1 keeps floor(n_max / IF). IF = 1 gives a balanced subset.
// For Fashion-MNIST (n_max 6000) at IF 100 this is 6000, 3596, 2156, 1292, 774, 464, 278, 166, 100, 60 (14,886).
// A relative epsilon of 1e-9 is added before flooring so that exact powers (e.g. 6000 * 100^-1 = 60) never fall to
// 59 through rounding error; no true value of the profile lies that close below an integer for any practical n_max.
// Every class keeps at least 1 image (only matters when n_max < IF).
//
// Sampling: each class's training images are shuffled with deriveRng(seed, 'longtail', class) and the first n_i
// are taken. buildLongTail can also carve a validation split from the images the long-tail subset did not use
// (`valPerClass`; only the embedded subset's generator uses it, where n_max leaves images over): at n_max = class
// size the head class has none left, so the built-in long-tail sets (fmnist-lt, cifar*-lt) validate on a
// stratified half of their balanced test split instead (testHalves), the same half for every seed and method.
import { deriveRng } from '../../models/rng.js';

/** n_i = floor(n_max * IF^(-i/(C-1))) for i = 0..C-1. */
export function longTailCounts(nMax: number, numClasses: number, imbalance: number): number[] {
  if (!Number.isInteger(nMax) || nMax < 1) throw new Error(`long-tail: n_max must be a positive integer, got ${nMax}`);
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`long-tail: number of classes must be a positive integer, got ${numClasses}`);
  if (!Number.isFinite(imbalance) || imbalance < 1) throw new Error(`long-tail: imbalance factor must be a number >= 1 (1 = balanced), got ${imbalance}`);
  if (numClasses === 1) return [nMax];
  const counts: number[] = [];
  for (let i = 0; i < numClasses; i++) {
    const v = nMax * Math.pow(imbalance, -i / (numClasses - 1));
    counts.push(Math.max(1, Math.floor(v * (1 + 1e-9))));
  }
  return counts;
}

export interface LongTailOptions {
  imbalance: number;
  seed: number;
  /** Images of the head class; default: the size of the largest class. */
  nMax?: number;
  /** Validation images per class, from images the long-tail subset did not use (default 0). */
  valPerClass?: number;
  /** For messages only. */
  classNames?: string[];
}

export interface LongTailSplit {
  /** Indices into the source training split, ascending. */
  train: Int32Array;
  /** Indices into the source training split, ascending; disjoint from `train`. */
  val: Int32Array;
  /** The profile asked for. */
  targetCounts: number[];
  trainCounts: number[];
  valCounts: number[];
  nMax: number;
  notes: string[];
}

/** Indices of each class, in source order. */
export function indicesByClass(labels: ArrayLike<number>, numClasses: number): number[][] {
  const by: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (l < 0 || l >= numClasses || !Number.isInteger(l)) throw new Error(`label ${l} of image ${i} is out of range [0, ${numClasses - 1}]`);
    by[l]!.push(i);
  }
  return by;
}

export function buildLongTail(labels: ArrayLike<number>, numClasses: number, opts: LongTailOptions): LongTailSplit {
  const by = indicesByClass(labels, numClasses);
  const sizes = by.map((b) => b.length);
  const nMax = opts.nMax ?? Math.max(...sizes);
  const valPerClass = opts.valPerClass ?? 0;
  if (!Number.isInteger(valPerClass) || valPerClass < 0) throw new Error(`long-tail: valPerClass must be a non-negative integer, got ${valPerClass}`);
  const target = longTailCounts(nMax, numClasses, opts.imbalance);
  const name = (c: number) => (opts.classNames?.[c] !== undefined ? `class ${c} (${opts.classNames[c]})` : `class ${c}`);
  const notes: string[] = [];
  const train: number[] = [];
  const val: number[] = [];
  const trainCounts: number[] = [];
  const valCounts: number[] = [];
  for (let c = 0; c < numClasses; c++) {
    const idx = by[c]!.slice();
    deriveRng(opts.seed, 'longtail', c).shuffle(idx);
    const nTrain = Math.min(target[c]!, idx.length);
    if (nTrain < target[c]!) notes.push(`long-tail: ${name(c)} has only ${idx.length} training images, the profile asks for ${target[c]}; took all`);
    const nVal = Math.min(valPerClass, idx.length - nTrain);
    if (nVal < valPerClass)
      notes.push(
        `validation: ${name(c)} has ${idx.length - nTrain} image(s) left after the long-tail subset took ${nTrain} of ${idx.length}; ` +
          `validation gets ${nVal} instead of ${valPerClass}`,
      );
    for (let k = 0; k < nTrain; k++) train.push(idx[k]!);
    for (let k = nTrain; k < nTrain + nVal; k++) val.push(idx[k]!);
    trainCounts.push(nTrain);
    valCounts.push(nVal);
  }
  return {
    train: Int32Array.from(train).sort(),
    val: Int32Array.from(val).sort(),
    targetCounts: target,
    trainCounts,
    valCounts,
    nMax,
    notes,
  };
}

/**
 * At most `limit` of the given indices, keeping each class's share (largest remainder; every class present keeps
 * at least one image when limit allows). Within a class, images are taken in a seeded order. Returns ascending indices.
 */
export function stratifiedLimit(indices: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number, limit: number, seed: number, purpose: string): Int32Array {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`limit must be a positive integer, got ${limit}`);
  if (limit >= indices.length) return Int32Array.from(indices as ArrayLike<number>).sort();
  const by: number[][] = Array.from({ length: numClasses }, () => []);
  for (let k = 0; k < indices.length; k++) by[labels[indices[k]!]!]!.push(indices[k]!);
  const total = indices.length;
  const alloc = by.map((b) => Math.floor((limit * b.length) / total));
  const present = by.map((b) => b.length > 0);
  const nPresent = present.filter(Boolean).length;
  if (limit >= nPresent) for (let c = 0; c < numClasses; c++) if (present[c] && alloc[c] === 0) alloc[c] = 1;
  let sum = alloc.reduce((a, b) => a + b, 0);
  const order = by
    .map((b, c) => ({ c, r: (limit * b.length) / total - Math.floor((limit * b.length) / total) }))
    .sort((a, b) => b.r - a.r || a.c - b.c);
  for (let k = 0; sum < limit && k < numClasses * (limit + 2); k++) {
    const { c } = order[k % numClasses]!;
    if (alloc[c]! < by[c]!.length) {
      alloc[c]!++;
      sum++;
    }
  }
  while (sum > limit) {
    let big = 0;
    for (let c = 1; c < numClasses; c++) if (alloc[c]! > alloc[big]!) big = c;
    alloc[big]!--;
    sum--;
  }
  const out: number[] = [];
  for (let c = 0; c < numClasses; c++) {
    const b = by[c]!;
    deriveRng(seed, purpose, c).shuffle(b);
    for (let k = 0; k < alloc[c]!; k++) out.push(b[k]!);
  }
  return Int32Array.from(out).sort();
}

/** `perClass` images of each class (fewer when a class has fewer), seeded; ascending indices. */
export function balancedSubset(labels: ArrayLike<number>, numClasses: number, perClass: number, seed: number, purpose: string): Int32Array {
  const by = indicesByClass(labels, numClasses);
  const out: number[] = [];
  for (let c = 0; c < numClasses; c++) {
    const b = by[c]!;
    deriveRng(seed, purpose, c).shuffle(b);
    for (let k = 0; k < Math.min(perClass, b.length); k++) out.push(b[k]!);
  }
  return Int32Array.from(out).sort();
}

/** Fixed seed of the validation/test halves: independent of the run seed, so every method and seed sees the same halves. */
export const TEST_HALVES_SEED = 16;

export interface TestHalves {
  /** Indices into the test split, ascending: the validation half. */
  val: Int32Array;
  /** Indices into the test split, ascending: the half that stays the test split; disjoint from `val`. */
  test: Int32Array;
}

/**
 * A stratified half of a (balanced) test split as validation, the other half as test: per class, a fixed-seed
 * shuffle (TEST_HALVES_SEED, not the run seed) whose first floor(n_c / 2) images validate and the rest test.
 */
export function testHalves(labels: ArrayLike<number>, numClasses: number): TestHalves {
  const by = indicesByClass(labels, numClasses);
  const val: number[] = [];
  const test: number[] = [];
  for (let c = 0; c < numClasses; c++) {
    const idx = by[c]!;
    deriveRng(TEST_HALVES_SEED, 'test-halves', c).shuffle(idx);
    const nVal = Math.floor(idx.length / 2);
    val.push(...idx.slice(0, nVal));
    test.push(...idx.slice(nVal));
  }
  return { val: Int32Array.from(val).sort(), test: Int32Array.from(test).sort() };
}
