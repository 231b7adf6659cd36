// onnxruntime-web in headless Chromium, through the browser app itself (serve/web/app.ts, served by the
// server's web plugin): the same session set-up and EP policy a visitor's browser gets.
import { PARITY_RUNTIMES, type RuntimeName } from '../../../serve/shared/ep-policy.js';
import { chromiumMissingReason, classifyFileInPage, findChromium, launchChromium, openApp, runInPage, startWebServer } from '../browser.js';
import type { RawImage } from '../raw-images.js';
import { errText, type RunnerOutput, type Samples, type Unavailable } from './types.js';

export type WebRunResult = (RunnerOutput & { failures: string[] }) | Unavailable | { error: string };

type AppPageT = Awaited<ReturnType<typeof openApp>>;

/**
 * One server and one browser for all the web runtimes; every runtime gets its own page (opened with ?ep=<ep>
 * and `query`), and `body` runs on it. A page whose nodes did not all run on the requested EP gets a failure line.
 */
async function withWebApp<T extends object>(
  modelPath: string,
  runtimes: readonly RuntimeName[],
  query: Record<string, string>,
  body: (rt: RuntimeName, app: AppPageT) => Promise<RunnerOutput & T>,
): Promise<Map<RuntimeName, (RunnerOutput & T & { failures: string[] }) | Unavailable | { error: string }>> {
  const results = new Map<RuntimeName, (RunnerOutput & T & { failures: string[] }) | Unavailable | { error: string }>();
  if (!runtimes.length) return results;
  if (!findChromium()) {
    for (const rt of runtimes) results.set(rt, { unavailable: chromiumMissingReason() });
    return results;
  }
  // playwright-core is a dev dependency: a production install (npm ci --omit=dev) has no browser driver.
  const noDriver = await import('playwright-core').then(
    () => null,
    () => 'playwright-core is not installed (a dev dependency: npm ci without --omit=dev installs it)',
  );
  if (noDriver) {
    for (const rt of runtimes) results.set(rt, { unavailable: noDriver });
    return results;
  }
  let server: Awaited<ReturnType<typeof startWebServer>> | undefined;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  try {
    server = await startWebServer(modelPath);
    browser = await launchChromium({ webgpu: runtimes.some((r) => PARITY_RUNTIMES[r].ep === 'webgpu') });
    for (const rt of runtimes) {
      const ep = PARITY_RUNTIMES[rt].ep as 'webgpu' | 'wasm';
      let app: AppPageT | undefined;
      try {
        app = await openApp(browser, server.url, ep, { query });
        const st = app.state;
        if (st.status !== 'ready' || st.ep !== ep) {
          results.set(rt, { unavailable: st.tried.find((t) => t.ep === ep)?.reason ?? st.error ?? 'the app did not load' });
          continue;
        }
        const adapter = st.adapter ? ` (adapter ${[st.adapter.vendor, st.adapter.architecture, st.adapter.description].filter(Boolean).join('/')})` : '';
        const failures = st.allNodesOnEp
          ? []
          : [`not every node ran on the ${ep} EP: ${st.placementText}${st.placement?.elsewhere.length ? ` (${st.placement.elsewhere.slice(0, 5).join('; ')})` : ''}`];
        const r = await body(rt, app);
        if (r.ranOn !== ep) failures.push(`the page ran on ${r.ranOn}, not ${ep}`);
        results.set(rt, { ...r, ranOn: `${st.placementText}${adapter}`, failures });
      } catch (e) {
        results.set(rt, { error: errText(e) });
      } finally {
        await app?.page.close().catch(() => undefined);
      }
    }
  } catch (e) {
    for (const rt of runtimes) if (!results.has(rt)) results.set(rt, { error: errText(e) });
  } finally {
    await browser?.close().catch(() => undefined);
    await server?.close().catch(() => undefined);
  }
  return results;
}

/** Preprocessed uint8 tensors through the page's session (window.ecl.runBatchB64). `ranOn` of the body is the EP the page used. */
export async function runOrtWeb(
  modelPath: string,
  runtimes: readonly RuntimeName[],
  samplesFor: (rt: RuntimeName) => Samples,
  batchSize: number,
  log: (line: string) => void,
): Promise<Map<RuntimeName, WebRunResult>> {
  return withWebApp(modelPath, runtimes, {}, async (rt, app) => {
    const s = samplesFor(rt);
    log(`${rt}: ${s.count} images`);
    const out = await runInPage(app, s.images, s.count, batchSize);
    return { out: { logits: out.logits, probs: out.probs }, ms: out.ms, ranOn: out.ep };
  });
}

export type WebRawResult = (RunnerOutput & { failures: string[]; inputs: Uint8Array }) | Unavailable | { error: string };

/**
 * Original image files through the app's own path: window.ecl.classifyBlob (the browser decodes, the app
 * preprocesses and runs), asked for every class (?k=<classes>). The app returns at most 50 classes; for larger
 * models the full rows come from the same page session on the tensor the app built (Prediction.input).
 */
export async function runOrtWebRaw(
  modelPath: string,
  runtimes: readonly RuntimeName[],
  images: readonly RawImage[],
  dims: { numClasses: number; per: number },
  batchSize: number,
  log: (line: string) => void,
): Promise<Map<RuntimeName, WebRawResult>> {
  const C = dims.numClasses;
  return withWebApp(modelPath, runtimes, { k: String(C) }, async (rt, app) => {
    log(`${rt}: ${images.length} image files through window.ecl.classifyBlob`);
    const logits = new Float32Array(images.length * C);
    const probs = new Float32Array(images.length * C);
    const inputs = new Uint8Array(images.length * dims.per);
    let ms = 0;
    let ep = '';
    for (const [i, img] of images.entries()) {
      const p = await classifyFileInPage(app, img.bytes, MIME[img.format], img.name);
      const input = Buffer.from(p.input, 'base64');
      if (input.length !== dims.per) throw new Error(`${img.name}: the app built a ${input.length}-byte input, the model takes ${dims.per}`);
      inputs.set(input, i * dims.per);
      ms += p.inferenceMs;
      ep = p.ep;
      if (p.topk.length === C) {
        for (const t of p.topk) {
          logits[i * C + t.index] = t.logit;
          probs[i * C + t.index] = t.prob;
        }
      } else {
        const full = await runInPage(app, input, 1, batchSize);
        if (argmaxOf(full.probs) !== p.topk[0]?.index) throw new Error(`${img.name}: classifyBlob's top-1 and the session's disagree`);
        logits.set(full.logits, i * C);
        probs.set(full.probs, i * C);
      }
    }
    return { out: { logits, probs }, ms, ranOn: ep, inputs };
  });
}

const MIME: Record<RawImage['format'], string> = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' };
const argmaxOf = (a: Float32Array): number => a.reduce((b, v, i) => (v > a[b]! ? i : b), 0);
