// Input gradient of a strided convolution (the transposed conv) computed directly, as a wasm SIMD128 kernel on
// tfjs's heap (NHWC):
//
//   dx[n, h, w, ci] = sum over (i, j, co) with h = p*s + i - top, w = q*s + j - left of dy[n, p, q, co] * w[i, j, ci, co]
//
// For stride s > 1 only the taps with (h + top - i) % s == 0 (and likewise for columns) reach a pixel, so the
// output columns are walked by residue class r = w % s: within a class every pixel has the same taps and
// neighbouring pixels read neighbouring dy columns. Register tile: 4 pixels of one class x 8 input channels;
// the inner loop runs over CO with the filter transposed to wt[i, j, co, ci] (2 vector loads + 4 broadcasts
// per 32 multiply-adds). This replaces the sub-pixel decomposition for strides > 1, which multiplied by the
// zero taps of the padded phase filters and interleaved the phases afterwards.
// Work units are dx rows (n, h); each output is computed by one thread in a fixed order. Needs C % 8 == 0.
#include "common.h"

__attribute__((export_name("conv_transpose"))) void conv_transpose(const float *dy, const float *wt, float *dx, const float *zeros,
                                                                    int H, int W, int C, int Ho, int Wo, int CO, int kh, int kw,
                                                                    int s, int top, int left, int unit0, int unit1) {
  for (int u = unit0; u < unit1; u++) {
    const int n = u / H, h = u % H;
    float *xr = dx + (n * H + h) * W * C;
    for (int r = 0; r < s; r++) {
      const int A = (W - r + s - 1) / s; /* pixels r, r + s, ... < W */
      for (int c0 = 0; c0 < C; c0 += 8) {
        int a = 0;
        for (; a + 4 <= A; a += 4) {
          TILE_ZERO
          for (int i = 0; i < kh; i++) {
            const int pi = h + top - i;
            if (pi < 0 || pi % s != 0 || pi / s >= Ho) continue;
            const float *dr = dy + (n * Ho + pi / s) * Wo * CO;
            for (int j = 0; j < kw; j++) {
              const int qj = r + left - j;
              if (((qj % s) + s) % s != 0) continue;
              const int q0 = a + (qj >= 0 ? qj / s : -((-qj) / s));
              const float *p0 = (q0 >= 0 && q0 < Wo) ? dr + q0 * CO : zeros;
              const float *p1 = (q0 + 1 >= 0 && q0 + 1 < Wo) ? dr + (q0 + 1) * CO : zeros;
              const float *p2 = (q0 + 2 >= 0 && q0 + 2 < Wo) ? dr + (q0 + 2) * CO : zeros;
              const float *p3 = (q0 + 3 >= 0 && q0 + 3 < Wo) ? dr + (q0 + 3) * CO : zeros;
              const float *wr = wt + (i * kw + j) * CO * C + c0;
              for (int co = 0; co < CO; co++, wr += C) {
                const v128_t d0 = wasm_v128_load(wr), d1 = wasm_v128_load(wr + 4);
                TILE_FMA(p0 + co, p1 + co, p2 + co, p3 + co)
              }
            }
          }
          float *o = xr + (r + a * s) * C + c0;
          TILE_STORE(o, s * C)
        }
        for (; a < A; a++) {
          v128_t a0 = wasm_f32x4_splat(0.f), a1 = a0;
          for (int i = 0; i < kh; i++) {
            const int pi = h + top - i;
            if (pi < 0 || pi % s != 0 || pi / s >= Ho) continue;
            const float *dr = dy + (n * Ho + pi / s) * Wo * CO;
            for (int j = 0; j < kw; j++) {
              const int qj = r + left - j;
              if (((qj % s) + s) % s != 0) continue;
              const int q = a + (qj >= 0 ? qj / s : -((-qj) / s));
              if (q < 0 || q >= Wo) continue;
              const float *pq = dr + q * CO;
              const float *wr = wt + (i * kw + j) * CO * C + c0;
              for (int co = 0; co < CO; co++, wr += C) {
                const v128_t sv = wasm_v128_load32_splat(pq + co);
                a0 = ADD(a0, MUL(sv, wasm_v128_load(wr))), a1 = ADD(a1, MUL(sv, wasm_v128_load(wr + 4)));
              }
            }
          }
          float *o = xr + (r + a * s) * C + c0;
          wasm_v128_store(o, a0), wasm_v128_store(o + 4, a1);
        }
      }
    }
  }
}
