// rnn_internal.h — what cpu/lstm.cpp and cpu/rnn.cpp share: 8-lane activations over a gate
// block, the bias column sum, and how a step's pointwise pass is spread over threads.
#pragma once
#include <cstdint>
#include <cstring>

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

// Rows of one step's pointwise pass handed to each thread: a thread team only pays off when a
// step has tens of thousands of gate values (batch x gates); below that one thread runs it.
inline int64_t row_grain(int64_t gate_cols) {
  return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, gate_cols));
}

}  // namespace rnn_detail
}  // namespace dlcore::cpu
