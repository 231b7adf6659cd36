// Dense matrix product as wasm SIMD128 kernels on tfjs's heap (the dense layers' forward and both gradients).
//
// gemm_pack_b: B [K, N] (or, transposed, [N, K]) -> Bp [N/8][K][8], so that the product streams 8 columns of B as
//   one contiguous run. Units are 8-column blocks.
// gemm: C [M, N] = A · B from Bp, with A[i, k] at a[i*sa + k*sk] (sa = K, sk = 1 for A; sa = 1, sk = M for Aᵀ,
//   whose four rows of a tile are then neighbours in memory). The 4x8 register tile of the conv kernels, over
//   K in chunks of GEMM_KC so that a chunk of Bp (GEMM_KC*8 floats per column block) stays in L1 while the row
//   tiles of a unit reuse it; partial sums wait in C between chunks, so each output is one sequential sum over k
//   whatever the chunking or thread count. Units are groups of GEMM_ROWS rows. Needs N % 8 == 0.
#include "common.h"

#define GEMM_KC 256
#define GEMM_ROWS 16

__attribute__((export_name("gemm_pack_b"))) void gemm_pack_b(const float *b, float *bp, int K, int N, int transposed, int unit0, int unit1) {
  for (int nb = unit0; nb < unit1; nb++) {
    float *o = bp + (long)nb * K * 8;
    if (!transposed) {
      const float *src = b + nb * 8;
      for (int k = 0; k < K; k++, o += 8, src += N) wasm_v128_store(o, wasm_v128_load(src)), wasm_v128_store(o + 4, wasm_v128_load(src + 4));
    } else {
      const float *src = b + (long)nb * 8 * K;
      for (int k = 0; k < K; k++, o += 8)
        for (int j = 0; j < 8; j++) o[j] = src[(long)j * K + k];
    }
  }
}

__attribute__((export_name("gemm"))) void gemm(const float *a, const float *bp, float *c, int M, int N, int K, int sa, int sk, int unit0, int unit1) {
  const int nBlocks = N / 8;
  for (int g = unit0; g < unit1; g++) {
    const int i0 = g * GEMM_ROWS, i1 = min_i(M, i0 + GEMM_ROWS);
    for (int i = i0; i < i1; i++)
      for (int j = 0; j < N; j += 4) wasm_v128_store(c + (long)i * N + j, wasm_f32x4_splat(0.f));
    for (int kc = 0; kc < K; kc += GEMM_KC) {
      const int kn = min_i(K, kc + GEMM_KC) - kc;
      for (int nb = 0; nb < nBlocks; nb++) {
        const float *bq0 = bp + ((long)nb * K + kc) * 8;
        int i = i0;
        for (; i + 4 <= i1; i += 4) {
          float *o = c + (long)i * N + nb * 8;
          TILE_LOAD(o, N)
          const float *p0 = a + (long)i * sa + (long)kc * sk, *p1 = p0 + sa, *p2 = p1 + sa, *p3 = p2 + sa;
          const float *bq = bq0;
          for (int k = 0; k < kn; k++, p0 += sk, p1 += sk, p2 += sk, p3 += sk, bq += 8) {
            const v128_t d0 = wasm_v128_load(bq), d1 = wasm_v128_load(bq + 4);
            TILE_FMA(p0, p1, p2, p3)
          }
          TILE_STORE(o, N)
        }
        for (; i < i1; i++) {
          float *o = c + (long)i * N + nb * 8;
          v128_t a0 = wasm_v128_load(o), a1 = wasm_v128_load(o + 4);
          const float *p = a + (long)i * sa + (long)kc * sk;
          const float *bq = bq0;
          for (int k = 0; k < kn; k++, p += sk, bq += 8) {
            const v128_t s = wasm_v128_load32_splat(p);
            a0 = ADD(a0, MUL(s, wasm_v128_load(bq))), a1 = ADD(a1, MUL(s, wasm_v128_load(bq + 4)));
          }
          wasm_v128_store(o, a0), wasm_v128_store(o + 4, a1);
        }
      }
    }
  }
}
