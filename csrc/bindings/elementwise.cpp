// elementwise.cpp (bindings) — broadcasting, output allocation and dispatch for the
// unary / binary / scalar / where kernels. Type promotion is decided in Python; here operands
// must already share a dtype, which keeps every kernel single-typed.
#include <optional>

#include "common.h"

namespace dlcore {
namespace {

const char* binary_name(BinaryOp op) {
  static const char* names[] = {"add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne",
                                "lt", "le", "gt", "ge", "logical_and", "logical_or"};
  return names[(int)op];
}

// The output: a fresh tensor of `shape`, or `out` after checking it can hold the result.
Tensor output_for(const char* op, const std::vector<int64_t>& shape, DType dtype, Device device,
                  const std::optional<Tensor>& out) {
  if (!out) return empty(shape, dtype, device);
  if (out->sizes != shape)
    fail<ShapeError>(op, "output of shape ", shape_str(out->sizes), " cannot hold the result of shape ",
                     shape_str(shape), " (in-place ops cannot broadcast their destination)");
  if (out->dtype != dtype)
    fail<DTypeError>(op, "result type ", dtype_name(dtype), " can't be cast to the output dtype ",
                     dtype_name(out->dtype));
  if (out->device() != device)
    fail<DeviceError>(op, "output on ", out->device().str(), " but inputs on ", device.str());
  return *out;
}

Tensor unary(int op, const Tensor& x, std::optional<Tensor> out) {
  UnaryOp u = (UnaryOp)op;
  DType odt = x.dtype;
  Tensor o = output_for("unary", x.sizes, odt, x.device(), out);
  if (o.numel() == 0) return o;
  Loop L = make_loop(x.sizes, {o.strides, x.strides});
  py::gil_scoped_release nogil;
  DLCORE_ON_DEVICE(x.device(), cpu::unary(u, x.dtype, L, o.data(), x.data()),
                   cuda::unary(u, x.dtype, L, o.data(), x.data(), stream));
  return o;
}

Tensor binary(int op, const Tensor& a, const Tensor& b, std::optional<Tensor> out) {
  BinaryOp bop = (BinaryOp)op;
  const char* name = binary_name(bop);
  check_same_device(name, a, b);
  if (a.dtype != b.dtype)
    fail<DTypeError>(name, "operands have different dtypes ", dtype_name(a.dtype), " and ",
                     dtype_name(b.dtype));
  auto shape = broadcast_shapes(a.sizes, b.sizes, name);
  Tensor o = output_for(name, shape, is_comparison(bop) ? DType::Bool : a.dtype, a.device(), out);
  if (o.numel() == 0) return o;
  Loop L = make_loop(shape, {o.strides, broadcast_strides(a, shape, name), broadcast_strides(b, shape, name)});
  py::gil_scoped_release nogil;
  DLCORE_ON_DEVICE(a.device(), cpu::binary(bop, a.dtype, L, o.data(), a.data(), b.data()),
                   cuda::binary(bop, a.dtype, L, o.data(), a.data(), b.data(), stream));
  return o;
}

// The common case of a + b, decided here instead of in Python (where each dtype/device probe
// is a property call): both floating, same dtype, same device. Anything else returns None and
// the Python caller does the type promotion and error reporting.
py::object binary_same(int op, const Tensor& a, const Tensor& b, std::optional<Tensor> out) {
  if (a.dtype != b.dtype || !is_floating(a.dtype) || a.device() != b.device()) return py::none();
  return py::cast(binary(op, a, b, std::move(out)));
}

Tensor binary_scalar(int op, const Tensor& a, double s, bool scalar_first, std::optional<Tensor> out) {
  BinaryOp bop = (BinaryOp)op;
  Tensor o = output_for(binary_name(bop), a.sizes, is_comparison(bop) ? DType::Bool : a.dtype,
                        a.device(), out);
  if (o.numel() == 0) return o;
  Loop L = make_loop(a.sizes, {o.strides, a.strides});
  py::gil_scoped_release nogil;
  DLCORE_ON_DEVICE(a.device(), cpu::binary_scalar(bop, a.dtype, L, o.data(), a.data(), s, scalar_first),
                   cuda::binary_scalar(bop, a.dtype, L, o.data(), a.data(), s, scalar_first, stream));
  return o;
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_same_device("where", cond, a);
  check_same_device("where", a, b);
  if (cond.dtype != DType::Bool)
    fail<DTypeError>("where", "condition must be a bool tensor, got ", dtype_name(cond.dtype));
  if (a.dtype != b.dtype)
    fail<DTypeError>("where", "operands have different dtypes ", dtype_name(a.dtype), " and ",
                     dtype_name(b.dtype));
  auto shape = broadcast_shapes(broadcast_shapes(cond.sizes, a.sizes, "where"), b.sizes, "where");
  Tensor o = empty(shape, a.dtype, a.device());
  if (o.numel() == 0) return o;
  Loop L = make_loop(shape, {o.strides, broadcast_strides(cond, shape, "where"),
                             broadcast_strides(a, shape, "where"), broadcast_strides(b, shape, "where")});
  py::gil_scoped_release nogil;
  DLCORE_ON_DEVICE(a.device(), cpu::where(a.dtype, L, o.data(), cond.data(), a.data(), b.data()),
                   cuda::where(a.dtype, L, o.data(), cond.data(), a.data(), b.data(), stream));
  return o;
}

}  // namespace

void register_elementwise(py::module_& m) {
  m.def("unary", &unary, py::arg("op"), py::arg("x"), py::arg("out") = py::none());
  m.def("binary", &binary, py::arg("op"), py::arg("a"), py::arg("b"), py::arg("out") = py::none());
  m.def("binary_same", &binary_same, py::arg("op"), py::arg("a"), py::arg("b"), py::arg("out") = py::none());
  m.def("binary_scalar", &binary_scalar, py::arg("op"), py::arg("a"), py::arg("s"),
        py::arg("scalar_first") = false, py::arg("out") = py::none());
  m.def("where", &where);
}

}  // namespace dlcore
