// activation_avx2.cpp — float32 activations 8 lanes at a time (compiled with -mavx2 -mfma;
// activation.cpp calls these only after has_avx2_fma() / simd_path() said yes).
//
// The point is exp: std::exp is a scalar library call, so sigmoid, tanh, silu, elu, softplus
// and tanh-GELU would run one element at a time. exp8() below is the classic Cody–Waite reduction
//   x = n ln2 + r, |r| <= ln2/2,   e^x = 2^n * P(r)
// with a degree-6 minimax polynomial for e^r (Cephes' expf coefficients, ~1 ulp), and 2^n
// built in the exponent bits. Every finite float result is produced (subnormals included);
// inputs past the float range give exactly 0 / inf, so sigmoid saturates like the scalar path.
#include <immintrin.h>

#include <cstdint>

#include "kernels.h"

namespace dlcore::cpu {
namespace {

// The shared core of both exponentials below: for a clamped xc, n = round(xc / ln2) and
// P(r) = e^r with r = xc - n ln2 (ln2 split in two so n*ln2_hi is exact).
inline __m256 exp8_reduced(__m256 xc, __m256& n) {
  n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), xc);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  return _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
}

inline __m256 exp8(__m256 x) {
  // Past ln(FLT_MAX) the result is inf, below ln of the smallest subnormal it is 0; in between
  // every result is representable, subnormals included.
  const __m256 hi = _mm256_set1_ps(88.72283935546875f);
  const __m256 lo = _mm256_set1_ps(-103.972084045410156f);
  const __m256 over = _mm256_cmp_ps(x, hi, _CMP_GT_OQ);
  const __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  __m256 n;
  const __m256 p = exp8_reduced(_mm256_max_ps(_mm256_min_ps(x, hi), lo), n);
  // 2^n for n in [-150, 128] is not one float; 2^n1 * 2^n2 with n1 = floor(n/2), n2 = n - n1
  // (both in [-75, 64]) are. The first product is exact, the second rounds once (also into
  // the subnormal range).
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
  const __m256i bias = _mm256_set1_epi32(127);
  const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
  const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
  __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
  y = _mm256_blendv_ps(y, _mm256_setzero_ps(), under);
  y = _mm256_blendv_ps(y, _mm256_set1_ps(__builtin_inff()), over);
  // NaN input: the comparisons above are false and the clamps return `lo`; restore the NaN.
  return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

// e^x for a term of a sum that also holds e^0 = 1 (softmax's x - row max <= 0, summed only):
// exp8's reduction and polynomial, the same n and r, but x clamped to [-87.3, 88.3] so that 2^n
// is one normal float built by one shift: no overflow / underflow / NaN blends and no split
// scale (17 operations instead of 30). Wherever exp8's result is normal (x >= -87.3) the two
// agree bit for bit: p * 2^n is exact in both. Below, a term comes out as ~1.2e-38 instead of
// a subnormal or 0, and vanishes the same way in a sum >= 1 (half an ulp of 1 is 6e-8), so the
// sums are exp8's bits. A NaN passes (the clamps return their second operand).
inline __m256 exp8_sum_term(__m256 x) {
  __m256 n;
  const __m256 p = exp8_reduced(
      _mm256_min_ps(_mm256_set1_ps(88.3f), _mm256_max_ps(_mm256_set1_ps(-87.3f), x)), n);
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

// ln x, Cephes logf: x = 2^e * m with m in [sqrt(1/2), sqrt(2)), ln x = e ln2 + ln(1 + f),
// f = m - 1, ln(1 + f) = f - f^2/2 + f^3 P(f) (degree-8 minimax P, ~1 ulp), ln2 split in two.
// Subnormal x is scaled by 2^23 first; x = 0 gives -inf, x < 0 NaN, inf inf, NaN NaN.
inline __m256 log8(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 sub = _mm256_cmp_ps(x, _mm256_set1_ps(1.17549435e-38f), _CMP_LT_OQ);
  __m256 xs = _mm256_blendv_ps(x, _mm256_mul_ps(x, _mm256_set1_ps(8388608.0f)), sub);
  const __m256i bits = _mm256_castps_si256(xs);
  __m256 e = _mm256_cvtepi32_ps(_mm256_sub_epi32(
      _mm256_and_si256(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(0xFF)), _mm256_set1_epi32(126)));
  e = _mm256_sub_ps(e, _mm256_and_ps(sub, _mm256_set1_ps(23.0f)));
  __m256 m = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x807FFFFF)),
                                                 _mm256_set1_epi32(0x3F000000)));   // [0.5, 1)
  const __m256 small = _mm256_cmp_ps(m, _mm256_set1_ps(0.707106781186547524f), _CMP_LT_OQ);
  e = _mm256_sub_ps(e, _mm256_and_ps(small, one));
  const __m256 f = _mm256_sub_ps(_mm256_add_ps(m, _mm256_and_ps(small, m)), one);
  const __m256 z = _mm256_mul_ps(f, f);
  __m256 p = _mm256_set1_ps(7.0376836292e-2f);
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.1514610310e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.1676998740e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.2420140846e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.4249322787e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.6668057665e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.0000714765e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-2.4999993993e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(3.3333331174e-1f));
  __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, z), f);
  y = _mm256_fmadd_ps(e, _mm256_set1_ps(-2.12194440e-4f), y);
  y = _mm256_fnmadd_ps(_mm256_set1_ps(0.5f), z, y);
  __m256 r = _mm256_add_ps(f, y);
  r = _mm256_fmadd_ps(e, _mm256_set1_ps(0.693359375f), r);
  // Specials: x == 0 -> -inf, x < 0 -> NaN, x == +inf -> +inf; NaN stays NaN.
  const __m256 zero = _mm256_setzero_ps();
  const __m256 inf = _mm256_set1_ps(__builtin_inff());
  r = _mm256_blendv_ps(r, inf, _mm256_cmp_ps(x, inf, _CMP_EQ_OQ));
  r = _mm256_blendv_ps(r, _mm256_sub_ps(zero, inf), _mm256_cmp_ps(x, zero, _CMP_EQ_OQ));
  r = _mm256_blendv_ps(r, _mm256_set1_ps(__builtin_nanf("")), _mm256_cmp_ps(x, zero, _CMP_LT_OQ));
  return _mm256_blendv_ps(r, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

// ln(1 + y) for y >= 0 (softplus' log1p(e^-|z|)): u = 1 + y rounds, so correct ln u by the
// rounding error ((u - 1) - y) / u; u == 1 gives exactly y.
inline __m256 log1p8(__m256 y) {
  const __m256 u = _mm256_add_ps(y, _mm256_set1_ps(1.0f));
  const __m256 err = _mm256_sub_ps(_mm256_sub_ps(u, _mm256_set1_ps(1.0f)), y);
  return _mm256_sub_ps(log8(u), _mm256_div_ps(err, u));
}

inline __m256 sigmoid8(__m256 x) {
  // 1 / (1 + e^-x): e^-x = inf for very negative x gives exactly 0, tiny gives 1.
  const __m256 one = _mm256_set1_ps(1.0f);
  __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), x));
  return _mm256_div_ps(one, _mm256_add_ps(one, e));
}

inline __m256 tanh8(__m256 x) {
  // |x| < 0.625: odd polynomial (Cephes tanhf) — 1 - 2/(e^2x + 1) would cancel there.
  // Otherwise tanh|x| = 1 - 2 / (e^{2|x|} + 1), sign restored at the end.
  const __m256 sign_mask = _mm256_set1_ps(-0.0f);
  const __m256 one = _mm256_set1_ps(1.0f);
  __m256 ax = _mm256_andnot_ps(sign_mask, x);
  __m256 s = _mm256_mul_ps(x, x);
  __m256 p = _mm256_set1_ps(-5.70498872745e-3f);
  p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(2.06390887954e-2f));
  p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(-5.37397155531e-2f));
  p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(1.33314422036e-1f));
  p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(-3.33332819422e-1f));
  __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, s), x, x);
  __m256 e = exp8(_mm256_add_ps(ax, ax));
  __m256 big = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
  big = _mm256_or_ps(big, _mm256_and_ps(x, sign_mask));
  return _mm256_blendv_ps(big, small, _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_LT_OQ));
}

inline __m256 expm1_8(__m256 x) {
  // e^x - 1 loses all relative accuracy near 0; a Taylor series to x^7 is exact to float
  // precision for |x| < 0.35, and e^x - 1 is fine beyond.
  __m256 p = _mm256_set1_ps(1.0f / 5040);
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(1.0f / 720));
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(1.0f / 120));
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(1.0f / 24));
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(1.0f / 6));
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(0.5f));
  __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, x), x, x);
  __m256 big = _mm256_sub_ps(exp8(x), _mm256_set1_ps(1.0f));
  __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
  return _mm256_blendv_ps(big, small, _mm256_cmp_ps(ax, _mm256_set1_ps(0.35f), _CMP_LT_OQ));
}

// Applies f to full vectors, then to a zero-padded copy of the tail (no scalar remainder
// loop with a different rounding behaviour).
template <typename F>
inline void map8(const float* x, float* y, int64_t n, F f) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, f(_mm256_loadu_ps(x + i)));
  if (i < n) {
    alignas(32) float tx[8] = {0}, ty[8];
    for (int64_t k = 0; k < n - i; ++k) tx[k] = x[i + k];
    _mm256_store_ps(ty, f(_mm256_load_ps(tx)));
    for (int64_t k = 0; k < n - i; ++k) y[i + k] = ty[k];
  }
}

template <typename F>
inline void map8_2(const float* a, const float* b, float* y, int64_t n, F f) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, f(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
  if (i < n) {
    alignas(32) float ta[8] = {0}, tb[8] = {0}, ty[8];
    for (int64_t k = 0; k < n - i; ++k) { ta[k] = a[i + k]; tb[k] = b[i + k]; }
    _mm256_store_ps(ty, f(_mm256_load_ps(ta), _mm256_load_ps(tb)));
    for (int64_t k = 0; k < n - i; ++k) y[i + k] = ty[k];
  }
}

}  // namespace

bool activation_forward_f32_avx2(ActOp op, const float* x, float* y, int64_t n, float a,
                                 float b) {
  const __m256 zero = _mm256_setzero_ps();
  switch (op) {
    case ActOp::Sigmoid:
      map8(x, y, n, [](__m256 v) { return sigmoid8(v); });
      return true;
    case ActOp::Tanh:
      map8(x, y, n, [](__m256 v) { return tanh8(v); });
      return true;
    case ActOp::Silu:
      map8(x, y, n, [](__m256 v) { return _mm256_mul_ps(v, sigmoid8(v)); });
      return true;
    case ActOp::Elu: {
      const __m256 va = _mm256_set1_ps(a);
      map8(x, y, n, [&](__m256 v) {
        __m256 neg = _mm256_mul_ps(va, expm1_8(_mm256_min_ps(v, zero)));
        return _mm256_blendv_ps(neg, v, _mm256_cmp_ps(v, zero, _CMP_GT_OQ));
      });
      return true;
    }
    case ActOp::Softplus: {   // z = beta x; z > threshold ? x : (max(z, 0) + log1p(e^-|z|)) / beta
      const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
      const __m256 sign_mask = _mm256_set1_ps(-0.0f);
      map8(x, y, n, [&](__m256 v) {
        const __m256 z = _mm256_mul_ps(v, va);
        const __m256 e = exp8(_mm256_or_ps(z, sign_mask));            // e^-|z|
        const __m256 pos = _mm256_blendv_ps(z, zero, _mm256_cmp_ps(z, zero, _CMP_LT_OQ));
        const __m256 r = _mm256_div_ps(_mm256_add_ps(pos, log1p8(e)), va);
        return _mm256_blendv_ps(r, v, _mm256_cmp_ps(z, vb, _CMP_GT_OQ));
      });
      return true;
    }
    case ActOp::GeluTanh:
      map8(x, y, n, [&](__m256 v) {
        const __m256 v3 = _mm256_mul_ps(_mm256_mul_ps(v, v), v);
        const __m256 u = _mm256_mul_ps(_mm256_set1_ps(0.79788456080286535588f),
                                       _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), v3, v));
        const __m256 half_x = _mm256_mul_ps(_mm256_set1_ps(0.5f), v);
        return _mm256_fmadd_ps(half_x, tanh8(u), half_x);
      });
      return true;
    default:
      return false;   // relu / leaky relu vectorize as plain C++; gelu (erf) stays scalar
  }
}

bool activation_backward_f32_avx2(ActOp op, const float* g, const float* x, const float* y,
                                  float* gx, int64_t n, float a, float b) {
  (void)y;
  const __m256 one = _mm256_set1_ps(1.0f);
  switch (op) {
    case ActOp::Softplus: {   // z > threshold ? g : g * sigmoid(z), z = beta x
      const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
      map8_2(g, x, gx, n, [&](__m256 vg, __m256 vx) {
        const __m256 z = _mm256_mul_ps(vx, va);
        return _mm256_blendv_ps(_mm256_mul_ps(vg, sigmoid8(z)), vg, _mm256_cmp_ps(z, vb, _CMP_GT_OQ));
      });
      return true;
    }
    case ActOp::GeluTanh:   // g * (0.5 (1 + t) + 0.5 x (1 - t^2) du), t = tanh(u)
      map8_2(g, x, gx, n, [&](__m256 vg, __m256 vx) {
        const __m256 k = _mm256_set1_ps(0.79788456080286535588f), c = _mm256_set1_ps(0.044715f);
        const __m256 half = _mm256_set1_ps(0.5f);
        const __m256 x2 = _mm256_mul_ps(vx, vx);
        const __m256 t = tanh8(_mm256_mul_ps(k, _mm256_fmadd_ps(_mm256_mul_ps(c, x2), vx, vx)));
        const __m256 du = _mm256_mul_ps(k, _mm256_fmadd_ps(_mm256_set1_ps(3 * 0.044715f), x2, one));
        const __m256 d = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_mul_ps(half, vx),
                                                       _mm256_fnmadd_ps(t, t, one)), du,
                                         _mm256_mul_ps(half, _mm256_add_ps(one, t)));
        return _mm256_mul_ps(vg, d);
      });
      return true;
    case ActOp::Silu:   // g * s * (1 + x (1 - s))
      map8_2(g, x, gx, n, [&](__m256 vg, __m256 vx) {
        __m256 s = sigmoid8(vx);
        __m256 d = _mm256_fmadd_ps(vx, _mm256_sub_ps(one, s), one);
        return _mm256_mul_ps(vg, _mm256_mul_ps(s, d));
      });
      return true;
    default:
      return false;
  }
}

// y = e^x and y = ln x (Tensor.exp / log on contiguous float32: elementwise.cpp calls them).
void exp_f32_avx2(const float* x, float* y, int64_t n) {
  map8(x, y, n, [](__m256 v) { return exp8(v); });
}
void log_f32_avx2(const float* x, float* y, int64_t n) {
  map8(x, y, n, [](__m256 v) { return log8(v); });
}

// y = exp(x - shift) (y may alias x, or be null to only sum); returns the sum of the exps.
// softmax.cpp's row loops use it: the exp is all of a softmax's arithmetic. Its callers shift
// by the row's maximum, so a sum-only call (log-sum-exp: cross-entropy, log_softmax) takes
// exp8_sum_term; a call that stores the exps keeps exp8's subnormals.
template <bool kStore>
static float exp_shift_sum_impl(const float* x, float* y, int64_t n, float shift) {
  const auto ex = [](__m256 v) { return kStore ? exp8(v) : exp8_sum_term(v); };
  const __m256 vs = _mm256_set1_ps(shift);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {   // two independent chains hide the add latency
    __m256 e0 = ex(_mm256_sub_ps(_mm256_loadu_ps(x + i), vs));
    __m256 e1 = ex(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vs));
    if (kStore) { _mm256_storeu_ps(y + i, e0); _mm256_storeu_ps(y + i + 8, e1); }
    acc0 = _mm256_add_ps(acc0, e0);
    acc1 = _mm256_add_ps(acc1, e1);
  }
  for (; i + 8 <= n; i += 8) {
    __m256 e0 = ex(_mm256_sub_ps(_mm256_loadu_ps(x + i), vs));
    if (kStore) _mm256_storeu_ps(y + i, e0);
    acc0 = _mm256_add_ps(acc0, e0);
  }
  if (i < n) {   // the last n % 8 values: masked load and store, the other lanes -inf
    // (e^-inf = 0 with exp8; ~1.2e-38 with exp8_sum_term, lost in the sum as above).
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n - i)),
                                         _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256 v = _mm256_blendv_ps(_mm256_set1_ps(-__builtin_inff()), _mm256_maskload_ps(x + i, m),
                                      _mm256_castsi256_ps(m));
    const __m256 e = ex(_mm256_sub_ps(v, vs));
    if (kStore) _mm256_maskstore_ps(y + i, m, e);
    acc1 = _mm256_add_ps(acc1, e);
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, _mm256_add_ps(acc0, acc1));
  return ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
}

// max_j x[j] for the softmax shift, as softmax.cpp's row_max: a NaN element is skipped (the
// comparison keeps the running maximum), -inf for n = 0. Four vectors of running maxima
// instead of one scalar chain (the scalar loop took 44% of a 4096 x 1000 cross-entropy
// forward). max is exact, so the lane order does not matter: the same value as the scalar loop.
float row_max_f32_avx2(const float* x, int64_t n) {
  const __m256 ninf = _mm256_set1_ps(-__builtin_inff());
  __m256 m0 = ninf, m1 = ninf, m2 = ninf, m3 = ninf;
  int64_t i = 0;
  // max_ps(a, b) returns b when either is NaN: x first keeps the running maximum past a NaN.
  for (; i + 32 <= n; i += 32) {
    m0 = _mm256_max_ps(_mm256_loadu_ps(x + i), m0);
    m1 = _mm256_max_ps(_mm256_loadu_ps(x + i + 8), m1);
    m2 = _mm256_max_ps(_mm256_loadu_ps(x + i + 16), m2);
    m3 = _mm256_max_ps(_mm256_loadu_ps(x + i + 24), m3);
  }
  for (; i + 8 <= n; i += 8) m0 = _mm256_max_ps(_mm256_loadu_ps(x + i), m0);
  alignas(32) float l[8];
  _mm256_store_ps(l, _mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3)));
  float m = l[0];
  for (int k = 1; k < 8; ++k) m = l[k] > m ? l[k] : m;
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

// One row of the cross-entropy gradient: g[j] = e^(x[j] - lse) * a - c (the softmax scaled by
// the loss's factor, minus label smoothing's share), in one pass: exp8 (subnormals kept), one
// fma, the store. (As exp_shift_sum then a scaling loop it took two passes over the row, a sum
// nobody read and the call's setup twice: ~190 cycles per 64-wide row, the char-LM's shape.)
void ce_grad_row_f32_avx2(const float* x, float* g, int64_t n, float lse, float a, float c) {
  const __m256 vs = _mm256_set1_ps(lse), va = _mm256_set1_ps(a), vc = _mm256_set1_ps(c);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 e0 = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vs));
    const __m256 e1 = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vs));
    _mm256_storeu_ps(g + i, _mm256_fmsub_ps(e0, va, vc));
    _mm256_storeu_ps(g + i + 8, _mm256_fmsub_ps(e1, va, vc));
  }
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(g + i, _mm256_fmsub_ps(exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vs)), va, vc));
  if (i < n) {
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n - i)),
                                         _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256 e = exp8(_mm256_sub_ps(_mm256_maskload_ps(x + i, m), vs));
    _mm256_maskstore_ps(g + i, m, _mm256_fmsub_ps(e, va, vc));
  }
}

float exp_shift_sum_f32_avx2(const float* x, float* y, int64_t n, float shift) {
  return y ? exp_shift_sum_impl<true>(x, y, n, shift) : exp_shift_sum_impl<false>(x, y, n, shift);
}

}  // namespace dlcore::cpu
