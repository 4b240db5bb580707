// optim.cpp — fused optimizer steps on the CPU.
//
// An optimizer step is a pure streaming computation: for every element it reads the parameter,
// its gradient and one to three state values, does a dozen flops, and writes the parameter and
// the state back. Done the way a Python optimizer built from tensor ops does it (grad.add(param),
// exp_avg.lerp_(grad), exp_avg_sq.mul_().addcmul_(), sqrt, div, addcdiv_ ...), every line is
// another trip through memory plus a temporary. Here each optimizer is ONE pass: every stream is
// read once and written once, and nothing is allocated. For Adam on float32 that is 7 streams x
// 4 bytes per element (param, grad, exp_avg, exp_avg_sq read; param, exp_avg, exp_avg_sq
// written), so the step runs at memory speed.
//
// Numerics follow torch.optim's single-tensor algorithms operation by operation (same order of
// roundings: e.g. Adam divides sqrt(v) by sqrt(1 - beta2^t) and then adds eps, the moments use
// lerp with the same branch on the weight), so trajectories match PyTorch to float32 rounding.
// Scalars that depend only on the step (bias corrections, NAdam's mu) are computed once per call
// in double, then rounded to the element type, as PyTorch does with its Python-float scalars.
//
// Structure: each optimizer has an element loop `*_range` over [b, e) templated on the element
// type and on the options that change the dataflow (coupled weight decay, amsgrad, centered,
// momentum), so the loop body has no data-dependent branches and GCC vectorizes it (SSE2
// sqrtps/divps in the baseline build — the loop is memory-bound, wider vectors would not help).
// `maximize` folds into a sign (x * -1 is exact). The public entry points compute the scalars,
// pick the template instance and split the range over OpenMP threads.
#include <cmath>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "kernels.h"
#include "parallel.h"

namespace dlcore::cpu {
namespace {

// The range is cut into chunks of kChunk elements (256 KB per float32 stream: long enough for
// the hardware prefetchers to ramp up, a multiple of the 64-byte line so no two threads write
// the same cache line) handed out dynamically. A static half-and-half split would make the whole
// step wait for the slower thread whenever the OS gives its core to another process; with
// dynamic chunks the other thread simply takes more of them. Below kOptimGrain elements one
// thread is faster than waking the team.
constexpr int64_t kChunk = 1 << 16;
constexpr int64_t kOptimGrain = 1 << 14;

template <typename F>
void for_range(int64_t n, F&& fn) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  const int nt = (int)std::min<int64_t>(thread_count_for(n, kOptimGrain), chunks);
  if (nt <= 1) {
    if (n > 0) fn(int64_t(0), n);
    return;
  }
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
  for (int64_t c = 0; c < chunks; ++c) fn(c * kChunk, std::min(n, (c + 1) * kChunk));
}

// Runs fn(std::true_type / std::false_type): turns a runtime option into a template constant.
template <typename F>
void with_flag(bool flag, F&& fn) {
  if (flag) fn(std::true_type{});
  else fn(std::false_type{});
}

// torch.maximum semantics: a NaN on either side wins (std::max would silently drop it).
template <typename T>
inline T max_nan(T a, T b) {
  T r = a > b ? a : b;   // written as two selects (not ||) so it stays a vector blend
  return a != a ? a : r;
}

// start + w * (end - start), computed as PyTorch's lerp does: for |w| >= 0.5 it works from the
// end (end - (1 - w) * (end - start)), which is more accurate there. `small` = |w| < 0.5 and
// `coeff` = small ? w : w - 1 are uniform over the loop, so this is a blend, not a branch.
template <typename T>
inline T lerp(T start, T end, bool small, T coeff) {
  return (small ? start : end) + coeff * (end - start);
}

template <typename T>
struct Lerp {
  bool small;
  T coeff;
  explicit Lerp(double w) : small(std::fabs(w) < 0.5), coeff((T)(small ? w : w - 1.0)) {}
};

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

// ---- SGD --------------------------------------------------------------------------------------
// g = ±grad (+ wd*p); buf = first ? g : momentum*buf + (1-dampening)*g;
// g = nesterov ? g + momentum*buf : buf; p -= lr*g.
template <typename T, bool kWD, bool kMom>
void sgd_range(T* __restrict p, const T* __restrict grad, T* __restrict buf, int64_t b, int64_t e,
               T sign, T lr_neg, T wd, T mom, T one_minus_damp, bool first, bool nesterov) {
  for (int64_t i = b; i < e; ++i) {
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

// The Adam moments of one element (Adam, AdamW, NAdam): m = lerp(m, g, 1-b1),
// v = b2*v + (1-b2)*g*g, each rounded as torch's lerp_ / mul_ / addcmul_ round them.
template <typename T>
inline void adam_moments(T& m, T& v, T g, Lerp<T> l1, T beta2, T one_minus_beta2) {
  m = lerp(m, g, l1.small, l1.coeff);
  const T vb = v * beta2;
  v = vb + one_minus_beta2 * g * g;
}

// ---- Adam / AdamW -----------------------------------------------------------------------------
// m = lerp(m, g, 1-b1); v = b2*v + (1-b2)*g*g; vmax = max(vmax, v) (amsgrad);
// p -= (lr / (1-b1^t)) * m / (sqrt(v) / sqrt(1-b2^t) + eps). AdamW first scales p by 1 - lr*wd.
template <typename T, bool kWD, bool kAms>
void adam_range(T* __restrict p, const T* __restrict grad, T* __restrict m, T* __restrict v,
                T* __restrict vmax, int64_t b, int64_t e, T sign, T wd, T decay, Lerp<T> l1,
                T beta2, T one_minus_beta2, T bc2_sqrt, T eps, T step_neg) {
  for (int64_t i = b; i < e; ++i) {
    T pi = p[i] * decay;                 // decay == 1 unless decoupled weight decay (exact)
    T g = sign * grad[i];
    if (kWD) g = g + wd * pi;
    T mi = m[i], vi = v[i];
    adam_moments(mi, vi, g, l1, beta2, one_minus_beta2);
    m[i] = mi;
    v[i] = vi;
    if (kAms) {
      vi = max_nan(vmax[i], vi);
      vmax[i] = vi;
    }
    T denom = std::sqrt(vi) / bc2_sqrt + eps;
    p[i] = pi + step_neg * (mi / denom);
  }
}

// ---- Adagrad ----------------------------------------------------------------------------------
// sum += g*g; p -= clr * g / (sqrt(sum) + eps), clr = lr / (1 + (t-1)*lr_decay).
template <typename T, bool kWD>
void adagrad_range(T* __restrict p, const T* __restrict grad, T* __restrict sum, int64_t b,
                   int64_t e, T sign, T wd, T eps, T clr_neg) {
  for (int64_t i = b; i < e; ++i) {
    T g = sign * grad[i];
    if (kWD) g = g + wd * p[i];
    T s = sum[i] + g * g;
    sum[i] = s;
    p[i] = p[i] + clr_neg * (g / (std::sqrt(s) + eps));
  }
}

// ---- RMSprop ----------------------------------------------------------------------------------
// sq = alpha*sq + (1-alpha)*g*g; centered: ga = lerp(ga, g, 1-alpha), avg = sqrt(sq - ga*ga)
// else avg = sqrt(sq); avg += eps; momentum: buf = mom*buf + g/avg, p -= lr*buf; else
// p -= lr * g/avg.
template <typename T, bool kWD, bool kCentered, bool kMom>
void rmsprop_range(T* __restrict p, const T* __restrict grad, T* __restrict sq,
                   T* __restrict gavg, T* __restrict buf, int64_t b, int64_t e, T sign, T wd,
                   T alpha, T one_minus_alpha, Lerp<T> la, T eps, T mom, T lr_neg) {
  for (int64_t i = b; i < e; ++i) {
    T g = sign * grad[i];
    if (kWD) g = g + wd * p[i];
    T s = sq[i] * alpha;
    s = s + one_minus_alpha * g * g;
    sq[i] = s;
    T avg;
    if (kCentered) {
      T ga = lerp(gavg[i], g, la.small, la.coeff);
      gavg[i] = ga;
      avg = std::sqrt(s - ga * ga);
    } else {
      avg = std::sqrt(s);
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
// sq = rho*sq + (1-rho)*g*g; delta = sqrt(acc + eps) / sqrt(sq + eps) * g;
// acc = rho*acc + (1-rho)*delta^2; p -= lr*delta.
template <typename T, bool kWD>
void adadelta_range(T* __restrict p, const T* __restrict grad, T* __restrict sq,
                    T* __restrict acc, int64_t b, int64_t e, T sign, T wd, T rho,
                    T one_minus_rho, T eps, T lr_neg) {
  for (int64_t i = b; i < e; ++i) {
    T g = sign * grad[i];
    if (kWD) g = g + wd * p[i];
    T s = sq[i] * rho;
    s = s + one_minus_rho * g * g;
    sq[i] = s;
    T std_ = std::sqrt(s + eps);
    T delta = std::sqrt(acc[i] + eps);
    delta = delta / std_;
    delta = delta * g;
    T a = acc[i] * rho;
    acc[i] = a + one_minus_rho * delta * delta;
    p[i] = p[i] + lr_neg * delta;
  }
}

// ---- Adamax -----------------------------------------------------------------------------------
// m = lerp(m, g, 1-b1); u = max(b2*u, |g| + eps); p -= (lr / (1-b1^t)) * m / u.
template <typename T, bool kWD>
void adamax_range(T* __restrict p, const T* __restrict grad, T* __restrict m, T* __restrict u,
                  int64_t b, int64_t e, T sign, T wd, Lerp<T> l1, T beta2, T eps, T clr_neg) {
  for (int64_t i = b; i < e; ++i) {
    T g = sign * grad[i];
    if (kWD) g = g + wd * p[i];
    T mi = lerp(m[i], g, l1.small, l1.coeff);
    m[i] = mi;
    T ui = max_nan(u[i] * beta2, std::fabs(g) + eps);
    u[i] = ui;
    p[i] = p[i] + clr_neg * (mi / ui);
  }
}

// ---- NAdam ------------------------------------------------------------------------------------
// m, v as Adam; denom = sqrt(v / (1-b2^t)) + eps;
// p += c_g * g/denom, then p += c_m * m/denom (two roundings of p, as PyTorch's two addcdiv_).
template <typename T, bool kWD>
void nadam_range(T* __restrict p, const T* __restrict grad, T* __restrict m, T* __restrict v,
                 int64_t b, int64_t e, T sign, T wd, T decay, Lerp<T> l1, T beta2,
                 T one_minus_beta2, T bc2, T eps, T c_g, T c_m) {
  for (int64_t i = b; i < e; ++i) {
    T pi = p[i] * decay;
    T g = sign * grad[i];
    if (kWD) g = g + wd * pi;
    T mi = m[i], vi = v[i];
    adam_moments(mi, vi, g, l1, beta2, one_minus_beta2);
    m[i] = mi;
    v[i] = vi;
    T denom = std::sqrt(vi / bc2) + eps;
    pi = pi + c_g * (g / denom);
    p[i] = pi + c_m * (mi / denom);
  }
}

}  // namespace

// ---- entry points -----------------------------------------------------------------------------

NadamScalars nadam_scalars(double lr, double beta1, double beta2, double momentum_decay,
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

void sgd_step(DType dtype, void* param, const void* grad, void* momentum_buffer, int64_t n,
              double lr, double momentum, double dampening, double weight_decay, bool nesterov,
              bool maximize, bool first_step) {
  dispatch_float(dtype, "sgd_step", [&](auto zero) {
    using T = decltype(zero);
    T* p = (T*)param; const T* g = (const T*)grad; T* buf = (T*)momentum_buffer;
    with_flag(weight_decay != 0, [&](auto wd_on) {
      with_flag(buf != nullptr, [&](auto mom_on) {
        for_range(n, [&](int64_t b, int64_t e) {
          sgd_range<T, decltype(wd_on)::value, decltype(mom_on)::value>(
              p, g, buf, b, e, maximize ? T(-1) : T(1), (T)-lr, (T)weight_decay, (T)momentum,
              (T)(1.0 - dampening), first_step, nesterov);
        });
      });
    });
  });
}

void adam_step(DType dtype, void* param, const void* grad, void* exp_avg, void* exp_avg_sq,
               void* max_exp_avg_sq, int64_t n, double lr, double beta1, double beta2, double eps,
               double weight_decay, bool decoupled_weight_decay, bool maximize, int64_t step) {
  const double bc1 = 1.0 - std::pow(beta1, (double)step);
  const double bc2 = 1.0 - std::pow(beta2, (double)step);
  const double step_size = lr / bc1;
  const bool coupled = weight_decay != 0 && !decoupled_weight_decay;
  const double decay = (weight_decay != 0 && decoupled_weight_decay) ? 1.0 - lr * weight_decay : 1.0;
  dispatch_float(dtype, "adam_step", [&](auto zero) {
    using T = decltype(zero);
    T* p = (T*)param; const T* g = (const T*)grad;
    T* m = (T*)exp_avg; T* v = (T*)exp_avg_sq; T* vmax = (T*)max_exp_avg_sq;
    with_flag(coupled, [&](auto wd_on) {
      with_flag(vmax != nullptr, [&](auto ams) {
        for_range(n, [&](int64_t b, int64_t e) {
          adam_range<T, decltype(wd_on)::value, decltype(ams)::value>(
              p, g, m, v, vmax, b, e, maximize ? T(-1) : T(1), (T)weight_decay, (T)decay,
              Lerp<T>(1.0 - beta1), (T)beta2, (T)(1.0 - beta2), (T)std::pow(bc2, 0.5), (T)eps,
              (T)-step_size);
        });
      });
    });
  });
}

void adagrad_step(DType dtype, void* param, const void* grad, void* sum, int64_t n, double lr,
                  double lr_decay, double weight_decay, double eps, bool maximize, int64_t step) {
  const double clr = lr / (1.0 + (double)(step - 1) * lr_decay);
  dispatch_float(dtype, "adagrad_step", [&](auto zero) {
    using T = decltype(zero);
    T* p = (T*)param; const T* g = (const T*)grad; T* s = (T*)sum;
    with_flag(weight_decay != 0, [&](auto wd_on) {
      for_range(n, [&](int64_t b, int64_t e) {
        adagrad_range<T, decltype(wd_on)::value>(p, g, s, b, e, maximize ? T(-1) : T(1),
                                                 (T)weight_decay, (T)eps, (T)-clr);
      });
    });
  });
}

void rmsprop_step(DType dtype, void* param, const void* grad, void* square_avg, void* grad_avg,
                  void* momentum_buffer, int64_t n, double lr, double alpha, double eps,
                  double weight_decay, double momentum, bool maximize) {
  dispatch_float(dtype, "rmsprop_step", [&](auto zero) {
    using T = decltype(zero);
    T* p = (T*)param; const T* g = (const T*)grad;
    T* sq = (T*)square_avg; T* ga = (T*)grad_avg; T* buf = (T*)momentum_buffer;
    with_flag(weight_decay != 0, [&](auto wd_on) {
      with_flag(ga != nullptr, [&](auto centered) {
        with_flag(buf != nullptr, [&](auto mom_on) {
          for_range(n, [&](int64_t b, int64_t e) {
            rmsprop_range<T, decltype(wd_on)::value, decltype(centered)::value,
                          decltype(mom_on)::value>(
                p, g, sq, ga, buf, b, e, maximize ? T(-1) : T(1), (T)weight_decay, (T)alpha,
                (T)(1.0 - alpha), Lerp<T>(1.0 - alpha), (T)eps, (T)momentum, (T)-lr);
          });
        });
      });
    });
  });
}

void adadelta_step(DType dtype, void* param, const void* grad, void* square_avg, void* acc_delta,
                   int64_t n, double lr, double rho, double eps, double weight_decay,
                   bool maximize) {
  dispatch_float(dtype, "adadelta_step", [&](auto zero) {
    using T = decltype(zero);
    T* p = (T*)param; const T* g = (const T*)grad; T* sq = (T*)square_avg; T* acc = (T*)acc_delta;
    with_flag(weight_decay != 0, [&](auto wd_on) {
      for_range(n, [&](int64_t b, int64_t e) {
        adadelta_range<T, decltype(wd_on)::value>(p, g, sq, acc, b, e, maximize ? T(-1) : T(1),
                                                  (T)weight_decay, (T)rho, (T)(1.0 - rho),
                                                  (T)eps, (T)-lr);
      });
    });
  });
}

void adamax_step(DType dtype, void* param, const void* grad, void* exp_avg, void* exp_inf,
                 int64_t n, double lr, double beta1, double beta2, double eps,
                 double weight_decay, bool maximize, int64_t step) {
  const double clr = lr / (1.0 - std::pow(beta1, (double)step));
  dispatch_float(dtype, "adamax_step", [&](auto zero) {
    using T = decltype(zero);
    T* p = (T*)param; const T* g = (const T*)grad; T* m = (T*)exp_avg; T* u = (T*)exp_inf;
    with_flag(weight_decay != 0, [&](auto wd_on) {
      for_range(n, [&](int64_t b, int64_t e) {
        adamax_range<T, decltype(wd_on)::value>(p, g, m, u, b, e, maximize ? T(-1) : T(1),
                                                (T)weight_decay, Lerp<T>(1.0 - beta1), (T)beta2,
                                                (T)eps, (T)-clr);
      });
    });
  });
}

double nadam_step(DType dtype, void* param, const void* grad, void* exp_avg, void* exp_avg_sq,
                  int64_t n, double lr, double beta1, double beta2, double eps,
                  double weight_decay, double momentum_decay, bool decoupled_weight_decay,
                  bool maximize, int64_t step, double mu_product) {
  const NadamScalars s = nadam_scalars(lr, beta1, beta2, momentum_decay, step, mu_product);
  const bool coupled = weight_decay != 0 && !decoupled_weight_decay;
  const double decay = (weight_decay != 0 && decoupled_weight_decay) ? 1.0 - lr * weight_decay : 1.0;
  dispatch_float(dtype, "nadam_step", [&](auto zero) {
    using T = decltype(zero);
    T* p = (T*)param; const T* g = (const T*)grad; T* m = (T*)exp_avg; T* v = (T*)exp_avg_sq;
    with_flag(coupled, [&](auto wd_on) {
      for_range(n, [&](int64_t b, int64_t e) {
        nadam_range<T, decltype(wd_on)::value>(p, g, m, v, b, e, maximize ? T(-1) : T(1),
                                               (T)weight_decay, (T)decay, Lerp<T>(1.0 - beta1),
                                               (T)beta2, (T)(1.0 - beta2), (T)s.bias_correction2,
                                               (T)eps, (T)s.coef_grad, (T)s.coef_exp_avg);
      });
    });
  });
  return s.mu_product;
}

}  // namespace dlcore::cpu
