// activation.cu — elementwise activations and their derivatives (CUDA). Mirror of
// csrc/cpu/activation.cpp: the formulas, and which of the input x / output y each derivative
// reads, are the CPU's own (core/activation_math.h).
//
// These are memory-bound: one grid-stride loop, the op a template parameter so each kernel
// body is branch-free, and float4 / double2 (16-byte) loads and stores when every pointer is
// 16-byte aligned, which the caching allocator guarantees for whole tensors.
#include "../core/activation_math.h"
#include "common.cuh"
#include "kernels.h"

namespace dlcore::cuda {
namespace {

// V elements per thread per step (16 bytes) when `vec`, one otherwise.
template <typename T, ActOp OP, int V>
__global__ void fwd_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t n, T a, T b) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  const int64_t nv = n / V;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < nv; i += step) {
    Vec<T, V> v = reinterpret_cast<const Vec<T, V>*>(x)[i];
#pragma unroll
    for (int k = 0; k < V; ++k) v.v[k] = act::forward<T, OP>(v.v[k], a, b);
    reinterpret_cast<Vec<T, V>*>(y)[i] = v;
  }
  for (int64_t i = nv * V + (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step)
    y[i] = act::forward<T, OP>(x[i], a, b);
}

template <typename T, ActOp OP, int V>
__global__ void bwd_kernel(const T* __restrict__ g, const T* __restrict__ x,
                           const T* __restrict__ y, T* __restrict__ gx, int64_t n, T a, T b) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  const int64_t nv = n / V;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < nv; i += step) {
    Vec<T, V> vg = reinterpret_cast<const Vec<T, V>*>(g)[i], vx{}, vy{};
    if constexpr (act::backward_needs_x<OP>()) vx = reinterpret_cast<const Vec<T, V>*>(x)[i];
    if constexpr (act::backward_needs_y<OP>()) vy = reinterpret_cast<const Vec<T, V>*>(y)[i];
#pragma unroll
    for (int k = 0; k < V; ++k) vg.v[k] = act::backward<T, OP>(vg.v[k], vx.v[k], vy.v[k], a, b);
    reinterpret_cast<Vec<T, V>*>(gx)[i] = vg;
  }
  for (int64_t i = nv * V + (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step) {
    const T xv = act::backward_needs_x<OP>() ? x[i] : T(0);
    const T yv = act::backward_needs_y<OP>() ? y[i] : T(0);
    gx[i] = act::backward<T, OP>(g[i], xv, yv, a, b);
  }
}

constexpr int kThreads = 256;

template <typename T, ActOp OP>
void launch_fwd(const void* x, void* y, int64_t n, double a, double b, cudaStream_t s) {
  constexpr int V = 16 / sizeof(T);
  const bool vec = aligned_to(x, 16) && aligned_to(y, 16);
  const unsigned grid = grid_for(vec ? (n + V - 1) / V : n, kThreads);
  if (vec) fwd_kernel<T, OP, V><<<grid, kThreads, 0, s>>>((const T*)x, (T*)y, n, (T)a, (T)b);
  else fwd_kernel<T, OP, 1><<<grid, kThreads, 0, s>>>((const T*)x, (T*)y, n, (T)a, (T)b);
  DLCORE_LAUNCH_CHECK("activation_forward");
}

template <typename T, ActOp OP>
void launch_bwd(const void* g, const void* x, const void* y, void* gx, int64_t n, double a,
                double b, cudaStream_t s) {
  constexpr int V = 16 / sizeof(T);
  const bool vec = aligned_to(g, 16) && aligned_to(gx, 16) &&
                   (!act::backward_needs_x<OP>() || aligned_to(x, 16)) &&
                   (!act::backward_needs_y<OP>() || aligned_to(y, 16));
  const unsigned grid = grid_for(vec ? (n + V - 1) / V : n, kThreads);
  if (vec)
    bwd_kernel<T, OP, V><<<grid, kThreads, 0, s>>>((const T*)g, (const T*)x, (const T*)y, (T*)gx,
                                                   n, (T)a, (T)b);
  else
    bwd_kernel<T, OP, 1><<<grid, kThreads, 0, s>>>((const T*)g, (const T*)x, (const T*)y, (T*)gx,
                                                   n, (T)a, (T)b);
  DLCORE_LAUNCH_CHECK("activation_backward");
}

}  // namespace

void activation_forward(ActOp op, DType dtype, const void* x, void* y, int64_t n, double a,
                        double b, void* stream) {
  if (n <= 0) return;
  DLCORE_DISPATCH_FLOAT(dtype, T, "activation_forward",
                        DLCORE_ACT_SWITCH(op, launch_fwd, x, y, n, a, b, as_stream(stream)));
}

void activation_backward(ActOp op, DType dtype, const void* grad, const void* x, const void* y,
                         void* grad_in, int64_t n, double a, double b, void* stream) {
  if (n <= 0) return;
  DLCORE_DISPATCH_FLOAT(dtype, T, "activation_backward",
                        DLCORE_ACT_SWITCH(op, launch_bwd, grad, x, y, grad_in, n, a, b,
                                         as_stream(stream)));
}

}  // namespace dlcore::cuda
