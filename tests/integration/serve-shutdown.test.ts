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
import { Agent, request } from 'node:http';
import { postHead, rawConnect } from '../helpers/raw-http.js';

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
    const srv = await startChildServer(['--model', model.modelPath, '--ep', 'cpu', '--max-batch', '64', '--preferred-batch', '64', '--max-delay-ms', '8000', '--max-queue', '100']);
    children.push(srv);
    const url = `${srv.url}/v2/models/fmnist-term/infer`;
    const pending = Array.from({ length: 24 }, (_, i) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(1 + (i % 3), i) }).then(async (r) => ({ status: r.status, json: (await r.json()) as { id: string } })),
    );
    // Wait until the server has them queued (the metrics endpoint does not queue).
    const t0 = Date.now();
    for (;;) {
      const m = await (await fetch(`${srv.url}/metrics`)).text();
      const depth = Number(/^ecl_inference_queue_depth\{[^}]*\} (\S+)$/m.exec(m)?.[1] ?? 0);
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

  it('a SIGTERM sent the moment the address is printed drains too (exit 0, not killed by the signal)', async () => {
    // The handlers must exist before the address goes out: a tool that reads it may signal at once.
    for (let i = 0; i < 4; i++) {
      const srv = await startChildServer(['--model', model.modelPath, '--ep', 'cpu', '--no-ort-spin']);
      children.push(srv);
      srv.proc.kill('SIGTERM');
      assert.deepEqual(await srv.exited, { code: 0, signal: null }, srv.stderr());
    }
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

/** One POST on a keep-alive agent: the status (and Retry-After of a 503) or the error code. */
function keepAlivePost(agent: Agent, url: string, data: string): Promise<{ status?: number; retryAfter?: string; close?: boolean; id?: string; error?: string }> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) }, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        let id: string | undefined;
        try {
          id = (JSON.parse(text) as { id?: string }).id;
        } catch {}
        resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined, close: res.headers.connection === 'close', ...(id ? { id } : {}) });
      });
      res.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    });
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.end(data);
  });
}

describe('SIGTERM with keep-alive clients', { timeout: 60_000 }, () => {
  it('under load: every request is answered 200 or 503 + Retry-After, no resets; refused only after Connection: close; exit 0', async () => {
    const srv = await startChildServer(['--model', model.modelPath, '--ep', 'cpu', '--max-batch', '16', '--no-ort-spin']);
    children.push(srv);
    const url = `${srv.url}/v2/models/fmnist-term/infer`;
    const agents: Agent[] = [];
    let signalledAt = 0;
    type Outcome = { status?: number; retryAfter?: string; close?: boolean; id?: string; error?: string; sent: string; afterSignal: boolean };
    const outcomes: Outcome[] = [];
    const refusedUntold: string[] = [];
    // 32 keep-alive clients, one connection each, with think time (so connections are often idle at the
    // signal, as with real clients); each stops when refused (the listener is closed) or 5 s after the signal.
    const client = async (c: number) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      agents.push(agent);
      let prev: Outcome | undefined;
      for (let i = 0; ; i++) {
        const id = `c${c}-${i}`;
        const r = await keepAlivePost(agent, url, body(1, c * 1000 + i).replace(/"id":"[^"]*"/, `"id":"${id}"`));
        const o = { ...r, sent: id, afterSignal: signalledAt > 0 };
        outcomes.push(o);
        // A client may be refused only after the server told it to go (Connection: close on its last answer).
        if (r.error === 'ECONNREFUSED' && !prev?.close) refusedUntold.push(`${id} (previous: ${JSON.stringify(prev)})`);
        if (r.error || (signalledAt && Date.now() - signalledAt > 5000)) return;
        prev = o;
        await new Promise((res) => setTimeout(res, (c * 7 + i * 13) % 25));
      }
    };
    const loops = Array.from({ length: 32 }, (_, c) => client(c));
    await new Promise((r) => setTimeout(r, 800));
    signalledAt = Date.now();
    srv.proc.kill('SIGTERM');
    await Promise.all(loops);
    for (const a of agents) a.destroy();
    const { code } = await srv.exited;
    const errors = outcomes.filter((o) => o.error && o.error !== 'ECONNREFUSED');
    assert.deepEqual(errors.map((o) => `${o.sent}: ${o.error}`), [], 'requests lost (reset / hang up) around SIGTERM');
    assert.deepEqual(refusedUntold, [], 'idle keep-alive connections closed without an answer');
    const answered = outcomes.filter((o) => o.status !== undefined);
    assert.ok(answered.every((o) => o.status === 200 || (o.status === 503 && o.retryAfter !== undefined)), JSON.stringify(answered.filter((o) => o.status !== 200).slice(0, 3)));
    assert.ok(answered.filter((o) => o.status === 200).every((o) => o.id === o.sent), 'a 200 answered another request');
    assert.ok(answered.some((o) => o.status === 200 && o.afterSignal) || answered.some((o) => o.afterSignal), 'nothing was answered after the signal');
    assert.equal(code, 0, srv.stderr());
  });

  it('an idle keep-alive connection may send one last request (503 + Retry-After + Connection: close), then gets a clean EOF', async () => {
    const srv = await startChildServer(['--model', model.modelPath, '--ep', 'cpu', '--drain-grace-ms', '1500']);
    children.push(srv);
    const idle = await rawConnect(srv.url);
    await idle.write('GET /v2/health/live HTTP/1.1\r\nhost: x\r\n\r\n');
    await idle.waitFor(/^HTTP\/1\.1 200 [\s\S]*\r\n\r\n/, 5000);
    const silent = await rawConnect(srv.url);
    await silent.write('GET /v2/health/live HTTP/1.1\r\nhost: x\r\n\r\n');
    await silent.waitFor(/\r\n\r\n/, 5000);
    srv.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    const data = body(1, 1);
    await idle.write(postHead('/v2/models/fmnist-term/infer', { 'content-type': 'application/json', 'content-length': data.length }) + data);
    const last = await idle.closed;
    assert.equal(last.error, null);
    const second = last.data.slice(last.data.indexOf('HTTP/1.1', 10));
    assert.match(second, /^HTTP\/1\.1 503 /);
    assert.match(second, /\r\nretry-after: 5\r\n/i);
    assert.match(second, /\r\nconnection: close\r\n/i);
    // The connection that stayed silent is closed after the grace: EOF, no reset.
    const s = await silent.closed;
    assert.equal(s.error, null);
    assert.equal((await srv.exited).code, 0, srv.stderr());
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
    for (const [opt, v] of [
      ['--shutdown-timeout', 'abc'],
      ['--shutdown-timeout', '-5'],
      ['--body-timeout-ms', '0'],
      ['--max-inflight', '1.5'],
      ['--queue-timeout-ms', 'x'],
      ['--max-aspect-ratio', '0.5'],
      ['--max-connections', '-1'],
    ]) {
      const bad = run(['--model', model.modelPath, opt!, v!]);
      assert.equal(bad.status, 2, `${opt} ${v}: ${bad.stderr}`);
      assert.match(bad.stderr, new RegExp(`${opt} must be`));
    }
  });
});
