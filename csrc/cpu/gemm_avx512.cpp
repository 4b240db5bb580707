// gemm_avx512.cpp — the AVX-512 micro-kernels of the CPU GEMM (compiled with -mavx512f/bw/
// dq/vl; gemm.cpp calls them only after has_avx512() said the CPU and the OS support zmm).
//
// One micro-kernel computes an MR x (NV vectors) tile of C, W = lanes per zmm register
// (16 floats, 8 doubles), MR <= 12, NV <= 2:
//
//   for k:  b[v] = B row k, vector v          (NV loads; the last one masked to nr columns)
//           for i < MR:  a = broadcast(A[i,k]);  c[i][v] += a * b[v]
//
// Why these tiles. With 32 zmm registers a 12 x 2 tile keeps 24 accumulators + 2 B vectors
// + 1 broadcast live. Zen4 executes a 512-bit FMA as two 256-bit halves, so the peak flop
// rate equals AVX2's; the gain is in everything around the FMAs: per k step 24 FMAs need
// 2 B loads + 12 broadcasts (AVX2 6x16: 12 FMAs for 8 loads), half the instructions per
// flop, and edges cost nothing extra:
//   * MR is a template parameter instantiated for the row counts 1, 2, 4, 8 and 12 (see
//     kRowsInstantiated); the last row panel runs exactly the rows it has, as one tile or
//     as pieces of those (11 = 8 + 2 + 1);
//   * NV = 1 is used when the tile has <= W columns, and the last vector's loads and stores
//     are masked. Masked loads never touch memory past column nr, so B may also be read
//     in place (row-major, ldb = its row stride) instead of from a packed panel: for a
//     short A (M = 64) each B element is used only M times and packing B would cost about
//     as much memory traffic as the product itself.
//
// A is either a packed panel (a[k*12 + i], any mr) or a row-major A read in place
// (a[i*lda + k]). The epilogue C = act(alpha*AB + beta*C + bias) is fused for none/ReLU
// (masked loads and stores of C); sigmoid/tanh spill the tile and use the scalar
// store_tile() of gemm_generic.cpp, whose cost is small next to kc rank-1 updates.
//
// A narrow C (N <= 12, a classifier head) has its own kernel, dot_rows, below the tiles.
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include <algorithm>
#include <utility>

#include "gemm_internal.h"
#include "transpose8_avx.h"

// GCC 12's avx512fintrin.h builds unmasked ops on an intentionally undefined pass-through
// register, which -W(maybe-)uninitialized reports once per instantiation. Not a real read.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace dlcore::cpu::gemm_detail {
namespace {

template <typename T> struct Z;
template <> struct Z<float> {
  using R = __m512;
  using M = __mmask16;
  static constexpr int W = 16;
  static M mask(int n) { return n >= W ? (M)0xFFFF : (M)((1u << n) - 1u); }
  static R load(M m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
  static void store(float* p, M m, R v) { _mm512_mask_storeu_ps(p, m, v); }
  static void store_all(float* p, R v) { _mm512_storeu_ps(p, v); }
  static R bcast(const float* p) { return _mm512_set1_ps(*p); }
  static R set1(float x) { return _mm512_set1_ps(x); }
  static R zero() { return _mm512_setzero_ps(); }
  static R fma(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  // c += a*b written as asm: the destination is tied to the accumulator's register (with
  // the intrinsic GCC let the last FMA of a step write into a dead B register, so the
  // accumulators wandered between registers and were shuffled and spilled at the loop end).
  static void acc(R& c, R a, R b) { __asm__("vfmadd231ps %2, %1, %0" : "+v"(c) : "v"(a), "v"(b)); }
  static R mul(R a, R b) { return _mm512_mul_ps(a, b); }
  static R add(R a, R b) { return _mm512_add_ps(a, b); }
  // max(0, x) with 0 first: a NaN in x is returned as NaN (maxps returns the 2nd operand).
  static R relu(R x) { return _mm512_max_ps(_mm512_setzero_ps(), x); }
  // [sum x0, sum x1, sum x2, sum x3] -> d[0..3]: halves, then quarters of the four vectors
  // are paired by lane shuffles so each add works on two or four sums at once (14 ops for
  // four sums; four _mm512_reduce_add_ps are 32).
  static void reduce4(R x0, R x1, R x2, R x3, float* d) {
    const R s01 = _mm512_add_ps(_mm512_shuffle_f32x4(x0, x1, 0x44), _mm512_shuffle_f32x4(x0, x1, 0xEE));
    const R s23 = _mm512_add_ps(_mm512_shuffle_f32x4(x2, x3, 0x44), _mm512_shuffle_f32x4(x2, x3, 0xEE));
    R t = _mm512_add_ps(_mm512_shuffle_f32x4(s01, s23, 0x88), _mm512_shuffle_f32x4(s01, s23, 0xDD));
    t = _mm512_add_ps(t, _mm512_shuffle_ps(t, t, 0xB1));   // 128-bit lane q holds x_q
    t = _mm512_add_ps(t, _mm512_shuffle_ps(t, t, 0x4E));
    const __m512i idx = _mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    _mm_storeu_ps(d, _mm512_castps512_ps128(_mm512_permutexvar_ps(idx, t)));
  }
};
template <> struct Z<double> {
  using R = __m512d;
  using M = __mmask8;
  static constexpr int W = 8;
  static M mask(int n) { return n >= W ? (M)0xFF : (M)((1u << n) - 1u); }
  static R load(M m, const double* p) { return _mm512_maskz_loadu_pd(m, p); }
  static void store(double* p, M m, R v) { _mm512_mask_storeu_pd(p, m, v); }
  static void store_all(double* p, R v) { _mm512_storeu_pd(p, v); }
  static R bcast(const double* p) { return _mm512_set1_pd(*p); }
  static R set1(double x) { return _mm512_set1_pd(x); }
  static R zero() { return _mm512_setzero_pd(); }
  static R fma(R a, R b, R c) { return _mm512_fmadd_pd(a, b, c); }
  static void acc(R& c, R a, R b) { __asm__("vfmadd231pd %2, %1, %0" : "+v"(c) : "v"(a), "v"(b)); }
  static R mul(R a, R b) { return _mm512_mul_pd(a, b); }
  static R add(R a, R b) { return _mm512_add_pd(a, b); }
  static R relu(R x) { return _mm512_max_pd(_mm512_setzero_pd(), x); }
  static void reduce4(R x0, R x1, R x2, R x3, double* d) {
    const R s01 = _mm512_add_pd(_mm512_shuffle_f64x2(x0, x1, 0x44), _mm512_shuffle_f64x2(x0, x1, 0xEE));
    const R s23 = _mm512_add_pd(_mm512_shuffle_f64x2(x2, x3, 0x44), _mm512_shuffle_f64x2(x2, x3, 0xEE));
    R t = _mm512_add_pd(_mm512_shuffle_f64x2(s01, s23, 0x88), _mm512_shuffle_f64x2(s01, s23, 0xDD));
    t = _mm512_add_pd(t, _mm512_shuffle_pd(t, t, 0x55));
    const __m512i idx = _mm512_setr_epi64(0, 2, 4, 6, 0, 0, 0, 0);
    _mm256_storeu_pd(d, _mm512_castpd512_pd256(_mm512_permutexvar_pd(idx, t)));
  }
};

constexpr int kPanel = kAvx512MR;   // row stride of a packed A panel

// PACKED: A is a packed panel (rsa = 1, csa = kPanel known at compile time, so each row is a
// constant displacement). Otherwise rows lie rsa apart: four base pointers, one per group
// of three rows, reach them as p, p + rsa, p + 2*rsa (scaled-index addressing).
template <typename T, int MR, int NV, bool PACKED>
__attribute__((always_inline)) inline void ukr(int64_t kc, const T* a, int64_t rsa, int64_t csa, const T* b, int64_t ldb, T* c,
         int64_t ldc, int /*mr: MR*/, int nr, const TileEpilogue<T>& e) {
  using X = Z<T>;
  using R = typename X::R;
  constexpr int W = X::W;
  const typename X::M mlast = X::mask(nr - (NV - 1) * W);
  // The tile of C is needed only after the k loop; start fetching it now (C is re-read on
  // every kc pass when beta != 0).
  for (int i = 0; i < MR; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + nr - 1), _MM_HINT_T0);
  }
  // 24 named accumulators (rows >= MR and the second column vector when NV == 1 are dead
  // and vanish). An array R acc[MR][NV] is too big for GCC's scalar replacement: it stayed
  // in memory and was stored back every iteration.
  R c0_0 = X::zero(), c0_1 = X::zero(), c1_0 = X::zero(), c1_1 = X::zero();
  R c2_0 = X::zero(), c2_1 = X::zero(), c3_0 = X::zero(), c3_1 = X::zero();
  R c4_0 = X::zero(), c4_1 = X::zero(), c5_0 = X::zero(), c5_1 = X::zero();
  R c6_0 = X::zero(), c6_1 = X::zero(), c7_0 = X::zero(), c7_1 = X::zero();
  R c8_0 = X::zero(), c8_1 = X::zero(), c9_0 = X::zero(), c9_1 = X::zero();
  R c10_0 = X::zero(), c10_1 = X::zero(), c11_0 = X::zero(), c11_1 = X::zero();

  const T* p0 = a;
  const T* p1 = a + 3 * rsa;
  const T* p2 = a + 6 * rsa;
  const T* p3 = a + 9 * rsa;
  const typename X::M mall = (typename X::M)~0u;
  // Row i of A: a constant displacement from p0 in a packed panel; else one of four group
  // pointers plus 0, 1 or 2 times rsa (scaled-index addressing, no per-row registers).
#define DLCORE_AROW(i) \
  (PACKED ? p0 + (i) : ((i) < 3 ? p0 : (i) < 6 ? p1 : (i) < 9 ? p2 : p3) + ((i) % 3) * rsa)
#define DLCORE_FMA_ROW(i)                                              \
  if constexpr ((i) < MR) {                                            \
    const R av = X::bcast(DLCORE_AROW(i));                             \
    X::acc(c##i##_0, av, b0);                                          \
    if constexpr (NV == 2) X::acc(c##i##_1, av, b1);                   \
  }
  // One k step. The empty asm keeps GCC from turning unrolled steps into dozens of
  // precomputed addresses that spill (it would fold k*csa into each row).
#define DLCORE_STEP                                                                  \
  {                                                                                  \
    const R b0 = X::load(NV == 1 ? mlast : mall, b);                                 \
    const R b1 = NV == 2 ? X::load(mlast, b + W) : X::zero();                        \
    DLCORE_FMA_ROW(0) DLCORE_FMA_ROW(1) DLCORE_FMA_ROW(2) DLCORE_FMA_ROW(3)          \
    DLCORE_FMA_ROW(4) DLCORE_FMA_ROW(5) DLCORE_FMA_ROW(6) DLCORE_FMA_ROW(7)          \
    DLCORE_FMA_ROW(8) DLCORE_FMA_ROW(9) DLCORE_FMA_ROW(10) DLCORE_FMA_ROW(11)        \
    if (PACKED) {                                                                    \
      p0 += kPanel;                                                                  \
      __asm__("" : "+r"(p0));                                                        \
    } else {                                                                         \
      p0 += csa; p1 += csa; p2 += csa; p3 += csa;                                    \
      __asm__("" : "+r"(p0), "+r"(p1), "+r"(p2), "+r"(p3));                          \
    }                                                                                \
    b += ldb;                                                                        \
    __asm__("" : "+r"(b));                                                           \
  }
  // Unrolled by 4. The prefetch pulls B ~16 k-steps ahead: a packed panel streams from
  // L2, a B read in place has rows ldb apart that the hardware prefetcher does not follow.
  // The side stream (e.pf) advances one line per 4 steps, spread over the whole k loop so
  // the next panels' DRAM reads overlap these FMAs instead of stalling the packing later.
  const char* pf = e.pf;
  int pf_line = 0, pf_rows = e.pf_rows;
  const int pf_lines = e.pf_lines;
  int64_t k = 0;
  for (; k + 4 <= kc; k += 4) {
#define DLCORE_PF                                                                     \
  _mm_prefetch(reinterpret_cast<const char*>(b + 16 * ldb), _MM_HINT_T0);            \
  if (NV == 2) _mm_prefetch(reinterpret_cast<const char*>(b + 16 * ldb + W), _MM_HINT_T0);
    DLCORE_PF DLCORE_STEP DLCORE_PF DLCORE_STEP DLCORE_PF DLCORE_STEP DLCORE_PF DLCORE_STEP
#undef DLCORE_PF
    for (int q = 0; q < 2 && pf_rows > 0; ++q) {
      _mm_prefetch(pf + 64 * pf_line, _MM_HINT_T1);
      if (++pf_line == pf_lines) { pf_line = 0; pf += e.pf_stride; --pf_rows; }
    }
  }
  for (; k < kc; ++k) DLCORE_STEP
#undef DLCORE_STEP
#undef DLCORE_FMA_ROW
#undef DLCORE_AROW

  if (e.act != Activation::None && e.act != Activation::Relu) {
    alignas(64) T buf[MR * 2 * W];
#define DLCORE_SPILL(i)                                                    \
  if constexpr ((i) < MR) {                                                \
    X::store_all(buf + (i) * 2 * W, c##i##_0);                             \
    X::store_all(buf + (i) * 2 * W + W, c##i##_1);                         \
  }
    DLCORE_SPILL(0) DLCORE_SPILL(1) DLCORE_SPILL(2) DLCORE_SPILL(3) DLCORE_SPILL(4)
    DLCORE_SPILL(5) DLCORE_SPILL(6) DLCORE_SPILL(7) DLCORE_SPILL(8) DLCORE_SPILL(9)
    DLCORE_SPILL(10) DLCORE_SPILL(11)
#undef DLCORE_SPILL
    store_tile(buf, 2 * W, 1, c, ldc, MR, nr, e);
    return;
  }
  const typename X::M m0 = NV == 1 ? mlast : mall;
  // The two write-backs of a plain product, without the per-row tests of the general one
  // (a small-K product spends a third of its time here): C = AB, and C += AB (the later kc
  // passes of a long K).
  if (e.alpha == T(1) && !e.bias && e.act == Activation::None &&
      (e.beta == T(0) || e.beta == T(1))) {
    const bool acc_c = e.beta == T(1);
#define DLCORE_PLAIN(i)                                                                   \
  if constexpr ((i) < MR) {                                                               \
    T* ci = c + (i) * ldc;                                                                \
    X::store(ci, m0, acc_c ? X::add(c##i##_0, X::load(m0, ci)) : c##i##_0);                \
    if constexpr (NV == 2)                                                                \
      X::store(ci + W, mlast, acc_c ? X::add(c##i##_1, X::load(mlast, ci + W)) : c##i##_1); \
  }
    DLCORE_PLAIN(0) DLCORE_PLAIN(1) DLCORE_PLAIN(2) DLCORE_PLAIN(3) DLCORE_PLAIN(4)
    DLCORE_PLAIN(5) DLCORE_PLAIN(6) DLCORE_PLAIN(7) DLCORE_PLAIN(8) DLCORE_PLAIN(9)
    DLCORE_PLAIN(10) DLCORE_PLAIN(11)
#undef DLCORE_PLAIN
    return;
  }
  const R alpha = X::set1(e.alpha), beta = X::set1(e.beta);
  const bool scale = e.alpha != T(1), read_c = e.beta != T(0), relu = e.act == Activation::Relu;
  const bool col_bias = e.bias && !e.bias_per_row;
  const R bias0 = col_bias ? X::load(m0, e.bias) : X::zero();
  const R bias1 = col_bias && NV == 2 ? X::load(mlast, e.bias + W) : X::zero();
  // C row i = act(alpha*acc + beta*C + bias); beta == 0: C is never read.
  auto out = [&](int i, R r, const R& bias_v, T* p, typename X::M m) {
    if (scale) r = X::mul(r, alpha);
    if (read_c) r = X::fma(beta, X::load(m, p), r);
    if (col_bias) r = X::add(r, bias_v);
    else if (e.bias) r = X::add(r, X::set1(e.bias[i]));
    if (relu) r = X::relu(r);
    X::store(p, m, r);
  };
#define DLCORE_OUT(i)                                            \
  if constexpr ((i) < MR) {                                      \
    out(i, c##i##_0, bias0, c + (i) * ldc, m0);                  \
    if constexpr (NV == 2) out(i, c##i##_1, bias1, c + (i) * ldc + W, mlast); \
  }
  DLCORE_OUT(0) DLCORE_OUT(1) DLCORE_OUT(2) DLCORE_OUT(3) DLCORE_OUT(4) DLCORE_OUT(5)
  DLCORE_OUT(6) DLCORE_OUT(7) DLCORE_OUT(8) DLCORE_OUT(9) DLCORE_OUT(10) DLCORE_OUT(11)
#undef DLCORE_OUT
}

// The instances the dispatch calls directly: the row counts 1, 2, 4, 8 and 12, for float and
// float64; another edge tile runs as pieces of those (11 rows = 8 + 2 + 1: the B panel, in L1,
// is streamed once per piece). 40 kernels instead of 96: the float32 half alone took a third
// off this file's compile time (2026-12-03, Zen 4: 7.9 -> 5.4 s of CPU). Pieces cost nothing
// measurable: one-thread A/B of every float32 edge M = 1..12 (K = N = 256), M = 10 / 11
// with a long K, 64x784x256, 256x256x10, 100x300x77, both builds interleaved in one
// process: every ratio of medians within 0.94-1.06, of minima within 0.96-1.05, the
// machine's A/A noise (tools/ab_gemm_edges.py). A short product spends its time around the
// tile (packing, the call, the epilogue), not in the edge's k loop.
template <typename T, int MR>
constexpr bool kRowsInstantiated = MR == 1 || MR == 2 || MR == 4 || MR == 8 || MR == kPanel;

// table[packed][nv-1][mr-1]: every instantiation the driver can ask for (nullptr: pieces).
template <typename T, int NV, bool PACKED, int... I>
constexpr void fill(UkrFull<T>* row, std::integer_sequence<int, I...>) {
  ((row[I] = kRowsInstantiated<T, I + 1> ? &ukr<T, kRowsInstantiated<T, I + 1> ? I + 1 : 1, NV, PACKED>
                                         : nullptr),
   ...);
}
template <typename T>
struct Table {
  UkrFull<T> f[2][2][kAvx512MR];
  Table() {
    fill<T, 1, false>(f[0][0], std::make_integer_sequence<int, kAvx512MR>{});
    fill<T, 2, false>(f[0][1], std::make_integer_sequence<int, kAvx512MR>{});
    fill<T, 1, true>(f[1][0], std::make_integer_sequence<int, kAvx512MR>{});
    fill<T, 2, true>(f[1][1], std::make_integer_sequence<int, kAvx512MR>{});
  }
};

template <typename T>
inline void dispatch(int64_t kc, const T* a, int64_t rsa, int64_t csa, const T* b, int64_t ldb,
                     T* c, int64_t ldc, int mr, int nr, const TileEpilogue<T>& e) {
  static const Table<T> table;
  if (mr <= 0 || nr <= 0) return;
  const bool packed = rsa == 1 && csa == kPanel;
  const int nv = nr > Z<T>::W ? 2 : 1;
  const auto* row = table.f[packed][nv - 1];
  if (row[mr - 1]) return row[mr - 1](kc, a, rsa, csa, b, ldb, c, ldc, mr, nr, e);
  run_in_pieces(row, kc, a, rsa, csa, b, ldb, c, ldc, mr, nr, e);   // an edge of 11 = 8 + 2 + 1 rows
}

// Whole tiles down one column of C (the same B panel): tile t reads A at a + t*a_step and
// writes rows t*MR... of C. One call per column instead of per tile (see UkrColumn).
template <typename T, bool PACKED>
void ukr_column(int64_t tiles, int64_t a_step, int64_t kc, const T* a, int64_t rsa, int64_t csa,
                const T* b, int64_t ldb, T* c, int64_t ldc, const TileEpilogue<T>& e) {
  for (int64_t t = 0; t < tiles; ++t, a += a_step, c += kPanel * ldc)
    ukr<T, kPanel, 2, PACKED>(kc, a, rsa, csa, b, ldb, c, ldc, kPanel, 2 * Z<T>::W, e);
}

// ---- narrow C (N <= 12 columns): dot products along k ----------------------------------
// C = A B with B = K x N, N tiny (a classifier head, N = 10). Vectors along j would leave
// 6 of 16 lanes idle; vectors along i need A^T (a transpose as costly as a quarter of the
// product). Vectors along k need neither: C[i,j] = <A row i, B^T row j>, both unit stride
// (B^T is N x K, packed by the driver unless B already is a B^T view). A tile of MR <= 4
// rows x NJ <= 6 columns keeps MR*NJ <= 24 accumulators; per vector of k it loads MR A
// vectors and NJ B vectors for MR*NJ FMAs (4 x 5: 9 loads per 20 FMAs, under Zen4's one
// zmm load per FMA). Each accumulator is summed across its lanes once at the end.
//
// DotVec<T>: Z<T> with the two loads dot_tile (gemm_dot_rows.h) takes, whole and masked.
template <typename T>
struct DotVec : Z<T> {
  using R = typename Z<T>::R;
  using M = typename Z<T>::M;
  static R load(const T* p) { return Z<T>::load((M)~0u, p); }
  static R load(const T* p, M m) { return Z<T>::load(m, p); }
};

constexpr int kDotMR = 4, kDotNJ = 6;
#include "gemm_dot_rows.h"   // dot_tile, DotTable, dot_rows over this file's DotVec


}  // namespace

void ukr_f32_avx512(int64_t kc, const float* a, int64_t rsa, int64_t csa, const float* b,
                    int64_t ldb, float* c, int64_t ldc, int mr, int nr,
                    const TileEpilogue<float>& e) {
  dispatch<float>(kc, a, rsa, csa, b, ldb, c, ldc, mr, nr, e);
}

void ukr_f64_avx512(int64_t kc, const double* a, int64_t rsa, int64_t csa, const double* b,
                    int64_t ldb, double* c, int64_t ldc, int mr, int nr,
                    const TileEpilogue<double>& e) {
  dispatch<double>(kc, a, rsa, csa, b, ldb, c, ldc, mr, nr, e);
}

UkrColumn<float> ukr_f32_avx512_column(bool packed) {
  return packed ? &ukr_column<float, true> : &ukr_column<float, false>;
}
UkrColumn<double> ukr_f64_avx512_column(bool packed) {
  return packed ? &ukr_column<double, true> : &ukr_column<double, false>;
}
// The whole-tile kernel is the table's 12-row, two-vector instance itself (no second copy).
UkrFull<float> ukr_f32_avx512_full(bool packed) {
  return packed ? &ukr<float, kPanel, 2, true> : &ukr<float, kPanel, 2, false>;
}
UkrFull<double> ukr_f64_avx512_full(bool packed) {
  return packed ? &ukr<double, kPanel, 2, true> : &ukr<double, kPanel, 2, false>;
}

void dot_f32_avx512(int64_t M, int N, int64_t K, const float* a, int64_t lda, const float* bt,
                    int64_t ldbt, float* c, int64_t ldc, const TileEpilogue<float>& e) {
  dot_rows<float>(M, N, K, a, lda, bt, ldbt, c, ldc, e);
}

// bt[j*K + k] = b[k*rs + j] for a row-major B (K x N, N <= 12): one 16-lane gather per 16
// k steps of a column (160 gathers for 256 x 10, against 2560 strided scalar copies).
// The driver calls it only when 15*rs fits the gather's 32-bit indices.
void pack_bt_f32_avx512(int64_t K, int N, const float* b, int64_t rs, float* bt) {
  const __m512i idx = _mm512_mullo_epi32(
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
      _mm512_set1_epi32((int)rs));
  int64_t k = 0;
  for (; k + 16 <= K; k += 16)
    for (int j = 0; j < N; ++j)
      _mm512_storeu_ps(bt + j * K + k, _mm512_i32gather_ps(idx, b + k * rs + j, 4));
  for (; k < K; ++k)
    for (int j = 0; j < N; ++j) bt[j * K + k] = b[k * rs + j];
}
void dot_f64_avx512(int64_t M, int N, int64_t K, const double* a, int64_t lda,
                    const double* bt, int64_t ldbt, double* c, int64_t ldc,
                    const TileEpilogue<double>& e) {
  dot_rows<double>(M, N, K, a, lda, bt, ldbt, c, ldc, e);
}

// B with unit row stride (B[k, j] = b[k + j*cs], e.g. Linear's W read as W^T): the panel
// wants 32 columns per k row, i.e. a transpose, done as four 8x8 in-register transposes
// per 8 k steps (8 loads, 24 shuffles, 8 stores per 64 elements instead of 64 gathers).
void pack_b_rowunit_f32_avx512(int64_t kc, int nr, const float* b, int64_t cs, float* dst) {
  pack_transposed_panel<kAvx512NRf>(kc, nr, b, cs, dst);
}
// A row-major A panel (row i at a + i*rs, contiguous along k) is the same transpose.
void pack_a_rowmajor_f32_avx512(int64_t kc, int mr, const float* a, int64_t rs, float* dst) {
  pack_transposed_panel<kAvx512MR>(kc, mr, a, rs, dst);
}

}  // namespace dlcore::cpu::gemm_detail
#endif  // x86
