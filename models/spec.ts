// A model is data: a ModelSpec tree plus named parameter tensors. One interpreter runs it in tfjs
// (models/forward.ts), another turns it into ONNX (export/). Keeping the graph as data is what lets the
// exporter stay faithful to training without re-tracing tfjs internals.

export type Padding = 'same' | 'valid';

export interface Conv2DSpec {
  kind: 'conv2d';
  name: string;
  filters: number;
  kernel: number;
  stride: number;
  padding: Padding;
  useBias: boolean;
}
export interface BatchNormSpec {
  kind: 'batchnorm';
  name: string;
  epsilon: number;
  momentum: number;
}
export interface ReluSpec {
  kind: 'relu';
  name: string;
}
export interface MaxPoolSpec {
  kind: 'maxpool';
  name: string;
  size: number;
  stride: number;
  padding: Padding;
}
export interface GlobalAvgPoolSpec {
  kind: 'globalavgpool';
  name: string;
}
/** Flattens NHWC feature maps in H,W,C order (the exporter permutes the next Dense layer's rows for NCHW). */
export interface FlattenSpec {
  kind: 'flatten';
  name: string;
}
export interface DenseSpec {
  kind: 'dense';
  name: string;
  units: number;
  useBias: boolean;
}
/**
 * Cosine classifier (BCL's / ProConDual's NormedLinear): out = scale * (x / ||x||) . (w_c / ||w_c||) for each
 * column w_c of the kernel [d, units]; no bias. Norms are floored at epsilon, as l2normalize does.
 */
export interface CosineDenseSpec {
  kind: 'cosinedense';
  name: string;
  units: number;
  scale: number;
  epsilon: number;
}
export interface L2NormalizeSpec {
  kind: 'l2normalize';
  name: string;
  epsilon: number;
}
/** out = (postRelu ? relu : id)(body(x) + shortcut(x)); an empty shortcut is the identity. */
export interface ResidualSpec {
  kind: 'residual';
  name: string;
  body: LayerSpec[];
  shortcut: LayerSpec[];
  postRelu: boolean;
}

export type LayerSpec =
  | Conv2DSpec
  | BatchNormSpec
  | ReluSpec
  | MaxPoolSpec
  | GlobalAvgPoolSpec
  | FlattenSpec
  | DenseSpec
  | CosineDenseSpec
  | L2NormalizeSpec
  | ResidualSpec;

export type ModelFamily = 'cnn28' | 'resnet8' | 'resnet20' | 'resnet32';
export const MODEL_FAMILIES: readonly ModelFamily[] = ['cnn28', 'resnet8', 'resnet20', 'resnet32'];

export interface InputSpec {
  height: number;
  width: number;
  channels: number;
  /** Preprocessing that is part of the model: x = (pixel / 255 - mean[c]) / std[c]. */
  mean: number[];
  std: number[];
}

export interface ModelSpec {
  family: ModelFamily;
  input: InputSpec;
  numClasses: number;
  /** Dimension d of backbone features h. */
  featureDim: number;
  /** Dimension k of the projection-head embedding z (and of the prototypes). */
  embeddingDim: number;
  backbone: LayerSpec[];
  /**
   * Classifier on h, kernel [d, C]: linear (logits = h · kernel + bias) or cosine (scale · cos(h, kernel column);
   * --classifier cosine). Specs stored before the cosine option are all linear.
   */
  classifier: DenseSpec | CosineDenseSpec;
  /** Projection head on h; ends with an l2normalize layer. */
  projector: LayerSpec[];
  /** phi: R^d -> R^k, maps classifier rows to prototypes (no bias). */
  prototypeMap: DenseSpec;
}

/** Parameter names: `${layer}/kernel|bias|gamma|beta|movingMean|movingVariance`. */
export type ParamRole = 'kernel' | 'bias' | 'gamma' | 'beta' | 'movingMean' | 'movingVariance';
export const paramName = (layer: string, role: ParamRole): string => `${layer}/${role}`;
export const isTrainableRole = (role: string): boolean => role !== 'movingMean' && role !== 'movingVariance';

/** Calls fn on every leaf layer, depth first, in execution order. */
export function walkLayers(layers: LayerSpec[], fn: (l: LayerSpec) => void): void {
  for (const l of layers) {
    if (l.kind === 'residual') {
      walkLayers(l.body, fn);
      walkLayers(l.shortcut, fn);
    } else fn(l);
  }
}
