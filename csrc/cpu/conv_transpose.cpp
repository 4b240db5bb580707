// conv_transpose.cpp — the transposed convolution as the adjoint of conv2d (conv.cpp).
//
// A transposed convolution from (N, K, OH, OW) to (N, C, H, W) with weight (K, C/groups, kh, kw)
// (torch's (in, out/groups, kh, kw)) is exactly the map conv2d's backward applies to the
// output gradient, so it is described by that conv2d's ConvParams and runs on its kernels:
// its forward is conv2d's input gradient (GEMM W^T @ X, then col2im), its input gradient is
// conv2d's forward, its weight gradient conv2d's weight gradient with the roles of input and
// output gradient swapped. Only the bias (one value per output channel) is added here.
#include <cstdint>

#include "conv_internal.h"

namespace dlcore::cpu {
namespace {

template <typename T>
void add_channel_bias(T* y, const T* bias, int64_t N, int64_t C, int64_t S) {
  parallel_for(N * C, conv_detail::grain_for(S), [&](int64_t b, int64_t e) {
    for (int64_t it = b; it < e; ++it) {
      const T v = bias[it % C];
      T* __restrict r = y + it * S;
      for (int64_t q = 0; q < S; ++q) r[q] += v;
    }
  });
}

}  // namespace

// p describes the convolution it is the adjoint of, so x is (N, K, OH, OW), y (N, C, H, W) and
// the weight (K, C/groups, kh, kw) — torch's (in, out/groups, kh, kw) layout.
//   forward       y  = conv2d's input gradient of x  (GEMM + col2im), + bias per channel
//   input grad    dx = conv2d forward of dy
//   weight grad   dw = conv2d's weight gradient with dy as the input and x as the output grad
//   bias grad     db = sum of dy over (n, h, w)

void conv_transpose2d_forward(const ConvParams& p, const void* x, const void* w,
                              const void* bias, void* y) {
  conv_detail::dispatch(p.dtype, "conv_transpose2d", [&](auto z) {
    using T = decltype(z);
    conv2d_backward(p, nullptr, w, x, y, nullptr, nullptr);
    if (bias && p.N > 0) add_channel_bias((T*)y, (const T*)bias, p.N, p.C, p.H * p.W);
  });
}

void conv_transpose2d_backward(const ConvParams& p, const void* x, const void* w,
                               const void* dy, void* dx, void* dw, void* db) {
  if (dx) conv2d_forward(p, dy, w, nullptr, dx, Activation::None);
  if (dw) conv2d_backward(p, dy, nullptr, x, nullptr, dw, nullptr);
  if (db) conv_detail::channel_sum(p.dtype, dy, p.N, p.C, p.H * p.W, db);
}

}  // namespace dlcore::cpu
