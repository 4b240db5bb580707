// lstm.cu — one LSTM layer-direction over a whole sequence, forward and backward (CUDA).
// Mirror of csrc/cpu/lstm.cpp: the same plan (one GEMM for all steps' input projections with
// the summed biases in its epilogue; per step one GEMM h W_hh^T accumulated onto the step's
// rows and one fused pointwise kernel; in the backward one pointwise kernel and one GEMM per
// step, the weight gradients as whole-sequence GEMMs after the loop), the same saved tensors
// and the per-element formulas of core/rnn_math.h. The pointwise kernels give one thread per
// (row, unit): the four gate values of a unit sit H apart, so each is read coalesced across a
// warp. Everything is queued on `stream`; batch_sizes is a host array.
#include <vector>

#include "rnn_common.cuh"

namespace dlcore::cuda {
namespace {

using rnn::gemm_plan;
using namespace rnn_detail;

// ---- the pointwise kernels --------------------------------------------------------------------

template <typename T>
__global__ void lstm_cell_forward_kernel(int64_t n, int64_t H, T* __restrict__ gates,
                                         T* __restrict__ h, T* __restrict__ c,
                                         T* __restrict__ y, int64_t y_stride,
                                         T* __restrict__ hprev, T* __restrict__ cprev,
                                         T* __restrict__ tanhc) {
  const int64_t total = n * H, step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += step) {
    const int64_t r = e / H, j = e - r * H;
    T* g = gates + r * 4 * H;
    T i = g[j], f = g[H + j], gg = g[2 * H + j], o = g[3 * H + j];
    T cc = c[e], tc, hn;
    if (hprev) {            // null in inference: nothing saved
      cprev[e] = cc;
      hprev[e] = h[e];
    }
    rnn::lstm_forward_elem<T>(i, f, gg, o, cc, tc, hn);
    g[j] = i;
    g[H + j] = f;
    g[2 * H + j] = gg;
    g[3 * H + j] = o;
    c[e] = cc;
    if (tanhc) tanhc[e] = tc;
    h[e] = hn;
    y[r * y_stride + j] = hn;
  }
}

template <typename T>
__global__ void lstm_cell_backward_kernel(int64_t n, int64_t H, const T* __restrict__ gates,
                                          const T* __restrict__ cprev,
                                          const T* __restrict__ tanhc, const T* __restrict__ dy,
                                          int64_t dy_stride, const T* __restrict__ dh,
                                          T* __restrict__ dc, T* __restrict__ dgates) {
  const int64_t total = n * H, step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += step) {
    const int64_t r = e / H, j = e - r * H;
    const T* g = gates + r * 4 * H;
    T* dg = dgates + r * 4 * H;
    const T d = dy ? dh[e] + dy[r * dy_stride + j] : dh[e];
    T dai, daf, dag, dao, dcp;
    rnn::lstm_backward_elem<T>(d, dc[e], g[j], g[H + j], g[2 * H + j], g[3 * H + j], cprev[e],
                               tanhc[e], dai, daf, dag, dao, dcp);
    dg[j] = dai;
    dg[H + j] = daf;
    dg[2 * H + j] = dag;
    dg[3 * H + j] = dao;
    dc[e] = dcp;
  }
}

// ---- the sequence ---------------------------------------------------------------------------

template <typename T>
void lstm_forward_t(DType dt, int64_t Ts, const int64_t* bs, int64_t I, int64_t H, const T* x,
                    const T* w_ih, const T* w_hh, const T* b_ih, const T* b_hh, T* h, T* c, T* y,
                    int64_t y_stride, bool reverse, T* gates, T* hprev, T* cprev, T* tanhc,
                    T* bias_sum, cudaStream_t s) {
  const std::vector<int64_t> off = rnn::step_offsets(Ts, bs);
  const int64_t R = off[Ts], G = 4 * H;
  if (R == 0 || H == 0) return;
  const T* bias = summed_bias<T>(b_ih, b_hh, bias_sum, G, s);
  gemm(gemm_plan(dt, R, G, I, x, I, false, w_ih, I, true, gates, G, 0.0, bias), s);
  for (int64_t k = 0; k < Ts; ++k) {
    const int64_t t = reverse ? Ts - 1 - k : k, n = bs[t], o = off[t];
    if (n == 0) continue;
    T* gt = gates + o * G;
    gemm(gemm_plan(dt, n, G, H, h, H, false, w_hh, H, true, gt, G, 1.0), s);
    lstm_cell_forward_kernel<T><<<grid_for(n * H, kThreads), kThreads, 0, s>>>(
        n, H, gt, h, c, y + o * y_stride, y_stride, hprev ? hprev + o * H : nullptr,
        cprev ? cprev + o * H : nullptr, tanhc ? tanhc + o * H : nullptr);
    DLCORE_LAUNCH_CHECK("lstm_cell_forward");
  }
}

template <typename T>
void lstm_backward_t(DType dt, int64_t Ts, const int64_t* bs, int64_t I, int64_t H, const T* x,
                     const T* w_ih, const T* w_hh, const T* gates, const T* hprev,
                     const T* cprev, const T* tanhc, const T* dy, int64_t dy_stride, T* dh, T* dc,
                     bool reverse, T* dgates, T* dx, double dx_beta, T* dw_ih, T* dw_hh, T* db,
                     cudaStream_t s) {
  const std::vector<int64_t> off = rnn::step_offsets(Ts, bs);
  const int64_t R = off[Ts], G = 4 * H;
  for (int64_t k = 0; k < Ts && H > 0; ++k) {
    const int64_t t = reverse ? k : Ts - 1 - k, n = bs[t], o = off[t];
    if (n == 0) continue;
    T* dgt = dgates + o * G;
    lstm_cell_backward_kernel<T><<<grid_for(n * H, kThreads), kThreads, 0, s>>>(
        n, H, gates + o * G, cprev + o * H, tanhc + o * H, dy ? dy + o * dy_stride : nullptr,
        dy_stride, dh, dc, dgt);
    DLCORE_LAUNCH_CHECK("lstm_cell_backward");
    gemm(gemm_plan(dt, n, H, G, dgt, G, false, w_hh, H, false, dh, H, 0.0), s);
  }
  // K = R = 0 makes each GEMM write zeros (beta C with beta = 0).
  if (dx) gemm(gemm_plan(dt, R, I, G, dgates, G, false, w_ih, I, false, dx, I, dx_beta), s);
  gemm(gemm_plan(dt, G, I, R, dgates, G, true, x, I, false, dw_ih, I, 0.0), s);
  gemm(gemm_plan(dt, G, H, R, dgates, G, true, hprev, H, false, dw_hh, H, 0.0), s);
  if (db) column_sums<T>(dgates, db, R, G, s);
}

}  // namespace

void lstm_forward(DType dtype, int64_t T, const int64_t* batch_sizes, int64_t N, int64_t I,
                  int64_t H, const void* x, const void* w_ih, const void* w_hh, const void* b_ih,
                  const void* b_hh, void* h, void* c, void* y, int64_t y_stride, bool reverse,
                  void* gates, void* hprev, void* cprev, void* tanhc, void* bias_sum,
                  void* w_hh_t, void* stream) {
  (void)N;
  (void)w_hh_t;
  DLCORE_DISPATCH_FLOAT(dtype, S, "lstm", {
    lstm_forward_t<S>(dtype, T, batch_sizes, I, H, (const S*)x, (const S*)w_ih,
                      (const S*)w_hh, (const S*)b_ih, (const S*)b_hh, (S*)h, (S*)c, (S*)y,
                      y_stride, reverse, (S*)gates, (S*)hprev, (S*)cprev, (S*)tanhc,
                      (S*)bias_sum, as_stream(stream));
  });
}

void lstm_backward(DType dtype, int64_t T, const int64_t* batch_sizes, int64_t N, int64_t I,
                   int64_t H, const void* x, const void* w_ih, const void* w_hh,
                   const void* gates, const void* hprev, const void* cprev, const void* tanhc,
                   const void* dy, int64_t dy_stride, void* dh, void* dc, bool reverse,
                   void* dgates, void* dx, double dx_beta, void* dw_ih, void* dw_hh, void* db,
                   void* stream) {
  (void)N;
  DLCORE_DISPATCH_FLOAT(dtype, S, "lstm", {
    lstm_backward_t<S>(dtype, T, batch_sizes, I, H, (const S*)x, (const S*)w_ih,
                       (const S*)w_hh, (const S*)gates, (const S*)hprev, (const S*)cprev,
                       (const S*)tanhc, (const S*)dy, dy_stride, (S*)dh, (S*)dc, reverse,
                       (S*)dgates, (S*)dx, dx_beta, (S*)dw_ih, (S*)dw_hh, (S*)db,
                       as_stream(stream));
  });
}

}  // namespace dlcore::cuda
