// Numeric comparison of one runtime's outputs with the reference (the trained tfjs model).
//
// Element-wise pass rule (numpy.allclose): |a - r| <= atol + rtol * |r|, on every logit and every probability.
// Relative error is reported as |a - r| / max(|r|, atol): values smaller than atol are judged on the absolute
// scale, so near-zero references do not produce meaningless relative errors.
/** The q-quantile (0..1) of values, linear interpolation (numpy's default); 0 for an empty array. */
export function quantile(values, q) {
    const n = values.length;
    if (n === 0)
        return 0;
    const s = Float64Array.from(values).sort();
    const pos = (n - 1) * Math.min(1, Math.max(0, q));
    const lo = Math.floor(pos);
    const hi = Math.min(n - 1, lo + 1);
    return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}
export function errorStats(a, r, tol) {
    if (a.length !== r.length)
        throw new Error(`length mismatch: ${a.length} values vs ${r.length} reference values`);
    const n = a.length;
    const abs = new Float64Array(n);
    const rel = new Float64Array(n);
    let maxAbs = 0;
    let maxRel = 0;
    let sumAbs = 0;
    let sumRel = 0;
    const floor = tol.atol > 0 ? tol.atol : Number.MIN_VALUE;
    for (let i = 0; i < n; i++) {
        const d = Math.abs(a[i] - r[i]);
        const e = Number.isFinite(d) ? d : Infinity;
        const q = e / Math.max(Math.abs(r[i]), floor);
        abs[i] = e;
        rel[i] = q;
        if (e > maxAbs)
            maxAbs = e;
        if (q > maxRel)
            maxRel = q;
        sumAbs += e;
        sumRel += q;
    }
    return {
        maxAbs,
        meanAbs: n ? sumAbs / n : 0,
        p99Abs: quantile(abs, 0.99),
        maxRel,
        meanRel: n ? sumRel / n : 0,
        p99Rel: quantile(rel, 0.99),
    };
}
export function argmaxRow(a, off, c) {
    let best = 0;
    for (let j = 1; j < c; j++)
        if (a[off + j] > a[off + best])
            best = j;
    return best;
}
export function softmaxRows(logits, n, c) {
    const out = new Float32Array(n * c);
    for (let i = 0; i < n; i++) {
        let m = -Infinity;
        for (let j = 0; j < c; j++)
            m = Math.max(m, logits[i * c + j]);
        let s = 0;
        for (let j = 0; j < c; j++)
            s += out[i * c + j] = Math.exp(logits[i * c + j] - m);
        for (let j = 0; j < c; j++)
            out[i * c + j] /= s;
    }
    return out;
}
/** Compares a runtime's outputs with the reference's for `count` images of `numClasses` classes. */
export function compareOutputs(cand, ref, labels, count, numClasses, tol) {
    const total = count * numClasses;
    for (const [what, arr] of [
        ['candidate logits', cand.logits],
        ['candidate probs', cand.probs],
        ['reference logits', ref.logits],
        ['reference probs', ref.probs],
    ])
        if (arr.length !== total)
            throw new Error(`${what}: ${arr.length} values, expected ${count} x ${numClasses} = ${total}`);
    let violations = 0;
    let worst = null;
    let worstExcess = -Infinity;
    let nonFinite = 0;
    for (const output of ['logits', 'probs']) {
        const a = cand[output];
        const r = ref[output];
        for (let i = 0; i < total; i++) {
            const v = a[i];
            if (!Number.isFinite(v))
                nonFinite++;
            const d = Math.abs(v - r[i]);
            const allowed = tol.atol + tol.rtol * Math.abs(r[i]);
            if (!(d <= allowed)) {
                violations++;
                const excess = Number.isFinite(d) ? d - allowed : Infinity;
                if (excess > worstExcess || worst === null) {
                    worstExcess = excess;
                    worst = { output, sample: Math.floor(i / numClasses), classIndex: i % numClasses, value: v, reference: r[i], absError: d, allowed };
                }
            }
        }
    }
    let cosMin = Infinity;
    let cosSum = 0;
    let agree = 0;
    let correct = 0;
    const disagree = [];
    for (let i = 0; i < count; i++) {
        let dot = 0;
        let na = 0;
        let nr = 0;
        for (let j = 0; j < numClasses; j++) {
            const x = cand.logits[i * numClasses + j];
            const y = ref.logits[i * numClasses + j];
            dot += x * y;
            na += x * x;
            nr += y * y;
        }
        const cos = na === 0 && nr === 0 ? 1 : dot / (Math.sqrt(na) * Math.sqrt(nr) || Number.MIN_VALUE);
        const c = Number.isFinite(cos) ? cos : -1;
        cosMin = Math.min(cosMin, c);
        cosSum += c;
        const pa = argmaxRow(cand.logits, i * numClasses, numClasses);
        const pr = argmaxRow(ref.logits, i * numClasses, numClasses);
        if (pa === pr)
            agree++;
        else
            disagree.push(i);
        if (pa === labels[i])
            correct++;
    }
    return {
        count,
        numClasses,
        logits: errorStats(cand.logits, ref.logits, tol),
        probs: errorStats(cand.probs, ref.probs, tol),
        cosine: { min: count ? cosMin : 1, mean: count ? cosSum / count : 1 },
        top1Agreement: count ? agree / count : 1,
        top1Disagreements: disagree.slice(0, 100),
        accuracy: count ? correct / count : 0,
        violations,
        worst,
        nonFinite,
        pass: violations === 0 && nonFinite === 0,
    };
}
/** n indices spread evenly over [0, total): a deterministic subset that covers every class of a class-sorted split. */
export function evenlySpaced(total, n) {
    const k = Math.max(0, Math.min(total, Math.floor(n)));
    return Array.from({ length: k }, (_, i) => Math.floor((i * total) / k));
}
//# sourceMappingURL=metrics.js.map