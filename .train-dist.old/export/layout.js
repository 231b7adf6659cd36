// NHWC (tfjs) -> NCHW (ONNX) conversions done once, at export time, on the weights themselves.
/** tfjs conv kernel [kh, kw, cin, cout] -> ONNX Conv weight [cout, cin, kh, kw] (float64 for folding). */
export function hwioToOihw(k, kh, kw, cin, cout) {
    if (k.length !== kh * kw * cin * cout)
        throw new Error(`conv kernel has ${k.length} values, expected ${kh}x${kw}x${cin}x${cout}`);
    const out = new Float64Array(k.length);
    for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++)
            for (let i = 0; i < cin; i++)
                for (let o = 0; o < cout; o++)
                    out[((o * cin + i) * kh + y) * kw + x] = k[((y * kw + x) * cin + i) * cout + o];
    return out;
}
/**
 * Output size and padding along one spatial axis with TF semantics. 'same': out = ceil(in / stride),
 * total = max((out - 1) * stride + k - in, 0), begin = floor(total / 2), the extra one goes to the end
 * (bottom/right). 'valid': no padding, out = floor((in - k) / stride) + 1.
 */
export function tfPadding(inSize, k, stride, padding) {
    if (!(stride >= 1) || !(k >= 1))
        throw new Error(`invalid kernel ${k} / stride ${stride}`);
    if (padding === 'valid') {
        const out = Math.floor((inSize - k) / stride) + 1;
        if (out < 1)
            throw new Error(`'valid' window ${k} is larger than the input (${inSize})`);
        return { out, begin: 0, end: 0 };
    }
    if (padding !== 'same')
        throw new Error(`unknown padding '${String(padding)}' (expected 'same' or 'valid')`);
    const out = Math.ceil(inSize / stride);
    const total = Math.max((out - 1) * stride + k - inSize, 0);
    const begin = Math.floor(total / 2);
    return { out, begin, end: total - begin };
}
/** ONNX pads [top, left, bottom, right] plus the output size for a 2-D window on an h x w input. */
export function onnxPads2D(h, w, k, stride, padding) {
    const ph = tfPadding(h, k, stride, padding);
    const pw = tfPadding(w, k, stride, padding);
    return { pads: [ph.begin, pw.begin, ph.end, pw.end], outH: ph.out, outW: pw.out };
}
/**
 * Position map between the ONNX flatten of NCHW maps (C,H,W order) and tfjs's flatten of NHWC maps
 * (H,W,C order): perm[p] is the tfjs feature index held at ONNX position p. Null when they coincide.
 */
export function flattenPermutation(c, h, w) {
    if (h * w === 1 || c === 1)
        return null;
    const perm = new Int32Array(c * h * w);
    for (let ch = 0; ch < c; ch++)
        for (let y = 0; y < h; y++)
            for (let x = 0; x < w; x++)
                perm[(ch * h + y) * w + x] = (y * w + x) * c + ch;
    return perm;
}
/** Rows of a [rows, cols] matrix reordered so that row p of the result is row perm[p] of the input. */
export function permuteRows(m, rows, cols, perm) {
    if (perm.length !== rows)
        throw new Error(`row permutation of length ${perm.length} for ${rows} rows`);
    const out = new Float64Array(m.length);
    for (let p = 0; p < rows; p++)
        out.set(m.subarray(perm[p] * cols, perm[p] * cols + cols), p * cols);
    return out;
}
export function inversePermutation(perm) {
    const inv = new Int32Array(perm.length);
    perm.forEach((t, p) => (inv[t] = p));
    return inv;
}
//# sourceMappingURL=layout.js.map