// Builders for the project's model families and their seeded parameter initialisation.
import { deriveRng } from './rng.js';
import {
  type CosineDenseSpec,
  type DenseSpec,
  type InputSpec,
  type LayerSpec,
  type ModelFamily,
  type ModelSpec,
  MODEL_FAMILIES,
  paramName,
  walkLayers,
} from './spec.js';

export interface BuildOptions {
  numClasses: number;
  input: InputSpec;
  /** Projection-head output size k (default 128 for cnn28, 64 for ResNets). */
  embeddingDim?: number;
  /** 'linear' (default: dense with bias) or 'cosine' (BCL's / ProConDual's NormedLinear, scale COSINE_SCALE). */
  classifier?: ClassifierKind;
  /** Projection head Linear-BN-ReLU-Linear as BCL's (default false: Linear-ReLU-Linear). */
  projectionBatchNorm?: boolean;
}

export type ClassifierKind = 'linear' | 'cosine';
export const CLASSIFIER_KINDS: readonly ClassifierKind[] = ['linear', 'cosine'];
/** s of the cosine classifier: NormedLinear's `self.s = 30` in BCL (models/resnext.py) and ProConDual (models/resnet.py). */
export const COSINE_SCALE = 30;

const BN_EPS = 1e-5;
const BN_MOMENTUM = 0.9;

const conv = (name: string, filters: number, kernel: number, stride = 1): LayerSpec => ({
  kind: 'conv2d',
  name,
  filters,
  kernel,
  stride,
  padding: 'same',
  useBias: false,
});
const bn = (name: string): LayerSpec => ({ kind: 'batchnorm', name, epsilon: BN_EPS, momentum: BN_MOMENTUM });
const relu = (name: string): LayerSpec => ({ kind: 'relu', name });
const dense = (name: string, units: number, useBias = true): DenseSpec => ({ kind: 'dense', name, units, useBias });
const cosineDense = (name: string, units: number): CosineDenseSpec => ({ kind: 'cosinedense', name, units, scale: COSINE_SCALE, epsilon: 1e-12 });

/** Small CNN for 28x28 inputs: two conv/BN/ReLU/max-pool stages, flatten, dense 128. */
function cnn28Backbone(): { layers: LayerSpec[]; dim: number } {
  return {
    layers: [
      conv('conv1', 32, 3),
      bn('bn1'),
      relu('relu1'),
      { kind: 'maxpool', name: 'pool1', size: 2, stride: 2, padding: 'valid' },
      conv('conv2', 64, 3),
      bn('bn2'),
      relu('relu2'),
      { kind: 'maxpool', name: 'pool2', size: 2, stride: 2, padding: 'valid' },
      { kind: 'flatten', name: 'flatten' },
      dense('fc', 128),
      relu('fc_relu'),
    ],
    dim: 128,
  };
}

/** CIFAR ResNet (He et al. 2016): 3 stages of n basic blocks, 16/32/64 channels, depth 6n+2. */
function cifarResNetBackbone(depth: number): { layers: LayerSpec[]; dim: number } {
  if ((depth - 2) % 6 !== 0) throw new Error(`ResNet depth must be 6n+2, got ${depth}`);
  const n = (depth - 2) / 6;
  const layers: LayerSpec[] = [conv('stem_conv', 16, 3), bn('stem_bn'), relu('stem_relu')];
  let inCh = 16;
  [16, 32, 64].forEach((ch, stage) => {
    for (let b = 0; b < n; b++) {
      const stride = stage > 0 && b === 0 ? 2 : 1;
      const p = `s${stage + 1}b${b + 1}`;
      const body = [conv(`${p}_conv1`, ch, 3, stride), bn(`${p}_bn1`), relu(`${p}_relu1`), conv(`${p}_conv2`, ch, 3), bn(`${p}_bn2`)];
      // Projection shortcut (1x1 conv + BN) where the shape changes: exports as plain Conv, no padding tricks.
      const shortcut = stride !== 1 || inCh !== ch ? [conv(`${p}_sc_conv`, ch, 1, stride), bn(`${p}_sc_bn`)] : [];
      layers.push({ kind: 'residual', name: p, body, shortcut, postRelu: true });
      inCh = ch;
    }
  });
  layers.push({ kind: 'globalavgpool', name: 'gap' });
  return { layers, dim: 64 };
}

export function buildModelSpec(family: ModelFamily, opts: BuildOptions): ModelSpec {
  let bb: { layers: LayerSpec[]; dim: number };
  switch (family) {
    case 'cnn28':
      bb = cnn28Backbone();
      break;
    case 'resnet8':
      bb = cifarResNetBackbone(8);
      break;
    case 'resnet20':
      bb = cifarResNetBackbone(20);
      break;
    case 'resnet32':
      bb = cifarResNetBackbone(32);
      break;
    default:
      throw new Error(`unknown model '${String(family)}' (expected one of: ${MODEL_FAMILIES.join(', ')})`);
  }
  const d = bb.dim;
  const k = opts.embeddingDim ?? (family === 'cnn28' ? 128 : 64);
  const classifierKind = opts.classifier ?? 'linear';
  if (!CLASSIFIER_KINDS.includes(classifierKind)) throw new Error(`unknown classifier '${String(classifierKind)}' (expected one of: ${CLASSIFIER_KINDS.join(', ')})`);
  return {
    family,
    input: opts.input,
    numClasses: opts.numClasses,
    featureDim: d,
    embeddingDim: k,
    backbone: bb.layers,
    classifier: classifierKind === 'cosine' ? cosineDense('classifier', opts.numClasses) : dense('classifier', opts.numClasses),
    projector: [
      dense('proj_fc1', d),
      ...(opts.projectionBatchNorm ? [bn('proj_bn')] : []),
      relu('proj_relu'),
      dense('proj_fc2', k),
      { kind: 'l2normalize', name: 'proj_norm', epsilon: 1e-12 },
    ],
    prototypeMap: dense('proto_map', k, false),
  };
}

export interface ParamTensor {
  shape: number[];
  data: Float32Array;
}
export type ParamStore = Map<string, ParamTensor>;

/** Output shape [h, w, c] or [units] after each layer, to size parameters. */
function inferShapes(layers: LayerSpec[], inShape: number[], onLayer: (l: LayerSpec, inShape: number[]) => void): number[] {
  let s = inShape;
  for (const l of layers) {
    onLayer(l, s);
    switch (l.kind) {
      case 'conv2d': {
        const [h, w] = s as [number, number, number];
        const out = (x: number) => (l.padding === 'same' ? Math.ceil(x / l.stride) : Math.floor((x - l.kernel) / l.stride) + 1);
        s = [out(h), out(w), l.filters];
        break;
      }
      case 'maxpool': {
        const [h, w, c] = s as [number, number, number];
        const out = (x: number) => (l.padding === 'same' ? Math.ceil(x / l.stride) : Math.floor((x - l.size) / l.stride) + 1);
        s = [out(h), out(w), c];
        break;
      }
      case 'globalavgpool':
        s = [s[2]!];
        break;
      case 'flatten':
        s = [s.reduce((a, b) => a * b, 1)];
        break;
      case 'dense':
      case 'cosinedense':
        s = [l.units];
        break;
      case 'residual': {
        const a = inferShapes(l.body, s, onLayer);
        inferShapes(l.shortcut, s, onLayer);
        s = a;
        break;
      }
      default:
        break;
    }
  }
  return s;
}

/** Input shape seen by every named layer (used by the exporter for flatten permutations, and by init). */
export function layerInputShapes(spec: ModelSpec): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const rec = (l: LayerSpec, s: number[]) => m.set(l.name, s);
  const h = inferShapes(spec.backbone, [spec.input.height, spec.input.width, spec.input.channels], rec);
  if (h.length !== 1 || h[0] !== spec.featureDim) throw new Error(`backbone output ${JSON.stringify(h)} != featureDim ${spec.featureDim}`);
  inferShapes([spec.classifier], h, rec);
  inferShapes(spec.projector, h, rec);
  inferShapes([spec.prototypeMap], h, rec);
  return m;
}

/** He-normal conv/dense kernels, zero biases, BN gamma 1 / beta 0, from a seed. */
export function initParams(spec: ModelSpec, seed: number): ParamStore {
  const store: ParamStore = new Map();
  const shapes = layerInputShapes(spec);
  const rng = deriveRng(seed, 'init');
  const normal = (n: number, std: number) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = rng.normal() * std;
    return a;
  };
  const put = (name: string, shape: number[], data?: Float32Array, fill = 0) => {
    const n = shape.reduce((a, b) => a * b, 1);
    store.set(name, { shape, data: data ?? new Float32Array(n).fill(fill) });
  };
  const visit = (l: LayerSpec) => {
    const inS = shapes.get(l.name);
    if (!inS) throw new Error(`no input shape for layer ${l.name}`);
    if (l.kind === 'conv2d') {
      const cin = inS[2]!;
      const shape = [l.kernel, l.kernel, cin, l.filters];
      put(paramName(l.name, 'kernel'), shape, normal(l.kernel * l.kernel * cin * l.filters, Math.sqrt(2 / (l.kernel * l.kernel * cin))));
      if (l.useBias) put(paramName(l.name, 'bias'), [l.filters]);
    } else if (l.kind === 'dense') {
      const din = inS[0]!;
      put(paramName(l.name, 'kernel'), [din, l.units], normal(din * l.units, Math.sqrt(2 / din)));
      if (l.useBias) put(paramName(l.name, 'bias'), [l.units]);
    } else if (l.kind === 'cosinedense') {
      // NormedLinear's init: uniform(-1, 1) columns renormalised to unit norm (renorm_(2, 1, 1e-5).mul_(1e5)).
      const din = inS[0]!;
      const w = new Float32Array(din * l.units);
      for (let i = 0; i < w.length; i++) w[i] = 2 * rng.next() - 1;
      for (let c = 0; c < l.units; c++) {
        let n = 0;
        for (let r = 0; r < din; r++) n += w[r * l.units + c]! ** 2;
        const inv = 1 / Math.sqrt(n);
        for (let r = 0; r < din; r++) w[r * l.units + c]! *= inv;
      }
      put(paramName(l.name, 'kernel'), [din, l.units], w);
    } else if (l.kind === 'batchnorm') {
      const c = inS[inS.length - 1]!;
      put(paramName(l.name, 'gamma'), [c], undefined, 1);
      put(paramName(l.name, 'beta'), [c]);
      put(paramName(l.name, 'movingMean'), [c]);
      put(paramName(l.name, 'movingVariance'), [c], undefined, 1);
    }
  };
  walkLayers(spec.backbone, visit);
  walkLayers([spec.classifier], visit);
  walkLayers(spec.projector, visit);
  walkLayers([spec.prototypeMap], visit);
  // A linear classifier starts small so early logits are near uniform (a cosine one is scale-free: unit columns).
  if (spec.classifier.kind === 'dense') {
    const ck = store.get(paramName(spec.classifier.name, 'kernel'))!;
    const std = Math.sqrt(1 / spec.featureDim);
    for (let i = 0; i < ck.data.length; i++) ck.data[i] = ck.data[i]! * (std / Math.sqrt(2));
  }
  return store;
}
