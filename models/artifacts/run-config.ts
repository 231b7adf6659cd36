// The run configuration as stored in a run directory (config.json) and in every checkpoint's header. Its
// defaults and validation are pipeline/train/config.ts; this is the format, and the checked way to read it
// back from a checkpoint, so no consumer has to trust a cast.
import type { ResizePolicy } from '../onnx-contract.js';
import type { ModelFamily } from '../spec.js';

/**
 * How image files become a dataset (--dataset folder | csv; imageSize and resize also for imagenet-lt / isic2019):
 * which files are read, how they are decoded and split. Part of the run config, of DatasetRef (so a consumer rebuilds
 * the very test split training used) and of the loaders' options.
 */
export interface ImageDataOptions {
  /** CSV file with path,label columns (--dataset csv). */
  csv?: string;
  /** Model input size (square) for image files. */
  imageSize?: number;
  /** Model input channels for image files: 1 (grey) or 3 (RGB). */
  channels?: 1 | 3;
  /** Stratified split fractions when the folder has no val/ and test/ sub-folders. */
  valFraction?: number;
  testFraction?: number;
  /** Skip unreadable images (counted in the run summary) instead of failing. */
  skipBadImages?: boolean;
  /** Normalisation constants given by the user (default: computed on the training split). */
  mean?: number[];
  std?: number[];
  /** How raw images of any size become the model size (models/onnx-contract.ts RESIZE_POLICIES). */
  resize?: ResizePolicy;
}

export interface TrainConfig extends ImageDataOptions {
  name: string;
  runsDir: string;
  dataset: string;
  dataRoot?: string;
  imbalance: number;
  valPerClass: number;
  model: ModelFamily;
  loss: string;
  temperature: number;
  laTau: number;
  lambdaBc: number;
  lambdaCc: number;
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  schedule: 'cosine' | 'step';
  warmupEpochs: number;
  /** Epochs (1-based boundaries) at which the step schedule divides the rate by 10. */
  stepEpochs: number[];
  seed: number;
  backend: string;
  augment: boolean;
  /** Zero padding for random crops (pixels). */
  cropPad: number;
  /** Use only the first N training images (smoke tests); 0 = all. */
  trainLimit: number;
  /** Evaluate on at most N test images per epoch; 0 = all. */
  testLimit: number;
  /** ECL family: BC-ECL class-mass reading and CC-GE form (models/losses/types.ts LossHyperParams). */
  bcForm?: 'mass' | 'mean-vector';
  ccForm?: 'gram' | 'direct';
  /** Training views: 'weak' (crop + flip on all three) or 'reference' (RandAugment / SimCLR, pipeline/data/views.ts). Absent: weak. */
  views?: 'weak' | 'reference';
  /** Classifier head: 'linear' (with bias) or 'cosine' (BCL's NormedLinear). Absent: linear. */
  classifier?: 'linear' | 'cosine';
  /** Projection head with BatchNorm (Linear-BN-ReLU-Linear, BCL's). Absent: false. */
  projBn?: boolean;
  /** Loss-term weights: 'fixed' (1 : lambdaBc : lambdaCc) or 'normalised' (ProConDual's epoch-0 normalisation). Absent: fixed. */
  lossWeights?: 'fixed' | 'normalised';
}

type FieldKind = 'string' | 'number' | 'boolean' | 'number[]' | 'string?' | 'number?' | 'boolean?' | 'number[]?';
const FIELDS: Record<keyof TrainConfig, FieldKind> = {
  name: 'string',
  runsDir: 'string',
  dataset: 'string',
  dataRoot: 'string?',
  imbalance: 'number',
  valPerClass: 'number',
  model: 'string',
  loss: 'string',
  temperature: 'number',
  laTau: 'number',
  lambdaBc: 'number',
  lambdaCc: 'number',
  epochs: 'number',
  batchSize: 'number',
  lr: 'number',
  momentum: 'number',
  weightDecay: 'number',
  schedule: 'string',
  warmupEpochs: 'number',
  stepEpochs: 'number[]',
  seed: 'number',
  backend: 'string',
  augment: 'boolean',
  cropPad: 'number',
  trainLimit: 'number',
  testLimit: 'number',
  csv: 'string?',
  imageSize: 'number?',
  channels: 'number?',
  valFraction: 'number?',
  testFraction: 'number?',
  skipBadImages: 'boolean?',
  mean: 'number[]?',
  std: 'number[]?',
  resize: 'string?',
  bcForm: 'string?',
  ccForm: 'string?',
  views: 'string?',
  classifier: 'string?',
  projBn: 'boolean?',
  lossWeights: 'string?',
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function fits(v: unknown, kind: FieldKind): boolean {
  switch (kind) {
    case 'number[]':
      return Array.isArray(v) && v.every((x) => typeof x === 'number');
    case 'string':
    case 'number':
    case 'boolean':
      return typeof v === kind;
    default:
      return v === undefined || fits(v, kind.slice(0, -1) as FieldKind);
  }
}

/** Checks every field of a stored training config; throws naming the first missing or mistyped one. */
export function assertTrainConfig(raw: unknown, source: string): asserts raw is TrainConfig {
  if (!isRecord(raw)) throw new Error(`${source}: the run config is not an object`);
  for (const [key, kind] of Object.entries(FIELDS) as [keyof TrainConfig, FieldKind][])
    if (!fits(raw[key], kind)) throw new Error(`${source}: run config field '${key}' should be ${kind.replace('?', ' (optional)')}, found ${JSON.stringify(raw[key]) ?? 'nothing'}`);
}

/** The full training config stored by the trainer (checked by assertTrainConfig). */
export function parseTrainConfig(raw: unknown, source: string): TrainConfig {
  assertTrainConfig(raw, source);
  return raw;
}

/** What a consumer needs to rebuild a run's data: the dataset and the long-tail split that training used. */
export interface DatasetRef extends ImageDataOptions {
  dataset: string;
  imbalance: number;
  seed: number;
  dataRoot?: string;
  valPerClass?: number;
}

/**
 * The dataset part of a stored config. Lenient on purpose (defaults: imbalance 100, seed 0), so models written
 * by other tools or fixtures with a partial config can still be checked against their data; `dataset` is required.
 */
export function datasetRefOf(raw: unknown, source: string): DatasetRef {
  const c = isRecord(raw) ? raw : {};
  if (typeof c.dataset !== 'string' || !c.dataset) throw new Error(`${source}: the run config names no dataset`);
  const num = (k: string, d: number) => (typeof c[k] === 'number' ? (c[k] as number) : d);
  return {
    dataset: c.dataset,
    imbalance: num('imbalance', 100),
    seed: num('seed', 0),
    ...(typeof c.dataRoot === 'string' ? { dataRoot: c.dataRoot } : {}),
    ...(typeof c.valPerClass === 'number' ? { valPerClass: c.valPerClass } : {}),
    ...(typeof c.csv === 'string' ? { csv: c.csv } : {}),
    ...(typeof c.imageSize === 'number' ? { imageSize: c.imageSize } : {}),
    ...(c.channels === 1 || c.channels === 3 ? { channels: c.channels } : {}),
    ...(typeof c.valFraction === 'number' ? { valFraction: c.valFraction } : {}),
    ...(typeof c.testFraction === 'number' ? { testFraction: c.testFraction } : {}),
    ...(typeof c.skipBadImages === 'boolean' ? { skipBadImages: c.skipBadImages } : {}),
    ...(nums(c.mean) ? { mean: c.mean } : {}),
    ...(nums(c.std) ? { std: c.std } : {}),
    ...(c.resize === 'center-crop' || c.resize === 'stretch' ? { resize: c.resize } : {}),
  };
}

const nums = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number');
