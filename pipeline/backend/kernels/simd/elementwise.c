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
