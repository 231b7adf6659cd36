// ECL (arXiv 2602.09506) and its ablations/baselines as trainer loss plug-ins.
// (L_LC is weighted by lambdaLc, 1 unless --loss-weights normalised sets it.)
//   ecl         L_LC + lambdaBc * L_BC(ECL) + lambdaCc * L_CC
//   ecl-no-cc   L_LC + lambdaBc * L_BC(ECL)
//   ecl-no-bal  L_LC + lambdaBc * L_BCL     + lambdaCc * L_CC   (BCL's class masses + CC-GE)
//   bcl         L_LC + lambdaBc * L_BCL                          (Zhu et al. 2022)
import * as tf from '@tensorflow/tfjs-core';
import { logitCompensatedCE } from './classification.js';
import { bcEclLoss, bcEclMeanVectorLoss, bclLoss, ccGeLoss, type CcForm, type ContrastiveVariant } from './contrastive.js';
import type { LossHyperParams, LossInputs, LossOutput, LossPlugin } from './types.js';

export interface EclOptions {
  /** Balanced-contrastive class-mass rule: ECL's (default) or BCL's. */
  variant?: ContrastiveVariant;
  /** Include the CC-GE term (default true). */
  useCc?: boolean;
  /** CC-GE form (default 'gram'; 'direct' needs d = k). */
  ccForm?: CcForm;
  /** Plug-in name reported to the trainer (default derived from the switches). */
  name?: string;
}

function defaultName(variant: ContrastiveVariant, useCc: boolean): string {
  if (variant !== 'bcl') return useCc ? 'ecl' : 'ecl-no-cc';
  return useCc ? 'ecl-no-bal' : 'bcl';
}

/** The general plug-in: L_LC + lambdaBc * L_contrastive(variant) [+ lambdaCc * L_CC]. */
export function eclFamilyLoss(hp: LossHyperParams, opts: EclOptions = {}): LossPlugin {
  const variant = opts.variant ?? 'ecl';
  const useCc = opts.useCc ?? true;
  const ccForm = opts.ccForm ?? 'gram';
  const name = opts.name ?? defaultName(variant, useCc);
  if (!(hp.temperature > 0) || !Number.isFinite(hp.temperature)) {
    throw new Error(`${name}: temperature must be a positive finite number, got ${hp.temperature}`);
  }
  const lambdaLc = hp.lambdaLc ?? 1;
  for (const [key, v] of [['laTau', hp.laTau], ['lambdaLc', lambdaLc], ['lambdaBc', hp.lambdaBc], ['lambdaCc', hp.lambdaCc]] as const) {
    if (!Number.isFinite(v)) throw new Error(`${name}: ${key} must be a finite number, got ${v}`);
  }
  return {
    name,
    needsContrastiveViews: true,
    compute(inputs: LossInputs): LossOutput {
      const { embeddings, embeddingOneHot, prototypes } = inputs;
      if (!embeddings || !embeddingOneHot || !prototypes) {
        throw new Error(`${name}: needs embeddings, embeddingOneHot and prototypes (the trainer must compute the contrastive views)`);
      }
      // tidy keeps the returned tensors (total and the parts) and disposes every intermediate.
      const out = tf.tidy(() => {
        const lc = logitCompensatedCE(inputs, hp.laTau);
        const bc =
          variant === 'ecl'
            ? bcEclLoss(embeddings, embeddingOneHot, prototypes, hp.temperature)
            : variant === 'ecl-mean-vector'
              ? bcEclMeanVectorLoss(embeddings, embeddingOneHot, prototypes, hp.temperature)
              : bclLoss(embeddings, embeddingOneHot, prototypes, hp.temperature);
        const lcWeighted = lambdaLc === 1 ? lc : tf.mul(tf.scalar(lambdaLc), lc);
        let total = tf.add(lcWeighted, tf.mul(tf.scalar(hp.lambdaBc), bc)) as tf.Scalar;
        const parts: Record<string, tf.Scalar> = { lc, bc };
        if (useCc) {
          const cc = ccGeLoss(inputs.classifierWeights, prototypes, ccForm);
          total = tf.add(total, tf.mul(tf.scalar(hp.lambdaCc), cc)) as tf.Scalar;
          parts.cc = cc;
        }
        return { total, ...parts } as Record<string, tf.Scalar>;
      });
      const { total, ...parts } = out;
      return { total: total!, parts };
    },
  };
}

export const eclLoss = (hp: LossHyperParams, ccForm: CcForm = 'gram'): LossPlugin => eclFamilyLoss(hp, { variant: 'ecl', useCc: true, ccForm });
export const eclNoCcLoss = (hp: LossHyperParams): LossPlugin => eclFamilyLoss(hp, { variant: 'ecl', useCc: false });
export const eclNoBalLoss = (hp: LossHyperParams, ccForm: CcForm = 'gram'): LossPlugin => eclFamilyLoss(hp, { variant: 'bcl', useCc: true, ccForm });
export const bclPlugin = (hp: LossHyperParams): LossPlugin => eclFamilyLoss(hp, { variant: 'bcl', useCc: false });
