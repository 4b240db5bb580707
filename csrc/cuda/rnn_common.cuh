// rnn_common.cuh — what cuda/lstm.cu and cuda/rnn.cu share: the summed bias and the bias
// gradient's column sum (mirrors of the helpers in cpu/rnn_internal.h).
#pragma once
#include "../core/rnn_math.h"
#include "common.cuh"
#include "kernels.h"

namespace dlcore::cuda::rnn_detail {

constexpr int kThreads = 256;

// out[k] = b_ih[k] + b_hh[k]; either bias may be null (then it counts as zero).
template <typename T>
__global__ void bias_sum_kernel(const T* __restrict__ a, const T* __restrict__ b,
                                T* __restrict__ out, int64_t n) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t k = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; k < n; k += step)
    out[k] = (a ? a[k] : T(0)) + (b ? b[k] : T(0));
}

template <typename T>
const T* summed_bias(const T* b_ih, const T* b_hh, T* out, int64_t n, cudaStream_t s) {
  if (!b_ih && !b_hh) return nullptr;
  bias_sum_kernel<T><<<grid_for(n, kThreads), kThreads, 0, s>>>(b_ih, b_hh, out, n);
  DLCORE_LAUNCH_CHECK("rnn bias_sum");
  return out;
}

// db[c] = sum_r g[r, c]. A block owns 32 adjacent columns (one warp reads a 128-byte row
// segment: coalesced); its 8 warps take every 8th row and meet in shared memory, in a fixed
// order, so the sum does not depend on scheduling.
template <typename T>
__global__ void column_sums_kernel(const T* __restrict__ g, T* __restrict__ db, int64_t rows,
                                   int64_t cols) {
  __shared__ T part[8][32];
  const int lane = threadIdx.x % 32, slice = threadIdx.x / 32;
  for (int64_t c0 = (int64_t)blockIdx.x * 32; c0 < cols; c0 += (int64_t)gridDim.x * 32) {
    const int64_t c = c0 + lane;
    T acc = 0;
    if (c < cols)
      for (int64_t r = slice; r < rows; r += 8) acc += g[r * cols + c];
    part[slice][lane] = acc;
    __syncthreads();
    if (slice == 0 && c < cols) {
      T s = part[0][lane];
#pragma unroll
      for (int k = 1; k < 8; ++k) s += part[k][lane];
      db[c] = s;
    }
    __syncthreads();
  }
}

template <typename T>
void column_sums(const T* g, T* db, int64_t rows, int64_t cols, cudaStream_t s) {
  if (cols <= 0) return;
  const unsigned blocks = (unsigned)std::min<int64_t>((cols + 31) / 32, 65535);
  column_sums_kernel<T><<<blocks, kThreads, 0, s>>>(g, db, rows, cols);
  DLCORE_LAUNCH_CHECK("rnn column_sums");
}

}  // namespace dlcore::cuda::rnn_detail
