// /metrics counts exactly what happened: a fresh server, a known sequence of requests, and the exact change of
// each counter (not "matches \d+", which 0 satisfies).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningServer, startServer } from '../../serve/node/server.js';
import { type ServeModel, makeServeModel } from '../helpers/serve-helpers.js';

let root: string;
let model: ServeModel;
let other: ServeModel;
let srv: RunningServer;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'ecl-serve-metrics-'));
  model = await makeServeModel(root, { name: 'fmnist-metrics' });
  // A second model whose inference metrics must not move when the first one serves.
  other = await makeServeModel(root, { name: 'fmnist-other', seed: 12 });
  srv = await startServer({
    modelPath: model.modelPath,
    models: [{ name: 'other', path: other.modelPath }],
    port: 0,
    ep: 'cpu',
    maxBatch: 8,
    maxDelayMs: 0,
    bodyLimit: 1 << 20,
    maxImagePixels: 1_000_000,
    defaultMetrics: false,
  });
});
after(async () => {
  await srv?.close();
  rmSync(root, { recursive: true, force: true });
});

/** Every sample of the exposition as "name{labels}" -> value. */
async function scrape(): Promise<Map<string, number>> {
  const text = await (await fetch(`${srv.url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}
const delta = (a: Map<string, number>, b: Map<string, number>, key: string) => (b.get(key) ?? 0) - (a.get(key) ?? 0);

const infer = (images: number) =>
  fetch(`${srv.url}/v2/models/fmnist-metrics/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'pixels', shape: [images, 28, 28, 1], datatype: 'UINT8', data: new Array(images * 784).fill(9) }] }),
  });

describe('/metrics counters', { timeout: 60_000 }, () => {
  it('change by exactly the requests, images and failures sent', async () => {
    const before = await scrape();
    for (const n of [1, 3, 2]) assert.equal((await infer(n)).status, 200);
    assert.equal((await fetch(`${srv.url}/v2/models/nope/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status, 404);
    const bad = await fetch(`${srv.url}/v2/models/fmnist-metrics/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"inputs": 3}' });
    assert.equal(bad.status, 400);
    const after = await scrape();
    const route = '/v2/models/:model/infer';
    const v = srv.repository.resolve('fmnist-metrics').version;
    const ov = srv.repository.resolve('other').version;
    assert.match(v, /^[0-9a-f]{12}$/, 'a --model version is the first 12 hex chars of its sha256');
    const m = `model="fmnist-metrics",version="${v}"`;
    const o = `model="other",version="${ov}"`;
    assert.equal(delta(before, after, `ecl_inference_images_total{${m}}`), 6);
    assert.equal(delta(before, after, `ecl_inference_images_total{${o}}`), 0, 'the other model ran nothing');
    assert.equal(delta(before, after, `ecl_http_requests_total{route="${route}",method="POST",status="200"}`), 3);
    assert.equal(delta(before, after, `ecl_http_requests_total{route="${route}",method="POST",status="400"}`), 1);
    assert.equal(delta(before, after, `ecl_http_request_failures_total{route="${route}",method="POST",status="400"}`), 1);
    assert.equal(delta(before, after, `ecl_http_request_failures_total{route="${route}",method="POST",status="404"}`), 1);
    assert.equal(delta(before, after, `ecl_inference_batch_size_count{${m}}`), 3, 'three runs (one per request: nothing else queued)');
    assert.equal(delta(before, after, `ecl_inference_batch_size_sum{${m}}`), 6);
    assert.equal(delta(before, after, `ecl_inference_compute_seconds_count{${m}}`), 3);
    assert.equal(delta(before, after, `ecl_inference_queue_seconds_count{${m}}`), 3);
    assert.equal(delta(before, after, `ecl_http_request_duration_seconds_count{route="${route}"}`), 5);
    assert.equal(after.get(`ecl_inference_queue_depth{${m}}`), 0);
    assert.equal(after.get(`ecl_inference_queue_depth{${o}}`), 0);
    assert.equal(after.get(`ecl_model_info{${m},ep="cpu"}`), 1);
    assert.equal(after.get(`ecl_model_info{${o},ep="cpu"}`), 1);
  });

  it('an unloaded model leaves ecl_model_info and the queue gauge; its counters stay', async () => {
    const ov = srv.repository.resolve('other').version;
    const o = `model="other",version="${ov}"`;
    const body = JSON.stringify({ inputs: [{ name: 'pixels', shape: [2, 28, 28, 1], datatype: 'UINT8', data: new Array(2 * 784).fill(3) }] });
    assert.equal((await fetch(`${srv.url}/v2/models/other/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status, 200);
    assert.equal((await fetch(`${srv.url}/v2/repository/models/other/unload`, { method: 'POST' })).status, 200);
    const after = await scrape();
    assert.equal(after.get(`ecl_model_info{${o},ep="cpu"}`), undefined);
    assert.equal(after.get(`ecl_inference_queue_depth{${o}}`), undefined);
    assert.ok((after.get(`ecl_inference_images_total{${o}}`) ?? 0) >= 2);
  });
});
