// Fixtures for the serve-* integration tests: a real exported model (checkpoint -> exportRun), a child
// server process, and generated images.
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
export { SERVE_MAIN } from '../../serve/node/child-server.js';

export { type ChildServer, startChildServer } from '../../serve/node/child-server.js';
