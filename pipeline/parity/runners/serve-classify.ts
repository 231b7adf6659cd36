// The server's own path for raw images: the real server (dist/serve/node/main.js, a child process on
// 127.0.0.1 and a free port) gets each original file on POST /v1/classify?k=<classes>, so its sniffing,
// sharp decode, serve/shared/preprocess.ts and batching all run. /v1/classify returns probabilities only.
import { existsSync } from 'node:fs';
import { SERVE_MAIN, startChildServer } from '../../../serve/node/child-server.js';
import type { RawImage } from '../raw-images.js';
import type { Unavailable } from './types.js';


export interface ServeClassifyOutput {
  probs: Float32Array;
  ms: number;
  ranOn: string;
  /** The EP the server reports ('cpu', 'cuda'). */
  ep: string;
}

const MIME: Record<RawImage['format'], string> = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' };


interface ClassifyResponse {
  ep?: string;
  results?: { predictions?: { index: number; probability: number }[] }[];
  error?: string;
}

export async function runServeClassify(modelPath: string, images: readonly RawImage[], numClasses: number, opts: { ep?: string; timeoutMs?: number } = {}): Promise<ServeClassifyOutput | Unavailable> {
  if (!existsSync(SERVE_MAIN)) return { unavailable: `${SERVE_MAIN} is missing (build first: npx tsc -p tsconfig.json)` };
  const srv = await startChildServer(['--model', modelPath, '--ep', opts.ep ?? 'auto'], opts.timeoutMs ?? 60_000);
  try {
    const probs = new Float32Array(images.length * numClasses);
    let ms = 0;
    let ep = '';
    for (const [i, img] of images.entries()) {
      const t0 = performance.now();
      const res = await fetch(`${srv.url}/v1/classify?k=${numClasses}`, { method: 'POST', headers: { 'content-type': MIME[img.format] }, body: Buffer.from(img.bytes) });
      const body = (await res.json().catch(() => ({}))) as ClassifyResponse;
      ms += performance.now() - t0;
      if (!res.ok) throw new Error(`POST /v1/classify ${img.name}: HTTP ${res.status}: ${body.error ?? JSON.stringify(body).slice(0, 300)}`);
      const preds = body.results?.[0]?.predictions ?? [];
      if (preds.length !== numClasses) throw new Error(`POST /v1/classify ${img.name}: ${preds.length} probabilities for ${numClasses} classes`);
      for (const p of preds) {
        if (!(Number.isInteger(p.index) && p.index >= 0 && p.index < numClasses)) throw new Error(`POST /v1/classify ${img.name}: class index ${p.index} out of range`);
        probs[i * numClasses + p.index] = p.probability;
      }
      ep = body.ep ?? ep;
    }
    return { probs, ms, ranOn: `server /v1/classify (sharp decode, serve/shared/preprocess.ts), onnxruntime-node ${ep || '?'}`, ep };
  } finally {
    srv.proc.kill('SIGTERM');
    await new Promise((r) => (srv.proc.exitCode !== null ? r(undefined) : srv.proc.once('exit', r)));
  }
}
