// philox_avx2.cpp — Philox4x32-10 for 8 counters per ymm register, and the dropout and
// uniform loops built on it (compiled with -mavx2 -mfma; dropout.cpp / random.cpp call it only
// after select_isa() said so). Contract and bit-equality rule: philox_internal.h. The same
// design as philox_avx512.cpp, with 8 lanes and without opmasks:
//
// Lane layout. Lane k of state vector s[j] is word j of the block whose counter is ctr + k.
// Two groups (16 blocks) run interleaved so that one group's multiply chain hides the other's
// latency; that uses 8 of the 16 ymm registers for state. Dropout transposes the words to
// element order (4 x 4 inside 128-bit lanes, then a swap of 128-bit lanes). The ragged head
// and tail of a range (< 32 elements each) go through a small buffer and scalar code, since
// AVX2 masked stores are slow on AMD and the edges are short.
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include <cstdint>

#include "philox_internal.h"

namespace dlcore::cpu::philox_detail {
namespace {

constexpr int kLanes = 8;

// 32 x 32 -> 64-bit products with the constant m: the low words from vpmulld; the high words
// from _mm256_mul_epu32, which multiplies the even dwords into qword products (the odd dwords
// are shifted down for a second multiply), then a shift plus a blend restore the lane order.
// (vpmulld is 2 uops on Intel, as many as the shift + blend that would extract the low words
// from the same products; on Zen 4 it measured 7% faster.)
inline void mulhilo(__m256i m, __m256i x, __m256i& hi, __m256i& lo) {
  const __m256i pe = _mm256_mul_epu32(x, m);
  const __m256i po = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), m);
  hi = _mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xAA);
  lo = _mm256_mullo_epi32(x, m);
}

// Group g starts at counter ctr + 8 g. A lane whose low word wrapped (ended below its addend:
// no unsigned compare in AVX2, so max_epu32 tests "not below") carries into the high word.
// hi_mask keeps dropout's 62-bit block index wrapping where the scalar c >> 2 does.
template <int G>
inline void philox(__m256i (&s)[G][4], uint64_t ctr, uint32_t hi_mask, const RoundKeys& rk) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i lo = _mm256_set1_epi32((int)(uint32_t)ctr);
  const __m256i hi1 = _mm256_set1_epi32((int)((uint32_t)(ctr >> 32) + 1));
  for (int g = 0; g < G; ++g) {
    const __m256i add = _mm256_add_epi32(lane, _mm256_set1_epi32(kLanes * g));
    const __m256i c0 = _mm256_add_epi32(lo, add);
    const __m256i no_carry = _mm256_cmpeq_epi32(_mm256_max_epu32(c0, add), c0);   // -1 / 0
    s[g][0] = c0;
    s[g][1] = _mm256_and_si256(_mm256_add_epi32(hi1, no_carry), _mm256_set1_epi32((int)hi_mask));
    s[g][2] = s[g][3] = _mm256_setzero_si256();
  }
  const __m256i m0 = _mm256_set1_epi32((int)0xD2511F53u), m1 = _mm256_set1_epi32((int)0xCD9E8D57u);
  for (int r = 0; r < 10; ++r) {
    const __m256i k0 = _mm256_set1_epi32((int)rk.k0[r]), k1 = _mm256_set1_epi32((int)rk.k1[r]);
    for (int g = 0; g < G; ++g) {
      __m256i hi0, lo0, h1, lo1;
      mulhilo(m0, s[g][0], hi0, lo0);
      mulhilo(m1, s[g][2], h1, lo1);
      s[g][0] = _mm256_xor_si256(_mm256_xor_si256(h1, s[g][1]), k0);
      s[g][1] = lo1;
      s[g][2] = _mm256_xor_si256(_mm256_xor_si256(hi0, s[g][3]), k1);
      s[g][3] = lo0;
    }
  }
}

// Word-major (s[j] lane k = word j of block k) to block-major: w[v] lane l = word l & 3 of
// block 2 v + (l >> 2), the words of 32 consecutive dropout elements.
inline void to_block_major(const __m256i (&s)[4], __m256i (&w)[4]) {
  const __m256i t0 = _mm256_unpacklo_epi32(s[0], s[1]), t1 = _mm256_unpackhi_epi32(s[0], s[1]);
  const __m256i t2 = _mm256_unpacklo_epi32(s[2], s[3]), t3 = _mm256_unpackhi_epi32(s[2], s[3]);
  // u[b] 128-bit lane q = the four words of block 4 q + b.
  const __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
  const __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
  w[0] = _mm256_permute2x128_si256(u0, u1, 0x20);   // blocks 0, 1
  w[1] = _mm256_permute2x128_si256(u2, u3, 0x20);   // blocks 2, 3
  w[2] = _mm256_permute2x128_si256(u0, u1, 0x31);   // blocks 4, 5
  w[3] = _mm256_permute2x128_si256(u2, u3, 0x31);   // blocks 6, 7
}

// ---- dropout ----------------------------------------------------------------------------
// keep = float((w >> 8) * 2^-24) >= pf: exact conversion and scale, the scalar comparison.
// A dropped element is an and with a zero mask: +0, whatever x was (as the scalar T(0)).
inline __m256 keep_mask(__m256i w, __m256 pf) {
  const __m256 u = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(w, 8)),
                                 _mm256_set1_ps(0x1p-24f));
  return _mm256_cmp_ps(u, pf, _CMP_GE_OQ);
}

inline void apply8(const float* x, float* y, __m256i w, __m256 pf, __m256 scale) {
  _mm256_storeu_ps(y, _mm256_and_ps(keep_mask(w, pf), _mm256_mul_ps(_mm256_loadu_ps(x), scale)));
}

inline void apply8(const double* x, double* y, __m256i w, __m256 pf, __m256d scale) {
  const __m256i k = _mm256_castps_si256(keep_mask(w, pf));   // 8 x 32-bit -> 2 x 4 x 64-bit
  const __m256d k0 = _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(k)));
  const __m256d k1 = _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_extracti128_si256(k, 1)));
  _mm256_storeu_pd(y, _mm256_and_pd(k0, _mm256_mul_pd(_mm256_loadu_pd(x), scale)));
  _mm256_storeu_pd(y + 4, _mm256_and_pd(k1, _mm256_mul_pd(_mm256_loadu_pd(x + 4), scale)));
}

template <typename T>
void dropout_run(const T* x, T* y, int64_t n, float pf_s, T scale_s, uint64_t seed, uint64_t c0) {
  const RoundKeys rk = round_keys(seed);
  const __m256 pf = _mm256_set1_ps(pf_s);
  constexpr uint32_t kBlockHi = 0x3FFFFFFFu;       // block = c >> 2 has 62 bits
  const auto scale = [&] {
    if constexpr (sizeof(T) == 4) return _mm256_set1_ps((float)scale_s);
    else return _mm256_set1_pd((double)scale_s);
  }();
  int64_t i = 0;
  while (i < n) {
    const uint64_t c = c0 + (uint64_t)i;
    const int skip = (int)(c & 3);                 // words of block c >> 2 before element i
    if (skip == 0 && n - i >= 8 * kLanes) {        // 64 elements from 16 blocks
      __m256i s[2][4], w[4];
      philox<2>(s, c >> 2, kBlockHi, rk);
      for (int g = 0; g < 2; ++g) {
        to_block_major(s[g], w);
        const int64_t e = i + 32 * g;
        for (int v = 0; v < 4; ++v) apply8(x + e + 8 * v, y + e + 8 * v, w[v], pf, scale);
      }
      i += 8 * kLanes;
      continue;
    }
    // One group covers the 32 elements from c - skip; elements [i, i + take) are ours.
    const int take = (int)(n - i < 32 - skip ? n - i : 32 - skip);
    __m256i s[1][4], w[4];
    philox<1>(s, c >> 2, kBlockHi, rk);
    to_block_major(s[0], w);
    if (skip == 0 && take == 32) {
      for (int v = 0; v < 4; ++v) apply8(x + i + 8 * v, y + i + 8 * v, w[v], pf, scale);
    } else {
      alignas(32) uint32_t buf[32];
      for (int v = 0; v < 4; ++v) _mm256_store_si256((__m256i*)(buf + 8 * v), w[v]);
      for (int j = 0; j < take; ++j) {
        const bool keep = (float)(buf[skip + j] >> 8) * 0x1p-24f >= pf_s;
        y[i + j] = keep ? x[i + j] * scale_s : T(0);
      }
    }
    i += take;
  }
}

// ---- uniform ----------------------------------------------------------------------------
// (b - a) * u and a + that are rounded separately, as in the scalar code: the empty asm hides
// the product from GCC's -ffp-contract=fast, which would fuse them into an FMA.
inline __m256d affine(__m256d u, __m256d a, __m256d scale) {
  __m256d p = _mm256_mul_pd(scale, u);
  __asm__("" : "+x"(p));
  return _mm256_add_pd(a, p);
}

// float: u = (w0 >> 8) * 2^-24, exact in float and in double; 8 lanes -> 2 x 4 doubles.
inline __m256 uniform8(const __m256i (&s)[4], __m256d a, __m256d ba) {
  const __m256i q = _mm256_srli_epi32(s[0], 8);
  const __m256d unit = _mm256_set1_pd(0x1p-24);
  const __m256d u0 = _mm256_mul_pd(_mm256_cvtepi32_pd(_mm256_castsi256_si128(q)), unit);
  const __m256d u1 = _mm256_mul_pd(_mm256_cvtepi32_pd(_mm256_extracti128_si256(q, 1)), unit);
  return _mm256_set_m128(_mm256_cvtpd_ps(affine(u1, a, ba)), _mm256_cvtpd_ps(affine(u0, a, ba)));
}

// uint32 -> double without AVX-512: flip the sign bit, convert as int32, add 2^31 back (exact).
inline __m256d u32_to_pd(__m128i x) {
  const __m128i flipped = _mm_xor_si128(x, _mm_set1_epi32((int)0x80000000u));
  return _mm256_add_pd(_mm256_cvtepi32_pd(flipped), _mm256_set1_pd(2147483648.0));
}

// double: u = w0 * 2^-32 + (w1 >> 11) * 2^-53, exact terms with an exact sum (see the AVX-512
// file); lanes 4h .. 4h+3 to out[0..4).
inline void uniform4(double* out, const __m256i (&s)[4], int h, __m256d a, __m256d ba) {
  const __m256i w1 = _mm256_srli_epi32(s[1], 11);
  const __m128i x0 = h ? _mm256_extracti128_si256(s[0], 1) : _mm256_castsi256_si128(s[0]);
  const __m128i x1 = h ? _mm256_extracti128_si256(w1, 1) : _mm256_castsi256_si128(w1);
  const __m256d u = _mm256_add_pd(_mm256_mul_pd(u32_to_pd(x0), _mm256_set1_pd(0x1p-32)),
                                  _mm256_mul_pd(_mm256_cvtepi32_pd(x1), _mm256_set1_pd(0x1p-53)));
  _mm256_storeu_pd(out, affine(u, a, ba));
}

inline void store8(float* out, const __m256i (&s)[4], __m256d a, __m256d ba) {
  _mm256_storeu_ps(out, uniform8(s, a, ba));
}
inline void store8(double* out, const __m256i (&s)[4], __m256d a, __m256d ba) {
  uniform4(out, s, 0, a, ba);
  uniform4(out + 4, s, 1, a, ba);
}

template <typename T>
void uniform_run(T* out, int64_t n, uint64_t seed, uint64_t ctr, double a, double b) {
  const RoundKeys rk = round_keys(seed);
  const __m256d av = _mm256_set1_pd(a), ba = _mm256_set1_pd(b - a);
  int64_t i = 0;
  for (; n - i >= 2 * kLanes; i += 2 * kLanes) {
    __m256i s[2][4];
    philox<2>(s, ctr + (uint64_t)i, ~0u, rk);
    store8(out + i, s[0], av, ba);
    store8(out + i + kLanes, s[1], av, ba);
  }
  for (; i < n; i += kLanes) {                     // the last 1..15: via a buffer
    __m256i s[1][4];
    philox<1>(s, ctr + (uint64_t)i, ~0u, rk);
    T tmp[kLanes];
    store8(tmp, s[0], av, ba);
    for (int64_t j = 0; j < kLanes && i + j < n; ++j) out[i + j] = tmp[j];
  }
}

}  // namespace

void dropout_avx2(const float* x, float* y, int64_t n, float pf, float scale, uint64_t seed,
                  uint64_t c0) {
  dropout_run(x, y, n, pf, scale, seed, c0);
}
void dropout_avx2(const double* x, double* y, int64_t n, float pf, double scale, uint64_t seed,
                  uint64_t c0) {
  dropout_run(x, y, n, pf, scale, seed, c0);
}

void uniform_avx2(float* out, int64_t n, uint64_t seed, uint64_t ctr, double a, double b) {
  uniform_run(out, n, seed, ctr, a, b);
}
void uniform_avx2(double* out, int64_t n, uint64_t seed, uint64_t ctr, double a, double b) {
  uniform_run(out, n, seed, ctr, a, b);
}

void blocks_avx2(uint64_t seed, uint64_t ctr, int64_t nblocks, uint32_t* out) {
  const RoundKeys rk = round_keys(seed);
  for (int64_t k = 0; k < nblocks; k += kLanes) {
    __m256i s[1][4], w[4];
    philox<1>(s, ctr + (uint64_t)k, ~0u, rk);
    to_block_major(s[0], w);
    if (nblocks - k >= kLanes) {
      for (int v = 0; v < 4; ++v) _mm256_storeu_si256((__m256i*)(out + 4 * k + 8 * v), w[v]);
    } else {
      alignas(32) uint32_t buf[32];
      for (int v = 0; v < 4; ++v) _mm256_store_si256((__m256i*)(buf + 8 * v), w[v]);
      for (int64_t j = 0; j < 4 * (nblocks - k); ++j) out[4 * k + j] = buf[j];
    }
  }
}

}  // namespace dlcore::cpu::philox_detail

#endif  // x86
