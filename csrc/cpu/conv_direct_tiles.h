// conv_direct_tiles.h — the register tiles of the direct convolution (see conv_direct.h),
// written once over a vector type V and included by conv_direct_avx512.cpp (V = zmm or ymm,
// 32 registers) and conv_direct_avx2.cpp (V = ymm, 16 registers). V provides:
//   reg, L (lanes), zero(), load(p), bcast(p), fma(a, b, c) = a*b + c, store(p, r).
// Every loop below has compile-time bounds and is fully unrolled, so the accumulator arrays
// live in registers.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include "conv_direct.h"

namespace dlcore::cpu::conv_direct::tiles {

// ---- forward: P pixels of one output row x NV channel vectors ------------------------------
// Per tap: NV weight loads, P broadcasts, P*NV FMAs. S > 0: the stride along the row is S
// (compile-time, so the P input addresses are one register plus constant offsets); S == 0:
// run-time stride sw.
template <class V, int NV, int P, int S>
void fwd_tile(int64_t taps, const int64_t* toff, const float* wt, const float* x, int64_t sw,
              float* out) {
  typename V::reg acc[P][NV];
#pragma GCC unroll 32
  for (int p = 0; p < P; ++p)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[p][v] = V::zero();
  const int64_t step = S > 0 ? S : sw;
  for (int64_t r = 0; r < taps; ++r) {
    const float* xr = x + toff[r];
    typename V::reg w[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) w[v] = V::load(wt + (r * NV + v) * V::L);
#pragma GCC unroll 32
    for (int p = 0; p < P; ++p) {
      const typename V::reg b = V::bcast(xr + p * step);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[p][v] = V::fma(b, w[v], acc[p][v]);
    }
  }
#pragma GCC unroll 32
  for (int p = 0; p < P; ++p)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) V::store(out + (p * NV + v) * V::L, acc[p][v]);
}

using FwdTile = void (*)(int64_t, const int64_t*, const float*, const float*, int64_t, float*);

template <class V, int NV, int S, int... I>
constexpr std::array<FwdTile, sizeof...(I)> fwd_tiles(std::integer_sequence<int, I...>) {
  return {{&fwd_tile<V, NV, I + 1, S>...}};
}

// Tiles of 1..PMAX pixels along each output row.
template <class V, int NV, int S, int PMAX>
void forward_image(const FwdArgs& a) {
  static constexpr auto table = fwd_tiles<V, NV, S>(std::make_integer_sequence<int, PMAX>{});
  const int64_t KP = NV * V::L;
  // Tiles of equal width (14 = 7 + 7, not 12 + 2): a narrow tail tile has too few
  // independent accumulators to hide the FMA latency.
  const int64_t pt = (a.OW + (a.OW + PMAX - 1) / PMAX - 1) / ((a.OW + PMAX - 1) / PMAX);
  for (int64_t oh = 0; oh < a.OH; ++oh) {
    const float* xrow = a.in + oh * a.sh * a.ld;
    float* orow = a.out + oh * a.OW * KP;
    const int64_t tb = a.tap_begin ? a.tap_begin[oh] : 0;
    const int64_t te = a.tap_end ? a.tap_end[oh] : a.taps;
    for (int64_t ow = 0; ow < a.OW; ow += pt) {
      const int P = (int)std::min<int64_t>(pt, a.OW - ow);
      table[P - 1](te - tb, a.toff + tb, a.wt + tb * KP, xrow + ow * a.sw, a.sw, orow + ow * KP);
    }
  }
}

// ---- weight gradient: NR tap rows (c, i) x KW taps j x NV channel vectors ---------------------
// The accumulators are weight-gradient entries, summed over all OH*OW pixels of the image:
// per pixel NV gradient loads, NR*KW broadcasts, NR*KW*NV FMAs.
template <class V, int NV, int KW, int NR, int S>
void wgt_tile(const float* const* rows, int64_t ld, int64_t sh, int64_t sw, int64_t OH,
              int64_t OW, const float* dyt, float* dwt) {
  constexpr int KP = NV * V::L;
  typename V::reg acc[NR][KW][NV];
#pragma GCC unroll 8
  for (int t = 0; t < NR; ++t)
#pragma GCC unroll 8
    for (int j = 0; j < KW; ++j)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[t][j][v] = V::load(dwt + ((t * KW + j) * NV + v) * V::L);
  const int64_t step = S > 0 ? S : sw;
  for (int64_t oh = 0; oh < OH; ++oh) {
    const float* xr[NR];
#pragma GCC unroll 8
    for (int t = 0; t < NR; ++t) xr[t] = rows[t] + oh * sh * ld;
    const float* d = dyt + oh * OW * KP;
    for (int64_t ow = 0; ow < OW; ++ow) {
      typename V::reg g[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) g[v] = V::load(d + ow * KP + v * V::L);
#pragma GCC unroll 8
      for (int t = 0; t < NR; ++t)
#pragma GCC unroll 8
        for (int j = 0; j < KW; ++j) {
          const typename V::reg b = V::bcast(xr[t] + ow * step + j);
#pragma GCC unroll 4
          for (int v = 0; v < NV; ++v) acc[t][j][v] = V::fma(b, g[v], acc[t][j][v]);
        }
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < NR; ++t)
#pragma GCC unroll 8
    for (int j = 0; j < KW; ++j)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) V::store(dwt + ((t * KW + j) * NV + v) * V::L, acc[t][j][v]);
}

using WgtTile = void (*)(const float* const*, int64_t, int64_t, int64_t, int64_t, int64_t,
                        const float*, float*);

template <class V, int NV, int KW, int S, int... I>
constexpr std::array<WgtTile, sizeof...(I)> wgt_tiles(std::integer_sequence<int, I...>) {
  return {{&wgt_tile<V, NV, KW, I + 1, S>...}};
}

// The C*kh tap rows in blocks of NRMAX (as many as the accumulator budget allows, at most 3),
// the last block exact. Why at most 3: each tap row is one more pointer among x86's 16
// general registers, and from 4 rows on GCC spills pointers or accumulators inside the pixel
// loop (seen in the assembly for AVX2 4 x 3 taps and AVX-512 5 x 5 taps). Measured on one
// thread (2026-12-03, Zen4), 3 rows against the previous 4 (AVX2, 3x3, 8 channels: 9 instead
// of 12 accumulators) and 5 (AVX-512, LeNet conv2 5x5): the AVX2 weight gradient of
// 16x128x16x16 3x3 1.8x faster (45 -> 82 GF/s), AVX-512 5-10% faster.
template <class V, int NV, int KW, int S, int ACC>
void weight_image(const WgtArgs& a) {
  constexpr int NRMAX = std::min(3, ACC / (KW * NV));
  static_assert(NRMAX >= 1, "tile does not fit the registers");
  static constexpr auto table =
      wgt_tiles<V, NV, KW, S>(std::make_integer_sequence<int, NRMAX>{});
  const int64_t KP = NV * V::L, tap_rows = a.C * a.kh;
  const float* rows[NRMAX];
  for (int64_t tr = 0; tr < tap_rows; tr += NRMAX) {
    const int nr = (int)std::min<int64_t>(NRMAX, tap_rows - tr);
    for (int t = 0; t < nr; ++t) {
      const int64_t c = (tr + t) / a.kh, i = (tr + t) % a.kh;
      rows[t] = a.in + c * a.plane + i * a.dh * a.ld;
    }
    table[nr - 1](rows, a.ld, a.sh, a.sw, a.OH, a.OW, a.dyt, a.dwt + tr * KW * KP);
  }
}

// ---- input gradient along the width: one row of dx, CB channels x NW column vectors ---------
// Per tap: NW loads of the padded gradient row, CB weight broadcasts (folded into the FMA as
// a memory operand), CB*NW FMAs; CB*NW independent accumulators cover the FMA latency
// (the driver asks for >= 4). One row per tile, so every row sums exactly its own taps
// (the rows near the top and bottom skip the kernel rows that read zero padding).
template <class V, int NW, int CB>
void width_row(int64_t taps, const int64_t* toff, const float* wt, const float* x, int64_t W,
               int64_t plane, float* out) {
  typename V::reg acc[CB][NW];
#pragma GCC unroll 8
  for (int c = 0; c < CB; ++c)
#pragma GCC unroll 4
    for (int v = 0; v < NW; ++v) acc[c][v] = V::zero();
  for (int64_t r = 0; r < taps; ++r) {
    const float* xr = x + toff[r];
    typename V::reg in[NW];
#pragma GCC unroll 4
    for (int v = 0; v < NW; ++v) in[v] = V::load(xr + v * V::L);
#pragma GCC unroll 8
    for (int c = 0; c < CB; ++c) {
      const typename V::reg b = V::bcast(wt + r * CB + c);
#pragma GCC unroll 4
      for (int v = 0; v < NW; ++v) acc[c][v] = V::fma(in[v], b, acc[c][v]);
    }
  }
#pragma GCC unroll 8
  for (int c = 0; c < CB; ++c)
#pragma GCC unroll 4
    for (int v = 0; v < NW; ++v) {
      const int64_t n = std::min<int64_t>(V::L, W - v * V::L);
      if (n == V::L) V::store(out + c * plane + v * V::L, acc[c][v]);
      else if (n > 0) V::store_n(out + c * plane + v * V::L, acc[c][v], (int)n);
    }
}

using WidthRow = void (*)(int64_t, const int64_t*, const float*, const float*, int64_t, int64_t,
                          float*);

template <class V, int NW, int... I>
constexpr std::array<WidthRow, sizeof...(I)> width_rows(std::integer_sequence<int, I...>) {
  return {{&width_row<V, NW, I + 1>...}};
}

template <class V, int NW, int CBMAX>
void width_image(const WidthArgs& a) {
  static constexpr auto table = width_rows<V, NW>(std::make_integer_sequence<int, CBMAX>{});
  const int64_t cbs = width_block_size(a.C, CBMAX), plane = a.H * a.W;
  for (int64_t c0 = 0; c0 < a.C; c0 += cbs) {
    const int64_t cb = std::min(cbs, a.C - c0);
    const float* wt = a.wt + c0 * a.taps;
    for (int64_t h = 0; h < a.H; ++h) {
      const int64_t tb = a.tap_begin[h], te = a.tap_end[h];
      table[cb - 1](te - tb, a.toff + tb, wt + tb * cb, a.in + h * a.ld, a.W, plane,
                    a.out + c0 * plane + h * a.W);
    }
  }
}

}  // namespace dlcore::cpu::conv_direct::tiles
