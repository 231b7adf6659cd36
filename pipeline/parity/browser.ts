// Drives the web app (serve/web/) in real headless Chromium with playwright-core: a local fastify server
// with just the web-app plugin, a Chromium launched with or without WebGPU, and the page's window.ecl API
// for batches of preprocessed uint8 images. Used by the parity harness and tests/browser/.
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import type { AppState, BatchResult, Prediction } from '../../serve/shared/web-app-api.js';
import { settings } from '../../models/settings.js';

/** Flags that every launch gets: no sandbox (root in containers), nothing that talks to the network. */
export const BASE_CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
  '--no-first-run',
  '--no-default-browser-check',
  '--mute-audio',
] as const;
/** What makes headless Debian Chromium expose WebGPU (on this machine: Dawn's SwiftShader/Vulkan adapter). */
export const WEBGPU_CHROMIUM_ARGS = ['--enable-unsafe-webgpu'] as const;

const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];

/** The Chromium executable ($ECL_CHROMIUM, else Debian's /usr/bin/chromium and friends), or null. */
export function findChromium(): string | null {
  const env = settings.chromium();
  if (env) return existsSync(env) ? env : null;
  return CHROMIUM_CANDIDATES.find((p) => existsSync(p)) ?? null;
}

export function chromiumMissingReason(): string {
  const env = settings.chromium();
  return env
    ? `ECL_CHROMIUM=${env} does not exist`
    : `no Chromium found (looked for ${CHROMIUM_CANDIDATES.join(', ')}; install Debian's chromium package or set ECL_CHROMIUM)`;
}

export interface WebServer {
  url: string;
  close(): Promise<void>;
}

/** A fastify instance with only the web-app plugin, on 127.0.0.1 and a free port. */
export async function startWebServer(modelPath: string): Promise<WebServer> {
  const { default: Fastify } = await import('fastify');
  const { webAppPlugin } = await import('../../serve/node/web-plugin.js');
  // forceCloseConnections: close() must not wait for browsers' keep-alive sockets or unfinished downloads.
  const app = Fastify({ logger: false, forceCloseConnections: true });
  await app.register(webAppPlugin, { modelPath });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url, close: () => app.close() };
}

export async function launchChromium(opts: { webgpu: boolean; executablePath?: string }): Promise<Browser> {
  const exe = opts.executablePath ?? findChromium();
  if (!exe) throw new Error(chromiumMissingReason());
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: exe,
    headless: true,
    args: [...BASE_CHROMIUM_ARGS, ...(opts.webgpu ? WEBGPU_CHROMIUM_ARGS : [])],
    timeout: 60_000,
  });
}

export interface AppPage {
  page: Page;
  state: AppState;
  /** Console errors and uncaught page errors seen so far (for diagnostics). */
  errors: string[];
}

const withTimeout = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: no answer after ${Math.round(ms / 1000)} s`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });

/** Opens the app with ?ep=<ep> and waits until it has loaded the model (or failed to). */
export async function openApp(
  browser: Browser,
  baseUrl: string,
  ep: 'auto' | 'webgpu' | 'wasm',
  opts: { timeoutMs?: number; requests?: string[]; query?: Record<string, string> } = {},
): Promise<AppPage> {
  const timeoutMs = opts.timeoutMs ?? 180_000;
  const page = await browser.newPage();
  const errors: string[] = [];
  const requests = opts.requests;
  if (requests) page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text().slice(0, 500));
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  const url = new URL(`/?${new URLSearchParams({ ep, ...(opts.query ?? {}) }).toString()}`, baseUrl).href;
  await page.goto(url, { waitUntil: 'load', timeout: 60_000 });
  await withTimeout(page.waitForFunction(() => 'ecl' in window, undefined, { timeout: 60_000 }), 65_000, `${url}: app script`).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}${errors.length ? ` (page errors: ${errors.slice(0, 3).join(' | ')})` : ''}`);
  });
  const state = await withTimeout(
    page.evaluate(() => window.ecl.ready),
    timeoutMs,
    `${url}: model load`,
  );
  return { page, state, errors };
}

export interface PageBatchOutput {
  logits: Float32Array;
  probs: Float32Array;
  ms: number;
  ep: string;
}

const f32FromB64 = (b64: string): Float32Array => {
  const buf = Buffer.from(b64, 'base64');
  const out = new Float32Array(buf.length / 4);
  new Uint8Array(out.buffer).set(buf);
  return out;
};

/** Runs n uint8 NHWC images through the page's session, batchSize at a time. */
export async function runInPage(app: AppPage, pixels: Uint8Array, n: number, batchSize: number, timeoutMs = 600_000): Promise<PageBatchOutput> {
  const b64 = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength).toString('base64');
  const r: BatchResult = await withTimeout(
    app.page.evaluate(([data, count, bs]) => window.ecl.runBatchB64(data, count, bs), [b64, n, batchSize] as [string, number, number]),
    timeoutMs,
    'browser inference',
  );
  return { logits: f32FromB64(r.logits), probs: f32FromB64(r.probs), ms: r.ms, ep: r.ep };
}

/** One encoded image file through the app's own path (createImageBitmap decode, preprocess, session): window.ecl.classifyBlob. */
export async function classifyFileInPage(app: AppPage, bytes: Uint8Array, mime: string, name: string, timeoutMs = 120_000): Promise<Prediction> {
  const b64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  return withTimeout(
    app.page.evaluate(
      async ([data, type, source]) => {
        const bin = atob(data);
        const u8 = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) u8[i] = bin.charCodeAt(i);
        return window.ecl.classifyBlob(new Blob([u8], { type }), source);
      },
      [b64, mime, name] as [string, string, string],
    ),
    timeoutMs,
    `browser classify ${name}`,
  );
}
