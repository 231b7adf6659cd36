// onnxruntime-node on one execution provider, the session made by serve/node/ep.ts (the EP policy's node side).
import { existsSync } from 'node:fs';
import { INPUT_NAME, OUTPUT_EMBEDDING, OUTPUT_LOGITS, OUTPUT_PROBS } from '../../../models/onnx-contract.js';
import { createSession, EpUnavailableError, loadOrt } from '../../../serve/node/ep.js';
import { type NodeEp, ORT_EP_NAME } from '../../../serve/shared/ep-policy.js';
import { softmaxRows } from '../metrics.js';
import { concatRows, type RunnerOutput, type Samples, type Unavailable } from './types.js';

export interface OrtNodeRunOptions {
  /** [H, W, C] of one image. */
  shape: [number, number, number];
  batchSize: number;
  /** Graph input name (default the contract's). */
  inputName?: string;
  /** Also return the 'embedding' output when the model has one. */
  embedding?: boolean;
}

/** Vulkan loader locations Dawn (onnxruntime-node's WebGPU EP on Linux) dlopens. */
const VULKAN_LOADERS = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib64/libvulkan.so.1', '/usr/lib/libvulkan.so.1'];

/** Shortens onnxruntime's source-located messages and adds what is missing on this machine. */
export function cleanEpReason(ep: string, reason: string): string {
  let r = reason.replace(/^\S*onnxruntime_src\S*\s+\S+\s+/, '').replace(/\s+was false\.\s*/, ': ');
  const adapter = /Failed to get a WebGPU adapter:?\s*(.*)$/.exec(reason);
  if (ep === 'webgpu' && adapter) {
    r = `no WebGPU adapter (Dawn: ${adapter[1]!.trim() || 'none'})`;
    if (process.platform === 'linux' && !VULKAN_LOADERS.some((p) => existsSync(p)) && !process.env.LD_LIBRARY_PATH?.length)
      r += '; libvulkan.so.1 is not installed and Dawn needs Vulkan plus a GPU driver';
    else if (!existsSync('/dev/dri') && !existsSync('/dev/nvidiactl')) r += '; no GPU device (/dev/dri, /dev/nvidiactl) is visible';
  }
  return r;
}

export async function runOrtNode(ep: NodeEp, model: string | Uint8Array, s: Samples, opts: OrtNodeRunOptions): Promise<RunnerOutput | Unavailable> {
  const ort = await loadOrt();
  let created;
  try {
    created = await createSession(model, { ep, warmup: true });
  } catch (e) {
    if (e instanceof EpUnavailableError) return { unavailable: e.tried.map((t) => cleanEpReason(t.ep, t.reason)).join('; ') };
    throw e;
  }
  const { session } = created;
  try {
    const [H, W, Ch] = opts.shape;
    const px = H * W * Ch;
    const wantEmb = (opts.embedding ?? false) && session.outputNames.includes(OUTPUT_EMBEDDING);
    const logits: Float32Array[] = [];
    const probs: Float32Array[] = [];
    const emb: Float32Array[] = [];
    let ms = 0;
    for (let st = 0; st < s.count; st += opts.batchSize) {
      const e = Math.min(s.count, st + opts.batchSize);
      const x = new ort.Tensor('uint8', s.images.slice(st * px, e * px), [e - st, H, W, Ch]);
      const t0 = performance.now();
      const out = await session.run({ [opts.inputName ?? INPUT_NAME]: x });
      ms += performance.now() - t0;
      const l = out[OUTPUT_LOGITS]?.data as Float32Array | undefined;
      if (!l) throw new Error(`the model has no '${OUTPUT_LOGITS}' output`);
      logits.push(Float32Array.from(l));
      const p = out[OUTPUT_PROBS]?.data as Float32Array | undefined;
      probs.push(p ? Float32Array.from(p) : softmaxRows(l, e - st, l.length / (e - st)));
      if (wantEmb) emb.push(Float32Array.from(out[OUTPUT_EMBEDDING]!.data as Float32Array));
    }
    return {
      out: { logits: concatRows(logits), probs: concatRows(probs), ...(wantEmb ? { embedding: concatRows(emb) } : {}) },
      ms,
      ranOn: `${ORT_EP_NAME[ep]} (sole EP of the session)`,
    };
  } finally {
    await session.release().catch(() => undefined);
  }
}
