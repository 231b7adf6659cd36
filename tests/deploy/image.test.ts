// The container image end to end (`make image-test`, not part of `make test`): builds deploy/Containerfile with a
// freshly exported model baked in, runs it with podman (host network, a free loopback port through ECL_SERVE_PORT,
// as the image's own ECL_SERVE_HOST/PORT would be overridden in a cluster), and checks that it answers exactly like
// the server started from the checkout: health, model metadata, the classification of real test images, the web
// app's files. Then SIGTERM with requests in flight: every one is answered 200 and the container exits 0.
// Skips without podman unless ECL_REQUIRE names it (.ci/run does).
//
// Each protocol is its own describe() block on the same image and startContainer(): HTTP, then gRPC (an independent
// client built from the proto, tests/helpers/grpc-client.ts) against the checkout's answers.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ORT_WEB_FILES } from '../../pipeline/deploy/server-files.js';
import { skipUnless } from '../helpers/require.js';
import { type ChildServer, REPO_ROOT, type ServeModel, makeServeModel, startChildServer } from '../helpers/serve-helpers.js';
import { type InferResponse, call, closeClients, connect, floatsLE } from '../helpers/grpc-client.js';
import sharp from 'sharp';

const IMAGE = 'localhost/ecl-serve:image-test';
const BUILD = join(REPO_ROOT, 'dist', 'scripts', 'build-image.js');
const SAMPLES = join(REPO_ROOT, 'pipeline', 'data', 'embedded', 'samples');

function podmanMissing(): string | false {
  const r = spawnSync('podman', ['--version'], { encoding: 'utf8' });
  if (r.error) return `podman not found (${r.error.message}); install it: apt-get install podman runc`;
  return r.status === 0 ? false : `podman --version exited ${r.status}: ${r.stderr.trim()}`;
}
const skip = skipUnless('podman', podmanMissing());

const podman = (args: string[]) => spawnSync('podman', args, { encoding: 'utf8', maxBuffer: 64 << 20 });

/** A free loopback port (the container shares the host's network). */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });

interface Container {
  name: string;
  url: string;
  /** host:port of its gRPC listener. */
  grpc: string;
  proc: ChildProcess;
  stderr: () => string;
  /** podman run's exit code: the container's. */
  exited: Promise<number | null>;
}

const started: string[] = [];
let seq = 0;

/**
 * `podman run IMAGE [args]` in the foreground, resolved once the server prints its URL. runc and explicit
 * ulimits: podman's default crun and limits fail in some CI sandboxes (this machine's among them).
 */
function startContainer(opts: { port: number; grpcPort: number; args?: string[]; env?: Record<string, string> }): Promise<Container> {
  const name = `ecl-image-test-${process.pid}-${seq++}`;
  started.push(name);
  const runtime = existsSync('/usr/bin/runc') ? ['--runtime', 'runc'] : [];
  const env = { ECL_SERVE_HOST: '127.0.0.1', ECL_SERVE_PORT: String(opts.port), ECL_SERVE_GRPC_PORT: String(opts.grpcPort), ...opts.env };
  const proc = spawn(
    'podman',
    ['run', '--rm', '--read-only', '--name', name, ...runtime, '--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=4096:4096', '--network', 'host', ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), IMAGE, ...(opts.args ?? [])],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  let out = '';
  proc.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-65536)));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      podman(['rm', '-f', name]);
      reject(new Error(`the container did not start listening in 60 s:\n${err.slice(-2000)}`));
    }, 60_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      // Two lines: the URL, then the gRPC address (the image sets ECL_SERVE_GRPC_PORT).
      const m = /listening on (http:\/\/\S+)\n/.exec(out);
      const g = /grpc listening on (\S+)\n/.exec(out);
      if (m && g) {
        clearTimeout(timer);
        resolve({ name, url: m[1]!, grpc: g[1]!, proc, stderr: () => err, exited });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the container exited (${code}) before listening:\n${err.slice(-2000)}`));
    });
  });
}

let root: string;
let model: ServeModel;

before(async () => {
  if (skip) return;
  root = mkdtempSync(join(tmpdir(), 'ecl-image-test-'));
  model = await makeServeModel(root, { name: 'fmnist-image', seed: 5 });
  // Builds into build/image (its staged node_modules are reused while deploy/runtime's lock is unchanged).
  const r = spawnSync(process.execPath, [BUILD, '--tag', IMAGE, '--model', model.modelPath], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 600_000 });
  assert.equal(r.status, 0, `make image failed:\n${r.stdout}\n${r.stderr.slice(-4000)}`);
  process.stderr.write(`# ${r.stdout.trim()}\n`);
}, { timeout: 600_000 });

after(() => {
  for (const name of started) podman(['rm', '-f', '--ignore', name]);
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('container image: contents', { skip, timeout: 60_000 }, () => {
  it('is configured as KServe expects: user 1000, 0.0.0.0:8080, the server as entrypoint, the mounted model as default', () => {
    const r = podman(['image', 'inspect', '--format', '{{json .Config}}', IMAGE]);
    assert.equal(r.status, 0, r.stderr);
    const c = JSON.parse(r.stdout) as { User: string; Env: string[]; ExposedPorts: Record<string, unknown>; Entrypoint: string[]; Cmd: string[]; WorkingDir: string };
    assert.equal(c.User, '1000:1000');
    for (const e of ['ECL_SERVE_HOST=0.0.0.0', 'ECL_SERVE_PORT=8080', 'ECL_SERVE_GRPC_PORT=8081']) assert.ok(c.Env.includes(e), `${e} not in ${c.Env.join(' ')}`);
    assert.deepEqual(Object.keys(c.ExposedPorts).sort(), ['8080/tcp', '8081/tcp']);
    assert.deepEqual(c.Entrypoint, ['/usr/bin/node', '/app/dist/serve/node/main.js']);
    assert.deepEqual(c.Cmd, ['--model', '/mnt/models/model.onnx', '--model-name', 'model']);
  });

  it('holds the server only: no training code, no dev packages, no other platforms\' binaries', () => {
    const name = `ecl-image-test-${process.pid}-files`;
    started.push(name);
    assert.equal(podman(['create', '--name', name, IMAGE]).status, 0);
    const list = spawnSync('sh', ['-c', `podman export ${name} | tar -t`], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(list.status, 0, list.stderr);
    const files = list.stdout.split('\n').filter(Boolean);
    assert.ok(files.includes('app/dist/serve/node/main.js') && files.includes('mnt/models/model.onnx') && files.includes('usr/bin/node'), 'server, model and node present');
    const foreign = files.filter((f) =>
      /^app\/dist\/(pipeline|scripts|tests|bench)\/|^app\/node_modules\/(@tensorflow|playwright|autocannon|vega|webgpu|typescript|dependency-cruiser|kubernetes-models)|\/napi-v6\/(darwin|win32|linux\/arm64)\//.test(f),
    );
    assert.deepEqual(foreign, []);
    // onnxruntime-web: only the files the web app loads.
    const ortWeb = files.filter((f) => f.startsWith('app/node_modules/onnxruntime-web/dist/') && !f.endsWith('/')).map((f) => f.split('/').pop());
    assert.deepEqual(ortWeb.sort(), [...ORT_WEB_FILES].sort());
  });
});

describe('container image: HTTP', { skip, timeout: 120_000 }, () => {
  let checkout: ChildServer;
  let box: Container;

  before(async () => {
    if (skip) return;
    // The same model and name from the checkout, the reference for every answer.
    checkout = await startChildServer(['--model', model.modelPath, '--model-name', 'model']);
    box = await startContainer({ port: await freePort(), grpcPort: await freePort() });
  });
  after(async () => {
    checkout?.proc.kill('SIGKILL');
    if (box) {
      podman(['kill', '--signal', 'TERM', box.name]);
      await box.exited;
    }
  });

  it('listens where ECL_SERVE_HOST/ECL_SERVE_PORT say and is live and ready', async () => {
    assert.match(box.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    for (const p of ['/v2/health/live', '/v2/health/ready', '/v2/models/model/ready']) assert.equal((await fetch(`${box.url}${p}`)).status, 200, p);
  });

  it('reports the same model metadata as the checkout', async () => {
    const get = async (url: string) => {
      const r = await fetch(`${url}/v2/models/model`);
      assert.equal(r.status, 200);
      const m = (await r.json()) as { parameters: Record<string, unknown> };
      // Why CUDA was not used names each side's own folder.
      delete m.parameters.execution_providers_tried;
      // Timed by each server when it loaded the model (--preferred-batch / --admission-wait-ms auto): they differ
      // with the machine's load, so they are checked for shape, not compared.
      const timed = { preferred: m.parameters.preferred_batch_size, limit: m.parameters.admission_limit_ms };
      assert.ok(Number.isInteger(timed.preferred) && (timed.preferred as number) >= 1, `preferred_batch_size ${String(timed.preferred)}`);
      assert.ok(typeof timed.limit === 'number' && timed.limit > 0, `admission_limit_ms ${String(timed.limit)}`);
      delete m.parameters.preferred_batch_size;
      delete m.parameters.admission_limit_ms;
      return m;
    };
    const [inBox, fromCheckout] = [await get(box.url), await get(checkout.url)];
    assert.deepEqual(inBox, fromCheckout);
    assert.equal(inBox.parameters.execution_provider, 'cpu');
  });

  it('classifies every shipped test image exactly as the checkout does', async () => {
    const pngs = readdirSync(SAMPLES).filter((f) => f.endsWith('.png'));
    assert.ok(pngs.length >= 10);
    for (const f of pngs) {
      const body = readFileSync(join(SAMPLES, f));
      const ask = async (url: string) => {
        const r = await fetch(`${url}/v1/classify?k=3`, { method: 'POST', headers: { 'content-type': 'image/png' }, body });
        assert.equal(r.status, 200, f);
        return r.json();
      };
      assert.deepEqual(await ask(box.url), await ask(checkout.url), f);
    }
  });

  it('serves the web app with the onnxruntime-web files its page loads', async () => {
    assert.equal((await fetch(`${box.url}/`)).status, 200);
    for (const f of ORT_WEB_FILES.filter((f) => !f.startsWith('ort.node'))) {
      const [a, b] = await Promise.all([fetch(`${box.url}/ort/${f}`), fetch(`${checkout.url}/ort/${f}`)]);
      assert.equal(a.status, 200, f);
      assert.ok(Buffer.from(await a.arrayBuffer()).equals(Buffer.from(await b.arrayBuffer())), `${f} differs from the checkout's`);
    }
    const m = await (await fetch(`${box.url}/metrics`)).text();
    assert.match(m, /^ecl_model_info\{/m);
  });
});

describe('container image: gRPC', { skip, timeout: 120_000 }, () => {
  let checkout: ChildServer;
  let box: Container;

  before(async () => {
    if (skip) return;
    checkout = await startChildServer(['--model', model.modelPath, '--model-name', 'model', '--grpc-port', '0']);
    box = await startContainer({ port: await freePort(), grpcPort: await freePort() });
  });
  after(async () => {
    closeClients();
    checkout?.proc.kill('SIGKILL');
    if (box) {
      podman(['kill', '--signal', 'TERM', box.name]);
      await box.exited;
    }
  });

  it('is live and ready, with the same server and model metadata as the checkout', async () => {
    assert.match(box.grpc, /^127\.0\.0\.1:\d+$/);
    const [c, ref] = [connect(box.grpc), connect(checkout.grpc!)];
    assert.deepEqual(await call(c, 'ServerLive', {}), { live: true });
    assert.deepEqual(await call(c, 'ServerReady', {}), { ready: true });
    assert.deepEqual(await call(c, 'ModelReady', { name: 'model' }), { ready: true });
    assert.deepEqual(await call(c, 'ServerMetadata', {}), await call(ref, 'ServerMetadata', {}));
    assert.deepEqual(await call(c, 'ModelMetadata', { name: 'model' }), await call(ref, 'ModelMetadata', { name: 'model' }));
  });

  it('ModelInfer (raw_input_contents) on every shipped test image gives the checkout\'s outputs, bit for bit', async () => {
    const pngs = readdirSync(SAMPLES).filter((f) => f.endsWith('.png'));
    const pixels = Buffer.concat(await Promise.all(pngs.map((f) => sharp(join(SAMPLES, f)).greyscale().raw().toBuffer())));
    assert.equal(pixels.length, pngs.length * 28 * 28);
    const req = { model_name: 'model', id: 'img', inputs: [{ name: 'pixels', datatype: 'UINT8', shape: [pngs.length, 28, 28, 1] }], raw_input_contents: [pixels] };
    const [a, b] = [await call<InferResponse>(connect(box.grpc), 'ModelInfer', req), await call<InferResponse>(connect(checkout.grpc!), 'ModelInfer', req)];
    assert.equal(a.id, 'img');
    assert.deepEqual(a.outputs, b.outputs);
    assert.equal(a.raw_output_contents.length, b.raw_output_contents.length);
    a.raw_output_contents.forEach((buf, i) => assert.deepEqual(floatsLE(buf), floatsLE(b.raw_output_contents[i]!), a.outputs[i]!.name));
  });
});

describe('container image: SIGTERM', { skip, timeout: 120_000 }, () => {
  it('drains in-flight requests (REST all 200, gRPC all answered) and exits 0; --port wins over ECL_SERVE_PORT', async () => {
    const [envPort, flagPort] = [await freePort(), await freePort()];
    // A batch that never fills and a long delay keep every request queued until the signal.
    const box = await startContainer({
      port: envPort,
      grpcPort: await freePort(),
      args: ['--model', '/mnt/models/model.onnx', '--model-name', 'model', '--port', String(flagPort), '--max-batch', '64', '--preferred-batch', '64', '--max-delay-ms', '8000', '--max-queue', '100'],
    });
    assert.equal(box.url, `http://127.0.0.1:${flagPort}`);
    const n = 24;
    const body = (i: number) =>
      JSON.stringify({ id: `r${i}`, inputs: [{ name: 'pixels', shape: [1, 28, 28, 1], datatype: 'UINT8', data: Array.from({ length: 784 }, (_, j) => (j * 7 + i) & 255) }] });
    const pending = Array.from({ length: n }, (_, i) =>
      fetch(`${box.url}/v2/models/model/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(i) }).then(async (r) => ({ status: r.status, id: ((await r.json()) as { id?: string }).id })),
    );
    // And gRPC calls, queued in the same batcher.
    const g = 6;
    const grpcClient = connect(box.grpc);
    const grpcPending = Array.from({ length: g }, (_, i) =>
      call<InferResponse>(grpcClient, 'ModelInfer', { model_name: 'model', id: `g${i}`, inputs: [{ name: 'pixels', datatype: 'UINT8', shape: [1, 28, 28, 1] }], raw_input_contents: [Buffer.alloc(784, i)] }),
    );
    for (let depth = 0; depth < n + g; ) {
      const m = await (await fetch(`${box.url}/metrics`)).text();
      depth = Number(/^ecl_inference_queue_depth\{[^}]*\} (\S+)$/m.exec(m)?.[1] ?? 0);
      if (depth < n + g) await new Promise((r) => setTimeout(r, 20));
    }
    const kill = podman(['kill', '--signal', 'TERM', box.name]);
    assert.equal(kill.status, 0, kill.stderr);
    const results = await Promise.all(pending);
    assert.deepEqual(
      results.map((r) => r.status),
      Array(n).fill(200),
    );
    assert.deepEqual(
      results.map((r) => r.id),
      Array.from({ length: n }, (_, i) => `r${i}`),
    );
    assert.deepEqual(
      (await Promise.all(grpcPending)).map((r) => r.id),
      Array.from({ length: g }, (_, i) => `g${i}`),
    );
    closeClients();
    // Exit 0 = drained before --shutdown-timeout (the server exits 1 when the drain limit passes).
    assert.equal(await box.exited, 0, box.stderr());
    assert.match(box.stderr(), /SIGTERM: draining[\s\S]*drained, bye/);
  });
});
