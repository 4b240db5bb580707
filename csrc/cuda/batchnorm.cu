// batchnorm.cu — batch normalization and local response normalization (CUDA). Mirror of
// csrc/cpu/batchnorm.cpp: same [N, C, S] layout, same shifted double sums, same formulas.
//
// Batch norm, per direction:
//   1. partial sums: the M = N*S values of channel c are cut into G equal chunks (G from the
//      sizes only); block (c, g) sums its chunk — forward sum(x-K), sum((x-K)^2) with K the
//      channel's first value; backward sum(dy), sum(dy (x-mean)) — in double, threads striding
//      over the chunk (consecutive threads read consecutive addresses of a plane: coalesced),
//      then a fixed-order warp-shuffle + shared-memory tree. One partial pair per block.
//   2. finish: one thread per channel adds its G partials in order (no float atomics, so the
//      result is the same on every run), then computes mean / invstd / the running statistics
//      and the per-channel coefficients of the output pass.
//   3. apply: a grid-stride elementwise pass, y = x scale + shift (forward) or
//      dx = a dy + b (x - mean) + d (backward), coefficients read per channel.
// Local response norm: one thread per element sums its channel window directly (the window's
// loads are coalesced across the spatial positions that neighbouring threads own). The
// backward first writes t = dy x scale^(-beta-1) to scratch, then window-sums it.
#include "../core/cuda_runtime.h"
#include "common.cuh"
#include "kernels.h"

namespace dlcore::cuda {
namespace {

constexpr int kThreads = 256;
// Values per partial-sum block: large enough that a block's fixed cost is amortised, small
// enough that a (few channels x large batch) problem still spreads over every SM.
constexpr int64_t kChunk = 16384;
constexpr int64_t kMaxChunks = 1024;

__device__ __forceinline__ double warp_sum(double v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Sum of a and b over the block, in a fixed order; the result is valid in thread 0.
__device__ __forceinline__ void block_sum2(double& a, double& b) {
  __shared__ double sa[kThreads / 32], sb[kThreads / 32];
  a = warp_sum(a);
  b = warp_sum(b);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) { sa[warp] = a; sb[warp] = b; }
  __syncthreads();
  if (threadIdx.x == 0) {
    a = sa[0];
    b = sb[0];
#pragma unroll
    for (int w = 1; w < kThreads / 32; ++w) { a += sa[w]; b += sb[w]; }
  }
}

int64_t chunks_for(int64_t M) {
  int64_t g = (M + kChunk - 1) / kChunk;
  return g < 1 ? 1 : (g > kMaxChunks ? kMaxChunks : g);
}

// ---- batch norm: partial sums ------------------------------------------------------------------

// BWD = false: (sum(x - K), sum((x - K)^2)); BWD = true: (sum(dy), sum(dy (x - mean))).
// Block b handles channel c = b / G, chunk g = b % G of the channel's M values.
template <typename T, bool BWD>
__global__ void bn_partial_kernel(const T* __restrict__ x, const T* __restrict__ g,
                                  const T* __restrict__ mean, int64_t C, int64_t S, int64_t M,
                                  int64_t G, double* __restrict__ part) {
  const int64_t c = blockIdx.x / G, k = blockIdx.x % G;
  const int64_t per = (M + G - 1) / G;
  const int64_t j0 = k * per, j1 = min(M, j0 + per);
  // Forward: shift by the channel's first value, in double. Backward: x - mean formed in T,
  // as the CPU loops do.
  const double shift = BWD ? 0.0 : (double)x[c * S];
  const T m = BWD ? mean[c] : T(0);
  double a = 0, b = 0;
  for (int64_t j = j0 + threadIdx.x; j < j1; j += blockDim.x) {
    const int64_t n = j / S, s = j - n * S;
    const int64_t off = (n * C + c) * S + s;
    if (BWD) {
      const double dy = (double)g[off];
      a += dy;
      b += dy * (double)(x[off] - m);
    } else {
      const double d = (double)x[off] - shift;
      a += d;
      b += d * d;
    }
  }
  block_sum2(a, b);
  if (threadIdx.x == 0) { part[2 * blockIdx.x] = a; part[2 * blockIdx.x + 1] = b; }
}

// ---- batch norm forward ------------------------------------------------------------------------

// One thread per channel: combine the partials, running statistics, scale / shift.
template <typename T>
__global__ void bn_finish_train_kernel(const T* __restrict__ x, const double* __restrict__ part,
                                       int64_t G, int64_t C, int64_t S, int64_t M,
                                       const T* __restrict__ w, const T* __restrict__ bias,
                                       T* run_mean, T* run_var, double momentum, double eps,
                                       T* save_mean, T* save_invstd, T* scale, T* shift) {
  const int64_t c = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  double s1 = 0, s2 = 0;
  for (int64_t k = 0; k < G; ++k) { s1 += part[2 * (c * G + k)]; s2 += part[2 * (c * G + k) + 1]; }
  const double inv_m = 1.0 / (double)M;
  const double dm = s1 * inv_m;
  const double var = fmax(0.0, s2 * inv_m - dm * dm);
  const double mean = (double)x[c * S] + dm;
  const double invstd = 1.0 / sqrt(var + eps);
  save_mean[c] = (T)mean;
  save_invstd[c] = (T)invstd;
  if (run_mean) run_mean[c] = (T)((1.0 - momentum) * (double)run_mean[c] + momentum * mean);
  if (run_var) {
    const double unbiased = M > 1 ? var * (double)M / (double)(M - 1) : var;
    run_var[c] = (T)((1.0 - momentum) * (double)run_var[c] + momentum * unbiased);
  }
  const double sc = (w ? (double)w[c] : 1.0) * invstd;
  scale[c] = (T)sc;
  shift[c] = (T)((bias ? (double)bias[c] : 0.0) - mean * sc);
}

template <typename T>
__global__ void bn_eval_params_kernel(const T* __restrict__ run_mean, const T* __restrict__ run_var,
                                      const T* __restrict__ w, const T* __restrict__ bias,
                                      int64_t C, double eps, T* save_mean, T* save_invstd,
                                      T* scale, T* shift) {
  const int64_t c = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  const double mean = (double)run_mean[c];
  const double invstd = 1.0 / sqrt((double)run_var[c] + eps);
  save_mean[c] = (T)mean;
  save_invstd[c] = (T)invstd;
  const double sc = (w ? (double)w[c] : 1.0) * invstd;
  scale[c] = (T)sc;
  shift[c] = (T)((bias ? (double)bias[c] : 0.0) - mean * sc);
}

// y = x scale[c] + shift[c], grid-stride over the N*C*S elements.
template <typename T>
__global__ void bn_apply_kernel(const T* __restrict__ x, T* __restrict__ y,
                                const T* __restrict__ scale, const T* __restrict__ shift,
                                int64_t total, int64_t C, int64_t S) {
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
       i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t c = (i / S) % C;
    y[i] = x[i] * scale[c] + shift[c];
  }
}

// ---- batch norm backward -----------------------------------------------------------------------

// One thread per channel: grad_weight / grad_bias and the dx coefficients (a, b, d).
template <typename T>
__global__ void bn_finish_bwd_kernel(const double* __restrict__ part, int64_t G, int64_t C,
                                     int64_t M, const T* __restrict__ w,
                                     const T* __restrict__ invstd, bool training, T* gw, T* gb,
                                     T* coef) {
  const int64_t c = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  double sdy = 0, sdyx = 0;
  if (part)
    for (int64_t k = 0; k < G; ++k) { sdy += part[2 * (c * G + k)]; sdyx += part[2 * (c * G + k) + 1]; }
  const double is = (double)invstd[c];
  if (gw) gw[c] = (T)(sdyx * is);
  if (gb) gb[c] = (T)sdy;
  const double a = (w ? (double)w[c] : 1.0) * is;
  coef[3 * c] = (T)a;
  coef[3 * c + 1] = training && M > 0 ? (T)(-a * is * is * sdyx / (double)M) : T(0);
  coef[3 * c + 2] = training && M > 0 ? (T)(-a * sdy / (double)M) : T(0);
}

template <typename T>
__global__ void bn_bwd_apply_kernel(const T* __restrict__ g, const T* __restrict__ x,
                                    const T* __restrict__ mean, const T* __restrict__ coef,
                                    T* __restrict__ gx, int64_t total, int64_t C, int64_t S,
                                    bool training) {
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
       i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t c = (i / S) % C;
    // Eval: dx = gamma invstd dy only (x is not read, as on the CPU).
    gx[i] = training ? coef[3 * c] * g[i] + coef[3 * c + 1] * (x[i] - mean[c]) + coef[3 * c + 2]
                     : coef[3 * c] * g[i];
  }
}

// ---- local response norm -----------------------------------------------------------------------

// x^-beta for x > 0, the same special cases as the CPU (0.75, 0.5 without pow).
template <typename T> __device__ __forceinline__ T pow_neg(T x, T beta) {
  if (beta == T(0.75)) { const T r = sqrt(x); return T(1) / (r * sqrt(r)); }
  if (beta == T(0.5)) return T(1) / sqrt(x);
  return pow(x, -beta);
}

template <typename T>
__global__ void lrn_fwd_kernel(const T* __restrict__ x, T* __restrict__ y, T* __restrict__ scale,
                               int64_t total, int64_t C, int64_t S, int64_t before, int64_t after,
                               T a, T k, T beta) {
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
       i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t s = i % S, c = (i / S) % C, n = i / (S * C);
    const T* xn = x + n * C * S + s;
    T acc = 0;
    for (int64_t j = (c - before > 0 ? c - before : 0); j <= (c + after < C - 1 ? c + after : C - 1); ++j)
      acc += xn[j * S] * xn[j * S];
    const T sc = k + a * acc;
    scale[i] = sc;
    y[i] = x[i] * pow_neg(sc, beta);
  }
}

template <typename T>
__global__ void lrn_bwd_t_kernel(const T* __restrict__ g, const T* __restrict__ x,
                                 const T* __restrict__ scale, T* __restrict__ t, int64_t total,
                                 T beta) {
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
       i += (int64_t)gridDim.x * blockDim.x)
    t[i] = g[i] * x[i] * pow_neg(scale[i], beta) / scale[i];
}

template <typename T>
__global__ void lrn_bwd_kernel(const T* __restrict__ g, const T* __restrict__ x,
                               const T* __restrict__ scale, const T* __restrict__ t,
                               T* __restrict__ gx, int64_t total, int64_t C, int64_t S,
                               int64_t before, int64_t after, T coef, T beta) {
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
       i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t s = i % S, c = (i / S) % C, n = i / (S * C);
    const T* tn = t + n * C * S + s;
    T acc = 0;
    // Channels whose window holds c: c - after .. c + before.
    for (int64_t j = (c - after > 0 ? c - after : 0); j <= (c + before < C - 1 ? c + before : C - 1); ++j)
      acc += tn[j * S];
    gx[i] = g[i] * pow_neg(scale[i], beta) - coef * x[i] * acc;
  }
}

// ---- host side ----------------------------------------------------------------------------------

template <typename T>
void bn_fwd(const T* x, const T* w, const T* bias, T* y, T* save_mean, T* save_invstd, T* rm,
            T* rv, const T* run_mean_eval, const T* run_var_eval, int64_t N, int64_t C, int64_t S,
            double momentum, double eps, bool training, cudaStream_t st) {
  const int64_t M = N * S, total = M * C;
  Scratch params(2 * C * sizeof(T));
  T* scale = (T*)params.ptr;
  T* shift = scale + C;
  const unsigned cgrid = (unsigned)((C + kThreads - 1) / kThreads);
  if (training) {
    if (M == 0) {   // empty batch: nothing to normalise, running statistics untouched
      DLCORE_CUDA_CHECK(cudaMemsetAsync(save_mean, 0, C * sizeof(T), st));
      DLCORE_CUDA_CHECK(cudaMemsetAsync(save_invstd, 0, C * sizeof(T), st));
      return;
    }
    const int64_t G = chunks_for(M);
    Scratch part(2 * G * C * sizeof(double));
    bn_partial_kernel<T, false><<<(unsigned)(G * C), kThreads, 0, st>>>(
        x, nullptr, nullptr, C, S, M, G, (double*)part.ptr);
    DLCORE_LAUNCH_CHECK("bn_partial_kernel");
    bn_finish_train_kernel<T><<<cgrid, kThreads, 0, st>>>(x, (const double*)part.ptr, G, C, S, M,
                                                         w, bias, rm, rv, momentum, eps,
                                                         save_mean, save_invstd, scale, shift);
    DLCORE_LAUNCH_CHECK("bn_finish_train_kernel");
  } else {
    bn_eval_params_kernel<T><<<cgrid, kThreads, 0, st>>>(run_mean_eval, run_var_eval, w, bias, C,
                                                        eps, save_mean, save_invstd, scale, shift);
    DLCORE_LAUNCH_CHECK("bn_eval_params_kernel");
  }
  if (total == 0) return;
  bn_apply_kernel<T><<<grid_for(total, kThreads), kThreads, 0, st>>>(x, y, scale, shift, total, C, S);
  DLCORE_LAUNCH_CHECK("bn_apply_kernel");
}

template <typename T>
void bn_bwd(const T* g, const T* x, const T* w, const T* mean, const T* invstd, T* gx, T* gw,
            T* gb, int64_t N, int64_t C, int64_t S, bool training, cudaStream_t st) {
  const int64_t M = N * S, total = M * C;
  const bool reduce = M > 0 && (training || gw || gb);
  const int64_t G = chunks_for(M);
  Scratch part(reduce ? 2 * G * C * sizeof(double) : 8);
  Scratch coef(3 * C * sizeof(T));
  if (reduce) {
    bn_partial_kernel<T, true><<<(unsigned)(G * C), kThreads, 0, st>>>(
        x, g, mean, C, S, M, G, (double*)part.ptr);
    DLCORE_LAUNCH_CHECK("bn_partial_kernel");
  }
  bn_finish_bwd_kernel<T><<<(unsigned)((C + kThreads - 1) / kThreads), kThreads, 0, st>>>(
      reduce ? (const double*)part.ptr : nullptr, G, C, M, w, invstd, training, gw, gb,
      (T*)coef.ptr);
  DLCORE_LAUNCH_CHECK("bn_finish_bwd_kernel");
  if (!gx || total == 0) return;
  bn_bwd_apply_kernel<T><<<grid_for(total, kThreads), kThreads, 0, st>>>(
      g, x, mean, (const T*)coef.ptr, gx, total, C, S, training);
  DLCORE_LAUNCH_CHECK("bn_bwd_apply_kernel");
}

}  // namespace

void batch_norm_forward_train(DType dtype, const void* x, const void* weight, const void* bias,
                              void* y, void* save_mean, void* save_invstd, void* running_mean,
                              void* running_var, int64_t N, int64_t C, int64_t S,
                              double momentum, double eps, void* stream) {
  DLCORE_DISPATCH_FLOAT(dtype, T, "batch_norm",
      bn_fwd<T>((const T*)x, (const T*)weight, (const T*)bias, (T*)y, (T*)save_mean,
                (T*)save_invstd, (T*)running_mean, (T*)running_var, nullptr, nullptr, N, C, S,
                momentum, eps, true, as_stream(stream)));
}

void batch_norm_forward_eval(DType dtype, const void* x, const void* weight, const void* bias,
                             const void* running_mean, const void* running_var, void* y,
                             void* save_mean, void* save_invstd, int64_t N, int64_t C, int64_t S,
                             double eps, void* stream) {
  DLCORE_DISPATCH_FLOAT(dtype, T, "batch_norm",
      bn_fwd<T>((const T*)x, (const T*)weight, (const T*)bias, (T*)y, (T*)save_mean,
                (T*)save_invstd, nullptr, nullptr, (const T*)running_mean,
                (const T*)running_var, N, C, S, 0.0, eps, false, as_stream(stream)));
}

void batch_norm_backward(DType dtype, const void* grad, const void* x, const void* weight,
                         const void* mean, const void* invstd, void* grad_x, void* grad_weight,
                         void* grad_bias, int64_t N, int64_t C, int64_t S, bool training,
                         void* stream) {
  DLCORE_DISPATCH_FLOAT(dtype, T, "batch_norm backward",
      bn_bwd<T>((const T*)grad, (const T*)x, (const T*)weight, (const T*)mean,
                (const T*)invstd, (T*)grad_x, (T*)grad_weight, (T*)grad_bias, N, C, S, training,
                as_stream(stream)));
}

void local_response_norm_forward(DType dtype, const void* x, void* y, void* scale, int64_t N,
                                 int64_t C, int64_t S, int64_t size, double alpha, double beta,
                                 double k, void* stream) {
  const int64_t total = N * C * S;
  if (total == 0) return;
  DLCORE_DISPATCH_FLOAT(dtype, T, "local_response_norm", {
    lrn_fwd_kernel<T><<<grid_for(total, kThreads), kThreads, 0, as_stream(stream)>>>(
        (const T*)x, (T*)y, (T*)scale, total, C, S, size / 2, (size - 1) / 2,
        (T)(alpha / (double)size), (T)k, (T)beta);
    DLCORE_LAUNCH_CHECK("lrn_fwd_kernel");
  });
}

void local_response_norm_backward(DType dtype, const void* grad, const void* x,
                                  const void* scale, void* grad_x, int64_t N, int64_t C,
                                  int64_t S, int64_t size, double alpha, double beta,
                                  void* stream) {
  const int64_t total = N * C * S;
  if (total == 0) return;
  cudaStream_t st = as_stream(stream);
  DLCORE_DISPATCH_FLOAT(dtype, T, "local_response_norm backward", {
    Scratch t(total * sizeof(T));
    lrn_bwd_t_kernel<T><<<grid_for(total, kThreads), kThreads, 0, st>>>(
        (const T*)grad, (const T*)x, (const T*)scale, (T*)t.ptr, total, (T)beta);
    DLCORE_LAUNCH_CHECK("lrn_bwd_t_kernel");
    lrn_bwd_kernel<T><<<grid_for(total, kThreads), kThreads, 0, st>>>(
        (const T*)grad, (const T*)x, (const T*)scale, (const T*)t.ptr, (T*)grad_x, total, C, S,
        size / 2, (size - 1) / 2, (T)(2.0 * alpha * beta / (double)size), (T)beta);
    DLCORE_LAUNCH_CHECK("lrn_bwd_kernel");
  });
}

}  // namespace dlcore::cuda
