// Direct NHWC convolution (stride s, any padding, dilation 1) as a wasm SIMD128 kernel on tfjs's heap.
//
//   y[n, p, q, co] = sum_{i, j, ci} x[n, p*sh + i - top, q*sw + j - left, ci] * w[i, j, ci, co]
//
// Used for the forward conv and, through the phase decomposition in wasm-training-kernels.ts, for the input
// gradient. Register tile: 4 neighbouring output pixels x 8 output channels (8 accumulators); for a filter
// row i the (j, ci) pairs are contiguous in both x and w, so the inner loop is one run over kw*C values:
// 2 vector loads of w + 4 broadcasts of x per 32 multiply-adds, with no packing or im2col copy.
// Tiles that cross the left/right border read `zeros` (C zero floats) for the taps outside x; the last
// Wo % 4 pixels are done one at a time over their valid taps.
// Work units are output rows (n, p); each output is computed by one thread in a fixed order.
#include "common.h"

__attribute__((export_name("conv2d"))) void conv2d(const float *x, const float *w, float *y, const float *zeros,
                                                    int H, int W, int C, int Ho, int Wo, int CO, int kh, int kw,
                                                    int sh, int sw, int top, int left, int unit0, int unit1) {
  const int xs = sw * C;     /* x distance between neighbouring output pixels */
  const int rowK = kw * C;   /* (j, ci) pairs of one filter row */
  /* Output columns whose whole filter row lies inside x. */
  const int qIn0 = first_valid(sw, -left), qIn1 = end_valid(sw, kw - 1 - left, W, Wo);
  for (int u = unit0; u < unit1; u++) {
    const int n = u / Ho, p = u % Ho;
    const int rowOff = p * sh - top;
    const int ia = max_i(0, -rowOff), ie = min_i(kh, H - rowOff);
    float *yr = y + (n * Ho + p) * Wo * CO;
    for (int co0 = 0; co0 < CO; co0 += 8) {
      int q = 0;
      for (; q + 4 <= Wo; q += 4) {
        const int col = q * sw - left;
        TILE_ZERO
        if (q >= qIn0 && q + 4 <= qIn1) {
          for (int i = ia; i < ie; i++) {
            const float *xr = x + ((n * H + rowOff + i) * W + col) * C;
            const float *wr = w + i * rowK * CO + co0;
            for (int k = 0; k < rowK; k++, xr++, wr += CO) {
              const v128_t d0 = wasm_v128_load(wr), d1 = wasm_v128_load(wr + 4);
              TILE_FMA(xr, xr + xs, xr + 2 * xs, xr + 3 * xs)
            }
          }
        } else {
          /* A tile on the left/right border: taps outside x read from `zeros` instead. */
          for (int i = ia; i < ie; i++) {
            const float *xrow = x + (n * H + rowOff + i) * W * C;
            for (int j = 0; j < kw; j++) {
              const int c0 = col + j;
              const float *x0 = (c0 >= 0 && c0 < W) ? xrow + c0 * C : zeros;
              const float *x1 = (c0 + sw >= 0 && c0 + sw < W) ? xrow + (c0 + sw) * C : zeros;
              const float *x2 = (c0 + 2 * sw >= 0 && c0 + 2 * sw < W) ? xrow + (c0 + 2 * sw) * C : zeros;
              const float *x3 = (c0 + 3 * sw >= 0 && c0 + 3 * sw < W) ? xrow + (c0 + 3 * sw) * C : zeros;
              const float *wr = w + (i * kw + j) * C * CO + co0;
              for (int ci = 0; ci < C; ci++, wr += CO) {
                const v128_t d0 = wasm_v128_load(wr), d1 = wasm_v128_load(wr + 4);
                TILE_FMA(x0 + ci, x1 + ci, x2 + ci, x3 + ci)
              }
            }
          }
        }
        float *o = yr + q * CO + co0;
        TILE_STORE(o, CO)
      }
      for (; q < Wo; q++) {
        const int col = q * sw - left;
        const int ja = max_i(0, -col), je = min_i(kw, W - col);
        v128_t a0 = wasm_f32x4_splat(0.f), a1 = a0;
        for (int i = ia; i < ie; i++) {
          const float *xr = x + ((n * H + rowOff + i) * W + col + ja) * C;
          const float *wr = w + (i * kw + ja) * C * CO + co0;
          for (int k = ja * C; k < je * C; k++, xr++, wr += CO) {
            const v128_t s = wasm_v128_load32_splat(xr);
            a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(s, wasm_v128_load(wr)));
            a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(s, wasm_v128_load(wr + 4)));
          }
        }
        float *o = yr + q * CO + co0;
        wasm_v128_store(o, a0), wasm_v128_store(o + 4, a1);
      }
    }
  }
}
