// Times a full training step (forward, tf.variableGrads of softmax CE via one-hot, SGD update).
//   node dist/scripts/bench-wasm-step.js [--model cnn28|resnet8|resnet20|resnet32] [--batch 128]
//        [--steps 5] [--backend wasm|cpu|webgpu] [--profile]
// --verify: instead, compare one step's gradients on wasm against the cpu backend at a small batch
//        (--batch defaults to 2) and check that tensor counts stay flat over 3 wasm steps.
// Reports wall time and this process's CPU time per step (the machine may be shared: CPU time is the
// better measure of the single-threaded wasm backend's own cost).
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../pipeline/backend/select.js';
import { buildModelSpec, initParams, type ParamStore } from '../models/builders.js';
import { forwardClassifier } from '../models/forward.js';
import { softmaxCrossEntropy } from '../models/losses/classification.js';
import type { ModelFamily, ModelSpec } from '../models/spec.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : def;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

const model = arg('model', 'cnn28') as ModelFamily;
const verify = flag('verify');
const batch = Number(arg('batch', verify ? '2' : '128'));
const steps = Number(arg('steps', '5'));
const backend = arg('backend', 'wasm');
const lr = 0.01;

interface Setup {
  spec: ModelSpec;
  store: ParamStore;
  trainNames: string[];
  pixels: Float32Array;
  labels: number[];
  input: ModelSpec['input'];
}

function setup(): Setup {
  const input =
    model === 'cnn28'
      ? { height: 28, width: 28, channels: 1, mean: [0.5], std: [0.5] }
      : { height: 32, width: 32, channels: 3, mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26] };
  const spec = buildModelSpec(model, { numClasses: 10, input });
  const store = initParams(spec, 7);
  // Only backbone + classifier parameters take part in this loss.
  const trainNames = [...store.keys()].filter((n) => !n.includes('/moving') && !n.startsWith('proj_') && !n.startsWith('proto_map'));
  const pixels = new Float32Array(batch * input.height * input.width * input.channels);
  let s = 12345;
  for (let i = 0; i < pixels.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    pixels[i] = (s >>> 8) % 256;
  }
  const labels = Array.from({ length: batch }, (_, i) => (i * 7) % 10);
  return { spec, store, trainNames, pixels, labels, input };
}

function makeStep(st: Setup, tag: string) {
  const params = new Map<string, tf.Tensor>();
  const vars: tf.Variable[] = [];
  for (const [name, p] of st.store) {
    const train = st.trainNames.includes(name);
    const v = tf.variable(tf.tensor(p.data, p.shape), train, `${tag}_${name}`.replace(/\//g, '__'));
    params.set(name, v);
    if (train) vars.push(v);
  }
  const { height, width, channels } = st.input;
  const x = tf.tensor4d(st.pixels, [batch, height, width, channels]);
  const oneHot = tf.cast(tf.oneHot(tf.tensor1d(st.labels, 'int32'), 10), 'float32') as tf.Tensor2D;
  /** One SGD step; returns the loss and (optionally) copies of the gradients, in vars order. */
  // Async reads: dataSync is not available on webgpu in Node.
  const step = async (keepGrads = false): Promise<{ loss: number; grads: Float32Array[] }> => {
    const out = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => softmaxCrossEntropy(forwardClassifier(st.spec, params, x, { training: true }).logits, oneHot), vars);
      const g = vars.map((v) => grads[v.name]!);
      for (const v of vars) v.assign(tf.sub(v, tf.mul(grads[v.name]!, lr)));
      return [value, ...(keepGrads ? g : [])];
    });
    const loss = (await out[0]!.data())[0]!;
    const grads: Float32Array[] = [];
    for (const t of out.slice(1)) grads.push(Float32Array.from((await t.data()) as Float32Array));
    tf.dispose(out);
    return { loss, grads };
  };
  const dispose = () => tf.dispose([...params.values(), x, oneHot]);
  return { step, dispose };
}

function wasmHeapBytes(): number {
  const b = tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } };
  return b.wasm ? b.wasm.HEAPU8.buffer.byteLength : 0;
}

async function runVerify(st: Setup): Promise<void> {
  await selectBackend('wasm');
  await selectBackendByName('cpu');
  const ref = makeStep(st, 'cpu');
  const want = (await ref.step(true)).grads;
  ref.dispose();
  await selectBackendByName('wasm');
  const run = makeStep(st, 'wasm');
  const got = (await run.step(true)).grads;
  const counts = [tf.memory().numTensors];
  for (let i = 0; i < 2; i++) {
    await run.step();
    counts.push(tf.memory().numTensors);
  }
  run.dispose();
  let worst = 0;
  st.trainNames.forEach((n, i) => {
    let num = 0;
    let den = 0;
    const a = got[i]!;
    const b = want[i]!;
    for (let k = 0; k < b.length; k++) {
      num = Math.max(num, Math.abs(a[k]! - b[k]!));
      den = Math.max(den, Math.abs(b[k]!));
    }
    const e = den === 0 ? num : num / den;
    worst = Math.max(worst, e);
    if (flag('verbose')) console.log(`  ${n.padEnd(28)} rel err ${e.toExponential(2)}`);
  });
  const flat = counts.every((c) => c === counts[0]);
  console.log(`verify ${model} batch ${batch}: ${st.trainNames.length} gradients, worst rel err vs cpu ${worst.toExponential(2)} (limit 1e-4); tensor counts ${counts.join(',')} ${flat ? 'flat' : 'GROWING'}`);
  if (worst > 1e-4 || !flat) process.exitCode = 1;
}

async function selectBackendByName(name: string): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} failed to initialise`);
}

async function main(): Promise<void> {
  const st = setup();
  if (verify) return runVerify(st);
  const choice = await selectBackend(backend);
  console.log(`backend ${choice.name}; ${Object.entries(choice.details).map(([k, v]) => `${k}: ${v}`).join('; ')}`);
  console.log(`model ${model} batch ${batch} steps ${steps}`);
  const { step } = makeStep(st, 'bench');
  const wall: number[] = [];
  const cpu: number[] = [];
  let tensorsAfterFirst = -1;
  let heapAfterFirst = 0;
  for (let s = 0; s < steps + 1; s++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const { loss } = await step();
    const dt = performance.now() - t0;
    const c = process.cpuUsage(c0);
    const dc = (c.user + c.system) / 1000;
    if (s === 0) {
      tensorsAfterFirst = tf.memory().numTensors;
      heapAfterFirst = wasmHeapBytes();
    } else {
      wall.push(dt);
      cpu.push(dc);
    }
    console.log(`step ${s}${s === 0 ? ' (warm-up)' : ''}: wall ${dt.toFixed(0)} ms, cpu ${dc.toFixed(0)} ms, loss ${loss.toFixed(4)}, tensors ${tf.memory().numTensors}, wasm heap ${(wasmHeapBytes() / 2 ** 20).toFixed(0)} MiB`);
  }
  const median = (a: number[]) => a.slice().sort((p, q) => p - q)[Math.floor(a.length / 2)]!;
  const mw = median(wall);
  const mc = median(cpu);
  console.log(
    `median: wall ${mw.toFixed(0)} ms/step = ${((batch * 1000) / mw).toFixed(1)} img/s; cpu ${mc.toFixed(0)} ms/step = ${((batch * 1000) / mc).toFixed(1)} img/s`,
  );
  console.log(`tensors flat: ${tf.memory().numTensors === tensorsAfterFirst}; wasm heap ${(heapAfterFirst / 2 ** 20).toFixed(0)} -> ${(wasmHeapBytes() / 2 ** 20).toFixed(0)} MiB`);

  if (flag('profile')) {
    const info = await tf.profile(async () => {
      await step();
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
    console.log(`profile (wall ms, nested kernels counted in their callers too): total ${total.toFixed(0)}`);
    for (const [name, e] of rows.slice(0, 25)) console.log(`  ${name.padEnd(28)} ${e.ms.toFixed(1).padStart(8)} ms  x${e.n}`);
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
