// One training step of the real trainer (pipeline/train/trainer.ts trainStep: forward in training mode, the
// loss plug-in, tf.variableGrads, BN running statistics, SGD with momentum) on fixed weights and a fixed batch,
// outside the training loop. For: the per-kernel profile of a step (`ecl bench-train --profile`), the
// teacher-forced gradient check (wasm kernels vs the tfjs cpu backend) and the PyTorch peer's loss check.
//
// Gradients without reaching into tfjs: the step starts from zero momentum buffers with weight decay 0, so after
// it every momentum buffer v = mu * 0 + g is exactly that parameter's gradient.
import * as tf from '@tensorflow/tfjs-core';
import { buildModelSpec, initParams, type ParamStore } from '../../models/builders.js';
import type { ModelFamily, ModelSpec } from '../../models/spec.js';
import { DEFAULT_LOSS_HPARAMS, createLoss } from '../../models/losses/registry.js';
import type { LossHyperParams } from '../../models/losses/types.js';
import { CLASS_COUNTS } from './trainer-run.js';

export const STEP_CLASSES = 10;

export interface OneStepCase {
  model: ModelFamily;
  loss: 'la-ce' | 'ecl';
  batch: number;
  seed?: number;
  hp?: Partial<LossHyperParams>;
}

export interface OneStepInputs {
  spec: ModelSpec;
  params: ParamStore;
  /** views x batch images, NHWC raw pixel values 0..255, view-major. */
  pixels: Float32Array;
  labels: Int32Array;
  views: 1 | 3;
  classCounts: number[];
  hp: LossHyperParams;
}

/** The model (initParams of `seed`), a batch of LCG-noise pixels (distinct for every view) and labels i*7 mod C. */
export function oneStepInputs(c: OneStepCase): OneStepInputs {
  const input =
    c.model === 'cnn28'
      ? { height: 28, width: 28, channels: 1, mean: [0.5], std: [0.5] }
      : { height: 32, width: 32, channels: 3, mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26] };
  const spec = buildModelSpec(c.model, { numClasses: STEP_CLASSES, input });
  const views = c.loss === 'ecl' ? 3 : 1;
  const pixels = new Float32Array(views * c.batch * input.height * input.width * input.channels);
  let s = (c.seed ?? 1) * 2654435761;
  for (let i = 0; i < pixels.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    pixels[i] = (s >>> 8) & 255;
  }
  const labels = Int32Array.from({ length: c.batch }, (_, i) => (i * 7) % STEP_CLASSES);
  return { spec, params: initParams(spec, c.seed ?? 1), pixels, labels, views, classCounts: CLASS_COUNTS.slice(), hp: { ...DEFAULT_LOSS_HPARAMS, ...c.hp } };
}

export interface OneStepResult {
  lossValue: number;
  parts: Record<string, number>;
  /** Every trainable parameter's gradient of the step's loss (the momentum buffers after the step). */
  grads: ParamStore;
}

/**
 * Runs the trainer's step once on the current tfjs backend. `around` wraps the step call (tf.profile does).
 */
export async function runOneStep(i: OneStepInputs, opts: { lr?: number; around?: (step: () => Promise<void>) => Promise<void> } = {}): Promise<OneStepResult> {
  const [{ trainStep }, { ModelState }] = await Promise.all([import('../train/trainer.js'), import('../train/model-state.js')]);
  const state = new ModelState(i.params);
  try {
    const trainNames = [...state.trainable.keys()];
    const loss = createLoss(i.views === 3 ? 'ecl' : 'la-ce', i.hp);
    let out: { lossValue: number; parts: Record<string, number> } | undefined;
    const step = async () => {
      out = await trainStep(i.spec, state, loss, {
        pixels: i.pixels,
        labels: i.labels,
        B: i.labels.length,
        views: i.views,
        classCounts: i.classCounts,
        lr: opts.lr ?? 0.01,
        momentum: 0.9,
        weightDecay: 0,
        decayed: new Set(),
        trainVars: [...state.trainable.values()],
        trainNames,
      });
    };
    await (opts.around ? opts.around(step) : step());
    return { ...out!, grads: await state.toStore('momentum') };
  } finally {
    state.dispose();
  }
}

export interface KernelTime {
  name: string;
  ms: number;
  calls: number;
}

/**
 * ms per kernel name of one step (after `warmup` unprofiled steps), from tf.profile: each kernel's own timing by
 * the backend (on wasm, wall time around the kernel's call). Kernels that call other kernels count those too.
 */
export async function profileOneStep(i: OneStepInputs, warmup = 1): Promise<{ stepMs: number; kernels: KernelTime[]; kernelMs: number }> {
  for (let w = 0; w < warmup; w++) await runOneStep(i);
  let stepMs = 0;
  let info: Awaited<ReturnType<typeof tf.profile>> | undefined;
  await runOneStep(i, {
    around: async (step) => {
      const t0 = performance.now();
      info = await tf.profile(step);
      stepMs = performance.now() - t0;
    },
  });
  const by = new Map<string, KernelTime>();
  for (const k of info!.kernels) {
    const e = by.get(k.name) ?? { name: k.name, ms: 0, calls: 0 };
    e.ms += Number(k.kernelTimeMs);
    e.calls += 1;
    by.set(k.name, e);
  }
  const kernels = [...by.values()].sort((a, b) => b.ms - a.ms).map((k) => ({ ...k, ms: Number(k.ms.toFixed(2)) }));
  return { stepMs, kernels, kernelMs: kernels.reduce((a, k) => a + k.ms, 0) };
}

/** Per parameter: max |a - b| / max |b| (b the reference); 0/0 = 0. */
export function gradientRelErrors(got: ParamStore, want: ParamStore): { name: string; relErr: number; maxAbsRef: number }[] {
  const out: { name: string; relErr: number; maxAbsRef: number }[] = [];
  for (const [name, w] of want) {
    const g = got.get(name);
    if (!g || g.data.length !== w.data.length) throw new Error(`gradient ${name}: missing or of another size`);
    let num = 0;
    let den = 0;
    for (let k = 0; k < w.data.length; k++) {
      const d = Math.abs(g.data[k]! - w.data[k]!);
      num = Number.isNaN(d) ? Infinity : Math.max(num, d);
      den = Math.max(den, Math.abs(w.data[k]!));
    }
    out.push({ name, relErr: den === 0 ? num : num / den, maxAbsRef: den });
  }
  return out;
}
