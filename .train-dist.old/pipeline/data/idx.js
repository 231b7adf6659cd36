// MNIST / Fashion-MNIST IDX files (gzip or raw; gzip is detected by its magic bytes).
// Format: 2 zero bytes, type byte (0x08 = unsigned byte), number of dimensions, then each dimension as a
// big-endian uint32, then the data. Images are 0x00000803 (N x rows x cols), labels 0x00000801 (N).
import { gzipSync } from 'node:zlib';
import { maybeGunzip, readFileChecked } from './files.js';
export const IDX_IMAGES_MAGIC = 0x00000803;
export const IDX_LABELS_MAGIC = 0x00000801;
const hex8 = (n) => '0x' + (n >>> 0).toString(16).padStart(8, '0');
/** Parses an (already gunzipped) IDX buffer of unsigned bytes with the expected magic. */
export function parseIdx(buf, expectedMagic, path) {
    if (buf.length < 4)
        throw new Error(`corrupt IDX header in ${path}: file has only ${buf.length} bytes`);
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const magic = view.getUint32(0, false);
    if (magic !== expectedMagic)
        throw new Error(`corrupt IDX header in ${path}: magic ${hex8(magic)} (expected ${hex8(expectedMagic)})`);
    const ndim = expectedMagic & 0xff;
    const headerBytes = 4 + 4 * ndim;
    if (buf.length < headerBytes)
        throw new Error(`truncated IDX file ${path}: ${buf.length} bytes, the header alone needs ${headerBytes}`);
    const dims = [];
    for (let d = 0; d < ndim; d++)
        dims.push(view.getUint32(4 + 4 * d, false));
    const expected = dims.reduce((a, b) => a * b, 1);
    const have = buf.length - headerBytes;
    if (have < expected)
        throw new Error(`truncated IDX file ${path}: header declares ${dims.join('x')} = ${expected} data bytes but only ${have} are present`);
    if (have > expected)
        throw new Error(`corrupt IDX file ${path}: header declares ${dims.join('x')} = ${expected} data bytes but ${have} are present`);
    return { dims, data: buf.subarray(headerBytes, headerBytes + expected) };
}
/** Reads an IDX image file (N x rows x cols, gzip or raw). */
export async function readIdxImages(path) {
    const { dims, data } = parseIdx(maybeGunzip(await readFileChecked(path), path), IDX_IMAGES_MAGIC, path);
    return { images: new Uint8Array(data), count: dims[0], height: dims[1], width: dims[2] };
}
/** Reads an IDX label file (N, gzip or raw); labels must be < numClasses when given. */
export async function readIdxLabels(path, numClasses) {
    const { data } = parseIdx(maybeGunzip(await readFileChecked(path), path), IDX_LABELS_MAGIC, path);
    const labels = Int32Array.from(data);
    if (numClasses !== undefined) {
        for (let i = 0; i < labels.length; i++)
            if (labels[i] >= numClasses)
                throw new Error(`label out of range in ${path}: item ${i} has label ${labels[i]} but there are only ${numClasses} classes (0..${numClasses - 1})`);
    }
    return labels;
}
/** Reads a pair of IDX image + label files into a single-channel ImageSet. */
export async function readIdxImageSet(imagesPath, labelsPath, classNames) {
    const [im, labels] = await Promise.all([readIdxImages(imagesPath), readIdxLabels(labelsPath, classNames.length)]);
    if (labels.length !== im.count)
        throw new Error(`IDX count mismatch: ${imagesPath} has ${im.count} images but ${labelsPath} has ${labels.length} labels`);
    return { images: im.images, labels, count: im.count, height: im.height, width: im.width, channels: 1, classNames: classNames.slice() };
}
/** Encodes unsigned bytes as IDX with the given dims (images: [N, rows, cols]; labels: [N]). */
export function encodeIdx(data, dims) {
    const n = dims.reduce((a, b) => a * b, 1);
    if (n !== data.length)
        throw new Error(`encodeIdx: dims ${dims.join('x')} = ${n} but data has ${data.length} bytes`);
    const head = Buffer.alloc(4 + 4 * dims.length);
    head.writeUInt32BE(0x00000800 | dims.length, 0);
    dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
    return Buffer.concat([head, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}
/** Gzipped IDX files for a single-channel set (deterministic bytes: no timestamp in the gzip header). */
export function encodeIdxImageSet(set) {
    if (set.channels !== 1)
        throw new Error(`encodeIdxImageSet: IDX holds single-channel images, got ${set.channels} channels`);
    const labels = new Uint8Array(set.count);
    for (let i = 0; i < set.count; i++) {
        const l = set.labels[i];
        if (l < 0 || l > 255)
            throw new Error(`encodeIdxImageSet: label ${l} does not fit in a byte`);
        labels[i] = l;
    }
    return {
        images: gzipSync(encodeIdx(set.images, [set.count, set.height, set.width]), { level: 9 }),
        labels: gzipSync(encodeIdx(labels, [set.count]), { level: 9 }),
    };
}
//# sourceMappingURL=idx.js.map