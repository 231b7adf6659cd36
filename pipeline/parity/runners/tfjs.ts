// The reference runner: the trained tfjs model (models/forward.ts) on a backend chosen by pipeline/backend,
// the one module that sets tfjs backends up.
import * as tf from '@tensorflow/tfjs-core';
import type { ParamStore } from '../../../models/builders.js';
import { forwardClassifier, projectFeatures } from '../../../models/forward.js';
import type { ModelSpec } from '../../../models/spec.js';
import { type BackendChoice, selectBackend } from '../../backend/select.js';
import { ModelState } from '../../train/model-state.js';
import { softmaxRows } from '../metrics.js';
import type { RunnerOutput, Samples } from './types.js';

export interface TfjsRunOptions {
  /** tfjs backend ('wasm', 'cpu', 'auto', ...). */
  backend: string;
  batchSize: number;
  /** Also compute the projection-head embedding. */
  embedding?: boolean;
}

export async function runTfjs(spec: ModelSpec, params: ParamStore, s: Samples, opts: TfjsRunOptions): Promise<RunnerOutput & { backend: BackendChoice }> {
  const { height: H, width: W, channels: Ch } = spec.input;
  const per = H * W * Ch;
  if (!(s.count > 0) || s.images.length < s.count * per)
    throw new Error(`need ${s.count} images of ${H}x${W}x${Ch} (${s.count * per} bytes), got ${s.images.length} bytes`);
  const backend = await selectBackend(opts.backend);
  const K = spec.numClasses;
  const D = spec.embeddingDim;
  const bs = Math.max(1, opts.batchSize);
  const logits = new Float32Array(s.count * K);
  const embedding = opts.embedding ? new Float32Array(s.count * D) : undefined;
  const state = new ModelState(params);
  const pt = state.params();
  const t0 = performance.now();
  try {
    for (let off = 0; off < s.count; off += bs) {
      const b = Math.min(bs, s.count - off);
      const outs = tf.tidy(() => {
        const x = tf.tensor4d(Float32Array.from(s.images.subarray(off * per, (off + b) * per)), [b, H, W, Ch]);
        const { features, logits: l } = forwardClassifier(spec, pt, x, { training: false });
        return embedding ? [l, projectFeatures(spec, pt, features, { training: false })] : [l];
      });
      logits.set((await outs[0]!.data()) as Float32Array, off * K);
      if (embedding) embedding.set((await outs[1]!.data()) as Float32Array, off * D);
      tf.dispose(outs);
    }
  } finally {
    state.dispose();
  }
  const ms = performance.now() - t0;
  return {
    out: { logits, probs: softmaxRows(logits, s.count, K), ...(embedding ? { embedding } : {}) },
    ms,
    ranOn: `tfjs ${backend.name} backend`,
    backend,
  };
}
