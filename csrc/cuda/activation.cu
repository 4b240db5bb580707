// activation.cu — elementwise activations and their derivatives (CUDA). Mirror of
// csrc/cpu/activation.cpp: the same formulas, the derivative read from the input x or the
// output y exactly as there (y for relu/sigmoid/tanh, x and y for elu, x otherwise).
//
// These are memory-bound: one grid-stride loop, the op a template parameter so each kernel
// body is branch-free, and float4 / double2 (16-byte) loads and stores when every pointer is
// 16-byte aligned, which the caching allocator guarantees for whole tensors.
#include "common.cuh"
#include "kernels.h"

namespace dlcore::cuda {
namespace {

template <typename T> __device__ __forceinline__ T d_exp(T x) { return exp(x); }
template <> __device__ __forceinline__ float d_exp<float>(float x) { return expf(x); }
template <typename T> __device__ __forceinline__ T d_sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + d_exp(-x));
  T e = d_exp(x);
  return e / (T(1) + e);
}

constexpr double kSqrt1_2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
constexpr double kSqrt2OverPi = 0.79788456080286535588;
constexpr double kGeluC = 0.044715;

template <typename T, ActOp OP>
__device__ __forceinline__ T act_fwd(T x, T a, T b) {
  if constexpr (OP == ActOp::Relu) return x > T(0) ? x : (x == x ? T(0) : x);
  if constexpr (OP == ActOp::LeakyRelu) return x > T(0) ? x : x * a;
  if constexpr (OP == ActOp::Elu) return x > T(0) ? x : a * expm1(x);
  if constexpr (OP == ActOp::Softplus) {
    T z = x * a;
    if (z > b) return x;
    return (fmax(z, T(0)) + log1p(d_exp(-fabs(z)))) / a;
  }
  if constexpr (OP == ActOp::Sigmoid) return d_sigmoid(x);
  if constexpr (OP == ActOp::Tanh) return tanh(x);
  if constexpr (OP == ActOp::Gelu) return T(0.5) * x * (T(1) + erf(x * T(kSqrt1_2)));
  if constexpr (OP == ActOp::GeluTanh)
    return T(0.5) * x * (T(1) + tanh(T(kSqrt2OverPi) * (x + T(kGeluC) * x * x * x)));
  if constexpr (OP == ActOp::Silu) return x * d_sigmoid(x);
  return x;
}

template <typename T, ActOp OP>
__device__ __forceinline__ T act_bwd(T g, T x, T y, T a, T b) {
  if constexpr (OP == ActOp::Relu) return y > T(0) ? g : T(0);
  if constexpr (OP == ActOp::LeakyRelu) return x > T(0) ? g : g * a;
  if constexpr (OP == ActOp::Elu) return x > T(0) ? g : g * (y + a);
  if constexpr (OP == ActOp::Softplus) { T z = x * a; return z > b ? g : g * d_sigmoid(z); }
  if constexpr (OP == ActOp::Sigmoid) return g * y * (T(1) - y);
  if constexpr (OP == ActOp::Tanh) return g * (T(1) - y * y);
  if constexpr (OP == ActOp::Gelu) {
    T cdf = T(0.5) * (T(1) + erf(x * T(kSqrt1_2)));
    return g * (cdf + x * T(kInvSqrt2Pi) * d_exp(T(-0.5) * x * x));
  }
  if constexpr (OP == ActOp::GeluTanh) {
    T x2 = x * x;
    T t = tanh(T(kSqrt2OverPi) * (x + T(kGeluC) * x2 * x));
    T du = T(kSqrt2OverPi) * (T(1) + T(3 * kGeluC) * x2);
    return g * (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * du);
  }
  if constexpr (OP == ActOp::Silu) { T s = d_sigmoid(x); return g * s * (T(1) + x * (T(1) - s)); }
  return g;
}

template <ActOp OP> constexpr bool bwd_needs_x() {
  return OP != ActOp::Relu && OP != ActOp::Sigmoid && OP != ActOp::Tanh;
}
template <ActOp OP> constexpr bool bwd_needs_y() {
  return OP == ActOp::Relu || OP == ActOp::Sigmoid || OP == ActOp::Tanh || OP == ActOp::Elu;
}

// V elements per thread per step (16 bytes) when `vec`, one otherwise.
template <typename T, ActOp OP, int V>
__global__ void fwd_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t n, T a, T b) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  const int64_t nv = n / V;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < nv; i += step) {
    Vec<T, V> v = reinterpret_cast<const Vec<T, V>*>(x)[i];
#pragma unroll
    for (int k = 0; k < V; ++k) v.v[k] = act_fwd<T, OP>(v.v[k], a, b);
    reinterpret_cast<Vec<T, V>*>(y)[i] = v;
  }
  for (int64_t i = nv * V + (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step)
    y[i] = act_fwd<T, OP>(x[i], a, b);
}

template <typename T, ActOp OP, int V>
__global__ void bwd_kernel(const T* __restrict__ g, const T* __restrict__ x,
                           const T* __restrict__ y, T* __restrict__ gx, int64_t n, T a, T b) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  const int64_t nv = n / V;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < nv; i += step) {
    Vec<T, V> vg = reinterpret_cast<const Vec<T, V>*>(g)[i], vx{}, vy{};
    if constexpr (bwd_needs_x<OP>()) vx = reinterpret_cast<const Vec<T, V>*>(x)[i];
    if constexpr (bwd_needs_y<OP>()) vy = reinterpret_cast<const Vec<T, V>*>(y)[i];
#pragma unroll
    for (int k = 0; k < V; ++k) vg.v[k] = act_bwd<T, OP>(vg.v[k], vx.v[k], vy.v[k], a, b);
    reinterpret_cast<Vec<T, V>*>(gx)[i] = vg;
  }
  for (int64_t i = nv * V + (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step) {
    T xv = bwd_needs_x<OP>() ? x[i] : T(0), yv = bwd_needs_y<OP>() ? y[i] : T(0);
    gx[i] = act_bwd<T, OP>(g[i], xv, yv, a, b);
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
                   (!bwd_needs_x<OP>() || aligned_to(x, 16)) &&
                   (!bwd_needs_y<OP>() || aligned_to(y, 16));
  const unsigned grid = grid_for(vec ? (n + V - 1) / V : n, kThreads);
  if (vec)
    bwd_kernel<T, OP, V><<<grid, kThreads, 0, s>>>((const T*)g, (const T*)x, (const T*)y, (T*)gx,
                                                   n, (T)a, (T)b);
  else
    bwd_kernel<T, OP, 1><<<grid, kThreads, 0, s>>>((const T*)g, (const T*)x, (const T*)y, (T*)gx,
                                                   n, (T)a, (T)b);
  DLCORE_LAUNCH_CHECK("activation_backward");
}

#define DLCORE_ACT_CASES(FN, ...)                                               \
  switch (op) {                                                                 \
    case ActOp::Relu: FN<T, ActOp::Relu>(__VA_ARGS__); break;                   \
    case ActOp::LeakyRelu: FN<T, ActOp::LeakyRelu>(__VA_ARGS__); break;         \
    case ActOp::Elu: FN<T, ActOp::Elu>(__VA_ARGS__); break;                     \
    case ActOp::Softplus: FN<T, ActOp::Softplus>(__VA_ARGS__); break;           \
    case ActOp::Sigmoid: FN<T, ActOp::Sigmoid>(__VA_ARGS__); break;             \
    case ActOp::Tanh: FN<T, ActOp::Tanh>(__VA_ARGS__); break;                   \
    case ActOp::Gelu: FN<T, ActOp::Gelu>(__VA_ARGS__); break;                   \
    case ActOp::GeluTanh: FN<T, ActOp::GeluTanh>(__VA_ARGS__); break;           \
    case ActOp::Silu: FN<T, ActOp::Silu>(__VA_ARGS__); break;                   \
  }

}  // namespace

void activation_forward(ActOp op, DType dtype, const void* x, void* y, int64_t n, double a,
                        double b, void* stream) {
  if (n <= 0) return;
  DLCORE_DISPATCH_FLOAT(dtype, T, "activation_forward",
                        DLCORE_ACT_CASES(launch_fwd, x, y, n, a, b, as_stream(stream)));
}

void activation_backward(ActOp op, DType dtype, const void* grad, const void* x, const void* y,
                         void* grad_in, int64_t n, double a, double b, void* stream) {
  if (n <= 0) return;
  DLCORE_DISPATCH_FLOAT(dtype, T, "activation_backward",
                        DLCORE_ACT_CASES(launch_bwd, grad, x, y, grad_in, n, a, b,
                                         as_stream(stream)));
}

}  // namespace dlcore::cuda
