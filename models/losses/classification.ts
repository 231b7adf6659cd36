// Cross-entropy and logit-adjusted cross-entropy (Menon et al. 2021): CE on logits + tau * log(pi).
import * as tf from '@tensorflow/tfjs-core';
import type { LossInputs, LossOutput, LossPlugin } from './types.js';

/** mean_i -log softmax(logits_i)[y_i], via one-hot (no gather). */
export function softmaxCrossEntropy(logits: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), -1))) as tf.Scalar);
}

/** log of training class frequencies, length C. A class without training images is an error, not a count of 1. */
export function logPrior(classCounts: number[]): number[] {
  classCounts.forEach((n, c) => {
    if (!(Number.isFinite(n) && n > 0)) throw new Error(`logit adjustment: class ${c} has ${n} training images; every class needs at least one`);
  });
  const total = classCounts.reduce((a, b) => a + b, 0);
  return classCounts.map((n) => Math.log(n / total));
}

/** LC term: CE on logits + tauLa * log(pi). With tauLa = 0 this is plain CE. */
export function logitCompensatedCE(inputs: Pick<LossInputs, 'logits' | 'oneHot' | 'classCounts'>, tauLa: number): tf.Scalar {
  return tf.tidy(() => {
    if (tauLa === 0) return softmaxCrossEntropy(inputs.logits, inputs.oneHot);
    const shift = tf.tensor1d(logPrior(inputs.classCounts).map((v) => v * tauLa));
    return softmaxCrossEntropy(tf.add(inputs.logits, shift), inputs.oneHot);
  });
}

export function ceLoss(): LossPlugin {
  return {
    name: 'ce',
    needsContrastiveViews: false,
    compute(inputs: LossInputs): LossOutput {
      const ce = logitCompensatedCE(inputs, 0);
      return { total: ce, parts: { lc: ce } };
    },
  };
}

export function laCeLoss(laTau = 1): LossPlugin {
  return {
    name: 'la-ce',
    needsContrastiveViews: false,
    compute(inputs: LossInputs): LossOutput {
      const lc = logitCompensatedCE(inputs, laTau);
      return { total: lc, parts: { lc } };
    },
  };
}
