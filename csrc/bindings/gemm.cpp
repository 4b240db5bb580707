// gemm.cpp (bindings) — matmul with torch.matmul semantics, and the internal fused entry
// point (alpha, beta, bias, activation) that Linear, convolution and LSTM gates call.
//
// Operands go to the kernel as (pointer, row stride, col stride): a transposed or sliced view
// is consumed in place; only a batch layout that cannot be described by one batch stride per
// operand is walked here, one GEMM per outer batch index.
#include <optional>

#include "common.h"

namespace dlcore {
namespace {

void check_operands(const char* op, const Tensor& a, const Tensor& b) {
  check_same_device(op, a, b);
  if (!is_floating(a.dtype) || !is_floating(b.dtype))
    fail<DTypeError>(op, "expected float32 or float64 operands, got ", dtype_name(a.dtype), " and ",
                     dtype_name(b.dtype));
  if (a.dtype != b.dtype)
    fail<DTypeError>(op, "operands have different dtypes ", dtype_name(a.dtype), " and ",
                     dtype_name(b.dtype), " (shapes ", shape_str(a.sizes), " and ", shape_str(b.sizes), ")");
}

void run_gemm(GemmParams p, Device dev) {
  py::gil_scoped_release nogil;
  DLCORE_ON_DEVICE(dev, cpu::gemm(p), cuda::gemm(p, stream));
}

// The common case, (M,K) @ (K,N), without the batch machinery: small products are dominated
// by per-call overhead, so this path allocates nothing but the output.
Tensor matmul_2d(const Tensor& a, const Tensor& b, bool allow_tf32) {
  const int64_t M = a.sizes[0], K = a.sizes[1], N = b.sizes[1];
  if (K != b.sizes[0])
    fail<ShapeError>("matmul", "shapes ", shape_str(a.sizes), " and ", shape_str(b.sizes),
                     " cannot be multiplied (", K, " != ", b.sizes[0], ")");
  Tensor c = empty({M, N}, a.dtype, a.device());
  if (M == 0 || N == 0) return c;
  GemmParams p;
  p.dtype = a.dtype;
  p.M = M; p.N = N; p.K = K;
  p.A = a.data(); p.a_row_stride = a.strides[0]; p.a_col_stride = a.strides[1];
  p.B = b.data(); p.b_row_stride = b.strides[0]; p.b_col_stride = b.strides[1];
  p.C = c.data(); p.c_row_stride = N;
  p.allow_tf32 = allow_tf32;
  run_gemm(p, a.device());
  return c;
}

Tensor matmul(const Tensor& a_in, const Tensor& b_in, bool allow_tf32) {
  check_operands("matmul", a_in, b_in);
  if (a_in.dim() == 2 && b_in.dim() == 2) return matmul_2d(a_in, b_in, allow_tf32);
  if (a_in.dim() == 0 || b_in.dim() == 0)
    fail<ShapeError>("matmul", "both arguments need at least 1 dimension, got shapes ",
                     shape_str(a_in.sizes), " and ", shape_str(b_in.sizes));
  // 1-D operands become a row (left) or column (right) vector; that dim is dropped at the end.
  Tensor a = a_in, b = b_in;
  const bool a_vec = a.dim() == 1, b_vec = b.dim() == 1;
  if (a_vec) { a.sizes.insert(a.sizes.begin(), 1); a.strides.insert(a.strides.begin(), 0); }
  if (b_vec) { b.sizes.push_back(1); b.strides.push_back(0); }
  const int64_t M = a.sizes[a.dim() - 2], K = a.sizes[a.dim() - 1];
  const int64_t K2 = b.sizes[b.dim() - 2], N = b.sizes[b.dim() - 1];
  if (K != K2)
    fail<ShapeError>("matmul", "shapes ", shape_str(a_in.sizes), " and ", shape_str(b_in.sizes),
                     " cannot be multiplied (", K, " != ", K2, ")");
  std::vector<int64_t> a_batch(a.sizes.begin(), a.sizes.end() - 2);
  std::vector<int64_t> b_batch(b.sizes.begin(), b.sizes.end() - 2);
  std::vector<int64_t> batch = broadcast_shapes(a_batch, b_batch, "matmul");

  std::vector<int64_t> out_shape = batch;
  out_shape.push_back(M);
  out_shape.push_back(N);
  Tensor c = empty(out_shape, a.dtype, a.device());

  if (c.numel() > 0) {
    // Broadcast batch strides of A and B; C's batch stride is M*N (contiguous).
    Tensor ab = a, bb = b;
    ab.sizes = a_batch; ab.strides.assign(a.strides.begin(), a.strides.end() - 2);
    bb.sizes = b_batch; bb.strides.assign(b.strides.begin(), b.strides.end() - 2);
    std::vector<int64_t> c_strides(c.strides.begin(), c.strides.end() - 2);
    Loop L = make_loop(batch, {c_strides, broadcast_strides(ab, batch, "matmul"),
                               broadcast_strides(bb, batch, "matmul")});
    GemmParams p;
    p.dtype = a.dtype;
    p.M = M; p.N = N; p.K = K;
    p.a_row_stride = a.strides[a.dim() - 2]; p.a_col_stride = a.strides[a.dim() - 1];
    p.b_row_stride = b.strides[b.dim() - 2]; p.b_col_stride = b.strides[b.dim() - 1];
    p.c_row_stride = N;
    p.allow_tf32 = allow_tf32;
    const int64_t es = (int64_t)itemsize(a.dtype);
    // The innermost collapsed batch dim goes to the kernel; outer ones are looped here.
    const int last = L.ndim - 1;
    p.batch = L.ndim ? L.sizes[last] : 1;
    p.c_batch_stride = L.ndim ? L.strides[0][last] : 0;
    p.a_batch_stride = L.ndim ? L.strides[1][last] : 0;
    p.b_batch_stride = L.ndim ? L.strides[2][last] : 0;
    int64_t outer = 1;
    for (int d = 0; d < last; ++d) outer *= L.sizes[d];
    for (int64_t o = 0; o < outer; ++o) {
      int64_t rem = o, off[3] = {0, 0, 0};
      for (int d = last - 1; d >= 0; --d) {
        int64_t i = rem % L.sizes[d];
        rem /= L.sizes[d];
        for (int k = 0; k < 3; ++k) off[k] += i * L.strides[k][d];
      }
      p.C = (char*)c.data() + off[0] * es;
      p.A = (const char*)a.data() + off[1] * es;
      p.B = (const char*)b.data() + off[2] * es;
      run_gemm(p, a.device());
    }
  }
  if (a_vec || b_vec) {
    std::vector<int64_t> shape = batch;
    if (!a_vec) shape.push_back(M);
    if (!b_vec) shape.push_back(N);
    c.sizes = shape;
    c.strides = contiguous_strides(shape);
  }
  return c;
}

// out = act(alpha * a @ b + beta * out + bias) for 2-D a (M,K), b (K,N). Used by layers.
Tensor gemm_ex(const Tensor& a, const Tensor& b, std::optional<Tensor> bias, int act, double alpha,
               double beta, std::optional<Tensor> out, bool bias_per_row, bool allow_tf32) {
  check_operands("gemm", a, b);
  if (a.dim() != 2 || b.dim() != 2 || a.sizes[1] != b.sizes[0])
    fail<ShapeError>("gemm", "expected (M, K) @ (K, N), got ", shape_str(a.sizes), " and ",
                     shape_str(b.sizes));
  const int64_t M = a.sizes[0], K = a.sizes[1], N = b.sizes[1];
  Tensor c;
  if (out) {
    c = *out;
    check_same_device("gemm", a, c);
    if (c.sizes != std::vector<int64_t>{M, N} || c.dtype != a.dtype || (N > 1 && c.strides[1] != 1))
      fail<ShapeError>("gemm", "output must be a (", M, ", ", N, ") ", dtype_name(a.dtype),
                       " tensor with unit column stride, got ", shape_str(c.sizes));
  } else {
    c = empty({M, N}, a.dtype, a.device());
    beta = 0.0;
  }
  GemmParams p;
  p.dtype = a.dtype;
  p.M = M; p.N = N; p.K = K;
  p.A = a.data(); p.a_row_stride = a.strides[0]; p.a_col_stride = a.strides[1];
  p.B = b.data(); p.b_row_stride = b.strides[0]; p.b_col_stride = b.strides[1];
  p.C = c.data(); p.c_row_stride = c.strides[0];
  p.alpha = alpha; p.beta = beta;
  p.act = (Activation)act;
  p.allow_tf32 = allow_tf32;
  Tensor bias_c;
  if (bias) {
    check_same_device("gemm", a, *bias);
    int64_t want = bias_per_row ? M : N;
    if (bias->dtype != a.dtype || bias->numel() != want || bias->dim() != 1)
      fail<ShapeError>("gemm", "bias must be a 1-D ", dtype_name(a.dtype), " tensor of ", want,
                       " elements, got shape ", shape_str(bias->sizes));
    bias_c = contiguous(*bias);
    p.bias = bias_c.data();
    p.bias_per_row = bias_per_row;
  }
  if (M > 0 && N > 0) run_gemm(p, a.device());
  return c;
}

}  // namespace

void register_gemm(py::module_& m) {
  m.def("matmul", &matmul, py::arg("a"), py::arg("b"), py::arg("allow_tf32") = false);
  m.def("gemm", &gemm_ex, py::arg("a"), py::arg("b"), py::arg("bias") = py::none(), py::arg("act") = 0,
        py::arg("alpha") = 1.0, py::arg("beta") = 0.0, py::arg("out") = py::none(),
        py::arg("bias_per_row") = false, py::arg("allow_tf32") = false);
  // The CPU GEMM's register tile and cache blocks on the current path (float64 if `double`).
  m.def("gemm_blocking", [](bool double_precision) {
    const cpu::GemmBlocking b = cpu::gemm_blocking(double_precision ? DType::Float64 : DType::Float32);
    py::dict d;
    d["MR"] = b.MR; d["NR"] = b.NR; d["MC"] = b.MC; d["KC"] = b.KC; d["NC"] = b.NC;
    return d;
  }, py::arg("double_precision") = false);
  m.def("cpu_cache_sizes", [] {
    const cpu::CacheSizes& c = cpu::cache_sizes();
    py::dict d;
    d["l1d"] = c.l1d; d["l2"] = c.l2; d["l3"] = c.l3;
    return d;
  });
}

}  // namespace dlcore
