// dropout.cpp — inverted dropout on the CPU.
//
// Training zeroes each element with probability p and scales the survivors by 1/(1-p), so the
// expected activation is unchanged and evaluation is the identity (no rescaling at test time).
//
// The keep/drop decision of element i is a pure function of (seed, offset + i) through the
// counter-based Philox generator (core/philox.h, philox_word_uniform: one Philox block serves
// four consecutive elements): any thread, and the CUDA kernel, draws the same number for the
// same element. That makes the mask free to *regenerate*: the backward
// (gx = g * keep / (1-p)) is this same function applied to the gradient, and no n-byte mask
// is kept alive between forward and backward.
//
// The fast paths (philox_avx512.cpp, philox_avx2.cpp) evaluate Philox for 16 / 8 blocks per
// instruction and must reproduce this file's scalar loop bit for bit (philox_internal.h); the
// scalar loop stays as the portable path and the reference (DLCORE_CPU_PATH=generic).
#include <cstdint>

#include "../core/philox.h"
#include "kernels.h"
#include "parallel.h"
#include "philox_internal.h"

namespace dlcore::cpu {
namespace {

using philox_detail::Isa;

template <typename T>
void dropout_scalar(const T* x, T* y, int64_t n, float pf, T scale, uint64_t seed,
                    uint64_t c0) {
  uint32_t w[4];
  uint64_t block = ~uint64_t(0);
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t c = c0 + (uint64_t)i;
    if ((c >> 2) != block) {                       // each block's four words serve four elements
      block = c >> 2;
      Philox4x32::generate(seed, block, w);
    }
    const bool keep = philox_to_float(w[c & 3]) >= pf;
    y[i] = keep ? x[i] * scale : T(0);
  }
}

template <typename T>
void dropout_typed(const T* x, T* y, int64_t n, double p, uint64_t seed, uint64_t offset) {
  const float pf = (float)p;           // the draw is a float in [0, 1) on both devices
  const T scale = (T)(1.0 / (1.0 - p));
  const Isa isa = philox_detail::select_isa();
  // Scalar Philox costs ~10 multiply rounds per block of four elements: a small grain already
  // pays for threads. The SIMD paths are ~20x cheaper per element, so they keep the default.
  const int64_t grain = isa == Isa::Generic ? kParallelGrain / 8 : kParallelGrain;
  parallel_for(n, grain, [&](int64_t lo, int64_t hi) {
    const uint64_t c0 = offset + (uint64_t)lo;   // ranges start anywhere inside a block
#if DLCORE_PHILOX_SIMD
    using namespace philox_detail;
    if (isa == Isa::Avx512) return dropout_avx512(x + lo, y + lo, hi - lo, pf, scale, seed, c0);
    if (isa == Isa::Avx2) return dropout_avx2(x + lo, y + lo, hi - lo, pf, scale, seed, c0);
#endif
    dropout_scalar(x + lo, y + lo, hi - lo, pf, scale, seed, c0);
  });
}

}  // namespace

void dropout(DType dtype, const void* x, void* y, int64_t n, double p, uint64_t seed,
             uint64_t offset) {
  if (dtype == DType::Float32) dropout_typed((const float*)x, (float*)y, n, p, seed, offset);
  else dropout_typed((const double*)x, (double*)y, n, p, seed, offset);
}

}  // namespace dlcore::cpu
