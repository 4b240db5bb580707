// optim.cpp — fused optimizer steps on the CPU.
//
// An optimizer step is a pure streaming computation: for every element it reads the parameter,
// its gradient and one to three state values, does a dozen flops, and writes the parameter and
// the state back. Done the way a Python optimizer built from tensor ops does it (grad.add(param),
// exp_avg.lerp_(grad), exp_avg_sq.mul_().addcmul_(), sqrt, div, addcdiv_ ...), every line is
// another trip through memory plus a temporary. Here each optimizer is ONE pass: every stream is
// read once and written once, and nothing is allocated. For Adam on float32 that is 7 streams x
// 4 bytes per element (param, grad, exp_avg, exp_avg_sq read; param, exp_avg, exp_avg_sq
// written), so the step runs at memory speed.
//
// The steps themselves — per-step scalars computed once in double, per-element maths, the
// template instance for the options — are written once in core/optim_math.h, shared with
// cuda/optim.cu, so both devices follow torch.optim's single-tensor algorithms with the same
// roundings. This file supplies the CPU's way to run them: chunks of the range handed out to
// the OpenMP team, each a plain loop over the element update that GCC vectorizes: SSE2 in the
// baseline build; for float32, AVX2 (optim_avx2.cpp: Adam's two divisions and square root per
// element make the 4-lane loop compute-bound at 2 threads) or AVX-512 where the GEMM runs it
// (optim_avx512.cpp), the same loop (optim_loop.h) for each.
#include "../core/optim_math.h"
#include "kernels.h"
#include "optim_internal.h"
#include "parallel.h"

#include <cstring>

namespace dlcore::cpu {
namespace {

// The range is cut into chunks of kChunk elements (256 KB per float32 stream: long enough for
// the hardware prefetchers to ramp up, a multiple of the 64-byte line so no two threads write
// the same cache line) handed out dynamically. A static half-and-half split would make the whole
// step wait for the slower thread whenever the OS gives its core to another process; with
// dynamic chunks the other thread simply takes more of them. Below kOptimGrain elements one
// thread is faster than waking the team. A range shorter than a chunk per thread is cut into
// one piece per thread instead (a multiple of 16 elements: whole lines): with whole chunks
// only, every weight of up to 64K elements ran on one core (all of a char-LM's: its Adam step
// took ~6% of a training step, reading state evicted by the LSTM's saved activations at
// one core's share of the memory bandwidth).
constexpr int64_t kChunk = 1 << 16;
constexpr int64_t kOptimGrain = 1 << 14;

template <typename F>
void for_range(int64_t n, F&& fn) {
  const int team = thread_count_for(n, kOptimGrain);
  const int64_t chunk = team > 1 && n < team * kChunk ? ((n + team - 1) / team + 15) / 16 * 16
                                                      : kChunk;
  const int64_t chunks = (n + chunk - 1) / chunk;
  const int nt = (int)std::min<int64_t>(team, chunks);
  if (nt <= 1) {
    if (n > 0) fn(int64_t(0), n);
    return;
  }
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
  for (int64_t c = 0; c < chunks; ++c) fn(c * chunk, std::min(n, (c + 1) * chunk));
}

// Runs fn(std::true_type / std::false_type): turns a runtime option into a template constant.
// The CPU's way to run a step: update(i) for every i in [0, n), in chunks over the team; the
// functor (core/optim_math.h) is inlined into this loop, which GCC vectorizes.
struct CpuRun {
  template <typename Update>
  void operator()(int64_t n, const Update& update) const {
    if constexpr (optim_avx2::kHasAvx2<Update>) {
      if (std::strcmp(gemm_simd_path(), "avx512") == 0) {   // honours DLCORE_CPU_PATH=avx2
        for_range(n, [&](int64_t b, int64_t e) { optim_avx512::run_range(update, b, e); });
        return;
      }
      if (use_avx2_kernels()) {
        for_range(n, [&](int64_t b, int64_t e) { optim_avx2::run_range(update, b, e); });
        return;
      }
    }
    for_range(n, [&](int64_t b, int64_t e) {
      // Element i reads and writes index i of every stream and nothing else, and the streams
      // are separate tensors, so no iteration depends on another. Without the pragma GCC must
      // prove that at run time: it versions the loop with one overlap check per pair of
      // pointers, and past its limit (Adam with amsgrad: five streams, four written; centered
      // RMSprop) it gives up and runs the whole step one element at a time — 4x slower.
      // The local copy keeps the pointers and scalars in registers: read through the caller's
      // reference, a store to p[i] might (for all GCC knows) overwrite them.
      const Update u = update;
#pragma GCC ivdep
      for (int64_t i = b; i < e; ++i) u(i);
    });
  }
};

}  // namespace

// ---- entry points: the device-generic steps of core/optim_math.h on the CPU --------------------

void sgd_step(DType dtype, void* param, const void* grad, void* momentum_buffer, int64_t n,
              double lr, double momentum, double dampening, double weight_decay, bool nesterov,
              bool maximize, bool first_step) {
  optim::sgd_step(CpuRun{}, dtype, param, grad, momentum_buffer, n, lr, momentum, dampening,
                  weight_decay, nesterov, maximize, first_step);
}

void adam_step(DType dtype, void* param, const void* grad, void* exp_avg, void* exp_avg_sq,
               void* max_exp_avg_sq, int64_t n, double lr, double beta1, double beta2, double eps,
               double weight_decay, bool decoupled_weight_decay, bool maximize, int64_t step) {
  optim::adam_step(CpuRun{}, dtype, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, n, lr,
                   beta1, beta2, eps, weight_decay, decoupled_weight_decay, maximize, step);
}

double nadam_step(DType dtype, void* param, const void* grad, void* exp_avg, void* exp_avg_sq,
                  int64_t n, double lr, double beta1, double beta2, double eps,
                  double weight_decay, double momentum_decay, bool decoupled_weight_decay,
                  bool maximize, int64_t step, double mu_product) {
  return optim::nadam_step(CpuRun{}, dtype, param, grad, exp_avg, exp_avg_sq, n, lr, beta1,
                           beta2, eps, weight_decay, momentum_decay, decoupled_weight_decay,
                           maximize, step, mu_product);
}

void adagrad_step(DType dtype, void* param, const void* grad, void* sum, int64_t n, double lr,
                  double lr_decay, double weight_decay, double eps, bool maximize, int64_t step) {
  optim::adagrad_step(CpuRun{}, dtype, param, grad, sum, n, lr, lr_decay, weight_decay, eps,
                      maximize, step);
}

void rmsprop_step(DType dtype, void* param, const void* grad, void* square_avg, void* grad_avg,
                  void* momentum_buffer, int64_t n, double lr, double alpha, double eps,
                  double weight_decay, double momentum, bool maximize) {
  optim::rmsprop_step(CpuRun{}, dtype, param, grad, square_avg, grad_avg, momentum_buffer, n,
                      lr, alpha, eps, weight_decay, momentum, maximize);
}

void adadelta_step(DType dtype, void* param, const void* grad, void* square_avg, void* acc_delta,
                   int64_t n, double lr, double rho, double eps, double weight_decay,
                   bool maximize) {
  optim::adadelta_step(CpuRun{}, dtype, param, grad, square_avg, acc_delta, n, lr, rho, eps,
                       weight_decay, maximize);
}

void adamax_step(DType dtype, void* param, const void* grad, void* exp_avg, void* exp_inf,
                 int64_t n, double lr, double beta1, double beta2, double eps,
                 double weight_decay, bool maximize, int64_t step) {
  optim::adamax_step(CpuRun{}, dtype, param, grad, exp_avg, exp_inf, n, lr, beta1, beta2, eps,
                     weight_decay, maximize, step);
}

}  // namespace dlcore::cpu
