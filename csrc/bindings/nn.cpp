// nn.cpp (bindings) — the kernels behind dlcore.nn.functional: activations, softmax,
// fused cross entropy / nll, dropout. Each function validates (dtype, shape, device), makes
// its operands contiguous, releases the GIL and dispatches to cpu:: or cuda::. Shapes are
// already normalised by the Python side (softmax over the last dim, losses on [rows, cols]).
#include <optional>

#include "common.h"

namespace dlcore {
namespace {

const char* act_name(int op) {
  static const char* names[] = {"relu", "leaky_relu", "elu", "softplus", "sigmoid",
                                "tanh", "gelu", "gelu", "silu"};
  return (op >= 0 && op < 9) ? names[op] : "activation";
}

// b must match a in dtype, shape and device (the gradient and the tensor it belongs to).
void check_like(const char* op, const Tensor& a, const Tensor& b) {
  check_same_device(op, a, b);
  if (a.sizes != b.sizes)
    fail<ShapeError>(op, "shape mismatch: ", shape_str(a.sizes), " and ", shape_str(b.sizes));
  if (a.dtype != b.dtype)
    fail<DTypeError>(op, "dtype mismatch: ", dtype_name(a.dtype), " and ", dtype_name(b.dtype));
}

// ---- activations -------------------------------------------------------------------------

Tensor act_forward(int op, const Tensor& x_in, double a, double b, std::optional<Tensor> out) {
  const char* name = act_name(op);
  if (op < 0 || op > 8) fail<ShapeError>(name, "unknown activation code ", op);
  check_float(name, x_in, "input");
  Tensor x = contiguous(x_in);
  Tensor y;
  if (out) {   // in-place (out is x) or a caller-provided buffer
    check_like(name, x, *out);
    if (!out->is_contiguous()) fail<ShapeError>(name, "output must be contiguous");
    y = *out;
  } else {
    y = empty(x.sizes, x.dtype, x.device());
  }
  const int64_t n = x.numel();
  if (n == 0) return y;
  py::gil_scoped_release nogil;
  DLCORE_ON_DEVICE(x.device(),
                   cpu::activation_forward((ActOp)op, x.dtype, x.data(), y.data(), n, a, b),
                   cuda::activation_forward((ActOp)op, x.dtype, x.data(), y.data(), n, a, b,
                                            stream));
  return y;
}

Tensor act_backward(int op, const Tensor& g_in, std::optional<Tensor> x_in,
                    std::optional<Tensor> y_in, double a, double b) {
  const char* name = act_name(op);
  if (op < 0 || op > 8) fail<ShapeError>(name, "unknown activation code ", op);
  check_float(name, g_in, "gradient");
  const bool needs_y = op == 0 || op == 4 || op == 5 || op == 2;
  const bool needs_x = !(op == 0 || op == 4 || op == 5);
  if ((needs_x && !x_in) || (needs_y && !y_in))
    fail<ShapeError>(name, "backward needs the ", needs_x && !x_in ? "input" : "output");
  Tensor g = contiguous(g_in), x, y;
  if (needs_x) { check_like(name, g, *x_in); x = contiguous(*x_in); }
  if (needs_y) { check_like(name, g, *y_in); y = contiguous(*y_in); }
  Tensor gx = empty(g.sizes, g.dtype, g.device());
  const int64_t n = g.numel();
  if (n == 0) return gx;
  const void* xp = needs_x ? x.data() : nullptr;
  const void* yp = needs_y ? y.data() : nullptr;
  py::gil_scoped_release nogil;
  DLCORE_ON_DEVICE(g.device(),
                   cpu::activation_backward((ActOp)op, g.dtype, g.data(), xp, yp, gx.data(),
                                            n, a, b),
                   cuda::activation_backward((ActOp)op, g.dtype, g.data(), xp, yp,
                                             gx.data(), n, a, b, stream));
  return gx;
}

// ---- softmax over the last dim ------------------------------------------------------------

void rows_cols(const Tensor& t, int64_t& rows, int64_t& cols) {
  cols = t.dim() ? t.sizes.back() : 1;
  rows = cols ? t.numel() / cols : 0;
}

Tensor softmax_fwd(const Tensor& x_in, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  check_float(name, x_in, "input");
  Tensor x = contiguous(x_in);
  Tensor y = empty(x.sizes, x.dtype, x.device());
  int64_t rows, cols;
  rows_cols(x, rows, cols);
  if (rows == 0 || cols == 0) return y;
  py::gil_scoped_release nogil;
  DLCORE_ON_DEVICE(x.device(), cpu::softmax_forward(x.dtype, x.data(), y.data(), rows, cols, log),
                   cuda::softmax_forward(x.dtype, x.data(), y.data(), rows, cols, log, stream));
  return y;
}

Tensor softmax_bwd(const Tensor& g_in, const Tensor& y_in, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  check_float(name, g_in, "gradient");
  check_like(name, y_in, g_in);
  Tensor g = contiguous(g_in), y = contiguous(y_in);
  Tensor gx = empty(g.sizes, g.dtype, g.device());
  int64_t rows, cols;
  rows_cols(g, rows, cols);
  if (rows == 0 || cols == 0) return gx;
  py::gil_scoped_release nogil;
  DLCORE_ON_DEVICE(g.device(),
                   cpu::softmax_backward(g.dtype, g.data(), y.data(), gx.data(), rows, cols, log),
                   cuda::softmax_backward(g.dtype, g.data(), y.data(), gx.data(), rows, cols, log,
                                          stream));
  return gx;
}

// ---- cross entropy / nll -------------------------------------------------------------------

struct CeInputs {
  Tensor x, target, weight;
  bool has_weight = false;
  int64_t rows = 0, cols = 0;
};

CeInputs ce_inputs(const char* name, const Tensor& x_in, const Tensor& t_in,
                   const std::optional<Tensor>& w_in, int reduction) {
  check_float(name, x_in, "input");
  if (t_in.dtype != DType::Int64)
    fail<DTypeError>(name, "expected int64 class-index targets, got ", dtype_name(t_in.dtype));
  check_same_device(name, x_in, t_in);
  if (x_in.dim() != 2 || t_in.dim() != 1 || t_in.sizes[0] != x_in.sizes[0])
    fail<ShapeError>(name, "expected input (N, C) and target (N,), got ", shape_str(x_in.sizes),
                     " and ", shape_str(t_in.sizes));
  if (reduction < 0 || reduction > 2) fail<ShapeError>(name, "unknown reduction code ", reduction);
  CeInputs c;
  c.x = contiguous(x_in);
  c.target = contiguous(t_in);
  c.rows = x_in.sizes[0];
  c.cols = x_in.sizes[1];
  if (w_in) {
    check_same_device(name, x_in, *w_in);
    if (w_in->dim() != 1 || w_in->sizes[0] != c.cols)
      fail<ShapeError>(name, "weight must have one entry per class (", c.cols, "), got shape ",
                       shape_str(w_in->sizes));
    if (w_in->dtype != x_in.dtype)
      fail<DTypeError>(name, "weight dtype ", dtype_name(w_in->dtype), " does not match input ",
                       dtype_name(x_in.dtype));
    c.weight = contiguous(*w_in);
    c.has_weight = true;
  }
  return c;
}

// Returns (loss, lse, norm): loss is (N,) for reduction none, else 0-dim; lse (N,) and norm
// (0-dim, mean only) are what the backward needs.
py::tuple ce_forward(const Tensor& x_in, const Tensor& t_in, std::optional<Tensor> w_in,
                     int64_t ignore_index, double label_smoothing, bool log_input, int reduction) {
  const char* name = log_input ? "nll_loss" : "cross_entropy";
  CeInputs c = ce_inputs(name, x_in, t_in, w_in, reduction);
  const Device dev = c.x.device();
  Tensor loss = empty(reduction == 0 ? std::vector<int64_t>{c.rows} : std::vector<int64_t>{},
                      c.x.dtype, dev);
  Tensor lse = empty({c.rows}, c.x.dtype, dev);
  Tensor norm = empty({}, c.x.dtype, dev);
  Tensor scratch = empty({2 * c.rows + 1}, DType::Float64, dev);
  const void* wp = c.has_weight ? c.weight.data() : nullptr;
  int64_t bad = -1;
  {
    py::gil_scoped_release nogil;
    DLCORE_ON_DEVICE(dev,
                     bad = cpu::cross_entropy_forward(c.x.dtype, c.x.data(),
                                                      (const int64_t*)c.target.data(), wp, c.rows,
                                                      c.cols, ignore_index, label_smoothing,
                                                      log_input, reduction, loss.data(),
                                                      lse.data(), scratch.data(), norm.data()),
                     bad = cuda::cross_entropy_forward(c.x.dtype, c.x.data(),
                                                       (const int64_t*)c.target.data(), wp,
                                                       c.rows, c.cols, ignore_index,
                                                       label_smoothing, log_input, reduction,
                                                       loss.data(), lse.data(), scratch.data(),
                                                       norm.data(), stream));
  }
  if (bad >= 0) {
    int64_t value = 0;
    const int64_t* tp = (const int64_t*)c.target.data() + bad;
    if (dev.is_cuda()) cudart::memcpy(&value, tp, sizeof(int64_t), cudart::CopyKind::DeviceToHost, dev.index);
    else value = *tp;
    fail<IndexError>(name, "target ", value, " is out of bounds: expected a class index in [0, ",
                     c.cols, ") or ignore_index ", ignore_index, " (at sample ", bad, ")");
  }
  return py::make_tuple(loss, lse, norm);
}

Tensor ce_backward(const Tensor& x_in, const Tensor& t_in, std::optional<Tensor> w_in,
                   const Tensor& lse, const Tensor& grad_in, const Tensor& norm,
                   int64_t ignore_index, double label_smoothing, bool log_input, int reduction) {
  const char* name = log_input ? "nll_loss" : "cross_entropy";
  CeInputs c = ce_inputs(name, x_in, t_in, w_in, reduction);
  Tensor grad = contiguous(grad_in);
  if (grad.numel() != (reduction == 0 ? c.rows : 1) || grad.dtype != c.x.dtype)
    fail<ShapeError>(name, "backward: gradient of shape ", shape_str(grad.sizes), " does not fit");
  check_same_device(name, c.x, grad);
  Tensor gx = empty(c.x.sizes, c.x.dtype, c.x.device());
  if (gx.numel() == 0) return gx;
  const void* wp = c.has_weight ? c.weight.data() : nullptr;
  py::gil_scoped_release nogil;
  DLCORE_ON_DEVICE(c.x.device(),
                   cpu::cross_entropy_backward(c.x.dtype, c.x.data(),
                                               (const int64_t*)c.target.data(), wp, lse.data(),
                                               grad.data(), norm.data(), c.rows, c.cols,
                                               ignore_index, label_smoothing, log_input,
                                               reduction, gx.data()),
                   cuda::cross_entropy_backward(c.x.dtype, c.x.data(),
                                                (const int64_t*)c.target.data(), wp, lse.data(),
                                                grad.data(), norm.data(), c.rows, c.cols,
                                                ignore_index, label_smoothing, log_input,
                                                reduction, gx.data(), stream));
  return gx;
}

// ---- dropout ---------------------------------------------------------------------------------

Tensor dropout_fwd(const Tensor& x_in, double p, uint64_t seed, uint64_t offset) {
  check_float("dropout", x_in, "input");
  if (!(p >= 0.0 && p < 1.0)) fail<ShapeError>("dropout", "p must be in [0, 1), got ", p);
  Tensor x = contiguous(x_in);
  Tensor y = empty(x.sizes, x.dtype, x.device());
  const int64_t n = x.numel();
  if (n == 0) return y;
  py::gil_scoped_release nogil;
  DLCORE_ON_DEVICE(x.device(), cpu::dropout(x.dtype, x.data(), y.data(), n, p, seed, offset),
                   cuda::dropout(x.dtype, x.data(), y.data(), n, p, seed, offset, stream));
  return y;
}

}  // namespace

void register_nn(py::module_& m) {
  m.def("act_forward", &act_forward, py::arg("op"), py::arg("x"), py::arg("a") = 0.0,
        py::arg("b") = 0.0, py::arg("out") = py::none());
  m.def("act_backward", &act_backward, py::arg("op"), py::arg("grad"), py::arg("x") = py::none(),
        py::arg("y") = py::none(), py::arg("a") = 0.0, py::arg("b") = 0.0);
  m.def("softmax_forward", &softmax_fwd, py::arg("x"), py::arg("log"));
  m.def("softmax_backward", &softmax_bwd, py::arg("grad"), py::arg("y"), py::arg("log"));
  m.def("cross_entropy_forward", &ce_forward, py::arg("x"), py::arg("target"), py::arg("weight"),
        py::arg("ignore_index"), py::arg("label_smoothing"), py::arg("log_input"),
        py::arg("reduction"));
  m.def("cross_entropy_backward", &ce_backward, py::arg("x"), py::arg("target"),
        py::arg("weight"), py::arg("lse"), py::arg("grad"), py::arg("norm"),
        py::arg("ignore_index"), py::arg("label_smoothing"), py::arg("log_input"),
        py::arg("reduction"));
  m.def("dropout", &dropout_fwd, py::arg("x"), py::arg("p"), py::arg("seed"), py::arg("offset"));
}

}  // namespace dlcore
