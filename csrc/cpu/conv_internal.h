// conv_internal.h — what the CPU convolution files share (conv.cpp, conv_depthwise.cpp,
// conv_transpose.cpp): small geometry helpers, the float32/float64 dispatch, and the internal
// kernels one file calls in another. Not part of the kernel API (that is kernels.h).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <new>
#include <stdexcept>
#include <string>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "../core/cpu_allocator.h"
#include "kernels.h"
#include "parallel.h"

namespace dlcore::cpu::conv_detail {

// Output columns [lo, hi) whose input column ow*s - pad + j*d lies inside [0, W).
inline void valid_range(int64_t W, int64_t OW, int64_t s, int64_t pad, int64_t jd, int64_t& lo,
                        int64_t& hi) {
  const int64_t t = pad - jd;                       // need ow*s >= t
  lo = t <= 0 ? 0 : (t + s - 1) / s;
  const int64_t t2 = W + pad - jd;                  // need ow*s < t2
  hi = t2 <= 0 ? 0 : (t2 + s - 1) / s;
  hi = std::min(hi, OW);
  lo = std::min(lo, hi);
}

// Grain (in items of `per_item` elements) so a thread gets >= kParallelGrain elements.
inline int64_t grain_for(int64_t per_item) {
  return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(per_item, 1));
}

// Host scratch from the caching allocator (big blocks are reused from call to call, so the
// column buffer is not page-faulted in anew by every convolution of a training step).
struct Scratch {
  void* p = nullptr;
  size_t n = 0;
  explicit Scratch(size_t bytes) : n(bytes) {
    if (n) {
      p = cpualloc::alloc(n);
      if (!p) throw std::bad_alloc();
    }
  }
  ~Scratch() { if (p) cpualloc::free(p, n); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  template <typename T> T* as() const { return static_cast<T*>(p); }
};

// Threads that take whole images each (one parallel region for the whole convolution, each
// thread running im2col and single-threaded GEMMs on its own images: no barrier inside, and
// each core's column buffer stays in its own cache). With fewer images than threads the
// images run one slice after another and the threads share each GEMM instead.
inline int image_threads(const ConvParams& p) {
#ifdef _OPENMP
  if (omp_in_parallel()) return 1;
#endif
  // Small convolutions stay on the calling thread: waking a team costs more than they take.
  const double flops = 2.0 * p.N * p.K * p.OH * p.OW * (p.C / p.groups) * p.kh * p.kw;
  const int nt = num_threads();
  return (nt > 1 && p.N >= nt && flops >= 4.0e6) ? nt : 1;
}

// Runs body(thread, begin, end) over `nt` equal ranges of [0, N): the batch, or the tile rows
// of all images (conv_winograd.cpp).
template <typename F>
void over_images(int nt, int64_t N, F&& body) {
  if (nt <= 1) { body(0, int64_t(0), N); return; }
#pragma omp parallel num_threads(nt)
  {
#ifdef _OPENMP
    const int t = omp_get_thread_num(), T = omp_get_num_threads();
#else
    const int t = 0, T = 1;
#endif
    body(t, N * t / T, N * (t + 1) / T);
  }
}

// Runs f(T()) with T = float or double for dt.
template <typename F>
void dispatch(DType dt, const char* op, F&& f) {
  switch (dt) {
    case DType::Float32: f(float()); return;
    case DType::Float64: f(double()); return;
    default:
      throw std::invalid_argument(std::string(op) + ": unsupported dtype " + dtype_name(dt) +
                                  " (expected float32 or float64)");
  }
}


// conv_depthwise.cpp: direct kernels for groups == C (output channel k reads input channel
// k / (K / C)); act: None or Relu. Null dx / dw are skipped.
void depthwise_forward(const ConvParams& p, const void* x, const void* w, const void* bias,
                       void* y, Activation act);
void depthwise_backward(const ConvParams& p, const void* x, const void* w, const void* dy,
                        void* dx, void* dw);

// conv_direct.cpp: direct float32 kernels for layers with few channels (conv_direct.h says
// why and how). Each returns false, having done nothing, where the shape, dtype or CPU path
// does not suit it; the caller then runs im2col + GEMM.
bool direct_forward(const ConvParams& p, const float* x, const float* w, const float* bias,
                    float* y, Activation act);
bool direct_backward_input(const ConvParams& p, const float* w, const float* dy, float* dx);
bool direct_backward_weight(const ConvParams& p, const float* x, const float* dy, float* dw);

// conv_winograd.cpp: 3x3 stride-1 float32 layers of >= 32 channels in and out by Winograd's
// F(2x2, 3x3); false (nothing done) where the layer does not suit it.
bool winograd_forward(const ConvParams& p, const float* x, const float* w, const float* bias,
                      float* y, Activation act);
bool winograd_backward_input(const ConvParams& p, const float* w, const float* dy, float* dx);
bool winograd_backward_weight(const ConvParams& p, const float* x, const float* dy, float* dw);

// conv.cpp: db[c] = sum_{n, q} g[n, c, q] for a contiguous g of shape (N, C, S), one thread per
// channel (the same result for any thread count).
void channel_sum(DType dt, const void* g, int64_t N, int64_t C, int64_t S, void* db);

}  // namespace dlcore::cpu::conv_detail
