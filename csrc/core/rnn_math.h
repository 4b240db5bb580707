// rnn_math.h — the recurrent cells' pointwise maths and the sequence plan, written once for
// cpu/lstm.cpp, cpu/rnn.cpp and their CUDA twins.
//
// A layer-direction runs over a sequence in "packed" form (as torch's PackedSequence): step t
// owns batch_sizes[t] consecutive rows of x (non-increasing in t, all <= N), R = sum of them.
// A padded (T, N, F) batch is the special case batch_sizes[t] = N. The recurrent state h (and
// c) is a contiguous [N, H] block; at step t only its first batch_sizes[t] rows are advanced,
// the others keep their state — so each sequence's final state is the one at its own last step
// (forward direction) and a reverse pass starts each sequence from h0 at its own last step.
//
// Per step the GEMMs are the sequence driver's; what remains is one fused pointwise pass per
// row. The backward formulas (gates after activation: i, f, g, o for LSTM; r, z, n for GRU):
//
//   LSTM  c' = f c + i g,  h' = o tanh(c')
//         dc~ = dc + dh o (1 - tanh(c')^2)
//         da_i = dc~ g i(1-i),  da_f = dc~ c f(1-f),  da_g = dc~ i (1-g^2),
//         da_o = dh tanh(c') o(1-o),  dc_prev = dc~ f
//   GRU   n = tanh(gx_n + r hn),  hn = W_hn h + b_hn,  h' = (1-z) n + z h
//         da_n = dh (1-z)(1-n^2),  da_r = da_n hn r(1-r),  da_z = dh (h - n) z(1-z)
//         d(hn) = da_n r,  dh_prev = dh z + [da_r, da_z, d(hn)] W_hh
//   RNN   h' = act(a),  da = dh act'(h')  (tanh: 1-h'^2, relu: [h' > 0])
#pragma once
#include <cstdint>
#include <vector>

#include "gemm_params.h"
#include "host_device.h"

namespace dlcore::rnn {

// ---- pointwise backward, one element (no transcendental: everything comes from saved values)

// LSTM: in dh (= dy + carried dh), dc (carried), gates i f g o, c (previous cell), tc =
// tanh(c'). Out: the four pre-activation gradients and dc_prev.
template <typename T>
DLCORE_HD void lstm_backward_elem(T dh, T dc, T i, T f, T g, T o, T c, T tc, T& dai, T& daf,
                                  T& dag, T& dao, T& dc_prev) {
  const T dct = dc + dh * o * (T(1) - tc * tc);
  dai = dct * g * i * (T(1) - i);
  daf = dct * c * f * (T(1) - f);
  dag = dct * i * (T(1) - g * g);
  dao = dh * tc * o * (T(1) - o);
  dc_prev = dct * f;
}

// GRU: in dh, gates r z n, hn (= W_hn h + b_hn), hp (previous h). Out: da_r, da_z, da_n (the
// input side's n gradient), dhn (= da_n r, the hidden side's) and the direct part dh z.
template <typename T>
DLCORE_HD void gru_backward_elem(T dh, T r, T z, T n, T hn, T hp, T& dar, T& daz, T& dan,
                                 T& dhn, T& dh_direct) {
  dan = dh * (T(1) - z) * (T(1) - n * n);
  dar = dan * hn * r * (T(1) - r);
  daz = dh * (hp - n) * z * (T(1) - z);
  dhn = dan * r;
  dh_direct = dh * z;
}

// ---- forward, one element (CUDA and the CPU's float64 path; the CPU float32 path applies the
// same formulas after 8-lane sigmoid/tanh over whole gate blocks)

template <typename T>
DLCORE_HD void lstm_forward_elem(T& i, T& f, T& g, T& o, T& c, T& tc, T& h) {
  i = hd::sigmoid(i);
  f = hd::sigmoid(f);
  g = hd::tanh(g);
  o = hd::sigmoid(o);
  c = f * c + i * g;
  tc = hd::tanh(c);
  h = o * tc;
}

template <typename T>
DLCORE_HD void gru_forward_elem(T& r, T& z, T& n, T hr, T hz, T hn, T& h) {
  r = hd::sigmoid(r + hr);
  z = hd::sigmoid(z + hz);
  n = hd::tanh(n + r * hn);
  h = (T(1) - z) * n + z * h;
}

// ---- the sequence plan (host side) ---------------------------------------------------------

// Row offset of each step in the packed layout: offsets[t] = sum_{s<t} batch_sizes[s].
inline std::vector<int64_t> step_offsets(int64_t T, const int64_t* batch_sizes) {
  std::vector<int64_t> off(T + 1, 0);
  for (int64_t t = 0; t < T; ++t) off[t + 1] = off[t] + batch_sizes[t];
  return off;
}

// C (M x N, row stride ldc) = alpha op(A) op(B) + beta C + bias, row-major operands with leading
// dimension ld*; a_t / b_t read the stored matrix transposed (a strided view, no copy).
inline GemmParams gemm_plan(DType dtype, int64_t M, int64_t N, int64_t K, const void* A,
                            int64_t lda, bool a_t, const void* B, int64_t ldb, bool b_t, void* C,
                            int64_t ldc, double beta, const void* bias = nullptr) {
  GemmParams p;
  p.dtype = dtype;
  p.M = M;
  p.N = N;
  p.K = K;
  p.A = A;
  p.a_row_stride = a_t ? 1 : lda;
  p.a_col_stride = a_t ? lda : 1;
  p.B = B;
  p.b_row_stride = b_t ? 1 : ldb;
  p.b_col_stride = b_t ? ldb : 1;
  p.C = C;
  p.c_row_stride = ldc;
  p.beta = beta;
  p.bias = bias;
  return p;
}

}  // namespace dlcore::rnn
