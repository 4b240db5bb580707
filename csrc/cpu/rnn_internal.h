// rnn_internal.h — what cpu/lstm.cpp and cpu/rnn.cpp share: 8-lane activations over a gate
// block, the bias column sum, and how a step's pointwise pass is spread over threads.
#pragma once
#include <cstdint>
#include <cstring>
#include <algorithm>
#include <type_traits>

#include "../core/activation_math.h"
#include "../core/rnn_math.h"
#include "kernels.h"
#include "parallel.h"

namespace dlcore::cpu {

// activation_avx2.cpp (8 lanes, polynomial exp); false when the op has no vector version.
bool activation_forward_f32_avx2(ActOp op, const float* x, float* y, int64_t n, float a,
                                 float b);

namespace rnn_detail {

// y[0:n] = sigmoid / tanh of x[0:n] (in place allowed). A gate block of one row is H contiguous
// values in L1, so the pointwise pass calls this per row and block and combines afterwards.
template <typename T, ActOp OP>
inline void act_block(const T* x, T* y, int64_t n, bool vec) {
  if constexpr (std::is_same_v<T, float>) {
#if defined(__x86_64__) || defined(__i386__)
    if (vec && activation_forward_f32_avx2(OP, x, y, n, 0.f, 0.f)) return;
#endif
  }
  (void)vec;
  for (int64_t j = 0; j < n; ++j) y[j] = act::forward<T, OP>(x[j], T(0), T(0));
}

// a[0:n] = relu(a) in place (NaN stays NaN, as act::forward).
template <typename T>
inline void relu_block(int64_t n, T* __restrict a) {
  for (int64_t j = 0; j < n; ++j) a[j] = act::forward<T, ActOp::Relu>(a[j], T(0), T(0));
}

// db[0:cols] = sum over rows of g (row-major, row stride cols). Rows are summed in order into
// a per-column accumulator (a contiguous, vectorised inner loop); threads split the columns,
// so the result does not depend on the thread count.
template <typename T>
inline void column_sums(const T* g, T* db, int64_t rows, int64_t cols) {
  parallel_for(cols, std::max<int64_t>(64, kParallelGrain / std::max<int64_t>(1, rows)),
               [&](int64_t c0, int64_t c1) {
    T* __restrict out = db + c0;
    const int64_t w = c1 - c0;
    for (int64_t j = 0; j < w; ++j) out[j] = T(0);
    for (int64_t r = 0; r < rows; ++r) {
      const T* __restrict gr = g + r * cols + c0;
      for (int64_t j = 0; j < w; ++j) out[j] += gr[j];
    }
  });
}

// How the step GEMMs read W_hh^T (K = H rows, N = G*H columns). The AVX-512 GEMM reads a
// row-major B in place when M (the batch) is small; a transposed view of W_hh would instead
// be packed at every step (1 MB per step for H = 256: several times the step's FMAs at batch
// 32). So on that path W_hh^T is materialised once per sequence into `scratch` [H, G*H]; the
// AVX2 / generic GEMMs pack B at every call anyway and have a fast packer for the view. The
// copy costs about one step's packing, so a sequence of a few steps (a cell) skips it.
constexpr int64_t kMinStepsForCopy = 4;
template <typename T>
struct RecurrentWeight {
  const T* b;
  int64_t ld;
  bool transposed;
};

template <typename T>
RecurrentWeight<T> recurrent_weight(const T* w_hh, int64_t GH, int64_t H, int64_t steps,
                                    T* scratch) {
  if (!scratch || steps < kMinStepsForCopy || std::strcmp(gemm_simd_path(), "avx512") != 0)
    return {w_hh, H, true};
  // scratch[k, n] = w_hh[n, k], 32 x 32 tiles so both sides stay in L1.
  parallel_for((GH + 31) / 32, std::max<int64_t>(1, kParallelGrain / (32 * H)),
               [&](int64_t b0, int64_t b1) {
    for (int64_t n0 = b0 * 32; n0 < std::min(GH, b1 * 32); n0 += 32)
      for (int64_t k0 = 0; k0 < H; k0 += 32)
        for (int64_t n = n0; n < std::min(GH, n0 + 32); ++n)
          for (int64_t k = k0; k < std::min(H, k0 + 32); ++k) scratch[k * GH + n] = w_hh[n * H + k];
  });
  return {scratch, GH, false};
}

// Rows of one step's pointwise pass handed to each thread: a thread team only pays off when a
// step has tens of thousands of gate values (batch x gates); below that one thread runs it.
inline int64_t row_grain(int64_t gate_cols) {
  return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, gate_cols));
}

// Threads for a sequence: the recurrence never mixes batch rows (row r of h_t depends only on
// row r of h_{t-1}), so each thread can own a block of rows for the WHOLE sequence — its step
// GEMMs and pointwise passes — with no synchronisation between steps (a team per step would
// meet twice per step: GEMM, then pointwise). Worth it from 8 rows per thread (below that
// the micro-kernel's 12-row tiles run mostly empty); otherwise one thread walks the steps
// and the threads work inside each step's GEMM and pointwise pass instead.
constexpr int64_t kMinRowsPerThread = 8;

// Calls seq(r0, r1) on disjoint row blocks covering [0, N): in parallel (one block per
// thread, one region for the whole sequence) or once with [0, N).
template <typename F>
void over_batch_rows(int64_t N, F&& seq) {
#ifdef _OPENMP
  const int64_t nt = omp_in_parallel() ? 1 : std::min<int64_t>(omp_get_max_threads(),
                                                               N / kMinRowsPerThread);
  if (nt >= 2) {
#pragma omp parallel num_threads((int)nt)
    {
      const int64_t t = omp_get_thread_num(), T = omp_get_num_threads();
      const int64_t r0 = N * t / T, r1 = N * (t + 1) / T;
      if (r0 < r1) seq(r0, r1);
    }
    return;
  }
#endif
  if (N > 0) seq(int64_t(0), N);
}

}  // namespace rnn_detail
}  // namespace dlcore::cpu
