// THE image preprocessing of the project: training/eval (pipeline/data/decode.ts), the node server and the
// browser app all turn a decoded image into model input with preprocessImage below. Browser-safe on purpose:
// no imports (the contract only as a type), no DOM types, pure TypeScript on typed arrays, integer
// arithmetic only, so node (sharp-decoded RGBA) and the browser (WebCodecs/canvas RGBA) produce
// byte-identical model inputs for the same decoded pixels.
//
// Contract of the exported models (models/onnx-contract.ts): input 'pixels' uint8 NHWC [N, H, W, C] with
// C = 1 (grey) or 3 (RGB); normalisation happens inside the graph. The steps, in this order:
//   1. EXIF orientation 1-8 (read from the file by serve/shared/exif.ts) applied to the decoded RGBA, as a
//      strided view (no copy of a 4000x3000 photo just to rotate it).
//   2. The model's resize policy: 'center-crop' takes the centred box of the model's aspect ratio (integer
//      box, the shorter side whole) and resamples it straight to H x W; 'stretch' resamples the whole image,
//      each axis on its own. Per axis, shrinking is an exact area (box) average and enlarging is bilinear with
//      half-pixel centres (11-bit weights): plain bilinear aliases badly when 4000 pixels become 32, and an
//      area average over exact integer overlaps is what a camera sensor would have recorded at the lower
//      resolution. Separable, all sums exact integers (< 2^53), rounded half up once at the end.
//   3. RGB -> model channels: alpha is dropped (not composited); C = 3 keeps R,G,B; C = 1 uses the ITU-R
//      BT.601 luma Y = round(0.299 R + 0.587 G + 0.114 B) in exact integer arithmetic.

import type { ModelInputSpec, ResizePolicy } from '../../models/onnx-contract.js';

export type PixelArray = Uint8Array | Uint8ClampedArray;

/** Decoded image: RGBA, row-major, 4 bytes per pixel, not premultiplied, not yet oriented. */
export interface RgbaImage {
  width: number;
  height: number;
  data: PixelArray;
}

/** EXIF orientation: 1 = as stored, 2-8 = the TIFF/EXIF mirror and rotation cases. */
export type Orientation = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

export interface PreprocessOptions extends Pick<ModelInputSpec, 'height' | 'width' | 'channels'> {
  resize: ResizePolicy;
  /** From the file's EXIF (serve/shared/exif.ts readExifOrientation); default 1. */
  orientation?: number;
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

function checkOrientation(o: unknown): asserts o is Orientation {
  if (!(typeof o === 'number' && Number.isInteger(o) && o >= 1 && o <= 8)) throw new PreprocessError(`EXIF orientation must be 1..8, got ${String(o)}`);
}

/** RGBA -> C-channel interleaved pixels (alpha dropped; C = 1 is BT.601 luma). */
export function rgbaToChannels(rgba: PixelArray, width: number, height: number, channels: 1 | 3): Uint8Array {
  checkChannels(channels);
  const n = width * height;
  if (rgba.length !== n * 4) throw new PreprocessError(`RGBA data has ${rgba.length} bytes, expected ${n * 4}`);
  const out = new Uint8Array(n * channels);
  for (let i = 0, j = 0; i < n; i++, j += channels) {
    const s = i * 4;
    if (channels === 3) {
      out[j] = rgba[s]!;
      out[j + 1] = rgba[s + 1]!;
      out[j + 2] = rgba[s + 2]!;
    } else out[j] = lumaBT601(rgba[s]!, rgba[s + 1]!, rgba[s + 2]!);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Orientation as a strided view: oriented pixel (x, y) is stored pixel (a0 + ax x + ay y, b0 + bx x + by y).

interface View {
  /** Oriented size. */
  width: number;
  height: number;
  /** Pixel offsets (not bytes) in the stored image: base + x * dx + y * dy. */
  base: number;
  dx: number;
  dy: number;
}

/** The oriented size of a stored w x h image (orientations 5-8 swap the axes). */
export function orientedSize(width: number, height: number, orientation: number): { width: number; height: number } {
  checkOrientation(orientation);
  return orientation >= 5 ? { width: height, height: width } : { width, height };
}

function orientedView(sw: number, sh: number, o: Orientation): View {
  // [a0, ax, ay, b0, bx, by] per EXIF orientation (TIFF 6.0 / EXIF 2.3 tag 0x0112).
  const t: Record<Orientation, [number, number, number, number, number, number]> = {
    1: [0, 1, 0, 0, 0, 1],
    2: [sw - 1, -1, 0, 0, 0, 1],
    3: [sw - 1, -1, 0, sh - 1, 0, -1],
    4: [0, 1, 0, sh - 1, 0, -1],
    5: [0, 0, 1, 0, 1, 0],
    6: [0, 0, 1, sh - 1, -1, 0],
    7: [sw - 1, 0, -1, sh - 1, -1, 0],
    8: [sw - 1, 0, -1, 0, 1, 0],
  };
  const [a0, ax, ay, b0, bx, by] = t[o];
  const { width, height } = orientedSize(sw, sh, o);
  return { width, height, base: a0 + b0 * sw, dx: ax + bx * sw, dy: ay + by * sw };
}

/** The image as it is meant to be displayed (a physical copy; preprocessImage uses a view instead). */
export function applyOrientation(img: RgbaImage, orientation: number): RgbaImage {
  checkImage(img);
  checkOrientation(orientation);
  const v = orientedView(img.width, img.height, orientation);
  const out = new Uint8Array(v.width * v.height * 4);
  for (let y = 0, o = 0; y < v.height; y++)
    for (let x = 0; x < v.width; x++, o += 4) {
      const s = (v.base + x * v.dx + y * v.dy) * 4;
      out[o] = img.data[s]!;
      out[o + 1] = img.data[s + 1]!;
      out[o + 2] = img.data[s + 2]!;
      out[o + 3] = img.data[s + 3]!;
    }
  return { width: v.width, height: v.height, data: out };
}

// ---------------------------------------------------------------------------------------------------
// Resampling

const FRAC_BITS = 11;
const ONE = 1 << FRAC_BITS; // bilinear weights sum to 2048

/** Per destination index: source indices and integer weights (flattened), all weights of one index summing to `denom`. */
interface AxisTaps {
  start: Int32Array; // n + 1 offsets into idx/w
  idx: Int32Array;
  w: Float64Array;
  denom: number;
}

/**
 * Taps for `n` outputs from the source interval [o, o + len) of an axis `total` long: an exact area average
 * when shrinking (weights = overlaps in units of 1/n pixel, summing to len), bilinear with half-pixel centres
 * otherwise (clamped to the whole axis, so an enlarged crop blends with its true neighbours).
 */
function axisTaps(o: number, len: number, n: number, total: number): AxisTaps {
  const idx: number[] = [];
  const w: number[] = [];
  const start = new Int32Array(n + 1);
  if (len > n) {
    for (let d = 0; d < n; d++) {
      start[d] = idx.length;
      const lo = d * len;
      const hi = lo + len;
      for (let s = Math.floor(lo / n); s * n < hi; s++) {
        const wt = Math.min(hi, (s + 1) * n) - Math.max(lo, s * n);
        if (wt > 0) {
          idx.push(o + s);
          w.push(wt);
        }
      }
    }
    start[n] = idx.length;
    return { start, idx: Int32Array.from(idx), w: Float64Array.from(w), denom: len };
  }
  const two = 2 * n;
  for (let d = 0; d < n; d++) {
    start[d] = idx.length;
    // Source position o + ((d + 0.5) * len / n - 0.5), in units of 1 / (2n): exact integers.
    let num = (2 * d + 1) * len - n + two * o;
    if (num < 0) num = 0;
    let a = Math.floor(num / two);
    let w1 = Math.floor(((num - a * two) * ONE + n) / two);
    if (w1 >= ONE) {
      a += 1;
      w1 = 0;
    }
    if (a >= total - 1) {
      a = total - 1;
      w1 = 0;
    }
    idx.push(a);
    w.push(ONE - w1);
    if (w1 > 0) {
      idx.push(a + 1);
      w.push(w1);
    }
  }
  start[n] = idx.length;
  return { start, idx: Int32Array.from(idx), w: Float64Array.from(w), denom: ONE };
}

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The integer source box a policy maps onto the model's w x h (in the oriented image). */
export function resizeBox(srcW: number, srcH: number, dstW: number, dstH: number, policy: ResizePolicy): Box {
  if (policy === 'stretch') return { x: 0, y: 0, width: srcW, height: srcH };
  if (policy !== 'center-crop') throw new PreprocessError(`unknown resize policy '${String(policy)}' (expected center-crop or stretch)`);
  if (srcW * dstH > srcH * dstW) {
    // Wider than the model: full height, the centred width of the model's aspect (rounded half up).
    const cw = Math.min(srcW, Math.max(1, Math.floor((2 * srcH * dstW + dstH) / (2 * dstH))));
    return { x: Math.floor((srcW - cw) / 2), y: 0, width: cw, height: srcH };
  }
  const ch = Math.min(srcH, Math.max(1, Math.floor((2 * srcW * dstH + dstW) / (2 * dstW))));
  return { x: 0, y: Math.floor((srcH - ch) / 2), width: srcW, height: ch };
}

/** Resamples the R,G,B of `box` of the (oriented) view to dw x dh x 3. */
function resampleRgb(data: PixelArray, v: View, box: Box, dw: number, dh: number): Uint8Array {
  const tx = axisTaps(box.x, box.width, dw, v.width);
  const ty = axisTaps(box.y, box.height, dh, v.height);
  let y0 = v.height;
  let y1 = -1;
  for (const s of ty.idx) {
    if (s < y0) y0 = s;
    if (s > y1) y1 = s;
  }
  // Horizontal pass over the rows the vertical taps touch: exact sums <= 255 * denom_x.
  const rows = y1 - y0 + 1;
  const tmp = new Float64Array(rows * dw * 3);
  for (let r = 0; r < rows; r++) {
    const rowBase = v.base + (y0 + r) * v.dy;
    for (let x = 0, t = r * dw * 3; x < dw; x++, t += 3) {
      let sr = 0;
      let sg = 0;
      let sb = 0;
      for (let k = tx.start[x]!, e = tx.start[x + 1]!; k < e; k++) {
        const p = (rowBase + tx.idx[k]! * v.dx) * 4;
        const wt = tx.w[k]!;
        sr += wt * data[p]!;
        sg += wt * data[p + 1]!;
        sb += wt * data[p + 2]!;
      }
      tmp[t] = sr;
      tmp[t + 1] = sg;
      tmp[t + 2] = sb;
    }
  }
  // Vertical pass, then one rounding (half up): 2 * 255 * denom_x * denom_y < 2^53 for any image under ~10^13 pixels.
  const d2 = 2 * tx.denom * ty.denom;
  const out = new Uint8Array(dw * dh * 3);
  for (let y = 0, o = 0; y < dh; y++) {
    const ks = ty.start[y]!;
    const ke = ty.start[y + 1]!;
    for (let x = 0; x < dw; x++, o += 3) {
      let sr = 0;
      let sg = 0;
      let sb = 0;
      for (let k = ks; k < ke; k++) {
        const t = ((ty.idx[k]! - y0) * dw + x) * 3;
        const wt = ty.w[k]!;
        sr += wt * tmp[t]!;
        sg += wt * tmp[t + 1]!;
        sb += wt * tmp[t + 2]!;
      }
      out[o] = Math.floor((2 * sr + tx.denom * ty.denom) / d2);
      out[o + 1] = Math.floor((2 * sg + tx.denom * ty.denom) / d2);
      out[o + 2] = Math.floor((2 * sb + tx.denom * ty.denom) / d2);
    }
  }
  return out;
}

/**
 * Interleaved C-channel pixels w x h -> dw x dh with the shared resampler ('stretch': area average when
 * shrinking, bilinear when enlarging, per axis). Same size: an exact copy.
 */
export function resize(src: PixelArray, sw: number, sh: number, channels: number, dw: number, dh: number): Uint8Array {
  if (![sw, sh, dw, dh, channels].every(isPosInt)) throw new PreprocessError(`invalid resize ${sw}x${sh} -> ${dw}x${dh} (${channels} channels)`);
  if (src.length !== sw * sh * channels) throw new PreprocessError(`pixel data has ${src.length} bytes, expected ${sw * sh * channels}`);
  const out = new Uint8Array(dw * dh * channels);
  // One channel at a time through the RGB resampler (the channel replicated into R; G, B unused).
  const rgba = new Uint8Array(sw * sh * 4);
  const view: View = { width: sw, height: sh, base: 0, dx: 1, dy: sw };
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < sw * sh; i++) rgba[i * 4] = src[i * channels + c]!;
    const r = resampleRgb(rgba, view, { x: 0, y: 0, width: sw, height: sh }, dw, dh);
    for (let i = 0; i < dw * dh; i++) out[i * channels + c] = r[i * 3]!;
  }
  return out;
}

/** One decoded RGBA image -> uint8 [H, W, C] for the model: orientation, resize policy, channels. */
export function preprocessImage(img: RgbaImage, opts: PreprocessOptions): Uint8Array {
  checkImage(img);
  checkChannels(opts.channels);
  if (!isPosInt(opts.height) || !isPosInt(opts.width)) throw new PreprocessError(`invalid model input size ${opts.height}x${opts.width}`);
  const orientation = opts.orientation ?? 1;
  checkOrientation(orientation);
  const view = orientedView(img.width, img.height, orientation);
  const box = resizeBox(view.width, view.height, opts.width, opts.height, opts.resize);
  const rgb = resampleRgb(img.data, view, box, opts.width, opts.height);
  if (opts.channels === 3) return rgb;
  const n = opts.width * opts.height;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = lumaBT601(rgb[3 * i]!, rgb[3 * i + 1]!, rgb[3 * i + 2]!);
  return out;
}

/** Several images -> one uint8 NHWC batch [N, H, W, C] (each with its own orientation, if any). */
export function preprocessBatch(imgs: ReadonlyArray<RgbaImage & { orientation?: number }>, opts: Omit<PreprocessOptions, 'orientation'>): Uint8Array {
  const per = opts.height * opts.width * opts.channels;
  const out = new Uint8Array(imgs.length * per);
  imgs.forEach((img, i) => out.set(preprocessImage(img, { ...opts, orientation: img.orientation ?? 1 }), i * per));
  return out;
}
