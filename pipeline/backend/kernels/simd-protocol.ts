// Shared-memory protocol between SimdPool (simd-pool.ts) and its workers (simd-worker.ts).
import { SIMD_KERNEL_EXPORTS } from './simd/sources.js';

/** The kernels' exports, by index in the control block. */
export const SIMD_FUNCTIONS = SIMD_KERNEL_EXPORTS;
export type SimdFunction = (typeof SIMD_FUNCTIONS)[number];

/** Int32 slots of the control block. */
export const CTL = { GEN: 0, NEXT: 1, DONE: 2, CHUNKS: 3, UNITS: 4, FN: 5, NARGS: 6, ARGS: 8, MAX_ARGS: 24, SIZE: 32 } as const;

/**
 * Claims chunks of the current call until none are left, running each as fn(...args, unit0, unit1, chunk)
 * (chunk < threads: a kernel with scratch space uses its own slice of it).
 * The parameters are read after a successful claim, so they are always those of the call the chunk
 * belongs to.
 */
export function drainChunks(c: Int32Array, exports: Record<string, (...a: number[]) => void>): void {
  for (;;) {
    const k = Atomics.add(c, CTL.NEXT, 1);
    const chunks = Atomics.load(c, CTL.CHUNKS);
    if (k >= chunks) return;
    const units = Atomics.load(c, CTL.UNITS);
    const args: number[] = [];
    const n = Atomics.load(c, CTL.NARGS);
    for (let i = 0; i < n; i++) args.push(Atomics.load(c, CTL.ARGS + i));
    const fn = exports[SIMD_FUNCTIONS[Atomics.load(c, CTL.FN)]!]!;
    fn(...args, Math.floor((k * units) / chunks), Math.floor(((k + 1) * units) / chunks), k);
    Atomics.add(c, CTL.DONE, 1);
    Atomics.notify(c, CTL.DONE);
  }
}
