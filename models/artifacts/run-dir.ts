// THE owner of the run directory runs/<name>/: the file names every stage reads and writes, and openRun(),
// which reads a run's checkpoint once and hands out typed views of it (spec, config, dataset), so no stage
// re-derives them. Writes go through atomic-write.ts (temp file, then rename).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Checkpoint, checkpointSha256, readCheckpoint } from './checkpoint.js';
import { type DatasetRef, datasetRefOf, parseTrainConfig, type TrainConfig } from './run-config.js';

/** Every file a run directory can hold, by the stage that writes it. */
export const RUN_FILES = {
  /** ecl train: weights + optimiser state + spec + config (checkpoint.ts format). */
  checkpoint: 'checkpoint.ckpt',
  /** ecl train: the resolved TrainConfig. */
  config: 'config.json',
  /** ecl train: the backend that ran and when. */
  runInfo: 'run.json',
  /** ecl train: one JSON line per epoch. */
  metrics: 'metrics.jsonl',
  /** ecl train: wall time, img/s, last epoch. */
  trainSummary: 'train-summary.json',
  /** ecl eval */
  eval: 'eval.json',
  /** ecl export */
  model: 'model.onnx',
  /** ecl parity */
  parityJson: 'parity.json',
  parityMarkdown: 'parity.md',
} as const;

export type RunFile = keyof typeof RUN_FILES;

/** Absolute-or-relative paths of every run file under `dir`. */
export function runPaths(dir: string): Record<RunFile, string> {
  return Object.fromEntries(Object.entries(RUN_FILES).map(([k, f]) => [k, join(dir, f)])) as Record<RunFile, string>;
}

/** runs/<name> for a runs folder and a run name. */
export function runDirOf(cfg: { runsDir: string; name: string }): string {
  return join(cfg.runsDir, cfg.name);
}

export interface OpenRun {
  dir: string;
  paths: Record<RunFile, string>;
  checkpoint: Checkpoint;
  /** sha256 of checkpoint.ckpt's bytes (what an exported model records as checkpoint_sha256). */
  checkpointSha256: string;
  /** The full training config (throws naming the field when the checkpoint's config is incomplete). */
  config(): TrainConfig;
  /** The dataset and split training used (only `dataset` is required in the stored config). */
  dataset(): DatasetRef;
}

/** Reads <dir>/checkpoint.ckpt (verified: checkpoint.ts); a clear error when the run or checkpoint is missing. */
export function openRun(dir: string): OpenRun {
  const paths = runPaths(dir);
  if (!existsSync(paths.checkpoint)) throw new Error(`checkpoint not found: ${paths.checkpoint} (train the run first: ecl train ... --name <name>)`);
  const checkpoint = readCheckpoint(paths.checkpoint);
  const raw = checkpoint.meta.config;
  return {
    dir,
    paths,
    checkpoint,
    checkpointSha256: checkpointSha256(paths.checkpoint),
    config: () => parseTrainConfig(raw, paths.checkpoint),
    dataset: () => datasetRefOf(raw, paths.checkpoint),
  };
}

/**
 * Refuses a model exported from another checkpoint than the run's current one (metadata checkpoint_sha256;
 * models without it, or with 'unknown', pass).
 */
export function assertModelFromCheckpoint(modelPath: string, modelCheckpointSha: string | undefined, run: Pick<OpenRun, 'dir' | 'paths' | 'checkpointSha256'>): void {
  if (!modelCheckpointSha || modelCheckpointSha === 'unknown' || modelCheckpointSha === run.checkpointSha256) return;
  throw new Error(
    `${modelPath} was exported from another checkpoint (sha256 ${modelCheckpointSha.slice(0, 12)}…, ${run.paths.checkpoint} is ${run.checkpointSha256.slice(0, 12)}…); re-export it: ecl export ${run.dir}`,
  );
}

