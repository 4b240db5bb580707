// upsample_math.h — source coordinates of interpolate (nearest, nearest-exact, linear /
// bilinear), written once for csrc/cpu/upsample.cpp and csrc/cuda/upsample.cu.
//
// Output index dst of a dim resized In -> Out reads the input at a source coordinate:
//   scale = In / Out, or 1 / scale_factor when the caller gave one (scale_factor > 0) and did
//           not ask to recompute it; align_corners: (In - 1) / (Out - 1) (0 when Out == 1)
//   nearest        src = min(floor(dst * scale), In - 1)        (the arithmetic in float, as
//   nearest-exact  src = min(floor((dst + 0.5) * scale), In - 1)  torch does, for equal picks)
//   linear         src = align_corners ? dst * scale : max((dst + 0.5) * scale - 0.5, 0),
//                  blended from i0 = floor(src) and i1 = min(i0 + 1, In - 1) with weights
//                  1 - l and l = src - i0. T (float or double) is the arithmetic's precision.
#pragma once
#include <cstdint>

#include "host_device.h"

namespace dlcore {

DLCORE_HD int64_t nearest_source(int64_t dst, int64_t in, int64_t out, double scale_factor,
                                 bool exact) {
  if (!exact && out == in) return dst;
  if (!exact && out == 2 * in) return dst >> 1;
  const float scale = scale_factor > 0 ? (float)(1.0 / scale_factor) : (float)in / (float)out;
  const float s = exact ? (float)(((double)dst + 0.5) * (double)scale) : (float)dst * scale;
  const int64_t i = (int64_t)hd::floor(s);
  return i < in - 1 ? i : in - 1;
}

template <typename T>
DLCORE_HD T linear_scale(int64_t in, int64_t out, bool align_corners, double scale_factor) {
  if (align_corners) return out > 1 ? (T)(in - 1) / (T)(out - 1) : T(0);
  return scale_factor > 0 ? (T)(1.0 / scale_factor) : (T)in / (T)out;
}

template <typename T>
DLCORE_HD void linear_source(T scale, int64_t dst, int64_t in, bool align_corners, int64_t& i0,
                             int64_t& i1, T& l1) {
  T src = align_corners ? scale * (T)dst : scale * ((T)dst + T(0.5)) - T(0.5);
  if (src < T(0)) src = T(0);
  int64_t i = (int64_t)hd::floor(src);
  if (i > in - 1) i = in - 1;
  T l = src - (T)i;
  l = l < T(0) ? T(0) : (l > T(1) ? T(1) : l);
  i0 = i;
  i1 = i + (i < in - 1 ? 1 : 0);
  l1 = l;
}

}  // namespace dlcore
