// onnxruntime-web in headless Chromium, through the browser app itself (serve/web/app.ts, served by the
// server's web plugin): the same session set-up and EP policy a visitor's browser gets.
import { PARITY_RUNTIMES, type RuntimeName } from '../../../serve/shared/ep-policy.js';
import { chromiumMissingReason, findChromium, launchChromium, openApp, runInPage, startWebServer } from '../browser.js';
import { errText, type RunnerOutput, type Samples, type Unavailable } from './types.js';

export type WebRunResult = (RunnerOutput & { failures: string[] }) | Unavailable | { error: string };

/**
 * Runs each web runtime on its samples. One server and one browser for all of them; every runtime gets its
 * own page. A page whose nodes did not all run on the requested EP is returned with a failure line.
 */
export async function runOrtWeb(
  modelPath: string,
  runtimes: readonly RuntimeName[],
  samplesFor: (rt: RuntimeName) => Samples,
  batchSize: number,
  log: (line: string) => void,
): Promise<Map<RuntimeName, WebRunResult>> {
  const results = new Map<RuntimeName, WebRunResult>();
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
      const s = samplesFor(rt);
      log(`${rt}: ${s.count} images`);
      let app: Awaited<ReturnType<typeof openApp>> | undefined;
      try {
        app = await openApp(browser, server.url, ep);
        const st = app.state;
        if (st.status !== 'ready' || st.ep !== ep) {
          results.set(rt, { unavailable: st.tried.find((t) => t.ep === ep)?.reason ?? st.error ?? 'the app did not load' });
          continue;
        }
        const adapter = st.adapter ? ` (adapter ${[st.adapter.vendor, st.adapter.architecture, st.adapter.description].filter(Boolean).join('/')})` : '';
        const failures = st.allNodesOnEp
          ? []
          : [`not every node ran on the ${ep} EP: ${st.placementText}${st.placement?.elsewhere.length ? ` (${st.placement.elsewhere.slice(0, 5).join('; ')})` : ''}`];
        const out = await runInPage(app, s.images, s.count, batchSize);
        if (out.ep !== ep) failures.push(`the page ran on ${out.ep}, not ${ep}`);
        results.set(rt, { out: { logits: out.logits, probs: out.probs }, ms: out.ms, ranOn: `${st.placementText}${adapter}`, failures });
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
