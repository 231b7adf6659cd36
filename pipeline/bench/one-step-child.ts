// Child process of checkStepGradients (numerics.ts): one trainer step (one-step.ts) on one backend, in its own
// process so that the backend's environment (ECL_WASM_SIMD_KERNELS, ECL_WASM_THREADS) applies; prints one JSON
// line: the loss, the backend's description and every gradient as base64 float32.
//   node dist/pipeline/bench/one-step-child.js --backend wasm|cpu --model cnn28 --loss la-ce|ecl --batch 8 [--seed 1] [--jitter 1e-3]
import type { ModelFamily } from '../../models/spec.js';
import { oneStepInputs, runOneStep } from './one-step.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : def;
}

async function main(): Promise<void> {
  const { selectBackend } = await import('../backend/select.js');
  const { backendDetail } = await import('./trainer-run.js');
  const choice = await selectBackend(arg('backend', 'wasm'));
  const loss = arg('loss', 'la-ce');
  if (loss !== 'la-ce' && loss !== 'ecl') throw new Error(`--loss: la-ce or ecl, got ${loss}`);
  const inputs = oneStepInputs({ model: arg('model', 'cnn28') as ModelFamily, loss, batch: Number(arg('batch', '8')), seed: Number(arg('seed', '1')) });
  // --jitter E: every 97th pixel + E (raw 0..255 scale), to measure how much the gradients move for a tiny input change.
  const jitter = Number(arg('jitter', '0'));
  if (jitter) for (let i = 0; i < inputs.pixels.length; i += 97) inputs.pixels[i]! += jitter;
  const r = await runOneStep(inputs);
  const grads = [...r.grads].map(([name, p]) => [name, p.shape, Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength).toString('base64')]);
  process.stdout.write(JSON.stringify({ loss: r.lossValue, backend: choice.name, detail: backendDetail(choice.details), grads }) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`one-step child: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
