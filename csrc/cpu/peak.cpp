// peak.cpp — the machine's two ceilings, the "100%" that benchmarks divide by.
// FMA throughput: a loop of independent multiply-add chains (no memory traffic) runs on
// `threads` OpenMP threads for ~60 ms after a short warm-up that lets the clock ramp.
// Memory bandwidth, two ways, over arrays far larger than any cache:
//   - a STREAM-style triad a = b + s*c (the number everyone quotes);
//   - an optimizer-shaped stream: Adam's exact memory pattern (4 streams read, 3 of them
//     written back in place) with trivial arithmetic. This is the ceiling an optimizer step
//     is measured against: `bench optim` reports each step as a fraction of it.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "../core/cpu_allocator.h"
#include "gemm_internal.h"
#include "kernels.h"

namespace dlcore::cpu {
namespace {

constexpr int kChains = 48;                        // generic path: 12 SSE vectors of 4

// Portable version: the compiler vectorises the chain loop with whatever the baseline
// offers (mulps + addps on x86-64 SSE2); counted as 2 flops per element update.
float spin_generic(int64_t iters) {
  float c[kChains];
  for (int j = 0; j < kChains; ++j) c[j] = 0.1f * (j + 1);
  const float m = 0.999999f, a = 1e-6f;
  for (int64_t i = 0; i < iters; ++i)
    for (int j = 0; j < kChains; ++j) c[j] = c[j] * m + a;
  float s = 0;
  for (int j = 0; j < kChains; ++j) s += c[j];
  return s;
}

struct Spin {
  bool avx2;
  double flops_per_iter;
  float operator()(int64_t iters) const {
#if defined(__x86_64__) || defined(__i386__)
    if (avx2) return gemm_detail::fma_spin_avx2(iters);
#endif
    return spin_generic(iters);
  }
};

double seconds_now() {
  using clk = std::chrono::steady_clock;
  return std::chrono::duration<double>(clk::now().time_since_epoch()).count();
}

volatile float g_sink;                             // keeps the loops' results alive

// The bandwidth arrays come from the tensors' allocator, so they sit on the same (2 MiB,
// transparent huge) pages as the tensors whose kernels are measured against them. With plain
// new[] (4 KiB pages where THP is "madvise", the common default) every stream walks onto a new
// page each 4 KB, so the ceiling paid TLB misses the measured kernels do not, and read lower
// than the optimizer step it is meant to bound (Adam at 58 GB/s against a triad of 32-42).
struct HostFloats {
  explicit HostFloats(int64_t n) : bytes(size_t(n) * sizeof(float)),
                                   p((float*)cpualloc::alloc(bytes)) {
    if (!p) throw std::bad_alloc();
  }
  ~HostFloats() { cpualloc::free(p, bytes); }
  HostFloats(const HostFloats&) = delete;
  HostFloats& operator=(const HostFloats&) = delete;
  size_t bytes;
  float* p;
};

}  // namespace

double measure_peak_gflops(int threads) {
  threads = std::max(1, threads);
  const bool avx2 = use_avx2_kernels();
  const Spin spin{avx2, avx2 ? 12.0 * 8 * 2 : kChains * 2.0};

  // Calibrate on one thread: how many iterations fill ~60 ms.
  int64_t iters = 1 << 16;
  double dt = 0;
  for (;;) {
    const double t0 = seconds_now();
    g_sink = spin(iters);
    dt = seconds_now() - t0;
    if (dt > 0.01 || iters > (int64_t(1) << 40)) break;
    iters *= 4;
  }
  iters = std::max<int64_t>(1, (int64_t)(iters * 0.06 / std::max(dt, 1e-9)));

  // All threads spin the same count; the slowest thread's time defines the rate. The first
  // round only warms up: a freshly created OpenMP thread may start on its parent's core
  // until the scheduler migrates it. The best of the measured rounds is reported.
  const int64_t round_iters = std::max<int64_t>(1, iters / 3);
  double best = 0;
  for (int round = 0; round < 4; ++round) {
    double t0 = 0, t1 = 0;
    int team = 1;
#pragma omp parallel num_threads(threads)
    {
#pragma omp single
      {
#ifdef _OPENMP
        team = omp_get_num_threads();
#endif
        t0 = seconds_now();
      }
      const float r = spin(round == 0 ? round_iters / 2 : round_iters);
#pragma omp critical
      g_sink = g_sink + r;
#pragma omp barrier
#pragma omp single
      t1 = seconds_now();
    }
    if (round > 0)
      best = std::max(best, spin.flops_per_iter * (double)round_iters * team /
                                std::max(t1 - t0, 1e-9) / 1e9);
  }
  return best;
}

// STREAM's triad, float32: a[i] = b[i] + s * c[i] over 3 arrays of kTriadElems (96 MB each,
// beyond the last-level cache of any current CPU, so each pass goes to DRAM). Counted as
// STREAM counts it: 12 bytes per element (two reads, one write; the write-allocate read of
// `a` the caches may add is not counted). Each thread touches its own static share, in
// the first-touch loop too, so on NUMA machines the pages sit next to the thread using them.
// The best of several passes is reported, as STREAM does: the machine is shared and a slow
// pass says more about the neighbours than about the memory.
double measure_triad_gbps(int threads) {
  constexpr int64_t kTriadElems = int64_t(24) << 20;
  threads = std::max(1, threads);
  HostFloats a(kTriadElems), b(kTriadElems), c(kTriadElems);
  float* pa = a.p;
  const float* pb = b.p;
  const float* pc = c.p;
  {
    float* wb = b.p;
    float* wc = c.p;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < kTriadElems; ++i) {
      pa[i] = 0.0f;
      wb[i] = 1.0f;
      wc[i] = 2.0f;
    }
  }
  const float scalar = 3.0f;
  double best = 0;
  for (int pass = 0; pass < 11; ++pass) {
    const double t0 = seconds_now();
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < kTriadElems; ++i) pa[i] = pb[i] + scalar * pc[i];
    const double dt = seconds_now() - t0;
    if (pass > 0) best = std::max(best, 12.0 * (double)kTriadElems / std::max(dt, 1e-9) / 1e9);
  }
  g_sink = pa[kTriadElems / 2];
  return best;
}

// ---- the optimizer-shaped stream -------------------------------------------------------------
// Why a second bandwidth number: the triad's count (12 B/element, STREAM's convention) leaves
// out the write-allocate read of `a` that a cached store costs (16 B really move), and a
// single core's bandwidth depends on how many streams it has in flight (its outstanding
// misses are spread over them), so a 3-stream triad says little about a 4-read/3-write
// optimizer step. This loop is that step with its divisions removed: p, g, m, v read;
// p, m, v written in place (no write-allocate: the lines were just read), 28 B/element; with
// amsgrad also AMSGrad's running maximum read and written, 36 B/element (five streams in
// flight per core instead of four: it need not reach the same GB/s).
// Three ways of splitting the range over the team, as an optimizer could:
//   kStatic    one contiguous share per thread;
//   kChunks    64K-element chunks handed out dynamically (what cpu/optim.cpp does);
//   kPrefetch  kChunks plus a software prefetch of every stream kPrefetchAhead bytes ahead.
namespace {
constexpr int64_t kStreamElems = int64_t(12) << 20;   // 48 MB per stream, 192 MB in all
constexpr int64_t kStreamChunk = 1 << 16;
constexpr int64_t kPrefetchAhead = 1024;               // floats: 4 KB ahead on each stream

struct UpdateStreams {
  float* p; const float* g; float* m; float* v;
  float* vmax;   // AMSGrad's running maximum of v: a fifth stream, read and written (else null)
  // The arithmetic is a placeholder for an optimizer's (three multiply-adds, no division): it
  // keeps every value finite and costs far less than the memory traffic.
  template <bool kMax>
  void run_(int64_t b, int64_t e, bool prefetch) const {
    float* __restrict pp = p;
    const float* __restrict gg = g;
    float* __restrict mm = m;
    float* __restrict vv = v;
    float* __restrict ww = vmax;
    for (int64_t i0 = b; i0 < e; i0 += 16) {            // one 64-byte line of each stream
      if (prefetch) {
        __builtin_prefetch(pp + i0 + kPrefetchAhead, 1, 3);
        __builtin_prefetch(gg + i0 + kPrefetchAhead, 0, 3);
        __builtin_prefetch(mm + i0 + kPrefetchAhead, 1, 3);
        __builtin_prefetch(vv + i0 + kPrefetchAhead, 1, 3);
        if (kMax) __builtin_prefetch(ww + i0 + kPrefetchAhead, 1, 3);
      }
      const int64_t i1 = std::min(e, i0 + 16);
      for (int64_t i = i0; i < i1; ++i) {
        const float gi = gg[i];
        const float mi = mm[i] * 0.9f + gi * 0.1f;
        float vi = vv[i] * 0.999f + gi * gi;
        vv[i] = vi;
        if (kMax) {
          vi = std::max(ww[i], vi);
          ww[i] = vi;
        }
        mm[i] = mi;
        pp[i] = pp[i] * 0.5f + mi * 1e-3f + vi * 1e-6f;
      }
    }
  }
  void run(int64_t b, int64_t e, bool prefetch) const {
    if (vmax) run_<true>(b, e, prefetch);
    else run_<false>(b, e, prefetch);
  }
};
}  // namespace

UpdateStreamGbps measure_update_stream_gbps(int threads, bool amsgrad) {
  threads = std::max(1, threads);
  const int64_t n = kStreamElems;
  HostFloats p(n), g(n), m(n), v(n), w(amsgrad ? n : 1);
  const UpdateStreams s{p.p, g.p, m.p, v.p, amsgrad ? w.p : nullptr};
  const double bytes = amsgrad ? 36.0 : 28.0;   // 4 or 5 streams read, 3 or 4 written
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    p.p[i] = 1.0f;
    g.p[i] = 0.01f;
    m.p[i] = 0.0f;
    v.p[i] = 0.0f;
    if (amsgrad) w.p[i] = 0.0f;
  }
  const int64_t chunks = (n + kStreamChunk - 1) / kStreamChunk;
  auto pass = [&](int how) {
    const double t0 = seconds_now();
    if (how == 0) {
#pragma omp parallel num_threads(threads)
      {
        int t = 0, nt = 1;
#ifdef _OPENMP
        t = omp_get_thread_num();
        nt = omp_get_num_threads();
#endif
        const int64_t share = (n / nt + 15) / 16 * 16;
        s.run(std::min(n, t * share), std::min(n, (t + 1) * share), false);
      }
    } else {
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
      for (int64_t c = 0; c < chunks; ++c)
        s.run(c * kStreamChunk, std::min(n, (c + 1) * kStreamChunk), how == 2);
    }
    return bytes * (double)n / std::max(seconds_now() - t0, 1e-9) / 1e9;
  };
  // The three ways take turns, pass after pass, so a slow stretch of a shared machine hits
  // them alike; the best pass of each is kept, as for the triad.
  double best[3] = {0, 0, 0};
  for (int round = 0; round < 8; ++round)
    for (int how = 0; how < 3; ++how) {
      const double gbps = pass(how);
      if (round > 0) best[how] = std::max(best[how], gbps);
    }
  g_sink = p.p[n / 2] + m.p[n / 3] + v.p[n / 4] + w.p[amsgrad ? n / 5 : 0];
  return UpdateStreamGbps{best[0], best[1], best[2]};
}

}  // namespace dlcore::cpu
