// gemm_params.h — one description of a (batched) GEMM, consumed by the CPU and CUDA kernels.
//
//   C[b] = act(alpha * A[b] @ B[b] + beta * C[b] + bias)      for b in [0, batch)
//
// A is M x K, B is K x N, C is M x N. A and B are addressed through arbitrary (row, col)
// strides in elements, so a transposed view (col stride != 1) is consumed without a copy:
// packing reads whatever layout it is given. C has unit column stride. A batch stride of 0
// broadcasts that operand over the batch. All strides are in elements.
#pragma once
#include <cstdint>

#include "dtype.h"
#include "ops.h"

namespace dlcore {

struct GemmParams {
  DType dtype = DType::Float32;        // Float32 or Float64
  int64_t batch = 1, M = 0, N = 0, K = 0;
  const void* A = nullptr;
  int64_t a_batch_stride = 0, a_row_stride = 0, a_col_stride = 1;
  const void* B = nullptr;
  int64_t b_batch_stride = 0, b_row_stride = 0, b_col_stride = 1;
  void* C = nullptr;
  int64_t c_batch_stride = 0, c_row_stride = 0;   // column stride of C is 1
  double alpha = 1.0, beta = 0.0;      // beta == 0: C is not read (may hold NaN garbage)
  const void* bias = nullptr;          // optional, same dtype as C
  bool bias_per_row = false;           // false: bias has N entries (Linear); true: M (conv)
  Activation act = Activation::None;
  bool allow_tf32 = false;             // CUDA only: use the TF32 tensor-core path
};

}  // namespace dlcore
