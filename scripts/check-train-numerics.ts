#!/usr/bin/env node
// node dist/scripts/check-train-numerics.js [--model cnn28] [--loss la-ce|ecl] [--batch 16] [--steps 20]
//   [--backends wasm,webgpu] [--tol 1e-3] [--floor] [--data synthetic|embedded] [--out file.json]
// node dist/scripts/check-train-numerics.js --gradients [--model cnn28] [--loss la-ce,ecl] [--batch 8] [--out file.json]
//   or --gradients --cases cnn28:la-ce:24,resnet8:ecl:4:2 (model:loss:batch[:seed], every case reported before the exit status)
//   [--reference cpu|wasm:nosimd] (default cpu; wasm:nosimd = tfjs-wasm's XNNPACK routes, fast at larger batches)
//   [--floor] (pass within 2x the reference's own gradient change for a 4e-6 pixel jitter, at least 1e-4)
// Entry point only; the checks are pipeline/bench/numerics.ts (see there for the backend variants, --floor
// and --gradients).
import { writeFileSync } from 'node:fs';
import type { ModelFamily } from '../models/spec.js';
import { GRADIENT_TOL, checkStepGradients, checkTrainNumerics, type NumericsOptions } from '../pipeline/bench/numerics.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : def;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

async function gradients(): Promise<void> {
  const cases = arg('cases', '')
    ? arg('cases', '')
        .split(',')
        .map((c) => {
          const [model, loss, batch, seed] = c.split(':');
          if (!model || (loss !== 'la-ce' && loss !== 'ecl') || !(Number(batch) >= 1)) throw new Error(`--cases: expected model:la-ce|ecl:batch[:seed], got '${c}'`);
          return { model: model as ModelFamily, loss: loss as 'la-ce' | 'ecl', batch: Number(batch), seed: Number(seed ?? arg('seed', '1')) };
        })
    : (arg('loss', 'la-ce,ecl').split(',') as ('la-ce' | 'ecl')[]).map((loss) => ({ model: arg('model', 'cnn28') as ModelFamily, loss, batch: Number(arg('batch', '8')), seed: Number(arg('seed', '1')) }));
  const results = [];
  for (const { model, loss, batch, seed } of cases) {
    const r = await checkStepGradients(model, loss, batch, arg('reference', 'cpu'), seed, flag('floor'));
    results.push(r);
    console.log(
      `gradients ${model} ${loss} batch ${batch} (${loss === 'ecl' ? 3 * batch : batch} images, seed ${seed}), one trainer step, wasm (${r.wasmDetail}) vs ${r.reference === 'cpu' ? 'tfjs cpu' : r.reference}: ` +
        `loss ${r.lossCpu.toFixed(6)} vs ${r.lossWasm.toFixed(6)}; worst of ${r.params.length} parameters ${r.params[0]?.name} ${r.worst.toExponential(2)} (limit ${r.jitterFloor === undefined ? GRADIENT_TOL : `${r.limit.toExponential(2)}: 2 x the pixel-jitter floor ${r.jitterFloor.toExponential(2)}, at least ${GRADIENT_TOL}`}) ${r.pass ? 'PASS' : 'FAIL'}`,
    );
    for (const p of r.params.filter((q) => !(q.relErr <= r.limit)).slice(0, 10)) console.log(`  over the limit: ${p.name} ${p.relErr.toExponential(2)} (max |grad| ${p.maxAbsRef.toExponential(2)})`);
  }
  const out = arg('out', '');
  if (out) writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
  if (results.some((r) => !r.pass)) process.exitCode = 1;
}

async function trajectories(): Promise<void> {
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
    floor: flag('floor'),
  };
  if (o.data !== 'synthetic' && o.data !== 'embedded') throw new Error(`--data: expected synthetic or embedded, got ${o.data}`);
  const r = await checkTrainNumerics(o);
  const out = arg('out', '');
  if (out) writeFileSync(out, JSON.stringify(r, null, 2) + '\n');
  const limit = r.floor ? `${r.floor.limit.toExponential(2)} = 2 x the lr-jitter floor ${r.floor.maxRelDiff.toExponential(2)} (${r.floor.backend})` : String(o.tol);
  console.log(
    `numerics ${o.model} ${o.loss} batch ${o.batch}, ${o.steps} steps on ${o.data} data: ${r.ran.map((x) => `${x.backend} (${x.detail})`).join(' vs ')}; ` +
      `loss ${r.reference[0]!.toFixed(5)} -> ${r.reference.at(-1)!.toFixed(5)} (reference), ${r.candidate.at(-1)!.toFixed(5)} (candidate); ` +
      `max relative difference ${r.maxRelDiff.toExponential(2)} (limit ${limit}) ${r.pass ? 'PASS' : 'FAIL'}`,
  );
  if (!r.pass) process.exitCode = 1;
}

(flag('gradients') ? gradients() : trajectories()).catch((e: unknown) => {
  console.error(`check-train-numerics: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
