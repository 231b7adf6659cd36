import sharp from 'sharp';
import { preprocessImage } from '../shared/preprocess.js';
import { HttpError, badRequest, errorMessage, tooLarge, unsupportedMedia } from './errors.js';
import { MODEL_VERSION, submitError } from './v2.js';
/** PNG / JPEG / WebP from the magic bytes; null for anything else. */
export function sniffImage(buf) {
    if (buf.length >= 8 && buf[0] === 0x89 && buf[1] === 0x50 && buf[2] === 0x4e && buf[3] === 0x47 && buf[4] === 0x0d && buf[5] === 0x0a && buf[6] === 0x1a && buf[7] === 0x0a)
        return 'png';
    if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff)
        return 'jpeg';
    if (buf.length >= 12 && buf[0] === 0x52 && buf[1] === 0x49 && buf[2] === 0x46 && buf[3] === 0x46 && buf[8] === 0x57 && buf[9] === 0x45 && buf[10] === 0x42 && buf[11] === 0x50)
        return 'webp';
    return null;
}
/** Decodes one uploaded image to RGBA, enforcing the format whitelist and the pixel-count limit. */
export async function decodeImage(buf, maxPixels, what = 'image') {
    if (buf.length === 0)
        throw badRequest(`${what} is empty`);
    const fmt = sniffImage(buf);
    if (!fmt)
        throw unsupportedMedia(`${what} is not a PNG, JPEG or WebP image`);
    let meta;
    try {
        meta = await sharp(buf).metadata();
    }
    catch (e) {
        throw badRequest(`${what}: cannot read the ${fmt} header: ${errorMessage(e)}`);
    }
    const w = meta.width ?? 0;
    const h = meta.height ?? 0;
    if (!(w > 0 && h > 0))
        throw badRequest(`${what}: ${fmt} header has no valid dimensions`);
    if (w * h > maxPixels)
        throw tooLarge(`${what}: ${w}x${h} = ${w * h} pixels, the limit is ${maxPixels} (--max-image-pixels)`);
    try {
        const { data, info } = await sharp(buf, { limitInputPixels: maxPixels })
            .autoOrient()
            .toColourspace('srgb')
            .ensureAlpha()
            .raw({ depth: 'uchar' })
            .toBuffer({ resolveWithObject: true });
        if (info.channels !== 4)
            throw new Error(`decoder returned ${info.channels} channels`);
        return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
    }
    catch (e) {
        throw badRequest(`${what}: cannot decode the ${fmt} image: ${errorMessage(e)}`);
    }
}
/** Top-k of one probability row (ties: lower index first). */
export function topK(probs, labels, k) {
    const idx = Array.from({ length: probs.length }, (_, i) => i);
    idx.sort((a, b) => probs[b] - probs[a] || a - b);
    return idx.slice(0, k).map((i) => ({ label: labels[i] ?? String(i), index: i, probability: probs[i] }));
}
function parseK(q, numClasses) {
    const raw = q?.k;
    if (raw === undefined || raw === '')
        return Math.min(5, numClasses);
    const s = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (typeof s !== 'string' || !/^\d+$/.test(s))
        throw badRequest(`k must be a positive integer, got ${JSON.stringify(raw)}`);
    const k = Number(s);
    if (k < 1)
        throw badRequest('k must be at least 1');
    return Math.min(k, numClasses);
}
async function collectUploads(req, ctx) {
    const ct = String(req.headers['content-type'] ?? '').toLowerCase();
    if (ct.startsWith('multipart/form-data')) {
        const files = [];
        try {
            for await (const part of req.parts({ limits: { files: ctx.limits.maxBatch, fileSize: ctx.limits.bodyLimit, fields: 32, parts: ctx.limits.maxBatch + 32 } })) {
                if (part.type !== 'file')
                    continue;
                const f = part;
                files.push({ name: f.filename || f.fieldname, bytes: await f.toBuffer() });
            }
        }
        catch (e) {
            const status = e.statusCode;
            const code = e.code;
            if (code === 'FST_FILES_LIMIT')
                throw tooLarge(`too many images in one request (limit ${ctx.limits.maxBatch}, --max-batch)`);
            if (code === 'FST_REQ_FILE_TOO_LARGE')
                throw tooLarge(`an uploaded file exceeds ${ctx.limits.bodyLimit} bytes (--body-limit)`);
            if (status && status >= 400 && status < 500)
                throw new HttpError(status === 406 ? 400 : status, `multipart body rejected: ${errorMessage(e)}`);
            throw badRequest(`malformed multipart body: ${errorMessage(e)}`);
        }
        if (files.length === 0)
            throw badRequest('multipart body has no file part (send the image as a file field, e.g. -F image=@photo.png)');
        return files;
    }
    if (!Buffer.isBuffer(req.body)) {
        if (req.body === undefined || req.body === null)
            throw badRequest('missing image: send the image bytes with Content-Type image/png|jpeg|webp, or multipart/form-data');
        throw unsupportedMedia(`classify takes an image (image/png, image/jpeg, image/webp) or multipart/form-data, not ${ct || 'no content type'}`);
    }
    return [{ name: undefined, bytes: req.body }];
}
export function registerClassifyRoute(app, ctx, allow) {
    const handler = async (req, reply) => {
        const ct = String(req.headers['content-type'] ?? '').toLowerCase();
        if (!(ct.startsWith('image/') || ct.startsWith('application/octet-stream') || ct.startsWith('multipart/form-data')))
            throw unsupportedMedia(`classify takes an image (image/png, image/jpeg, image/webp) or multipart/form-data, not ${ct || 'no content type'}`);
        const k = parseK(req.query, ctx.info.numClasses);
        const uploads = await collectUploads(req, ctx);
        if (uploads.length > ctx.limits.maxBatch)
            throw tooLarge(`${uploads.length} images in one request, the limit is ${ctx.limits.maxBatch} (--max-batch)`);
        const { input } = ctx.info;
        const per = input.height * input.width * input.channels;
        // One image at a time: a decoded image may be up to --max-image-pixels x 4 bytes.
        const pixels = new Uint8Array(uploads.length * per);
        const decoded = [];
        for (const [i, u] of uploads.entries()) {
            const img = await decodeImage(u.bytes, ctx.limits.maxImagePixels, u.name ? `image '${u.name}'` : uploads.length > 1 ? `image ${i}` : 'image');
            pixels.set(preprocessImage(img, input), i * per);
            decoded.push({ width: img.width, height: img.height });
        }
        let result;
        try {
            result = await ctx.batcher.submit(pixels, decoded.length);
        }
        catch (e) {
            throw submitError(e, ctx);
        }
        const probs = result.outputs.probs ?? result.outputs.logits;
        if (!probs)
            throw new HttpError(500, 'model has neither a probs nor a logits output');
        const c = probs.dims[1] ?? 0;
        const softmax = !result.outputs.probs;
        const results = decoded.map((img, i) => {
            let row = probs.data.subarray(i * c, (i + 1) * c);
            if (softmax) {
                const m = Math.max(...Array.from(row));
                const e = Array.from(row, (v) => Math.exp(v - m));
                const s = e.reduce((a, b) => a + b, 0);
                row = e.map((v) => v / s);
            }
            return {
                ...(uploads[i].name !== undefined ? { filename: uploads[i].name } : {}),
                width: img.width,
                height: img.height,
                predictions: topK(row, ctx.info.labels, k),
            };
        });
        return reply.send({ model_name: ctx.info.name, model_version: MODEL_VERSION, ep: ctx.runner.ep, k, results });
    };
    app.post('/v1/classify', handler);
    allow('/v1/classify', ['POST']);
}
//# sourceMappingURL=classify.js.map