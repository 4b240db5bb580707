// index.cpp (bindings) — index_select and index_add_ along one dim (advanced indexing, and
// its backward; the embedding lookup and its gradient later).
//
// The index is a 1-D int64 tensor on any device. Its values are checked on the host (a CUDA
// index is copied back first, which synchronizes) and negative values are wrapped, so the
// kernels only ever see indices in [0, n): nothing reads or writes out of bounds.
#include <algorithm>

#include "common.h"

namespace dlcore {
namespace {

struct Dims {
  int64_t outer = 1, n = 1, inner = 1;
};

// [outer, n, inner] around dim `dim` of a tensor of shape `sizes`.
Dims split_at(const std::vector<int64_t>& sizes, int64_t dim) {
  Dims d;
  for (int64_t k = 0; k < dim; ++k) d.outer *= sizes[k];
  d.n = sizes[dim];
  for (size_t k = dim + 1; k < sizes.size(); ++k) d.inner *= sizes[k];
  return d;
}

int64_t wrap_dim(const char* op, int64_t dim, const Tensor& x) {
  const int64_t nd = std::max<int64_t>(x.dim(), 1);
  if (dim < -nd || dim >= nd)
    fail<IndexError>(op, "dim ", dim, " is out of range for a tensor of shape ", shape_str(x.sizes));
  return dim < 0 ? dim + nd : dim;
}

// The index as a contiguous int64 tensor on `device` with every value wrapped into [0, n)
// (negative values count from the end unless !allow_negative: an embedding lookup).
Tensor checked_index(const char* op, const Tensor& index, int64_t n, const Tensor& x, Device device,
                     bool allow_negative = true) {
  if (index.dtype != DType::Int64)
    fail<DTypeError>(op, "index must be an int64 tensor, got ", dtype_name(index.dtype));
  if (index.dim() > 1)
    fail<ShapeError>(op, "index must be 1-D, got shape ", shape_str(index.sizes));
  Tensor host = index.device().is_cuda() ? to_device(index, Device{}) : contiguous(index);
  const int64_t m = host.numel();
  const int64_t* v = static_cast<const int64_t*>(host.data());
  bool wrap = false;
  for (int64_t j = 0; j < m; ++j) {
    if (v[j] < (allow_negative ? -n : 0) || v[j] >= n)
      fail<IndexError>(op, "index ", v[j], " is out of range for dim of size ", n,
                       " (tensor of shape ", shape_str(x.sizes), ")");
    wrap |= v[j] < 0;
  }
  // Already valid on the right device: use it as it is (no second copy).
  if (!wrap && index.device() == device && index.is_contiguous()) return index;
  if (wrap) {
    Tensor w = empty({m}, DType::Int64, Device{});
    int64_t* o = static_cast<int64_t*>(w.data());
    for (int64_t j = 0; j < m; ++j) o[j] = v[j] < 0 ? v[j] + n : v[j];
    host = w;
  }
  if (device.is_cuda()) return to_device(host, device);
  return host;
}

// What both ops need about `dim` of x: the dim in [0, ndim), the [outer, n, inner] split around
// it, and the index checked against n (on x's device), with its length m.
struct IndexedDim {
  int64_t dim;
  Dims d;
  Tensor idx;
  int64_t m;
  const int64_t* data() const { return static_cast<const int64_t*>(idx.data()); }
};

IndexedDim indexed_dim(const char* op, const Tensor& x, int64_t dim, const Tensor& index,
                       bool allow_negative = true) {
  if (x.dim() == 0) fail<IndexError>(op, "cannot index a 0-d tensor");
  IndexedDim r;
  r.dim = wrap_dim(op, dim, x);
  r.d = split_at(x.sizes, r.dim);
  r.idx = checked_index(op, index, r.d.n, x, x.device(), allow_negative);
  r.m = r.idx.numel();
  return r;
}

// out = x.index_select(dim, index): shape of x with dim `dim` replaced by len(index).
Tensor index_select(const Tensor& x_in, int64_t dim, const Tensor& index, bool allow_negative) {
  const char* op = "index_select";
  const IndexedDim r = indexed_dim(op, x_in, dim, index, allow_negative);
  const Dims& d = r.d;
  Tensor x = contiguous(x_in);
  std::vector<int64_t> shape = x.sizes;
  shape[r.dim] = r.m;
  Tensor out = empty(shape, x.dtype, x.device());
  if (out.numel() == 0) return out;
  py::gil_scoped_release nogil;
  DLCORE_ON_DEVICE(x.device(),
                   cpu::index_select(x.dtype, x.data(), out.data(), r.data(), d.outer, d.n, r.m,
                                     d.inner),
                   cuda::index_select(x.dtype, x.data(), out.data(), r.data(), d.outer, d.n, r.m,
                                      d.inner, stream));
  return out;
}

// acc.index_add_(dim, index, src): acc[..., index[j], ...] += src[..., j, ...]; acc must be
// contiguous (the autograd backward allocates it). Returns acc.
Tensor index_add_(const Tensor& acc, int64_t dim, const Tensor& index, const Tensor& src_in) {
  const char* op = "index_add_";
  check_same_device(op, acc, src_in);
  if (acc.dtype != src_in.dtype)
    fail<DTypeError>(op, "source dtype ", dtype_name(src_in.dtype), " does not match ",
                     dtype_name(acc.dtype));
  if (!acc.is_contiguous()) fail<ShapeError>(op, "the accumulator must be contiguous");
  const IndexedDim r = indexed_dim(op, acc, dim, index);
  const Dims& d = r.d;
  std::vector<int64_t> want = acc.sizes;
  want[r.dim] = r.m;
  if (src_in.sizes != want)
    fail<ShapeError>(op, "source of shape ", shape_str(src_in.sizes), " does not match ",
                     shape_str(want), " (accumulator ", shape_str(acc.sizes), ", ", r.m,
                     " indices on dim ", r.dim, ")");
  Tensor src = contiguous(src_in);
  if (src.numel() == 0) return acc;
  py::gil_scoped_release nogil;
  DLCORE_ON_DEVICE(acc.device(),
                   cpu::index_add(acc.dtype, acc.data(), src.data(), r.data(), d.outer, d.n, r.m,
                                  d.inner),
                   cuda::index_add(acc.dtype, acc.data(), src.data(), r.data(), d.outer, d.n, r.m,
                                   d.inner, stream));
  return acc;
}

}  // namespace

void register_index(py::module_& m) {
  m.def("index_select", &index_select, py::arg("x"), py::arg("dim"), py::arg("index"),
        py::arg("allow_negative") = true);
  m.def("index_add_", &index_add_, py::arg("acc"), py::arg("dim"), py::arg("index"), py::arg("src"));
}

}  // namespace dlcore
