// conv.cpp (bindings) — conv2d and conv_transpose2d (conv1d reaches conv2d with H = 1).
//
// The Python side (nn/conv.py) parses stride / padding / dilation ('same', 'valid', tuples),
// computes the output size and raises the user-facing errors; these functions re-check what
// the kernels rely on (ranks, channel counts, dtypes, devices, positive sizes) so that no call
// can make a kernel read or write out of bounds, make operands contiguous, release the GIL
// and dispatch. Every kernel bounds-checks each tap against (H, W), so any output size is safe.
#include <array>
#include <optional>

#include "common.h"

namespace dlcore {
namespace {

using Pair = std::array<int64_t, 2>;

void check_pair(const char* op, const Pair& v, const char* what, int64_t min) {
  if (v[0] < min || v[1] < min)
    fail<ShapeError>(op, what, " must be >= ", min, ", got (", v[0], ", ", v[1], ")");
}

void check_float_same(const char* op, const Tensor& a, const Tensor& b, const char* what) {
  check_same_device(op, a, b);
  if (!is_floating(a.dtype))
    fail<DTypeError>(op, "expected a float32 or float64 input, got ", dtype_name(a.dtype));
  if (a.dtype != b.dtype)
    fail<DTypeError>(op, what, " dtype ", dtype_name(b.dtype), " does not match input dtype ",
                     dtype_name(a.dtype));
}

// ConvParams of the convolution x (N,C,H,W) * w (K, C/groups, kh, kw) -> (N, K, OH, OW).
ConvParams params(const char* op, const std::vector<int64_t>& xs, const std::vector<int64_t>& ws,
                  int64_t K, int64_t C, Pair stride, Pair pad, Pair dil, int64_t groups,
                  Pair out, DType dt) {
  check_pair(op, stride, "stride", 1);
  check_pair(op, dil, "dilation", 1);
  check_pair(op, pad, "padding", 0);
  check_pair(op, out, "output size", 0);
  if (groups < 1 || C % groups || K % groups)
    fail<ShapeError>(op, "groups=", groups, " must divide both channel counts ", C, " and ", K);
  ConvParams p;
  p.dtype = dt;
  p.N = xs[0];
  p.C = C; p.K = K;
  p.kh = ws[2]; p.kw = ws[3];
  p.sh = stride[0]; p.sw = stride[1];
  p.ph = pad[0]; p.pw = pad[1];
  p.dh = dil[0]; p.dw = dil[1];
  p.groups = groups;
  p.OH = out[0]; p.OW = out[1];
  return p;
}

void check_rank4(const char* op, const Tensor& x, const Tensor& w) {
  if (x.dim() != 4 || w.dim() != 4)
    fail<ShapeError>(op, "expected a 4-D input and a 4-D weight, got shapes ", shape_str(x.sizes),
                     " and ", shape_str(w.sizes));
}

void check_bias(const char* op, const Tensor& x, const std::optional<Tensor>& b, int64_t n) {
  if (!b) return;
  check_float_same(op, x, *b, "bias");
  if (b->dim() != 1 || b->sizes[0] != n)
    fail<ShapeError>(op, "bias must have shape (", n, "), got ", shape_str(b->sizes));
}

// ---- conv2d ----------------------------------------------------------------------------------

ConvParams conv_params(const char* op, const Tensor& x, const Tensor& w, Pair stride, Pair pad,
                       Pair dil, int64_t groups, Pair out) {
  check_rank4(op, x, w);
  check_float_same(op, x, w, "weight");
  const int64_t C = x.sizes[1];
  if (groups < 1 || w.sizes[1] * groups != C)
    fail<ShapeError>(op, "input of shape ", shape_str(x.sizes), " does not fit weight of shape ",
                     shape_str(w.sizes), " with groups=", groups, " (expected ",
                     w.sizes[1] * groups, " input channels)");
  ConvParams p = params(op, x.sizes, w.sizes, w.sizes[0], C, stride, pad, dil, groups, out, x.dtype);
  p.H = x.sizes[2]; p.W = x.sizes[3];
  return p;
}

Tensor conv2d_fwd(const Tensor& x_in, const Tensor& w_in, std::optional<Tensor> b_in, Pair stride,
                  Pair pad, Pair dil, int64_t groups, Pair out, int act) {
  const char* op = "conv2d";
  ConvParams p = conv_params(op, x_in, w_in, stride, pad, dil, groups, out);
  check_bias(op, x_in, b_in, p.K);
  if (act != 0 && act != 1) fail<ShapeError>(op, "activation code must be 0 (none) or 1 (relu)");
  Tensor x = contiguous(x_in), w = contiguous(w_in), b;
  if (b_in) b = contiguous(*b_in);
  Tensor y = empty({p.N, p.K, p.OH, p.OW}, x.dtype, x.device());
  const void* bp = b_in ? b.data() : nullptr;
  py::gil_scoped_release nogil;
  DLCORE_ON_DEVICE(x.device(),
                   cpu::conv2d_forward(p, x.data(), w.data(), bp, y.data(), (Activation)act),
                   cuda::conv2d_forward(p, x.data(), w.data(), bp, y.data(), (Activation)act,
                                        stream));
  return y;
}

// Returns (dx, dw, db), None where not requested.
py::tuple conv2d_bwd(const Tensor& dy_in, const Tensor& x_in, const Tensor& w_in, Pair stride,
                     Pair pad, Pair dil, int64_t groups, bool need_dx, bool need_dw,
                     bool need_db) {
  const char* op = "conv2d_backward";
  ConvParams p = conv_params(op, x_in, w_in, stride, pad, dil, groups,
                             {dy_in.dim() == 4 ? dy_in.sizes[2] : 0,
                              dy_in.dim() == 4 ? dy_in.sizes[3] : 0});
  check_float_same(op, x_in, dy_in, "gradient");
  if (dy_in.sizes != std::vector<int64_t>{p.N, p.K, p.OH, p.OW})
    fail<ShapeError>(op, "gradient of shape ", shape_str(dy_in.sizes), " does not match the output (",
                     p.N, ", ", p.K, ", ...)");
  Tensor dy = contiguous(dy_in), x = contiguous(x_in), w = contiguous(w_in);
  const Device dev = x.device();
  Tensor dx, dw, db;
  if (need_dx) dx = empty(x.sizes, x.dtype, dev);
  if (need_dw) dw = empty(w.sizes, w.dtype, dev);
  if (need_db) db = empty({p.K}, x.dtype, dev);
  void* dxp = need_dx ? dx.data() : nullptr;
  void* dwp = need_dw ? dw.data() : nullptr;
  void* dbp = need_db ? db.data() : nullptr;
  {
    py::gil_scoped_release nogil;
    DLCORE_ON_DEVICE(dev, cpu::conv2d_backward(p, x.data(), w.data(), dy.data(), dxp, dwp, dbp),
                     cuda::conv2d_backward(p, x.data(), w.data(), dy.data(), dxp, dwp, dbp, stream));
  }
  return py::make_tuple(need_dx ? py::cast(dx) : py::none(), need_dw ? py::cast(dw) : py::none(),
                        need_db ? py::cast(db) : py::none());
}

// ---- conv_transpose2d ----------------------------------------------------------------------------
// x (N, Cin, Hin, Win), w (Cin, Cout/groups, kh, kw), output (N, Cout, out[0], out[1]): the
// adjoint of the conv2d from (N, Cout, out) to (N, Cin, Hin, Win) with the same weight.

ConvParams transpose_params(const char* op, const Tensor& x, const Tensor& w, Pair stride,
                            Pair pad, Pair dil, int64_t groups, Pair out) {
  check_rank4(op, x, w);
  check_float_same(op, x, w, "weight");
  if (w.sizes[0] != x.sizes[1])
    fail<ShapeError>(op, "input of shape ", shape_str(x.sizes), " does not fit weight of shape ",
                     shape_str(w.sizes), " (expected ", w.sizes[0], " input channels)");
  if (groups < 1)
    fail<ShapeError>(op, "groups must be >= 1, got ", groups);
  ConvParams p = params(op, x.sizes, w.sizes, x.sizes[1], w.sizes[1] * groups, stride, pad, dil,
                        groups, {x.sizes[2], x.sizes[3]}, x.dtype);
  check_pair(op, out, "output size", 0);
  p.H = out[0]; p.W = out[1];
  return p;
}

Tensor conv_transpose2d_fwd(const Tensor& x_in, const Tensor& w_in, std::optional<Tensor> b_in,
                            Pair stride, Pair pad, Pair dil, int64_t groups, Pair out) {
  const char* op = "conv_transpose2d";
  ConvParams p = transpose_params(op, x_in, w_in, stride, pad, dil, groups, out);
  check_bias(op, x_in, b_in, p.C);
  Tensor x = contiguous(x_in), w = contiguous(w_in), b;
  if (b_in) b = contiguous(*b_in);
  Tensor y = empty({p.N, p.C, p.H, p.W}, x.dtype, x.device());
  const void* bp = b_in ? b.data() : nullptr;
  py::gil_scoped_release nogil;
  DLCORE_ON_DEVICE(x.device(),
                   cpu::conv_transpose2d_forward(p, x.data(), w.data(), bp, y.data()),
                   cuda::conv_transpose2d_forward(p, x.data(), w.data(), bp, y.data(), stream));
  return y;
}

py::tuple conv_transpose2d_bwd(const Tensor& dy_in, const Tensor& x_in, const Tensor& w_in,
                               Pair stride, Pair pad, Pair dil, int64_t groups, bool need_dx,
                               bool need_dw, bool need_db) {
  const char* op = "conv_transpose2d_backward";
  if (dy_in.dim() != 4)
    fail<ShapeError>(op, "expected a 4-D gradient, got shape ", shape_str(dy_in.sizes));
  ConvParams p = transpose_params(op, x_in, w_in, stride, pad, dil, groups,
                                  {dy_in.sizes[2], dy_in.sizes[3]});
  check_float_same(op, x_in, dy_in, "gradient");
  if (dy_in.sizes[0] != p.N || dy_in.sizes[1] != p.C)
    fail<ShapeError>(op, "gradient of shape ", shape_str(dy_in.sizes),
                     " does not match the output (", p.N, ", ", p.C, ", ...)");
  Tensor dy = contiguous(dy_in), x = contiguous(x_in), w = contiguous(w_in);
  const Device dev = x.device();
  Tensor dx, dw, db;
  if (need_dx) dx = empty(x.sizes, x.dtype, dev);
  if (need_dw) dw = empty(w.sizes, w.dtype, dev);
  if (need_db) db = empty({p.C}, x.dtype, dev);
  void* dxp = need_dx ? dx.data() : nullptr;
  void* dwp = need_dw ? dw.data() : nullptr;
  void* dbp = need_db ? db.data() : nullptr;
  {
    py::gil_scoped_release nogil;
    DLCORE_ON_DEVICE(dev,
                     cpu::conv_transpose2d_backward(p, x.data(), w.data(), dy.data(), dxp, dwp, dbp),
                     cuda::conv_transpose2d_backward(p, x.data(), w.data(), dy.data(), dxp, dwp,
                                                     dbp, stream));
  }
  return py::make_tuple(need_dx ? py::cast(dx) : py::none(), need_dw ? py::cast(dw) : py::none(),
                        need_db ? py::cast(db) : py::none());
}

}  // namespace

void register_conv(py::module_& m) {
  m.def("conv2d", &conv2d_fwd, py::arg("x"), py::arg("w"), py::arg("bias"), py::arg("stride"),
        py::arg("padding"), py::arg("dilation"), py::arg("groups"), py::arg("out_size"),
        py::arg("act") = 0);
  m.def("conv2d_backward", &conv2d_bwd, py::arg("grad"), py::arg("x"), py::arg("w"),
        py::arg("stride"), py::arg("padding"), py::arg("dilation"), py::arg("groups"),
        py::arg("need_input"), py::arg("need_weight"), py::arg("need_bias"));
  m.def("conv_transpose2d", &conv_transpose2d_fwd, py::arg("x"), py::arg("w"), py::arg("bias"),
        py::arg("stride"), py::arg("padding"), py::arg("dilation"), py::arg("groups"),
        py::arg("out_size"));
  m.def("conv_transpose2d_backward", &conv_transpose2d_bwd, py::arg("grad"), py::arg("x"),
        py::arg("w"), py::arg("stride"), py::arg("padding"), py::arg("dilation"),
        py::arg("groups"), py::arg("need_input"), py::arg("need_weight"), py::arg("need_bias"));
}

}  // namespace dlcore
