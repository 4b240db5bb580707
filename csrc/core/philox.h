// philox.h — Philox4x32-10 counter-based RNG (Salmon et al., SC'11), usable on host and device.
//
// A counter-based generator lets every element draw its own random numbers from
// (seed, element index) with no shared state, so the CPU and CUDA paths produce the *same*
// stream for the same seed and the same offset, and parallel threads need no coordination.
#pragma once
#include <cmath>
#include <cstdint>

#include "host_device.h"

namespace dlcore {

struct Philox4x32 {
  uint32_t c[4];
  uint32_t k[2];

  DLCORE_HD static void mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
    uint64_t p = (uint64_t)a * (uint64_t)b;
    hi = (uint32_t)(p >> 32);
    lo = (uint32_t)p;
  }

  // Returns 4 random 32-bit words for counter `ctr` under key `seed`.
  DLCORE_HD static void generate(uint64_t seed, uint64_t ctr, uint32_t out[4]) {
    uint32_t c0 = (uint32_t)ctr, c1 = (uint32_t)(ctr >> 32), c2 = 0, c3 = 0;
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int r = 0; r < 10; ++r) {
      uint32_t hi0, lo0, hi1, lo1;
      mulhilo(0xD2511F53u, c0, hi0, lo0);
      mulhilo(0xCD9E8D57u, c2, hi1, lo1);
      uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
      c0 = n0; c1 = n1; c2 = n2; c3 = n3;
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
  }
};

// Uniform in [0, 1) from 24 (float) or 53 (double) random bits.
DLCORE_HD float philox_to_float(uint32_t x) { return (x >> 8) * (1.0f / 16777216.0f); }
DLCORE_HD double philox_to_double(uint32_t hi, uint32_t lo) {
  return (double)(((uint64_t)hi << 21) ^ (uint64_t)(lo >> 11)) * (1.0 / 9007199254740992.0);
}

}  // namespace dlcore

namespace dlcore {

// The per-element draws both devices use, so CPU and CUDA agree for the same seed/offset.
// Element i uses counter (offset + i); u in [0,1); normal via Box-Muller on 1-u (never 0).
template <typename T>
DLCORE_HD T philox_uniform(uint64_t seed, uint64_t counter) {
  uint32_t w[4];
  Philox4x32::generate(seed, counter, w);
  if (sizeof(T) == 4) return (T)philox_to_float(w[0]);
  return (T)philox_to_double(w[0], w[1]);
}

// Streams that need one float per element (dropout masks) take all four words of a block:
// counter c reads word (c & 3) of block (c >> 2). A loop over consecutive counters then runs
// Philox once per four elements, and any element can still be drawn on its own.
DLCORE_HD float philox_word_uniform(uint64_t seed, uint64_t counter) {
  uint32_t w[4];
  Philox4x32::generate(seed, counter >> 2, w);
  return philox_to_float(w[counter & 3]);
}

// Box-Muller on the four words of one block. Split from philox_normal so that the CPU can
// draw the words for many counters at once with SIMD (csrc/cpu/random.cpp) and still apply
// this one definition, libm log/cos included, to each block.
template <typename T>
DLCORE_HD T philox_normal_from_words(const uint32_t w[4]) {
  double u1, u2;
  if (sizeof(T) == 4) {
    u1 = 1.0 - (double)philox_to_float(w[0]);
    u2 = (double)philox_to_float(w[1]);
  } else {
    u1 = 1.0 - philox_to_double(w[0], w[1]);
    u2 = philox_to_double(w[2], w[3]);
  }
  return (T)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

template <typename T>
DLCORE_HD T philox_normal(uint64_t seed, uint64_t counter) {
  uint32_t w[4];
  Philox4x32::generate(seed, counter, w);
  return philox_normal_from_words<T>(w);
}

}  // namespace dlcore
