// conv_params.h — the geometry of one 2-D convolution, shared by the CPU and CUDA kernels.
//
//   y[n, k, oh, ow] = sum_{c in group(k), i, j} w[k, c', i, j] * x[n, c, oh*sh - ph + i*dh,
//                                                                      ow*sw - pw + j*dw]
//
// x is (N, C, H, W), w is (K, C/groups, kh, kw), y is (N, K, OH, OW), all contiguous NCHW.
// ph / pw are the padding before the first row / column. The padding after the last one is
// implied by OH / OW (the caller computes them), which is how 'same' padding with an even
// kernel pads more on the bottom / right, as torch does. Cross-correlation (no kernel flip).
//
// A transposed convolution is described by the convolution it is the adjoint of: its input
// is that convolution's output (N, K, OH, OW), its output that convolution's input.
#pragma once
#include <cstdint>

#include "dtype.h"

namespace dlcore {

struct ConvParams {
  DType dtype = DType::Float32;          // Float32 or Float64
  int64_t N = 0, C = 0, H = 0, W = 0;    // input
  int64_t K = 0, OH = 0, OW = 0;         // output channels and spatial size
  int64_t kh = 1, kw = 1;                // kernel
  int64_t sh = 1, sw = 1;                // stride
  int64_t ph = 0, pw = 0;                // padding before (top, left)
  int64_t dh = 1, dw = 1;                // dilation
  int64_t groups = 1;
};

}  // namespace dlcore
