// Decoding + resizing of image files (JPEG/PNG/...) with sharp into HWC RGB bytes.
import { access } from 'node:fs/promises';
import sharp from 'sharp';
/**
 * Decodes one image file into size x size x 3 RGB bytes: EXIF orientation applied, resized so the shorter side
 * is `size`, centre-cropped (sharp fit 'cover'), alpha dropped, greyscale expanded to RGB.
 */
export async function decodeImageFile(path, size) {
    try {
        await access(path);
    }
    catch {
        throw new Error(`file not found: ${path}`);
    }
    let out;
    try {
        out = await sharp(path, { failOn: 'error' })
            .rotate()
            .resize(size, size, { fit: 'cover', position: 'centre' })
            .removeAlpha()
            .toColourspace('srgb')
            .raw()
            .toBuffer({ resolveWithObject: true });
    }
    catch (e) {
        throw new Error(`cannot decode image ${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const { data, info } = out;
    if (info.width !== size || info.height !== size)
        throw new Error(`cannot decode image ${path}: got ${info.width}x${info.height}, wanted ${size}x${size}`);
    if (info.channels === 3)
        return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    // Defensive: expand 1-channel output to RGB.
    const px = size * size;
    const rgb = new Uint8Array(px * 3);
    for (let p = 0; p < px; p++) {
        const v = data[p * info.channels];
        rgb[3 * p] = v;
        rgb[3 * p + 1] = v;
        rgb[3 * p + 2] = v;
    }
    return rgb;
}
/** Decodes many files into one contiguous N x size x size x 3 buffer, a few at a time. */
export async function decodeImageFiles(paths, size, opts = {}) {
    const per = size * size * 3;
    const out = new Uint8Array(paths.length * per);
    const concurrency = Math.max(1, opts.concurrency ?? Math.max(4, 2 * sharp.concurrency()));
    let next = 0;
    let done = 0;
    let failed = false;
    const worker = async () => {
        for (;;) {
            const i = next++;
            if (i >= paths.length || failed)
                return;
            try {
                out.set(await decodeImageFile(paths[i], size), i * per);
            }
            catch (e) {
                failed = true;
                throw e;
            }
            done++;
            if (opts.onProgress && (done % 500 === 0 || done === paths.length))
                opts.onProgress(done, paths.length);
        }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, paths.length) }, worker));
    return out;
}
//# sourceMappingURL=decode.js.map