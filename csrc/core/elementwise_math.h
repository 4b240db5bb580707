// elementwise_math.h — what one element of a unary, binary or comparison op computes, one
// definition for cpu/elementwise.cpp and cuda/elementwise.cu, so the devices agree.
//
// Float ops follow IEEE and PyTorch: Relu and Sign keep NaN, Maximum/Minimum propagate a NaN
// from either side (torch.maximum), Round is half-to-even. int64 arithmetic wraps on overflow
// (done in uint64, where C++ defines it), `//` is floor division as in Python and x // 0 gives
// 0 instead of a trap, and a negative integer power truncates 1/b^|e| (0 unless b is ±1).
// bool supports only LogicalNot and the comparisons; the host rejects everything else before
// a kernel runs, so those cases return a placeholder.
#pragma once
#include <cstdint>
#include <type_traits>

#include "host_device.h"
#include "ops.h"

namespace dlcore::ew {

// Integer power by squaring, wrapping on overflow.
DLCORE_HD int64_t ipow(int64_t base, int64_t e) {
  if (e < 0) return base == 1 ? 1 : base == -1 ? ((e & 1) ? -1 : 1) : 0;
  uint64_t r = 1, b = (uint64_t)base;
  while (e) {
    if (e & 1) r *= b;
    b *= b;
    e >>= 1;
  }
  return (int64_t)r;
}

template <typename T>
DLCORE_HD T unary(UnaryOp op, T x) {
  if constexpr (std::is_same_v<T, bool>) {
    return !x;   // LogicalNot is the only unary op on bool
  } else if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
      case UnaryOp::Neg: return -x;
      case UnaryOp::Abs: return hd::fabs(x);
      case UnaryOp::Exp: return hd::exp(x);
      case UnaryOp::Log: return hd::log(x);
      case UnaryOp::Sqrt: return hd::sqrt(x);
      case UnaryOp::Sigmoid: return hd::sigmoid(x);
      case UnaryOp::Tanh: return hd::tanh(x);
      case UnaryOp::Relu: return x > T(0) ? x : (x == x ? T(0) : x);
      case UnaryOp::Sign: return x > T(0) ? T(1) : (x < T(0) ? T(-1) : (x == x ? T(0) : x));
      case UnaryOp::Reciprocal: return T(1) / x;
      case UnaryOp::Square: return x * x;
      case UnaryOp::Sin: return hd::sin(x);
      case UnaryOp::Cos: return hd::cos(x);
      case UnaryOp::Floor: return hd::floor(x);
      case UnaryOp::Ceil: return hd::ceil(x);
      case UnaryOp::Round: return hd::rint(x);
      case UnaryOp::LogicalNot: return x == T(0) ? T(1) : T(0);
    }
  } else {   // int64: the ops that stay integral
    switch (op) {
      case UnaryOp::Neg: return (T)(0 - (uint64_t)x);
      case UnaryOp::Abs: return x < 0 ? (T)(0 - (uint64_t)x) : x;
      case UnaryOp::Relu: return x > 0 ? x : T(0);
      case UnaryOp::Sign: return (T)((x > 0) - (x < 0));
      case UnaryOp::Square: return (T)((uint64_t)x * (uint64_t)x);
      case UnaryOp::LogicalNot: return x == 0 ? T(1) : T(0);
      default: return x;   // Floor, Ceil, Round are the identity on integers
    }
  }
  return x;
}

// Binary ops that produce T (Add..Minimum).
template <typename T>
DLCORE_HD T arith(BinaryOp op, T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
      case BinaryOp::Add: return a + b;
      case BinaryOp::Sub: return a - b;
      case BinaryOp::Mul: return a * b;
      case BinaryOp::Div: return a / b;
      case BinaryOp::Pow: return hd::pow(a, b);
      case BinaryOp::Maximum: return (a != a) ? a : (b != b) ? b : (a > b ? a : b);
      case BinaryOp::Minimum: return (a != a) ? a : (b != b) ? b : (a < b ? a : b);
      default: return a;
    }
  } else if constexpr (std::is_same_v<T, int64_t>) {
    switch (op) {
      case BinaryOp::Add: return (int64_t)((uint64_t)a + (uint64_t)b);
      case BinaryOp::Sub: return (int64_t)((uint64_t)a - (uint64_t)b);
      case BinaryOp::Mul: return (int64_t)((uint64_t)a * (uint64_t)b);
      case BinaryOp::Div: {
        if (b == 0) return 0;
        if (b == -1) return (int64_t)(0 - (uint64_t)a);   // INT64_MIN // -1 wraps, no trap
        const int64_t q = a / b;
        return (q * b != a && ((a < 0) != (b < 0))) ? q - 1 : q;
      }
      case BinaryOp::Pow: return ipow(a, b);
      case BinaryOp::Maximum: return a > b ? a : b;
      case BinaryOp::Minimum: return a < b ? a : b;
      default: return a;
    }
  } else {
    return a;
  }
}

// Comparisons and logical and/or (Eq..LogicalOr), producing bool.
template <typename T>
DLCORE_HD bool compare(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::Eq: return a == b;
    case BinaryOp::Ne: return a != b;
    case BinaryOp::Lt: return a < b;
    case BinaryOp::Le: return a <= b;
    case BinaryOp::Gt: return a > b;
    case BinaryOp::Ge: return a >= b;
    case BinaryOp::LogicalAnd: return (a != T(0)) && (b != T(0));
    case BinaryOp::LogicalOr: return (a != T(0)) || (b != T(0));
    default: return false;
  }
}

}  // namespace dlcore::ew
