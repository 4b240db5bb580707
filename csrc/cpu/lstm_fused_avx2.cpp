// lstm_fused_avx2.cpp — the fused LSTM steps (lstm_fused_impl.h) on 8 float lanes (compiled
// with -mavx2 -mfma; lstm.cpp calls these only after the CPU check said AVX2 + FMA).
//
// Tile: 6 rows x 2 ymm = 12 accumulators, 2 B vectors and a broadcast: 15 of the 16 ymm; the
// four gate vectors of a panel take two passes. Per k step 12 FMAs against 2 loads and 6
// broadcasts (a 2 x 4 tile in one pass did 8 FMAs per 6 loads and ran ~40% slower).
#include <immintrin.h>

#include "lstm_fused_impl.h"

namespace dlcore::cpu::lstm_fused {
namespace {

struct Ymm {
  using R = __m256;
  using M = __m256i;
  static constexpr int W = 8, NV = 2, MR_F = 6, MR_B = 6;
  static M mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static R load(const float* p) { return _mm256_loadu_ps(p); }
  static R load(M m, const float* p) { return _mm256_maskload_ps(p, m); }
  static void store(float* p, R v) { _mm256_storeu_ps(p, v); }
  static void store(float* p, M m, R v) { _mm256_maskstore_ps(p, m, v); }
  static R gather(M m, const float* p, int64_t stride) {
    const __m256i idx = _mm256_mullo_epi32(_mm256_set1_epi32((int)stride),
                                           _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return _mm256_mask_i32gather_ps(_mm256_setzero_ps(), p, idx, _mm256_castsi256_ps(m), 4);
  }
  static R bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static R set1(float x) { return _mm256_set1_ps(x); }
  static R zero() { return _mm256_setzero_ps(); }
  static void acc(R& c, R a, R b) { __asm__("vfmadd231ps %2, %1, %0" : "+x"(c) : "x"(a), "x"(b)); }
  static R fma(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  static R fnma(R a, R b, R c) { return _mm256_fnmadd_ps(a, b, c); }
  static R rcp(R x) { return _mm256_rcp_ps(x); }
  static R add(R a, R b) { return _mm256_add_ps(a, b); }
  static R sub(R a, R b) { return _mm256_sub_ps(a, b); }
  static R mul(R a, R b) { return _mm256_mul_ps(a, b); }
  static R div(R a, R b) { return _mm256_div_ps(a, b); }
  static R min(R a, R b) { return _mm256_min_ps(a, b); }
  static R max(R a, R b) { return _mm256_max_ps(a, b); }
  static R abs(R x) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x); }
  static R sign_of(R x) { return _mm256_and_ps(x, _mm256_set1_ps(-0.0f)); }
  static R or_(R a, R b) { return _mm256_or_ps(a, b); }
  // n = round(x*c) by the shifter constant 1.5*2^23 + 127: the FMA's rounding leaves n + 127
  // in the low mantissa bits of t (|x*c| < 2^22), so n = t - shifter and 2^n is t's bits
  // shifted into the exponent field: fma, sub, shift and mul instead of mul, round, convert,
  // add, shift and mul (the cell evaluates five exponentials per value; AVX2 has no scalef).
  static constexpr float kShifter = 12582912.0f + 127.0f;
  static R nearest_times(R x, R c, R& n) {
    const R t = _mm256_fmadd_ps(x, c, _mm256_set1_ps(kShifter));
    n = _mm256_sub_ps(t, _mm256_set1_ps(kShifter));
    return t;
  }
  static R pow2(R t) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(t), 23)); }
  static R scale2(R p, R t) { return _mm256_mul_ps(p, pow2(t)); }
};

}  // namespace

void pack_forward_avx2(int64_t H, int64_t I, const float* w_hh, const float* w_ih,
                       float* wp, int64_t u0, int64_t u1) {
  impl::pack_forward<Ymm>(H, I, w_hh, w_ih, wp, u0, u1);
}
void pack_backward_avx2(int64_t H, int64_t cols, const float* w, float* wp) {
  impl::pack_backward<Ymm>(H, cols, w, wp);
}
void step_forward_avx2(const ForwardStep& s) { impl::step_forward<Ymm>(s); }
void step_backward_avx2(const BackwardStep& s) { impl::step_backward<Ymm>(s); }
void weight_grad_avx2(const WeightGrad& s) { impl::weight_grad<Ymm>(s); }

}  // namespace dlcore::cpu::lstm_fused
