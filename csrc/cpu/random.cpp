// random.cpp — uniform and normal fills from the counter-based Philox generator.
// Element i draws from counter (offset + i): the result is the same for any thread count and
// equals the CUDA kernel's (csrc/cuda/random.cu) for the same seed and offset.
#include "../core/errors.h"
#include "../core/philox.h"
#include "kernels.h"
#include "parallel.h"

namespace dlcore::cpu {
namespace {

template <typename T, bool Normal>
void fill_random(T* out, int64_t n, uint64_t seed, uint64_t offset, double a, double b) {
  parallel_for(n, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      if constexpr (Normal) out[i] = (T)(a + b * (double)philox_normal<T>(seed, offset + i));
      else out[i] = (T)(a + (b - a) * (double)philox_uniform<T>(seed, offset + i));
    }
  });
}

}  // namespace

void uniform(DType dtype, void* out, int64_t n, uint64_t seed, uint64_t offset, double low,
             double high) {
  if (dtype == DType::Float32) fill_random<float, false>((float*)out, n, seed, offset, low, high);
  else if (dtype == DType::Float64) fill_random<double, false>((double*)out, n, seed, offset, low, high);
  else fail<DTypeError>("uniform", "expected float32 or float64, got ", dtype_name(dtype));
}

void normal(DType dtype, void* out, int64_t n, uint64_t seed, uint64_t offset, double mean,
            double std) {
  if (dtype == DType::Float32) fill_random<float, true>((float*)out, n, seed, offset, mean, std);
  else if (dtype == DType::Float64) fill_random<double, true>((double*)out, n, seed, offset, mean, std);
  else fail<DTypeError>("normal", "expected float32 or float64, got ", dtype_name(dtype));
}

}  // namespace dlcore::cpu
