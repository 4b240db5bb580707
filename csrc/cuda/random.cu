// random.cu — uniform and normal fills from the counter-based Philox4x32-10 generator (CUDA).
// Mirror of csrc/cpu/random.cpp.
//
// Element i draws from counter (offset + i) under key `seed` (core/philox.h), so the result
// is the same whatever the grid shape, and the same as the CPU's for the same seed and offset.
// The scaling is done in double and rounded once to T, exactly as the CPU does:
//   uniform: out[i] = T(low  + (high - low) * double(philox_uniform<T>(seed, offset + i)))
//   normal:  out[i] = T(mean + std          * double(philox_normal<T>(seed, offset + i)))
#include "../core/philox.h"
#include "common.cuh"
#include "kernels.h"

namespace dlcore::cuda {
namespace {

template <typename T, bool NORMAL>
__global__ void philox_fill(T* __restrict__ out, int64_t n, uint64_t seed, uint64_t offset,
                            double a, double b) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step) {
    const uint64_t ctr = offset + (uint64_t)i;
    // __dmul_rn / __dadd_rn: rounded separately, as the CPU does (nvcc would otherwise fuse
    // the two into one FMA and the last bit would differ between the devices).
    if constexpr (NORMAL) out[i] = (T)__dadd_rn(a, __dmul_rn(b, (double)philox_normal<T>(seed, ctr)));
    else out[i] = (T)__dadd_rn(a, __dmul_rn(b - a, (double)philox_uniform<T>(seed, ctr)));
  }
}

template <bool NORMAL>
void launch(const char* name, DType dtype, void* out, int64_t n, uint64_t seed, uint64_t offset,
            double a, double b, void* stream) {
  if (n < 0) throw std::runtime_error(std::string(name) + ": negative size");
  if (n == 0) return;
  constexpr int kThreads = 256;
  DLCORE_DISPATCH_FLOAT(dtype, T, name, {
    philox_fill<T, NORMAL><<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(
        static_cast<T*>(out), n, seed, offset, a, b);
    DLCORE_LAUNCH_CHECK(name);
  });
}

}  // namespace

void uniform(DType dtype, void* out, int64_t n, uint64_t seed, uint64_t offset, double low,
             double high, void* stream) {
  launch<false>("uniform", dtype, out, n, seed, offset, low, high, stream);
}

void normal(DType dtype, void* out, int64_t n, uint64_t seed, uint64_t offset, double mean,
            double std, void* stream) {
  launch<true>("normal", dtype, out, n, seed, offset, mean, std, stream);
}

}  // namespace dlcore::cuda
