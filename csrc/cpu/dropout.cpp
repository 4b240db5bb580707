// dropout.cpp — inverted dropout on the CPU.
//
// Training zeroes each element with probability p and scales the survivors by 1/(1-p), so the
// expected activation is unchanged and evaluation is the identity (no rescaling at test time).
//
// The keep/drop decision of element i is a pure function of (seed, offset + i) through the
// counter-based Philox generator (core/philox.h): any thread, and the CUDA kernel, draws the
// same number for the same element. That makes the mask free to *regenerate*: the backward
// (gx = g * keep / (1-p)) is this same function applied to the gradient, and no n-byte mask
// is kept alive between forward and backward.
#include <cstdint>

#include "../core/philox.h"
#include "kernels.h"
#include "parallel.h"

namespace dlcore::cpu {
namespace {

template <typename T>
void dropout_typed(const T* x, T* y, int64_t n, double p, uint64_t seed, uint64_t offset) {
  const float pf = (float)p;           // the draw is a float in [0, 1) on both devices
  const T scale = (T)(1.0 / (1.0 - p));
  // Philox costs ~10 multiply rounds per element: a small grain already pays for threads.
  parallel_for(n, kParallelGrain / 8, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const bool keep = philox_uniform<float>(seed, offset + (uint64_t)i) >= pf;
      y[i] = keep ? x[i] * scale : T(0);
    }
  });
}

}  // namespace

void dropout(DType dtype, const void* x, void* y, int64_t n, double p, uint64_t seed,
             uint64_t offset) {
  if (dtype == DType::Float32) dropout_typed((const float*)x, (float*)y, n, p, seed, offset);
  else dropout_typed((const double*)x, (double*)y, n, p, seed, offset);
}

}  // namespace dlcore::cpu
