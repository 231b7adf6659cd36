// The reference views (--views reference): each pixel op on small hand-made images against hand-computed
// results, RandAugment and the SimCLR view seeded and in range, and the view split of a batch.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../../models/rng.js';
import { makeBatch } from '../../pipeline/data/augment.js';
import * as ops from '../../pipeline/data/image-ops.js';
import { applyOp, bclRandAugment, opsFor, RAND_AUGMENT_OPS, randAugmentInPlace } from '../../pipeline/data/randaugment.js';
import { makeViewBatch, randomResizedCropBox, referenceViewsFor, SIMCLR_REFERENCE, simclrInPlace } from '../../pipeline/data/views.js';
import { syntheticSet } from '../helpers/data-fixtures.js';

const G = (h: number, w: number) => ({ height: h, width: w, channels: 1 });
const RGB = (h: number, w: number) => ({ height: h, width: w, channels: 3 });
/** Runs op(src, dst, ...) and returns dst as a plain array. */
const run = (f: (src: Float32Array, dst: Float32Array) => void, src: number[]): number[] => {
  const dst = new Float32Array(src.length).fill(-1);
  f(Float32Array.from(src), dst);
  return Array.from(dst);
};

describe('pixel ops (PIL semantics, integer output)', () => {
  test('invert, posterize, solarize, solarize-add', () => {
    const s = G(1, 4);
    assert.deepEqual(run((a, b) => ops.invert(a, b, s), [0, 10, 200, 255]), [255, 245, 55, 0]);
    // keep 3 MSB: mask 0b11100000 = 224
    assert.deepEqual(run((a, b) => ops.posterize(a, b, s, 3), [0, 31, 32, 255]), [0, 0, 32, 224]);
    assert.deepEqual(run((a, b) => ops.posterize(a, b, s, 8), [1, 2, 3, 4]), [1, 2, 3, 4]);
    assert.deepEqual(run((a, b) => ops.posterize(a, b, s, 0), [1, 128, 200, 255]), [0, 0, 0, 0]);
    assert.deepEqual(run((a, b) => ops.solarize(a, b, s, 128), [0, 127, 128, 255]), [0, 127, 127, 0]);
    assert.deepEqual(run((a, b) => ops.solarizeAdd(a, b, s, 100), [0, 127, 128, 200]), [100, 227, 128, 200]);
    assert.deepEqual(run((a, b) => ops.solarizeAdd(a, b, s, 200), [100, 127, 128, 255]), [255, 255, 128, 255], 'capped at 255');
  });

  test('auto-contrast stretches each channel to 0..255; a flat channel is kept', () => {
    assert.deepEqual(run((a, b) => ops.autoContrast(a, b, G(1, 3)), [50, 100, 150]), [0, 127, 255]); // trunc(50 * 2.55) = 127
    // RGB: R spans 10..20, G is flat 7, B spans 0..255 already.
    assert.deepEqual(run((a, b) => ops.autoContrast(a, b, RGB(1, 2)), [10, 7, 0, 20, 7, 255]), [0, 7, 0, 255, 7, 255]);
  });

  test('equalize: PIL algorithm on a hand-made histogram', () => {
    // values 0 x2, 100 x1, 200 x1: used = [2, 1, 1], step = (4 - 1) // 255 = 0 -> unchanged (PIL returns the image).
    assert.deepEqual(run((a, b) => ops.equalize(a, b, G(1, 4)), [0, 0, 100, 200]), [0, 0, 100, 200]);
    // 600 pixels: 300 at 10, 200 at 50, 100 at 90. step = (600 - 100) // 255 = 1, n starts at 0:
    // lut[v] = number of pixels below v: lut[10] = 0, lut[50] = 300 -> 255 (capped), lut[90] = 500 -> 255.
    const src = [...Array(300).fill(10), ...Array(200).fill(50), ...Array(100).fill(90)];
    const out = run((a, b) => ops.equalize(a, b, G(1, 600)), src);
    assert.deepEqual([out[0], out[300], out[599]], [0, 255, 255]);
    // 1020 pixels, 510 at 0 and 510 at 255: step = (1020 - 510) // 255 = 2, n = 1: lut[0] = 0, lut[255] = (1 + 510) // 2 = 255.
    const two = run((a, b) => ops.equalize(a, b, G(1, 1020)), [...Array(510).fill(0), ...Array(510).fill(255)]);
    assert.deepEqual([two[0], two[1019]], [0, 255]);
  });

  test('brightness, contrast, colour, grey-scale blends', () => {
    const s = G(1, 4);
    assert.deepEqual(run((a, b) => ops.brightness(a, b, s, 2), [0, 10, 100, 200]), [0, 20, 200, 255]);
    assert.deepEqual(run((a, b) => ops.brightness(a, b, s, 0.5), [1, 3, 100, 200]), [1, 2, 50, 100], 'rounded (0.5 -> 1, 1.5 -> 2)');
    // mean 60.5 -> int(60.5 + 0.5) = 61; factor 0 = flat mean, factor 2 = 2v - 61.
    assert.deepEqual(run((a, b) => ops.contrast(a, b, s, 0), [0, 40, 80, 122]), [61, 61, 61, 61]);
    assert.deepEqual(run((a, b) => ops.contrast(a, b, s, 2), [0, 40, 80, 122]), [0, 19, 99, 183]);
    assert.deepEqual(run((a, b) => ops.color(a, b, s, 0), [0, 40, 80, 122]), [0, 40, 80, 122], 'colour is the identity on grey');
    // RGB pixel (100, 200, 50): luma = (29900 + 117400 + 5700) / 1000 = 153
    assert.deepEqual(run((a, b) => ops.color(a, b, RGB(1, 1), 0), [100, 200, 50]), [153, 153, 153]);
    assert.deepEqual(run((a, b) => ops.color(a, b, RGB(1, 1), 1), [100, 200, 50]), [100, 200, 50]);
    assert.deepEqual(run((a, b) => ops.greyscale(a, b, RGB(1, 1)), [100, 200, 50]), [153, 153, 153]);
  });

  test('sharpness: factor 1 is the identity, the border never changes, factor 0 is the 3x3 smooth', () => {
    const s = G(3, 3);
    const img = [0, 0, 0, 0, 130, 0, 0, 0, 0];
    assert.deepEqual(run((a, b) => ops.sharpness(a, b, s, 1), img), img);
    // centre: (5 * 130) / 13 = 50; border kept
    assert.deepEqual(run((a, b) => ops.sharpness(a, b, s, 0), img), [0, 0, 0, 0, 50, 0, 0, 0, 0]);
    // factor 2: 50 + 2 * (130 - 50) = 210
    assert.equal(run((a, b) => ops.sharpness(a, b, s, 2), img)[4], 210);
  });

  test('rotation by 90 degrees turns a 3x3 image counter-clockwise exactly; fill where nothing maps', () => {
    const s = G(3, 3);
    const img = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    // counter-clockwise: the top row becomes the left column read bottom-up
    assert.deepEqual(run((a, b) => ops.rotate(a, b, s, 90, [0]), img), [3, 6, 9, 2, 5, 8, 1, 4, 7]);
    assert.deepEqual(run((a, b) => ops.rotate(a, b, s, -90, [0]), img), [7, 4, 1, 8, 5, 2, 9, 6, 3]);
    assert.deepEqual(run((a, b) => ops.rotate(a, b, s, 0, [0]), img), img);
    // 45 degrees on a 4x4: the corners come from outside the image -> the fill value
    const r = run((a, b) => ops.rotate(a, b, G(4, 4), 45, [77]), Array(16).fill(200));
    assert.deepEqual([r[0], r[3], r[12], r[15]], [77, 77, 77, 77]);
    assert.equal(r[5], 200);
  });

  test('translate and shear move content as PIL affine does', () => {
    const s = G(2, 3);
    const img = [1, 2, 3, 4, 5, 6];
    assert.deepEqual(run((a, b) => ops.translateX(a, b, s, 1, [9]), img), [2, 3, 9, 5, 6, 9], 'content moves left by 1');
    assert.deepEqual(run((a, b) => ops.translateX(a, b, s, -1, [9]), img), [9, 1, 2, 9, 4, 5]);
    assert.deepEqual(run((a, b) => ops.translateY(a, b, s, 1, [9]), img), [4, 5, 6, 9, 9, 9], 'content moves up by 1');
    assert.deepEqual(run((a, b) => ops.shearX(a, b, s, 0, [9]), img), img);
    // shear x by 2 on row y (centre y + 0.5): source x = x + 2 (y + 0.5) -> row 0 shifts by 1, row 1 by 3 (all outside)
    assert.deepEqual(run((a, b) => ops.shearX(a, b, s, 2, [9]), img), [2, 3, 9, 9, 9, 9]);
    assert.deepEqual(run((a, b) => ops.shearY(a, b, G(3, 2), 2, [9]), [1, 2, 3, 4, 5, 6]), [3, 9, 5, 9, 9, 9]);
  });

  test('resized crop: the full box is the identity; a 1x1 box is a flat image; a 2x2 box upscales bilinearly', () => {
    const s = G(2, 2);
    const img = [0, 100, 200, 40];
    assert.deepEqual(run((a, b) => ops.resizedCrop(a, b, s, 0, 0, 2, 2), img), img);
    assert.deepEqual(run((a, b) => ops.resizedCrop(a, b, s, 1, 0, 1, 1), img), [200, 200, 200, 200]);
    // 4x4 from the 2x2 box [0 100; 200 40]: output (0,1) samples x = (1.5 * 0.5 - 0.5) = 0.25 -> 25
    const up = run((a, b) => ops.resizedCrop(a, b, G(4, 4), 0, 0, 2, 2), [0, 100, 7, 7, 200, 40, 7, 7, ...Array(8).fill(7)]);
    assert.deepEqual(up.slice(0, 4), [0, 25, 75, 100]);
    assert.throws(() => ops.resizedCrop(Float32Array.from(img), new Float32Array(4), s, 1, 1, 2, 2), /outside/);
    assert.deepEqual(run((a, b) => ops.flipHorizontal(a, b, RGB(1, 2)), [1, 2, 3, 4, 5, 6]), [4, 5, 6, 1, 2, 3]);
  });

  test('bad buffers are refused', () => {
    assert.throws(() => ops.invert(new Float32Array(3), new Float32Array(4), G(2, 2)), /buffers hold/);
    const same = new Float32Array(4);
    assert.throws(() => ops.invert(same, same, G(2, 2)), /different buffers/);
    assert.throws(() => ops.rotate(new Float32Array(4), new Float32Array(4), G(2, 2), 10, [0, 0, 0]), /fill has 3/);
  });

  test('every op at every magnitude keeps integer values in [0, 255]', () => {
    const rng = new Rng(3);
    for (const s of [G(6, 5), RGB(5, 6)]) {
      const n = s.height * s.width * s.channels;
      for (const name of RAND_AUGMENT_OPS)
        for (const level of [0, 3.3, 7, 10]) {
          const src = Float32Array.from({ length: n }, () => rng.int(256));
          const dst = new Float32Array(n);
          applyOp(name, level, src, dst, s, Array(s.channels).fill(128), rng);
          for (const v of dst) assert.ok(Number.isInteger(v) && v >= 0 && v <= 255, `${name} at ${level}: ${v}`);
        }
    }
  });
});

describe('RandAugment (BCL rand-n2-m10-mstd0.5)', () => {
  const s = G(8, 8);
  const image = () => Float32Array.from({ length: 64 }, (_, i) => (i * 37) % 256);

  test('the op lists: grey leaves out Invert and Color, colour leaves out Invert', () => {
    assert.ok(!opsFor(1).includes('Invert') && !opsFor(1).includes('Color'));
    assert.equal(opsFor(1).length, 13);
    assert.deepEqual(opsFor(3), RAND_AUGMENT_OPS.filter((o) => o !== 'Invert'));
  });

  test('seeded: the same rng state gives the same image and ops; prob 0 leaves the image alone', () => {
    const a = image();
    const b = image();
    const opsA = randAugmentInPlace(a, new Float32Array(64), s, new Rng(11), bclRandAugment([0]));
    const opsB = randAugmentInPlace(b, new Float32Array(64), s, new Rng(11), bclRandAugment([0]));
    assert.deepEqual(opsA, opsB);
    assert.deepEqual(Array.from(a), Array.from(b));
    const c = image();
    assert.deepEqual(randAugmentInPlace(c, new Float32Array(64), s, new Rng(11), { ...bclRandAugment([0]), prob: 0 }), []);
    assert.deepEqual(Array.from(c), Array.from(image()));
  });

  test('over many draws: about half the chosen ops apply, every op is used, output in range', () => {
    const rng = new Rng(5);
    let applied = 0;
    const seen = new Set<string>();
    for (let i = 0; i < 400; i++) {
      const img = image();
      const used = randAugmentInPlace(img, new Float32Array(64), s, rng, bclRandAugment([30]));
      applied += used.length;
      used.forEach((o) => seen.add(o));
      for (const v of img) assert.ok(Number.isInteger(v) && v >= 0 && v <= 255);
    }
    assert.ok(applied > 320 && applied < 480, `applied ${applied} of 800 chosen ops`);
    assert.deepEqual([...seen].sort(), [...opsFor(1)].sort());
  });

  test('bad options are refused', () => {
    assert.throws(() => randAugmentInPlace(image(), new Float32Array(64), s, new Rng(1), bclRandAugment([0, 0, 0])), /fill has 3/);
    assert.throws(() => referenceViewsFor({ ...s, mean: [0.2] }, { pad: 2, flip: true, jitter: null }).viewInto(new Float32Array(64), 0, syntheticSet([0], 8, 8, 1, 1), 3, 0, new Rng(1)), /out of range/);
  });
});

describe('SimCLR views and the view split', () => {
  test('random resized crop boxes lie inside the image with area 0.2..1 and ratio 3/4..4/3 (rounding aside)', () => {
    const rng = new Rng(9);
    for (let i = 0; i < 500; i++) {
      const b = randomResizedCropBox(28, 28, rng, SIMCLR_REFERENCE.scale, SIMCLR_REFERENCE.ratio);
      assert.ok(b.top >= 0 && b.left >= 0 && b.top + b.h <= 28 && b.left + b.w <= 28, JSON.stringify(b));
      const area = (b.h * b.w) / 784;
      assert.ok(area >= 0.15 && area <= 1, `area ${area}`);
    }
  });

  test('a SimCLR view is seeded and in range, for grey and RGB', () => {
    for (const s of [G(28, 28), RGB(16, 16)]) {
      const n = s.height * s.width * s.channels;
      const src = Float32Array.from({ length: n }, (_, i) => (i * 13) % 256);
      const a = src.slice();
      const b = src.slice();
      simclrInPlace(a, new Float32Array(n), s, new Rng(4), SIMCLR_REFERENCE);
      simclrInPlace(b, new Float32Array(n), s, new Rng(4), SIMCLR_REFERENCE);
      assert.deepEqual(Array.from(a), Array.from(b));
      assert.ok(a.some((v, i) => v !== src[i]), 'the view differs from the image');
      for (const v of a) assert.ok(Number.isInteger(v) && v >= 0 && v <= 255);
    }
  });

  test("weak views are makeBatch's; reference views are seeded and differ between the classifier and contrastive slots", () => {
    const set = syntheticSet([0, 1, 2, 3], 28, 28, 1, 4);
    const crop = { pad: 2, flip: true, jitter: null };
    const idx = [0, 1, 2, 3];
    assert.deepEqual(
      Array.from(makeViewBatch(set, idx, new Rng(2), 1, { kind: 'weak', crop }, new Float32Array(4 * 784))),
      Array.from(makeBatch(set, idx, new Rng(2), crop)),
    );
    const views = referenceViewsFor({ height: 28, width: 28, channels: 1, mean: [0.3] }, crop);
    const batch = (view: number, seed: number) => Array.from(makeViewBatch(set, idx, new Rng(seed), view, { kind: 'reference', views }, new Float32Array(4 * 784)));
    assert.deepEqual(batch(0, 8), batch(0, 8));
    assert.notDeepEqual(batch(0, 8), batch(1, 8));
    assert.notDeepEqual(batch(1, 8), batch(1, 9));
    for (const v of [...batch(0, 1), ...batch(2, 1)]) assert.ok(v >= 0 && v <= 255);
  });
});
