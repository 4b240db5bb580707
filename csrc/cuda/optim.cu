// optim.cu — fused optimizer steps on the GPU; mirrors csrc/cpu/optim.cpp line for line.
//
// Each step is one grid-stride kernel over the parameter's n elements: a thread reads param,
// grad and the state values of its element once, and writes param and state once — the
// minimum traffic an optimizer step can have (7 streams for Adam). Consecutive threads touch
// consecutive elements, so every warp's loads and stores coalesce into full 128-byte lines.
// The options that change the dataflow (coupled weight decay, amsgrad, centered, momentum) are
// template parameters, so no thread branches on them; the per-step scalars (bias corrections,
// NAdam's mu) are computed once on the host in double and rounded to the element type, exactly
// as on the CPU, so CPU and GPU give the same results to float32 rounding.
#include <cmath>
#include <type_traits>

#include "../cpu/kernels.h"  // cpu::nadam_scalars: the host-side scalars are shared
#include "common.cuh"
#include "kernels.h"

namespace dlcore::cuda {
namespace {

constexpr int kThreads = 256;

template <typename F>
void with_flag(bool flag, F&& fn) {
  if (flag) fn(std::true_type{});
  else fn(std::false_type{});
}

template <typename F>
void dispatch_float(DType dtype, const char* name, F&& fn) {
  switch (dtype) {
    case DType::Float32: fn(float{}); break;
    case DType::Float64: fn(double{}); break;
    default:
      throw std::runtime_error(std::string(name) + ": parameters must be float32 or float64, got " +
                               dtype_name(dtype));
  }
}

// torch.maximum semantics: NaN on either side wins.
template <typename T>
__device__ __forceinline__ T max_nan(T a, T b) {
  T r = a > b ? a : b;
  return a != a ? a : r;
}

// PyTorch's lerp: from the start for |w| < 0.5, from the end otherwise (see cpu/optim.cpp).
template <typename T>
struct Lerp {
  bool small;
  T coeff;
  Lerp(double w) : small(std::fabs(w) < 0.5), coeff((T)(small ? w : w - 1.0)) {}
};

template <typename T>
__device__ __forceinline__ T lerp(T start, T end, const Lerp<T>& l) {
  return (l.small ? start : end) + l.coeff * (end - start);
}

#define GRID_STRIDE(i, n) \
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

// ---- SGD --------------------------------------------------------------------------------------
template <typename T, bool kWD, bool kMom>
__global__ void sgd_kernel(T* __restrict__ p, const T* __restrict__ grad, T* __restrict__ buf,
                           int64_t n, T sign, T lr_neg, T wd, T mom, T one_minus_damp, bool first,
                           bool nesterov) {
  GRID_STRIDE(i, n) {
    T g = sign * grad[i];
    if (kWD) g = g + wd * p[i];
    if (kMom) {
      T bi = first ? g : buf[i] * mom + one_minus_damp * g;
      buf[i] = bi;
      g = nesterov ? g + mom * bi : bi;
    }
    p[i] = p[i] + lr_neg * g;
  }
}

// ---- Adam / AdamW -----------------------------------------------------------------------------
template <typename T, bool kWD, bool kAms>
__global__ void adam_kernel(T* __restrict__ p, const T* __restrict__ grad, T* __restrict__ m,
                            T* __restrict__ v, T* __restrict__ vmax, int64_t n, T sign, T wd,
                            T decay, Lerp<T> l1, T beta2, T one_minus_beta2, T bc2_sqrt, T eps,
                            T step_neg) {
  GRID_STRIDE(i, n) {
    T pi = p[i] * decay;
    T g = sign * grad[i];
    if (kWD) g = g + wd * pi;
    T mi = lerp(m[i], g, l1);
    T vi = v[i] * beta2;
    vi = vi + one_minus_beta2 * g * g;
    m[i] = mi;
    v[i] = vi;
    if (kAms) {
      vi = max_nan(vmax[i], vi);
      vmax[i] = vi;
    }
    T denom = sqrt(vi) / bc2_sqrt + eps;
    p[i] = pi + step_neg * (mi / denom);
  }
}

// ---- Adagrad ----------------------------------------------------------------------------------
template <typename T, bool kWD>
__global__ void adagrad_kernel(T* __restrict__ p, const T* __restrict__ grad, T* __restrict__ sum,
                               int64_t n, T sign, T wd, T eps, T clr_neg) {
  GRID_STRIDE(i, n) {
    T g = sign * grad[i];
    if (kWD) g = g + wd * p[i];
    T s = sum[i] + g * g;
    sum[i] = s;
    p[i] = p[i] + clr_neg * (g / (sqrt(s) + eps));
  }
}

// ---- RMSprop ----------------------------------------------------------------------------------
template <typename T, bool kWD, bool kCentered, bool kMom>
__global__ void rmsprop_kernel(T* __restrict__ p, const T* __restrict__ grad, T* __restrict__ sq,
                               T* __restrict__ gavg, T* __restrict__ buf, int64_t n, T sign, T wd,
                               T alpha, T one_minus_alpha, Lerp<T> la, T eps, T mom, T lr_neg) {
  GRID_STRIDE(i, n) {
    T g = sign * grad[i];
    if (kWD) g = g + wd * p[i];
    T s = sq[i] * alpha;
    s = s + one_minus_alpha * g * g;
    sq[i] = s;
    T avg;
    if (kCentered) {
      T ga = lerp(gavg[i], g, la);
      gavg[i] = ga;
      avg = sqrt(s - ga * ga);
    } else {
      avg = sqrt(s);
    }
    avg = avg + eps;
    if (kMom) {
      T bi = buf[i] * mom;
      bi = bi + g / avg;
      buf[i] = bi;
      p[i] = p[i] + lr_neg * bi;
    } else {
      p[i] = p[i] + lr_neg * (g / avg);
    }
  }
}

// ---- Adadelta ---------------------------------------------------------------------------------
template <typename T, bool kWD>
__global__ void adadelta_kernel(T* __restrict__ p, const T* __restrict__ grad, T* __restrict__ sq,
                                T* __restrict__ acc, int64_t n, T sign, T wd, T rho,
                                T one_minus_rho, T eps, T lr_neg) {
  GRID_STRIDE(i, n) {
    T g = sign * grad[i];
    if (kWD) g = g + wd * p[i];
    T s = sq[i] * rho;
    s = s + one_minus_rho * g * g;
    sq[i] = s;
    T std_ = sqrt(s + eps);
    T a = acc[i];
    T delta = sqrt(a + eps);
    delta = delta / std_;
    delta = delta * g;
    acc[i] = a * rho + one_minus_rho * delta * delta;
    p[i] = p[i] + lr_neg * delta;
  }
}

// ---- Adamax -----------------------------------------------------------------------------------
template <typename T, bool kWD>
__global__ void adamax_kernel(T* __restrict__ p, const T* __restrict__ grad, T* __restrict__ m,
                              T* __restrict__ u, int64_t n, T sign, T wd, Lerp<T> l1, T beta2,
                              T eps, T clr_neg) {
  GRID_STRIDE(i, n) {
    T g = sign * grad[i];
    if (kWD) g = g + wd * p[i];
    T mi = lerp(m[i], g, l1);
    m[i] = mi;
    T ui = max_nan(u[i] * beta2, fabs(g) + eps);
    u[i] = ui;
    p[i] = p[i] + clr_neg * (mi / ui);
  }
}

// ---- NAdam ------------------------------------------------------------------------------------
template <typename T, bool kWD>
__global__ void nadam_kernel(T* __restrict__ p, const T* __restrict__ grad, T* __restrict__ m,
                             T* __restrict__ v, int64_t n, T sign, T wd, T decay, Lerp<T> l1,
                             T beta2, T one_minus_beta2, T bc2, T eps, T c_g, T c_m) {
  GRID_STRIDE(i, n) {
    T pi = p[i] * decay;
    T g = sign * grad[i];
    if (kWD) g = g + wd * pi;
    T mi = lerp(m[i], g, l1);
    T vi = v[i] * beta2;
    vi = vi + one_minus_beta2 * g * g;
    m[i] = mi;
    v[i] = vi;
    T denom = sqrt(vi / bc2) + eps;
    pi = pi + c_g * (g / denom);
    p[i] = pi + c_m * (mi / denom);
  }
}

#undef GRID_STRIDE

}  // namespace

// ---- entry points -----------------------------------------------------------------------------

void sgd_step(DType dtype, void* param, const void* grad, void* momentum_buffer, int64_t n,
              double lr, double momentum, double dampening, double weight_decay, bool nesterov,
              bool maximize, bool first_step, void* stream) {
  if (n <= 0) return;
  dispatch_float(dtype, "sgd_step", [&](auto zero) {
    using T = decltype(zero);
    with_flag(weight_decay != 0, [&](auto wd_on) {
      with_flag(momentum_buffer != nullptr, [&](auto mom_on) {
        sgd_kernel<T, decltype(wd_on)::value, decltype(mom_on)::value>
            <<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(
                (T*)param, (const T*)grad, (T*)momentum_buffer, n, maximize ? T(-1) : T(1),
                (T)-lr, (T)weight_decay, (T)momentum, (T)(1.0 - dampening), first_step, nesterov);
        DLCORE_LAUNCH_CHECK("sgd_kernel");
      });
    });
  });
}

void adam_step(DType dtype, void* param, const void* grad, void* exp_avg, void* exp_avg_sq,
               void* max_exp_avg_sq, int64_t n, double lr, double beta1, double beta2, double eps,
               double weight_decay, bool decoupled_weight_decay, bool maximize, int64_t step,
               void* stream) {
  if (n <= 0) return;
  const double bc1 = 1.0 - std::pow(beta1, (double)step);
  const double bc2 = 1.0 - std::pow(beta2, (double)step);
  const double step_size = lr / bc1;
  const bool coupled = weight_decay != 0 && !decoupled_weight_decay;
  const double decay = (weight_decay != 0 && decoupled_weight_decay) ? 1.0 - lr * weight_decay : 1.0;
  dispatch_float(dtype, "adam_step", [&](auto zero) {
    using T = decltype(zero);
    with_flag(coupled, [&](auto wd_on) {
      with_flag(max_exp_avg_sq != nullptr, [&](auto ams) {
        adam_kernel<T, decltype(wd_on)::value, decltype(ams)::value>
            <<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(
                (T*)param, (const T*)grad, (T*)exp_avg, (T*)exp_avg_sq, (T*)max_exp_avg_sq, n,
                maximize ? T(-1) : T(1), (T)weight_decay, (T)decay, Lerp<T>(1.0 - beta1),
                (T)beta2, (T)(1.0 - beta2), (T)std::pow(bc2, 0.5), (T)eps, (T)-step_size);
        DLCORE_LAUNCH_CHECK("adam_kernel");
      });
    });
  });
}

void adagrad_step(DType dtype, void* param, const void* grad, void* sum, int64_t n, double lr,
                  double lr_decay, double weight_decay, double eps, bool maximize, int64_t step,
                  void* stream) {
  if (n <= 0) return;
  const double clr = lr / (1.0 + (double)(step - 1) * lr_decay);
  dispatch_float(dtype, "adagrad_step", [&](auto zero) {
    using T = decltype(zero);
    with_flag(weight_decay != 0, [&](auto wd_on) {
      adagrad_kernel<T, decltype(wd_on)::value>
          <<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(
              (T*)param, (const T*)grad, (T*)sum, n, maximize ? T(-1) : T(1), (T)weight_decay,
              (T)eps, (T)-clr);
      DLCORE_LAUNCH_CHECK("adagrad_kernel");
    });
  });
}

void rmsprop_step(DType dtype, void* param, const void* grad, void* square_avg, void* grad_avg,
                  void* momentum_buffer, int64_t n, double lr, double alpha, double eps,
                  double weight_decay, double momentum, bool maximize, void* stream) {
  if (n <= 0) return;
  dispatch_float(dtype, "rmsprop_step", [&](auto zero) {
    using T = decltype(zero);
    with_flag(weight_decay != 0, [&](auto wd_on) {
      with_flag(grad_avg != nullptr, [&](auto centered) {
        with_flag(momentum_buffer != nullptr, [&](auto mom_on) {
          rmsprop_kernel<T, decltype(wd_on)::value, decltype(centered)::value,
                         decltype(mom_on)::value>
              <<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(
                  (T*)param, (const T*)grad, (T*)square_avg, (T*)grad_avg, (T*)momentum_buffer,
                  n, maximize ? T(-1) : T(1), (T)weight_decay, (T)alpha, (T)(1.0 - alpha),
                  Lerp<T>(1.0 - alpha), (T)eps, (T)momentum, (T)-lr);
          DLCORE_LAUNCH_CHECK("rmsprop_kernel");
        });
      });
    });
  });
}

void adadelta_step(DType dtype, void* param, const void* grad, void* square_avg, void* acc_delta,
                   int64_t n, double lr, double rho, double eps, double weight_decay,
                   bool maximize, void* stream) {
  if (n <= 0) return;
  dispatch_float(dtype, "adadelta_step", [&](auto zero) {
    using T = decltype(zero);
    with_flag(weight_decay != 0, [&](auto wd_on) {
      adadelta_kernel<T, decltype(wd_on)::value>
          <<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(
              (T*)param, (const T*)grad, (T*)square_avg, (T*)acc_delta, n,
              maximize ? T(-1) : T(1), (T)weight_decay, (T)rho, (T)(1.0 - rho), (T)eps, (T)-lr);
      DLCORE_LAUNCH_CHECK("adadelta_kernel");
    });
  });
}

void adamax_step(DType dtype, void* param, const void* grad, void* exp_avg, void* exp_inf,
                 int64_t n, double lr, double beta1, double beta2, double eps,
                 double weight_decay, bool maximize, int64_t step, void* stream) {
  if (n <= 0) return;
  const double clr = lr / (1.0 - std::pow(beta1, (double)step));
  dispatch_float(dtype, "adamax_step", [&](auto zero) {
    using T = decltype(zero);
    with_flag(weight_decay != 0, [&](auto wd_on) {
      adamax_kernel<T, decltype(wd_on)::value>
          <<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(
              (T*)param, (const T*)grad, (T*)exp_avg, (T*)exp_inf, n, maximize ? T(-1) : T(1),
              (T)weight_decay, Lerp<T>(1.0 - beta1), (T)beta2, (T)eps, (T)-clr);
      DLCORE_LAUNCH_CHECK("adamax_kernel");
    });
  });
}

double nadam_step(DType dtype, void* param, const void* grad, void* exp_avg, void* exp_avg_sq,
                  int64_t n, double lr, double beta1, double beta2, double eps,
                  double weight_decay, double momentum_decay, bool decoupled_weight_decay,
                  bool maximize, int64_t step, double mu_product, void* stream) {
  const cpu::NadamScalars s = cpu::nadam_scalars(lr, beta1, beta2, momentum_decay, step, mu_product);
  if (n <= 0) return s.mu_product;
  const bool coupled = weight_decay != 0 && !decoupled_weight_decay;
  const double decay = (weight_decay != 0 && decoupled_weight_decay) ? 1.0 - lr * weight_decay : 1.0;
  dispatch_float(dtype, "nadam_step", [&](auto zero) {
    using T = decltype(zero);
    with_flag(coupled, [&](auto wd_on) {
      nadam_kernel<T, decltype(wd_on)::value>
          <<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(
              (T*)param, (const T*)grad, (T*)exp_avg, (T*)exp_avg_sq, n, maximize ? T(-1) : T(1),
              (T)weight_decay, (T)decay, Lerp<T>(1.0 - beta1), (T)beta2, (T)(1.0 - beta2),
              (T)s.bias_correction2, (T)eps, (T)s.coef_grad, (T)s.coef_exp_avg);
      DLCORE_LAUNCH_CHECK("nadam_kernel");
    });
  });
  return s.mu_product;
}

}  // namespace dlcore::cuda
