// Run configuration: defaults, per-dataset presets, validation. The resolved config is stored in the run
// directory and in every checkpoint so `--resume`, `eval` and `export` see exactly what training saw.
import type { TrainConfig } from '../../models/artifacts/run-config.js';
import { MODEL_FAMILIES, type ModelFamily } from '../../models/spec.js';

export type { TrainConfig } from '../../models/artifacts/run-config.js';
import { createLoss, lossNames } from '../../models/losses/registry.js';
import { LOSS_WEIGHT_MODES, PROCONDUAL_CONSTANTS } from '../../models/losses/weights.js';
import { CLASSIFIER_KINDS } from '../../models/builders.js';
import { VIEW_POLICIES } from '../data/views.js';
import { parseBackend } from '../backend/select.js';
import { UsageError } from '../cli/errors.js';
import { CNN28_MAX_IMAGE_SIZE, DEFAULT_IMAGE_SIZE, defaultOwnModel, isOwnDataset, MAX_IMAGE_SIZE, MIN_IMAGE_SIZE } from '../data/own-defaults.js';


export const DEFAULTS: Omit<TrainConfig, 'name' | 'dataset' | 'model'> = {
  runsDir: 'runs',
  imbalance: 100,
  valPerClass: 100,
  loss: 'ecl',
  temperature: 0.2,
  laTau: 1,
  lambdaBc: 1,
  lambdaCc: 1,
  epochs: 12,
  batchSize: 128,
  lr: 0.1,
  momentum: 0.9,
  weightDecay: 5e-4,
  schedule: 'cosine',
  warmupEpochs: 1,
  stepEpochs: [],
  seed: 1,
  backend: 'auto',
  augment: true,
  cropPad: 2,
  trainLimit: 0,
  testLimit: 0,
  views: 'weak',
  classifier: 'linear',
  projBn: false,
  lossWeights: 'fixed',
};

/** The model each dataset trains by default (folder / csv: by image size, see defaultOwnModel). */
export function defaultModelFor(dataset: string, imageSize?: number): ModelFamily {
  if (isOwnDataset(dataset)) return defaultOwnModel(imageSize ?? DEFAULT_IMAGE_SIZE);
  return dataset === 'fmnist-lt' || dataset === 'embedded' ? 'cnn28' : 'resnet32';
}

/**
 * folder / csv: --imbalance absent keeps the data's own class counts (stored as imbalance 1), an image size is
 * always stored, crops pad like defaultAugmentOptions; the options that only mean something for the user's own
 * images are refused elsewhere. Throws UsageError for a combination the user must fix.
 */
function resolveOwnData(cfg: TrainConfig, partial: Partial<TrainConfig>): void {
  const flag = (k: string) => `--${k.replace(/[A-Z]/g, (m) => '-' + m.toLowerCase())}`;
  if (!isOwnDataset(cfg.dataset)) {
    for (const k of ['channels', 'valFraction', 'testFraction', 'skipBadImages', 'mean', 'std'] as const)
      if (partial[k] !== undefined) throw new UsageError(`${flag(k)} applies to --dataset folder | csv only (not ${cfg.dataset})`);
    if (partial.csv !== undefined && cfg.dataset !== 'isic2019') throw new UsageError(`--csv applies to --dataset csv (and isic2019's ground-truth CSV) only`);
    return;
  }
  if (cfg.dataset === 'folder' && !cfg.dataRoot) throw new UsageError('--dataset folder needs --data-root DIR: a folder with one sub-folder of images per class');
  if (cfg.dataset === 'csv' && !cfg.csv) throw new UsageError('--dataset csv needs --csv FILE: a CSV with path,label columns (and optionally split)');
  if (partial.imbalance === undefined) cfg.imbalance = 1;
  const size = (cfg.imageSize ??= DEFAULT_IMAGE_SIZE);
  if (!Number.isInteger(size) || size < MIN_IMAGE_SIZE || size > MAX_IMAGE_SIZE) throw new UsageError(`--image-size must be an integer in [${MIN_IMAGE_SIZE}, ${MAX_IMAGE_SIZE}], got ${size}`);
  if (partial.model === undefined) cfg.model = defaultOwnModel(size);
  if (cfg.model === 'cnn28' && size > CNN28_MAX_IMAGE_SIZE)
    throw new UsageError(
      `--model cnn28 takes images up to ${CNN28_MAX_IMAGE_SIZE} px (its dense layer grows with the image area), not ${size}: use --model resnet8, resnet20 or resnet32, or --image-size ${CNN28_MAX_IMAGE_SIZE} or less`,
    );
  if (cfg.channels !== undefined && cfg.channels !== 1 && cfg.channels !== 3) throw new UsageError(`--channels must be 1 (grey) or 3 (RGB), got ${String(cfg.channels)}`);
  for (const k of ['valFraction', 'testFraction'] as const) {
    const v = cfg[k];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0 && v < 1)) throw new UsageError(`${flag(k)} must be in [0, 1), got ${v}`);
  }
  if ((cfg.valFraction ?? 0) + (cfg.testFraction ?? 0) >= 1) throw new UsageError(`--val-fraction + --test-fraction must be below 1, got ${cfg.valFraction} + ${cfg.testFraction}`);
  if ((cfg.mean === undefined) !== (cfg.std === undefined)) throw new UsageError('--mean and --std go together: give both (one value per channel) or neither');
  if (cfg.mean && cfg.std) {
    if (cfg.mean.length !== cfg.std.length || ![1, 3].includes(cfg.mean.length)) throw new UsageError(`--mean and --std need 1 or 3 values each (one per channel), got ${cfg.mean.length} and ${cfg.std.length}`);
    if (cfg.channels !== undefined && cfg.mean.length !== cfg.channels) throw new UsageError(`--mean/--std have ${cfg.mean.length} value(s) but --channels is ${cfg.channels}`);
    if (!cfg.std.every((v) => v > 0) || !cfg.mean.every((v) => Number.isFinite(v))) throw new UsageError('--std values must be > 0 and --mean values finite');
  }
  if (partial.cropPad === undefined) cfg.cropPad = size <= 28 ? 2 : Math.max(1, Math.round(size / 8));
}

export function resolveConfig(partial: Partial<TrainConfig> & { dataset: string }): TrainConfig {
  const cfg: TrainConfig = {
    ...DEFAULTS,
    model: defaultModelFor(partial.dataset),
    name: partial.name ?? `${partial.dataset}-${partial.loss ?? DEFAULTS.loss}`,
    ...Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)),
  } as TrainConfig;
  if (!(cfg.dataset.startsWith('cifar') || cfg.dataset === 'imagenet-lt' || cfg.dataset === 'isic2019') && partial.cropPad === undefined) cfg.cropPad = 2;
  else if (partial.cropPad === undefined) cfg.cropPad = 4;
  resolveOwnData(cfg, partial);
  // Normalised weights: lambdaBc / lambdaCc are the numerators of the normalised terms, ProConDual's by default.
  if (cfg.lossWeights === 'normalised') {
    if (partial.lambdaBc === undefined) cfg.lambdaBc = PROCONDUAL_CONSTANTS.bc;
    if (partial.lambdaCc === undefined) cfg.lambdaCc = PROCONDUAL_CONSTANTS.cc;
  }
  validateConfig(cfg);
  return cfg;
}

export function validateConfig(c: TrainConfig): void {
  const fail = (m: string) => {
    throw new Error(`invalid config: ${m}`);
  };
  if (!/^[A-Za-z0-9._-]+$/.test(c.name)) fail(`run name '${c.name}' may only contain letters, digits, '.', '_' and '-'`);
  if (!MODEL_FAMILIES.includes(c.model)) fail(`unknown model '${c.model}' (expected one of: ${MODEL_FAMILIES.join(', ')})`);
  if (!lossNames().includes(c.loss)) fail(`unknown loss '${c.loss}' (expected one of: ${lossNames().join(', ')})`);
  parseBackend(c.backend);
  const pos = (k: keyof TrainConfig) => {
    const v = c[k] as number;
    if (!(typeof v === 'number' && Number.isFinite(v) && v > 0)) fail(`${k} must be a positive number, got ${String(v)}`);
  };
  (['epochs', 'batchSize', 'lr', 'temperature', 'imbalance'] as const).forEach(pos);
  if (!Number.isInteger(c.epochs) || !Number.isInteger(c.batchSize)) fail('epochs and batchSize must be integers');
  if (c.batchSize < 2) fail('batchSize must be at least 2');
  if (c.momentum < 0 || c.momentum >= 1) fail(`momentum must be in [0, 1), got ${c.momentum}`);
  if (c.weightDecay < 0) fail('weightDecay must be ≥ 0');
  if (c.schedule !== 'cosine' && c.schedule !== 'step') fail(`schedule must be cosine or step, got '${String(c.schedule)}'`);
  if (c.warmupEpochs < 0 || c.warmupEpochs >= c.epochs + 1) fail('warmupEpochs must be in [0, epochs]');
  if (!Number.isInteger(c.seed) || c.seed < 0) fail('seed must be a non-negative integer');
  if (c.bcForm !== undefined && c.bcForm !== 'mass' && c.bcForm !== 'mean-vector') fail(`bcForm must be mass or mean-vector, got '${String(c.bcForm)}'`);
  if (c.ccForm !== undefined && c.ccForm !== 'gram' && c.ccForm !== 'direct') fail(`ccForm must be gram or direct, got '${String(c.ccForm)}'`);
  if (c.views !== undefined && !(VIEW_POLICIES as readonly string[]).includes(c.views)) fail(`views must be one of ${VIEW_POLICIES.join(', ')}, got '${String(c.views)}'`);
  if (c.views === 'reference' && !c.augment) fail('--views reference is an augmentation policy: it cannot be combined with --no-augment');
  if (c.classifier !== undefined && !(CLASSIFIER_KINDS as readonly string[]).includes(c.classifier)) fail(`classifier must be one of ${CLASSIFIER_KINDS.join(', ')}, got '${String(c.classifier)}'`);
  if (c.projBn !== undefined && typeof c.projBn !== 'boolean') fail(`projBn must be true or false, got ${JSON.stringify(c.projBn)}`);
  if (c.lossWeights !== undefined && !LOSS_WEIGHT_MODES.includes(c.lossWeights)) fail(`lossWeights must be one of ${LOSS_WEIGHT_MODES.join(', ')}, got '${String(c.lossWeights)}'`);
  if (c.lossWeights === 'normalised' && !createLoss(c.loss).needsContrastiveViews)
    fail(`--loss-weights normalised balances the terms of a multi-term loss (ecl, ecl-no-cc, ecl-no-bal, bcl); '${c.loss}' has one term`);
}

/** Learning rate at a (fractional) epoch: linear warm-up, then cosine to 0 or step decay. */
export function learningRate(c: TrainConfig, epochFloat: number): number {
  if (c.warmupEpochs > 0 && epochFloat < c.warmupEpochs) return (c.lr * (epochFloat + 1e-9)) / c.warmupEpochs;
  if (c.schedule === 'cosine') {
    const span = Math.max(c.epochs - c.warmupEpochs, 1e-9);
    const t = Math.min(Math.max((epochFloat - c.warmupEpochs) / span, 0), 1);
    return 0.5 * c.lr * (1 + Math.cos(Math.PI * t));
  }
  const drops = c.stepEpochs.filter((e) => epochFloat >= e).length;
  return c.lr * Math.pow(0.1, drops);
}
