// softmax.cpp — row-wise softmax / log_softmax and the fused cross-entropy loss on the CPU.
//
// Every function here works on a contiguous [rows, cols] block, one row at a time, rows split
// across OpenMP threads. Numerical stability comes from the log-sum-exp shift:
//   lse = m + log(sum_j exp(x_j - m)),  m = max_j x_j,
// so no exp ever sees a positive argument (no overflow) and the largest term is exactly 1
// (the sum cannot underflow to 0 and log() stays finite).
//
// Cross entropy fuses log_softmax with the negative log-likelihood: the forward needs only
// lse per row (kept for the backward), and the backward is the famous
//   d loss / d x_j = p_j - onehot_j          (p = softmax(x))
// generalised below to class weights and label smoothing — one pass, no [rows, cols]
// temporary for log-probabilities, which is what makes it cheaper than log_softmax + nll.
//
// The row max, the exps and the cross-entropy's logs go through row_max_f32_avx2,
// exp_shift_sum_f32_avx2 and log_f32_avx2 (activation_avx2.cpp) for float32 on AVX2 machines;
// the plain loops are the reference and the float64 path. Sums over a row are accumulated in
// double on the scalar path.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "kernels.h"
#include "parallel.h"

namespace dlcore::cpu {

#if defined(__x86_64__) || defined(__i386__)
float exp_shift_sum_f32_avx2(const float* x, float* y, int64_t n, float shift);
void ce_grad_row_f32_avx2(const float* x, float* g, int64_t n, float lse, float a, float c);
float row_max_f32_avx2(const float* x, int64_t n);
void log_f32_avx2(const float* x, float* y, int64_t n);
#endif

namespace {


// The row's maximum (a NaN element is skipped; the sum after it is NaN anyway). Float32 on AVX2
// takes row_max_f32_avx2; here four independent running maxima (GCC does not vectorize this
// reduction without -ffast-math, and one scalar chain is bound by the max latency).
template <typename T> T row_max(const T* x, int64_t n, bool vec) {
#if defined(__x86_64__) || defined(__i386__)
  if constexpr (std::is_same_v<T, float>)
    if (vec) return row_max_f32_avx2(x, n);
#endif
  (void)vec;
  T m[4] = {-std::numeric_limits<T>::infinity(), -std::numeric_limits<T>::infinity(),
            -std::numeric_limits<T>::infinity(), -std::numeric_limits<T>::infinity()};
  int64_t j = 0;
  for (; j + 4 <= n; j += 4)
    for (int k = 0; k < 4; ++k) m[k] = std::max(m[k], x[j + k]);
  for (; j < n; ++j) m[0] = std::max(m[0], x[j]);
  return std::max(std::max(m[0], m[1]), std::max(m[2], m[3]));
}

// y_j = exp(x_j - shift) (y may be null); returns sum_j exp(x_j - shift).
template <typename T> double exp_shift_sum(const T* x, T* y, int64_t n, T shift, bool vec) {
#if defined(__x86_64__) || defined(__i386__)
  if constexpr (std::is_same_v<T, float>)
    if (vec) return exp_shift_sum_f32_avx2(x, y, n, shift);
#endif
  (void)vec;
  double s = 0;
  for (int64_t j = 0; j < n; ++j) {
    T e = std::exp(x[j] - shift);
    if (y) y[j] = e;
    s += e;
  }
  return s;
}

constexpr int64_t kCeBlock = 64;   // rows whose log-sum-exps are taken together

// Rows per parallel chunk: about kParallelGrain elements' worth of work.
// Unweighted float32 cross-entropy gradient row on AVX2, out = e^(x - lse) * a - c in one fused
// pass (activation_avx2.cpp); false: the caller takes the two-pass path.
template <typename T> bool ce_grad_row(const T* x, T* out, int64_t n, T lse, T a, T c, bool vec) {
#if defined(__x86_64__) || defined(__i386__)
  if constexpr (std::is_same_v<T, float>)
    if (vec) {
      ce_grad_row_f32_avx2(x, out, n, lse, a, c);
      return true;
    }
#endif
  (void)x; (void)out; (void)n; (void)lse; (void)a; (void)c; (void)vec;
  return false;
}

int64_t row_grain(int64_t cols) { return std::max<int64_t>(1, kParallelGrain / 4 / std::max<int64_t>(cols, 1)); }

// ---- softmax / log_softmax ------------------------------------------------------------

template <typename T>
void softmax_fwd(const T* x, T* y, int64_t rows, int64_t cols, bool log) {
  const bool vec = use_avx2_kernels();
  parallel_for(rows, row_grain(cols), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * cols;
      T* yr = y + r * cols;
      const T m = row_max(xr, cols, vec);
      if (log) {
        const T lse = m + (T)std::log(exp_shift_sum(xr, (T*)nullptr, cols, m, vec));
        for (int64_t j = 0; j < cols; ++j) yr[j] = xr[j] - lse;
      } else {
        const T inv = (T)(1.0 / exp_shift_sum(xr, yr, cols, m, vec));
        for (int64_t j = 0; j < cols; ++j) yr[j] *= inv;
      }
    }
  });
}

template <typename T>
void softmax_bwd(const T* g, const T* y, T* gx, int64_t rows, int64_t cols, bool log) {
  const bool vec = use_avx2_kernels();
  parallel_for(rows, row_grain(cols), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* gr = g + r * cols;
      const T* yr = y + r * cols;
      T* out = gx + r * cols;
      double s = 0;
      if (log) {   // gx = g - softmax * sum(g), softmax = exp(y)
        for (int64_t j = 0; j < cols; ++j) s += gr[j];
        exp_shift_sum(yr, out, cols, T(0), vec);
        const T ts = (T)s;
        for (int64_t j = 0; j < cols; ++j) out[j] = gr[j] - out[j] * ts;
      } else {     // gx = y * (g - <g, y>)
        for (int64_t j = 0; j < cols; ++j) s += (double)gr[j] * yr[j];
        const T ts = (T)s;
        for (int64_t j = 0; j < cols; ++j) out[j] = yr[j] * (gr[j] - ts);
      }
    }
  });
}

// ---- cross entropy ---------------------------------------------------------------------

// Log-sum-exp of rows [r0, r1) that have a valid target, into l[r - r0] (others untouched).
// Float32 on AVX2: the row sums first, then one 8-lane log per 8 rows (log_f32_avx2, ~1 ulp
// in float; the sum is added to the max in double) instead of a double std::log per row, which
// took ~20 ns a row, a third of a 1600 x 64 forward.
template <typename T>
void ce_lse_rows(const T* x, const int64_t* target, int64_t cols, int64_t ignore_index,
                 int64_t r0, int64_t r1, bool vec, double* l) {
  auto valid = [&](int64_t r) { return target[r] != ignore_index && target[r] >= 0 && target[r] < cols; };
#if defined(__x86_64__) || defined(__i386__)
  if constexpr (std::is_same_v<T, float>) {
    if (vec) {
      float m[kCeBlock], s[kCeBlock], ls[kCeBlock];
      for (int64_t r = r0; r < r1; ++r) {
        m[r - r0] = 0.f;
        s[r - r0] = 1.f;
        if (!valid(r)) continue;
        const float* xr = x + r * cols;
        m[r - r0] = row_max(xr, cols, vec);
        s[r - r0] = exp_shift_sum_f32_avx2(xr, nullptr, cols, m[r - r0]);
      }
      log_f32_avx2(s, ls, r1 - r0);
      for (int64_t r = r0; r < r1; ++r)
        if (valid(r)) l[r - r0] = (double)m[r - r0] + (double)ls[r - r0];
      return;
    }
  }
#endif
  for (int64_t r = r0; r < r1; ++r) {
    if (!valid(r)) continue;
    const T* xr = x + r * cols;
    const T m = row_max(xr, cols, vec);
    l[r - r0] = (double)m + std::log(exp_shift_sum(xr, (T*)nullptr, cols, m, vec));
  }
}

template <typename T>
int64_t ce_fwd(const T* x, const int64_t* target, const T* w, int64_t rows, int64_t cols,
               int64_t ignore_index, double eps, bool log_input, int reduction, T* loss, T* lse,
               double* scratch, T* norm) {
  const bool vec = use_avx2_kernels();
  std::atomic<int64_t> bad{std::numeric_limits<int64_t>::max()};
  parallel_for(rows, row_grain(cols), [&](int64_t r0, int64_t r1) {
    double lb[kCeBlock];
    for (int64_t b0 = r0; b0 < r1; b0 += kCeBlock) {
      const int64_t b1 = std::min(r1, b0 + kCeBlock);
      if (!log_input) ce_lse_rows(x, target, cols, ignore_index, b0, b1, vec, lb);
      for (int64_t r = b0; r < b1; ++r) {
        const int64_t t = target[r];
        double li = 0, wi = 0, l = 0;   // row loss, row weight, log-sum-exp (0: log-prob input)
        if (t != ignore_index && (t < 0 || t >= cols)) {
          int64_t cur = bad.load();
          while (r < cur && !bad.compare_exchange_weak(cur, r)) {}
        } else if (t != ignore_index) {
          const T* xr = x + r * cols;
          if (!log_input) l = lb[r - b0];
          wi = w ? (double)w[t] : 1.0;
          li = (1.0 - eps) * wi * (l - (double)xr[t]);
          if (eps > 0) {   // sum_c w_c (lse - x_c) = lse * W - sum_c w_c x_c
            double sw = 0, swx = 0;
            if (w) for (int64_t j = 0; j < cols; ++j) { sw += w[j]; swx += (double)w[j] * xr[j]; }
            else { sw = (double)cols; for (int64_t j = 0; j < cols; ++j) swx += xr[j]; }
            li += eps / (double)cols * (l * sw - swx);
          }
        }
        lse[r] = (T)l;
        if (reduction == 0) loss[r] = (T)li;
        else { scratch[r] = li; scratch[rows + r] = wi; }
      }
    }
  });
  const int64_t first_bad = bad.load();
  if (first_bad != std::numeric_limits<int64_t>::max()) return first_bad;
  if (reduction != 0) {
    // Row-order sums: the same result for any thread count.
    double sl = 0, sw = 0;
    for (int64_t r = 0; r < rows; ++r) { sl += scratch[r]; sw += scratch[rows + r]; }
    if (reduction == 1) { loss[0] = (T)(sl / sw); norm[0] = (T)sw; }   // 0/0 -> NaN like torch
    else loss[0] = (T)sl;
  }
  return -1;
}

template <typename T>
void ce_bwd(const T* x, const int64_t* target, const T* w, const T* lse, const T* grad,
            const T* norm, int64_t rows, int64_t cols, int64_t ignore_index, double eps,
            bool log_input, int reduction, T* gx) {
  const bool vec = use_avx2_kernels();
  double W = (double)cols;
  if (w) { W = 0; for (int64_t j = 0; j < cols; ++j) W += w[j]; }
  const double g0 = reduction == 0 ? 0.0 : (double)grad[0] / (reduction == 1 ? (double)norm[0] : 1.0);
  const double eps_c = eps / (double)cols;
  parallel_for(rows, row_grain(cols), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      T* out = gx + r * cols;
      const int64_t t = target[r];
      if (t == ignore_index || t < 0 || t >= cols) {
        std::memset(out, 0, sizeof(T) * cols);
        continue;
      }
      const double s = reduction == 0 ? (double)grad[r] : g0;
      const double wt = w ? (double)w[t] : 1.0;
      const T* xr = x + r * cols;
      if (log_input) {           // d/dx_j = -(1-eps) w_t [j==t] - eps w_j / C
        const T c = (T)(-s * eps_c);
        if (w) for (int64_t j = 0; j < cols; ++j) out[j] = c * w[j];
        else for (int64_t j = 0; j < cols; ++j) out[j] = c;
      } else {                   // p_j (s A) - s eps w_j / C,  A = (1-eps) w_t + eps W / C
        const T a = (T)(s * ((1.0 - eps) * wt + eps_c * W));
        const T c = (T)(s * eps_c);
        if (!ce_grad_row(xr, out, cols, lse[r], a, c, vec && !w)) {
          exp_shift_sum(xr, out, cols, lse[r], vec);
          if (w) for (int64_t j = 0; j < cols; ++j) out[j] = out[j] * a - c * w[j];
          else for (int64_t j = 0; j < cols; ++j) out[j] = out[j] * a - c;
        }
      }
      out[t] -= (T)(s * (1.0 - eps) * wt);
    }
  });
}

}  // namespace

void softmax_forward(DType dtype, const void* x, void* y, int64_t rows, int64_t cols, bool log) {
  if (dtype == DType::Float32) softmax_fwd((const float*)x, (float*)y, rows, cols, log);
  else softmax_fwd((const double*)x, (double*)y, rows, cols, log);
}

void softmax_backward(DType dtype, const void* grad, const void* y, void* grad_in, int64_t rows,
                      int64_t cols, bool log) {
  if (dtype == DType::Float32)
    softmax_bwd((const float*)grad, (const float*)y, (float*)grad_in, rows, cols, log);
  else
    softmax_bwd((const double*)grad, (const double*)y, (double*)grad_in, rows, cols, log);
}

int64_t cross_entropy_forward(DType dtype, const void* x, const int64_t* target,
                              const void* weight, int64_t rows, int64_t cols,
                              int64_t ignore_index, double label_smoothing, bool log_input,
                              int reduction, void* loss, void* lse, void* scratch, void* norm) {
  if (dtype == DType::Float32)
    return ce_fwd((const float*)x, target, (const float*)weight, rows, cols, ignore_index,
                  label_smoothing, log_input, reduction, (float*)loss, (float*)lse,
                  (double*)scratch, (float*)norm);
  return ce_fwd((const double*)x, target, (const double*)weight, rows, cols, ignore_index,
                label_smoothing, log_input, reduction, (double*)loss, (double*)lse,
                (double*)scratch, (double*)norm);
}

void cross_entropy_backward(DType dtype, const void* x, const int64_t* target,
                            const void* weight, const void* lse, const void* grad,
                            const void* norm, int64_t rows, int64_t cols, int64_t ignore_index,
                            double label_smoothing, bool log_input, int reduction,
                            void* grad_x) {
  if (dtype == DType::Float32)
    ce_bwd((const float*)x, target, (const float*)weight, (const float*)lse, (const float*)grad,
           (const float*)norm, rows, cols, ignore_index, label_smoothing, log_input, reduction,
           (float*)grad_x);
  else
    ce_bwd((const double*)x, target, (const double*)weight, (const double*)lse,
           (const double*)grad, (const double*)norm, rows, cols, ignore_index, label_smoothing,
           log_input, reduction, (double*)grad_x);
}

}  // namespace dlcore::cpu
