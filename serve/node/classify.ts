// POST /v1/classify: images in, top-k labels out.
//   - raw body with Content-Type image/png | image/jpeg | image/webp (or application/octet-stream): one image
//   - multipart/form-data: every file part is an image (up to --max-batch), other fields are ignored
// Images are sniffed (PNG/JPEG/WebP only), size-checked from the header before decoding (--max-image-pixels),
// decoded by serve/node/image-decode.ts to RGBA as stored (8 bit) and preprocessed by serve/shared/preprocess.ts
// with the EXIF orientation and the model's resize policy (ModelInfo.resize), the same code the browser app runs. All images of one request run in one
// batch slot. Query: ?k=5 (1..number of classes; larger values are clamped); ?model=<name>[&version=<v>] (default:
// the server's default model, its latest READY version).
import type { MultipartFile } from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ModelInfo } from '../../models/onnx-contract.js';
import { preprocessImage } from '../shared/preprocess.js';
import { submitting } from './admission.js';
import type { ServeContext } from './context.js';
import { HttpError, badRequest, errorMessage, tooLarge, unsupportedMedia } from './errors.js';
import { type DecodedImage, ImageDecodeError, decodeImageBytes } from './image-decode.js';
import { leasedModel } from './model-route.js';
import { submitError } from './v2.js';

export { type ImageFormat, sniffImage } from './image-decode.js';

/** Decodes one uploaded image (serve/node/image-decode.ts), its errors mapped to 400 / 413 / 415. */
export async function decodeImage(buf: Uint8Array, limits: number | { maxImagePixels: number; maxImageSide?: number; maxAspectRatio?: number }, what = 'image'): Promise<DecodedImage> {
  const l = typeof limits === 'number' ? { maxImagePixels: limits } : limits;
  try {
    return await decodeImageBytes(buf, { maxPixels: l.maxImagePixels, maxSide: l.maxImageSide, maxAspectRatio: l.maxAspectRatio, what });
  } catch (e) {
    if (!(e instanceof ImageDecodeError)) throw e;
    if (e.kind === 'unsupported') throw unsupportedMedia(e.message);
    if (e.kind === 'too-large') throw tooLarge(`${e.message} (--${e.limit ?? 'max-image-pixels'})`);
    throw badRequest(e.message);
  }
}

/** What the server feeds the model for one upload: decode, then the shared preprocessing with the model's resize policy. */
export function uploadPixels(img: DecodedImage, info: { input: Pick<ModelInfo['input'], 'height' | 'width' | 'channels'>; resize: ModelInfo['resize'] }): Uint8Array {
  const { height, width, channels } = info.input;
  return preprocessImage(img, { height, width, channels, resize: info.resize, orientation: img.orientation });
}

export interface Prediction {
  label: string;
  index: number;
  probability: number;
}

/** Top-k of one probability row (ties: lower index first). */
export function topK(probs: ArrayLike<number>, labels: readonly string[], k: number): Prediction[] {
  const idx = Array.from({ length: probs.length }, (_, i) => i);
  idx.sort((a, b) => probs[b]! - probs[a]! || a - b);
  return idx.slice(0, k).map((i) => ({ label: labels[i] ?? String(i), index: i, probability: probs[i]! }));
}

function parseK(q: unknown, numClasses: number): number {
  const raw = (q as Record<string, unknown> | undefined)?.k;
  if (raw === undefined || raw === '') return Math.min(5, numClasses);
  const s = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  if (typeof s !== 'string' || !/^\d+$/.test(s)) throw badRequest(`k must be a positive integer, got ${JSON.stringify(raw)}`);
  const k = Number(s);
  if (k < 1) throw badRequest('k must be at least 1');
  return Math.min(k, numClasses);
}

interface Upload {
  name: string | undefined;
  bytes: Buffer;
}

async function collectUploads(req: FastifyRequest, ctx: ServeContext): Promise<Upload[]> {
  const ct = String(req.headers['content-type'] ?? '').toLowerCase();
  if (ct.startsWith('multipart/form-data')) {
    const files: Upload[] = [];
    try {
      for await (const part of req.parts({ limits: { files: ctx.limits.maxBatch, fileSize: ctx.limits.bodyLimit, fields: 32, parts: ctx.limits.maxBatch + 32 } })) {
        if (part.type !== 'file') continue;
        const f = part as MultipartFile;
        files.push({ name: f.filename || f.fieldname, bytes: await f.toBuffer() });
      }
    } catch (e) {
      const status = (e as { statusCode?: number }).statusCode;
      const code = (e as { code?: string }).code;
      if (code === 'FST_FILES_LIMIT') throw tooLarge(`too many images in one request (limit ${ctx.limits.maxBatch}, --max-batch)`);
      if (code === 'FST_REQ_FILE_TOO_LARGE') throw tooLarge(`an uploaded file exceeds ${ctx.limits.bodyLimit} bytes (--body-limit)`);
      if (status && status >= 400 && status < 500) throw new HttpError(status === 406 ? 400 : status, `multipart body rejected: ${errorMessage(e)}`);
      throw badRequest(`malformed multipart body: ${errorMessage(e)}`);
    }
    if (files.length === 0) throw badRequest('multipart body has no file part (send the image as a file field, e.g. -F image=@photo.png)');
    return files;
  }
  if (!Buffer.isBuffer(req.body)) {
    if (req.body === undefined || req.body === null) throw badRequest('missing image: send the image bytes with Content-Type image/png|jpeg|webp, or multipart/form-data');
    throw unsupportedMedia(`classify takes an image (image/png, image/jpeg, image/webp) or multipart/form-data, not ${ct || 'no content type'}`);
  }
  return [{ name: undefined, bytes: req.body }];
}

export function registerClassifyRoute(app: FastifyInstance, ctx: ServeContext, allow: (url: string, methods: string[]) => void): void {
  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const ct = String(req.headers['content-type'] ?? '').toLowerCase();
    if (!(ct.startsWith('image/') || ct.startsWith('application/octet-stream') || ct.startsWith('multipart/form-data')))
      throw unsupportedMedia(`classify takes an image (image/png, image/jpeg, image/webp) or multipart/form-data, not ${ct || 'no content type'}`);
    const model = leasedModel(req);
    const { info } = model;
    const k = parseK(req.query, info.numClasses);
    const uploads = await collectUploads(req, ctx);
    if (uploads.length > ctx.limits.maxBatch) throw tooLarge(`${uploads.length} images in one request, the limit is ${ctx.limits.maxBatch} (--max-batch)`);
    const { input } = info;
    const per = input.height * input.width * input.channels;
    // One image at a time: a decoded image may be up to --max-image-pixels x 4 bytes.
    const pixels = new Uint8Array(uploads.length * per);
    const decoded: Array<{ width: number; height: number }> = [];
    for (const [i, u] of uploads.entries()) {
      const img = await decodeImage(u.bytes, ctx.limits, u.name ? `image '${u.name}'` : uploads.length > 1 ? `image ${i}` : 'image');
      pixels.set(uploadPixels(img, info), i * per);
      // The size as displayed (after EXIF orientation).
      decoded.push(img.orientation >= 5 ? { width: img.height, height: img.width } : { width: img.width, height: img.height });
    }
    let result;
    try {
      result = await model.batcher.submit(pixels, decoded.length, submitting(req));
    } catch (e) {
      throw submitError(e, ctx);
    }
    const probs = result.outputs.probs ?? result.outputs.logits;
    if (!probs) throw new HttpError(500, 'model has neither a probs nor a logits output');
    const c = probs.dims[1] ?? 0;
    const softmax = !result.outputs.probs;
    const results = decoded.map((img, i) => {
      let row: ArrayLike<number> = probs.data.subarray(i * c, (i + 1) * c);
      if (softmax) {
        const m = Math.max(...Array.from(row));
        const e = Array.from(row, (v) => Math.exp(v - m));
        const s = e.reduce((a, b) => a + b, 0);
        row = e.map((v) => v / s);
      }
      return {
        ...(uploads[i]!.name !== undefined ? { filename: uploads[i]!.name } : {}),
        width: img.width,
        height: img.height,
        predictions: topK(row, info.labels, k),
      };
    });
    return reply.send({ model_name: model.name, model_version: model.version, ep: model.runner.ep, k, results });
  };
  app.post('/v1/classify', handler);
  allow('/v1/classify', ['POST']);
}
