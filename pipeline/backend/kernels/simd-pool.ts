// Runs the wasm SIMD kernels (pipeline/backend/kernels/simd/*.c) on tfjs-backend-wasm's own heap, split across threads.
//
// The kernels are instantiated on the backend's WebAssembly.Memory, so they read and write tensors in place
// by their heap offsets. With the threaded tfjs build that memory is shared, and worker_threads instantiate
// the same module on it: a call's work units are cut into chunks that the calling thread and the workers
// claim with an atomic counter. Each unit is computed by one thread in a fixed order, so results do not
// depend on how many threads there are or who ran what; if a worker is slow to start, the caller simply
// claims more chunks itself.
import { Worker } from 'node:worker_threads';
import { plainWasmBase64, sharedWasmBase64 } from './simd/kernels-wasm.js';
import { CTL, drainChunks, SIMD_FUNCTIONS, type SimdFunction } from './simd-protocol.js';
import { settings } from '../../../models/settings.js';

/** The emscripten module object of tfjs-backend-wasm (only what is used here). */
interface EmscriptenModule {
  wasmMemory?: WebAssembly.Memory;
  asm?: { memory?: WebAssembly.Memory };
}

export class SimdPool {
  readonly threads: number;
  readonly memory: WebAssembly.Memory;
  /** Calls made so far, per kernel (tests check that a path really ran). */
  readonly calls = new Map<SimdFunction, number>();
  private readonly ctl: Int32Array;
  private readonly exports: Record<string, (...a: number[]) => void>;
  private workerError: Error | undefined;

  constructor(memory: WebAssembly.Memory, threads: number) {
    this.memory = memory;
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    const module = new WebAssembly.Module(Buffer.from(shared ? sharedWasmBase64 : plainWasmBase64, 'base64'));
    this.exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Record<string, (...a: number[]) => void>;
    // A plain (unshared) memory cannot be seen from another thread: run on the caller only.
    this.threads = shared ? Math.max(1, threads) : 1;
    this.ctl = new Int32Array(new SharedArrayBuffer(CTL.SIZE * 4));
    for (let i = 1; i < this.threads; i++) {
      const w = new Worker(new URL('./simd-worker.js', import.meta.url), { workerData: { module, memory, ctl: this.ctl.buffer } });
      w.on('error', (e) => (this.workerError = e));
      w.unref();
    }
  }

  /** Runs a small kernel on the calling thread only. */
  runOnCaller(fn: SimdFunction, args: number[]): void {
    this.calls.set(fn, (this.calls.get(fn) ?? 0) + 1);
    this.exports[fn]!(...args);
  }

  /** Chunks a call with this many units is cut into (one per thread at most): sizes per-chunk scratch space. */
  chunksFor(units: number): number {
    return Math.min(units, this.threads);
  }

  /** Runs fn(...args, unit0, unit1, chunk) over units [0, units) and returns when every unit is done. */
  run(fn: SimdFunction, args: number[], units: number): void {
    this.throwIfWorkerFailed();
    this.calls.set(fn, (this.calls.get(fn) ?? 0) + 1);
    const c = this.ctl;
    if (args.length > CTL.MAX_ARGS) throw new Error(`too many kernel arguments (${args.length})`);
    // One chunk per thread: each filter-gradient chunk streams all of x and dy, so more chunks means more
    // memory traffic.
    const chunks = this.chunksFor(units);
    // Parameters first, then DONE and NEXT: a worker reads them only after claiming a chunk of this call.
    Atomics.store(c, CTL.FN, SIMD_FUNCTIONS.indexOf(fn));
    Atomics.store(c, CTL.NARGS, args.length);
    for (let i = 0; i < args.length; i++) Atomics.store(c, CTL.ARGS + i, args[i]!);
    Atomics.store(c, CTL.UNITS, units);
    Atomics.store(c, CTL.CHUNKS, chunks);
    Atomics.store(c, CTL.DONE, 0);
    Atomics.store(c, CTL.NEXT, 0);
    if (this.threads > 1) {
      Atomics.add(c, CTL.GEN, 1);
      Atomics.notify(c, CTL.GEN);
    }
    drainChunks(c, this.exports);
    for (let d = Atomics.load(c, CTL.DONE); d < chunks; d = Atomics.load(c, CTL.DONE)) {
      if (Atomics.wait(c, CTL.DONE, d, 60_000) === 'timed-out') throw new Error(`wasm SIMD ${fn}: a worker did not finish its chunk within 60 s`);
      this.throwIfWorkerFailed();
    }
  }

  private throwIfWorkerFailed(): void {
    if (this.workerError) throw new Error(`wasm SIMD worker failed: ${this.workerError.message}`);
  }
}

let pool: SimdPool | undefined;

/** ECL_WASM_SIMD_KERNELS=0 turns the SIMD kernels off (the XNNPACK routes run instead), for before/after runs. */
export const simdKernelsWanted = (env: Record<string, string | undefined> = process.env) => settings.wasmSimdKernels(env);

/**
 * The pool for this wasm backend instance (one per backend memory), or null when the SIMD kernels are off
 * or the backend's memory cannot be reached.
 */
export function simdPool(wasmModule: unknown, threads: number): SimdPool | null {
  if (!simdKernelsWanted()) return null;
  const m = wasmModule as EmscriptenModule;
  const memory = m.wasmMemory ?? m.asm?.memory;
  if (!memory) return null;
  if (pool?.memory !== memory) pool = new SimdPool(memory, threads);
  return pool;
}
