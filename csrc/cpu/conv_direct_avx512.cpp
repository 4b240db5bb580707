// conv_direct_avx512.cpp — the direct convolution tiles (conv_direct_tiles.h) on AVX-512
// (compiled with -mavx512f/bw/dq/vl; conv_direct.cpp calls it only after the run-time check).
// Two vector widths: zmm (16 channels per vector) and, for K <= 8, ymm (8 channels): with
// AVX-512VL a ymm tile still has 32 registers, and Zen4 runs a zmm FMA as two ymm halves, so
// an 8-lane tile wastes no lanes on a 6-channel layer where a 16-lane one would waste 10.
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "conv_direct_tiles.h"

namespace dlcore::cpu::conv_direct {
namespace {

struct Zmm {
  using reg = __m512;
  static constexpr int L = 16;
  static reg zero() { return _mm512_setzero_ps(); }
  static reg load(const float* p) { return _mm512_loadu_ps(p); }
  static reg bcast(const float* p) { return _mm512_set1_ps(*p); }
  static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static void store(float* p, reg r) { _mm512_storeu_ps(p, r); }
  static void store_n(float* p, reg r, int n) {
    _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1), r);
  }
};

struct Ymm {
  using reg = __m256;
  static constexpr int L = 8;
  static reg zero() { return _mm256_setzero_ps(); }
  static reg load(const float* p) { return _mm256_loadu_ps(p); }
  static reg bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static void store(float* p, reg r) { _mm256_storeu_ps(p, r); }
  static void store_n(float* p, reg r, int n) {
    _mm256_mask_storeu_ps(p, (__mmask8)((1u << n) - 1), r);
  }
};

template <class V, int NV>
void forward_nv(const FwdArgs& a) {
  constexpr int PMAX = std::min(24, kAccAvx512 / NV);
  if (a.sw == 1) tiles::forward_image<V, NV, 1, PMAX>(a);
  else tiles::forward_image<V, NV, 0, PMAX>(a);
}

template <class V, int NV, int KW>
void weight_kw(const WgtArgs& a) {
  if constexpr (weight_tile_fits(kAccAvx512, NV, KW)) {
    if (a.sw == 1) tiles::weight_image<V, NV, KW, 1, kAccAvx512>(a);
    else tiles::weight_image<V, NV, KW, 0, kAccAvx512>(a);
  }
}

template <class V, int NV>
void weight_nv(const WgtArgs& a) {
  switch (a.kw) {
    case 1: weight_kw<V, NV, 1>(a); break;
    case 2: weight_kw<V, NV, 2>(a); break;
    case 3: weight_kw<V, NV, 3>(a); break;
    case 4: weight_kw<V, NV, 4>(a); break;
    case 5: weight_kw<V, NV, 5>(a); break;
    case 6: weight_kw<V, NV, 6>(a); break;
    case 7: weight_kw<V, NV, 7>(a); break;
    default: break;
  }
}

}  // namespace

// vl == 8: ymm, one vector (K <= 8); vl == 16: zmm, one or two vectors (K <= 32).
void forward_image_avx512(const FwdArgs& a) {
  if (a.vl == 8) forward_nv<Ymm, 1>(a);
  else if (a.nv == 1) forward_nv<Zmm, 1>(a);
  else forward_nv<Zmm, 2>(a);
}

// vl == 8: one ymm (W <= 8); vl == 16: one or two zmm (W <= 32).
void width_image_avx512(const WidthArgs& a) {
  if (a.vl == 8) tiles::width_image<Ymm, 1, width_cbmax(true, 1)>(a);
  else if (a.nw == 1) tiles::width_image<Zmm, 1, width_cbmax(true, 1)>(a);
  else tiles::width_image<Zmm, 2, width_cbmax(true, 2)>(a);
}

void weight_image_avx512(const WgtArgs& a) {
  if (a.vl == 8) weight_nv<Ymm, 1>(a);
  else if (a.nv == 1) weight_nv<Zmm, 1>(a);
  else weight_nv<Zmm, 2>(a);
}

}  // namespace dlcore::cpu::conv_direct
#endif
