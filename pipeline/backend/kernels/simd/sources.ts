// The C sources of the wasm SIMD kernels and what they export; kernels-wasm.ts is built from them.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SIMD_KERNEL_SOURCES = ['filter_grad.c', 'conv2d.c', 'batchnorm.c', 'winograd43.c', 'conv_transpose.c', 'elementwise.c', 'gemm.c'] as const;
/** Included by the sources; part of the digest. */
export const SIMD_KERNEL_HEADERS = ['common.h'] as const;
export const SIMD_KERNEL_EXPORTS = ['filter_grad', 'conv2d', 'bn_col_sums', 'bn_grad_apply', 'winograd43_filter', 'winograd43_conv', 'winograd43_filter_grad', 'winograd43_filter_grad_out', 'conv_transpose', 'relu_grad', 'channel_affine', 'channel_affine_relu', 'maxpool2x2_grad', 'maxpool2x2', 'gemm_pack_b', 'gemm'] as const;

/** sha256 over the sources, read from the source tree (this file sits at pipeline/backend/kernels/simd or dist/...). */
export function simdSourceDigest(): string {
  const h = createHash('sha256');
  for (const s of [...SIMD_KERNEL_SOURCES, ...SIMD_KERNEL_HEADERS]) h.update(readFileSync(sourcePath(s)));
  return h.digest('hex');
}

export function sourcePath(name: string): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const root = here.includes('/dist/') ? here.slice(0, here.lastIndexOf('/dist/')) : here.slice(0, here.lastIndexOf('/pipeline/'));
  return `${root}/pipeline/backend/kernels/simd/${name}`;
}
