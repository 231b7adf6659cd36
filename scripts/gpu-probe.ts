// What of the GPU paths can run on this machine, asked once before scripts/gpu-check.sh's stages so that each
// stage can say "skipped: no GPU (<reason>)" instead of failing: nvidia-smi, onnxruntime-node's CUDA and WebGPU
// execution providers (a real session on MODEL with one warm-up run), a Dawn adapter for tfjs-backend-webgpu
// (the `webgpu` package), and PyTorch (with onnx) and its CUDA. Writes OUT.json; every entry is {ok, detail}.
// Usage: node dist/scripts/gpu-probe.js --model M.onnx --out probe.json [--python python3]
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../models/artifacts/atomic-write.js';
import { isSoftwareAdapter } from '../pipeline/backend/select.js';
import { cleanEpReason } from '../pipeline/parity/runners/ort-node.js';
import { createSession, EpUnavailableError } from '../serve/node/ep.js';

const execFileP = promisify(execFile);

export interface Probe {
  ok: boolean;
  detail: string;
  /** tfjs webgpu only: the adapter is a CPU rasteriser (SwiftShader): fine for a dry run, not for timings. */
  software?: boolean;
}

const firstLine = (e: unknown): string => {
  const err = e as { stderr?: string; message?: string; code?: unknown };
  const text = (err.stderr?.trim() || err.message || String(e)).split('\n').filter((l) => l.trim());
  return (err.code === 'ENOENT' ? 'not installed' : text[text.length - 1] ?? 'failed').slice(0, 300);
};

async function nvidiaSmi(): Promise<Probe> {
  try {
    const { stdout } = await execFileP('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'], { timeout: 20_000 });
    const gpus = stdout.trim().split('\n').filter(Boolean);
    return gpus.length ? { ok: true, detail: gpus.join('; ') } : { ok: false, detail: 'nvidia-smi lists no GPU' };
  } catch (e) {
    return { ok: false, detail: `nvidia-smi: ${firstLine(e)}` };
  }
}

async function ortEp(model: string, ep: 'cuda' | 'webgpu'): Promise<Probe> {
  try {
    const { session } = await createSession(model, { ep, warmup: true });
    await session.release();
    return { ok: true, detail: `${ep} session created and ran one batch` };
  } catch (e) {
    if (e instanceof EpUnavailableError) return { ok: false, detail: e.tried.map((t) => cleanEpReason(t.ep, t.reason)).join('; ') };
    return { ok: false, detail: firstLine(e) };
  }
}

async function dawnAdapter(): Promise<Probe> {
  try {
    const webgpu = (await import('webgpu')) as unknown as { create(args: string[]): { requestAdapter(o?: object): Promise<unknown> }; globals: object };
    Object.assign(globalThis, webgpu.globals);
    const adapter = (await webgpu.create([]).requestAdapter({ powerPreference: 'high-performance' })) as { info?: { vendor?: string; architecture?: string; description?: string } } | null;
    if (!adapter) return { ok: false, detail: 'no WebGPU adapter (Dawn found no Vulkan GPU)' };
    const info = adapter.info ?? {};
    const name = [info.vendor, info.architecture, info.description].filter(Boolean).join(' / ') || 'unknown adapter';
    return { ok: true, detail: name, software: isSoftwareAdapter(info) };
  } catch (e) {
    return { ok: false, detail: `the webgpu (Dawn) package failed: ${firstLine(e)}` };
  }
}

/** PyTorch with the onnx package (what torch_infer_bench.py needs), and whether it sees a CUDA device. */
async function torch(python: string): Promise<{ torch: Probe; torchCuda: Probe }> {
  const code =
    'import json, torch, onnx; ok = torch.cuda.is_available(); ' +
    'print(json.dumps({"torch": torch.__version__, "onnx": onnx.__version__, "device": torch.cuda.get_device_name(0) if ok else None}))';
  try {
    const { stdout } = await execFileP(python, ['-c', code], { timeout: 60_000 });
    const r = JSON.parse(stdout.trim().split('\n').pop()!) as { torch: string; onnx: string; device: string | null };
    const what = `torch ${r.torch}, onnx ${r.onnx} (${python})`;
    return { torch: { ok: true, detail: what }, torchCuda: r.device ? { ok: true, detail: `${what} on ${r.device}` } : { ok: false, detail: `${what}: torch.cuda.is_available() is False` } };
  } catch (e) {
    const p = { ok: false, detail: `${python} -c 'import torch, onnx': ${firstLine(e)}` };
    return { torch: p, torchCuda: p };
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { model: { type: 'string' }, out: { type: 'string' }, python: { type: 'string', default: 'python3' } } });
  if (!values.model || !values.out) throw new Error('usage: gpu-probe --model M.onnx --out probe.json [--python python3]');
  const model = resolve(values.model);
  const probe = {
    nvidiaSmi: await nvidiaSmi(),
    ortCuda: await ortEp(model, 'cuda'),
    ortWebgpu: await ortEp(model, 'webgpu'),
    tfjsWebgpu: await dawnAdapter(),
    ...(await torch(values.python)),
    date: new Date().toISOString(),
  };
  mkdirSync(dirname(resolve(values.out)), { recursive: true });
  writeFileAtomic(values.out, `${JSON.stringify(probe, null, 2)}\n`);
  for (const [k, v] of Object.entries(probe)) if (typeof v === 'object') process.stdout.write(`probe ${k}: ${v.ok ? 'yes' : 'no'} (${v.detail}${v.software ? ', software' : ''})\n`);
  // Dawn keeps the event loop alive; the answers are written.
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write(`gpu-probe: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
