// kernels.h — the CPU kernel entry points, one block per family (the .cpp files of csrc/cpu).
// Pure functions over raw pointers and sizes; they never allocate Python objects.
// csrc/cuda/kernels.h declares the same functions in namespace dlcore::cuda.
#pragma once
#include <cstdint>

#include "../core/dtype.h"
#include "../core/gemm_params.h"
#include "../core/loop.h"
#include "../core/ops.h"

namespace dlcore::cpu {

// ---- elementwise.cpp -------------------------------------------------------------------
// out = op(in); in and out have the same dtype (Bool only for LogicalNot).
void unary(UnaryOp op, DType dtype, const Loop& loop, void* out, const void* in);
// out = op(a, b); a, b share `dtype`; out is Bool for comparisons / logical ops.
void binary(BinaryOp op, DType dtype, const Loop& loop, void* out, const void* a, const void* b);
// out = op(a, s) or, when scalar_first, op(s, a).
void binary_scalar(BinaryOp op, DType dtype, const Loop& loop, void* out, const void* a,
                   double s, bool scalar_first);
// out = cond ? a : b; cond is Bool; a, b, out share dtype.
void where(DType dtype, const Loop& loop, void* out, const void* cond, const void* a,
           const void* b);
// dst = cast(src): strided copy with dtype conversion (contiguous(), .to(dtype), setitem).
void copy(DType dst_dtype, DType src_dtype, const Loop& loop, void* dst, const void* src);
// out[0:n] = value (contiguous).
void fill(DType dtype, void* out, int64_t n, double value);

// ---- reduce.cpp ------------------------------------------------------------------------
// in is contiguous with logical shape [outer, red, inner]; out is [outer, inner].
// out dtype == in dtype, except ArgMax/ArgMin which write Int64. red == 0 is rejected by the
// caller for Max/Min/Arg*; Sum of nothing is 0 and Prod of nothing is 1.
void reduce(ReduceOp op, DType dtype, const void* in, void* out, int64_t outer, int64_t red,
            int64_t inner);

// ---- random.cpp ------------------------------------------------------------------------
// Element i of out takes the stream of (seed, offset + i) of Philox4x32-10 (core/philox.h),
// so results do not depend on the thread count or the device.
void uniform(DType dtype, void* out, int64_t n, uint64_t seed, uint64_t offset, double low,
             double high);
void normal(DType dtype, void* out, int64_t n, uint64_t seed, uint64_t offset, double mean,
            double std);

// ---- gemm.cpp --------------------------------------------------------------------------
void gemm(const GemmParams& p);
// The register tile and cache blocks the GEMM uses for `dtype` on the current path (tests
// aim their shapes at the block edges with it; the benchmarks print it).
struct GemmBlocking {
  int MR, NR, MC, KC, NC;
};
GemmBlocking gemm_blocking(DType dtype);

// ---- peak.cpp --------------------------------------------------------------------------
// Measured FMA throughput of this machine in GFLOP/s using `threads` threads (float32).
double measure_peak_gflops(int threads);
// Measured memory bandwidth in GB/s: STREAM triad on float32, `threads` threads.
double measure_triad_gbps(int threads);
// Measured bandwidth in GB/s of Adam's memory pattern (4 float32 streams read, 3 written back
// in place, 28 B/element) with trivial arithmetic, for three ways of splitting the range over
// `threads` threads: one static share each, dynamic 64K-element chunks (as cpu/optim.cpp), and
// those chunks with a software prefetch of every stream. The best is an optimizer's ceiling.
struct UpdateStreamGbps { double static_split, chunks, chunks_prefetch; };
UpdateStreamGbps measure_update_stream_gbps(int threads, bool amsgrad = false);

// ---- cpu.cpp ---------------------------------------------------------------------------
// Which SIMD path the runtime dispatcher chose: "avx2-fma" or "generic".
const char* simd_path();
bool has_avx2_fma();
// simd_path() == "avx2-fma": the non-GEMM families take their AVX2 kernels.
bool use_avx2_kernels();
// The GEMM's path: "avx512" (CPU + OS support zmm; DLCORE_CPU_PATH=avx2 or =avx2-fma forces "avx2-fma")
// or simd_path(). simd_path() itself never says "avx512" (other kernels compare with it).
const char* gemm_simd_path();
bool has_avx512();
int num_threads();
void set_num_threads(int n);
// Data cache sizes in bytes, read once at run time (Linux sysfs; glibc's sysconf as a second
// source; within a sane range, else typical values): L1d and L2 per core, L3 shared.
struct CacheSizes {
  int64_t l1d, l2, l3;
};
const CacheSizes& cache_sizes();

// ---- optim.cpp -------------------------------------------------------------------------
// Fused optimizer steps: one pass over n contiguous elements reading param/grad/state and
// writing param/state in place, following torch.optim's update rules. dtype is Float32 or
// Float64; every state pointer has n elements of that dtype. `step` is the 1-based step count
// after this update. maximize negates the gradient. Optional state pointers may be nullptr:
// SGD momentum_buffer (nullptr = no momentum; first_step: buffer := grad), Adam max_exp_avg_sq
// (non-null = amsgrad), RMSprop grad_avg (non-null = centered) and momentum_buffer.
void sgd_step(DType dtype, void* param, const void* grad, void* momentum_buffer, int64_t n,
              double lr, double momentum, double dampening, double weight_decay, bool nesterov,
              bool maximize, bool first_step);
// Adam (decoupled_weight_decay=false) and AdamW (true: p *= 1 - lr*weight_decay first).
void adam_step(DType dtype, void* param, const void* grad, void* exp_avg, void* exp_avg_sq,
               void* max_exp_avg_sq, int64_t n, double lr, double beta1, double beta2, double eps,
               double weight_decay, bool decoupled_weight_decay, bool maximize, int64_t step);
void adagrad_step(DType dtype, void* param, const void* grad, void* sum, int64_t n, double lr,
                  double lr_decay, double weight_decay, double eps, bool maximize, int64_t step);
void rmsprop_step(DType dtype, void* param, const void* grad, void* square_avg, void* grad_avg,
                  void* momentum_buffer, int64_t n, double lr, double alpha, double eps,
                  double weight_decay, double momentum, bool maximize);
void adadelta_step(DType dtype, void* param, const void* grad, void* square_avg, void* acc_delta,
                   int64_t n, double lr, double rho, double eps, double weight_decay,
                   bool maximize);
void adamax_step(DType dtype, void* param, const void* grad, void* exp_avg, void* exp_inf,
                 int64_t n, double lr, double beta1, double beta2, double eps,
                 double weight_decay, bool maximize, int64_t step);
// mu_product: the product of mu_1..mu_{step-1} (1 before the first step); returns it times
// mu_step, which the caller keeps for the next step.
double nadam_step(DType dtype, void* param, const void* grad, void* exp_avg, void* exp_avg_sq,
                  int64_t n, double lr, double beta1, double beta2, double eps,
                  double weight_decay, double momentum_decay, bool decoupled_weight_decay,
                  bool maximize, int64_t step, double mu_product);

// (NAdam's per-step scalars: optim::nadam_scalars in core/optim_math.h, shared with CUDA.)

// ---- activation.cpp / activation_avx2.cpp ----------------------------------------------
// Elementwise activations over n contiguous float32/float64 elements, forward and backward
// (ActOp in core/ops.h; formulas and parameters a, b in core/activation_math.h). The backward
// reads whichever of the input x / output y the derivative is cheapest from — y for Relu,
// Sigmoid, Tanh; x and y for Elu; x for the others — so the unused pointer may be null (Relu
// from y is what a GEMM epilogue's output allows).
void activation_forward(ActOp op, DType dtype, const void* x, void* y, int64_t n, double a,
                        double b);
void activation_backward(ActOp op, DType dtype, const void* grad, const void* x, const void* y,
                         void* grad_in, int64_t n, double a, double b);

// ---- softmax.cpp -----------------------------------------------------------------------
// Row-wise softmax (log=false) or log_softmax (log=true) of a contiguous [rows, cols] block.
void softmax_forward(DType dtype, const void* x, void* y, int64_t rows, int64_t cols, bool log);
// From the forward output y: softmax  gx = y * (g - sum_j g_j y_j);
//                            log_softmax gx = g - exp(y) * sum_j g_j.
void softmax_backward(DType dtype, const void* grad, const void* y, void* grad_in, int64_t rows,
                      int64_t cols, bool log);
// Fused log-softmax + NLL over [rows, cols] logits x and int64 targets t, one pass per row:
//   loss_i = (1-eps) w[t_i] (lse_i - x[i,t_i]) + eps/cols * sum_c w[c] (lse_i - x[i,c])
// w = weight (cols entries, nullable = ones), eps = label_smoothing; rows with t_i ==
// ignore_index contribute 0. log_input (nll_loss): x already holds log-probabilities, lse = 0.
// reduction 0 (none): loss has rows entries; 1 (mean): loss[0] = sum_i loss_i / sum_i w[t_i]
// over counted rows, norm[0] = that weight sum (the backward divides by it); 2 (sum).
// lse (rows entries) is kept for the backward. scratch: 2*rows+1 slots of 8 bytes (per-row
// loss/weight, summed in row order so the result does not depend on the thread count).
// Returns -1, or the first row whose target is neither ignore_index nor in [0, cols).
int64_t cross_entropy_forward(DType dtype, const void* x, const int64_t* target,
                              const void* weight, int64_t rows, int64_t cols,
                              int64_t ignore_index, double label_smoothing, bool log_input,
                              int reduction, void* loss, void* lse, void* scratch, void* norm);
// gx[i,j] = s_i (p_ij ((1-eps) w[t_i] + eps W/cols) - (1-eps) w[t_i] [j==t_i] - eps w[j]/cols),
// p = exp(x - lse) (no p terms for log_input), W = sum_c w[c]; s_i = grad[i] (none),
// grad[0] / norm[0] (mean), grad[0] (sum); ignored rows get 0. grad/norm are device scalars.
void cross_entropy_backward(DType dtype, const void* x, const int64_t* target,
                            const void* weight, const void* lse, const void* grad,
                            const void* norm, int64_t rows, int64_t cols, int64_t ignore_index,
                            double label_smoothing, bool log_input, int reduction,
                            void* grad_x);

// ---- dropout.cpp -----------------------------------------------------------------------
// Inverted dropout: y_i = keep_i ? x_i / (1-p) : 0 with keep_i = philox_word_uniform(seed,
// offset + i) >= p, identical on CPU and CUDA. The backward is the same call on the gradient
// with the same (seed, offset): the mask is regenerated, never stored. 0 <= p < 1.
void dropout(DType dtype, const void* x, void* y, int64_t n, double p, uint64_t seed,
             uint64_t offset);

// ---- index.cpp -------------------------------------------------------------------------
// A contiguous tensor seen as [outer, n, inner] around the indexed dim; idx[0:m] all in
// [0, n) (validated by the caller). index_select: out[o, j, :] = x[o, idx[j], :] (any dtype;
// out is [outer, m, inner]). index_add: acc[o, idx[j], :] += src[o, j, :] (float32, float64,
// int64; repeated indices accumulate in index order, independent of the thread count).
void index_select(DType dtype, const void* x, void* out, const int64_t* idx, int64_t outer,
                  int64_t n, int64_t m, int64_t inner);
void index_add(DType dtype, void* acc, const void* src, const int64_t* idx, int64_t outer,
               int64_t n, int64_t m, int64_t inner);

// ---- conv.cpp: im2col / col2im convolution, transposed convolution ----------------------
}  // namespace dlcore::cpu
#include "../core/conv_params.h"   // ConvParams (shared with the CUDA kernels)
namespace dlcore::cpu {
// Geometry in core/conv_params.h (x (N,C,H,W), w (K,C/groups,kh,kw), y (N,K,OH,OW), NCHW
// contiguous). float32 / float64. Bias (K entries) and act (None or Relu) are applied in the
// GEMM epilogue; the column buffer of a batch slice stays <= 32 MiB (at least one image).
void conv2d_forward(const ConvParams& p, const void* x, const void* w, const void* bias, void* y,
                    Activation act);
// Gradients of conv2d: any of dx (N,C,H,W), dw (K,C/groups,kh,kw), db (K) may be null (then
// not computed); x is read only for dw, w only for dx. Every requested output is overwritten.
void conv2d_backward(const ConvParams& p, const void* x, const void* w, const void* dy, void* dx,
                     void* dw, void* db);
// Transposed convolution, described by the conv2d `p` it is the adjoint of: x is (N,K,OH,OW),
// y (N,C,H,W), w (K, C/groups, kh, kw) as torch's (in, out/groups, kh, kw), bias C entries.
void conv_transpose2d_forward(const ConvParams& p, const void* x, const void* w,
                              const void* bias, void* y);
// dx (N,K,OH,OW), dw, db (C) from dy (N,C,H,W); null outputs are skipped.
void conv_transpose2d_backward(const ConvParams& p, const void* x, const void* w,
                               const void* dy, void* dx, void* dw, void* db);

// ---- pool.cpp: max / avg / lp / adaptive pooling, max_unpool, interpolate --------------------
}  // namespace dlcore::cpu
#include "../core/pool_params.h"   // Pool2dParams: the window geometry both devices share
namespace dlcore::cpu {
// NCHW planes, contiguous, float32/float64; 1-D pooling is the H = 1 case (pool_params.h).
// Max pooling writes the arg-max of each window as an int64 flat index ih * in_w + iw into
// its input plane (idx may be null: values only). First maximum wins ties; NaN propagates.
void max_pool2d_forward(DType dtype, const Pool2dParams& p, const void* x, void* y, int64_t* idx);
// grad_in = scatter-add of grad at the saved indices into zeroed input planes (overlapping
// windows accumulate); the 2x2 / stride-2 pool writes every input gradient once instead.
void max_pool2d_backward(DType dtype, const Pool2dParams& p, const void* grad, const int64_t* idx,
                         void* grad_in);
// The same scatter for any max pool (1-D, 2-D, adaptive): planes of in_plane inputs and
// out_plane outputs. Indices outside [0, in_plane) are skipped, never written.
void max_pool_backward(DType dtype, int64_t planes, int64_t in_plane, int64_t out_plane,
                       const void* grad, const int64_t* idx, void* grad_in);
// Average of each window; divisor as torch: divisor_override if > 0, else the window clipped
// to the padded input (count_include_pad) or to the input.
void avg_pool2d_forward(DType dtype, const Pool2dParams& p, bool count_include_pad,
                        int64_t divisor_override, const void* x, void* y);
void avg_pool2d_backward(DType dtype, const Pool2dParams& p, bool count_include_pad,
                         int64_t divisor_override, const void* grad, void* grad_in);
// Adaptive pooling: output i of a dim In -> Out covers [floor(i In/Out), ceil((i+1) In/Out)).
void adaptive_avg_pool2d_forward(DType dtype, int64_t planes, int64_t in_h, int64_t in_w,
                                 int64_t out_h, int64_t out_w, const void* x, void* y);
void adaptive_avg_pool2d_backward(DType dtype, int64_t planes, int64_t in_h, int64_t in_w,
                                  int64_t out_h, int64_t out_w, const void* grad, void* grad_in);
// Backward: max_pool_backward with the saved indices.
void adaptive_max_pool2d_forward(DType dtype, int64_t planes, int64_t in_h, int64_t in_w,
                                 int64_t out_h, int64_t out_w, const void* x, void* y,
                                 int64_t* idx);
// max_unpool: y (planes x out_plane) = 0, then y[idx[j]] = x[j] within each plane. Returns -1,
// or the flat position of the first index outside [0, out_plane) (nothing is written then).
int64_t max_unpool_forward(DType dtype, int64_t planes, int64_t in_plane, int64_t out_plane,
                           const void* x, const int64_t* idx, void* y);
// grad_in[j] = grad[idx[j]] (a gather; an index out of range gives 0).
void max_unpool_backward(DType dtype, int64_t planes, int64_t in_plane, int64_t out_plane,
                         const void* grad, const int64_t* idx, void* grad_in);

// ---- upsample.cpp: interpolate (nearest, nearest-exact, linear / bilinear) ------------------
// NCHW planes resized (in_h, in_w) -> (out_h, out_w); 1-D resizing is in_h = out_h = 1. scale_h
// / scale_w: the caller's scale_factor (> 0: its reciprocal is the step, as torch) or 0 (the
// step is in / out). Source coordinates: core/upsample_math.h. Backward: scatter-add of the
// output gradient with the forward's weights into zeroed input planes.
void upsample_nearest2d_forward(DType dtype, int64_t planes, int64_t in_h, int64_t in_w,
                                int64_t out_h, int64_t out_w, double scale_h, double scale_w,
                                bool exact, const void* x, void* y);
void upsample_nearest2d_backward(DType dtype, int64_t planes, int64_t in_h, int64_t in_w,
                                 int64_t out_h, int64_t out_w, double scale_h, double scale_w,
                                 bool exact, const void* grad, void* grad_in);
void upsample_bilinear2d_forward(DType dtype, int64_t planes, int64_t in_h, int64_t in_w,
                                 int64_t out_h, int64_t out_w, bool align_corners, double scale_h,
                                 double scale_w, const void* x, void* y);
void upsample_bilinear2d_backward(DType dtype, int64_t planes, int64_t in_h, int64_t in_w,
                                  int64_t out_h, int64_t out_w, bool align_corners,
                                  double scale_h, double scale_w, const void* grad,
                                  void* grad_in);

// ---- batchnorm.cpp: batch norm, local response norm --------------------------------------
// x, y, grad are contiguous [N, C, S] blocks (S = product of the spatial dims, 1 for (N, C));
// per-channel vectors (weight, bias, running_*, save_*, grad_weight/bias) have C entries of the
// same dtype (float32 / float64). weight and bias may be null (gamma = 1, beta = 0).
// Training forward: batch mean / biased variance over the N*S values of each channel, y =
// (x - mean) invstd gamma + beta, save_mean / save_invstd = mean, 1/sqrt(var + eps) (all the
// backward needs). running_mean / running_var (nullable) become (1 - momentum) r + momentum s,
// with the UNBIASED variance. The caller refuses N*S == 1; N*S == 0 leaves them untouched.
// The sums do not depend on the thread count (deterministic).
void batch_norm_forward_train(DType dtype, const void* x, const void* weight, const void* bias,
                              void* y, void* save_mean, void* save_invstd, void* running_mean,
                              void* running_var, int64_t N, int64_t C, int64_t S,
                              double momentum, double eps);
// Eval forward: normalises with running_mean / running_var; writes save_mean / save_invstd
// (running_mean, 1/sqrt(running_var + eps)) for the backward.
void batch_norm_forward_eval(DType dtype, const void* x, const void* weight, const void* bias,
                             const void* running_mean, const void* running_var, void* y,
                             void* save_mean, void* save_invstd, int64_t N, int64_t C, int64_t S,
                             double eps);
// From the saved mean / invstd: grad_weight = invstd sum(dy (x - mean)), grad_bias = sum(dy),
// grad_x = gamma invstd (dy - mean(dy) - xhat mean(dy xhat)) (training) or gamma invstd dy
// (eval: the statistics are constants). Any of grad_x / grad_weight / grad_bias may be null.
void batch_norm_backward(DType dtype, const void* grad, const void* x, const void* weight,
                         const void* mean, const void* invstd, void* grad_x, void* grad_weight,
                         void* grad_bias, int64_t N, int64_t C, int64_t S, bool training);
// Local response norm across channels (torch.nn.functional.local_response_norm):
//   scale = k + alpha/size * sum of x^2 over channels [c - size/2, c + (size-1)/2] (zero padded),
//   y = x * scale^-beta. scale ([N, C, S]) is kept for the backward. size >= 1.
void local_response_norm_forward(DType dtype, const void* x, void* y, void* scale, int64_t N,
                                 int64_t C, int64_t S, int64_t size, double alpha, double beta,
                                 double k);
void local_response_norm_backward(DType dtype, const void* grad, const void* x,
                                  const void* scale, void* grad_x, int64_t N, int64_t C,
                                  int64_t S, int64_t size, double alpha, double beta);

// ---- lstm.cpp / rnn.cpp: fused recurrent cells (LSTM, GRU, RNN) ---------------------------
// One layer-direction over a whole sequence in packed form (core/rnn_math.h): step t owns
// batch_sizes[t] rows (host array, non-increasing, <= N) of x [R, I], R = sum(batch_sizes).
// Weights as torch: w_ih [G*H, I], w_hh [G*H, H], biases [G*H] or null (G = 4 LSTM, 3 GRU,
// 1 RNN). h (and c) [N, H] hold h0 (c0) on entry and h_n (c_n) on return. y [R, H] with row
// stride y_stride (2H writes one half of a bidirectional output). reverse runs t = T-1 .. 0.
// Forward: one GEMM x W_ih^T (+ the summed biases in its epilogue) for all R rows, then per
// step one GEMM h W_hh^T accumulated onto the step's rows and one fused pointwise pass.
// The workspace tensors are what the backward reads (saved activations, not recomputed):
//   LSTM gates [R, 4H] (i f g o after activation), hprev/cprev/tanhc [R, H], bias_sum [4H].
// In inference the saved-only blocks (LSTM hprev/cprev/tanhc, GRU hn/hprev, RNN hprev) may be
// null: nothing is saved.
// w_hh_t [H, G*H] is scratch for a row-major copy of W_hh^T: the AVX-512 GEMM reads such a B
// in place when M (the batch) is small, so the step GEMMs pack nothing (a transposed view
// would be repacked at every step: 1 MB per step for H = 256).
// Backward: dh (dc) [N, H] hold the gradients of h_n (c_n) on entry and of h0 (c0) on return;
// dy (nullable: no output gradient) has row stride dy_stride. Per step one fused pointwise pass
// and one GEMM dgates W_hh; after the loop dx = dG W_ih (dx nullable; dx_beta = 1 accumulates,
// the second direction of a bidirectional layer), dW_ih = dG^T x, dW_hh = dG^T hprev and the
// bias gradient (one column sum: it is the same for b_ih and b_hh), each ONE GEMM over R rows.
// batch_first (equal batch sizes only): x, y, dy and dx hold step t's batch row b at row
// b*T + t instead of t*N + b (what the layer's batch-first input and output already are); the
// saved blocks keep the time-major order.
void lstm_forward(DType dtype, int64_t T, const int64_t* batch_sizes, int64_t N, int64_t I,
                  int64_t H, const void* x, const void* w_ih, const void* w_hh, const void* b_ih,
                  const void* b_hh, void* h, void* c, void* y, int64_t y_stride, bool reverse,
                  void* gates, void* hprev, void* cprev, void* tanhc, void* bias_sum,
                  void* w_hh_t, bool batch_first = false);
void lstm_backward(DType dtype, int64_t T, const int64_t* batch_sizes, int64_t N, int64_t I,
                   int64_t H, const void* x, const void* w_ih, const void* w_hh,
                   const void* gates, const void* hprev, const void* cprev, const void* tanhc,
                   const void* dy, int64_t dy_stride, void* dh, void* dc, bool reverse,
                   void* dgates, void* dx, double dx_beta, void* dw_ih, void* dw_hh, void* db,
                   bool batch_first = false);
// GRU (gates r z n): gates [R, 3H] = x W_ih^T + b_ih, activated in place; hn [R, H] keeps
// W_hn h + b_hn of each step (n needs it multiplied by r, so the two projections stay apart);
// hprev [R, H]; scratch [N, 3H] receives each step's h W_hh^T + b_hh. The backward needs two
// gate-gradient blocks: dgx (input side) and dgh (hidden side, whose n part is scaled by r);
// db_ih / db_hh are their column sums.
void gru_forward(DType dtype, int64_t T, const int64_t* batch_sizes, int64_t N, int64_t I,
                 int64_t H, const void* x, const void* w_ih, const void* w_hh, const void* b_ih,
                 const void* b_hh, void* h, void* y, int64_t y_stride, bool reverse, void* gates,
                 void* hn, void* hprev, void* scratch, void* w_hh_t);
void gru_backward(DType dtype, int64_t T, const int64_t* batch_sizes, int64_t N, int64_t I,
                  int64_t H, const void* x, const void* w_ih, const void* w_hh, const void* gates,
                  const void* hn, const void* hprev, const void* dy, int64_t dy_stride, void* dh,
                  bool reverse, void* dgx, void* dgh, void* dx, double dx_beta, void* dw_ih,
                  void* dw_hh, void* db_ih, void* db_hh);
// Elman RNN h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh), act = tanh or relu (relu = true).
// gates [R, H] ends up holding h' of every step; hprev [R, H]; bias_sum [H].
void rnn_forward(DType dtype, bool relu, int64_t T, const int64_t* batch_sizes, int64_t N,
                 int64_t I, int64_t H, const void* x, const void* w_ih, const void* w_hh,
                 const void* b_ih, const void* b_hh, void* h, void* y, int64_t y_stride,
                 bool reverse, void* gates, void* hprev, void* bias_sum, void* w_hh_t);
void rnn_backward(DType dtype, bool relu, int64_t T, const int64_t* batch_sizes, int64_t N,
                  int64_t I, int64_t H, const void* x, const void* w_ih, const void* w_hh,
                  const void* gates, const void* hprev, const void* dy, int64_t dy_stride,
                  void* dh, bool reverse, void* dgates, void* dx, double dx_beta, void* dw_ih,
                  void* dw_hh, void* db);

// ---- scatter.cpp: gather / scatter along one dim with an index tensor ------------------
// x (or acc) is contiguous [outer, n, inner]; idx, src and out are contiguous [outer, m, inner].
// gather:  out[o, j, i] = x[o, idx[o, j, i], i]            (any dtype, by element size)
// scatter: acc[o, idx[o, j, i], i] = src[o, j, i]  (add = false; the last write in index order
//          wins when indices repeat) or += src[o, j, i] (add = true; float32/float64/int64).
// Every index must lie in [0, n): gather returns the flat position of the first index that
// does not (nothing is read there) or -1; the scatter's caller validates first (scatter_check).
int64_t gather(DType dtype, const void* x, const int64_t* idx, void* out, int64_t outer,
               int64_t n, int64_t m, int64_t inner);
void scatter(DType dtype, void* acc, const int64_t* idx, const void* src, int64_t outer,
             int64_t n, int64_t m, int64_t inner, bool add);

// ---- sort.cpp: sorting and selection along the last dim of a contiguous [rows, n] block --
// Order as torch: NaN above +inf (so first when descending), -0.0 equal to 0.0, ties keep
// their input order (a stable sort). float32 / float64 / int64. indices are int64.
void sort(DType dtype, const void* x, void* values, int64_t* indices, int64_t rows, int64_t n,
          bool descending);
// The k largest (largest = true) or smallest of each row, in order (values [rows, k]); equal
// values come in input order. 0 <= k <= n.
void topk(DType dtype, const void* x, void* values, int64_t* indices, int64_t rows, int64_t n,
          int64_t k, bool largest);

// ---- scan.cpp: inclusive scans along the middle dim of a contiguous [outer, n, inner] ---------
// op 0 cumsum, 1 cumprod, 2 logcumsumexp; reverse scans from the end (the backward of cumsum
// is a reverse cumsum). float32/float64 (float32 accumulates in float64), int64 for 0 and 1.
void scan(int op, DType dtype, const void* x, void* y, int64_t outer, int64_t n, int64_t inner,
          bool reverse);

// ---- layernorm.cpp: normalisation over the last `cols` of a contiguous [rows, cols] block ----
// y = (x - mean) * rstd * gamma + beta, rstd = 1 / sqrt(var + eps) (biased var); gamma/beta
// (cols entries) may be null (no affine). mean and rstd (rows entries, input dtype) are saved
// for the backward. float32 / float64.
void layer_norm_forward(DType dtype, const void* x, const void* gamma, const void* beta, void* y,
                        void* mean, void* rstd, int64_t rows, int64_t cols, double eps);
// dx = rstd (g - mean(g) - xhat mean(g xhat)), g = dy * gamma, xhat = (x - mean) rstd;
// dgamma = sum_rows dy xhat, dbeta = sum_rows dy. dx, dgamma, dbeta may each be null.
void layer_norm_backward(DType dtype, const void* dy, const void* x, const void* mean,
                         const void* rstd, const void* gamma, void* dx, void* dgamma,
                         void* dbeta, int64_t rows, int64_t cols);

}  // namespace dlcore::cpu
