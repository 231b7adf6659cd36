// serve/shared/preprocess.ts byte for byte against a brute-force reference of the documented algorithm (the
// other tests allow +-1 against a float reference, which leaves off-by-one arithmetic untested):
//   - centre-crop box: the model's aspect, the shorter side whole, the other side rounded half up, centred;
//   - per axis, shrinking: area average, output d covering [d len/n, (d+1) len/n) of the box, weights = exact
//     overlaps of every source pixel; enlarging: bilinear at o + (d + 1/2) len/n - 1/2 (clamped to the whole
//     axis, so a crop blends with its true neighbours), the far weight rounded half up to 1/2048;
//   - one rounding half up of sum(wy wx v) / (Dy Dx); then BT.601 luma for one channel.
// Plus every refusal's exact message.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applyOrientation,
  orientedSize,
  PreprocessError,
  preprocessBatch,
  preprocessImage,
  resize,
  resizeBox,
  rgbaToChannels,
  type RgbaImage,
} from '../../serve/shared/preprocess.js';
import { lcg } from '../helpers/image-fixtures.js';

type Taps = { taps: Array<Array<[number, number]>>; denom: number };

/** Reference taps of one axis: n outputs from [o, o + len) of an axis `total` long. */
function refAxis(o: number, len: number, n: number, total: number): Taps {
  if (len > n) {
    // Output d covers [d len, (d+1) len) and source pixel s covers [s n, (s+1) n), in units of 1/n source pixel.
    const taps = Array.from({ length: n }, (_, d) => {
      const t: Array<[number, number]> = [];
      for (let s = 0; s < len; s++) {
        const overlap = Math.min((s + 1) * n, (d + 1) * len) - Math.max(s * n, d * len);
        if (overlap > 0) t.push([o + s, overlap]);
      }
      return t;
    });
    return { taps, denom: len };
  }
  const taps = Array.from({ length: n }, (_, d) => {
    // Centre in units of 1/(2n) pixel, clamped to the axis [0, total - 1].
    const c = Math.min(Math.max((2 * d + 1) * len - n + 2 * n * o, 0), 2 * n * (total - 1));
    let a = Math.floor(c / (2 * n));
    // Far weight: (c - 2n a) / 2n of a pixel, rounded half up to 1/2048.
    let far = Math.floor(((c - 2 * n * a) * 2048 * 2 + 2 * n) / (4 * n));
    if (far === 2048) {
      a++;
      far = 0;
    }
    const t: Array<[number, number]> = [[a, 2048 - far]];
    if (far) t.push([a + 1, far]);
    return t;
  });
  return { taps, denom: 2048 };
}

/** Reference centre-crop / stretch box. */
function refBox(sw: number, sh: number, dw: number, dh: number, policy: 'center-crop' | 'stretch') {
  if (policy === 'stretch' || sw * dh === sh * dw) return { x: 0, y: 0, width: sw, height: sh };
  if (sw * dh > sh * dw) {
    const cw = Math.min(sw, Math.max(1, Math.round((sh * dw) / dh)));
    return { x: Math.floor((sw - cw) / 2), y: 0, width: cw, height: sh };
  }
  const ch = Math.min(sh, Math.max(1, Math.round((sw * dh) / dw)));
  return { x: 0, y: Math.floor((sh - ch) / 2), width: sw, height: ch };
}

/** Reference of preprocessImage on an already oriented image. */
function refPreprocess(img: RgbaImage, dh: number, dw: number, channels: 1 | 3, policy: 'center-crop' | 'stretch'): number[] {
  const box = refBox(img.width, img.height, dw, dh, policy);
  const tx = refAxis(box.x, box.width, dw, img.width);
  const ty = refAxis(box.y, box.height, dh, img.height);
  const D = tx.denom * ty.denom;
  const out: number[] = [];
  for (let y = 0; y < dh; y++)
    for (let x = 0; x < dw; x++) {
      const rgb = [0, 1, 2].map((k) => {
        let s = 0;
        for (const [sy, wy] of ty.taps[y]!) for (const [sx, wx] of tx.taps[x]!) s += wy * wx * img.data[(sy * img.width + sx) * 4 + k]!;
        return Math.floor((2 * s + D) / (2 * D));
      });
      if (channels === 3) out.push(...rgb);
      else out.push(Math.floor((299 * rgb[0]! + 587 * rgb[1]! + 114 * rgb[2]! + 500) / 1000));
    }
  return out;
}

const randomImage = (w: number, h: number, seed: number): RgbaImage => ({ width: w, height: h, data: Uint8Array.from({ length: w * h * 4 }, lcg(seed)) });

describe('preprocessImage = the reference, byte for byte', () => {
  it('shrinking, enlarging and mixed, both policies, both channel counts, non-integer ratios', () => {
    let seed = 1;
    for (const [w, h] of [[37, 23], [23, 37], [5, 3], [3, 5], [16, 16], [1, 9], [50, 7], [64, 48]] as const)
      for (const [dh, dw] of [[8, 8], [12, 20], [20, 12], [7, 11], [1, 1], [16, 16], [40, 30]] as const)
        for (const policy of ['center-crop', 'stretch'] as const)
          for (const channels of [1, 3] as const) {
            const img = randomImage(w, h, seed++);
            const got = Array.from(preprocessImage(img, { height: dh, width: dw, channels, resize: policy }));
            assert.deepEqual(got, refPreprocess(img, dh, dw, channels, policy), `${w}x${h} -> ${dw}x${dh} ${policy} c${channels}`);
          }
  });

  it('every orientation: the same bytes as the reference on the oriented image', () => {
    const img = randomImage(13, 6, 99);
    for (let o = 1; o <= 8; o++) {
      const oriented = applyOrientation(img, o);
      for (const [dh, dw] of [[4, 9], [10, 10]] as const)
        for (const policy of ['center-crop', 'stretch'] as const)
          assert.deepEqual(Array.from(preprocessImage(img, { height: dh, width: dw, channels: 3, resize: policy, orientation: o })), refPreprocess(oriented, dh, dw, 3, policy), `o=${o} ${policy} ${dw}x${dh}`);
    }
  });

  it('a centre crop that is enlarged blends with the pixels just outside the box', () => {
    // 7x1 to a 6x2 model (3:1): the box is x 2..4; enlarged 2x, its edge outputs take a quarter of pixels 1 and 5.
    const row = [0, 100, 0, 200, 0, 60, 0];
    const img: RgbaImage = { width: 7, height: 1, data: Uint8Array.from(row.flatMap((v) => [v, v, v, 255])) };
    assert.deepEqual(resizeBox(7, 1, 6, 2, 'center-crop'), { x: 2, y: 0, width: 3, height: 1 });
    const out = Array.from(preprocessImage(img, { height: 2, width: 6, channels: 1, resize: 'center-crop' }));
    assert.deepEqual(out, refPreprocess(img, 2, 6, 1, 'center-crop'));
    assert.deepEqual(out, [25, 50, 150, 150, 50, 15, 25, 50, 150, 150, 50, 15]);
  });

  it('resize(): each channel through the same resampler; 2049 outputs from 3 (far weight rounding up to a whole pixel)', () => {
    const r = lcg(4);
    for (const [sw, sh, c, dw, dh] of [[9, 4, 3, 5, 7], [4, 9, 1, 11, 3], [6, 6, 2, 6, 6]] as const) {
      const src = Uint8Array.from({ length: sw * sh * c }, r);
      const got = resize(src, sw, sh, c, dw, dh);
      for (let k = 0; k < c; k++) {
        const plane: RgbaImage = { width: sw, height: sh, data: Uint8Array.from({ length: sw * sh * 4 }, (_, i) => (i % 4 === 0 ? src[(i >> 2) * c + k]! : 0)) };
        const ref = refPreprocess(plane, dh, dw, 3, 'stretch');
        for (let i = 0; i < dw * dh; i++) assert.equal(got[i * c + k], ref[i * 3], `${sw}x${sh}x${c} -> ${dw}x${dh} [${i}, ${k}]`);
      }
    }
    const wide = resize(Uint8Array.from([10, 250, 90]), 3, 1, 1, 2049, 1);
    const plane: RgbaImage = { width: 3, height: 1, data: Uint8Array.from([10, 0, 0, 0, 250, 0, 0, 0, 90, 0, 0, 0]) };
    assert.deepEqual(Array.from(wide), refPreprocess(plane, 1, 2049, 3, 'stretch').filter((_, i) => i % 3 === 0));
    assert.equal(wide[0], 10);
    assert.equal(wide[2048], 90);
    // 2 -> 2049: output 1536's far weight rounds up to 2048/2048, i.e. the whole next pixel.
    const two = resize(Uint8Array.from([10, 250]), 2, 1, 1, 2049, 1);
    const plane2: RgbaImage = { width: 2, height: 1, data: Uint8Array.from([10, 0, 0, 0, 250, 0, 0, 0]) };
    assert.deepEqual(Array.from(two), refPreprocess(plane2, 1, 2049, 3, 'stretch').filter((_, i) => i % 3 === 0));
    assert.equal(two[1536], 250);
  });

  it('rgbaToChannels: R,G,B kept in order, alpha dropped; one channel is the BT.601 luma of each pixel', () => {
    const r = lcg(8);
    const rgba = Uint8Array.from({ length: 5 * 3 * 4 }, r);
    const rgb = Array.from(rgbaToChannels(rgba, 5, 3, 3));
    assert.deepEqual(rgb, Array.from(rgba).filter((_, i) => i % 4 !== 3));
    const grey = Array.from(rgbaToChannels(new Uint8ClampedArray(rgba), 5, 3, 1));
    const want: number[] = [];
    for (let i = 0; i < 15; i++) want.push(Math.floor((299 * rgba[4 * i]! + 587 * rgba[4 * i + 1]! + 114 * rgba[4 * i + 2]! + 500) / 1000));
    assert.deepEqual(grey, want);
  });

  it('resizeBox: rounding half up, centring, never 0 and never past the image', () => {
    for (const [sw, sh, dw, dh] of [[10, 3, 4, 1], [3, 10, 1, 4], [101, 50, 2, 1], [7, 2, 5, 2], [1000, 1, 1, 1000], [1, 1000, 1000, 1], [9, 9, 9, 9]] as const)
      for (const policy of ['center-crop', 'stretch'] as const) assert.deepEqual(resizeBox(sw, sh, dw, dh, policy), refBox(sw, sh, dw, dh, policy), `${sw}x${sh} -> ${dw}x${dh} ${policy}`);
    // 10x3 to 4:1 -> width 12 > 10 cannot happen: wider means the width is the one cropped; 7x2 to 5:2 -> width 5.
    assert.deepEqual(resizeBox(7, 2, 5, 2, 'center-crop'), { x: 1, y: 0, width: 5, height: 2 });
    assert.deepEqual(resizeBox(1000, 1, 1, 1000, 'center-crop'), { x: 499, y: 0, width: 1, height: 1 });
    assert.deepEqual(resizeBox(1, 1000, 1000, 1, 'center-crop'), { x: 0, y: 499, width: 1, height: 1 });
  });

  it('preprocessBatch: each image with its own orientation', () => {
    const a = randomImage(5, 8, 1);
    const b = randomImage(8, 5, 2);
    const spec = { height: 4, width: 6, channels: 3 as const, resize: 'stretch' as const };
    const batch = preprocessBatch([{ ...a, orientation: 6 }, b], spec);
    assert.deepEqual(Array.from(batch), [...refPreprocess(applyOrientation(a, 6), 4, 6, 3, 'stretch'), ...refPreprocess(b, 4, 6, 3, 'stretch')]);
  });
});

describe('refusals and small helpers', () => {
  const ok = randomImage(2, 2, 1);
  const spec = { height: 2, width: 2, channels: 3 as const, resize: 'stretch' as const };
  const refuses = (f: () => unknown, message: string) =>
    assert.throws(f, (e: unknown) => e instanceof PreprocessError && e.name === 'PreprocessError' && e.message === message, message);

  it('bad images, channel counts, sizes, orientations and policies, with exact messages', () => {
    refuses(() => preprocessImage({ width: 0, height: 2, data: new Uint8Array(0) }, spec), 'image dimensions must be positive integers, got 0x2');
    refuses(() => preprocessImage({ width: 2, height: 1.5, data: new Uint8Array(12) }, spec), 'image dimensions must be positive integers, got 2x1.5');
    refuses(() => preprocessImage({ width: 2, height: 2, data: new Uint8Array(15) }, spec), 'RGBA data has 15 bytes, expected 16 for 2x2x4');
    refuses(() => preprocessImage({ width: 2, height: 2, data: undefined as unknown as Uint8Array }, spec), 'RGBA data has 0 bytes, expected 16 for 2x2x4');
    refuses(() => preprocessImage(ok, { ...spec, channels: 2 as 3 }), 'models take 1 (grey) or 3 (RGB) channels, not 2');
    refuses(() => preprocessImage(ok, { ...spec, height: 0 }), 'invalid model input size 0x2');
    refuses(() => preprocessImage(ok, { ...spec, width: 2.5 }), 'invalid model input size 2x2.5');
    for (const o of [0, 9, 1.5, '1'] as unknown[]) refuses(() => preprocessImage(ok, { ...spec, orientation: o as number }), `EXIF orientation must be 1..8, got ${String(o)}`);
    refuses(() => orientedSize(2, 3, 9), 'EXIF orientation must be 1..8, got 9');
    refuses(() => applyOrientation({ width: 2, height: 2, data: new Uint8Array(3) }, 1), 'RGBA data has 3 bytes, expected 16 for 2x2x4');
    refuses(() => resizeBox(4, 4, 2, 2, 'fit' as 'stretch'), "unknown resize policy 'fit' (expected center-crop or stretch)");
    refuses(() => rgbaToChannels(new Uint8Array(7), 1, 2, 3), 'RGBA data has 7 bytes, expected 8');
    refuses(() => rgbaToChannels(new Uint8Array(8), 1, 2, 2 as 3), 'models take 1 (grey) or 3 (RGB) channels, not 2');
    refuses(() => resize(new Uint8Array(4), 2, 2, 1, 0, 2), 'invalid resize 2x2 -> 0x2 (1 channels)');
    refuses(() => resize(new Uint8Array(4), 2, 2, 1.5, 2, 2), 'invalid resize 2x2 -> 2x2 (1.5 channels)');
    refuses(() => resize(new Uint8Array(5), 2, 2, 2, 2, 2), 'pixel data has 5 bytes, expected 8');
  });

  it('orientedSize swaps the axes from 5 on; orientation defaults to 1', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8].map((o) => orientedSize(3, 2, o).width), [3, 3, 3, 3, 2, 2, 2, 2]);
    const img = randomImage(6, 3, 5);
    assert.deepEqual(preprocessImage(img, spec), preprocessImage(img, { ...spec, orientation: 1 }));
    assert.notDeepEqual(preprocessImage(img, spec), preprocessImage(img, { ...spec, orientation: 3 }));
  });
});
