// gemm_avx2.cpp — the AVX2+FMA micro-kernels of the CPU GEMM (compiled with -mavx2 -mfma;
// gemm.cpp calls them only after has_avx2_fma() said yes).
//
// One micro-kernel computes a 6 x (2 vectors) tile of C from a packed A micro-panel
// (a[k*6 + i]) and a packed B micro-panel (b[k*2W + j]), W = lanes per ymm register:
//
//   for k:  b0, b1 = B row k (two ymm loads)
//           for i in 0..5:  a = broadcast(A[i,k]);  c[i][0] += a*b0;  c[i][1] += a*b1
//
// 12 accumulators + 2 B vectors + 1 broadcast = 15 of the 16 ymm registers. The FMA latency
// (4 cycles on Zen4, 2 pipes) needs >= 8 independent chains in flight; 12 gives slack.
// The same template serves float (6x16) and double (6x8): only the vector traits differ.
//
// The epilogue C = act(alpha*AB + beta*C + bias) is fused into the write-back of the
// registers for full tiles with no activation or ReLU; edge tiles and sigmoid/tanh spill
// the tile to a small buffer and use the scalar store_tile() of gemm_generic.cpp.
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

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
};

constexpr int MR = 6;

template <typename T>
inline void ukr_6x2v(int64_t kc, const T* __restrict a, int64_t rsa, int64_t csa,
                     const T* __restrict b, int64_t ldb, T* c, int64_t ldc, int mr, int nr,
                     const TileEpilogue<T>& e) {
  using X = V<T>;
  using R = typename X::R;
  constexpr int W = X::W, NR = 2 * W;
  // The tile of C is needed only after the k loop; start fetching it now so the write-back
  // does not stall on a cache miss per row (C is re-read on every kc pass when beta != 0).
  for (int i = 0; i < mr; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T0);
  }
  // Rows of A: a packed panel has rsa = 1, csa = MR; a row-major A read in place has
  // rsa = lda, csa = 1. Two base pointers reach the six rows with scaled-index addressing.
  const T* a3 = a + 3 * rsa;
  R c00 = X::zero(), c01 = X::zero(), c10 = X::zero(), c11 = X::zero();
  R c20 = X::zero(), c21 = X::zero(), c30 = X::zero(), c31 = X::zero();
  R c40 = X::zero(), c41 = X::zero(), c50 = X::zero(), c51 = X::zero();

  // One k step. Pointers advance every step (instead of k*csa offsets) so the compiler
  // needs only a, a3, b and rsa in general registers: rows sit at a + {0,1,2}*rsa and
  // a3 + {0,1,2}*rsa, reachable with scaled-index addressing. The empty asm hides the
  // pointers from GCC, which would otherwise fold the four unrolled steps into 24
  // precomputed offsets and spill them (and an accumulator) to the stack.
#define DLCORE_UKR_STEP                                                       \
  {                                                                           \
    const R b0 = X::load(b), b1 = X::load(b + W);                             \
    R av = X::bcast(a);                                                       \
    c00 = X::fma(av, b0, c00); c01 = X::fma(av, b1, c01);                     \
    av = X::bcast(a + rsa);                                                   \
    c10 = X::fma(av, b0, c10); c11 = X::fma(av, b1, c11);                     \
    av = X::bcast(a + 2 * rsa);                                               \
    c20 = X::fma(av, b0, c20); c21 = X::fma(av, b1, c21);                     \
    av = X::bcast(a3);                                                        \
    c30 = X::fma(av, b0, c30); c31 = X::fma(av, b1, c31);                     \
    av = X::bcast(a3 + rsa);                                                  \
    c40 = X::fma(av, b0, c40); c41 = X::fma(av, b1, c41);                     \
    av = X::bcast(a3 + 2 * rsa);                                              \
    c50 = X::fma(av, b0, c50); c51 = X::fma(av, b1, c51);                     \
    a += csa; a3 += csa; b += ldb;                                            \
    __asm__("" : "+r"(a), "+r"(a3), "+r"(b));                                  \
  }

  // Unrolled by 4 to amortise the loop overhead; the prefetch pulls the B panel ~8 k-steps
  // ahead into L1 (it streams from L2 once per micro-tile column sweep).
  int64_t k = 0;
  for (; k + 4 <= kc; k += 4) {
    _mm_prefetch(reinterpret_cast<const char*>(b + 8 * ldb), _MM_HINT_T0);
    DLCORE_UKR_STEP DLCORE_UKR_STEP DLCORE_UKR_STEP DLCORE_UKR_STEP
  }
  for (; k < kc; ++k) DLCORE_UKR_STEP
#undef DLCORE_UKR_STEP

  R acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  const bool vector_epilogue = mr == MR && nr == NR &&
                               (e.act == Activation::None || e.act == Activation::Relu);
  if (!vector_epilogue) {
    alignas(32) T buf[MR * NR];
    for (int i = 0; i < MR; ++i) {
      X::store(buf + i * NR, acc[i][0]);
      X::store(buf + i * NR + W, acc[i][1]);
    }
    store_tile(buf, NR, 1, c, ldc, mr, nr, e);
    return;
  }
  const R alpha = X::set1(e.alpha), beta = X::set1(e.beta);
  const bool scale = e.alpha != T(1), read_c = e.beta != T(0), relu = e.act == Activation::Relu;
  R bias0 = X::zero(), bias1 = X::zero();
  if (e.bias && !e.bias_per_row) {
    bias0 = X::load(e.bias);
    bias1 = X::load(e.bias + W);
  }
  for (int i = 0; i < MR; ++i) {
    T* ci = c + i * ldc;
    R r0 = acc[i][0], r1 = acc[i][1];
    if (scale) { r0 = X::mul(r0, alpha); r1 = X::mul(r1, alpha); }
    if (read_c) {
      r0 = X::fma(beta, X::load(ci), r0);
      r1 = X::fma(beta, X::load(ci + W), r1);
    }
    if (e.bias) {
      if (e.bias_per_row) {
        const R bi = X::set1(e.bias[i]);
        r0 = X::add(r0, bi); r1 = X::add(r1, bi);
      } else {
        r0 = X::add(r0, bias0); r1 = X::add(r1, bias1);
      }
    }
    if (relu) { r0 = X::relu(r0); r1 = X::relu(r1); }
    X::store(ci, r0);
    X::store(ci + W, r1);
  }
}


}  // namespace

void ukr_f32_avx2(int64_t kc, const float* a, int64_t rsa, int64_t csa, const float* b,
                  int64_t ldb, float* c, int64_t ldc, int mr, int nr,
                  const TileEpilogue<float>& e) {
  ukr_6x2v<float>(kc, a, rsa, csa, b, ldb, c, ldc, mr, nr, e);
}

void ukr_f64_avx2(int64_t kc, const double* a, int64_t rsa, int64_t csa, const double* b,
                  int64_t ldb, double* c, int64_t ldc, int mr, int nr,
                  const TileEpilogue<double>& e) {
  ukr_6x2v<double>(kc, a, rsa, csa, b, ldb, c, ldc, mr, nr, e);
}

// B with unit row stride: column j of B is contiguous along k (B[k, j] = b[k + j*cs]).
// The packed panel wants rows of 16 columns per k, i.e. a transpose. Scalar gathers cost a
// load+store per element; reading 8 columns x 8 k as ymm rows and transposing in registers
// moves 64 elements with 8 loads, 24 shuffles and 8 stores.
void pack_b_rowunit_f32_avx2(int64_t kc, int nr, const float* b, int64_t cs, float* dst) {
  pack_transposed_panel<kAvx2NRf>(kc, nr, b, cs, dst);
}

}  // namespace dlcore::cpu::gemm_detail
#endif  // x86
