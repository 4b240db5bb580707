// rnn.cu — GRU and Elman RNN layer-directions over a whole sequence, forward and backward
// (CUDA). Mirror of csrc/cpu/rnn.cpp: same plan, same saved tensors, the per-element formulas
// of core/rnn_math.h; one thread per (row, unit) in the pointwise kernels (gate values H apart,
// coalesced across a warp), every launch checked and queued on `stream`.
#include <vector>

#include "../core/activation_math.h"
#include "rnn_common.cuh"

namespace dlcore::cuda {
namespace {

using rnn::gemm_plan;
using namespace rnn_detail;

// ---- GRU ------------------------------------------------------------------------------------

// gx (row stride 3H): x W_ih^T + b_ih on entry, r z n on return; gh: h W_hh^T + b_hh.
template <typename T>
__global__ void gru_cell_forward_kernel(int64_t n, int64_t H, T* __restrict__ gx,
                                        const T* __restrict__ gh, T* __restrict__ h,
                                        T* __restrict__ y, int64_t y_stride,
                                        T* __restrict__ hn_saved, T* __restrict__ hprev) {
  const int64_t total = n * H, step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += step) {
    const int64_t r = e / H, j = e - r * H;
    T* g = gx + r * 3 * H;
    const T* q = gh + r * 3 * H;
    T rr = g[j], z = g[H + j], nn = g[2 * H + j], hh = h[e];
    const T hn = q[2 * H + j];
    if (hprev) {            // null in inference: nothing saved
      hn_saved[e] = hn;
      hprev[e] = hh;
    }
    rnn::gru_forward_elem<T>(rr, z, nn, q[j], q[H + j], hn, hh);
    g[j] = rr;
    g[H + j] = z;
    g[2 * H + j] = nn;
    h[e] = hh;
    y[r * y_stride + j] = hh;
  }
}

template <typename T>
__global__ void gru_cell_backward_kernel(int64_t n, int64_t H, const T* __restrict__ gates,
                                         const T* __restrict__ hn, const T* __restrict__ hprev,
                                         const T* __restrict__ dy, int64_t dy_stride,
                                         T* __restrict__ dh, T* __restrict__ dgx,
                                         T* __restrict__ dgh) {
  const int64_t total = n * H, step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += step) {
    const int64_t r = e / H, j = e - r * H;
    const T* g = gates + r * 3 * H;
    const T d = dy ? dh[e] + dy[r * dy_stride + j] : dh[e];
    T dar, daz, dan, dhn, direct;
    rnn::gru_backward_elem<T>(d, g[j], g[H + j], g[2 * H + j], hn[e], hprev[e], dar, daz, dan,
                              dhn, direct);
    T* ax = dgx + r * 3 * H;
    T* ah = dgh + r * 3 * H;
    ax[j] = dar;
    ax[H + j] = daz;
    ax[2 * H + j] = dan;
    ah[j] = dar;
    ah[H + j] = daz;
    ah[2 * H + j] = dhn;
    dh[e] = direct;
  }
}

template <typename T>
void gru_forward_t(DType dt, int64_t Ts, const int64_t* bs, int64_t I, int64_t H, const T* x,
                   const T* w_ih, const T* w_hh, const T* b_ih, const T* b_hh, T* h, T* y,
                   int64_t y_stride, bool reverse, T* gates, T* hn, T* hprev, T* scratch,
                   cudaStream_t s) {
  const std::vector<int64_t> off = rnn::step_offsets(Ts, bs);
  const int64_t R = off[Ts], G = 3 * H;
  if (R == 0 || H == 0) return;
  gemm(gemm_plan(dt, R, G, I, x, I, false, w_ih, I, true, gates, G, 0.0, b_ih), s);
  for (int64_t k = 0; k < Ts; ++k) {
    const int64_t t = reverse ? Ts - 1 - k : k, n = bs[t], o = off[t];
    if (n == 0) continue;
    gemm(gemm_plan(dt, n, G, H, h, H, false, w_hh, H, true, scratch, G, 0.0, b_hh), s);
    gru_cell_forward_kernel<T><<<grid_for(n * H, kThreads), kThreads, 0, s>>>(
        n, H, gates + o * G, scratch, h, y + o * y_stride, y_stride, hn ? hn + o * H : nullptr,
        hprev ? hprev + o * H : nullptr);
    DLCORE_LAUNCH_CHECK("gru_cell_forward");
  }
}

template <typename T>
void gru_backward_t(DType dt, int64_t Ts, const int64_t* bs, int64_t I, int64_t H, const T* x,
                    const T* w_ih, const T* w_hh, const T* gates, const T* hn, const T* hprev,
                    const T* dy, int64_t dy_stride, T* dh, bool reverse, T* dgx, T* dgh, T* dx,
                    double dx_beta, T* dw_ih, T* dw_hh, T* db_ih, T* db_hh, cudaStream_t s) {
  const std::vector<int64_t> off = rnn::step_offsets(Ts, bs);
  const int64_t R = off[Ts], G = 3 * H;
  for (int64_t k = 0; k < Ts && H > 0; ++k) {
    const int64_t t = reverse ? k : Ts - 1 - k, n = bs[t], o = off[t];
    if (n == 0) continue;
    gru_cell_backward_kernel<T><<<grid_for(n * H, kThreads), kThreads, 0, s>>>(
        n, H, gates + o * G, hn + o * H, hprev + o * H, dy ? dy + o * dy_stride : nullptr,
        dy_stride, dh, dgx + o * G, dgh + o * G);
    DLCORE_LAUNCH_CHECK("gru_cell_backward");
    gemm(gemm_plan(dt, n, H, G, dgh + o * G, G, false, w_hh, H, false, dh, H, 1.0), s);
  }
  if (dx) gemm(gemm_plan(dt, R, I, G, dgx, G, false, w_ih, I, false, dx, I, dx_beta), s);
  gemm(gemm_plan(dt, G, I, R, dgx, G, true, x, I, false, dw_ih, I, 0.0), s);
  gemm(gemm_plan(dt, G, H, R, dgh, G, true, hprev, H, false, dw_hh, H, 0.0), s);
  column_sums<T>(dgx, db_ih, R, G, s);
  column_sums<T>(dgh, db_hh, R, G, s);
}

// ---- RNN ------------------------------------------------------------------------------------

template <typename T>
__global__ void rnn_cell_forward_kernel(int64_t n, int64_t H, bool relu, T* __restrict__ a,
                                        T* __restrict__ h, T* __restrict__ y, int64_t y_stride,
                                        T* __restrict__ hprev) {
  const int64_t total = n * H, step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += step) {
    const int64_t r = e / H, j = e - r * H;
    const T v = relu ? act::forward<T, ActOp::Relu>(a[e], T(0), T(0))
                     : act::forward<T, ActOp::Tanh>(a[e], T(0), T(0));
    a[e] = v;
    if (hprev) hprev[e] = h[e];
    h[e] = v;
    y[r * y_stride + j] = v;
  }
}

template <typename T>
__global__ void rnn_cell_backward_kernel(int64_t n, int64_t H, bool relu,
                                         const T* __restrict__ a, const T* __restrict__ dy,
                                         int64_t dy_stride, const T* __restrict__ dh,
                                         T* __restrict__ dg) {
  const int64_t total = n * H, step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += step) {
    const int64_t r = e / H, j = e - r * H;
    const T d = dy ? dh[e] + dy[r * dy_stride + j] : dh[e];
    dg[e] = relu ? act::backward<T, ActOp::Relu>(d, T(0), a[e], T(0), T(0))
                 : act::backward<T, ActOp::Tanh>(d, T(0), a[e], T(0), T(0));
  }
}

template <typename T>
void rnn_forward_t(DType dt, bool relu, int64_t Ts, const int64_t* bs, int64_t I, int64_t H,
                   const T* x, const T* w_ih, const T* w_hh, const T* b_ih, const T* b_hh, T* h,
                   T* y, int64_t y_stride, bool reverse, T* gates, T* hprev, T* bias_sum,
                   cudaStream_t s) {
  const std::vector<int64_t> off = rnn::step_offsets(Ts, bs);
  const int64_t R = off[Ts];
  if (R == 0 || H == 0) return;
  const T* bias = summed_bias<T>(b_ih, b_hh, bias_sum, H, s);
  gemm(gemm_plan(dt, R, H, I, x, I, false, w_ih, I, true, gates, H, 0.0, bias), s);
  for (int64_t k = 0; k < Ts; ++k) {
    const int64_t t = reverse ? Ts - 1 - k : k, n = bs[t], o = off[t];
    if (n == 0) continue;
    T* gt = gates + o * H;
    gemm(gemm_plan(dt, n, H, H, h, H, false, w_hh, H, true, gt, H, 1.0), s);
    rnn_cell_forward_kernel<T><<<grid_for(n * H, kThreads), kThreads, 0, s>>>(
        n, H, relu, gt, h, y + o * y_stride, y_stride, hprev ? hprev + o * H : nullptr);
    DLCORE_LAUNCH_CHECK("rnn_cell_forward");
  }
}

template <typename T>
void rnn_backward_t(DType dt, bool relu, int64_t Ts, const int64_t* bs, int64_t I, int64_t H,
                    const T* x, const T* w_ih, const T* w_hh, const T* gates, const T* hprev,
                    const T* dy, int64_t dy_stride, T* dh, bool reverse, T* dgates, T* dx,
                    double dx_beta, T* dw_ih, T* dw_hh, T* db, cudaStream_t s) {
  const std::vector<int64_t> off = rnn::step_offsets(Ts, bs);
  const int64_t R = off[Ts];
  for (int64_t k = 0; k < Ts && H > 0; ++k) {
    const int64_t t = reverse ? k : Ts - 1 - k, n = bs[t], o = off[t];
    if (n == 0) continue;
    T* dgt = dgates + o * H;
    rnn_cell_backward_kernel<T><<<grid_for(n * H, kThreads), kThreads, 0, s>>>(
        n, H, relu, gates + o * H, dy ? dy + o * dy_stride : nullptr, dy_stride, dh, dgt);
    DLCORE_LAUNCH_CHECK("rnn_cell_backward");
    gemm(gemm_plan(dt, n, H, H, dgt, H, false, w_hh, H, false, dh, H, 0.0), s);
  }
  if (dx) gemm(gemm_plan(dt, R, I, H, dgates, H, false, w_ih, I, false, dx, I, dx_beta), s);
  gemm(gemm_plan(dt, H, I, R, dgates, H, true, x, I, false, dw_ih, I, 0.0), s);
  gemm(gemm_plan(dt, H, H, R, dgates, H, true, hprev, H, false, dw_hh, H, 0.0), s);
  column_sums<T>(dgates, db, R, H, s);
}

}  // namespace

void gru_forward(DType dtype, int64_t T, const int64_t* batch_sizes, int64_t N, int64_t I,
                 int64_t H, const void* x, const void* w_ih, const void* w_hh, const void* b_ih,
                 const void* b_hh, void* h, void* y, int64_t y_stride, bool reverse, void* gates,
                 void* hn, void* hprev, void* scratch, void* w_hh_t, void* stream) {
  (void)N;
  (void)w_hh_t;
  DLCORE_DISPATCH_FLOAT(dtype, S, "gru", {
    gru_forward_t<S>(dtype, T, batch_sizes, I, H, (const S*)x, (const S*)w_ih, (const S*)w_hh,
                     (const S*)b_ih, (const S*)b_hh, (S*)h, (S*)y, y_stride, reverse,
                     (S*)gates, (S*)hn, (S*)hprev, (S*)scratch, as_stream(stream));
  });
}

void gru_backward(DType dtype, int64_t T, const int64_t* batch_sizes, int64_t N, int64_t I,
                  int64_t H, const void* x, const void* w_ih, const void* w_hh, const void* gates,
                  const void* hn, const void* hprev, const void* dy, int64_t dy_stride, void* dh,
                  bool reverse, void* dgx, void* dgh, void* dx, double dx_beta, void* dw_ih,
                  void* dw_hh, void* db_ih, void* db_hh, void* stream) {
  (void)N;
  DLCORE_DISPATCH_FLOAT(dtype, S, "gru", {
    gru_backward_t<S>(dtype, T, batch_sizes, I, H, (const S*)x, (const S*)w_ih,
                      (const S*)w_hh, (const S*)gates, (const S*)hn, (const S*)hprev,
                      (const S*)dy, dy_stride, (S*)dh, reverse, (S*)dgx, (S*)dgh, (S*)dx,
                      dx_beta, (S*)dw_ih, (S*)dw_hh, (S*)db_ih, (S*)db_hh, as_stream(stream));
  });
}

void rnn_forward(DType dtype, bool relu, int64_t T, const int64_t* batch_sizes, int64_t N,
                 int64_t I, int64_t H, const void* x, const void* w_ih, const void* w_hh,
                 const void* b_ih, const void* b_hh, void* h, void* y, int64_t y_stride,
                 bool reverse, void* gates, void* hprev, void* bias_sum, void* w_hh_t,
                 void* stream) {
  (void)N;
  (void)w_hh_t;
  DLCORE_DISPATCH_FLOAT(dtype, S, "rnn", {
    rnn_forward_t<S>(dtype, relu, T, batch_sizes, I, H, (const S*)x, (const S*)w_ih,
                     (const S*)w_hh, (const S*)b_ih, (const S*)b_hh, (S*)h, (S*)y, y_stride,
                     reverse, (S*)gates, (S*)hprev, (S*)bias_sum, as_stream(stream));
  });
}

void rnn_backward(DType dtype, bool relu, int64_t T, const int64_t* batch_sizes, int64_t N,
                  int64_t I, int64_t H, const void* x, const void* w_ih, const void* w_hh,
                  const void* gates, const void* hprev, const void* dy, int64_t dy_stride,
                  void* dh, bool reverse, void* dgates, void* dx, double dx_beta, void* dw_ih,
                  void* dw_hh, void* db, void* stream) {
  (void)N;
  DLCORE_DISPATCH_FLOAT(dtype, S, "rnn", {
    rnn_backward_t<S>(dtype, relu, T, batch_sizes, I, H, (const S*)x, (const S*)w_ih,
                      (const S*)w_hh, (const S*)gates, (const S*)hprev, (const S*)dy, dy_stride,
                      (S*)dh, reverse, (S*)dgates, (S*)dx, dx_beta, (S*)dw_ih, (S*)dw_hh,
                      (S*)db, as_stream(stream));
  });
}

}  // namespace dlcore::cuda
