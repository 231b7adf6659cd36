// The one module that decides which tfjs backend runs training and evaluation.
// Order: tfjs-node-gpu -> tfjs-node -> webgpu (Dawn, only with an adapter) -> wasm -> cpu.
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's node bundle ships no gradient functions (its per-op ESM files cannot be loaded by Node);
// the umbrella package's bundle registers all of them on the same tfjs-core instance.
import '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { cpus } from 'node:os';
import { settings } from '../../models/settings.js';
import { noGpuReason } from '../../serve/node/gpu-devices.js';

export { type GpuHost, noGpuReason } from '../../serve/node/gpu-devices.js';

export const BACKENDS = ['tfjs-node-gpu', 'tfjs-node', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface BackendChoice {
  /** What the user asked for ('auto' or a backend name). */
  requested: string;
  /** The backend that runs. */
  name: BackendName;
  /** tf.getBackend() after selection (e.g. 'tensorflow' for tfjs-node). */
  tfBackend: string;
  /** Why each earlier candidate was not used. */
  skipped: { name: BackendName; reason: string }[];
  /** Extra facts (adapter name, kernel overrides). */
  details: Record<string, string>;
}

const requireFromHere = createRequire(import.meta.url);

function errMessage(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0]!.slice(0, 200);
}

async function tryNode(pkg: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node'): Promise<string> {
  try {
    requireFromHere.resolve(pkg);
  } catch {
    throw new Error(`${pkg} is not installed (optional dependency; it needs libtensorflow)`);
  }
  await import(pkg);
  if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg} loaded but the 'tensorflow' backend failed to initialise`);
  return 'tensorflow';
}

/** Software WebGPU adapters (SwiftShader, lavapipe, llvmpipe) are CPU rasterisers: far slower than wasm. */
export function isSoftwareAdapter(info: { vendor?: string; architecture?: string; description?: string }): boolean {
  return /swiftshader|llvmpipe|lavapipe|software|cpu/i.test(`${info.vendor ?? ''} ${info.architecture ?? ''} ${info.description ?? ''}`);
}

/** What the GPU pre-check looks at (tests pass a fake machine). */
async function tryWebgpu(details: Record<string, string>, auto: boolean): Promise<string> {
  // Auto mode on a machine without a GPU: skip quietly (an explicit --backend webgpu still tries Dawn).
  const noGpu = auto ? noGpuReason() : null;
  if (noGpu) throw new Error(noGpu);
  let gpu: { requestAdapter(opts?: object): Promise<unknown> };
  try {
    const webgpu = (await import('webgpu')) as unknown as { create(args: string[]): unknown; globals: object };
    Object.assign(globalThis, webgpu.globals);
    gpu = webgpu.create([]) as typeof gpu;
  } catch (e) {
    throw new Error(`the webgpu (Dawn) package failed to load: ${errMessage(e)}`);
  }
  const adapter = (await gpu.requestAdapter({ powerPreference: 'high-performance' })) as {
    info?: { description?: string; vendor?: string; architecture?: string };
  } | null;
  if (!adapter) throw new Error('no WebGPU adapter (no GPU visible to Dawn)');
  const info = adapter.info ?? {};
  details.adapter = [info.vendor, info.architecture, info.description].filter(Boolean).join(' / ') || 'unknown';
  // Auto mode only takes a real GPU; --backend webgpu also takes a software adapter (tests use SwiftShader).
  if (auto && isSoftwareAdapter(info)) throw new Error(`only a software WebGPU adapter (${details.adapter}), slower than wasm`);
  // tfjs-backend-webgpu reads navigator.gpu when it is imported, so set it first.
  if (!(globalThis as { navigator?: unknown }).navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
  Object.defineProperty((globalThis as unknown as { navigator: object }).navigator, 'gpu', { value: gpu, configurable: true });
  await import('@tensorflow/tfjs-backend-webgpu');
  const { registerWebgpuTrainingKernels, configureWebgpuForTraining } = await import('./kernels/webgpu-training-kernels.js');
  // ECL_WEBGPU_STOCK_KERNELS=1 keeps tfjs's own kernels (for before/after measurements).
  const stock = settings.webgpuStockKernels();
  const registered = stock ? [] : registerWebgpuTrainingKernels();
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs-backend-webgpu failed to initialise');
  details.kernels = stock ? 'stock tfjs-backend-webgpu kernels (ECL_WEBGPU_STOCK_KERNELS=1)' : `custom webgpu training kernels: ${registered.join(', ')}`;
  details.flags = configureWebgpuForTraining();
  return 'webgpu';
}

/** XNNPACK pool size: ECL_WASM_THREADS, else one per CPU core up to 4 (1 = the single-threaded build). */
export function wasmThreadsWanted(env: Record<string, string | undefined> = process.env, cores = cpus().length): number {
  const raw = settings.wasmThreads(env);
  if (raw === undefined || raw === '') return Math.max(1, Math.min(4, cores));
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 8) throw new Error(`ECL_WASM_THREADS must be an integer 1..8, got '${raw}'`);
  return n;
}

async function tryWasm(details: Record<string, string>): Promise<string> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const dir = dirname(requireFromHere.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  wasm.setWasmPaths(join(dir, 'dist') + '/');
  const { registerWasmTrainingKernels } = await import('./kernels/wasm-training-kernels.js');
  const registered = registerWasmTrainingKernels();
  const threads = wasmThreadsWanted();
  const threading = threads > 1 ? await import('./kernels/wasm-threads.js') : undefined;
  const restore = threading?.prepareWasmThreads(threads);
  if (threading) wasm.setThreadsCount(threads);
  try {
    if (!(await tf.setBackend('wasm'))) throw new Error('tfjs-backend-wasm failed to initialise');
  } finally {
    restore?.();
  }
  threading?.unrefWasmWorkers();
  details.kernels = `custom wasm training kernels: ${registered.join(', ')}`;
  // Start the SIMD kernels' workers now rather than inside the first training step.
  const { simdPool } = await import('./kernels/simd-pool.js');
  const pool = simdPool((tf.backend() as unknown as { wasm: unknown }).wasm, wasm.getThreadsCount());
  details.simd = pool ? `wasm SIMD128 convolutions and their gradients (direct; ${settings.wasmWinograd() ? 'Winograd F(4x4,3x3) conv and filter gradient for 3x3 stride 1' : 'Winograd off (ECL_WASM_WINOGRAD=0): direct 3x3'}; direct transposed conv for strided input gradients), BatchNorm and the ReLU gradient on ${pool.threads} thread(s)` : 'off (ECL_WASM_SIMD_KERNELS=0): XNNPACK routes';
  details.threads = `${wasm.getThreadsCount()} (XNNPACK thread pool${threads > 1 ? `, ECL_WASM_THREADS=${threads}` : ''})`;
  return 'wasm';
}

async function tryCpu(): Promise<string> {
  await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend('cpu'))) throw new Error('cpu backend failed to initialise');
  return 'cpu';
}

export function parseBackend(name: string): BackendName | 'auto' {
  if (name === 'auto' || (BACKENDS as readonly string[]).includes(name)) return name as BackendName | 'auto';
  throw new Error(`unknown backend '${name}' (expected auto or one of: ${BACKENDS.join(', ')})`);
}

let current: BackendChoice | undefined;

/** Picks and initialises the tfjs backend; idempotent for the same request. */
export async function selectBackend(requested = 'auto'): Promise<BackendChoice> {
  const want = parseBackend(requested);
  if (current && (want === 'auto' || current.name === want)) return current;
  const candidates: BackendName[] = want === 'auto' ? [...BACKENDS] : [want];
  const skipped: BackendChoice['skipped'] = [];
  const details: Record<string, string> = {};
  // Production mode: quiets tfjs's "install tfjs-node" banner (we report the choice ourselves) without
  // IS_TEST's per-kernel leak checks.
  tf.env().set('PROD', true);
  for (const name of candidates) {
    try {
      let tfBackend: string;
      if (name === 'tfjs-node-gpu') tfBackend = await tryNode('@tensorflow/tfjs-node-gpu');
      else if (name === 'tfjs-node') tfBackend = await tryNode('@tensorflow/tfjs-node');
      else if (name === 'webgpu') tfBackend = await tryWebgpu(details, want === 'auto');
      else if (name === 'wasm') tfBackend = await tryWasm(details);
      else tfBackend = await tryCpu();
      await tf.ready();
      current = { requested, name, tfBackend, skipped, details };
      return current;
    } catch (e) {
      skipped.push({ name, reason: errMessage(e) });
    }
  }
  throw new Error(`no usable tfjs backend for '${requested}': ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

export function describeBackend(c: BackendChoice): string {
  const skipped = c.skipped.map((s) => `  skipped ${s.name}: ${s.reason}`).join('\n');
  const det = Object.entries(c.details)
    .map(([k, v]) => `  ${k}: ${v}`)
    .join('\n');
  return [`backend: ${c.name} (requested ${c.requested})`, skipped, det].filter(Boolean).join('\n');
}
