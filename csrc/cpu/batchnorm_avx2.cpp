// batchnorm_avx2.cpp — the float32 inner loops of batchnorm.cpp on 8 lanes (AVX2 + FMA; this
// file alone is compiled with -mavx2 -mfma and only called after the run-time CPU check).
//
// The reductions accumulate in double across blocks of 512 values (see batchnorm.cpp for why)
// and in float within a block (below). Without this file the compiler's portable (SSE2) code
// widens 2 values per instruction, which makes the reduction — not memory — the bottleneck of
// the forward and backward passes. The output passes (y = x scale + shift,
// dx = a dy + b (x - mean) + d) are here too, as 8-lane FMA loops: the portable build's SSE2
// loops need twice the instructions, and once the tensors sit in L3 (two threads) the
// forward measured ~10% faster this way (2026-12-03, 32x64x32x32: 0.30 -> 0.25-0.27 ms for
// the whole _C forward; the backward within noise).
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

namespace dlcore::cpu {
namespace {

inline double hsum(__m256d v) {
  __m128d lo = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(lo, _mm_unpackhi_pd(lo, lo)));
}

inline __m256d lo4(__m256 v) { return _mm256_cvtps_pd(_mm256_castps256_ps128(v)); }
inline __m256d hi4(__m256 v) { return _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)); }

// Both reductions add in float inside blocks of kBlock values (4 accumulator vectors, so each
// lane sums kBlock / 32 = 16 products) and in double across blocks: per 8 floats one load per
// stream, one subtraction, one add, one FMA, where widening every value to double cost four
// conversions and held the loop to 8 floats per FMA latency (the backward's sums ran at
// ~29 GB/s from L3 on one thread, against ~50 for its output pass). A 16-term float sum is
// within ~16 ulps of exact, and the long sums stay double, so the result keeps the accuracy
// of the all-double loop at float32 precision (the tests compare both with float64).
constexpr int64_t kBlock = 512;

// Adds the four float accumulators into the two double ones and clears them.
inline void flush(__m256& f0, __m256& f1, __m256& f2, __m256& f3, __m256d& d0, __m256d& d1) {
  const __m256 s = _mm256_add_ps(_mm256_add_ps(f0, f1), _mm256_add_ps(f2, f3));
  d0 = _mm256_add_pd(d0, lo4(s));
  d1 = _mm256_add_pd(d1, hi4(s));
  f0 = f1 = f2 = f3 = _mm256_setzero_ps();
}

}  // namespace

// *a += sum(x - k), *b += sum((x - k)^2) over n floats. x - k is formed in float: k is one of
// the channel's own values, so for data far from zero (where the shift matters) the
// difference of two nearby floats is exact.
void bn_sums_shift_f32_avx2(const float* x, int64_t n, double k, double* a, double* b) {
  const __m256 kv = _mm256_set1_ps((float)k);
  __m256d da0 = _mm256_setzero_pd(), da1 = da0, db0 = da0, db1 = da0;
  int64_t i = 0;
  while (i + 32 <= n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    __m256 b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    for (const int64_t e = std::min(n - 31, i + kBlock); i < e; i += 32) {
      const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + i), kv);
      const __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), kv);
      const __m256 d2 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 16), kv);
      const __m256 d3 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 24), kv);
      a0 = _mm256_add_ps(a0, d0); b0 = _mm256_fmadd_ps(d0, d0, b0);
      a1 = _mm256_add_ps(a1, d1); b1 = _mm256_fmadd_ps(d1, d1, b1);
      a2 = _mm256_add_ps(a2, d2); b2 = _mm256_fmadd_ps(d2, d2, b2);
      a3 = _mm256_add_ps(a3, d3); b3 = _mm256_fmadd_ps(d3, d3, b3);
    }
    flush(a0, a1, a2, a3, da0, da1);
    flush(b0, b1, b2, b3, db0, db1);
  }
  double sa = hsum(_mm256_add_pd(da0, da1)), sb = hsum(_mm256_add_pd(db0, db1));
  for (; i < n; ++i) {
    const double d = (double)(x[i] - (float)k);
    sa += d;
    sb += d * d;
  }
  *a += sa;
  *b += sb;
}

// *a += sum(g), *b += sum(g (x - m)) over n floats; x - m is formed in float as in the
// portable loop.
void bn_sums_grad_f32_avx2(const float* g, const float* x, int64_t n, float m, double* a,
                           double* b) {
  const __m256 mv = _mm256_set1_ps(m);
  __m256d da0 = _mm256_setzero_pd(), da1 = da0, db0 = da0, db1 = da0;
  int64_t i = 0;
  while (i + 32 <= n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    __m256 b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    for (const int64_t e = std::min(n - 31, i + kBlock); i < e; i += 32) {
      const __m256 g0 = _mm256_loadu_ps(g + i), g1 = _mm256_loadu_ps(g + i + 8);
      const __m256 g2 = _mm256_loadu_ps(g + i + 16), g3 = _mm256_loadu_ps(g + i + 24);
      a0 = _mm256_add_ps(a0, g0);
      a1 = _mm256_add_ps(a1, g1);
      a2 = _mm256_add_ps(a2, g2);
      a3 = _mm256_add_ps(a3, g3);
      b0 = _mm256_fmadd_ps(g0, _mm256_sub_ps(_mm256_loadu_ps(x + i), mv), b0);
      b1 = _mm256_fmadd_ps(g1, _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), mv), b1);
      b2 = _mm256_fmadd_ps(g2, _mm256_sub_ps(_mm256_loadu_ps(x + i + 16), mv), b2);
      b3 = _mm256_fmadd_ps(g3, _mm256_sub_ps(_mm256_loadu_ps(x + i + 24), mv), b3);
    }
    flush(a0, a1, a2, a3, da0, da1);
    flush(b0, b1, b2, b3, db0, db1);
  }
  double sa = hsum(_mm256_add_pd(da0, da1)), sb = hsum(_mm256_add_pd(db0, db1));
  for (; i < n; ++i) {
    sa += (double)g[i];
    sb += (double)g[i] * (double)(x[i] - m);
  }
  *a += sa;
  *b += sb;
}

// y = x a + b over n floats (the forward's output pass).
void bn_apply_f32_avx2(const float* x, float* y, int64_t n, float a, float b) {
  const __m256 av = _mm256_set1_ps(a), bv = _mm256_set1_ps(b);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(_mm256_loadu_ps(x + i), av, bv));
    _mm256_storeu_ps(y + i + 8, _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), av, bv));
  }
  for (; i < n; ++i) y[i] = x[i] * a + b;
}

// out = a g + c (x - m) + d over n floats (the backward's output pass).
void bn_grad_apply_f32_avx2(const float* g, const float* x, float* out, int64_t n, float a,
                            float c, float d, float m) {
  const __m256 av = _mm256_set1_ps(a), cv = _mm256_set1_ps(c), dv = _mm256_set1_ps(d);
  const __m256 mv = _mm256_set1_ps(m);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (int64_t k = i; k < i + 16; k += 8) {
      const __m256 t = _mm256_fmadd_ps(cv, _mm256_sub_ps(_mm256_loadu_ps(x + k), mv), dv);
      _mm256_storeu_ps(out + k, _mm256_fmadd_ps(av, _mm256_loadu_ps(g + k), t));
    }
  }
  for (; i < n; ++i) out[i] = a * g[i] + c * (x[i] - m) + d;
}

}  // namespace dlcore::cpu

namespace dlcore::cpu {

// (N, C) input, one row of C channels: pa[c] += x[c] - k[c], pb[c] += (x[c] - k[c])^2.
// (Keeping 16 channels in registers while a block's rows stream past was measured 2.5x
// slower for C = 512: the column walk strides 2 KB per row, which the prefetchers and the
// L1 sets handle badly; row by row the loads are contiguous and the partials stay in L1.)
void bn_row_sums_shift_f32_avx2(const float* x, const double* k, double* pa, double* pb,
                                int64_t C) {
  int64_t c = 0;
  for (; c + 8 <= C; c += 8) {
    const __m256 v = _mm256_loadu_ps(x + c);
    const __m256d d0 = _mm256_sub_pd(lo4(v), _mm256_loadu_pd(k + c));
    const __m256d d1 = _mm256_sub_pd(hi4(v), _mm256_loadu_pd(k + c + 4));
    _mm256_storeu_pd(pa + c, _mm256_add_pd(_mm256_loadu_pd(pa + c), d0));
    _mm256_storeu_pd(pa + c + 4, _mm256_add_pd(_mm256_loadu_pd(pa + c + 4), d1));
    _mm256_storeu_pd(pb + c, _mm256_fmadd_pd(d0, d0, _mm256_loadu_pd(pb + c)));
    _mm256_storeu_pd(pb + c + 4, _mm256_fmadd_pd(d1, d1, _mm256_loadu_pd(pb + c + 4)));
  }
  for (; c < C; ++c) {
    const double d = (double)x[c] - k[c];
    pa[c] += d;
    pb[c] += d * d;
  }
}

// (N, C) input: pa[c] += g[c], pb[c] += g[c] (x[c] - m[c]) (x - m in float, as the portable loop).
void bn_row_sums_grad_f32_avx2(const float* g, const float* x, const float* m, double* pa,
                               double* pb, int64_t C) {
  int64_t c = 0;
  for (; c + 8 <= C; c += 8) {
    const __m256 gv = _mm256_loadu_ps(g + c);
    const __m256 dv = _mm256_sub_ps(_mm256_loadu_ps(x + c), _mm256_loadu_ps(m + c));
    const __m256d g0 = lo4(gv), g1 = hi4(gv);
    _mm256_storeu_pd(pa + c, _mm256_add_pd(_mm256_loadu_pd(pa + c), g0));
    _mm256_storeu_pd(pa + c + 4, _mm256_add_pd(_mm256_loadu_pd(pa + c + 4), g1));
    _mm256_storeu_pd(pb + c, _mm256_fmadd_pd(g0, lo4(dv), _mm256_loadu_pd(pb + c)));
    _mm256_storeu_pd(pb + c + 4, _mm256_fmadd_pd(g1, hi4(dv), _mm256_loadu_pd(pb + c + 4)));
  }
  for (; c < C; ++c) {
    pa[c] += (double)g[c];
    pb[c] += (double)g[c] * (double)(x[c] - m[c]);
  }
}

}  // namespace dlcore::cpu
