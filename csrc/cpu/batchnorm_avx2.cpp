// batchnorm_avx2.cpp — the float32 inner loops of batchnorm.cpp on 8 lanes (AVX2 + FMA; this
// file alone is compiled with -mavx2 -mfma and only called after the run-time CPU check).
//
// The reductions accumulate in double (see batchnorm.cpp for why): 8 floats are widened to two
// 4-double vectors, and two accumulator pairs per sum keep the FMA latency hidden. Without this
// file the compiler's portable (SSE2) code widens 2 values per instruction, which makes the
// reduction — not memory — the bottleneck of the forward and backward passes. The output
// passes (y = x scale + shift, dx = a dy + b (x - mean) + d) stay in batchnorm.cpp: float
// arithmetic that the compiler vectorises, bound by memory traffic (8-lane versions measured
// no faster on 32x64x32x32).
#include <immintrin.h>

#include <cstdint>

namespace dlcore::cpu {
namespace {

inline double hsum(__m256d v) {
  __m128d lo = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(lo, _mm_unpackhi_pd(lo, lo)));
}

inline __m256d lo4(__m256 v) { return _mm256_cvtps_pd(_mm256_castps256_ps128(v)); }
inline __m256d hi4(__m256 v) { return _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)); }

}  // namespace

// *a += sum(x - k), *b += sum((x - k)^2) over n floats.
void bn_sums_shift_f32_avx2(const float* x, int64_t n, double k, double* a, double* b) {
  const __m256d kv = _mm256_set1_pd(k);
  __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
  __m256d b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 u = _mm256_loadu_ps(x + i), v = _mm256_loadu_ps(x + i + 8);
    const __m256d d0 = _mm256_sub_pd(lo4(u), kv), d1 = _mm256_sub_pd(hi4(u), kv);
    const __m256d d2 = _mm256_sub_pd(lo4(v), kv), d3 = _mm256_sub_pd(hi4(v), kv);
    a0 = _mm256_add_pd(a0, d0); b0 = _mm256_fmadd_pd(d0, d0, b0);
    a1 = _mm256_add_pd(a1, d1); b1 = _mm256_fmadd_pd(d1, d1, b1);
    a2 = _mm256_add_pd(a2, d2); b2 = _mm256_fmadd_pd(d2, d2, b2);
    a3 = _mm256_add_pd(a3, d3); b3 = _mm256_fmadd_pd(d3, d3, b3);
  }
  double sa = hsum(_mm256_add_pd(_mm256_add_pd(a0, a1), _mm256_add_pd(a2, a3)));
  double sb = hsum(_mm256_add_pd(_mm256_add_pd(b0, b1), _mm256_add_pd(b2, b3)));
  for (; i < n; ++i) {
    const double d = (double)x[i] - k;
    sa += d;
    sb += d * d;
  }
  *a += sa;
  *b += sb;
}

// *a += sum(g), *b += sum(g (x - m)) over n floats; x - m is formed in float as in the
// portable loop, the products and sums in double.
void bn_sums_grad_f32_avx2(const float* g, const float* x, int64_t n, float m, double* a,
                           double* b) {
  const __m256 mv = _mm256_set1_ps(m);
  __m256d a0 = _mm256_setzero_pd(), a1 = a0, b0 = a0, b1 = a0;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 gv = _mm256_loadu_ps(g + i);
    const __m256 dv = _mm256_sub_ps(_mm256_loadu_ps(x + i), mv);
    const __m256d g0 = lo4(gv), g1 = hi4(gv);
    a0 = _mm256_add_pd(a0, g0);
    a1 = _mm256_add_pd(a1, g1);
    b0 = _mm256_fmadd_pd(g0, lo4(dv), b0);
    b1 = _mm256_fmadd_pd(g1, hi4(dv), b1);
  }
  double sa = hsum(_mm256_add_pd(a0, a1)), sb = hsum(_mm256_add_pd(b0, b1));
  for (; i < n; ++i) {
    sa += (double)g[i];
    sb += (double)g[i] * (double)(x[i] - m);
  }
  *a += sa;
  *b += sb;
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
