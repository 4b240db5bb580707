// scan.cu — cumsum / cumprod / logcumsumexp along the middle dim of [outer, n, inner] (CUDA).
// Mirror of csrc/cpu/scan.cpp (same op codes, double accumulation for floats, int64 for int64).
//
// One thread per (o, i) column walks j in order (reverse: from n-1 down), so consecutive
// threads read consecutive `inner` positions of each row (coalesced when inner is large). With
// inner == 1 every row is one thread's chain: correct, and fast enough while rows are many;
// a block-wide parallel scan for a few very long rows is the next step.
#include <cmath>

#include "common.cuh"
#include "kernels.h"

namespace dlcore::cuda {
namespace {

constexpr int kThreads = 256;

template <int Op, typename A>
__device__ __forceinline__ A combine(A acc, A v) {
  if constexpr (Op == 0) return acc + v;
  else if constexpr (Op == 1) return acc * v;
  else {
    const A hi = acc > v ? acc : v, lo = acc > v ? v : acc;
    if (isinf(hi) && hi < 0) return hi;          // both -inf
    if (is_nan(acc) || is_nan(v)) return acc + v; // NaN
    if (isinf(hi)) return hi;
    return hi + log1p(exp(lo - hi));
  }
}

template <int Op, typename A>
__device__ __forceinline__ A identity() {
  if constexpr (Op == 0) return A(0);
  else if constexpr (Op == 1) return A(1);
  else return -INFINITY;
}

template <int Op, typename T, typename A>
__global__ void scan_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t outer, int64_t n,
                            int64_t inner, bool reverse) {
  const int64_t cols = outer * inner;
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t c = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; c < cols; c += step) {
    const int64_t o = c / inner, i = c - o * inner;
    A acc = identity<Op, A>();
    for (int64_t s = 0; s < n; ++s) {
      const int64_t j = reverse ? n - 1 - s : s;
      const int64_t at = (o * n + j) * inner + i;
      acc = combine<Op, A>(acc, (A)x[at]);
      y[at] = (T)acc;
    }
  }
}

template <typename T, typename A>
void launch(int op, const void* x, void* y, int64_t outer, int64_t n, int64_t inner, bool reverse,
            cudaStream_t s) {
  const unsigned grid = grid_for(outer * inner, kThreads);
  switch (op) {
    case 0: scan_kernel<0, T, A><<<grid, kThreads, 0, s>>>((const T*)x, (T*)y, outer, n, inner, reverse); break;
    case 1: scan_kernel<1, T, A><<<grid, kThreads, 0, s>>>((const T*)x, (T*)y, outer, n, inner, reverse); break;
    case 2:
      if constexpr (std::is_floating_point<A>::value) {
        scan_kernel<2, T, A><<<grid, kThreads, 0, s>>>((const T*)x, (T*)y, outer, n, inner, reverse);
        break;
      }
      [[fallthrough]];
    default: throw std::runtime_error("scan: unsupported op / dtype combination");
  }
}

}  // namespace

void scan(int op, DType dtype, const void* x, void* y, int64_t outer, int64_t n, int64_t inner,
          bool reverse, void* stream) {
  if (outer * n * inner == 0) return;
  const cudaStream_t s = as_stream(stream);
  switch (dtype) {
    case DType::Float32: launch<float, double>(op, x, y, outer, n, inner, reverse, s); break;
    case DType::Float64: launch<double, double>(op, x, y, outer, n, inner, reverse, s); break;
    case DType::Int64: launch<int64_t, int64_t>(op, x, y, outer, n, inner, reverse, s); break;
    default: throw std::runtime_error(std::string("scan: unsupported dtype ") + dtype_name(dtype));
  }
  DLCORE_LAUNCH_CHECK("scan");
}

}  // namespace dlcore::cuda
