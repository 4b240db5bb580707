// optim.cpp (bindings) — the fused optimizer steps: _C.<name>_step(param, grad, state..., hyper
// parameters..., step). Every call updates one parameter tensor and its state in place.
//
// The kernels walk raw pointers over n = param.numel() elements, so this file is where the
// guarantees live: param is a contiguous float32/float64 tensor, and grad and every state tensor
// have its exact shape, dtype and device, are contiguous and do not share its memory (the
// kernels' pointers are __restrict). Hyper-parameter ranges (lr >= 0, betas in [0, 1) ...) are
// checked by the Python optimizers, which know PyTorch's rules and messages.
#include <optional>

#include "common.h"
#include "../core/optim_math.h"

namespace dlcore {
namespace {

using OptTensor = std::optional<Tensor>;

void check_param(const char* op, const Tensor& param) {
  if (param.dtype != DType::Float32 && param.dtype != DType::Float64)
    fail<DTypeError>(op, "parameters must be float32 or float64, got ", dtype_name(param.dtype));
  if (!param.is_contiguous())
    fail<ShapeError>(op, "the parameter must be contiguous (shape ", shape_str(param.sizes), ")");
}

void check_operand(const char* op, const Tensor& param, const Tensor& t, const char* what) {
  if (t.device() != param.device())
    fail<DeviceError>(op, what, " is on ", t.device().str(), " but the parameter is on ",
                      param.device().str());
  if (t.dtype != param.dtype)
    fail<DTypeError>(op, what, " has dtype ", dtype_name(t.dtype), " but the parameter has ",
                     dtype_name(param.dtype));
  if (t.sizes != param.sizes)
    fail<ShapeError>(op, what, " has shape ", shape_str(t.sizes), " but the parameter has shape ",
                     shape_str(param.sizes));
  if (!t.is_contiguous()) fail<ShapeError>(op, what, " must be contiguous");
  if (t.numel() > 0 && t.data() == param.data())
    fail<ShapeError>(op, what, " must not share memory with the parameter");
}

void* opt_ptr(const char* op, const Tensor& param, const OptTensor& t, const char* what) {
  if (!t) return nullptr;
  check_operand(op, param, *t, what);
  return t->data();
}

void check_step(const char* op, int64_t step) {
  if (step < 1) fail<ShapeError>(op, "step count must be >= 1, got ", step);
}

void sgd(const Tensor& p, const Tensor& g, const OptTensor& buf, double lr, double momentum,
         double dampening, double weight_decay, bool nesterov, bool maximize, bool first_step) {
  const char* op = "sgd_step";
  check_param(op, p);
  check_operand(op, p, g, "grad");
  void* b = opt_ptr(op, p, buf, "momentum_buffer");
  int64_t n = p.numel();
  if (n == 0) return;
  py::gil_scoped_release nogil;
  DLCORE_ON_DEVICE(p.device(),
                   cpu::sgd_step(p.dtype, p.data(), g.data(), b, n, lr, momentum, dampening,
                                 weight_decay, nesterov, maximize, first_step),
                   cuda::sgd_step(p.dtype, p.data(), g.data(), b, n, lr, momentum, dampening,
                                  weight_decay, nesterov, maximize, first_step, stream));
}

void adam(const Tensor& p, const Tensor& g, const Tensor& m, const Tensor& v,
          const OptTensor& vmax, double lr, double beta1, double beta2, double eps,
          double weight_decay, bool decoupled, bool maximize, int64_t step) {
  const char* op = "adam_step";
  check_param(op, p);
  check_step(op, step);
  check_operand(op, p, g, "grad");
  check_operand(op, p, m, "exp_avg");
  check_operand(op, p, v, "exp_avg_sq");
  void* vm = opt_ptr(op, p, vmax, "max_exp_avg_sq");
  int64_t n = p.numel();
  if (n == 0) return;
  py::gil_scoped_release nogil;
  DLCORE_ON_DEVICE(p.device(),
                   cpu::adam_step(p.dtype, p.data(), g.data(), m.data(), v.data(), vm, n, lr, beta1,
                                  beta2, eps, weight_decay, decoupled, maximize, step),
                   cuda::adam_step(p.dtype, p.data(), g.data(), m.data(), v.data(), vm, n, lr,
                                   beta1, beta2, eps, weight_decay, decoupled, maximize, step,
                                   stream));
}

void adagrad(const Tensor& p, const Tensor& g, const Tensor& sum, double lr, double lr_decay,
             double weight_decay, double eps, bool maximize, int64_t step) {
  const char* op = "adagrad_step";
  check_param(op, p);
  check_step(op, step);
  check_operand(op, p, g, "grad");
  check_operand(op, p, sum, "sum");
  int64_t n = p.numel();
  if (n == 0) return;
  py::gil_scoped_release nogil;
  DLCORE_ON_DEVICE(p.device(),
                   cpu::adagrad_step(p.dtype, p.data(), g.data(), sum.data(), n, lr, lr_decay,
                                     weight_decay, eps, maximize, step),
                   cuda::adagrad_step(p.dtype, p.data(), g.data(), sum.data(), n, lr, lr_decay,
                                      weight_decay, eps, maximize, step, stream));
}

void rmsprop(const Tensor& p, const Tensor& g, const Tensor& sq, const OptTensor& gavg,
             const OptTensor& buf, double lr, double alpha, double eps, double weight_decay,
             double momentum, bool maximize) {
  const char* op = "rmsprop_step";
  check_param(op, p);
  check_operand(op, p, g, "grad");
  check_operand(op, p, sq, "square_avg");
  void* ga = opt_ptr(op, p, gavg, "grad_avg");
  void* b = opt_ptr(op, p, buf, "momentum_buffer");
  int64_t n = p.numel();
  if (n == 0) return;
  py::gil_scoped_release nogil;
  DLCORE_ON_DEVICE(p.device(),
                   cpu::rmsprop_step(p.dtype, p.data(), g.data(), sq.data(), ga, b, n, lr, alpha,
                                     eps, weight_decay, momentum, maximize),
                   cuda::rmsprop_step(p.dtype, p.data(), g.data(), sq.data(), ga, b, n, lr, alpha,
                                      eps, weight_decay, momentum, maximize, stream));
}

void adadelta(const Tensor& p, const Tensor& g, const Tensor& sq, const Tensor& acc, double lr,
              double rho, double eps, double weight_decay, bool maximize) {
  const char* op = "adadelta_step";
  check_param(op, p);
  check_operand(op, p, g, "grad");
  check_operand(op, p, sq, "square_avg");
  check_operand(op, p, acc, "acc_delta");
  int64_t n = p.numel();
  if (n == 0) return;
  py::gil_scoped_release nogil;
  DLCORE_ON_DEVICE(p.device(),
                   cpu::adadelta_step(p.dtype, p.data(), g.data(), sq.data(), acc.data(), n, lr,
                                      rho, eps, weight_decay, maximize),
                   cuda::adadelta_step(p.dtype, p.data(), g.data(), sq.data(), acc.data(), n, lr,
                                       rho, eps, weight_decay, maximize, stream));
}

void adamax(const Tensor& p, const Tensor& g, const Tensor& m, const Tensor& u, double lr,
            double beta1, double beta2, double eps, double weight_decay, bool maximize,
            int64_t step) {
  const char* op = "adamax_step";
  check_param(op, p);
  check_step(op, step);
  check_operand(op, p, g, "grad");
  check_operand(op, p, m, "exp_avg");
  check_operand(op, p, u, "exp_inf");
  int64_t n = p.numel();
  if (n == 0) return;
  py::gil_scoped_release nogil;
  DLCORE_ON_DEVICE(p.device(),
                   cpu::adamax_step(p.dtype, p.data(), g.data(), m.data(), u.data(), n, lr, beta1,
                                    beta2, eps, weight_decay, maximize, step),
                   cuda::adamax_step(p.dtype, p.data(), g.data(), m.data(), u.data(), n, lr,
                                     beta1, beta2, eps, weight_decay, maximize, step, stream));
}

// Returns the new mu_product (see optim::nadam_scalars); the optimizer stores it in its state.
double nadam(const Tensor& p, const Tensor& g, const Tensor& m, const Tensor& v, double lr,
             double beta1, double beta2, double eps, double weight_decay, double momentum_decay,
             bool decoupled, bool maximize, int64_t step, double mu_product) {
  const char* op = "nadam_step";
  check_param(op, p);
  check_step(op, step);
  check_operand(op, p, g, "grad");
  check_operand(op, p, m, "exp_avg");
  check_operand(op, p, v, "exp_avg_sq");
  int64_t n = p.numel();
  if (n == 0)
    return optim::nadam_scalars(lr, beta1, beta2, momentum_decay, step, mu_product).mu_product;
  double out = 0;
  py::gil_scoped_release nogil;
  DLCORE_ON_DEVICE(p.device(),
                   out = cpu::nadam_step(p.dtype, p.data(), g.data(), m.data(), v.data(), n, lr,
                                         beta1, beta2, eps, weight_decay, momentum_decay,
                                         decoupled, maximize, step, mu_product),
                   out = cuda::nadam_step(p.dtype, p.data(), g.data(), m.data(), v.data(), n, lr,
                                          beta1, beta2, eps, weight_decay, momentum_decay,
                                          decoupled, maximize, step, mu_product, stream));
  return out;
}

}  // namespace

void register_optim(py::module_& m) {
  m.def("sgd_step", &sgd, py::arg("param"), py::arg("grad"), py::arg("momentum_buffer"),
        py::arg("lr"), py::arg("momentum"), py::arg("dampening"), py::arg("weight_decay"),
        py::arg("nesterov"), py::arg("maximize"), py::arg("first_step"));
  m.def("adam_step", &adam, py::arg("param"), py::arg("grad"), py::arg("exp_avg"),
        py::arg("exp_avg_sq"), py::arg("max_exp_avg_sq"), py::arg("lr"), py::arg("beta1"),
        py::arg("beta2"), py::arg("eps"), py::arg("weight_decay"),
        py::arg("decoupled_weight_decay"), py::arg("maximize"), py::arg("step"));
  m.def("adagrad_step", &adagrad, py::arg("param"), py::arg("grad"), py::arg("sum"),
        py::arg("lr"), py::arg("lr_decay"), py::arg("weight_decay"), py::arg("eps"),
        py::arg("maximize"), py::arg("step"));
  m.def("rmsprop_step", &rmsprop, py::arg("param"), py::arg("grad"), py::arg("square_avg"),
        py::arg("grad_avg"), py::arg("momentum_buffer"), py::arg("lr"), py::arg("alpha"),
        py::arg("eps"), py::arg("weight_decay"), py::arg("momentum"), py::arg("maximize"));
  m.def("adadelta_step", &adadelta, py::arg("param"), py::arg("grad"), py::arg("square_avg"),
        py::arg("acc_delta"), py::arg("lr"), py::arg("rho"), py::arg("eps"),
        py::arg("weight_decay"), py::arg("maximize"));
  m.def("adamax_step", &adamax, py::arg("param"), py::arg("grad"), py::arg("exp_avg"),
        py::arg("exp_inf"), py::arg("lr"), py::arg("beta1"), py::arg("beta2"), py::arg("eps"),
        py::arg("weight_decay"), py::arg("maximize"), py::arg("step"));
  m.def("nadam_step", &nadam, py::arg("param"), py::arg("grad"), py::arg("exp_avg"),
        py::arg("exp_avg_sq"), py::arg("lr"), py::arg("beta1"), py::arg("beta2"), py::arg("eps"),
        py::arg("weight_decay"), py::arg("momentum_decay"), py::arg("decoupled_weight_decay"),
        py::arg("maximize"), py::arg("step"), py::arg("mu_product"));
}

}  // namespace dlcore
