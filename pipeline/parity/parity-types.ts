// Types and tables shared by the parity harness and its two input paths (tensor-path.ts, raw-path.ts).
import type { OpenRun } from '../../models/artifacts/run-dir.js';
import { PARITY_RUNTIMES, type RuntimeClass, type RuntimeName, RUNTIMES } from '../../serve/shared/ep-policy.js';
import type { RowName, RowOutput, RuntimeResult } from './evaluate.js';
import type { Tolerance } from './metrics.js';
import type { ModelOutputs } from './runners/types.js';
import type { InputsId } from './saved-outputs.js';

/** Every row `--runtimes` can name: the EP policy's runtimes, OpenCV DNN, and the server (raw images only). */
export const PARITY_ROWS = [...RUNTIMES, 'opencv-dnn', 'serve-classify'] as const;
export type ParityRow = (typeof PARITY_ROWS)[number];

/** Label and class of each row. */
export const ROW_INFO: Record<ParityRow, { label: string; cls: RuntimeClass }> = {
  ...(Object.fromEntries(RUNTIMES.map((r) => [r, { label: PARITY_RUNTIMES[r].label, cls: PARITY_RUNTIMES[r].cls }])) as Record<RuntimeName, { label: string; cls: RuntimeClass }>),
  'opencv-dnn': { label: 'OpenCV DNN CPU (python3-opencv)', cls: 'cpu' },
  'serve-classify': { label: 'server POST /v1/classify (onnxruntime-node)', cls: 'cpu' },
};
/** @deprecated use ROW_INFO */
export const RUNTIME_INFO = ROW_INFO;

export const DEFAULT_TOLERANCES: Record<RuntimeClass, Tolerance> = {
  cpu: { atol: 1e-4, rtol: 1e-3 },
  gpu: { atol: 1e-3, rtol: 1e-3 },
};
export const DEFAULT_WEBGPU_SAMPLES = 64;

export interface ParityReport {
  run: string | null;
  mode: 'tensors' | 'images';
  model: { path: string; sha256: string };
  checkpoint: { path: string; sha256: string; epoch: number } | null;
  /** Tensor path: the dataset split. */
  dataset?: { name: string; split: 'test'; size: number; samples: number; webgpuSamples: number };
  /** Raw-image path: the folder, the files and the decoders. */
  images?: { dir: string; count: number; labelled: number; files: { name: string; sha256: string }[]; referenceDecode: string; runtimeDecode: string; resize: { training: string; model: string } };
  reference: { runtime: 'tfjs' | 'ort-node-cpu'; backend: string; accuracy: number | null; inferenceMs: number; ranOn: string };
  /** Where the training class counts (many/medium/few groups) came from. */
  classCounts: { source: 'checkpoint' | 'model metadata' | 'none'; counts: number[] | null };
  tolerances: Record<RuntimeClass, Tolerance>;
  results: RuntimeResult[];
  passed: boolean;
  /** One line per failing runtime. */
  failures: string[];
  machine: { platform: string; arch: string; cpus: number; node: string };
  createdAt: string;
}

/** What the input paths share: the model, the reference's outputs and how to name things. */
export interface ParityModel {
  path: string;
  sha256: string;
  props: Record<string, string>;
  run: OpenRun | null;
  shape: [number, number, number];
  numClasses: number;
  labels: string[];
  inputName: string;
}

export interface PathResult {
  inputs: InputsId;
  ref: ModelOutputs;
  refInfo: ParityReport['reference'];
  labels: Int32Array;
  rows: Map<RowName, RowOutput | { unavailable: string } | { error: string }>;
  imageNames?: string[];
  dataset?: ParityReport['dataset'];
  images?: ParityReport['images'];
}

/** Accuracy of a reference against labels (-1 = unknown); null when nothing is labelled. */
export function labelledAccuracy(logits: Float32Array, labels: Int32Array, C: number): number | null {
  let n = 0;
  let ok = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]! < 0) continue;
    n++;
    let best = 0;
    for (let j = 1; j < C; j++) if (logits[i * C + j]! > logits[i * C + best]!) best = j;
    if (best === labels[i]) ok++;
  }
  return n ? ok / n : null;
}
