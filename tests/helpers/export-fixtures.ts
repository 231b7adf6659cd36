// Shared fixtures for the exporter tests: a run directory with a checkpoint whose BatchNorm statistics
// are far from the identity (so folding is really exercised), and random uint8 images.
import * as tf from '@tensorflow/tfjs-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type BuildOptions, buildModelSpec, initParams, type ParamStore } from '../../models/builders.js';
import { selectBackend } from '../../pipeline/backend/select.js';
import { type ParamTensors, preprocess, runLayers } from '../../models/forward.js';
import { deriveRng } from '../../models/rng.js';
import type { InputSpec, LayerSpec, ModelFamily, ModelSpec } from '../../models/spec.js';
import { type CheckpointMeta, writeCheckpoint } from '../../models/artifacts/checkpoint.js';

export const MNIST_INPUT: InputSpec = { height: 28, width: 28, channels: 1, mean: [0.1307], std: [0.3081] };
export const CIFAR_INPUT: InputSpec = { height: 32, width: 32, channels: 3, mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] };

export function inputFor(family: ModelFamily): InputSpec {
  return family === 'cnn28' ? MNIST_INPUT : CIFAR_INPUT;
}

/**
 * initParams, then BatchNorm state like a trained model's: random gamma/beta, and moving statistics
 * calibrated on a batch of random images (as training would accumulate them) and then perturbed, so they
 * are far from the identity (folding is really exercised) while activations stay O(1) even in ResNet-32
 * (uncalibrated random statistics blow logits up to O(1000), where float32 round-off alone exceeds 1e-4).
 */
export async function perturbedParams(spec: ModelSpec, seed: number): Promise<ParamStore> {
  const params = initParams(spec, seed);
  const rng = deriveRng(seed, 'export-test-bn');
  const u = (a: number, b: number) => a + (b - a) * rng.next();
  for (const [name, t] of params) {
    const role = name.slice(name.lastIndexOf('/') + 1);
    const d = t.data;
    for (let i = 0; i < d.length; i++) {
      if (role === 'gamma') d[i] = u(0.5, 1.5);
      else if (role === 'beta') d[i] = rng.normal() * 0.2;
      else if (role === 'bias') d[i] = rng.normal() * 0.1;
    }
  }
  // initParams starts the classifier near-uniform; scale it up so logits look like a trained model's.
  const ck = params.get(`${spec.classifier.name}/kernel`)!;
  for (let i = 0; i < ck.data.length; i++) ck.data[i] = ck.data[i]! * 16;

  await selectBackend('wasm');
  // Walk the spec with the tfjs interpreter's inference path, one leaf layer at a time; before each
  // BatchNorm runs, set its moving statistics from the batch reaching it, perturbed.
  const pt: ParamTensors = new Map([...params].map(([n, t]) => [n, tf.tensor(t.data, t.shape, 'float32')]));
  const setStats = (layer: string, x: tf.Tensor) => {
    const axes = x.shape.slice(0, -1).map((_, i) => i);
    const { mean, variance } = tf.moments(x, axes);
    const m = mean.dataSync();
    const v = variance.dataSync();
    const mm = params.get(`${layer}/movingMean`)!.data;
    const mv = params.get(`${layer}/movingVariance`)!.data;
    for (let i = 0; i < mm.length; i++) {
      mm[i] = m[i]! + rng.normal() * 0.2 * Math.sqrt(v[i]!);
      mv[i] = Math.max(v[i]! * u(0.7, 1.4), 1e-3);
    }
    for (const [role, d] of [['movingMean', mm], ['movingVariance', mv]] as const) {
      pt.get(`${layer}/${role}`)!.dispose();
      pt.set(`${layer}/${role}`, tf.tensor1d(d));
    }
  };
  const walk = (layers: LayerSpec[], x: tf.Tensor): tf.Tensor => {
    for (const l of layers) {
      if (l.kind === 'residual') {
        const body = walk(l.body, x);
        const sc = l.shortcut.length ? walk(l.shortcut, x) : x;
        x = l.postRelu ? tf.relu(tf.add(body, sc)) : tf.add(body, sc);
      } else {
        if (l.kind === 'batchnorm') setStats(l.name, x);
        x = runLayers([l], x, pt, { training: false });
      }
    }
    return x;
  };
  const { images } = randomImages(spec, 32, seed + 1000);
  const { height: H, width: W, channels: C } = spec.input;
  tf.tidy(() => {
    const h = walk(spec.backbone, preprocess(spec, tf.tensor4d(Float32Array.from(images), [32, H, W, C])));
    walk(spec.projector, h);
  });
  tf.dispose([...pt.values()]);
  return params;
}

export interface TestRun {
  dir: string;
  spec: ModelSpec;
  params: ParamStore;
  meta: CheckpointMeta;
}

/** `heads`: the classifier / projection-head options of buildModelSpec (default: linear, no BN). */
export async function makeRun(root: string, family: ModelFamily, seed = 7, name: string = family, heads: Pick<BuildOptions, 'classifier' | 'projectionBatchNorm'> = {}): Promise<TestRun> {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const spec = buildModelSpec(family, { numClasses: 10, input: inputFor(family), ...heads });
  const params = await perturbedParams(spec, seed);
  const meta: CheckpointMeta = {
    version: 1,
    spec,
    config: { dataset: family === 'cnn28' ? 'mnist-lt' : 'cifar10-lt', loss: 'ecl', temperature: 0.1, laTau: 1, lambdaBc: 1, lambdaCc: 1 },
    epoch: 3,
    step: 120,
    backend: 'cpu',
    classNames: Array.from({ length: 10 }, (_, i) => `class_${i}`),
    classCounts: Array.from({ length: 10 }, (_, i) => Math.round(500 * 0.6 ** i)),
    createdAt: new Date(0).toISOString(),
  };
  writeCheckpoint(join(dir, 'checkpoint.ckpt'), { meta, params, optimizer: new Map() });
  return { dir, spec, params, meta };
}

export function randomImages(spec: ModelSpec, count: number, seed = 1): { images: Uint8Array; labels: Int32Array } {
  const rng = deriveRng(seed, 'export-test-images');
  const n = count * spec.input.height * spec.input.width * spec.input.channels;
  const images = new Uint8Array(n);
  for (let i = 0; i < n; i++) images[i] = rng.int(256);
  const labels = Int32Array.from({ length: count }, () => rng.int(spec.numClasses));
  return { images, labels };
}
