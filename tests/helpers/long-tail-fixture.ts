// A tiny generated long-tail dataset for trainer tests: class c is a bright square at a class-specific place
// plus noise (learnable in a few steps), with imbalanced training counts.
import { Rng } from '../../models/rng.js';
import type { DatasetSplits, ImageSet } from '../../pipeline/data/types.js';

/** Training images per class (IF 20). */
export const LONG_TAIL_COUNTS = [20, 8, 3, 1];
const H = 28;

/** `counts[c]` 28x28 grey images of class c, seeded. */
export function squaresSet(counts: number[], seed: number): ImageSet {
  const rng = new Rng(seed);
  const count = counts.reduce((a, b) => a + b, 0);
  const images = new Uint8Array(count * H * H);
  const labels = new Int32Array(count);
  let i = 0;
  counts.forEach((n, c) => {
    for (let k = 0; k < n; k++, i++) {
      labels[i] = c;
      const ox = 2 + (c % 2) * 14;
      const oy = 2 + Math.floor(c / 2) * 14;
      for (let y = 0; y < H; y++)
        for (let x = 0; x < H; x++) images[i * H * H + y * H + x] = Math.min(255, Math.floor((x >= ox && x < ox + 10 && y >= oy && y < oy + 10 ? 180 : 20) + rng.next() * 60));
    }
  });
  return { images, labels, count, height: H, width: H, channels: 1, classNames: ['a', 'b', 'c', 'd'] };
}

/** Train (LONG_TAIL_COUNTS), balanced val (2 a class) and test (4 a class) splits. */
export function syntheticLongTail(): DatasetSplits {
  return {
    name: 'synthetic-lt',
    source: 'generated',
    train: squaresSet(LONG_TAIL_COUNTS, 1),
    val: squaresSet([2, 2, 2, 2], 3),
    test: squaresSet([4, 4, 4, 4], 2),
    classCounts: LONG_TAIL_COUNTS,
    valCounts: [2, 2, 2, 2],
    classNames: ['a', 'b', 'c', 'd'],
    mean: [0.3],
    std: [0.3],
    imbalanceFactor: 20,
    notes: [],
  };
}
