// Image files -> model input for training and evaluation, through exactly the code the server and the browser
// app run: serve/node/image-decode.ts (sharp, RGBA as stored) + serve/shared/preprocess.ts (EXIF orientation,
// resize policy, channels). A model trained on these bytes sees the same bytes when it is served.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { ResizePolicy } from '../../models/onnx-contract.js';
import { decodeImageBytes } from '../../serve/node/image-decode.js';
import { preprocessImage } from '../../serve/shared/preprocess.js';

/** What one decoded file becomes: uint8 height x width x channels, resized with `resize`. */
export interface DecodeSpec {
  height: number;
  width: number;
  channels: 1 | 3;
  resize: ResizePolicy;
}

/** Files larger than this are refused (a 16k x 16k photo; the decoded RGBA alone is 1 GiB). */
export const MAX_FILE_PIXELS = 16384 * 16384;

/** Decodes one PNG/JPEG/WebP file into spec.height x spec.width x spec.channels bytes (HWC). */
export async function decodeImageFile(path: string, spec: DecodeSpec): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `file not found: ${path}` : `cannot read image ${path}: ${(e as Error).message}`);
  }
  try {
    const img = await decodeImageBytes(bytes, { maxPixels: MAX_FILE_PIXELS, what: path });
    return preprocessImage(img, { ...spec, orientation: img.orientation });
  } catch (e) {
    const m = e instanceof Error ? e.message : String(e);
    throw new Error(`cannot decode image ${path}: ${m.startsWith(`${path}: `) ? m.slice(path.length + 2) : m}`);
  }
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
