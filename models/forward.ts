// The tfjs interpreter for a ModelSpec. Inputs are raw pixel values (0..255, float32, NHWC); the
// model's own preprocessing ((x/255 - mean)/std) is the first thing it does, exactly as the ONNX graph does.
import * as tf from '@tensorflow/tfjs-core';
import { batchNormInference, batchNormReluTraining, batchNormTraining } from './ops/batchnorm.js';
import { type LayerSpec, type ModelSpec, paramName } from './spec.js';

export type ParamTensors = Map<string, tf.Tensor>;

export interface ForwardOptions {
  training: boolean;
  /** In training mode, receives each BatchNorm layer's batch mean/variance (for running-stat updates). */
  onBatchStats?: (layer: string, mean: tf.Tensor1D, variance: tf.Tensor1D) => void;
}

function param(params: ParamTensors, layer: string, role: Parameters<typeof paramName>[1]): tf.Tensor {
  const t = params.get(paramName(layer, role));
  if (!t) throw new Error(`missing parameter ${paramName(layer, role)}`);
  return t;
}

export function preprocess(spec: ModelSpec, pixels: tf.Tensor4D): tf.Tensor4D {
  const { mean, std } = spec.input;
  const scale = tf.tensor1d(std.map((s) => 1 / (255 * s)));
  const shift = tf.tensor1d(mean.map((m, i) => -m / std[i]!));
  return tf.add(tf.mul(pixels, scale), shift);
}

export function runLayers(layers: LayerSpec[], x: tf.Tensor, params: ParamTensors, opts: ForwardOptions): tf.Tensor {
  let y = x;
  for (let i = 0; i < layers.length; i++) {
    const l = layers[i]!;
    // Training: BatchNorm -> ReLU as one op (batchNormReluTraining; same values, fewer full-size passes).
    if (opts.training && l.kind === 'batchnorm' && layers[i + 1]?.kind === 'relu') {
      y = batchNormReluLayer(l, y, params, opts);
      i++;
    } else {
      y = runLayer(l, y, params, opts);
    }
  }
  return y;
}

/** Training-mode BN layer l followed by ReLU, with an optional residual added before the ReLU. */
function batchNormReluLayer(l: Extract<LayerSpec, { kind: 'batchnorm' }>, x: tf.Tensor, params: ParamTensors, opts: ForwardOptions, residual?: tf.Tensor): tf.Tensor {
  const gamma = param(params, l.name, 'gamma') as tf.Tensor1D;
  const beta = param(params, l.name, 'beta') as tf.Tensor1D;
  const { y, mean, variance } = batchNormReluTraining(x, gamma, beta, l.epsilon, residual);
  opts.onBatchStats?.(l.name, mean, variance);
  return y;
}

function runLayer(l: LayerSpec, x: tf.Tensor, params: ParamTensors, opts: ForwardOptions): tf.Tensor {
  switch (l.kind) {
    case 'conv2d': {
      const y = tf.conv2d(x as tf.Tensor4D, param(params, l.name, 'kernel') as tf.Tensor4D, l.stride, l.padding);
      return l.useBias ? tf.add(y, param(params, l.name, 'bias')) : y;
    }
    case 'batchnorm': {
      const gamma = param(params, l.name, 'gamma') as tf.Tensor1D;
      const beta = param(params, l.name, 'beta') as tf.Tensor1D;
      if (opts.training) {
        const { y, mean, variance } = batchNormTraining(x, gamma, beta, l.epsilon);
        opts.onBatchStats?.(l.name, mean, variance);
        return y;
      }
      return batchNormInference(
        x,
        param(params, l.name, 'movingMean') as tf.Tensor1D,
        param(params, l.name, 'movingVariance') as tf.Tensor1D,
        gamma,
        beta,
        l.epsilon,
      );
    }
    case 'relu':
      return tf.relu(x);
    case 'maxpool':
      return tf.maxPool(x as tf.Tensor4D, l.size, l.stride, l.padding);
    case 'globalavgpool':
      return tf.mean(x, [1, 2]);
    case 'flatten':
      return tf.reshape(x, [x.shape[0]!, -1]);
    case 'dense': {
      const y = tf.matMul(x as tf.Tensor2D, param(params, l.name, 'kernel') as tf.Tensor2D);
      return l.useBias ? tf.add(y, param(params, l.name, 'bias')) : y;
    }
    case 'cosinedense':
      return cosineLogits(x as tf.Tensor2D, param(params, l.name, 'kernel') as tf.Tensor2D, l.scale, l.epsilon);
    case 'l2normalize':
      return l2Normalize(x, l.epsilon);
    case 'residual': {
      const last = l.body[l.body.length - 1];
      if (opts.training && l.postRelu && last?.kind === 'batchnorm') {
        // relu(BN(body) + shortcut) as one op.
        const pre = runLayers(l.body.slice(0, -1), x, params, opts);
        const sc = l.shortcut.length ? runLayers(l.shortcut, x, params, opts) : x;
        return batchNormReluLayer(last, pre, params, opts, sc);
      }
      const body = runLayers(l.body, x, params, opts);
      const sc = l.shortcut.length ? runLayers(l.shortcut, x, params, opts) : x;
      const sum = tf.add(body, sc);
      return l.postRelu ? tf.relu(sum) : sum;
    }
  }
}

/** x / max(||x||, eps) along the last axis (the same formula the exporter emits). */
export function l2Normalize(x: tf.Tensor, epsilon = 1e-12): tf.Tensor {
  const norm = tf.sqrt(tf.sum(tf.square(x), -1, true));
  return tf.div(x, tf.maximum(norm, epsilon));
}

/**
 * Cosine classifier: scale * normalise(x) . normalise(kernel columns), x [N, d], kernel [d, C]. Plain tfjs ops
 * (autodiff), the same formula the exporter folds into one Gemm after an l2normalize.
 */
export function cosineLogits(x: tf.Tensor2D, kernel: tf.Tensor2D, scale: number, epsilon = 1e-12): tf.Tensor2D {
  const xn = l2Normalize(x, epsilon) as tf.Tensor2D;
  const wn = tf.div(kernel, tf.maximum(tf.sqrt(tf.sum(tf.square(kernel), 0, true)), epsilon)) as tf.Tensor2D;
  return tf.mul(tf.matMul(xn, wn), tf.scalar(scale));
}

export interface ForwardOutputs {
  features: tf.Tensor2D;
  logits: tf.Tensor2D;
}

/** Backbone + classifier on raw pixels. */
export function forwardClassifier(spec: ModelSpec, params: ParamTensors, pixels: tf.Tensor4D, opts: ForwardOptions): ForwardOutputs {
  const h = runLayers(spec.backbone, preprocess(spec, pixels), params, opts) as tf.Tensor2D;
  const logits = runLayers([spec.classifier], h, params, opts) as tf.Tensor2D;
  return { features: h, logits };
}

/** Projection-head embedding z (L2-normalised) of backbone features h. */
export function projectFeatures(spec: ModelSpec, params: ParamTensors, h: tf.Tensor2D, opts: ForwardOptions): tf.Tensor2D {
  return runLayers(spec.projector, h, params, opts) as tf.Tensor2D;
}

/** Classifier weight matrix W [C, d] (tfjs stores the kernel as [d, C]). */
export function classifierWeights(spec: ModelSpec, params: ParamTensors): tf.Tensor2D {
  return tf.transpose(param(params, spec.classifier.name, 'kernel') as tf.Tensor2D);
}

/** Prototypes P = normalise(phi(W)) [C, k]. */
export function prototypes(spec: ModelSpec, params: ParamTensors): tf.Tensor2D {
  const w = classifierWeights(spec, params);
  const phi = tf.matMul(w, param(params, spec.prototypeMap.name, 'kernel') as tf.Tensor2D);
  return l2Normalize(phi) as tf.Tensor2D;
}
