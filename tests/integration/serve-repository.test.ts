// A Triton-style model repository in one server: two versions of one model (alpha 1 and 2, different weights),
// a model with another input shape (beta, 32x32x3), a --model file (gamma, version = its sha256 prefix) and a
// corrupt model (broken). Each answers with its own model's output; a version unloaded under load loses no
// request; the repository extension (index, load, unload) follows Triton's shapes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import { decodeImage, uploadPixels } from '../../serve/node/classify.js';
import { ServeUsageError } from '../../serve/node/errors.js';
import { type RunningServer, startServer } from '../../serve/node/server.js';
import { type Shot, shoot } from '../helpers/load-gen.js';
import { makeServeModel } from '../helpers/serve-helpers.js';

let root: string;
let repo: string;
let srv: RunningServer;
let gammaPath: string;
let gammaVersion: string;
const sessions = new Map<string, ort.InferenceSession>();

/** Deterministic pixels. */
function pixels(n: number, seed: number): Uint8Array {
  let s = seed >>> 0 || 1;
  return Uint8Array.from({ length: n }, () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) & 0xff;
  });
}

const SHAPE: Record<string, [number, number, number]> = { alpha: [28, 28, 1], beta: [32, 32, 3], gamma: [28, 28, 1] };
const IMAGE = (model: string) => SHAPE[model]!.reduce((a, b) => a * b, 1);
const inferBody = (model: string, seed: number, n = 1) =>
  JSON.stringify({ inputs: [{ name: 'pixels', shape: [n, ...SHAPE[model]!], datatype: 'UINT8', data: Array.from(pixels(n * IMAGE(model), seed)) }], outputs: [{ name: 'probs' }] });

/** probs of a direct onnxruntime run of the file behind `key` (alpha/1, alpha/2, beta/1, gamma). */
async function directProbs(key: string, px: Uint8Array, n: number): Promise<number[]> {
  const model = key.split('/')[0]!;
  const out = await sessions.get(key)!.run({ pixels: new ort.Tensor('uint8', px, [n, ...SHAPE[model]!]) });
  return Array.from(out.probs!.data as Float32Array);
}

function assertClose(got: readonly number[], want: readonly number[], what: string) {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-5, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
}

interface InferAnswer {
  model_name: string;
  model_version: string;
  outputs: Array<{ name: string; data: number[] }>;
}

const postJson = (path: string, body?: string) =>
  fetch(`${srv.url}${path}`, { method: 'POST', ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body } : {}) });

interface IndexEntry {
  name: string;
  version?: string;
  state: string;
  reason: string;
}
async function index(): Promise<IndexEntry[]> {
  const r = await postJson('/v2/repository/index');
  assert.equal(r.status, 200);
  return (await r.json()) as IndexEntry[];
}
const stateOf = (entries: IndexEntry[], name: string, version: string) => entries.find((e) => e.name === name && e.version === version);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, ok: () => boolean | Promise<boolean>): Promise<void> {
  for (const t0 = Date.now(); !(await ok()); await sleep(10)) assert.ok(Date.now() - t0 < 20_000, `timed out waiting for ${what}`);
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'ecl-serve-repo-'));
  repo = join(root, 'repo');
  const src = join(root, 'runs');
  // Only model.onnx goes into the repository (no checkpoint next to it: the stale check has nothing to compare).
  const place = (from: string, name: string, version: string) => {
    mkdirSync(join(repo, name, version), { recursive: true });
    copyFileSync(from, join(repo, name, version, 'model.onnx'));
    return join(repo, name, version, 'model.onnx');
  };
  const a1 = await makeServeModel(src, { name: 'alpha-1', seed: 11 });
  const a2 = await makeServeModel(src, { name: 'alpha-2', seed: 22 });
  const b1 = await makeServeModel(src, { name: 'beta-1', family: 'resnet8', seed: 33 });
  const g = await makeServeModel(src, { name: 'gamma-run', seed: 44 });
  const files: Record<string, string> = { 'alpha/1': place(a1.modelPath, 'alpha', '1'), 'alpha/2': place(a2.modelPath, 'alpha', '2'), 'beta/1': place(b1.modelPath, 'beta', '1'), gamma: g.modelPath };
  mkdirSync(join(repo, 'broken', '1'), { recursive: true });
  writeFileSync(join(repo, 'broken', '1', 'model.onnx'), Buffer.from('this is not an ONNX model \x00\x01\x02\xff garbage bytes'));
  mkdirSync(join(repo, 'alpha', 'notes')); // not a version folder: ignored, as Triton does
  gammaPath = g.modelPath;
  gammaVersion = createHash('sha256').update(readFileSync(gammaPath)).digest('hex').slice(0, 12);
  for (const [k, p] of Object.entries(files)) sessions.set(k, await ort.InferenceSession.create(p, { executionProviders: ['cpu'] }));
  srv = await startServer({
    modelRepository: repo,
    models: [{ name: 'gamma', path: gammaPath }],
    port: 0,
    ep: 'cpu',
    maxBatch: 8,
    maxDelayMs: 0,
    inference: 'inline',
    defaultMetrics: false,
  });
});

after(async () => {
  await srv?.close();
  for (const s of sessions.values()) await s.release();
  rmSync(root, { recursive: true, force: true });
});

describe('model repository', { timeout: 180_000 }, () => {
  it('serves every version at once, each with its own output, and lists them in Triton index shape', async () => {
    const entries = await index();
    const keys = entries.map((e) => `${e.name}/${e.version}:${e.state}`).sort();
    assert.deepEqual(keys, ['alpha/1:READY', 'alpha/2:READY', 'beta/1:READY', 'broken/1:UNAVAILABLE', `gamma/${gammaVersion}:READY`].sort());
    for (const e of entries) assert.deepEqual(Object.keys(e).sort(), ['name', 'reason', 'state', 'version']);

    for (const [path, key, version] of [
      ['/v2/models/alpha/versions/1/infer', 'alpha/1', '1'],
      ['/v2/models/alpha/versions/2/infer', 'alpha/2', '2'],
      ['/v2/models/alpha/infer', 'alpha/2', '2'], // latest = highest version
      ['/v2/models/beta/infer', 'beta/1', '1'],
      [`/v2/models/gamma/versions/${gammaVersion}/infer`, 'gamma', gammaVersion],
    ] as const) {
      const model = key.split('/')[0]!;
      const r = await postJson(path, inferBody(model, 5, 2));
      assert.equal(r.status, 200, `${path}: ${await r.clone().text()}`);
      const j = (await r.json()) as InferAnswer;
      assert.equal(j.model_name, model, path);
      assert.equal(j.model_version, version, path);
      assertClose(j.outputs[0]!.data, await directProbs(key, pixels(2 * IMAGE(model), 5), 2), path);
    }
    // The two alpha versions really differ (otherwise the checks above could not tell them apart).
    const v1 = await directProbs('alpha/1', pixels(IMAGE('alpha'), 5), 1);
    const v2 = await directProbs('alpha/2', pixels(IMAGE('alpha'), 5), 1);
    assert.ok(v1.some((p, i) => Math.abs(p - v2[i]!) > 1e-3));

    // Each version checks requests against its own input shape.
    const wrong = await postJson('/v2/models/beta/infer', inferBody('alpha', 1));
    assert.equal(wrong.status, 400);
    assert.match(((await wrong.json()) as { error: string }).error, /does not match the model input \[-1, 32, 32, 3\]/);

    const meta = (await (await fetch(`${srv.url}/v2/models/alpha`)).json()) as { versions: string[]; parameters: { version: string } };
    assert.deepEqual(meta.versions, ['1', '2']);
    assert.equal(meta.parameters.version, '2');
    const server = (await (await fetch(`${srv.url}/v2`)).json()) as { extensions: string[] };
    assert.ok(server.extensions.includes('model_repository'));
    assert.equal((await fetch(`${srv.url}/v2/health/ready`)).status, 200, 'a model that failed to load does not hold readiness');
    // The web app runs the default model (the first --model): its file and info.
    const web = (await (await fetch(`${srv.url}/model/info`)).json()) as { sha256: string };
    assert.equal(web.sha256, createHash('sha256').update(readFileSync(gammaPath)).digest('hex'));
    const onnx = await fetch(`${srv.url}/model.onnx`);
    assert.equal(onnx.status, 200);
    assert.ok(Buffer.from(await onnx.arrayBuffer()).equals(readFileSync(gammaPath)));
    assert.equal((await fetch(`${srv.url}/`)).status, 200);
  });

  it('addresses versions: unknown model or version 404, a failed one 503, each with a clear message', async () => {
    const cases: Array<[string, 'GET' | 'POST', number, RegExp]> = [
      ['/v2/models/alpha/versions/3/infer', 'POST', 404, /unknown version '3' of model 'alpha' \(versions: 1, 2\)/],
      ['/v2/models/alpha/versions/3', 'GET', 404, /unknown version '3'/],
      ['/v2/models/alpha/versions/3/ready', 'GET', 404, /unknown version '3'/],
      ['/v2/models/nope/infer', 'POST', 404, /unknown model 'nope' \(this server serves: .*alpha/],
      ['/v2/models/nope', 'GET', 404, /unknown model 'nope'/],
      ['/v2/models/broken/versions/1/infer', 'POST', 503, /model 'broken' version 1 is not ready: UNAVAILABLE/],
      ['/v2/models/broken', 'GET', 503, /model 'broken' has no ready version/],
    ];
    for (const [path, method, status, msg] of cases) {
      const r = await fetch(`${srv.url}${path}`, method === 'POST' ? { method, headers: { 'content-type': 'application/json' }, body: inferBody('alpha', 1) } : {});
      assert.equal(r.status, status, path);
      assert.match(((await r.json()) as { error: string }).error, msg, path);
    }
    assert.equal((await fetch(`${srv.url}/v2/models/broken/versions/1/ready`)).status, 503);
    assert.equal((await fetch(`${srv.url}/v2/models/alpha/versions/1/ready`)).status, 200);
  });

  it('a corrupt model is UNAVAILABLE with its reason (no server path); loading it again fails with 400, the others serve', async () => {
    const broken = stateOf(await index(), 'broken', '1')!;
    assert.equal(broken.state, 'UNAVAILABLE');
    assert.match(broken.reason, /not a valid ONNX model|protobuf|invalid|failed/i);
    assert.ok(!broken.reason.includes(root), broken.reason);
    const r = await postJson('/v2/repository/models/broken/load');
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as { error: string }).error, /failed to load model 'broken': version 1: /);
    assert.equal((await postJson('/v2/models/alpha/versions/1/infer', inferBody('alpha', 2))).status, 200);
    assert.equal((await postJson('/v2/repository/models/nope/load')).status, 404);
    assert.equal((await postJson('/v2/repository/models/nope/unload')).status, 404);
    const readyOnly = (await (await postJson('/v2/repository/index', '{"ready": true}')).json()) as IndexEntry[];
    assert.ok(readyOnly.length === 4 && readyOnly.every((e) => e.state === 'READY'));
  });

  it('/v1/classify picks ?model= and &version=, else the default model (the first --model)', async () => {
    const png = await sharp(Buffer.from(pixels(40 * 30 * 3, 9)), { raw: { width: 40, height: 30, channels: 3 } }).png().toBuffer();
    for (const [query, key, version] of [
      ['?model=alpha&version=1', 'alpha/1', '1'],
      ['?model=alpha', 'alpha/2', '2'],
      ['?model=beta', 'beta/1', '1'],
      ['', 'gamma', gammaVersion],
    ] as const) {
      const model = key.split('/')[0]!;
      const r = await fetch(`${srv.url}/v1/classify${query}${query ? '&' : '?'}k=10`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: new Uint8Array(png) });
      assert.equal(r.status, 200, `${query}: ${await r.clone().text()}`);
      const j = (await r.json()) as { model_name: string; model_version: string; results: Array<{ predictions: Array<{ index: number; probability: number }> }> };
      assert.equal(j.model_name, model, query);
      assert.equal(j.model_version, version, query);
      // The same preprocessing the server runs, with this model's input size, then a direct run of its file.
      const info = srv.repository.resolve(model, version).info;
      const want = await directProbs(key, uploadPixels(await decodeImage(png, 1_000_000), info), 1);
      const got = new Array<number>(10);
      for (const p of j.results[0]!.predictions) got[p.index] = p.probability;
      assertClose(got, want, query);
    }
    const nope = await fetch(`${srv.url}/v1/classify?model=nope`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: new Uint8Array(png) });
    assert.equal(nope.status, 404);
    const badVersion = await fetch(`${srv.url}/v1/classify?model=alpha&version=9`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: new Uint8Array(png) });
    assert.equal(badVersion.status, 404);
  });

  it('unloading a version finishes its queued requests, refuses new ones at once, and the others keep serving', async () => {
    const v1 = srv.repository.resolve('alpha', '1');
    v1.batcher.pause();
    const queued = [3, 4, 5].map((seed) => postJson('/v2/models/alpha/versions/1/infer', inferBody('alpha', seed)));
    await until('3 queued requests', () => v1.batcher.queuedRequests === 3);
    const unload = postJson('/v2/repository/models/alpha/unload', JSON.stringify({ parameters: { version: '1' } }));
    await until('alpha 1 UNLOADING', async () => stateOf(await index(), 'alpha', '1')?.state === 'UNLOADING');
    const refused = await postJson('/v2/models/alpha/versions/1/infer', inferBody('alpha', 6));
    assert.ok([404, 503].includes(refused.status), String(refused.status));
    const latest = (await (await postJson('/v2/models/alpha/infer', inferBody('alpha', 6))).json()) as InferAnswer;
    assert.equal(latest.model_version, '2', 'the unversioned route serves the remaining version');
    v1.batcher.resume();
    for (const [i, p] of queued.entries()) {
      const r = await p;
      assert.equal(r.status, 200, 'a request queued before the unload is answered');
      assertClose(((await r.json()) as InferAnswer).outputs[0]!.data, await directProbs('alpha/1', pixels(IMAGE('alpha'), 3 + i), 1), 'queued v1');
    }
    assert.equal((await unload).status, 200);
    const e = stateOf(await index(), 'alpha', '1')!;
    assert.deepEqual([e.state, e.reason], ['UNAVAILABLE', 'unloaded']);
    assert.equal(v1.runner.healthy, true, 'the runner closed cleanly');
    // Load after unload: the version is back, with its own output.
    assert.equal((await postJson('/v2/repository/models/alpha/load')).status, 200);
    const back = await postJson('/v2/models/alpha/versions/1/infer', inferBody('alpha', 7));
    assert.equal(back.status, 200);
    assertClose(((await back.json()) as InferAnswer).outputs[0]!.data, await directProbs('alpha/1', pixels(IMAGE('alpha'), 7), 1), 'reloaded v1');
  });

  it('under load: unloading alpha 1 loses no request (200 until refused, then 404/503; the other models all 200)', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    let stop = false;
    let unloadedAt = Infinity;
    type Timed = Shot & { startedAt: number };
    // Closed-loop workers, each recording its own sequence: per worker, requests run one after another.
    // Workers on alpha 1 go on until they are refused once after the stop (no timing decides the outcome).
    const worker = async (path: string, model: string, seed: number, untilRefused = false): Promise<Timed[]> => {
      const body = Buffer.from(inferBody(model, seed));
      const seq: Timed[] = [];
      while (!stop || (untilRefused && (seq.at(-1)?.status ?? 200) === 200 && !seq.at(-1)?.error)) {
        const startedAt = performance.now();
        seq.push({ ...(await shoot(agent, `${srv.url}${path}`, body, seed, 10_000, true)), startedAt });
      }
      return seq;
    };
    const v1Workers = [1, 2, 3].map((s) => worker('/v2/models/alpha/versions/1/infer', 'alpha', s, true));
    const others = [
      worker('/v2/models/alpha/versions/2/infer', 'alpha', 4),
      worker('/v2/models/alpha/infer', 'alpha', 5),
      worker('/v2/models/beta/infer', 'beta', 6),
      worker(`/v2/models/gamma/infer`, 'gamma', 7),
    ];
    const v1 = srv.repository.resolve('alpha', '1');
    // A request leased by alpha 1 when the unload starts must still be answered 200.
    await until('alpha 1 under load', () => v1.inflight > 0);
    const r = await postJson('/v2/repository/models/alpha/unload', JSON.stringify({ parameters: { version: 1 } }));
    unloadedAt = performance.now();
    assert.equal(r.status, 200);
    await sleep(200); // (more requests to the others after the unload; not a pass/fail condition)
    stop = true;
    const v1Seqs = await Promise.all(v1Workers);
    const otherSeqs = await Promise.all(others);
    agent.destroy();

    const want = new Map<number, number[]>();
    for (const s of [1, 2, 3]) want.set(s, await directProbs('alpha/1', pixels(IMAGE('alpha'), s), 1));
    let ok = 0;
    let refused = 0;
    for (const seq of v1Seqs) {
      let seenRefusal = false;
      for (const shot of seq) {
        assert.equal(shot.error, undefined, `connection error: ${shot.error}`);
        if (shot.status === 200) {
          assert.ok(!seenRefusal, 'a 200 after a refusal on the same worker');
          assert.ok(shot.startedAt < unloadedAt, 'a request sent after the unload answered 200');
          const j = JSON.parse(shot.body!) as InferAnswer;
          assert.equal(j.model_version, '1');
          assertClose(j.outputs[0]!.data, want.get(shot.tag)!, 'v1 under load');
          ok++;
        } else {
          assert.ok(shot.status === 404 || shot.status === 503, `status ${shot.status}`);
          seenRefusal = true;
          refused++;
        }
      }
      assert.ok(seq.at(-1)!.status !== 200, 'every worker ends refused');
    }
    assert.ok(ok > 0 && refused > 0, `v1: ${ok} answered, ${refused} refused`);
    for (const seq of otherSeqs) {
      assert.ok(seq.length > 0);
      for (const shot of seq) assert.equal(shot.status, 200, `${shot.error ?? ''} ${shot.body ?? ''}`);
    }
    // The unversioned alpha route moved to version 2 only.
    for (const shot of otherSeqs[1]!) assert.equal((JSON.parse(shot.body!) as InferAnswer).model_version, '2');
    assert.equal((await postJson('/v2/repository/models/alpha/load')).status, 200);
  });

  it('a reload of a --model file whose content changed swaps in the new version, then retires the old one', async () => {
    const before = srv.repository.resolve('gamma');
    const other = await makeServeModel(join(root, 'runs2'), { name: 'gamma-next', seed: 55 });
    // Another run's model over gamma's: stale against gamma's checkpoint, so the reload fails and the old version serves on.
    copyFileSync(other.modelPath, gammaPath);
    const stale = await postJson('/v2/repository/models/gamma/load');
    assert.equal(stale.status, 400);
    assert.match(((await stale.json()) as { error: string }).error, /stale/);
    assert.equal(((await (await postJson('/v2/models/gamma/infer', inferBody('gamma', 8))).json()) as InferAnswer).model_version, gammaVersion);
    // A retrain + re-export of the run: the new checkpoint with its model.
    copyFileSync(join(other.dir, 'checkpoint.ckpt'), join(dirname(gammaPath), 'checkpoint.ckpt'));
    const next = createHash('sha256').update(readFileSync(gammaPath)).digest('hex').slice(0, 12);
    assert.notEqual(next, gammaVersion);
    const r = await postJson('/v2/repository/models/gamma/load');
    assert.equal(r.status, 200, await r.clone().text());
    const body = (await r.json()) as { versions: Array<{ version: string; state: string }> };
    assert.deepEqual(
      body.versions.map((v) => [v.version, v.state]),
      [[next, 'READY']],
    );
    assert.equal(before.state, 'UNLOADING', 'the old version drained and closed');
    assert.equal((await postJson(`/v2/models/gamma/versions/${gammaVersion}/infer`, inferBody('gamma', 8))).status, 404);
    const j = (await (await postJson('/v2/models/gamma/infer', inferBody('gamma', 8))).json()) as InferAnswer;
    assert.equal(j.model_version, next);
    const s = await ort.InferenceSession.create(gammaPath, { executionProviders: ['cpu'] });
    const out = await s.run({ pixels: new ort.Tensor('uint8', pixels(IMAGE('gamma'), 8), [1, 28, 28, 1]) });
    assertClose(j.outputs[0]!.data, Array.from(out.probs!.data as Float32Array), 'new gamma');
    await s.release();
    // The web app follows the default model to its new file.
    const web = (await (await fetch(`${srv.url}/model/info`)).json()) as { sha256: string };
    assert.equal(web.sha256.slice(0, 12), next);
  });
});

describe('model repository startup', { timeout: 120_000 }, () => {
  it('fails when no model loads; usage errors for a missing --model path or repository, or no model at all', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ecl-serve-repo-bad-'));
    try {
      mkdirSync(join(dir, 'only', '1'), { recursive: true });
      writeFileSync(join(dir, 'only', '1', 'model.onnx'), 'garbage');
      await assert.rejects(startServer({ modelRepository: dir, port: 0, ep: 'cpu', defaultMetrics: false }), (e: Error) => !(e instanceof ServeUsageError) && /only|valid ONNX|failed/i.test(e.message));
      await assert.rejects(startServer({ modelRepository: dir, models: [{ path: join(dir, 'missing.onnx') }], port: 0, ep: 'cpu', defaultMetrics: false }), (e: Error) => e instanceof ServeUsageError && /model not found/.test(e.message));
      await assert.rejects(startServer({ port: 0, ep: 'cpu', defaultMetrics: false }), (e: Error) => e instanceof ServeUsageError && /no model to serve/.test(e.message));
      await assert.rejects(startServer({ modelRepository: join(dir, 'nowhere'), port: 0, ep: 'cpu', defaultMetrics: false }), (e: Error) => e instanceof ServeUsageError && /model repository not found/.test(e.message));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
