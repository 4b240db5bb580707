// parallel.h — running a kernel body over a dlcore::Loop on the CPU.
//
// for_each_run() walks the loop as a sequence of inner "runs" (the innermost dim), handing
// the body byte pointers for every operand plus the inner strides. Large loops are split
// into equal linear ranges across OpenMP threads; small ones (< kParallelGrain elements) run
// on the calling thread, because waking a thread team costs more than a few µs of work.
#pragma once
#include <algorithm>
#include <cstdint>

#include "../core/loop.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace dlcore::cpu {

constexpr int64_t kParallelGrain = 32768;

// Planes (image channels) per parallel chunk of a per-plane kernel (pooling, upsampling):
// about kParallelGrain elements of work each.
inline int64_t plane_grain(int64_t work_per_plane) {
  return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(work_per_plane, 1));
}

inline int thread_count_for(int64_t work, int64_t grain = kParallelGrain) {
#ifdef _OPENMP
  if (work < grain || omp_in_parallel()) return 1;
  return (int)std::max<int64_t>(1, std::min<int64_t>(omp_get_max_threads(), work / grain));
#else
  (void)work; (void)grain;
  return 1;
#endif
}

// Calls fn(begin, end) on disjoint ranges covering [0, n), in parallel when worthwhile.
template <typename F>
void parallel_for(int64_t n, int64_t grain, F&& fn) {
  int nt = thread_count_for(n, grain);
  if (nt <= 1) { if (n > 0) fn(int64_t(0), n); return; }
#pragma omp parallel num_threads(nt)
  {
#ifdef _OPENMP
    int t = omp_get_thread_num(), T = omp_get_num_threads();
#else
    int t = 0, T = 1;
#endif
    int64_t b = n * t / T, e = n * (t + 1) / T;
    if (b < e) fn(b, e);
  }
}

// body(char* ptr[NOPS], const int64_t inner_stride_bytes[NOPS], int64_t count)
template <int NOPS, typename Body>
void for_each_run(const Loop& L, char* const base[NOPS], const int64_t elsize[NOPS], Body&& body) {
  const int64_t n = L.numel();
  if (n == 0) return;
  if (L.ndim == 0) {
    int64_t zero[NOPS] = {};
    char* p[NOPS];
    for (int k = 0; k < NOPS; ++k) p[k] = base[k];
    body(p, zero, int64_t(1));
    return;
  }
  const int nd = L.ndim, last = nd - 1;
  int64_t inner_bytes[NOPS];
  for (int k = 0; k < NOPS; ++k) inner_bytes[k] = L.strides[k][last] * elsize[k];
  parallel_for(n, kParallelGrain, [&](int64_t begin, int64_t end) {
    // Decompose `begin` into a multi-index, then advance run by run.
    int64_t idx[kMaxDims];
    int64_t rem = begin;
    for (int d = last; d >= 0; --d) { idx[d] = rem % L.sizes[d]; rem /= L.sizes[d]; }
    int64_t pos = begin;
    while (pos < end) {
      char* p[NOPS];
      for (int k = 0; k < NOPS; ++k) {
        int64_t off = 0;
        for (int d = 0; d < nd; ++d) off += idx[d] * L.strides[k][d];
        p[k] = base[k] + off * elsize[k];
      }
      int64_t count = std::min(L.sizes[last] - idx[last], end - pos);
      body(p, inner_bytes, count);
      pos += count;
      idx[last] += count;
      for (int d = last; d > 0 && idx[d] == L.sizes[d]; --d) { idx[d] = 0; ++idx[d - 1]; }
    }
  });
}

}  // namespace dlcore::cpu
