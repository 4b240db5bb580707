// conv.cpp — 2-D convolution (and conv1d, a 2-D convolution with H = 1) by im2col + GEMM,
// its two backward passes. Beside it: conv_depthwise.cpp (direct kernels for groups == C) and
// conv_transpose.cpp (the transposed convolution, the adjoint of this one); conv_internal.h is
// what the three share. Geometry: core/conv_params.h.
//
// im2col turns a convolution into one matrix product. For a slice of nb images the column
// matrix has one row per (c, i, j) tap of the kernel and one column per output pixel of
// every image in the slice, images side by side:
//
//   col[(c*kh + i)*kw + j,  n*OH*OW + oh*OW + ow] = x[n, c, oh*sh - ph + i*dh, ow*sw - pw + j*dw]
//
// (zero where the tap falls in the padding). With the weight seen as the matrix
// Wm (K x C*kh*kw), per group g (rows / columns of that group only):
//
//   forward         Y_g  = Wm_g @ col_g          (Kg x L), L = nb*OH*OW: the long dimension
//                                                 is the GEMM's N, bias + ReLU in its epilogue
//   input grad      dcol_g = Wm_g^T @ dY_g,  dx = col2im(dcol)   (scatter-add of the taps)
//   weight grad     dWm_g += dY_g @ col_g^T       (K of the GEMM = L, accumulated over slices)
//   bias grad       db[k] = sum_{n, oh, ow} dy[n, k, oh, ow]
//
// Y and dY are (K x L) matrices here, but NCHW stores image n's K x OH*OW block at n*K*OH*OW:
// with nb > 1 images the product lands in a scratch (K x L) and is scattered to NCHW (dY is
// gathered the other way), a copy of the output size, small beside im2col. Batching images
// matters for small feature maps (LeNet: 10x10 outputs make a per-image GEMM 16 x 100 x 150,
// all edges and no body); nb = 1 for large maps, where the GEMM writes y in place.
//
// Workspace bound: a slice's column buffer aims at ~2 MiB (it stays in cache between im2col
// and the GEMM's packing) with at least 512 columns, and all threads' buffers together hold
// at most kColBytes (32 MiB) — at least one image per slice — plus the (K x L) scratch when
// nb > 1. A large batch never materialises one giant column matrix.
//
// After the depthwise and pointwise cases below, 3x3 stride-1 float32 layers of >= 32
// channels in and out run Winograd's F(2x2, 3x3) (conv_winograd.cpp: 2.25x fewer
// multiplications, all three passes). The next choice for float32 on the AVX2 /
// AVX-512 paths is conv_direct.cpp, which computes a
// pass without any column matrix (vectors over the channels, input values broadcast straight
// from the image; see conv_direct.h). It declines float64, groups > 1, channel counts that
// fill under 70% of its vector lanes, and the passes it has no kernel for (input gradient
// at stride > 1, weight gradient with dilated columns or kernels wider than 7); those run
// here. On 2026-12-03 (AMD EPYC Zen4, one thread, interleaved with torch, noisy shared
// machine) it measured 1.2-2x faster than this path on LeNet's layers and the 3x3 layers of
// 64 and 128 channels, and 1.4x on the 7x7/2 stem's forward.
//
// Special cases: a 1x1, stride-1, unpadded convolution needs no im2col (the image IS its
// column matrix: C x H*W), and depthwise convolution (groups == C, one input channel per
// group) runs a direct kernel (conv_depthwise.cpp): there each output pixel needs only kh*kw
// products, and an im2col matrix of kh*kw rows would be kh*kw times the input for a GEMM with
// K = kh*kw.
//
// Threads: with at least as many images as threads, each thread takes a contiguous range of
// images and runs im2col, single-threaded GEMMs and col2im on them in one parallel region (no
// barrier per slice; on a shared 2-core machine the per-GEMM barriers cost more than the
// work). Otherwise the slices run in turn and im2col / col2im split their rows or planes
// across threads while the GEMM is itself parallel. The depthwise kernels split (image,
// channel) planes. Each forward / input-gradient element is written by one thread in a fixed
// order; the weight gradient is summed per thread range, then over threads in order, so it
// is reproducible for a given thread count.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "../core/cpu_allocator.h"
#include "conv_internal.h"
#include "kernels.h"
#include "parallel.h"

namespace dlcore::cpu {
namespace conv_detail {
namespace {

constexpr int64_t kColBytes = int64_t(32) << 20;   // bound on all column buffers together
// A slice aims for a column buffer that stays in cache (written by im2col, read back at once
// by the GEMM's packing: from L2/L3 instead of DRAM; 32x64x32x32 3x3 forward measured ~1.6x
// faster with one 2.4 MB image per slice than with 4 images), but at least kMinCols GEMM
// columns: below that the product is mostly edge tiles and per-call overhead.
constexpr int64_t kColCacheBytes = int64_t(2) << 20;
constexpr int64_t kMinCols = 512;

GemmParams gemm_of(const ConvParams& p) {
  GemmParams g;
  g.dtype = p.dtype;
  return g;
}

// ---- im2col / col2im ------------------------------------------------------------------------

// col (rows C*kh*kw, row stride ldc) <- nb images starting at x. Each row is filled by OH runs
// along ow: for stride 1 a run is a memcpy of the valid span between zeroed edges.
template <typename T>
__attribute__((optimize("no-tree-loop-distribute-patterns")))
void im2col(const ConvParams& p, const T* x, int64_t nb, T* col, int64_t ldc) {
  const int64_t HW = p.H * p.W, OHW = p.OH * p.OW, taps = p.kh * p.kw;
  const int64_t rows = p.C * taps;
  parallel_for(nb * rows, grain_for(OHW), [&](int64_t b, int64_t e) {
    for (int64_t it = b; it < e; ++it) {
      const int64_t n = it / rows, r = it % rows;
      const int64_t c = r / taps, i = (r % taps) / p.kw, j = r % p.kw;
      const T* xc = x + (n * p.C + c) * HW;
      T* dst = col + r * ldc + n * OHW;
      int64_t lo, hi;
      valid_range(p.W, p.OW, p.sw, p.pw, j * p.dw, lo, hi);
      const int64_t shift = j * p.dw - p.pw;
      // Explicit loops, not memcpy / fill: the runs are short (10 elements for LeNet's
      // second layer), where a library call per run costs more than the copy.
      for (int64_t oh = 0; oh < p.OH; ++oh, dst += p.OW) {
        const int64_t ih = oh * p.sh - p.ph + i * p.dh;
        if (ih < 0 || ih >= p.H) {
          for (int64_t ow = 0; ow < p.OW; ++ow) dst[ow] = T(0);
          continue;
        }
        const T* __restrict xr = xc + ih * p.W + shift;
        for (int64_t ow = 0; ow < lo; ++ow) dst[ow] = T(0);
        if (p.sw == 1) {
          for (int64_t ow = lo; ow < hi; ++ow) dst[ow] = xr[ow];
        } else {
          for (int64_t ow = lo; ow < hi; ++ow) dst[ow] = xr[ow * p.sw];
        }
        for (int64_t ow = hi; ow < p.OW; ++ow) dst[ow] = T(0);
      }
    }
  });
}

// dx (nb images) <- sum of the taps in col (the adjoint of im2col). One thread owns each
// (image, channel) plane, zeroes it, then adds the kh*kw shifted tap rows in a fixed order.
template <typename T>
void col2im(const ConvParams& p, const T* col, int64_t ldc, int64_t nb, T* dx) {
  const int64_t HW = p.H * p.W, OHW = p.OH * p.OW, taps = p.kh * p.kw;
  parallel_for(nb * p.C, grain_for(taps * OHW), [&](int64_t b, int64_t e) {
    for (int64_t it = b; it < e; ++it) {
      const int64_t n = it / p.C, c = it % p.C;
      T* xc = dx + it * HW;
      std::fill(xc, xc + HW, T(0));
      for (int64_t i = 0; i < p.kh; ++i) {
        for (int64_t j = 0; j < p.kw; ++j) {
          const T* src = col + ((c * p.kh + i) * p.kw + j) * ldc + n * OHW;
          int64_t lo, hi;
          valid_range(p.W, p.OW, p.sw, p.pw, j * p.dw, lo, hi);
          const int64_t shift = j * p.dw - p.pw;
          for (int64_t oh = 0; oh < p.OH; ++oh) {
            const int64_t ih = oh * p.sh - p.ph + i * p.dh;
            if (ih < 0 || ih >= p.H) continue;
            T* __restrict xr = xc + ih * p.W + shift;
            const T* __restrict sr = src + oh * p.OW;
            if (p.sw == 1) {
              for (int64_t ow = lo; ow < hi; ++ow) xr[ow] += sr[ow];
            } else {
              for (int64_t ow = lo; ow < hi; ++ow) xr[ow * p.sw] += sr[ow];
            }
          }
        }
      }
    }
  });
}

// The GEMM's pixel grid: OH rows of Wq columns per image (Wq = OW, or W in the wide layout
// below, whose last W - OW columns of each row are computed and discarded).
struct Grid {
  int64_t Wq, PQ;   // row width, pixels per image
  bool wide;
};

// For a stride-1 unpadded convolution, tap (i, j) of output pixel (oh, ow) reads the input
// plane at (oh + i*dh)*W + ow + j*dw. On a grid W wide instead of OW, a column-matrix row is
// then ONE contiguous run of the plane, plane[i*dh*W + j*dw + q] for q < OH*W, instead of OH
// runs of OW elements (10 for LeNet's second layer, where these short copies in im2col and
// col2im took most of the time). The price is W/OW times the GEMM columns, so only narrow
// outputs take it (W/OW <= 1.5).
Grid grid_of(const ConvParams& p) {
  const bool wide = p.sh == 1 && p.sw == 1 && p.ph == 0 && p.pw == 0 && p.OW < p.W &&
                    p.OW < 64 && 2 * p.W <= 3 * p.OW && p.OH <= p.H - p.dh * (p.kh - 1) &&
                    p.OW <= p.W - p.dw * (p.kw - 1);
  const int64_t Wq = wide ? p.W : p.OW;
  return {Wq, p.OH * Wq, wide};
}

// NCHW block of nb images <-> the (K x L) matrix the GEMM reads / writes (images side by side,
// each on the grid g; the discarded columns of a wide grid are zero in the matrix).
template <typename T>
void nchw_to_mat(const T* src, int64_t nb, int64_t K, int64_t OH, int64_t OW, const Grid& g,
                 T* mat) {
  const int64_t L = nb * g.PQ, OHW = OH * OW;
  parallel_for(nb * K, grain_for(g.PQ), [&](int64_t b, int64_t e) {
    for (int64_t it = b; it < e; ++it) {
      const int64_t n = it / K, k = it % K;
      T* d = mat + k * L + n * g.PQ;
      const T* s = src + it * OHW;
      if (!g.wide) { std::memcpy(d, s, OHW * sizeof(T)); continue; }
      for (int64_t oh = 0; oh < OH; ++oh, d += g.Wq, s += OW) {
        for (int64_t ow = 0; ow < OW; ++ow) d[ow] = s[ow];
        for (int64_t ow = OW; ow < g.Wq; ++ow) d[ow] = T(0);
      }
    }
  });
}

template <typename T>
void mat_to_nchw(const T* mat, int64_t nb, int64_t K, int64_t OH, int64_t OW, const Grid& g,
                 T* dst) {
  const int64_t L = nb * g.PQ, OHW = OH * OW;
  parallel_for(nb * K, grain_for(g.PQ), [&](int64_t b, int64_t e) {
    for (int64_t it = b; it < e; ++it) {
      const int64_t n = it / K, k = it % K;
      const T* s = mat + k * L + n * g.PQ;
      T* d = dst + it * OHW;
      if (!g.wide) { std::memcpy(d, s, OHW * sizeof(T)); continue; }
      for (int64_t oh = 0; oh < OH; ++oh, s += g.Wq, d += OW)
        for (int64_t ow = 0; ow < OW; ++ow) d[ow] = s[ow];
    }
  });
}

// im2col / col2im on the wide grid: one run per (image, tap row), clipped at the plane's end
// (the clipped tail lies in discarded columns: zero in col, skipped in col2im).
template <typename T>
void im2col_wide(const ConvParams& p, const Grid& g, const T* x, int64_t nb, T* col,
                 int64_t ldc) {
  const int64_t HW = p.H * p.W, taps = p.kh * p.kw, rows = p.C * taps;
  parallel_for(nb * rows, grain_for(g.PQ), [&](int64_t b, int64_t e) {
    for (int64_t it = b; it < e; ++it) {
      const int64_t n = it / rows, r = it % rows;
      const int64_t c = r / taps, i = (r % taps) / p.kw, j = r % p.kw;
      const int64_t start = i * p.dh * p.W + j * p.dw;
      const int64_t len = std::min(g.PQ, HW - start);
      T* dst = col + r * ldc + n * g.PQ;
      std::memcpy(dst, x + (n * p.C + c) * HW + start, len * sizeof(T));
      std::fill(dst + len, dst + g.PQ, T(0));
    }
  });
}

template <typename T>
void col2im_wide(const ConvParams& p, const Grid& g, const T* col, int64_t ldc, int64_t nb,
                 T* dx) {
  const int64_t HW = p.H * p.W;
  parallel_for(nb * p.C, grain_for(p.kh * p.kw * g.PQ), [&](int64_t b, int64_t e) {
    for (int64_t it = b; it < e; ++it) {
      const int64_t n = it / p.C, c = it % p.C;
      T* xc = dx + it * HW;
      std::fill(xc, xc + HW, T(0));
      for (int64_t i = 0; i < p.kh; ++i)
        for (int64_t j = 0; j < p.kw; ++j) {
          const int64_t start = i * p.dh * p.W + j * p.dw;
          const int64_t len = std::min(g.PQ, HW - start);
          const T* __restrict src = col + ((c * p.kh + i) * p.kw + j) * ldc + n * g.PQ;
          T* __restrict d = xc + start;
          for (int64_t q = 0; q < len; ++q) d[q] += src[q];
        }
    }
  });
}

// Images per slice for `threads` workers: kMinCols columns or a cache-sized column buffer,
// whichever is more images, but all workers' buffers together within kColBytes; >= 1 image.
int64_t slice_images(const ConvParams& p, int64_t images, int threads) {
  const int64_t OHW = std::max<int64_t>(grid_of(p).PQ, 1);
  const int64_t per_image =
      std::max<int64_t>(1, p.C * p.kh * p.kw * OHW * (int64_t)itemsize(p.dtype));
  int64_t nb = std::max((kMinCols + OHW - 1) / OHW, kColCacheBytes / per_image);
  nb = std::min(nb, kColBytes / threads / per_image);
  return std::max<int64_t>(1, std::min(nb, images));
}

bool is_pointwise(const ConvParams& p) {
  return p.kh == 1 && p.kw == 1 && p.sh == 1 && p.sw == 1 && p.ph == 0 && p.pw == 0 &&
         p.OH == p.H && p.OW == p.W;
}

bool is_depthwise(const ConvParams& p) { return p.groups > 1 && p.groups == p.C; }

// ---- bias gradient ---------------------------------------------------------------------------------

// db[c] = sum_{n, q} g[n, c, q] for g of shape (N, C, S); one thread per channel.
template <typename T>
void channel_sum(const T* g, int64_t N, int64_t C, int64_t S, T* db) {
  parallel_for(C, grain_for(N * S), [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      T acc = T(0);
      for (int64_t n = 0; n < N; ++n) {
        const T* __restrict r = g + (n * C + c) * S;
        T s = T(0);
#pragma omp simd reduction(+ : s)
        for (int64_t q = 0; q < S; ++q) s += r[q];
        acc += s;
      }
      db[c] = acc;
    }
  });
}

// ---- convolution forward ------------------------------------------------------------------------

template <typename T>
void forward_impl(const ConvParams& p, const T* x, const T* w, const T* bias, T* y,
                  Activation act) {
  if (p.N == 0 || p.K == 0 || p.OH * p.OW == 0) return;
  if (is_depthwise(p)) {   // conv_depthwise.cpp
    depthwise_forward(p, x, w, bias, y, act);
    return;
  }
  const int64_t G = p.groups, Cg = p.C / G, Kg = p.K / G;
  const int64_t HW = p.H * p.W, OHW = p.OH * p.OW, R = Cg * p.kh * p.kw;   // R: taps per group
  GemmParams g = gemm_of(p);
  g.M = Kg; g.K = R;
  g.a_row_stride = R; g.a_col_stride = 1;
  g.act = act;
  g.bias_per_row = true;
  if (is_pointwise(p)) {
    // The image is its own column matrix: y_n[g] = W_g @ x_n[g], one batched GEMM per group
    // over the images (small products run one per thread).
    g.batch = p.N; g.N = HW;
    g.b_row_stride = HW; g.b_batch_stride = p.C * HW;
    g.c_row_stride = HW; g.c_batch_stride = p.K * HW;
    for (int64_t gi = 0; gi < G; ++gi) {
      g.A = w + gi * Kg * R;
      g.B = x + gi * Cg * HW;
      g.C = y + gi * Kg * HW;
      g.bias = bias ? bias + gi * Kg : nullptr;
      gemm(g);
    }
    return;
  }
  if constexpr (std::is_same_v<T, float>) {   // conv_winograd.cpp, conv_direct.cpp
    if (winograd_forward(p, x, w, bias, y, act)) return;
    if (direct_forward(p, x, w, bias, y, act)) return;
  }
  const Grid grid = grid_of(p);
  const int64_t PQ = grid.PQ;                              // GEMM columns per image
  const int nt = image_threads(p);
  const int64_t nb = slice_images(p, (p.N + nt - 1) / nt, nt);
  const bool use_tmp = nb > 1 || grid.wide;                // else the GEMM writes y itself
  // Buffers are allocated here, outside the parallel region (an exception must not escape it).
  std::vector<std::unique_ptr<Scratch>> cols, tmps;
  for (int t = 0; t < nt; ++t) {
    cols.emplace_back(new Scratch(sizeof(T) * p.C * p.kh * p.kw * nb * PQ));
    tmps.emplace_back(new Scratch(use_tmp ? sizeof(T) * p.K * nb * PQ : 0));
  }
  over_images(nt, p.N, [&](int t, int64_t n_begin, int64_t n_end) {
    T* colp = cols[t]->template as<T>();
    GemmParams gt = g;
    for (int64_t n0 = n_begin; n0 < n_end; n0 += nb) {
      const int64_t cnt = std::min(nb, n_end - n0), L = cnt * PQ;
      if (grid.wide) im2col_wide(p, grid, x + n0 * p.C * HW, cnt, colp, L);
      else im2col(p, x + n0 * p.C * HW, cnt, colp, L);
      const bool direct = cnt == 1 && !grid.wide;
      T* out = direct ? y + n0 * p.K * OHW : tmps[t]->template as<T>();   // (K x L)
      gt.N = L;
      gt.b_row_stride = L;
      gt.c_row_stride = L;
      for (int64_t gi = 0; gi < G; ++gi) {
        gt.A = w + gi * Kg * R;
        gt.B = colp + gi * R * L;
        gt.C = out + gi * Kg * L;
        gt.bias = bias ? bias + gi * Kg : nullptr;
        gemm(gt);
      }
      if (!direct) mat_to_nchw(out, cnt, p.K, p.OH, p.OW, grid, y + n0 * p.K * OHW);
    }
  });
}

// ---- convolution backward -------------------------------------------------------------------------

template <typename T>
void backward_impl(const ConvParams& p, const T* x, const T* w, const T* dy, T* dx, T* dw,
                   T* db) {
  const int64_t G = p.groups, Cg = p.C / G, Kg = p.K / G;
  const int64_t HW = p.H * p.W, OHW = p.OH * p.OW, R = Cg * p.kh * p.kw;
  if (db) channel_sum(dy, p.N, p.K, OHW, db);
  if (p.N == 0 || OHW == 0) {    // nothing flows back: zero weight gradient, zero dx
    if (dw) std::fill(dw, dw + p.K * R, T(0));
    if (dx) std::fill(dx, dx + p.N * p.C * HW, T(0));
    return;
  }
  if (!dx && !dw) return;
  if (is_depthwise(p)) {
    depthwise_backward(p, x, w, dy, dx, dw);   // conv_depthwise.cpp
    return;
  }
  GemmParams g = gemm_of(p);
  if (is_pointwise(p)) {
    for (int64_t gi = 0; gi < G; ++gi) {
      if (dx) {    // dx_n[g] = W_g^T @ dy_n[g], batched over the images
        GemmParams a = g;
        a.batch = p.N; a.M = Cg; a.N = HW; a.K = Kg;
        a.A = w + gi * Kg * R; a.a_row_stride = 1; a.a_col_stride = R;
        a.B = dy + gi * Kg * HW; a.b_row_stride = HW; a.b_batch_stride = p.K * HW;
        a.C = dx + gi * Cg * HW; a.c_row_stride = HW; a.c_batch_stride = p.C * HW;
        gemm(a);
      }
      if (dw) {    // dW_g = sum_n dy_n[g] @ x_n[g]^T, accumulated image by image (beta = 1)
        GemmParams b = g;
        b.M = Kg; b.N = Cg; b.K = HW;
        b.a_row_stride = HW; b.a_col_stride = 1;
        b.b_row_stride = 1; b.b_col_stride = HW;
        b.C = dw + gi * Kg * R; b.c_row_stride = R;
        for (int64_t n = 0; n < p.N; ++n) {
          b.A = dy + (n * p.K + gi * Kg) * HW;
          b.B = x + (n * p.C + gi * Cg) * HW;
          b.beta = n ? 1.0 : 0.0;
          gemm(b);
        }
      }
    }
    return;
  }
  if constexpr (std::is_same_v<T, float>) {   // conv_winograd.cpp, conv_direct.cpp, by pass
    if (dx && winograd_backward_input(p, w, dy, dx)) dx = nullptr;
    if (dw && winograd_backward_weight(p, x, dy, dw)) dw = nullptr;
    if (dx && direct_backward_input(p, w, dy, dx)) dx = nullptr;
    if (dw && direct_backward_weight(p, x, dy, dw)) dw = nullptr;
    if (!dx && !dw) return;
  }
  // Image-parallel: thread t accumulates the weight gradient of its images in its own
  // buffer (thread 0 in dw itself); the buffers are added in thread order at the end.
  const Grid grid = grid_of(p);
  const int64_t PQ = grid.PQ;
  const int nt = image_threads(p);
  const int64_t nb = slice_images(p, (p.N + nt - 1) / nt, nt);
  const bool use_tmp = nb > 1 || grid.wide;
  std::vector<std::unique_ptr<Scratch>> cols, tmps, dws;
  for (int t = 0; t < nt; ++t) {
    cols.emplace_back(new Scratch(sizeof(T) * p.C * p.kh * p.kw * nb * PQ));
    tmps.emplace_back(new Scratch(use_tmp ? sizeof(T) * p.K * nb * PQ : 0));
    dws.emplace_back(new Scratch(dw && t > 0 ? sizeof(T) * p.K * R : 0));
  }
  over_images(nt, p.N, [&](int t, int64_t n_begin, int64_t n_end) {
    T* colp = cols[t]->template as<T>();
    T* dwt = t > 0 ? dws[t]->template as<T>() : dw;
    if (dw && n_begin == n_end) std::fill(dwt, dwt + p.K * R, T(0));
    for (int64_t n0 = n_begin; n0 < n_end; n0 += nb) {
      const int64_t cnt = std::min(nb, n_end - n0), L = cnt * PQ;
      const T* dym = dy + n0 * p.K * OHW;                  // (K x L), row stride L
      if (cnt > 1 || grid.wide) {
        nchw_to_mat(dym, cnt, p.K, p.OH, p.OW, grid, tmps[t]->template as<T>());
        dym = tmps[t]->template as<T>();
      }
      if (dw) {
        if (grid.wide) im2col_wide(p, grid, x + n0 * p.C * HW, cnt, colp, L);
        else im2col(p, x + n0 * p.C * HW, cnt, colp, L);
        GemmParams b = g;
        b.M = Kg; b.N = R; b.K = L;
        b.a_row_stride = L; b.a_col_stride = 1;
        b.b_row_stride = 1; b.b_col_stride = L;            // col^T, read in place
        b.c_row_stride = R;
        b.beta = n0 > n_begin ? 1.0 : 0.0;
        for (int64_t gi = 0; gi < G; ++gi) {
          b.A = dym + gi * Kg * L;
          b.B = colp + gi * R * L;
          b.C = dwt + gi * Kg * R;
          gemm(b);
        }
      }
      if (dx) {
        GemmParams a = g;
        a.M = R; a.N = L; a.K = Kg;
        a.a_row_stride = 1; a.a_col_stride = R;            // W_g^T, read in place
        a.b_row_stride = L; a.b_col_stride = 1;
        a.c_row_stride = L;
        for (int64_t gi = 0; gi < G; ++gi) {
          a.A = w + gi * Kg * R;
          a.B = dym + gi * Kg * L;
          a.C = colp + gi * R * L;
          gemm(a);
        }
        if (grid.wide) col2im_wide(p, grid, colp, L, cnt, dx + n0 * p.C * HW);
        else col2im(p, colp, L, cnt, dx + n0 * p.C * HW);
      }
    }
  });
  if (dw)
    for (int t = 1; t < nt; ++t) {
      const T* part = dws[t]->template as<T>();
      for (int64_t e = 0; e < p.K * R; ++e) dw[e] += part[e];
    }
}

}  // namespace

void channel_sum(DType dt, const void* g, int64_t N, int64_t C, int64_t S, void* db) {
  dispatch(dt, "conv bias gradient", [&](auto z) {
    using T = decltype(z);
    channel_sum((const T*)g, N, C, S, (T*)db);
  });
}

}  // namespace conv_detail

using namespace conv_detail;

void conv2d_forward(const ConvParams& p, const void* x, const void* w, const void* bias, void* y,
                    Activation act) {
  dispatch(p.dtype, "conv2d", [&](auto z) {
    using T = decltype(z);
    forward_impl<T>(p, (const T*)x, (const T*)w, (const T*)bias, (T*)y, act);
  });
}

void conv2d_backward(const ConvParams& p, const void* x, const void* w, const void* dy, void* dx,
                     void* dw, void* db) {
  dispatch(p.dtype, "conv2d_backward", [&](auto z) {
    using T = decltype(z);
    backward_impl<T>(p, (const T*)x, (const T*)w, (const T*)dy, (T*)dx, (T*)dw, (T*)db);
  });
}

}  // namespace dlcore::cpu
