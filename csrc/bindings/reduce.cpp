// reduce.cpp (bindings) — maps "reduce tensor t over dims D" onto the kernel's
// [outer, red, inner] form. Adjacent reduced dims merge into one call; separated groups are
// reduced one group at a time, innermost first (sum/prod/max/min compose that way).
#include <algorithm>

#include "common.h"

namespace dlcore {
namespace {

const char* reduce_name(ReduceOp op) {
  static const char* names[] = {"sum", "prod", "max", "min", "argmax", "argmin"};
  return names[(int)op];
}

// One kernel call reducing dims [d0, d1] (inclusive) of contiguous x; keeps them as size 1.
Tensor reduce_run(ReduceOp op, const Tensor& x, int64_t d0, int64_t d1) {
  int64_t outer = 1, red = 1, inner = 1;
  for (int64_t d = 0; d < x.dim(); ++d) (d < d0 ? outer : d <= d1 ? red : inner) *= x.sizes[d];
  std::vector<int64_t> shape = x.sizes;
  for (int64_t d = d0; d <= d1; ++d) shape[d] = 1;
  bool arg = op == ReduceOp::ArgMax || op == ReduceOp::ArgMin;
  Tensor out = empty(shape, arg ? DType::Int64 : x.dtype, x.device());
  if (red == 0 && op != ReduceOp::Sum && op != ReduceOp::Prod)
    fail<ShapeError>(reduce_name(op), "cannot reduce over a dimension of size 0 (input shape ",
                     shape_str(x.sizes), ")");
  if (out.numel() == 0) return out;
  py::gil_scoped_release nogil;
  DLCORE_ON_DEVICE(x.device(), cpu::reduce(op, x.dtype, x.data(), out.data(), outer, red, inner),
                   cuda::reduce(op, x.dtype, x.data(), out.data(), outer, red, inner, stream));
  return out;
}

// dims: negative ones count from the end, repeats are merged (Python rejects repeats in a
// user's tuple); empty means all dims. A bool tensor is reduced as int64 (the sum of a mask
// counts it), so x.sum(dim) needs no Python-side dtype or dim handling (its per-call cost).
Tensor reduce(int op_code, const Tensor& t_in, std::vector<int64_t> dims, bool keepdim) {
  ReduceOp op = (ReduceOp)op_code;
  const char* name = reduce_name(op);
  const Tensor t = t_in.dtype == DType::Bool ? cast(t_in, DType::Int64, name) : t_in;
  if (dims.empty())
    for (int64_t d = 0; d < t.dim(); ++d) dims.push_back(d);
  const int64_t nd = std::max<int64_t>(t.dim(), 1);
  for (int64_t& d : dims) {
    const int64_t given = d;
    if (d < 0) d += nd;
    if (d < 0 || d >= nd)
      fail<IndexError>(name, "dim ", given, " out of range for a tensor of shape ", shape_str(t.sizes));
  }
  std::sort(dims.begin(), dims.end());
  dims.erase(std::unique(dims.begin(), dims.end()), dims.end());
  bool arg = op == ReduceOp::ArgMax || op == ReduceOp::ArgMin;
  Tensor x = contiguous(t);
  if (x.dim() == 0) {  // a scalar reduces to itself (argmax of a scalar is 0)
    if (arg) return reduce_run(op, x, 0, -1);   // no dims: one element, index 0
    x.sizes = {1}; x.strides = {1};
    dims = {0};
    Tensor r = reduce_run(op, x, 0, 0);
    r.sizes = {}; r.strides = {};
    return r;
  }
  if (arg && dims.size() > 1) {   // arg-reduce over several dims: flatten them (all dims only)
    if ((int64_t)dims.size() != x.dim())
      fail<ShapeError>(name, "reduces over one dim or all dims");
    x.sizes = {x.numel()}; x.strides = {1};
    dims = {0};
  }
  // Walk groups of adjacent dims from the innermost group outwards.
  Tensor cur = x;
  size_t i = dims.size();
  while (i > 0) {
    size_t j = i - 1;
    while (j > 0 && dims[j - 1] == dims[j] - 1) --j;
    cur = reduce_run(op, cur, dims[j], dims[i - 1]);
    i = j;
  }
  if (keepdim) {
    if (x.dim() != t.dim()) {   // flattened arg-reduce over all dims: restore rank with 1s
      cur.sizes.assign(t.dim(), 1);
      cur.strides = contiguous_strides(cur.sizes);
    }
    return cur;
  }
  std::vector<int64_t> shape;
  for (int64_t d = 0; d < cur.dim(); ++d)
    if (!std::binary_search(dims.begin(), dims.end(), d)) shape.push_back(cur.sizes[d]);
  cur.sizes = shape;
  cur.strides = contiguous_strides(shape);
  return cur;
}

}  // namespace

void register_reduce(py::module_& m) {
  m.def("reduce", &reduce, py::arg("op"), py::arg("x"), py::arg("dims"), py::arg("keepdim") = false);
}

}  // namespace dlcore
