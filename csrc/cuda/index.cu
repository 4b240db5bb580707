// index.cu — gathering and scatter-adding rows along one dimension (CUDA). Mirror of
// csrc/cpu/index.cpp: a contiguous tensor is [outer, n, inner] around the indexed dim, and
// idx[0:m] (on the device) holds values in [0, n), validated by the binding.
//
//   index_select:  out[o, j, :] = x[o, idx[j], :]
//   index_add:     acc[o, idx[j], :] += src[o, j, :]
//
// One thread per output (or source) element in a grid-stride loop; consecutive threads take
// consecutive `inner` positions, so both the gather and the scatter are coalesced along the
// row. index_select moves element-size words (any dtype). index_add uses atomicAdd, since
// repeated indices make several threads add into one element: the sum is exact for int64
// and, for floats, equal to the CPU's up to the order of the additions (as in PyTorch, the
// CUDA result is not bit-reproducible when indices repeat). An index outside [0, n) would be
// skipped rather than written out of bounds, but the binding never passes one.
#include "common.cuh"
#include "kernels.h"

namespace dlcore::cuda {
namespace {

constexpr int kThreads = 256;

template <typename E>
__global__ void index_select_kernel(const E* __restrict__ x, E* __restrict__ out,
                                    const int64_t* __restrict__ idx, int64_t n, int64_t m,
                                    int64_t inner, int64_t total) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += step) {
    const int64_t i = t % inner, r = t / inner;   // r = o*m + j
    const int64_t o = r / m, j = r - o * m;
    const int64_t s = idx[j];
    if (s >= 0 && s < n) out[t] = x[(o * n + s) * inner + i];
  }
}

__device__ __forceinline__ void atomic_add(float* p, float v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add(double* p, double v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add(int64_t* p, int64_t v) {
  // Two's-complement addition is the same on unsigned words.
  atomicAdd(reinterpret_cast<unsigned long long*>(p), (unsigned long long)v);
}

template <typename T>
__global__ void index_add_kernel(T* __restrict__ acc, const T* __restrict__ src,
                                 const int64_t* __restrict__ idx, int64_t n, int64_t m,
                                 int64_t inner, int64_t total) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += step) {
    const int64_t i = t % inner, r = t / inner;
    const int64_t o = r / m, j = r - o * m;
    const int64_t d = idx[j];
    if (d >= 0 && d < n) atomic_add(acc + (o * n + d) * inner + i, src[t]);
  }
}

template <typename E>
void launch_select(const void* x, void* out, const int64_t* idx, int64_t n, int64_t m,
                   int64_t inner, int64_t total, cudaStream_t s) {
  index_select_kernel<E><<<grid_for(total, kThreads), kThreads, 0, s>>>(
      (const E*)x, (E*)out, idx, n, m, inner, total);
}

}  // namespace

void index_select(DType dtype, const void* x, void* out, const int64_t* idx, int64_t outer,
                  int64_t n, int64_t m, int64_t inner, void* stream) {
  const int64_t total = outer * m * inner;
  if (total == 0) return;
  const cudaStream_t s = as_stream(stream);
  switch (itemsize(dtype)) {
    case 1: launch_select<uint8_t>(x, out, idx, n, m, inner, total, s); break;
    case 4: launch_select<uint32_t>(x, out, idx, n, m, inner, total, s); break;
    case 8: launch_select<unsigned long long>(x, out, idx, n, m, inner, total, s); break;
    default:
      throw std::runtime_error(std::string("index_select: unsupported dtype ") + dtype_name(dtype));
  }
  DLCORE_LAUNCH_CHECK("index_select");
}

void index_add(DType dtype, void* acc, const void* src, const int64_t* idx, int64_t outer,
               int64_t n, int64_t m, int64_t inner, void* stream) {
  const int64_t total = outer * m * inner;
  if (total == 0) return;
  const cudaStream_t s = as_stream(stream);
  const unsigned grid = grid_for(total, kThreads);
  switch (dtype) {
    case DType::Float32:
      index_add_kernel<float><<<grid, kThreads, 0, s>>>((float*)acc, (const float*)src, idx, n, m,
                                                         inner, total);
      break;
    case DType::Float64:
      index_add_kernel<double><<<grid, kThreads, 0, s>>>((double*)acc, (const double*)src, idx, n,
                                                          m, inner, total);
      break;
    case DType::Int64:
      index_add_kernel<int64_t><<<grid, kThreads, 0, s>>>((int64_t*)acc, (const int64_t*)src, idx,
                                                           n, m, inner, total);
      break;
    default:
      throw std::runtime_error(std::string("index_add: unsupported dtype ") + dtype_name(dtype) +
                               " (expected float32, float64 or int64)");
  }
  DLCORE_LAUNCH_CHECK("index_add");
}

}  // namespace dlcore::cuda
