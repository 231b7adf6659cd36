// serve/shared/exif.ts + the orientation step of serve/shared/preprocess.ts: the tag is read from JPEG APP1,
// PNG eXIf and WebP EXIF exactly as sharp wrote it; each of the 8 orientations, applied by the shared code to
// the RGBA as stored, equals libvips' own autoOrient; hostile bytes never throw, loop or read past the end.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { decodeImageBytes } from '../../serve/node/image-decode.js';
import { readExifOrientation, tiffOrientation, withoutOrientation } from '../../serve/shared/exif.js';
import { applyOrientation, orientedSize, preprocessImage } from '../../serve/shared/preprocess.js';
import { lcg, pattern } from '../helpers/image-fixtures.js';

const W = 7;
const H = 4;
const encoders = {
  png: (s: sharp.Sharp) => s.png(),
  webp: (s: sharp.Sharp) => s.webp({ lossless: true }),
  jpeg: (s: sharp.Sharp) => s.jpeg({ quality: 95 }),
};

describe('EXIF orientation 1-8', () => {
  for (const [fmt, enc] of Object.entries(encoders))
    it(`${fmt}: read from the bytes, applied by the shared code = sharp's autoOrient`, async () => {
      for (let o = 1; o <= 8; o++) {
        const src = sharp(pattern(W, H, 3, o), { raw: { width: W, height: H, channels: 3 } });
        const bytes = await enc(src).withMetadata({ orientation: o }).toBuffer();
        assert.equal((await sharp(bytes).metadata()).orientation, o, 'sharp wrote the tag');
        assert.equal(readExifOrientation(bytes).orientation, o, `${fmt} orientation ${o}`);
        const img = await decodeImageBytes(bytes, { maxPixels: 1e6 });
        assert.deepEqual([img.width, img.height, img.orientation], [W, H, o], 'decoded as stored, orientation reported');
        const want = await sharp(bytes).autoOrient().ensureAlpha().raw().toBuffer({ resolveWithObject: true });
        const got = applyOrientation(img, o);
        assert.deepEqual([got.width, got.height], [want.info.width, want.info.height]);
        assert.deepEqual(orientedSize(W, H, o), { width: got.width, height: got.height });
        assert.deepEqual(Buffer.from(got.data), want.data, `${fmt} orientation ${o}: pixels`);
      }
    });

  it('hand-checked: 6 turns the stored left column (bottom to top) into the top row; 5 transposes', () => {
    // 3x2 stored: a b c / d e f (one byte per pixel in R).
    const img = { width: 3, height: 2, data: Uint8Array.from([1, 2, 3, 4, 5, 6].flatMap((v) => [v, 0, 0, 255])) };
    const r = (o: number) => Array.from(applyOrientation(img, o).data.filter((_, i) => i % 4 === 0));
    assert.deepEqual(r(1), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(r(2), [3, 2, 1, 6, 5, 4]);
    assert.deepEqual(r(3), [6, 5, 4, 3, 2, 1]);
    assert.deepEqual(r(4), [4, 5, 6, 1, 2, 3]);
    assert.deepEqual(r(5), [1, 4, 2, 5, 3, 6]);
    assert.deepEqual(r(6), [4, 1, 5, 2, 6, 3]);
    assert.deepEqual(r(7), [6, 3, 5, 2, 4, 1]);
    assert.deepEqual(r(8), [3, 6, 2, 5, 1, 4]);
    assert.throws(() => applyOrientation(img, 9), /orientation must be 1\.\.8/);
  });

  it('preprocessImage applies the orientation as a view: same bytes as orienting first, for both policies', () => {
    const r = lcg(3);
    const img = { width: 50, height: 21, data: Uint8Array.from({ length: 50 * 21 * 4 }, r) };
    for (let o = 1; o <= 8; o++)
      for (const resize of ['center-crop', 'stretch'] as const)
        for (const [height, width, channels] of [[16, 16, 3], [12, 20, 1], [40, 30, 3]] as const) {
          const spec = { height, width, channels, resize };
          assert.deepEqual(preprocessImage(img, { ...spec, orientation: o }), preprocessImage(applyOrientation(img, o), spec), `o=${o} ${resize} ${height}x${width}`);
        }
  });
});

/** A minimal TIFF with IFD0 = [tag 0x0112 SHORT value]. */
function tiff(le: boolean, value: number, opts: { count?: number; type?: number } = {}): Uint8Array {
  const b = new Uint8Array(8 + 2 + 12 + 4);
  const dv = new DataView(b.buffer);
  b.set(le ? [0x49, 0x49] : [0x4d, 0x4d]);
  dv.setUint16(2, 42, le);
  dv.setUint32(4, 8, le);
  dv.setUint16(8, opts.count ?? 1, le);
  dv.setUint16(10, 0x0112, le);
  dv.setUint16(12, opts.type ?? 3, le);
  dv.setUint32(14, 1, le);
  dv.setUint16(18, value, le);
  return b;
}

describe('bounded parsing of hostile bytes', () => {
  it('both byte orders; out-of-range values, wrong types and lying counts give 1', () => {
    for (const le of [true, false]) {
      assert.equal(tiffOrientation(tiff(le, 6), 0, 26).orientation, 6);
      assert.equal(tiffOrientation(tiff(le, 9), 0, 26).orientation, 1);
      assert.equal(tiffOrientation(tiff(le, 0), 0, 26).orientation, 1);
      assert.equal(tiffOrientation(tiff(le, 6, { type: 4 }), 0, 26).orientation, 1);
      // 65535 entries claimed, one present: reads it, stops at the end.
      assert.equal(tiffOrientation(tiff(le, 3, { count: 65535 }), 0, 26).orientation, 3);
      assert.equal(tiffOrientation(tiff(le, 3), 0, 19).orientation, 1, 'value cut off');
    }
  });

  it('every truncation and random corruption of real files: no throw, 1 or the true value', async () => {
    const src = sharp(pattern(9, 5, 3, 1), { raw: { width: 9, height: 5, channels: 3 } });
    const r = lcg(99);
    for (const enc of Object.values(encoders)) {
      const bytes = await enc(src.clone()).withMetadata({ orientation: 7 }).toBuffer();
      for (let n = 0; n <= bytes.length; n++) {
        const o = readExifOrientation(bytes.subarray(0, n)).orientation;
        assert.ok(o === 1 || o === 7, `prefix ${n}: ${o}`);
      }
      for (let k = 0; k < 2000; k++) {
        const c = Uint8Array.from(bytes.subarray(0, 200));
        for (let j = 0; j < 4; j++) c[8 + (((r() << 8) | r()) % 192)] = r();
        const o = readExifOrientation(c).orientation;
        assert.ok(Number.isInteger(o) && o >= 1 && o <= 8);
      }
    }
  });

  it('megabytes of fill bytes, huge chunk lengths and zero-length segments finish at once', () => {
    const jpeg = new Uint8Array(4 << 20).fill(0xff);
    jpeg[1] = 0xd8;
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0xff, 0xff, 0xf0, 0x65, 0x58, 0x49, 0x66, 0, 0, 0, 0]);
    const webp = new TextEncoder().encode('RIFF\0\0\0\0WEBPEXIF\xff\xff\xff\x7f');
    const zeroSeg = Uint8Array.from([0xff, 0xd8, 0xff, 0xe1, 0x00, 0x00, 0xff, 0xe1, 0x00, 0x01]);
    const t0 = performance.now();
    for (const b of [jpeg, png, webp, zeroSeg, new Uint8Array(0), Uint8Array.from([0xff, 0xd8, 0xff])]) assert.equal(readExifOrientation(b).orientation, 1);
    assert.ok(performance.now() - t0 < 2000);
  });

  it('withoutOrientation: a copy whose tag reads 1, the original untouched', async () => {
    const src = sharp(pattern(9, 5, 3, 1), { raw: { width: 9, height: 5, channels: 3 } });
    const jpeg = await src.jpeg().withMetadata({ orientation: 8 }).toBuffer();
    const copy = withoutOrientation(jpeg);
    assert.equal(readExifOrientation(copy).orientation, 1);
    assert.equal(readExifOrientation(jpeg).orientation, 8);
    assert.equal((await sharp(copy).metadata()).orientation, 1, 'libvips reads the neutralised tag as 1 too');
    assert.equal(copy.length, jpeg.length);
  });
});
