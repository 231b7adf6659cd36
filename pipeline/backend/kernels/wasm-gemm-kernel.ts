// BatchMatMul of one float32 matrix pair with a transposed operand on the SIMD GEMM (simd/gemm.c): B packed into
// 8-column runs, then the 4x8 register tile over K in L1-sized chunks; a transposed A is read in place (strides),
// a transposed B while packing. These are the dense layers' gradients, which tfjs ran as a transpose (a copy of
// the operand) and then XNNPACK. Measured on cnn28's 3136->128 layer, one thread, alternating in one process:
// dX = dY·Wᵀ 14.9 -> 13.7 ms, dW = Xᵀ·dY 13.9 -> 9.9 ms; the plain forward product is not routed here because
// XNNPACK's packed GEMM was a little faster on it (10.0 against 10.6 ms).
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { simdPool } from './simd-pool.js';
import { heapOffset } from './wasm-heap.js';
import type { TI } from './wasm-kernel-support.js';

/** Products with fewer multiply-adds stay on XNNPACK (the losses' small matrices: packing would dominate). */
export const SIMD_GEMM_MIN_MACS = 1 << 22;
/** Rows per work unit (GEMM_ROWS in gemm.c). */
const GEMM_ROWS = 16;

/** C = op(A)·op(B), at least one operand transposed, for single matrices (rank 2, or batch dimensions of size 1); null where the kernel does not apply. */
export function simdGemm(backend: BackendWasm, a: TI, b: TI, ta: boolean, tb: boolean): TI | null {
  const single = (t: TI) => t.shape.length >= 2 && t.shape.slice(0, -2).every((d) => d === 1);
  if ((!ta && !tb) || a.dtype !== 'float32' || b.dtype !== 'float32' || !single(a) || !single(b)) return null;
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const [M, K] = ta ? [ac, ar] : [ar, ac];
  const [kb, N] = tb ? [bc, br] : [br, bc];
  if (kb !== K || N % 8 !== 0 || M * K * N < SIMD_GEMM_MIN_MACS) return null;
  const pool = simdPool(backend.wasm, getThreadsCount());
  if (!pool) return null;
  const packed = backend.makeOutput([K * N], 'float32');
  pool.run('gemm_pack_b', [heapOffset(backend, b), heapOffset(backend, packed), K, N, tb ? 1 : 0], N / 8);
  // tfjs's BatchMatMul output: the longer operand's batch dimensions (all 1 here), then [M, N].
  const batch = (a.shape.length >= b.shape.length ? a : b).shape.slice(0, -2);
  const out = backend.makeOutput([...batch, M, N], 'float32');
  const [sa, sk] = ta ? [1, M] : [K, 1];
  pool.run('gemm', [heapOffset(backend, a), heapOffset(backend, packed), heapOffset(backend, out), M, N, K, sa, sk], Math.ceil(M / GEMM_ROWS));
  backend.disposeData(packed.dataId);
  return out;
}
