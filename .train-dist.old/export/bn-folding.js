// Inference-mode BatchNorm as a per-channel affine map, and folding it into the preceding linear op.
// tfjs (models/ops/batchnorm.ts): y = (x - mean) * gamma * rsqrt(var + eps) + beta
//   = x * scale + shift, scale = gamma / sqrt(var + eps), shift = beta - mean * scale.
// Folding is done in float64 and rounded to float32 once.
export function batchNormAffine(bn, layer = 'batchnorm') {
    const c = bn.gamma.length;
    for (const [k, v] of [
        ['beta', bn.beta],
        ['movingMean', bn.movingMean],
        ['movingVariance', bn.movingVariance],
    ])
        if (v.length !== c)
            throw new Error(`batchnorm ${layer}: ${k} has ${v.length} channels, gamma has ${c}`);
    const scale = new Float64Array(c);
    const shift = new Float64Array(c);
    for (let i = 0; i < c; i++) {
        const v = bn.movingVariance[i] + bn.epsilon;
        if (!(v > 0))
            throw new Error(`batchnorm ${layer}: movingVariance[${i}] + epsilon = ${v} is not positive`);
        scale[i] = bn.gamma[i] / Math.sqrt(v);
        shift[i] = bn.beta[i] - bn.movingMean[i] * scale[i];
    }
    return { scale, shift };
}
/** Applies y' = y * scale + shift to the linear op's output, in place: W' = W * scale, b' = b * scale + shift. */
export function foldAffineInto(lin, aff, layer = 'batchnorm') {
    const c = lin.outChannels;
    if (aff.scale.length !== c)
        throw new Error(`batchnorm ${layer}: ${aff.scale.length} channels, preceding op has ${c} outputs`);
    const w = lin.weight;
    if (lin.outAxis === 0) {
        const per = w.length / c;
        for (let o = 0; o < c; o++) {
            const s = aff.scale[o];
            for (let j = 0; j < per; j++)
                w[o * per + j] *= s;
        }
    }
    else {
        for (let i = 0; i < w.length; i++)
            w[i] *= aff.scale[i % c];
    }
    const b = lin.bias ?? new Float64Array(c);
    for (let o = 0; o < c; o++)
        b[o] = b[o] * aff.scale[o] + aff.shift[o];
    lin.bias = b;
}
//# sourceMappingURL=bn-folding.js.map