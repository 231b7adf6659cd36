// Graceful shutdown of the real process: SIGTERM while requests are queued and running; every accepted
// request completes with 200, new connections are refused, and the process exits 0. Also: startup
// errors are clear and exit non-zero.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ChildServer, type ServeModel, SERVE_MAIN, makeServeModel, startChildServer } from '../helpers/serve-helpers.js';
import { spawnSync } from 'node:child_process';

let root: string;
let model: ServeModel;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'ecl-serve-shutdown-'));
  model = await makeServeModel(root, { name: 'fmnist-term', seed: 9 });
});

const children: ChildServer[] = [];
after(() => {
  // A failed assertion must not leave a server running (and the test process hanging).
  for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

const body = (n: number, seed: number) =>
  JSON.stringify({
    id: `s${seed}`,
    inputs: [{ name: 'pixels', shape: [n, 28, 28, 1], datatype: 'UINT8', data: Array.from({ length: n * 784 }, (_, i) => (i * 31 + seed) & 255) }],
    outputs: [{ name: 'probs' }],
  });

describe('SIGTERM', () => {
  it('drains in-flight and queued requests (all 200), refuses new connections, exits 0', async () => {
    // A batch that can never fill (64 > the 48 images sent) and a long delay keep every request queued until
    // the signal: SIGTERM must then run them all. (Waiting for only part of them raced with requests whose
    // connections were not yet accepted when the listener closed.)
    const srv = await startChildServer(['--model', model.modelPath, '--ep', 'cpu', '--max-batch', '64', '--max-delay-ms', '8000', '--max-queue', '100']);
    children.push(srv);
    const url = `${srv.url}/v2/models/fmnist-term/infer`;
    const pending = Array.from({ length: 24 }, (_, i) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(1 + (i % 3), i) }).then(async (r) => ({ status: r.status, json: (await r.json()) as { id: string } })),
    );
    // Wait until the server has them queued (the metrics endpoint does not queue).
    const t0 = Date.now();
    for (;;) {
      const m = await (await fetch(`${srv.url}/metrics`)).text();
      const depth = Number(/^ecl_inference_queue_depth (\S+)$/m.exec(m)?.[1] ?? 0);
      if (depth >= 24) break;
      assert.ok(Date.now() - t0 < 10_000, `requests not queued (depth ${depth})`);
      await new Promise((r) => setTimeout(r, 10));
    }
    srv.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    // No new connections after the signal.
    await assert.rejects(fetch(`${srv.url}/v2/health/live`, { headers: { connection: 'close' } }));
    const results = await Promise.all(pending);
    assert.deepEqual(
      results.map((r) => r.status),
      Array(24).fill(200),
    );
    results.forEach((r, i) => assert.equal(r.json.id, `s${i}`));
    const { code, signal } = await srv.exited;
    assert.equal(signal, null);
    assert.equal(code, 0, srv.stderr());
    assert.match(srv.stderr(), /SIGTERM: draining/);
    assert.match(srv.stderr(), /drained/);
  });

  it('exits 0 on SIGTERM when idle', async () => {
    const srv = await startChildServer(['--model', model.modelPath, '--ep', 'cpu']);
    children.push(srv);
    assert.equal((await fetch(`${srv.url}/v2/health/ready`)).status, 200);
    srv.proc.kill('SIGTERM');
    const { code } = await srv.exited;
    assert.equal(code, 0);
  });
});

describe('startup errors', () => {
  const run = (args: string[]) => spawnSync(process.execPath, [SERVE_MAIN, '--port', '0', ...args], { encoding: 'utf8', timeout: 30_000 });

  it('missing model file', () => {
    const r = run(['--model', join(root, 'nope.onnx')]);
    assert.equal(r.status, 2, 'usage error: the user must give an existing model');
    assert.match(r.stderr, /model not found: .*nope\.onnx/);
  });

  it('a file that is not an ONNX model', () => {
    const bad = join(root, 'bad.onnx');
    writeFileSync(bad, 'this is not protobuf at all \u0000\u0001\u0002');
    const r = run(['--model', bad, '--ep', 'cpu']);
    assert.equal(r.status, 3);
    assert.match(r.stderr, /error: .*bad\.onnx/);
  });

  it('--ep cuda without CUDA fails with a clear error instead of falling back', () => {
    const r = run(['--model', model.modelPath, '--ep', 'cuda']);
    assert.equal(r.status, 3);
    assert.match(r.stderr, /no execution provider could load the model with --ep cuda: cuda: /);
  });

  it('invalid option values are rejected', () => {
    const r = run(['--model', model.modelPath, '--max-batch', '0']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--max-batch must be an integer >= 1/);
    const r2 = run(['--model', model.modelPath, '--ep', 'tpu']);
    assert.equal(r2.status, 2);
    assert.match(r2.stderr, /Invalid values|Choices/i);
  });
});
