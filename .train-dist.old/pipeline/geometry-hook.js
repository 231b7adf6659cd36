// Per-epoch geometry metrics on the test features h (neural-collapse style diagnostics, docs/ECL.md).
import * as tf from '@tensorflow/tfjs-core';
import { classifierWeights, prototypes } from '../models/forward.js';
import { geometryMetrics } from '../models/metrics/geometry.js';
export async function epochGeometry(spec, params, res, labels) {
    const [w, p] = tf.tidy(() => [classifierWeights(spec, params), prototypes(spec, params)]);
    const W = (await w.data());
    const P = (await p.data());
    tf.dispose([w, p]);
    const g = geometryMetrics({
        features: { data: res.features, cols: spec.featureDim },
        labels: labels.subarray(0, res.count),
        numClasses: spec.numClasses,
        classifierWeights: { data: W, cols: spec.featureDim },
        prototypes: { data: P, cols: spec.embeddingDim },
    });
    return { ...g };
}
//# sourceMappingURL=geometry-hook.js.map