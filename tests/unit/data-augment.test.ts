import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng, deriveRng } from '../../models/rng.js';
import { augmentInto, copyInto, defaultAugmentOptions, makeBatch, makeBatchLabels, type AugmentOptions } from '../../pipeline/data/augment.js';
import { syntheticSet } from '../helpers/data-fixtures.js';

const grey = syntheticSet([0, 1, 2, 3], 28, 28, 1, 4);
const rgb = syntheticSet([0, 1, 2, 3, 4, 5], 32, 32, 3, 6);

/** Every position of `v` is 0 or equals the source at a (dy, dx)-shifted, optionally flipped, position. */
function matchesShift(v: Float32Array, set = grey, index = 0): { dy: number; dx: number; flip: boolean } | null {
  const { height: H, width: W, channels: C } = set;
  const base = index * H * W * C;
  for (const flip of [false, true])
    for (let dy = -4; dy <= 4; dy++)
      for (let dx = -4; dx <= 4; dx++) {
        let ok = true;
        for (let y = 0; y < H && ok; y++)
          for (let x = 0; x < W && ok; x++) {
            const sy = y + dy;
            const sx = (flip ? W - 1 - x : x) + dx;
            for (let c = 0; c < C; c++) {
              const want = sy < 0 || sy >= H || sx < 0 || sx >= W ? 0 : set.images[base + (sy * W + sx) * C + c]!;
              if (v[(y * W + x) * C + c] !== want) ok = false;
            }
          }
        if (ok) return { dy, dx, flip };
      }
  return null;
}

describe('augmentation', () => {
  test('copyInto is the raw 0..255 image', () => {
    const out = new Float32Array(5 + 784);
    copyInto(out, 5, grey, 2);
    assert.deepEqual(Array.from(out.subarray(5)), Array.from(grey.images.subarray(2 * 784, 3 * 784)));
  });

  test('defaults: pad 2 for 28 px, 4 for 32 px; jitter only for RGB', () => {
    assert.deepEqual(defaultAugmentOptions(grey), { pad: 2, flip: true, jitter: null });
    const o = defaultAugmentOptions(rgb);
    assert.equal(o.pad, 4);
    assert.ok(o.jitter && o.jitter.brightness > 0);
  });

  test('crop + flip views are shifted/flipped copies with zero padding, all shifts within pad', () => {
    const opts: AugmentOptions = { pad: 2, flip: true, jitter: { brightness: 0.5, contrast: 0.5, saturation: 0.5 } }; // jitter ignored (1 channel)
    const rng = new Rng(1);
    const out = new Float32Array(784);
    const seen = new Set<string>();
    for (let k = 0; k < 60; k++) {
      augmentInto(out, 0, grey, 0, rng, opts);
      const m = matchesShift(out);
      assert.ok(m, `view ${k} is not a padded shift of the source`);
      assert.ok(Math.abs(m.dy) <= 2 && Math.abs(m.dx) <= 2);
      seen.add(`${m.dy},${m.dx},${m.flip}`);
    }
    assert.ok(seen.size > 10, `only ${seen.size} distinct views`);
    assert.ok([...seen].some((s) => s.endsWith('true')) && [...seen].some((s) => s.endsWith('false')));
  });

  test('no pad, no flip, no jitter = copy', () => {
    const a = new Float32Array(rgb.height * rgb.width * 3);
    const b = new Float32Array(a.length);
    augmentInto(a, 0, rgb, 3, new Rng(5), { pad: 0, flip: false, jitter: null });
    copyInto(b, 0, rgb, 3);
    assert.deepEqual(a, b);
  });

  test('colour jitter: RGB values stay in [0, 255], geometry unchanged when jitter is neutral', () => {
    const opts = defaultAugmentOptions(rgb);
    const out = new Float32Array(32 * 32 * 3);
    const rng = new Rng(9);
    let changed = false;
    for (let k = 0; k < 20; k++) {
      augmentInto(out, 0, rgb, k % rgb.count, rng, opts);
      for (const v of out) assert.ok(v >= 0 && v <= 255);
      if (!matchesShift(out, rgb, k % rgb.count)) changed = true;
    }
    assert.ok(changed, 'jitter never changed a colour');
    const neutral = { ...opts, jitter: { brightness: 0, contrast: 0, saturation: 0 } };
    augmentInto(out, 0, rgb, 1, new Rng(3), neutral);
    const m = matchesShift(out, rgb, 1);
    assert.ok(m, 'neutral jitter must leave a pure crop/flip');
    // the neutral view equals the same crop/flip without jitter (same rng draws for the geometry)
    const plain = new Float32Array(out.length);
    augmentInto(plain, 0, rgb, 1, new Rng(3), { ...opts, jitter: null });
    for (let i = 0; i < out.length; i++) assert.ok(Math.abs(out[i]! - plain[i]!) < 1e-3);
  });

  test('seeded determinism of batches; buffer reuse', () => {
    const opts = defaultAugmentOptions(rgb);
    const idx = [5, 0, 3, 3, 1];
    const a = makeBatch(rgb, idx, deriveRng(42, 'augment', 7), opts);
    const buf = new Float32Array(8 * 32 * 32 * 3);
    const b = makeBatch(rgb, idx, deriveRng(42, 'augment', 7), opts, buf);
    assert.equal(b.buffer, buf.buffer);
    assert.equal(b.length, 5 * 3072);
    assert.deepEqual(a, b);
    const c = makeBatch(rgb, idx, deriveRng(42, 'augment', 8), opts);
    assert.notDeepEqual(a, c);
    const exact = new Float32Array(5 * 3072);
    assert.equal(makeBatch(rgb, idx, null, null, exact), exact);
    assert.deepEqual(Array.from(exact.subarray(0, 3072)), Array.from(rgb.images.subarray(5 * 3072, 6 * 3072)));
    assert.throws(() => makeBatch(rgb, idx, null, null, new Float32Array(10)), { message: 'makeBatch: output buffer holds 10 floats, the batch needs 15360 (5 x 3072)' });
    assert.throws(() => makeBatch(rgb, [6], null, null), { message: 'image index 6 out of range [0, 5]' });
    assert.deepEqual(Array.from(makeBatchLabels(rgb, idx)), [5, 0, 3, 3, 1]);
  });

  // (Speed is a benchmark's business, not a unit test's: timing asserts flake on a busy 2-core machine.)
  test('400 views of 32x32x3: the same seed gives the same batch, another seed another', () => {
    const opts = defaultAugmentOptions(rgb);
    const idx = Array.from({ length: 400 }, (_, i) => i % rgb.count);
    const run = (seed: number) => {
      const out = new Float32Array(400 * 3072);
      makeBatch(rgb, idx, new Rng(seed), opts, out);
      return out;
    };
    const a = run(1);
    assert.deepEqual(run(1), a);
    assert.ok(run(2).some((v, i) => v !== a[i]));
    assert.ok(a.every(Number.isFinite));
  });
});
