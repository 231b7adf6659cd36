#!/usr/bin/env node
// node dist/scripts/numerics-branch-flips.js [--batch 24] [--seed 1]
// Why a teacher-forced gradient check of cnn28 can fail at one seed: the batch and weights of
// `check-train-numerics --gradients --cases cnn28:la-ce:B:SEED`, the network run on tfjs cpu up to conv2, then
// conv2 on cpu, on wasm with Winograd F(4x4,3x3) and on wasm with the direct kernel (ECL_WASM_WINOGRAD=0) from
// that same input, each followed by the same training-mode BatchNorm + ReLU on cpu. Prints, per kernel, how far its
// BatchNorm output is from cpu's and every ReLU or 2x2 max-pool whose branch differs from cpu's: one flipped
// max-pool window sends a gradient to another pixel and moves the conv gradients by ~1e-2 (docs/training-speed.md).
import * as tf from '@tensorflow/tfjs-core';
import { runLayers, preprocess, type ParamTensors } from '../models/forward.js';
import type { ParamStore } from '../models/builders.js';
import { selectBackend } from '../pipeline/backend/select.js';
import { oneStepInputs } from '../pipeline/bench/one-step.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : def;
}

const B = Number(arg('batch', '24'));
const seed = Number(arg('seed', '1'));
if (!(Number.isInteger(B) && B >= 1 && Number.isInteger(seed))) throw new Error('--batch: a positive integer; --seed: an integer');
const inp = oneStepInputs({ model: 'cnn28', loss: 'la-ce', batch: B, seed });
const layers = inp.spec.backbone;
const at = (name: string) => layers.findIndex((l) => l.name === name);
const tensors = (s: ParamStore): ParamTensors => new Map([...s].map(([k, v]) => [k, tf.tensor(v.data, v.shape)]));

await selectBackend('cpu');
const cpu = tf.getBackend();
const x2 = runLayers(layers.slice(0, at('conv2')), preprocess(inp.spec, tf.tensor4d(inp.pixels, [B, 28, 28, 1])), tensors(inp.params), { training: true });
const [, H, W, C] = x2.shape as number[];
const x2d = x2.dataSync().slice();
const w2 = inp.params.get('conv2/kernel')!;
const CO = w2.shape[3]!;
const conv2 = () => tf.tidy(() => tf.conv2d(tf.tensor4d(x2d, [B, H!, W!, C!]), tf.tensor4d(w2.data, w2.shape as [number, number, number, number]), 1, 'same').dataSync().slice());
const outs: [string, Float32Array][] = [['tfjs cpu', conv2() as Float32Array]];
await selectBackend('wasm');
for (const [name, v] of [['wasm, Winograd F(4x4,3x3)', '1'], ['wasm, direct (ECL_WASM_WINOGRAD=0)', '0']] as const) {
  process.env.ECL_WASM_WINOGRAD = v;
  outs.push([name, conv2() as Float32Array]);
}
await tf.setBackend(cpu);
const params = tensors(inp.params);
const bn = (y: Float32Array) => runLayers(layers.slice(at('bn2'), at('bn2') + 1), tf.tensor4d(y, [B, H!, W!, CO]), params, { training: true }).dataSync() as Float32Array;
const [ref, ...rest] = outs.map(([name, y]) => ({ name, z: bn(y) }));
const scale = ref!.z.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const relu = (v: number) => Math.max(0, v);
const firstMax = (v: number[]) => v.indexOf(Math.max(...v));
for (const o of rest) {
  const reluFlips: string[] = [];
  const poolFlips: string[] = [];
  let maxd = 0;
  for (let k = 0; k < o.z.length; k++) {
    maxd = Math.max(maxd, Math.abs(o.z[k]! - ref!.z[k]!));
    if (o.z[k]! > 0 !== ref!.z[k]! > 0) reluFlips.push(`element ${k}: ${ref!.z[k]!.toExponential(3)} vs ${o.z[k]!.toExponential(3)}`);
  }
  // 2x2/2 max-pool of the ReLU output; the first maximum wins, as tfjs's cpu kernel picks it.
  for (let n = 0; n < B; n++)
    for (let i = 0; i + 1 < H!; i += 2)
      for (let j = 0; j + 1 < W!; j += 2)
        for (let c = 0; c < CO; c++) {
          const win = (z: Float32Array) => [0, 1, 2, 3].map((q) => relu(z[((n * H! + i + (q >> 1)) * W! + j + (q & 1)) * CO + c]!));
          const a = win(ref!.z);
          const b = win(o.z);
          if (firstMax(a) !== firstMax(b)) poolFlips.push(`image ${n}, window (${i / 2},${j / 2}), channel ${c}: cpu [${a.map((v) => v.toPrecision(8)).join(', ')}] argmax ${firstMax(a)}, this kernel [${b.map((v) => v.toPrecision(8)).join(', ')}] argmax ${firstMax(b)}`);
        }
  console.log(`${o.name}: BatchNorm output max |diff| / max |cpu| ${(maxd / scale).toExponential(2)}; ReLU branches flipped: ${reluFlips.length}; max-pool windows flipped: ${poolFlips.length}`);
  for (const f of [...reluFlips, ...poolFlips].slice(0, 10)) console.log(`  ${f}`);
}
