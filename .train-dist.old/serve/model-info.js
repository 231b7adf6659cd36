// What the server (and the parity harness) needs to know about an exported model: metadata_props
// (labels, input contract, normalisation) read from the .onnx file, and the graph inputs/outputs as
// onnxruntime sees them.
import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { inputSpecFromMetadata, labelsFromMetadata, normalizationFromMetadata, parseOnnxMetadataProps, } from './shared/preprocess.js';
/** metadata_props of an ONNX file (graph not decoded). */
export function readModelMetadataProps(path) {
    let bytes;
    try {
        bytes = readFileSync(path);
    }
    catch (e) {
        const code = e.code;
        throw new Error(`cannot read model ${path}: ${code === 'ENOENT' ? 'file not found' : e.message}`);
    }
    try {
        return parseOnnxMetadataProps(bytes);
    }
    catch (e) {
        throw new Error(`${path} is not a valid ONNX model: ${e.message}`);
    }
}
/** runs/<name>/model.onnx -> <name>; other.onnx -> other. */
export function defaultModelName(path) {
    const file = basename(path);
    const stem = file.replace(/\.onnx$/i, '');
    const name = stem === 'model' ? basename(dirname(path)) || stem : stem;
    return name.replace(/[^A-Za-z0-9._-]/g, '_') || 'model';
}
function tensorInfos(meta) {
    return meta.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: 'non-tensor', shape: [] }));
}
/** ModelInfo from the graph inputs/outputs (as onnxruntime reports them) plus the file's metadata_props. */
export function buildModelInfo(args) {
    const { path, props, inputs, outputs } = args;
    if (inputs.length !== 1)
        throw new Error(`${path}: expected one graph input (uint8 NHWC pixels), found ${inputs.length}`);
    const graphIn = inputs[0];
    const input = inputSpecFromMetadata(props, { name: graphIn.name, shape: graphIn.shape });
    if (input.name !== graphIn.name)
        throw new Error(`${path}: metadata names input '${input.name}' but the graph input is '${graphIn.name}'`);
    if (graphIn.type !== 'uint8')
        throw new Error(`${path}: graph input '${graphIn.name}' is ${graphIn.type}, expected uint8`);
    const fixed = graphIn.shape.slice(1);
    const want = [input.height, input.width, input.channels];
    if (graphIn.shape.length !== 4 || fixed.some((d, i) => typeof d === 'number' && d !== want[i]))
        throw new Error(`${path}: graph input shape [${graphIn.shape.join(', ')}] disagrees with the metadata input size ${want.join('x')}`);
    for (const o of outputs)
        if (o.type !== 'float32')
            throw new Error(`${path}: output '${o.name}' is ${o.type}, expected float32`);
    const probs = outputs.find((o) => o.name === 'probs') ?? outputs.find((o) => o.name === 'logits');
    if (!probs)
        throw new Error(`${path}: the model has neither a 'probs' nor a 'logits' output`);
    const dimC = probs.shape[1];
    const numClasses = typeof dimC === 'number' ? dimC : labelsFromMetadata(props).length;
    return {
        name: args.name || defaultModelName(path),
        path,
        input,
        inputs,
        outputs,
        labels: labelsFromMetadata(props, numClasses),
        numClasses,
        normalization: normalizationFromMetadata(props),
        metadata: props,
    };
}
/** ModelInfo from an open session plus the file's metadata_props (read from `path` unless given). */
export function modelInfoFromSession(session, path, opts = {}) {
    return buildModelInfo({
        path,
        props: opts.props ?? readModelMetadataProps(path),
        inputs: tensorInfos(session.inputMetadata),
        outputs: tensorInfos(session.outputMetadata),
        ...(opts.name ? { name: opts.name } : {}),
    });
}
//# sourceMappingURL=model-info.js.map