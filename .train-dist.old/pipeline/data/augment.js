import { imageSize } from './types.js';
/** pad 2 for <= 28 px, else side/8 (4 for 32 px, 8 for 64 px); flip; modest jitter (0.2) for RGB. */
export function defaultAugmentOptions(set) {
    const side = Math.min(set.height, set.width);
    return {
        pad: side <= 28 ? 2 : Math.max(1, Math.round(side / 8)),
        flip: true,
        jitter: set.channels === 3 ? { brightness: 0.2, contrast: 0.2, saturation: 0.2 } : null,
    };
}
function checkIndex(set, index) {
    if (!(index >= 0 && index < set.count) || !Number.isInteger(index))
        throw new Error(`image index ${index} out of range [0, ${set.count - 1}]`);
}
/** The un-augmented image `index` as floats 0..255 into out[outOffset ...]. */
export function copyInto(out, outOffset, set, index) {
    checkIndex(set, index);
    const per = imageSize(set);
    const base = index * per;
    out.set(set.images.subarray(base, base + per), outOffset);
}
/** One augmented view of image `index` as floats 0..255 into out[outOffset ...]. */
export function augmentInto(out, outOffset, set, index, rng, opts) {
    checkIndex(set, index);
    const H = set.height;
    const W = set.width;
    const C = set.channels;
    const per = H * W * C;
    const src = set.images;
    const base = index * per;
    const pad = opts.pad | 0;
    const oy = pad > 0 ? rng.int(2 * pad + 1) - pad : 0;
    const ox = pad > 0 ? rng.int(2 * pad + 1) - pad : 0;
    const flip = opts.flip ? rng.next() < 0.5 : false;
    const j = C === 3 ? opts.jitter : null;
    let bri = 1;
    let con = 1;
    let sat = 1;
    if (j) {
        bri = 1 + (2 * rng.next() - 1) * j.brightness;
        con = 1 + (2 * rng.next() - 1) * j.contrast;
        sat = 1 + (2 * rng.next() - 1) * j.saturation;
    }
    // Geometric part: out(y, x) = src(y + oy, x' + ox) with x' = W - 1 - x when flipped, else x; 0 outside the
    // source. Loops specialised for 1 and 3 channels (the common cases), generic otherwise.
    const rowLen = W * C;
    const step = flip ? -C : C;
    for (let y = 0; y < H; y++) {
        const sy = y + oy;
        const rowOut = outOffset + y * rowLen;
        if (sy < 0 || sy >= H) {
            out.fill(0, rowOut, rowOut + rowLen);
            continue;
        }
        const rowSrc = base + sy * rowLen;
        let sx = (flip ? W - 1 : 0) + ox;
        const dsx = flip ? -1 : 1;
        let s = rowSrc + sx * C;
        let o = rowOut;
        if (C === 1) {
            for (let x = 0; x < W; x++, sx += dsx, s += step, o++)
                out[o] = sx >= 0 && sx < W ? src[s] : 0;
        }
        else if (C === 3) {
            for (let x = 0; x < W; x++, sx += dsx, s += step, o += 3) {
                if (sx >= 0 && sx < W) {
                    out[o] = src[s];
                    out[o + 1] = src[s + 1];
                    out[o + 2] = src[s + 2];
                }
                else {
                    out[o] = 0;
                    out[o + 1] = 0;
                    out[o + 2] = 0;
                }
            }
        }
        else {
            for (let x = 0; x < W; x++, sx += dsx, s += step, o += C)
                for (let c = 0; c < C; c++)
                    out[o + c] = sx >= 0 && sx < W ? src[s + c] : 0;
        }
    }
    if (!j)
        return;
    // Colour jitter on the source pixels of the view (zero padding stays zero).
    // Contrast blends with the mean grey level of the brightness-adjusted source image.
    let grey = 0;
    for (let p = base, end = base + per; p < end; p += 3)
        grey += 0.299 * src[p] + 0.587 * src[p + 1] + 0.114 * src[p + 2];
    const meanGrey = (bri * grey) / (H * W);
    // brightness then contrast: (v * bri - meanGrey) * con + meanGrey = v * scale + shift
    const scale = bri * con;
    const shift = meanGrey * (1 - con);
    const y0 = Math.max(0, -oy);
    const y1 = Math.min(H, H - oy);
    const xa = flip ? ox : -ox; // the output columns that came from the source
    const x0 = Math.max(0, xa);
    const x1 = Math.min(W, W + xa);
    for (let y = y0; y < y1; y++) {
        let o = outOffset + (y * W + x0) * 3;
        for (let x = x0; x < x1; x++, o += 3) {
            let r = out[o] * scale + shift;
            let g = out[o + 1] * scale + shift;
            let b = out[o + 2] * scale + shift;
            const gr = 0.299 * r + 0.587 * g + 0.114 * b;
            r = (r - gr) * sat + gr;
            g = (g - gr) * sat + gr;
            b = (b - gr) * sat + gr;
            out[o] = r < 0 ? 0 : r > 255 ? 255 : r;
            out[o + 1] = g < 0 ? 0 : g > 255 ? 255 : g;
            out[o + 2] = b < 0 ? 0 : b > 255 ? 255 : b;
        }
    }
}
/**
 * A batch of images (augmented when `opts` is non-null, else plain copies) as floats 0..255, N x H x W x C.
 * Writes into `out` when given (a longer buffer is used through a view of its first N*H*W*C elements).
 */
export function makeBatch(set, indices, rng, opts, out) {
    const per = imageSize(set);
    const need = indices.length * per;
    let buf;
    if (!out)
        buf = new Float32Array(need);
    else if (out.length === need)
        buf = out;
    else if (out.length > need)
        buf = out.subarray(0, need);
    else
        throw new Error(`makeBatch: output buffer holds ${out.length} floats, the batch needs ${need} (${indices.length} x ${per})`);
    if (opts && !rng)
        throw new Error('makeBatch: augmentation needs an rng');
    for (let k = 0; k < indices.length; k++) {
        if (opts)
            augmentInto(buf, k * per, set, indices[k], rng, opts);
        else
            copyInto(buf, k * per, set, indices[k]);
    }
    return buf;
}
/** Labels of a batch, into `out` when given (same reuse rules as makeBatch). */
export function makeBatchLabels(set, indices, out) {
    const n = indices.length;
    let buf;
    if (!out)
        buf = new Int32Array(n);
    else if (out.length === n)
        buf = out;
    else if (out.length > n)
        buf = out.subarray(0, n);
    else
        throw new Error(`makeBatchLabels: output buffer holds ${out.length} labels, the batch needs ${n}`);
    for (let k = 0; k < n; k++) {
        const i = indices[k];
        if (!(i >= 0 && i < set.count))
            throw new Error(`image index ${i} out of range [0, ${set.count - 1}]`);
        buf[k] = set.labels[i];
    }
    return buf;
}
//# sourceMappingURL=augment.js.map