// conv.cu — 2-D convolution by im2col + GEMM on the GPU, its backward passes, a direct
// depthwise kernel and the transposed convolution as the adjoint. Mirror of csrc/cpu/conv.cpp
// (same entry points, same column layout, same slicing of the batch; read that file first).
//
//   col[(c*kh + i)*kw + j, n*OH*OW + oh*OW + ow] = x[n, c, oh*sh - ph + i*dh, ow*sw - pw + j*dw]
//
//   forward      Y_g = Wm_g @ col_g  (cuda::gemm, bias + ReLU in its epilogue)
//   input grad   dcol_g = Wm_g^T @ dY_g, then col2im
//   weight grad  dWm_g += dY_g @ col_g^T  (beta = 1 across slices)
//   bias grad    one block per channel reduces over (n, oh, ow)
//
// Kernels are grid-stride loops over the elements they write, launched on `stream` and
// checked after every launch. im2col threads take consecutive column indices, so the writes
// are coalesced and the reads walk along the input rows; its and col2im's index arithmetic is
// 32-bit whenever the sizes allow. col2im is written as a gather (each
// thread owns one dx element and sums the taps that read it) — no atomics, so the result is
// deterministic. The column buffer of a slice stays <= 32 MiB (at least one image) and comes
// from the caching allocator.
#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "../core/cuda_runtime.h"
#include "common.cuh"
#include "kernels.h"

namespace dlcore::cuda {
namespace {

constexpr int64_t kColBytes = int64_t(32) << 20;   // bound on the column buffer
constexpr int kThreads = 256;

// ---- im2col / col2im ------------------------------------------------------------------------

// Index arithmetic in I: int32_t whenever every index of the launch fits (the host checks),
// else int64_t. A 64-bit division is a ~70-instruction software routine on the GPU, a 32-bit
// one ~20, and these kernels do little else: with int64 and one flat index split into six
// coordinates per element, im2col wrote its column at ~1.2 TB/s on an H200 (a third of the
// memory's rate) and took 30% of a 3x3 convolution's forward + backward (2026-12-04).
// im2col: blockIdx.y walks the column's rows (c, i, j), so the tap arithmetic is per row;
// threads take consecutive column indices q = (n, oh, ow) of that row: coalesced writes.
template <typename T, typename I>
__global__ void im2col_kernel(ConvParams p, const T* __restrict__ x, I nb, T* __restrict__ col) {
  const I OW = (I)p.OW, OHW = (I)(p.OH * p.OW), L = nb * OHW, H = (I)p.H, W = (I)p.W;
  const I kw = (I)p.kw, taps = (I)(p.kh * p.kw), rows = (I)p.C * taps, CHW = (I)p.C * H * W;
  for (I r = blockIdx.y; r < rows; r += gridDim.y) {
    const I c = r / taps, t = r - c * taps, i = t / kw, j = t - i * kw;
    const I ih0 = i * (I)p.dh - (I)p.ph, iw0 = j * (I)p.dw - (I)p.pw;
    const T* xc = x + c * H * W;
    T* colr = col + r * L;
    for (I q = blockIdx.x * blockDim.x + threadIdx.x; q < L; q += gridDim.x * blockDim.x) {
      const I n = q / OHW, pix = q - n * OHW, oh = pix / OW, ow = pix - oh * OW;
      const I ih = oh * (I)p.sh + ih0, iw = ow * (I)p.sw + iw0;
      T v = T(0);
      if (ih >= 0 && ih < H && iw >= 0 && iw < W) v = xc[n * CHW + ih * W + iw];
      colr[q] = v;
    }
  }
}

// dx[n, c, ih, iw] = sum of the column entries of every tap (i, j) and output pixel (oh, ow)
// that read it: oh*sh = ih + ph - i*dh must be a multiple of sh inside [0, OH). blockIdx.y
// walks the (n, c) planes, threads the pixels of a plane.
template <typename T, typename I>
__global__ void col2im_kernel(ConvParams p, const T* __restrict__ col, I nb, T* __restrict__ dx) {
  const I OW = (I)p.OW, OH = (I)p.OH, OHW = OH * OW, L = nb * OHW, H = (I)p.H, W = (I)p.W, HW = H * W;
  const I C = (I)p.C, kh = (I)p.kh, kw = (I)p.kw, sh = (I)p.sh, sw = (I)p.sw;
  for (I plane = blockIdx.y; plane < nb * C; plane += gridDim.y) {
    const I n = plane / C, c = plane - n * C;
    const T* colc = col + c * kh * kw * L + n * OHW;
    T* dxp = dx + plane * HW;
    for (I pix = blockIdx.x * blockDim.x + threadIdx.x; pix < HW; pix += gridDim.x * blockDim.x) {
      const I ih = pix / W, iw = pix - ih * W;
      T acc = T(0);
      for (I i = 0; i < kh; ++i) {
        const I th = ih + (I)p.ph - i * (I)p.dh;
        if (th < 0) continue;
        const I oh = th / sh;
        if (oh * sh != th || oh >= OH) continue;
        for (I j = 0; j < kw; ++j) {
          const I tw = iw + (I)p.pw - j * (I)p.dw;
          if (tw < 0) continue;
          const I ow = tw / sw;
          if (ow * sw != tw || ow >= OW) continue;
          acc += colc[(i * kw + j) * L + oh * OW + ow];
        }
      }
      dxp[pix] = acc;
    }
  }
}

// NCHW block of nb images <-> (K x L) matrix, images side by side. to_mat: mat <- nchw.
template <typename T>
__global__ void nchw_mat_kernel(const T* __restrict__ src, T* __restrict__ dst, int64_t nb,
                                int64_t K, int64_t OHW, bool to_mat) {
  const int64_t L = nb * OHW, total = K * L;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
       e += (int64_t)gridDim.x * blockDim.x) {
    // e indexes NCHW order: (n, k, pix)
    const int64_t pix = e % OHW, k = (e / OHW) % K, n = e / (OHW * K);
    const int64_t m = k * L + n * OHW + pix;
    if (to_mat) dst[m] = src[e];
    else dst[e] = src[m];
  }
}

// ---- depthwise (groups == C) ------------------------------------------------------------------

template <typename T>
__global__ void depthwise_forward_kernel(ConvParams p, const T* __restrict__ x, const T* __restrict__ w,
                                         const T* __restrict__ bias, T* __restrict__ y, bool relu) {
  const int64_t OHW = p.OH * p.OW, m = p.K / p.C, taps = p.kh * p.kw;
  const int64_t total = p.N * p.K * OHW;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
       e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t ow = e % p.OW, oh = (e / p.OW) % p.OH, k = (e / OHW) % p.K, n = e / (OHW * p.K);
    const T* xc = x + (n * p.C + k / m) * p.H * p.W;
    const T* wk = w + k * taps;
    T acc = bias ? bias[k] : T(0);
    for (int64_t i = 0; i < p.kh; ++i) {
      const int64_t ih = oh * p.sh - p.ph + i * p.dh;
      if (ih < 0 || ih >= p.H) continue;
      for (int64_t j = 0; j < p.kw; ++j) {
        const int64_t iw = ow * p.sw - p.pw + j * p.dw;
        if (iw >= 0 && iw < p.W) acc += wk[i * p.kw + j] * xc[ih * p.W + iw];
      }
    }
    y[e] = relu && !(acc > T(0)) ? T(0) : acc;
  }
}

template <typename T>
__global__ void depthwise_backward_input_kernel(ConvParams p, const T* __restrict__ w,
                                                const T* __restrict__ dy, T* __restrict__ dx) {
  const int64_t OHW = p.OH * p.OW, m = p.K / p.C, taps = p.kh * p.kw;
  const int64_t total = p.N * p.C * p.H * p.W;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
       e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t iw = e % p.W, ih = (e / p.W) % p.H, c = (e / (p.W * p.H)) % p.C;
    const int64_t n = e / (p.W * p.H * p.C);
    T acc = T(0);
    for (int64_t q = 0; q < m; ++q) {
      const int64_t k = c * m + q;
      const T* dyk = dy + (n * p.K + k) * OHW;
      const T* wk = w + k * taps;
      for (int64_t i = 0; i < p.kh; ++i) {
        const int64_t th = ih + p.ph - i * p.dh;
        if (th < 0 || th % p.sh) continue;
        const int64_t oh = th / p.sh;
        if (oh >= p.OH) continue;
        for (int64_t j = 0; j < p.kw; ++j) {
          const int64_t tw = iw + p.pw - j * p.dw;
          if (tw < 0 || tw % p.sw) continue;
          const int64_t ow = tw / p.sw;
          if (ow < p.OW) acc += wk[i * p.kw + j] * dyk[oh * p.OW + ow];
        }
      }
    }
    dx[e] = acc;
  }
}

// Block-wide sum of one value per thread (kThreads threads); the result in thread 0.
template <typename T>
__device__ T block_sum(T v) {
  __shared__ T part[kThreads];
  part[threadIdx.x] = v;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) part[threadIdx.x] += part[threadIdx.x + s];
    __syncthreads();
  }
  return part[0];
}

// One block per (k, tap): dw[k, i, j] = sum over (n, oh, ow) of dy * the input it multiplied.
template <typename T>
__global__ void depthwise_backward_weight_kernel(ConvParams p, const T* __restrict__ x,
                                                 const T* __restrict__ dy, T* __restrict__ dw) {
  const int64_t OHW = p.OH * p.OW, m = p.K / p.C, taps = p.kh * p.kw;
  const int64_t k = blockIdx.x / taps, t = blockIdx.x % taps, i = t / p.kw, j = t % p.kw;
  const int64_t total = p.N * OHW;
  T acc = T(0);
  for (int64_t e = threadIdx.x; e < total; e += blockDim.x) {
    const int64_t n = e / OHW, pix = e % OHW, oh = pix / p.OW, ow = pix % p.OW;
    const int64_t ih = oh * p.sh - p.ph + i * p.dh, iw = ow * p.sw - p.pw + j * p.dw;
    if (ih >= 0 && ih < p.H && iw >= 0 && iw < p.W)
      acc += dy[(n * p.K + k) * OHW + pix] * x[((n * p.C + k / m) * p.H + ih) * p.W + iw];
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) dw[k * taps + t] = acc;
}

// ---- bias gradient / bias add -----------------------------------------------------------------

// db[c] = sum_{n, q} g[n, c, q], g of shape (N, C, S): block (c, part) sums images
// [N*part/parts, N*(part+1)/parts) of channel c into out[c*parts + part]. A block's threads are
// tq along q (a power of two >= S, at most 256) times 256/tq along n, so no thread divides an
// index and a small S (7x7 maps) still keeps most threads busy. With one block per channel, a
// few channels (LeNet's 6) left the GPU nearly idle: 45 us for 64x6x28x28 (2026-12-04, H200).
template <typename T>
__global__ void channel_sum_kernel(const T* __restrict__ g, int64_t N, int64_t C, int64_t S, int tq, int parts,
                                   T* __restrict__ out) {
  const int64_t c = blockIdx.x, part = blockIdx.y;
  const int64_t n0 = N * part / parts, n1 = N * (part + 1) / parts;
  const int a = threadIdx.x % tq, b = threadIdx.x / tq, tn = blockDim.x / tq;
  T acc = T(0);
  for (int64_t n = n0 + b; n < n1; n += tn) {
    const T* gp = g + (n * C + c) * S;
    for (int64_t q = a; q < S; q += tq) acc += gp[q];
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) out[c * parts + part] = acc;
}

// db[c] = the parts of channel c added in order (deterministic).
template <typename T>
__global__ void sum_parts_kernel(const T* __restrict__ partial, int64_t C, int parts, T* __restrict__ db) {
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < C; c += (int64_t)gridDim.x * blockDim.x) {
    T acc = T(0);
    for (int k = 0; k < parts; ++k) acc += partial[c * parts + k];
    db[c] = acc;
  }
}

template <typename T>
__global__ void add_channel_bias_kernel(T* __restrict__ y, const T* __restrict__ bias, int64_t N,
                                        int64_t C, int64_t S) {
  const int64_t total = N * C * S;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
       e += (int64_t)gridDim.x * blockDim.x)
    y[e] += bias[(e / S) % C];
}

template <typename T>
__global__ void fill_zero_kernel(T* __restrict__ y, int64_t n) {
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n;
       e += (int64_t)gridDim.x * blockDim.x)
    y[e] = T(0);
}

// ---- launch helpers -------------------------------------------------------------------------------

template <typename T>
void zero(T* y, int64_t n, cudaStream_t s) {
  if (n <= 0) return;
  fill_zero_kernel<T><<<grid_for(n, kThreads), kThreads, 0, s>>>(y, n);
  DLCORE_LAUNCH_CHECK("conv fill_zero_kernel");
}

template <typename T>
void channel_sum(const T* g, int64_t N, int64_t C, int64_t S, T* db, cudaStream_t s) {
  if (C <= 0) return;
  int tq = 1;
  while (tq < S && tq < kThreads) tq *= 2;
  // ~2 blocks per SM in all, each with at least ~16K elements to add (fewer parts otherwise).
  const int64_t want = std::max<int64_t>(1, (2 * sm_count() + C - 1) / C);
  const int parts = (int)std::max<int64_t>(1, std::min<int64_t>({want, N, std::max<int64_t>(1, N * S / 16384), 65535}));
  if (parts == 1) {
    channel_sum_kernel<T><<<dim3((unsigned)C, 1), kThreads, 0, s>>>(g, N, C, S, tq, 1, db);
    DLCORE_LAUNCH_CHECK("channel_sum_kernel");
    return;
  }
  Scratch partial((size_t)(C * parts) * sizeof(T));
  channel_sum_kernel<T><<<dim3((unsigned)C, (unsigned)parts), kThreads, 0, s>>>(g, N, C, S, tq, parts,
                                                                               partial.as<T>());
  DLCORE_LAUNCH_CHECK("channel_sum_kernel");
  sum_parts_kernel<T><<<grid_for(C, kThreads), kThreads, 0, s>>>(partial.as<T>(), C, parts, db);
  DLCORE_LAUNCH_CHECK("sum_parts_kernel");
}

// Whether every index of an im2col / col2im launch over nb images fits in int32 with room to
// spare (a grid-stride step past the end must not overflow): the input slice (nb*C*H*W), the
// column (C*kh*kw * nb*OH*OW) and the coordinates the kernels form, all below 2^30.
bool fits_int32(const ConvParams& p, int64_t nb) {
  const int64_t lim = int64_t(1) << 30;
  return nb * p.C * p.H * p.W < lim && p.C * p.kh * p.kw * nb * p.OH * p.OW < lim &&
         p.OH * p.sh + p.kh * p.dh + p.ph + p.H < lim && p.OW * p.sw + p.kw * p.dw + p.pw + p.W < lim;
}

// Grid of (x: blocks along a row or plane, y: rows or planes; each loop strides over both).
dim3 rows_grid(int64_t rows, int64_t per_row) {
  const int64_t gy = std::min<int64_t>(rows, 65535);
  const int64_t gx = std::max<int64_t>(1, std::min<int64_t>((per_row + kThreads - 1) / kThreads,
                                                            std::max<int64_t>(1, 8192 / gy)));
  return dim3((unsigned)gx, (unsigned)gy);
}

template <typename T>
void im2col(const ConvParams& p, const T* x, int64_t nb, T* col, cudaStream_t s) {
  const int64_t rows = p.C * p.kh * p.kw, L = nb * p.OH * p.OW;
  if (rows <= 0 || L <= 0) return;
  const dim3 grid = rows_grid(rows, L);
  if (fits_int32(p, nb)) im2col_kernel<T, int32_t><<<grid, kThreads, 0, s>>>(p, x, (int32_t)nb, col);
  else im2col_kernel<T, int64_t><<<grid, kThreads, 0, s>>>(p, x, nb, col);
  DLCORE_LAUNCH_CHECK("im2col_kernel");
}

template <typename T>
void col2im(const ConvParams& p, const T* col, int64_t nb, T* dx, cudaStream_t s) {
  const int64_t planes = nb * p.C, HW = p.H * p.W;
  if (planes <= 0 || HW <= 0) return;
  const dim3 grid = rows_grid(planes, HW);
  if (fits_int32(p, nb)) col2im_kernel<T, int32_t><<<grid, kThreads, 0, s>>>(p, col, (int32_t)nb, dx);
  else col2im_kernel<T, int64_t><<<grid, kThreads, 0, s>>>(p, col, nb, dx);
  DLCORE_LAUNCH_CHECK("col2im_kernel");
}

template <typename T>
void nchw_mat(const T* src, T* dst, int64_t nb, int64_t K, int64_t OHW, bool to_mat, cudaStream_t s) {
  const int64_t total = nb * K * OHW;
  if (total <= 0) return;
  nchw_mat_kernel<T><<<grid_for(total, kThreads), kThreads, 0, s>>>(src, dst, nb, K, OHW, to_mat);
  DLCORE_LAUNCH_CHECK("nchw_mat_kernel");
}

// Images per slice: as many as the 32 MiB column bound allows (a GPU wants wide GEMMs), >= 1.
int64_t slice_images(const ConvParams& p) {
  const int64_t per_image = p.C * p.kh * p.kw * p.OH * p.OW * (int64_t)itemsize(p.dtype);
  int64_t nb = per_image > 0 ? kColBytes / per_image : p.N;
  return std::max<int64_t>(1, std::min(nb, p.N));
}

bool is_pointwise(const ConvParams& p) {
  return p.kh == 1 && p.kw == 1 && p.sh == 1 && p.sw == 1 && p.ph == 0 && p.pw == 0 &&
         p.OH == p.H && p.OW == p.W;
}

bool is_depthwise(const ConvParams& p) { return p.groups > 1 && p.groups == p.C; }

// ---- convolution forward / backward --------------------------------------------------------------

template <typename T>
void forward_impl(const ConvParams& p, const T* x, const T* w, const T* bias, T* y,
                  Activation act, cudaStream_t s) {
  if (p.N == 0 || p.K == 0 || p.OH * p.OW == 0) return;
  if (is_depthwise(p)) {
    const int64_t total = p.N * p.K * p.OH * p.OW;
    depthwise_forward_kernel<T><<<grid_for(total, kThreads), kThreads, 0, s>>>(
        p, x, w, bias, y, act == Activation::Relu);
    DLCORE_LAUNCH_CHECK("depthwise_forward_kernel");
    return;
  }
  const int64_t G = p.groups, Cg = p.C / G, Kg = p.K / G;
  const int64_t HW = p.H * p.W, OHW = p.OH * p.OW, R = Cg * p.kh * p.kw;
  GemmParams g;
  g.dtype = p.dtype;
  g.M = Kg; g.K = R;
  g.a_row_stride = R; g.a_col_stride = 1;
  g.act = act;
  g.bias_per_row = true;
  if (is_pointwise(p)) {   // the image is its own column matrix; batch over images
    g.batch = p.N; g.N = HW;
    g.b_row_stride = HW; g.b_batch_stride = p.C * HW;
    g.c_row_stride = HW; g.c_batch_stride = p.K * HW;
    for (int64_t gi = 0; gi < G; ++gi) {
      g.A = w + gi * Kg * R;
      g.B = x + gi * Cg * HW;
      g.C = y + gi * Kg * HW;
      g.bias = bias ? bias + gi * Kg : nullptr;
      gemm(g, s);
    }
    return;
  }
  const int64_t nb = slice_images(p);
  Scratch col(sizeof(T) * p.C * p.kh * p.kw * nb * OHW);
  Scratch tmp(nb > 1 ? sizeof(T) * p.K * nb * OHW : 0);
  for (int64_t n0 = 0; n0 < p.N; n0 += nb) {
    const int64_t cnt = std::min(nb, p.N - n0), L = cnt * OHW;
    im2col(p, x + n0 * p.C * HW, cnt, col.as<T>(), s);
    T* out = cnt > 1 ? tmp.as<T>() : y + n0 * p.K * OHW;
    g.N = L;
    g.b_row_stride = L;
    g.c_row_stride = L;
    for (int64_t gi = 0; gi < G; ++gi) {
      g.A = w + gi * Kg * R;
      g.B = col.as<T>() + gi * R * L;
      g.C = out + gi * Kg * L;
      g.bias = bias ? bias + gi * Kg : nullptr;
      gemm(g, s);
    }
    if (cnt > 1) nchw_mat(out, y + n0 * p.K * OHW, cnt, p.K, OHW, false, s);
  }
}

template <typename T>
void backward_impl(const ConvParams& p, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db,
                   cudaStream_t s) {
  const int64_t G = p.groups, Cg = p.C / G, Kg = p.K / G;
  const int64_t HW = p.H * p.W, OHW = p.OH * p.OW, R = Cg * p.kh * p.kw;
  if (db) channel_sum(dy, p.N, p.K, OHW, db, s);
  if (p.N == 0 || OHW == 0) {
    if (dw) zero(dw, p.K * R, s);
    if (dx) zero(dx, p.N * p.C * HW, s);
    return;
  }
  if (!dx && !dw) return;
  if (is_depthwise(p)) {
    if (dx) {
      const int64_t total = p.N * p.C * HW;
      depthwise_backward_input_kernel<T><<<grid_for(total, kThreads), kThreads, 0, s>>>(p, w, dy, dx);
      DLCORE_LAUNCH_CHECK("depthwise_backward_input_kernel");
    }
    if (dw) {
      depthwise_backward_weight_kernel<T><<<(unsigned)(p.K * p.kh * p.kw), kThreads, 0, s>>>(p, x, dy, dw);
      DLCORE_LAUNCH_CHECK("depthwise_backward_weight_kernel");
    }
    return;
  }
  GemmParams g;
  g.dtype = p.dtype;
  if (is_pointwise(p)) {
    for (int64_t gi = 0; gi < G; ++gi) {
      if (dx) {
        GemmParams a = g;
        a.batch = p.N; a.M = Cg; a.N = HW; a.K = Kg;
        a.A = w + gi * Kg * R; a.a_row_stride = 1; a.a_col_stride = R;
        a.B = dy + gi * Kg * HW; a.b_row_stride = HW; a.b_batch_stride = p.K * HW;
        a.C = dx + gi * Cg * HW; a.c_row_stride = HW; a.c_batch_stride = p.C * HW;
        gemm(a, s);
      }
      if (dw) {
        GemmParams b = g;
        b.M = Kg; b.N = Cg; b.K = HW;
        b.a_row_stride = HW; b.a_col_stride = 1;
        b.b_row_stride = 1; b.b_col_stride = HW;
        b.C = dw + gi * Kg * R; b.c_row_stride = R;
        for (int64_t n = 0; n < p.N; ++n) {
          b.A = dy + (n * p.K + gi * Kg) * HW;
          b.B = x + (n * p.C + gi * Cg) * HW;
          b.beta = n ? 1.0 : 0.0;
          gemm(b, s);
        }
      }
    }
    return;
  }
  const int64_t nb = slice_images(p);
  Scratch col(sizeof(T) * p.C * p.kh * p.kw * nb * OHW);
  Scratch tmp(nb > 1 ? sizeof(T) * p.K * nb * OHW : 0);
  for (int64_t n0 = 0; n0 < p.N; n0 += nb) {
    const int64_t cnt = std::min(nb, p.N - n0), L = cnt * OHW;
    const T* dym = dy + n0 * p.K * OHW;
    if (cnt > 1) {
      nchw_mat(dym, tmp.as<T>(), cnt, p.K, OHW, true, s);
      dym = tmp.as<T>();
    }
    if (dw) {
      im2col(p, x + n0 * p.C * HW, cnt, col.as<T>(), s);
      GemmParams b = g;
      b.M = Kg; b.N = R; b.K = L;
      b.a_row_stride = L; b.a_col_stride = 1;
      b.b_row_stride = 1; b.b_col_stride = L;
      b.c_row_stride = R;
      b.beta = n0 ? 1.0 : 0.0;
      for (int64_t gi = 0; gi < G; ++gi) {
        b.A = dym + gi * Kg * L;
        b.B = col.as<T>() + gi * R * L;
        b.C = dw + gi * Kg * R;
        gemm(b, s);
      }
    }
    if (dx) {
      GemmParams a = g;
      a.M = R; a.N = L; a.K = Kg;
      a.a_row_stride = 1; a.a_col_stride = R;
      a.b_row_stride = L; a.b_col_stride = 1;
      a.c_row_stride = L;
      for (int64_t gi = 0; gi < G; ++gi) {
        a.A = w + gi * Kg * R;
        a.B = dym + gi * Kg * L;
        a.C = col.as<T>() + gi * R * L;
        gemm(a, s);
      }
      col2im(p, col.as<T>(), cnt, dx + n0 * p.C * HW, s);
    }
  }
}

}  // namespace

void conv2d_forward(const ConvParams& p, const void* x, const void* w, const void* bias, void* y,
                    Activation act, void* stream) {
  DLCORE_DISPATCH_FLOAT(p.dtype, T, "conv2d",
                        forward_impl<T>(p, (const T*)x, (const T*)w, (const T*)bias, (T*)y, act,
                                        as_stream(stream)));
}

void conv2d_backward(const ConvParams& p, const void* x, const void* w, const void* dy, void* dx,
                     void* dw, void* db, void* stream) {
  DLCORE_DISPATCH_FLOAT(p.dtype, T, "conv2d_backward",
                        backward_impl<T>(p, (const T*)x, (const T*)w, (const T*)dy, (T*)dx,
                                         (T*)dw, (T*)db, as_stream(stream)));
}

// Transposed convolution: the adjoint of conv2d (see csrc/cpu/conv.cpp).
void conv_transpose2d_forward(const ConvParams& p, const void* x, const void* w,
                              const void* bias, void* y, void* stream) {
  DLCORE_DISPATCH_FLOAT(p.dtype, T, "conv_transpose2d", {
    cudaStream_t s = as_stream(stream);
    backward_impl<T>(p, nullptr, (const T*)w, (const T*)x, (T*)y, nullptr, nullptr, s);
    const int64_t total = p.N * p.C * p.H * p.W;
    if (bias && total > 0) {
      add_channel_bias_kernel<T><<<grid_for(total, kThreads), kThreads, 0, s>>>(
          (T*)y, (const T*)bias, p.N, p.C, p.H * p.W);
      DLCORE_LAUNCH_CHECK("add_channel_bias_kernel");
    }
  });
}

void conv_transpose2d_backward(const ConvParams& p, const void* x, const void* w,
                               const void* dy, void* dx, void* dw, void* db, void* stream) {
  DLCORE_DISPATCH_FLOAT(p.dtype, T, "conv_transpose2d_backward", {
    cudaStream_t s = as_stream(stream);
    if (dx) forward_impl<T>(p, (const T*)dy, (const T*)w, nullptr, (T*)dx, Activation::None, s);
    if (dw) backward_impl<T>(p, (const T*)dy, nullptr, (const T*)x, nullptr, (T*)dw, nullptr, s);
    if (db) channel_sum((const T*)dy, p.N, p.C, p.H * p.W, (T*)db, s);
  });
}

}  // namespace dlcore::cuda
