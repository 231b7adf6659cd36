// THE contract between the exporter and every consumer of an exported model (server, browser app, parity):
// graph input/output names, the metadata_props keys, and the one reader of those props. Browser-safe on
// purpose (no node imports, no DOM types): serve/web loads the compiled module as it is.
//
// An exported model takes 'pixels' uint8 NHWC [N, H, W, C] (C = 1 grey or 3 RGB; normalisation happens in
// the graph) and outputs 'logits' [N, classes], 'probs' = softmax(logits) and optionally 'embedding'.

export const INPUT_NAME = 'pixels';
export const OUTPUT_LOGITS = 'logits';
export const OUTPUT_PROBS = 'probs';
export const OUTPUT_EMBEDDING = 'embedding';

export class OnnxContractError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnnxContractError';
  }
}

/** metadata_props keys the exporter writes (export/metadata.ts builds one value per key). */
export const METADATA_KEYS = {
  labels: 'class_labels',
  numClasses: 'num_classes',
  inputName: 'input_name',
  inputLayout: 'input_layout',
  inputDtype: 'input_dtype',
  /** "HxWxC" */
  inputSize: 'input_size',
  /** JSON ["N", H, W, C] */
  inputShape: 'input_shape',
  /** JSON {formula, mean, std} */
  normalization: 'normalization',
  normalizationMean: 'normalization_mean',
  normalizationStd: 'normalization_std',
  outputs: 'outputs',
  dataset: 'dataset',
  loss: 'loss',
  lossHparams: 'loss_hparams',
  trainingBackend: 'training_backend',
  gitCommit: 'git_commit',
  checkpointSha256: 'checkpoint_sha256',
  modelFamily: 'model_family',
  featureDim: 'feature_dim',
  /**
   * 'linear' or 'cosine:<s>' (logits = s * cos(h, w_c), so |logit| <= s). Informational: the graph is complete
   * either way (a cosine classifier exports as l2normalize + Gemm), consumers read 'logits'/'probs' alike.
   */
  classifier: 'classifier',
  epoch: 'epoch',
  step: 'step',
  exportTime: 'export_time',
  classCounts: 'class_counts',
  embeddingDim: 'embedding_dim',
  /** The resize policy training used (RESIZE_POLICIES); every runtime preprocesses raw images with it. */
  resize: 'preprocess_resize',
} as const;

/**
 * How a raw image of any size becomes the model's H x W: 'center-crop' scales the shorter side to the model
 * size and cuts the centre (what training sees); 'stretch' scales each axis on its own (the whole image,
 * squashed). Models exported before the key existed say nothing and are served with 'stretch'.
 */
export const RESIZE_POLICIES = ['center-crop', 'stretch'] as const;
export type ResizePolicy = (typeof RESIZE_POLICIES)[number];
export const DEFAULT_RESIZE_POLICY: ResizePolicy = 'center-crop';
export const LEGACY_RESIZE_POLICY: ResizePolicy = 'stretch';

const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

export const isResizePolicy = (v: unknown): v is ResizePolicy => (RESIZE_POLICIES as readonly unknown[]).includes(v);

/**
 * The resize policy a model declares (metadata key preprocess_resize): missing -> LEGACY_RESIZE_POLICY (models
 * exported before the key existed were served with 'stretch'); any other value is an error, since guessing
 * would feed the model images unlike the ones it was trained on.
 */
export function resizePolicyFromMetadata(props: Readonly<Record<string, string>>): ResizePolicy {
  const v = props[METADATA_KEYS.resize];
  if (v === undefined) return LEGACY_RESIZE_POLICY;
  if (!isResizePolicy(v))
    throw new OnnxContractError(`model metadata ${METADATA_KEYS.resize}='${v}' is not a known resize policy (expected one of: ${RESIZE_POLICIES.join(', ')})`);
  return v;
}

/** Models take 1 (grey) or 3 (RGB) channels. */
export function checkChannels(channels: number): asserts channels is 1 | 3 {
  if (channels !== 1 && channels !== 3) throw new OnnxContractError(`models take 1 (grey) or 3 (RGB) channels, not ${String(channels)}`);
}

/** What the model wants: uint8 NHWC [N, height, width, channels]. */
export interface ModelInputSpec {
  /** Graph input name ('pixels' for exported models). */
  name: string;
  height: number;
  width: number;
  channels: 1 | 3;
  layout: 'NHWC';
  dtype: 'uint8';
}

function parseJson(v: string | undefined): unknown {
  if (v === undefined) return undefined;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * The model's input contract from its metadata_props (export/metadata.ts keys: input_name,
 * input_layout, input_dtype, input_size "HxWxC" or input_shape ["N",H,W,C]). Models without these
 * props can pass the graph input's shape (e.g. onnxruntime's inputMetadata) as `fallback`.
 */
export function inputSpecFromMetadata(
  props: Readonly<Record<string, string>>,
  fallback?: { name?: string; shape?: ReadonlyArray<number | string> },
): ModelInputSpec {
  const name = props[METADATA_KEYS.inputName] || fallback?.name || INPUT_NAME;
  const layout = props[METADATA_KEYS.inputLayout] ?? 'NHWC';
  if (layout !== 'NHWC') throw new OnnxContractError(`model input layout '${layout}' is not supported (expected NHWC)`);
  const dtype = props[METADATA_KEYS.inputDtype] ?? 'uint8';
  if (dtype !== 'uint8') throw new OnnxContractError(`model input dtype '${dtype}' is not supported (expected uint8)`);
  let dims: unknown[] | undefined;
  const size = props[METADATA_KEYS.inputSize];
  const m = size ? /^(\d+)x(\d+)x(\d+)$/.exec(size.trim()) : null;
  if (m) dims = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (!dims) {
    const shape = parseJson(props[METADATA_KEYS.inputShape]);
    if (Array.isArray(shape) && shape.length === 4) dims = shape.slice(1);
  }
  if (!dims && fallback?.shape && fallback.shape.length === 4) dims = fallback.shape.slice(1);
  if (!dims) throw new OnnxContractError('cannot tell the model input size: no input_size/input_shape metadata and no 4-d input shape');
  const [height, width, channels] = dims;
  if (!isPosInt(height) || !isPosInt(width) || !isPosInt(channels))
    throw new OnnxContractError(`model input size must be positive integers HxWxC, got ${JSON.stringify(dims)}`);
  checkChannels(channels);
  return { name, height, width, channels, layout: 'NHWC', dtype: 'uint8' };
}

/** Class labels from metadata_props (class_labels JSON array); index strings when absent or inconsistent. */
export function labelsFromMetadata(props: Readonly<Record<string, string>>, numClasses?: number): string[] {
  const v = parseJson(props[METADATA_KEYS.labels]);
  const n = numClasses ?? (Array.isArray(v) ? v.length : Number(props[METADATA_KEYS.numClasses] ?? 0));
  if (Array.isArray(v) && v.length === n) return v.map(String);
  return Array.from({ length: n > 0 ? n : 0 }, (_, i) => String(i));
}

/** In-graph normalisation (pixel/255 - mean[c]) / std[c], for display; null when absent. */
export function normalizationFromMetadata(props: Readonly<Record<string, string>>): { mean: number[]; std: number[] } | null {
  const mean = parseJson(props[METADATA_KEYS.normalizationMean]);
  const std = parseJson(props[METADATA_KEYS.normalizationStd]);
  const ok = (a: unknown): a is number[] => Array.isArray(a) && a.every((x) => typeof x === 'number');
  return ok(mean) && ok(std) ? { mean, std } : null;
}

/**
 * metadata_props of a serialised ONNX ModelProto, without decoding the graph: a minimal protobuf
 * scan of the top-level fields (metadata_props is field 14, StringStringEntryProto {1: key, 2: value}).
 */
export function parseOnnxMetadataProps(model: Uint8Array): Record<string, string> {
  const dec = new TextDecoder('utf-8', { fatal: false });
  const props: Record<string, string> = {};
  const varint = (buf: Uint8Array, pos: { p: number }, end: number): number => {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos.p >= end) throw new OnnxContractError('truncated ONNX model (varint)');
      const b = buf[pos.p++]!;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new OnnxContractError('malformed ONNX model (varint too long)');
  };
  const skip = (buf: Uint8Array, pos: { p: number }, end: number, wire: number): void => {
    if (wire === 0) varint(buf, pos, end);
    else if (wire === 1) pos.p += 8;
    else if (wire === 5) pos.p += 4;
    else if (wire === 2) {
      const len = varint(buf, pos, end); // read first: `pos.p += varint(...)` would add to the stale pos.p
      pos.p += len;
    }
    else throw new OnnxContractError(`malformed ONNX model (wire type ${wire})`);
    if (pos.p > end) throw new OnnxContractError('truncated ONNX model');
  };
  const pos = { p: 0 };
  const end = model.length;
  while (pos.p < end) {
    const tag = varint(model, pos, end);
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 14 && wire === 2) {
      const len = varint(model, pos, end);
      const stop = pos.p + len;
      if (stop > end) throw new OnnxContractError('truncated ONNX model (metadata_props)');
      let key = '';
      let value = '';
      while (pos.p < stop) {
        const t = varint(model, pos, stop);
        const f = Math.floor(t / 8);
        const w = t & 7;
        if ((f === 1 || f === 2) && w === 2) {
          const l = varint(model, pos, stop);
          if (pos.p + l > stop) throw new OnnxContractError('truncated ONNX model (metadata entry)');
          const s = dec.decode(model.subarray(pos.p, pos.p + l));
          pos.p += l;
          if (f === 1) key = s;
          else value = s;
        } else skip(model, pos, stop, w);
      }
      props[key] = value;
    } else skip(model, pos, end, wire);
  }
  return props;
}

/** One graph input/output, with onnxruntime's element type and symbolic dims as strings. */
export interface TensorInfo {
  name: string;
  /** onnxruntime Tensor.Type: 'uint8', 'float32', ... */
  type: string;
  shape: Array<number | string>;
}

export interface ModelInfo {
  /** Model name used in URLs: --model-name, else runs/<name>/model.onnx -> <name>, else the file stem. */
  name: string;
  path: string;
  input: ModelInputSpec;
  /** How raw images become the input size (resizePolicyFromMetadata). */
  resize: ResizePolicy;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  labels: string[];
  numClasses: number;
  normalization: { mean: number[]; std: number[] } | null;
  /** All metadata_props of the file. */
  metadata: Record<string, string>;
}

/** What GET /model/info returns to the browser app: ModelInfo without the server-side path, plus the file's hash. */
export type WebModelInfo = Omit<ModelInfo, 'path'> & { sha256: string; bytes: number };

/** runs/<name>/model.onnx -> <name>; other.onnx -> other (string-only, so it works in the browser too). */
export function defaultModelName(path: string): string {
  const parts = path.split(/[\\/]/).filter(Boolean);
  const stem = (parts.at(-1) ?? '').replace(/\.onnx$/i, '');
  const name = stem === 'model' ? parts.at(-2) || stem : stem;
  return name.replace(/[^A-Za-z0-9._-]/g, '_') || 'model';
}

/** ModelInfo from the graph inputs/outputs (as onnxruntime reports them) plus the file's metadata_props. */
export function buildModelInfo(args: { path: string; props: Record<string, string>; inputs: TensorInfo[]; outputs: TensorInfo[]; name?: string }): ModelInfo {
  const { path, props, inputs, outputs } = args;
  if (inputs.length !== 1) throw new OnnxContractError(`${path}: expected one graph input (uint8 NHWC pixels), found ${inputs.length}`);
  const graphIn = inputs[0]!;
  const input = inputSpecFromMetadata(props, { name: graphIn.name, shape: graphIn.shape });
  if (input.name !== graphIn.name) throw new OnnxContractError(`${path}: metadata names input '${input.name}' but the graph input is '${graphIn.name}'`);
  if (graphIn.type !== 'uint8') throw new OnnxContractError(`${path}: graph input '${graphIn.name}' is ${graphIn.type}, expected uint8`);
  const fixed = graphIn.shape.slice(1);
  const want = [input.height, input.width, input.channels];
  if (graphIn.shape.length !== 4 || fixed.some((d, i) => typeof d === 'number' && d !== want[i]))
    throw new OnnxContractError(`${path}: graph input shape [${graphIn.shape.join(', ')}] disagrees with the metadata input size ${want.join('x')}`);
  for (const o of outputs) if (o.type !== 'float32') throw new OnnxContractError(`${path}: output '${o.name}' is ${o.type}, expected float32`);
  const probs = outputs.find((o) => o.name === OUTPUT_PROBS) ?? outputs.find((o) => o.name === OUTPUT_LOGITS);
  if (!probs) throw new OnnxContractError(`${path}: the model has neither a 'probs' nor a 'logits' output`);
  let resize: ResizePolicy;
  try {
    resize = resizePolicyFromMetadata(props);
  } catch (e) {
    throw new OnnxContractError(`${path}: ${(e as Error).message}`);
  }
  const dimC = probs.shape[1];
  const numClasses = typeof dimC === 'number' ? dimC : labelsFromMetadata(props).length;
  return {
    name: args.name || defaultModelName(path),
    path,
    input,
    resize,
    inputs,
    outputs,
    labels: labelsFromMetadata(props, numClasses),
    numClasses,
    normalization: normalizationFromMetadata(props),
    metadata: props,
  };
}
