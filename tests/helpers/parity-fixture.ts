// A small, deterministic run folder for tests and demos of the parity harness: a cnn28 spec with seeded
// parameters (BatchNorm statistics randomised so folding is exercised), written as runs/<name>/checkpoint.ckpt
// with a config that points at the shipped embedded Fashion-MNIST subset. Export is left to the caller
// (export/export-run.ts exportRun) so that the exporter under test is the real one.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildModelSpec, initParams } from '../../models/builders.js';
import { deriveRng } from '../../models/rng.js';
import { writeCheckpoint } from '../../models/artifacts/checkpoint.js';
import type { ResizePolicy } from '../../models/onnx-contract.js';

export const FIXTURE_CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

export interface FixtureOptions {
  seed?: number;
  /** config.resize of the run (absent: the exporter's default). */
  resize?: ResizePolicy;
}

/** Writes <runDir>/checkpoint.ckpt for a seeded, untrained cnn28 on the embedded dataset. Returns the checkpoint path. */
export function writeFixtureRun(runDir: string, opts: FixtureOptions = {}): string {
  const seed = opts.seed ?? 7;
  const spec = buildModelSpec('cnn28', { numClasses: 10, input: { height: 28, width: 28, channels: 1, mean: [0.286], std: [0.353] } });
  const params = initParams(spec, seed);
  const rng = deriveRng(seed, 'fixture-bn');
  for (const [name, p] of params) {
    const role = name.split('/').pop();
    for (let i = 0; i < p.data.length; i++) {
      if (role === 'movingMean') p.data[i] = 0.2 * rng.normal();
      else if (role === 'movingVariance') p.data[i] = 0.5 + 1.5 * rng.next();
      else if (role === 'gamma') p.data[i] = 0.8 + 0.4 * rng.next();
      else if (role === 'beta') p.data[i] = 0.1 * rng.normal();
    }
  }
  mkdirSync(runDir, { recursive: true });
  const path = join(runDir, 'checkpoint.ckpt');
  writeCheckpoint(path, {
    meta: {
      version: 1,
      spec,
      config: { dataset: 'embedded', imbalance: 100, seed: 1, valPerClass: 100, loss: 'ce', backend: 'cpu', ...(opts.resize ? { resize: opts.resize } : {}) },
      epoch: 0,
      step: 0,
      backend: 'cpu',
      classNames: FIXTURE_CLASS_NAMES.slice(),
      classCounts: [500, 300, 180, 110, 65, 40, 24, 14, 8, 5],
      createdAt: new Date(0).toISOString(),
    },
    params,
    optimizer: new Map(),
  });
  return path;
}

/** writeFixtureRun + the real exporter (export/export-run.ts): <runDir>/checkpoint.ckpt and <runDir>/model.onnx. */
export async function writeExportedFixtureRun(runDir: string, opts: FixtureOptions & { validate?: boolean } = {}): Promise<{ checkpoint: string; model: string }> {
  const checkpoint = writeFixtureRun(runDir, opts);
  const { exportRun } = await import('../../export/export-run.js');
  const r = await exportRun(runDir, { validate: opts.validate ?? false });
  return { checkpoint, model: r.path };
}

/**
 * A copy of an ONNX model with `delta` added to every value of the bias of the node that produces `output`
 * (default 'logits'), or only to the value of `classIndex`: a deliberately wrong model for testing that parity
 * checks catch it (one class's bias: a runtime that is off on that class alone).
 */
export async function perturbOnnxModel(bytes: Uint8Array, delta: number, output = 'logits', opts: { classIndex?: number } = {}): Promise<Uint8Array> {
  const { decodeModel, encodeModel } = await import('../../export/onnx-builder.js');
  const model = decodeModel(bytes);
  const g = model.graph;
  if (!g) throw new Error('model has no graph');
  const inits = new Map((g.initializer ?? []).map((t) => [t.name ?? '', t]));
  // Walk back from the output through single-input ops (e.g. Identity) to the first node with an initializer input.
  let want = output;
  for (let hops = 0; hops < 8; hops++) {
    const node = (g.node ?? []).find((n) => (n.output ?? []).includes(want));
    if (!node) break;
    const ins = node.input ?? [];
    const biasName = [...ins].reverse().find((i) => inits.has(i));
    if (biasName) {
      const t = inits.get(biasName)!;
      const hit = (i: number) => opts.classIndex === undefined || i === opts.classIndex;
      if (t.floatData && t.floatData.length) t.floatData = t.floatData.map((v, i) => (hit(i) ? v + delta : v));
      else if (t.rawData && t.rawData.length) {
        const raw = new Uint8Array(t.rawData);
        const f = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
        if (opts.classIndex !== undefined && !(opts.classIndex >= 0 && opts.classIndex < f.length)) throw new Error(`class ${opts.classIndex} out of range: ${biasName} has ${f.length} values`);
        for (let i = 0; i < f.length; i++) if (hit(i)) f[i]! += delta;
        t.rawData = new Uint8Array(f.buffer);
      } else throw new Error(`initializer ${biasName} has no float data`);
      return encodeModel(model);
    }
    want = ins[0] ?? '';
  }
  throw new Error(`no initializer found on the path to output '${output}'`);
}

/**
 * Writes `perClass` real test images of every class of the embedded Fashion-MNIST subset as encoded files in
 * dir/<class label>/, cycling through the formats (PNG, JPEG, WebP). Square 28x28 by default; `size` [w, h]
 * resizes them (sharp, fit 'fill') to make non-square files. Returns the file paths.
 */
export async function writeImageFolder(dir: string, opts: { perClass?: number; formats?: ('png' | 'jpeg' | 'webp')[]; size?: [number, number] } = {}): Promise<string[]> {
  const { loadDataset } = await import('../../pipeline/data/registry.js');
  const { default: sharp } = await import('sharp');
  const { writeFileSync } = await import('node:fs');
  const data = await loadDataset('embedded', { imbalance: 100, seed: 1 });
  const t = data.test;
  const per = t.height * t.width * t.channels;
  const want = opts.perClass ?? 3;
  const formats = opts.formats ?? ['png', 'jpeg', 'webp'];
  const taken = new Map<number, number>();
  const paths: string[] = [];
  for (let i = 0; i < t.count; i++) {
    const y = t.labels[i]!;
    const k = taken.get(y) ?? 0;
    if (k >= want) continue;
    taken.set(y, k + 1);
    const fmt = formats[paths.length % formats.length]!;
    let img = sharp(Buffer.from(t.images.subarray(i * per, (i + 1) * per)), { raw: { width: t.width, height: t.height, channels: t.channels as 1 } });
    if (opts.size) img = img.resize(opts.size[0], opts.size[1], { fit: 'fill' });
    const bytes = await (fmt === 'png' ? img.png() : fmt === 'jpeg' ? img.jpeg({ quality: 92 }) : img.webp({ quality: 90 })).toBuffer();
    const sub = join(dir, FIXTURE_CLASS_NAMES[y]!.replace(/\//g, '_'));
    mkdirSync(sub, { recursive: true });
    const p = join(sub, `img${i}.${fmt === 'jpeg' ? 'jpg' : fmt}`);
    writeFileSync(p, bytes);
    paths.push(p);
  }
  return paths;
}

/** A copy of an ONNX model with metadata_props[key] = value (added or replaced). */
export async function setOnnxMetadata(bytes: Uint8Array, key: string, value: string): Promise<Uint8Array> {
  const { decodeModel, encodeModel } = await import('../../export/onnx-builder.js');
  const model = decodeModel(bytes);
  const props = (model.metadataProps ?? []).filter((p) => p.key !== key);
  props.push({ key, value } as (typeof props)[number]);
  model.metadataProps = props;
  return encodeModel(model);
}
