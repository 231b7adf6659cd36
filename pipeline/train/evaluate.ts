// Inference over an image set in batches: logits and backbone features, plus the accuracy report.
import * as tf from '@tensorflow/tfjs-core';
import { forwardClassifier, type ParamTensors } from '../../models/forward.js';
import { argmaxRows, classificationReport, type ClassificationReport } from '../../models/metrics/classification.js';
import type { ModelSpec } from '../../models/spec.js';

export interface ImageBatchSource {
  images: Uint8Array;
  labels: Int32Array;
  count: number;
}

export interface InferenceResult {
  logits: Float32Array;
  features: Float32Array;
  count: number;
}

export async function runInference(
  spec: ModelSpec,
  params: ParamTensors,
  set: ImageBatchSource,
  opts: { batchSize?: number; limit?: number } = {},
): Promise<InferenceResult> {
  const bs = opts.batchSize ?? 256;
  const n = opts.limit && opts.limit > 0 ? Math.min(opts.limit, set.count) : set.count;
  const { height: H, width: W, channels: Ch } = spec.input;
  const px = H * W * Ch;
  const C = spec.numClasses;
  const d = spec.featureDim;
  const logits = new Float32Array(n * C);
  const features = new Float32Array(n * d);
  for (let s = 0; s < n; s += bs) {
    const e = Math.min(n, s + bs);
    const batch = new Float32Array(set.images.subarray(s * px, e * px));
    const [l, f] = tf.tidy(() => {
      const x = tf.tensor4d(batch, [e - s, H, W, Ch]);
      const out = forwardClassifier(spec, params, x, { training: false });
      return [out.logits, out.features];
    });
    logits.set((await l!.data()) as Float32Array, s * C);
    features.set((await f!.data()) as Float32Array, s * d);
    l!.dispose();
    f!.dispose();
  }
  return { logits, features, count: n };
}

export function reportFromLogits(res: InferenceResult, labels: Int32Array, numClasses: number, trainClassCounts: number[]): ClassificationReport {
  const preds = argmaxRows(res.logits, res.count, numClasses);
  return classificationReport(preds, labels.subarray(0, res.count), trainClassCounts);
}
