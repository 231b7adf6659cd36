// ECL (arXiv 2602.09506) and its ablations/baselines as trainer loss plug-ins.
//   ecl         L_LC + lambdaBc * L_BC(ECL) + lambdaCc * L_CC
//   ecl-no-cc   L_LC + lambdaBc * L_BC(ECL)
//   ecl-no-bal  L_LC + lambdaBc * L_BCL     + lambdaCc * L_CC   (BCL's class masses + CC-GE)
//   bcl         L_LC + lambdaBc * L_BCL                          (Zhu et al. 2022)
import * as tf from '@tensorflow/tfjs-core';
import { logitCompensatedCE } from './classification.js';
import { bcEclLoss, bclLoss, ccGeLoss } from './contrastive.js';
function defaultName(variant, useCc) {
    if (variant === 'ecl')
        return useCc ? 'ecl' : 'ecl-no-cc';
    return useCc ? 'ecl-no-bal' : 'bcl';
}
/** The general plug-in: L_LC + lambdaBc * L_contrastive(variant) [+ lambdaCc * L_CC]. */
export function eclFamilyLoss(hp, opts = {}) {
    const variant = opts.variant ?? 'ecl';
    const useCc = opts.useCc ?? true;
    const ccForm = opts.ccForm ?? 'gram';
    const name = opts.name ?? defaultName(variant, useCc);
    if (!(hp.temperature > 0) || !Number.isFinite(hp.temperature)) {
        throw new Error(`${name}: temperature must be a positive finite number, got ${hp.temperature}`);
    }
    for (const key of ['laTau', 'lambdaBc', 'lambdaCc']) {
        if (!Number.isFinite(hp[key]))
            throw new Error(`${name}: ${key} must be a finite number, got ${hp[key]}`);
    }
    return {
        name,
        needsContrastiveViews: true,
        compute(inputs) {
            const { embeddings, embeddingOneHot, prototypes } = inputs;
            if (!embeddings || !embeddingOneHot || !prototypes) {
                throw new Error(`${name}: needs embeddings, embeddingOneHot and prototypes (the trainer must compute the contrastive views)`);
            }
            // tidy keeps the returned tensors (total and the parts) and disposes every intermediate.
            const out = tf.tidy(() => {
                const lc = logitCompensatedCE(inputs, hp.laTau);
                const bc = variant === 'ecl' ? bcEclLoss(embeddings, embeddingOneHot, prototypes, hp.temperature) : bclLoss(embeddings, embeddingOneHot, prototypes, hp.temperature);
                let total = tf.add(lc, tf.mul(tf.scalar(hp.lambdaBc), bc));
                const parts = { lc, bc };
                if (useCc) {
                    const cc = ccGeLoss(inputs.classifierWeights, prototypes, ccForm);
                    total = tf.add(total, tf.mul(tf.scalar(hp.lambdaCc), cc));
                    parts.cc = cc;
                }
                return { total, ...parts };
            });
            const { total, ...parts } = out;
            return { total: total, parts };
        },
    };
}
export const eclLoss = (hp, ccForm = 'gram') => eclFamilyLoss(hp, { variant: 'ecl', useCc: true, ccForm });
export const eclNoCcLoss = (hp) => eclFamilyLoss(hp, { variant: 'ecl', useCc: false });
export const eclNoBalLoss = (hp, ccForm = 'gram') => eclFamilyLoss(hp, { variant: 'bcl', useCc: true, ccForm });
export const bclPlugin = (hp) => eclFamilyLoss(hp, { variant: 'bcl', useCc: false });
//# sourceMappingURL=ecl.js.map