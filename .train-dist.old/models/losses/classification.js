// Cross-entropy and logit-adjusted cross-entropy (Menon et al. 2021): CE on logits + tau * log(pi).
import * as tf from '@tensorflow/tfjs-core';
/** mean_i -log softmax(logits_i)[y_i], via one-hot (no gather). */
export function softmaxCrossEntropy(logits, oneHot) {
    return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), -1))));
}
/** log of training class frequencies, length C. */
export function logPrior(classCounts) {
    const total = classCounts.reduce((a, b) => a + b, 0);
    return classCounts.map((n) => Math.log(Math.max(n, 1) / total));
}
/** LC term: CE on logits + tauLa * log(pi). With tauLa = 0 this is plain CE. */
export function logitCompensatedCE(inputs, tauLa) {
    return tf.tidy(() => {
        if (tauLa === 0)
            return softmaxCrossEntropy(inputs.logits, inputs.oneHot);
        const shift = tf.tensor1d(logPrior(inputs.classCounts).map((v) => v * tauLa));
        return softmaxCrossEntropy(tf.add(inputs.logits, shift), inputs.oneHot);
    });
}
export function ceLoss() {
    return {
        name: 'ce',
        needsContrastiveViews: false,
        compute(inputs) {
            const ce = logitCompensatedCE(inputs, 0);
            return { total: ce, parts: { lc: ce } };
        },
    };
}
export function laCeLoss(laTau = 1) {
    return {
        name: 'la-ce',
        needsContrastiveViews: false,
        compute(inputs) {
            const lc = logitCompensatedCE(inputs, laTau);
            return { total: lc, parts: { lc } };
        },
    };
}
//# sourceMappingURL=classification.js.map