// Loss names accepted by `--loss`, mapped to plug-ins.
import { ceLoss, laCeLoss } from './classification.js';
import type { ContrastiveVariant } from './contrastive.js';
import { bclPlugin, eclFamilyLoss, eclNoBalLoss } from './ecl.js';

/** ECL's contrastive variant for the chosen BC form. */
const eclVariant = (hp: LossHyperParams): ContrastiveVariant => (hp.bcForm === 'mean-vector' ? 'ecl-mean-vector' : 'ecl');
import type { LossHyperParams, LossPlugin } from './types.js';

export const DEFAULT_LOSS_HPARAMS: LossHyperParams = { temperature: 0.2, laTau: 1, lambdaBc: 1, lambdaCc: 1 };

const factories: Record<string, (hp: LossHyperParams) => LossPlugin> = {
  ce: () => ceLoss(),
  'la-ce': (hp) => laCeLoss(hp.laTau),
  // ECL and its ablations / the BCL baseline (docs/ECL.md). All need the contrastive views.
  ecl: (hp) => eclFamilyLoss(hp, { variant: eclVariant(hp), useCc: true, ccForm: hp.ccForm ?? 'gram', name: 'ecl' }),
  'ecl-no-cc': (hp) => eclFamilyLoss(hp, { variant: eclVariant(hp), useCc: false, name: 'ecl-no-cc' }),
  'ecl-no-bal': (hp) => eclNoBalLoss(hp, hp.ccForm ?? 'gram'),
  bcl: (hp) => bclPlugin(hp),
};

export function lossNames(): string[] {
  return Object.keys(factories);
}

export function createLoss(name: string, hp: Partial<LossHyperParams> = {}): LossPlugin {
  const f = factories[name];
  if (!f) throw new Error(`unknown loss '${name}' (expected one of: ${lossNames().join(', ')})`);
  return f({ ...DEFAULT_LOSS_HPARAMS, ...hp });
}

/** For other modules (ECL, BCL) to add themselves. */
export function registerLoss(name: string, f: (hp: LossHyperParams) => LossPlugin): void {
  factories[name] = f;
}
