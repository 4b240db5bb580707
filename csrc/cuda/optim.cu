// optim.cu — fused optimizer steps on the GPU; mirrors csrc/cpu/optim.cpp.
//
// Each step is one grid-stride kernel over the parameter's n elements: a thread reads param,
// grad and the state values of its element once, and writes param and state once — the
// minimum traffic an optimizer step can have (7 streams for Adam). Consecutive threads touch
// consecutive elements, so every warp's loads and stores coalesce into full 128-byte lines.
// The steps themselves (per-step scalars computed once on the host in double, per-element
// maths, the template instance for the options, so no thread branches on an option) are the
// CPU's own, from core/optim_math.h: CPU and GPU give the same results to float32 rounding.
// This file supplies only the GPU's way to run them.
#include "../core/optim_math.h"
#include "common.cuh"
#include "kernels.h"

namespace dlcore::cuda {
namespace {

constexpr int kThreads = 256;

// One kernel for every optimizer: update(i) for i in [0, n), grid-stride, where update is a
// per-element functor of core/optim_math.h (pointers + scalars, passed by value).
template <typename Update>
__global__ void update_kernel(int64_t n, Update update) {
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    update(i);
}

// The GPU's way to run a step: one launch of update_kernel on the caller's stream.
struct CudaRun {
  void* stream;
  template <typename Update>
  void operator()(int64_t n, const Update& update) const {
    if (n <= 0) return;
    update_kernel<<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(n, update);
    DLCORE_LAUNCH_CHECK("optimizer update_kernel");
  }
};

}  // namespace

// ---- entry points: the device-generic steps of core/optim_math.h on the GPU --------------------

void sgd_step(DType dtype, void* param, const void* grad, void* momentum_buffer, int64_t n,
              double lr, double momentum, double dampening, double weight_decay, bool nesterov,
              bool maximize, bool first_step, void* stream) {
  optim::sgd_step(CudaRun{stream}, dtype, param, grad, momentum_buffer, n, lr, momentum,
                  dampening, weight_decay, nesterov, maximize, first_step);
}

void adam_step(DType dtype, void* param, const void* grad, void* exp_avg, void* exp_avg_sq,
               void* max_exp_avg_sq, int64_t n, double lr, double beta1, double beta2, double eps,
               double weight_decay, bool decoupled_weight_decay, bool maximize, int64_t step,
               void* stream) {
  optim::adam_step(CudaRun{stream}, dtype, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, n,
                   lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay, maximize, step);
}

double nadam_step(DType dtype, void* param, const void* grad, void* exp_avg, void* exp_avg_sq,
                  int64_t n, double lr, double beta1, double beta2, double eps,
                  double weight_decay, double momentum_decay, bool decoupled_weight_decay,
                  bool maximize, int64_t step, double mu_product, void* stream) {
  return optim::nadam_step(CudaRun{stream}, dtype, param, grad, exp_avg, exp_avg_sq, n, lr,
                           beta1, beta2, eps, weight_decay, momentum_decay,
                           decoupled_weight_decay, maximize, step, mu_product);
}

void adagrad_step(DType dtype, void* param, const void* grad, void* sum, int64_t n, double lr,
                  double lr_decay, double weight_decay, double eps, bool maximize, int64_t step,
                  void* stream) {
  optim::adagrad_step(CudaRun{stream}, dtype, param, grad, sum, n, lr, lr_decay, weight_decay,
                      eps, maximize, step);
}

void rmsprop_step(DType dtype, void* param, const void* grad, void* square_avg, void* grad_avg,
                  void* momentum_buffer, int64_t n, double lr, double alpha, double eps,
                  double weight_decay, double momentum, bool maximize, void* stream) {
  optim::rmsprop_step(CudaRun{stream}, dtype, param, grad, square_avg, grad_avg,
                      momentum_buffer, n, lr, alpha, eps, weight_decay, momentum, maximize);
}

void adadelta_step(DType dtype, void* param, const void* grad, void* square_avg, void* acc_delta,
                   int64_t n, double lr, double rho, double eps, double weight_decay,
                   bool maximize, void* stream) {
  optim::adadelta_step(CudaRun{stream}, dtype, param, grad, square_avg, acc_delta, n, lr, rho,
                       eps, weight_decay, maximize);
}

void adamax_step(DType dtype, void* param, const void* grad, void* exp_avg, void* exp_inf,
                 int64_t n, double lr, double beta1, double beta2, double eps,
                 double weight_decay, bool maximize, int64_t step, void* stream) {
  optim::adamax_step(CudaRun{stream}, dtype, param, grad, exp_avg, exp_inf, n, lr, beta1, beta2,
                     eps, weight_decay, maximize, step);
}

}  // namespace dlcore::cuda
