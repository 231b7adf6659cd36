// 3x3 stride-1 convolution by Winograd F(4x4, 3x3) as a wasm SIMD128 kernel on tfjs's heap (NHWC).
//
// Y = A^T [(G g G^T) .* (B^T d B)] A for 6x6 input patches and 4x4 output tiles: 36 products per tile and
// channel pair instead of 144, i.e. 4x fewer multiply-adds than the direct conv (F(2x2, 3x3): 2.25x). A unit
// is (n, a group of tile rows holding about 16 tiles), whose input transforms go to `scratch` (36 planes, each
// padded by a cache line), then for each 4-tile group and 8 output channels 36 small GEMMs and the output
// transform straight into y. Also the filter gradient (winograd43_filter_grad, below). Needs C % 4 == 0,
// CO % 8 == 0.
// Matrices (Lavin & Gray 2016, points 0, +-1, +-2):
//   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
//   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
#include "common.h"

#define TB 16 /* tiles per block */

#define K(v) wasm_f32x4_splat(v)

/* 6 values -> B^T applied. */
#define BT6(d0, d1, d2, d3, d4, d5, r)                                               \
  {                                                                                  \
    r[0] = ADD(SUB(MUL(K(4.f), d0), MUL(K(5.f), d2)), d4);                           \
    r[1] = ADD(SUB(d3, MUL(K(4.f), ADD(d1, d2))), d4);                               \
    r[2] = ADD(SUB(MUL(K(4.f), SUB(d1, d2)), d3), d4);                               \
    r[3] = ADD(SUB(MUL(K(2.f), SUB(d3, d1)), d2), d4);                               \
    r[4] = ADD(SUB(MUL(K(2.f), SUB(d1, d3)), d2), d4);                               \
    r[5] = ADD(SUB(MUL(K(4.f), d1), MUL(K(5.f), d3)), d5);                           \
  }

/* U[xi][c][co] = (G g G^T)[xi] for g = w[:, :, c, co], 4 output channels per vector. */
__attribute__((export_name("winograd43_filter"))) void winograd43_filter(const float *w, float *U, int C, int CO) {
  for (int c = 0; c < C; c++) {
    for (int co = 0; co < CO; co += 4) {
      v128_t g[3][3], t[6][3];
      _Pragma("clang loop unroll(full)")
      for (int i = 0; i < 3; i++)
        _Pragma("clang loop unroll(full)")
        for (int j = 0; j < 3; j++) g[i][j] = wasm_v128_load(w + ((i * 3 + j) * C + c) * CO + co);
      _Pragma("clang loop unroll(full)")
      for (int j = 0; j < 3; j++) {
        t[0][j] = MUL(K(0.25f), g[0][j]);
        t[1][j] = MUL(K(-1.f / 6), ADD(ADD(g[0][j], g[1][j]), g[2][j]));
        t[2][j] = MUL(K(-1.f / 6), ADD(SUB(g[0][j], g[1][j]), g[2][j]));
        t[3][j] = ADD(ADD(MUL(K(1.f / 24), g[0][j]), MUL(K(1.f / 12), g[1][j])), MUL(K(1.f / 6), g[2][j]));
        t[4][j] = ADD(SUB(MUL(K(1.f / 24), g[0][j]), MUL(K(1.f / 12), g[1][j])), MUL(K(1.f / 6), g[2][j]));
        t[5][j] = g[2][j];
      }
      _Pragma("clang loop unroll(full)")
      for (int i = 0; i < 6; i++) {
        const v128_t a = t[i][0], b = t[i][1], d = t[i][2];
        const v128_t u[6] = {MUL(K(0.25f), a),
                             MUL(K(-1.f / 6), ADD(ADD(a, b), d)),
                             MUL(K(-1.f / 6), ADD(SUB(a, b), d)),
                             ADD(ADD(MUL(K(1.f / 24), a), MUL(K(1.f / 12), b)), MUL(K(1.f / 6), d)),
                             ADD(SUB(MUL(K(1.f / 24), a), MUL(K(1.f / 12), b)), MUL(K(1.f / 6), d)),
                             d};
        _Pragma("clang loop unroll(full)")
        for (int j = 0; j < 6; j++) wasm_v128_store(U + ((i * 6 + j) * C + c) * CO + co, u[j]);
      }
    }
  }
}

/* B^T d B on 4 channels of the 6x6 patch at (r0, c0) (zeros outside x) into V[xi * vStride]. Column by column,
 * so that only 6 loaded vectors are live at a time; interior patches skip the 36 bounds checks. */
static inline void input_tile(const float *x, int H, int W, int C, int n, int r0, int c0, int c, float *V, int vStride) {
  v128_t t[6][6];
  const int inside = r0 >= 0 && r0 + 6 <= H && c0 >= 0 && c0 + 6 <= W;
  const float *p = x + ((n * H + r0) * W + c0) * C + c;
  _Pragma("clang loop unroll(full)")
  for (int k = 0; k < 6; k++) {
    const int col = c0 + k;
    v128_t d[6];
    if (inside) {
      _Pragma("clang loop unroll(full)")
      for (int r = 0; r < 6; r++) d[r] = wasm_v128_load(p + (r * W + k) * C);
    } else {
      _Pragma("clang loop unroll(full)")
      for (int r = 0; r < 6; r++) {
        const int row = r0 + r;
        d[r] = (row >= 0 && row < H && col >= 0 && col < W) ? wasm_v128_load(x + ((n * H + row) * W + col) * C + c) : K(0.f);
      }
    }
    v128_t r6[6];
    BT6(d[0], d[1], d[2], d[3], d[4], d[5], r6)
    _Pragma("clang loop unroll(full)")
    for (int i = 0; i < 6; i++) t[i][k] = r6[i];
  }
  _Pragma("clang loop unroll(full)")
  for (int i = 0; i < 6; i++) {
    v128_t r6[6];
    BT6(t[i][0], t[i][1], t[i][2], t[i][3], t[i][4], t[i][5], r6)
    _Pragma("clang loop unroll(full)")
    for (int j = 0; j < 6; j++) wasm_v128_store(V + (i * 6 + j) * vStride, r6[j]);
  }
}

/* One output row of A^T m A: 4 values from 6, stored where the columns exist. */
static inline __attribute__((always_inline)) void output_row(float *out, int cols, int CO, v128_t s0, v128_t s1, v128_t s2,
                                                             v128_t s3, v128_t s4, v128_t s5) {
  const v128_t a = ADD(s1, s2), b = SUB(s1, s2), c = ADD(s3, s4), d = SUB(s3, s4);
  wasm_v128_store(out, ADD(ADD(s0, a), c));
  if (cols > 1) wasm_v128_store(out + CO, ADD(b, MUL(K(2.f), d)));
  if (cols > 2) wasm_v128_store(out + 2 * CO, ADD(a, MUL(K(4.f), c)));
  if (cols > 3) wasm_v128_store(out + 3 * CO, ADD(ADD(b, MUL(K(8.f), d)), s5));
}

/* A^T m A for one tile and 4 output channels (m: 36 vectors, 32 floats apart in M); valid part only. */
static inline __attribute__((always_inline)) void output_tile(const float *m, float *y, int Ho, int Wo, int CO, int n, int p0,
                                                              int q0, int co) {
  v128_t r0[6], r1[6], r2[6], r3[6];
  _Pragma("clang loop unroll(full)")
  for (int j = 0; j < 6; j++) {
    const v128_t m0 = wasm_v128_load(m + (0 * 6 + j) * 32), m1 = wasm_v128_load(m + (1 * 6 + j) * 32);
    const v128_t m2 = wasm_v128_load(m + (2 * 6 + j) * 32), m3 = wasm_v128_load(m + (3 * 6 + j) * 32);
    const v128_t m4 = wasm_v128_load(m + (4 * 6 + j) * 32), m5 = wasm_v128_load(m + (5 * 6 + j) * 32);
    const v128_t a = ADD(m1, m2), b = SUB(m1, m2), c = ADD(m3, m4), d = SUB(m3, m4);
    r0[j] = ADD(ADD(m0, a), c);
    r1[j] = ADD(b, MUL(K(2.f), d));
    r2[j] = ADD(a, MUL(K(4.f), c));
    r3[j] = ADD(ADD(b, MUL(K(8.f), d)), m5);
  }
  const int cols = Wo - q0;
  float *out = y + ((n * Ho + p0) * Wo + q0) * CO + co;
  output_row(out, cols, CO, r0[0], r0[1], r0[2], r0[3], r0[4], r0[5]);
  if (p0 + 1 < Ho) output_row(out + Wo * CO, cols, CO, r1[0], r1[1], r1[2], r1[3], r1[4], r1[5]);
  if (p0 + 2 < Ho) output_row(out + 2 * Wo * CO, cols, CO, r2[0], r2[1], r2[2], r2[3], r2[4], r2[5]);
  if (p0 + 3 < Ho) output_row(out + 3 * Wo * CO, cols, CO, r3[0], r3[1], r3[2], r3[3], r3[4], r3[5]);
}

/* Units: (n, group of `rows` tile rows). */
__attribute__((export_name("winograd43_conv"))) void winograd43_conv(const float *x, const float *U, float *y, float *scratch,
                                                                      int H, int W, int C, int Ho, int Wo, int CO, int top,
                                                                      int left, int scratchFloats, int unit0, int unit1,
                                                                      int chunk) {
  const int TY = (Ho + 3) / 4, TX = (Wo + 3) / 4;
  const int rows = max_i(1, TB / TX), groups = (TY + rows - 1) / rows;
  const int VS = TB * C + 16;
  float *V = scratch + chunk * scratchFloats; /* [36][VS] */
  float *M = V + 36 * VS;                     /* [36][4 tiles][8] */
  for (int u = unit0; u < unit1; u++) {
    const int n = u / groups, ty0 = (u % groups) * rows;
    const int tiles = min_i(TY - ty0, rows) * TX;
    for (int tb = 0; tb < tiles; tb += TB) {
      const int nt = min_i(TB, tiles - tb);
      for (int t = 0; t < nt; t++) {
        const int ty = ty0 + (tb + t) / TX, tx = (tb + t) % TX;
        for (int c = 0; c < C; c += 4) input_tile(x, H, W, C, n, 4 * ty - top, 4 * tx - left, c, V + t * C + c, VS);
      }
      for (int co0 = 0; co0 < CO; co0 += 8) {
        for (int t = 0; t < nt; t += 4) {
          const int g = min_i(4, nt - t);
          for (int xi = 0; xi < 36; xi++) {
            const float *v = V + xi * VS + t * C;
            const float *wr = U + xi * C * CO + co0;
            float *m = M + xi * 32;
            if (g == 4) {
              TILE_ZERO
              for (int c = 0; c < C; c++, v++, wr += CO) {
                const v128_t d0 = wasm_v128_load(wr), d1 = wasm_v128_load(wr + 4);
                TILE_FMA(v, v + C, v + 2 * C, v + 3 * C)
              }
              TILE_STORE(m, 8)
            } else {
              for (int k = 0; k < g; k++) {
                v128_t a0 = K(0.f), a1 = a0;
                const float *vk = v + k * C, *wk = wr;
                for (int c = 0; c < C; c++, wk += CO) {
                  const v128_t s = wasm_v128_load32_splat(vk + c);
                  a0 = ADD(a0, MUL(s, wasm_v128_load(wk))), a1 = ADD(a1, MUL(s, wasm_v128_load(wk + 4)));
                }
                wasm_v128_store(m + k * 8, a0), wasm_v128_store(m + k * 8 + 4, a1);
              }
            }
          }
          for (int k = 0; k < g; k++) {
            const int ty = ty0 + (tb + t + k) / TX, tx = (tb + t + k) % TX;
            output_tile(M + k * 8, y, Ho, Wo, CO, n, 4 * ty, 4 * tx, co0);
            output_tile(M + k * 8 + 4, y, Ho, Wo, CO, n, 4 * ty, 4 * tx, co0 + 4);
          }
        }
      }
    }
  }
}

/*
 * Filter gradient by F(4x4, 3x3): with M = U .* V per tile (U = G g G^T, V = B^T d B) and y = A^T M A,
 *   dU[xi] = sum over tiles of V[xi]^T (A dY A^T)[xi],   dW = G^T dU G
 * 36 products per 4x4 dy tile instead of 16 per 2x2 with F(2x2, 3x3) (the kernel this replaced): 1.8x fewer
 * multiply-adds, 1.4-1.5x faster on the ResNet-32 layers (one thread).
 * A block is GB consecutive tiles of the unit's images (across image boundaries, so 8x8 layers with 4 tiles
 * per image still fill it); their input and gradient transforms go to `scratch` (36 planes each, padded by a
 * cache line), then each (xi, 4 input channels, 8 output channels) streams the block with a 4x8 accumulator
 * tile. Units are `parts` fixed slices of the batch, each into its own partials + k * partStride ([36][C][CO]);
 * winograd43_filter_grad_out adds them in order, so results do not depend on the thread count.
 */
#define GB 32 /* tiles per block of the filter gradient */

/* A y for a 4-vector y (A = (A^T)^T, 6x4). */
#define A4(y0, y1, y2, y3, r)                                                      \
  {                                                                                \
    const v128_t e = ADD(y0, y2), o = ADD(y1, y3);                                 \
    const v128_t e2 = ADD(y0, MUL(K(4.f), y2)), o2 = ADD(MUL(K(2.f), y1), MUL(K(8.f), y3)); \
    r[0] = y0, r[1] = ADD(e, o), r[2] = SUB(e, o), r[3] = ADD(e2, o2), r[4] = SUB(e2, o2), r[5] = y3; \
  }

/* A dY A^T on 4 output channels: the 4x4 tile of dy at (p0, q0) (zeros past the edge) to 36 vectors. */
static inline void grad_tile(const float *dy, int Ho, int Wo, int CO, int n, int p0, int q0, int co, float *Y, int yStride) {
  v128_t t[6][4];
  _Pragma("clang loop unroll(full)")
  for (int k = 0; k < 4; k++) {
    const int col = q0 + k;
    v128_t d[4];
    _Pragma("clang loop unroll(full)")
    for (int r = 0; r < 4; r++)
      d[r] = (p0 + r < Ho && col < Wo) ? wasm_v128_load(dy + ((n * Ho + p0 + r) * Wo + col) * CO + co) : K(0.f);
    v128_t r6[6];
    A4(d[0], d[1], d[2], d[3], r6)
    _Pragma("clang loop unroll(full)")
    for (int i = 0; i < 6; i++) t[i][k] = r6[i];
  }
  _Pragma("clang loop unroll(full)")
  for (int i = 0; i < 6; i++) {
    v128_t r6[6];
    A4(t[i][0], t[i][1], t[i][2], t[i][3], r6)
    _Pragma("clang loop unroll(full)")
    for (int j = 0; j < 6; j++) wasm_v128_store(Y + (i * 6 + j) * yStride, r6[j]);
  }
}

__attribute__((export_name("winograd43_filter_grad"))) void winograd43_filter_grad(
    const float *x, const float *dy, float *partials, float *scratch, int N, int H, int W, int C, int Ho, int Wo, int CO,
    int top, int left, int parts, int partStride, int scratchFloats, int unit0, int unit1, int chunk) {
  const int TY = (Ho + 3) / 4, TX = (Wo + 3) / 4, TI = TY * TX;
  const int VS = GB * C + 16, YS = GB * CO + 16;
  float *V = scratch + chunk * scratchFloats, *Y = V + 36 * VS;
  for (int k = unit0; k < unit1; k++) {
    float *acc = partials + k * partStride;
    for (int i = 0; i < 36 * C * CO; i += 4) wasm_v128_store(acc + i, K(0.f));
    const int t0 = (int)((long long)k * N / parts) * TI, t1 = (int)((long long)(k + 1) * N / parts) * TI;
    for (int tb = t0; tb < t1; tb += GB) {
      const int nt = min_i(GB, t1 - tb);
      for (int t = 0; t < nt; t++) {
        const int g = tb + t, n = g / TI, r = g % TI, ty = r / TX, tx = r % TX;
        for (int c = 0; c < C; c += 4) input_tile(x, H, W, C, n, 4 * ty - top, 4 * tx - left, c, V + t * C + c, VS);
        for (int co = 0; co < CO; co += 4) grad_tile(dy, Ho, Wo, CO, n, 4 * ty, 4 * tx, co, Y + t * CO + co, YS);
      }
      for (int xi = 0; xi < 36; xi++)
        for (int c0 = 0; c0 < C; c0 += 4)
          for (int co0 = 0; co0 < CO; co0 += 8) {
            float *o = acc + (xi * C + c0) * CO + co0;
            TILE_LOAD(o, CO)
            const float *v = V + xi * VS + c0, *gy = Y + xi * YS + co0;
            for (int t = 0; t < nt; t++, v += C, gy += CO) {
              const v128_t d0 = wasm_v128_load(gy), d1 = wasm_v128_load(gy + 4);
              TILE_FMA(v, v + 1, v + 2, v + 3)
            }
            TILE_STORE(o, CO)
          }
    }
  }
}

/* G^T u for a 6-vector u (G^T is 3x6). */
#define GT6(u0, u1, u2, u3, u4, u5, r)                                                    \
  {                                                                                       \
    const v128_t s12 = ADD(u1, u2), d12 = SUB(u2, u1), s34 = ADD(u3, u4), d34 = SUB(u3, u4); \
    r[0] = ADD(SUB(MUL(K(0.25f), u0), MUL(K(1.f / 6), s12)), MUL(K(1.f / 24), s34));      \
    r[1] = ADD(MUL(K(1.f / 6), d12), MUL(K(1.f / 12), d34));                              \
    r[2] = ADD(MUL(K(1.f / 6), SUB(s34, s12)), u5);                                       \
  }

/* dU = sum of the parts in order, then dW[:, :, c, co] = G^T dU G (4 output channels per vector). */
__attribute__((export_name("winograd43_filter_grad_out"))) void winograd43_filter_grad_out(const float *partials, int parts, int partStride,
                                                                                            float *dW, int C, int CO) {
  for (int c = 0; c < C; c++) {
    for (int co = 0; co < CO; co += 4) {
      v128_t u[6][6], t[3][6];
      _Pragma("clang loop unroll(full)")
      for (int i = 0; i < 6; i++)
        _Pragma("clang loop unroll(full)")
        for (int j = 0; j < 6; j++) {
          const float *p = partials + ((i * 6 + j) * C + c) * CO + co;
          v128_t sum = wasm_v128_load(p);
          for (int k = 1; k < parts; k++) sum = ADD(sum, wasm_v128_load(p + k * partStride));
          u[i][j] = sum;
        }
      _Pragma("clang loop unroll(full)")
      for (int j = 0; j < 6; j++) {
        v128_t r3[3];
        GT6(u[0][j], u[1][j], u[2][j], u[3][j], u[4][j], u[5][j], r3)
        t[0][j] = r3[0], t[1][j] = r3[1], t[2][j] = r3[2];
      }
      _Pragma("clang loop unroll(full)")
      for (int i = 0; i < 3; i++) {
        v128_t r3[3];
        GT6(t[i][0], t[i][1], t[i][2], t[i][3], t[i][4], t[i][5], r3)
        _Pragma("clang loop unroll(full)")
        for (int j = 0; j < 3; j++) wasm_v128_store(dW + ((i * 3 + j) * C + c) * CO + co, r3[j]);
      }
    }
  }
}
