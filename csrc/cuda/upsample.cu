// upsample.cu — interpolate (nearest, nearest-exact, linear / bilinear) on CUDA. Mirror of
// csrc/cpu/upsample.cpp with the same source coordinates (core/upsample_math.h).
//
// Forward: one thread per output element, grid-stride; consecutive threads write consecutive
// outputs of a row (coalesced) and read neighbouring source pixels. The coordinates are
// recomputed per thread — a few flops, cheaper than a table load. Backward: the input
// gradient is zeroed, then each output adds its weighted gradient to its sources with
// atomicAdd (several outputs share a source when upsampling).
#include "../core/upsample_math.h"
#include "common.cuh"
#include "kernels.h"

namespace dlcore::cuda {
namespace {

constexpr int kThreads = 256;

#define DLCORE_GRID_STRIDE(i, n)                                               \
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
       i += (int64_t)gridDim.x * blockDim.x)

template <typename T, bool BACKWARD>
__global__ void nearest_kernel(int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                               double sh, double sw, bool exact, const T* __restrict__ src,
                               T* __restrict__ dst) {
  DLCORE_GRID_STRIDE(o, planes * OH * OW) {
    const int64_t ow = o % OW, oh = (o / OW) % OH, pl = o / (OH * OW);
    const int64_t ih = nearest_source(oh, H, OH, sh, exact), iw = nearest_source(ow, W, OW, sw, exact);
    const int64_t i = pl * H * W + ih * W + iw;
    if (BACKWARD) atomicAdd(dst + i, src[o]);   // src = grad_out, dst = grad_in
    else dst[o] = src[i];
  }
}

template <typename T, bool BACKWARD>
__global__ void bilinear_kernel(int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                bool align, T scale_h, T scale_w, const T* __restrict__ src,
                                T* __restrict__ dst) {
  DLCORE_GRID_STRIDE(o, planes * OH * OW) {
    const int64_t ow = o % OW, oh = (o / OW) % OH, pl = o / (OH * OW);
    int64_t h0, h1, w0, w1;
    T a1, b1;
    linear_source<T>(scale_h, oh, H, align, h0, h1, a1);
    linear_source<T>(scale_w, ow, W, align, w0, w1, b1);
    const T a0 = T(1) - a1, b0 = T(1) - b1;
    const int64_t base = pl * H * W;
    if (BACKWARD) {
      T* gp = dst + base;
      const T v = src[o];
      atomicAdd(gp + h0 * W + w0, a0 * b0 * v);
      atomicAdd(gp + h0 * W + w1, a0 * b1 * v);
      atomicAdd(gp + h1 * W + w0, a1 * b0 * v);
      atomicAdd(gp + h1 * W + w1, a1 * b1 * v);
    } else {
      const T* xp = src + base;
      dst[o] = a0 * (b0 * xp[h0 * W + w0] + b1 * xp[h0 * W + w1]) +
               a1 * (b0 * xp[h1 * W + w0] + b1 * xp[h1 * W + w1]);
    }
  }
}

}  // namespace

void upsample_nearest2d_forward(DType dtype, int64_t planes, int64_t in_h, int64_t in_w,
                                int64_t out_h, int64_t out_w, double scale_h, double scale_w,
                                bool exact, const void* x, void* y, void* stream) {
  const int64_t n = planes * out_h * out_w;
  if (n <= 0) return;
  DLCORE_DISPATCH_FLOAT(dtype, T, "upsample_nearest2d_forward", {
    nearest_kernel<T, false><<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(
        planes, in_h, in_w, out_h, out_w, scale_h, scale_w, exact, (const T*)x, (T*)y);
  });
  DLCORE_LAUNCH_CHECK("upsample_nearest2d_forward");
}

void upsample_nearest2d_backward(DType dtype, int64_t planes, int64_t in_h, int64_t in_w,
                                 int64_t out_h, int64_t out_w, double scale_h, double scale_w,
                                 bool exact, const void* grad, void* grad_in, void* stream) {
  cudaStream_t s = as_stream(stream);
  DLCORE_CUDA_CHECK(cudaMemsetAsync(grad_in, 0, planes * in_h * in_w * itemsize(dtype), s));
  const int64_t n = planes * out_h * out_w;
  if (n <= 0) return;
  DLCORE_DISPATCH_FLOAT(dtype, T, "upsample_nearest2d_backward", {
    nearest_kernel<T, true><<<grid_for(n, kThreads), kThreads, 0, s>>>(
        planes, in_h, in_w, out_h, out_w, scale_h, scale_w, exact, (const T*)grad, (T*)grad_in);
  });
  DLCORE_LAUNCH_CHECK("upsample_nearest2d_backward");
}

void upsample_bilinear2d_forward(DType dtype, int64_t planes, int64_t in_h, int64_t in_w,
                                 int64_t out_h, int64_t out_w, bool align_corners, double scale_h,
                                 double scale_w, const void* x, void* y, void* stream) {
  const int64_t n = planes * out_h * out_w;
  if (n <= 0) return;
  DLCORE_DISPATCH_FLOAT(dtype, T, "upsample_bilinear2d_forward", {
    const T sh = linear_scale<T>(in_h, out_h, align_corners, scale_h);
    const T sw = linear_scale<T>(in_w, out_w, align_corners, scale_w);
    bilinear_kernel<T, false><<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(
        planes, in_h, in_w, out_h, out_w, align_corners, sh, sw, (const T*)x, (T*)y);
  });
  DLCORE_LAUNCH_CHECK("upsample_bilinear2d_forward");
}

void upsample_bilinear2d_backward(DType dtype, int64_t planes, int64_t in_h, int64_t in_w,
                                  int64_t out_h, int64_t out_w, bool align_corners,
                                  double scale_h, double scale_w, const void* grad,
                                  void* grad_in, void* stream) {
  cudaStream_t s = as_stream(stream);
  DLCORE_CUDA_CHECK(cudaMemsetAsync(grad_in, 0, planes * in_h * in_w * itemsize(dtype), s));
  const int64_t n = planes * out_h * out_w;
  if (n <= 0) return;
  DLCORE_DISPATCH_FLOAT(dtype, T, "upsample_bilinear2d_backward", {
    const T sh = linear_scale<T>(in_h, out_h, align_corners, scale_h);
    const T sw = linear_scale<T>(in_w, out_w, align_corners, scale_w);
    bilinear_kernel<T, true><<<grid_for(n, kThreads), kThreads, 0, s>>>(
        planes, in_h, in_w, out_h, out_w, align_corners, sh, sw, (const T*)grad, (T*)grad_in);
  });
  DLCORE_LAUNCH_CHECK("upsample_bilinear2d_backward");
}

}  // namespace dlcore::cuda
