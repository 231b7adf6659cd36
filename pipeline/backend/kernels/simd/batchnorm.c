// Training-mode BatchNorm passes as wasm SIMD128 kernels on tfjs's heap; x is [rows, C] (NHWC flattened).
//
// bn_col_sums: per-channel sums over a fixed part of the rows, for the statistics (mode 0: sum x, sum x^2) and
// the gradient (mode 1: sum dy, sum dy * (x - mean)). Each part is summed in float32 over 32-row runs, then in
// float64; the caller adds the parts in a fixed order, so the result does not depend on the thread count.
// bn_grad_apply: dx = A*dy + B*(x - mean) + D with per-channel A, B, D (the whole BN input gradient in one pass).
// Needs C % 8 == 0 (8 channels per block: 2 float32 + 4 float64 vectors of accumulators per sum).
#include "common.h"

#define RUN 32


/* partial[part][0..C) = first sums, partial[part][C..2C) = second sums (float64). Runs of RUN rows are the outer
   loop and channel blocks the inner one, so a part streams from memory once (a run of all three inputs stays in L1
   while its channel blocks are summed); the float64 sums wait in `partial` between runs. Per channel the additions
   are the same, in the same order, as summing each channel block over the whole part in turn. */
__attribute__((export_name("bn_col_sums"))) void bn_col_sums(const float *a, const float *b, const float *mean,
                                                              const float *mask, double *partial, int rows, int C,
                                                              int mode, int parts, int unit0, int unit1) {
  const v128_t zero = wasm_f32x4_splat(0.f);
  for (int k = unit0; k < unit1; k++) {
    const int r0 = (int)((long long)k * rows / parts), r1 = (int)((long long)(k + 1) * rows / parts);
    double *out = partial + (long)k * 2 * C;
    for (int c = 0; c < 2 * C; c += 2) wasm_v128_store(out + c, wasm_f64x2_splat(0.0));
    for (int r = r0; r < r1; r += RUN) {
      const int re = min_i(r1, r + RUN);
      for (int c = 0; c < C; c += 8) {
        v128_t m0 = zero, m1 = zero;
        if (mode == 1) m0 = wasm_v128_load(mean + c), m1 = wasm_v128_load(mean + c + 4);
        v128_t f10 = zero, f11 = zero, f20 = zero, f21 = zero;
        const float *pa = a + (long)r * C + c;
        if (mode == 0) {
          for (int i = r; i < re; i++, pa += C) {
            const v128_t v0 = wasm_v128_load(pa), v1 = wasm_v128_load(pa + 4);
            f10 = wasm_f32x4_add(f10, v0), f11 = wasm_f32x4_add(f11, v1);
            f20 = wasm_f32x4_add(f20, wasm_f32x4_mul(v0, v0)), f21 = wasm_f32x4_add(f21, wasm_f32x4_mul(v1, v1));
          }
        } else if (!mask) {
          const float *pb = b + (long)r * C + c;
          for (int i = r; i < re; i++, pa += C, pb += C) {
            const v128_t v0 = wasm_v128_load(pa), v1 = wasm_v128_load(pa + 4);
            const v128_t x0 = wasm_f32x4_sub(wasm_v128_load(pb), m0), x1 = wasm_f32x4_sub(wasm_v128_load(pb + 4), m1);
            f10 = wasm_f32x4_add(f10, v0), f11 = wasm_f32x4_add(f11, v1);
            f20 = wasm_f32x4_add(f20, wasm_f32x4_mul(v0, x0)), f21 = wasm_f32x4_add(f21, wasm_f32x4_mul(v1, x1));
          }
        } else {
          const float *pb = b + (long)r * C + c, *pm = mask + (long)r * C + c;
          for (int i = r; i < re; i++, pa += C, pb += C, pm += C) {
            const v128_t v0 = wasm_v128_and(wasm_v128_load(pa), wasm_f32x4_gt(wasm_v128_load(pm), zero));
            const v128_t v1 = wasm_v128_and(wasm_v128_load(pa + 4), wasm_f32x4_gt(wasm_v128_load(pm + 4), zero));
            const v128_t x0 = wasm_f32x4_sub(wasm_v128_load(pb), m0), x1 = wasm_f32x4_sub(wasm_v128_load(pb + 4), m1);
            f10 = wasm_f32x4_add(f10, v0), f11 = wasm_f32x4_add(f11, v1);
            f20 = wasm_f32x4_add(f20, wasm_f32x4_mul(v0, x0)), f21 = wasm_f32x4_add(f21, wasm_f32x4_mul(v1, x1));
          }
        }
        double *o1 = out + c, *o2 = out + C + c;
        wasm_v128_store(o1, wasm_f64x2_add(wasm_v128_load(o1), wasm_f64x2_promote_low_f32x4(f10)));
        wasm_v128_store(o1 + 2, wasm_f64x2_add(wasm_v128_load(o1 + 2), wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(f10, f10, 2, 3, 0, 1))));
        wasm_v128_store(o1 + 4, wasm_f64x2_add(wasm_v128_load(o1 + 4), wasm_f64x2_promote_low_f32x4(f11)));
        wasm_v128_store(o1 + 6, wasm_f64x2_add(wasm_v128_load(o1 + 6), wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(f11, f11, 2, 3, 0, 1))));
        wasm_v128_store(o2, wasm_f64x2_add(wasm_v128_load(o2), wasm_f64x2_promote_low_f32x4(f20)));
        wasm_v128_store(o2 + 2, wasm_f64x2_add(wasm_v128_load(o2 + 2), wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(f20, f20, 2, 3, 0, 1))));
        wasm_v128_store(o2 + 4, wasm_f64x2_add(wasm_v128_load(o2 + 4), wasm_f64x2_promote_low_f32x4(f21)));
        wasm_v128_store(o2 + 6, wasm_f64x2_add(wasm_v128_load(o2 + 6), wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(f21, f21, 2, 3, 0, 1))));
      }
    }
  }
}

/* coef = [A | B | D | mean], C floats each; units are rows (row-major, so x, dy and dx stream once). */
__attribute__((export_name("bn_grad_apply"))) void bn_grad_apply(const float *dy, const float *x, const float *mask,
                                                                  const float *coef, float *dx, int C, int unit0, int unit1) {
  const v128_t zero = wasm_f32x4_splat(0.f);
  for (int r = unit0; r < unit1; r++) {
    const float *pd = dy + (long)r * C, *px = x + (long)r * C, *pm = mask ? mask + (long)r * C : 0;
    float *po = dx + (long)r * C;
    for (int c = 0; c < C; c += 4) {
      v128_t d = wasm_v128_load(pd + c);
      if (pm) d = wasm_v128_and(d, wasm_f32x4_gt(wasm_v128_load(pm + c), zero));
      const v128_t xc = wasm_f32x4_sub(wasm_v128_load(px + c), wasm_v128_load(coef + 3 * C + c));
      const v128_t t = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(coef + c), d), wasm_f32x4_mul(wasm_v128_load(coef + C + c), xc));
      wasm_v128_store(po + c, wasm_f32x4_add(t, wasm_v128_load(coef + 2 * C + c)));
    }
  }
}
