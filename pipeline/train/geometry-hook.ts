// Per-epoch geometry metrics on the test features h (neural-collapse style diagnostics, docs/ECL.md).
import * as tf from '@tensorflow/tfjs-core';
import { classifierWeights, type ParamTensors, prototypes } from '../../models/forward.js';
import { geometryMetrics } from '../../models/metrics/geometry.js';
import type { ModelSpec } from '../../models/spec.js';
import type { InferenceResult } from './evaluate.js';

export async function epochGeometry(spec: ModelSpec, params: ParamTensors, res: InferenceResult, labels: Int32Array): Promise<Record<string, number> | null> {
  const [w, p] = tf.tidy(() => [classifierWeights(spec, params), prototypes(spec, params)]);
  const W = (await w!.data()) as Float32Array;
  const P = (await p!.data()) as Float32Array;
  tf.dispose([w!, p!]);
  const g = geometryMetrics({
    features: { data: res.features, cols: spec.featureDim },
    labels: labels.subarray(0, res.count),
    numClasses: spec.numClasses,
    classifierWeights: { data: W, cols: spec.featureDim },
    prototypes: { data: P, cols: spec.embeddingDim },
  });
  return { ...g };
}
