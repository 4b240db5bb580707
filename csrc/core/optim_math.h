// optim_math.h — the per-element update of every optimizer, one definition for both devices.
//
// cpu/optim.cpp runs these in a loop over [b, e) split across OpenMP threads; cuda/optim.cu
// runs them in a grid-stride kernel. Everything that decides the numbers lives here, so the
// CPU and the GPU cannot drift apart: the per-step scalars (bias corrections, NAdam's
// coefficients) are computed once on the host in double and rounded to the element type, as
// PyTorch does with its Python-float scalars, and each element update follows torch.optim's
// single-tensor algorithm operation by operation (same order of roundings: Adam divides
// sqrt(v) by sqrt(1 - beta2^t) and then adds eps; the moments use lerp with the same branch
// on the weight), so trajectories match PyTorch to float32 rounding.
//
// Each optimizer is an Args struct (its per-step scalars, built on the host) and an update
// functor (the pointers, the Args, and operator()(i): the update of element i). The functor is
// a template on the element type and on the options that change the dataflow (coupled weight
// decay, amsgrad, centered, momentum), so the loop body has no data-dependent branches: GCC
// vectorizes the CPU loop, and no GPU thread branches on an option. `maximize` folds into a
// sign (x * -1 is exact). Pointers of state an instance does not use may be null.
//
// The whole step is written once, at the bottom (adam_step etc.): it computes the scalars,
// picks the instance and hands a per-element functor to `run(n, update)`, the one thing a
// device supplies (CPU: chunks of the range over the OpenMP team; CUDA: a grid-stride kernel).
#pragma once
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "dtype.h"
#include "host_device.h"

namespace dlcore::optim {

// torch.maximum semantics: a NaN on either side wins (std::max would silently drop it).
template <typename T>
DLCORE_HD T max_nan(T a, T b) {
  T r = a > b ? a : b;   // written as two selects (not ||) so it stays a vector blend
  return a != a ? a : r;
}

// start + w * (end - start), computed as PyTorch's lerp does: for |w| >= 0.5 it works from the
// end (end - (1 - w) * (end - start)), which is more accurate there. `small` = |w| < 0.5 and
// `coeff` = small ? w : w - 1 are uniform over the loop, so this is a blend, not a branch.
template <typename T>
struct Lerp {
  bool small;
  T coeff;
  Lerp() = default;
  explicit Lerp(double w) : small(std::fabs(w) < 0.5), coeff((T)(small ? w : w - 1.0)) {}
};
template <typename T>
DLCORE_HD T lerp(T start, T end, const Lerp<T>& l) {
  return (l.small ? start : end) + l.coeff * (end - start);
}

// The gradient an update sees: ±grad, plus wd * p for coupled (L2) weight decay.
template <typename T, bool kWD>
DLCORE_HD T effective_grad(T sign, T grad, T wd, T p) {
  T g = sign * grad;
  if (kWD) g = g + wd * p;
  return g;
}

// ---- SGD --------------------------------------------------------------------------------------
// buf = first ? g : momentum*buf + (1-dampening)*g; g = nesterov ? g + momentum*buf : buf;
// p -= lr*g.
template <typename T>
struct SgdArgs {
  T sign, lr_neg, wd, mom, one_minus_damp;
  bool first, nesterov;
  SgdArgs(double lr, double momentum, double dampening, double weight_decay, bool nesterov_,
          bool maximize, bool first_step)
      : sign(maximize ? T(-1) : T(1)), lr_neg((T)-lr), wd((T)weight_decay), mom((T)momentum),
        one_minus_damp((T)(1.0 - dampening)), first(first_step), nesterov(nesterov_) {}
};
template <typename T, bool kWD, bool kMom>
struct Sgd {
  T* p; const T* grad; T* buf; SgdArgs<T> a;
  DLCORE_HD void operator()(int64_t i) const {
    const T pi = p[i], b0 = kMom && !a.first ? buf[i] : T(0);   // every load before a store
    T g = effective_grad<T, kWD>(a.sign, grad[i], a.wd, pi);
    if (kMom) {
      T bi = a.first ? g : b0 * a.mom + a.one_minus_damp * g;
      buf[i] = bi;
      g = a.nesterov ? g + a.mom * bi : bi;
    }
    p[i] = pi + a.lr_neg * g;
  }
};

// ---- Adam / AdamW / NAdam's moments -----------------------------------------------------------
// m = lerp(m, g, 1-b1); v = b2*v + (1-b2)*g*g, each rounded as torch's lerp_ / mul_ / addcmul_.
template <typename T>
DLCORE_HD void adam_moments(T& m, T& v, T g, const Lerp<T>& l1, T beta2, T one_minus_beta2) {
  m = lerp(m, g, l1);
  const T vb = v * beta2;
  v = vb + one_minus_beta2 * g * g;
}

// vmax = max(vmax, v) (amsgrad); p -= (lr / (1-b1^t)) * m / (sqrt(v) / sqrt(1-b2^t) + eps).
// AdamW (decoupled decay) first scales p by 1 - lr*wd; Adam's weight decay is coupled.
template <typename T>
struct AdamArgs {
  T sign, wd, decay, beta2, one_minus_beta2, bc2_sqrt, eps, step_neg;
  Lerp<T> l1;
  bool coupled;   // picks the kWD instance
  AdamArgs(double lr, double beta1, double beta2_, double eps_, double weight_decay,
           bool decoupled, bool maximize, int64_t step)
      : sign(maximize ? T(-1) : T(1)), wd((T)weight_decay),
        decay((T)(weight_decay != 0 && decoupled ? 1.0 - lr * weight_decay : 1.0)),
        beta2((T)beta2_), one_minus_beta2((T)(1.0 - beta2_)),
        bc2_sqrt((T)std::pow(1.0 - std::pow(beta2_, (double)step), 0.5)), eps((T)eps_),
        step_neg((T)(-lr / (1.0 - std::pow(beta1, (double)step)))), l1(1.0 - beta1),
        coupled(weight_decay != 0 && !decoupled) {}
};
template <typename T, bool kWD, bool kAms>
struct Adam {
  T* p; const T* grad; T* m; T* v; T* vmax; AdamArgs<T> a;
  DLCORE_HD void operator()(int64_t i) const {
    const T pi = p[i] * a.decay;           // decay == 1 unless decoupled weight decay (exact)
    const T g = effective_grad<T, kWD>(a.sign, grad[i], a.wd, pi);
    T mi = m[i], vi = v[i];
    // vmax[i] is read before m[i] and v[i] are stored: the arrays are usually 4 KB-congruent
    // (page-aligned allocations), and a load issued after a store to the same offset within a
    // page waits on it as if they overlapped. One Zen 4 core, 10M floats, median of 4 runs:
    // an AMSGrad step took 1.46x a plain Adam step with the load after the stores, 1.30x now.
    const T vmax_old = kAms ? vmax[i] : T(0);
    adam_moments(mi, vi, g, a.l1, a.beta2, a.one_minus_beta2);
    m[i] = mi;
    v[i] = vi;
    if (kAms) {
      vi = max_nan(vmax_old, vi);
      vmax[i] = vi;
    }
    const T denom = hd::sqrt(vi) / a.bc2_sqrt + a.eps;
    p[i] = pi + a.step_neg * (mi / denom);
  }
};

// ---- NAdam ------------------------------------------------------------------------------------
// m, v as Adam; denom = sqrt(v / (1-b2^t)) + eps; p += c_g * g/denom, then p += c_m * m/denom
// (two roundings of p, as PyTorch's two addcdiv_). The host-side scalars come from
// nadam_scalars(), which also advances the running product of the mu_t:
// mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay)). PyTorch keeps mu_product in a float32
// tensor, so the product is rounded to float32 each step; the coefficients are then double.
struct NadamScalars {
  double mu_product;        // prod mu_1..mu_t (float32-rounded)
  double bias_correction2;  // 1 - beta2^t
  double coef_grad;         // -lr * (1 - mu_t) / (1 - mu_product)
  double coef_exp_avg;      // -lr * mu_{t+1} / (1 - mu_product * mu_{t+1})
};
inline NadamScalars nadam_scalars(double lr, double beta1, double beta2, double momentum_decay,
                                  int64_t step, double mu_product_prev) {
  const double t = (double)step;
  const double mu = beta1 * (1.0 - 0.5 * std::pow(0.96, t * momentum_decay));
  const double mu_next = beta1 * (1.0 - 0.5 * std::pow(0.96, (t + 1.0) * momentum_decay));
  NadamScalars s;
  // float32 product: PyTorch's `mu_product *= mu` on a float32 0-dim tensor.
  s.mu_product = (double)((float)mu_product_prev * (float)mu);
  s.bias_correction2 = 1.0 - std::pow(beta2, t);
  s.coef_grad = -lr * (1.0 - mu) / (1.0 - s.mu_product);
  s.coef_exp_avg = (-lr * mu_next) / (1.0 - s.mu_product * mu_next);
  return s;
}
template <typename T>
struct NadamArgs {
  T sign, wd, decay, beta2, one_minus_beta2, bc2, eps, c_g, c_m;
  Lerp<T> l1;
  bool coupled;
  NadamArgs(const NadamScalars& s, double lr, double beta1, double beta2_, double eps_,
            double weight_decay, bool decoupled, bool maximize)
      : sign(maximize ? T(-1) : T(1)), wd((T)weight_decay),
        decay((T)(weight_decay != 0 && decoupled ? 1.0 - lr * weight_decay : 1.0)),
        beta2((T)beta2_), one_minus_beta2((T)(1.0 - beta2_)), bc2((T)s.bias_correction2),
        eps((T)eps_), c_g((T)s.coef_grad), c_m((T)s.coef_exp_avg), l1(1.0 - beta1),
        coupled(weight_decay != 0 && !decoupled) {}
};
template <typename T, bool kWD>
struct Nadam {
  T* p; const T* grad; T* m; T* v; NadamArgs<T> a;
  DLCORE_HD void operator()(int64_t i) const {
    T pi = p[i] * a.decay;
    const T g = effective_grad<T, kWD>(a.sign, grad[i], a.wd, pi);
    T mi = m[i], vi = v[i];
    adam_moments(mi, vi, g, a.l1, a.beta2, a.one_minus_beta2);
    m[i] = mi;
    v[i] = vi;
    const T denom = hd::sqrt(vi / a.bc2) + a.eps;
    pi = pi + a.c_g * (g / denom);
    p[i] = pi + a.c_m * (mi / denom);
  }
};

// ---- Adagrad ----------------------------------------------------------------------------------
// sum += g*g; p -= clr * g / (sqrt(sum) + eps), clr = lr / (1 + (t-1)*lr_decay).
template <typename T>
struct AdagradArgs {
  T sign, wd, eps, clr_neg;
  AdagradArgs(double lr, double lr_decay, double weight_decay, double eps_, bool maximize,
              int64_t step)
      : sign(maximize ? T(-1) : T(1)), wd((T)weight_decay), eps((T)eps_),
        clr_neg((T)(-lr / (1.0 + (double)(step - 1) * lr_decay))) {}
};
template <typename T, bool kWD>
struct Adagrad {
  T* p; const T* grad; T* sum; AdagradArgs<T> a;
  DLCORE_HD void operator()(int64_t i) const {
    const T pi = p[i], s0 = sum[i];   // every load before a store (see Adam)
    const T g = effective_grad<T, kWD>(a.sign, grad[i], a.wd, pi);
    const T s = s0 + g * g;
    sum[i] = s;
    p[i] = pi + a.clr_neg * (g / (hd::sqrt(s) + a.eps));
  }
};

// ---- RMSprop ----------------------------------------------------------------------------------
// sq = alpha*sq + (1-alpha)*g*g; centered: ga = lerp(ga, g, 1-alpha), avg = sqrt(sq - ga*ga)
// else avg = sqrt(sq); avg += eps; momentum: buf = mom*buf + g/avg, p -= lr*buf; else
// p -= lr * g/avg.
template <typename T>
struct RmspropArgs {
  T sign, wd, alpha, one_minus_alpha, eps, mom, lr_neg;
  Lerp<T> la;
  RmspropArgs(double lr, double alpha_, double eps_, double weight_decay, double momentum,
              bool maximize)
      : sign(maximize ? T(-1) : T(1)), wd((T)weight_decay), alpha((T)alpha_),
        one_minus_alpha((T)(1.0 - alpha_)), eps((T)eps_), mom((T)momentum), lr_neg((T)-lr),
        la(1.0 - alpha_) {}
};
template <typename T, bool kWD, bool kCentered, bool kMom>
struct Rmsprop {
  T* p; const T* grad; T* sq; T* gavg; T* buf; RmspropArgs<T> a;
  DLCORE_HD void operator()(int64_t i) const {
    // Every load before a store (see Adam).
    const T pi = p[i], s0 = sq[i];
    const T ga0 = kCentered ? gavg[i] : T(0), b0 = kMom ? buf[i] : T(0);
    const T g = effective_grad<T, kWD>(a.sign, grad[i], a.wd, pi);
    T s = s0 * a.alpha;
    s = s + a.one_minus_alpha * g * g;
    sq[i] = s;
    T avg;
    if (kCentered) {
      const T ga = lerp(ga0, g, a.la);
      gavg[i] = ga;
      avg = hd::sqrt(s - ga * ga);
    } else {
      avg = hd::sqrt(s);
    }
    avg = avg + a.eps;
    if (kMom) {
      T bi = b0 * a.mom;
      bi = bi + g / avg;
      buf[i] = bi;
      p[i] = pi + a.lr_neg * bi;
    } else {
      p[i] = pi + a.lr_neg * (g / avg);
    }
  }
};

// ---- Adadelta ---------------------------------------------------------------------------------
// sq = rho*sq + (1-rho)*g*g; delta = sqrt(acc + eps) / sqrt(sq + eps) * g;
// acc = rho*acc + (1-rho)*delta^2; p -= lr*delta.
template <typename T>
struct AdadeltaArgs {
  T sign, wd, rho, one_minus_rho, eps, lr_neg;
  AdadeltaArgs(double lr, double rho_, double eps_, double weight_decay, bool maximize)
      : sign(maximize ? T(-1) : T(1)), wd((T)weight_decay), rho((T)rho_),
        one_minus_rho((T)(1.0 - rho_)), eps((T)eps_), lr_neg((T)-lr) {}
};
template <typename T, bool kWD>
struct Adadelta {
  T* p; const T* grad; T* sq; T* acc; AdadeltaArgs<T> a;
  DLCORE_HD void operator()(int64_t i) const {
    const T pi = p[i], s0 = sq[i], ai = acc[i];   // every load before a store (see Adam)
    const T g = effective_grad<T, kWD>(a.sign, grad[i], a.wd, pi);
    T s = s0 * a.rho;
    s = s + a.one_minus_rho * g * g;
    sq[i] = s;
    const T std_ = hd::sqrt(s + a.eps);
    T delta = hd::sqrt(ai + a.eps);
    delta = delta / std_;
    delta = delta * g;
    const T ar = ai * a.rho;
    acc[i] = ar + a.one_minus_rho * delta * delta;
    p[i] = pi + a.lr_neg * delta;
  }
};

// ---- Adamax -----------------------------------------------------------------------------------
// m = lerp(m, g, 1-b1); u = max(b2*u, |g| + eps); p -= (lr / (1-b1^t)) * m / u.
template <typename T>
struct AdamaxArgs {
  T sign, wd, beta2, eps, clr_neg;
  Lerp<T> l1;
  AdamaxArgs(double lr, double beta1, double beta2_, double eps_, double weight_decay,
             bool maximize, int64_t step)
      : sign(maximize ? T(-1) : T(1)), wd((T)weight_decay), beta2((T)beta2_), eps((T)eps_),
        clr_neg((T)(-lr / (1.0 - std::pow(beta1, (double)step)))), l1(1.0 - beta1) {}
};
template <typename T, bool kWD>
struct Adamax {
  T* p; const T* grad; T* m; T* u; AdamaxArgs<T> a;
  DLCORE_HD void operator()(int64_t i) const {
    const T pi = p[i], m0 = m[i], u0 = u[i];   // every load before a store (see Adam)
    const T g = effective_grad<T, kWD>(a.sign, grad[i], a.wd, pi);
    const T mi = lerp(m0, g, a.l1);
    m[i] = mi;
    const T ui = max_nan(u0 * a.beta2, hd::fabs(g) + a.eps);
    u[i] = ui;
    p[i] = pi + a.clr_neg * (mi / ui);
  }
};

// ---- the steps, for any device (host code) ----------------------------------------------------
// Runs fn(std::true_type / std::false_type): a runtime option as a template constant.
template <typename F>
void with_flag(bool flag, F&& fn) {
  if (flag) fn(std::true_type{});
  else fn(std::false_type{});
}
// Runs fn(T{}) for the element type of a float32/float64 parameter.
template <typename F>
void with_float(DType dtype, const char* name, F&& fn) {
  switch (dtype) {
    case DType::Float32: fn(float{}); break;
    case DType::Float64: fn(double{}); break;
    default:
      throw std::runtime_error(std::string(name) + ": parameters must be float32 or float64, got " +
                               dtype_name(dtype));
  }
}
#define DLCORE_FLAG(x) decltype(x)::value

template <typename Run>
void sgd_step(Run&& run, DType dtype, void* param, const void* grad, void* momentum_buffer,
              int64_t n, double lr, double momentum, double dampening, double weight_decay,
              bool nesterov, bool maximize, bool first_step) {
  with_float(dtype, "sgd_step", [&](auto zero) {
    using T = decltype(zero);
    const SgdArgs<T> a(lr, momentum, dampening, weight_decay, nesterov, maximize, first_step);
    with_flag(weight_decay != 0, [&](auto wd) {
      with_flag(momentum_buffer != nullptr, [&](auto mom) {
        run(n, Sgd<T, DLCORE_FLAG(wd), DLCORE_FLAG(mom)>{(T*)param, (const T*)grad,
                                                         (T*)momentum_buffer, a});
      });
    });
  });
}

template <typename Run>
void adam_step(Run&& run, DType dtype, void* param, const void* grad, void* exp_avg,
               void* exp_avg_sq, void* max_exp_avg_sq, int64_t n, double lr, double beta1,
               double beta2, double eps, double weight_decay, bool decoupled_weight_decay,
               bool maximize, int64_t step) {
  with_float(dtype, "adam_step", [&](auto zero) {
    using T = decltype(zero);
    const AdamArgs<T> a(lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay, maximize,
                        step);
    with_flag(a.coupled, [&](auto wd) {
      with_flag(max_exp_avg_sq != nullptr, [&](auto ams) {
        run(n, Adam<T, DLCORE_FLAG(wd), DLCORE_FLAG(ams)>{(T*)param, (const T*)grad, (T*)exp_avg,
                                                          (T*)exp_avg_sq, (T*)max_exp_avg_sq, a});
      });
    });
  });
}

// Returns the new running product of the mu_t (the optimizer keeps it in its state).
template <typename Run>
double nadam_step(Run&& run, DType dtype, void* param, const void* grad, void* exp_avg,
                  void* exp_avg_sq, int64_t n, double lr, double beta1, double beta2, double eps,
                  double weight_decay, double momentum_decay, bool decoupled_weight_decay,
                  bool maximize, int64_t step, double mu_product) {
  const NadamScalars s = nadam_scalars(lr, beta1, beta2, momentum_decay, step, mu_product);
  with_float(dtype, "nadam_step", [&](auto zero) {
    using T = decltype(zero);
    const NadamArgs<T> a(s, lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay,
                         maximize);
    with_flag(a.coupled, [&](auto wd) {
      run(n, Nadam<T, DLCORE_FLAG(wd)>{(T*)param, (const T*)grad, (T*)exp_avg, (T*)exp_avg_sq, a});
    });
  });
  return s.mu_product;
}

template <typename Run>
void adagrad_step(Run&& run, DType dtype, void* param, const void* grad, void* sum, int64_t n,
                  double lr, double lr_decay, double weight_decay, double eps, bool maximize,
                  int64_t step) {
  with_float(dtype, "adagrad_step", [&](auto zero) {
    using T = decltype(zero);
    const AdagradArgs<T> a(lr, lr_decay, weight_decay, eps, maximize, step);
    with_flag(weight_decay != 0, [&](auto wd) {
      run(n, Adagrad<T, DLCORE_FLAG(wd)>{(T*)param, (const T*)grad, (T*)sum, a});
    });
  });
}

template <typename Run>
void rmsprop_step(Run&& run, DType dtype, void* param, const void* grad, void* square_avg,
                  void* grad_avg, void* momentum_buffer, int64_t n, double lr, double alpha,
                  double eps, double weight_decay, double momentum, bool maximize) {
  with_float(dtype, "rmsprop_step", [&](auto zero) {
    using T = decltype(zero);
    const RmspropArgs<T> a(lr, alpha, eps, weight_decay, momentum, maximize);
    with_flag(weight_decay != 0, [&](auto wd) {
      with_flag(grad_avg != nullptr, [&](auto centered) {
        with_flag(momentum_buffer != nullptr, [&](auto mom) {
          run(n, Rmsprop<T, DLCORE_FLAG(wd), DLCORE_FLAG(centered), DLCORE_FLAG(mom)>{
                     (T*)param, (const T*)grad, (T*)square_avg, (T*)grad_avg,
                     (T*)momentum_buffer, a});
        });
      });
    });
  });
}

template <typename Run>
void adadelta_step(Run&& run, DType dtype, void* param, const void* grad, void* square_avg,
                   void* acc_delta, int64_t n, double lr, double rho, double eps,
                   double weight_decay, bool maximize) {
  with_float(dtype, "adadelta_step", [&](auto zero) {
    using T = decltype(zero);
    const AdadeltaArgs<T> a(lr, rho, eps, weight_decay, maximize);
    with_flag(weight_decay != 0, [&](auto wd) {
      run(n, Adadelta<T, DLCORE_FLAG(wd)>{(T*)param, (const T*)grad, (T*)square_avg,
                                          (T*)acc_delta, a});
    });
  });
}

template <typename Run>
void adamax_step(Run&& run, DType dtype, void* param, const void* grad, void* exp_avg,
                 void* exp_inf, int64_t n, double lr, double beta1, double beta2, double eps,
                 double weight_decay, bool maximize, int64_t step) {
  with_float(dtype, "adamax_step", [&](auto zero) {
    using T = decltype(zero);
    const AdamaxArgs<T> a(lr, beta1, beta2, eps, weight_decay, maximize, step);
    with_flag(weight_decay != 0, [&](auto wd) {
      run(n, Adamax<T, DLCORE_FLAG(wd)>{(T*)param, (const T*)grad, (T*)exp_avg, (T*)exp_inf, a});
    });
  });
}

#undef DLCORE_FLAG

}  // namespace dlcore::optim
