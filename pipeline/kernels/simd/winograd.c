// 3x3 stride-1 convolution by Winograd F(2x2, 3x3) as a wasm SIMD128 kernel on tfjs's heap (NHWC).
//
// Each 2x2 output tile comes from a 4x4 input patch d and the 3x3 filter g as Y = A^T [(G g G^T) .* (B^T d B)] A:
// 16 products per tile and channel pair instead of 36, i.e. 2.25x fewer multiply-adds than the direct conv.
// Work unit = one row of output tiles (n, ty), cut into blocks of up to 16 tiles so the block's transformed
// input stays in L1 (16 x 16 x C floats, in `scratch`):
//   1. input transform V[xi][t][c] = (B^T d B)[xi] of each tile, 4 channels per vector;
//   2. for each 4-tile group and 8 output channels: 16 small GEMMs M[xi] = V[xi] U[xi] (4 tiles x 8 channels of
//      accumulators, the same register tile as conv2d.c), then the output transform straight to y.
// U = G g G^T comes from winograd_filter (16 x C x CO). Each output is computed by one thread in a fixed order.
// Needs C % 4 == 0 and CO % 8 == 0.
//
// The filter gradient of the same conv: dU[xi] = sum over tiles of V[xi]^T (A dY A^T)[xi], an outer-product
// accumulation like filter_grad.c but over tiles instead of pixels (2.25x fewer multiply-adds), then
// dW = G^T dU G. It is split over fixed slices of the batch whose sums are added in order at the end.
#include <wasm_simd128.h>

#define TB 16 /* tiles per block */

static inline int min_i(int a, int b) { return a < b ? a : b; }
#define ADD wasm_f32x4_add
#define SUB wasm_f32x4_sub
#define MUL wasm_f32x4_mul

/* U[xi][c][co] = (G g G^T)[xi] for g = w[:, :, c, co], 4 output channels per vector. */
__attribute__((export_name("winograd_filter"))) void winograd_filter(const float *w, float *U, int C, int CO) {
  const v128_t half = wasm_f32x4_splat(0.5f);
  for (int c = 0; c < C; c++) {
    for (int co = 0; co < CO; co += 4) {
      v128_t g[3][3], t[4][3];
      for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) g[i][j] = wasm_v128_load(w + ((i * 3 + j) * C + c) * CO + co);
      for (int j = 0; j < 3; j++) {
        t[0][j] = g[0][j];
        t[1][j] = MUL(half, ADD(ADD(g[0][j], g[1][j]), g[2][j]));
        t[2][j] = MUL(half, ADD(SUB(g[0][j], g[1][j]), g[2][j]));
        t[3][j] = g[2][j];
      }
      for (int i = 0; i < 4; i++) {
        const v128_t u0 = t[i][0], u1 = MUL(half, ADD(ADD(t[i][0], t[i][1]), t[i][2]));
        const v128_t u2 = MUL(half, ADD(SUB(t[i][0], t[i][1]), t[i][2])), u3 = t[i][2];
        wasm_v128_store(U + ((i * 4 + 0) * C + c) * CO + co, u0);
        wasm_v128_store(U + ((i * 4 + 1) * C + c) * CO + co, u1);
        wasm_v128_store(U + ((i * 4 + 2) * C + c) * CO + co, u2);
        wasm_v128_store(U + ((i * 4 + 3) * C + c) * CO + co, u3);
      }
    }
  }
}

/* B^T d B on 4 channels: d is read row by row from x (zeros outside), V gets the 16 transformed vectors. */
static inline void input_tile(const float *x, int H, int W, int C, int n, int r0, int c0, int c, float *V, int vStride) {
  v128_t d[4][4];
  for (int r = 0; r < 4; r++) {
    const int row = r0 + r;
    for (int k = 0; k < 4; k++) {
      const int col = c0 + k;
      d[r][k] = (row >= 0 && row < H && col >= 0 && col < W) ? wasm_v128_load(x + ((n * H + row) * W + col) * C + c) : wasm_f32x4_splat(0.f);
    }
  }
  v128_t t[4][4];
  for (int k = 0; k < 4; k++) {
    t[0][k] = SUB(d[0][k], d[2][k]);
    t[1][k] = ADD(d[1][k], d[2][k]);
    t[2][k] = SUB(d[2][k], d[1][k]);
    t[3][k] = SUB(d[1][k], d[3][k]);
  }
  for (int i = 0; i < 4; i++) {
    wasm_v128_store(V + (i * 4 + 0) * vStride, SUB(t[i][0], t[i][2]));
    wasm_v128_store(V + (i * 4 + 1) * vStride, ADD(t[i][1], t[i][2]));
    wasm_v128_store(V + (i * 4 + 2) * vStride, SUB(t[i][2], t[i][1]));
    wasm_v128_store(V + (i * 4 + 3) * vStride, SUB(t[i][1], t[i][3]));
  }
}

/* A^T m A for one tile and 4 output channels; writes the valid part of the 2x2 output. */
static inline void output_tile(const v128_t *m, float *y, int Ho, int Wo, int CO, int n, int p0, int q0, int co) {
  v128_t s0[4], s1[4];
  for (int j = 0; j < 4; j++) {
    s0[j] = ADD(ADD(m[0 * 4 + j], m[1 * 4 + j]), m[2 * 4 + j]);
    s1[j] = SUB(SUB(m[1 * 4 + j], m[2 * 4 + j]), m[3 * 4 + j]);
  }
  const v128_t y00 = ADD(ADD(s0[0], s0[1]), s0[2]), y01 = SUB(SUB(s0[1], s0[2]), s0[3]);
  const v128_t y10 = ADD(ADD(s1[0], s1[1]), s1[2]), y11 = SUB(SUB(s1[1], s1[2]), s1[3]);
  float *o = y + ((n * Ho + p0) * Wo + q0) * CO + co;
  wasm_v128_store(o, y00);
  if (q0 + 1 < Wo) wasm_v128_store(o + CO, y01);
  if (p0 + 1 < Ho) {
    wasm_v128_store(o + Wo * CO, y10);
    if (q0 + 1 < Wo) wasm_v128_store(o + Wo * CO + CO, y11);
  }
}

__attribute__((export_name("winograd_conv"))) void winograd_conv(const float *x, const float *U, float *y, float *scratch,
                                                                  int H, int W, int C, int Ho, int Wo, int CO,
                                                                  int top, int left, int scratchFloats, int unit0,
                                                                  int unit1, int chunk) {
  const int TY = (Ho + 1) / 2, TX = (Wo + 1) / 2;
  const int VS = TB * C + 16;                   /* xi planes a cache line longer than their data (L1 sets) */
  float *V = scratch + chunk * scratchFloats;   /* [16][VS] */
  float *M = V + 16 * VS;                       /* [16][4 tiles][8]: one group's products */
  for (int u = unit0; u < unit1; u++) {
    const int n = u / TY, ty = u % TY;
    const int p0 = 2 * ty;
    for (int tb = 0; tb < TX; tb += TB) {
      const int nt = min_i(TB, TX - tb);
      for (int t = 0; t < nt; t++)
        for (int c = 0; c < C; c += 4) input_tile(x, H, W, C, n, p0 - top, 2 * (tb + t) - left, c, V + t * C + c, VS);
      for (int co0 = 0; co0 < CO; co0 += 8) {
        int t = 0;
        for (; t + 4 <= nt; t += 4) {
          for (int xi = 0; xi < 16; xi++) {
            const float *v = V + xi * VS + t * C;
            const float *wr = U + xi * C * CO + co0;
            v128_t a00 = wasm_f32x4_splat(0.f), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
            for (int c = 0; c < C; c++, v++, wr += CO) {
              const v128_t d0 = wasm_v128_load(wr), d1 = wasm_v128_load(wr + 4);
              v128_t s = wasm_v128_load32_splat(v);
              a00 = ADD(a00, MUL(s, d0)), a01 = ADD(a01, MUL(s, d1));
              s = wasm_v128_load32_splat(v + C);
              a10 = ADD(a10, MUL(s, d0)), a11 = ADD(a11, MUL(s, d1));
              s = wasm_v128_load32_splat(v + 2 * C);
              a20 = ADD(a20, MUL(s, d0)), a21 = ADD(a21, MUL(s, d1));
              s = wasm_v128_load32_splat(v + 3 * C);
              a30 = ADD(a30, MUL(s, d0)), a31 = ADD(a31, MUL(s, d1));
            }
            float *m = M + xi * 32;
            wasm_v128_store(m, a00), wasm_v128_store(m + 4, a01), wasm_v128_store(m + 8, a10), wasm_v128_store(m + 12, a11);
            wasm_v128_store(m + 16, a20), wasm_v128_store(m + 20, a21), wasm_v128_store(m + 24, a30), wasm_v128_store(m + 28, a31);
          }
          for (int k = 0; k < 4; k++) {
            for (int h = 0; h < 2; h++) {
              v128_t m[16];
              for (int xi = 0; xi < 16; xi++) m[xi] = wasm_v128_load(M + xi * 32 + k * 8 + h * 4);
              output_tile(m, y, Ho, Wo, CO, n, p0, 2 * (tb + t + k), co0 + h * 4);
            }
          }
        }
        for (; t < nt; t++) {
          for (int xi = 0; xi < 16; xi++) {
            const float *v = V + xi * VS + t * C;
            const float *wr = U + xi * C * CO + co0;
            v128_t a0 = wasm_f32x4_splat(0.f), a1 = a0;
            for (int c = 0; c < C; c++, wr += CO) {
              const v128_t s = wasm_v128_load32_splat(v + c);
              a0 = ADD(a0, MUL(s, wasm_v128_load(wr))), a1 = ADD(a1, MUL(s, wasm_v128_load(wr + 4)));
            }
            wasm_v128_store(M + xi * 32, a0), wasm_v128_store(M + xi * 32 + 4, a1);
          }
          for (int h = 0; h < 2; h++) {
            v128_t m[16];
            for (int xi = 0; xi < 16; xi++) m[xi] = wasm_v128_load(M + xi * 32 + h * 4);
            output_tile(m, y, Ho, Wo, CO, n, p0, 2 * (tb + t), co0 + h * 4);
          }
        }
      }
    }
  }
}

/* A dY A^T on 4 output channels: the 2x2 tile of dy at (p0, q0) (zeros past the edge) to 16 vectors. */
static inline void grad_tile(const float *dy, int Ho, int Wo, int CO, int n, int p0, int q0, int co, float *Y, int yStride) {
  const v128_t z = wasm_f32x4_splat(0.f);
  const float *o = dy + ((n * Ho + p0) * Wo + q0) * CO + co;
  const int right = q0 + 1 < Wo, down = p0 + 1 < Ho;
  const v128_t a = wasm_v128_load(o), b = right ? wasm_v128_load(o + CO) : z;
  const v128_t c = down ? wasm_v128_load(o + Wo * CO) : z, d = down && right ? wasm_v128_load(o + Wo * CO + CO) : z;
  const v128_t r[4][2] = {{a, b}, {ADD(a, c), ADD(b, d)}, {SUB(a, c), SUB(b, d)}, {wasm_f32x4_neg(c), wasm_f32x4_neg(d)}};
  for (int i = 0; i < 4; i++) {
    wasm_v128_store(Y + (i * 4 + 0) * yStride, r[i][0]);
    wasm_v128_store(Y + (i * 4 + 1) * yStride, ADD(r[i][0], r[i][1]));
    wasm_v128_store(Y + (i * 4 + 2) * yStride, SUB(r[i][0], r[i][1]));
    wasm_v128_store(Y + (i * 4 + 3) * yStride, wasm_f32x4_neg(r[i][1]));
  }
}

/* Tile rows per block of the filter gradient: at least 32 tiles (amortises the accumulator loads/stores). */
static inline int grad_rows_per_block(int TX) { return TX >= 32 ? 1 : 32 / TX; }

/*
 * Winograd filter gradient, first half: units are `parts` fixed slices of the batch; part k adds
 * V[xi]^T (A dY A^T)[xi] over its images' tiles into its own dU, partials + k * partStride ([16][C][CO]).
 * The caller sums the parts in order (winograd_filter_grad_out), so the split over threads does not matter.
 */
__attribute__((export_name("winograd_filter_grad"))) void winograd_filter_grad(
    const float *x, const float *dy, float *partials, float *scratch, int N, int H, int W, int C, int Ho, int Wo, int CO,
    int top, int left, int parts, int partStride, int scratchFloats, int unit0, int unit1, int chunk) {
  const int TY = (Ho + 1) / 2, TX = (Wo + 1) / 2;
  const int rpb = grad_rows_per_block(TX), TBG = rpb * TX;
  /* xi planes one cache line longer than their data: 4 KiB-apart planes all fell in the same L1 sets. */
  const int VS = TBG * C + 16, YS = TBG * CO + 16;
  float *V = scratch + chunk * scratchFloats, *Y = V + 16 * VS;
  for (int k = unit0; k < unit1; k++) {
    float *acc = partials + k * partStride;
    for (int i = 0; i < 16 * C * CO; i += 4) wasm_v128_store(acc + i, wasm_f32x4_splat(0.f));
    for (int n = (int)((long long)k * N / parts); n < (int)((long long)(k + 1) * N / parts); n++) {
      for (int ty0 = 0; ty0 < TY; ty0 += rpb) {
        int nt = 0;
        for (int ty = ty0; ty < min_i(TY, ty0 + rpb); ty++)
          for (int tx = 0; tx < TX; tx++, nt++) {
            for (int c = 0; c < C; c += 4) input_tile(x, H, W, C, n, 2 * ty - top, 2 * tx - left, c, V + nt * C + c, VS);
            for (int co = 0; co < CO; co += 4) grad_tile(dy, Ho, Wo, CO, n, 2 * ty, 2 * tx, co, Y + nt * CO + co, YS);
          }
        for (int xi = 0; xi < 16; xi++)
          for (int c0 = 0; c0 < C; c0 += 4)
            for (int co0 = 0; co0 < CO; co0 += 8) {
              float *o = acc + (xi * C + c0) * CO + co0;
              v128_t a00 = wasm_v128_load(o), a01 = wasm_v128_load(o + 4), a10 = wasm_v128_load(o + CO), a11 = wasm_v128_load(o + CO + 4);
              v128_t a20 = wasm_v128_load(o + 2 * CO), a21 = wasm_v128_load(o + 2 * CO + 4), a30 = wasm_v128_load(o + 3 * CO), a31 = wasm_v128_load(o + 3 * CO + 4);
              const float *v = V + xi * VS + c0, *g = Y + xi * YS + co0;
              for (int t = 0; t < nt; t++, v += C, g += CO) {
                const v128_t d0 = wasm_v128_load(g), d1 = wasm_v128_load(g + 4);
                v128_t s = wasm_v128_load32_splat(v);
                a00 = ADD(a00, MUL(s, d0)), a01 = ADD(a01, MUL(s, d1));
                s = wasm_v128_load32_splat(v + 1);
                a10 = ADD(a10, MUL(s, d0)), a11 = ADD(a11, MUL(s, d1));
                s = wasm_v128_load32_splat(v + 2);
                a20 = ADD(a20, MUL(s, d0)), a21 = ADD(a21, MUL(s, d1));
                s = wasm_v128_load32_splat(v + 3);
                a30 = ADD(a30, MUL(s, d0)), a31 = ADD(a31, MUL(s, d1));
              }
              wasm_v128_store(o, a00), wasm_v128_store(o + 4, a01), wasm_v128_store(o + CO, a10), wasm_v128_store(o + CO + 4, a11);
              wasm_v128_store(o + 2 * CO, a20), wasm_v128_store(o + 2 * CO + 4, a21), wasm_v128_store(o + 3 * CO, a30), wasm_v128_store(o + 3 * CO + 4, a31);
            }
      }
    }
  }
}

/* Second half: dU = sum of the parts in order, then dW[:, :, c, co] = G^T dU G (4 output channels per vector). */
__attribute__((export_name("winograd_filter_grad_out"))) void winograd_filter_grad_out(const float *partials, int parts, int partStride,
                                                                                        float *dW, int C, int CO) {
  const v128_t half = wasm_f32x4_splat(0.5f);
  for (int c = 0; c < C; c++) {
    for (int co = 0; co < CO; co += 4) {
      v128_t u[4][4], t[3][4];
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
          const float *p = partials + ((i * 4 + j) * C + c) * CO + co;
          v128_t sum = wasm_v128_load(p);
          for (int k = 1; k < parts; k++) sum = ADD(sum, wasm_v128_load(p + k * partStride));
          u[i][j] = sum;
        }
      /* G^T = [[1, .5, .5, 0], [0, .5, -.5, 0], [0, .5, .5, 1]] on the rows, then on the columns. */
      for (int j = 0; j < 4; j++) {
        t[0][j] = ADD(u[0][j], MUL(half, ADD(u[1][j], u[2][j])));
        t[1][j] = MUL(half, SUB(u[1][j], u[2][j]));
        t[2][j] = ADD(MUL(half, ADD(u[1][j], u[2][j])), u[3][j]);
      }
      for (int i = 0; i < 3; i++) {
        wasm_v128_store(dW + ((i * 3 + 0) * C + c) * CO + co, ADD(t[i][0], MUL(half, ADD(t[i][1], t[i][2]))));
        wasm_v128_store(dW + ((i * 3 + 1) * C + c) * CO + co, MUL(half, SUB(t[i][1], t[i][2])));
        wasm_v128_store(dW + ((i * 3 + 2) * C + c) * CO + co, ADD(MUL(half, ADD(t[i][1], t[i][2])), t[i][3]));
      }
    }
  }
}
