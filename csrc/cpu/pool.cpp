// pool.cpp — max / average / adaptive pooling and max_unpool on the CPU, forward beside backward.
//
// Layout: NCHW, contiguous. Every (n, c) plane is independent, so the only parallelism needed
// is OpenMP over the N*C planes (parallel_for, several planes per chunk when planes are small);
// inside a plane one thread owns every input and output element, which is what lets the
// backward passes accumulate (+=) into the gradient plane without atomics even when windows
// overlap.
//
// Max pooling saves, per output, the int64 flat index (ih * in_w + iw) of its arg-max inside
// the input plane, as torch does. The scan is in window order with `v > max || isnan(v)`: the
// first maximum wins ties and a NaN propagates. The backward is then the same for every max
// pool (1-D, 2-D, adaptive): zero the gradient plane, scatter-add grad_out at the indices.
//
// The common non-overlapping 2x2 / stride-2 pool gets a branch-free path over pairs of rows:
// the four candidates of an output are compared with selects (no data-dependent branches), so
// the compiler vectorises the row loop; its backward writes each input gradient exactly once
// (the arg-max gets g, the other three 0) instead of memset + scatter. That makes both passes
// memory-bound. Any other geometry sweeps the output columns whose windows lie inside the
// input column-vectorised (one select / add loop per window element over a block of outputs)
// and only the few border columns with clipped scalar windows.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "kernels.h"
#include "parallel.h"

namespace dlcore::cpu {
namespace {

template <typename T> inline bool takes_max(T v, T m) { return v > m || v != v; }

// ---- max pooling ---------------------------------------------------------------------------

// Branch-free 2x2 / stride-2: candidates in window order a=(0,0) b=(0,1) c=(1,0) d=(1,1).
// The arg-max offset (0, 1, W or W+1) is chosen as an int32 beside the float compares — lanes
// of the same width, so the selects vectorise — and widened to int64 in a second loop over a
// short, L1-resident block (mixing float masks with int64 selects defeats the vectoriser).
constexpr int64_t kRowBlock = 256;

template <typename T>
void max_2x2_plane(const Pool2dParams& p, const T* x, T* y, int64_t* idx) {
  const int64_t W = p.in_w, OW = p.out_w;
  using K = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;   // same width as T
  const K kb = 1, kc = (K)W, kd = (K)(W + 1);
  alignas(64) K off[kRowBlock];
  for (int64_t oh = 0; oh < p.out_h; ++oh) {
    const T* r0 = x + 2 * oh * W;
    const T* r1 = r0 + W;
    T* yr = y + oh * OW;
    const int64_t base = 2 * oh * W;
    if (idx) {
      int64_t* ir = idx + oh * OW;
      for (int64_t o0 = 0; o0 < OW; o0 += kRowBlock) {
        const int64_t n = std::min(kRowBlock, OW - o0);
        const T* a0 = r0 + 2 * o0;
        const T* a1 = r1 + 2 * o0;
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) {
          const T a = a0[2 * j], b = a0[2 * j + 1], c = a1[2 * j], d = a1[2 * j + 1];
          T m = a;
          K k = 0;
          bool t = takes_max(b, m); m = t ? b : m; k = t ? kb : k;
          t = takes_max(c, m); m = t ? c : m; k = t ? kc : k;
          t = takes_max(d, m); m = t ? d : m; k = t ? kd : k;
          yr[o0 + j] = m;
          off[j] = k;
        }
        const int64_t b0 = base + 2 * o0;
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) ir[o0 + j] = b0 + 2 * j + (int64_t)off[j];
      }
    } else {
#pragma omp simd
      for (int64_t ow = 0; ow < OW; ++ow) {
        const T a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], d = r1[2 * ow + 1];
        T m = a;
        m = takes_max(b, m) ? b : m;
        m = takes_max(c, m) ? c : m;
        m = takes_max(d, m) ? d : m;
        yr[ow] = m;
      }
    }
  }
}

// Any kernel / stride / padding / dilation. Per output row, the window rows are clipped once
// (they are the same for every output of the row). The output columns whose window lies wholly
// inside the input ("interior", all but a few at the borders) are swept column-vectorised:
// for each window element (ih, j) in window order, one loop over a block of outputs updates
// the running max / arg-max with selects — strided loads, no branches, no bounds tests. The
// border columns clip their window and take the scalar loop. The running arg-max is kept in
// ints K as wide as T (int32 for float, so the selects vectorise) when the plane has fewer
// than 2^31 elements, else in int64.
template <typename T>
void max_border_output(const Pool2dParams& p, const T* x, int64_t h0, int64_t h1, int64_t ow,
                       T& m, int64_t& best) {
  const int64_t W = p.in_w;
  int64_t w0 = ow * p.s_w - p.p_w;
  const int64_t w1 = std::min(w0 + (p.k_w - 1) * p.d_w + 1, W);
  while (w0 < 0) w0 += p.d_w;
  m = -std::numeric_limits<T>::infinity();
  best = h0 * W + w0;
  for (int64_t ih = h0; ih < h1; ih += p.d_h)
    for (int64_t iw = w0; iw < w1; iw += p.d_w) {
      const T v = x[ih * W + iw];
      if (takes_max(v, m)) { m = v; best = ih * W + iw; }
    }
}

// The output columns [lo, hi) whose window lies wholly inside the input:
// ow * s_w - p_w >= 0 and ow * s_w - p_w + (k_w - 1) d_w < in_w.
inline void interior_columns(const Pool2dParams& p, int64_t& lo, int64_t& hi) {
  lo = std::min(p.out_w, (p.p_w + p.s_w - 1) / p.s_w);
  const int64_t last = p.in_w - 1 - (p.k_w - 1) * p.d_w + p.p_w;   // largest ow * s_w
  hi = std::max(lo, std::min(p.out_w, last >= 0 ? last / p.s_w + 1 : 0));
}

template <typename T, typename K>
void max_generic_plane(const Pool2dParams& p, const T* x, T* y, int64_t* idx) {
  const int64_t W = p.in_w, OW = p.out_w, sw = p.s_w;
  int64_t ow_lo, ow_hi;
  interior_columns(p, ow_lo, ow_hi);
  alignas(64) T mb[kRowBlock];
  alignas(64) K kb[kRowBlock];
  for (int64_t oh = 0; oh < p.out_h; ++oh) {
    int64_t h0 = oh * p.s_h - p.p_h;
    const int64_t h1 = std::min(h0 + (p.k_h - 1) * p.d_h + 1, p.in_h);
    while (h0 < 0) h0 += p.d_h;
    T* yr = y + oh * OW;
    int64_t* ir = idx ? idx + oh * OW : nullptr;
    auto border = [&](int64_t ow) {
      T m;
      int64_t best;
      max_border_output(p, x, h0, h1, ow, m, best);
      yr[ow] = m;
      if (ir) ir[ow] = best;
    };
    for (int64_t ow = 0; ow < ow_lo; ++ow) border(ow);
    for (int64_t ow = ow_hi; ow < OW; ++ow) border(ow);
    for (int64_t o0 = ow_lo; o0 < ow_hi; o0 += kRowBlock) {
      const int64_t n = std::min(kRowBlock, ow_hi - o0);
      const int64_t c0 = o0 * sw - p.p_w;                           // first window column
      for (int64_t j = 0; j < n; ++j) {   // -inf and the window's first element, as scalar
        mb[j] = -std::numeric_limits<T>::infinity();
        kb[j] = (K)(h0 * W + c0 + j * sw);
      }
      for (int64_t ih = h0; ih < h1; ih += p.d_h) {
        for (int64_t kw = 0; kw < p.k_w; ++kw) {
          const int64_t off = ih * W + c0 + kw * p.d_w;              // element (ih, kw) of output o0
          const T* src = x + off;
#pragma omp simd
          for (int64_t j = 0; j < n; ++j) {
            const T v = src[j * sw];
            const bool t = takes_max(v, mb[j]);
            mb[j] = t ? v : mb[j];
            kb[j] = t ? (K)(off + j * sw) : kb[j];
          }
        }
      }
      for (int64_t j = 0; j < n; ++j) yr[o0 + j] = mb[j];
      if (ir)
        for (int64_t j = 0; j < n; ++j) ir[o0 + j] = (int64_t)kb[j];
    }
  }
}

template <typename T>
void max_fwd(const Pool2dParams& p, const T* x, T* y, int64_t* idx) {
  const int64_t ip = p.in_plane(), op = p.out_plane();
  const bool fast = p.is_2x2_s2_interior() && p.in_w < (int64_t(1) << 30);
  using Narrow = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;
  const bool narrow = ip < (int64_t(1) << 31);
  parallel_for(p.planes, plane_grain(ip + op), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl) {
      int64_t* ix = idx ? idx + pl * op : nullptr;
      if (fast) max_2x2_plane(p, x + pl * ip, y + pl * op, ix);
      else if (narrow) max_generic_plane<T, Narrow>(p, x + pl * ip, y + pl * op, ix);
      else max_generic_plane<T, int64_t>(p, x + pl * ip, y + pl * op, ix);
    }
  });
}

// Backward of the 2x2 / stride-2 pool: every input gradient is written once; the rows and
// the column a floor-mode pool skips (odd in_h / in_w) get 0. The saved index is turned back
// into its offset in the window (int64 -> T-wide ints in one loop) so the four selects work on
// lanes as wide as the gradient.
template <typename T>
void max_2x2_bwd_plane(const Pool2dParams& p, const T* g, const int64_t* idx, T* gx) {
  const int64_t W = p.in_w, OW = p.out_w;
  using K = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;
  const K kc = (K)W, kd = (K)(W + 1);
  alignas(64) K off[kRowBlock];
  for (int64_t oh = 0; oh < p.out_h; ++oh) {
    T* r0 = gx + 2 * oh * W;
    T* r1 = r0 + W;
    const int64_t base = 2 * oh * W;
    for (int64_t o0 = 0; o0 < OW; o0 += kRowBlock) {
      const int64_t n = std::min(kRowBlock, OW - o0);
      const T* gr = g + oh * OW + o0;
      const int64_t* ir = idx + oh * OW + o0;
      const int64_t b0 = base + 2 * o0;
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) off[j] = (K)(ir[j] - (b0 + 2 * j));
      T* a0 = r0 + 2 * o0;
      T* a1 = r1 + 2 * o0;
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) {
        const K k = off[j];
        const T v = gr[j];
        a0[2 * j] = k == 0 ? v : T(0);
        a0[2 * j + 1] = k == 1 ? v : T(0);
        a1[2 * j] = k == kc ? v : T(0);
        a1[2 * j + 1] = k == kd ? v : T(0);
      }
    }
    for (int64_t iw = 2 * OW; iw < W; ++iw) r0[iw] = r1[iw] = T(0);
  }
  const int64_t done = 2 * p.out_h * W;
  std::memset(gx + done, 0, sizeof(T) * (p.in_plane() - done));
}

template <typename T>
void max_bwd(int64_t planes, int64_t ip, int64_t op, const T* g, const int64_t* idx, T* gx) {
  parallel_for(planes, plane_grain(ip + op), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl) {
      T* gp = gx + pl * ip;
      const T* gop = g + pl * op;
      const int64_t* ix = idx + pl * op;
      std::memset(gp, 0, sizeof(T) * ip);
      for (int64_t j = 0; j < op; ++j) {
        const int64_t i = ix[j];
        if ((uint64_t)i < (uint64_t)ip) gp[i] += gop[j];   // never write outside the plane
      }
    }
  });
}

// ---- average pooling -----------------------------------------------------------------------

// Any kernel / stride / padding, like max_generic_plane: border columns per output with their
// clipped window; interior columns (the same divisor along a row: their column extent is k_w
// whether padding is counted or not) column-vectorised, one add loop per window element over
// a block of outputs. The sums run in window order, as the scalar loop's.
template <typename T>
void avg_generic_plane(const Pool2dParams& p, bool include_pad, int64_t divisor_override,
                       const T* x, T* y) {
  const int64_t W = p.in_w, OW = p.out_w, sw = p.s_w;
  int64_t ow_lo, ow_hi;
  interior_columns(p, ow_lo, ow_hi);
  alignas(64) T acc[kRowBlock];
  for (int64_t oh = 0; oh < p.out_h; ++oh) {
    T* yr = y + oh * OW;
    auto border = [&](int64_t ow) {
      const PoolWindow w = avg_pool_window(p, oh, ow, include_pad, divisor_override);
      T s = 0;
      for (int64_t ih = w.h0; ih < w.h1; ++ih)
        for (int64_t iw = w.w0; iw < w.w1; ++iw) s += x[ih * W + iw];
      yr[ow] = (w.h0 < w.h1 && w.w0 < w.w1) ? (T)(s / (T)w.divisor) : T(0);
    };
    for (int64_t ow = 0; ow < ow_lo; ++ow) border(ow);
    for (int64_t ow = ow_hi; ow < OW; ++ow) border(ow);
    if (ow_lo >= ow_hi) continue;
    const PoolWindow w = avg_pool_window(p, oh, ow_lo, include_pad, divisor_override);
    const T div = (T)w.divisor;
    for (int64_t o0 = ow_lo; o0 < ow_hi; o0 += kRowBlock) {
      const int64_t n = std::min(kRowBlock, ow_hi - o0);
      const int64_t c0 = o0 * sw - p.p_w;
      for (int64_t j = 0; j < n; ++j) acc[j] = 0;
      for (int64_t ih = w.h0; ih < w.h1; ++ih)
        for (int64_t kw = 0; kw < p.k_w; ++kw) {
          const T* src = x + ih * W + c0 + kw;
#pragma omp simd
          for (int64_t j = 0; j < n; ++j) acc[j] += src[j * sw];
        }
      if (w.h0 < w.h1)
        for (int64_t j = 0; j < n; ++j) yr[o0 + j] = acc[j] / div;
      else
        for (int64_t j = 0; j < n; ++j) yr[o0 + j] = T(0);
    }
  }
}

// The transpose: each output spreads g / divisor over its window (zeroed plane, +=). For one
// window element (ih, kw) the interior outputs of a block touch distinct inputs (stride
// s_w >= 1), so that loop vectorises even when neighbouring windows overlap.
template <typename T>
void avg_generic_bwd_plane(const Pool2dParams& p, bool include_pad, int64_t divisor_override,
                           const T* g, T* gx) {
  const int64_t W = p.in_w, OW = p.out_w, sw = p.s_w;
  int64_t ow_lo, ow_hi;
  interior_columns(p, ow_lo, ow_hi);
  std::memset(gx, 0, sizeof(T) * p.in_plane());
  alignas(64) T v[kRowBlock];
  for (int64_t oh = 0; oh < p.out_h; ++oh) {
    const T* gr = g + oh * OW;
    auto border = [&](int64_t ow) {
      const PoolWindow w = avg_pool_window(p, oh, ow, include_pad, divisor_override);
      const T val = (T)(gr[ow] / (T)w.divisor);
      for (int64_t ih = w.h0; ih < w.h1; ++ih)
        for (int64_t iw = w.w0; iw < w.w1; ++iw) gx[ih * W + iw] += val;
    };
    for (int64_t ow = 0; ow < ow_lo; ++ow) border(ow);
    for (int64_t ow = ow_hi; ow < OW; ++ow) border(ow);
    if (ow_lo >= ow_hi) continue;
    const PoolWindow w = avg_pool_window(p, oh, ow_lo, include_pad, divisor_override);
    const T div = (T)w.divisor;
    for (int64_t o0 = ow_lo; o0 < ow_hi; o0 += kRowBlock) {
      const int64_t n = std::min(kRowBlock, ow_hi - o0);
      const int64_t c0 = o0 * sw - p.p_w;
      for (int64_t j = 0; j < n; ++j) v[j] = gr[o0 + j] / div;
      for (int64_t ih = w.h0; ih < w.h1; ++ih)
        for (int64_t kw = 0; kw < p.k_w; ++kw) {
          T* dst = gx + ih * W + c0 + kw;
#pragma omp simd
          for (int64_t j = 0; j < n; ++j) dst[j * sw] += v[j];
        }
    }
  }
}

template <typename T>
void avg_fwd(const Pool2dParams& p, bool include_pad, int64_t divisor_override, const T* x,
             T* y) {
  const int64_t ip = p.in_plane(), op = p.out_plane(), W = p.in_w, OW = p.out_w;
  const bool fast = p.is_2x2_s2_interior() && divisor_override <= 0;
  parallel_for(p.planes, plane_grain(ip + op), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl) {
      const T* xp = x + pl * ip;
      T* yp = y + pl * op;
      if (fast) {     // every window is whole: divisor 4 either way
        for (int64_t oh = 0; oh < p.out_h; ++oh) {
          const T* r0 = xp + 2 * oh * W;
          const T* r1 = r0 + W;
          T* yr = yp + oh * OW;
#pragma omp simd
          for (int64_t ow = 0; ow < OW; ++ow)
            yr[ow] = (r0[2 * ow] + r0[2 * ow + 1] + r1[2 * ow] + r1[2 * ow + 1]) * T(0.25);
        }
        continue;
      }
      avg_generic_plane(p, include_pad, divisor_override, xp, yp);
    }
  });
}

// dx = sum over the windows containing x of g / divisor (windows may overlap: += in-plane).
template <typename T>
void avg_bwd(const Pool2dParams& p, bool include_pad, int64_t divisor_override, const T* g,
             T* gx) {
  const int64_t ip = p.in_plane(), op = p.out_plane(), W = p.in_w, OW = p.out_w;
  const bool fast = p.is_2x2_s2_interior() && divisor_override <= 0;
  parallel_for(p.planes, plane_grain(ip + op), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl) {
      const T* gp = g + pl * op;
      T* xp = gx + pl * ip;
      if (fast) {
        for (int64_t oh = 0; oh < p.out_h; ++oh) {
          T* r0 = xp + 2 * oh * W;
          T* r1 = r0 + W;
          const T* gr = gp + oh * OW;
#pragma omp simd
          for (int64_t ow = 0; ow < OW; ++ow) {
            const T v = gr[ow] * T(0.25);
            r0[2 * ow] = v; r0[2 * ow + 1] = v; r1[2 * ow] = v; r1[2 * ow + 1] = v;
          }
          for (int64_t iw = 2 * OW; iw < W; ++iw) r0[iw] = r1[iw] = T(0);
        }
        const int64_t done = 2 * p.out_h * W;
        std::memset(xp + done, 0, sizeof(T) * (ip - done));
        continue;
      }
      avg_generic_bwd_plane(p, include_pad, divisor_override, gp, xp);
    }
  });
}

// ---- adaptive pooling ----------------------------------------------------------------------
// (windows: adaptive_start / adaptive_end in core/pool_params.h)

template <typename T>
void adaptive_avg_fwd(int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW, const T* x,
                      T* y) {
  const int64_t hw = H * W;
  if (OH == 1 && OW == 1) {
    // Global average pool: each plane is one contiguous run. Four planes are summed in one
    // loop — four independent vector accumulators — because the planes are short (7x7 = 49 in
    // a ResNet head) and a single accumulator chain would be latency-bound.
    parallel_for(planes, plane_grain(hw), [&](int64_t b, int64_t e) {
      int64_t pl = b;
      for (; pl + 4 <= e; pl += 4) {
        const T* x0 = x + pl * hw;
        const T *x1 = x0 + hw, *x2 = x1 + hw, *x3 = x2 + hw;
        T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
        for (int64_t i = 0; i < hw; ++i) { s0 += x0[i]; s1 += x1[i]; s2 += x2[i]; s3 += x3[i]; }
        y[pl] = s0 / (T)hw; y[pl + 1] = s1 / (T)hw; y[pl + 2] = s2 / (T)hw; y[pl + 3] = s3 / (T)hw;
      }
      for (; pl < e; ++pl) {
        const T* xp = x + pl * hw;
        T s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t i = 0; i < hw; ++i) s += xp[i];
        y[pl] = s / (T)hw;
      }
    });
    return;
  }
  parallel_for(planes, plane_grain(H * W + OH * OW), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl) {
      const T* xp = x + pl * H * W;
      T* yp = y + pl * OH * OW;
      for (int64_t oh = 0; oh < OH; ++oh) {
        const int64_t h0 = adaptive_start(oh, H, OH), h1 = adaptive_end(oh, H, OH);
        for (int64_t ow = 0; ow < OW; ++ow) {
          const int64_t w0 = adaptive_start(ow, W, OW), w1 = adaptive_end(ow, W, OW);
          T s = 0;
          // A row segment is contiguous: a vectorised reduction per row.
          for (int64_t ih = h0; ih < h1; ++ih) {
            const T* row = xp + ih * W;
            T rs = 0;
#pragma omp simd reduction(+ : rs)
            for (int64_t iw = w0; iw < w1; ++iw) rs += row[iw];
            s += rs;
          }
          yp[oh * OW + ow] = s / (T)((h1 - h0) * (w1 - w0));
        }
      }
    }
  });
}

template <typename T>
void adaptive_avg_bwd(int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW, const T* g,
                      T* gx) {
  parallel_for(planes, plane_grain(H * W + OH * OW), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl) {
      T* xp = gx + pl * H * W;
      const T* gp = g + pl * OH * OW;
      if (OH == 1 && OW == 1) {          // global pool: one value fills the plane
        const T v = gp[0] / (T)(H * W);
        for (int64_t i = 0; i < H * W; ++i) xp[i] = v;
        continue;
      }
      std::memset(xp, 0, sizeof(T) * H * W);
      for (int64_t oh = 0; oh < OH; ++oh) {
        const int64_t h0 = adaptive_start(oh, H, OH), h1 = adaptive_end(oh, H, OH);
        for (int64_t ow = 0; ow < OW; ++ow) {
          const int64_t w0 = adaptive_start(ow, W, OW), w1 = adaptive_end(ow, W, OW);
          const T v = gp[oh * OW + ow] / (T)((h1 - h0) * (w1 - w0));
          for (int64_t ih = h0; ih < h1; ++ih)
            for (int64_t iw = w0; iw < w1; ++iw) xp[ih * W + iw] += v;
        }
      }
    }
  });
}

template <typename T>
void adaptive_max_fwd(int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW, const T* x,
                      T* y, int64_t* idx) {
  parallel_for(planes, plane_grain(H * W + OH * OW), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl) {
      const T* xp = x + pl * H * W;
      T* yp = y + pl * OH * OW;
      int64_t* ip = idx + pl * OH * OW;
      for (int64_t oh = 0; oh < OH; ++oh) {
        const int64_t h0 = adaptive_start(oh, H, OH), h1 = adaptive_end(oh, H, OH);
        for (int64_t ow = 0; ow < OW; ++ow) {
          const int64_t w0 = adaptive_start(ow, W, OW), w1 = adaptive_end(ow, W, OW);
          T m = -std::numeric_limits<T>::infinity();
          int64_t best = h0 * W + w0;
          for (int64_t ih = h0; ih < h1; ++ih)
            for (int64_t iw = w0; iw < w1; ++iw) {
              const T v = xp[ih * W + iw];
              if (takes_max(v, m)) { m = v; best = ih * W + iw; }
            }
          yp[oh * OW + ow] = m;
          ip[oh * OW + ow] = best;
        }
      }
    }
  });
}

// ---- max_unpool: scatter forward, gather backward --------------------------------------------

template <typename T>
int64_t unpool_fwd(int64_t planes, int64_t ip, int64_t op, const T* x, const int64_t* idx, T* y) {
  int64_t bad = -1;
  // Serial check first: one bad index aborts before anything is written (a clear error, no
  // out-of-bounds store), and the check is a cheap sequential read of the indices.
  for (int64_t j = 0; j < planes * ip; ++j)
    if ((uint64_t)idx[j] >= (uint64_t)op) { bad = j; break; }
  if (bad >= 0) return bad;
  parallel_for(planes, plane_grain(ip + op), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl) {
      T* yp = y + pl * op;
      const T* xp = x + pl * ip;
      const int64_t* ix = idx + pl * ip;
      std::memset(yp, 0, sizeof(T) * op);
      for (int64_t j = 0; j < ip; ++j) yp[ix[j]] = xp[j];
    }
  });
  return -1;
}

// d out[idx[j]] / d x[j] = 1: the input gradient gathers grad_out at the indices.
template <typename T>
void unpool_bwd(int64_t planes, int64_t ip, int64_t op, const T* g, const int64_t* idx, T* gx) {
  parallel_for(planes, plane_grain(ip), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl) {
      const T* gp = g + pl * op;
      const int64_t* ix = idx + pl * ip;
      T* xp = gx + pl * ip;
      for (int64_t j = 0; j < ip; ++j) {
        const int64_t i = ix[j];
        xp[j] = (uint64_t)i < (uint64_t)op ? gp[i] : T(0);
      }
    }
  });
}

}  // namespace

// ---- entry points (float32 / float64 dispatch) ----------------------------------------------

// Runs the statement with T bound to float or double (the bindings admit nothing else).
#define DLCORE_POOL_T(dtype, ...)                                        \
  do {                                                                   \
    if ((dtype) == DType::Float32) { using T = float; __VA_ARGS__; }     \
    else { using T = double; __VA_ARGS__; }                              \
  } while (0)

void max_pool2d_forward(DType dtype, const Pool2dParams& p, const void* x, void* y, int64_t* idx) {
  DLCORE_POOL_T(dtype, max_fwd(p, (const T*)x, (T*)y, idx));
}

void max_pool2d_backward(DType dtype, const Pool2dParams& p, const void* grad, const int64_t* idx,
                         void* grad_in) {
  if (p.is_2x2_s2_interior() && p.in_w < (int64_t(1) << 30)) {
    DLCORE_POOL_T(dtype, parallel_for(p.planes, plane_grain(p.in_plane()), [&](int64_t b, int64_t e) {
      for (int64_t pl = b; pl < e; ++pl)
        max_2x2_bwd_plane(p, (const T*)grad + pl * p.out_plane(), idx + pl * p.out_plane(),
                          (T*)grad_in + pl * p.in_plane());
    }));
    return;
  }
  max_pool_backward(dtype, p.planes, p.in_plane(), p.out_plane(), grad, idx, grad_in);
}

void max_pool_backward(DType dtype, int64_t planes, int64_t in_plane, int64_t out_plane,
                       const void* grad, const int64_t* idx, void* grad_in) {
  DLCORE_POOL_T(dtype, max_bwd(planes, in_plane, out_plane, (const T*)grad, idx, (T*)grad_in));
}

void avg_pool2d_forward(DType dtype, const Pool2dParams& p, bool count_include_pad,
                        int64_t divisor_override, const void* x, void* y) {
  DLCORE_POOL_T(dtype, avg_fwd(p, count_include_pad, divisor_override, (const T*)x, (T*)y));
}

void avg_pool2d_backward(DType dtype, const Pool2dParams& p, bool count_include_pad,
                         int64_t divisor_override, const void* grad, void* grad_in) {
  DLCORE_POOL_T(dtype, avg_bwd(p, count_include_pad, divisor_override, (const T*)grad,
                               (T*)grad_in));
}

void adaptive_avg_pool2d_forward(DType dtype, int64_t planes, int64_t in_h, int64_t in_w,
                                 int64_t out_h, int64_t out_w, const void* x, void* y) {
  DLCORE_POOL_T(dtype, adaptive_avg_fwd(planes, in_h, in_w, out_h, out_w, (const T*)x, (T*)y));
}

void adaptive_avg_pool2d_backward(DType dtype, int64_t planes, int64_t in_h, int64_t in_w,
                                  int64_t out_h, int64_t out_w, const void* grad, void* grad_in) {
  DLCORE_POOL_T(dtype, adaptive_avg_bwd(planes, in_h, in_w, out_h, out_w, (const T*)grad,
                                        (T*)grad_in));
}

void adaptive_max_pool2d_forward(DType dtype, int64_t planes, int64_t in_h, int64_t in_w,
                                 int64_t out_h, int64_t out_w, const void* x, void* y,
                                 int64_t* idx) {
  DLCORE_POOL_T(dtype, adaptive_max_fwd(planes, in_h, in_w, out_h, out_w, (const T*)x, (T*)y,
                                        idx));
}

int64_t max_unpool_forward(DType dtype, int64_t planes, int64_t in_plane, int64_t out_plane,
                           const void* x, const int64_t* idx, void* y) {
  int64_t bad = -1;
  DLCORE_POOL_T(dtype, bad = unpool_fwd(planes, in_plane, out_plane, (const T*)x, idx, (T*)y));
  return bad;
}

void max_unpool_backward(DType dtype, int64_t planes, int64_t in_plane, int64_t out_plane,
                         const void* grad, const int64_t* idx, void* grad_in) {
  DLCORE_POOL_T(dtype, unpool_bwd(planes, in_plane, out_plane, (const T*)grad, idx,
                                  (T*)grad_in));
}

#undef DLCORE_POOL_T

}  // namespace dlcore::cpu
