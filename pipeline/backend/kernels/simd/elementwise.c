// Full-size elementwise passes of a training step as wasm SIMD128 kernels on tfjs's heap, split across threads.
//
// relu_grad: dx = dy where x > 0, else +0 (tfjs: dy * step(x), two passes and a temporary). Units are blocks
//   of RELU_BLOCK floats; the last unit also does the size % 4 tail.
// channel_affine: y = (x - m) * s + t per channel over x = [rows, C] (tf.batchNorm's per-channel affine map;
//   XNNPACK did it as two single-threaded depthwise convs). coef = [s | t | m], C floats each; units are rows.
//   Needs C % 4 == 0.
// channel_affine_relu: y = max((x - m) * s + t [+ res], 0), the same operations in the same order as
//   channel_affine, then tfjs's Add of a residual (res: a heap offset, 0 for none), then Relu: the forward of
//   BatchNorm -> (add) -> ReLU in one pass instead of three.
// maxpool2x2: MaxPool 2x2 stride 2 'valid', NHWC: each output is the window's first maximum by the same scan as
//   maxpool2x2_grad (strict '>' from -inf: tfjs cpu's rule, so an all-NaN window gives -inf and the forward agrees
//   with where the gradient goes). Units are output rows (b, yr).
// maxpool2x2_grad: MaxPoolGrad of a 2x2 stride-2 'valid' pool over NHWC x = [n, H, W, C], dy = [n, ho, wo, C]:
//   dy goes to the first maximum of each window (row-major scan, strict '>' from -inf, so a window of NaNs
//   gets nothing), exactly the tfjs cpu rule; every other element of dx is +0. Windows do not overlap, so each
//   dx element is written once and no fill pass is needed. Units are output rows (b, yr); the unit of a
//   batch's last output row also zeroes the input rows below it (odd H), and each unit its odd-W column.
#include "common.h"

#define RELU_BLOCK 16384

__attribute__((export_name("relu_grad"))) void relu_grad(const float *dy, const float *x, float *dx, int size, int unit0, int unit1) {
  const int end = min_i(size, unit1 * RELU_BLOCK);
  int i = unit0 * RELU_BLOCK;
  const v128_t z = wasm_f32x4_splat(0.f);
  for (; i + 4 <= end; i += 4)
    wasm_v128_store(dx + i, wasm_v128_and(wasm_v128_load(dy + i), wasm_f32x4_gt(wasm_v128_load(x + i), z)));
  for (; i < end; i++) dx[i] = x[i] > 0.f ? dy[i] : 0.f;
}

__attribute__((export_name("channel_affine"))) void channel_affine(const float *x, const float *coef, float *y, int C, int unit0, int unit1) {
  for (int r = unit0; r < unit1; r++) {
    const float *px = x + (long)r * C;
    float *py = y + (long)r * C;
    for (int c = 0; c < C; c += 4) {
      const v128_t v = SUB(wasm_v128_load(px + c), wasm_v128_load(coef + 2 * C + c));
      wasm_v128_store(py + c, ADD(MUL(v, wasm_v128_load(coef + c)), wasm_v128_load(coef + C + c)));
    }
  }
}

__attribute__((export_name("channel_affine_relu"))) void channel_affine_relu(const float *x, const float *coef, const float *res, float *y,
                                                                              int C, int unit0, int unit1) {
  const v128_t zero = wasm_f32x4_splat(0.f);
  for (int r = unit0; r < unit1; r++) {
    const float *px = x + (long)r * C, *pr = res ? res + (long)r * C : 0;
    float *py = y + (long)r * C;
    for (int c = 0; c < C; c += 4) {
      v128_t v = ADD(MUL(SUB(wasm_v128_load(px + c), wasm_v128_load(coef + 2 * C + c)), wasm_v128_load(coef + c)), wasm_v128_load(coef + C + c));
      if (pr) v = ADD(v, wasm_v128_load(pr + c));
      wasm_v128_store(py + c, wasm_f32x4_max(v, zero));
    }
  }
}

/* One step of the 2x2 windows' first-maximum scan (strict '>' from -inf, tfjs cpu's rule), shared by the forward
   and the gradient so that they agree: lanes where v beats the running maximum *m take v; returns those lanes. */
static inline v128_t scan_step(v128_t v, v128_t *m) {
  const v128_t g = wasm_f32x4_gt(v, *m);
  *m = wasm_v128_bitselect(v, *m, g);
  return g;
}

/* The same scan for one channel: the index (0..3) of the window's first maximum, -1 if nothing beats -inf. */
static inline int first_max4(float a, float b, float c, float d) {
  float m = -__builtin_inff();
  int p = -1;
  if (a > m) m = a, p = 0;
  if (b > m) m = b, p = 1;
  if (c > m) m = c, p = 2;
  if (d > m) p = 3;
  return p;
}

__attribute__((export_name("maxpool2x2_grad"))) void maxpool2x2_grad(const float *x, const float *dy, float *dx, int H, int W, int C, int ho, int wo,
                                                                      int unit0, int unit1) {
  const long row = (long)W * C;
  const int c4 = C & ~3;
  for (int u = unit0; u < unit1; u++) {
    const int b = u / ho, yr = u - b * ho;
    const float *x0 = x + ((long)b * H + 2 * yr) * row, *x1 = x0 + row;
    float *d0 = dx + ((long)b * H + 2 * yr) * row, *d1 = d0 + row;
    const float *g = dy + (long)u * wo * C;
    for (int yc = 0; yc < wo; yc++, g += C) {
      const long o0 = 2L * yc * C, o1 = o0 + C;
      int c = 0;
      for (; c < c4; c += 4) {
        /* g_i: candidate i beat the running maximum; the winner is the last candidate that did. */
        v128_t m = wasm_f32x4_splat(-__builtin_inff());
        const v128_t g0 = scan_step(wasm_v128_load(x0 + o0 + c), &m), g1 = scan_step(wasm_v128_load(x0 + o1 + c), &m);
        const v128_t g2 = scan_step(wasm_v128_load(x1 + o0 + c), &m), g3 = scan_step(wasm_v128_load(x1 + o1 + c), &m);
        const v128_t later2 = g3, later1 = wasm_v128_or(g2, later2), later0 = wasm_v128_or(g1, later1);
        const v128_t d = wasm_v128_load(g + c);
        wasm_v128_store(d0 + o0 + c, wasm_v128_and(d, wasm_v128_andnot(g0, later0)));
        wasm_v128_store(d0 + o1 + c, wasm_v128_and(d, wasm_v128_andnot(g1, later1)));
        wasm_v128_store(d1 + o0 + c, wasm_v128_and(d, wasm_v128_andnot(g2, later2)));
        wasm_v128_store(d1 + o1 + c, wasm_v128_and(d, g3));
      }
      for (; c < C; c++) {
        const int p = first_max4(x0[o0 + c], x0[o1 + c], x1[o0 + c], x1[o1 + c]);
        d0[o0 + c] = p == 0 ? g[c] : 0.f;
        d0[o1 + c] = p == 1 ? g[c] : 0.f;
        d1[o0 + c] = p == 2 ? g[c] : 0.f;
        d1[o1 + c] = p == 3 ? g[c] : 0.f;
      }
    }
    /* Columns past the last window (odd W) in both input rows. */
    for (long i = 2L * wo * C; i < row; i++) d0[i] = 0.f, d1[i] = 0.f;
    /* Rows past the last window (odd H), once per batch. */
    if (yr == ho - 1)
      for (long i = 2L * ho * row; i < (long)H * row; i++) dx[(long)b * H * row + i] = 0.f;
  }
}

__attribute__((export_name("maxpool2x2"))) void maxpool2x2(const float *x, float *y, int H, int W, int C, int ho, int wo, int unit0, int unit1) {
  const long row = (long)W * C;
  const int c4 = C & ~3;
  for (int u = unit0; u < unit1; u++) {
    const float *x0 = x + ((long)(u / ho) * H + 2 * (u % ho)) * row, *x1 = x0 + row;
    float *o = y + (long)u * wo * C;
    for (int yc = 0; yc < wo; yc++, o += C) {
      const long o0 = 2L * yc * C, o1 = o0 + C;
      int c = 0;
      for (; c < c4; c += 4) {
        v128_t m = wasm_f32x4_splat(-__builtin_inff());
        scan_step(wasm_v128_load(x0 + o0 + c), &m), scan_step(wasm_v128_load(x0 + o1 + c), &m);
        scan_step(wasm_v128_load(x1 + o0 + c), &m), scan_step(wasm_v128_load(x1 + o1 + c), &m);
        wasm_v128_store(o + c, m);
      }
      for (; c < C; c++) {
        const float a = x0[o0 + c], b = x0[o1 + c], e = x1[o0 + c], f = x1[o1 + c];
        const int p = first_max4(a, b, e, f);
        o[c] = p == 0 ? a : p == 1 ? b : p == 2 ? e : p == 3 ? f : -__builtin_inff();
      }
    }
  }
}
