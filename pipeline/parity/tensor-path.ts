// The tensor path of `ecl parity`: the run's dataset test split as uint8 NHWC, the same bytes for the reference
// and every runtime (WebGPU runtimes on an evenly spaced subset: software WebGPU is slow).
import { PARITY_RUNTIMES, type RuntimeName } from '../../serve/shared/ep-policy.js';
import { UsageError } from '../cli/errors.js';
import { loadRunData, runCacheDir } from '../data/run-data.js';
import { type ImageSet, subsetImageSet } from '../data/types.js';
import type { RowOutput } from './evaluate.js';
import { labelledAccuracy, type ParityModel, type ParityReport, type ParityRow, type PathResult } from './parity-types.js';
import { evenlySpaced } from './metrics.js';
import { runOpenCvDnn } from './runners/opencv-dnn.js';
import { runOrtNode } from './runners/ort-node.js';
import { runOrtWeb } from './runners/ort-web.js';
import { runTfjs } from './runners/tfjs.js';
import { errText, type ModelOutputs, type Samples } from './runners/types.js';

export interface RowsCommon {
  model: ParityModel;
  reference: 'tfjs' | 'onnx';
  rows: readonly ParityRow[];
  batchSize: number;
  log: (line: string) => void;
  opencvPython: string | undefined;
  referenceBackend: 'cpu' | 'wasm';
}

type RowResult = RowOutput | { unavailable: string } | { error: string };

/** The reference's outputs on `s`: the trained tfjs model, or onnxruntime-node CPU on the model. */
export async function runReference(c: RowsCommon, s: Samples): Promise<{ out: ModelOutputs; info: ParityReport['reference'] }> {
  const m = c.model;
  if (c.reference === 'tfjs') {
    const ck = m.run!.checkpoint;
    const r = await runTfjs(ck.meta.spec, ck.params, s, { backend: c.referenceBackend, batchSize: c.batchSize });
    return { out: r.out, info: { runtime: 'tfjs', backend: r.backend.name, accuracy: labelledAccuracy(r.out.logits, s.labels, m.numClasses), inferenceMs: r.ms, ranOn: r.ranOn } };
  }
  const r = await runOrtNode('cpu', m.path, s, { shape: m.shape, batchSize: c.batchSize, inputName: m.inputName });
  if ('unavailable' in r) throw new Error(`the onnx reference (onnxruntime-node CPU) cannot run: ${r.unavailable}`);
  return { out: r.out, info: { runtime: 'ort-node-cpu', backend: 'onnxruntime-node cpu', accuracy: labelledAccuracy(r.out.logits, s.labels, m.numClasses), inferenceMs: r.ms, ranOn: r.ranOn } };
}

/** onnxruntime-node and OpenCV DNN rows on given pixels (both paths use this). */
export async function runLocalRows(c: RowsCommon, samplesFor: (rt: ParityRow) => { s: Samples; index: number[] }, extra: (rt: ParityRow) => Partial<RowOutput> = () => ({})): Promise<Map<ParityRow, RowResult>> {
  const out = new Map<ParityRow, RowResult>();
  const m = c.model;
  for (const rt of c.rows) {
    const local = rt === 'opencv-dnn' || (rt in PARITY_RUNTIMES && PARITY_RUNTIMES[rt as RuntimeName].host === 'node');
    if (!local) continue;
    const { s, index } = samplesFor(rt);
    c.log(`${rt}: ${s.count} images`);
    try {
      const res =
        rt === 'opencv-dnn'
          ? await runOpenCvDnn(m.path, s, { shape: m.shape, numClasses: m.numClasses, batchSize: c.batchSize, ...(c.opencvPython ? { python: c.opencvPython } : {}) })
          : await runOrtNode(PARITY_RUNTIMES[rt as RuntimeName].ep as 'cpu' | 'cuda' | 'webgpu', m.path, s, { shape: m.shape, batchSize: c.batchSize, inputName: m.inputName });
      out.set(rt, 'unavailable' in res ? res : { index, logits: res.out.logits, probs: res.out.probs, ms: res.ms, ranOn: res.ranOn, ...extra(rt) });
    } catch (e) {
      out.set(rt, { error: errText(e) });
    }
  }
  return out;
}

export interface TensorInputs {
  samples: ImageSet;
  positions: number[];
  gpuIndex: number[];
  dataset: NonNullable<ParityReport['dataset']>;
}

export async function tensorInputs(m: ParityModel, o: { samples: number | undefined; webgpuSamples: number; dataRoot: string | undefined; log: (l: string) => void }): Promise<TensorInputs> {
  if (!m.run) throw new UsageError('without a run there is no dataset: give --images DIR (e.g. ecl parity --model m.onnx --images DIR --reference onnx)');
  const cfg = m.run.dataset();
  o.log(`dataset ${cfg.dataset} (test split)`);
  const data = await loadRunData(cfg, { root: o.dataRoot, cacheDir: runCacheDir(m.run.dir), log: o.log });
  const test = data.test;
  const [H, W, C] = m.shape;
  if (test.height !== H || test.width !== W || test.channels !== C) throw new Error(`test images are ${test.height}x${test.width}x${test.channels} but the model takes ${H}x${W}x${C}`);
  const nAll = o.samples && o.samples > 0 ? Math.min(o.samples, test.count) : test.count;
  const positions = evenlySpaced(test.count, nAll);
  const nGpu = o.webgpuSamples > 0 ? Math.min(o.webgpuSamples, nAll) : nAll;
  return {
    samples: subsetImageSet(test, positions),
    positions,
    gpuIndex: evenlySpaced(nAll, nGpu),
    dataset: { name: cfg.dataset, split: 'test', size: test.count, samples: nAll, webgpuSamples: nGpu },
  };
}

export async function runTensorRows(c: RowsCommon, t: TensorInputs): Promise<PathResult> {
  const all = Array.from({ length: t.samples.count }, (_, i) => i);
  const gpuSamples = subsetImageSet(t.samples, t.gpuIndex);
  const usesGpuSubset = (rt: ParityRow) => rt in PARITY_RUNTIMES && PARITY_RUNTIMES[rt as RuntimeName].ep === 'webgpu';
  const pick = (rt: ParityRow) => (usesGpuSubset(rt) ? { s: gpuSamples, index: t.gpuIndex } : { s: t.samples, index: all });
  c.log(`reference: ${c.reference === 'tfjs' ? `tfjs ${c.referenceBackend}` : 'onnxruntime-node CPU'} on ${t.samples.count} of ${t.dataset.size} test images`);
  const ref = await runReference(c, t.samples);
  const rows: PathResult['rows'] = new Map(await runLocalRows(c, pick));
  const web = c.rows.filter((r): r is RuntimeName => r in PARITY_RUNTIMES && PARITY_RUNTIMES[r as RuntimeName].host === 'web');
  const webRes = await runOrtWeb(c.model.path, web, (rt) => pick(rt).s, c.batchSize, c.log);
  for (const [rt, r] of webRes) rows.set(rt, 'out' in r ? { index: pick(rt).index, logits: r.out.logits, probs: r.out.probs, ms: r.ms, ranOn: r.ranOn, failures: r.failures } : r);
  return {
    inputs: { kind: 'dataset', name: t.dataset.name, split: 'test', positions: t.positions },
    ref: ref.out,
    refInfo: ref.info,
    labels: t.samples.labels,
    rows,
    dataset: t.dataset,
  };
}
