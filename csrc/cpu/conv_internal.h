// conv_internal.h — what the CPU convolution files share (conv.cpp, conv_depthwise.cpp,
// conv_transpose.cpp): small geometry helpers, the float32/float64 dispatch, and the internal
// kernels one file calls in another. Not part of the kernel API (that is kernels.h).
#pragma once
#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

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

// conv.cpp: db[c] = sum_{n, q} g[n, c, q] for a contiguous g of shape (N, C, S), one thread per
// channel (the same result for any thread count).
void channel_sum(DType dt, const void* g, int64_t N, int64_t C, int64_t S, void* db);

}  // namespace dlcore::cpu::conv_detail
