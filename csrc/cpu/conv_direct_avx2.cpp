// conv_direct_avx2.cpp — the direct convolution tiles (conv_direct_tiles.h) on AVX2 + FMA
// (compiled with -mavx2 -mfma; conv_direct.cpp calls it only after the run-time check).
// 16 ymm registers: one or two 8-channel vectors (K <= 16), at most 12 accumulators.
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "conv_direct_tiles.h"

namespace dlcore::cpu::conv_direct {
namespace {

struct Ymm {
  using reg = __m256;
  static constexpr int L = 8;
  static reg zero() { return _mm256_setzero_ps(); }
  static reg load(const float* p) { return _mm256_loadu_ps(p); }
  static reg bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static void store(float* p, reg r) { _mm256_storeu_ps(p, r); }
  static void store_n(float* p, reg r, int n) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    _mm256_maskstore_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane), r);
  }
};

template <int NV>
void forward_nv(const FwdArgs& a) {
  constexpr int PMAX = kAccAvx2 / NV;
  if (a.sw == 1) tiles::forward_image<Ymm, NV, 1, PMAX>(a);
  else tiles::forward_image<Ymm, NV, 0, PMAX>(a);
}

template <int NV, int KW>
void weight_kw(const WgtArgs& a) {
  if constexpr (weight_tile_fits(kAccAvx2, NV, KW)) {
    if (a.sw == 1) tiles::weight_image<Ymm, NV, KW, 1, kAccAvx2>(a);
    else tiles::weight_image<Ymm, NV, KW, 0, kAccAvx2>(a);
  }
}

template <int NV>
void weight_nv(const WgtArgs& a) {
  switch (a.kw) {
    case 1: weight_kw<NV, 1>(a); break;
    case 2: weight_kw<NV, 2>(a); break;
    case 3: weight_kw<NV, 3>(a); break;
    case 4: weight_kw<NV, 4>(a); break;
    case 5: weight_kw<NV, 5>(a); break;
    case 6: weight_kw<NV, 6>(a); break;
    case 7: weight_kw<NV, 7>(a); break;
    default: break;
  }
}

}  // namespace

// vl == 8 always; nv = 1 (K <= 8) or 2 (K <= 16).
void forward_image_avx2(const FwdArgs& a) {
  if (a.nv == 1) forward_nv<1>(a);
  else forward_nv<2>(a);
}

// vl == 8; one or two ymm (W <= 16).
void width_image_avx2(const WidthArgs& a) {
  if (a.nw == 1) tiles::width_image<Ymm, 1, width_cbmax(false, 1)>(a);
  else tiles::width_image<Ymm, 2, width_cbmax(false, 2)>(a);
}

void weight_image_avx2(const WgtArgs& a) {
  if (a.nv == 1) weight_nv<1>(a);
  else weight_nv<2>(a);
}

}  // namespace dlcore::cpu::conv_direct
#endif
