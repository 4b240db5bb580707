// lstm_fused_impl.h — the fused LSTM step kernels (see lstm_fused.h), written once over a
// lane-width traits type S and included only by lstm_fused_avx512.cpp (16 lanes) and
// lstm_fused_avx2.cpp (8 lanes), which are compiled for their instruction sets.
//
// S provides: R (vector), M (lane mask), W (lanes), NV (vectors per tile pass, 2 or 4), MR_F /
// MR_B (the most rows of a forward / backward tile), mask(n), load / store (masked and full),
// gather(m, p, stride) (lane l < the mask's count: p[l*stride], else 0), bcast, set1, zero, acc (c += a*b
// tied to c's register), fma (a*b + c), fnma (c - a*b), rcp (reciprocal estimate), add, sub,
// mul, div, min, max (a NaN in either operand gives the 2nd), abs, sign_of(x) (x & -0.0f),
// or_, nearest_times(x, c, n) (sets n = x*c rounded to the nearest integer, |x*c| <= 128, and
// returns a token for scale2 / pow2), scale2(p, token) (p * 2^n for that n, n in
// [-126, 127]) and pow2(token) (2^n).
//
// Register tile: MR rows x 4 vectors (in one pass, or two of 2 vectors). The 4
// vectors are the gates i, f, g, o of one block of W hidden units (forward), or 4 blocks of W
// units of dh (backward). The k loop is hand-unrolled over named accumulators: an array of
// vectors this large is not scalar-replaced by GCC and would live in memory. Each k step
// starts with a compiler barrier: without it GCC hoisted the next step's B loads into the
// current one, which with 24 accumulators + 4 B vectors + a broadcast needs more than 32
// registers, so the 6-row tile's accumulators wandered between registers (several vmovaps
// per k step). After the loop the tile goes through a small stack buffer to the epilogue (a
// few hundred bytes against the k loop's 4 x MR x K FMAs).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "lstm_fused.h"
#include "parallel.h"

namespace dlcore::cpu::lstm_fused {
namespace impl {

// ---- vector maths -----------------------------------------------------------------------
// x = n ln2 + r with n = round(x / ln2), |r| <= ln2/2: returns scale2/pow2's token for n.
// ln2 is split in two so that n * hi is exact for |n| <= 128.
template <class S>
inline typename S::R reduce_ln2(typename S::R x, typename S::R& r) {
  typename S::R n;
  const typename S::R token = S::nearest_times(x, S::set1(1.44269504088896341f), n);
  r = S::fma(n, S::set1(-0.693359375f), x);
  r = S::fma(n, S::set1(2.12194440e-4f), r);
  return token;
}

// e^x by Cody–Waite: x = n ln2 + r, |r| <= ln2/2, e^x = 2^n P(r) with Cephes' degree-6 expf
// polynomial (~1 ulp). x is clamped to [-87.3, 88.3] so 2^n stays a normal float (a sigmoid
// or tanh needs nothing beyond: 1/(1 + e^87) is already below float resolution of 1). The
// clamps take x as their second operand, so a NaN passes through (min/max return the 2nd).
template <class S>
inline typename S::R exp_clamped(typename S::R x) {
  using R = typename S::R;
  x = S::min(S::set1(88.3f), S::max(S::set1(-87.3f), x));
  R r;
  const R token = reduce_ln2<S>(x, r);
  R p = S::set1(1.9875691500e-4f);
  p = S::fma(p, r, S::set1(1.3981999507e-3f));
  p = S::fma(p, r, S::set1(8.3334519073e-3f));
  p = S::fma(p, r, S::set1(4.1665795894e-2f));
  p = S::fma(p, r, S::set1(1.6666665459e-1f));
  p = S::fma(p, r, S::set1(5.0000001201e-1f));
  p = S::fma(p, S::mul(r, r), S::add(r, S::set1(1.0f)));
  return S::scale2(p, token);
}

// sigmoid(x) = 1/(1 + e^-x) with a true division: the reciprocal estimate + one Newton step
// it replaced took three operations instead of one and, with AVX2's 12-bit estimate, gave
// 0.49999997 at x = 0, 0.99999994 at +inf and 2.66 ulp at worst; now 2.3 ulp on both paths
// (the rounding of 1 + e^-x near x = 0). The divider is otherwise idle in the epilogue.
template <class S>
inline typename S::R sigmoid(typename S::R x) {
  const typename S::R one = S::set1(1.0f);
  return S::div(one, S::add(one, exp_clamped<S>(S::sub(S::zero(), x))));
}

// tanh|x| = e / (e + 2) with e = expm1(2|x|), the sign put back: one exponential-type
// evaluation for every x. (1 - 2/(e^{2x} + 1) cancels for small |x|, so the form it replaced
// also evaluated an odd polynomial for |x| < 0.625 and blended the two: 34 operations against
// 28 here.) expm1(y) = 2^n (1 + expm1(r)) - 1 with y = n ln2 + r, |r| <= ln2/2, and
// expm1(r) = r + r^2 C(r), C of degree 5 fitted minimax in relative error on |r| <= 0.347
// (linear programming on a dense grid against a 30-digit reference: 2.4e-10 in float64, 1e-9
// with the coefficients rounded to float); the last fma keeps small y exact to the ulp
// (n = 0: 2^n - 1 = 0, e = expm1(r)). y is clamped at 20 (tanh 10 rounds to 1): no overflow,
// and a NaN passes (min returns its 2nd operand). The rounding of e + 2 would cost up to
// ~1 ulp more: d + dlo = e + 2 exactly (Fast2Sum of the larger and the smaller of e and 2),
// tanh = e/d (1 - dlo/d). Max error over a dense float32 sweep (~170K values, both paths):
// 1.68 ulp, against 1.34 (AVX-512) / 1.51 (AVX2) of the blended form
// (tests/test_rnn.py::test_lstm_float32_activation_ulps checks <= 2).
template <class S>
inline typename S::R tanh(typename S::R x) {
  using R = typename S::R;
  const R ax = S::abs(x), two = S::set1(2.0f), one = S::set1(1.0f);
  const R y = S::min(S::set1(20.0f), S::add(ax, ax));
  R r;
  const R token = reduce_ln2<S>(y, r);
  R p = S::set1(1.984741830e-4f);
  p = S::fma(p, r, S::set1(1.394075691e-3f));
  p = S::fma(p, r, S::set1(8.333387785e-3f));
  p = S::fma(p, r, S::set1(4.166635871e-2f));
  p = S::fma(p, r, S::set1(1.666666567e-1f));
  p = S::fma(p, r, S::set1(0.5f));
  const R em = S::fma(S::mul(r, r), p, r);            // expm1(r)
  const R t = S::pow2(token);                          // 2^n
  const R e = S::fma(t, em, S::sub(t, one));           // expm1(y) >= 0
  const R d = S::add(e, two);
  const R dlo = S::sub(S::min(e, two), S::sub(d, S::max(e, two)));
  const R q = S::div(e, d);
  return S::or_(S::fnma(q, S::mul(dlo, S::rcp(d)), q), S::sign_of(x));
}

// ---- the register tile -------------------------------------------------------------------
// tile[i*4W + j*W + l] += sum_k A(i, k) * b[k*BS + j*W + l] for i < MR, j < NV, l < W.
// b is a packed panel (BS floats per k step, contiguous); A is read in place: row-major,
// A(i, k) = a[i*lda + k], or with KMAJOR A(i, k) = a[k*lda + i] (the weight gradients, whose
// tile rows are feature columns of h_{t-1} or x: the MR values of one k step are adjacent).
// NV = 4 covers the panel in one pass; NV = 2 (S::NV, the 16-register AVX2 case) is called
// twice, on the panel's two parts (vectors 0-1, then 2-3), so that 6 rows fit: 12
// accumulators + 2 B + a broadcast.
template <class S, int MR, int NV, bool KMAJOR = false, int BS = 4 * S::W>
inline void mac_tile(int64_t K, const float* a, int64_t lda, const float* b, float* tile,
                     const float* init = nullptr, int64_t K2 = 0, const float* a2 = nullptr,
                     int64_t lda2 = 0) {
  using R = typename S::R;
  constexpr int W = S::W;
  static_assert(MR >= 1 && MR <= 6 && (NV == 1 || NV == 2 || NV == 4), "tile shape");
#define DLCORE_ACC_DECL(i)                                                          \
  R c##i##_0 = S::zero(), c##i##_1 = S::zero(), c##i##_2 = S::zero(), c##i##_3 = S::zero(); \
  if constexpr ((i) < MR) {                                                         \
    const float* c0p = init ? init : tile + (i) * 4 * W;                            \
    c##i##_0 = S::load(c0p);                                                        \
    if constexpr (NV >= 2) c##i##_1 = S::load(c0p + W);                             \
    if constexpr (NV == 4) {                                                        \
      c##i##_2 = S::load(c0p + 2 * W);                                              \
      c##i##_3 = S::load(c0p + 3 * W);                                              \
    }                                                                               \
  }
  DLCORE_ACC_DECL(0) DLCORE_ACC_DECL(1) DLCORE_ACC_DECL(2)
  DLCORE_ACC_DECL(3) DLCORE_ACC_DECL(4) DLCORE_ACC_DECL(5)
#undef DLCORE_ACC_DECL
  // Rows 0-2 from p0 and rows 3-5 from p1 at 0, 1, 2 times lda (scaled-index addressing,
  // two pointers instead of six); KMAJOR: row i at p0 + i, p0 advancing by lda.
  const float* p0 = a;
  const float* p1 = KMAJOR ? a : a + 3 * lda;
#define DLCORE_AROW(i) (KMAJOR ? p0 + (i) : (i) < 3 ? p0 + (i) * lda : p1 + ((i) - 3) * lda)
#define DLCORE_ROW(i)                                                               \
  if constexpr ((i) < MR) {                                                         \
    const R av = S::bcast(DLCORE_AROW(i));                                          \
    S::acc(c##i##_0, av, b0);                                                       \
    if constexpr (NV >= 2) S::acc(c##i##_1, av, b1);                                \
    if constexpr (NV == 4) {                                                        \
      S::acc(c##i##_2, av, b2);                                                     \
      S::acc(c##i##_3, av, b3);                                                     \
    }                                                                               \
  }
#define DLCORE_STEP                                                                 \
  {                                                                                 \
    __asm__ volatile("" ::: "memory");                                              \
    const R b0 = S::load(b), b1 = NV >= 2 ? S::load(b + W) : S::zero();             \
    const R b2 = NV == 4 ? S::load(b + 2 * W) : S::zero();                          \
    const R b3 = NV == 4 ? S::load(b + 3 * W) : S::zero();                          \
    (void)b1;                                                                       \
    (void)b2;                                                                       \
    (void)b3;                                                                       \
    DLCORE_ROW(0) DLCORE_ROW(1) DLCORE_ROW(2) DLCORE_ROW(3) DLCORE_ROW(4) DLCORE_ROW(5) \
    if constexpr (KMAJOR) {                                                         \
      p0 += lda;                                                                    \
    } else {                                                                        \
      ++p0;                                                                         \
      ++p1;                                                                         \
    }                                                                               \
    b += BS;                                                                        \
    __asm__("" : "+r"(p0), "+r"(p1), "+r"(b));                                      \
  }
  // Up to two k segments against one contiguous panel: K steps of A = a, then K2 of a2 (the
  // forward's h_{t-1} and x_t parts), the accumulators staying in registers between them.
  for (int seg = 0; seg < 2; ++seg) {
    if (seg == 1) {
      if (K2 <= 0) break;
      K = K2;
      lda = lda2;
      p0 = a2;
      p1 = KMAJOR ? a2 : a2 + 3 * lda2;
    }
    int64_t k = 0;
    for (; k + 2 <= K; k += 2) {
      _mm_prefetch(reinterpret_cast<const char*>(b + 16 * BS), _MM_HINT_T0);
      DLCORE_STEP DLCORE_STEP
    }
    for (; k < K; ++k) DLCORE_STEP
  }
#undef DLCORE_STEP
#undef DLCORE_ROW
#undef DLCORE_AROW
#define DLCORE_ACC_STORE(i)                                                         \
  if constexpr ((i) < MR) {                                                         \
    S::store(tile + (i) * 4 * W, c##i##_0);                                         \
    if constexpr (NV >= 2) S::store(tile + (i) * 4 * W + W, c##i##_1);              \
    if constexpr (NV == 4) {                                                        \
      S::store(tile + (i) * 4 * W + 2 * W, c##i##_2);                               \
      S::store(tile + (i) * 4 * W + 3 * W, c##i##_3);                               \
    }                                                                               \
  }
  DLCORE_ACC_STORE(0) DLCORE_ACC_STORE(1) DLCORE_ACC_STORE(2)
  DLCORE_ACC_STORE(3) DLCORE_ACC_STORE(4) DLCORE_ACC_STORE(5)
#undef DLCORE_ACC_STORE
}

// The first nv (1..4) of the panel's 4 vectors: a backward column group at the edge of H or
// I (H = 32 on 16 lanes fills 2 of 4 vectors) skips the FMAs of columns that do not exist.
// With NV = 2 (AVX2) the panel is stored as two parts (see "panels" below): the first pass
// reads part 0 (vectors 0-1), the second part 1 (vectors 2-3), K + K2 steps of 2W floats each.
template <class S, int MR, bool KMAJOR>
inline void mac_panel(int nv, int64_t K, const float* a, int64_t lda, const float* b,
                      float* tile, const float* init, int64_t K2, const float* a2,
                      int64_t lda2) {
  constexpr int W = S::W;
  const float* init2 = init ? init + 2 * W : nullptr;
  if constexpr (S::NV == 4) {
    if (nv >= 3) mac_tile<S, MR, 4, KMAJOR>(K, a, lda, b, tile, init, K2, a2, lda2);
    else if (nv == 2) mac_tile<S, MR, 2, KMAJOR>(K, a, lda, b, tile, init, K2, a2, lda2);
    else mac_tile<S, MR, 1, KMAJOR>(K, a, lda, b, tile, init, K2, a2, lda2);
  } else {
    constexpr int BS = 2 * W;
    const float* b2 = b + (K + std::max<int64_t>(K2, 0)) * BS;   // part 1
    if (nv >= 2) mac_tile<S, MR, 2, KMAJOR, BS>(K, a, lda, b, tile, init, K2, a2, lda2);
    else mac_tile<S, MR, 1, KMAJOR, BS>(K, a, lda, b, tile, init, K2, a2, lda2);
    if (nv == 4)
      mac_tile<S, MR, 2, KMAJOR, BS>(K, a, lda, b2, tile + 2 * W, init2, K2, a2, lda2);
    else if (nv == 3)
      mac_tile<S, MR, 1, KMAJOR, BS>(K, a, lda, b2, tile + 2 * W, init2, K2, a2, lda2);
  }
}

// init (4W floats, or null: start from the tile's contents) starts every row of the tile;
// K2 > 0 continues the k loop over a2 (row stride lda2) after K steps of a.
template <class S, bool KMAJOR = false>
inline void mac_tile_rows(int mr, int64_t K, const float* a, int64_t lda, const float* b,
                          float* tile, int nv = 4, const float* init = nullptr, int64_t K2 = 0,
                          const float* a2 = nullptr, int64_t lda2 = 0) {
  switch (mr) {
    case 1: mac_panel<S, 1, KMAJOR>(nv, K, a, lda, b, tile, init, K2, a2, lda2); break;
    case 2: mac_panel<S, 2, KMAJOR>(nv, K, a, lda, b, tile, init, K2, a2, lda2); break;
    case 3: mac_panel<S, 3, KMAJOR>(nv, K, a, lda, b, tile, init, K2, a2, lda2); break;
    case 4: mac_panel<S, 4, KMAJOR>(nv, K, a, lda, b, tile, init, K2, a2, lda2); break;
    case 5: mac_panel<S, 5, KMAJOR>(nv, K, a, lda, b, tile, init, K2, a2, lda2); break;
    default: mac_panel<S, 6, KMAJOR>(nv, K, a, lda, b, tile, init, K2, a2, lda2); break;
  }
}

// Height of the next row tile when `remaining` rows are left: tiles of near-equal height
// (16 rows at MR 6 give 6 + 5 + 5, not 6 + 6 + 4, the short tile being the slow one).
inline int tile_rows(int64_t remaining, int max_rows) {
  const int64_t tiles = (remaining + max_rows - 1) / max_rows;
  return (int)((remaining + tiles - 1) / tiles);
}

// The lanes of one block of W units or columns: a block at the edge of H or I is partial,
// all others are full and take plain loads and stores. AVX2's masked moves (vmaskmovps) cost
// several plain ones on AMD cores, and the cell epilogues make ~15 per row and block (with
// masks everywhere the AVX2 backward epilogue took twice the AVX-512 one's share).
template <class S>
struct Lanes {
  typename S::M m;
  bool full;
  explicit Lanes(int64_t n)
      : m(S::mask((int)std::max<int64_t>(0, std::min<int64_t>(S::W, n)))), full(n >= S::W) {}
};
template <class S>
inline typename S::R load(const Lanes<S>& l, const float* p) {
  return l.full ? S::load(p) : S::load(l.m, p);
}
template <class S>
inline void store(const Lanes<S>& l, float* p, typename S::R v) {
  if (l.full) S::store(p, v);
  else S::store(p, l.m, v);
}

inline void prefetch_l2(const float* p) {
  _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T1);
}

// ---- packing -----------------------------------------------------------------------------

// Panels: every B operand (the packed weights of the forward and backward steps, the dG
// panels of the weight gradients) is K steps x 4 vectors of W floats, stored as 4 / NV parts
// of K steps x NV vectors: one part with 16 lanes (the plain k-major layout), two with 8, one
// per pass of the AVX2 tile (mac_panel). With the 4 vectors of a k step side by side, each
// AVX2 pass used half of every 128-byte line it streamed from L2: the 6 x 2 tile alone ran
// 9% slower at K = 384 (the forward) and 18-22% slower at K = 1024 (the H = 256 backward) than
// on a contiguous half, one thread, best of 5, 2026-12-03.
//
// Forward panel of unit block u: H + I k steps, first W_hh's then W_ih's: k step k of part p
// holds the weight rows g*H + u*W + l (gate g = p*NV + j, lane l) at column k,
// wp[u*(H+I)*4W + (p*(H+I) + k)*NV*W + j*W + l] = w_hh[g*H + u*W + l, k] for k < H, then
// W_ih's columns. Lanes past H are zero. A k step's W values of one gate are a column of W
// weight rows K floats apart: one gather each, and the panel is written contiguously.
// (Packing is ~3% of a forward at H = 256, bound by memory: 1.5 MB read and 1.5 MB written;
// the element-by-element copy it replaced took the same time.)
template <class S>
void pack_forward_part(int64_t K, const float* w, int64_t H, int64_t panel_steps,
                       int64_t k_offset, float* wp, int64_t u0, int64_t u1) {
  constexpr int W = S::W, NV = S::NV;
  for (int64_t u = u0; u < u1; ++u) {
    float* panel = wp + u * panel_steps * 4 * W;
    const typename S::M m = S::mask((int)std::min<int64_t>(W, H - u * W));
    const float* rows = w + u * W * K;   // gate g's rows start g*H*K floats further
    for (int64_t k = 0; k < K; ++k)
      for (int g = 0; g < 4; ++g)   // part g / NV, k step k_offset + k, vector g % NV
        S::store(panel + (g / NV * panel_steps + k_offset + k) * NV * W + g % NV * W,
                 S::gather(m, rows + g * H * K + k, K));
  }
}

// The panels of unit blocks [u0, u1) only (the caller spreads whole blocks, ~100 KB each at
// H = 256, over its threads).
template <class S>
void pack_forward(int64_t H, int64_t I, const float* w_hh, const float* w_ih, float* wp,
                  int64_t u0, int64_t u1) {
  pack_forward_part<S>(H, w_hh, H, H + I, 0, wp, u0, u1);
  pack_forward_part<S>(I, w_ih, H, H + I, H, wp, u0, u1);
}

// Backward panel of column group q (4W columns) of a [4H, cols] weight read untransposed
// (dh = dG W_hh, dx = dG W_ih), in parts as above: k step k < 4H of part p holds
// w[k, q*4W + p*NV*W ..+NV*W), zero past cols — row-block copies.
template <class S>
void pack_backward(int64_t H, int64_t cols, const float* w, float* wp) {
  constexpr int W = S::W, PW = S::NV * S::W;   // floats per k step of a part
  const int64_t groups = (cols + 4 * W - 1) / (4 * W);
  parallel_for(groups, std::max<int64_t>(1, kParallelGrain / (16 * W * H + 1)),
               [&](int64_t q0, int64_t q1) {
    for (int64_t q = q0; q < q1; ++q) {
      const int64_t u0 = q * 4 * W, n = std::min<int64_t>(4 * W, cols - u0);
      float* panel = wp + q * 4 * H * 4 * W;
      for (int p = 0; p < 4 * W / PW; ++p) {
        const int64_t np = std::max<int64_t>(0, std::min<int64_t>(PW, n - p * PW));
        float* part = panel + p * 4 * H * PW;
        for (int64_t k = 0; k < 4 * H; ++k) {
          std::memcpy(part + k * PW, w + k * cols + u0 + p * PW, sizeof(float) * np);
          std::fill(part + k * PW + np, part + (k + 1) * PW, 0.f);
        }
      }
    }
  });
}

// ---- forward step ------------------------------------------------------------------------
// Loop order: unit block outside, row tiles inside, so a block's panel ((H + I) x 4W floats,
// ~100 KB at H = 256) is read from L2 by every row tile. With the row tiles outside, the
// whole packed weight (1.5 MB) streamed through once per row tile, from L3.

template <class S>
void step_forward(const ForwardStep& s) {
  using R = typename S::R;
  constexpr int W = S::W;
  const int64_t H = s.H, G = 4 * H;
  alignas(64) float tile[6 * 4 * W];
  for (int64_t u = s.u0; u < s.u1; ++u) {
    const int64_t j0 = u * W;
    const Lanes<S> m(H - j0);
    const float* panel = s.wp + u * (H + s.I) * 4 * W;
    alignas(64) float bias_row[4 * W];
    for (int g = 0; g < 4; ++g)
      S::store(bias_row + g * W, s.bias ? load<S>(m, s.bias + g * H + j0) : S::zero());
    for (int64_t r = 0; r < s.n;) {
      const int mr = tile_rows(s.n - r, S::MR_F);
      // The tile starts from the bias; one k loop adds h_{t-1} W_hh^T, then x_t W_ih^T.
      mac_tile_rows<S>(mr, H, s.h_in + r * s.ldh, s.ldh, panel, tile, 4, bias_row, s.I,
                       s.x + r * s.ldx, s.ldx);
      for (int i = 0; i < mr; ++i) {
        const float* t = tile + i * 4 * W;
        const R ig = sigmoid<S>(S::load(t)), fg = sigmoid<S>(S::load(t + W));
        const R gg = tanh<S>(S::load(t + 2 * W)), og = sigmoid<S>(S::load(t + 3 * W));
        float* c = s.c + (r + i) * H + j0;
        const R cp = load<S>(m, c);
        const R cn = S::fma(fg, cp, S::mul(ig, gg));
        const R tc = tanh<S>(cn);
        const R h = S::mul(og, tc);
        store<S>(m, c, cn);
        store<S>(m, s.h_out + (r + i) * H + j0, h);
        store<S>(m, s.y + (r + i) * s.ldy + j0, h);
        if (s.save) {
          float* gr = s.gates + (r + i) * G + j0;
          store<S>(m, gr, ig);
          store<S>(m, gr + H, fg);
          store<S>(m, gr + 2 * H, gg);
          store<S>(m, gr + 3 * H, og);
          store<S>(m, s.hprev + (r + i) * H + j0, load<S>(m, s.h_in + (r + i) * s.ldh + j0));
          store<S>(m, s.cprev + (r + i) * H + j0, cp);
          store<S>(m, s.tanhc + (r + i) * H + j0, tc);
        }
      }
      r += mr;
    }
  }
}

// ---- backward step -----------------------------------------------------------------------
// Same loop order as the forward: a column group's panel (4H x 4W floats, 256 KB at H = 256)
// stays in L2 while all row tiles use it.

template <class S>
void step_backward(const BackwardStep& s) {
  using R = typename S::R;
  constexpr int W = S::W;
  const int64_t H = s.H, G = 4 * H, groups = (H + 4 * W - 1) / (4 * W);
  alignas(64) float tile[6 * 4 * W];
  for (int64_t q = 0; q < groups; ++q) {
    // Rows with and without the GEMM part are tiled separately, so each tile is one kind.
    for (int64_t r = 0; r < s.n;) {
      const bool gemm = r < s.n_gemm;
      const int mr = tile_rows((gemm ? s.n_gemm : s.n) - r, S::MR_B);
      // Start from dy (+ the carried dh on rows without the GEMM).
      for (int i = 0; i < mr; ++i)
        for (int j = 0; j < 4; ++j) {
          const int64_t j0 = q * 4 * W + j * W;
          const Lanes<S> m(H - j0);
          R v = s.dy ? load<S>(m, s.dy + (r + i) * s.ldy + j0) : S::zero();
          if (!gemm) v = S::add(v, load<S>(m, s.dh + (r + i) * H + j0));
          S::store(tile + i * 4 * W + j * W, v);
        }
      // What the epilogue reads of the forward's saved values (gates, c_{t-1}, tanh c_t) was
      // written steps ago and has left L1/L2; prefetched here into L2 (into L1 they were
      // evicted again by the panel streaming through the k loop), they arrive during the
      // tile's k loop. Without them the epilogue's first loads took ~75% of its samples, ~6%
      // of a char-LM training step (2026-12-03).
      if (gemm)
        for (int i = 0; i < mr; ++i)
          for (int64_t j0 = q * 4 * W; j0 < std::min<int64_t>(H, (q + 1) * 4 * W); j0 += W) {
            const int64_t a = (r + i) * H + j0;
            for (int g = 0; g < 4; ++g) prefetch_l2(s.gates + (r + i) * G + g * H + j0);
            prefetch_l2(s.cprev + a);
            prefetch_l2(s.tanhc + a);
          }
      if (gemm)
        mac_tile_rows<S>(mr, G, s.dg_next + r * G, G, s.wp + q * G * 4 * W, tile,
                         (int)std::min<int64_t>(4, (H - q * 4 * W + W - 1) / W));
      for (int i = 0; i < mr; ++i)
        for (int j = 0; j < 4; ++j) {
          const int64_t j0 = q * 4 * W + j * W;
          if (j0 >= H) break;
          const Lanes<S> m(H - j0);
          const int64_t a = (r + i) * H + j0;
          const float* gr = s.gates + (r + i) * G + j0;
          const R d = S::load(tile + i * 4 * W + j * W);
          const R ig = load<S>(m, gr), fg = load<S>(m, gr + H), gg = load<S>(m, gr + 2 * H),
                  og = load<S>(m, gr + 3 * H);
          const R cp = load<S>(m, s.cprev + a), tc = load<S>(m, s.tanhc + a);
          const R dc = load<S>(m, s.dc + a);
          const R one = S::set1(1.0f);
          // The formulas of rnn::lstm_backward_elem, lane-wise.
          const R dct = S::fma(S::mul(d, og), S::sub(one, S::mul(tc, tc)), dc);
          const R dai = S::mul(S::mul(dct, gg), S::mul(ig, S::sub(one, ig)));
          const R daf = S::mul(S::mul(dct, cp), S::mul(fg, S::sub(one, fg)));
          const R dag = S::mul(S::mul(dct, ig), S::sub(one, S::mul(gg, gg)));
          const R dao = S::mul(S::mul(d, tc), S::mul(og, S::sub(one, og)));
          float* dg = s.dg + (r + i) * G + j0;
          store<S>(m, dg, dai);
          store<S>(m, dg + H, daf);
          store<S>(m, dg + 2 * H, dag);
          store<S>(m, dg + 3 * H, dao);
          store<S>(m, s.dc + a, S::mul(dct, fg));
          if (s.dgp) {   // the same values in unit block j0 / W's weight-gradient panel
            // (whole vectors: the panel has room for lanes past H; parts as WeightGrad's)
            constexpr int NV = S::NV;
            const int64_t R = s.dgp_stride / (4 * W);
            float* p = s.dgp + (j0 / W) * s.dgp_stride + (s.dgp_row + r + i) * NV * W;
            S::store(p, dai);
            S::store(p + (1 / NV) * R * NV * W + (1 % NV) * W, daf);
            S::store(p + (2 / NV) * R * NV * W + (2 % NV) * W, dag);
            S::store(p + (3 / NV) * R * NV * W + (3 % NV) * W, dao);
          }
        }
      r += mr;
    }
  }
  // The earlier step's dx rows from the same A rows.
  if (!s.dx_next) return;
  const int64_t I = s.I, xgroups = (I + 4 * W - 1) / (4 * W);
  for (int64_t q = 0; q < xgroups; ++q)
    for (int64_t r = 0; r < s.n_gemm;) {
      const int mr = tile_rows(s.n_gemm - r, S::MR_B);
      for (int i = 0; i < mr; ++i)
        for (int j = 0; j < 4; ++j) {
          const int64_t j0 = q * 4 * W + j * W;
          const Lanes<S> m(I - j0);
          S::store(tile + i * 4 * W + j * W,
                   s.dx_beta ? load<S>(m, s.dx_next + (r + i) * s.ldx + j0) : S::zero());
        }
      mac_tile_rows<S>(mr, G, s.dg_next + r * G, G, s.wpx + q * G * 4 * W, tile,
                       (int)std::min<int64_t>(4, (I - q * 4 * W + W - 1) / W));
      for (int i = 0; i < mr; ++i)
        for (int j = 0; j < 4; ++j) {
          const int64_t j0 = q * 4 * W + j * W;
          if (j0 >= I) break;
          const Lanes<S> m(I - j0);
          store<S>(m, s.dx_next + (r + i) * s.ldx + j0, S::load(tile + i * 4 * W + j * W));
        }
      r += mr;
    }
}

// ---- weight gradients ----------------------------------------------------------------------
// dW_hh = dG^T [h_{t-1}], dW_ih = dG^T [x], db = column sums of dG over all R rows, for the
// unit blocks [u0, u1). dG comes as the panels the backward steps wrote (see WeightGrad), so
// the register tile is the forward's with the roles turned: its MR rows are feature columns
// of h_{t-1} (or x), read k-major from their packed tiles (pack_feature_tiles), and its 4
// vectors are the 4 gates of one block of W units, a contiguous 4W-float panel row. The
// panel (R x 4W floats, 400 KB at R = 1600) stays in L2 while every feature tile streams it. A library GEMM on dG^T instead had to pack the 4H-strided dG (one pass over 6.5 MB per
// product at H = 256) and ran its tiles ~15% below this one.
template <class S>
void weight_grad(const WeightGrad& s) {
  using R = typename S::R;
  constexpr int W = S::W;
  const int64_t H = s.H;
  alignas(64) float tile[6 * 4 * W];
  for (int64_t u = s.u0; u < s.u1; ++u) {
    const float* panel = s.dgp + u * s.dgp_stride;
    const int units = (int)std::min<int64_t>(W, H - u * W);
    for (int src = 0; src < 2; ++src) {
      const int64_t F = src == 0 ? H : s.I;
      const float* a = src == 0 ? s.hprev_tiles : s.x_tiles;
      float* dw = src == 0 ? s.dw_hh : s.dw_ih;
      static_assert(kFeatureTile <= 6, "feature tiles are register tiles");
      for (int64_t f = 0; f < F; f += kFeatureTile) {
        const int mr = (int)std::min<int64_t>(kFeatureTile, F - f);
        std::fill(tile, tile + mr * 4 * W, 0.f);
        mac_tile_rows<S, true>(mr, s.R, a + f * s.R, mr, panel, tile);
        // tile[i][g*W + l] is dW[g*H + u*W + l, f + i]: a transposed write-back, 4W x mr
        // scalars against the R x 4W x mr FMAs of the tile.
        for (int g = 0; g < 4; ++g)
          for (int l = 0; l < units; ++l) {
            float* row = dw + (g * H + u * W + l) * F + f;
            for (int i = 0; i < mr; ++i) row[i] = tile[i * 4 * W + g * W + l];
          }
      }
    }
    if (s.db) {   // rows summed in order: the result does not depend on the thread count
      R acc0 = S::zero(), acc1 = S::zero(), acc2 = S::zero(), acc3 = S::zero();
      constexpr int NV = S::NV;
      const float* p2 = panel + (2 / NV) * s.R * NV * W + (2 % NV) * W;   // gates g, o
      for (int64_t r = 0; r < s.R; ++r) {
        const float* p = panel + r * NV * W;
        acc0 = S::add(acc0, S::load(p));
        acc1 = S::add(acc1, S::load(p + (1 / NV) * s.R * NV * W + (1 % NV) * W));
        acc2 = S::add(acc2, S::load(p2 + r * NV * W));
        acc3 = S::add(acc3, S::load(p2 + r * NV * W + W));
      }
      const typename S::M m = S::mask(units);
      S::store(s.db + u * W, m, acc0);
      S::store(s.db + H + u * W, m, acc1);
      S::store(s.db + 2 * H + u * W, m, acc2);
      S::store(s.db + 3 * H + u * W, m, acc3);
    }
  }
}

}  // namespace impl
}  // namespace dlcore::cpu::lstm_fused
