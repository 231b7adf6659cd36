// Per-kernel CPU time of one training step on the wasm backend (forward, tf.variableGrads of softmax CE, SGD).
//   ECL_WASM_THREADS=1 node dist/scripts/profile-wasm-kernels.js [--model resnet32] [--batch 128] [--steps 3] [--detail]
// Every registered wasm kernel is wrapped and charged this process's CPU time (process.cpuUsage) while it runs;
// nested kernel calls count in their caller only. CPU time, unlike tf.profile's wall time, barely moves when
// other processes share the cores, so before/after comparisons hold on a busy machine. With one thread the
// numbers are the work itself; with more, workers' CPU time is included (the same work plus scheduling).
// --detail splits the convolutions by input shapes and strides. --wall charges wall-clock time instead (on a quiet
// machine: with threads, the CPU time counts the helpers' work too, the wall time what the step waits for).
// Prints medians over --steps (after 2 warm-ups).
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../pipeline/backend/select.js';
import { buildModelSpec, initParams } from '../models/builders.js';
import { forwardClassifier } from '../models/forward.js';
import { softmaxCrossEntropy } from '../models/losses/classification.js';
import type { ModelFamily } from '../models/spec.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : def;
}

const model = arg('model', 'resnet32') as ModelFamily;
const batch = Number(arg('batch', '128'));
const steps = Number(arg('steps', '3'));
const detail = process.argv.includes('--detail');
const wall = process.argv.includes('--wall');
if (!(batch > 0 && steps > 0)) throw new Error('--batch and --steps must be positive');

const cpuMs = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000;
const median = (a: number[]) => a.slice().sort((p, q) => p - q)[Math.floor(a.length / 2)]!;

/** Wraps every wasm kernel so that its CPU time lands in `charge` (by kernel name, or name + shapes). */
function instrument(charge: Map<string, { ms: number; n: number }>): void {
  let depth = 0;
  for (const cfg of tf.getKernelsForBackend('wasm')) {
    const inner = cfg.kernelFunc;
    const kernelFunc = ((args: Parameters<tf.KernelFunc>[0]) => {
      if (depth > 0) return inner(args);
      depth++;
      const c0 = process.cpuUsage();
      const w0 = performance.now();
      try {
        return inner(args);
      } finally {
        depth--;
        const ms = wall ? performance.now() - w0 : cpuMs(process.cpuUsage(c0));
        const shapes = Object.values(args.inputs).map((t) => JSON.stringify((t as tf.TensorInfo).shape));
        const key = detail && cfg.kernelName.startsWith('Conv') ? `${cfg.kernelName} ${shapes.join(' ')} s${JSON.stringify(args.attrs?.strides ?? 1)}` : cfg.kernelName;
        const e = charge.get(key) ?? { ms: 0, n: 0 };
        e.ms += ms;
        e.n += 1;
        charge.set(key, e);
      }
    }) as tf.KernelFunc;
    tf.unregisterKernel(cfg.kernelName, 'wasm');
    tf.registerKernel({ ...cfg, kernelFunc });
  }
}

async function main(): Promise<void> {
  const choice = await selectBackend('wasm');
  const charge = new Map<string, { ms: number; n: number }>();
  instrument(charge);
  const input =
    model === 'cnn28'
      ? { height: 28, width: 28, channels: 1, mean: [0.5], std: [0.5] }
      : { height: 32, width: 32, channels: 3, mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26] };
  const spec = buildModelSpec(model, { numClasses: 10, input });
  const store = initParams(spec, 7);
  const trainNames = new Set([...store.keys()].filter((n) => !n.includes('/moving') && !n.startsWith('proj_') && !n.startsWith('proto_map')));
  const params = new Map<string, tf.Tensor>();
  const vars: tf.Variable[] = [];
  for (const [name, p] of store) {
    const v = tf.variable(tf.tensor(p.data, p.shape), trainNames.has(name), `prof_${name}`.replace(/\//g, '__'));
    params.set(name, v);
    if (trainNames.has(name)) vars.push(v);
  }
  let s = 12345;
  const pixels = new Float32Array(batch * input.height * input.width * input.channels).map(() => ((s = (s * 1103515245 + 12345) >>> 0) >>> 8) % 256);
  const x = tf.tensor4d(pixels, [batch, input.height, input.width, input.channels]);
  const oneHot = tf.cast(tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => (i * 7) % 10), 'int32'), 10), 'float32') as tf.Tensor2D;
  const step = () => {
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => softmaxCrossEntropy(forwardClassifier(spec, params, x, { training: true }).logits, oneHot), vars);
      for (const v of vars) v.assign(tf.sub(v, tf.mul(grads[v.name]!, 0.01)));
      return value;
    });
    loss.dataSync();
    loss.dispose();
  };
  step();
  step();
  const totals: number[] = [];
  const perStep: Map<string, { ms: number; n: number }>[] = [];
  for (let i = 0; i < steps; i++) {
    charge.clear();
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    step();
    totals.push(wall ? performance.now() - w0 : cpuMs(process.cpuUsage(c0)));
    perStep.push(new Map([...charge].map(([k, v]) => [k, { ...v }])));
  }
  const rows = [...perStep[0]!.keys()].map((k) => ({ k, ms: median(perStep.map((m) => m.get(k)?.ms ?? 0)), n: perStep[0]!.get(k)!.n })).sort((a, b) => b.ms - a.ms);
  const kernels = rows.reduce((a, r) => a + r.ms, 0);
  console.log(`backend ${choice.name}; ${choice.details.simd ? `simd: ${choice.details.simd}` : ''}`);
  console.log(`${model} batch ${batch}: step ${wall ? 'wall' : 'CPU'} median ${median(totals).toFixed(0)} ms (${totals.map((t) => t.toFixed(0)).join(' ')}), in kernels ${kernels.toFixed(0)} ms`);
  for (const r of rows.slice(0, detail ? 40 : 20)) console.log(`  ${r.k.padEnd(detail ? 64 : 28)} ${r.ms.toFixed(1).padStart(8)} ms  x${r.n}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
