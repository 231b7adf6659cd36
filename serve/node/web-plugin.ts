// Fastify plugin for the browser target: the web app, its compiled modules, onnxruntime-web's files and the
// model, all served from this process (no CDN), so the app works offline.
//
//   GET /                        the app (serve/web/index.html)
//   GET /app/serve/web/<file>    the app's browser modules (dist/serve/web/*.js) and static files (serve/web/*.css)
//   GET /app/serve/shared/<file> browser-safe shared modules (dist/serve/shared/*.js: preprocessing, EP policy)
//   GET /app/models/<file>       the browser-safe part of models/ (dist/models/onnx-contract.js)
// (/app/ mirrors dist/, so the compiled modules' relative imports resolve in the browser as they do in node.)
//   GET /ort/<file>        onnxruntime-web's dist/ files (.mjs as text/javascript, .wasm as application/wasm)
//   GET /model.onnx        the model file
//   GET /model/info        labels, input contract and provenance from the model's metadata_props
//   GET /report            the run's report.html next to the model (ecl report), 404 when none is written
//   GET /samples/<file>    shipped sample test images (samples.json + PNGs) for visitors without an image at hand
//
// Every response carries COOP/COEP headers so the page is cross-origin isolated (SharedArrayBuffer: ORT's
// multi-threaded WASM can use its threads). URLs in the page are relative, so the plugin also works under a prefix.
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { readWebModelInfo, type WebModelInfo } from './model-info.js';

export interface WebAppOptions {
  /** The ONNX model to serve (runs/<name>/model.onnx), or a function giving the current one (the server's default model, which a reload may swap). */
  modelPath: string | (() => string);
  /** Folder with samples.json and its PNGs (default: the embedded subset's real test images, when present). */
  samplesDir?: string;
}

/** The shipped sample test images (pipeline/data/embedded/samples: a data folder, read as files, not imported). */
export function defaultSamplesDir(): string | null {
  const dir = resolve(here, '../../../pipeline/data/embedded/samples');
  return existsSync(join(dir, 'samples.json')) ? dir : null;
}

export const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.onnx': 'application/octet-stream',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** Folder of this module (dist/serve/web/ when compiled). */
const here = fileURLToPath(new URL('.', import.meta.url));

/** serve/web/ in the source tree (index.html, style.css), found from dist/ or from the source itself. */
export function webStaticDir(): string {
  const candidates = [resolve(here, '../web'), resolve(here, '../../../serve/web')];
  for (const c of candidates) if (existsSync(join(c, 'index.html'))) return c;
  throw new Error(`web app files not found: no index.html in ${candidates.join(' or ')}`);
}

/** onnxruntime-web's dist/ folder. */
export function ortWebDistDir(): string {
  const require = createRequire(import.meta.url);
  // The package's "main" (dist/ort.node.min.js) lives in dist/.
  const dir = dirname(require.resolve('onnxruntime-web'));
  if (!existsSync(join(dir, 'ort.webgpu.bundle.min.mjs'))) throw new Error(`onnxruntime-web dist files not found in ${dir}`);
  return dir;
}

/** The compiled browser modules: dist/serve/web, dist/serve/shared and dist/models (this module is dist/serve/node). */
function compiledDirs(): { web: string; shared: string; models: string } {
  return { web: resolve(here, '../web'), shared: resolve(here, '../shared'), models: resolve(here, '../../models') };
}

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('cross-origin-opener-policy', 'same-origin')
    .header('cross-origin-embedder-policy', 'require-corp')
    .header('cross-origin-resource-policy', 'same-origin')
    .header('x-content-type-options', 'nosniff');
}

async function sendFile(reply: FastifyReply, path: string, cache: 'no-cache' | 'immutable'): Promise<FastifyReply> {
  const type = MIME[extname(path)] ?? 'application/octet-stream';
  let body: Buffer;
  try {
    body = await readFile(path);
  } catch {
    return securityHeaders(reply).code(404).type('text/plain; charset=utf-8').send(`not found: ${path.split('/').pop()}`);
  }
  return securityHeaders(reply)
    .type(type)
    .header('cache-control', cache === 'immutable' ? 'public, max-age=86400' : 'no-cache')
    .send(body);
}

/** The only files of dist/models the browser may load (the rest of models/ is node or training code). */
const BROWSER_SAFE_MODELS = new Set(['onnx-contract.js', 'onnx-contract.js.map']);
const isModule = (f: string) => SAFE_NAME.test(f) && /\.js(\.map)?$/.test(f);
/** Static files from serve/web. */
const STATIC_FILES = new Set(['index.html', 'style.css']);

export async function webAppPlugin(app: FastifyInstance, opts: WebAppOptions): Promise<void> {
  const currentPath = typeof opts.modelPath === 'function' ? opts.modelPath : () => opts.modelPath as string;
  const first = resolve(currentPath());
  if (!existsSync(first)) throw new Error(`web app: model not found: ${first} (export the run first: ecl export runs/<name>)`);
  const staticDir = webStaticDir();
  const ortDir = ortWebDistDir();
  const dirs = compiledDirs();
  if (!existsSync(join(dirs.web, 'app.js'))) throw new Error(`web app: ${join(dirs.web, 'app.js')} missing (compile with: npx tsc -p .)`);

  // Model info is re-read when the file changes (re-export while the server runs) or another file becomes current.
  let cached: { path: string; mtimeMs: number; size: number; info: WebModelInfo } | undefined;
  const modelInfo = (): WebModelInfo => {
    const path = resolve(currentPath());
    const st = statSync(path);
    if (!cached || cached.path !== path || cached.mtimeMs !== st.mtimeMs || cached.size !== st.size) cached = { path, mtimeMs: st.mtimeMs, size: st.size, info: readWebModelInfo(path) };
    return cached.info;
  };
  modelInfo(); // fail at registration on an unreadable model

  app.get('/', async (_req, reply) => sendFile(reply, join(staticDir, 'index.html'), 'no-cache'));

  const notFound = (reply: FastifyReply, f: string) => securityHeaders(reply).code(404).type('text/plain; charset=utf-8').send(`not found: ${f}`);
  // dist/serve/web holds browser code only (its tsconfig has no node types), so any compiled module there may load.
  app.get<{ Params: { file: string } }>('/app/serve/web/:file', async (req, reply) => {
    const f = req.params.file;
    if (isModule(f)) return sendFile(reply, join(dirs.web, f), 'no-cache');
    if (SAFE_NAME.test(f) && STATIC_FILES.has(f)) return sendFile(reply, join(staticDir, f), 'no-cache');
    return notFound(reply, f);
  });

  app.get<{ Params: { file: string } }>('/app/serve/shared/:file', async (req, reply) => {
    const f = req.params.file;
    return isModule(f) ? sendFile(reply, join(dirs.shared, f), 'no-cache') : notFound(reply, f);
  });

  app.get<{ Params: { file: string } }>('/app/models/:file', async (req, reply) => {
    const f = req.params.file;
    return BROWSER_SAFE_MODELS.has(f) ? sendFile(reply, join(dirs.models, f), 'no-cache') : notFound(reply, f);
  });

  app.get<{ Params: { file: string } }>('/ort/:file', async (req, reply) => {
    const f = req.params.file;
    return SAFE_NAME.test(f) ? sendFile(reply, join(ortDir, f), 'immutable') : notFound(reply, f);
  });

  app.get('/model.onnx', async (_req, reply) => {
    const info = modelInfo();
    return sendFile(reply.header('etag', `"${info.sha256}"`), cached!.path, 'no-cache');
  });

  // The run's report (runs/<name>/report.html next to runs/<name>/model.onnx): self-contained, no script.
  app.get('/report', async (_req, reply) => sendFile(reply, join(dirname(resolve(currentPath())), 'report.html'), 'no-cache'));

  const samplesDir = opts.samplesDir ?? defaultSamplesDir();
  app.get<{ Params: { file: string } }>('/samples/:file', async (req, reply) => {
    const f = req.params.file;
    return samplesDir && SAFE_NAME.test(f) && /\.(png|json)$/.test(f) ? sendFile(reply, join(samplesDir, f), 'no-cache') : notFound(reply, f);
  });

  app.get('/model/info', async (_req, reply) => {
    try {
      return securityHeaders(reply).header('cache-control', 'no-cache').send(modelInfo());
    } catch (e) {
      return securityHeaders(reply).code(500).send({ error: `cannot read model metadata: ${e instanceof Error ? e.message : String(e)}` });
    }
  });
}
