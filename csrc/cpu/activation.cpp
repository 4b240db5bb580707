// activation.cpp — elementwise activations and their derivatives on the CPU.
//
// Backpropagation through y = f(x) is gx = g * f'(x). Each derivative is written in terms of
// whatever is cheapest to reach at backward time: sigmoid' = y(1-y) and tanh' = 1-y² reuse the
// saved output (no second exp), relu' only needs the sign of y (so a GEMM whose epilogue applied
// the relu never has to keep its pre-activation), elu' = y + alpha on the negative side.
//
// The scalar definitions below are the reference (and the float64 / non-AVX2 path). std::exp
// is a library call the compiler cannot vectorize, so for float32 the exp-based ops go to
// activation_avx2.cpp (8 lanes, a polynomial exp) when the CPU has AVX2+FMA. Both paths run
// over contiguous chunks split across OpenMP threads.
#include <cmath>
#include <cstring>

#include "kernels.h"
#include "parallel.h"

namespace dlcore::cpu {

#if defined(__x86_64__) || defined(__i386__)
// activation_avx2.cpp: return false when `op` has no vector version (the caller falls back).
bool activation_forward_f32_avx2(ActOp op, const float* x, float* y, int64_t n, float a);
bool activation_backward_f32_avx2(ActOp op, const float* g, const float* x, const float* y,
                                  float* gx, int64_t n, float a);
#endif

namespace {

constexpr double kSqrt1_2 = 0.70710678118654752440;   // 1/sqrt(2)
constexpr double kInvSqrt2Pi = 0.39894228040143267794; // 1/sqrt(2 pi)
constexpr double kSqrt2OverPi = 0.79788456080286535588;
constexpr double kGeluC = 0.044715;

template <typename T> inline T sigmoid(T x) {
  // Never exp of a large positive number: for x < 0 use e^x / (1 + e^x).
  if (x >= 0) return T(1) / (T(1) + std::exp(-x));
  T e = std::exp(x);
  return e / (T(1) + e);
}

template <typename T> inline T act_forward(ActOp op, T x, T a, T b) {
  switch (op) {
    case ActOp::Relu: return x > 0 ? x : (x == x ? T(0) : x);        // NaN propagates
    case ActOp::LeakyRelu: return x > 0 ? x : x * a;
    case ActOp::Elu: return x > 0 ? x : a * std::expm1(x);
    case ActOp::Softplus: {                                            // log(1 + e^(beta x)) / beta
      T z = x * a;
      if (z > b) return x;                                             // linear regime, as torch
      return (std::max(z, T(0)) + std::log1p(std::exp(-std::abs(z)))) / a;
    }
    case ActOp::Sigmoid: return sigmoid(x);
    case ActOp::Tanh: return std::tanh(x);
    case ActOp::Gelu: return T(0.5) * x * (T(1) + std::erf(x * T(kSqrt1_2)));
    case ActOp::GeluTanh: {
      T u = T(kSqrt2OverPi) * (x + T(kGeluC) * x * x * x);
      return T(0.5) * x * (T(1) + std::tanh(u));
    }
    case ActOp::Silu: return x * sigmoid(x);
  }
  return x;
}

// gx for one element; x or y may be unused (and point nowhere) depending on the op.
template <typename T> inline T act_backward(ActOp op, T g, T x, T y, T a, T b) {
  switch (op) {
    case ActOp::Relu: return y > 0 ? g : T(0);
    case ActOp::LeakyRelu: return x > 0 ? g : g * a;
    case ActOp::Elu: return x > 0 ? g : g * (y + a);                   // alpha e^x = y + alpha
    case ActOp::Softplus: {
      T z = x * a;
      return z > b ? g : g * sigmoid(z);
    }
    case ActOp::Sigmoid: return g * y * (T(1) - y);
    case ActOp::Tanh: return g * (T(1) - y * y);
    case ActOp::Gelu: {                                                // Phi(x) + x phi(x)
      T cdf = T(0.5) * (T(1) + std::erf(x * T(kSqrt1_2)));
      T pdf = T(kInvSqrt2Pi) * std::exp(T(-0.5) * x * x);
      return g * (cdf + x * pdf);
    }
    case ActOp::GeluTanh: {
      T x2 = x * x;
      T t = std::tanh(T(kSqrt2OverPi) * (x + T(kGeluC) * x2 * x));
      T du = T(kSqrt2OverPi) * (T(1) + T(3 * kGeluC) * x2);
      return g * (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * du);
    }
    case ActOp::Silu: {                                                // s (1 + x (1 - s))
      T s = sigmoid(x);
      return g * s * (T(1) + x * (T(1) - s));
    }
  }
  return g;
}

bool use_avx2() { return std::strcmp(simd_path(), "avx2-fma") == 0; }

// Cheap ops (relu, leaky) are memory-bound: a bigger grain keeps small tensors on one thread.
int64_t grain_for(ActOp op) {
  return (op == ActOp::Relu || op == ActOp::LeakyRelu) ? kParallelGrain * 2 : kParallelGrain / 4;
}

// The switch sits outside the element loop: one instantiation per op, so the compiler sees a
// branch-free body and vectorizes what it can (relu, leaky relu, the y-based derivatives).
template <typename T, ActOp OP>
void forward_run(const T* x, T* y, int64_t n, T a, T b) {
  for (int64_t i = 0; i < n; ++i) y[i] = act_forward(OP, x[i], a, b);
}
template <typename T, ActOp OP>
void backward_run(const T* g, const T* x, const T* y, T* gx, int64_t n, T a, T b) {
  // Only dereference the operand the op reads: the other one may be null.
  constexpr bool needs_x = OP != ActOp::Relu && OP != ActOp::Sigmoid && OP != ActOp::Tanh;
  constexpr bool needs_y = OP == ActOp::Relu || OP == ActOp::Sigmoid || OP == ActOp::Tanh ||
                           OP == ActOp::Elu;
  for (int64_t i = 0; i < n; ++i)
    gx[i] = act_backward(OP, g[i], needs_x ? x[i] : T(0), needs_y ? y[i] : T(0), a, b);
}

#define DLCORE_ACT_SWITCH(op, FN, ...)                                          \
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

template <typename T>
void forward_typed(ActOp op, const T* x, T* y, int64_t n, T a, T b) {
  const bool vec = std::is_same_v<T, float> && use_avx2();
  parallel_for(n, grain_for(op), [&](int64_t lo, int64_t hi) {
#if defined(__x86_64__) || defined(__i386__)
    if constexpr (std::is_same_v<T, float>)
      if (vec && activation_forward_f32_avx2(op, x + lo, y + lo, hi - lo, a)) return;
#endif
    (void)vec;
    DLCORE_ACT_SWITCH(op, forward_run, x + lo, y + lo, hi - lo, a, b);
  });
}

template <typename T>
void backward_typed(ActOp op, const T* g, const T* x, const T* y, T* gx, int64_t n, T a, T b) {
  const bool vec = std::is_same_v<T, float> && use_avx2();
  parallel_for(n, grain_for(op), [&](int64_t lo, int64_t hi) {
    const T* xs = x ? x + lo : nullptr;
    const T* ys = y ? y + lo : nullptr;
#if defined(__x86_64__) || defined(__i386__)
    if constexpr (std::is_same_v<T, float>)
      if (vec && activation_backward_f32_avx2(op, g + lo, xs, ys, gx + lo, hi - lo, a)) return;
#endif
    (void)vec;
    DLCORE_ACT_SWITCH(op, backward_run, g + lo, xs, ys, gx + lo, hi - lo, a, b);
  });
}

}  // namespace

void activation_forward(ActOp op, DType dtype, const void* x, void* y, int64_t n, double a,
                        double b) {
  if (dtype == DType::Float32)
    forward_typed<float>(op, (const float*)x, (float*)y, n, (float)a, (float)b);
  else
    forward_typed<double>(op, (const double*)x, (double*)y, n, a, b);
}

void activation_backward(ActOp op, DType dtype, const void* grad, const void* x, const void* y,
                         void* grad_in, int64_t n, double a, double b) {
  if (dtype == DType::Float32)
    backward_typed<float>(op, (const float*)grad, (const float*)x, (const float*)y,
                          (float*)grad_in, n, (float)a, (float)b);
  else
    backward_typed<double>(op, (const double*)grad, (const double*)x, (const double*)y,
                           (double*)grad_in, n, a, b);
}

}  // namespace dlcore::cpu
