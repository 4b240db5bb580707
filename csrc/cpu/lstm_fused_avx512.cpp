// lstm_fused_avx512.cpp — the fused LSTM steps (lstm_fused_impl.h) on 16 float lanes
// (compiled with -mavx512f/bw/dq/vl; lstm.cpp calls these only when the GEMM path is avx512).
//
// Tile: 6 rows x 4 zmm = 24 accumulators, 4 B vectors and one broadcast: 29 of the 32 zmm.
// Per k step 24 FMAs against 4 loads and 6 broadcasts, so the FMA pipes are the limit.
#include <immintrin.h>

#include "lstm_fused_impl.h"

// GCC 12's avx512fintrin.h builds unmasked ops on an intentionally undefined pass-through
// register, which -W(maybe-)uninitialized reports once per instantiation. Not a real read.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace dlcore::cpu::lstm_fused {
namespace {

struct Zmm {
  using R = __m512;
  using M = __mmask16;
  static constexpr int W = 16, NV = 4, MR_F = 6, MR_B = 6;
  static M mask(int n) { return n >= W ? (M)0xFFFF : (M)((1u << (n > 0 ? n : 0)) - 1u); }
  static R load(const float* p) { return _mm512_loadu_ps(p); }
  static R load(M m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
  static void store(float* p, R v) { _mm512_storeu_ps(p, v); }
  static void store(float* p, M m, R v) { _mm512_mask_storeu_ps(p, m, v); }
  static R gather(M m, const float* p, int64_t stride) {
    const __m512i idx = _mm512_mullo_epi32(_mm512_set1_epi32((int)stride),
                                           _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                                             11, 12, 13, 14, 15));
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx, p, 4);
  }
  static R bcast(const float* p) { return _mm512_set1_ps(*p); }
  static R set1(float x) { return _mm512_set1_ps(x); }
  static R zero() { return _mm512_setzero_ps(); }
  // c += a*b with c tied to its register (with the intrinsic GCC may let an FMA write into a
  // dead B register and then shuffle the accumulators between registers).
  static void acc(R& c, R a, R b) { __asm__("vfmadd231ps %2, %1, %0" : "+v"(c) : "v"(a), "v"(b)); }
  static R fma(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static R fnma(R a, R b, R c) { return _mm512_fnmadd_ps(a, b, c); }
  static R rcp(R x) { return _mm512_rcp14_ps(x); }
  static R add(R a, R b) { return _mm512_add_ps(a, b); }
  static R sub(R a, R b) { return _mm512_sub_ps(a, b); }
  static R mul(R a, R b) { return _mm512_mul_ps(a, b); }
  static R div(R a, R b) { return _mm512_div_ps(a, b); }
  static R min(R a, R b) { return _mm512_min_ps(a, b); }
  static R max(R a, R b) { return _mm512_max_ps(a, b); }
  static R abs(R x) { return _mm512_abs_ps(x); }
  static R sign_of(R x) { return _mm512_and_ps(x, _mm512_set1_ps(-0.0f)); }
  static R or_(R a, R b) { return _mm512_or_ps(a, b); }
  static R nearest_times(R x, R c, R& n) {
    n = _mm512_roundscale_ps(_mm512_mul_ps(x, c), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    return n;
  }
  // One vscalefps instead of building 2^n in the exponent field and multiplying (4 ops): the
  // cell evaluates five exponentials per value.
  static R scale2(R p, R n) { return _mm512_scalef_ps(p, n); }
  static R pow2(R n) { return _mm512_scalef_ps(_mm512_set1_ps(1.0f), n); }
};

}  // namespace

void pack_forward_avx512(int64_t H, int64_t I, const float* w_hh, const float* w_ih,
                         float* wp, int64_t u0, int64_t u1) {
  impl::pack_forward<Zmm>(H, I, w_hh, w_ih, wp, u0, u1);
}
void pack_backward_avx512(int64_t H, int64_t cols, const float* w, float* wp) {
  impl::pack_backward<Zmm>(H, cols, w, wp);
}
void step_forward_avx512(const ForwardStep& s) { impl::step_forward<Zmm>(s); }
void step_backward_avx512(const BackwardStep& s) { impl::step_backward<Zmm>(s); }
void weight_grad_avx512(const WeightGrad& s) { impl::weight_grad<Zmm>(s); }

}  // namespace dlcore::cpu::lstm_fused
