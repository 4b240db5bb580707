// batchnorm.cpp — batch normalization and local response normalization on the CPU.
//
// Layout: the input is a contiguous [N, C, S] block, S = the product of the spatial dims
// (1 for (N, C), L for (N, C, L), H*W for (N, C, H, W)). Channel c owns N runs of S contiguous
// values, one per sample, at x + (n*C + c)*S; its statistics run over those M = N*S values.
//
// Batch norm, one fused pass per direction (plus the output pass that cannot be avoided):
//   forward  reduce:  per channel sum(x - K) and sum((x - K)^2)          (x read once)
//            finish:  mean, biased var, invstd = 1/sqrt(var + eps); the running statistics
//                     take the UNBIASED var M/(M-1) var; scale = gamma invstd,
//                     shift = beta - mean scale                         (C values)
//            apply:   y = x scale + shift                              (x read, y written)
//   backward reduce:  per channel sum(dy) and sum(dy (x - mean))           (dy, x read once)
//            apply:   dx = a dy + b (x - mean) + d                      (dy, x read, dx written)
//     with a = gamma invstd and, in training, b = -a invstd^2 sum(dy (x-mean)) / M,
//     d = -a sum(dy) / M — the textbook  dx = gamma invstd (dy - mean(dy) - xhat mean(dy xhat))
//     with xhat = (x - mean) invstd expanded so that xhat is never stored: the backward keeps
//     only mean and invstd (C values each). dgamma = invstd sum(dy (x-mean)), dbeta = sum(dy)
//     fall out of the same two sums. In eval mode mean/var are the running ones, constants:
//     dx = a dy, b = d = 0.
//
// Accuracy of the variance: the one-pass formula var = E[x^2] - E[x]^2 cancels catastrophically
// when |mean| >> std (data that are not centred, e.g. pixels in 0..255). Two cures are combined:
// the sums run over x - K with K = the channel's first value (a shift that costs one subtract;
// after it E[(x-K)^2] - E[x-K]^2 has terms of the size of the spread, not of the mean), and the
// accumulators are double (a float accumulator over 32K values loses ~4 digits to rounding; the
// AVX2 loops add in float only within blocks of 512 values, see batchnorm_avx2.cpp).
//
// Parallelism and determinism: channel c's M values are cut into fixed row blocks (R samples
// each, R chosen from the sizes only). Each (block, channel) task sums its part into its own
// slot; the slots of a channel are then added in block order. Threads therefore split the
// work across channels AND across the batch (few channels, many images still use every core),
// and the result is bit-identical for any thread count. The inner loops run over contiguous
// S-long runs (or, for (N, C) input, over the C contiguous channels of a row) and vectorise.
//
// Local response norm (torch semantics): across channels, a window of `size` channels
// [c - size/2, c + (size-1)/2] (zero padded), divisor always `size`:
//   scale[c] = k + alpha/size sum_{c' in win(c)} x[c']^2,   y[c] = x[c] scale[c]^-beta
//   dx[c']   = dy[c'] scale[c']^-beta
//              - 2 alpha beta/size x[c'] sum_{c: c' in win(c)} dy[c] x[c] scale[c]^(-beta-1)
// scale is kept from the forward. Tasks are (sample, chunk of spatial positions); each task
// walks all channels for its chunk, so every load is a contiguous run.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels.h"
#include "parallel.h"

namespace dlcore::cpu {

#if defined(__x86_64__) || defined(__i386__)
// batchnorm_avx2.cpp: the float32 reductions on 8 lanes (called when use_avx2_kernels()).
void bn_sums_shift_f32_avx2(const float* x, int64_t n, double k, double* a, double* b);
void bn_sums_grad_f32_avx2(const float* g, const float* x, int64_t n, float m, double* a,
                           double* b);
void bn_row_sums_shift_f32_avx2(const float* x, const double* k, double* pa, double* pb,
                                int64_t C);
void bn_row_sums_grad_f32_avx2(const float* g, const float* x, const float* m, double* pa,
                               double* pb, int64_t C);
void bn_apply_f32_avx2(const float* x, float* y, int64_t n, float a, float b);
void bn_grad_apply_f32_avx2(const float* g, const float* x, float* out, int64_t n, float a,
                            float c, float d, float m);
#define DLCORE_BN_AVX2 1
#endif

namespace {

// Whether the float32 reductions take the AVX2 loops.
template <typename T> bool bn_vec() {
#ifdef DLCORE_BN_AVX2
  return std::is_same_v<T, float> && use_avx2_kernels();
#else
  return false;
#endif
}

// Samples per block of a channel's reduction: whole images when an image's plane is large,
// else enough rows that one task sums >= ~4K values (a task costs ~1 µs to schedule).
int64_t rows_per_block(int64_t N, int64_t S) {
  if (S >= 4096) return 1;
  return std::min<int64_t>(std::max<int64_t>(N, 1), std::max<int64_t>(1, 4096 / std::max<int64_t>(S, 1)));
}

// Per-channel pair of sums  A[c] = sum f_a, B[c] = sum f_b  over the [N, C, S] layout.
// run(n, c, a, b) adds the contributions of sample n's S-run of channel c (S > 1);
// row(n, a[], b[]) adds sample n's row of C values to every channel (S == 1).
// Block partial sums are combined in block order: deterministic for any thread count.
template <typename Run, typename Row>
void channel_sums(int64_t N, int64_t C, int64_t S, double* A, double* B, Run&& run, Row&& row) {
  std::fill(A, A + C, 0.0);
  std::fill(B, B + C, 0.0);
  if (N == 0 || C == 0 || S == 0) return;
  if (S == 1) {
    // (N, C): a row is C contiguous channels; blocks of rows, each with its own C-vector of
    // partials, vectorised across channels.
    const int64_t R = std::max<int64_t>(1, (kParallelGrain + C - 1) / C);
    const int64_t nblk = (N + R - 1) / R;
    std::vector<double> part((size_t)(2 * nblk * C), 0.0);
    parallel_for(nblk, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        double* pa = part.data() + 2 * b * C;
        double* pb = pa + C;
        for (int64_t n = b * R, ne = std::min(N, (b + 1) * R); n < ne; ++n) row(n, pa, pb);
      }
    });
    for (int64_t b = 0; b < nblk; ++b) {
      const double* pa = part.data() + 2 * b * C;
      for (int64_t c = 0; c < C; ++c) { A[c] += pa[c]; B[c] += pa[C + c]; }
    }
    return;
  }
  const int64_t R = rows_per_block(N, S);
  const int64_t nblk = (N + R - 1) / R;
  const int64_t tasks = nblk * C;
  std::vector<double> part((size_t)(2 * tasks));
  const int64_t grain = std::max<int64_t>(1, kParallelGrain / (R * S));
  parallel_for(tasks, grain, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t b = t / C, c = t % C;
      double a = 0, bb = 0;
      for (int64_t n = b * R, ne = std::min(N, (b + 1) * R); n < ne; ++n) run(n, c, a, bb);
      part[2 * t] = a;
      part[2 * t + 1] = bb;
    }
  });
  for (int64_t b = 0; b < nblk; ++b)
    for (int64_t c = 0; c < C; ++c) { A[c] += part[2 * (b * C + c)]; B[c] += part[2 * (b * C + c) + 1]; }
}

// The output pass of both directions: plane(p, c) writes plane p = n*C + c (S contiguous
// values), parallel over planes; for S == 1, row(n) writes sample n's C channels.
template <typename Plane, typename Row>
void for_planes(int64_t N, int64_t C, int64_t S, Plane&& plane, Row&& row) {
  if (N == 0 || C == 0 || S == 0) return;
  if (S == 1) {
    parallel_for(N, std::max<int64_t>(1, kParallelGrain / C), [&](int64_t n0, int64_t n1) {
      for (int64_t n = n0; n < n1; ++n) row(n);
    });
    return;
  }
  parallel_for(N * C, std::max<int64_t>(1, kParallelGrain / S), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) plane(p, p % C);
  });
}

// ---- batch norm forward ---------------------------------------------------------------------

// y = x * scale[c] + shift[c] (scale/shift in T: the pass is float arithmetic for float data).
template <typename T>
void bn_apply(const T* x, T* y, const T* scale, const T* shift, int64_t N, int64_t C, int64_t S) {
  for_planes(N, C, S,
    [&](int64_t p, int64_t c) {
      const T* xp = x + p * S;
      T* yp = y + p * S;
      const T a = scale[c], b = shift[c];
#pragma omp simd
      for (int64_t s = 0; s < S; ++s) yp[s] = xp[s] * a + b;
    },
    [&](int64_t n) {
      const T* xp = x + n * C;
      T* yp = y + n * C;
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) yp[c] = xp[c] * scale[c] + shift[c];
    });
}

// One direction of batch norm: run / row give the per-channel sums (as channel_sums), then
// finish(c, A, B) turns channel c's sums into its coefficients, then plane(p, c) / out_row(n)
// write the output (as for_planes), when `apply`.
// (A channel-major order — one task sums a channel and writes it while its values are still
// in L2 — was measured 3-4x slower: the N runs of a channel lie C*S elements apart, a power of
// two for usual shapes (64 x 32 x 32 floats = 256 KB), so they all map to the same L2 sets and
// evict each other before the output pass comes back to them.)
template <typename Run, typename Row, typename Finish, typename Plane, typename OutRow>
void reduce_then_apply(int64_t N, int64_t C, int64_t S, bool apply, Run&& run, Row&& row,
                       Finish&& finish, Plane&& plane, OutRow&& out_row) {
  std::vector<double> A((size_t)C), B((size_t)C);
  channel_sums(N, C, S, A.data(), B.data(), run, row);
  for (int64_t c = 0; c < C; ++c) finish(c, A[c], B[c]);
  if (apply) for_planes(N, C, S, plane, out_row);
}

template <typename T>
void bn_fwd_train(const T* x, const T* w, const T* bias, T* y, T* save_mean, T* save_invstd,
                  T* run_mean, T* run_var, int64_t N, int64_t C, int64_t S, double momentum,
                  double eps) {
  const int64_t M = N * S;
  if (M == 0) {   // empty batch: empty output, running statistics untouched (as torch)
    for (int64_t c = 0; c < C; ++c) { save_mean[c] = T(0); save_invstd[c] = T(0); }
    return;
  }
  // The shift K[c]: the channel's first value (sample 0, position 0).
  std::vector<double> K((size_t)C);
  for (int64_t c = 0; c < C; ++c) K[c] = (double)x[c * S];
  std::vector<T> scale((size_t)C), shift((size_t)C);
  const bool vec = bn_vec<T>();
  const double inv_m = 1.0 / (double)M;
  reduce_then_apply(N, C, S, true,
    [&](int64_t n, int64_t c, double& a, double& b) {
      const T* xp = x + (n * C + c) * S;
      const double k = K[c];
#ifdef DLCORE_BN_AVX2
      if constexpr (std::is_same_v<T, float>)
        if (vec) return bn_sums_shift_f32_avx2(xp, S, k, &a, &b);
#endif
      (void)vec;
      double sa = 0, sb = 0;
#pragma omp simd reduction(+ : sa, sb)
      for (int64_t s = 0; s < S; ++s) {
        const double d = (double)xp[s] - k;
        sa += d;
        sb += d * d;
      }
      a += sa;
      b += sb;
    },
    [&](int64_t n, double* pa, double* pb) {
      const T* xp = x + n * C;
      const double* kp = K.data();
#ifdef DLCORE_BN_AVX2
      if constexpr (std::is_same_v<T, float>)
        if (vec) return bn_row_sums_shift_f32_avx2(xp, kp, pa, pb, C);
#endif
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) {
        const double d = (double)xp[c] - kp[c];
        pa[c] += d;
        pb[c] += d * d;
      }
    },
    [&](int64_t c, double s1, double s2) {
      const double dm = s1 * inv_m;                             // mean of x - K
      const double var = std::max(0.0, s2 * inv_m - dm * dm);    // biased
      const double mean = K[c] + dm;
      const double invstd = 1.0 / std::sqrt(var + eps);
      save_mean[c] = (T)mean;
      save_invstd[c] = (T)invstd;
      if (run_mean) run_mean[c] = (T)((1.0 - momentum) * (double)run_mean[c] + momentum * mean);
      if (run_var) {
        // M == 1 is refused by the caller; the unbiased estimate needs M > 1.
        const double unbiased = M > 1 ? var * (double)M / (double)(M - 1) : var;
        run_var[c] = (T)((1.0 - momentum) * (double)run_var[c] + momentum * unbiased);
      }
      const double sc = (w ? (double)w[c] : 1.0) * invstd;
      scale[c] = (T)sc;
      shift[c] = (T)((bias ? (double)bias[c] : 0.0) - mean * sc);
    },
    [&](int64_t p, int64_t c) {
      const T* xp = x + p * S;
      T* yp = y + p * S;
      const T a = scale[c], b = shift[c];
#ifdef DLCORE_BN_AVX2
      if constexpr (std::is_same_v<T, float>)
        if (vec) return bn_apply_f32_avx2(xp, yp, S, a, b);
#endif
#pragma omp simd
      for (int64_t s = 0; s < S; ++s) yp[s] = xp[s] * a + b;
    },
    [&](int64_t n) {
      const T* xp = x + n * C;
      T* yp = y + n * C;
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) yp[c] = xp[c] * scale[c] + shift[c];
    });
}

template <typename T>
void bn_fwd_eval(const T* x, const T* w, const T* bias, const T* run_mean, const T* run_var,
                 T* y, T* save_mean, T* save_invstd, int64_t N, int64_t C, int64_t S, double eps) {
  std::vector<T> scale((size_t)C), shift((size_t)C);
  for (int64_t c = 0; c < C; ++c) {
    const double mean = (double)run_mean[c];
    const double invstd = 1.0 / std::sqrt((double)run_var[c] + eps);
    save_mean[c] = (T)mean;
    save_invstd[c] = (T)invstd;
    const double sc = (w ? (double)w[c] : 1.0) * invstd;
    scale[c] = (T)sc;
    shift[c] = (T)((bias ? (double)bias[c] : 0.0) - mean * sc);
  }
  bn_apply(x, y, scale.data(), shift.data(), N, C, S);
}

// ---- batch norm backward --------------------------------------------------------------------

template <typename T>
void bn_bwd(const T* g, const T* x, const T* w, const T* mean, const T* invstd, T* gx, T* gw,
            T* gb, int64_t N, int64_t C, int64_t S, bool training) {
  const int64_t M = N * S;
  std::vector<T> ca((size_t)C), cb((size_t)C, T(0)), cd((size_t)C, T(0));
  for (int64_t c = 0; c < C; ++c) ca[c] = (T)((w ? (double)w[c] : 1.0) * (double)invstd[c]);
  const bool vec = bn_vec<T>();
  // Eval mode needs the sums only for grad_weight / grad_bias; dx = gamma invstd dy.
  if (training || gw || gb) {
    reduce_then_apply(N, C, S, training && gx && M > 0,
      [&](int64_t n, int64_t c, double& a, double& b) {
        const int64_t off = (n * C + c) * S;
        const T* gp = g + off;
        const T* xp = x + off;
        const T m = mean[c];
#ifdef DLCORE_BN_AVX2
        if constexpr (std::is_same_v<T, float>)
          if (vec) return bn_sums_grad_f32_avx2(gp, xp, S, m, &a, &b);
#endif
        (void)vec;
        double sa = 0, sb = 0;
#pragma omp simd reduction(+ : sa, sb)
        for (int64_t s = 0; s < S; ++s) {
          const double d = (double)gp[s];
          sa += d;
          sb += d * (double)(xp[s] - m);
        }
        a += sa;
        b += sb;
      },
      [&](int64_t n, double* pa, double* pb) {
        const T* gp = g + n * C;
        const T* xp = x + n * C;
#ifdef DLCORE_BN_AVX2
        if constexpr (std::is_same_v<T, float>)
          if (vec) return bn_row_sums_grad_f32_avx2(gp, xp, mean, pa, pb, C);
#endif
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) {
          const double d = (double)gp[c];
          pa[c] += d;
          pb[c] += d * (double)(xp[c] - mean[c]);
        }
      },
      [&](int64_t c, double sdy, double sdyx) {
        const double is = (double)invstd[c];
        if (gw) gw[c] = (T)(sdyx * is);
        if (gb) gb[c] = (T)sdy;
        if (training && M > 0) {
          const double a = (double)ca[c];
          cb[c] = (T)(-a * is * is * sdyx / (double)M);
          cd[c] = (T)(-a * sdy / (double)M);
        }
      },
      [&](int64_t p, int64_t c) {
        const T* gp = g + p * S;
        const T* xp = x + p * S;
        T* op = gx + p * S;
        const T a = ca[c], b = cb[c], d = cd[c], m = mean[c];
#ifdef DLCORE_BN_AVX2
        if constexpr (std::is_same_v<T, float>)
          if (vec) return bn_grad_apply_f32_avx2(gp, xp, op, S, a, b, d, m);
#endif
#pragma omp simd
        for (int64_t s = 0; s < S; ++s) op[s] = a * gp[s] + b * (xp[s] - m) + d;
      },
      [&](int64_t n) {
        const T* gp = g + n * C;
        const T* xp = x + n * C;
        T* op = gx + n * C;
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) op[c] = ca[c] * gp[c] + cb[c] * (xp[c] - mean[c]) + cd[c];
      });
  }
  if (!training && gx && M > 0) {   // the same pass as the forward's y = x scale + shift
    std::vector<T> zero((size_t)C, T(0));
    bn_apply(g, gx, ca.data(), zero.data(), N, C, S);
  }
}

// ---- local response norm --------------------------------------------------------------------

// Spatial positions per task: a chunk small enough that its C rows stay in L1/L2 while the
// window slides over them.
constexpr int64_t kLrnChunk = 512;

// x^-beta for x > 0; the common beta = 0.75 (AlexNet) and 0.5 avoid pow.
template <typename T> inline T pow_neg(T x, T beta) {
  if (beta == T(0.75)) { const T r = std::sqrt(x); return T(1) / (r * std::sqrt(r)); }
  if (beta == T(0.5)) return T(1) / std::sqrt(x);
  return std::pow(x, -beta);
}

template <typename F>
void lrn_tasks(int64_t N, int64_t S, int64_t C, F&& fn) {
  const int64_t chunks = (S + kLrnChunk - 1) / kLrnChunk;
  const int64_t per = std::min(S, kLrnChunk) * std::max<int64_t>(C, 1);
  parallel_for(N * chunks, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(per, 1)),
               [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t n = t / chunks, s0 = (t % chunks) * kLrnChunk;
      fn(n, s0, std::min(S, s0 + kLrnChunk) - s0);
    }
  });
}

template <typename T>
void lrn_fwd(const T* x, T* y, T* scale, int64_t N, int64_t C, int64_t S, int64_t size,
             double alpha, double beta, double k) {
  const int64_t before = size / 2, after = (size - 1) / 2;
  const T a = (T)(alpha / (double)size), kk = (T)k, b = (T)beta;
  lrn_tasks(N, S, C, [&](int64_t n, int64_t s0, int64_t len) {
    const T* xn = x + n * C * S + s0;
    for (int64_t c = 0; c < C; ++c) {
      T* sp = scale + (n * C + c) * S + s0;
      T* yp = y + (n * C + c) * S + s0;
      const T* xc = xn + c * S;
      for (int64_t s = 0; s < len; ++s) sp[s] = T(0);
      // Direct window sum (size is small): no running add/subtract, so no drift.
      for (int64_t j = std::max<int64_t>(0, c - before); j <= std::min(C - 1, c + after); ++j) {
        const T* xj = xn + j * S;
#pragma omp simd
        for (int64_t s = 0; s < len; ++s) sp[s] += xj[s] * xj[s];
      }
      for (int64_t s = 0; s < len; ++s) {
        sp[s] = kk + a * sp[s];
        yp[s] = xc[s] * pow_neg(sp[s], b);
      }
    }
  });
}

template <typename T>
void lrn_bwd(const T* g, const T* x, const T* scale, T* gx, int64_t N, int64_t C, int64_t S,
             int64_t size, double alpha, double beta) {
  const int64_t before = size / 2, after = (size - 1) / 2;
  const T coef = (T)(2.0 * alpha * beta / (double)size), b = (T)beta;
  lrn_tasks(N, S, C, [&](int64_t n, int64_t s0, int64_t len) {
    // t[c] = dy[c] x[c] scale[c]^(-beta-1) for this chunk, then windowed sums of t.
    std::vector<T> t((size_t)(C * len)), acc((size_t)len);
    const int64_t base = n * C * S + s0;
    for (int64_t c = 0; c < C; ++c) {
      const T* gp = g + base + c * S;
      const T* xp = x + base + c * S;
      const T* sp = scale + base + c * S;
      T* tp = t.data() + c * len;
      for (int64_t s = 0; s < len; ++s) tp[s] = gp[s] * xp[s] * pow_neg(sp[s], b) / sp[s];
    }
    for (int64_t c = 0; c < C; ++c) {
      const T* gp = g + base + c * S;
      const T* xp = x + base + c * S;
      const T* sp = scale + base + c * S;
      T* op = gx + base + c * S;
      // Channels whose window holds c: c - after <= j <= c + before.
      std::fill(acc.begin(), acc.end(), T(0));
      for (int64_t j = std::max<int64_t>(0, c - after); j <= std::min(C - 1, c + before); ++j) {
        const T* tj = t.data() + j * len;
#pragma omp simd
        for (int64_t s = 0; s < len; ++s) acc[s] += tj[s];
      }
      for (int64_t s = 0; s < len; ++s)
        op[s] = gp[s] * pow_neg(sp[s], b) - coef * xp[s] * acc[s];
    }
  });
}

}  // namespace

// ---- entry points ---------------------------------------------------------------------------

#define DLCORE_BN_FLOAT(dtype, CALL)                              \
  do {                                                            \
    if ((dtype) == DType::Float32) { using T = float; CALL; }     \
    else { using T = double; CALL; }                              \
  } while (0)

void batch_norm_forward_train(DType dtype, const void* x, const void* weight, const void* bias,
                              void* y, void* save_mean, void* save_invstd, void* running_mean,
                              void* running_var, int64_t N, int64_t C, int64_t S,
                              double momentum, double eps) {
  DLCORE_BN_FLOAT(dtype, bn_fwd_train((const T*)x, (const T*)weight, (const T*)bias, (T*)y,
                                      (T*)save_mean, (T*)save_invstd, (T*)running_mean,
                                      (T*)running_var, N, C, S, momentum, eps));
}

void batch_norm_forward_eval(DType dtype, const void* x, const void* weight, const void* bias,
                             const void* running_mean, const void* running_var, void* y,
                             void* save_mean, void* save_invstd, int64_t N, int64_t C, int64_t S,
                             double eps) {
  DLCORE_BN_FLOAT(dtype, bn_fwd_eval((const T*)x, (const T*)weight, (const T*)bias,
                                     (const T*)running_mean, (const T*)running_var, (T*)y,
                                     (T*)save_mean, (T*)save_invstd, N, C, S, eps));
}

void batch_norm_backward(DType dtype, const void* grad, const void* x, const void* weight,
                         const void* mean, const void* invstd, void* grad_x, void* grad_weight,
                         void* grad_bias, int64_t N, int64_t C, int64_t S, bool training) {
  DLCORE_BN_FLOAT(dtype, bn_bwd((const T*)grad, (const T*)x, (const T*)weight, (const T*)mean,
                                (const T*)invstd, (T*)grad_x, (T*)grad_weight, (T*)grad_bias, N,
                                C, S, training));
}

void local_response_norm_forward(DType dtype, const void* x, void* y, void* scale, int64_t N,
                                 int64_t C, int64_t S, int64_t size, double alpha, double beta,
                                 double k) {
  DLCORE_BN_FLOAT(dtype, lrn_fwd((const T*)x, (T*)y, (T*)scale, N, C, S, size, alpha, beta, k));
}

void local_response_norm_backward(DType dtype, const void* grad, const void* x,
                                  const void* scale, void* grad_x, int64_t N, int64_t C,
                                  int64_t S, int64_t size, double alpha, double beta) {
  DLCORE_BN_FLOAT(dtype, lrn_bwd((const T*)grad, (const T*)x, (const T*)scale, (T*)grad_x, N, C,
                                 S, size, alpha, beta));
}

#undef DLCORE_BN_FLOAT

}  // namespace dlcore::cpu
