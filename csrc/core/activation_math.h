// activation_math.h — the activations and their derivatives, one definition for both devices.
//
// cpu/activation.cpp (the scalar path: float64, and float32 without AVX2) and
// cuda/activation.cu evaluate these element by element; cpu/activation_avx2.cpp has its own
// 8-lane versions of the exp-based float32 ops, tested against these.
//
// Backpropagation through y = f(x) is gx = g * f'(x). Each derivative is written in terms of
// whatever is cheapest to reach at backward time: sigmoid' = y(1-y) and tanh' = 1-y² reuse the
// saved output (no second exp), relu' only needs the sign of y (so a GEMM whose epilogue applied
// the relu never has to keep its pre-activation), elu' = y + alpha on the negative side.
// Parameters: LeakyRelu a = negative_slope; Elu a = alpha; Softplus a = beta, b = threshold
// (beta*x > threshold gives x, as torch).
#pragma once
#include "host_device.h"
#include "ops.h"

namespace dlcore::act {

constexpr double kSqrt1_2 = 0.70710678118654752440;    // 1/sqrt(2)
constexpr double kInvSqrt2Pi = 0.39894228040143267794;  // 1/sqrt(2 pi)
constexpr double kSqrt2OverPi = 0.79788456080286535588;
constexpr double kGeluC = 0.044715;

// Which saved tensor the backward of OP reads (the other pointer may be null).
template <ActOp OP> constexpr bool backward_needs_x() {
  return OP != ActOp::Relu && OP != ActOp::Sigmoid && OP != ActOp::Tanh;
}
template <ActOp OP> constexpr bool backward_needs_y() {
  return OP == ActOp::Relu || OP == ActOp::Sigmoid || OP == ActOp::Tanh || OP == ActOp::Elu;
}

template <typename T, ActOp OP>
DLCORE_HD T forward(T x, T a, T b) {
  if constexpr (OP == ActOp::Relu) return x > T(0) ? x : (x == x ? T(0) : x);  // NaN propagates
  if constexpr (OP == ActOp::LeakyRelu) return x > T(0) ? x : x * a;
  if constexpr (OP == ActOp::Elu) return x > T(0) ? x : a * hd::expm1(x);
  if constexpr (OP == ActOp::Softplus) {                  // log(1 + e^(beta x)) / beta
    const T z = x * a;
    if (z > b) return x;                                  // linear regime, as torch
    return ((z < T(0) ? T(0) : z) + hd::log1p(hd::exp(-hd::fabs(z)))) / a;
  }
  if constexpr (OP == ActOp::Sigmoid) return hd::sigmoid(x);
  if constexpr (OP == ActOp::Tanh) return hd::tanh(x);
  if constexpr (OP == ActOp::Gelu) return T(0.5) * x * (T(1) + hd::erf(x * T(kSqrt1_2)));
  if constexpr (OP == ActOp::GeluTanh) {
    const T u = T(kSqrt2OverPi) * (x + T(kGeluC) * x * x * x);
    return T(0.5) * x * (T(1) + hd::tanh(u));
  }
  if constexpr (OP == ActOp::Silu) return x * hd::sigmoid(x);
  return x;
}

// gx for one element; x or y is a dummy when backward_needs_x / _y says the op does not read it.
template <typename T, ActOp OP>
DLCORE_HD T backward(T g, T x, T y, T a, T b) {
  if constexpr (OP == ActOp::Relu) return y > T(0) ? g : T(0);
  if constexpr (OP == ActOp::LeakyRelu) return x > T(0) ? g : g * a;
  if constexpr (OP == ActOp::Elu) return x > T(0) ? g : g * (y + a);   // alpha e^x = y + alpha
  if constexpr (OP == ActOp::Softplus) {
    const T z = x * a;
    return z > b ? g : g * hd::sigmoid(z);
  }
  if constexpr (OP == ActOp::Sigmoid) return g * y * (T(1) - y);
  if constexpr (OP == ActOp::Tanh) return g * (T(1) - y * y);
  if constexpr (OP == ActOp::Gelu) {                                   // Phi(x) + x phi(x)
    const T cdf = T(0.5) * (T(1) + hd::erf(x * T(kSqrt1_2)));
    const T pdf = T(kInvSqrt2Pi) * hd::exp(T(-0.5) * x * x);
    return g * (cdf + x * pdf);
  }
  if constexpr (OP == ActOp::GeluTanh) {
    const T x2 = x * x;
    const T t = hd::tanh(T(kSqrt2OverPi) * (x + T(kGeluC) * x2 * x));
    const T du = T(kSqrt2OverPi) * (T(1) + T(3 * kGeluC) * x2);
    return g * (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * du);
  }
  if constexpr (OP == ActOp::Silu) {                                   // s (1 + x (1 - s))
    const T s = hd::sigmoid(x);
    return g * s * (T(1) + x * (T(1) - s));
  }
  return g;
}

}  // namespace dlcore::act

// FN<T, OP>(args...) for the runtime `op` (T must name the element type at the use site):
// one instantiation per op, so each kernel body is branch-free.
#define DLCORE_ACT_SWITCH(op, FN, ...)                                          \
  switch (op) {                                                                 \
    case ::dlcore::ActOp::Relu: FN<T, ::dlcore::ActOp::Relu>(__VA_ARGS__); break;             \
    case ::dlcore::ActOp::LeakyRelu: FN<T, ::dlcore::ActOp::LeakyRelu>(__VA_ARGS__); break;   \
    case ::dlcore::ActOp::Elu: FN<T, ::dlcore::ActOp::Elu>(__VA_ARGS__); break;               \
    case ::dlcore::ActOp::Softplus: FN<T, ::dlcore::ActOp::Softplus>(__VA_ARGS__); break;     \
    case ::dlcore::ActOp::Sigmoid: FN<T, ::dlcore::ActOp::Sigmoid>(__VA_ARGS__); break;       \
    case ::dlcore::ActOp::Tanh: FN<T, ::dlcore::ActOp::Tanh>(__VA_ARGS__); break;             \
    case ::dlcore::ActOp::Gelu: FN<T, ::dlcore::ActOp::Gelu>(__VA_ARGS__); break;             \
    case ::dlcore::ActOp::GeluTanh: FN<T, ::dlcore::ActOp::GeluTanh>(__VA_ARGS__); break;     \
    case ::dlcore::ActOp::Silu: FN<T, ::dlcore::ActOp::Silu>(__VA_ARGS__); break;             \
  }
