// Decoding + resizing of image files (JPEG/PNG/WebP/...) with sharp into HWC bytes of the model's size and channels.
// (Being rewritten on another branch to go through the shared preprocessing contract; at merge that body wins.)
import { access } from 'node:fs/promises';
import sharp from 'sharp';
import type { ResizePolicy } from '../../models/onnx-contract.js';

/** What a decoded image becomes: height x width x channels bytes, resized by `resize`. */
export interface DecodeSpec {
  height: number;
  width: number;
  channels: 1 | 3;
  resize: ResizePolicy;
}

/**
 * Decodes one image file into height x width x channels bytes: EXIF orientation applied; 'center-crop' scales the
 * shorter side to the model size and cuts the centre (sharp fit 'cover'), 'stretch' scales each axis (fit 'fill');
 * alpha dropped; 1 channel = sharp's greyscale, 3 = sRGB (grey expanded).
 */
export async function decodeImageFile(path: string, spec: DecodeSpec): Promise<Uint8Array> {
  const { height, width, channels } = spec;
  try {
    await access(path);
  } catch {
    throw new Error(`file not found: ${path}`);
  }
  let out: { data: Buffer; info: sharp.OutputInfo };
  try {
    let img = sharp(path, { failOn: 'error' })
      .rotate()
      .resize(width, height, spec.resize === 'stretch' ? { fit: 'fill' } : { fit: 'cover', position: 'centre' })
      .removeAlpha();
    img = channels === 1 ? img.greyscale() : img.toColourspace('srgb');
    out = await img.raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new Error(`cannot decode image ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const { data, info } = out;
  if (info.width !== width || info.height !== height) throw new Error(`cannot decode image ${path}: got ${info.width}x${info.height}, wanted ${width}x${height}`);
  if (info.channels === channels) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  // Defensive: sharp may keep an extra channel; take the first (grey) or expand grey to RGB.
  const px = width * height;
  const res = new Uint8Array(px * channels);
  for (let p = 0; p < px; p++)
    for (let c = 0; c < channels; c++) res[p * channels + c] = data[p * info.channels + Math.min(c, info.channels - 1)]!;
  return res;
}

/** Decodes many files into one contiguous N x height x width x channels buffer, a few at a time. */
export async function decodeImageFiles(
  paths: string[],
  spec: DecodeSpec,
  opts: { concurrency?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<Uint8Array> {
  const per = spec.height * spec.width * spec.channels;
  const out = new Uint8Array(paths.length * per);
  const concurrency = Math.max(1, opts.concurrency ?? Math.max(4, 2 * sharp.concurrency()));
  let next = 0;
  let done = 0;
  let failed = false;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= paths.length || failed) return;
      try {
        out.set(await decodeImageFile(paths[i]!, spec), i * per);
      } catch (e) {
        failed = true;
        throw e;
      }
      done++;
      if (opts.onProgress && (done % 500 === 0 || done === paths.length)) opts.onProgress(done, paths.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, paths.length) }, worker));
  return out;
}
