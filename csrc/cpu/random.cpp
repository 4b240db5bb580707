// random.cpp — uniform and normal fills from the counter-based Philox generator.
// Element i draws from counter (offset + i): the result is the same for any thread count and
// equals the CUDA kernel's (csrc/cuda/random.cu) for the same seed and offset.
//
// Both fills draw the Philox words with SIMD when the CPU has it (philox_avx512.cpp,
// philox_avx2.cpp; bit-identical to the scalar loops below, see philox_internal.h). uniform
// is entirely vectorized. normal only takes its words from the SIMD generator: Box-Muller
// needs libm's log and cos, which no SIMD approximation reproduces to the last bit, so
// philox_normal_from_words (core/philox.h, shared with CUDA) stays scalar.
#include <algorithm>

#include "../core/errors.h"
#include "../core/philox.h"
#include "kernels.h"
#include "parallel.h"
#include "philox_internal.h"

namespace dlcore::cpu {
namespace {

using philox_detail::Isa;

template <typename T>
void fill_uniform(T* out, int64_t n, uint64_t seed, uint64_t offset, double a, double b) {
  const Isa isa = philox_detail::select_isa();
  parallel_for(n, 4096, [&](int64_t begin, int64_t end) {
    T* o = out + begin;
    const uint64_t ctr = offset + (uint64_t)begin;
#if DLCORE_PHILOX_SIMD
    using namespace philox_detail;
    if (isa == Isa::Avx512) return uniform_avx512(o, end - begin, seed, ctr, a, b);
    if (isa == Isa::Avx2) return uniform_avx2(o, end - begin, seed, ctr, a, b);
#endif
    for (int64_t i = 0; i < end - begin; ++i)
      o[i] = (T)(a + (b - a) * (double)philox_uniform<T>(seed, ctr + (uint64_t)i));
  });
}

template <typename T>
void fill_normal(T* out, int64_t n, uint64_t seed, uint64_t offset, double a, double b) {
  const Isa isa = philox_detail::select_isa();
  parallel_for(n, 4096, [&](int64_t begin, int64_t end) {
#if DLCORE_PHILOX_SIMD
    if (isa != Isa::Generic) {
      constexpr int64_t kChunk = 256;              // 4 KiB of words, stays in L1
      uint32_t w[4 * kChunk];
      for (int64_t i = begin; i < end; i += kChunk) {
        const int64_t m = std::min(kChunk, end - i);
        if (isa == Isa::Avx512) philox_detail::blocks_avx512(seed, offset + (uint64_t)i, m, w);
        else philox_detail::blocks_avx2(seed, offset + (uint64_t)i, m, w);
        for (int64_t k = 0; k < m; ++k)
          out[i + k] = (T)(a + b * (double)philox_normal_from_words<T>(w + 4 * k));
      }
      return;
    }
#endif
    for (int64_t i = begin; i < end; ++i)
      out[i] = (T)(a + b * (double)philox_normal<T>(seed, offset + (uint64_t)i));
  });
}

}  // namespace

void uniform(DType dtype, void* out, int64_t n, uint64_t seed, uint64_t offset, double low,
             double high) {
  if (dtype == DType::Float32) fill_uniform<float>((float*)out, n, seed, offset, low, high);
  else if (dtype == DType::Float64) fill_uniform<double>((double*)out, n, seed, offset, low, high);
  else fail<DTypeError>("uniform", "expected float32 or float64, got ", dtype_name(dtype));
}

void normal(DType dtype, void* out, int64_t n, uint64_t seed, uint64_t offset, double mean,
            double std) {
  if (dtype == DType::Float32) fill_normal<float>((float*)out, n, seed, offset, mean, std);
  else if (dtype == DType::Float64) fill_normal<double>((double*)out, n, seed, offset, mean, std);
  else fail<DTypeError>("normal", "expected float32 or float64, got ", dtype_name(dtype));
}

}  // namespace dlcore::cpu
