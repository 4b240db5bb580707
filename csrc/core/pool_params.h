// pool_params.h — the geometry of a 2-D pooling window sweep, shared by the CPU and CUDA
// pooling kernels (csrc/cpu/pool.cpp, csrc/cuda/pool.cu). 1-D pooling is the same sweep with
// in_h = out_h = k_h = s_h = d_h = 1 and p_h = 0.
//
// Output (oh, ow) of plane p covers input rows oh*s_h - p_h + i*d_h (i < k_h) and columns
// ow*s_w - p_w + j*d_w (j < k_w); positions outside [0, in_h) x [0, in_w) are padding.
#pragma once
#include <cstdint>

#include "host_device.h"

namespace dlcore {

struct Pool2dParams {
  int64_t planes = 0;                       // N * C independent (H, W) planes, contiguous
  int64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int64_t k_h = 1, k_w = 1;                 // kernel
  int64_t s_h = 1, s_w = 1;                 // stride
  int64_t p_h = 0, p_w = 0;                 // implicit padding on both sides
  int64_t d_h = 1, d_w = 1;                 // dilation

  DLCORE_HD int64_t in_plane() const { return in_h * in_w; }
  DLCORE_HD int64_t out_plane() const { return out_h * out_w; }
  // The common 2x2 / stride-2 pool whose windows all lie inside the input: the kernels take
  // a branch-free path over pairs of rows for it.
  DLCORE_HD bool is_2x2_s2_interior() const {
    return k_h == 2 && k_w == 2 && s_h == 2 && s_w == 2 && p_h == 0 && p_w == 0 && d_h == 1 &&
           d_w == 1 && 2 * out_h <= in_h && 2 * out_w <= in_w;
  }
};

// The window of average-pool output (oh, ow), clipped to the input, and torch's divisor for it:
// divisor_override when > 0; else with count_include_pad the window clipped to the padded input
// (a ceil_mode window hanging past the padding is not counted whole), without it only the real
// input elements. An empty window (h0 >= h1 or w0 >= w1) averages to 0.
struct PoolWindow {
  int64_t h0, h1, w0, w1;
  double divisor;
};

DLCORE_HD PoolWindow avg_pool_window(const Pool2dParams& p, int64_t oh, int64_t ow,
                                     bool count_include_pad, int64_t divisor_override) {
  int64_t h0 = oh * p.s_h - p.p_h, w0 = ow * p.s_w - p.p_w;
  int64_t h1 = h0 + p.k_h < p.in_h + p.p_h ? h0 + p.k_h : p.in_h + p.p_h;
  int64_t w1 = w0 + p.k_w < p.in_w + p.p_w ? w0 + p.k_w : p.in_w + p.p_w;
  const int64_t padded = (h1 - h0) * (w1 - w0);
  h0 = h0 > 0 ? h0 : 0;
  w0 = w0 > 0 ? w0 : 0;
  h1 = h1 < p.in_h ? h1 : p.in_h;
  w1 = w1 < p.in_w ? w1 : p.in_w;
  const double div = divisor_override > 0 ? (double)divisor_override
                     : count_include_pad  ? (double)padded
                                          : (double)((h1 - h0) * (w1 - w0));
  return {h0, h1, w0, w1, div};
}

// Adaptive pooling: output i of a dim In -> Out covers [floor(i In / Out), ceil((i+1) In / Out)).
DLCORE_HD int64_t adaptive_start(int64_t i, int64_t in, int64_t out) { return (i * in) / out; }
DLCORE_HD int64_t adaptive_end(int64_t i, int64_t in, int64_t out) {
  return ((i + 1) * in + out - 1) / out;
}

}  // namespace dlcore
