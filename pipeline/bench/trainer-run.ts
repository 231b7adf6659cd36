// The tfjs side of bench-train: the synthetic in-memory data set (uint8 noise, imbalance-100 class counts),
// the benchmark's optimiser constants, `runTrainerOnce` (the real trainer of pipeline/train/trainer.ts for
// one epoch; also used by check-train-numerics) and one timed tfjs round on top of it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatasetSplits } from '../data/types.js';
import type { ModelFamily } from '../../models/spec.js';
import type { BenchLoss, BenchTrainOptions, RoundOut } from './train-report.js';

export const MOMENTUM = 0.9;
export const WEIGHT_DECAY = 5e-4;
const NUM_CLASSES = 10;
/** Training class counts for the log prior: an imbalance-100 exponential profile (as Fashion-MNIST-LT). */
export const CLASS_COUNTS = Array.from({ length: NUM_CLASSES }, (_, c) => Math.round(5000 * Math.pow(0.01, c / (NUM_CLASSES - 1))));

function inputOf(model: ModelFamily) {
  return model === 'cnn28'
    ? { height: 28, width: 28, channels: 1, mean: [0.5], std: [0.5] }
    : { height: 32, width: 32, channels: 3, mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26] };
}

/** count uint8 images (LCG noise) with labels i mod C, plus a 1-per-class test set and no validation set. */
export function syntheticSplits(model: ModelFamily, count: number): DatasetSplits {
  const inp = inputOf(model);
  const per = inp.height * inp.width * inp.channels;
  const classNames = Array.from({ length: NUM_CLASSES }, (_, c) => `c${c}`);
  const set = (n: number, seed: number) => {
    const images = new Uint8Array(n * per);
    let s = seed >>> 0;
    for (let i = 0; i < images.length; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      images[i] = (s >>> 8) & 255;
    }
    const labels = Int32Array.from({ length: n }, (_, i) => i % NUM_CLASSES);
    return { images, labels, count: n, height: inp.height, width: inp.width, channels: inp.channels, classNames };
  };
  return {
    name: 'synthetic',
    source: 'bench-train (synthetic uint8 noise)',
    train: set(count, 12345),
    val: set(0, 1),
    test: set(NUM_CLASSES, 999),
    classCounts: CLASS_COUNTS.slice(),
    valCounts: new Array<number>(NUM_CLASSES).fill(0),
    classNames,
    mean: inp.mean,
    std: inp.std,
    imbalanceFactor: CLASS_COUNTS[0]! / CLASS_COUNTS[NUM_CLASSES - 1]!,
    notes: [],
  };
}

/** Where a tfjs backend ran: the WebGPU adapter, or the CPU with the wasm thread count. */
export function backendDetail(details: Record<string, string>): string {
  return details.adapter ?? `cpu, ${details.threads ?? '1 thread'}${details.simd ? `; SIMD kernels: ${details.simd}` : ''}`;
}

export interface TrainerRunOptions {
  model: ModelFamily;
  loss: string;
  batch: number;
  lr: number;
  backend: string;
  /** The in-memory data set: one epoch of it is run (its train split sets the number of steps). */
  data: DatasetSplits;
  onStep: (loss: number) => void;
}

/**
 * The real trainer for one epoch over `data` in a throw-away run directory, with the benchmark's optimiser
 * (constant lr, momentum 0.9, weight decay 5e-4), no augmentation, seed 1 — shared by bench-train and
 * check-train-numerics. Returns the backend that ran.
 */
export async function runTrainerOnce(o: TrainerRunOptions): Promise<{ backend: string; detail: string }> {
  const [{ train }, { resolveConfig }] = await Promise.all([import('../train/trainer.js'), import('../train/config.js')]);
  const dir = mkdtempSync(join(tmpdir(), 'ecl-trainer-run-'));
  const ci = process.env.CI;
  process.env.CI = '1'; // plain progress lines (discarded) instead of a TTY bar
  try {
    const cfg = resolveConfig({
      dataset: o.data.name,
      name: 'bench',
      runsDir: dir,
      model: o.model,
      loss: o.loss,
      batchSize: o.batch,
      epochs: 1,
      lr: o.lr,
      momentum: MOMENTUM,
      weightDecay: WEIGHT_DECAY,
      schedule: 'step',
      stepEpochs: [],
      warmupEpochs: 0,
      augment: false,
      backend: o.backend,
      seed: 1,
    });
    const res = await train(cfg, { data: o.data, log: () => {}, onStep: (_step, l) => o.onStep(l) });
    return { backend: res.backend.name, detail: backendDetail(res.backend.details) };
  } finally {
    if (ci === undefined) delete process.env.CI;
    else process.env.CI = ci;
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One tfjs round: `train()` for warm-up + timed steps; intervals between consecutive onStep calls. */
export async function tfjsRound(model: ModelFamily, loss: BenchLoss, o: BenchTrainOptions): Promise<RoundOut & { backend: string; backendDetail: string; version: string }> {
  const tf = await import('@tensorflow/tfjs-core');
  const total = o.warmup + o.steps;
  const marks: { t: number; cpu: NodeJS.CpuUsage }[] = [];
  const losses: number[] = [];
  const ran = await runTrainerOnce({
    model,
    loss,
    batch: o.batch,
    lr: o.lr,
    backend: o.backend,
    data: syntheticSplits(model, total * o.batch),
    onStep: (l) => {
      marks.push({ t: performance.now(), cpu: process.cpuUsage() });
      losses.push(l);
    },
  });
  if (marks.length !== total) throw new Error(`tfjs: expected ${total} steps, saw ${marks.length}`);
  const stepMs: number[] = [];
  const cpuMs: number[] = [];
  for (let i = o.warmup; i < total; i++) {
    stepMs.push(marks[i]!.t - marks[i - 1]!.t);
    const c0 = marks[i - 1]!.cpu;
    const c1 = marks[i]!.cpu;
    cpuMs.push((c1.user - c0.user + c1.system - c0.system) / 1000);
  }
  return { stepMs, cpuMs, losses, backend: ran.backend, backendDetail: ran.detail, version: tf.version_core };
}
