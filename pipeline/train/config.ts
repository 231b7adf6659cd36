// Run configuration: defaults, per-dataset presets, validation. The resolved config is stored in the run
// directory and in every checkpoint so `--resume`, `eval` and `export` see exactly what training saw.
import type { TrainConfig } from '../../models/artifacts/run-config.js';
import { MODEL_FAMILIES, type ModelFamily } from '../../models/spec.js';

export type { TrainConfig } from '../../models/artifacts/run-config.js';
import { lossNames } from '../../models/losses/registry.js';
import { parseBackend } from '../backend/select.js';


export const DEFAULTS: Omit<TrainConfig, 'name' | 'dataset' | 'model'> = {
  runsDir: 'runs',
  imbalance: 100,
  valPerClass: 100,
  loss: 'la-ce',
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
};

/** The model each dataset trains by default. */
export function defaultModelFor(dataset: string): ModelFamily {
  return dataset === 'fmnist-lt' || dataset === 'embedded' ? 'cnn28' : 'resnet32';
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
