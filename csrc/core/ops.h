// ops.h — operation codes shared by the CPU and CUDA kernels (one switch per kernel family).
#pragma once

namespace dlcore {

enum class UnaryOp : int {
  Neg, Abs, Exp, Log, Sqrt, Sigmoid, Tanh, Relu, Sign, Reciprocal, Square,
  Sin, Cos, Floor, Ceil, Round, LogicalNot,
};

// Comparison ops (Eq..Ge) write Bool; the others write the input dtype.
enum class BinaryOp : int {
  Add, Sub, Mul, Div, Pow, Maximum, Minimum,
  Eq, Ne, Lt, Le, Gt, Ge,
  LogicalAnd, LogicalOr,
};

inline bool is_comparison(BinaryOp op) {
  return op >= BinaryOp::Eq && op <= BinaryOp::LogicalOr;
}

enum class ReduceOp : int { Sum, Prod, Max, Min, ArgMax, ArgMin };

// Elementwise activations with their own kernels (forward and backward): see
// core/activation_math.h for the formulas and the meaning of the parameters a, b.
enum class ActOp : int { Relu, LeakyRelu, Elu, Softplus, Sigmoid, Tanh, Gelu, GeluTanh, Silu };

// Activation fused into a GEMM epilogue: C = act(alpha*A@B + beta*C + bias).
enum class Activation : int { None, Relu, Sigmoid, Tanh };

}  // namespace dlcore
