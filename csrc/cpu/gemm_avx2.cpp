// gemm_avx2.cpp — the AVX2+FMA micro-kernels of the CPU GEMM (compiled with -mavx2 -mfma;
// gemm.cpp calls them only after has_avx2_fma() said yes).
//
// One micro-kernel computes an MR x (NV vectors) tile of C, MR <= 6, NV <= 2, W = lanes per
// ymm register (8 floats, 4 doubles): float 6x16, double 6x8 at full size.
//
//   for k:  b[v] = B row k, vector v             (NV loads)
//           for i < MR:  a = broadcast(A[i,k]);  c[i][v] += a * b[v]
//
// 12 accumulators + 2 B vectors + 1 broadcast = 15 of the 16 ymm registers. Per k step 12
// FMAs against 2 loads and 6 broadcasts: Zen4 / Haswell-class cores issue two FMAs and two or
// three loads per cycle, so the FMA pipes, not the load ports, set the pace; the FMA latency
// (4 cycles, 2 pipes) needs >= 8 independent chains in flight, 12 give slack.
//
// Edges cost no padded work: MR is a template parameter instantiated for every row count
// 1..6 (float64: 1, 2, 4, 6; the last row panel runs only the rows it has), NV = 1 serves
// tiles of <= W columns, and a ragged last vector is loaded and stored through vmaskmov
// masks. Masked loads never touch memory past column nr, so B may also be read in place
// (row-major, ldb = its row stride) instead of from a packed panel: for a short A (M = 64)
// each B element is used only M times and packing B would cost about as much memory
// traffic as the product.
//
// A is either a packed panel (a[k*6 + i], any mr) or a row-major A read in place
// (a[i*lda + k]). The epilogue C = act(alpha*AB + beta*C + bias) is fused for none/ReLU;
// sigmoid/tanh spill the tile and use the scalar store_tile() of gemm_generic.cpp.
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include <algorithm>
#include <type_traits>
#include <utility>

#include "gemm_internal.h"
#include "transpose8_avx.h"

namespace dlcore::cpu::gemm_detail {
namespace {

template <typename T> struct V;
template <> struct V<float> {
  using R = __m256;
  static constexpr int W = 8;
  static R load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, R v) { _mm256_storeu_ps(p, v); }
  static R bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static R set1(float x) { return _mm256_set1_ps(x); }
  static R zero() { return _mm256_setzero_ps(); }
  static R fma(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  static R mul(R a, R b) { return _mm256_mul_ps(a, b); }
  static R add(R a, R b) { return _mm256_add_ps(a, b); }
  // max(0, x) with 0 first: a NaN in x is returned as NaN (maxps returns the 2nd operand).
  static R relu(R x) { return _mm256_max_ps(_mm256_setzero_ps(), x); }
  // c += a*b, the destination tied to the accumulator's register (see DLCORE_STEP).
  static void acc(R& c, R a, R b) { __asm__("vfmadd231ps %2, %1, %0" : "+x"(c) : "x"(a), "x"(b)); }
  // Lanes [0, n) of a vmaskmov mask (sign bit set).
  using M = __m256i;
  static M mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static R load(const float* p, M m) { return _mm256_maskload_ps(p, m); }
  static void store(float* p, M m, R v) { _mm256_maskstore_ps(p, m, v); }
};
template <> struct V<double> {
  using R = __m256d;
  static constexpr int W = 4;
  static R load(const double* p) { return _mm256_loadu_pd(p); }
  static void store(double* p, R v) { _mm256_storeu_pd(p, v); }
  static R bcast(const double* p) { return _mm256_broadcast_sd(p); }
  static R set1(double x) { return _mm256_set1_pd(x); }
  static R zero() { return _mm256_setzero_pd(); }
  static R fma(R a, R b, R c) { return _mm256_fmadd_pd(a, b, c); }
  static R mul(R a, R b) { return _mm256_mul_pd(a, b); }
  static R add(R a, R b) { return _mm256_add_pd(a, b); }
  static R relu(R x) { return _mm256_max_pd(_mm256_setzero_pd(), x); }
  static void acc(R& c, R a, R b) { __asm__("vfmadd231pd %2, %1, %0" : "+x"(c) : "x"(a), "x"(b)); }
  using M = __m256i;
  static M mask(int n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  static R load(const double* p, M m) { return _mm256_maskload_pd(p, m); }
  static void store(double* p, M m, R v) { _mm256_maskstore_pd(p, m, v); }
};

constexpr int kPanel = kAvx2MRf;   // row stride of a packed A panel (float and double)
static_assert(kAvx2MRf == kAvx2MRd, "one packed A layout for both dtypes");

// PACKED: A is a packed panel (rsa = 1, csa = kPanel known at compile time, so each row is a
// constant displacement). Otherwise A is row-major, read in place: rows at p0 + {0,1,2}*rsa
// and p1 + {0,1,2}*rsa (scaled-index addressing, two base registers for six rows).
// MASKED: the last B vector holds fewer than W valid columns; its loads and the tile's
// stores are masked, so a B read in place (ldb = its row stride) is never read past column
// nr. A zero-padded packed panel with a ragged width takes the same path (one masked load
// per k step; a panel that ragged is rare: the last one of a block).
template <typename T, int MR, int NV, bool PACKED, bool MASKED>
__attribute__((always_inline)) inline void ukr(int64_t kc, const T* a, int64_t rsa, int64_t csa, const T* b, int64_t ldb, T* c,
         int64_t ldc, int /*mr: MR*/, int nr, const TileEpilogue<T>& e) {
  using X = V<T>;
  using R = typename X::R;
  using M = typename X::M;
  constexpr int W = X::W;
  const M mlast = X::mask(nr - (NV - 1) * W);
  // The tile of C is needed only after the k loop; start fetching it now (C is re-read on
  // every kc pass when beta != 0).
  for (int i = 0; i < MR; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + nr - 1), _MM_HINT_T0);
  }
  // Named accumulators (rows >= MR and the second vector when NV == 1 are dead and vanish).
  R c0_0 = X::zero(), c0_1 = X::zero(), c1_0 = X::zero(), c1_1 = X::zero();
  R c2_0 = X::zero(), c2_1 = X::zero(), c3_0 = X::zero(), c3_1 = X::zero();
  R c4_0 = X::zero(), c4_1 = X::zero(), c5_0 = X::zero(), c5_1 = X::zero();
  const T* p0 = a;
  const T* p1 = a + 3 * rsa;
#define DLCORE_AROW(i) (PACKED ? p0 + (i) : ((i) < 3 ? p0 : p1) + ((i) % 3) * rsa)
#define DLCORE_FMA_ROW(i)                                   \
  if constexpr ((i) < MR) {                                 \
    const R av = X::bcast(DLCORE_AROW(i));                  \
    X::acc(c##i##_0, av, b0);                               \
    if constexpr (NV == 2) X::acc(c##i##_1, av, b1);        \
  }
  // One k step: NV loads of B, MR broadcasts of A, MR*NV FMAs. The FMAs are asm tied to
  // their accumulator, and the empty asm hides the pointers from GCC: with plain intrinsics
  // it let FMAs write into the broadcast register (the accumulators then wander between
  // registers, with moves and a stack spill in every unrolled step), and it folded the
  // unrolled steps into precomputed row addresses that ran out of registers.
#define DLCORE_STEP                                                                  \
  {                                                                                  \
    const R b0 = (MASKED && NV == 1) ? X::load(b, mlast) : X::load(b);               \
    const R b1 = NV == 2 ? (MASKED ? X::load(b + W, mlast) : X::load(b + W)) : X::zero(); \
    DLCORE_FMA_ROW(0) DLCORE_FMA_ROW(1) DLCORE_FMA_ROW(2)                           \
    DLCORE_FMA_ROW(3) DLCORE_FMA_ROW(4) DLCORE_FMA_ROW(5)                           \
    if (PACKED) {                                                                    \
      p0 += kPanel;                                                                  \
      __asm__("" : "+r"(p0));                                                        \
    } else {                                                                         \
      p0 += csa; p1 += csa;                                                          \
      __asm__("" : "+r"(p0), "+r"(p1));                                              \
    }                                                                                \
    b += ldb;                                                                        \
    __asm__("" : "+r"(b));                                                           \
  }
  // Unrolled by 4. Loop order in the driver: one B micro-panel stays in L1 while the A
  // panels of the block stream past it from L2, so the prefetches go where the misses are:
  // a packed A panel 16 steps ahead (two lines per 4 steps: they consume 1.5 lines); a B
  // read in place (rows ldb apart, which the hardware prefetcher does not follow) 8 rows
  // ahead. The side stream (e.pf, see TileEpilogue) advances one line per 4 steps.
  // (Not for a short k loop: its B rows, few and just read by the previous tile, are in L1.)
  const bool b_in_place = ldb != 2 * W && kc > 32;   // a packed panel is 2W wide
  const char* pf = e.pf;
  int pf_line = 0, pf_rows = e.pf_rows;
  const int pf_lines = e.pf_lines;
  int64_t k = 0;
  for (; k + 4 <= kc; k += 4) {
    if (PACKED) {
      _mm_prefetch(reinterpret_cast<const char*>(p0 + 16 * kPanel), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(p0 + 16 * kPanel + 64 / sizeof(T)), _MM_HINT_T0);
    }
    if (b_in_place) {
      for (int q = 0; q < 4; ++q) {
        _mm_prefetch(reinterpret_cast<const char*>(b + (8 + q) * ldb), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(b + (8 + q) * ldb + nr - 1), _MM_HINT_T0);
      }
    }
    DLCORE_STEP DLCORE_STEP DLCORE_STEP DLCORE_STEP
    if (pf_rows > 0) {
      _mm_prefetch(pf + 64 * pf_line, _MM_HINT_T1);
      if (++pf_line == pf_lines) { pf_line = 0; pf += e.pf_stride; --pf_rows; }
    }
  }
  for (; k < kc; ++k) DLCORE_STEP
#undef DLCORE_STEP
#undef DLCORE_FMA_ROW
#undef DLCORE_AROW

  if (e.act != Activation::None && e.act != Activation::Relu) {
    alignas(32) T buf[MR * 2 * W];
#define DLCORE_SPILL(i)                                    \
  if constexpr ((i) < MR) {                                \
    X::store(buf + (i) * 2 * W, c##i##_0);                 \
    X::store(buf + (i) * 2 * W + W, c##i##_1);             \
  }
    DLCORE_SPILL(0) DLCORE_SPILL(1) DLCORE_SPILL(2) DLCORE_SPILL(3) DLCORE_SPILL(4)
    DLCORE_SPILL(5)
#undef DLCORE_SPILL
    store_tile(buf, 2 * W, 1, c, ldc, MR, nr, e);
    return;
  }
  // The last vector of a row is masked (MASKED), the others are whole.
  auto ld = [&](const T* p, bool last) { return MASKED && last ? X::load(p, mlast) : X::load(p); };
  auto st = [&](T* p, bool last, R v) {
    if (MASKED && last) X::store(p, mlast, v);
    else X::store(p, v);
  };
  // The two write-backs of a plain product, without the per-row tests of the general one
  // (a small-K product spends a third of its time here): C = AB, and C += AB (the later kc
  // passes of a long K).
  if (e.alpha == T(1) && !e.bias && e.act == Activation::None &&
      (e.beta == T(0) || e.beta == T(1))) {
    const bool acc_c = e.beta == T(1);
#define DLCORE_PLAIN(i)                                                              \
  if constexpr ((i) < MR) {                                                          \
    T* ci = c + (i) * ldc;                                                           \
    st(ci, NV == 1, acc_c ? X::add(c##i##_0, ld(ci, NV == 1)) : c##i##_0);            \
    if constexpr (NV == 2) st(ci + W, true, acc_c ? X::add(c##i##_1, ld(ci + W, true)) : c##i##_1); \
  }
    DLCORE_PLAIN(0) DLCORE_PLAIN(1) DLCORE_PLAIN(2) DLCORE_PLAIN(3) DLCORE_PLAIN(4)
    DLCORE_PLAIN(5)
#undef DLCORE_PLAIN
    return;
  }
  const R alpha = X::set1(e.alpha), beta = X::set1(e.beta);
  const bool scale = e.alpha != T(1), read_c = e.beta != T(0), relu = e.act == Activation::Relu;
  const bool col_bias = e.bias && !e.bias_per_row;
  const R bias0 = col_bias ? ld(e.bias, NV == 1) : X::zero();
  const R bias1 = col_bias && NV == 2 ? ld(e.bias + W, true) : X::zero();
  // C row i = act(alpha*acc + beta*C + bias); beta == 0: C is never read.
  auto out = [&](int i, R r, const R& bias_v, T* p, bool last) {
    if (scale) r = X::mul(r, alpha);
    if (read_c) r = X::fma(beta, ld(p, last), r);
    if (col_bias) r = X::add(r, bias_v);
    else if (e.bias) r = X::add(r, X::set1(e.bias[i]));
    if (relu) r = X::relu(r);
    st(p, last, r);
  };
#define DLCORE_OUT(i)                                                       \
  if constexpr ((i) < MR) {                                                 \
    out(i, c##i##_0, bias0, c + (i) * ldc, NV == 1);                        \
    if constexpr (NV == 2) out(i, c##i##_1, bias1, c + (i) * ldc + W, true); \
  }
  DLCORE_OUT(0) DLCORE_OUT(1) DLCORE_OUT(2) DLCORE_OUT(3) DLCORE_OUT(4) DLCORE_OUT(5)
#undef DLCORE_OUT
}

// The instances the dispatch calls directly: every row count 1..6 for float; for float64
// (gradient checks, NumPy-reference tests) the row counts 1, 2, 4 and 6, and a 3- or 5-row
// edge tile runs as two pieces (2 + 1, 4 + 1) over the same B panel (see gemm_avx512.cpp).
template <typename T, int MR>
constexpr bool kRowsInstantiated = std::is_same_v<T, float> || MR == 1 || MR == 2 || MR == 4 || MR == kPanel;

// table[packed][masked][nv-1][mr-1]: every instantiation the driver can ask for (nullptr:
// pieces).
template <typename T, int NV, bool PACKED, bool MASKED, int... I>
constexpr void fill(UkrFull<T>* row, std::integer_sequence<int, I...>) {
  ((row[I] = kRowsInstantiated<T, I + 1>
                 ? &ukr<T, kRowsInstantiated<T, I + 1> ? I + 1 : 1, NV, PACKED, MASKED>
                 : nullptr),
   ...);
}
template <typename T>
struct Table {
  UkrFull<T> f[2][2][2][kPanel];
  template <bool PACKED, bool MASKED>
  void fill_all() {
    fill<T, 1, PACKED, MASKED>(f[PACKED][MASKED][0], std::make_integer_sequence<int, kPanel>{});
    fill<T, 2, PACKED, MASKED>(f[PACKED][MASKED][1], std::make_integer_sequence<int, kPanel>{});
  }
  Table() {
    fill_all<false, false>(); fill_all<false, true>();
    fill_all<true, false>(); fill_all<true, true>();
  }
};

template <typename T>
inline void dispatch(int64_t kc, const T* a, int64_t rsa, int64_t csa, const T* b, int64_t ldb,
                     T* c, int64_t ldc, int mr, int nr, const TileEpilogue<T>& e) {
  static const Table<T> table;
  if (mr <= 0 || nr <= 0) return;
  constexpr int W = V<T>::W;
  const bool packed = rsa == 1 && csa == kPanel;
  const int nv = nr > W ? 2 : 1;
  const bool masked = nr != nv * W;
  const auto* row = table.f[packed][masked][nv - 1];
  if (row[mr - 1]) return row[mr - 1](kc, a, rsa, csa, b, ldb, c, ldc, mr, nr, e);
  run_in_pieces(row, kc, a, rsa, csa, b, ldb, c, ldc, mr, nr, e);   // a float64 edge of 3 or 5 rows
}

// ---- narrow C (N <= 12 columns): dot products along k ----------------------------------
// C = A B with N tiny (a classifier head, N = 10). A 16-wide tile would leave 6 of its 16
// columns idle and re-read C for every kc pass; here C[i,j] = <A row i, B^T row j> with
// vectors along k, both operands unit stride (the driver packs B^T, N x K, unless B is
// already a B^T view). A tile of 3 rows x NJ <= 4 columns keeps 12 ymm accumulators and the
// 3 A vectors of a k step in registers (15 of 16); each B vector is loaded once per step and
// feeds 3 FMAs: 3 + NJ loads per 3*NJ FMAs. The k tail (K % W) is read through vmaskmov
// masks (zeros past K in both operands). Each accumulator is summed across lanes once.
//
// DotVec<T>: what the shared dot_tile (gemm_dot_rows.h) needs beyond V<T>, the lane sums.
template <typename T> struct DotVec;
template <> struct DotVec<float> : V<float> {
  // Lane sums of x0..x3 into d[0..3].
  static void reduce4(__m256 x0, __m256 x1, __m256 x2, __m256 x3, float* d) {
    const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(x0, x1), _mm256_hadd_ps(x2, x3));
    _mm_storeu_ps(d, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
  }
};
template <> struct DotVec<double> : V<double> {
  static void reduce4(__m256d x0, __m256d x1, __m256d x2, __m256d x3, double* d) {
    const __m256d h01 = _mm256_hadd_pd(x0, x1), h23 = _mm256_hadd_pd(x2, x3);
    // h01 = [x0 lo, x1 lo, x0 hi, x1 hi] pair sums; the two 128-bit halves add up.
    const __m256d lo = _mm256_permute2f128_pd(h01, h23, 0x20);
    const __m256d hi = _mm256_permute2f128_pd(h01, h23, 0x31);
    _mm256_storeu_pd(d, _mm256_add_pd(lo, hi));
  }
};

constexpr int kDotMR = 3, kDotNJ = 4;
#include "gemm_dot_rows.h"   // dot_tile, DotTable, dot_rows over this file's DotVec

// Whole tiles down one column of C (the same B panel): tile t reads A at a + t*a_step and
// writes rows t*MR... of C. One call per column instead of per tile (see UkrColumn).
template <typename T, bool PACKED>
void ukr_column(int64_t tiles, int64_t a_step, int64_t kc, const T* a, int64_t rsa, int64_t csa,
                const T* b, int64_t ldb, T* c, int64_t ldc, const TileEpilogue<T>& e) {
  for (int64_t t = 0; t < tiles; ++t, a += a_step, c += kPanel * ldc)
    ukr<T, kPanel, 2, PACKED, false>(kc, a, rsa, csa, b, ldb, c, ldc, kPanel, 2 * V<T>::W, e);
}

}  // namespace

void ukr_f32_avx2(int64_t kc, const float* a, int64_t rsa, int64_t csa, const float* b,
                  int64_t ldb, float* c, int64_t ldc, int mr, int nr,
                  const TileEpilogue<float>& e) {
  dispatch<float>(kc, a, rsa, csa, b, ldb, c, ldc, mr, nr, e);
}

void ukr_f64_avx2(int64_t kc, const double* a, int64_t rsa, int64_t csa, const double* b,
                  int64_t ldb, double* c, int64_t ldc, int mr, int nr,
                  const TileEpilogue<double>& e) {
  dispatch<double>(kc, a, rsa, csa, b, ldb, c, ldc, mr, nr, e);
}

UkrColumn<float> ukr_f32_avx2_column(bool packed) {
  return packed ? &ukr_column<float, true> : &ukr_column<float, false>;
}
UkrColumn<double> ukr_f64_avx2_column(bool packed) {
  return packed ? &ukr_column<double, true> : &ukr_column<double, false>;
}
// The whole-tile kernel is the table's 6-row, two-vector, unmasked instance itself.
UkrFull<float> ukr_f32_avx2_full(bool packed) {
  return packed ? &ukr<float, kPanel, 2, true, false> : &ukr<float, kPanel, 2, false, false>;
}
UkrFull<double> ukr_f64_avx2_full(bool packed) {
  return packed ? &ukr<double, kPanel, 2, true, false> : &ukr<double, kPanel, 2, false, false>;
}

// B with unit row stride: column j of B is contiguous along k (B[k, j] = b[k + j*cs]).
// The packed panel wants rows of 16 columns per k, i.e. a transpose. Scalar gathers cost a
// load+store per element; reading 8 columns x 8 k as ymm rows and transposing in registers
// moves 64 elements with 8 loads, 24 shuffles and 8 stores.
void pack_b_rowunit_f32_avx2(int64_t kc, int nr, const float* b, int64_t cs, float* dst) {
  pack_transposed_panel<kAvx2NRf>(kc, nr, b, cs, dst);
}

// A row-major A panel (row i at a + i*rs, contiguous along k) into the 6-row packed panel
// d[k*6 + i]. Eight k steps of the six rows are 48 consecutive floats of the panel: load 6
// rows x 8 k, transpose as an 8x8 block (two zero rows), and store each column's 8 lanes at
// d + 6k, in increasing k, so the two spare lanes of one store are overwritten by the next;
// the last column stores only its 6. (The scalar copy wrote one float per store, strided.)
void pack_a_rowmajor_f32_avx2(int64_t kc, int mr, const float* a, int64_t rs, float* dst) {
  constexpr int MR = kAvx2MRf;
  int64_t k = 0;
  if (mr == MR) {
    for (; k + 8 <= kc; k += 8) {
      const float* s = a + k;
      __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + rs);
      __m256 r2 = _mm256_loadu_ps(s + 2 * rs), r3 = _mm256_loadu_ps(s + 3 * rs);
      __m256 r4 = _mm256_loadu_ps(s + 4 * rs), r5 = _mm256_loadu_ps(s + 5 * rs);
      __m256 r6 = _mm256_setzero_ps(), r7 = _mm256_setzero_ps();
      transpose8(r0, r1, r2, r3, r4, r5, r6, r7);
      float* d = dst + k * MR;
      _mm256_storeu_ps(d + 0 * MR, r0); _mm256_storeu_ps(d + 1 * MR, r1);
      _mm256_storeu_ps(d + 2 * MR, r2); _mm256_storeu_ps(d + 3 * MR, r3);
      _mm256_storeu_ps(d + 4 * MR, r4); _mm256_storeu_ps(d + 5 * MR, r5);
      _mm256_storeu_ps(d + 6 * MR, r6);
      _mm_storeu_ps(d + 7 * MR, _mm256_castps256_ps128(r7));
      _mm_storel_pi(reinterpret_cast<__m64*>(d + 7 * MR + 4), _mm256_extractf128_ps(r7, 1));
    }
  }
  for (; k < kc; ++k) {
    float* d = dst + k * MR;
    int i = 0;
    for (; i < mr; ++i) d[i] = a[i * rs + k];
    for (; i < MR; ++i) d[i] = 0.f;
  }
}

void dot_f32_avx2(int64_t M, int N, int64_t K, const float* a, int64_t lda, const float* bt,
                  int64_t ldbt, float* c, int64_t ldc, const TileEpilogue<float>& e) {
  dot_rows<float>(M, N, K, a, lda, bt, ldbt, c, ldc, e);
}
void dot_f64_avx2(int64_t M, int N, int64_t K, const double* a, int64_t lda, const double* bt,
                  int64_t ldbt, double* c, int64_t ldc, const TileEpilogue<double>& e) {
  dot_rows<double>(M, N, K, a, lda, bt, ldbt, c, ldc, e);
}

// bt[j*K + k] = b[k*rs + j] for a row-major B (K x N, N <= 12), for the dot kernels: 8 rows
// x 8 columns per 8x8 in-register transpose (the columns past N masked off on load), the
// k tail scalar. (256 x 10 by scalar copies: 2560 strided loads.)
void pack_bt_f32_avx2(int64_t K, int N, const float* b, int64_t rs, float* bt) {
  for (int j0 = 0; j0 < N; j0 += 8) {
    const int nj = std::min(8, N - j0);
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(nj), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    int64_t k = 0;
    for (; k + 8 <= K; k += 8) {
      const float* s = b + k * rs + j0;
      __m256 r[8];
      for (int q = 0; q < 8; ++q) r[q] = _mm256_maskload_ps(s + q * rs, m);
      transpose8(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
      for (int j = 0; j < nj; ++j) _mm256_storeu_ps(bt + (j0 + j) * K + k, r[j]);
    }
    for (; k < K; ++k)
      for (int j = 0; j < nj; ++j) bt[(j0 + j) * K + k] = b[k * rs + j0 + j];
  }
}

}  // namespace dlcore::cpu::gemm_detail
#endif  // x86
