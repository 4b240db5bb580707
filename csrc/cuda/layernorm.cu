// layernorm.cu — layer normalisation over the last `cols` elements of each row (CUDA). Mirror of
// csrc/cpu/layernorm.cpp: same formulas, same saved mean / rstd (input dtype).
//
// Forward and the dx part of the backward: one block per row (grid-stride over rows); the row's
// sums are block reductions (warp shuffles, then one value per warp through shared memory).
// The forward takes the mean first and the squared deviations second (the row is re-read from
// L2), as the CPU does, so there is no cancellation. dgamma / dbeta are column sums over rows:
// one thread per column walking the rows, so a warp reads 32 consecutive columns of each row.
#include <algorithm>
#include <cmath>

#include "common.cuh"
#include "kernels.h"

namespace dlcore::cuda {
namespace {

constexpr int kThreads = 256;

// Sum of v over the block; every thread gets the result. `shared` holds one slot per warp.
template <typename A>
__device__ A block_sum(A v, A* shared) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();   // shared may still be read by a previous call
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  A total = 0;
  for (int w = 0; w < (int)(blockDim.x / 32); ++w) total += shared[w];
  return total;
}

template <typename T>
__global__ void forward_kernel(const T* __restrict__ x, const T* __restrict__ gamma,
                               const T* __restrict__ beta, T* __restrict__ y, T* __restrict__ mean_out,
                               T* __restrict__ rstd_out, int64_t rows, int64_t cols, double eps) {
  __shared__ T shared[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * cols;
    T s = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) s += xr[j];
    const T mean = block_sum(s, shared) / (T)cols;
    T q = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) { const T d = xr[j] - mean; q += d * d; }
    const T var = block_sum(q, shared) / (T)cols;
    const T rstd = (T)(1.0 / sqrt((double)var + eps));
    if (threadIdx.x == 0) { mean_out[r] = mean; rstd_out[r] = rstd; }
    T* yr = y + r * cols;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      T v = (xr[j] - mean) * rstd;
      if (gamma) v *= gamma[j];
      if (beta) v += beta[j];
      yr[j] = v;
    }
  }
}

template <typename T>
__global__ void backward_dx_kernel(const T* __restrict__ dy, const T* __restrict__ x,
                                   const T* __restrict__ mean, const T* __restrict__ rstd,
                                   const T* __restrict__ gamma, T* __restrict__ dx, int64_t rows,
                                   int64_t cols) {
  __shared__ T shared[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* dyr = dy + r * cols;
    const T* xr = x + r * cols;
    const T m = mean[r], s = rstd[r];
    T a1 = 0, a2 = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const T g = gamma ? dyr[j] * gamma[j] : dyr[j];
      a1 += g;
      a2 += g * (xr[j] - m) * s;
    }
    const T c1 = block_sum(a1, shared) / (T)cols;
    const T c2 = block_sum(a2, shared) / (T)cols;
    T* dxr = dx + r * cols;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const T g = gamma ? dyr[j] * gamma[j] : dyr[j];
      dxr[j] = s * (g - c1 - (xr[j] - m) * s * c2);
    }
  }
}

template <typename T>
__global__ void backward_params_kernel(const T* __restrict__ dy, const T* __restrict__ x,
                                       const T* __restrict__ mean, const T* __restrict__ rstd,
                                       T* __restrict__ dgamma, T* __restrict__ dbeta, int64_t rows,
                                       int64_t cols) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < cols; j += step) {
    double sg = 0, sb = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const T d = dy[r * cols + j];
      sg += (double)d * (double)((x[r * cols + j] - mean[r]) * rstd[r]);
      sb += (double)d;
    }
    if (dgamma) dgamma[j] = (T)sg;
    if (dbeta) dbeta[j] = (T)sb;
  }
}

unsigned row_grid(int64_t rows) {
  const int64_t cap = (int64_t)sm_count() * 8;
  return (unsigned)std::max<int64_t>(1, std::min<int64_t>(rows, cap));
}

template <typename T>
void forward(const void* x, const void* gamma, const void* beta, void* y, void* mean, void* rstd,
             int64_t rows, int64_t cols, double eps, cudaStream_t s) {
  forward_kernel<T><<<row_grid(rows), kThreads, 0, s>>>((const T*)x, (const T*)gamma, (const T*)beta,
                                                         (T*)y, (T*)mean, (T*)rstd, rows, cols, eps);
  DLCORE_LAUNCH_CHECK("layer_norm_forward");
}

template <typename T>
void backward(const void* dy, const void* x, const void* mean, const void* rstd, const void* gamma,
              void* dx, void* dgamma, void* dbeta, int64_t rows, int64_t cols, cudaStream_t s) {
  if (dx) {
    backward_dx_kernel<T><<<row_grid(rows), kThreads, 0, s>>>(
        (const T*)dy, (const T*)x, (const T*)mean, (const T*)rstd, (const T*)gamma, (T*)dx, rows, cols);
    DLCORE_LAUNCH_CHECK("layer_norm_backward dx");
  }
  if (dgamma || dbeta) {
    backward_params_kernel<T><<<grid_for(cols, kThreads), kThreads, 0, s>>>(
        (const T*)dy, (const T*)x, (const T*)mean, (const T*)rstd, (T*)dgamma, (T*)dbeta, rows, cols);
    DLCORE_LAUNCH_CHECK("layer_norm_backward params");
  }
}

}  // namespace

void layer_norm_forward(DType dtype, const void* x, const void* gamma, const void* beta, void* y,
                        void* mean, void* rstd, int64_t rows, int64_t cols, double eps,
                        void* stream) {
  if (rows == 0) return;
  const cudaStream_t s = as_stream(stream);
  switch (dtype) {
    case DType::Float32: forward<float>(x, gamma, beta, y, mean, rstd, rows, cols, eps, s); return;
    case DType::Float64: forward<double>(x, gamma, beta, y, mean, rstd, rows, cols, eps, s); return;
    default: break;
  }
  throw std::runtime_error(std::string("layer_norm: unsupported dtype ") + dtype_name(dtype));
}

void layer_norm_backward(DType dtype, const void* dy, const void* x, const void* mean,
                         const void* rstd, const void* gamma, void* dx, void* dgamma, void* dbeta,
                         int64_t rows, int64_t cols, void* stream) {
  const cudaStream_t s = as_stream(stream);
  switch (dtype) {
    case DType::Float32: backward<float>(dy, x, mean, rstd, gamma, dx, dgamma, dbeta, rows, cols, s); return;
    case DType::Float64: backward<double>(dy, x, mean, rstd, gamma, dx, dgamma, dbeta, rows, cols, s); return;
    default: break;
  }
  throw std::runtime_error(std::string("layer_norm_backward: unsupported dtype ") + dtype_name(dtype));
}

}  // namespace dlcore::cuda
