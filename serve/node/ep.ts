// Creates onnxruntime-node sessions on the execution provider the policy (serve/shared/ep-policy.ts) names,
// for the server, the benchmarks and the parity harness:
//
//   auto   -> CUDA, then CPU (WebGPU is never picked implicitly)
//   cuda   -> CUDA or a clear error (no silent CPU fallback)
//   webgpu -> onnxruntime-node's native WebGPU EP (Dawn; needs a GPU and Vulkan) or a clear error
//   cpu    -> CPU
//
// Every candidate is tried for real: the session is created with that provider alone and, by default,
// one warm-up batch is run, so "loaded" means "ran". Each failure is recorded with its reason.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { noGpuReason } from './gpu-devices.js';
import { type EpAttempt as PolicyEpAttempt, NODE_EP_CHOICES, type NodeEp, type NodeEpChoice, nodeEpOrder } from '../shared/ep-policy.js';

type OrtModule = typeof Ort;
/** onnxruntime-node, loaded on first use (importing this module stays cheap, e.g. for `ecl --help`). */
export async function loadOrt(): Promise<OrtModule> {
  const m = (await import('onnxruntime-node')) as OrtModule & { default?: OrtModule };
  return m.default ?? m;
}

export type EpName = NodeEp;
export type EpChoice = NodeEpChoice;
export const EP_CHOICES = NODE_EP_CHOICES;
export type EpAttempt = PolicyEpAttempt<NodeEp>;

export interface CreateSessionOptions {
  ep?: EpChoice;
  /** Extra onnxruntime session options (executionProviders is set here). */
  sessionOptions?: Omit<Ort.InferenceSession.SessionOptions, 'executionProviders'>;
  /** GPU ordinal for cuda (default 0). */
  deviceId?: number;
  /** Run one batch of zeros after creating the session (default true): catches EPs that load but cannot run. */
  warmup?: boolean;
  /** Progress lines ("ep cuda: unavailable: ..."). Default: none. */
  log?: (line: string) => void;
}

export interface CreatedSession {
  session: Ort.InferenceSession;
  /** The provider that actually loaded (and ran the warm-up). */
  ep: EpName;
  /** Every provider tried, in order, with the reason it was or was not used. */
  tried: EpAttempt[];
}

export class EpUnavailableError extends Error {
  readonly tried: EpAttempt[];
  constructor(message: string, tried: EpAttempt[]) {
    super(message);
    this.name = 'EpUnavailableError';
    this.tried = tried;
  }
}

export function parseEpChoice(v: unknown): EpChoice {
  const s = String(v ?? 'auto').toLowerCase();
  if ((EP_CHOICES as readonly string[]).includes(s)) return s as EpChoice;
  throw new Error(`unknown execution provider '${String(v)}' (expected one of: ${EP_CHOICES.join(', ')})`);
}

/** Providers tried for a choice, in order (the policy's). */
export const epOrder = nodeEpOrder;

const require = createRequire(import.meta.url);

/** onnxruntime-node's package.json path and version. */
export function ortNodePackage(): { dir: string; version: string } {
  const pkgPath = require.resolve('onnxruntime-node/package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { version: string };
  return { dir: dirname(pkgPath), version: pkg.version };
}

/** Folder holding onnxruntime_binding.node and where the CUDA provider libraries must go. */
export function ortBinDir(): string {
  return join(ortNodePackage().dir, 'bin', 'napi-v6', process.platform, process.arch);
}

export const CUDA_PROVIDER_FILES = ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'] as const;

/** Whether the CUDA provider libraries are installed next to the binding (make cuda-ep). */
export function cudaProviderStatus(): { dir: string; present: boolean; missing: string[] } {
  const dir = ortBinDir();
  if (process.platform !== 'linux' || process.arch !== 'x64') return { dir, present: false, missing: [...CUDA_PROVIDER_FILES] };
  const missing = CUDA_PROVIDER_FILES.filter((f) => !existsSync(join(dir, f)));
  return { dir, present: missing.length === 0, missing };
}

/** Best-effort explanation of why the CUDA provider library cannot load (missing shared libraries, no driver). */
export function diagnoseCuda(): string {
  const hints: string[] = [];
  if (!existsSync('/proc/driver/nvidia/version') && !existsSync('/dev/nvidiactl')) hints.push('no NVIDIA driver found (/proc/driver/nvidia/version absent)');
  const lib = join(ortBinDir(), CUDA_PROVIDER_FILES[0]);
  if (existsSync(lib)) {
    try {
      const out = execFileSync('ldd', [lib], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
      const missing = out
        .split('\n')
        .filter((l) => l.includes('not found'))
        .map((l) => l.trim().split(/\s+/)[0]!);
      if (missing.length) hints.push(`missing shared libraries: ${missing.join(', ')} (install CUDA 13 + cuDNN 9 or add them to LD_LIBRARY_PATH)`);
    } catch {
      /* ldd unavailable: no hint */
    }
  }
  return hints.join('; ');
}

const firstLine = (e: unknown): string => {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n').find((l) => l.trim().length > 0)?.trim() ?? m;
};

function precheck(ep: EpName, ort: OrtModule): string | null {
  // Without a GPU device or a Vulkan loader Dawn cannot find an adapter; asking it anyway prints native
  // "Couldn't load Vulkan" lines, so say why without loading it.
  if (ep === 'webgpu') {
    const noGpu = noGpuReason();
    if (noGpu) return `no WebGPU adapter possible: ${noGpu.replace('Dawn not probed', "onnxruntime's WebGPU EP not tried")}`;
  }
  if (ep === 'cuda') {
    if (process.platform !== 'linux' || process.arch !== 'x64')
      return `the CUDA provider of onnxruntime-node is only available on linux-x64 (this is ${process.platform}-${process.arch})`;
    const st = cudaProviderStatus();
    if (!st.present) return `CUDA provider not installed (${st.missing.join(', ')} missing in ${st.dir}; run 'make cuda-ep', see docs/serving.md)`;
  }
  const backends = (ort as unknown as { listSupportedBackends?: () => Array<{ name: string }> }).listSupportedBackends?.();
  if (backends && !backends.some((b) => b.name === ep)) return `this onnxruntime-node build has no '${ep}' provider`;
  return null;
}

function providerConfig(ep: EpName, deviceId: number): Ort.InferenceSession.ExecutionProviderConfig {
  if (ep === 'cuda') return { name: 'cuda', deviceId };
  return ep;
}

/** Feeds of zeros for every tensor input (symbolic dims -> 1). */
export function zeroFeeds(session: Ort.InferenceSession, ort: OrtModule): Record<string, Ort.Tensor> {
  const feeds: Record<string, Ort.Tensor> = {};
  for (const m of session.inputMetadata) {
    if (!m.isTensor) throw new Error(`input '${m.name}' is not a tensor`);
    const dims = m.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    const n = dims.reduce((a, b) => a * b, 1);
    switch (m.type) {
      case 'uint8':
        feeds[m.name] = new ort.Tensor('uint8', new Uint8Array(n), dims);
        break;
      case 'float32':
        feeds[m.name] = new ort.Tensor('float32', new Float32Array(n), dims);
        break;
      default:
        throw new Error(`input '${m.name}' has unsupported type ${m.type}`);
    }
  }
  return feeds;
}

/**
 * Creates an onnxruntime-node session on the requested execution provider. Throws EpUnavailableError
 * (with every attempt and its reason) when no candidate loads, e.g. `--ep cuda` on a machine without
 * a GPU or without the CUDA provider libraries.
 */
export async function createSession(model: string | Uint8Array, opts: CreateSessionOptions = {}): Promise<CreatedSession> {
  const choice = opts.ep ?? 'auto';
  const log = opts.log ?? (() => {});
  const tried: EpAttempt[] = [];
  const ort = await loadOrt();
  for (const ep of epOrder(choice)) {
    const pre = precheck(ep, ort);
    if (pre) {
      tried.push({ ep, ok: false, reason: pre });
      log(`ep ${ep}: unavailable: ${pre}`);
      continue;
    }
    let session: Ort.InferenceSession | undefined;
    try {
      const so: Ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', ...opts.sessionOptions, executionProviders: [providerConfig(ep, opts.deviceId ?? 0)] };
      session = typeof model === 'string' ? await ort.InferenceSession.create(model, so) : await ort.InferenceSession.create(model, so);
      if (opts.warmup ?? true) await session.run(zeroFeeds(session, ort));
    } catch (e) {
      if (session) await session.release().catch(() => {});
      let reason = firstLine(e);
      if (ep === 'cuda') {
        const why = diagnoseCuda();
        if (why) reason += ` (${why})`;
      }
      tried.push({ ep, ok: false, reason });
      log(`ep ${ep}: failed: ${reason}`);
      continue;
    }
    tried.push({ ep, ok: true, reason: 'loaded' });
    log(`ep ${ep}: loaded${tried.length > 1 ? ` (after: ${tried.filter((t) => !t.ok).map((t) => t.ep).join(', ')})` : ''}`);
    return { session, ep, tried };
  }
  const summary = tried.map((t) => `${t.ep}: ${t.reason}`).join('; ');
  throw new EpUnavailableError(`no execution provider could load the model with --ep ${choice}: ${summary}`, tried);
}
