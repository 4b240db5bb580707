// gemm_common.cuh — what the GEMM kernel files (gemm.cu: SIMT and mma.sync; gemm_wgmma.cu:
// Hopper wgmma) share: the kernel arguments, the epilogue every kernel applies element by
// element, and the host-side reading of a GemmParams into arguments. One definition, so the
// three kernels cannot drift apart in what C = act(alpha*A@B + beta*C + bias) means.
#pragma once
#include "../core/gemm_params.h"
#include "common.cuh"

namespace dlcore::cuda {
namespace {

template <typename T>
struct GemmArgs {
  int64_t M, N, K;
  const T* A;
  int64_t a_bs, a_rs, a_cs;
  const T* B;
  int64_t b_bs, b_rs, b_cs;
  T* C;
  int64_t c_bs, c_rs;
  T alpha, beta;
  const T* bias;
  bool bias_per_row;
  Activation act;
  bool a_vec, b_vec;    // 16-byte loads allowed along the operand's contiguous direction
  int64_t tiles_n;      // number of tiles along N (the grid is flattened over M x N tiles)
  int64_t batch_base;   // first batch of this launch (blockIdx.z is added)
  // Split-K (SIMT kernel only): blockIdx.y takes k in [y * k_chunk, (y + 1) * k_chunk) and
  // writes its raw sums to partial[y][batch][M][N]; a second kernel adds the slices and applies
  // the epilogue. partial == nullptr: no split (k_chunk == K).
  int64_t k_chunk;
  T* partial;
  int64_t batch_total;  // the whole batch (partial's second dimension)
};

// ---- epilogue ----------------------------------------------------------------------------
template <typename T>
__device__ __forceinline__ T activate(Activation act, T v) {
  switch (act) {
    case Activation::Relu: return v < T(0) ? T(0) : v;  // NaN stays NaN, as on the CPU
    case Activation::Sigmoid: {  // never exp of a positive argument
      const T e = std::is_same<T, float>::value ? expf(-fabsf((float)v)) : exp(-fabs((double)v));
      return v >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
    }
    case Activation::Tanh: return std::is_same<T, float>::value ? (T)tanhf((float)v) : (T)tanh((double)v);
    default: return v;
  }
}

// Writes one element of C. beta == 0 never reads C (it may hold garbage, even NaN).
template <typename T>
__device__ __forceinline__ void store_c(const GemmArgs<T>& p, T* Cb, int64_t m, int64_t n, T acc) {
  if (m >= p.M || n >= p.N) return;
  T v = p.alpha * acc;
  T* c = Cb + m * p.c_rs + n;
  if (p.beta != T(0)) v += p.beta * *c;
  if (p.bias) v += p.bias_per_row ? p.bias[m] : p.bias[n];
  *c = activate(p.act, v);
}

// 16-byte vector loads of 4 elements along the contiguous direction are safe when the base
// (every batch), and the start of every row/column chunk, are 16-byte aligned.
template <typename T>
bool vec_ok(const T* base, int64_t batch_stride, int64_t other_stride) {
  return aligned_to(base, 16) && batch_stride % 4 == 0 && other_stride % 4 == 0;
}

// The kernel arguments of p. a_kc / b_kc: which direction each operand is read along (k when
// that is its unit stride), a_vec / b_vec: whether 16-byte loads are allowed along it.
template <typename T>
GemmArgs<T> make_args(const GemmParams& p, bool* a_kc, bool* b_kc) {
  GemmArgs<T> a{};
  a.M = p.M; a.N = p.N; a.K = p.K;
  a.A = static_cast<const T*>(p.A); a.a_bs = p.a_batch_stride; a.a_rs = p.a_row_stride; a.a_cs = p.a_col_stride;
  a.B = static_cast<const T*>(p.B); a.b_bs = p.b_batch_stride; a.b_rs = p.b_row_stride; a.b_cs = p.b_col_stride;
  a.C = static_cast<T*>(p.C); a.c_bs = p.c_batch_stride; a.c_rs = p.c_row_stride;
  a.k_chunk = p.K; a.partial = nullptr; a.batch_total = p.batch;
  a.alpha = (T)p.alpha; a.beta = (T)p.beta;
  a.bias = static_cast<const T*>(p.bias); a.bias_per_row = p.bias_per_row; a.act = p.act;
  *a_kc = p.a_col_stride == 1 && p.K > 1;
  *b_kc = p.b_row_stride == 1 && p.b_col_stride != 1;
  a.a_vec = *a_kc ? vec_ok(a.A, p.a_batch_stride, p.a_row_stride)
                  : (p.a_row_stride == 1 && vec_ok(a.A, p.a_batch_stride, p.a_col_stride));
  a.b_vec = *b_kc ? vec_ok(a.B, p.b_batch_stride, p.b_col_stride)
                  : (p.b_col_stride == 1 && vec_ok(a.B, p.b_batch_stride, p.b_row_stride));
  return a;
}

}  // namespace
}  // namespace dlcore::cuda
