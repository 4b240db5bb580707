// pool.cu — max / average / adaptive pooling and max_unpool (CUDA). Mirror of
// csrc/cpu/pool.cpp: same geometry (core/pool_params.h), same window scan order and tie rule
// (first maximum, NaN propagates), same int64 flat indices into each input plane.
//
// Forward kernels run one thread per output element over the flattened (plane, oh, ow) range,
// grid-stride: consecutive threads write consecutive outputs (coalesced stores) and read
// neighbouring windows (loads shared through L1/L2).
//
// Backward: max pooling scatters grad_out to the saved indices with atomicAdd into a zeroed
// gradient (overlapping windows may share an arg-max; without overlap there is no contention).
// Average pooling is written as a gather instead — one thread per input element summing the
// g / divisor of the outputs whose windows contain it — so it needs neither atomics nor a
// memset and is deterministic. Adaptive average pooling scatters with atomicAdd (its windows
// have no closed-form inverse as cheap as the loop). max_unpool is a scatter forward, a
// gather backward.
#include <limits>

#include "../core/cuda_runtime.h"
#include "common.cuh"
#include "kernels.h"

namespace dlcore::cuda {
namespace {

constexpr int kThreads = 256;

template <typename T> __device__ __forceinline__ bool takes_max(T v, T m) { return v > m || v != v; }

#define DLCORE_GRID_STRIDE(i, n)                                               \
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
       i += (int64_t)gridDim.x * blockDim.x)

// ---- max pooling ---------------------------------------------------------------------------

template <typename T>
__global__ void max_fwd_kernel(Pool2dParams p, const T* __restrict__ x, T* __restrict__ y,
                               int64_t* __restrict__ idx) {
  const int64_t n = p.planes * p.out_plane();
  DLCORE_GRID_STRIDE(o, n) {
    const int64_t ow = o % p.out_w, oh = (o / p.out_w) % p.out_h, pl = o / p.out_plane();
    const T* xp = x + pl * p.in_plane();
    int64_t h0 = oh * p.s_h - p.p_h, w0 = ow * p.s_w - p.p_w;
    const int64_t h1 = min(h0 + (p.k_h - 1) * p.d_h + 1, p.in_h);
    const int64_t w1 = min(w0 + (p.k_w - 1) * p.d_w + 1, p.in_w);
    while (h0 < 0) h0 += p.d_h;
    while (w0 < 0) w0 += p.d_w;
    T m = -std::numeric_limits<T>::infinity();
    int64_t best = h0 * p.in_w + w0;
    for (int64_t ih = h0; ih < h1; ih += p.d_h)
      for (int64_t iw = w0; iw < w1; iw += p.d_w) {
        const T v = xp[ih * p.in_w + iw];
        if (takes_max(v, m)) { m = v; best = ih * p.in_w + iw; }
      }
    y[o] = m;
    if (idx) idx[o] = best;
  }
}

// grad_in (zeroed) += grad at the indices; an index outside its plane is skipped.
template <typename T>
__global__ void max_bwd_kernel(int64_t planes, int64_t ip, int64_t op, const T* __restrict__ g,
                               const int64_t* __restrict__ idx, T* __restrict__ gx) {
  DLCORE_GRID_STRIDE(o, planes * op) {
    const int64_t i = idx[o];
    if ((uint64_t)i < (uint64_t)ip) atomicAdd(gx + (o / op) * ip + i, g[o]);
  }
}

// ---- average pooling -----------------------------------------------------------------------

template <typename T>
__global__ void avg_fwd_kernel(Pool2dParams p, bool include_pad, int64_t divisor_override,
                               const T* __restrict__ x, T* __restrict__ y) {
  DLCORE_GRID_STRIDE(o, p.planes * p.out_plane()) {
    const int64_t ow = o % p.out_w, oh = (o / p.out_w) % p.out_h, pl = o / p.out_plane();
    const T* xp = x + pl * p.in_plane();
    const PoolWindow w = avg_pool_window(p, oh, ow, include_pad, divisor_override);
    T s = 0;
    for (int64_t ih = w.h0; ih < w.h1; ++ih)
      for (int64_t iw = w.w0; iw < w.w1; ++iw) s += xp[ih * p.in_w + iw];
    y[o] = (w.h0 < w.h1 && w.w0 < w.w1) ? s / (T)w.divisor : T(0);
  }
}

// Input (ih, iw) lies in the windows of outputs oh with oh*s - p <= ih < oh*s - p + k, i.e.
// oh in [ceil((ih + p - k + 1) / s), floor((ih + p) / s)], clipped to [0, out_h).
__device__ __forceinline__ void covering(int64_t i, int64_t k, int64_t s, int64_t pad,
                                         int64_t out, int64_t& lo, int64_t& hi) {
  const int64_t a = i + pad - k + 1;
  lo = a <= 0 ? 0 : (a + s - 1) / s;
  hi = min((i + pad) / s, out - 1);
}

template <typename T>
__global__ void avg_bwd_kernel(Pool2dParams p, bool include_pad, int64_t divisor_override,
                               const T* __restrict__ g, T* __restrict__ gx) {
  DLCORE_GRID_STRIDE(i, p.planes * p.in_plane()) {
    const int64_t iw = i % p.in_w, ih = (i / p.in_w) % p.in_h, pl = i / p.in_plane();
    const T* gp = g + pl * p.out_plane();
    int64_t oh0, oh1, ow0, ow1;
    covering(ih, p.k_h, p.s_h, p.p_h, p.out_h, oh0, oh1);
    covering(iw, p.k_w, p.s_w, p.p_w, p.out_w, ow0, ow1);
    T s = 0;
    for (int64_t oh = oh0; oh <= oh1; ++oh)
      for (int64_t ow = ow0; ow <= ow1; ++ow) {
        const PoolWindow w = avg_pool_window(p, oh, ow, include_pad, divisor_override);
        s += gp[oh * p.out_w + ow] / (T)w.divisor;
      }
    gx[i] = s;
  }
}

// ---- adaptive pooling ----------------------------------------------------------------------

template <typename T, bool MAX>
__global__ void adaptive_fwd_kernel(int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                    const T* __restrict__ x, T* __restrict__ y,
                                    int64_t* __restrict__ idx) {
  DLCORE_GRID_STRIDE(o, planes * OH * OW) {
    const int64_t ow = o % OW, oh = (o / OW) % OH, pl = o / (OH * OW);
    const T* xp = x + pl * H * W;
    const int64_t h0 = adaptive_start(oh, H, OH), h1 = adaptive_end(oh, H, OH);
    const int64_t w0 = adaptive_start(ow, W, OW), w1 = adaptive_end(ow, W, OW);
    if (MAX) {
      T m = -std::numeric_limits<T>::infinity();
      int64_t best = h0 * W + w0;
      for (int64_t ih = h0; ih < h1; ++ih)
        for (int64_t iw = w0; iw < w1; ++iw) {
          const T v = xp[ih * W + iw];
          if (takes_max(v, m)) { m = v; best = ih * W + iw; }
        }
      y[o] = m;
      idx[o] = best;
    } else {
      T s = 0;
      for (int64_t ih = h0; ih < h1; ++ih)
        for (int64_t iw = w0; iw < w1; ++iw) s += xp[ih * W + iw];
      y[o] = s / (T)((h1 - h0) * (w1 - w0));
    }
  }
}

// Global average pool (OH = OW = 1): one warp per plane, lanes striding the plane (coalesced
// loads), then a shuffle reduction.
template <typename T>
__global__ void global_avg_kernel(int64_t planes, int64_t hw, const T* __restrict__ x,
                                  T* __restrict__ y) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = (int64_t)gridDim.x * (kThreads / 32);
  for (int64_t pl = (int64_t)blockIdx.x * (kThreads / 32) + threadIdx.x / 32; pl < planes;
       pl += warps) {
    const T* xp = x + pl * hw;
    T s = 0;
    for (int64_t i = lane; i < hw; i += 32) s += xp[i];
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    if (lane == 0) y[pl] = s / (T)hw;
  }
}

template <typename T>
__global__ void adaptive_avg_bwd_kernel(int64_t planes, int64_t H, int64_t W, int64_t OH,
                                        int64_t OW, const T* __restrict__ g,
                                        T* __restrict__ gx) {
  DLCORE_GRID_STRIDE(o, planes * OH * OW) {
    const int64_t ow = o % OW, oh = (o / OW) % OH, pl = o / (OH * OW);
    T* xp = gx + pl * H * W;
    const int64_t h0 = adaptive_start(oh, H, OH), h1 = adaptive_end(oh, H, OH);
    const int64_t w0 = adaptive_start(ow, W, OW), w1 = adaptive_end(ow, W, OW);
    const T v = g[o] / (T)((h1 - h0) * (w1 - w0));
    for (int64_t ih = h0; ih < h1; ++ih)
      for (int64_t iw = w0; iw < w1; ++iw) atomicAdd(xp + ih * W + iw, v);
  }
}

// ---- max_unpool ----------------------------------------------------------------------------

__global__ void unpool_check_kernel(int64_t n, int64_t op, const int64_t* __restrict__ idx,
                                    unsigned long long* bad) {
  DLCORE_GRID_STRIDE(j, n) {
    if ((uint64_t)idx[j] >= (uint64_t)op) atomicMin(bad, (unsigned long long)j);
  }
}

template <typename T>
__global__ void unpool_fwd_kernel(int64_t planes, int64_t ip, int64_t op, const T* __restrict__ x,
                                  const int64_t* __restrict__ idx, T* __restrict__ y) {
  DLCORE_GRID_STRIDE(j, planes * ip) { y[(j / ip) * op + idx[j]] = x[j]; }
}

template <typename T>
__global__ void unpool_bwd_kernel(int64_t planes, int64_t ip, int64_t op, const T* __restrict__ g,
                                  const int64_t* __restrict__ idx, T* __restrict__ gx) {
  DLCORE_GRID_STRIDE(j, planes * ip) {
    const int64_t i = idx[j];
    gx[j] = (uint64_t)i < (uint64_t)op ? g[(j / ip) * op + i] : T(0);
  }
}

}  // namespace

// ---- entry points ----------------------------------------------------------------------------

void max_pool2d_forward(DType dtype, const Pool2dParams& p, const void* x, void* y, int64_t* idx,
                        void* stream) {
  const int64_t n = p.planes * p.out_plane();
  if (n <= 0) return;
  DLCORE_DISPATCH_FLOAT(dtype, T, "max_pool2d_forward", {
    max_fwd_kernel<T><<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(
        p, (const T*)x, (T*)y, idx);
  });
  DLCORE_LAUNCH_CHECK("max_pool2d_forward");
}

void max_pool_backward(DType dtype, int64_t planes, int64_t in_plane, int64_t out_plane,
                       const void* grad, const int64_t* idx, void* grad_in, void* stream) {
  cudaStream_t s = as_stream(stream);
  const int64_t n = planes * out_plane;
  DLCORE_CUDA_CHECK(cudaMemsetAsync(grad_in, 0, planes * in_plane * itemsize(dtype), s));
  if (n <= 0) return;
  DLCORE_DISPATCH_FLOAT(dtype, T, "max_pool_backward", {
    max_bwd_kernel<T><<<grid_for(n, kThreads), kThreads, 0, s>>>(
        planes, in_plane, out_plane, (const T*)grad, idx, (T*)grad_in);
  });
  DLCORE_LAUNCH_CHECK("max_pool_backward");
}

void max_pool2d_backward(DType dtype, const Pool2dParams& p, const void* grad, const int64_t* idx,
                         void* grad_in, void* stream) {
  max_pool_backward(dtype, p.planes, p.in_plane(), p.out_plane(), grad, idx, grad_in, stream);
}

void avg_pool2d_forward(DType dtype, const Pool2dParams& p, bool count_include_pad,
                        int64_t divisor_override, const void* x, void* y, void* stream) {
  const int64_t n = p.planes * p.out_plane();
  if (n <= 0) return;
  DLCORE_DISPATCH_FLOAT(dtype, T, "avg_pool2d_forward", {
    avg_fwd_kernel<T><<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(
        p, count_include_pad, divisor_override, (const T*)x, (T*)y);
  });
  DLCORE_LAUNCH_CHECK("avg_pool2d_forward");
}

void avg_pool2d_backward(DType dtype, const Pool2dParams& p, bool count_include_pad,
                         int64_t divisor_override, const void* grad, void* grad_in, void* stream) {
  const int64_t n = p.planes * p.in_plane();
  if (n <= 0) return;
  DLCORE_DISPATCH_FLOAT(dtype, T, "avg_pool2d_backward", {
    avg_bwd_kernel<T><<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(
        p, count_include_pad, divisor_override, (const T*)grad, (T*)grad_in);
  });
  DLCORE_LAUNCH_CHECK("avg_pool2d_backward");
}

void adaptive_avg_pool2d_forward(DType dtype, int64_t planes, int64_t in_h, int64_t in_w,
                                 int64_t out_h, int64_t out_w, const void* x, void* y,
                                 void* stream) {
  const int64_t n = planes * out_h * out_w;
  if (n <= 0) return;
  cudaStream_t s = as_stream(stream);
  DLCORE_DISPATCH_FLOAT(dtype, T, "adaptive_avg_pool2d_forward", {
    if (out_h == 1 && out_w == 1)
      global_avg_kernel<T><<<grid_for(planes * 32, kThreads), kThreads, 0, s>>>(
          planes, in_h * in_w, (const T*)x, (T*)y);
    else
      adaptive_fwd_kernel<T, false><<<grid_for(n, kThreads), kThreads, 0, s>>>(
          planes, in_h, in_w, out_h, out_w, (const T*)x, (T*)y, nullptr);
  });
  DLCORE_LAUNCH_CHECK("adaptive_avg_pool2d_forward");
}

void adaptive_avg_pool2d_backward(DType dtype, int64_t planes, int64_t in_h, int64_t in_w,
                                  int64_t out_h, int64_t out_w, const void* grad, void* grad_in,
                                  void* stream) {
  cudaStream_t s = as_stream(stream);
  DLCORE_CUDA_CHECK(cudaMemsetAsync(grad_in, 0, planes * in_h * in_w * itemsize(dtype), s));
  const int64_t n = planes * out_h * out_w;
  if (n <= 0) return;
  DLCORE_DISPATCH_FLOAT(dtype, T, "adaptive_avg_pool2d_backward", {
    adaptive_avg_bwd_kernel<T><<<grid_for(n, kThreads), kThreads, 0, s>>>(
        planes, in_h, in_w, out_h, out_w, (const T*)grad, (T*)grad_in);
  });
  DLCORE_LAUNCH_CHECK("adaptive_avg_pool2d_backward");
}

void adaptive_max_pool2d_forward(DType dtype, int64_t planes, int64_t in_h, int64_t in_w,
                                 int64_t out_h, int64_t out_w, const void* x, void* y,
                                 int64_t* idx, void* stream) {
  const int64_t n = planes * out_h * out_w;
  if (n <= 0) return;
  DLCORE_DISPATCH_FLOAT(dtype, T, "adaptive_max_pool2d_forward", {
    adaptive_fwd_kernel<T, true><<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(
        planes, in_h, in_w, out_h, out_w, (const T*)x, (T*)y, idx);
  });
  DLCORE_LAUNCH_CHECK("adaptive_max_pool2d_forward");
}

int64_t max_unpool_forward(DType dtype, int64_t planes, int64_t in_plane, int64_t out_plane,
                           const void* x, const int64_t* idx, void* y, void* stream) {
  cudaStream_t s = as_stream(stream);
  const int64_t n = planes * in_plane;
  if (n > 0) {
    // Check every index before any store (the CPU's contract: nothing written on a bad one).
    // The 8-byte flag comes from the caching allocator and goes back after the synchronise.
    const int dev = current_device_id();
    unsigned long long* bad = (unsigned long long*)cudart::raw_alloc(dev, sizeof(unsigned long long));
    unsigned long long first_bad = 0;
    try {
      DLCORE_CUDA_CHECK(cudaMemsetAsync(bad, 0xFF, sizeof(unsigned long long), s));
      unpool_check_kernel<<<grid_for(n, kThreads), kThreads, 0, s>>>(n, out_plane, idx, bad);
      DLCORE_LAUNCH_CHECK("max_unpool_forward (index check)");
      DLCORE_CUDA_CHECK(cudaMemcpyAsync(&first_bad, bad, sizeof(first_bad), cudaMemcpyDeviceToHost, s));
      DLCORE_CUDA_CHECK(cudaStreamSynchronize(s));
    } catch (...) {
      cudart::raw_free(dev, bad);
      throw;
    }
    cudart::raw_free(dev, bad);
    if (first_bad != ~0ull) return (int64_t)first_bad;
  }
  DLCORE_CUDA_CHECK(cudaMemsetAsync(y, 0, planes * out_plane * itemsize(dtype), s));
  if (n <= 0) return -1;
  DLCORE_DISPATCH_FLOAT(dtype, T, "max_unpool_forward", {
    unpool_fwd_kernel<T><<<grid_for(n, kThreads), kThreads, 0, s>>>(
        planes, in_plane, out_plane, (const T*)x, idx, (T*)y);
  });
  DLCORE_LAUNCH_CHECK("max_unpool_forward");
  return -1;
}

void max_unpool_backward(DType dtype, int64_t planes, int64_t in_plane, int64_t out_plane,
                         const void* grad, const int64_t* idx, void* grad_in, void* stream) {
  const int64_t n = planes * in_plane;
  if (n <= 0) return;
  DLCORE_DISPATCH_FLOAT(dtype, T, "max_unpool_backward", {
    unpool_bwd_kernel<T><<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(
        planes, in_plane, out_plane, (const T*)grad, idx, (T*)grad_in);
  });
  DLCORE_LAUNCH_CHECK("max_unpool_backward");
}

}  // namespace dlcore::cuda
