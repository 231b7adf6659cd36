// Fixtures for the serve-* integration tests: a real exported model (checkpoint -> exportRun), a child
// server process, and generated images.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportRun } from '../../export/export-run.js';
import { buildModelSpec, initParams } from '../../models/builders.js';
import type { ModelFamily, ModelSpec } from '../../models/spec.js';
import { type CheckpointMeta, writeCheckpoint } from '../../models/artifacts/checkpoint.js';

export const FMNIST_LABELS = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

export interface ServeModel {
  dir: string;
  modelPath: string;
  spec: ModelSpec;
  labels: string[];
}

/** runs/<name>/checkpoint.ckpt from initParams (classifier scaled so logits are not near-uniform) -> exportRun. */
export async function makeServeModel(root: string, opts: { family?: ModelFamily; name?: string; seed?: number; embedding?: boolean } = {}): Promise<ServeModel> {
  const family = opts.family ?? 'cnn28';
  const name = opts.name ?? 'fmnist-test';
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const input =
    family === 'cnn28'
      ? { height: 28, width: 28, channels: 1, mean: [0.2860], std: [0.3530] }
      : { height: 32, width: 32, channels: 3, mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] };
  const spec = buildModelSpec(family, { numClasses: 10, input });
  const params = initParams(spec, opts.seed ?? 11);
  const ck = params.get(`${spec.classifier.name}/kernel`)!;
  for (let i = 0; i < ck.data.length; i++) ck.data[i] = ck.data[i]! * 8;
  const labels = family === 'cnn28' ? FMNIST_LABELS : Array.from({ length: 10 }, (_, i) => `c${i}`);
  const meta: CheckpointMeta = {
    version: 1,
    spec,
    config: { dataset: 'embedded', loss: 'la-ce' },
    epoch: 1,
    step: 10,
    backend: 'cpu',
    classNames: labels,
    classCounts: Array.from({ length: 10 }, (_, i) => Math.round(600 * 0.6 ** i)),
    createdAt: new Date(0).toISOString(),
  };
  writeCheckpoint(join(dir, 'checkpoint.ckpt'), { meta, params, optimizer: new Map() });
  const res = await exportRun(dir, { validate: false, embedding: opts.embedding ?? false });
  return { dir, modelPath: res.path, spec, labels };
}

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const SERVE_MAIN = join(REPO_ROOT, 'dist', 'serve', 'node', 'main.js');

export interface ChildServer {
  proc: ChildProcess;
  url: string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `node dist/serve/node/main.js --port 0 ...` and waits for its "listening on <url>" line. */
export function startChildServer(args: string[], timeoutMs = 30_000): Promise<ChildServer> {
  const proc = spawn(process.execPath, [SERVE_MAIN, '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`server did not start in ${timeoutMs} ms:\n${err}`));
    }, timeoutMs);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, url: m[1]!, stderr: () => err, exited });
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited (code ${code}, signal ${signal}) before listening:\n${err}`));
    });
  });
}
