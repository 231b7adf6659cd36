// Pixel operations of the reference augmentation policies (pipeline/data/randaugment.ts, pipeline/data/views.ts),
// on one HWC image of floats 0..255. Each op reads `src` and writes `dst` (same size, never the same buffer) and,
// like PIL, whose 8-bit images the references augment, returns integers in [0, 255] (rounded to the nearest; PIL's
// blends truncate, a difference below one grey level). The
// formulas follow PIL's ImageOps / ImageEnhance / Image.transform (the ops of timm's RandAugment as used by BCL).
// Geometric ops sample bilinearly at pixel centres and fill what falls outside the image with `fill`.

export interface Shape {
  height: number;
  width: number;
  channels: number;
}

const clampByte = (v: number): number => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));

/** PIL's L conversion of an RGB pixel: (R*299 + G*587 + B*114) / 1000 (ITU-R 601-2 luma). */
export const luma = (r: number, g: number, b: number): number => (r * 299 + g * 587 + b * 114) / 1000;

function checkPair(src: Float32Array, dst: Float32Array, s: Shape): void {
  const n = s.height * s.width * s.channels;
  if (src.length !== n || dst.length !== n) throw new Error(`image op: buffers hold ${src.length} / ${dst.length} values, the image needs ${n}`);
  if (src === dst) throw new Error('image op: src and dst must be different buffers');
}

/** dst = lut(src) per value (src rounded to an integer first); the lut is tabulated once per channel. */
function applyLut(src: Float32Array, dst: Float32Array, lut: (v: number, channel: number) => number, channels: number): void {
  const tables: Uint8Array[] = [];
  for (let c = 0; c < channels; c++) {
    const t = new Uint8Array(256);
    for (let v = 0; v < 256; v++) t[v] = clampByte(lut(v, c));
    tables.push(t);
  }
  if (channels === 1) {
    const t = tables[0]!;
    for (let i = 0; i < src.length; i++) dst[i] = t[clampByte(src[i]!)]!;
    return;
  }
  for (let i = 0; i < src.length; i++) dst[i] = tables[i % channels]![clampByte(src[i]!)]!;
}

export function invert(src: Float32Array, dst: Float32Array, s: Shape): void {
  checkPair(src, dst, s);
  applyLut(src, dst, (v) => 255 - v, s.channels);
}

/** Keeps the `bits` most significant bits of every value (ImageOps.posterize); 8 or more: unchanged. */
export function posterize(src: Float32Array, dst: Float32Array, s: Shape, bits: number): void {
  checkPair(src, dst, s);
  const b = Math.max(0, Math.min(8, Math.floor(bits)));
  const mask = ~(2 ** (8 - b) - 1) & 0xff;
  applyLut(src, dst, (v) => v & mask, s.channels);
}

/** Inverts every value >= threshold (ImageOps.solarize). */
export function solarize(src: Float32Array, dst: Float32Array, s: Shape, threshold: number): void {
  checkPair(src, dst, s);
  applyLut(src, dst, (v) => (v >= threshold ? 255 - v : v), s.channels);
}

/** Adds `add` to every value below threshold (default 128), capped at 255 (timm's solarize_add). */
export function solarizeAdd(src: Float32Array, dst: Float32Array, s: Shape, add: number, threshold = 128): void {
  checkPair(src, dst, s);
  applyLut(src, dst, (v) => (v < threshold ? Math.min(255, v + add) : v), s.channels);
}

/** Per channel, stretches [min, max] to [0, 255] (ImageOps.autocontrast, cutoff 0); a flat channel is kept. */
export function autoContrast(src: Float32Array, dst: Float32Array, s: Shape): void {
  checkPair(src, dst, s);
  const C = s.channels;
  const lo = new Array<number>(C).fill(255);
  const hi = new Array<number>(C).fill(0);
  for (let i = 0; i < src.length; i++) {
    const v = clampByte(src[i]!);
    const c = i % C;
    if (v < lo[c]!) lo[c] = v;
    if (v > hi[c]!) hi[c] = v;
  }
  applyLut(
    src,
    dst,
    (v, c) => {
      if (hi[c]! <= lo[c]!) return v;
      // PIL: int(v * scale - lo * scale), scale = 255 / (hi - lo); written exactly so that hi maps to 255.
      return Math.trunc(((v - lo[c]!) * 255) / (hi[c]! - lo[c]!));
    },
    C,
  );
}

/** Per-channel histogram equalisation, PIL's ImageOps.equalize algorithm. */
export function equalize(src: Float32Array, dst: Float32Array, s: Shape): void {
  checkPair(src, dst, s);
  const C = s.channels;
  const luts: (Int32Array | null)[] = [];
  for (let c = 0; c < C; c++) {
    const h = new Int32Array(256);
    for (let i = c; i < src.length; i += C) h[clampByte(src[i]!)]!++;
    let total = 0;
    let last = 0;
    let used = 0;
    for (let v = 0; v < 256; v++)
      if (h[v]! > 0) {
        total += h[v]!;
        last = h[v]!;
        used++;
      }
    if (used <= 1) {
      luts.push(null);
      continue;
    }
    const step = Math.floor((total - last) / 255);
    if (step === 0) {
      luts.push(null);
      continue;
    }
    const lut = new Int32Array(256);
    let n = Math.floor(step / 2);
    for (let i = 0; i < 256; i++) {
      lut[i] = Math.min(255, Math.floor(n / step));
      n += h[i]!;
    }
    luts.push(lut);
  }
  applyLut(src, dst, (v, c) => (luts[c] ? luts[c]![v]! : v), C);
}

/** dst = degenerate + factor * (src - degenerate) (ImageEnhance's blend), degenerate given per value index. */
function blend(src: Float32Array, dst: Float32Array, degenerate: (i: number) => number, factor: number): void {
  for (let i = 0; i < src.length; i++) {
    const d = degenerate(i);
    dst[i] = clampByte(d + factor * (src[i]! - d));
  }
}

/** dst = d + factor * (src - d) for one constant degenerate value d. */
function blendConstant(src: Float32Array, dst: Float32Array, d: number, factor: number): void {
  for (let i = 0; i < src.length; i++) dst[i] = clampByte(d + factor * (src[i]! - d));
}

/** ImageEnhance.Brightness: blend with black, i.e. src * factor. */
export function brightness(src: Float32Array, dst: Float32Array, s: Shape, factor: number): void {
  checkPair(src, dst, s);
  blendConstant(src, dst, 0, factor);
}

/** Mean grey level of the image, rounded as PIL's ImageEnhance.Contrast does (int(mean + 0.5)). */
export function meanGrey(src: Float32Array, s: Shape): number {
  const n = s.height * s.width;
  let sum = 0;
  if (s.channels === 3) for (let p = 0; p < src.length; p += 3) sum += Math.round(luma(src[p]!, src[p + 1]!, src[p + 2]!));
  else for (let p = 0; p < src.length; p += s.channels) sum += src[p]!;
  return Math.floor(sum / n + 0.5);
}

/** ImageEnhance.Contrast: blend with a flat image at the mean grey level. */
export function contrast(src: Float32Array, dst: Float32Array, s: Shape, factor: number): void {
  checkPair(src, dst, s);
  blendConstant(src, dst, meanGrey(src, s), factor);
}

/** ImageEnhance.Color (saturation): blend each RGB pixel with its grey level; a grey image is unchanged. */
export function color(src: Float32Array, dst: Float32Array, s: Shape, factor: number): void {
  checkPair(src, dst, s);
  if (s.channels !== 3) {
    dst.set(src);
    return;
  }
  blend(src, dst, (i) => {
    const p = i - (i % 3);
    return Math.round(luma(src[p]!, src[p + 1]!, src[p + 2]!));
  }, factor);
}

/** Replaces an RGB image by its grey level in all three channels (RandomGrayscale); grey images unchanged. */
export function greyscale(src: Float32Array, dst: Float32Array, s: Shape): void {
  checkPair(src, dst, s);
  if (s.channels !== 3) {
    dst.set(src);
    return;
  }
  for (let p = 0; p < src.length; p += 3) {
    const g = clampByte(luma(src[p]!, src[p + 1]!, src[p + 2]!));
    dst[p] = g;
    dst[p + 1] = g;
    dst[p + 2] = g;
  }
}

/**
 * ImageEnhance.Sharpness: blend with PIL's SMOOTH filter (3x3 kernel [1 1 1; 1 5 1; 1 1 1] / 13); the border
 * pixels of the smoothed image are the original ones, so the border never changes.
 */
export function sharpness(src: Float32Array, dst: Float32Array, s: Shape, factor: number): void {
  checkPair(src, dst, s);
  const { height: H, width: W, channels: C } = s;
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      for (let c = 0; c < C; c++) {
        const i = (y * W + x) * C + c;
        let d = src[i]!;
        if (y > 0 && x > 0 && y < H - 1 && x < W - 1) {
          let acc = 4 * d;
          for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) acc += src[i + (dy * W + dx) * C]!;
          d = clampByte(acc / 13);
        }
        dst[i] = clampByte(d + factor * (src[i]! - d));
      }
}

/**
 * Affine resampling like PIL's Image.transform(AFFINE, (a, b, c, d, e, f)): the output pixel centred at (x, y)
 * takes the input at (a x + b y + c, d x + e y + f), bilinearly interpolated; points outside the image get `fill`
 * (one value per channel).
 */
export function affine(src: Float32Array, dst: Float32Array, s: Shape, m: readonly [number, number, number, number, number, number], fill: readonly number[]): void {
  checkPair(src, dst, s);
  const { height: H, width: W, channels: C } = s;
  if (fill.length !== C) throw new Error(`affine: fill has ${fill.length} values for ${C} channels`);
  const [a, b, c, d, e, f] = m;
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const u = a * (x + 0.5) + b * (y + 0.5) + c;
      const v = d * (x + 0.5) + e * (y + 0.5) + f;
      const o = (y * W + x) * C;
      if (!(u >= 0 && u < W && v >= 0 && v < H)) {
        for (let ch = 0; ch < C; ch++) dst[o + ch] = clampByte(fill[ch]!);
        continue;
      }
      // Pixel centres sit at integer + 0.5; neighbours are clamped to the image at its edge.
      const fx = u - 0.5;
      const fy = v - 0.5;
      const x0 = Math.floor(fx);
      const y0 = Math.floor(fy);
      const wx = fx - x0;
      const wy = fy - y0;
      const xa = Math.max(0, x0);
      const xb = Math.min(W - 1, x0 + 1);
      const ya = Math.max(0, y0);
      const yb = Math.min(H - 1, y0 + 1);
      for (let ch = 0; ch < C; ch++) {
        const p00 = src[(ya * W + xa) * C + ch]!;
        const p01 = src[(ya * W + xb) * C + ch]!;
        const p10 = src[(yb * W + xa) * C + ch]!;
        const p11 = src[(yb * W + xb) * C + ch]!;
        dst[o + ch] = clampByte((1 - wy) * ((1 - wx) * p00 + wx * p01) + wy * ((1 - wx) * p10 + wx * p11));
      }
    }
}

/** Counter-clockwise rotation by `degrees` about the image centre (PIL's Image.rotate, same size). */
export function rotate(src: Float32Array, dst: Float32Array, s: Shape, degrees: number, fill: readonly number[]): void {
  const a = (-degrees * Math.PI) / 180;
  const cos = Math.cos(a);
  const sin = Math.sin(a);
  const cx = s.width / 2;
  const cy = s.height / 2;
  // input = R (output - centre) + centre, R = [cos sin; -sin cos] (PIL's matrix for angle -degrees)
  affine(src, dst, s, [cos, sin, cx - cos * cx - sin * cy, -sin, cos, cy + sin * cx - cos * cy], fill);
}

/** PIL shear_x: output (x, y) takes input (x + factor * y, y). */
export const shearX = (src: Float32Array, dst: Float32Array, s: Shape, factor: number, fill: readonly number[]): void =>
  affine(src, dst, s, [1, factor, 0, 0, 1, 0], fill);

/** PIL shear_y: output (x, y) takes input (x, factor * x + y). */
export const shearY = (src: Float32Array, dst: Float32Array, s: Shape, factor: number, fill: readonly number[]): void =>
  affine(src, dst, s, [1, 0, 0, factor, 1, 0], fill);

/** Output (x, y) takes input (x + pixels, y): the content moves left by `pixels`. */
export const translateX = (src: Float32Array, dst: Float32Array, s: Shape, pixels: number, fill: readonly number[]): void =>
  affine(src, dst, s, [1, 0, pixels, 0, 1, 0], fill);

/** Output (x, y) takes input (x, y + pixels): the content moves up by `pixels`. */
export const translateY = (src: Float32Array, dst: Float32Array, s: Shape, pixels: number, fill: readonly number[]): void =>
  affine(src, dst, s, [1, 0, 0, 0, 1, pixels], fill);

/**
 * The crop [top, top + h) x [left, left + w) of src resized to the full image size, bilinear with half-pixel
 * centres (torchvision's resized_crop; a crop is never larger than the image, so no antialiasing is needed).
 */
export function resizedCrop(src: Float32Array, dst: Float32Array, s: Shape, top: number, left: number, h: number, w: number): void {
  checkPair(src, dst, s);
  const { height: H, width: W, channels: C } = s;
  if (!(h >= 1 && w >= 1 && top >= 0 && left >= 0 && top + h <= H && left + w <= W)) throw new Error(`resizedCrop: crop ${h}x${w} at (${top}, ${left}) is outside the ${H}x${W} image`);
  const sy = h / H;
  const sx = w / W;
  // Source columns (value offsets within a row) and weights, once per output column.
  const xa = new Int32Array(W);
  const xb = new Int32Array(W);
  const wxs = new Float64Array(W);
  for (let x = 0; x < W; x++) {
    const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), w - 1);
    const x0 = Math.floor(fx);
    xa[x] = (left + x0) * C;
    xb[x] = (left + Math.min(x0 + 1, w - 1)) * C;
    wxs[x] = fx - x0;
  }
  for (let y = 0; y < H; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), h - 1);
    const y0 = Math.floor(fy);
    const r0 = (top + y0) * W * C;
    const r1 = (top + Math.min(y0 + 1, h - 1)) * W * C;
    const wy = fy - y0;
    for (let x = 0; x < W; x++) {
      const wx = wxs[x]!;
      const o = (y * W + x) * C;
      for (let ch = 0; ch < C; ch++) {
        const top0 = (1 - wx) * src[r0 + xa[x]! + ch]! + wx * src[r0 + xb[x]! + ch]!;
        const bot0 = (1 - wx) * src[r1 + xa[x]! + ch]! + wx * src[r1 + xb[x]! + ch]!;
        dst[o + ch] = clampByte((1 - wy) * top0 + wy * bot0);
      }
    }
  }
}

/** Mirrors the image left-right. */
export function flipHorizontal(src: Float32Array, dst: Float32Array, s: Shape): void {
  checkPair(src, dst, s);
  const { height: H, width: W, channels: C } = s;
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) for (let ch = 0; ch < C; ch++) dst[(y * W + x) * C + ch] = src[(y * W + (W - 1 - x)) * C + ch]!;
}
