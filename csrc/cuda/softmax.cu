// softmax.cu — row-wise softmax / log_softmax and the fused cross entropy (CUDA). Mirror of
// csrc/cpu/softmax.cpp: same formulas, same log-sum-exp shift, same outputs.
//
// A row is handled by a group of G threads that stride over its columns and combine partial
// max / sums with warp shuffles: G = 32 (one warp per row, 8 rows per 256-thread block) for
// rows of up to 1024 columns — a classifier's 10 or 1000 logits — and G = 256 (one block per
// row, the warps' partials meeting in shared memory) for wide rows such as a vocabulary.
// The loss reduction runs as a second one-block kernel that sums per-row values in a fixed
// order, so the result does not depend on scheduling (no float atomics).
#include <limits>

#include "common.cuh"
#include "kernels.h"

namespace dlcore::cuda {
namespace {

constexpr int kThreads = 256;

template <typename T> __device__ __forceinline__ T d_exp(T x) { return exp(x); }
template <> __device__ __forceinline__ float d_exp<float>(float x) { return expf(x); }
template <typename T> __device__ __forceinline__ T d_log(T x) { return log(x); }

template <typename T> __device__ __forceinline__ T warp_sum(T v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
template <typename T> __device__ __forceinline__ T warp_max(T v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmax(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Reduce over the G threads of a row group; every thread of the group gets the result.
// G == kThreads needs all threads of the block to call it (one row per block).
template <int G, bool MAX, typename T>
__device__ __forceinline__ T group_reduce(T v) {
  v = MAX ? warp_max(v) : warp_sum(v);
  if constexpr (G == 32) {
    return v;
  } else {
    __shared__ T part[kThreads / 32];
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    __syncthreads();                      // `part` may still be read by a previous call
    if (lane == 0) part[warp] = v;
    __syncthreads();
    T r = part[0];
#pragma unroll
    for (int w = 1; w < kThreads / 32; ++w) r = MAX ? fmax(r, part[w]) : r + part[w];
    return r;
  }
}

// Row iteration shared by every kernel: group `g` of the block takes rows g, g + groups, ...
#define DLCORE_FOR_ROWS(G, row)                                                        \
  const int lane = threadIdx.x % G;                                                    \
  const int64_t groups = (int64_t)gridDim.x * (kThreads / G);                          \
  for (int64_t row = (int64_t)blockIdx.x * (kThreads / G) + threadIdx.x / G; row < rows; \
       row += groups)

template <typename T, int G>
__global__ void softmax_fwd_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t rows,
                                   int64_t cols, bool log) {
  DLCORE_FOR_ROWS(G, r) {
    const T* xr = x + r * cols;
    T* yr = y + r * cols;
    T m = -std::numeric_limits<T>::infinity();
    for (int64_t j = lane; j < cols; j += G) m = fmax(m, xr[j]);
    m = group_reduce<G, true>(m);
    T s = 0;
    for (int64_t j = lane; j < cols; j += G) s += d_exp(xr[j] - m);
    s = group_reduce<G, false>(s);
    if (log) {
      const T lse = m + d_log(s);
      for (int64_t j = lane; j < cols; j += G) yr[j] = xr[j] - lse;
    } else {
      const T inv = T(1) / s;
      for (int64_t j = lane; j < cols; j += G) yr[j] = d_exp(xr[j] - m) * inv;
    }
  }
}

template <typename T, int G>
__global__ void softmax_bwd_kernel(const T* __restrict__ g, const T* __restrict__ y,
                                   T* __restrict__ gx, int64_t rows, int64_t cols, bool log) {
  DLCORE_FOR_ROWS(G, r) {
    const T* gr = g + r * cols;
    const T* yr = y + r * cols;
    T s = 0;
    for (int64_t j = lane; j < cols; j += G) s += log ? gr[j] : gr[j] * yr[j];
    s = group_reduce<G, false>(s);
    for (int64_t j = lane; j < cols; j += G)
      gx[r * cols + j] = log ? gr[j] - d_exp(yr[j]) * s : yr[j] * (gr[j] - s);
  }
}

// Per-row loss; reduction 0 writes loss[r], else scratch[r] (loss) and scratch[rows + r]
// (weight) in double. A bad target records the smallest bad row in bad[0] (atomicMin).
template <typename T, int G>
__global__ void ce_fwd_kernel(const T* __restrict__ x, const int64_t* __restrict__ target,
                              const T* __restrict__ w, int64_t rows, int64_t cols,
                              int64_t ignore_index, double eps, bool log_input, int reduction,
                              T* __restrict__ loss, T* __restrict__ lse, double* scratch,
                              unsigned long long* bad) {
  DLCORE_FOR_ROWS(G, r) {
    const int64_t t = target[r];
    const bool valid = t == ignore_index || (t >= 0 && t < cols);
    const bool counted = valid && t != ignore_index;
    if (!valid && lane == 0) atomicMin(bad, (unsigned long long)r);
    const T* xr = x + r * cols;
    double l = 0, li = 0, wi = 0;
    // The whole group takes the same branch (t is per row), so the reductions stay collective.
    if (counted) {
      if (!log_input) {
        T m = -std::numeric_limits<T>::infinity();
        for (int64_t j = lane; j < cols; j += G) m = fmax(m, xr[j]);
        m = group_reduce<G, true>(m);
        T s = 0;
        for (int64_t j = lane; j < cols; j += G) s += d_exp(xr[j] - m);
        s = group_reduce<G, false>(s);
        l = (double)m + log((double)s);
      }
      wi = w ? (double)w[t] : 1.0;
      li = (1.0 - eps) * wi * (l - (double)xr[t]);
      if (eps > 0) {
        double sw = 0, swx = 0;
        for (int64_t j = lane; j < cols; j += G) {
          const double wj = w ? (double)w[j] : 1.0;
          sw += wj;
          swx += wj * (double)xr[j];
        }
        sw = group_reduce<G, false>(sw);
        swx = group_reduce<G, false>(swx);
        li += eps / (double)cols * (l * sw - swx);
      }
    }
    if (lane == 0) {
      lse[r] = (T)l;
      if (reduction == 0) loss[r] = (T)li;
      else { scratch[r] = li; scratch[rows + r] = wi; }
    }
  }
}

// One block: fixed-order partial sums per thread, then a fixed tree — deterministic.
template <typename T>
__global__ void ce_reduce_kernel(const double* __restrict__ scratch, int64_t rows, int reduction,
                                 T* __restrict__ loss, T* __restrict__ norm) {
  double sl = 0, sw = 0;
  for (int64_t r = threadIdx.x; r < rows; r += kThreads) { sl += scratch[r]; sw += scratch[rows + r]; }
  sl = group_reduce<kThreads, false>(sl);
  sw = group_reduce<kThreads, false>(sw);
  if (threadIdx.x == 0) {
    if (reduction == 1) { loss[0] = (T)(sl / sw); norm[0] = (T)sw; }
    else loss[0] = (T)sl;
  }
}

template <typename T, int G>
__global__ void ce_bwd_kernel(const T* __restrict__ x, const int64_t* __restrict__ target,
                              const T* __restrict__ w, const T* __restrict__ lse,
                              const T* __restrict__ grad, const T* __restrict__ norm,
                              int64_t rows, int64_t cols, int64_t ignore_index, double eps,
                              bool log_input, int reduction, T* __restrict__ gx) {
  const double eps_c = eps / (double)cols;
  const double g0 = reduction == 0 ? 0.0 : (double)grad[0] / (reduction == 1 ? (double)norm[0] : 1.0);
  DLCORE_FOR_ROWS(G, r) {
    T* out = gx + r * cols;
    const int64_t t = target[r];
    if (t == ignore_index || t < 0 || t >= cols) {
      for (int64_t j = lane; j < cols; j += G) out[j] = T(0);
      continue;
    }
    double W = (double)cols;
    if (w && eps > 0) {
      W = 0;
      for (int64_t j = lane; j < cols; j += G) W += (double)w[j];
      W = group_reduce<G, false>(W);
    }
    const double s = reduction == 0 ? (double)grad[r] : g0;
    const double wt = w ? (double)w[t] : 1.0;
    const T a = log_input ? T(0) : (T)(s * ((1.0 - eps) * wt + eps_c * W));
    const T c = (T)(s * eps_c);
    const T at_t = (T)(s * (1.0 - eps) * wt);
    const T* xr = x + r * cols;
    const T l = lse[r];
    for (int64_t j = lane; j < cols; j += G) {
      T v = log_input ? T(0) : d_exp(xr[j] - l) * a;
      v -= c * (w ? w[j] : T(1));
      if (j == t) v -= at_t;
      out[j] = v;
    }
  }
}

unsigned row_grid(int64_t rows, int G) {
  return grid_for(rows * G, kThreads);
}

}  // namespace

void softmax_forward(DType dtype, const void* x, void* y, int64_t rows, int64_t cols, bool log,
                     void* stream) {
  if (rows <= 0 || cols <= 0) return;
  cudaStream_t s = as_stream(stream);
  DLCORE_DISPATCH_FLOAT(dtype, T, "softmax_forward", {
    if (cols <= 1024)
      softmax_fwd_kernel<T, 32><<<row_grid(rows, 32), kThreads, 0, s>>>((const T*)x, (T*)y, rows, cols, log);
    else
      softmax_fwd_kernel<T, kThreads><<<row_grid(rows, kThreads), kThreads, 0, s>>>((const T*)x, (T*)y, rows, cols, log);
  });
  DLCORE_LAUNCH_CHECK("softmax_forward");
}

void softmax_backward(DType dtype, const void* grad, const void* y, void* grad_in, int64_t rows,
                      int64_t cols, bool log, void* stream) {
  if (rows <= 0 || cols <= 0) return;
  cudaStream_t s = as_stream(stream);
  DLCORE_DISPATCH_FLOAT(dtype, T, "softmax_backward", {
    if (cols <= 1024)
      softmax_bwd_kernel<T, 32><<<row_grid(rows, 32), kThreads, 0, s>>>(
          (const T*)grad, (const T*)y, (T*)grad_in, rows, cols, log);
    else
      softmax_bwd_kernel<T, kThreads><<<row_grid(rows, kThreads), kThreads, 0, s>>>(
          (const T*)grad, (const T*)y, (T*)grad_in, rows, cols, log);
  });
  DLCORE_LAUNCH_CHECK("softmax_backward");
}

int64_t cross_entropy_forward(DType dtype, const void* x, const int64_t* target,
                              const void* weight, int64_t rows, int64_t cols,
                              int64_t ignore_index, double label_smoothing, bool log_input,
                              int reduction, void* loss, void* lse, void* scratch, void* norm,
                              void* stream) {
  cudaStream_t s = as_stream(stream);
  double* sc = (double*)scratch;
  unsigned long long* bad = (unsigned long long*)(sc + 2 * rows);
  DLCORE_CUDA_CHECK(cudaMemsetAsync(bad, 0xFF, sizeof(unsigned long long), s));
  DLCORE_DISPATCH_FLOAT(dtype, T, "cross_entropy_forward", {
    if (rows > 0) {
      if (cols <= 1024)
        ce_fwd_kernel<T, 32><<<row_grid(rows, 32), kThreads, 0, s>>>(
            (const T*)x, target, (const T*)weight, rows, cols, ignore_index, label_smoothing,
            log_input, reduction, (T*)loss, (T*)lse, sc, bad);
      else
        ce_fwd_kernel<T, kThreads><<<row_grid(rows, kThreads), kThreads, 0, s>>>(
            (const T*)x, target, (const T*)weight, rows, cols, ignore_index, label_smoothing,
            log_input, reduction, (T*)loss, (T*)lse, sc, bad);
      DLCORE_LAUNCH_CHECK("cross_entropy_forward");
    }
    if (reduction != 0) {
      ce_reduce_kernel<T><<<1, kThreads, 0, s>>>(sc, rows, reduction, (T*)loss, (T*)norm);
      DLCORE_LAUNCH_CHECK("cross_entropy_forward (reduce)");
    }
  });
  unsigned long long first_bad = 0;
  DLCORE_CUDA_CHECK(cudaMemcpyAsync(&first_bad, bad, sizeof(first_bad), cudaMemcpyDeviceToHost, s));
  DLCORE_CUDA_CHECK(cudaStreamSynchronize(s));
  return first_bad == ~0ull ? -1 : (int64_t)first_bad;
}

void cross_entropy_backward(DType dtype, const void* x, const int64_t* target,
                            const void* weight, const void* lse, const void* grad,
                            const void* norm, int64_t rows, int64_t cols, int64_t ignore_index,
                            double label_smoothing, bool log_input, int reduction,
                            void* grad_x, void* stream) {
  if (rows <= 0 || cols <= 0) return;
  cudaStream_t s = as_stream(stream);
  DLCORE_DISPATCH_FLOAT(dtype, T, "cross_entropy_backward", {
    if (cols <= 1024)
      ce_bwd_kernel<T, 32><<<row_grid(rows, 32), kThreads, 0, s>>>(
          (const T*)x, target, (const T*)weight, (const T*)lse, (const T*)grad, (const T*)norm,
          rows, cols, ignore_index, label_smoothing, log_input, reduction, (T*)grad_x);
    else
      ce_bwd_kernel<T, kThreads><<<row_grid(rows, kThreads), kThreads, 0, s>>>(
          (const T*)x, target, (const T*)weight, (const T*)lse, (const T*)grad, (const T*)norm,
          rows, cols, ignore_index, label_smoothing, log_input, reduction, (T*)grad_x);
  });
  DLCORE_LAUNCH_CHECK("cross_entropy_backward");
}

}  // namespace dlcore::cuda
