// dropout.cu — inverted dropout (CUDA). Mirror of csrc/cpu/dropout.cpp.
//
// keep_i = philox_word_uniform(seed, offset + i) >= p, the same draw as the CPU's, so a
// seed gives the same mask on both devices and the backward regenerates it instead of
// reading a stored mask. Philox is ~20 integer multiplies per element: on a GPU that is still
// cheaper than the memory traffic of writing and re-reading a mask.
#include "../core/philox.h"
#include "common.cuh"
#include "kernels.h"

namespace dlcore::cuda {
namespace {

template <typename T>
__global__ void dropout_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t n, float p,
                               T scale, uint64_t seed, uint64_t offset) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step) {
    const bool keep = philox_word_uniform(seed, offset + (uint64_t)i) >= p;
    y[i] = keep ? x[i] * scale : T(0);
  }
}

}  // namespace

void dropout(DType dtype, const void* x, void* y, int64_t n, double p, uint64_t seed,
             uint64_t offset, void* stream) {
  if (n <= 0) return;
  constexpr int kThreads = 256;
  DLCORE_DISPATCH_FLOAT(dtype, T, "dropout", {
    dropout_kernel<T><<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(
        (const T*)x, (T*)y, n, (float)p, (T)(1.0 / (1.0 - p)), seed, offset);
  });
  DLCORE_LAUNCH_CHECK("dropout");
}

}  // namespace dlcore::cuda
