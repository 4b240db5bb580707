// philox_internal.h — private contract between dropout.cpp / random.cpp (baseline x86-64) and
// philox_avx2.cpp (compiled with -mavx2 -mfma) / philox_avx512.cpp (-mavx512f/bw/dq/vl): the
// Philox4x32-10 of core/philox.h evaluated for many consecutive counters at once, one counter
// per SIMD lane (8 per ymm, 16 per zmm). Nothing here is visible outside csrc/cpu.
//
// The contract is bit-equality: every function below writes exactly the bits the scalar code
// (core/philox.h, and the loops of dropout.cpp / random.cpp's generic path) writes for the same
// (seed, counter), for any n >= 0 and any start counter, wrap-around at 2^64 included. The CUDA
// kernels use the same scalar functions, so the three paths and the GPU agree.
//
// The SIMD files do not include core/philox.h: an inline function compiled in a -mavx512 file
// may be emitted there as a weak symbol that the linker then also uses for the baseline files,
// which would fault on a CPU without AVX-512. Their helpers live in unnamed namespaces.
#pragma once
#include <cstdint>
#include <cstring>

#include "kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#define DLCORE_PHILOX_SIMD 1
#else
#define DLCORE_PHILOX_SIMD 0
#endif

namespace dlcore::cpu::philox_detail {

enum class Isa { Generic, Avx2, Avx512 };

// The ten (k0, k1) round keys of a seed: the same in every lane, so the SIMD rounds broadcast
// them. (Unnamed namespace: each file gets its own copy, compiled for its own ISA.)
namespace {
struct RoundKeys {
  uint32_t k0[10], k1[10];
};

inline RoundKeys round_keys(uint64_t seed) {
  RoundKeys rk;
  uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
  for (int r = 0; r < 10; ++r, k0 += 0x9E3779B9u, k1 += 0xBB67AE85u) {
    rk.k0[r] = k0;
    rk.k1[r] = k1;
  }
  return rk;
}
}  // namespace

// Read on every call, like the other kernel families: AVX-512 when the CPU and the OS support
// it, AVX2 otherwise, unless DLCORE_CPU_PATH=avx2 or =generic forces a lower path (the tests
// compare the three). gemm_simd_path() implements exactly that three-level choice.
inline Isa select_isa() {
  const char* p = gemm_simd_path();
  if (std::strcmp(p, "avx512") == 0) return Isa::Avx512;
  if (std::strcmp(p, "avx2-fma") == 0) return Isa::Avx2;
  return Isa::Generic;
}

// Dropout over n elements whose counters are c0, c0+1, ...: element i takes word (c & 3) of
// block (c >> 2), c = c0 + i, and y[i] = (word >> 8) * 2^-24 >= pf ? x[i] * scale : 0.
// c0 need not be a multiple of 4 (a thread's range starts anywhere).
void dropout_avx512(const float* x, float* y, int64_t n, float pf, float scale, uint64_t seed,
                    uint64_t c0);
void dropout_avx512(const double* x, double* y, int64_t n, float pf, double scale,
                    uint64_t seed, uint64_t c0);
void dropout_avx2(const float* x, float* y, int64_t n, float pf, float scale, uint64_t seed,
                  uint64_t c0);
void dropout_avx2(const double* x, double* y, int64_t n, float pf, double scale, uint64_t seed,
                  uint64_t c0);

// out[i] = T(a + (b - a) * double(philox_uniform<T>(seed, ctr + i))): one block per element,
// word 0 (float) or words 0 and 1 (double); multiply and add rounded separately (no FMA).
void uniform_avx512(float* out, int64_t n, uint64_t seed, uint64_t ctr, double a, double b);
void uniform_avx512(double* out, int64_t n, uint64_t seed, uint64_t ctr, double a, double b);
void uniform_avx2(float* out, int64_t n, uint64_t seed, uint64_t ctr, double a, double b);
void uniform_avx2(double* out, int64_t n, uint64_t seed, uint64_t ctr, double a, double b);

// The raw stream: out[4*k + j] = word j of Philox4x32::generate(seed, ctr + k), k < nblocks.
// (randn takes its words from here and keeps the libm Box-Muller scalar.)
void blocks_avx512(uint64_t seed, uint64_t ctr, int64_t nblocks, uint32_t* out);
void blocks_avx2(uint64_t seed, uint64_t ctr, int64_t nblocks, uint32_t* out);

}  // namespace dlcore::cpu::philox_detail
