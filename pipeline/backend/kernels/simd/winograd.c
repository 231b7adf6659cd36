// Filter gradient of a 3x3 stride-1 convolution by Winograd F(2x2, 3x3), as a wasm SIMD128 kernel on tfjs's heap
// (NHWC). The forward conv is y = A^T [(G g G^T) .* (B^T d B)] A per 2x2 output tile and 4x4 input patch d, so
//   dU[xi] = sum over tiles of V[xi]^T (A dY A^T)[xi],  V = B^T d B,  dW = G^T dU G
// an outer-product accumulation like filter_grad.c but over tiles instead of pixels (2.25x fewer multiply-adds).
// Input and gradient transforms of a block of >= 32 tiles go to `scratch` (16 planes each, padded by a cache
// line); each unit (xi, 4 input channels, 8 output channels) then streams the block with a 4x8 accumulator tile.
// The batch is split into fixed slices whose sums the caller adds in order, so results do not depend on the
// thread count. Needs C % 4 == 0 and CO % 8 == 0. (The forward conv uses F(4x4, 3x3): winograd43.c.)
#include "common.h"

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
              TILE_LOAD(o, CO)
              const float *v = V + xi * VS + c0, *g = Y + xi * YS + co0;
              for (int t = 0; t < nt; t++, v += C, g += CO) {
                const v128_t d0 = wasm_v128_load(g), d1 = wasm_v128_load(g + 4);
                TILE_FMA(v, v + 1, v + 2, v + 3)
              }
              TILE_STORE(o, CO)
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
