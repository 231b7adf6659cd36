// Overload and abuse (issue 17), against an in-process server on 127.0.0.1: admission before the body is
// read, in-flight limits, the queue deadline, stalled and dripped bodies, the connection limit, the 413 of a
// client that sends the whole body first, decode cost bounded before decoding, and the smaller items.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { deflateSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { type RunningServer, type ServeOptions, startServer } from '../../serve/node/server.js';
import { type ServeModel, makeServeModel } from '../helpers/serve-helpers.js';
import { inferBody28, postHead, rawConnect } from '../helpers/raw-http.js';

let root: string;
let model: ServeModel;
const servers: RunningServer[] = [];
const INFER = '/v2/models/fmnist-ovl/infer';

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'ecl-serve-overload-'));
  model = await makeServeModel(root, { name: 'fmnist-ovl' });
});
after(async () => {
  for (const s of servers) await s.close();
  rmSync(root, { recursive: true, force: true });
});

async function serve(o: Partial<ServeOptions>): Promise<RunningServer> {
  const s = await startServer({ modelPath: model.modelPath, port: 0, ep: 'cpu', defaultMetrics: false, ...o });
  servers.push(s);
  return s;
}
const post = (url: string, body: string | Buffer, type = 'application/json', headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': type, ...headers }, body: body as BodyInit, signal: AbortSignal.timeout(15_000) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('admission before the body is read', { timeout: 60_000 }, () => {
  it('a full queue answers 503 + Retry-After to a request whose body was never sent', async () => {
    const srv = await serve({ maxQueue: 2, maxBatch: 1 });
    srv.batcher.pause();
    try {
      const queued = [post(srv.url + INFER, inferBody28()), post(srv.url + INFER, inferBody28())];
      for (let t0 = Date.now(); srv.batcher.queuedRequests < 2; await sleep(10)) assert.ok(Date.now() - t0 < 10_000, 'requests not queued');
      // Headers announcing 4 MB, no body: the old server waited for the body (then parsed it) before refusing.
      const c = await rawConnect(srv.url);
      await c.write(postHead(INFER, { 'content-type': 'application/json', 'content-length': 4_000_000 }));
      const head = await c.waitFor(/\r\n\r\n[\s\S]*\}/, 3000);
      assert.match(head, /^HTTP\/1\.1 503 /);
      assert.match(head, /\r\nretry-after: 1\r\n/i);
      assert.match(head, /inference queue is full/);
      c.socket.destroy();
      srv.batcher.resume();
      assert.deepEqual((await Promise.all(queued)).map((r) => r.status), [200, 200]);
    } finally {
      srv.batcher.resume();
    }
  });

  it('--max-inflight counts requests still sending their bodies', async () => {
    const srv = await serve({ maxInflight: 2 });
    const body = inferBody28();
    const slow = await Promise.all([rawConnect(srv.url), rawConnect(srv.url)]);
    for (const c of slow) await c.write(postHead(INFER, { 'content-type': 'application/json', 'content-length': body.length }) + body.slice(0, 100));
    await sleep(300);
    const r = await post(srv.url + INFER, body);
    assert.equal(r.status, 503);
    assert.match(((await r.json()) as { error: string }).error, /in flight \(--max-inflight\)/);
    // The two slow ones complete and are answered.
    for (const c of slow) await c.write(body.slice(100));
    for (const c of slow) assert.match(await c.waitFor(/\r\n\r\n[\s\S]*\}$/, 10_000), /^HTTP\/1\.1 200 /);
    for (const c of slow) c.socket.destroy();
    assert.equal((await post(srv.url + INFER, body)).status, 200);
  });

  it('--max-inflight-per-connection refuses the third pipelined request on one connection', async () => {
    const srv = await serve({ maxInflightPerConnection: 2, maxQueue: 16 });
    srv.batcher.pause();
    const body = inferBody28();
    const one = postHead(INFER, { 'content-type': 'application/json', 'content-length': body.length }) + body;
    const c = await rawConnect(srv.url);
    await c.write(one + one + one);
    await sleep(300);
    srv.batcher.resume();
    const all = await c.waitFor(/(HTTP\/1\.1 \d{3}[\s\S]*){3}\}$/, 10_000);
    assert.deepEqual([...all.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]), ['200', '200', '503']);
    c.socket.destroy();
  });

  it('--queue-timeout-ms sheds a request that waited too long (503), the next one runs', async () => {
    const srv = await serve({ queueTimeoutMs: 200 });
    srv.batcher.pause();
    const late = post(srv.url + INFER, inferBody28());
    for (let t0 = Date.now(); srv.batcher.queuedRequests < 1; await sleep(10)) assert.ok(Date.now() - t0 < 10_000);
    await sleep(400);
    srv.batcher.resume();
    const r = await late;
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('retry-after'), '1');
    assert.match(((await r.json()) as { error: string }).error, /queue deadline of 200 ms \(--queue-timeout-ms\)/);
    // Counted apart from the cheap refusal on arrival (queue_timeout): this one was parsed and queued first.
    const metrics = await (await fetch(`${srv.url}/metrics`)).text();
    assert.match(metrics, /ecl_inference_rejected_total\{reason="deadline_expired"\} 1\b/);
    assert.doesNotMatch(metrics, /reason="queue_timeout"/);
    assert.equal((await post(srv.url + INFER, inferBody28())).status, 200);
  });
});

describe('queue deadline decided on arrival', { timeout: 60_000 }, () => {
  it('a request whose expected wait exceeds --queue-timeout-ms is refused before its body is read', async () => {
    // The default 2 s deadline: no real request waits that long, however busy the machine. The batch cost is
    // set to 1 s an image (the model is far faster; its own calibration is unit-tested), so that the queue built
    // below (64-image requests) crosses the deadline whatever the machine's speed.
    const srv = await serve({ queueTimeoutMs: 2000, maxBatch: 64 });
    assert.ok(srv.batcher.cost.isCalibrated, 'the batch cost was measured when the model loaded');
    assert.equal((await post(srv.url + INFER, inferBody28())).status, 200);
    srv.batcher.pause();
    srv.batcher.cost.calibrate([{ n: 1, ms: 1000 }]);
    assert.equal(srv.batcher.expectedWaitMs, 0, 'nothing waiting');
    const queued: Array<Promise<unknown>> = [];
    while (!srv.batcher.wouldMissDeadline) {
      assert.ok(queued.length < 256, `the expected wait never passed the deadline (${srv.batcher.expectedWaitMs} ms)`);
      queued.push(srv.batcher.submit(new Uint8Array(64 * 28 * 28), 64).catch((e: Error) => e));
    }
    assert.ok(srv.batcher.expectedWaitMs > 2000);
    const c = await rawConnect(srv.url);
    await c.write(postHead(INFER, { 'content-type': 'application/json', 'content-length': 4_000_000 }));
    const head = await c.waitFor(/\r\n\r\n[\s\S]*\}/, 10_000);
    assert.match(head, /^HTTP\/1\.1 503 /);
    assert.match(head, /\r\nretry-after: 1\r\n/i);
    assert.match(head, /expected wait exceeds the admission limit \(--admission-wait-ms, --queue-timeout-ms\)/);
    c.socket.destroy();
    const metrics = await (await fetch(`${srv.url}/metrics`)).text();
    assert.match(metrics, /ecl_inference_rejected_total\{reason="queue_timeout"\} 1\b/);
    srv.batcher.resume();
    await Promise.all(queued);
    assert.equal(srv.batcher.queuedRequests, 0);
    assert.equal((await post(srv.url + INFER, inferBody28())).status, 200, 'the queue drained: answered again');
  });
});

describe('admission wait: requests still sending their bodies count', { timeout: 60_000 }, () => {
  it('16 admitted bodies in flight fill two batches: the 17th is refused before its body; closing them releases their places', async () => {
    // 1 s an image (set below), batches of 8: the auto admission limit is 1.5 x 8 s = 12 s. Each request whose
    // headers were admitted counts as one waiting image until its body is parsed and queued: without that, every
    // request of one event-loop turn passed the check against the same (empty) queue.
    const srv = await serve({ preferredBatch: 8, admissionWaitMs: 'auto', queueTimeoutMs: 0, maxBatch: 64 });
    srv.batcher.cost.calibrate([{ n: 1, ms: 1000 }]);
    srv.batcher.reservationTtlMs = 60_000; // the test's own pace must not expire them (the expiry is unit-tested)
    assert.equal(srv.batcher.admissionLimitMs, 12_000);
    const body = inferBody28();
    const head = postHead(INFER, { 'content-type': 'application/json', 'content-length': body.length });
    const open = [];
    for (let i = 0; i < 16; i++) {
      const c = await rawConnect(srv.url);
      await c.write(head);
      open.push(c);
      for (let t0 = Date.now(); srv.batcher.reservedRequests < i + 1; await sleep(5)) assert.ok(Date.now() - t0 < 10_000, `request ${i + 1} not admitted`);
    }
    assert.equal(srv.batcher.queuedRequests, 0, 'no body sent: nothing queued yet');
    assert.equal(srv.batcher.expectedWaitMs, 16_000, 'two full batches of reserved images ahead');
    const refused = await post(srv.url + INFER, body);
    assert.equal(refused.status, 503);
    assert.match(((await refused.json()) as { error: string }).error, /expected wait exceeds the admission limit \(--admission-wait-ms, --queue-timeout-ms\)/);
    // One body completes: its reservation becomes a queued request (answered), the others are closed unsent.
    await open[0]!.write(body);
    assert.match(await open[0]!.waitFor(/\r\n\r\n[\s\S]*\}$/, 10_000), /^HTTP\/1\.1 200 /);
    for (const c of open) c.socket.destroy();
    for (let t0 = Date.now(); srv.batcher.reservedRequests > 0; await sleep(10)) assert.ok(Date.now() - t0 < 10_000, `${srv.batcher.reservedRequests} reservations left`);
    assert.equal(srv.batcher.expectedWaitMs, 0);
    assert.equal((await post(srv.url + INFER, body)).status, 200);
  });

  it('bad bodies release their places too', async () => {
    const srv = await serve({});
    const bad = await Promise.all(Array.from({ length: 20 }, (_, i) => post(srv.url + INFER, i % 2 ? '{"inputs": [' : JSON.stringify({ inputs: [{ name: 'pixels', shape: [1, 28, 28, 1], datatype: 'UINT8', data: [1, 2] }] }))));
    assert.deepEqual([...new Set(bad.map((r) => r.status))], [400]);
    for (let t0 = Date.now(); srv.batcher.reservedRequests > 0; await sleep(10)) assert.ok(Date.now() - t0 < 10_000, `${srv.batcher.reservedRequests} reservations left`);
  });
});

describe('stalled bodies and connection limits', { timeout: 60_000 }, () => {
  it('a stalled body and a dripped body are cut after --body-timeout-ms with a 408', async () => {
    const srv = await serve({ bodyTimeoutMs: 600 });
    const stalled = await rawConnect(srv.url);
    await stalled.write(postHead(INFER, { 'content-type': 'application/json', 'content-length': 100_000 }) + '{"inputs":');
    const drip = await rawConnect(srv.url);
    await drip.write(postHead(INFER, { 'content-type': 'application/json', 'content-length': 100_000 }));
    const dripper = setInterval(() => drip.socket.writable && drip.socket.write(' '), 100);
    try {
      const [s, d] = await Promise.all([stalled.closed, drip.closed].map((p) => Promise.race([p, sleep(8000).then(() => null)])));
      assert.ok(s && d, 'the server kept a stalled or dripping connection open for 8 s');
      assert.match(s.data, /^HTTP\/1\.1 408 [\s\S]*--body-timeout-ms/);
      assert.match(d.data, /^HTTP\/1\.1 408 /);
      assert.ok(s.afterMs < 3000 && d.afterMs < 3000, `cut after ${s.afterMs} / ${d.afterMs} ms`);
    } finally {
      clearInterval(dripper);
    }
    assert.equal((await post(srv.url + INFER, inferBody28())).status, 200);
  });

  it('40 stalled 1 MB bodies: the connections are closed and their memory released', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // No admission wait: all 40 are admitted (with it, the ones past two batches' worth are refused unread).
    const srv = await serve({ bodyTimeoutMs: 1500, bodyLimit: 2 << 20, admissionWaitMs: 0 });
    const heapish = () => {
      gc();
      return process.memoryUsage().arrayBuffers;
    };
    const base = heapish();
    const chunk = Buffer.alloc(1 << 20, 0x20);
    const conns = await Promise.all(Array.from({ length: 40 }, () => rawConnect(srv.url)));
    await Promise.all(conns.map(async (c) => c.write(Buffer.concat([Buffer.from(postHead(INFER, { 'content-type': 'application/json', 'content-length': (1 << 20) + 100 })), chunk]))));
    await sleep(500);
    const held = heapish() - base;
    assert.ok(held > 20e6, `expected the server to hold the partial bodies, holds ${held} bytes`);
    const closed = await Promise.race([Promise.all(conns.map((c) => c.closed)), sleep(10_000).then(() => null)]);
    assert.ok(closed, 'stalled connections still open after 10 s');
    // Released once the sockets are gone (the 408 is followed by a FIN, the socket destroyed within a second).
    let left = heapish() - base;
    for (const t0 = Date.now(); left >= 8e6 && Date.now() - t0 < 5000; left = heapish() - base) await sleep(100);
    assert.ok(left < 8e6, `5 s after the cut the server still holds ${left} bytes of ${held}`);
  });

  it('--max-connections: a connection beyond the limit is closed at once, a freed slot is reused', async () => {
    const srv = await serve({ maxConnections: 3 });
    const open = await Promise.all([0, 1, 2].map(() => rawConnect(srv.url)));
    await sleep(100);
    const extra = await rawConnect(srv.url);
    const r = await Promise.race([extra.closed, sleep(3000).then(() => null)]);
    assert.ok(r, 'the 4th connection was not closed');
    assert.equal(r.data, '');
    open[0]!.socket.destroy();
    await sleep(100);
    const again = await rawConnect(srv.url);
    await again.write('GET /v2/health/live HTTP/1.1\r\nhost: x\r\n\r\n');
    assert.match(await again.waitFor(/\r\n\r\n/, 3000), /^HTTP\/1\.1 200 /);
    for (const c of [...open, again]) c.socket.destroy();
  });

  it('an oversized body sent whole before reading gets its 413, not a broken pipe', async () => {
    const srv = await serve({ bodyLimit: 256 * 1024 });
    const c = await rawConnect(srv.url);
    const big = Buffer.alloc(8 << 20, 0x30);
    // Like Python's urllib: the whole body first, then read the answer.
    await c.write(Buffer.concat([Buffer.from(postHead(INFER, { 'content-type': 'application/json', 'content-length': big.length })), big]));
    const r = await Promise.race([c.closed, c.waitFor(/\}$/, 5000).then(() => ({ data: c.received(), error: null }))]);
    assert.equal(r.error, null, `client saw ${r.error}`);
    assert.match(r.data, /^HTTP\/1\.1 413 [\s\S]*exceeds 262144 bytes \(--body-limit\)/);
    c.socket.destroy();
    assert.equal((await post(srv.url + INFER, inferBody28())).status, 200);
  });
});

/** A grey PNG of w x h, all zero, deflated (a 16,777,216 x 1 one is 16 KB). */
function greyPng(w: number, h: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 255]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(td.length + 8);
    out.writeUInt32BE(data.length, 0);
    td.copy(out, 4);
    out.writeUInt32BE(crc(td), td.length + 4);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth; colour type 0 (grey), the rest 0
  const raw = Buffer.alloc((w + 1) * h);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

describe('decode cost bounded before decoding', { timeout: 60_000 }, () => {
  it('a 16,777,216 x 1 PNG inside --max-image-pixels is refused from its header (413, --max-image-side)', async () => {
    const srv = await serve({ maxImagePixels: 4096 * 4096 });
    const png = greyPng(16_777_216, 1);
    assert.ok(png.length < 40_000, `fixture is ${png.length} bytes`);
    const t0 = performance.now();
    const r = await post(`${srv.url}/v1/classify`, png, 'image/png');
    const ms = performance.now() - t0;
    assert.equal(r.status, 413);
    assert.match(((await r.json()) as { error: string }).error, /16777216x1 has a side longer than 16384 pixels \(--max-image-side\)/);
    assert.ok(ms < 1000, `took ${ms} ms`);
  });

  it('a 4000 x 10 strip is refused for its aspect ratio; a 60 x 40 image is classified', async () => {
    const srv = await serve({});
    const r = await post(`${srv.url}/v1/classify`, greyPng(4000, 10), 'image/png');
    assert.equal(r.status, 413);
    assert.match(((await r.json()) as { error: string }).error, /aspect ratio of 400\.0:1, the limit is 32:1 \(--max-aspect-ratio\)/);
    assert.equal((await post(`${srv.url}/v1/classify`, greyPng(60, 40), 'image/png')).status, 200);
  });
});

describe('smaller items', { timeout: 60_000 }, () => {
  it('Inference-Header-Content-Length must be digits only', async () => {
    const srv = await serve({});
    const head = Buffer.from(JSON.stringify({ inputs: [{ name: 'pixels', shape: [1, 28, 28, 1], datatype: 'UINT8', parameters: { binary_data_size: 784 } }] }));
    const bin = Buffer.concat([head, Buffer.alloc(784, 3)]);
    const hex = `0x${head.length.toString(16)}`;
    for (const bad of [hex, `${head.length}.0`, `+${head.length}`, `${head.length / 10}e1`]) {
      const r = await post(srv.url + INFER, bin, 'application/octet-stream', { 'inference-header-content-length': bad });
      assert.equal(r.status, 400, bad);
    }
    assert.equal((await post(srv.url + INFER, bin, 'application/octet-stream', { 'inference-header-content-length': String(head.length) })).status, 200);
  });

  it('application/vnd.x+json is JSON; application/jsonx is not', async () => {
    const srv = await serve({});
    assert.equal((await post(srv.url + INFER, inferBody28(), 'application/vnd.x+json')).status, 200);
    assert.equal((await post(srv.url + INFER, inferBody28(), 'application/vnd.x+json; charset=utf-8')).status, 200);
    assert.equal((await post(srv.url + INFER, inferBody28(), 'application/jsonx')).status, 415);
  });

  it('model metadata exposes no absolute server path', async () => {
    const srv = await serve({ ep: 'auto' });
    for (const p of ['/v2/models/fmnist-ovl', `/v2/models/fmnist-ovl/versions/${srv.model.version}`, '/v2/repository/index', '/v2']) {
      const text = await (await fetch(srv.url + p, p.startsWith('/v2/repository') ? { method: 'POST' } : {})).text();
      assert.ok(!text.includes(root) && !/"\/(work|home|usr|tmp|root|opt)\//.test(text) && !/[\s(]\/(work|home|usr|tmp|root|opt)\//.test(text), `${p}: ${text.slice(0, 400)}`);
    }
  });
});
