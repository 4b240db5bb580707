// conv_depthwise.cpp — depthwise convolution (groups == C, one input channel per group) by
// direct kernels, forward and both gradients. An im2col matrix would have only kh*kw rows per
// group, kh*kw times the input for GEMMs with K = kh*kw: direct loops do the same products
// without the copy. Each kernel tap adds a shifted input row to an output row — contiguous,
// vectorised runs for stride 1. Threads split (image, channel) planes (forward, input grad) or
// output channels (weight grad); each element has one writer and a fixed summation order.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "conv_internal.h"

namespace dlcore::cpu::conv_detail {
namespace {

// Output channel k reads input channel k / m (m = K / C channel multiplier). Each kernel tap
// adds a shifted input row to the output row: contiguous, vectorised runs for stride 1.

template <typename T>
void depthwise_forward(const ConvParams& p, const T* x, const T* w, const T* bias, T* y,
                       Activation act) {
  const int64_t HW = p.H * p.W, OHW = p.OH * p.OW, m = p.K / p.C, taps = p.kh * p.kw;
  parallel_for(p.N * p.K, grain_for(taps * OHW), [&](int64_t b, int64_t e) {
    std::vector<int64_t> lo(p.kw), hi(p.kw);
    for (int64_t j = 0; j < p.kw; ++j) valid_range(p.W, p.OW, p.sw, p.pw, j * p.dw, lo[j], hi[j]);
    for (int64_t it = b; it < e; ++it) {
      const int64_t n = it / p.K, k = it % p.K;
      const T* xc = x + (n * p.C + k / m) * HW;
      const T* wk = w + k * taps;
      T* yk = y + it * OHW;
      std::fill(yk, yk + OHW, bias ? bias[k] : T(0));
      for (int64_t oh = 0; oh < p.OH; ++oh) {
        T* __restrict yr = yk + oh * p.OW;
        for (int64_t i = 0; i < p.kh; ++i) {
          const int64_t ih = oh * p.sh - p.ph + i * p.dh;
          if (ih < 0 || ih >= p.H) continue;
          for (int64_t j = 0; j < p.kw; ++j) {
            const T wv = wk[i * p.kw + j];
            const T* __restrict xr = xc + ih * p.W + j * p.dw - p.pw;
            if (p.sw == 1) {
              for (int64_t ow = lo[j]; ow < hi[j]; ++ow) yr[ow] += wv * xr[ow];
            } else {
              for (int64_t ow = lo[j]; ow < hi[j]; ++ow) yr[ow] += wv * xr[ow * p.sw];
            }
          }
        }
      }
      if (act == Activation::Relu)
        for (int64_t q = 0; q < OHW; ++q) yk[q] = yk[q] > T(0) ? yk[q] : T(0);
    }
  });
}

// dx[n, c] = sum over the m output channels of c of the taps scattered back (one thread per
// (image, channel) plane: no two threads write the same dx element).
template <typename T>
void depthwise_backward_input(const ConvParams& p, const T* w, const T* dy, T* dx) {
  const int64_t HW = p.H * p.W, OHW = p.OH * p.OW, m = p.K / p.C, taps = p.kh * p.kw;
  parallel_for(p.N * p.C, grain_for(m * taps * OHW), [&](int64_t b, int64_t e) {
    std::vector<int64_t> lo(p.kw), hi(p.kw);
    for (int64_t j = 0; j < p.kw; ++j) valid_range(p.W, p.OW, p.sw, p.pw, j * p.dw, lo[j], hi[j]);
    for (int64_t it = b; it < e; ++it) {
      const int64_t n = it / p.C, c = it % p.C;
      T* xc = dx + it * HW;
      std::fill(xc, xc + HW, T(0));
      for (int64_t q = 0; q < m; ++q) {
        const int64_t k = c * m + q;
        const T* dyk = dy + (n * p.K + k) * OHW;
        const T* wk = w + k * taps;
        for (int64_t oh = 0; oh < p.OH; ++oh) {
          const T* __restrict dr = dyk + oh * p.OW;
          for (int64_t i = 0; i < p.kh; ++i) {
            const int64_t ih = oh * p.sh - p.ph + i * p.dh;
            if (ih < 0 || ih >= p.H) continue;
            for (int64_t j = 0; j < p.kw; ++j) {
              const T wv = wk[i * p.kw + j];
              T* __restrict xr = xc + ih * p.W + j * p.dw - p.pw;
              if (p.sw == 1) {
                for (int64_t ow = lo[j]; ow < hi[j]; ++ow) xr[ow] += wv * dr[ow];
              } else {
                for (int64_t ow = lo[j]; ow < hi[j]; ++ow) xr[ow * p.sw] += wv * dr[ow];
              }
            }
          }
        }
      }
    }
  });
}

// dw[k, i, j] = sum_{n, oh, ow} dy[n, k, oh, ow] * x[n, k/m, ih, iw]: one thread per output
// channel, a dot product along each row run.
template <typename T>
void depthwise_backward_weight(const ConvParams& p, const T* x, const T* dy, T* dw) {
  const int64_t HW = p.H * p.W, OHW = p.OH * p.OW, m = p.K / p.C, taps = p.kh * p.kw;
  parallel_for(p.K, grain_for(p.N * taps * OHW), [&](int64_t b, int64_t e) {
    std::vector<int64_t> lo(p.kw), hi(p.kw);
    for (int64_t j = 0; j < p.kw; ++j) valid_range(p.W, p.OW, p.sw, p.pw, j * p.dw, lo[j], hi[j]);
    for (int64_t k = b; k < e; ++k) {
      for (int64_t t = 0; t < taps; ++t) {
        const int64_t i = t / p.kw, j = t % p.kw;
        T acc = T(0);
        for (int64_t n = 0; n < p.N; ++n) {
          const T* xc = x + (n * p.C + k / m) * HW + j * p.dw - p.pw;
          const T* dyk = dy + (n * p.K + k) * OHW;
          for (int64_t oh = 0; oh < p.OH; ++oh) {
            const int64_t ih = oh * p.sh - p.ph + i * p.dh;
            if (ih < 0 || ih >= p.H) continue;
            const T* __restrict xr = xc + ih * p.W;
            const T* __restrict dr = dyk + oh * p.OW;
            T s = T(0);
            if (p.sw == 1) {
#pragma omp simd reduction(+ : s)
              for (int64_t ow = lo[j]; ow < hi[j]; ++ow) s += dr[ow] * xr[ow];
            } else {
              for (int64_t ow = lo[j]; ow < hi[j]; ++ow) s += dr[ow] * xr[ow * p.sw];
            }
            acc += s;
          }
        }
        dw[k * taps + t] = acc;
      }
    }
  });
}

}  // namespace

void depthwise_forward(const ConvParams& p, const void* x, const void* w, const void* bias,
                       void* y, Activation act) {
  dispatch(p.dtype, "conv2d (depthwise)", [&](auto z) {
    using T = decltype(z);
    depthwise_forward<T>(p, (const T*)x, (const T*)w, (const T*)bias, (T*)y, act);
  });
}

void depthwise_backward(const ConvParams& p, const void* x, const void* w, const void* dy,
                        void* dx, void* dw) {
  dispatch(p.dtype, "conv2d_backward (depthwise)", [&](auto z) {
    using T = decltype(z);
    if (dx) depthwise_backward_input<T>(p, (const T*)w, (const T*)dy, (T*)dx);
    if (dw) depthwise_backward_weight<T>(p, (const T*)x, (const T*)dy, (T*)dw);
  });
}

}  // namespace dlcore::cpu::conv_detail
