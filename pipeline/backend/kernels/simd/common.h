// Shared by the wasm SIMD kernels: index helpers and the 4x8 register tile they all accumulate in.
#ifndef ECL_SIMD_COMMON_H
#define ECL_SIMD_COMMON_H
#include <wasm_simd128.h>

#define ADD wasm_f32x4_add
#define SUB wasm_f32x4_sub
#define MUL wasm_f32x4_mul

static inline int max_i(int a, int b) { return a > b ? a : b; }
static inline int min_i(int a, int b) { return a < b ? a : b; }
/* Smallest p >= 0 with p*s + off >= 0, and one past the largest p < O with p*s + off < I. */
static inline int first_valid(int s, int off) { return off >= 0 ? 0 : (-off + s - 1) / s; }
static inline int end_valid(int s, int off, int I, int O) { return off >= I ? 0 : min_i(O, (I - 1 - off) / s + 1); }

/* The tile: 4 rows (pixels, tiles or input channels) x 8 output channels, accumulators a00..a31. */
#define TILE_ZERO v128_t a00 = wasm_f32x4_splat(0.f), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
#define TILE_LOAD(o, stride)                                                           \
  v128_t a00 = wasm_v128_load(o), a01 = wasm_v128_load((o) + 4);                       \
  v128_t a10 = wasm_v128_load((o) + (stride)), a11 = wasm_v128_load((o) + (stride) + 4); \
  v128_t a20 = wasm_v128_load((o) + 2 * (stride)), a21 = wasm_v128_load((o) + 2 * (stride) + 4); \
  v128_t a30 = wasm_v128_load((o) + 3 * (stride)), a31 = wasm_v128_load((o) + 3 * (stride) + 4);
/* row r += broadcast(*p_r) * (d0, d1), for the 8 channels held in d0, d1. */
#define TILE_FMA(p0, p1, p2, p3)                      \
  {                                                   \
    v128_t s = wasm_v128_load32_splat(p0);            \
    a00 = ADD(a00, MUL(s, d0)), a01 = ADD(a01, MUL(s, d1)); \
    s = wasm_v128_load32_splat(p1);                   \
    a10 = ADD(a10, MUL(s, d0)), a11 = ADD(a11, MUL(s, d1)); \
    s = wasm_v128_load32_splat(p2);                   \
    a20 = ADD(a20, MUL(s, d0)), a21 = ADD(a21, MUL(s, d1)); \
    s = wasm_v128_load32_splat(p3);                   \
    a30 = ADD(a30, MUL(s, d0)), a31 = ADD(a31, MUL(s, d1)); \
  }
#define TILE_STORE(o, stride)                                                                       \
  wasm_v128_store(o, a00), wasm_v128_store((o) + 4, a01);                                           \
  wasm_v128_store((o) + (stride), a10), wasm_v128_store((o) + (stride) + 4, a11);                   \
  wasm_v128_store((o) + 2 * (stride), a20), wasm_v128_store((o) + 2 * (stride) + 4, a21);           \
  wasm_v128_store((o) + 3 * (stride), a30), wasm_v128_store((o) + 3 * (stride) + 4, a31);

#endif
