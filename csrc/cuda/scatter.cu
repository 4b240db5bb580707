// scatter.cu — gather and scatter along one dim with a full index tensor (CUDA). Mirror of
// csrc/cpu/scatter.cpp: data is [outer, n, inner], index / src / out are [outer, m, inner].
//
// One thread per index element in a grid-stride loop; consecutive threads take consecutive
// `inner` positions, so index, src and out accesses are coalesced. scatter_add uses atomicAdd
// (repeated indices add from several threads; float sums are exact up to their order, as in
// PyTorch's CUDA scatter_add). Plain scatter stores: with repeated indices one of the writes
// wins, unspecified which (torch documents the same). The binding validated every index on the
// host, and the kernels still skip an index outside [0, n) rather than touch memory there.
#include "common.cuh"
#include "kernels.h"

namespace dlcore::cuda {
namespace {

constexpr int kThreads = 256;

template <typename E>
__global__ void gather_kernel(const E* __restrict__ x, const int64_t* __restrict__ idx,
                              E* __restrict__ out, int64_t n, int64_t m, int64_t inner,
                              int64_t total) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += step) {
    const int64_t i = t % inner, o = t / (inner * m);
    const int64_t s = idx[t];
    if (s >= 0 && s < n) out[t] = x[(o * n + s) * inner + i];
  }
}

__device__ __forceinline__ void atomic_add(float* p, float v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add(double* p, double v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add(int64_t* p, int64_t v) {
  atomicAdd(reinterpret_cast<unsigned long long*>(p), (unsigned long long)v);
}

template <typename T, bool Add>
__global__ void scatter_kernel(T* __restrict__ acc, const int64_t* __restrict__ idx,
                               const T* __restrict__ src, int64_t n, int64_t m, int64_t inner,
                               int64_t total) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += step) {
    const int64_t i = t % inner, o = t / (inner * m);
    const int64_t d = idx[t];
    if (d < 0 || d >= n) continue;
    T* p = acc + (o * n + d) * inner + i;
    if constexpr (Add) atomic_add(p, src[t]);
    else *p = src[t];
  }
}

template <typename E>
void launch_gather(const void* x, const int64_t* idx, void* out, int64_t n, int64_t m,
                   int64_t inner, int64_t total, cudaStream_t s) {
  gather_kernel<E><<<grid_for(total, kThreads), kThreads, 0, s>>>((const E*)x, idx, (E*)out, n, m,
                                                                   inner, total);
}

template <typename T, bool Add>
void launch_scatter(void* acc, const int64_t* idx, const void* src, int64_t n, int64_t m,
                    int64_t inner, int64_t total, cudaStream_t s) {
  scatter_kernel<T, Add><<<grid_for(total, kThreads), kThreads, 0, s>>>((T*)acc, idx, (const T*)src,
                                                                         n, m, inner, total);
}

}  // namespace

int64_t gather(DType dtype, const void* x, const int64_t* idx, void* out, int64_t outer, int64_t n,
               int64_t m, int64_t inner, void* stream) {
  const int64_t total = outer * m * inner;
  if (total == 0) return -1;
  const cudaStream_t s = as_stream(stream);
  switch (itemsize(dtype)) {
    case 1: launch_gather<uint8_t>(x, idx, out, n, m, inner, total, s); break;
    case 4: launch_gather<uint32_t>(x, idx, out, n, m, inner, total, s); break;
    case 8: launch_gather<unsigned long long>(x, idx, out, n, m, inner, total, s); break;
    default: throw std::runtime_error(std::string("gather: unsupported dtype ") + dtype_name(dtype));
  }
  DLCORE_LAUNCH_CHECK("gather");
  return -1;   // the binding checked the indices on the host
}

void scatter(DType dtype, void* acc, const int64_t* idx, const void* src, int64_t outer, int64_t n,
             int64_t m, int64_t inner, bool add, void* stream) {
  const int64_t total = outer * m * inner;
  if (total == 0) return;
  const cudaStream_t s = as_stream(stream);
  switch (dtype) {
    case DType::Float32:
      add ? launch_scatter<float, true>(acc, idx, src, n, m, inner, total, s)
          : launch_scatter<float, false>(acc, idx, src, n, m, inner, total, s);
      break;
    case DType::Float64:
      add ? launch_scatter<double, true>(acc, idx, src, n, m, inner, total, s)
          : launch_scatter<double, false>(acc, idx, src, n, m, inner, total, s);
      break;
    case DType::Int64:
      add ? launch_scatter<int64_t, true>(acc, idx, src, n, m, inner, total, s)
          : launch_scatter<int64_t, false>(acc, idx, src, n, m, inner, total, s);
      break;
    case DType::Bool:
      if (!add) { launch_scatter<uint8_t, false>(acc, idx, src, n, m, inner, total, s); break; }
      [[fallthrough]];
    default:
      throw std::runtime_error(std::string(add ? "scatter_add: " : "scatter: ") +
                               "unsupported dtype " + dtype_name(dtype));
  }
  DLCORE_LAUNCH_CHECK("scatter");
}

}  // namespace dlcore::cuda
