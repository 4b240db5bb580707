// sort.cpp (bindings) — sort and topk along the last dim of a tensor (Python moves the sorted
// dim last and makes it contiguous), and the scans (cumsum, cumprod, logcumsumexp) along any dim.
#include <algorithm>

#include "common.h"

namespace dlcore {
namespace {

int64_t last_dim(const Tensor& x) { return x.dim() ? x.sizes.back() : 1; }

void check_sortable(const char* op, const Tensor& x) {
  if (x.dtype != DType::Float32 && x.dtype != DType::Float64 && x.dtype != DType::Int64)
    fail<DTypeError>(op, "expected a float32, float64 or int64 tensor, got ", dtype_name(x.dtype));
  if (last_dim(x) >= (int64_t(1) << 32))
    fail<ShapeError>(op, "a dim of 2^32 or more elements is not supported (shape ",
                     shape_str(x.sizes), ")");
}

py::tuple sort(const Tensor& x_in, bool descending) {
  const char* op = "sort";
  check_sortable(op, x_in);
  Tensor x = contiguous(x_in);
  const int64_t n = last_dim(x), rows = n ? x.numel() / n : 0;
  Tensor values = empty(x.sizes, x.dtype, x.device());
  Tensor indices = empty(x.sizes, DType::Int64, x.device());
  if (x.numel()) {
    py::gil_scoped_release nogil;
    DLCORE_ON_DEVICE(x.device(),
                     cpu::sort(x.dtype, x.data(), values.data(), (int64_t*)indices.data(), rows, n,
                               descending),
                     cuda::sort(x.dtype, x.data(), values.data(), (int64_t*)indices.data(), rows, n,
                                descending, stream));
  }
  return py::make_tuple(values, indices);
}

py::tuple topk(const Tensor& x_in, int64_t k, bool largest) {
  const char* op = "topk";
  check_sortable(op, x_in);
  const int64_t n = last_dim(x_in);
  if (k < 0 || k > n)
    fail<IndexError>(op, "k = ", k, " is out of range for a dim of size ", n, " (shape ",
                     shape_str(x_in.sizes), ")");
  Tensor x = contiguous(x_in);
  const int64_t rows = n ? x.numel() / n : 0;
  std::vector<int64_t> shape = x.sizes;
  if (!shape.empty()) shape.back() = k;
  Tensor values = empty(shape, x.dtype, x.device());
  Tensor indices = empty(shape, DType::Int64, x.device());
  if (values.numel()) {
    py::gil_scoped_release nogil;
    DLCORE_ON_DEVICE(x.device(),
                     cpu::topk(x.dtype, x.data(), values.data(), (int64_t*)indices.data(), rows, n,
                               k, largest),
                     cuda::topk(x.dtype, x.data(), values.data(), (int64_t*)indices.data(), rows, n,
                                k, largest, stream));
  }
  return py::make_tuple(values, indices);
}

// op: 0 cumsum, 1 cumprod, 2 logcumsumexp; dim already in [0, ndim) (any for a 0-d tensor).
Tensor scan(int op, const Tensor& x_in, int64_t dim, bool reverse) {
  static const char* names[] = {"cumsum", "cumprod", "logcumsumexp"};
  if (op < 0 || op > 2) fail<ShapeError>("scan", "unknown scan op ", op);
  const char* name = names[op];
  const bool floating = x_in.dtype == DType::Float32 || x_in.dtype == DType::Float64;
  if (!floating && !(x_in.dtype == DType::Int64 && op != 2))
    fail<DTypeError>(name, "unsupported dtype ", dtype_name(x_in.dtype));
  if (x_in.dim() && (dim < 0 || dim >= x_in.dim()))
    fail<IndexError>(name, "dim ", dim, " out of range for a tensor of shape ", shape_str(x_in.sizes));
  Tensor x = contiguous(x_in);
  int64_t outer = 1, n = 1, inner = 1;
  for (int64_t d = 0; d < x.dim(); ++d) (d < dim ? outer : d == dim ? n : inner) *= x.sizes[d];
  Tensor y = empty(x.sizes, x.dtype, x.device());
  if (y.numel()) {
    py::gil_scoped_release nogil;
    DLCORE_ON_DEVICE(x.device(),
                     cpu::scan(op, x.dtype, x.data(), y.data(), outer, n, inner, reverse),
                     cuda::scan(op, x.dtype, x.data(), y.data(), outer, n, inner, reverse, stream));
  }
  return y;
}

}  // namespace

void register_sort(py::module_& m) {
  m.def("sort", &sort, py::arg("x"), py::arg("descending"));
  m.def("topk", &topk, py::arg("x"), py::arg("k"), py::arg("largest"));
  m.def("scan", &scan, py::arg("op"), py::arg("x"), py::arg("dim"), py::arg("reverse"));
}

}  // namespace dlcore
