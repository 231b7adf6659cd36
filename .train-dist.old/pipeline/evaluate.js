// Inference over an image set in batches: logits and backbone features, plus the accuracy report.
import * as tf from '@tensorflow/tfjs-core';
import { forwardClassifier } from '../models/forward.js';
import { argmaxRows, classificationReport } from '../models/metrics/classification.js';
export async function runInference(spec, params, set, opts = {}) {
    const bs = opts.batchSize ?? 256;
    const n = opts.limit && opts.limit > 0 ? Math.min(opts.limit, set.count) : set.count;
    const { height: H, width: W, channels: Ch } = spec.input;
    const px = H * W * Ch;
    const C = spec.numClasses;
    const d = spec.featureDim;
    const logits = new Float32Array(n * C);
    const features = new Float32Array(n * d);
    for (let s = 0; s < n; s += bs) {
        const e = Math.min(n, s + bs);
        const batch = new Float32Array(set.images.subarray(s * px, e * px));
        const [l, f] = tf.tidy(() => {
            const x = tf.tensor4d(batch, [e - s, H, W, Ch]);
            const out = forwardClassifier(spec, params, x, { training: false });
            return [out.logits, out.features];
        });
        logits.set((await l.data()), s * C);
        features.set((await f.data()), s * d);
        l.dispose();
        f.dispose();
    }
    return { logits, features, count: n };
}
export function reportFromLogits(res, labels, numClasses, trainClassCounts) {
    const preds = argmaxRows(res.logits, res.count, numClasses);
    return classificationReport(preds, labels.subarray(0, res.count), trainClassCounts);
}
//# sourceMappingURL=evaluate.js.map