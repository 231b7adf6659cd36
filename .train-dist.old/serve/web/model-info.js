// Model info for the browser app, from the ONNX file alone (no onnxruntime session): the graph's
// inputs/outputs are decoded with onnx-proto, then serve/model-info.ts (the server's ModelInfo) checks them
// against the exporter's metadata_props, so the browser and the node server read the same contract.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { decodeModel, metadataMap, onnx, valueInfoShape } from '../../export/onnx-builder.js';
import { buildModelInfo } from '../model-info.js';
const DT = onnx.TensorProto.DataType;
/** ONNX element types -> onnxruntime Tensor.Type names. */
const ORT_TYPE = {
    [DT.FLOAT]: 'float32',
    [DT.UINT8]: 'uint8',
    [DT.INT8]: 'int8',
    [DT.INT32]: 'int32',
    [DT.INT64]: 'int64',
    [DT.FLOAT16]: 'float16',
    [DT.DOUBLE]: 'float64',
    [DT.BOOL]: 'bool',
};
/** Graph inputs (initializers excluded) and outputs of a serialised ONNX model, plus its metadata_props. */
export function graphSignature(bytes) {
    const model = decodeModel(bytes);
    const g = model.graph;
    if (!g)
        throw new Error('the ONNX model has no graph');
    const inits = new Set((g.initializer ?? []).map((t) => t.name ?? ''));
    const info = (vi) => ({
        name: vi.name ?? '',
        type: ORT_TYPE[vi.type?.tensorType?.elemType ?? -1] ?? 'unknown',
        shape: valueInfoShape(vi),
    });
    return {
        inputs: (g.input ?? []).filter((i) => !inits.has(i.name ?? '')).map(info),
        outputs: (g.output ?? []).map(info),
        props: metadataMap(model),
    };
}
export function readWebModelInfo(path) {
    const bytes = readFileSync(path);
    const sig = graphSignature(bytes);
    const { path: _p, ...info } = buildModelInfo({ path, props: sig.props, inputs: sig.inputs, outputs: sig.outputs });
    return { ...info, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
}
//# sourceMappingURL=model-info.js.map