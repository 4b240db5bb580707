// batchnorm.cpp (bindings) — the kernels behind dlcore.nn.functional.batch_norm and
// local_response_norm. Inputs (N, C, *) are made contiguous and seen as [N, C, S]; per-channel
// tensors are checked for shape (C,), dtype and device. The running statistics are updated in
// place, so they must be contiguous already (module buffers always are).
#include <optional>

#include "common.h"

namespace dlcore {
namespace {

using OptT = std::optional<Tensor>;

void check_float_input(const char* op, const Tensor& x) {
  if (!is_floating(x.dtype))
    fail<DTypeError>(op, "expected a float32 or float64 input, got ", dtype_name(x.dtype));
}

// [N, C, S] of an (N, C, *) input.
void ncs(const Tensor& x, int64_t& N, int64_t& C, int64_t& S) {
  N = x.sizes[0];
  C = x.sizes[1];
  S = 1;
  for (int64_t d = 2; d < x.dim(); ++d) S *= x.sizes[d];
}

// A per-channel tensor: (C,), the input's dtype and device. Returns its contiguous values.
Tensor channel_vec(const char* op, const char* what, const Tensor& x, const Tensor& v, int64_t C,
                   bool in_place) {
  if (v.device() != x.device())
    fail<DeviceError>(op, what, " is on ", v.device().str(), " but the input is on ",
                      x.device().str());
  if (v.numel() != C || v.dim() != 1)
    fail<ShapeError>(op, what, " should contain ", C, " elements (one per channel of input ",
                     shape_str(x.sizes), "), got shape ", shape_str(v.sizes));
  if (v.dtype != x.dtype)
    fail<DTypeError>(op, what, " dtype ", dtype_name(v.dtype), " does not match input dtype ",
                     dtype_name(x.dtype));
  if (in_place && !v.is_contiguous())
    fail<ShapeError>(op, what, " must be contiguous (it is updated in place)");
  return contiguous(v);
}

const void* ptr_or_null(const OptT& t) { return t ? t->data() : nullptr; }

// (y, save_mean, save_invstd). training=false normalises with the running statistics (which
// must be given); training=true uses the batch statistics and updates the running ones if given.
py::tuple bn_forward(const Tensor& x_in, OptT weight, OptT bias, OptT running_mean,
                     OptT running_var, bool training, double momentum, double eps) {
  const char* op = "batch_norm";
  check_float_input(op, x_in);
  if (x_in.dim() < 2)
    fail<ShapeError>(op, "expected an input of shape (N, C, *) with at least 2 dims, got ",
                     shape_str(x_in.sizes));
  int64_t N, C, S;
  ncs(x_in, N, C, S);
  if (!(eps >= 0)) fail<ShapeError>(op, "eps must be non-negative, got ", eps);
  if (running_mean.has_value() != running_var.has_value())
    fail<ShapeError>(op, "running_mean and running_var must both be given or both be None");
  if (!training && !running_mean)
    fail<ShapeError>(op, "running_mean and running_var must be defined in evaluation mode");
  if (training && N * S == 1)
    fail<ShapeError>(op, "Expected more than 1 value per channel when training, got input size ",
                     shape_str(x_in.sizes));
  Tensor x = contiguous(x_in);
  OptT w, b, rm, rv;
  if (weight) w = channel_vec(op, "weight", x, *weight, C, false);
  if (bias) b = channel_vec(op, "bias", x, *bias, C, false);
  if (running_mean) {
    rm = channel_vec(op, "running_mean", x, *running_mean, C, training);
    rv = channel_vec(op, "running_var", x, *running_var, C, training);
  }
  const Device dev = x.device();
  Tensor y = empty(x.sizes, x.dtype, dev);
  Tensor mean = empty({C}, x.dtype, dev), invstd = empty({C}, x.dtype, dev);
  if (C > 0) {
    const void *wp = ptr_or_null(w), *bp = ptr_or_null(b);
    void* rmp = rm ? rm->data() : nullptr;
    void* rvp = rv ? rv->data() : nullptr;
    py::gil_scoped_release nogil;
    if (training)
      DLCORE_ON_DEVICE(dev,
                       cpu::batch_norm_forward_train(x.dtype, x.data(), wp, bp, y.data(),
                                                     mean.data(), invstd.data(), rmp, rvp, N, C,
                                                     S, momentum, eps),
                       cuda::batch_norm_forward_train(x.dtype, x.data(), wp, bp, y.data(),
                                                      mean.data(), invstd.data(), rmp, rvp, N,
                                                      C, S, momentum, eps, stream));
    else
      DLCORE_ON_DEVICE(dev,
                       cpu::batch_norm_forward_eval(x.dtype, x.data(), wp, bp, rmp, rvp, y.data(),
                                                    mean.data(), invstd.data(), N, C, S, eps),
                       cuda::batch_norm_forward_eval(x.dtype, x.data(), wp, bp, rmp, rvp,
                                                     y.data(), mean.data(), invstd.data(), N, C,
                                                     S, eps, stream));
  }
  return py::make_tuple(y, mean, invstd);
}

// (grad_x, grad_weight, grad_bias), each None unless asked for.
py::tuple bn_backward(const Tensor& g_in, const Tensor& x_in, OptT weight, const Tensor& mean_in,
                      const Tensor& invstd_in, bool training, bool need_x, bool need_weight,
                      bool need_bias) {
  const char* op = "batch_norm backward";
  check_float_input(op, x_in);
  check_same_device(op, x_in, g_in);
  if (x_in.dim() < 2 || g_in.sizes != x_in.sizes || g_in.dtype != x_in.dtype)
    fail<ShapeError>(op, "gradient ", shape_str(g_in.sizes), " ", dtype_name(g_in.dtype),
                     " does not match input ", shape_str(x_in.sizes), " ",
                     dtype_name(x_in.dtype));
  int64_t N, C, S;
  ncs(x_in, N, C, S);
  Tensor x = contiguous(x_in), g = contiguous(g_in);
  Tensor mean = channel_vec(op, "saved mean", x, mean_in, C, false);
  Tensor invstd = channel_vec(op, "saved invstd", x, invstd_in, C, false);
  OptT w;
  if (weight) w = channel_vec(op, "weight", x, *weight, C, false);
  const Device dev = x.device();
  OptT gx, gw, gb;
  if (need_x) gx = empty(x.sizes, x.dtype, dev);
  if (need_weight) gw = empty({C}, x.dtype, dev);
  if (need_bias) gb = empty({C}, x.dtype, dev);
  if (C > 0 && (need_x || need_weight || need_bias)) {
    const void* wp = ptr_or_null(w);
    void* gxp = gx ? gx->data() : nullptr;
    void* gwp = gw ? gw->data() : nullptr;
    void* gbp = gb ? gb->data() : nullptr;
    py::gil_scoped_release nogil;
    DLCORE_ON_DEVICE(dev,
                     cpu::batch_norm_backward(x.dtype, g.data(), x.data(), wp, mean.data(),
                                              invstd.data(), gxp, gwp, gbp, N, C, S, training),
                     cuda::batch_norm_backward(x.dtype, g.data(), x.data(), wp, mean.data(),
                                               invstd.data(), gxp, gwp, gbp, N, C, S, training,
                                               stream));
  }
  py::object ox = gx ? py::cast(*gx) : py::none();
  py::object ow = gw ? py::cast(*gw) : py::none();
  py::object ob = gb ? py::cast(*gb) : py::none();
  return py::make_tuple(ox, ow, ob);
}

void lrn_check(const char* op, const Tensor& x, int64_t size) {
  check_float_input(op, x);
  if (x.dim() < 3)
    fail<ShapeError>(op, "Expected 3D or higher dimensionality input (got ", x.dim(),
                     " dimensions, shape ", shape_str(x.sizes), ")");
  if (size < 1) fail<ShapeError>(op, "size must be a positive integer, got ", size);
}

// (y, scale).
py::tuple lrn_forward(const Tensor& x_in, int64_t size, double alpha, double beta, double k) {
  const char* op = "local_response_norm";
  lrn_check(op, x_in, size);
  int64_t N, C, S;
  ncs(x_in, N, C, S);
  Tensor x = contiguous(x_in);
  Tensor y = empty(x.sizes, x.dtype, x.device()), scale = empty(x.sizes, x.dtype, x.device());
  if (x.numel() > 0) {
    py::gil_scoped_release nogil;
    DLCORE_ON_DEVICE(x.device(),
                     cpu::local_response_norm_forward(x.dtype, x.data(), y.data(), scale.data(),
                                                       N, C, S, size, alpha, beta, k),
                     cuda::local_response_norm_forward(x.dtype, x.data(), y.data(), scale.data(),
                                                        N, C, S, size, alpha, beta, k, stream));
  }
  return py::make_tuple(y, scale);
}

Tensor lrn_backward(const Tensor& g_in, const Tensor& x_in, const Tensor& scale_in, int64_t size,
                    double alpha, double beta) {
  const char* op = "local_response_norm backward";
  lrn_check(op, x_in, size);
  check_same_device(op, x_in, g_in);
  check_same_device(op, x_in, scale_in);
  if (g_in.sizes != x_in.sizes || scale_in.sizes != x_in.sizes || g_in.dtype != x_in.dtype ||
      scale_in.dtype != x_in.dtype)
    fail<ShapeError>(op, "gradient ", shape_str(g_in.sizes), " and scale ",
                     shape_str(scale_in.sizes), " must match input ", shape_str(x_in.sizes),
                     " in shape and dtype");
  int64_t N, C, S;
  ncs(x_in, N, C, S);
  Tensor x = contiguous(x_in), g = contiguous(g_in), scale = contiguous(scale_in);
  Tensor gx = empty(x.sizes, x.dtype, x.device());
  if (x.numel() > 0) {
    py::gil_scoped_release nogil;
    DLCORE_ON_DEVICE(x.device(),
                     cpu::local_response_norm_backward(x.dtype, g.data(), x.data(), scale.data(),
                                                       gx.data(), N, C, S, size, alpha, beta),
                     cuda::local_response_norm_backward(x.dtype, g.data(), x.data(),
                                                        scale.data(), gx.data(), N, C, S, size,
                                                        alpha, beta, stream));
  }
  return gx;
}

}  // namespace

void register_batchnorm(py::module_& m) {
  m.def("batch_norm_forward", &bn_forward, py::arg("x"), py::arg("weight"), py::arg("bias"),
        py::arg("running_mean"), py::arg("running_var"), py::arg("training"),
        py::arg("momentum"), py::arg("eps"));
  m.def("batch_norm_backward", &bn_backward, py::arg("grad"), py::arg("x"), py::arg("weight"),
        py::arg("mean"), py::arg("invstd"), py::arg("training"), py::arg("need_x"),
        py::arg("need_weight"), py::arg("need_bias"));
  m.def("local_response_norm_forward", &lrn_forward, py::arg("x"), py::arg("size"),
        py::arg("alpha"), py::arg("beta"), py::arg("k"));
  m.def("local_response_norm_backward", &lrn_backward, py::arg("grad"), py::arg("x"),
        py::arg("scale"), py::arg("size"), py::arg("alpha"), py::arg("beta"));
}

}  // namespace dlcore
