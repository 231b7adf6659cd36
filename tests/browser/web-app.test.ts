// The browser target in real headless Chromium (Debian's chromium + playwright-core): the web-app plugin serves
// everything locally with the right MIME types; with --enable-unsafe-webgpu the WebGPU EP runs every node (from
// onnxruntime's own session log); without it the app falls back to WASM and says so; predictions for an uploaded
// or dropped real test image equal onnxruntime-node's on byte-identical preprocessed pixels.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import type { Browser } from 'playwright-core';
import { loadDataset } from '../../pipeline/data/registry.js';
import { chromiumMissingReason, findChromium, launchChromium, openApp, startWebServer, type WebServer } from '../../pipeline/parity/browser.js';
import { writeExportedFixtureRun } from '../helpers/parity-fixture.js';
import { preprocessImage } from '../../serve/shared/preprocess.js';
import type { Prediction } from '../../serve/shared/web-app-api.js';
import { skipUnless } from '../helpers/require.js';

const skip = skipUnless('chromium', findChromium() ? false : chromiumMissingReason());
const T = 300_000;
const samplesDir = fileURLToPath(new URL('../../../pipeline/data/embedded/samples/', import.meta.url));

let dir: string;
let modelPath: string;
let server: WebServer;
/** Two real test images (embedded Fashion-MNIST) as PNG files, and onnxruntime-node's probabilities for them. */
const images: { png: Buffer; name: string; label: number; pixels: Uint8Array; probs: Float32Array }[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ecl-web-'));
  ({ model: modelPath } = await writeExportedFixtureRun(join(dir, 'run')));
  server = await startWebServer(modelPath);
  const data = await loadDataset('embedded', { imbalance: 100, seed: 1 });
  const session = await ort.InferenceSession.create(modelPath, { executionProviders: ['cpu'] });
  for (const idx of [3, 517]) {
    const px = data.test.images.subarray(idx * 784, (idx + 1) * 784);
    const png = await sharp(Buffer.from(px), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer();
    // The server's path: sharp decode -> RGBA -> the shared preprocessing.
    const { data: rgba, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const pixels = preprocessImage({ width: info.width, height: info.height, data: new Uint8Array(rgba) }, { height: 28, width: 28, channels: 1, resize: 'center-crop' });
    assert.deepEqual(pixels, Uint8Array.from(px), 'PNG round trip + preprocessing keeps the test image');
    const out = await session.run({ pixels: new ort.Tensor('uint8', pixels, [1, 28, 28, 1]) });
    images.push({ png, name: `test-${idx}.png`, label: data.test.labels[idx]!, pixels, probs: Float32Array.from(out.probs!.data as Float32Array) });
  }
  await session.release();
});

after(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The page's prediction must be onnxruntime-node's: same input bytes, same top-k order, probabilities within atol. */
function assertSameAsNode(pred: Prediction, img: (typeof images)[number], atol: number): void {
  assert.deepEqual(Uint8Array.from(Buffer.from(pred.input, 'base64')), img.pixels, 'browser preprocessing = server preprocessing (byte-identical)');
  const order = Array.from(img.probs.keys()).sort((a, b) => img.probs[b]! - img.probs[a]!);
  assert.equal(pred.topk[0]!.index, order[0], 'top-1 class equals onnxruntime-node');
  for (const t of pred.topk) assert.ok(Math.abs(t.prob - img.probs[t.index]!) <= atol, `class ${t.index}: ${t.prob} vs node ${img.probs[t.index]}`);
  assert.ok(pred.inferenceMs > 0 && pred.totalMs >= pred.inferenceMs, 'latency reported');
}

describe('web app plugin (HTTP)', () => {
  test('serves the app, onnxruntime-web files with the right MIME types, the model and its info, all locally', async () => {
    const get = (p: string) => fetch(new URL(p, server.url));
    const index = await get('/');
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(index.headers.get('cross-origin-embedder-policy'), 'require-corp');
    const html = await index.text();
    assert.match(html, /"onnxruntime-web\/webgpu": "\.\/ort\/ort\.webgpu\.bundle\.min\.mjs"/);
    assert.doesNotMatch(html, /https?:\/\//, 'no CDN or other remote URL in the page');
    const mjs = await get('/ort/ort.webgpu.bundle.min.mjs');
    assert.equal(mjs.status, 200);
    assert.match(mjs.headers.get('content-type') ?? '', /^text\/javascript/);
    const wasm = await get('/ort/ort-wasm-simd-threaded.asyncify.wasm');
    assert.equal(wasm.status, 200);
    assert.equal(wasm.headers.get('content-type'), 'application/wasm');
    assert.ok((await wasm.arrayBuffer()).byteLength > 1_000_000);
    const appJs = await get('/app/serve/web/app.js');
    assert.match(appJs.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.match(await appJs.text(), /from '\.\.\/shared\/preprocess\.js'/);
    assert.equal((await get('/app/serve/shared/preprocess.js')).status, 200);
    assert.equal((await get('/app/models/onnx-contract.js')).status, 200);
    assert.match((await get('/app/serve/web/style.css')).headers.get('content-type') ?? '', /^text\/css/);
    const model = Buffer.from(await (await get('/model.onnx')).arrayBuffer());
    assert.deepEqual(model, readFileSync(modelPath));
    const info = (await (await get('/model/info')).json()) as { labels: string[]; input: { height: number; channels: number; dtype: string }; numClasses: number };
    assert.equal(info.labels[0], 'T-shirt/top');
    assert.equal(info.numClasses, 10);
    assert.deepEqual([info.input.height, info.input.channels, info.input.dtype], [28, 1, 'uint8']);
    for (const bad of ['/app/serve/node/web-plugin.js', '/app/serve/web/..%2Fnode%2Fweb-plugin.js', '/app/models/spec.js', '/app/models/artifacts/checkpoint.js', '/ort/..%2Fpackage.json', '/app/serve/shared/..%2F..%2Fpipeline%2Fcli.js'])
      assert.equal((await get(bad)).status, 404, `${bad} is not served`);
  });
});

describe('web app in headless Chromium', { skip }, () => {
  let browser: Browser | undefined;
  after(async () => {
    await browser?.close();
  });

  test('with --enable-unsafe-webgpu: the WebGPU EP runs every node; an uploaded image gets node-equal predictions', { timeout: T }, async () => {
    browser = await launchChromium({ webgpu: true });
    const requests: string[] = [];
    const app = await openApp(browser, server.url, 'auto', { requests });
    const st = app.state;
    assert.equal(st.status, 'ready', st.error);
    assert.equal(st.ep, 'webgpu', `tried: ${JSON.stringify(st.tried)}`);
    assert.ok(st.placement, 'node placements parsed from the verbose session log');
    assert.equal(st.placement.byEp.WebGpuExecutionProvider, st.placement.total, st.placementText);
    assert.ok(st.placement.total >= 10, `${st.placement.total} nodes`);
    assert.equal(st.allNodesOnEp, true);
    assert.ok(st.adapter, 'adapter reported');
    assert.match(await app.page.textContent('#ep') ?? '', /^WebGPU$/);
    assert.match(await app.page.textContent('#ep-details') ?? '', /WebGpuExecutionProvider: all \d+ nodes/);

    // Upload through the file input.
    const img = images[0]!;
    await app.page.setInputFiles('#file', { name: img.name, mimeType: 'image/png', buffer: img.png });
    await app.page.waitForSelector('#result[data-status="done"]', { timeout: T });
    const pred = (await app.page.evaluate(() => window.ecl.lastResult))!;
    assert.equal(pred.ep, 'webgpu');
    assertSameAsNode(pred, img, 1e-3);
    const shown = await app.page.$$eval('#topk li', (lis) => lis.map((li) => Number((li as HTMLElement).dataset.index)));
    assert.deepEqual(shown, pred.topk.map((t) => t.index), 'top-k classes are shown');
    assert.match(await app.page.textContent('#latency') ?? '', /inference [\d.]+ ms/);
    assert.ok(requests.some((u) => u.endsWith('.wasm')), 'the .wasm came from this server');
    for (const u of requests) assert.ok(u.startsWith(server.url) || u.startsWith('data:') || u.startsWith('blob:'), `offline: ${u}`);
    await app.page.close();
  });

  test('without the flag: falls back to WASM, says so, and a dropped image gets node-equal predictions', { timeout: T }, async () => {
    await browser?.close();
    browser = await launchChromium({ webgpu: false });
    const app = await openApp(browser, server.url, 'auto');
    const st = app.state;
    assert.equal(st.status, 'ready', st.error);
    assert.equal(st.ep, 'wasm');
    assert.equal(st.tried[0]?.ep, 'webgpu');
    assert.equal(st.tried[0]?.ok, false);
    assert.match(st.tried[0]!.reason, /adapter|navigator\.gpu/i);
    assert.equal(st.allNodesOnEp, true, st.placementText);
    assert.equal(st.placement?.byEp.CPUExecutionProvider, st.placement?.total);
    assert.match(await app.page.textContent('#ep') ?? '', /WASM.*fallback.*WebGPU unavailable/);
    assert.match(await app.page.textContent('#ep-details') ?? '', /webgpu\s*unavailable: /);

    // Drop a file on the drop zone.
    const img = images[1]!;
    await app.page.evaluate(
      ([b64, name]) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], name, { type: 'image/png' }));
        document.getElementById('drop')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      },
      [img.png.toString('base64'), img.name] as [string, string],
    );
    await app.page.waitForSelector('#result[data-status="done"]', { timeout: T });
    const pred = (await app.page.evaluate(() => window.ecl.lastResult))!;
    assert.equal(pred.ep, 'wasm');
    assert.equal(pred.source, img.name);
    assertSameAsNode(pred, img, 1e-5);
    await app.page.close();
  });

  test('links the run report when one exists, and a shipped sample image classifies with a click', { timeout: T }, async () => {
    const reportUrl = new URL('/report', server.url);
    assert.equal((await fetch(reportUrl)).status, 404, 'no report written yet');
    const { writeRunReport } = await import('../../pipeline/report/build.js');
    await writeRunReport(dirname(modelPath));
    const rep = await fetch(reportUrl);
    assert.equal(rep.status, 200);
    assert.match(rep.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await rep.text(), /Run report: run/);
    assert.equal((await fetch(new URL('/samples/..%2Fsamples.json', server.url))).status, 404);
    browser ??= await launchChromium({ webgpu: false });
    const app = await openApp(browser, server.url, 'wasm');
    await app.page.waitForSelector('#report-link:not([hidden])', { timeout: 60_000 });
    await app.page.waitForSelector('#samples:not([hidden])', { timeout: 60_000 });
    assert.equal(await app.page.locator('#samples button.sample').count(), 10, 'one real test image per class');
    await app.page.click('#samples button[data-file="sneaker.png"]');
    await app.page.waitForSelector('#result[data-status="done"]', { timeout: T });
    const pred = (await app.page.evaluate(() => window.ecl.lastResult))!;
    assert.equal(pred.source, 'sneaker.png');
    const { data } = await sharp(join(samplesDir, 'sneaker.png')).greyscale().raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual(Uint8Array.from(Buffer.from(pred.input, 'base64')), new Uint8Array(data), 'the model got the sample image\'s pixels');
    await app.page.close();
  });
});
