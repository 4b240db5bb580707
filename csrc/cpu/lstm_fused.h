// lstm_fused.h — the float32 LSTM recurrence with the step GEMM and the pointwise cell fused
// into one register tile (lstm_fused_avx512.cpp: 16 lanes, lstm_fused_avx2.cpp: 8 lanes;
// the code itself is lstm_fused_impl.h, written once over a lane-width traits type).
//
// Why fuse: at batch 32 a step's recurrent GEMM is only 32 x 4H x H, so a generic GEMM pays
// per call for packing (or strided reads) of the whole W_hh, and the pointwise pass then
// re-reads the 4H gate pre-activations from memory. Here W_hh is packed ONCE per sequence so
// that one k step of the packed panel holds, for a block of V hidden units, the four gate
// rows i, f, g, o side by side. A register tile of MR batch rows x those 4 vectors then ends
// the k loop holding exactly the four pre-activations each unit's cell update needs: the
// tile's epilogue applies sigmoid / tanh (polynomial exp in registers), advances c and h and
// writes what the backward reads, without the gates ever making a round trip to memory.
// The backward step is fused the same way: dh_t = dy_t + dG_{t+1} W_hh is a tile over
// 4 blocks of V units whose epilogue is the gate-gradient pass of step t. That epilogue also
// stores dG_t as per-unit-block panels, the B operand of the weight-gradient tiles
// (WeightGrad), so dG never needs a packing pass of its own.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>

namespace dlcore::cpu::lstm_fused {

// One forward step over rows [0, n) (all pointers at the step's first row of this call).
// The input projection is part of the tile (k runs over h_{t-1} and then x_t), so nothing is
// precomputed: x (row stride ldx: I, or T*I for a batch-first input) is the step's input,
// bias (4H, may be null) b_ih + b_hh.
// h_in (row stride ldh) is h_{t-1}; h_out (row stride H, must not alias h_in) and y (row
// stride ldy) receive h_t; c (row stride H) is advanced in place. When save is set, gates
// (row stride 4H) receives the activated gates, hprev / cprev / tanhc (row stride H) h_{t-1},
// c_{t-1} and tanh(c_t): what the backward reads. Only the unit blocks [u0, u1) (blocks of
// `lanes` hidden units) are computed, so threads can split the units of one step.
struct ForwardStep {
  int64_t n, H, I;
  int64_t u0, u1;
  const float* wp;      // packed by pack_forward
  const float* x;
  int64_t ldx;
  const float* bias;
  const float* h_in;
  int64_t ldh;
  float* gates;
  float* c;
  float* h_out;
  float* y;
  int64_t ldy;
  float* hprev;
  float* cprev;
  float* tanhc;
  bool save;
};

// One backward step over rows [0, n). Rows [0, n_gemm) take dh = dg_next W_hh (dg_next: the
// gate gradients of the step processed before, row stride 4H); rows [n_gemm, n) take the
// carried dh (row stride H) instead. dy (row stride ldy, may be null) is added to both. The
// epilogue writes the step's pre-activation gradients dg (row stride 4H) and replaces dc
// (row stride H) with dc_{t-1}. gates / cprev / tanhc are what the forward saved.
// The same A rows also give that earlier step's input gradient: when dx_next is not null,
// its rows [0, n_gemm) (row stride ldx) become dg_next W_ih (+ their old value if dx_beta).
struct BackwardStep {
  int64_t n, n_gemm, H, I;
  const float* wp;      // packed by pack_backward (W_hh)
  const float* wpx;     // packed by pack_backward (W_ih), null when dx_next is
  const float* dg_next;
  const float* dy;
  int64_t ldy;
  const float* dh;
  float* dc;
  const float* gates;
  const float* cprev;
  const float* tanhc;
  float* dg;
  float* dx_next;
  int64_t ldx;
  bool dx_beta;
  // When not null, dg is also written as weight-gradient panels (see WeightGrad): dgp points
  // at panel 0, panel u is dgp_stride floats further, this call's first row is row dgp_row.
  float* dgp;
  int64_t dgp_stride;
  int64_t dgp_row;
};

// The weight gradients of the whole sequence from the backward's dG panels: panel u (unit
// block u, u < ceil(H / lanes), dgp_stride = R*4*lanes floats) holds, for every row r < R,
// the 4 x lanes gate gradients (gates i, f, g, o of units u*lanes ..) in the parts of the step
// panels (lstm_fused_impl.h): with 16 lanes at dgp[u*dgp_stride + r*4*lanes ..], with 8 lanes
// gates i, f at dgp[u*dgp_stride + r*2*lanes ..] and g, o R*2*lanes floats further; lanes past
// H are never read. Writes dw_hh = dG^T hprev ([4H, H]), dw_ih = dG^T x ([4H, I]) and db (the
// column sums of dG, when not null) for the unit blocks [u0, u1) only, so threads can split
// them.
// hprev [R, H] and x [R, I] come packed by pack_feature_tiles.
struct WeightGrad {
  int64_t R, H, I;
  const float* dgp;
  int64_t dgp_stride;
  const float* hprev_tiles;
  const float* x_tiles;
  float* dw_hh;
  float* dw_ih;
  float* db;
  int64_t u0, u1;
};

// Columns of a row-major [R, F] matrix in tiles of kFeatureTile (the last one narrower),
// each tile k-major: tile q holds dst[q*kFeatureTile*R + k*mr + i] = src[k*F + q*kFeatureTile
// + i], mr its width. Tiles [q0, q1) only. With steps > 0 the source is batch-first: row
// k = t*n + b (step t, batch row b) is src row b*steps + t. Read in place instead, the rows
// of h_{t-1} are 4H or H floats apart (1 KB at H = 256): every k step of the weight-gradient
// tile hit the same 4 L1 sets, its prefetched lines were evicted before use and the tile ran
// ~10% slower.
constexpr int kFeatureTile = 6;
inline int64_t feature_tiles(int64_t F) { return (F + kFeatureTile - 1) / kFeatureTile; }
// Row by row: each source row is read once, sequentially, and its full tiles' 6 floats go out
// as fixed-size 24-byte copies to the tiles' (sequentially written) streams. Tile by tile over
// blocks of rows instead, with the width known only at run time, the copy ran at ~3 GB/s and
// took ~2.5% of a char-LM training step (2026-12-03).
inline void pack_feature_tiles(int64_t R, int64_t F, const float* src, float* dst, int64_t q0,
                               int64_t q1, int64_t steps = 0, int64_t n = 1) {
  const int64_t full_end = std::min<int64_t>(q1, F / kFeatureTile);   // tiles [q0, full_end) full
  for (int64_t k = 0; k < R; ++k) {
    const float* row = src + (steps ? k % n * steps + k / n : k) * F;
    for (int64_t q = q0; q < full_end; ++q)
      std::memcpy(dst + q * kFeatureTile * R + k * kFeatureTile, row + q * kFeatureTile,
                  sizeof(float) * kFeatureTile);
    if (full_end < q1) {   // the narrow last tile
      const int64_t f0 = full_end * kFeatureTile, mr = F - f0;
      for (int64_t i = 0; i < mr; ++i) dst[full_end * kFeatureTile * R + k * mr + i] = row[f0 + i];
    }
  }
}

// Floats needed by the packed forward / backward weight for lane width `lanes`.
inline int64_t forward_pack_floats(int64_t H, int64_t I, int lanes) {
  return (H + lanes - 1) / lanes * (H + I) * 4 * lanes;
}
// (a [4H, cols] weight read untransposed: W_hh with cols = H, W_ih with cols = I)
inline int64_t backward_pack_floats(int64_t H, int64_t cols, int lanes) {
  return (cols + 4 * lanes - 1) / (4 * lanes) * 4 * H * 4 * lanes;
}

// lanes = 16 (AVX-512) or 8 (AVX2 + FMA); the caller picks after checking the CPU.
void pack_forward_avx512(int64_t H, int64_t I, const float* w_hh, const float* w_ih, float* wp,
                         int64_t u0, int64_t u1);
void pack_backward_avx512(int64_t H, int64_t cols, const float* w, float* wp);
void step_forward_avx512(const ForwardStep& s);
void step_backward_avx512(const BackwardStep& s);
void weight_grad_avx512(const WeightGrad& s);
void pack_forward_avx2(int64_t H, int64_t I, const float* w_hh, const float* w_ih, float* wp,
                       int64_t u0, int64_t u1);
void pack_backward_avx2(int64_t H, int64_t cols, const float* w, float* wp);
void step_forward_avx2(const ForwardStep& s);
void step_backward_avx2(const BackwardStep& s);
void weight_grad_avx2(const WeightGrad& s);

}  // namespace dlcore::cpu::lstm_fused
