// Conv2D filter gradient for NHWC tensors, as a wasm SIMD128 kernel that reads tfjs-backend-wasm's heap in place.
//
//   dW[i, j, ci, co] = sum_{n, p, q} x[n, p*sh + i - top, q*sw + j - left, ci] * dy[n, p, q, co]
//
// Why it exists: XNNPACK can only do this as a GEMM whose "weights" operand is x or dy (millions of elements),
// which tfjs transposes and XNNPACK packs on every call; that copying cost more than the arithmetic. Here both
// tensors are read as they are: for a block of output rows (small enough to stay in L1), every work unit (one
// filter tap, 4 input channels, 8 output channels) keeps its 4x8 accumulator tile in registers and streams
// the block once, so the inner loop is 2 vector loads + 4 broadcasts per 32 multiply-adds.
//
// Work units are split between threads by range (unit0, unit1); a unit's sum runs in the same order whatever
// the split, so results do not depend on the thread count. No linear memory of its own: no stack, no data.
#include "common.h"

#define CB 4 /* input channels per unit (1 when C % 4 != 0) */
#define OB 8 /* output channels per unit */
#define OB1 32 /* output channels per unit with 1 input channel, when CO % 32 == 0: 8 independent sums instead of 2 (a
                  first layer's 1->32 gradient was bound by the latency of two accumulator chains); each output's
                  sum runs in the same order either way */

__attribute__((export_name("filter_grad"))) void filter_grad(const float *x, const float *dy, float *dw, int N,
                                                              int H, int W, int C, int Ho, int Wo, int CO, int kh,
                                                              int kw, int sh, int sw, int top, int left,
                                                              int unit0, int unit1) {
  const int cb = (C % CB == 0) ? CB : 1;
  const int ob = (cb == 1 && CO % OB1 == 0) ? OB1 : OB;
  const int cBlocks = C / cb;
  const int oBlocks = CO / ob;
  const int unitsPerTap = cBlocks * oBlocks;
  // Output rows per block: about 24 KiB of x and dy, so a block stays in L1 while all units stream it.
  const int rowBytes = (Wo * CO + sh * W * C) * 4;
  const int pb = max_i(1, 24576 / rowBytes);

  for (int u = unit0; u < unit1; u++) {
    const int tap = u / unitsPerTap, r = u % unitsPerTap;
    float *o = dw + (tap * C + (r / oBlocks) * cb) * CO + (r % oBlocks) * ob;
    for (int c = 0; c < cb; c++)
      for (int k = 0; k < ob; k += 4) wasm_v128_store(o + c * CO + k, wasm_f32x4_splat(0.f));
  }
  const int xStep = sw * C;
  for (int n = 0; n < N; n++) {
    for (int p0 = 0; p0 < Ho; p0 += pb) {
      const int p1 = min_i(Ho, p0 + pb);
      for (int u = unit0; u < unit1; u++) {
        const int tap = u / unitsPerTap, r = u % unitsPerTap;
        const int i = tap / kw, j = tap % kw;
        const int c0 = (r / oBlocks) * cb, co0 = (r % oBlocks) * ob;
        const int rowOff = i - top, colOff = j - left;
        const int pa = max_i(p0, first_valid(sh, rowOff)), pe = min_i(p1, end_valid(sh, rowOff, H, Ho));
        const int qa = first_valid(sw, colOff), qe = end_valid(sw, colOff, W, Wo);
        if (pa >= pe || qa >= qe) continue;
        float *o = dw + (tap * C + c0) * CO + co0;
        if (cb == CB) {
          TILE_LOAD(o, CO)
          for (int p = pa; p < pe; p++) {
            const float *xr = x + ((n * H + p * sh + rowOff) * W + qa * sw + colOff) * C + c0;
            const float *dr = dy + ((n * Ho + p) * Wo + qa) * CO + co0;
            for (int q = qa; q < qe; q++, xr += xStep, dr += CO) {
              const v128_t d0 = wasm_v128_load(dr), d1 = wasm_v128_load(dr + 4);
              TILE_FMA(xr, xr + 1, xr + 2, xr + 3)
            }
          }
          TILE_STORE(o, CO)
        } else if (ob == OB1) {
          v128_t a0 = wasm_v128_load(o), a1 = wasm_v128_load(o + 4), a2 = wasm_v128_load(o + 8), a3 = wasm_v128_load(o + 12);
          v128_t a4 = wasm_v128_load(o + 16), a5 = wasm_v128_load(o + 20), a6 = wasm_v128_load(o + 24), a7 = wasm_v128_load(o + 28);
          for (int p = pa; p < pe; p++) {
            const float *xr = x + ((n * H + p * sh + rowOff) * W + qa * sw + colOff) * C + c0;
            const float *dr = dy + ((n * Ho + p) * Wo + qa) * CO + co0;
            for (int q = qa; q < qe; q++, xr += xStep, dr += CO) {
              const v128_t s = wasm_v128_load32_splat(xr);
              a0 = ADD(a0, MUL(s, wasm_v128_load(dr))), a1 = ADD(a1, MUL(s, wasm_v128_load(dr + 4)));
              a2 = ADD(a2, MUL(s, wasm_v128_load(dr + 8))), a3 = ADD(a3, MUL(s, wasm_v128_load(dr + 12)));
              a4 = ADD(a4, MUL(s, wasm_v128_load(dr + 16))), a5 = ADD(a5, MUL(s, wasm_v128_load(dr + 20)));
              a6 = ADD(a6, MUL(s, wasm_v128_load(dr + 24))), a7 = ADD(a7, MUL(s, wasm_v128_load(dr + 28)));
            }
          }
          wasm_v128_store(o, a0), wasm_v128_store(o + 4, a1), wasm_v128_store(o + 8, a2), wasm_v128_store(o + 12, a3);
          wasm_v128_store(o + 16, a4), wasm_v128_store(o + 20, a5), wasm_v128_store(o + 24, a6), wasm_v128_store(o + 28, a7);
        } else {
          v128_t a0 = wasm_v128_load(o), a1 = wasm_v128_load(o + 4);
          for (int p = pa; p < pe; p++) {
            const float *xr = x + ((n * H + p * sh + rowOff) * W + qa * sw + colOff) * C + c0;
            const float *dr = dy + ((n * Ho + p) * Wo + qa) * CO + co0;
            for (int q = qa; q < qe; q++, xr += xStep, dr += CO) {
              const v128_t s = wasm_v128_load32_splat(xr);
              a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(s, wasm_v128_load(dr)));
              a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(s, wasm_v128_load(dr + 4)));
            }
          }
          wasm_v128_store(o, a0), wasm_v128_store(o + 4, a1);
        }
      }
    }
  }
}
