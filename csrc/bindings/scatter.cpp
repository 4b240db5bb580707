// scatter.cpp (bindings) — gather and scatter / scatter_add along one dim with an index tensor
// of the input's rank (torch.gather, Tensor.scatter_, Tensor.scatter_add_).
//
// Python narrows the operands so that the index, the source and (for gather) the output all
// have the same shape, and the data tensor differs from it only along `dim`. Every index value
// is checked against the size of `dim` before anything is written: an IndexError names the op,
// the index and the size, and nothing is read or written out of bounds.
#include <algorithm>

#include "common.h"

namespace dlcore {
namespace {

struct Split {
  int64_t outer = 1, n = 1, m = 1, inner = 1;
};

// [outer, n, inner] of x and [outer, m, inner] of index around dim, after checking that the two
// shapes agree everywhere but dim.
Split split_pair(const char* op, const Tensor& x, const Tensor& index, int64_t dim) {
  if (index.dtype != DType::Int64)
    fail<DTypeError>(op, "index must be an int64 tensor, got ", dtype_name(index.dtype));
  if (x.dim() != index.dim())
    fail<ShapeError>(op, "index of shape ", shape_str(index.sizes), " must have as many dims as the ",
                     "tensor of shape ", shape_str(x.sizes));
  const int64_t nd = std::max<int64_t>(x.dim(), 1);
  if (dim < 0 || dim >= nd)
    fail<IndexError>(op, "dim ", dim, " out of range for a tensor of shape ", shape_str(x.sizes));
  Split s;
  if (x.dim() == 0) return s;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (d != dim && x.sizes[d] != index.sizes[d])
      fail<ShapeError>(op, "index of shape ", shape_str(index.sizes), " does not match the tensor of ",
                       "shape ", shape_str(x.sizes), " outside dim ", dim);
    if (d < dim) s.outer *= x.sizes[d];
    if (d > dim) s.inner *= x.sizes[d];
  }
  s.n = x.sizes[dim];
  s.m = index.sizes[dim];
  return s;
}

[[noreturn]] void bad_index(const char* op, int64_t value, int64_t dim, int64_t n) {
  fail<IndexError>(op, "index ", value, " is out of bounds for dimension ", dim, " with size ", n);
}

// Every value of the (contiguous) index in [0, n), checked on the host.
void check_range(const char* op, const Tensor& index, int64_t dim, int64_t n) {
  Tensor host = index.device().is_cuda() ? to_device(index, Device{}) : index;
  const int64_t* v = static_cast<const int64_t*>(host.data());
  const int64_t count = host.numel();
  for (int64_t j = 0; j < count; ++j)
    if ((uint64_t)v[j] >= (uint64_t)n) bad_index(op, v[j], dim, n);
}

Tensor gather(const Tensor& x_in, int64_t dim, const Tensor& index_in) {
  const char* op = "gather";
  check_same_device(op, x_in, index_in);
  const Split s = split_pair(op, x_in, index_in, dim);
  Tensor x = contiguous(x_in), index = contiguous(index_in);
  Tensor out = empty(index.sizes, x.dtype, x.device());
  if (out.numel() == 0) return out;
  if (x.device().is_cuda()) check_range(op, index, dim, s.n);
  int64_t bad = -1;
  {
    py::gil_scoped_release nogil;
    DLCORE_ON_DEVICE(x.device(),
                     bad = cpu::gather(x.dtype, x.data(), (const int64_t*)index.data(), out.data(),
                                       s.outer, s.n, s.m, s.inner),
                     bad = cuda::gather(x.dtype, x.data(), (const int64_t*)index.data(), out.data(),
                                        s.outer, s.n, s.m, s.inner, stream));
  }
  if (bad >= 0) bad_index(op, static_cast<const int64_t*>(index.data())[bad], dim, s.n);
  return out;
}

// acc (contiguous) receives src (same shape as index) at the indexed positions; add sums.
Tensor scatter_(const Tensor& acc, int64_t dim, const Tensor& index_in, const Tensor& src_in,
                bool add) {
  const char* op = add ? "scatter_add_" : "scatter_";
  check_same_device(op, acc, index_in);
  check_same_device(op, acc, src_in);
  if (!acc.is_contiguous()) fail<ShapeError>(op, "the destination must be contiguous");
  if (acc.dtype != src_in.dtype)
    fail<DTypeError>(op, "source dtype ", dtype_name(src_in.dtype), " does not match the ",
                     "destination's ", dtype_name(acc.dtype));
  if (src_in.sizes != index_in.sizes)
    fail<ShapeError>(op, "source of shape ", shape_str(src_in.sizes), " must match the index of ",
                     "shape ", shape_str(index_in.sizes));
  const Split s = split_pair(op, acc, index_in, dim);
  Tensor index = contiguous(index_in), src = contiguous(src_in);
  if (index.numel() == 0) return acc;
  check_range(op, index, dim, acc.dim() ? s.n : 1);
  py::gil_scoped_release nogil;
  DLCORE_ON_DEVICE(acc.device(),
                   cpu::scatter(acc.dtype, acc.data(), (const int64_t*)index.data(), src.data(),
                                s.outer, s.n, s.m, s.inner, add),
                   cuda::scatter(acc.dtype, acc.data(), (const int64_t*)index.data(), src.data(),
                                 s.outer, s.n, s.m, s.inner, add, stream));
  return acc;
}

}  // namespace

void register_scatter(py::module_& m) {
  m.def("gather", &gather, py::arg("x"), py::arg("dim"), py::arg("index"));
  m.def("scatter_", &scatter_, py::arg("acc"), py::arg("dim"), py::arg("index"), py::arg("src"),
        py::arg("add"));
}

}  // namespace dlcore
