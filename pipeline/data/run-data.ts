// A run's data again, for the stages that read a finished run (eval, export-check, parity): its DatasetRef
// (models/artifacts/run-config.ts, from the checkpoint's config) -> the same loadDataset options training used.
import { dirname, join, resolve } from 'node:path';
import type { DatasetRef } from '../../models/artifacts/run-config.js';
import { loadDataset, type LoadDatasetOptions } from './registry.js';
import type { DatasetSplits } from './types.js';

/** loadDataset options from a DatasetRef; `extra` adds or overrides (dataRoot from the command line, cacheDir, log). */
export function loadOptionsOf(ref: DatasetRef, extra: Partial<LoadDatasetOptions> = {}): LoadDatasetOptions {
  const o: LoadDatasetOptions = { imbalance: ref.imbalance, seed: ref.seed };
  const put = <K extends keyof LoadDatasetOptions>(k: K, v: LoadDatasetOptions[K] | undefined) => {
    if (v !== undefined) o[k] = v;
  };
  put('root', ref.dataRoot);
  put('valPerClass', ref.valPerClass);
  put('csv', ref.csv);
  put('imageSize', ref.imageSize);
  put('channels', ref.channels);
  put('valFraction', ref.valFraction);
  put('testFraction', ref.testFraction);
  put('skipBadImages', ref.skipBadImages);
  put('mean', ref.mean);
  put('std', ref.std);
  put('resize', ref.resize);
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) (o as unknown as Record<string, unknown>)[k] = v;
  return o;
}

/** The run's dataset, split as in training. */
export function loadRunData(ref: DatasetRef, extra: Partial<LoadDatasetOptions> = {}): Promise<DatasetSplits> {
  return loadDataset(ref.dataset, loadOptionsOf(ref, extra));
}

/** The decoded-image cache of the runs folder a run lives in: runs/<name> -> runs/.cache (what training used). */
export function runCacheDir(runDir: string): string {
  return join(dirname(resolve(runDir)), '.cache');
}
