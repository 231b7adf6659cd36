#!/usr/bin/env node
// node dist/scripts/check-train-numerics.js [--model cnn28] [--loss la-ce|ecl] [--batch 16] [--steps 20]
//   [--backends wasm,webgpu] [--tol 1e-3] [--data synthetic|embedded] [--out file.json]
// Entry point only; the check is pipeline/bench/numerics.ts (see there for the backend variants).
import { writeFileSync } from 'node:fs';
import type { ModelFamily } from '../models/spec.js';
import { checkTrainNumerics, type NumericsOptions } from '../pipeline/bench/numerics.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : def;
}

async function main(): Promise<void> {
  const backends = arg('backends', 'wasm,webgpu').split(',');
  if (backends.length !== 2) throw new Error('--backends: give reference,candidate');
  const o: NumericsOptions = {
    model: arg('model', 'cnn28') as ModelFamily,
    loss: arg('loss', 'la-ce') as 'la-ce' | 'ecl',
    batch: Number(arg('batch', '16')),
    steps: Number(arg('steps', '20')),
    backends: [backends[0]!, backends[1]!],
    tol: Number(arg('tol', '1e-3')),
    lr: Number(arg('lr', '0.01')),
    data: arg('data', 'synthetic') as 'synthetic' | 'embedded',
  };
  if (o.data !== 'synthetic' && o.data !== 'embedded') throw new Error(`--data: expected synthetic or embedded, got ${o.data}`);
  const r = await checkTrainNumerics(o);
  const out = arg('out', '');
  if (out) writeFileSync(out, JSON.stringify(r, null, 2) + '\n');
  console.log(
    `numerics ${o.model} ${o.loss} batch ${o.batch}, ${o.steps} steps on ${o.data} data: ${r.ran.map((x) => `${x.backend} (${x.detail})`).join(' vs ')}; ` +
      `loss ${r.reference[0]!.toFixed(5)} -> ${r.reference.at(-1)!.toFixed(5)} (reference), ${r.candidate.at(-1)!.toFixed(5)} (candidate); ` +
      `max relative difference ${r.maxRelDiff.toExponential(2)} (limit ${o.tol}) ${r.pass ? 'PASS' : 'FAIL'}`,
  );
  if (!r.pass) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(`check-train-numerics: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
