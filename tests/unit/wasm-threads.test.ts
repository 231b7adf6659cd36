// Multi-threaded wasm (pipeline/backend/kernels/wasm-threads.ts): the pool really has the requested threads, the
// process still exits on its own, the setting is validated, and training is bit-identical to one thread.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { wasmThreadsWanted } from '../../pipeline/backend/select.js';
import { checkTrainNumerics } from '../../pipeline/bench/numerics.js';

const backendModule = fileURLToPath(new URL('../../pipeline/backend/select.js', import.meta.url));

/** Starts a fresh node that selects wasm with ECL_WASM_THREADS=threads, runs one conv, prints the details. */
function childSelect(threads: string): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const script = `
    const { selectBackend } = await import(${JSON.stringify(backendModule)});
    const tf = await import('@tensorflow/tfjs-core');
    const c = await selectBackend('wasm');
    const y = tf.conv2d(tf.ones([4, 16, 16, 8]), tf.ones([3, 3, 8, 8]), 1, 'same');
    console.log(JSON.stringify({ threads: c.details.threads, sum: (await y.sum().data())[0] }));`;
  const t0 = Date.now();
  return new Promise((res) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ECL_WASM_THREADS: threads }, timeout: 60_000, cwd: fileURLToPath(new URL('../../..', import.meta.url)) }, (err, stdout, stderr) =>
      res({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr, ms: Date.now() - t0 }),
    );
  });
}

describe('wasm threads', () => {
  test('ECL_WASM_THREADS: default one per core up to 4, validated', () => {
    assert.equal(wasmThreadsWanted({}, 2), 2);
    assert.equal(wasmThreadsWanted({}, 16), 4);
    assert.equal(wasmThreadsWanted({}, 1), 1);
    assert.equal(wasmThreadsWanted({ ECL_WASM_THREADS: '1' }, 8), 1);
    assert.equal(wasmThreadsWanted({ ECL_WASM_THREADS: '3' }, 2), 3);
    for (const bad of ['0', '9', '1.5', 'two']) assert.throws(() => wasmThreadsWanted({ ECL_WASM_THREADS: bad }, 2), /ECL_WASM_THREADS must be an integer 1\.\.8/);
  });

  test('2 threads: the XNNPACK pool has 2 threads, results are right, and the process exits by itself', async () => {
    const r = await childSelect('2');
    assert.equal(r.code, 0, `child failed or hung: ${r.stderr.slice(-500)}`);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { threads: string; sum: number };
    assert.match(out.threads, /^2 \(XNNPACK thread pool/);
    // ones * ones, 3x3 'same': interior pixels see 9*8 = 72, edges 48, corners 32.
    assert.equal(out.sum, 4 * 8 * (14 * 14 * 72 + 4 * 14 * 48 + 4 * 32));
  });

  test('1 thread: the single-threaded build', async () => {
    const r = await childSelect('1');
    assert.equal(r.code, 0, r.stderr.slice(-500));
    assert.match(JSON.parse(r.stdout.trim().split('\n').at(-1)!).threads, /^1 \(XNNPACK thread pool\)/);
  });

  test('20 trainer steps on real images: 2 threads give the same losses as 1', async () => {
    const r = await checkTrainNumerics({ model: 'cnn28', loss: 'la-ce', batch: 16, steps: 20, backends: ['wasm', 'wasm:threads2'], tol: 1e-6, lr: 0.01, data: 'embedded' });
    assert.ok(r.pass, `max relative difference ${r.maxRelDiff.toExponential(2)}`);
  });
});
