// Times a full training step (forward, tf.variableGrads of softmax CE via one-hot, SGD update) on a backend.
// Usage: node dist/scripts/bench-wasm-step.js [--model cnn28|resnet8|resnet20|resnet32] [--batch 128]
//        [--steps 5] [--backend wasm|cpu] [--profile] [--no-custom]
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../pipeline/backend.js';
import { registerTrainingGradients } from '../pipeline/kernels/gradients.js';
import { buildModelSpec, initParams } from '../models/builders.js';
import { forwardClassifier } from '../models/forward.js';
import { softmaxCrossEntropy } from '../models/losses/classification.js';
import type { ModelFamily } from '../models/spec.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : def;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

const model = arg('model', 'cnn28') as ModelFamily;
const batch = Number(arg('batch', '128'));
const steps = Number(arg('steps', '5'));
const backend = arg('backend', 'wasm');
const lr = 0.01;

async function main(): Promise<void> {
  registerTrainingGradients();
  const choice = await selectBackend(backend);
  if (flag('no-test-mode')) tf.env().set('IS_TEST', false);
  const input =
    model === 'cnn28'
      ? { height: 28, width: 28, channels: 1, mean: [0.5], std: [0.5] }
      : { height: 32, width: 32, channels: 3, mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26] };
  const spec = buildModelSpec(model, { numClasses: 10, input });
  const store = initParams(spec, 7);
  const params = new Map<string, tf.Tensor>();
  const trainable = new Map<string, tf.Variable>();
  for (const [name, p] of store) {
    const train = !name.endsWith('/movingMean') && !name.endsWith('/movingVariance');
    const v = tf.variable(tf.tensor(p.data, p.shape), train, name.replace(/\//g, '__'));
    params.set(name, v);
    if (train) trainable.set(name, v);
  }
  // Only backbone + classifier parameters take part in this loss.
  const x = tf.randomUniform([batch, input.height, input.width, input.channels], 0, 255, 'float32', 1) as tf.Tensor4D;
  const labels = tf.tensor1d(Array.from({ length: batch }, (_, i) => (i * 7) % 10), 'int32');
  const oneHot = tf.cast(tf.oneHot(labels, 10), 'float32') as tf.Tensor2D;
  const usedVars: tf.Variable[] = [...trainable.entries()].filter(([n]) => !n.startsWith('proj_') && !n.startsWith('proto_map')).map(([, v]) => v);

  const step = (): number => {
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => {
        const { logits } = forwardClassifier(spec, params, x, { training: true });
        return softmaxCrossEntropy(logits, oneHot);
      }, usedVars);
      for (const v of usedVars) v.assign(tf.sub(v, tf.mul(grads[v.name]!, lr)));
      return value;
    });
    const l = loss.dataSync()[0]!;
    loss.dispose();
    return l;
  };

  console.log(`backend ${choice.name}; ${choice.details.kernels ?? ''}`);
  console.log(`model ${model} batch ${batch} steps ${steps}`);
  const times: number[] = [];
  let tensorsAfterFirst = -1;
  for (let s = 0; s < steps + 1; s++) {
    const t0 = performance.now();
    const l = step();
    const dt = performance.now() - t0;
    if (s === 0) tensorsAfterFirst = tf.memory().numTensors;
    else times.push(dt);
    console.log(`step ${s}${s === 0 ? ' (warm-up)' : ''}: ${dt.toFixed(0)} ms, loss ${l.toFixed(4)}, tensors ${tf.memory().numTensors}`);
  }
  times.sort((a, b) => a - b);
  const med = times[Math.floor(times.length / 2)]!;
  console.log(`median ${med.toFixed(0)} ms/step = ${((batch * 1000) / med).toFixed(1)} img/s; tensors flat: ${tf.memory().numTensors === tensorsAfterFirst}`);

  if (flag('profile')) {
    const info = await tf.profile(() => {
      step();
    });
    const byKernel = new Map<string, { ms: number; n: number }>();
    for (const k of info.kernels) {
      const e = byKernel.get(k.name) ?? { ms: 0, n: 0 };
      e.ms += Number(k.kernelTimeMs);
      e.n += 1;
      byKernel.set(k.name, e);
    }
    const rows = [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms);
    const total = rows.reduce((a, [, e]) => a + e.ms, 0);
    console.log(`profile: total kernel ms ${total.toFixed(0)}`);
    for (const [name, e] of rows.slice(0, 30)) console.log(`  ${name.padEnd(28)} ${e.ms.toFixed(1).padStart(8)} ms  x${e.n}`);
    if (flag('profile-detail')) {
      const det = info.kernels
        .map((k) => ({ name: k.name, ms: Number(k.kernelTimeMs), shapes: k.inputShapes.map((s) => JSON.stringify(s)).join(' ') }))
        .sort((a, b) => b.ms - a.ms)
        .slice(0, 40);
      for (const d of det) console.log(`  ${d.name.padEnd(24)} ${d.ms.toFixed(1).padStart(8)} ms ${d.shapes}`);
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
