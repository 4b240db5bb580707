// layernorm.cpp — layer normalisation over the last `cols` elements of each row (CPU).
// Group and instance norm reuse it: they are layer norm of (N*G) rows without the affine,
// followed by a per-channel affine (python/dlcore/nn/normalization_layer.py).
//
// Forward, one row at a time (a 1024-float row is 4 KiB and stays in L1 between the passes,
// so the three passes cost one trip through memory):
//   mean = sum(x) / D;   var = sum((x - mean)^2) / D  (two passes: no cancellation);
//   rstd = 1 / sqrt(var + eps);   y = (x - mean) rstd gamma + beta.
// mean and rstd are saved so the backward never recomputes statistics.
//
// Backward, per row, from xhat = (x - mean) rstd and g = dy gamma:
//   dx = rstd (g - mean(g) - xhat mean(g xhat))
// and the parameter gradients are column sums over rows: dgamma = sum dy xhat, dbeta = sum dy.
// Rows are cut into a fixed number of blocks (independent of the thread count); each block
// sums its rows into its own partial row while the data is already in cache for dx, and
// the partial rows are added in block order at the end, so results are the same on any
// number of threads.
//
// Sums run on kLanes independent accumulators: the compiler turns them into vector lanes
// (a single scalar accumulator is a chain of dependent adds it may not reorder).
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels.h"
#include "parallel.h"

namespace dlcore::cpu {
namespace {

constexpr int kLanes = 16;
constexpr int64_t kBlocks = 64;   // row blocks of the parameter-gradient sums

template <typename T>
inline double lane_sum(const T* x, int64_t n) {
  T acc[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += x[j + l];
  double s = 0;
  for (int l = 0; l < kLanes; ++l) s += acc[l];
  for (; j < n; ++j) s += x[j];
  return s;
}

template <typename T>
inline double lane_sq_dev(const T* x, int64_t n, T mean) {
  T acc[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int l = 0; l < kLanes; ++l) { const T d = x[j + l] - mean; acc[l] += d * d; }
  double s = 0;
  for (int l = 0; l < kLanes; ++l) s += acc[l];
  for (; j < n; ++j) { const double d = (double)x[j] - mean; s += d * d; }
  return s;
}

template <typename T>
void forward_rows(const T* x, const T* gamma, const T* beta, T* y, T* mean_out, T* rstd_out,
                  int64_t rows, int64_t cols, double eps) {
  parallel_for(rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(cols, 1)),
               [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* __restrict xr = x + r * cols;
      T* __restrict yr = y + r * cols;
      const double mean = lane_sum(xr, cols) / (double)cols;
      const double var = lane_sq_dev(xr, cols, (T)mean) / (double)cols;
      const double rstd = 1.0 / std::sqrt(var + eps);
      mean_out[r] = (T)mean;
      rstd_out[r] = (T)rstd;
      const T m = (T)mean, s = (T)rstd;
      if (gamma && beta) {
        for (int64_t j = 0; j < cols; ++j) yr[j] = (xr[j] - m) * s * gamma[j] + beta[j];
      } else if (gamma) {
        for (int64_t j = 0; j < cols; ++j) yr[j] = (xr[j] - m) * s * gamma[j];
      } else {
        for (int64_t j = 0; j < cols; ++j) yr[j] = (xr[j] - m) * s + (beta ? beta[j] : T(0));
      }
    }
  });
}

// One row of the backward: a single fused pass computes xhat, the parameter partial sums and
// both row sums (on lanes), a second pass writes dx. The row (dy, x: 8 KiB at 1024 floats) is
// in L1 for the second pass, so the backward streams dy and x once and writes dx once.
template <typename T, bool HasGamma, bool Params, bool WantDx>
inline void backward_row(const T* __restrict dyr, const T* __restrict xr, T m, T s,
                         const T* __restrict gamma, T* __restrict pg, T* __restrict pb,
                         T* __restrict dxr, int64_t cols) {
  T a1[kLanes] = {}, a2[kLanes] = {};
  const int64_t full = cols / kLanes * kLanes;
  for (int64_t j = 0; j < full; j += kLanes) {
    for (int l = 0; l < kLanes; ++l) {
      const T d = dyr[j + l], xh = (xr[j + l] - m) * s;
      if (Params) { pg[j + l] += d * xh; pb[j + l] += d; }
      const T g = HasGamma ? d * gamma[j + l] : d;
      a1[l] += g;
      a2[l] += g * xh;
    }
  }
  double s1 = 0, s2 = 0;
  for (int l = 0; l < kLanes; ++l) { s1 += a1[l]; s2 += a2[l]; }
  for (int64_t j = full; j < cols; ++j) {
    const T d = dyr[j], xh = (xr[j] - m) * s;
    if (Params) { pg[j] += d * xh; pb[j] += d; }
    const T g = HasGamma ? d * gamma[j] : d;
    s1 += g;
    s2 += (double)g * xh;
  }
  if (!WantDx) return;
  const T c1 = (T)(s1 / cols), c2 = (T)(s2 / cols);
  for (int64_t j = 0; j < cols; ++j) {
    const T g = HasGamma ? dyr[j] * gamma[j] : dyr[j];
    dxr[j] = s * (g - c1 - (xr[j] - m) * s * c2);
  }
}

template <typename T, bool HasGamma, bool Params, bool WantDx>
void backward_blocks(const T* dy, const T* x, const T* mean, const T* rstd, const T* gamma, T* dx,
                     T* partial, int64_t rows, int64_t cols, int64_t blocks) {
  parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      T* pg = Params ? partial + b * 2 * cols : nullptr;
      T* pb = Params ? pg + cols : nullptr;
      const int64_t ra = rows * b / blocks, rb = rows * (b + 1) / blocks;
      for (int64_t r = ra; r < rb; ++r)
        backward_row<T, HasGamma, Params, WantDx>(dy + r * cols, x + r * cols, mean[r], rstd[r],
                                                  gamma, pg, pb, WantDx ? dx + r * cols : nullptr,
                                                  cols);
    }
  });
}

template <typename T>
void backward_rows(const T* dy, const T* x, const T* mean, const T* rstd, const T* gamma, T* dx,
                   T* dgamma, T* dbeta, int64_t rows, int64_t cols) {
  const bool params = dgamma || dbeta;
  const int64_t blocks = std::min<int64_t>(rows, kBlocks);
  // Partial column sums of each block: [blocks][2][cols] (dgamma part, dbeta part).
  std::vector<T> partial(params ? blocks * 2 * cols : 0, T(0));
  T* p = partial.data();
#define DLCORE_LN_BWD(G, P, D) backward_blocks<T, G, P, D>(dy, x, mean, rstd, gamma, dx, p, rows, cols, blocks)
  const bool g = gamma != nullptr, d = dx != nullptr;
  if (g && params && d) DLCORE_LN_BWD(true, true, true);
  else if (g && params) DLCORE_LN_BWD(true, true, false);
  else if (g && d) DLCORE_LN_BWD(true, false, true);
  else if (!g && params && d) DLCORE_LN_BWD(false, true, true);
  else if (!g && params) DLCORE_LN_BWD(false, true, false);
  else if (!g && d) DLCORE_LN_BWD(false, false, true);
#undef DLCORE_LN_BWD
  if (!params) return;
  // Column sums of the block partials, in block order, in double.
  parallel_for(cols, 4096, [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
      double sg = 0, sb = 0;
      for (int64_t b = 0; b < blocks; ++b) {
        sg += partial[b * 2 * cols + j];
        sb += partial[b * 2 * cols + cols + j];
      }
      if (dgamma) dgamma[j] = (T)sg;
      if (dbeta) dbeta[j] = (T)sb;
    }
  });
}

}  // namespace

void layer_norm_forward(DType dtype, const void* x, const void* gamma, const void* beta, void* y,
                        void* mean, void* rstd, int64_t rows, int64_t cols, double eps) {
  if (rows == 0) return;
  switch (dtype) {
    case DType::Float32:
      forward_rows((const float*)x, (const float*)gamma, (const float*)beta, (float*)y,
                   (float*)mean, (float*)rstd, rows, cols, eps);
      return;
    case DType::Float64:
      forward_rows((const double*)x, (const double*)gamma, (const double*)beta, (double*)y,
                   (double*)mean, (double*)rstd, rows, cols, eps);
      return;
    default: break;
  }
  throw std::invalid_argument(std::string("layer_norm: unsupported dtype ") + dtype_name(dtype));
}

void layer_norm_backward(DType dtype, const void* dy, const void* x, const void* mean,
                         const void* rstd, const void* gamma, void* dx, void* dgamma, void* dbeta,
                         int64_t rows, int64_t cols) {
  if (rows == 0) {   // no rows: the parameter gradients are sums of nothing
    if (dgamma) fill(dtype, dgamma, cols, 0.0);
    if (dbeta) fill(dtype, dbeta, cols, 0.0);
    return;
  }
  switch (dtype) {
    case DType::Float32:
      backward_rows((const float*)dy, (const float*)x, (const float*)mean, (const float*)rstd,
                    (const float*)gamma, (float*)dx, (float*)dgamma, (float*)dbeta, rows, cols);
      return;
    case DType::Float64:
      backward_rows((const double*)dy, (const double*)x, (const double*)mean, (const double*)rstd,
                    (const double*)gamma, (double*)dx, (double*)dgamma, (double*)dbeta, rows,
                    cols);
      return;
    default: break;
  }
  throw std::invalid_argument(std::string("layer_norm_backward: unsupported dtype ") +
                              dtype_name(dtype));
}

}  // namespace dlcore::cpu
