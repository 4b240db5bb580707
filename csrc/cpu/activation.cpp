// activation.cpp — elementwise activations and their derivatives on the CPU.
//
// The formulas (and which of x / y each derivative reads) are core/activation_math.h, shared
// with cuda/activation.cu; here they are the reference and the float64 / non-AVX2 path.
// std::exp is a library call the compiler cannot vectorize, so for float32 the exp-based ops
// go to activation_avx2.cpp (8 lanes, a polynomial exp) when the CPU has AVX2+FMA. Both paths
// run over contiguous chunks split across OpenMP threads.
#include <cstring>

#include "../core/activation_math.h"
#include "kernels.h"
#include "parallel.h"

namespace dlcore::cpu {

#if defined(__x86_64__) || defined(__i386__)
// activation_avx2.cpp: return false when `op` has no vector version (the caller falls back).
bool activation_forward_f32_avx2(ActOp op, const float* x, float* y, int64_t n, float a,
                                 float b);
bool activation_backward_f32_avx2(ActOp op, const float* g, const float* x, const float* y,
                                  float* gx, int64_t n, float a, float b);
#endif

namespace {

// Cheap ops (relu, leaky) are memory-bound: a bigger grain keeps small tensors on one thread.
int64_t grain_for(ActOp op) {
  return (op == ActOp::Relu || op == ActOp::LeakyRelu) ? kParallelGrain * 2 : kParallelGrain / 4;
}

// The switch on the op (DLCORE_ACT_SWITCH) sits outside the element loop: one instantiation
// per op, so the compiler sees a branch-free body and vectorizes what it can (relu, leaky relu,
// the y-based derivatives).
template <typename T, ActOp OP>
void forward_run(const T* x, T* y, int64_t n, T a, T b) {
  for (int64_t i = 0; i < n; ++i) y[i] = act::forward<T, OP>(x[i], a, b);
}
template <typename T, ActOp OP>
void backward_run(const T* g, const T* x, const T* y, T* gx, int64_t n, T a, T b) {
  // Only dereference the operand the op reads: the other one may be null.
  constexpr bool needs_x = act::backward_needs_x<OP>(), needs_y = act::backward_needs_y<OP>();
  for (int64_t i = 0; i < n; ++i)
    gx[i] = act::backward<T, OP>(g[i], needs_x ? x[i] : T(0), needs_y ? y[i] : T(0), a, b);
}

template <typename T>
void forward_typed(ActOp op, const T* x, T* y, int64_t n, T a, T b) {
  const bool vec = std::is_same_v<T, float> && use_avx2_kernels();
  parallel_for(n, grain_for(op), [&](int64_t lo, int64_t hi) {
#if defined(__x86_64__) || defined(__i386__)
    if constexpr (std::is_same_v<T, float>)
      if (vec && activation_forward_f32_avx2(op, x + lo, y + lo, hi - lo, a, b)) return;
#endif
    (void)vec;
    DLCORE_ACT_SWITCH(op, forward_run, x + lo, y + lo, hi - lo, a, b);
  });
}

template <typename T>
void backward_typed(ActOp op, const T* g, const T* x, const T* y, T* gx, int64_t n, T a, T b) {
  const bool vec = std::is_same_v<T, float> && use_avx2_kernels();
  parallel_for(n, grain_for(op), [&](int64_t lo, int64_t hi) {
    const T* xs = x ? x + lo : nullptr;
    const T* ys = y ? y + lo : nullptr;
#if defined(__x86_64__) || defined(__i386__)
    if constexpr (std::is_same_v<T, float>)
      if (vec && activation_backward_f32_avx2(op, g + lo, xs, ys, gx + lo, hi - lo, a, b)) return;
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
