// serve/node/v2.ts tensorDataToUint8: JSON tensor data (flat or nested like the shape) to pixels, and the path of
// the first bad element in the 400's message (built only on error: the hot path allocates nothing per pixel).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { tensorDataToUint8 } from '../../serve/node/v2.js';

const shape = [2, 2, 3, 1];
const flat = Array.from({ length: 12 }, (_, i) => i * 20);
const nest = (d: number[]) => [0, 1].map((b) => [0, 1].map((r) => [0, 1, 2].map((c) => [d[b * 6 + r * 3 + c]!])));
const message = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
};

describe('v2 tensor data', () => {
  test('flat and nested data give the same pixels', () => {
    assert.deepEqual([...tensorDataToUint8(flat, shape, 'UINT8', 'inputs[0]')], flat);
    assert.deepEqual([...tensorDataToUint8(nest(flat), shape, 'UINT8', 'inputs[0]')], flat);
  });
  test('a bad value is named by its path and what is allowed', () => {
    const bad = flat.slice();
    bad[7] = 256;
    assert.match(message(() => tensorDataToUint8(bad, shape, 'UINT8', 'inputs[0]')), /^inputs\[0\]\.data\[7\]: 256 is not allowed \(UINT8 values must be integers 0\.\.255\)$/);
    assert.match(message(() => tensorDataToUint8(nest(bad), shape, 'FP32', 'inputs[0]')), /^inputs\[0\]\.data\[1\]\[0\]\[1\]\[0\]: 256 is not allowed \(FP32 values for this UINT8 input/);
    const frac = flat.slice();
    frac[11] = 1.5;
    assert.match(message(() => tensorDataToUint8(nest(frac), shape, 'UINT8', 'inputs[0]')), /data\[1\]\[1\]\[2\]\[0\]: 1\.5 is not allowed/);
  });
  test('nested data that does not follow the shape is named by its path', () => {
    const n = nest(flat) as unknown as unknown[][][];
    n[1]![0] = [[0], [0]];
    assert.match(message(() => tensorDataToUint8(n, shape, 'UINT8', 'inputs[0]')), /^inputs\[0\]\.data\[1\]\[0\] has 2 elements, shape \[2, 2, 3, 1\] needs 3 at depth 2$/);
    const m = nest(flat) as unknown as unknown[][][];
    m[0]![1]![2] = 5;
    assert.match(message(() => tensorDataToUint8(m, shape, 'UINT8', 'inputs[0]')), /^inputs\[0\]\.data\[0\]\[1\]\[2\] must be an array of 1 \(nested data must follow shape/);
    assert.match(message(() => tensorDataToUint8(flat.slice(1), shape, 'UINT8', 'inputs[0]')), /has 11 elements, shape \[2, 2, 3, 1\] needs 12/);
  });
});
