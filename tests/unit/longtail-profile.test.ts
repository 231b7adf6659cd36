// The long-tail profile n_i = floor(n_max * IF^(-i/(C-1))) against an exact integer reference: for integer IF,
// k <= n_max * IF^(-i/(C-1))  <=>  k^(C-1) * IF^i <= n_max^(C-1), decided with BigInt, no floating point. Exact
// powers (6000 * 100^-1 = 60, 1000 * 1000^-1/3 = 100) are where a float profile without its rounding guard falls
// one short; n_max < IF is where the "every class keeps at least one image" rule decides the tail.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { longTailCounts } from '../../pipeline/data/longtail.js';

/** floor(nMax * IF^(-i/(C-1))) exactly, at least 1. */
function exactCount(nMax: number, C: number, IF: number, i: number): number {
  if (C === 1) return nMax;
  const e = BigInt(C - 1);
  const lhsLimit = BigInt(nMax) ** e;
  const fits = (k: number) => BigInt(k) ** e * BigInt(IF) ** BigInt(i) <= lhsLimit;
  // Binary search for the largest k in [0, nMax] with fits(k).
  let lo = 0;
  let hi = nMax;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return Math.max(1, lo);
}

const exactProfile = (nMax: number, C: number, IF: number): number[] => Array.from({ length: C }, (_, i) => exactCount(nMax, C, IF, i));

describe('long-tail profile against exact integer arithmetic', () => {
  test('exact powers keep their integer value (no one-short rounding)', () => {
    // Every value here is an exact integer of the profile.
    assert.deepEqual(longTailCounts(1000, 4, 1000), [1000, 100, 10, 1]);
    assert.deepEqual(longTailCounts(6000, 3, 100), [6000, 600, 60]);
    assert.deepEqual(longTailCounts(4096, 13, 4096), [4096, 2048, 1024, 512, 256, 128, 64, 32, 16, 8, 4, 2, 1]);
    assert.deepEqual(longTailCounts(8100, 5, 81), [8100, 2700, 900, 300, 100]);
    assert.deepEqual(longTailCounts(10000, 5, 10000), [10000, 1000, 100, 10, 1]);
  });

  test('a grid of n_max, C and integer IF matches the exact reference', () => {
    let checked = 0;
    for (const nMax of [6000, 5000, 4096, 1200, 1000, 500, 100, 64, 27, 7])
      for (const C of [2, 3, 4, 5, 7, 10, 100])
        for (const IF of [1, 2, 8, 10, 27, 50, 64, 81, 100, 256, 1000]) {
          assert.deepEqual(longTailCounts(nMax, C, IF), exactProfile(nMax, C, IF), `n_max ${nMax}, C ${C}, IF ${IF}`);
          checked++;
        }
    assert.equal(checked, 10 * 7 * 11);
  });

  test('n_max below IF: tail classes keep one image, not zero', () => {
    // 50 * 100^(-i/9): ..., 0.83 (i = 8), 0.5 (i = 9) -> floored to 0, kept at 1.
    const c = longTailCounts(50, 10, 100);
    assert.deepEqual(c, [50, 29, 17, 10, 6, 3, 2, 1, 1, 1]);
    assert.deepEqual(longTailCounts(3, 3, 100), [3, 1, 1]);
    assert.deepEqual(longTailCounts(1, 5, 10), [1, 1, 1, 1, 1]);
    for (const v of longTailCounts(9, 50, 1000)) assert.ok(v >= 1, `every class keeps an image: ${v}`);
  });
});
