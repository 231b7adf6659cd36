// Accuracy metrics for long-tail classification: top-1, balanced accuracy, per-class accuracy,
// many/medium/few-shot groups (by training-set class size) and the confusion matrix.
export const DEFAULT_SHOTS = { many: 100, few: 20 };
export function argmaxRows(values, rows, cols) {
    const out = new Int32Array(rows);
    for (let r = 0; r < rows; r++) {
        let best = 0;
        let bv = -Infinity;
        for (let c = 0; c < cols; c++) {
            const v = values[r * cols + c];
            if (v > bv) {
                bv = v;
                best = c;
            }
        }
        out[r] = best;
    }
    return out;
}
export function classificationReport(predictions, labels, trainClassCounts, shots = DEFAULT_SHOTS) {
    const C = trainClassCounts.length;
    const n = labels.length;
    if (predictions.length !== n)
        throw new Error(`predictions (${predictions.length}) and labels (${n}) differ in length`);
    const confusion = Array.from({ length: C }, () => new Array(C).fill(0));
    let correct = 0;
    for (let i = 0; i < n; i++) {
        const y = labels[i];
        const p = predictions[i];
        if (y < 0 || y >= C)
            throw new Error(`label ${y} out of range [0, ${C})`);
        confusion[y][p] += 1;
        if (y === p)
            correct++;
    }
    const support = confusion.map((row) => row.reduce((a, b) => a + b, 0));
    const perClassAccuracy = confusion.map((row, c) => (support[c] > 0 ? row[c] / support[c] : null));
    const present = perClassAccuracy.filter((a) => a !== null);
    const group = (pred) => {
        const classes = trainClassCounts.map((cnt, c) => (pred(cnt) ? c : -1)).filter((c) => c >= 0);
        const testImages = classes.reduce((a, c) => a + support[c], 0);
        const hits = classes.reduce((a, c) => a + confusion[c][c], 0);
        return { accuracy: testImages > 0 ? hits / testImages : null, classes, testImages };
    };
    return {
        count: n,
        top1: n ? correct / n : 0,
        balancedAccuracy: present.length ? present.reduce((a, b) => a + b, 0) / present.length : 0,
        perClassAccuracy,
        many: group((c) => c > shots.many),
        medium: group((c) => c >= shots.few && c <= shots.many),
        few: group((c) => c < shots.few),
        confusion,
    };
}
//# sourceMappingURL=classification.js.map