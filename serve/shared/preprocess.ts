// THE image preprocessing of the serving stack, shared by the node server and the browser demo.
// Browser-safe on purpose: no node imports, no DOM types, pure TypeScript on typed arrays, integer
// arithmetic only, so node (sharp-decoded RGBA) and the browser (canvas/ImageData RGBA) produce
// byte-identical model inputs for the same decoded pixels.
//
// Contract of the exported models (models/onnx-contract.ts): input 'pixels' uint8 NHWC [N, H, W, C] with
// C = 1 (grey) or 3 (RGB); normalisation happens inside the graph. The steps here are:
//   1. RGBA -> model channels: alpha is dropped (not composited); C = 3 keeps R,G,B; C = 1 uses the
//      ITU-R BT.601 luma Y = round(0.299 R + 0.587 G + 0.114 B) in exact integer arithmetic.
//   2. Bilinear resize to H x W with half-pixel centres (OpenCV INTER_LINEAR / tf.image.resize
//      half_pixel_centers=True, no antialiasing), 11-bit fixed-point weights, round half up. An image
//      that already has the model's size is copied unchanged.

import type { ModelInputSpec } from '../../models/onnx-contract.js';

export type PixelArray = Uint8Array | Uint8ClampedArray;

/** Decoded image: RGBA, row-major, 4 bytes per pixel (sharp `.ensureAlpha().raw()`, canvas ImageData). */
export interface RgbaImage {
  width: number;
  height: number;
  data: PixelArray;
}

export class PreprocessError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PreprocessError';
  }
}

const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** ITU-R BT.601 luma of one pixel, rounded half up, in exact integer arithmetic (0..255). */
export function lumaBT601(r: number, g: number, b: number): number {
  return Math.floor((299 * r + 587 * g + 114 * b + 500) / 1000);
}

function checkImage(img: RgbaImage): void {
  if (!isPosInt(img.width) || !isPosInt(img.height))
    throw new PreprocessError(`image dimensions must be positive integers, got ${String(img.width)}x${String(img.height)}`);
  const want = img.width * img.height * 4;
  if (!img.data || img.data.length !== want)
    throw new PreprocessError(`RGBA data has ${img.data?.length ?? 0} bytes, expected ${want} for ${img.width}x${img.height}x4`);
}

function checkChannels(channels: number): asserts channels is 1 | 3 {
  if (channels !== 1 && channels !== 3) throw new PreprocessError(`models take 1 (grey) or 3 (RGB) channels, not ${String(channels)}`);
}

/** RGBA -> C-channel interleaved pixels (alpha dropped; C = 1 is BT.601 luma). */
export function rgbaToChannels(rgba: PixelArray, width: number, height: number, channels: 1 | 3): Uint8Array {
  checkChannels(channels);
  const n = width * height;
  if (rgba.length !== n * 4) throw new PreprocessError(`RGBA data has ${rgba.length} bytes, expected ${n * 4}`);
  const out = new Uint8Array(n * channels);
  if (channels === 3) {
    for (let i = 0, j = 0; i < n; i++, j += 3) {
      const s = i * 4;
      out[j] = rgba[s]!;
      out[j + 1] = rgba[s + 1]!;
      out[j + 2] = rgba[s + 2]!;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const s = i * 4;
      out[i] = lumaBT601(rgba[s]!, rgba[s + 1]!, rgba[s + 2]!);
    }
  }
  return out;
}

const FRAC_BITS = 11;
const ONE = 1 << FRAC_BITS; // 2048
const HALF_SQ = 1 << (2 * FRAC_BITS - 1);
const ONE_SQ = ONE * ONE;

/** Source index pair and fixed-point weight of the second one, for each destination coordinate. */
function axisTaps(src: number, dst: number): { i0: Int32Array; i1: Int32Array; w1: Int32Array } {
  const i0 = new Int32Array(dst);
  const i1 = new Int32Array(dst);
  const w1 = new Int32Array(dst);
  const scale = src / dst;
  for (let d = 0; d < dst; d++) {
    let s = (d + 0.5) * scale - 0.5;
    if (s < 0) s = 0;
    let a = Math.floor(s);
    if (a > src - 1) a = src - 1;
    const b = a + 1 < src ? a + 1 : a;
    let w = Math.round((s - a) * ONE);
    if (w > ONE) w = ONE;
    i0[d] = a;
    i1[d] = b;
    w1[d] = b === a ? 0 : w;
  }
  return { i0, i1, w1 };
}

/**
 * Bilinear resize of interleaved C-channel uint8 pixels, half-pixel centres, deterministic integer
 * arithmetic (11-bit weights, round half up). Same size: a copy.
 */
export function resizeBilinear(src: PixelArray, sw: number, sh: number, channels: number, dw: number, dh: number): Uint8Array {
  if (![sw, sh, dw, dh, channels].every(isPosInt)) throw new PreprocessError(`invalid resize ${sw}x${sh} -> ${dw}x${dh} (${channels} channels)`);
  if (src.length !== sw * sh * channels) throw new PreprocessError(`pixel data has ${src.length} bytes, expected ${sw * sh * channels}`);
  if (sw === dw && sh === dh) return Uint8Array.from(src);
  const out = new Uint8Array(dw * dh * channels);
  const xs = axisTaps(sw, dw);
  const ys = axisTaps(sh, dh);
  const rowStride = sw * channels;
  let o = 0;
  for (let y = 0; y < dh; y++) {
    const r0 = ys.i0[y]! * rowStride;
    const r1 = ys.i1[y]! * rowStride;
    const wy1 = ys.w1[y]!;
    const wy0 = ONE - wy1;
    for (let x = 0; x < dw; x++) {
      const c0 = xs.i0[x]! * channels;
      const c1 = xs.i1[x]! * channels;
      const wx1 = xs.w1[x]!;
      const wx0 = ONE - wx1;
      for (let c = 0; c < channels; c++) {
        const top = wx0 * src[r0 + c0 + c]! + wx1 * src[r0 + c1 + c]!;
        const bot = wx0 * src[r1 + c0 + c]! + wx1 * src[r1 + c1 + c]!;
        // <= 255 * 2^22 < 2^31: exact in doubles and in int32.
        out[o++] = Math.floor((wy0 * top + wy1 * bot + HALF_SQ) / ONE_SQ);
      }
    }
  }
  return out;
}

/** One decoded RGBA image -> uint8 [H, W, C] for the model (channel conversion, then bilinear resize). */
export function preprocessImage(img: RgbaImage, spec: Pick<ModelInputSpec, 'height' | 'width' | 'channels'>): Uint8Array {
  checkImage(img);
  checkChannels(spec.channels);
  if (!isPosInt(spec.height) || !isPosInt(spec.width)) throw new PreprocessError(`invalid model input size ${spec.height}x${spec.width}`);
  const px = rgbaToChannels(img.data, img.width, img.height, spec.channels);
  return resizeBilinear(px, img.width, img.height, spec.channels, spec.width, spec.height);
}

/** Several images -> one uint8 NHWC batch [N, H, W, C]. */
export function preprocessBatch(imgs: readonly RgbaImage[], spec: Pick<ModelInputSpec, 'height' | 'width' | 'channels'>): Uint8Array {
  const per = spec.height * spec.width * spec.channels;
  const out = new Uint8Array(imgs.length * per);
  imgs.forEach((img, i) => out.set(preprocessImage(img, spec), i * per));
  return out;
}
