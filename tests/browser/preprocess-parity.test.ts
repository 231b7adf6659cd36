// One preprocessing contract, three callers: the training decoder (pipeline/data/decode.ts decodeImageFile),
// the server (serve/node/classify.ts decodeImage + uploadPixels, as POST /v1/classify runs them) and the
// browser app in headless Chromium (serve/web/decode.ts + serve/shared/preprocess.ts, through window.ecl)
// give byte-identical model inputs for non-square, grey, grey+alpha, RGBA, palette, 16-bit, large and
// EXIF-rotated (1-8) PNG, WebP and JPEG files (and an opaque lossy WebP), for both resize policies and several model input sizes; and the
// app applies the policy its model declares.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { ResizePolicy } from '../../models/onnx-contract.js';
import { decodeImageFile } from '../../pipeline/data/decode.js';
import { chromiumMissingReason, findChromium, launchChromium, openApp, startWebServer, type WebServer } from '../../pipeline/parity/browser.js';
import { decodeImage, uploadPixels } from '../../serve/node/classify.js';
import { readWebModelInfo } from '../../serve/node/model-info.js';
import type { Prediction } from '../../serve/shared/web-app-api.js';
import { type FixtureImage, fixtureImages } from '../helpers/image-fixtures.js';
import { writeExportedFixtureRun } from '../helpers/parity-fixture.js';

const skip = findChromium() ? false : chromiumMissingReason();
const T = 300_000;
const POLICIES: ResizePolicy[] = ['center-crop', 'stretch'];
const SIZES = [
  { height: 28, width: 28, channels: 1 as const },
  { height: 32, width: 32, channels: 3 as const },
  { height: 24, width: 40, channels: 3 as const },
];
const SPECS = POLICIES.flatMap((resize) => SIZES.map((s) => ({ ...s, resize })));
const specName = (s: (typeof SPECS)[number]) => `${s.height}x${s.width}x${s.channels} ${s.resize}`;

let dir: string;
let images: FixtureImage[];
const models: Record<ResizePolicy, { path: string; server?: WebServer }> = {} as never;
/** The server's bytes per image and spec (the reference the other two paths must equal). */
const serverPx = new Map<string, Uint8Array>();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ecl-prep-parity-'));
  images = await fixtureImages({ jpeg: true, lossyWebp: true });
  for (const img of images) writeFileSync(join(dir, img.name), img.bytes);
  for (const resize of POLICIES) {
    const { model } = await writeExportedFixtureRun(join(dir, `run-${resize}`), resize === 'center-crop' ? {} : { resize });
    models[resize] = { path: model };
  }
  for (const img of images) {
    const dec = await decodeImage(img.bytes, 1e7, img.name);
    for (const s of SPECS) serverPx.set(`${img.name} ${specName(s)}`, uploadPixels(dec, { input: s, resize: s.resize }));
  }
});

after(async () => {
  for (const m of Object.values(models)) await m.server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the exporter wrote each run\'s policy (default centre crop) and /model/info carries it', () => {
  assert.equal(readWebModelInfo(models['center-crop'].path).resize, 'center-crop');
  assert.equal(readWebModelInfo(models.stretch.path).resize, 'stretch');
});

test('training decoder = server path, byte for byte, for every image, size and policy', async () => {
  for (const img of images)
    for (const s of SPECS) {
      const train = await decodeImageFile(join(dir, img.name), s);
      assert.deepEqual(train, serverPx.get(`${img.name} ${specName(s)}`), `${img.name} ${specName(s)}`);
    }
  // The policies really differ on non-square images (so the checks above compare something).
  const a = serverPx.get(`rgb-45x23.png ${specName(SPECS[1]!)}`)!;
  const b = serverPx.get(`rgb-45x23.png ${specName(SPECS[4]!)}`)!;
  assert.notDeepEqual(a, b);
});

async function browserPreprocess(page: Page, img: FixtureImage, spec: (typeof SPECS)[number]) {
  return page.evaluate(
    async ([b64, mime, sp]) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      return window.ecl.preprocessBlob(new Blob([bytes], { type: mime }), sp);
    },
    [img.bytes.toString('base64'), img.mime, spec] as const,
  );
}

describe('browser app in headless Chromium', { skip }, () => {
  let browser: Browser | undefined;
  after(async () => {
    await browser?.close();
  });

  test('browser decode + shared preprocessing = server path for every image, size and policy', { timeout: T }, async () => {
    models['center-crop'].server = await startWebServer(models['center-crop'].path);
    browser = await launchChromium({ webgpu: false });
    const app = await openApp(browser, models['center-crop'].server.url, 'wasm');
    assert.equal(app.state.status, 'ready', app.state.error);
    const mismatches: string[] = [];
    const decoders = new Map<string, string>();
    for (const img of images)
      for (const s of SPECS) {
        const r = await browserPreprocess(app.page, img, s);
        decoders.set(img.name, r.decoder);
        const got = Buffer.from(r.input, 'base64');
        const want = serverPx.get(`${img.name} ${specName(s)}`)!;
        if (!got.equals(Buffer.from(want))) {
          let n = 0;
          let max = 0;
          for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) (n++, (max = Math.max(max, Math.abs(got[i]! - want[i]!))));
          mismatches.push(`${img.name} ${specName(s)} (${r.decoder}): ${n}/${want.length} bytes differ, max ${max}`);
        }
        if (/^exif\d/.test(img.name)) assert.equal(r.orientation, Number(img.name[4]), `${img.name}: orientation read in the browser`);
      }
    assert.deepEqual(mismatches, []);
    // PNG and lossless WebP go through WebCodecs (exact unpremultiplied RGBA); JPEG, and lossy WebP (which
    // WebCodecs hands out as I420), through createImageBitmap + canvas.
    for (const [name, d] of decoders) assert.equal(d, name.endsWith('.jpg') || name.includes('lossy') ? 'canvas' : 'webcodecs', name);
    await app.page.close();
  });

  test("classifyBlob preprocesses with the policy its model declares (centre-crop and stretch models)", { timeout: T }, async () => {
    models.stretch.server = await startWebServer(models.stretch.path);
    browser ??= await launchChromium({ webgpu: false });
    for (const resize of POLICIES) {
      const app = await openApp(browser, models[resize].server!.url, 'wasm');
      assert.equal(app.state.status, 'ready', app.state.error);
      for (const name of ['rgb-45x23.png', 'grey-30x47.png', 'exif6-39x22.jpg', 'exif7-39x22.webp']) {
        const img = images.find((i) => i.name === name)!;
        const pred = (await app.page.evaluate(
          async ([b64, mime, n]) => window.ecl.classifyBlob(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: mime }), n),
          [img.bytes.toString('base64'), img.mime, name] as const,
        )) as Prediction;
        const want = serverPx.get(`${name} ${specName({ ...SIZES[0]!, resize })}`)!;
        assert.deepEqual(Uint8Array.from(Buffer.from(pred.input, 'base64')), want, `${resize} model, ${name}`);
      }
      await app.page.close();
    }
  });
});
