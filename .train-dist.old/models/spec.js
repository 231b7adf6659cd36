// A model is data: a ModelSpec tree plus named parameter tensors. One interpreter runs it in tfjs
// (models/forward.ts), another turns it into ONNX (export/). Keeping the graph as data is what lets the
// exporter stay faithful to training without re-tracing tfjs internals.
export const MODEL_FAMILIES = ['cnn28', 'resnet8', 'resnet20', 'resnet32'];
export const paramName = (layer, role) => `${layer}/${role}`;
export const isTrainableRole = (role) => role !== 'movingMean' && role !== 'movingVariance';
/** Calls fn on every leaf layer, depth first, in execution order. */
export function walkLayers(layers, fn) {
    for (const l of layers) {
        if (l.kind === 'residual') {
            walkLayers(l.body, fn);
            walkLayers(l.shortcut, fn);
        }
        else
            fn(l);
    }
}
//# sourceMappingURL=spec.js.map