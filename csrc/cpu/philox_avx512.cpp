// philox_avx512.cpp — Philox4x32-10 for 16 counters per zmm register, and the dropout and
// uniform loops built on it (compiled with -mavx512f/bw/dq/vl; dropout.cpp / random.cpp call
// it only after select_isa() said so). Contract and bit-equality rule: philox_internal.h.
//
// Lane layout. Four state vectors s[0..3]; lane k of s[j] is word j of the block whose counter
// is ctr + k. Ten rounds turn 16 counters into 16 blocks at once; the key schedule is the same
// in every lane, so each round broadcasts its precomputed (k0, k1) pair. Two such groups
// (32 blocks) are run interleaved: one group's multiply -> blend -> xor chain is latency bound,
// two keep the vector units busy.
//
// Dropout needs the words in element order (element c = word c & 3 of block c >> 2), i.e.
// block-major, while the rounds leave them word-major: a 4 x 16 transpose per group (unpacks
// inside 128-bit lanes, then a 4 x 4 shuffle of the 128-bit lanes) yields four vectors holding
// 64 consecutive elements' words. Uniform fills use one block per element and only word 0
// (float) or words 0-1 (double), which are already in element order.
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include <cstdint>

#include "philox_internal.h"

namespace dlcore::cpu::philox_detail {
namespace {

constexpr int kLanes = 16;

// 32 x 32 -> 64-bit products of every lane of x with the constant m. The low words are
// vpmulld. The high words: _mm512_mul_epu32 multiplies only the even dwords (the low half of
// each qword) into full qword products, so the odd dwords are shifted down for a second
// multiply; a product's high word then sits in the odd dword of its qword, and one shift and
// one masked blend put the high words back into lane order. (Taking the low words from the
// same two products instead of vpmulld measured ~20% slower for uniform on Zen 4.)
inline void mulhilo(__m512i m, __m512i x, __m512i& hi, __m512i& lo) {
  const __m512i pe = _mm512_mul_epu32(x, m);
  const __m512i po = _mm512_mul_epu32(_mm512_srli_epi64(x, 32), m);
  hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(pe, 32), po);
  lo = _mm512_mullo_epi32(x, m);
}

// Group g starts at counter ctr + 16 g; lane k's low word is ctr_lo + 16 g + k, and a lane
// whose low word wrapped (ended below its addend) carries into the high word. hi_mask keeps
// dropout's block index (c >> 2 < 2^62) wrapping exactly where the scalar one does.
template <int G>
inline void philox(__m512i (&s)[G][4], uint64_t ctr, uint32_t hi_mask, const RoundKeys& rk) {
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i lo = _mm512_set1_epi32((int)(uint32_t)ctr);
  const __m512i hi = _mm512_set1_epi32((int)(uint32_t)(ctr >> 32));
  for (int g = 0; g < G; ++g) {
    const __m512i add = _mm512_add_epi32(lane, _mm512_set1_epi32(kLanes * g));
    const __m512i c0 = _mm512_add_epi32(lo, add);
    const __mmask16 carry = _mm512_cmplt_epu32_mask(c0, add);
    const __m512i c1 = _mm512_mask_add_epi32(hi, carry, hi, _mm512_set1_epi32(1));
    s[g][0] = c0;
    s[g][1] = _mm512_and_si512(c1, _mm512_set1_epi32((int)hi_mask));
    s[g][2] = s[g][3] = _mm512_setzero_si512();
  }
  const __m512i m0 = _mm512_set1_epi32((int)0xD2511F53u), m1 = _mm512_set1_epi32((int)0xCD9E8D57u);
  for (int r = 0; r < 10; ++r) {
    const __m512i k0 = _mm512_set1_epi32((int)rk.k0[r]), k1 = _mm512_set1_epi32((int)rk.k1[r]);
    for (int g = 0; g < G; ++g) {
      __m512i hi0, lo0, hi1, lo1;
      mulhilo(m0, s[g][0], hi0, lo0);
      mulhilo(m1, s[g][2], hi1, lo1);
      s[g][0] = _mm512_ternarylogic_epi32(hi1, s[g][1], k0, 0x96);   // hi1 ^ c1 ^ k0
      s[g][1] = lo1;
      s[g][2] = _mm512_ternarylogic_epi32(hi0, s[g][3], k1, 0x96);   // hi0 ^ c3 ^ k1
      s[g][3] = lo0;
    }
  }
}

// Word-major (s[j] lane k = word j of block k) to block-major: w[v] lane l = word l & 3 of
// block 4 v + (l >> 2), i.e. w[0..3] are the words of 64 consecutive dropout elements.
inline void to_block_major(const __m512i (&s)[4], __m512i (&w)[4]) {
  // Inside each 128-bit lane q (blocks 4q..4q+3): a 4 x 4 transpose, u[b] = block 4q + b.
  const __m512i t0 = _mm512_unpacklo_epi32(s[0], s[1]), t1 = _mm512_unpackhi_epi32(s[0], s[1]);
  const __m512i t2 = _mm512_unpacklo_epi32(s[2], s[3]), t3 = _mm512_unpackhi_epi32(s[2], s[3]);
  const __m512i u0 = _mm512_unpacklo_epi64(t0, t2), u1 = _mm512_unpackhi_epi64(t0, t2);
  const __m512i u2 = _mm512_unpacklo_epi64(t1, t3), u3 = _mm512_unpackhi_epi64(t1, t3);
  // w[v] = (u0, u1, u2, u3) 128-bit lane v each: a 4 x 4 transpose of 128-bit lanes.
  const __m512i a = _mm512_shuffle_i32x4(u0, u1, _MM_SHUFFLE(1, 0, 1, 0));
  const __m512i b = _mm512_shuffle_i32x4(u2, u3, _MM_SHUFFLE(1, 0, 1, 0));
  const __m512i c = _mm512_shuffle_i32x4(u0, u1, _MM_SHUFFLE(3, 2, 3, 2));
  const __m512i d = _mm512_shuffle_i32x4(u2, u3, _MM_SHUFFLE(3, 2, 3, 2));
  w[0] = _mm512_shuffle_i32x4(a, b, _MM_SHUFFLE(2, 0, 2, 0));
  w[1] = _mm512_shuffle_i32x4(a, b, _MM_SHUFFLE(3, 1, 3, 1));
  w[2] = _mm512_shuffle_i32x4(c, d, _MM_SHUFFLE(2, 0, 2, 0));
  w[3] = _mm512_shuffle_i32x4(c, d, _MM_SHUFFLE(3, 1, 3, 1));
}

// ---- dropout ----------------------------------------------------------------------------
// keep = float((w >> 8) * 2^-24) >= pf, the scalar philox_to_float comparison: w >> 8 < 2^24
// converts exactly and the power-of-two scale is exact. m selects the valid elements (Full:
// all 16, plain loads and stores).
template <bool Full>
inline void apply16(const float* x, float* y, __m512i w, __mmask16 m, __m512 pf, __m512 scale) {
  const __m512 u = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(w, 8)),
                                 _mm512_set1_ps(0x1p-24f));
  const __mmask16 keep = _mm512_cmp_ps_mask(u, pf, _CMP_GE_OQ);
  if (Full) _mm512_storeu_ps(y, _mm512_maskz_mul_ps(keep, _mm512_loadu_ps(x), scale));
  else _mm512_mask_storeu_ps(y, m, _mm512_maskz_mul_ps(keep, _mm512_maskz_loadu_ps(m, x), scale));
}

template <bool Full>
inline void apply16(const double* x, double* y, __m512i w, __mmask16 m, __m512 pf,
                    __m512d scale) {
  const __m512 u = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(w, 8)),
                                 _mm512_set1_ps(0x1p-24f));
  const __mmask16 keep = _mm512_cmp_ps_mask(u, pf, _CMP_GE_OQ);
  for (int h = 0; h < 2; ++h) {                    // elements 8h .. 8h+7: mask bits 8h ..
    const __mmask8 kh = (__mmask8)(keep >> (8 * h)), mh = (__mmask8)(m >> (8 * h));
    const double* xh = x + 8 * h;
    if (Full) _mm512_storeu_pd(y + 8 * h, _mm512_maskz_mul_pd(kh, _mm512_loadu_pd(xh), scale));
    else _mm512_mask_storeu_pd(y + 8 * h, mh,
                               _mm512_maskz_mul_pd(kh, _mm512_maskz_loadu_pd(mh, xh), scale));
  }
}

template <typename T, typename V>
void dropout_run(const T* x, T* y, int64_t n, float pf_s, V scale, uint64_t seed, uint64_t c0) {
  const RoundKeys rk = round_keys(seed);
  const __m512 pf = _mm512_set1_ps(pf_s);
  constexpr uint32_t kBlockHi = 0x3FFFFFFFu;       // block = c >> 2 has 62 bits
  int64_t i = 0;
  while (i < n) {
    const uint64_t c = c0 + (uint64_t)i;
    const int skip = (int)(c & 3);                 // words of block c >> 2 before element i
    if (skip == 0 && n - i >= 8 * kLanes) {        // 128 elements from 32 blocks
      __m512i s[2][4], w[4];
      philox<2>(s, c >> 2, kBlockHi, rk);
      for (int g = 0; g < 2; ++g) {
        to_block_major(s[g], w);
        for (int v = 0; v < 4; ++v) {
          const int64_t e = i + 64 * g + 16 * v;
          apply16<true>(x + e, y + e, w[v], 0xFFFF, pf, scale);
        }
      }
      i += 8 * kLanes;
      continue;
    }
    // One group covers the 64 elements from c - skip: elements [i, i + take) of it are ours.
    const int take = (int)(n - i < 64 - skip ? n - i : 64 - skip);
    __m512i s[1][4], w[4];
    philox<1>(s, c >> 2, kBlockHi, rk);
    to_block_major(s[0], w);
    alignas(64) uint32_t buf[64];
    for (int v = 0; v < 4; ++v) _mm512_store_si512((void*)(buf + 16 * v), w[v]);
    for (int j = 0; j < take; j += 16) {
      const int cnt = take - j < 16 ? take - j : 16;
      const __mmask16 m = (__mmask16)((1u << cnt) - 1);
      apply16<false>(x + i + j, y + i + j, _mm512_maskz_loadu_epi32(m, buf + skip + j), m, pf,
                     scale);
    }
    i += take;
  }
}

// ---- uniform ----------------------------------------------------------------------------
// The scalar code rounds (b - a) * u and then a + that, in double; GCC's default
// -ffp-contract=fast would fuse the vector multiply and add into one FMA (a different last
// bit). An empty asm claiming to change the product hides it from that fusion.
inline __m512d opaque(__m512d v) {
  __asm__("" : "+v"(v));
  return v;
}

inline __m512d affine(__m512d u, __m512d a, __m512d scale) {
  return _mm512_add_pd(a, opaque(_mm512_mul_pd(scale, u)));
}

// float: u = (w0 >> 8) * 2^-24, exact in float and in double; 16 lanes -> 2 x 8 doubles.
inline void uniform16(float* out, const __m512i (&s)[4], __mmask16 m, __m512d a, __m512d ba) {
  const __m512i q = _mm512_srli_epi32(s[0], 8);
  const __m512d unit = _mm512_set1_pd(0x1p-24);
  const __m512d u0 = _mm512_mul_pd(_mm512_cvtepi32_pd(_mm512_castsi512_si256(q)), unit);
  const __m512d u1 = _mm512_mul_pd(_mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(q, 1)), unit);
  const __m256 f0 = _mm512_cvtpd_ps(affine(u0, a, ba)), f1 = _mm512_cvtpd_ps(affine(u1, a, ba));
  _mm512_mask_storeu_ps(out, m, _mm512_insertf32x8(_mm512_castps256_ps512(f0), f1, 1));
}

// double: u = ((w0 << 21) ^ (w1 >> 11)) * 2^-53 = w0 * 2^-32 + (w1 >> 11) * 2^-53. Both terms
// are exact and so is their sum (< 2^53 units of 2^-53), so no 64-bit integers are needed.
inline void uniform16(double* out, const __m512i (&s)[4], __mmask16 m, __m512d a, __m512d ba) {
  const __m512i w1 = _mm512_srli_epi32(s[1], 11);
  for (int h = 0; h < 2; ++h) {
    const __m256i x0 = h ? _mm512_extracti64x4_epi64(s[0], 1) : _mm512_castsi512_si256(s[0]);
    const __m256i x1 = h ? _mm512_extracti64x4_epi64(w1, 1) : _mm512_castsi512_si256(w1);
    const __m512d u = _mm512_add_pd(_mm512_mul_pd(_mm512_cvtepu32_pd(x0), _mm512_set1_pd(0x1p-32)),
                                    _mm512_mul_pd(_mm512_cvtepi32_pd(x1), _mm512_set1_pd(0x1p-53)));
    _mm512_mask_storeu_pd(out + 8 * h, (__mmask8)(m >> (8 * h)), affine(u, a, ba));
  }
}

template <typename T>
void uniform_run(T* out, int64_t n, uint64_t seed, uint64_t ctr, double a, double b) {
  const RoundKeys rk = round_keys(seed);
  const __m512d av = _mm512_set1_pd(a), ba = _mm512_set1_pd(b - a);
  int64_t i = 0;
  for (; n - i >= 2 * kLanes; i += 2 * kLanes) {
    __m512i s[2][4];
    philox<2>(s, ctr + (uint64_t)i, ~0u, rk);
    uniform16(out + i, s[0], 0xFFFF, av, ba);
    uniform16(out + i + kLanes, s[1], 0xFFFF, av, ba);
  }
  for (; i < n; i += kLanes) {
    __m512i s[1][4];
    philox<1>(s, ctr + (uint64_t)i, ~0u, rk);
    const int64_t cnt = n - i < kLanes ? n - i : kLanes;
    uniform16(out + i, s[0], (__mmask16)((1u << cnt) - 1), av, ba);
  }
}

}  // namespace

void dropout_avx512(const float* x, float* y, int64_t n, float pf, float scale, uint64_t seed,
                    uint64_t c0) {
  dropout_run(x, y, n, pf, _mm512_set1_ps(scale), seed, c0);
}
void dropout_avx512(const double* x, double* y, int64_t n, float pf, double scale,
                    uint64_t seed, uint64_t c0) {
  dropout_run(x, y, n, pf, _mm512_set1_pd(scale), seed, c0);
}

void uniform_avx512(float* out, int64_t n, uint64_t seed, uint64_t ctr, double a, double b) {
  uniform_run(out, n, seed, ctr, a, b);
}
void uniform_avx512(double* out, int64_t n, uint64_t seed, uint64_t ctr, double a, double b) {
  uniform_run(out, n, seed, ctr, a, b);
}

void blocks_avx512(uint64_t seed, uint64_t ctr, int64_t nblocks, uint32_t* out) {
  const RoundKeys rk = round_keys(seed);
  for (int64_t k = 0; k < nblocks; k += kLanes) {
    __m512i s[1][4], w[4];
    philox<1>(s, ctr + (uint64_t)k, ~0u, rk);
    to_block_major(s[0], w);
    const int64_t words = 4 * (nblocks - k < kLanes ? nblocks - k : kLanes);
    for (int v = 0; v < 4 && 16 * v < words; ++v) {
      const int64_t cnt = words - 16 * v < 16 ? words - 16 * v : 16;
      _mm512_mask_storeu_epi32(out + 4 * k + 16 * v, (__mmask16)((1u << cnt) - 1), w[v]);
    }
  }
}

}  // namespace dlcore::cpu::philox_detail

#endif  // x86
