// gemm_generic.cpp — the parts of the CPU GEMM that every SIMD path shares, in baseline
// x86-64 (or any ISA) code:
//
//   * store_tile: the scalar reference of the epilogue C = act(alpha*AB + beta*C + bias).
//     The AVX2/AVX-512 kernels fuse the common cases (no activation, ReLU) into their
//     register write-back and call this for edge tiles and the transcendental activations;
//     gemm.cpp calls it for K == 0 (no product at all) and to transpose a C^T scratch back.
//   * ukr_generic: the portable micro-kernel, used when the CPU has neither AVX2+FMA nor
//     AVX-512 (or DLCORE_CPU_PATH=generic asks for it).
#include <cmath>
#include <cstring>

#include "gemm_internal.h"

namespace dlcore::cpu::gemm_detail {

namespace {

template <typename T>
inline T activate(T x, Activation act) {
  switch (act) {
    case Activation::None: return x;
    case Activation::Relu: return x < T(0) ? T(0) : x;   // NaN stays NaN
    case Activation::Sigmoid:
      // Split on the sign so exp never overflows to inf/inf.
      if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
      else { const T z = std::exp(x); return z / (T(1) + z); }
    case Activation::Tanh: return std::tanh(x);
  }
  return x;
}

template <typename T>
void store_tile_t(const T* acc, int64_t acc_rs, int64_t acc_cs, T* c, int64_t ldc, int64_t mr,
                  int64_t nr, const TileEpilogue<T>& e) {
  for (int64_t i = 0; i < mr; ++i) {
    T* ci = c + i * ldc;
    const T rb = (e.bias && e.bias_per_row) ? e.bias[i] : T(0);
    // The common case without per-element branches (C^T transposed back, plain matmul).
    if (acc && e.beta == T(0) && !e.bias && e.act == Activation::None) {
      for (int64_t j = 0; j < nr; ++j) ci[j] = e.alpha * acc[i * acc_rs + j * acc_cs];
      continue;
    }
    for (int64_t j = 0; j < nr; ++j) {
      T v = acc ? e.alpha * acc[i * acc_rs + j * acc_cs] : T(0);
      if (e.beta != T(0)) v += e.beta * ci[j];           // beta == 0: C is never read
      if (e.bias) v += e.bias_per_row ? rb : e.bias[j];
      ci[j] = activate(v, e.act);
    }
  }
}

// ---- portable micro-kernel ---------------------------------------------------------------
// MR x NR accumulators, NR = two 16-byte vectors per row (float 6x8, double 6x4: 12 of the
// 16 SSE2/NEON registers). GCC/Clang vector extensions say "one 16-byte register" without
// naming an ISA, which the auto-vectoriser failed to find on its own (it shuffled a
// stack-resident tile: 8 GFLOP/s instead of ~40). Other compilers get the scalar loop.
#if defined(__GNUC__)
template <typename T, int MR, int NR>
void ukr_generic(int64_t kc, const T* __restrict a, int64_t rsa, int64_t csa,
                 const T* __restrict b, int64_t ldb, T* c, int64_t ldc, int mr, int nr,
                 const TileEpilogue<T>& e) {
  typedef T vec __attribute__((vector_size(16)));
  constexpr int L = 16 / sizeof(T), NV = NR / L;
  static_assert(NR % L == 0, "NR must be whole 16-byte vectors");
  vec acc[MR][NV];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) acc[i][v] = vec{};
  for (int64_t k = 0; k < kc; ++k) {
    vec bv[NV];
    for (int v = 0; v < NV; ++v) std::memcpy(&bv[v], b + k * ldb + v * L, 16);
    const T* ak = a + k * csa;
    for (int i = 0; i < MR; ++i) {
      const T ai = ak[i * rsa];
      for (int v = 0; v < NV; ++v) acc[i][v] += ai * bv[v];
    }
  }
  T out[MR * NR];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) std::memcpy(out + i * NR + v * L, &acc[i][v], 16);
  store_tile_t<T>(out, NR, 1, c, ldc, mr, nr, e);
}
#else
template <typename T, int MR, int NR>
void ukr_generic(int64_t kc, const T* __restrict a, int64_t rsa, int64_t csa,
                 const T* __restrict b, int64_t ldb, T* c, int64_t ldc, int mr, int nr,
                 const TileEpilogue<T>& e) {
  T acc[MR * NR] = {};
  for (int64_t k = 0; k < kc; ++k)
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i * NR + j] += a[k * csa + i * rsa] * b[k * ldb + j];
  store_tile_t<T>(acc, NR, 1, c, ldc, mr, nr, e);
}
#endif

}  // namespace

void store_tile(const float* acc, int64_t acc_rs, int64_t acc_cs, float* c, int64_t ldc,
                int64_t mr, int64_t nr, const TileEpilogue<float>& e) {
  store_tile_t(acc, acc_rs, acc_cs, c, ldc, mr, nr, e);
}
void store_tile(const double* acc, int64_t acc_rs, int64_t acc_cs, double* c, int64_t ldc,
                int64_t mr, int64_t nr, const TileEpilogue<double>& e) {
  store_tile_t(acc, acc_rs, acc_cs, c, ldc, mr, nr, e);
}

void ukr_f32_generic(int64_t kc, const float* a, int64_t rsa, int64_t csa, const float* b,
                     int64_t ldb, float* c, int64_t ldc, int mr, int nr,
                     const TileEpilogue<float>& e) {
  ukr_generic<float, kGenericMR, kGenericNRf>(kc, a, rsa, csa, b, ldb, c, ldc, mr, nr, e);
}
void ukr_f64_generic(int64_t kc, const double* a, int64_t rsa, int64_t csa, const double* b,
                     int64_t ldb, double* c, int64_t ldc, int mr, int nr,
                     const TileEpilogue<double>& e) {
  ukr_generic<double, kGenericMR, kGenericNRd>(kc, a, rsa, csa, b, ldb, c, ldc, mr, nr, e);
}

}  // namespace dlcore::cpu::gemm_detail
