// Client input that used to cost a 500 or a misleading message: the server answers 400 with the reason.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningServer, startServer } from '../../serve/node/server.js';
import { type ServeModel, makeServeModel } from '../helpers/serve-helpers.js';

let root: string;
let model: ServeModel;
let srv: RunningServer;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'ecl-serve-abuse-'));
  model = await makeServeModel(root, { name: 'fmnist-abuse' });
  srv = await startServer({ modelPath: model.modelPath, port: 0, ep: 'cpu', maxBatch: 4, bodyLimit: 1 << 20, maxImagePixels: 1_000_000, defaultMetrics: false });
});
after(async () => {
  await srv?.close();
  rmSync(root, { recursive: true, force: true });
});

const infer = (body: string) =>
  fetch(`${srv.url}/v2/models/fmnist-abuse/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(20_000) });

describe('v2 infer with hostile JSON', { timeout: 60_000 }, () => {
  it('a 20,000-deep array where the pixels go is a 400, not a stack overflow', async () => {
    const deep = '['.repeat(20_000) + ']'.repeat(20_000);
    const pixels = `[${Array.from({ length: 28 * 28 - 1 }, () => '0').join(',')},${deep}]`;
    const res = await infer(`{"inputs":[{"name":"pixels","shape":[1,28,28,1],"datatype":"UINT8","data":${pixels}}]}`);
    const body = (await res.json()) as { error: string };
    assert.equal(res.status, 400, JSON.stringify(body).slice(0, 300));
    assert.match(body.error, /data\[783\]: an array of 1 is not allowed/);
    // Deep nesting that follows the shape's depth only: still a 400.
    const nested = await infer(`{"inputs":[{"name":"pixels","shape":[1,28,28,1],"datatype":"UINT8","data":[[${deep}]]}]}`);
    assert.equal(nested.status, 400);
    // The server still answers a good request.
    const ok = await infer(`{"inputs":[{"name":"pixels","shape":[1,28,28,1],"datatype":"UINT8","data":[${Array.from({ length: 784 }, () => '7').join(',')}]}]}`);
    assert.equal(ok.status, 200);
  });

  it('1e400 is reported as Infinity, not as null', async () => {
    const res = await infer(`{"inputs":[{"name":"pixels","shape":[1,28,28,1],"datatype":"UINT8","data":[1e400${',0'.repeat(783)}]}]}`);
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: string }).error, /data\[0\]: Infinity is not allowed/);
  });
});
