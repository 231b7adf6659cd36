// Raw images for `ecl parity --images DIR`: the original encoded files (PNG/JPEG/WebP), read once with
// bounded sizes, and the two node-side decoders they go through:
//   - the training side (pipeline/data/decode.ts decodeImageFile), which feeds the reference;
//   - the serving side (serve/node/classify.ts decodeImage + serve/shared/preprocess.ts), which feeds
//     onnxruntime-node and OpenCV DNN (the server and the browser app decode for themselves).
// Files may sit in DIR or in DIR/<class label>/ (then the label counts as ground truth).
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { ResizePolicy } from '../../models/onnx-contract.js';
import { decodeImage, type ImageFormat, sniffImage, uploadPixels } from '../../serve/node/classify.js';
import { UsageError } from '../cli/errors.js';
import { decodeImageFile } from '../data/decode.js';

export const RAW_LIMITS = {
  /** Images per run (each goes through every runtime one by one). */
  maxImages: 5000,
  /** Bytes per file (the server's default body limit). */
  maxFileBytes: 8 * 1024 * 1024,
  /** Decoded width x height (the server's default --max-image-pixels). */
  maxPixels: 4096 * 4096,
} as const;

const EXTENSIONS = /\.(png|jpe?g|webp)$/i;

export interface RawImage {
  /** Path relative to DIR (what reports name). */
  name: string;
  path: string;
  format: ImageFormat;
  bytes: Uint8Array;
  sha256: string;
  /** Class index from DIR/<label>/, else -1. */
  label: number;
}

/** The image files of dir and its direct subfolders, sorted by name; one clear error for anything unusable. */
export function listRawImages(dir: string, labels: readonly string[], limits = RAW_LIMITS): RawImage[] {
  let st;
  try {
    st = lstatSync(dir);
  } catch {
    throw new UsageError(`--images ${dir}: no such folder`);
  }
  if (!st.isDirectory()) throw new UsageError(`--images ${dir} is not a folder`);
  const found: { path: string; label: number }[] = [];
  const scan = (d: string, label: number, depth: number) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const p = join(d, e.name);
      // A label with a slash (T-shirt/top) names its folder with '_' instead.
      if (e.isDirectory() && depth === 0) scan(p, labels.findIndex((l) => l === e.name || l.replace(/[\\/]/g, '_') === e.name), 1);
      else if (e.isFile() && EXTENSIONS.test(e.name)) {
        found.push({ path: p, label });
        if (found.length > limits.maxImages) throw new UsageError(`--images ${dir}: more than ${limits.maxImages} images; use a smaller folder`);
      }
    }
  };
  scan(dir, -1, 0);
  if (!found.length) throw new UsageError(`--images ${dir}: no .png, .jpg, .jpeg or .webp files (in the folder or its direct subfolders)`);
  return found.map(({ path, label }) => {
    const size = lstatSync(path).size;
    if (size > limits.maxFileBytes) throw new UsageError(`${path}: ${size} bytes, more than the ${limits.maxFileBytes}-byte limit`);
    const bytes = new Uint8Array(readFileSync(path));
    const format = sniffImage(bytes);
    if (!format) throw new UsageError(`${path}: not a PNG, JPEG or WebP file (by its first bytes)`);
    return { name: relative(dir, path), path, format, bytes, sha256: createHash('sha256').update(bytes).digest('hex'), label };
  });
}

/** What a decoder must produce: the model's uint8 [height, width, channels] and the resize policy. */
export interface DecodeTarget {
  height: number;
  width: number;
  channels: 1 | 3;
  resize: ResizePolicy;
}

/** The training side's decode of one file (what the reference sees): pipeline/data/decode.ts, the shared contract. */
export async function decodeTrainingSide(path: string, t: DecodeTarget): Promise<Uint8Array> {
  try {
    return await decodeImageFile(path, t);
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
}

/** The decoder the training side used, as report text. */
export const TRAINING_DECODE_TEXT = 'pipeline/data/decode.ts decodeImageFile (serve/node/image-decode.ts + serve/shared/preprocess.ts: EXIF orientation, the resize policy, channels)';
export const SERVING_DECODE_TEXT = "serve/node/classify.ts (serve/node/image-decode.ts + serve/shared/preprocess.ts with the model's declared resize policy)";

/** Decodes every image with `decode` into one NHWC buffer. */
export async function decodeAll(images: readonly RawImage[], per: number, decode: (img: RawImage) => Promise<Uint8Array>): Promise<Uint8Array> {
  const out = new Uint8Array(images.length * per);
  for (const [i, img] of images.entries()) {
    const px = await decode(img);
    if (px.length !== per) throw new Error(`${img.name}: decoded to ${px.length} bytes, the model takes ${per}`);
    out.set(px, i * per);
  }
  return out;
}

/** The serving side's decode (the server's own functions, run in this process; the target carries the model's policy). */
export async function decodeServingSide(img: RawImage, t: DecodeTarget): Promise<Uint8Array> {
  try {
    const decoded = await decodeImage(img.bytes, RAW_LIMITS.maxPixels, img.name);
    return uploadPixels(decoded, { input: t, resize: t.resize });
  } catch (e) {
    throw new UsageError(`${img.path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Images whose decoded bytes differ between two NHWC buffers. */
export function countDifferentInputs(a: Uint8Array, b: Uint8Array, per: number, n: number): number {
  let k = 0;
  for (let i = 0; i < n; i++) {
    const x = a.subarray(i * per, (i + 1) * per);
    const y = b.subarray(i * per, (i + 1) * per);
    for (let j = 0; j < per; j++)
      if (x[j] !== y[j]) {
        k++;
        break;
      }
  }
  return k;
}
