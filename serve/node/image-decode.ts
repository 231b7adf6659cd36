// THE node image decoder (server uploads, training/eval files): sniff PNG/JPEG/WebP, check width x height
// from the header against the pixel limit before any pixel is decoded, decode with sharp to 8-bit RGBA
// exactly as stored. No auto-orientation (serve/shared/exif.ts reads the orientation and
// serve/shared/preprocess.ts applies it, the same code the browser runs), no ICC conversion (the browser
// decodes with colorSpaceConversion 'none'), alpha kept unpremultiplied. Grey and grey+alpha are expanded to
// RGB, palettes (with tRNS) to RGBA, 16-bit samples reduced to 8 bits by libvips (round(v / 257)), which is
// what Chromium's decoders do too (tests/browser/preprocess-parity.test.ts checks it byte for byte).
import sharp from 'sharp';
import { readExifOrientation } from '../shared/exif.js';
import type { RgbaImage } from '../shared/preprocess.js';

export type ImageFormat = 'png' | 'jpeg' | 'webp';

export type ImageDecodeErrorKind = 'empty' | 'unsupported' | 'corrupt' | 'too-large';

/** A typed decode failure: the server maps empty/corrupt -> 400, unsupported -> 415, too-large -> 413. */
export class ImageDecodeError extends Error {
  readonly kind: ImageDecodeErrorKind;
  /** For 'too-large': the server option that set the limit (max-image-pixels, max-image-side, max-aspect-ratio). */
  readonly limit: string | undefined;
  constructor(kind: ImageDecodeErrorKind, message: string, limit?: string) {
    super(message);
    this.limit = limit;
    this.name = 'ImageDecodeError';
    this.kind = kind;
  }
}

/** A decoded image as stored, plus the EXIF orientation preprocessImage must apply. */
export interface DecodedImage extends RgbaImage {
  data: Uint8Array;
  orientation: number;
  format: ImageFormat;
}

/** PNG / JPEG / WebP from the magic bytes; null for anything else. */
export function sniffImage(buf: Uint8Array): ImageFormat | null {
  if (buf.length >= 8 && buf[0] === 0x89 && buf[1] === 0x50 && buf[2] === 0x4e && buf[3] === 0x47 && buf[4] === 0x0d && buf[5] === 0x0a && buf[6] === 0x1a && buf[7] === 0x0a)
    return 'png';
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return 'jpeg';
  if (buf.length >= 12 && buf[0] === 0x52 && buf[1] === 0x49 && buf[2] === 0x46 && buf[3] === 0x46 && buf[8] === 0x57 && buf[9] === 0x45 && buf[10] === 0x42 && buf[11] === 0x50)
    return 'webp';
  return null;
}

const msg = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();

/**
 * Decodes one encoded image to unoriented 8-bit RGBA. `what` names the image in error messages
 * ("image 'cat.png'", a file path). Throws ImageDecodeError.
 */
export async function decodeImageBytes(buf: Uint8Array, opts: { maxPixels: number; maxSide?: number; maxAspectRatio?: number; what?: string }): Promise<DecodedImage> {
  const what = opts.what ?? 'image';
  if (buf.length === 0) throw new ImageDecodeError('empty', `${what} is empty`);
  const format = sniffImage(buf);
  if (!format) throw new ImageDecodeError('unsupported', `${what} is not a PNG, JPEG or WebP image`);
  let meta: sharp.Metadata;
  try {
    meta = await sharp(buf).metadata(); // header only
  } catch (e) {
    throw new ImageDecodeError('corrupt', `${what}: cannot read the ${format} header: ${msg(e)}`);
  }
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (!(w > 0 && h > 0)) throw new ImageDecodeError('corrupt', `${what}: ${format} header has no valid dimensions`);
  if (w * h > opts.maxPixels) throw new ImageDecodeError('too-large', `${what}: ${w}x${h} = ${w * h} pixels, the limit is ${opts.maxPixels}`, 'max-image-pixels');
  // The pixel count alone does not bound the cost: a 16,777,216 x 1 PNG is 16 KB and inside 4096 x 4096
  // pixels, but decoding and resampling such a strip takes seconds. Bound each side and the aspect ratio too.
  if (opts.maxSide !== undefined && Math.max(w, h) > opts.maxSide)
    throw new ImageDecodeError('too-large', `${what}: ${w}x${h} has a side longer than ${opts.maxSide} pixels`, 'max-image-side');
  if (opts.maxAspectRatio !== undefined && Math.max(w, h) / Math.min(w, h) > opts.maxAspectRatio)
    throw new ImageDecodeError('too-large', `${what}: ${w}x${h} has an aspect ratio of ${(Math.max(w, h) / Math.min(w, h)).toFixed(1)}:1, the limit is ${opts.maxAspectRatio}:1`, 'max-aspect-ratio');
  let out: { data: Buffer; info: sharp.OutputInfo };
  try {
    out = await sharp(buf, { limitInputPixels: opts.maxPixels, ignoreIcc: true })
      .toColourspace('srgb')
      .ensureAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new ImageDecodeError('corrupt', `${what}: cannot decode the ${format} image: ${msg(e)}`);
  }
  const { data, info } = out;
  if (info.channels !== 4 || info.width !== w || info.height !== h || data.length !== w * h * 4)
    throw new ImageDecodeError('corrupt', `${what}: the decoder returned ${info.width}x${info.height}x${info.channels}, expected ${w}x${h}x4`);
  return {
    width: w,
    height: h,
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    orientation: readExifOrientation(buf).orientation,
    format,
  };
}
