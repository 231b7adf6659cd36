// THE image preprocessing of the serving stack, shared by the node server and the browser demo.
// Browser-safe on purpose: no node imports, no DOM types, pure TypeScript on typed arrays, integer
// arithmetic only, so node (sharp-decoded RGBA) and the browser (canvas/ImageData RGBA) produce
// byte-identical model inputs for the same decoded pixels.
//
// Contract of the exported models (export/metadata.ts): input 'pixels' uint8 NHWC [N, H, W, C] with
// C = 1 (grey) or 3 (RGB); normalisation happens inside the graph. The steps here are:
//   1. RGBA -> model channels: alpha is dropped (not composited); C = 3 keeps R,G,B; C = 1 uses the
//      ITU-R BT.601 luma Y = round(0.299 R + 0.587 G + 0.114 B) in exact integer arithmetic.
//   2. Bilinear resize to H x W with half-pixel centres (OpenCV INTER_LINEAR / tf.image.resize
//      half_pixel_centers=True, no antialiasing), 11-bit fixed-point weights, round half up. An image
//      that already has the model's size is copied unchanged.
export class PreprocessError extends Error {
    constructor(message) {
        super(message);
        this.name = 'PreprocessError';
    }
}
/** metadata_props keys written by export/metadata.ts. */
export const METADATA_KEYS = {
    labels: 'class_labels',
    numClasses: 'num_classes',
    inputName: 'input_name',
    inputLayout: 'input_layout',
    inputDtype: 'input_dtype',
    /** "HxWxC" */
    inputSize: 'input_size',
    /** JSON ["N", H, W, C] */
    inputShape: 'input_shape',
    normalizationMean: 'normalization_mean',
    normalizationStd: 'normalization_std',
    outputs: 'outputs',
};
const isPosInt = (v) => typeof v === 'number' && Number.isInteger(v) && v > 0;
/** ITU-R BT.601 luma of one pixel, rounded half up, in exact integer arithmetic (0..255). */
export function lumaBT601(r, g, b) {
    return Math.floor((299 * r + 587 * g + 114 * b + 500) / 1000);
}
function checkImage(img) {
    if (!isPosInt(img.width) || !isPosInt(img.height))
        throw new PreprocessError(`image dimensions must be positive integers, got ${String(img.width)}x${String(img.height)}`);
    const want = img.width * img.height * 4;
    if (!img.data || img.data.length !== want)
        throw new PreprocessError(`RGBA data has ${img.data?.length ?? 0} bytes, expected ${want} for ${img.width}x${img.height}x4`);
}
function checkChannels(channels) {
    if (channels !== 1 && channels !== 3)
        throw new PreprocessError(`models take 1 (grey) or 3 (RGB) channels, not ${String(channels)}`);
}
/** RGBA -> C-channel interleaved pixels (alpha dropped; C = 1 is BT.601 luma). */
export function rgbaToChannels(rgba, width, height, channels) {
    checkChannels(channels);
    const n = width * height;
    if (rgba.length !== n * 4)
        throw new PreprocessError(`RGBA data has ${rgba.length} bytes, expected ${n * 4}`);
    const out = new Uint8Array(n * channels);
    if (channels === 3) {
        for (let i = 0, j = 0; i < n; i++, j += 3) {
            const s = i * 4;
            out[j] = rgba[s];
            out[j + 1] = rgba[s + 1];
            out[j + 2] = rgba[s + 2];
        }
    }
    else {
        for (let i = 0; i < n; i++) {
            const s = i * 4;
            out[i] = lumaBT601(rgba[s], rgba[s + 1], rgba[s + 2]);
        }
    }
    return out;
}
const FRAC_BITS = 11;
const ONE = 1 << FRAC_BITS; // 2048
const HALF_SQ = 1 << (2 * FRAC_BITS - 1);
const ONE_SQ = ONE * ONE;
/** Source index pair and fixed-point weight of the second one, for each destination coordinate. */
function axisTaps(src, dst) {
    const i0 = new Int32Array(dst);
    const i1 = new Int32Array(dst);
    const w1 = new Int32Array(dst);
    const scale = src / dst;
    for (let d = 0; d < dst; d++) {
        let s = (d + 0.5) * scale - 0.5;
        if (s < 0)
            s = 0;
        let a = Math.floor(s);
        if (a > src - 1)
            a = src - 1;
        const b = a + 1 < src ? a + 1 : a;
        let w = Math.round((s - a) * ONE);
        if (w > ONE)
            w = ONE;
        i0[d] = a;
        i1[d] = b;
        w1[d] = b === a ? 0 : w;
    }
    return { i0, i1, w1 };
}
/**
 * Bilinear resize of interleaved C-channel uint8 pixels, half-pixel centres, deterministic integer
 * arithmetic (11-bit weights, round half up). Same size: a copy.
 */
export function resizeBilinear(src, sw, sh, channels, dw, dh) {
    if (![sw, sh, dw, dh, channels].every(isPosInt))
        throw new PreprocessError(`invalid resize ${sw}x${sh} -> ${dw}x${dh} (${channels} channels)`);
    if (src.length !== sw * sh * channels)
        throw new PreprocessError(`pixel data has ${src.length} bytes, expected ${sw * sh * channels}`);
    if (sw === dw && sh === dh)
        return Uint8Array.from(src);
    const out = new Uint8Array(dw * dh * channels);
    const xs = axisTaps(sw, dw);
    const ys = axisTaps(sh, dh);
    const rowStride = sw * channels;
    let o = 0;
    for (let y = 0; y < dh; y++) {
        const r0 = ys.i0[y] * rowStride;
        const r1 = ys.i1[y] * rowStride;
        const wy1 = ys.w1[y];
        const wy0 = ONE - wy1;
        for (let x = 0; x < dw; x++) {
            const c0 = xs.i0[x] * channels;
            const c1 = xs.i1[x] * channels;
            const wx1 = xs.w1[x];
            const wx0 = ONE - wx1;
            for (let c = 0; c < channels; c++) {
                const top = wx0 * src[r0 + c0 + c] + wx1 * src[r0 + c1 + c];
                const bot = wx0 * src[r1 + c0 + c] + wx1 * src[r1 + c1 + c];
                // <= 255 * 2^22 < 2^31: exact in doubles and in int32.
                out[o++] = Math.floor((wy0 * top + wy1 * bot + HALF_SQ) / ONE_SQ);
            }
        }
    }
    return out;
}
/** One decoded RGBA image -> uint8 [H, W, C] for the model (channel conversion, then bilinear resize). */
export function preprocessImage(img, spec) {
    checkImage(img);
    checkChannels(spec.channels);
    if (!isPosInt(spec.height) || !isPosInt(spec.width))
        throw new PreprocessError(`invalid model input size ${spec.height}x${spec.width}`);
    const px = rgbaToChannels(img.data, img.width, img.height, spec.channels);
    return resizeBilinear(px, img.width, img.height, spec.channels, spec.width, spec.height);
}
/** Several images -> one uint8 NHWC batch [N, H, W, C]. */
export function preprocessBatch(imgs, spec) {
    const per = spec.height * spec.width * spec.channels;
    const out = new Uint8Array(imgs.length * per);
    imgs.forEach((img, i) => out.set(preprocessImage(img, spec), i * per));
    return out;
}
// ---------------------------------------------------------------------------------------------------
// Reading the model contract from ONNX metadata_props.
function parseJson(v) {
    if (v === undefined)
        return undefined;
    try {
        return JSON.parse(v);
    }
    catch {
        return undefined;
    }
}
/**
 * The model's input contract from its metadata_props (export/metadata.ts keys: input_name,
 * input_layout, input_dtype, input_size "HxWxC" or input_shape ["N",H,W,C]). Models without these
 * props can pass the graph input's shape (e.g. onnxruntime's inputMetadata) as `fallback`.
 */
export function inputSpecFromMetadata(props, fallback) {
    const name = props[METADATA_KEYS.inputName] || fallback?.name || 'pixels';
    const layout = props[METADATA_KEYS.inputLayout] ?? 'NHWC';
    if (layout !== 'NHWC')
        throw new PreprocessError(`model input layout '${layout}' is not supported (expected NHWC)`);
    const dtype = props[METADATA_KEYS.inputDtype] ?? 'uint8';
    if (dtype !== 'uint8')
        throw new PreprocessError(`model input dtype '${dtype}' is not supported (expected uint8)`);
    let dims;
    const size = props[METADATA_KEYS.inputSize];
    const m = size ? /^(\d+)x(\d+)x(\d+)$/.exec(size.trim()) : null;
    if (m)
        dims = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (!dims) {
        const shape = parseJson(props[METADATA_KEYS.inputShape]);
        if (Array.isArray(shape) && shape.length === 4)
            dims = shape.slice(1);
    }
    if (!dims && fallback?.shape && fallback.shape.length === 4)
        dims = fallback.shape.slice(1);
    if (!dims)
        throw new PreprocessError('cannot tell the model input size: no input_size/input_shape metadata and no 4-d input shape');
    const [height, width, channels] = dims;
    if (!isPosInt(height) || !isPosInt(width) || !isPosInt(channels))
        throw new PreprocessError(`model input size must be positive integers HxWxC, got ${JSON.stringify(dims)}`);
    checkChannels(channels);
    return { name, height, width, channels, layout: 'NHWC', dtype: 'uint8' };
}
/** Class labels from metadata_props (class_labels JSON array); index strings when absent or inconsistent. */
export function labelsFromMetadata(props, numClasses) {
    const v = parseJson(props[METADATA_KEYS.labels]);
    const n = numClasses ?? (Array.isArray(v) ? v.length : Number(props[METADATA_KEYS.numClasses] ?? 0));
    if (Array.isArray(v) && v.length === n)
        return v.map(String);
    return Array.from({ length: n > 0 ? n : 0 }, (_, i) => String(i));
}
/** In-graph normalisation (pixel/255 - mean[c]) / std[c], for display; null when absent. */
export function normalizationFromMetadata(props) {
    const mean = parseJson(props[METADATA_KEYS.normalizationMean]);
    const std = parseJson(props[METADATA_KEYS.normalizationStd]);
    const ok = (a) => Array.isArray(a) && a.every((x) => typeof x === 'number');
    return ok(mean) && ok(std) ? { mean, std } : null;
}
/**
 * metadata_props of a serialised ONNX ModelProto, without decoding the graph: a minimal protobuf
 * scan of the top-level fields (metadata_props is field 14, StringStringEntryProto {1: key, 2: value}).
 */
export function parseOnnxMetadataProps(model) {
    const dec = new TextDecoder('utf-8', { fatal: false });
    const props = {};
    const varint = (buf, pos, end) => {
        let result = 0;
        let mul = 1;
        for (let i = 0; i < 10; i++) {
            if (pos.p >= end)
                throw new PreprocessError('truncated ONNX model (varint)');
            const b = buf[pos.p++];
            result += (b & 0x7f) * mul;
            if ((b & 0x80) === 0)
                return result;
            mul *= 128;
        }
        throw new PreprocessError('malformed ONNX model (varint too long)');
    };
    const skip = (buf, pos, end, wire) => {
        if (wire === 0)
            varint(buf, pos, end);
        else if (wire === 1)
            pos.p += 8;
        else if (wire === 5)
            pos.p += 4;
        else if (wire === 2) {
            const len = varint(buf, pos, end); // read first: `pos.p += varint(...)` would add to the stale pos.p
            pos.p += len;
        }
        else
            throw new PreprocessError(`malformed ONNX model (wire type ${wire})`);
        if (pos.p > end)
            throw new PreprocessError('truncated ONNX model');
    };
    const pos = { p: 0 };
    const end = model.length;
    while (pos.p < end) {
        const tag = varint(model, pos, end);
        const field = Math.floor(tag / 8);
        const wire = tag & 7;
        if (field === 14 && wire === 2) {
            const len = varint(model, pos, end);
            const stop = pos.p + len;
            if (stop > end)
                throw new PreprocessError('truncated ONNX model (metadata_props)');
            let key = '';
            let value = '';
            while (pos.p < stop) {
                const t = varint(model, pos, stop);
                const f = Math.floor(t / 8);
                const w = t & 7;
                if ((f === 1 || f === 2) && w === 2) {
                    const l = varint(model, pos, stop);
                    if (pos.p + l > stop)
                        throw new PreprocessError('truncated ONNX model (metadata entry)');
                    const s = dec.decode(model.subarray(pos.p, pos.p + l));
                    pos.p += l;
                    if (f === 1)
                        key = s;
                    else
                        value = s;
                }
                else
                    skip(model, pos, stop, w);
            }
            props[key] = value;
        }
        else
            skip(model, pos, end, wire);
    }
    return props;
}
//# sourceMappingURL=preprocess.js.map