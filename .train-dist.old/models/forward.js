// The tfjs interpreter for a ModelSpec. Inputs are raw pixel values (0..255, float32, NHWC); the
// model's own preprocessing ((x/255 - mean)/std) is the first thing it does, exactly as the ONNX graph does.
import * as tf from '@tensorflow/tfjs-core';
import { batchNormInference, batchNormTraining } from './ops/batchnorm.js';
import { paramName } from './spec.js';
function param(params, layer, role) {
    const t = params.get(paramName(layer, role));
    if (!t)
        throw new Error(`missing parameter ${paramName(layer, role)}`);
    return t;
}
export function preprocess(spec, pixels) {
    const { mean, std } = spec.input;
    const scale = tf.tensor1d(std.map((s) => 1 / (255 * s)));
    const shift = tf.tensor1d(mean.map((m, i) => -m / std[i]));
    return tf.add(tf.mul(pixels, scale), shift);
}
export function runLayers(layers, x, params, opts) {
    let y = x;
    for (const l of layers)
        y = runLayer(l, y, params, opts);
    return y;
}
function runLayer(l, x, params, opts) {
    switch (l.kind) {
        case 'conv2d': {
            const y = tf.conv2d(x, param(params, l.name, 'kernel'), l.stride, l.padding);
            return l.useBias ? tf.add(y, param(params, l.name, 'bias')) : y;
        }
        case 'batchnorm': {
            const gamma = param(params, l.name, 'gamma');
            const beta = param(params, l.name, 'beta');
            if (opts.training) {
                const { y, mean, variance } = batchNormTraining(x, gamma, beta, l.epsilon);
                opts.onBatchStats?.(l.name, mean, variance);
                return y;
            }
            return batchNormInference(x, param(params, l.name, 'movingMean'), param(params, l.name, 'movingVariance'), gamma, beta, l.epsilon);
        }
        case 'relu':
            return tf.relu(x);
        case 'maxpool':
            return tf.maxPool(x, l.size, l.stride, l.padding);
        case 'globalavgpool':
            return tf.mean(x, [1, 2]);
        case 'flatten':
            return tf.reshape(x, [x.shape[0], -1]);
        case 'dense': {
            const y = tf.matMul(x, param(params, l.name, 'kernel'));
            return l.useBias ? tf.add(y, param(params, l.name, 'bias')) : y;
        }
        case 'l2normalize':
            return l2Normalize(x, l.epsilon);
        case 'residual': {
            const body = runLayers(l.body, x, params, opts);
            const sc = l.shortcut.length ? runLayers(l.shortcut, x, params, opts) : x;
            const sum = tf.add(body, sc);
            return l.postRelu ? tf.relu(sum) : sum;
        }
    }
}
/** x / max(||x||, eps) along the last axis (the same formula the exporter emits). */
export function l2Normalize(x, epsilon = 1e-12) {
    const norm = tf.sqrt(tf.sum(tf.square(x), -1, true));
    return tf.div(x, tf.maximum(norm, epsilon));
}
/** Backbone + classifier on raw pixels. */
export function forwardClassifier(spec, params, pixels, opts) {
    const h = runLayers(spec.backbone, preprocess(spec, pixels), params, opts);
    const logits = runLayers([spec.classifier], h, params, opts);
    return { features: h, logits };
}
/** Projection-head embedding z (L2-normalised) of backbone features h. */
export function projectFeatures(spec, params, h, opts) {
    return runLayers(spec.projector, h, params, opts);
}
/** Classifier weight matrix W [C, d] (tfjs stores the kernel as [d, C]). */
export function classifierWeights(spec, params) {
    return tf.transpose(param(params, spec.classifier.name, 'kernel'));
}
/** Prototypes P = normalise(phi(W)) [C, k]. */
export function prototypes(spec, params) {
    const w = classifierWeights(spec, params);
    const phi = tf.matMul(w, param(params, spec.prototypeMap.name, 'kernel'));
    return l2Normalize(phi);
}
//# sourceMappingURL=forward.js.map