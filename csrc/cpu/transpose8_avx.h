// transpose8_avx.h — 8x8 and 4x8 float transposes in AVX registers and the transposing panel
// packer built on them, shared by the AVX2 and AVX-512 GEMM translation units (both are compiled with -mavx2; only they may include this file).
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


// Transpose a 4x8 block (4 ymm rows of 8) into 8 columns of 4: column c lands in the low
// (c < 4) or high (c >= 4) 128-bit half of out[c % 4].
static inline void transpose4x8(__m256 r0, __m256 r1, __m256 r2, __m256 r3, __m256 out[4]) {
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  out[0] = _mm256_shuffle_ps(t0, t2, 0x44); out[1] = _mm256_shuffle_ps(t0, t2, 0xEE);
  out[2] = _mm256_shuffle_ps(t1, t3, 0x44); out[3] = _mm256_shuffle_ps(t1, t3, 0xEE);
}

// Packs W vectors that each run contiguously along k (vector j at src + j*stride) into the
// k-major W-wide micro-panel the kernels read, dst[k*W + j]. Two callers, one operation:
//   * a B panel with unit row stride (B = W^T of a Linear weight: column j contiguous),
//   * an A panel of a row-major A (row i contiguous): the AVX-512 kernel's 12-row panels.
// Per 8 k steps: 8x8 in-register transposes for each 8 vectors, a 4x8 one for a last 4
// (8 loads + 24 shuffles + 8 stores per 64 elements instead of 64 strided scalar copies).
// The k tail and partial panels (n < W) fall back to scalar copies, zero-padded.
template <int W>
static inline void pack_transposed_panel(int64_t kc, int n, const float* src, int64_t stride,
                                         float* dst) {
  static_assert(W % 4 == 0, "W must be a multiple of 4");
  int64_t k = 0;
  if (n == W) {
    for (; k + 8 <= kc; k += 8) {
      for (int h = 0; h + 8 <= W; h += 8) {
        const float* s = src + (int64_t)h * stride + k;
        __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + stride);
        __m256 r2 = _mm256_loadu_ps(s + 2 * stride), r3 = _mm256_loadu_ps(s + 3 * stride);
        __m256 r4 = _mm256_loadu_ps(s + 4 * stride), r5 = _mm256_loadu_ps(s + 5 * stride);
        __m256 r6 = _mm256_loadu_ps(s + 6 * stride), r7 = _mm256_loadu_ps(s + 7 * stride);
        transpose8(r0, r1, r2, r3, r4, r5, r6, r7);
        float* d = dst + k * W + h;
        _mm256_storeu_ps(d + 0 * W, r0); _mm256_storeu_ps(d + 1 * W, r1);
        _mm256_storeu_ps(d + 2 * W, r2); _mm256_storeu_ps(d + 3 * W, r3);
        _mm256_storeu_ps(d + 4 * W, r4); _mm256_storeu_ps(d + 5 * W, r5);
        _mm256_storeu_ps(d + 6 * W, r6); _mm256_storeu_ps(d + 7 * W, r7);
      }
      if constexpr (W % 8 == 4) {
        constexpr int h = W - 4;
        const float* s = src + (int64_t)h * stride + k;
        __m256 c[4];
        transpose4x8(_mm256_loadu_ps(s), _mm256_loadu_ps(s + stride),
                     _mm256_loadu_ps(s + 2 * stride), _mm256_loadu_ps(s + 3 * stride), c);
        float* d = dst + k * W + h;
        for (int q = 0; q < 4; ++q) {
          _mm_storeu_ps(d + q * W, _mm256_castps256_ps128(c[q]));
          _mm_storeu_ps(d + (q + 4) * W, _mm256_extractf128_ps(c[q], 1));
        }
      }
    }
  }
  for (; k < kc; ++k) {
    float* d = dst + k * W;
    int j = 0;
    for (; j < n; ++j) d[j] = src[k + j * stride];
    for (; j < W; ++j) d[j] = 0.f;
  }
}

}  // namespace dlcore::cpu::gemm_detail
