// upsample.cpp — interpolate on the CPU: nearest / nearest-exact and (bi)linear resizing of
// NCHW planes, forward beside backward. 1-D ('linear', 'nearest' on (N, C, L)) is the H = 1
// case: a height-1 plane maps to itself.
//
// The source coordinates depend only on the output column (row), never on the plane, so they
// are computed once per call into small tables (core/upsample_math.h has the formulas, shared
// with CUDA): the per-plane loops are then table lookups and multiply-adds over contiguous
// output rows. Planes are independent: OpenMP over N*C planes, and the backward passes scatter
// (+=) into their own zeroed gradient plane without atomics.
#include <algorithm>
#include <cstring>
#include <vector>

#include "../core/upsample_math.h"
#include "kernels.h"
#include "parallel.h"

namespace dlcore::cpu {
namespace {

struct Geometry {
  int64_t planes, H, W, OH, OW;
};

std::vector<int64_t> nearest_table(int64_t in, int64_t out, double scale, bool exact) {
  std::vector<int64_t> t(out);
  for (int64_t o = 0; o < out; ++o) t[o] = nearest_source(o, in, out, scale, exact);
  return t;
}

// One output row of nearest: out[ow] = in[cols[ow]]. The common case, an integer column scale
// s (cols[ow] == ow / s: scale_factor=2 in a U-Net decoder), is a plain repeat of every input
// value; its own loop with s known at compile time is a shuffle per vector instead of a table
// load and a gather per value, and does not depend on where the compiler places the loop.
template <typename T, int S>
void repeat_columns(const T* xr, T* yr, int64_t W) {
  for (int64_t w = 0; w < W; ++w)
    for (int r = 0; r < S; ++r) yr[w * S + r] = xr[w];
}

template <typename T>
void nearest_row(const T* xr, T* yr, const int64_t* cols, int64_t W, int64_t OW, int64_t col_repeat) {
  switch (col_repeat) {
    case 1: std::memcpy(yr, xr, sizeof(T) * W); return;
    case 2: repeat_columns<T, 2>(xr, yr, W); return;
    case 3: repeat_columns<T, 3>(xr, yr, W); return;
    case 4: repeat_columns<T, 4>(xr, yr, W); return;
    default:
      for (int64_t ow = 0; ow < OW; ++ow) yr[ow] = xr[cols[ow]];
  }
}

// The integer s with cols[ow] == ow / s for every column (OW == s * W), or 0 when there is none.
int64_t integer_repeat(const std::vector<int64_t>& cols, int64_t in) {
  const int64_t out = static_cast<int64_t>(cols.size());
  if (in <= 0 || out % in) return 0;
  const int64_t s = out / in;
  for (int64_t o = 0; o < out; ++o)
    if (cols[o] != o / s) return 0;
  return s;
}

template <typename T>
void nearest_fwd(const Geometry& g, double sh, double sw, bool exact, const T* x, T* y) {
  const auto rows = nearest_table(g.H, g.OH, sh, exact), cols = nearest_table(g.W, g.OW, sw, exact);
  const int64_t col_repeat = integer_repeat(cols, g.W);
  parallel_for(g.planes, plane_grain(g.OH * g.OW), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl) {
      const T* xp = x + pl * g.H * g.W;
      T* yp = y + pl * g.OH * g.OW;
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        T* yr = yp + oh * g.OW;
        // An output row whose source row is the previous one's is a copy of that (finished,
        // cache-hot) output row.
        if (oh > 0 && rows[oh] == rows[oh - 1])
          std::memcpy(yr, yr - g.OW, sizeof(T) * g.OW);
        else
          nearest_row(xp + rows[oh] * g.W, yr, cols.data(), g.W, g.OW, col_repeat);
      }
    }
  });
}

template <typename T>
void nearest_bwd(const Geometry& g, double sh, double sw, bool exact, const T* gy, T* gx) {
  const auto rows = nearest_table(g.H, g.OH, sh, exact), cols = nearest_table(g.W, g.OW, sw, exact);
  parallel_for(g.planes, plane_grain(g.OH * g.OW + g.H * g.W), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl) {
      T* xp = gx + pl * g.H * g.W;
      const T* gp = gy + pl * g.OH * g.OW;
      std::memset(xp, 0, sizeof(T) * g.H * g.W);
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        T* xr = xp + rows[oh] * g.W;
        const T* gr = gp + oh * g.OW;
        for (int64_t ow = 0; ow < g.OW; ++ow) xr[cols[ow]] += gr[ow];
      }
    }
  });
}

template <typename T> struct LinearTable {
  std::vector<int64_t> i0, i1;
  std::vector<T> l0, l1;
};

template <typename T>
LinearTable<T> linear_table(int64_t in, int64_t out, bool align_corners, double scale_factor) {
  LinearTable<T> t;
  t.i0.resize(out); t.i1.resize(out); t.l0.resize(out); t.l1.resize(out);
  const T scale = linear_scale<T>(in, out, align_corners, scale_factor);
  for (int64_t o = 0; o < out; ++o) {
    T l;
    linear_source<T>(scale, o, in, align_corners, t.i0[o], t.i1[o], l);
    t.l1[o] = l;
    t.l0[o] = T(1) - l;
  }
  return t;
}

// y = (1 - a)[(1 - b) x00 + b x01] + a[(1 - b) x10 + b x11], a / b the row / column weights.
template <typename T>
void bilinear_fwd(const Geometry& g, bool align, double sh, double sw, const T* x, T* y) {
  const auto R = linear_table<T>(g.H, g.OH, align, sh);
  const auto C = linear_table<T>(g.W, g.OW, align, sw);
  parallel_for(g.planes, plane_grain(4 * g.OH * g.OW), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl) {
      const T* xp = x + pl * g.H * g.W;
      T* yp = y + pl * g.OH * g.OW;
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        const T* r0 = xp + R.i0[oh] * g.W;
        const T* r1 = xp + R.i1[oh] * g.W;
        const T a0 = R.l0[oh], a1 = R.l1[oh];
        T* yr = yp + oh * g.OW;
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const int64_t c0 = C.i0[ow], c1 = C.i1[ow];
          yr[ow] = a0 * (C.l0[ow] * r0[c0] + C.l1[ow] * r0[c1]) +
                   a1 * (C.l0[ow] * r1[c0] + C.l1[ow] * r1[c1]);
        }
      }
    }
  });
}

// Each output spreads g with the same four weights onto its four sources.
template <typename T>
void bilinear_bwd(const Geometry& g, bool align, double sh, double sw, const T* gy, T* gx) {
  const auto R = linear_table<T>(g.H, g.OH, align, sh);
  const auto C = linear_table<T>(g.W, g.OW, align, sw);
  parallel_for(g.planes, plane_grain(4 * g.OH * g.OW + g.H * g.W), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl) {
      T* xp = gx + pl * g.H * g.W;
      const T* gp = gy + pl * g.OH * g.OW;
      std::memset(xp, 0, sizeof(T) * g.H * g.W);
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        T* r0 = xp + R.i0[oh] * g.W;
        T* r1 = xp + R.i1[oh] * g.W;
        const T a0 = R.l0[oh], a1 = R.l1[oh];
        const T* gr = gp + oh * g.OW;
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const int64_t c0 = C.i0[ow], c1 = C.i1[ow];
          const T v = gr[ow];
          r0[c0] += a0 * C.l0[ow] * v;
          r0[c1] += a0 * C.l1[ow] * v;
          r1[c0] += a1 * C.l0[ow] * v;
          r1[c1] += a1 * C.l1[ow] * v;
        }
      }
    }
  });
}

}  // namespace

void upsample_nearest2d_forward(DType dtype, int64_t planes, int64_t in_h, int64_t in_w,
                                int64_t out_h, int64_t out_w, double scale_h, double scale_w,
                                bool exact, const void* x, void* y) {
  const Geometry g{planes, in_h, in_w, out_h, out_w};
  if (dtype == DType::Float32) nearest_fwd(g, scale_h, scale_w, exact, (const float*)x, (float*)y);
  else nearest_fwd(g, scale_h, scale_w, exact, (const double*)x, (double*)y);
}

void upsample_nearest2d_backward(DType dtype, int64_t planes, int64_t in_h, int64_t in_w,
                                 int64_t out_h, int64_t out_w, double scale_h, double scale_w,
                                 bool exact, const void* grad, void* grad_in) {
  const Geometry g{planes, in_h, in_w, out_h, out_w};
  if (dtype == DType::Float32)
    nearest_bwd(g, scale_h, scale_w, exact, (const float*)grad, (float*)grad_in);
  else
    nearest_bwd(g, scale_h, scale_w, exact, (const double*)grad, (double*)grad_in);
}

void upsample_bilinear2d_forward(DType dtype, int64_t planes, int64_t in_h, int64_t in_w,
                                 int64_t out_h, int64_t out_w, bool align_corners, double scale_h,
                                 double scale_w, const void* x, void* y) {
  const Geometry g{planes, in_h, in_w, out_h, out_w};
  if (dtype == DType::Float32)
    bilinear_fwd(g, align_corners, scale_h, scale_w, (const float*)x, (float*)y);
  else
    bilinear_fwd(g, align_corners, scale_h, scale_w, (const double*)x, (double*)y);
}

void upsample_bilinear2d_backward(DType dtype, int64_t planes, int64_t in_h, int64_t in_w,
                                  int64_t out_h, int64_t out_w, bool align_corners,
                                  double scale_h, double scale_w, const void* grad,
                                  void* grad_in) {
  const Geometry g{planes, in_h, in_w, out_h, out_w};
  if (dtype == DType::Float32)
    bilinear_bwd(g, align_corners, scale_h, scale_w, (const float*)grad, (float*)grad_in);
  else
    bilinear_bwd(g, align_corners, scale_h, scale_w, (const double*)grad, (double*)grad_in);
}

}  // namespace dlcore::cpu
