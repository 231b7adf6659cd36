// ONNX metadata_props (keys: models/onnx-contract.ts METADATA_KEYS): everything a consumer needs to use the model without the training code
// (labels, input contract, normalisation) plus provenance (dataset, loss, backend, commit, checkpoint).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CheckpointMeta } from '../models/artifacts/checkpoint.js';
import { DEFAULT_RESIZE_POLICY, INPUT_NAME, isResizePolicy, METADATA_KEYS as K, OUTPUT_EMBEDDING, RESIZE_POLICIES, type ResizePolicy } from '../models/onnx-contract.js';

/** Loss hyper-parameter names (models/losses/types.ts LossHyperParams). */
const LOSS_HPARAM_KEYS = ['temperature', 'laTau', 'lambdaBc', 'lambdaCc', 'bcForm', 'ccForm'] as const;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The project's git commit (`git rev-parse HEAD` in the repository holding this module), or 'unknown'. */
export function gitCommit(cwd = fileURLToPath(new URL('.', import.meta.url))): string {
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 })
      .toString()
      .trim();
    return /^[0-9a-f]{40,64}$/.test(out) ? out : 'unknown';
  } catch {
    return 'unknown';
  }
}

export function datasetOf(config: Record<string, unknown>): string {
  const d = config.dataset ?? (isRecord(config.data) ? (config.data.dataset ?? config.data.name) : undefined);
  if (typeof d === 'string') return d;
  if (isRecord(d) && typeof d.name === 'string') return d.name;
  return d === undefined ? 'unknown' : JSON.stringify(d);
}

export function lossOf(config: Record<string, unknown>): { name: string; hparams: Record<string, unknown> } {
  const l = config.loss;
  let name = 'unknown';
  let hparams: Record<string, unknown> = {};
  if (typeof l === 'string') name = l;
  else if (isRecord(l)) {
    name = typeof l.name === 'string' ? l.name : 'unknown';
    const { name: _n, ...rest } = l;
    hparams = { ...rest };
  }
  for (const key of ['lossHparams', 'lossHyperParams', 'lossParams', 'hparams']) {
    const v = config[key];
    if (isRecord(v)) hparams = { ...hparams, ...v };
  }
  for (const key of LOSS_HPARAM_KEYS) if (config[key] !== undefined && hparams[key] === undefined) hparams[key] = config[key];
  return { name, hparams };
}

/** The resize policy training used (config.resize), DEFAULT_RESIZE_POLICY when the config has none. */
export function resizeOf(config: Record<string, unknown>): ResizePolicy {
  const r = config.resize;
  if (r === undefined) return DEFAULT_RESIZE_POLICY;
  if (!isResizePolicy(r)) throw new Error(`checkpoint config has resize=${JSON.stringify(r)}, not one of: ${RESIZE_POLICIES.join(', ')}`);
  return r;
}

export interface MetadataInput {
  meta: CheckpointMeta;
  checkpointSha256: string;
  outputs: string[];
  exportTime?: Date;
  gitCommit?: string;
}

export function buildMetadata(inp: MetadataInput): Record<string, string> {
  const { meta } = inp;
  const spec = meta.spec;
  const { height, width, channels, mean, std } = spec.input;
  const config = isRecord(meta.config) ? meta.config : {};
  const loss = lossOf(config);
  const labels =
    Array.isArray(meta.classNames) && meta.classNames.length === spec.numClasses
      ? meta.classNames.map(String)
      : Array.from({ length: spec.numClasses }, (_, i) => String(i));
  const md: Record<string, string> = {
    [K.labels]: JSON.stringify(labels),
    [K.numClasses]: String(spec.numClasses),
    [K.inputName]: INPUT_NAME,
    [K.inputLayout]: 'NHWC',
    [K.inputDtype]: 'uint8',
    [K.inputSize]: `${height}x${width}x${channels}`,
    [K.inputShape]: JSON.stringify(['N', height, width, channels]),
    [K.resize]: resizeOf(config),
    [K.normalization]: JSON.stringify({ formula: '(pixel / 255 - mean[c]) / std[c]', mean, std }),
    [K.normalizationMean]: JSON.stringify(mean),
    [K.normalizationStd]: JSON.stringify(std),
    [K.outputs]: JSON.stringify(inp.outputs),
    [K.dataset]: datasetOf(config),
    [K.loss]: loss.name,
    [K.lossHparams]: JSON.stringify(loss.hparams),
    [K.trainingBackend]: String(meta.backend ?? 'unknown'),
    [K.gitCommit]: inp.gitCommit ?? gitCommit(),
    [K.checkpointSha256]: inp.checkpointSha256,
    [K.modelFamily]: spec.family,
    [K.featureDim]: String(spec.featureDim),
    [K.classifier]: spec.classifier.kind === 'cosinedense' ? `cosine:${spec.classifier.scale}` : 'linear',
    [K.epoch]: String(meta.epoch),
    [K.step]: String(meta.step),
    [K.exportTime]: (inp.exportTime ?? new Date()).toISOString(),
  };
  if (Array.isArray(meta.classCounts)) md[K.classCounts] = JSON.stringify(meta.classCounts);
  if (inp.outputs.includes(OUTPUT_EMBEDDING)) md[K.embeddingDim] = String(spec.embeddingDim);
  return md;
}
