// The browser app's image decoder: the file's pixels as stored (not oriented, not premultiplied, no colour
// conversion), plus the EXIF orientation read from the bytes by serve/shared/exif.ts, so that
// serve/shared/preprocess.ts gives byte for byte the tensor the server (serve/node/image-decode.ts, sharp)
// and training (pipeline/data/decode.ts) give. Measured in Chromium 156 against sharp 0.34 / libvips 8.17:
//   - PNG (RGB, RGBA, grey, grey+alpha, palette+tRNS, 16-bit) and lossless WebP: WebCodecs ImageDecoder with
//     premultiplyAlpha 'none' gives BGRA/BGRX frames whose native copyTo() equals sharp's RGBA exactly.
//     copyTo(..., {format: 'RGBA'}) and every 2D-canvas path do not: the canvas stores premultiplied alpha,
//     which changes the RGB of semi-transparent pixels (up to 93 levels at alpha ~1).
//   - JPEG: ImageDecoder yields I420/I444 frames and its YUV->RGB differs from libjpeg-turbo's (up to 67
//     levels with 4:2:0), while createImageBitmap + canvas equals sharp exactly (same libjpeg-turbo, fancy
//     upsampling; JPEG has no alpha, so premultiplication cannot lose anything). createImageBitmap always
//     applies a JPEG's EXIF orientation (imageOrientation 'none' too), so it decodes a copy whose tag says 1.
// Browsers without ImageDecoder fall back to the canvas path for every format (alpha may then differ).
import { readExifOrientation, withoutOrientation } from '../shared/exif.js';
import type { RgbaImage } from '../shared/preprocess.js';

export type DecodePath = 'webcodecs' | 'canvas';

export interface BrowserDecoded extends RgbaImage {
  orientation: number;
  path: DecodePath;
}

/** The MIME type from the magic bytes (the file's own type or name is not trusted). */
export function sniffType(b: Uint8Array): 'image/png' | 'image/jpeg' | 'image/webp' | null {
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'image/png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 12 && b[0] === 0x52 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x46 && b[8] === 0x57 && b[9] === 0x45 && b[10] === 0x42 && b[11] === 0x50) return 'image/webp';
  return null;
}

const PACKED = new Set(['RGBA', 'RGBX', 'BGRA', 'BGRX']);

/** WebCodecs: null when the frame is not packed 8-bit RGB(A) (e.g. lossy WebP as I420), so the caller falls back. */
async function decodeWebCodecs(bytes: Uint8Array, type: string): Promise<RgbaImage | null> {
  // premultiplyAlpha is in the WebCodecs spec (and Chromium) but not yet in TypeScript's DOM lib.
  const init: ImageDecoderInit & { premultiplyAlpha: 'none' } = { data: bytes, type, colorSpaceConversion: 'none', premultiplyAlpha: 'none' };
  const dec = new ImageDecoder(init);
  try {
    const { image } = await dec.decode({ frameIndex: 0 });
    try {
      const fmt = image.format ?? '';
      if (!PACKED.has(fmt)) return null;
      const rect = image.visibleRect!;
      const w = rect.width;
      const h = rect.height;
      const data = new Uint8Array(w * h * 4);
      await image.copyTo(data, { layout: [{ offset: 0, stride: w * 4 }] });
      const bgr = fmt.startsWith('BGR');
      const opaque = fmt.endsWith('X');
      for (let i = 0; i < data.length; i += 4) {
        if (bgr) {
          const t = data[i]!;
          data[i] = data[i + 2]!;
          data[i + 2] = t;
        }
        if (opaque) data[i + 3] = 255;
      }
      return { width: w, height: h, data };
    } finally {
      image.close();
    }
  } finally {
    dec.close();
  }
}

async function decodeCanvas(bytes: Uint8Array, type: string): Promise<RgbaImage> {
  const bmp = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>], { type }), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  try {
    const canvas = document.createElement('canvas');
    canvas.width = bmp.width;
    canvas.height = bmp.height;
    const ctx = canvas.getContext('2d', { willReadFrequently: true, colorSpace: 'srgb' });
    if (!ctx) throw new Error('no 2d canvas context');
    ctx.drawImage(bmp, 0, 0);
    const img = ctx.getImageData(0, 0, bmp.width, bmp.height);
    return { width: img.width, height: img.height, data: img.data };
  } finally {
    bmp.close();
  }
}

/** Decodes one PNG/JPEG/WebP file to RGBA as stored, with its EXIF orientation. */
export async function decodeImageBlob(file: Blob): Promise<BrowserDecoded> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (bytes.length === 0) throw new Error('the file is empty');
  const type = sniffType(bytes);
  if (!type) throw new Error('not a PNG, JPEG or WebP image');
  const exif = readExifOrientation(bytes);
  if (type !== 'image/jpeg' && typeof ImageDecoder === 'function') {
    const img = await decodeWebCodecs(bytes, type);
    if (img) return { ...img, orientation: exif.orientation, path: 'webcodecs' };
  }
  const img = await decodeCanvas(withoutOrientation(bytes, exif), type);
  return { ...img, orientation: exif.orientation, path: 'canvas' };
}
