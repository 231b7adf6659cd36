// The raw-image path of `ecl parity --images DIR`: the original encoded files through each runtime's own
// full path, against the reference on the training-side decode.
//   reference        decodeImageFile (training side, the policy training used) -> tfjs (or ORT-node CPU)
//   serve-classify   the real server: POST /v1/classify?k=<classes> with the file (its decode, preprocess, batcher)
//   ort-web-*        the browser app in Chromium: window.ecl.classifyBlob(file) (browser decode, app preprocess)
//   ort-node-*       the server's decode + preprocess in this process -> onnxruntime-node
//   opencv-dnn       the same pixels as ort-node-* -> OpenCV DNN
// Training uses its run config's resize policy; runtimes apply the one the model's metadata declares: a
// model exported with another policy than training's fails here on non-square images.
import { DEFAULT_RESIZE_POLICY, LEGACY_RESIZE_POLICY, METADATA_KEYS, RESIZE_POLICIES, type ResizePolicy } from '../../models/onnx-contract.js';
import { PARITY_RUNTIMES, type RuntimeName } from '../../serve/shared/ep-policy.js';
import type { ParityModel, PathResult } from './parity-types.js';
import { countDifferentInputs, decodeAll, decodeServingSide, decodeTrainingSide, type DecodeTarget, listRawImages, type RawImage, SERVING_DECODE_TEXT, TRAINING_DECODE_TEXT } from './raw-images.js';
import { runOrtWebRaw } from './runners/ort-web.js';
import { runServeClassify } from './runners/serve-classify.js';
import { errText, type Samples } from './runners/types.js';
import { type RowsCommon, runLocalRows, runReference } from './tensor-path.js';

export interface RawInputs {
  dir: string;
  images: RawImage[];
  /** Reference pixels (training-side decode) and runtime pixels (serving-side decode), NHWC. */
  refPixels: Uint8Array;
  nodePixels: Uint8Array;
  labels: Int32Array;
  resize: { training: ResizePolicy; model: ResizePolicy };
}

const asPolicy = (v: unknown): ResizePolicy | null => ((RESIZE_POLICIES as readonly unknown[]).includes(v) ? (v as ResizePolicy) : null);

export async function rawInputs(m: ParityModel, dir: string, reference: 'tfjs' | 'onnx', log: (l: string) => void): Promise<RawInputs> {
  const images = listRawImages(dir, m.labels);
  log(`${images.length} image files in ${dir}`);
  const [H, W, C] = m.shape;
  const modelPolicy = asPolicy(m.props[METADATA_KEYS.resize]) ?? LEGACY_RESIZE_POLICY;
  // Training's policy: the run config's (default centre-crop); a model alone is taken at its word.
  const cfg = m.run?.checkpoint.meta.config as { resize?: unknown } | undefined;
  const trainingPolicy = m.run ? (asPolicy(cfg?.resize) ?? DEFAULT_RESIZE_POLICY) : reference === 'onnx' ? modelPolicy : DEFAULT_RESIZE_POLICY;
  const per = H * W * C;
  const target = (resize: ResizePolicy): DecodeTarget => ({ height: H, width: W, channels: C as 1 | 3, resize });
  const refPixels = await decodeAll(images, per, (img) => decodeTrainingSide(img.path, target(trainingPolicy)));
  const nodePixels = await decodeAll(images, per, (img) => decodeServingSide(img, target(modelPolicy)));
  return { dir, images, refPixels, nodePixels, labels: Int32Array.from(images, (i) => i.label), resize: { training: trainingPolicy, model: modelPolicy } };
}

export async function runRawRows(c: RowsCommon, r: RawInputs): Promise<PathResult> {
  const m = c.model;
  const n = r.images.length;
  const [H, W, Ch] = m.shape;
  const per = H * W * Ch;
  const all = Array.from({ length: n }, (_, i) => i);
  const refSamples: Samples = { images: r.refPixels, labels: r.labels, count: n };
  const nodeSamples: Samples = { images: r.nodePixels, labels: r.labels, count: n };
  c.log(`reference: ${c.reference === 'tfjs' ? `tfjs ${c.referenceBackend}` : 'onnxruntime-node CPU'} on the training-side decode of ${n} files`);
  const ref = await runReference(c, refSamples);
  const nodeDiffer = countDifferentInputs(r.nodePixels, r.refPixels, per, n);
  const rows: PathResult['rows'] = new Map(await runLocalRows(c, () => ({ s: nodeSamples, index: all }), () => ({ inputsDiffer: nodeDiffer })));

  if (c.rows.includes('serve-classify')) {
    c.log(`serve-classify: ${n} files through POST /v1/classify`);
    try {
      const s = await runServeClassify(m.path, r.images, m.numClasses);
      rows.set('serve-classify', 'unavailable' in s ? s : { index: all, probs: s.probs, ms: s.ms, ranOn: s.ranOn, inputsDiffer: null });
    } catch (e) {
      rows.set('serve-classify', { error: errText(e) });
    }
  }
  const web = c.rows.filter((x): x is RuntimeName => x in PARITY_RUNTIMES && PARITY_RUNTIMES[x as RuntimeName].host === 'web');
  const webRes = await runOrtWebRaw(m.path, web, r.images, { numClasses: m.numClasses, per }, c.batchSize, c.log);
  for (const [rt, w] of webRes)
    rows.set(rt, 'out' in w ? { index: all, logits: w.out.logits, probs: w.out.probs, ms: w.ms, ranOn: w.ranOn, failures: w.failures, inputsDiffer: countDifferentInputs(w.inputs, r.refPixels, per, n) } : w);

  return {
    inputs: { kind: 'images', files: r.images.map((i) => ({ name: i.name, sha256: i.sha256 })) },
    ref: ref.out,
    refInfo: ref.info,
    labels: r.labels,
    rows,
    imageNames: r.images.map((i) => i.name),
    images: {
      dir: r.dir,
      count: n,
      labelled: r.images.filter((i) => i.label >= 0).length,
      files: r.images.map((i) => ({ name: i.name, sha256: i.sha256 })),
      referenceDecode: `${TRAINING_DECODE_TEXT}, resize ${r.resize.training}`,
      runtimeDecode: `${SERVING_DECODE_TEXT}, resize ${r.resize.model} (model metadata)`,
      resize: r.resize,
    },
  };
}
