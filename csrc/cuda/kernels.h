// kernels.h — the CUDA kernel entry points, one block per family (the .cu files of csrc/cuda).
// Pure functions over raw pointers and sizes; they never allocate Python objects.
// Mirror of csrc/cpu/kernels.h. Every function runs on `stream` (a cudaStream_t) of the
// current device and checks its launch; pointers are device pointers.
#pragma once
#include <cstdint>

#include "../core/dtype.h"
#include "../core/gemm_params.h"
#include "../core/loop.h"
#include "../core/ops.h"

namespace dlcore::cuda {

// ---- elementwise.cu --------------------------------------------------------------------
// out = op(in); in and out have the same dtype (Bool only for LogicalNot).
void unary(UnaryOp op, DType dtype, const Loop& loop, void* out, const void* in, void* stream);
// out = op(a, b); a, b share `dtype`; out is Bool for comparisons / logical ops.
void binary(BinaryOp op, DType dtype, const Loop& loop, void* out, const void* a, const void* b, void* stream);
// out = op(a, s) or, when scalar_first, op(s, a).
void binary_scalar(BinaryOp op, DType dtype, const Loop& loop, void* out, const void* a,
                   double s, bool scalar_first, void* stream);
// out = cond ? a : b; cond is Bool; a, b, out share dtype.
void where(DType dtype, const Loop& loop, void* out, const void* cond, const void* a,
           const void* b, void* stream);
// dst = cast(src): strided copy with dtype conversion (contiguous(), .to(dtype), setitem).
void copy(DType dst_dtype, DType src_dtype, const Loop& loop, void* dst, const void* src, void* stream);
// out[0:n] = value (contiguous).
void fill(DType dtype, void* out, int64_t n, double value, void* stream);

// ---- reduce.cu -------------------------------------------------------------------------
// in is contiguous with logical shape [outer, red, inner]; out is [outer, inner].
// out dtype == in dtype, except ArgMax/ArgMin which write Int64. red == 0 is rejected by the
// caller for Max/Min/Arg*; Sum of nothing is 0 and Prod of nothing is 1.
void reduce(ReduceOp op, DType dtype, const void* in, void* out, int64_t outer, int64_t red,
            int64_t inner, void* stream);

// ---- random.cu -------------------------------------------------------------------------
// Element i of out takes the stream of (seed, offset + i) of Philox4x32-10 (core/philox.h),
// so results do not depend on the thread count or the device.
void uniform(DType dtype, void* out, int64_t n, uint64_t seed, uint64_t offset, double low,
             double high, void* stream);
void normal(DType dtype, void* out, int64_t n, uint64_t seed, uint64_t offset, double mean,
            double std, void* stream);

// ---- gemm.cu ---------------------------------------------------------------------------
void gemm(const GemmParams& p, void* stream);
// Which kernel float32 GEMMs with allow_tf32 use on `device`: "wgmma" (Hopper, self-check
// passed), "unverified" (Hopper, self-check not run yet: it runs at the first such GEMM),
// "mma.sync" (anything else: not compute capability 9.x, self-check failed, no sm_90a image,
// or DLCORE_CUDA_WGMMA=0). Throws for an invalid device index.
const char* gemm_tf32_path(int device);
// Compute capability of `device` (major, minor), e.g. 9 and 0 on H100 / H200.
void compute_capability(int device, int* major, int* minor);

// ---- gemm_wgmma.cu (internal: only gemm.cu calls these) ---------------------------------
// Whether this build has the sm_90a wgmma kernels for the current device.
bool gemm_wgmma_available();
// The wgmma TF32 GEMM. Same preconditions as gemm.cu's mma.sync kernel: float32, each operand
// contiguous along k (a_kc / b_kc) or along m / n, 16-byte aligned as gemm.cu's vec_ok checks.
void gemm_wgmma(const GemmParams& p, bool a_kc, bool b_kc, void* stream);
// The same for any float32 operands: each operand that is not K-contiguous and aligned is first
// copied into one that is, when the product is big enough to pay for the copy. false (nothing
// launched): an operand neither loadable by the kernel as it is nor worth copying.
bool gemm_wgmma_copying(const GemmParams& p, void* stream);

// ---- optim.cu --------------------------------------------------------------------------
// Fused optimizer steps, same contract as dlcore::cpu::*_step (csrc/cpu/kernels.h): one
// grid-stride kernel per call, param/grad/state are device pointers of n elements.
void sgd_step(DType dtype, void* param, const void* grad, void* momentum_buffer, int64_t n,
              double lr, double momentum, double dampening, double weight_decay, bool nesterov,
              bool maximize, bool first_step, void* stream);
void adam_step(DType dtype, void* param, const void* grad, void* exp_avg, void* exp_avg_sq,
               void* max_exp_avg_sq, int64_t n, double lr, double beta1, double beta2, double eps,
               double weight_decay, bool decoupled_weight_decay, bool maximize, int64_t step,
               void* stream);
void adagrad_step(DType dtype, void* param, const void* grad, void* sum, int64_t n, double lr,
                  double lr_decay, double weight_decay, double eps, bool maximize, int64_t step,
                  void* stream);
void rmsprop_step(DType dtype, void* param, const void* grad, void* square_avg, void* grad_avg,
                  void* momentum_buffer, int64_t n, double lr, double alpha, double eps,
                  double weight_decay, double momentum, bool maximize, void* stream);
void adadelta_step(DType dtype, void* param, const void* grad, void* square_avg, void* acc_delta,
                   int64_t n, double lr, double rho, double eps, double weight_decay,
                   bool maximize, void* stream);
void adamax_step(DType dtype, void* param, const void* grad, void* exp_avg, void* exp_inf,
                 int64_t n, double lr, double beta1, double beta2, double eps,
                 double weight_decay, bool maximize, int64_t step, void* stream);
double nadam_step(DType dtype, void* param, const void* grad, void* exp_avg, void* exp_avg_sq,
                  int64_t n, double lr, double beta1, double beta2, double eps,
                  double weight_decay, double momentum_decay, bool decoupled_weight_decay,
                  bool maximize, int64_t step, double mu_product, void* stream);

// ---- activation.cu ---------------------------------------------------------------------
// Elementwise activations over n contiguous float32/float64 elements, forward and backward
// (ActOp in core/ops.h; formulas and parameters a, b in core/activation_math.h). The backward
// reads whichever of the input x / output y the derivative is cheapest from — y for Relu,
// Sigmoid, Tanh; x and y for Elu; x for the others — so the unused pointer may be null (Relu
// from y is what a GEMM epilogue's output allows).
void activation_forward(ActOp op, DType dtype, const void* x, void* y, int64_t n, double a,
                        double b, void* stream);
void activation_backward(ActOp op, DType dtype, const void* grad, const void* x, const void* y,
                         void* grad_in, int64_t n, double a, double b, void* stream);

// ---- softmax.cu -----------------------------------------------------------------------
// Row-wise softmax (log=false) or log_softmax (log=true) of a contiguous [rows, cols] block.
void softmax_forward(DType dtype, const void* x, void* y, int64_t rows, int64_t cols, bool log,
                     void* stream);
// From the forward output y: softmax  gx = y * (g - sum_j g_j y_j);
//                            log_softmax gx = g - exp(y) * sum_j g_j.
void softmax_backward(DType dtype, const void* grad, const void* y, void* grad_in, int64_t rows,
                      int64_t cols, bool log, void* stream);
// Fused log-softmax + NLL over [rows, cols] logits x and int64 targets t, one pass per row:
//   loss_i = (1-eps) w[t_i] (lse_i - x[i,t_i]) + eps/cols * sum_c w[c] (lse_i - x[i,c])
// w = weight (cols entries, nullable = ones), eps = label_smoothing; rows with t_i ==
// ignore_index contribute 0. log_input (nll_loss): x already holds log-probabilities, lse = 0.
// reduction 0 (none): loss has rows entries; 1 (mean): loss[0] = sum_i loss_i / sum_i w[t_i]
// over counted rows, norm[0] = that weight sum (the backward divides by it); 2 (sum).
// lse (rows entries) is kept for the backward. scratch: 2*rows+1 slots of 8 bytes (per-row
// loss/weight, summed in row order so the result does not depend on the thread count).
// Returns -1, or the first row whose target is neither ignore_index nor in [0, cols) (reading
// that check back synchronizes the stream).
int64_t cross_entropy_forward(DType dtype, const void* x, const int64_t* target,
                              const void* weight, int64_t rows, int64_t cols,
                              int64_t ignore_index, double label_smoothing, bool log_input,
                              int reduction, void* loss, void* lse, void* scratch, void* norm,
                              void* stream);
// gx[i,j] = s_i (p_ij ((1-eps) w[t_i] + eps W/cols) - (1-eps) w[t_i] [j==t_i] - eps w[j]/cols),
// p = exp(x - lse) (no p terms for log_input), W = sum_c w[c]; s_i = grad[i] (none),
// grad[0] / norm[0] (mean), grad[0] (sum); ignored rows get 0. grad/norm are device scalars.
void cross_entropy_backward(DType dtype, const void* x, const int64_t* target,
                            const void* weight, const void* lse, const void* grad,
                            const void* norm, int64_t rows, int64_t cols, int64_t ignore_index,
                            double label_smoothing, bool log_input, int reduction,
                            void* grad_x, void* stream);

// ---- dropout.cu -----------------------------------------------------------------------
// Inverted dropout: y_i = keep_i ? x_i / (1-p) : 0 with keep_i = philox_word_uniform(seed,
// offset + i) >= p, identical on CPU and CUDA. The backward is the same call on the gradient
// with the same (seed, offset): the mask is regenerated, never stored. 0 <= p < 1.
void dropout(DType dtype, const void* x, void* y, int64_t n, double p, uint64_t seed,
             uint64_t offset, void* stream);

// ---- index.cu --------------------------------------------------------------------------
// Mirrors of cpu::index_select / cpu::index_add; idx is a device pointer to m int64 values,
// all in [0, n). index_add uses atomics: float sums match the CPU up to addition order.
void index_select(DType dtype, const void* x, void* out, const int64_t* idx, int64_t outer,
                  int64_t n, int64_t m, int64_t inner, void* stream);
void index_add(DType dtype, void* acc, const void* src, const int64_t* idx, int64_t outer,
               int64_t n, int64_t m, int64_t inner, void* stream);

// ---- conv.cu: im2col / col2im convolution, transposed convolution ----------------------
}  // namespace dlcore::cuda
#include "../core/conv_params.h"   // ConvParams (shared with the CPU kernels)
namespace dlcore::cuda {
// Same contracts as the CPU functions (csrc/cpu/kernels.h), on `stream`.
void conv2d_forward(const ConvParams& p, const void* x, const void* w, const void* bias, void* y,
                    Activation act, void* stream);
void conv2d_backward(const ConvParams& p, const void* x, const void* w, const void* dy, void* dx,
                     void* dw, void* db, void* stream);
void conv_transpose2d_forward(const ConvParams& p, const void* x, const void* w,
                              const void* bias, void* y, void* stream);
void conv_transpose2d_backward(const ConvParams& p, const void* x, const void* w,
                               const void* dy, void* dx, void* dw, void* db, void* stream);

// ---- pool.cu: max / avg / lp / adaptive pooling, max_unpool, interpolate --------------------
}  // namespace dlcore::cuda
#include "../core/pool_params.h"
namespace dlcore::cuda {
// Mirrors of the cpu:: pooling kernels (same semantics; backward scatters use atomicAdd, so
// float sums over overlapping windows match the CPU up to addition order). max_unpool_forward
// checks the indices on the device and returns the first bad position like the CPU.
void max_pool2d_forward(DType dtype, const Pool2dParams& p, const void* x, void* y, int64_t* idx,
                        void* stream);
void max_pool2d_backward(DType dtype, const Pool2dParams& p, const void* grad, const int64_t* idx,
                         void* grad_in, void* stream);
void max_pool_backward(DType dtype, int64_t planes, int64_t in_plane, int64_t out_plane,
                       const void* grad, const int64_t* idx, void* grad_in, void* stream);
void avg_pool2d_forward(DType dtype, const Pool2dParams& p, bool count_include_pad,
                        int64_t divisor_override, const void* x, void* y, void* stream);
void avg_pool2d_backward(DType dtype, const Pool2dParams& p, bool count_include_pad,
                         int64_t divisor_override, const void* grad, void* grad_in, void* stream);
void adaptive_avg_pool2d_forward(DType dtype, int64_t planes, int64_t in_h, int64_t in_w,
                                 int64_t out_h, int64_t out_w, const void* x, void* y,
                                 void* stream);
void adaptive_avg_pool2d_backward(DType dtype, int64_t planes, int64_t in_h, int64_t in_w,
                                  int64_t out_h, int64_t out_w, const void* grad, void* grad_in,
                                  void* stream);
void adaptive_max_pool2d_forward(DType dtype, int64_t planes, int64_t in_h, int64_t in_w,
                                 int64_t out_h, int64_t out_w, const void* x, void* y,
                                 int64_t* idx, void* stream);
int64_t max_unpool_forward(DType dtype, int64_t planes, int64_t in_plane, int64_t out_plane,
                           const void* x, const int64_t* idx, void* y, void* stream);
void max_unpool_backward(DType dtype, int64_t planes, int64_t in_plane, int64_t out_plane,
                         const void* grad, const int64_t* idx, void* grad_in, void* stream);

// ---- upsample.cu: interpolate (mirrors of the cpu:: functions; backward uses atomicAdd) ---
void upsample_nearest2d_forward(DType dtype, int64_t planes, int64_t in_h, int64_t in_w,
                                int64_t out_h, int64_t out_w, double scale_h, double scale_w,
                                bool exact, const void* x, void* y, void* stream);
void upsample_nearest2d_backward(DType dtype, int64_t planes, int64_t in_h, int64_t in_w,
                                 int64_t out_h, int64_t out_w, double scale_h, double scale_w,
                                 bool exact, const void* grad, void* grad_in, void* stream);
void upsample_bilinear2d_forward(DType dtype, int64_t planes, int64_t in_h, int64_t in_w,
                                 int64_t out_h, int64_t out_w, bool align_corners, double scale_h,
                                 double scale_w, const void* x, void* y, void* stream);
void upsample_bilinear2d_backward(DType dtype, int64_t planes, int64_t in_h, int64_t in_w,
                                  int64_t out_h, int64_t out_w, bool align_corners,
                                  double scale_h, double scale_w, const void* grad,
                                  void* grad_in, void* stream);

// ---- batchnorm.cu: batch norm, local response norm --------------------------------------
// Mirror of csrc/cpu/batchnorm.cpp (same maths, same outputs), on `stream`.
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
                              double momentum, double eps, void* stream);
// Eval forward: normalises with running_mean / running_var; writes save_mean / save_invstd
// (running_mean, 1/sqrt(running_var + eps)) for the backward.
void batch_norm_forward_eval(DType dtype, const void* x, const void* weight, const void* bias,
                             const void* running_mean, const void* running_var, void* y,
                             void* save_mean, void* save_invstd, int64_t N, int64_t C, int64_t S,
                             double eps, void* stream);
// From the saved mean / invstd: grad_weight = invstd sum(dy (x - mean)), grad_bias = sum(dy),
// grad_x = gamma invstd (dy - mean(dy) - xhat mean(dy xhat)) (training) or gamma invstd dy
// (eval: the statistics are constants). Any of grad_x / grad_weight / grad_bias may be null.
void batch_norm_backward(DType dtype, const void* grad, const void* x, const void* weight,
                         const void* mean, const void* invstd, void* grad_x, void* grad_weight,
                         void* grad_bias, int64_t N, int64_t C, int64_t S, bool training, void* stream);
// Local response norm across channels (torch.nn.functional.local_response_norm):
//   scale = k + alpha/size * sum of x^2 over channels [c - size/2, c + (size-1)/2] (zero padded),
//   y = x * scale^-beta. scale ([N, C, S]) is kept for the backward. size >= 1.
void local_response_norm_forward(DType dtype, const void* x, void* y, void* scale, int64_t N,
                                 int64_t C, int64_t S, int64_t size, double alpha, double beta,
                                 double k, void* stream);
void local_response_norm_backward(DType dtype, const void* grad, const void* x,
                                  const void* scale, void* grad_x, int64_t N, int64_t C,
                                  int64_t S, int64_t size, double alpha, double beta, void* stream);

// ---- lstm.cu / rnn.cu: fused recurrent cells (LSTM, GRU, RNN) ---------------------------
// Mirrors of cpu::lstm_* / gru_* / rnn_* (csrc/cpu/kernels.h): device pointers, batch_sizes
// stays a HOST array (it sizes each step's GEMM), everything runs on `stream`. w_hh_t is
// unused here (may be null): the CUDA GEMM reads the transposed view without repacking.
void lstm_forward(DType dtype, int64_t T, const int64_t* batch_sizes, int64_t N, int64_t I,
                  int64_t H, const void* x, const void* w_ih, const void* w_hh, const void* b_ih,
                  const void* b_hh, void* h, void* c, void* y, int64_t y_stride, bool reverse,
                  void* gates, void* hprev, void* cprev, void* tanhc, void* bias_sum, void* w_hh_t,
                  void* stream);
void lstm_backward(DType dtype, int64_t T, const int64_t* batch_sizes, int64_t N, int64_t I,
                   int64_t H, const void* x, const void* w_ih, const void* w_hh,
                   const void* gates, const void* hprev, const void* cprev, const void* tanhc,
                   const void* dy, int64_t dy_stride, void* dh, void* dc, bool reverse,
                   void* dgates, void* dx, double dx_beta, void* dw_ih, void* dw_hh, void* db, void* stream);
void gru_forward(DType dtype, int64_t T, const int64_t* batch_sizes, int64_t N, int64_t I,
                 int64_t H, const void* x, const void* w_ih, const void* w_hh, const void* b_ih,
                 const void* b_hh, void* h, void* y, int64_t y_stride, bool reverse, void* gates,
                 void* hn, void* hprev, void* scratch, void* w_hh_t, void* stream);
void gru_backward(DType dtype, int64_t T, const int64_t* batch_sizes, int64_t N, int64_t I,
                  int64_t H, const void* x, const void* w_ih, const void* w_hh, const void* gates,
                  const void* hn, const void* hprev, const void* dy, int64_t dy_stride, void* dh,
                  bool reverse, void* dgx, void* dgh, void* dx, double dx_beta, void* dw_ih,
                  void* dw_hh, void* db_ih, void* db_hh, void* stream);
void rnn_forward(DType dtype, bool relu, int64_t T, const int64_t* batch_sizes, int64_t N,
                 int64_t I, int64_t H, const void* x, const void* w_ih, const void* w_hh,
                 const void* b_ih, const void* b_hh, void* h, void* y, int64_t y_stride,
                 bool reverse, void* gates, void* hprev, void* bias_sum, void* w_hh_t,
                 void* stream);
void rnn_backward(DType dtype, bool relu, int64_t T, const int64_t* batch_sizes, int64_t N,
                  int64_t I, int64_t H, const void* x, const void* w_ih, const void* w_hh,
                  const void* gates, const void* hprev, const void* dy, int64_t dy_stride,
                  void* dh, bool reverse, void* dgates, void* dx, double dx_beta, void* dw_ih,
                  void* dw_hh, void* db, void* stream);

// ---- scatter.cpp: gather / scatter along one dim with an index tensor ------------------
// x (or acc) is contiguous [outer, n, inner]; idx, src and out are contiguous [outer, m, inner].
// gather:  out[o, j, i] = x[o, idx[o, j, i], i]            (any dtype, by element size)
// scatter: acc[o, idx[o, j, i], i] = src[o, j, i]  (add = false; the last write in index order
//          wins when indices repeat) or += src[o, j, i] (add = true; float32/float64/int64).
// Every index must lie in [0, n): gather returns the flat position of the first index that
// does not (nothing is read there) or -1; the scatter's caller validates first (scatter_check).
int64_t gather(DType dtype, const void* x, const int64_t* idx, void* out, int64_t outer,
               int64_t n, int64_t m, int64_t inner, void* stream);
void scatter(DType dtype, void* acc, const int64_t* idx, const void* src, int64_t outer,
             int64_t n, int64_t m, int64_t inner, bool add, void* stream);

// ---- sort.cpp: sorting and selection along the last dim of a contiguous [rows, n] block --
// Order as torch: NaN above +inf (so first when descending), -0.0 equal to 0.0, ties keep
// their input order (a stable sort). float32 / float64 / int64. indices are int64.
void sort(DType dtype, const void* x, void* values, int64_t* indices, int64_t rows, int64_t n,
          bool descending, void* stream);
// The k largest (largest = true) or smallest of each row, in order (values [rows, k]); equal
// values come in input order. 0 <= k <= n.
void topk(DType dtype, const void* x, void* values, int64_t* indices, int64_t rows, int64_t n,
          int64_t k, bool largest, void* stream);

// ---- scan.cpp: inclusive scans along the middle dim of a contiguous [outer, n, inner] ---------
// op 0 cumsum, 1 cumprod, 2 logcumsumexp; reverse scans from the end (the backward of cumsum
// is a reverse cumsum). float32/float64 (float32 accumulates in float64), int64 for 0 and 1.
void scan(int op, DType dtype, const void* x, void* y, int64_t outer, int64_t n, int64_t inner,
          bool reverse, void* stream);

// ---- layernorm.cpp: normalisation over the last `cols` of a contiguous [rows, cols] block ----
// y = (x - mean) * rstd * gamma + beta, rstd = 1 / sqrt(var + eps) (biased var); gamma/beta
// (cols entries) may be null (no affine). mean and rstd (rows entries, input dtype) are saved
// for the backward. float32 / float64.
void layer_norm_forward(DType dtype, const void* x, const void* gamma, const void* beta, void* y,
                        void* mean, void* rstd, int64_t rows, int64_t cols, double eps, void* stream);
// dx = rstd (g - mean(g) - xhat mean(g xhat)), g = dy * gamma, xhat = (x - mean) rstd;
// dgamma = sum_rows dy xhat, dbeta = sum_rows dy. dx, dgamma, dbeta may each be null.
void layer_norm_backward(DType dtype, const void* dy, const void* x, const void* mean,
                         const void* rstd, const void* gamma, void* dx, void* dgamma,
                         void* dbeta, int64_t rows, int64_t cols, void* stream);

}  // namespace dlcore::cuda
