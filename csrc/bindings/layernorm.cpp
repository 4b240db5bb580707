// layernorm.cpp (bindings) — layer normalisation over the trailing `cols` elements of x (group
// and instance norm call it on (N*G, C/G*HW) rows without the affine).
#include <optional>

#include "common.h"

namespace dlcore {
namespace {

void check_param(const char* op, const std::optional<Tensor>& p, const Tensor& x, int64_t cols,
                 const char* what) {
  if (!p) return;
  check_same_device(op, x, *p);
  if (p->dtype != x.dtype)
    fail<DTypeError>(op, what, " dtype ", dtype_name(p->dtype), " does not match the input's ",
                     dtype_name(x.dtype));
  if (p->numel() != cols)
    fail<ShapeError>(op, what, " of shape ", shape_str(p->sizes), " has ", p->numel(),
                     " elements, expected ", cols, " (input shape ", shape_str(x.sizes), ")");
}

int64_t rows_of(const char* op, const Tensor& x, int64_t cols) {
  if (x.dtype != DType::Float32 && x.dtype != DType::Float64)
    fail<DTypeError>(op, "expected a float32 or float64 tensor, got ", dtype_name(x.dtype));
  if (cols <= 0 || (x.numel() && x.numel() % cols))
    fail<ShapeError>(op, "cannot normalise groups of ", cols, " elements of a tensor of shape ",
                     shape_str(x.sizes));
  return x.numel() / cols;
}

// (y, mean, rstd); mean and rstd have one entry per row.
py::tuple layer_norm_forward(const Tensor& x_in, int64_t cols, const std::optional<Tensor>& gamma_in,
                             const std::optional<Tensor>& beta_in, double eps) {
  const char* op = "layer_norm";
  const int64_t rows = rows_of(op, x_in, cols);
  check_param(op, gamma_in, x_in, cols, "weight");
  check_param(op, beta_in, x_in, cols, "bias");
  Tensor x = contiguous(x_in);
  std::optional<Tensor> gamma, beta;
  if (gamma_in) gamma = contiguous(*gamma_in);
  if (beta_in) beta = contiguous(*beta_in);
  Tensor y = empty(x.sizes, x.dtype, x.device());
  Tensor mean = empty({rows}, x.dtype, x.device()), rstd = empty({rows}, x.dtype, x.device());
  const void* g = gamma ? gamma->data() : nullptr;
  const void* b = beta ? beta->data() : nullptr;
  if (rows) {
    py::gil_scoped_release nogil;
    DLCORE_ON_DEVICE(x.device(),
                     cpu::layer_norm_forward(x.dtype, x.data(), g, b, y.data(), mean.data(),
                                             rstd.data(), rows, cols, eps),
                     cuda::layer_norm_forward(x.dtype, x.data(), g, b, y.data(), mean.data(),
                                              rstd.data(), rows, cols, eps, stream));
  }
  return py::make_tuple(y, mean, rstd);
}

// (dx or None, dgamma or None, dbeta or None).
py::tuple layer_norm_backward(const Tensor& dy_in, const Tensor& x_in, const Tensor& mean,
                              const Tensor& rstd, const std::optional<Tensor>& gamma_in,
                              int64_t cols, bool need_dx, bool need_dgamma, bool need_dbeta) {
  const char* op = "layer_norm_backward";
  const int64_t rows = rows_of(op, x_in, cols);
  check_param(op, gamma_in, x_in, cols, "weight");
  if (dy_in.sizes != x_in.sizes || dy_in.dtype != x_in.dtype)
    fail<ShapeError>(op, "gradient of shape ", shape_str(dy_in.sizes), " for input of shape ",
                     shape_str(x_in.sizes));
  if (mean.numel() != rows || rstd.numel() != rows)
    fail<ShapeError>(op, "saved statistics do not match ", rows, " rows");
  check_same_device(op, x_in, dy_in);
  Tensor x = contiguous(x_in), dy = contiguous(dy_in);
  Tensor m = contiguous(mean), r = contiguous(rstd);
  std::optional<Tensor> gamma;
  if (gamma_in) gamma = contiguous(*gamma_in);
  std::optional<Tensor> dx, dg, db;
  if (need_dx) dx = empty(x.sizes, x.dtype, x.device());
  if (need_dgamma) dg = empty({cols}, x.dtype, x.device());
  if (need_dbeta) db = empty({cols}, x.dtype, x.device());
  {
    const void* g = gamma ? gamma->data() : nullptr;
    void* pdx = dx ? dx->data() : nullptr;
    void* pdg = dg ? dg->data() : nullptr;
    void* pdb = db ? db->data() : nullptr;
    py::gil_scoped_release nogil;
    DLCORE_ON_DEVICE(x.device(),
                     cpu::layer_norm_backward(x.dtype, dy.data(), x.data(), m.data(), r.data(), g,
                                              pdx, pdg, pdb, rows, cols),
                     cuda::layer_norm_backward(x.dtype, dy.data(), x.data(), m.data(), r.data(), g,
                                               pdx, pdg, pdb, rows, cols, stream));
  }
  auto opt = [](const std::optional<Tensor>& t) { return t ? py::cast(*t) : py::none(); };
  return py::make_tuple(opt(dx), opt(dg), opt(db));
}

}  // namespace

void register_layernorm(py::module_& m) {
  m.def("layer_norm_forward", &layer_norm_forward, py::arg("x"), py::arg("cols"), py::arg("weight"),
        py::arg("bias"), py::arg("eps"));
  m.def("layer_norm_backward", &layer_norm_backward, py::arg("grad"), py::arg("x"), py::arg("mean"),
        py::arg("rstd"), py::arg("weight"), py::arg("cols"), py::arg("need_dx"),
        py::arg("need_dweight"), py::arg("need_dbias"));
}

}  // namespace dlcore
