// serve/shared/preprocess.ts: the one preprocessing for node and browser (luma, bilinear resize,
// metadata readers), checked against hand-computed values, a float reference, sharp-decoded images and
// the exporter's own metadata.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { decodeModel, metadataMap } from '../../export/onnx-builder.js';
import { decodeImage } from '../../serve/node/classify.js';
import { OnnxContractError, inputSpecFromMetadata, labelsFromMetadata, normalizationFromMetadata, parseOnnxMetadataProps } from '../../models/onnx-contract.js';
import {
  PreprocessError,
  lumaBT601,
  preprocessBatch,
  preprocessImage,
  resize,
  rgbaToChannels,
} from '../../serve/shared/preprocess.js';
import { type ServeModel, makeServeModel } from '../helpers/serve-helpers.js';

let root: string;
let model: ServeModel;
before(async () => {
  root = mkdtempSync(join(tmpdir(), 'ecl-serve-pre-'));
  model = await makeServeModel(root, { name: 'fmnist-pre' });
});
after(() => rmSync(root, { recursive: true, force: true }));

/**
 * Straightforward float reference to bound the integer version: per axis, an area average when shrinking
 * (each output covers [d * s/n, (d+1) * s/n) of the source) and bilinear with half-pixel centres otherwise.
 */
function axisWeights(s: number, n: number): Array<Array<[number, number]>> {
  return Array.from({ length: n }, (_, d) => {
    if (s > n) {
      const lo = (d * s) / n;
      const hi = ((d + 1) * s) / n;
      const taps: Array<[number, number]> = [];
      for (let i = Math.floor(lo); i < hi; i++) taps.push([i, (Math.min(hi, i + 1) - Math.max(lo, i)) / (hi - lo)]);
      return taps;
    }
    const p = Math.min(Math.max((d + 0.5) * (s / n) - 0.5, 0), s - 1);
    const a = Math.floor(p);
    return [[a, 1 - (p - a)], [Math.min(a + 1, s - 1), p - a]];
  });
}
function referenceResize(src: ArrayLike<number>, sw: number, sh: number, c: number, dw: number, dh: number): Float64Array {
  const out = new Float64Array(dw * dh * c);
  const wx = axisWeights(sw, dw);
  const wy = axisWeights(sh, dh);
  for (let y = 0; y < dh; y++)
    for (let x = 0; x < dw; x++)
      for (let k = 0; k < c; k++) {
        let v = 0;
        for (const [yi, yw] of wy[y]!) for (const [xi, xw] of wx[x]!) v += yw * xw * src[(yi * sw + xi) * c + k]!;
        out[(y * dw + x) * c + k] = v;
      }
  return out;
}

const lcg = (seed: number) => {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24;
};

describe('channels', () => {
  it('BT.601 luma, rounded, exact for greys', () => {
    assert.equal(lumaBT601(0, 0, 0), 0);
    assert.equal(lumaBT601(255, 255, 255), 255);
    assert.equal(lumaBT601(255, 0, 0), 76); // 76.245
    assert.equal(lumaBT601(0, 255, 0), 150); // 149.685
    assert.equal(lumaBT601(0, 0, 255), 29); // 29.07
    assert.equal(lumaBT601(10, 20, 30), 18); // 17.9
    for (let v = 0; v < 256; v++) assert.equal(lumaBT601(v, v, v), v);
  });

  it('RGBA -> RGB drops alpha; RGBA -> grey uses luma', () => {
    const rgba = Uint8Array.from([255, 0, 0, 7, 0, 255, 0, 0, 0, 0, 255, 255]);
    assert.deepEqual(Array.from(rgbaToChannels(rgba, 3, 1, 3)), [255, 0, 0, 0, 255, 0, 0, 0, 255]);
    assert.deepEqual(Array.from(rgbaToChannels(rgba, 3, 1, 1)), [76, 150, 29]);
  });
});

describe('resize (area average when shrinking, bilinear when enlarging)', () => {
  it('same size is an exact copy', () => {
    const r = lcg(1);
    const src = Uint8Array.from({ length: 28 * 28 }, r);
    assert.deepEqual(resize(src, 28, 28, 1, 28, 28), src);
  });

  it('hand-computed up- and downscaling (half-pixel centres)', () => {
    assert.deepEqual(Array.from(resize(Uint8Array.from([0, 255]), 2, 1, 1, 4, 1)), [0, 64, 191, 255]);
    // 4x4 -> 2x2: the mean of each 2x2 block
    const src = Uint8Array.from([0, 10, 100, 110, 20, 30, 120, 130, 200, 210, 40, 50, 220, 230, 60, 70]);
    assert.deepEqual(Array.from(resize(src, 4, 4, 1, 2, 2)), [15, 115, 215, 55]);
    // a constant image stays constant at any size
    assert.ok(resize(new Uint8Array(5 * 3 * 3).fill(77), 5, 3, 3, 17, 9).every((v) => v === 77));
  });

  it('stays within 1 of a float reference for random sizes and channel counts', () => {
    // (2000x1500 -> 32x32: the case plain bilinear aliases on.)
    const r = lcg(7);
    for (const [sw, sh, c, dw, dh] of [
      [40, 30, 1, 28, 28],
      [13, 57, 3, 32, 32],
      [300, 200, 3, 32, 32],
      [7, 5, 1, 28, 28],
      [28, 28, 3, 28, 14],
      [2000, 1500, 1, 32, 32],
      [5, 300, 3, 32, 32],
    ] as const) {
      const src = Uint8Array.from({ length: sw * sh * c }, r);
      const got = resize(src, sw, sh, c, dw, dh);
      const ref = referenceResize(src, sw, sh, c, dw, dh);
      got.forEach((v, i) => assert.ok(Math.abs(v - ref[i]!) <= 1, `${sw}x${sh}->${dw}x${dh} c${c} [${i}]: ${v} vs ${ref[i]}`));
    }
  });

  it('rejects inconsistent inputs with PreprocessError', () => {
    assert.throws(() => resize(new Uint8Array(10), 2, 2, 1, 4, 4), PreprocessError);
    assert.throws(() => preprocessImage({ width: 2, height: 2, data: new Uint8Array(15) }, { height: 28, width: 28, channels: 1, resize: 'stretch' }), PreprocessError);
    assert.throws(() => preprocessImage({ width: 0, height: 2, data: new Uint8Array(0) }, { height: 28, width: 28, channels: 1, resize: 'stretch' }), PreprocessError);
    assert.throws(() => preprocessImage({ width: 1, height: 1, data: new Uint8Array(4) }, { height: 28, width: 28, channels: 4 as 3, resize: 'stretch' }), PreprocessError);
  });

  it('batch = concatenation of single images; Uint8ClampedArray (canvas ImageData) gives the same bytes', () => {
    const r = lcg(3);
    const a = { width: 30, height: 20, data: Uint8Array.from({ length: 30 * 20 * 4 }, r) };
    const b = { width: 28, height: 28, data: new Uint8ClampedArray(Uint8Array.from({ length: 28 * 28 * 4 }, r)) };
    const spec = { height: 32, width: 32, channels: 3 as const, resize: 'center-crop' as const };
    const batch = preprocessBatch([a, b], spec);
    assert.deepEqual(batch.subarray(0, 32 * 32 * 3), preprocessImage(a, spec));
    assert.deepEqual(batch.subarray(32 * 32 * 3), preprocessImage({ ...b, data: Uint8Array.from(b.data) }, spec));
  });
});

describe('node decoding (sharp) + shared preprocessing', () => {
  it('a grey 28x28 PNG reaches the model unchanged', async () => {
    const r = lcg(5);
    const grey = Uint8Array.from({ length: 28 * 28 }, r);
    const png = await sharp(Buffer.from(grey), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer();
    const img = await decodeImage(png, 1e6);
    assert.deepEqual([img.width, img.height, img.data.length], [28, 28, 28 * 28 * 4]);
    assert.deepEqual(preprocessImage(img, { height: 28, width: 28, channels: 1, resize: 'stretch' }), grey);
  });

  it('an RGB PNG with alpha: RGB kept, alpha dropped', async () => {
    const r = lcg(6);
    const rgba = Uint8Array.from({ length: 8 * 8 * 4 }, r);
    const png = await sharp(Buffer.from(rgba), { raw: { width: 8, height: 8, channels: 4 } }).png().toBuffer();
    const img = await decodeImage(png, 1e6);
    assert.deepEqual(Array.from(img.data), Array.from(rgba));
    const rgb = preprocessImage(img, { height: 8, width: 8, channels: 3, resize: 'center-crop' });
    assert.deepEqual(Array.from(rgb), Array.from(rgbaToChannels(rgba, 8, 8, 3)));
  });

  it('the compiled modules are browser-safe: no imports at all (the contract only as a type)', () => {
    for (const file of ['../../serve/shared/preprocess.js', '../../serve/shared/exif.js', '../../models/onnx-contract.js']) {
      const js = readFileSync(new URL(file, import.meta.url), 'utf8');
      assert.doesNotMatch(js, /^\s*import\s/m, file);
      assert.doesNotMatch(js, /\brequire\(|['"]node:|\bprocess\.|\bBuffer\b/, file);
    }
  });
});

describe('model metadata', () => {
  it('parseOnnxMetadataProps equals a full protobuf decode of an exported model', () => {
    const bytes = readFileSync(model.modelPath);
    const props = parseOnnxMetadataProps(bytes);
    assert.deepEqual(props, metadataMap(decodeModel(bytes)));
    assert.deepEqual(JSON.parse(props.class_labels!), model.labels);
    assert.throws(() => parseOnnxMetadataProps(bytes.subarray(0, bytes.length - 3)), OnnxContractError);
  });

  it('inputSpecFromMetadata reads the exporter keys and falls back to the graph shape', () => {
    const props = parseOnnxMetadataProps(readFileSync(model.modelPath));
    assert.deepEqual(inputSpecFromMetadata(props), { name: 'pixels', height: 28, width: 28, channels: 1, layout: 'NHWC', dtype: 'uint8' });
    assert.deepEqual(inputSpecFromMetadata({ input_shape: '["N", 32, 32, 3]' }), { name: 'pixels', height: 32, width: 32, channels: 3, layout: 'NHWC', dtype: 'uint8' });
    assert.deepEqual(inputSpecFromMetadata({}, { name: 'x', shape: ['batch', 16, 8, 3] }), { name: 'x', height: 16, width: 8, channels: 3, layout: 'NHWC', dtype: 'uint8' });
    assert.throws(() => inputSpecFromMetadata({ input_layout: 'NCHW', input_size: '28x28x1' }), /layout 'NCHW'/);
    assert.throws(() => inputSpecFromMetadata({ input_dtype: 'float32', input_size: '28x28x1' }), /dtype 'float32'/);
    assert.throws(() => inputSpecFromMetadata({ input_size: '28x28x4' }), /1 \(grey\) or 3 \(RGB\)/);
    assert.throws(() => inputSpecFromMetadata({}), /cannot tell the model input size/);
  });

  it('labels and normalisation', () => {
    const props = parseOnnxMetadataProps(readFileSync(model.modelPath));
    assert.deepEqual(labelsFromMetadata(props, 10), model.labels);
    assert.deepEqual(labelsFromMetadata({}, 3), ['0', '1', '2']);
    assert.deepEqual(labelsFromMetadata({ class_labels: '["a","b"]' }, 3), ['0', '1', '2']);
    assert.deepEqual(normalizationFromMetadata(props), { mean: [0.286], std: [0.353] });
    assert.equal(normalizationFromMetadata({}), null);
  });
});
