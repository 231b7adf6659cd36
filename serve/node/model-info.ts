// What the server (and the web app it serves) needs to know about an exported model: the graph's
// inputs/outputs and the file's metadata_props, checked against the ONNX contract (models/onnx-contract.ts)
// by its buildModelInfo. The server takes the graph signature from its onnxruntime session; the web app's
// /model/info, which has no session, decodes it from the file with onnx-proto. Both read the metadata with
// the contract's one reader.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { InferenceSession } from 'onnxruntime-node';
import { decodeModel, onnx, valueInfoShape } from '../../export/onnx-builder.js';
import { buildModelInfo, type ModelInfo, parseOnnxMetadataProps, type TensorInfo, type WebModelInfo } from '../../models/onnx-contract.js';

export { defaultModelName } from '../../models/onnx-contract.js';
export type { ModelInfo, TensorInfo, WebModelInfo } from '../../models/onnx-contract.js';

function readModelBytes(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`cannot read model ${path}: ${code === 'ENOENT' ? 'file not found' : (e as Error).message}`);
  }
}

function metadataOf(bytes: Uint8Array, path: string): Record<string, string> {
  try {
    return parseOnnxMetadataProps(bytes);
  } catch (e) {
    throw new Error(`${path} is not a valid ONNX model: ${(e as Error).message}`);
  }
}

/** metadata_props of an ONNX file (graph not decoded). */
export function readModelMetadataProps(path: string): Record<string, string> {
  return metadataOf(readModelBytes(path), path);
}

function tensorInfos(meta: readonly InferenceSession.ValueMetadata[]): TensorInfo[] {
  return meta.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: 'non-tensor', shape: [] }));
}

/** ModelInfo from an open session plus the file's metadata_props (read from `path` unless given). */
export function modelInfoFromSession(session: InferenceSession, path: string, opts: { name?: string; props?: Record<string, string> } = {}): ModelInfo {
  return buildModelInfo({
    path,
    props: opts.props ?? readModelMetadataProps(path),
    inputs: tensorInfos(session.inputMetadata),
    outputs: tensorInfos(session.outputMetadata),
    ...(opts.name ? { name: opts.name } : {}),
  });
}

type ValueInfo = Parameters<typeof valueInfoShape>[0];
const DT = onnx.TensorProto.DataType;
/** ONNX element types -> onnxruntime Tensor.Type names. */
const ORT_TYPE: Record<number, string> = {
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
export function graphSignature(bytes: Uint8Array): { inputs: TensorInfo[]; outputs: TensorInfo[]; props: Record<string, string> } {
  const g = decodeModel(bytes).graph;
  if (!g) throw new Error('the ONNX model has no graph');
  const inits = new Set((g.initializer ?? []).map((t) => t.name ?? ''));
  const info = (vi: ValueInfo): TensorInfo => ({
    name: vi.name ?? '',
    type: ORT_TYPE[vi.type?.tensorType?.elemType ?? -1] ?? 'unknown',
    shape: valueInfoShape(vi),
  });
  return {
    inputs: (g.input ?? []).filter((i) => !inits.has(i.name ?? '')).map(info),
    outputs: (g.output ?? []).map(info),
    props: parseOnnxMetadataProps(bytes),
  };
}

/** GET /model/info of the web app: ModelInfo from the file alone, without the server-side path. */
export function readWebModelInfo(path: string): WebModelInfo {
  const bytes = readModelBytes(path);
  const sig = graphSignature(bytes);
  const { path: _p, ...info } = buildModelInfo({ path, props: sig.props, inputs: sig.inputs, outputs: sig.outputs });
  return { ...info, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
}
