// lstm.cpp — one LSTM layer-direction over a whole sequence, forward and backward (CPU).
//
// Gate order i, f, g, o as torch packs W_ih [4H, I] / W_hh [4H, H]:
//   a = x W_ih^T + b_ih + h W_hh^T + b_hh,   i, f, o = sigmoid(a_*),  g = tanh(a_g)
//   c' = f c + i g,   h' = o tanh(c')
// Where the time goes: x W_ih^T does not depend on the recurrence, so all T steps are ONE GEMM
// (R x I by I x 4H, both biases summed into its epilogue) written straight into the gates
// buffer. What is left per step is the dependent part: one GEMM h W_hh^T accumulated (beta = 1)
// onto that step's rows of the same buffer, then one fused pointwise pass per row that applies
// the activations in place, advances c and h, writes y and saves exactly what the backward
// reads (activated gates, c before the step, h before the step, tanh(c')). The backward mirrors
// it: per step one pointwise pass (gate gradients, dc_prev) and one GEMM dG W_hh for dh_prev;
// the weight gradients need no recurrence, so they are whole-sequence GEMMs after the loop.
// Packed sequences (core/rnn_math.h): step t advances only its first batch_sizes[t] rows.
//
// That plan is the reference (float64, and every dtype on DLCORE_CPU_PATH=generic). float32
// on AVX2 / AVX-512 takes the fused plan of lstm_fused.h instead: the step GEMM (input
// projection included) and the cell share one register tile, and the backward's dh and dx
// products share theirs with the gate-gradient pass, which also leaves dG in the panels the
// weight-gradient tiles read.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

#include "lstm_fused.h"
#include "rnn_internal.h"

namespace dlcore::cpu {
namespace {

using rnn::gemm_plan;
using namespace rnn_detail;

// ---- the pointwise passes ------------------------------------------------------------------
// Written per row with every array a separate __restrict parameter (the compiler only trusts
// restrict on parameters), so each inner loop vectorises.

template <typename T>
void lstm_new_c(int64_t H, const T* __restrict i, const T* __restrict f, const T* __restrict g,
                T* __restrict c, T* __restrict c_copy) {
  for (int64_t j = 0; j < H; ++j) {
    const T v = f[j] * c[j] + i[j] * g[j];
    c[j] = v;
    c_copy[j] = v;                          // becomes tanh(c') in place
  }
}

// h = o tanh(c'); tc and y may be the same row (inference keeps tanh(c') in y).
template <typename T>
void lstm_new_h(int64_t H, const T* __restrict o, const T* tc, T* __restrict h, T* y) {
  for (int64_t j = 0; j < H; ++j) {
    const T v = o[j] * tc[j];
    h[j] = v;
    y[j] = v;
  }
}

// One row of one step: g holds the 4H pre-activations on entry and the activated gates on
// return; h, c the state. hprev / cprev / tanhc receive what the backward reads; all null in
// inference (then nothing is saved and tanh(c') passes through y).
template <typename T>
void lstm_row_forward(int64_t H, T* g, T* h, T* c, T* y, T* hprev, T* cprev, T* tanhc,
                      bool vec) {
  act_block<T, ActOp::Sigmoid>(g, g, 2 * H, vec);             // i and f are adjacent
  act_block<T, ActOp::Tanh>(g + 2 * H, g + 2 * H, H, vec);
  act_block<T, ActOp::Sigmoid>(g + 3 * H, g + 3 * H, H, vec);
  if (hprev) {
    std::memcpy(hprev, h, sizeof(T) * H);
    std::memcpy(cprev, c, sizeof(T) * H);
  }
  T* tc = tanhc ? tanhc : y;
  lstm_new_c<T>(H, g, g + H, g + 2 * H, c, tc);
  act_block<T, ActOp::Tanh>(tc, tc, H, vec);
  lstm_new_h<T>(H, g + 3 * H, tc, h, y);
}

// One row of one step of the backward: dh_total = dh (+ dy); writes the 4H pre-activation
// gradients dg and replaces dc with dc_prev (dh is overwritten by the GEMM that follows).
template <typename T, bool HAS_DY>
void lstm_row_backward(int64_t H, const T* __restrict g, const T* __restrict cp,
                       const T* __restrict tc, const T* __restrict dy, const T* __restrict dh,
                       T* __restrict dc, T* __restrict dg) {
  for (int64_t j = 0; j < H; ++j) {
    T d = dh[j];
    if constexpr (HAS_DY) d += dy[j];
    T dai, daf, dag, dao, dcp;
    rnn::lstm_backward_elem<T>(d, dc[j], g[j], g[H + j], g[2 * H + j], g[3 * H + j], cp[j],
                               tc[j], dai, daf, dag, dao, dcp);
    dg[j] = dai;
    dg[H + j] = daf;
    dg[2 * H + j] = dag;
    dg[3 * H + j] = dao;
    dc[j] = dcp;
  }
}

// Rows [r0, r1) of one step; every pointer is at the step's first row (y, dy row strides).
template <typename T>
void lstm_cell_forward(int64_t r0, int64_t r1, int64_t H, T* gates, T* h, T* c, T* y,
                       int64_t y_stride, T* hprev, T* cprev, T* tanhc, bool vec) {
  const bool save = hprev != nullptr;
  for (int64_t r = r0; r < r1; ++r)
    lstm_row_forward<T>(H, gates + r * 4 * H, h + r * H, c + r * H, y + r * y_stride,
                        save ? hprev + r * H : nullptr, save ? cprev + r * H : nullptr,
                        save ? tanhc + r * H : nullptr, vec);
}

template <typename T>
void lstm_cell_backward(int64_t r0, int64_t r1, int64_t H, const T* gates, const T* cprev,
                        const T* tanhc, const T* dy, int64_t dy_stride, const T* dh, T* dc,
                        T* dgates) {
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t a = r * H, g = r * 4 * H;
    if (dy)
      lstm_row_backward<T, true>(H, gates + g, cprev + a, tanhc + a, dy + r * dy_stride,
                                 dh + a, dc + a, dgates + g);
    else
      lstm_row_backward<T, false>(H, gates + g, cprev + a, tanhc + a, nullptr, dh + a, dc + a,
                                  dgates + g);
  }
}

// ---- the fused float32 path (lstm_fused.h) -------------------------------------------------

enum class FusedPath { None, Avx2, Avx512 };

// The fused steps exist for float32 on AVX2 + FMA (8 lanes) and AVX-512 (16 lanes), at the
// same level as the GEMM (gemm_simd_path(): DLCORE_CPU_PATH=avx2 brings both down to 8 lanes
// on an AVX-512 CPU); the generic path (DLCORE_CPU_PATH=generic) keeps the GEMM + pointwise
// plan below.
FusedPath fused_path() {
  if (!use_avx2_kernels()) return FusedPath::None;
  return std::strcmp(gemm_simd_path(), "avx512") == 0 ? FusedPath::Avx512 : FusedPath::Avx2;
}

// A 64-byte aligned float buffer per calling thread that only grows: the packed W_hh (1 MB at
// H = 256) is rebuilt on every call, but its pages are not faulted in again each time.
float* fused_scratch(int64_t floats) {
  struct Free { void operator()(float* p) const { std::free(p); } };
  static thread_local std::unique_ptr<float, Free> buf;
  static thread_local int64_t cap = 0;
  if (floats > cap) {
    const int64_t n = (floats + 15) / 16 * 16;
    buf.reset(static_cast<float*>(std::aligned_alloc(64, sizeof(float) * n)));
    if (!buf) throw std::bad_alloc();
    cap = n;
  }
  return buf.get();
}

// Forward of the whole sequence. The input projection is not a GEMM of its own here: the step
// tile runs its k loop over [h_{t-1}, x_t] against the packed [W_hh | W_ih] panel, so the
// gate pre-activations never go through memory (at batch 32 the separate whole-sequence GEMM
// ran well below the tile's FMA rate, K = I being short). Each thread owns a block of batch
// rows for all steps (over_batch_rows); h alternates between the state array and a scratch
// block because a step reads all of h_{t-1} while writing h_t.
// (Threads owning blocks of hidden units instead, each packing and reading only its half of
// the weight panels so that they stay in its L2, with a barrier per step, ran no faster at
// two threads on Zen 4: 7.49 against 7.47 ms at T 50, N 32, 128 -> 256, 2026-12-03.)
// With batch_first, x and y hold row (t, b) at row b*Ts + t (equal batch sizes): the steps
// read and write them with a row stride of Ts rows, so a batch-first layer needs no transposing
// copies of its input and output (~2.5% of a char-LM training step, 2026-12-03).
void lstm_forward_fused(FusedPath fp, int64_t Ts, const int64_t* bs,
                        const std::vector<int64_t>& off, int64_t N, int64_t I, int64_t H,
                        const float* x, const float* w_ih, const float* w_hh,
                        const float* bias, float* h, float* c, float* y, int64_t y_stride,
                        bool reverse, float* gates, float* hprev, float* cprev, float* tanhc,
                        bool batch_first) {
  const bool wide = fp == FusedPath::Avx512;
  const int lanes = wide ? 16 : 8;
  const int64_t G = 4 * H, packed = lstm_fused::forward_pack_floats(H, I, lanes);
  const int64_t blocks = (H + lanes - 1) / lanes;
  float* wp = fused_scratch(packed + N * H);
  float* hbuf = wp + packed;
  const auto pack = wide ? lstm_fused::pack_forward_avx512 : lstm_fused::pack_forward_avx2;
  const auto step = wide ? lstm_fused::step_forward_avx512 : lstm_fused::step_forward_avx2;
  // Threads take whole unit blocks (~100 KB of panel each at H = 256).
  parallel_for(blocks, std::max<int64_t>(1, kParallelGrain / (4 * lanes * (H + I) + 1)),
               [&](int64_t u0, int64_t u1) { pack(H, I, w_hh, w_ih, wp, u0, u1); });
  const bool save = hprev != nullptr;
  const int64_t ldx = batch_first ? Ts * I : I, ldy = batch_first ? Ts * y_stride : y_stride;
  over_batch_rows(N, [&](int64_t b0, int64_t b1) {
    const int64_t rows = b1 - b0;
    float* cur = h + b0 * H;
    float* nxt = hbuf + b0 * H;
    for (int64_t s = 0; s < Ts; ++s) {
      const int64_t t = reverse ? Ts - 1 - s : s, o = off[t] + b0;
      const int64_t n = std::min(b1, bs[t]) - b0;
      if (n <= 0) continue;
      const int64_t row = batch_first ? b0 * Ts + t : o;   // of x and y
      lstm_fused::ForwardStep st{n, H, I, 0, blocks, wp, x + row * I, ldx, bias, cur, H,
                                 gates + o * G, c + b0 * H, nxt, y + row * y_stride, ldy,
                                 save ? hprev + o * H : nullptr, save ? cprev + o * H : nullptr,
                                 save ? tanhc + o * H : nullptr, save};
      step(st);
      // Rows not active at this step keep their state in the other buffer.
      if (n < rows) std::memcpy(nxt + n * H, cur + n * H, sizeof(float) * (rows - n) * H);
      std::swap(cur, nxt);
    }
    if (cur != h + b0 * H) std::memcpy(h + b0 * H, cur, sizeof(float) * rows * H);
  });
}

// Backward of the whole sequence, weight gradients included. The product dh = dG_t W_hh of a
// step is not formed on its own: the next step's kernel computes it in its register tile and
// applies the gate-gradient pass straight away, and from the same rows of dG_t (still in L1)
// the step's dx = dG_t W_ih. Only rows that leave the recurrence (the sequence's first step,
// or a shorter sequence's start in a reverse pass) get their dh and dx from the plain GEMM.
// dG_t lives row-major only for the step after it (a two-step ring); its lasting copy is the
// weight-gradient panels (lstm_fused::WeightGrad), written by the same epilogue, from which
// dW_hh, dW_ih and db follow at the end. `dgates` ([R, 4H]) holds the panels when they fit
// (H a multiple of the lanes), else they go to scratch.
void lstm_backward_fused(FusedPath fp, DType dt, int64_t Ts, const int64_t* bs,
                         const std::vector<int64_t>& off, int64_t N, int64_t I, int64_t H,
                         const float* x, const float* w_ih, const float* w_hh,
                         const float* gates, const float* hprev, const float* cprev,
                         const float* tanhc, const float* dy, int64_t dy_stride, float* dh,
                         float* dc, bool reverse, float* dgates, float* dx, double dx_beta,
                         float* dw_ih, float* dw_hh, float* db, bool batch_first) {
  const bool wide = fp == FusedPath::Avx512;
  const int lanes = wide ? 16 : 8;
  const int64_t R = off[Ts], blocks = (H + lanes - 1) / lanes;
  const int64_t G = 4 * H, ph = lstm_fused::backward_pack_floats(H, H, lanes);
  const int64_t px = dx ? lstm_fused::backward_pack_floats(H, I, lanes) : 0;
  const int64_t ring = 2 * N * G, panels = blocks * R * 4 * lanes;
  const int64_t fth = lstm_fused::feature_tiles(H), ftx = lstm_fused::feature_tiles(I);
  const int64_t ftile = lstm_fused::kFeatureTile * R;
  const bool own_panels = panels > R * G;
  float* wp = fused_scratch(ph + px + ring + (fth + ftx) * ftile + (own_panels ? panels : 0));
  float* wpx = dx ? wp + ph : nullptr;
  float* dg_ring = wp + ph + px;
  float* h_tiles = dg_ring + ring;
  float* x_tiles = h_tiles + fth * ftile;
  float* dgp = own_panels ? x_tiles + ftx * ftile : dgates;
  const int64_t dgp_stride = R * 4 * lanes;
  if (wide) {
    lstm_fused::pack_backward_avx512(H, H, w_hh, wp);
    if (dx) lstm_fused::pack_backward_avx512(H, I, w_ih, wpx);
  } else {
    lstm_fused::pack_backward_avx2(H, H, w_hh, wp);
    if (dx) lstm_fused::pack_backward_avx2(H, I, w_ih, wpx);
  }
  const auto step = wide ? lstm_fused::step_backward_avx512 : lstm_fused::step_backward_avx2;
  // Rows [r0, r1) of a step whose gate gradients dg are final but that no later kernel call
  // reads: dh (rows of this thread's block) = dg W_hh, and their dx rows = dg W_ih.
  // (batch_first: dy and dx rows as x's in the forward, row (t, b) at row b*Ts + t)
  const int64_t ldx = batch_first ? Ts * I : I, lddy = batch_first ? Ts * dy_stride : dy_stride;
  auto finish_rows = [&](const float* dg, float* dx_rows, int64_t r0, int64_t r1,
                         float* dh_rows) {
    if (r1 <= r0) return;
    gemm(gemm_plan(dt, r1 - r0, H, G, dg + r0 * G, G, false, w_hh, H, false, dh_rows + r0 * H,
                   H, 0.0));
    if (dx_rows)
      gemm(gemm_plan(dt, r1 - r0, I, G, dg + r0 * G, G, false, w_ih, I, false,
                     dx_rows + r0 * ldx, ldx, dx_beta));
  };
  over_batch_rows(N, [&](int64_t b0, int64_t b1) {
    const float* dg_next = nullptr;   // the gate gradients of the step processed before
    float* dx_next = nullptr;         // and that step's dx rows
    int64_t n_next = 0;
    for (int64_t s = 0; s < Ts; ++s) {
      const int64_t t = reverse ? s : Ts - 1 - s, o = off[t] + b0;
      const int64_t n = std::max<int64_t>(0, std::min(b1, bs[t]) - b0);
      if (n_next > n) finish_rows(dg_next, dx_next, n, n_next, dh + b0 * H);
      if (n == 0) {
        n_next = 0;
        continue;
      }
      float* dg = dg_ring + (s & 1) * N * G + b0 * G;
      const int64_t row = batch_first ? b0 * Ts + t : o;   // of dy and dx
      lstm_fused::BackwardStep st{n, std::min(n, n_next), H, I, wp, wpx, dg_next,
                                  dy ? dy + row * dy_stride : nullptr, lddy, dh + b0 * H,
                                  dc + b0 * H, gates + o * G, cprev + o * H, tanhc + o * H,
                                  dg, dx_next, ldx, dx_beta != 0.0, dgp, dgp_stride, o};
      step(st);
      dg_next = dg;
      dx_next = dx ? dx + row * I : nullptr;
      n_next = n;
    }
    finish_rows(dg_next, dx_next, 0, n_next, dh + b0 * H);
  });
  // Threads split the feature tiles, then the unit blocks (a few hundred KB of panel each,
  // no shared writes).
  parallel_for(fth + ftx, std::max<int64_t>(1, kParallelGrain / (ftile + 1)),
               [&](int64_t q0, int64_t q1) {
    if (q0 < fth) lstm_fused::pack_feature_tiles(R, H, hprev, h_tiles, q0, std::min(q1, fth));
    if (q1 > fth)
      lstm_fused::pack_feature_tiles(R, I, x, x_tiles, std::max<int64_t>(q0 - fth, 0), q1 - fth,
                                     batch_first ? Ts : 0, N);
  });
  const auto wgrad = wide ? lstm_fused::weight_grad_avx512 : lstm_fused::weight_grad_avx2;
  parallel_for(blocks, std::max<int64_t>(1, kParallelGrain / (4 * lanes * R * (H + I) + 1)),
               [&](int64_t u0, int64_t u1) {
    wgrad(lstm_fused::WeightGrad{R, H, I, dgp, dgp_stride, h_tiles, x_tiles, dw_hh, dw_ih, db,
                                 u0, u1});
  });
}

// ---- the sequence --------------------------------------------------------------------------

// Rows of a batch-first [N, Ts] sequence (row b*Ts + t, row stride ld) to time-major order
// (row t*N + b, stride F) or back: the reference plan's way to serve a batch-first layer.
template <typename T>
void batch_rows_to_time_major(int64_t Ts, int64_t N, int64_t F, const T* src, int64_t ld, T* dst) {
  for (int64_t b = 0; b < N; ++b)
    for (int64_t t = 0; t < Ts; ++t)
      std::memcpy(dst + (t * N + b) * F, src + (b * Ts + t) * ld, sizeof(T) * F);
}
template <typename T>
void time_major_to_batch_rows(int64_t Ts, int64_t N, int64_t F, const T* src, T* dst, int64_t ld) {
  for (int64_t b = 0; b < N; ++b)
    for (int64_t t = 0; t < Ts; ++t)
      std::memcpy(dst + (b * Ts + t) * ld, src + (t * N + b) * F, sizeof(T) * F);
}

template <typename T>
void lstm_forward_t(DType dt, int64_t Ts, const int64_t* bs, int64_t N, int64_t I, int64_t H,
                    const T* x, const T* w_ih, const T* w_hh, const T* b_ih, const T* b_hh, T* h,
                    T* c, T* y, int64_t y_stride, bool reverse, T* gates, T* hprev, T* cprev,
                    T* tanhc, T* bias_sum, T* w_hh_t, bool batch_first) {
  const std::vector<int64_t> off = rnn::step_offsets(Ts, bs);
  const int64_t R = off[Ts], G = 4 * H;
  if (R == 0 || H == 0) return;
  const T* bias = nullptr;
  if (b_ih || b_hh) {   // b_ih + b_hh once, so the projection's epilogue adds one vector
    for (int64_t k = 0; k < G; ++k) bias_sum[k] = (b_ih ? b_ih[k] : T(0)) + (b_hh ? b_hh[k] : T(0));
    bias = bias_sum;
  }
  // All steps' input projections: gates[R, 4H] = x[R, I] W_ih^T + bias.
  if constexpr (std::is_same_v<T, float>) {
    const FusedPath fp = fused_path();
    if (fp != FusedPath::None)
      return lstm_forward_fused(fp, Ts, bs, off, N, I, H, x, w_ih, w_hh, bias, h, c, y,
                                y_stride, reverse, gates, hprev, cprev, tanhc, batch_first);
  }
  if (batch_first) {   // the reference plan runs time-major, on copies
    std::vector<T> xt(R * I), yt(R * H);
    batch_rows_to_time_major(Ts, N, I, x, I, xt.data());
    lstm_forward_t<T>(dt, Ts, bs, N, I, H, xt.data(), w_ih, w_hh, b_ih, b_hh, h, c, yt.data(),
                      H, reverse, gates, hprev, cprev, tanhc, bias_sum, w_hh_t, false);
    time_major_to_batch_rows(Ts, N, H, yt.data(), y, y_stride);
    return;
  }
  gemm(gemm_plan(dt, R, G, I, x, I, false, w_ih, I, true, gates, G, 0.0, bias));
  const bool vec = use_avx2_kernels(), save = hprev != nullptr;
  const RecurrentWeight<T> whh = recurrent_weight(w_hh, G, H, Ts, w_hh_t);
  over_batch_rows(N, [&](int64_t b0, int64_t b1) {
    for (int64_t s = 0; s < Ts; ++s) {
      const int64_t t = reverse ? Ts - 1 - s : s, o = off[t], n = std::min(b1, bs[t]) - b0;
      if (n <= 0) continue;   // (a reverse pass picks these rows up at later steps)
      T* gt = gates + (o + b0) * G;
      // gates_t[rows] += h[rows] W_hh^T   (the recurrence)
      gemm(gemm_plan(dt, n, G, H, h + b0 * H, H, false, whh.b, whh.ld, whh.transposed, gt, G,
                     1.0));
      parallel_for(n, row_grain(G), [&](int64_t r0, int64_t r1) {
        lstm_cell_forward<T>(r0 + b0, r1 + b0, H, gates + o * G, h, c, y + o * y_stride,
                             y_stride, save ? hprev + o * H : nullptr,
                             save ? cprev + o * H : nullptr, save ? tanhc + o * H : nullptr,
                             vec);
      });
    }
  });
}

template <typename T>
void lstm_backward_t(DType dt, int64_t Ts, const int64_t* bs, int64_t N, int64_t I, int64_t H,
                     const T* x, const T* w_ih, const T* w_hh, const T* gates, const T* hprev,
                     const T* cprev, const T* tanhc, const T* dy, int64_t dy_stride, T* dh, T* dc,
                     bool reverse, T* dgates, T* dx, double dx_beta, T* dw_ih, T* dw_hh, T* db,
                     bool batch_first) {
  const std::vector<int64_t> off = rnn::step_offsets(Ts, bs);
  const int64_t R = off[Ts], G = 4 * H;
  if (R == 0 || H == 0) {   // nothing ran: the weights got no gradient, dx (if any) neither
    std::fill(dw_ih, dw_ih + G * I, T(0));
    std::fill(dw_hh, dw_hh + G * H, T(0));
    if (db) std::fill(db, db + G, T(0));
    if (dx && dx_beta == 0.0) std::fill(dx, dx + R * I, T(0));
    return;
  }
  // Steps in the opposite order of the forward, each thread on its own batch rows.
  if constexpr (std::is_same_v<T, float>) {
    const FusedPath fp = fused_path();
    if (fp != FusedPath::None)
      return lstm_backward_fused(fp, dt, Ts, bs, off, N, I, H, x, w_ih, w_hh, gates, hprev,
                                 cprev, tanhc, dy, dy_stride, dh, dc, reverse, dgates, dx,
                                 dx_beta, dw_ih, dw_hh, db, batch_first);
  }
  if (batch_first) {   // the reference plan runs time-major, on copies
    std::vector<T> xt(R * I), dyt(dy ? R * H : 0), dxt(dx ? R * I : 0);
    batch_rows_to_time_major(Ts, N, I, x, I, xt.data());
    if (dy) batch_rows_to_time_major(Ts, N, H, dy, dy_stride, dyt.data());
    if (dx && dx_beta != 0.0) batch_rows_to_time_major(Ts, N, I, dx, I, dxt.data());
    lstm_backward_t<T>(dt, Ts, bs, N, I, H, xt.data(), w_ih, w_hh, gates, hprev, cprev, tanhc,
                       dy ? dyt.data() : nullptr, H, dh, dc, reverse, dgates,
                       dx ? dxt.data() : nullptr, dx_beta, dw_ih, dw_hh, db, false);
    if (dx) time_major_to_batch_rows(Ts, N, I, dxt.data(), dx, I);
    return;
  }
  over_batch_rows(N, [&](int64_t b0, int64_t b1) {
    for (int64_t s = 0; s < Ts; ++s) {
      const int64_t t = reverse ? s : Ts - 1 - s, o = off[t], n = std::min(b1, bs[t]) - b0;
      if (n <= 0) continue;
      parallel_for(n, row_grain(G), [&](int64_t r0, int64_t r1) {
        lstm_cell_backward<T>(r0 + b0, r1 + b0, H, gates + o * G, cprev + o * H,
                              tanhc + o * H, dy ? dy + o * dy_stride : nullptr, dy_stride, dh,
                              dc, dgates + o * G);
      });
      // dh_prev[rows] = dG_t[rows] W_hh   (rows past bs[t] keep their gradient: those
      // sequences are not active at this step)
      gemm(gemm_plan(dt, n, H, G, dgates + (o + b0) * G, G, false, w_hh, H, false,
                     dh + b0 * H, H, 0.0));
    }
  });
  // The recurrence-free gradients, each one GEMM over all R rows.
  if (dx)
    gemm(gemm_plan(dt, R, I, G, dgates, G, false, w_ih, I, false, dx, I, dx_beta));
  gemm(gemm_plan(dt, G, I, R, dgates, G, true, x, I, false, dw_ih, I, 0.0));
  gemm(gemm_plan(dt, G, H, R, dgates, G, true, hprev, H, false, dw_hh, H, 0.0));
  if (db) column_sums<T>(dgates, db, R, G);
}

}  // namespace

void lstm_forward(DType dtype, int64_t T, const int64_t* batch_sizes, int64_t N, int64_t I,
                  int64_t H, const void* x, const void* w_ih, const void* w_hh, const void* b_ih,
                  const void* b_hh, void* h, void* c, void* y, int64_t y_stride, bool reverse,
                  void* gates, void* hprev, void* cprev, void* tanhc, void* bias_sum,
                  void* w_hh_t, bool batch_first) {
  if (dtype == DType::Float32)
    lstm_forward_t<float>(dtype, T, batch_sizes, N, I, H, (const float*)x, (const float*)w_ih,
                          (const float*)w_hh, (const float*)b_ih, (const float*)b_hh, (float*)h,
                          (float*)c, (float*)y, y_stride, reverse, (float*)gates, (float*)hprev,
                          (float*)cprev, (float*)tanhc, (float*)bias_sum,
                          (float*)w_hh_t, batch_first);
  else
    lstm_forward_t<double>(dtype, T, batch_sizes, N, I, H, (const double*)x, (const double*)w_ih,
                           (const double*)w_hh, (const double*)b_ih, (const double*)b_hh,
                           (double*)h, (double*)c, (double*)y, y_stride, reverse,
                           (double*)gates, (double*)hprev, (double*)cprev, (double*)tanhc,
                           (double*)bias_sum, (double*)w_hh_t, batch_first);
}

void lstm_backward(DType dtype, int64_t T, const int64_t* batch_sizes, int64_t N, int64_t I,
                   int64_t H, const void* x, const void* w_ih, const void* w_hh,
                   const void* gates, const void* hprev, const void* cprev, const void* tanhc,
                   const void* dy, int64_t dy_stride, void* dh, void* dc, bool reverse,
                   void* dgates, void* dx, double dx_beta, void* dw_ih, void* dw_hh, void* db,
                   bool batch_first) {
  if (dtype == DType::Float32)
    lstm_backward_t<float>(dtype, T, batch_sizes, N, I, H, (const float*)x, (const float*)w_ih,
                           (const float*)w_hh, (const float*)gates, (const float*)hprev,
                           (const float*)cprev, (const float*)tanhc, (const float*)dy, dy_stride,
                           (float*)dh, (float*)dc, reverse, (float*)dgates, (float*)dx, dx_beta,
                           (float*)dw_ih, (float*)dw_hh, (float*)db, batch_first);
  else
    lstm_backward_t<double>(dtype, T, batch_sizes, N, I, H, (const double*)x,
                            (const double*)w_ih, (const double*)w_hh, (const double*)gates,
                            (const double*)hprev, (const double*)cprev, (const double*)tanhc,
                            (const double*)dy, dy_stride, (double*)dh, (double*)dc, reverse,
                            (double*)dgates, (double*)dx, dx_beta, (double*)dw_ih,
                            (double*)dw_hh, (double*)db, batch_first);
}

}  // namespace dlcore::cpu
