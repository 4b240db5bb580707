// rnn.cpp — GRU and Elman RNN layer-directions over a whole sequence, forward and backward
// (CPU). Same plan as lstm.cpp: one GEMM for every step's input projection, then per step one
// GEMM for the recurrence and one fused pointwise pass; the weight gradients are GEMMs over
// the whole sequence after the backward loop.
//
// GRU, torch's gate order r, z, n:
//   r = sigmoid(gx_r + gh_r),  z = sigmoid(gx_z + gh_z),  n = tanh(gx_n + r * gh_n),
//   h' = (1 - z) n + z h,      gx = x W_ih^T + b_ih,  gh = h W_hh^T + b_hh
// b_hh's n part sits inside the r product, so the two projections cannot share one buffer as in
// the LSTM: each step's gh goes to a scratch block, and gh_n is saved for the backward.
// RNN: h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh), act = tanh or relu; like the LSTM the two
// biases are summed into the projection's epilogue and the recurrence accumulates onto it.
#include <algorithm>
#include <cstring>
#include <vector>

#include "rnn_internal.h"

namespace dlcore::cpu {
namespace {

using rnn::gemm_plan;
using namespace rnn_detail;

// ---- GRU pointwise passes -------------------------------------------------------------------
// Per row, every array a separate __restrict parameter, so the inner loops vectorise.

template <typename T>
void add_rows(int64_t n, T* __restrict a, const T* __restrict b) {
  for (int64_t j = 0; j < n; ++j) a[j] += b[j];
}

// n pre-activation += r * hn (and hn saved when hn_saved is not null).
template <typename T>
void gru_n_input(int64_t H, T* __restrict n, const T* __restrict r, const T* __restrict hn,
                 T* __restrict hn_saved) {
  for (int64_t j = 0; j < H; ++j) n[j] += r[j] * hn[j];
  if (hn_saved) std::memcpy(hn_saved, hn, sizeof(T) * H);
}

// h' = (1 - z) n + z h, written to h and y (h before the step to hprev when not null).
template <typename T>
void gru_new_h(int64_t H, const T* __restrict z, const T* __restrict n, T* __restrict h,
               T* __restrict y, T* __restrict hprev) {
  if (hprev) std::memcpy(hprev, h, sizeof(T) * H);
  for (int64_t j = 0; j < H; ++j) {
    const T v = n[j] + z[j] * (h[j] - n[j]);
    h[j] = v;
    y[j] = v;
  }
}

// Rows [r0, r1): gx (row stride 3H) holds x W_ih^T + b_ih on entry and r, z, n on return;
// gh (row stride 3H) is h W_hh^T + b_hh. Saves gh_n and h before the step (hn_saved and
// hprev null in inference: nothing saved).
template <typename T>
void gru_cell_forward(int64_t r0, int64_t r1, int64_t H, T* gx, const T* gh, T* h, T* y,
                      int64_t y_stride, T* hn_saved, T* hprev, bool vec) {
  for (int64_t r = r0; r < r1; ++r) {
    T* g = gx + r * 3 * H;
    const T* q = gh + r * 3 * H;
    add_rows<T>(2 * H, g, q);
    act_block<T, ActOp::Sigmoid>(g, g, 2 * H, vec);           // r and z are adjacent
    gru_n_input<T>(H, g + 2 * H, g, q + 2 * H, hn_saved ? hn_saved + r * H : nullptr);
    act_block<T, ActOp::Tanh>(g + 2 * H, g + 2 * H, H, vec);
    gru_new_h<T>(H, g + H, g + 2 * H, h + r * H, y + r * y_stride,
                 hprev ? hprev + r * H : nullptr);
  }
}

// One row of the backward: dh_total = dh (+ dy); writes both gate-gradient blocks and
// dh := dh_total z (the direct path; the GEMM after it adds dgh W_hh).
template <typename T, bool HAS_DY>
void gru_row_backward(int64_t H, const T* __restrict g, const T* __restrict hn,
                      const T* __restrict hp, const T* __restrict dy, T* __restrict dh,
                      T* __restrict ax, T* __restrict ah) {
  for (int64_t j = 0; j < H; ++j) {
    T d = dh[j];
    if constexpr (HAS_DY) d += dy[j];
    T dar, daz, dan, dhn, direct;
    rnn::gru_backward_elem<T>(d, g[j], g[H + j], g[2 * H + j], hn[j], hp[j], dar, daz, dan,
                              dhn, direct);
    ax[j] = dar;
    ax[H + j] = daz;
    ax[2 * H + j] = dan;
    ah[j] = dar;
    ah[H + j] = daz;
    ah[2 * H + j] = dhn;
    dh[j] = direct;
  }
}

template <typename T>
void gru_cell_backward(int64_t r0, int64_t r1, int64_t H, const T* gates, const T* hn,
                       const T* hprev, const T* dy, int64_t dy_stride, T* dh, T* dgx, T* dgh) {
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t a = r * H, g = r * 3 * H;
    if (dy)
      gru_row_backward<T, true>(H, gates + g, hn + a, hprev + a, dy + r * dy_stride, dh + a,
                                dgx + g, dgh + g);
    else
      gru_row_backward<T, false>(H, gates + g, hn + a, hprev + a, nullptr, dh + a, dgx + g,
                                 dgh + g);
  }
}

template <typename T>
void gru_forward_t(DType dt, int64_t Ts, const int64_t* bs, int64_t N, int64_t I, int64_t H,
                   const T* x, const T* w_ih, const T* w_hh, const T* b_ih, const T* b_hh, T* h, T* y,
                   int64_t y_stride, bool reverse, T* gates, T* hn, T* hprev, T* scratch,
                   T* w_hh_t) {
  const std::vector<int64_t> off = rnn::step_offsets(Ts, bs);
  const int64_t R = off[Ts], G = 3 * H;
  if (R == 0 || H == 0) return;
  gemm(gemm_plan(dt, R, G, I, x, I, false, w_ih, I, true, gates, G, 0.0, b_ih));
  const bool vec = use_avx2_kernels(), save = hprev != nullptr;
  const RecurrentWeight<T> whh = recurrent_weight(w_hh, G, H, Ts, w_hh_t);
  over_batch_rows(N, [&](int64_t b0, int64_t b1) {
    for (int64_t s = 0; s < Ts; ++s) {
      const int64_t t = reverse ? Ts - 1 - s : s, o = off[t], n = std::min(b1, bs[t]) - b0;
      if (n <= 0) continue;
      // scratch[rows] = h[rows] W_hh^T + b_hh
      gemm(gemm_plan(dt, n, G, H, h + b0 * H, H, false, whh.b, whh.ld, whh.transposed,
                     scratch + b0 * G, G, 0.0, b_hh));
      parallel_for(n, row_grain(G), [&](int64_t r0, int64_t r1) {
        gru_cell_forward<T>(r0 + b0, r1 + b0, H, gates + o * G, scratch, h, y + o * y_stride,
                            y_stride, save ? hn + o * H : nullptr,
                            save ? hprev + o * H : nullptr, vec);
      });
    }
  });
}

template <typename T>
void gru_backward_t(DType dt, int64_t Ts, const int64_t* bs, int64_t N, int64_t I, int64_t H,
                    const T* x, const T* w_ih, const T* w_hh, const T* gates, const T* hn, const T* hprev,
                    const T* dy, int64_t dy_stride, T* dh, bool reverse, T* dgx, T* dgh, T* dx,
                    double dx_beta, T* dw_ih, T* dw_hh, T* db_ih, T* db_hh) {
  const std::vector<int64_t> off = rnn::step_offsets(Ts, bs);
  const int64_t R = off[Ts], G = 3 * H;
  if (H > 0) over_batch_rows(N, [&](int64_t b0, int64_t b1) {
    for (int64_t s = 0; s < Ts; ++s) {
      const int64_t t = reverse ? s : Ts - 1 - s, o = off[t], n = std::min(b1, bs[t]) - b0;
      if (n <= 0) continue;
      parallel_for(n, row_grain(G), [&](int64_t r0, int64_t r1) {
        gru_cell_backward<T>(r0 + b0, r1 + b0, H, gates + o * G, hn + o * H, hprev + o * H,
                             dy ? dy + o * dy_stride : nullptr, dy_stride, dh, dgx + o * G,
                             dgh + o * G);
      });
      // dh[rows] += dgh_t[rows] W_hh
      gemm(gemm_plan(dt, n, H, G, dgh + (o + b0) * G, G, false, w_hh, H, false, dh + b0 * H,
                     H, 1.0));
    }
  });
  // K = R = 0 gives zeros (the GEMM writes beta C = 0).
  if (dx) gemm(gemm_plan(dt, R, I, G, dgx, G, false, w_ih, I, false, dx, I, dx_beta));
  gemm(gemm_plan(dt, G, I, R, dgx, G, true, x, I, false, dw_ih, I, 0.0));
  gemm(gemm_plan(dt, G, H, R, dgh, G, true, hprev, H, false, dw_hh, H, 0.0));
  column_sums<T>(dgx, db_ih, R, G);
  column_sums<T>(dgh, db_hh, R, G);
}

// ---- RNN ------------------------------------------------------------------------------------

// Rows [r0, r1): a (row stride H) holds the pre-activation on entry and h' on return (h
// before the step to hprev unless null: inference).
template <typename T>
void rnn_cell_forward(int64_t r0, int64_t r1, int64_t H, bool relu, T* gates, T* h, T* y,
                      int64_t y_stride, T* hprev, bool vec) {
  for (int64_t r = r0; r < r1; ++r) {
    T* a = gates + r * H;
    if (relu) relu_block<T>(H, a);
    else act_block<T, ActOp::Tanh>(a, a, H, vec);
    if (hprev) std::memcpy(hprev + r * H, h + r * H, sizeof(T) * H);
    std::memcpy(h + r * H, a, sizeof(T) * H);
    std::memcpy(y + r * y_stride, a, sizeof(T) * H);
  }
}

// One row of the backward: dG = (dh + dy) act'(h'), act' read from the saved output.
template <typename T, bool HAS_DY, bool RELU>
void rnn_row_backward(int64_t H, const T* __restrict a, const T* __restrict dy,
                      const T* __restrict dh, T* __restrict dg) {
  for (int64_t j = 0; j < H; ++j) {
    T d = dh[j];
    if constexpr (HAS_DY) d += dy[j];
    if constexpr (RELU) dg[j] = act::backward<T, ActOp::Relu>(d, T(0), a[j], T(0), T(0));
    else dg[j] = act::backward<T, ActOp::Tanh>(d, T(0), a[j], T(0), T(0));
  }
}

template <typename T>
void rnn_cell_backward(int64_t r0, int64_t r1, int64_t H, bool relu, const T* gates,
                       const T* dy, int64_t dy_stride, const T* dh, T* dgates) {
  for (int64_t r = r0; r < r1; ++r) {
    const T* a = gates + r * H;
    const T* d = dy ? dy + r * dy_stride : nullptr;
    T* g = dgates + r * H;
    if (relu) {
      if (d) rnn_row_backward<T, true, true>(H, a, d, dh + r * H, g);
      else rnn_row_backward<T, false, true>(H, a, d, dh + r * H, g);
    } else {
      if (d) rnn_row_backward<T, true, false>(H, a, d, dh + r * H, g);
      else rnn_row_backward<T, false, false>(H, a, d, dh + r * H, g);
    }
  }
}

template <typename T>
void rnn_forward_t(DType dt, bool relu, int64_t Ts, const int64_t* bs, int64_t N, int64_t I,
                   int64_t H, const T* x, const T* w_ih, const T* w_hh, const T* b_ih,
                   const T* b_hh, T* h, T* y, int64_t y_stride, bool reverse, T* gates, T* hprev,
                   T* bias_sum, T* w_hh_t) {
  const std::vector<int64_t> off = rnn::step_offsets(Ts, bs);
  const int64_t R = off[Ts];
  if (R == 0 || H == 0) return;
  const T* bias = nullptr;
  if (b_ih || b_hh) {
    for (int64_t k = 0; k < H; ++k) bias_sum[k] = (b_ih ? b_ih[k] : T(0)) + (b_hh ? b_hh[k] : T(0));
    bias = bias_sum;
  }
  gemm(gemm_plan(dt, R, H, I, x, I, false, w_ih, I, true, gates, H, 0.0, bias));
  const bool vec = use_avx2_kernels();
  const RecurrentWeight<T> whh = recurrent_weight(w_hh, H, H, Ts, w_hh_t);
  over_batch_rows(N, [&](int64_t b0, int64_t b1) {
    for (int64_t s = 0; s < Ts; ++s) {
      const int64_t t = reverse ? Ts - 1 - s : s, o = off[t], n = std::min(b1, bs[t]) - b0;
      if (n <= 0) continue;
      gemm(gemm_plan(dt, n, H, H, h + b0 * H, H, false, whh.b, whh.ld, whh.transposed,
                     gates + (o + b0) * H, H, 1.0));
      parallel_for(n, row_grain(H), [&](int64_t r0, int64_t r1) {
        rnn_cell_forward<T>(r0 + b0, r1 + b0, H, relu, gates + o * H, h, y + o * y_stride,
                            y_stride, hprev ? hprev + o * H : nullptr, vec);
      });
    }
  });
}

template <typename T>
void rnn_backward_t(DType dt, bool relu, int64_t Ts, const int64_t* bs, int64_t N, int64_t I,
                    int64_t H, const T* x, const T* w_ih, const T* w_hh, const T* gates,
                    const T* hprev, const T* dy, int64_t dy_stride, T* dh, bool reverse,
                    T* dgates, T* dx, double dx_beta, T* dw_ih, T* dw_hh, T* db) {
  const std::vector<int64_t> off = rnn::step_offsets(Ts, bs);
  const int64_t R = off[Ts];
  if (H > 0) over_batch_rows(N, [&](int64_t b0, int64_t b1) {
    for (int64_t s = 0; s < Ts; ++s) {
      const int64_t t = reverse ? s : Ts - 1 - s, o = off[t], n = std::min(b1, bs[t]) - b0;
      if (n <= 0) continue;
      parallel_for(n, row_grain(H), [&](int64_t r0, int64_t r1) {
        rnn_cell_backward<T>(r0 + b0, r1 + b0, H, relu, gates + o * H,
                             dy ? dy + o * dy_stride : nullptr, dy_stride, dh, dgates + o * H);
      });
      gemm(gemm_plan(dt, n, H, H, dgates + (o + b0) * H, H, false, w_hh, H, false,
                     dh + b0 * H, H, 0.0));
    }
  });
  if (dx) gemm(gemm_plan(dt, R, I, H, dgates, H, false, w_ih, I, false, dx, I, dx_beta));
  gemm(gemm_plan(dt, H, I, R, dgates, H, true, x, I, false, dw_ih, I, 0.0));
  gemm(gemm_plan(dt, H, H, R, dgates, H, true, hprev, H, false, dw_hh, H, 0.0));
  column_sums<T>(dgates, db, R, H);
}

}  // namespace

#define DLCORE_RNN_DISPATCH(dtype, CALL)          \
  if ((dtype) == DType::Float32) {                \
    using T = float;                              \
    CALL;                                         \
  } else {                                        \
    using T = double;                             \
    CALL;                                         \
  }

void gru_forward(DType dtype, int64_t T_, const int64_t* batch_sizes, int64_t N, int64_t I,
                 int64_t H, const void* x, const void* w_ih, const void* w_hh, const void* b_ih,
                 const void* b_hh, void* h, void* y, int64_t y_stride, bool reverse, void* gates,
                 void* hn, void* hprev, void* scratch, void* w_hh_t) {
  DLCORE_RNN_DISPATCH(dtype, gru_forward_t<T>(dtype, T_, batch_sizes, N, I, H, (const T*)x,
      (const T*)w_ih, (const T*)w_hh, (const T*)b_ih, (const T*)b_hh, (T*)h, (T*)y, y_stride,
      reverse, (T*)gates, (T*)hn, (T*)hprev, (T*)scratch, (T*)w_hh_t))
}

void gru_backward(DType dtype, int64_t T_, const int64_t* batch_sizes, int64_t N, int64_t I,
                  int64_t H, const void* x, const void* w_ih, const void* w_hh, const void* gates,
                  const void* hn, const void* hprev, const void* dy, int64_t dy_stride, void* dh,
                  bool reverse, void* dgx, void* dgh, void* dx, double dx_beta, void* dw_ih,
                  void* dw_hh, void* db_ih, void* db_hh) {
  DLCORE_RNN_DISPATCH(dtype, gru_backward_t<T>(dtype, T_, batch_sizes, N, I, H, (const T*)x,
      (const T*)w_ih, (const T*)w_hh, (const T*)gates, (const T*)hn, (const T*)hprev,
      (const T*)dy, dy_stride, (T*)dh, reverse, (T*)dgx, (T*)dgh, (T*)dx, dx_beta, (T*)dw_ih,
      (T*)dw_hh, (T*)db_ih, (T*)db_hh))
}

void rnn_forward(DType dtype, bool relu, int64_t T_, const int64_t* batch_sizes, int64_t N,
                 int64_t I, int64_t H, const void* x, const void* w_ih, const void* w_hh,
                 const void* b_ih, const void* b_hh, void* h, void* y, int64_t y_stride,
                 bool reverse, void* gates, void* hprev, void* bias_sum, void* w_hh_t) {
  DLCORE_RNN_DISPATCH(dtype, rnn_forward_t<T>(dtype, relu, T_, batch_sizes, N, I, H, (const T*)x,
      (const T*)w_ih, (const T*)w_hh, (const T*)b_ih, (const T*)b_hh, (T*)h, (T*)y, y_stride,
      reverse, (T*)gates, (T*)hprev, (T*)bias_sum, (T*)w_hh_t))
}

void rnn_backward(DType dtype, bool relu, int64_t T_, const int64_t* batch_sizes, int64_t N,
                  int64_t I, int64_t H, const void* x, const void* w_ih, const void* w_hh,
                  const void* gates, const void* hprev, const void* dy, int64_t dy_stride,
                  void* dh, bool reverse, void* dgates, void* dx, double dx_beta, void* dw_ih,
                  void* dw_hh, void* db) {
  DLCORE_RNN_DISPATCH(dtype, rnn_backward_t<T>(dtype, relu, T_, batch_sizes, N, I, H,
      (const T*)x, (const T*)w_ih, (const T*)w_hh, (const T*)gates, (const T*)hprev,
      (const T*)dy, dy_stride, (T*)dh, reverse, (T*)dgates, (T*)dx, dx_beta, (T*)dw_ih,
      (T*)dw_hh, (T*)db))
}

#undef DLCORE_RNN_DISPATCH

}  // namespace dlcore::cpu
