// pool.cpp (bindings) — the kernels behind dlcore.nn.pooling and dlcore.nn.upsampling: max /
// avg / adaptive pooling, max_unpool, and interpolate (kernels in cpu/upsample.cpp). The Python
// side turns int-or-tuple arguments into lists; here the geometry is validated once (rank,
// dtype, kernel/stride/dilation > 0, padding at most half the kernel, output size >= 1) with
// messages naming the op and the shapes, the input is made contiguous, and the kernels run
// with the GIL released.
//
// Inputs keep their own rank: (N, C, H, W) or unbatched (C, H, W) for the 2-D ops, (N, C, L) or
// (C, L) for the 1-D ones; the leading dims are folded into the kernels' `planes` and kept in
// the output shape. A 1-D pool is a 2-D pool over planes of height 1.
#include <optional>

#include "common.h"

namespace dlcore {
namespace {

using Ints = std::vector<int64_t>;

// (N, C, *spatial) or (C, *spatial) with every dim but N non-zero, as torch requires.
void check_rank(const char* op, const Tensor& x, int spatial) {
  const int64_t nd = x.dim();
  bool ok = nd == spatial + 1 || nd == spatial + 2;
  for (int64_t d = nd == spatial + 2 ? 1 : 0; ok && d < nd; ++d) ok = x.sizes[d] > 0;
  if (!ok) {
    if (spatial == 2)
      fail<ShapeError>(op, "expected a 3-D (C, H, W) or 4-D (N, C, H, W) input with non-zero C, "
                       "H, W, got shape ", shape_str(x.sizes));
    fail<ShapeError>(op, "expected a 2-D (C, L) or 3-D (N, C, L) input with non-zero C, L, got "
                     "shape ", shape_str(x.sizes));
  }
}

int64_t planes_of(const Tensor& x, int spatial) {
  int64_t p = 1;
  for (int64_t d = 0; d < x.dim() - spatial; ++d) p *= x.sizes[d];
  return p;
}

Ints with_spatial(const Ints& shape, int spatial, const Ints& out) {
  Ints s(shape.begin(), shape.end() - spatial);
  s.insert(s.end(), out.begin(), out.end());
  return s;
}

Ints expand(const char* op, const char* what, const Ints& v, int spatial) {
  if (v.size() == 1) return Ints(spatial, v[0]);
  if ((int)v.size() != spatial)
    fail<ShapeError>(op, what, " must be an int or a tuple of ", spatial, " ints, got ",
                     shape_str(v));
  return v;
}

// torch's pooling_output_shape: floor or ceil of (in + 2p - d(k-1) - 1) / s, + 1; in ceil mode
// the last window must start inside the input or the left padding.
int64_t pooled_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode) {
  const int64_t num = in + 2 * p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
  int64_t out = (num >= 0 ? num / s : -((-num + s - 1) / s)) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

struct PoolSpec {
  Pool2dParams p;
  Ints out_shape;
};

// Validates a max (is_max) or average pool over the last `spatial` dims of x and returns its
// geometry. Average pooling has no dilation (pass {1}).
PoolSpec pool_spec(const char* op, const Ints& x_shape, int spatial, Ints k, Ints s, Ints pad,
                   Ints dil, bool ceil_mode, bool is_max) {
  k = expand(op, "kernel_size", k, spatial);
  s = s.empty() ? k : expand(op, "stride", s, spatial);
  pad = expand(op, "padding", pad, spatial);
  dil = expand(op, "dilation", dil, spatial);
  for (int i = 0; i < spatial; ++i) {
    if (k[i] <= 0) fail<ShapeError>(op, "kernel_size must be greater than zero, got ", shape_str(k));
    if (s[i] <= 0) fail<ShapeError>(op, "stride must be greater than zero, got ", shape_str(s));
    if (dil[i] <= 0) fail<ShapeError>(op, "dilation must be greater than zero, got ", shape_str(dil));
    if (pad[i] < 0) fail<ShapeError>(op, "padding must be non-negative, got ", shape_str(pad));
    // torch bounds the padding by the undilated kernel (pad <= kernel_size / 2) for max and
    // average pooling alike; that also keeps every window partly inside the input.
    if (pad[i] > k[i] / 2)
      fail<ShapeError>(op, "pad should be at most half of effective kernel size, but got pad=",
                       shape_str(pad), ", kernel_size=", shape_str(k), " and dilation=",
                       shape_str(dil), " (expected pad <= kernel_size / 2 in every dim)");
  }
  const int nd = (int)x_shape.size();
  Ints in(x_shape.end() - spatial, x_shape.end()), out(spatial);
  for (int i = 0; i < spatial; ++i) out[i] = pooled_size(in[i], k[i], s[i], pad[i], dil[i], ceil_mode);
  for (int i = 0; i < spatial; ++i)
    if (out[i] < 1)
      fail<ShapeError>(op, "given input of shape ", shape_str(x_shape), ", kernel_size=",
                       shape_str(k), ", stride=", shape_str(s), ", padding=", shape_str(pad),
                       ", dilation=", shape_str(dil), ": calculated output size ", shape_str(out),
                       " is too small (every output dim must be >= 1)");
  PoolSpec r;
  Pool2dParams& p = r.p;
  p.planes = 1;
  for (int d = 0; d < nd - spatial; ++d) p.planes *= x_shape[d];
  const int o = spatial == 2 ? 0 : -1;   // 1-D: height 1, kernel 1
  p.in_h = o ? 1 : in[0];   p.in_w = in[spatial - 1];
  p.out_h = o ? 1 : out[0]; p.out_w = out[spatial - 1];
  p.k_h = o ? 1 : k[0];     p.k_w = k[spatial - 1];
  p.s_h = o ? 1 : s[0];     p.s_w = s[spatial - 1];
  p.p_h = o ? 0 : pad[0];   p.p_w = pad[spatial - 1];
  p.d_h = o ? 1 : dil[0];   p.d_w = dil[spatial - 1];
  r.out_shape = with_spatial(x_shape, spatial, out);
  return r;
}

// The gradient of an output of `shape` (dtype, device and shape of the forward output).
Tensor grad_like(const char* op, const Tensor& g, const Ints& shape, DType dtype,
                 const Tensor& ref) {
  check_same_device(op, g, ref);
  if (g.sizes != shape || g.dtype != dtype)
    fail<ShapeError>(op, "backward: gradient of shape ", shape_str(g.sizes), " and dtype ",
                     dtype_name(g.dtype), " does not match the output ", shape_str(shape), " ",
                     dtype_name(dtype));
  return contiguous(g);
}

Tensor indices_like(const char* op, const Tensor& idx, const Ints& shape, const Tensor& ref) {
  check_same_device(op, idx, ref);
  if (idx.dtype != DType::Int64)
    fail<DTypeError>(op, "expected int64 indices, got ", dtype_name(idx.dtype));
  if (idx.sizes != shape)
    fail<ShapeError>(op, "indices of shape ", shape_str(idx.sizes), " do not match shape ",
                     shape_str(shape));
  return contiguous(idx);
}

// ---- max / avg pooling ----------------------------------------------------------------------

py::tuple pool_forward(const Tensor& x_in, const std::string& op, bool is_max, int spatial,
                       Ints k, Ints s, Ints pad, Ints dil, bool ceil_mode,
                       bool count_include_pad, int64_t divisor_override, bool with_indices) {
  const char* name = op.c_str();
  check_float(name, x_in, "input");
  check_rank(name, x_in, spatial);
  if (!is_max && divisor_override < 0)
    fail<ShapeError>(name, "divisor_override must be a positive integer, got ", divisor_override);
  PoolSpec sp = pool_spec(name, x_in.sizes, spatial, k, s, pad, dil, ceil_mode, is_max);
  Tensor x = contiguous(x_in);
  Tensor y = empty(sp.out_shape, x.dtype, x.device());
  std::optional<Tensor> idx;
  if (is_max && with_indices) idx = empty(sp.out_shape, DType::Int64, x.device());
  if (y.numel() > 0) {
    int64_t* ip = idx ? (int64_t*)idx->data() : nullptr;
    const Pool2dParams& p = sp.p;
    py::gil_scoped_release nogil;
    if (is_max)
      DLCORE_ON_DEVICE(x.device(), cpu::max_pool2d_forward(x.dtype, p, x.data(), y.data(), ip),
                       cuda::max_pool2d_forward(x.dtype, p, x.data(), y.data(), ip, stream));
    else
      DLCORE_ON_DEVICE(x.device(),
                       cpu::avg_pool2d_forward(x.dtype, p, count_include_pad, divisor_override,
                                               x.data(), y.data()),
                       cuda::avg_pool2d_forward(x.dtype, p, count_include_pad, divisor_override,
                                                x.data(), y.data(), stream));
  }
  if (idx) return py::make_tuple(y, *idx);
  return py::make_tuple(y, py::none());
}

// Gradient of max_pool (with the forward's indices) or avg_pool with respect to its input
// of shape x_shape; the geometry arguments are the forward's.
Tensor pool_backward(const Tensor& g_in, std::optional<Tensor> idx_in, const Ints& x_shape,
                     const std::string& op, bool is_max, int spatial, Ints k, Ints s, Ints pad,
                     Ints dil, bool ceil_mode, bool count_include_pad, int64_t divisor_override) {
  const char* name = op.c_str();
  check_float(name, g_in, "gradient");
  if ((int)x_shape.size() != spatial + 1 && (int)x_shape.size() != spatial + 2)
    fail<ShapeError>(name, "backward: bad input shape ", shape_str(x_shape));
  PoolSpec sp = pool_spec(name, x_shape, spatial, k, s, pad, dil, ceil_mode, is_max);
  Tensor g = grad_like(name, g_in, sp.out_shape, g_in.dtype, g_in);
  Tensor idx;
  if (is_max) {
    if (!idx_in) fail<ShapeError>(name, "backward needs the indices of the forward");
    idx = indices_like(name, *idx_in, sp.out_shape, g);
  }
  Tensor gx = empty(x_shape, g.dtype, g.device());
  if (gx.numel() == 0) return gx;
  const Pool2dParams& p = sp.p;
  py::gil_scoped_release nogil;
  if (is_max)
    DLCORE_ON_DEVICE(g.device(),
                     cpu::max_pool2d_backward(g.dtype, p, g.data(), (const int64_t*)idx.data(),
                                              gx.data()),
                     cuda::max_pool2d_backward(g.dtype, p, g.data(), (const int64_t*)idx.data(),
                                               gx.data(), stream));
  else
    DLCORE_ON_DEVICE(g.device(),
                     cpu::avg_pool2d_backward(g.dtype, p, count_include_pad, divisor_override,
                                              g.data(), gx.data()),
                     cuda::avg_pool2d_backward(g.dtype, p, count_include_pad, divisor_override,
                                               g.data(), gx.data(), stream));
  return gx;
}

// ---- adaptive pooling ------------------------------------------------------------------------

Ints adaptive_out(const char* op, const Ints& x_shape, const Ints& out) {
  if (out.size() != 2)
    fail<ShapeError>(op, "output_size must be an int or a pair, got ", shape_str(out));
  if (out[0] < 1 || out[1] < 1)
    fail<ShapeError>(op, "output_size must be >= 1 in every dim, got ", shape_str(out),
                     " for input of shape ", shape_str(x_shape));
  return with_spatial(x_shape, 2, out);
}

py::tuple adaptive_forward(const Tensor& x_in, const std::string& op, bool is_max, Ints out) {
  const char* name = op.c_str();
  check_float(name, x_in, "input");
  check_rank(name, x_in, 2);
  Ints oshape = adaptive_out(name, x_in.sizes, out);
  Tensor x = contiguous(x_in);
  Tensor y = empty(oshape, x.dtype, x.device());
  std::optional<Tensor> idx;
  if (is_max) idx = empty(oshape, DType::Int64, x.device());
  const int64_t planes = planes_of(x, 2), H = x.sizes[x.dim() - 2], W = x.sizes.back();
  if (y.numel() > 0) {
    int64_t* ip = idx ? (int64_t*)idx->data() : nullptr;
    py::gil_scoped_release nogil;
    if (is_max)
      DLCORE_ON_DEVICE(x.device(),
                       cpu::adaptive_max_pool2d_forward(x.dtype, planes, H, W, out[0], out[1],
                                                        x.data(), y.data(), ip),
                       cuda::adaptive_max_pool2d_forward(x.dtype, planes, H, W, out[0], out[1],
                                                         x.data(), y.data(), ip, stream));
    else
      DLCORE_ON_DEVICE(x.device(),
                       cpu::adaptive_avg_pool2d_forward(x.dtype, planes, H, W, out[0], out[1],
                                                        x.data(), y.data()),
                       cuda::adaptive_avg_pool2d_forward(x.dtype, planes, H, W, out[0], out[1],
                                                         x.data(), y.data(), stream));
  }
  if (idx) return py::make_tuple(y, *idx);
  return py::make_tuple(y, py::none());
}

Tensor adaptive_backward(const Tensor& g_in, std::optional<Tensor> idx_in, const Ints& x_shape,
                         const std::string& op, bool is_max) {
  const char* name = op.c_str();
  check_float(name, g_in, "gradient");
  if (x_shape.size() != 3 && x_shape.size() != 4)
    fail<ShapeError>(name, "backward: bad input shape ", shape_str(x_shape));
  const Ints out(g_in.sizes.end() - std::min<size_t>(2, g_in.sizes.size()), g_in.sizes.end());
  Ints oshape = adaptive_out(name, x_shape, out);
  Tensor g = grad_like(name, g_in, oshape, g_in.dtype, g_in);
  Tensor gx = empty(x_shape, g.dtype, g.device());
  if (gx.numel() == 0) return gx;
  const int64_t H = x_shape[x_shape.size() - 2], W = x_shape.back();
  const int64_t planes = gx.numel() / (H * W);
  if (is_max) {
    if (!idx_in) fail<ShapeError>(name, "backward needs the indices of the forward");
    Tensor idx = indices_like(name, *idx_in, oshape, g);
    py::gil_scoped_release nogil;
    DLCORE_ON_DEVICE(g.device(),
                     cpu::max_pool_backward(g.dtype, planes, H * W, out[0] * out[1], g.data(),
                                            (const int64_t*)idx.data(), gx.data()),
                     cuda::max_pool_backward(g.dtype, planes, H * W, out[0] * out[1], g.data(),
                                             (const int64_t*)idx.data(), gx.data(), stream));
    return gx;
  }
  py::gil_scoped_release nogil;
  DLCORE_ON_DEVICE(g.device(),
                   cpu::adaptive_avg_pool2d_backward(g.dtype, planes, H, W, out[0], out[1],
                                                     g.data(), gx.data()),
                   cuda::adaptive_avg_pool2d_backward(g.dtype, planes, H, W, out[0], out[1],
                                                      g.data(), gx.data(), stream));
  return gx;
}

// ---- max_unpool ------------------------------------------------------------------------------

Tensor unpool_forward(const Tensor& x_in, const Tensor& idx_in, Ints out,
                      const std::string& op) {
  const char* name = op.c_str();
  check_float(name, x_in, "input");
  check_rank(name, x_in, 2);
  Tensor idx = indices_like(name, idx_in, x_in.sizes, x_in);
  Ints oshape = adaptive_out(name, x_in.sizes, out);
  Tensor x = contiguous(x_in);
  Tensor y = empty(oshape, x.dtype, x.device());
  const int64_t planes = planes_of(x, 2), ip = x.sizes[x.dim() - 2] * x.sizes.back();
  const int64_t op_ = out[0] * out[1];
  if (y.numel() == 0) return y;
  int64_t bad = -1;
  {
    py::gil_scoped_release nogil;
    DLCORE_ON_DEVICE(x.device(),
                     bad = cpu::max_unpool_forward(x.dtype, planes, ip, op_, x.data(),
                                                   (const int64_t*)idx.data(), y.data()),
                     bad = cuda::max_unpool_forward(x.dtype, planes, ip, op_, x.data(),
                                                    (const int64_t*)idx.data(), y.data(), stream));
  }
  if (bad >= 0) {
    int64_t value = 0;
    const int64_t* p = (const int64_t*)idx.data() + bad;
    if (x.device().is_cuda())
      cudart::memcpy(&value, p, sizeof(int64_t), cudart::CopyKind::DeviceToHost, x.device().index);
    else
      value = *p;
    fail<ShapeError>(name, "found an invalid max index ", value, " (at flat position ", bad,
                     " of indices ", shape_str(idx.sizes), "): expected indices in [0, ", op_,
                     ") for output planes of shape ", shape_str(out));
  }
  return y;
}

Tensor unpool_backward(const Tensor& g_in, const Tensor& idx_in, const std::string& op) {
  const char* name = op.c_str();
  check_float(name, g_in, "gradient");
  check_rank(name, g_in, 2);
  check_same_device(name, g_in, idx_in);
  if (idx_in.dtype != DType::Int64 || idx_in.dim() != g_in.dim() ||
      planes_of(idx_in, 2) != planes_of(g_in, 2))
    fail<ShapeError>(name, "backward: indices ", shape_str(idx_in.sizes), " ",
                     dtype_name(idx_in.dtype), " do not fit the gradient ", shape_str(g_in.sizes));
  Tensor g = contiguous(g_in), idx = contiguous(idx_in);
  Tensor gx = empty(idx.sizes, g.dtype, g.device());
  if (gx.numel() == 0) return gx;
  const int64_t planes = planes_of(g, 2);
  const int64_t ip = idx.sizes[idx.dim() - 2] * idx.sizes.back();
  const int64_t op_ = g.sizes[g.dim() - 2] * g.sizes.back();
  py::gil_scoped_release nogil;
  DLCORE_ON_DEVICE(g.device(),
                   cpu::max_unpool_backward(g.dtype, planes, ip, op_, g.data(),
                                            (const int64_t*)idx.data(), gx.data()),
                   cuda::max_unpool_backward(g.dtype, planes, ip, op_, g.data(),
                                             (const int64_t*)idx.data(), gx.data(), stream));
  return gx;
}

// ---- interpolate -----------------------------------------------------------------------------
// mode 0 nearest, 1 nearest-exact, 2 (bi)linear; x is (N, C, L) with out = [L'] or
// (N, C, H, W) with out = [H', W']; scales: the caller's scale factors or 0.

struct UpsampleGeom {
  int64_t planes, H, W, OH, OW;
  double sh, sw;
  Ints out_shape;
};

UpsampleGeom upsample_geom(const char* op, const Ints& x_shape, const Ints& out, double sh,
                           double sw) {
  const int nd = (int)x_shape.size();
  if ((nd != 3 && nd != 4) || (int)out.size() != nd - 2)
    fail<ShapeError>(op, "expected a 3-D (N, C, L) input with one output size or a 4-D (N, C, H, "
                     "W) input with two, got input shape ", shape_str(x_shape), " and size ",
                     shape_str(out));
  for (int d = 1; d < nd; ++d)
    if (x_shape[d] < 1)
      fail<ShapeError>(op, "input sizes should be greater than 0 (except the batch), got input "
                       "shape ", shape_str(x_shape));
  for (int64_t o : out)
    if (o < 1)
      fail<ShapeError>(op, "output sizes should be greater than 0, got ", shape_str(out),
                       " for input of shape ", shape_str(x_shape));
  UpsampleGeom g;
  g.planes = x_shape[0] * x_shape[1];
  g.H = nd == 4 ? x_shape[2] : 1;
  g.W = x_shape.back();
  g.OH = nd == 4 ? out[0] : 1;
  g.OW = out.back();
  g.sh = nd == 4 ? sh : 0.0;
  g.sw = sw;
  g.out_shape = with_spatial(x_shape, nd - 2, out);
  return g;
}

Tensor upsample_forward(const Tensor& x_in, int mode, Ints out, bool align_corners, double sh,
                        double sw, const std::string& op) {
  const char* name = op.c_str();
  check_float(name, x_in, "input");
  if (mode < 0 || mode > 2) fail<ShapeError>(name, "unknown interpolation mode code ", mode);
  UpsampleGeom g = upsample_geom(name, x_in.sizes, out, sh, sw);
  Tensor x = contiguous(x_in);
  Tensor y = empty(g.out_shape, x.dtype, x.device());
  if (y.numel() == 0) return y;
  py::gil_scoped_release nogil;
  if (mode == 2)
    DLCORE_ON_DEVICE(x.device(),
                     cpu::upsample_bilinear2d_forward(x.dtype, g.planes, g.H, g.W, g.OH, g.OW,
                                                      align_corners, g.sh, g.sw, x.data(),
                                                      y.data()),
                     cuda::upsample_bilinear2d_forward(x.dtype, g.planes, g.H, g.W, g.OH, g.OW,
                                                       align_corners, g.sh, g.sw, x.data(),
                                                       y.data(), stream));
  else
    DLCORE_ON_DEVICE(x.device(),
                     cpu::upsample_nearest2d_forward(x.dtype, g.planes, g.H, g.W, g.OH, g.OW,
                                                     g.sh, g.sw, mode == 1, x.data(), y.data()),
                     cuda::upsample_nearest2d_forward(x.dtype, g.planes, g.H, g.W, g.OH, g.OW,
                                                      g.sh, g.sw, mode == 1, x.data(), y.data(),
                                                      stream));
  return y;
}

Tensor upsample_backward(const Tensor& g_in, const Ints& x_shape, int mode, bool align_corners,
                         double sh, double sw, const std::string& op) {
  const char* name = op.c_str();
  check_float(name, g_in, "gradient");
  const Ints out(g_in.sizes.begin() + std::min<size_t>(2, g_in.sizes.size()), g_in.sizes.end());
  UpsampleGeom u = upsample_geom(name, x_shape, out, sh, sw);
  Tensor g = grad_like(name, g_in, u.out_shape, g_in.dtype, g_in);
  Tensor gx = empty(x_shape, g.dtype, g.device());
  if (gx.numel() == 0) return gx;
  py::gil_scoped_release nogil;
  if (mode == 2)
    DLCORE_ON_DEVICE(g.device(),
                     cpu::upsample_bilinear2d_backward(g.dtype, u.planes, u.H, u.W, u.OH, u.OW,
                                                       align_corners, u.sh, u.sw, g.data(),
                                                       gx.data()),
                     cuda::upsample_bilinear2d_backward(g.dtype, u.planes, u.H, u.W, u.OH, u.OW,
                                                        align_corners, u.sh, u.sw, g.data(),
                                                        gx.data(), stream));
  else
    DLCORE_ON_DEVICE(g.device(),
                     cpu::upsample_nearest2d_backward(g.dtype, u.planes, u.H, u.W, u.OH, u.OW,
                                                      u.sh, u.sw, mode == 1, g.data(), gx.data()),
                     cuda::upsample_nearest2d_backward(g.dtype, u.planes, u.H, u.W, u.OH, u.OW,
                                                       u.sh, u.sw, mode == 1, g.data(),
                                                       gx.data(), stream));
  return gx;
}

}  // namespace

void register_pool(py::module_& m) {
  m.def("pool_forward", &pool_forward, py::arg("x"), py::arg("op"), py::arg("is_max"),
        py::arg("spatial"), py::arg("kernel_size"), py::arg("stride"), py::arg("padding"),
        py::arg("dilation"), py::arg("ceil_mode"), py::arg("count_include_pad"),
        py::arg("divisor_override"), py::arg("with_indices"));
  m.def("pool_backward", &pool_backward, py::arg("grad"), py::arg("indices"), py::arg("x_shape"),
        py::arg("op"), py::arg("is_max"), py::arg("spatial"), py::arg("kernel_size"),
        py::arg("stride"), py::arg("padding"), py::arg("dilation"), py::arg("ceil_mode"),
        py::arg("count_include_pad"), py::arg("divisor_override"));
  m.def("adaptive_pool_forward", &adaptive_forward, py::arg("x"), py::arg("op"),
        py::arg("is_max"), py::arg("output_size"));
  m.def("adaptive_pool_backward", &adaptive_backward, py::arg("grad"), py::arg("indices"),
        py::arg("x_shape"), py::arg("op"), py::arg("is_max"));
  m.def("max_unpool_forward", &unpool_forward, py::arg("x"), py::arg("indices"),
        py::arg("output_size"), py::arg("op"));
  m.def("max_unpool_backward", &unpool_backward, py::arg("grad"), py::arg("indices"),
        py::arg("op"));
  m.def("upsample_forward", &upsample_forward, py::arg("x"), py::arg("mode"),
        py::arg("output_size"), py::arg("align_corners"), py::arg("scale_h"), py::arg("scale_w"),
        py::arg("op"));
  m.def("upsample_backward", &upsample_backward, py::arg("grad"), py::arg("x_shape"),
        py::arg("mode"), py::arg("align_corners"), py::arg("scale_h"), py::arg("scale_w"),
        py::arg("op"));
}

}  // namespace dlcore
