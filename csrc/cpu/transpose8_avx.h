// transpose8_avx.h — an 8x8 float transpose in AVX registers and the B^T panel packer built
// on it, shared by the AVX2 and AVX-512
// GEMM translation units (both are compiled with -mavx2; only they may include this file).
// `static` keeps one private copy per translation unit, so the two differently-flagged builds
// of it never meet at link time.
#pragma once
#include <immintrin.h>

namespace dlcore::cpu::gemm_detail {

// Transpose an 8x8 block of floats held in 8 ymm registers (rows in, columns out).
static inline void transpose8(__m256& r0, __m256& r1, __m256& r2, __m256& r3, __m256& r4, __m256& r5,
                       __m256& r6, __m256& r7) {
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r0 = _mm256_permute2f128_ps(s0, s4, 0x20); r1 = _mm256_permute2f128_ps(s1, s5, 0x20);
  r2 = _mm256_permute2f128_ps(s2, s6, 0x20); r3 = _mm256_permute2f128_ps(s3, s7, 0x20);
  r4 = _mm256_permute2f128_ps(s0, s4, 0x31); r5 = _mm256_permute2f128_ps(s1, s5, 0x31);
  r6 = _mm256_permute2f128_ps(s2, s6, 0x31); r7 = _mm256_permute2f128_ps(s3, s7, 0x31);
}


// Packs a B panel whose columns are contiguous along k (B = W^T of a Linear weight: unit row
// stride, column stride cs) into the k-major NR-wide layout the micro-kernels read: NR/8
// in-register 8x8 transposes per 8 k steps (8 loads, 24 shuffles, 8 stores per 64 elements
// instead of 64 gathers); the k tail and partial panels fall back to a gather, zero-padded.
template <int NR>
static inline void pack_b_rowunit_transposed(int64_t kc, int nr, const float* b, int64_t cs,
                                             float* dst) {
  static_assert(NR % 8 == 0, "NR must be a multiple of 8");
  int64_t k = 0;
  if (nr == NR) {
    for (; k + 8 <= kc; k += 8) {
      for (int h = 0; h < NR / 8; ++h) {
        const float* s = b + (int64_t)(h * 8) * cs + k;
        __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + cs);
        __m256 r2 = _mm256_loadu_ps(s + 2 * cs), r3 = _mm256_loadu_ps(s + 3 * cs);
        __m256 r4 = _mm256_loadu_ps(s + 4 * cs), r5 = _mm256_loadu_ps(s + 5 * cs);
        __m256 r6 = _mm256_loadu_ps(s + 6 * cs), r7 = _mm256_loadu_ps(s + 7 * cs);
        transpose8(r0, r1, r2, r3, r4, r5, r6, r7);
        float* d = dst + k * NR + h * 8;
        _mm256_storeu_ps(d + 0 * NR, r0); _mm256_storeu_ps(d + 1 * NR, r1);
        _mm256_storeu_ps(d + 2 * NR, r2); _mm256_storeu_ps(d + 3 * NR, r3);
        _mm256_storeu_ps(d + 4 * NR, r4); _mm256_storeu_ps(d + 5 * NR, r5);
        _mm256_storeu_ps(d + 6 * NR, r6); _mm256_storeu_ps(d + 7 * NR, r7);
      }
    }
  }
  for (; k < kc; ++k) {
    float* d = dst + k * NR;
    int j = 0;
    for (; j < nr; ++j) d[j] = b[k + j * cs];
    for (; j < NR; ++j) d[j] = 0.f;
  }
}

}  // namespace dlcore::cpu::gemm_detail
