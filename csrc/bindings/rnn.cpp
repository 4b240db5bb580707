// rnn.cpp (bindings) — the recurrent layer-direction kernels behind dlcore.nn.LSTM / GRU / RNN
// and their cells: validate shapes, dtypes and devices, allocate the state and the saved
// workspace, release the GIL and dispatch to cpu:: or cuda::. The Python side (nn/rnn.py) has
// already turned a padded, batch_first or packed input into the packed form the kernels take:
// x [R, I] with a host list batch_sizes (step t owns batch_sizes[t] rows).
#include <optional>

#include "common.h"

namespace dlcore {
namespace {

enum Cell { kLSTM = 0, kGRU = 1, kRNNTanh = 2, kRNNRelu = 3 };

const char* cell_name(int cell) {
  static const char* names[] = {"lstm", "gru", "rnn_tanh", "rnn_relu"};
  return (cell >= 0 && cell < 4) ? names[cell] : "rnn";
}
int64_t gates_of(int cell) { return cell == kLSTM ? 4 : cell == kGRU ? 3 : 1; }

void expect_shape(const char* op, const Tensor& t, const std::vector<int64_t>& shape,
                  const char* what) {
  if (t.sizes != shape)
    fail<ShapeError>(op, what, " has shape ", shape_str(t.sizes), ", expected ", shape_str(shape));
}

void expect_like(const char* op, const Tensor& t, const Tensor& ref, const char* what) {
  if (t.device() != ref.device())
    fail<DeviceError>(op, what, " is on ", t.device().str(), ", expected ", ref.device().str());
  if (t.dtype != ref.dtype)
    fail<DTypeError>(op, what, " has dtype ", dtype_name(t.dtype), ", expected ",
                     dtype_name(ref.dtype));
}

// A fresh contiguous copy (the kernels update the state in place; h0 must stay untouched).
Tensor clone(const Tensor& t) {
  Tensor out = empty(t.sizes, t.dtype, t.device());
  if (t.numel()) copy_into(out, t, "rnn");
  return out;
}

Tensor zeros_like_shape(const std::vector<int64_t>& shape, const Tensor& ref) {
  Tensor out = empty(shape, ref.dtype, ref.device());
  const int64_t n = out.numel();
  if (n) {
    DLCORE_ON_DEVICE(out.device(), cpu::fill(out.dtype, out.data(), n, 0.0),
                     cuda::fill(out.dtype, out.data(), n, 0.0, stream));
  }
  return out;
}

// A [R, H] row block with unit column stride (a column slice of a bidirectional output).
void check_rows_view(const char* op, const Tensor& t, int64_t R, int64_t H, const char* what) {
  expect_shape(op, t, {R, H}, what);
  if (R > 0 && H > 0 && (t.strides[1] != 1 || (R > 1 && t.strides[0] < H)))
    fail<ShapeError>(op, what, " must have unit column stride and row stride >= ", H,
                     ", got strides ", shape_str(t.strides));
}

struct Sizes {
  int64_t T, N, I, H, R, G;
};

// Everything the forward and backward share: the packed layout and the weights.
Sizes check_layer(const char* op, int cell, const Tensor& x, const Tensor& w_ih,
                  const Tensor& w_hh, const std::vector<int64_t>& batch_sizes, int64_t N) {
  if (!is_floating(x.dtype))
    fail<DTypeError>(op, "expected a float32 or float64 input, got ", dtype_name(x.dtype));
  if (x.dim() != 2) fail<ShapeError>(op, "expected a packed input [R, I], got ", shape_str(x.sizes));
  expect_like(op, w_ih, x, "weight_ih");
  expect_like(op, w_hh, x, "weight_hh");
  Sizes s;
  s.G = gates_of(cell);
  if (w_hh.dim() != 2 || w_hh.sizes[0] % s.G != 0 || w_hh.sizes[0] != s.G * w_hh.sizes[1])
    fail<ShapeError>(op, "weight_hh has shape ", shape_str(w_hh.sizes), ", expected (", s.G,
                     "*hidden_size, hidden_size)");
  s.H = w_hh.sizes[1];
  s.I = x.sizes[1];
  expect_shape(op, w_ih, {s.G * s.H, s.I}, "weight_ih");
  s.T = (int64_t)batch_sizes.size();
  s.N = N;
  int64_t R = 0, prev = N;
  for (int64_t b : batch_sizes) {
    if (b < 0 || b > prev)
      fail<ShapeError>(op, "batch_sizes must be non-increasing and at most the batch size ", N,
                       ", got ", shape_str(batch_sizes));
    prev = b;
    R += b;
  }
  if (R != x.sizes[0])
    fail<ShapeError>(op, "batch_sizes sum to ", R, " but the packed input has ", x.sizes[0],
                     " rows");
  s.R = R;
  return s;
}

std::optional<Tensor> check_bias(const char* op, const std::optional<Tensor>& b, const Tensor& x,
                                 int64_t n, const char* what) {
  if (!b) return std::nullopt;
  expect_like(op, *b, x, what);
  expect_shape(op, *b, {n}, what);
  return contiguous(*b);
}

const void* ptr(const std::optional<Tensor>& t) { return t ? t->data() : nullptr; }

// batch_first: the rows of x / y / dy / dx in batch-major order (row b*T + t). The CPU LSTM
// reads them so (no transposing copies); not for packed sequences, other cells or CUDA.
void check_batch_first(const char* op, int cell, const Tensor& x,
                       const std::vector<int64_t>& batch_sizes, int64_t N) {
  if (cell != kLSTM) fail<ShapeError>(op, "batch_first rows are implemented for the LSTM only");
  if (x.device().is_cuda())
    fail<DeviceError>(op, "batch_first rows are implemented on the CPU only");
  for (int64_t b : batch_sizes)
    if (b != N)
      fail<ShapeError>(op, "batch_first rows need equal batch sizes (no packed sequence)");
}

// ---- forward --------------------------------------------------------------------------------
// Returns (h_n, c_n or None, saved...) and writes y (allocated here when not given).
py::tuple rnn_forward(int cell, const Tensor& x_in, const Tensor& h0, std::optional<Tensor> c0,
                      const Tensor& w_ih_in, const Tensor& w_hh_in, std::optional<Tensor> b_ih_in,
                      std::optional<Tensor> b_hh_in, const std::vector<int64_t>& batch_sizes,
                      bool reverse, std::optional<Tensor> y_in, bool save, bool batch_first) {
  const char* op = cell_name(cell);
  if (cell < 0 || cell > 3) fail<ShapeError>("rnn", "unknown cell code ", cell);
  if (h0.dim() != 2) fail<ShapeError>(op, "expected a hidden state [N, H], got ", shape_str(h0.sizes));
  const Sizes s = check_layer(op, cell, x_in, w_ih_in, w_hh_in, batch_sizes, h0.sizes[0]);
  expect_like(op, h0, x_in, "hx");
  expect_shape(op, h0, {s.N, s.H}, "hx");
  if ((cell == kLSTM) != bool(c0))
    fail<ShapeError>(op, cell == kLSTM ? "needs a cell state" : "takes no cell state");
  if (c0) {
    expect_like(op, *c0, x_in, "cx");
    expect_shape(op, *c0, {s.N, s.H}, "cx");
  }
  if (batch_first) check_batch_first(op, cell, x_in, batch_sizes, s.N);
  auto b_ih = check_bias(op, b_ih_in, x_in, s.G * s.H, "bias_ih");
  auto b_hh = check_bias(op, b_hh_in, x_in, s.G * s.H, "bias_hh");
  Tensor x = contiguous(x_in), w_ih = contiguous(w_ih_in), w_hh = contiguous(w_hh_in);
  const Device dev = x.device();
  Tensor y;
  if (y_in) {
    expect_like(op, *y_in, x, "output");
    check_rows_view(op, *y_in, s.R, s.H, "output");
    y = *y_in;
  } else {
    y = empty({s.R, s.H}, x.dtype, dev);
  }
  const int64_t ys = s.R > 1 ? y.strides[0] : s.H;
  Tensor h = clone(h0);
  const DType dt = x.dtype;
  const int64_t T = s.T, N = s.N, I = s.I, H = s.H, R = s.R;
  const int64_t* bs = batch_sizes.data();
  const void *bi = ptr(b_ih), *bh = ptr(b_hh);
  // Scratch for the CPU's row-major copy of W_hh^T (see cpu::lstm_forward); CUDA needs none.
  Tensor whh_t = dev.is_cuda() ? Tensor() : empty({H, s.G * H}, dt, dev);
  void* wt = dev.is_cuda() ? nullptr : whh_t.data();
  // Blocks only the backward reads: not allocated (null to the kernel) when save is false.
  auto saved_block = [&]() { return save ? empty({R, H}, dt, dev) : Tensor(); };
  auto p = [&](const Tensor& t) -> void* { return save ? t.data() : nullptr; };
  if (cell == kLSTM) {
    Tensor c = clone(*c0);
    Tensor gates = empty({R, 4 * H}, dt, dev), hprev = saved_block(), cprev = saved_block(),
           tanhc = saved_block(), bsum = empty({4 * H}, dt, dev);
    {
      py::gil_scoped_release nogil;
      DLCORE_ON_DEVICE(dev,
          cpu::lstm_forward(dt, T, bs, N, I, H, x.data(), w_ih.data(), w_hh.data(), bi, bh,
                            h.data(), c.data(), y.data(), ys, reverse, gates.data(),
                            p(hprev), p(cprev), p(tanhc), bsum.data(), wt, batch_first),
          cuda::lstm_forward(dt, T, bs, N, I, H, x.data(), w_ih.data(), w_hh.data(), bi, bh,
                             h.data(), c.data(), y.data(), ys, reverse, gates.data(),
                             p(hprev), p(cprev), p(tanhc), bsum.data(), wt, stream));
    }
    if (!save) return py::make_tuple(y, h, c, py::tuple());
    return py::make_tuple(y, h, c, py::make_tuple(gates, hprev, cprev, tanhc));
  }
  if (cell == kGRU) {
    Tensor gates = empty({R, 3 * H}, dt, dev), hn = saved_block(), hprev = saved_block(),
           scratch = empty({N, 3 * H}, dt, dev);
    {
      py::gil_scoped_release nogil;
      DLCORE_ON_DEVICE(dev,
          cpu::gru_forward(dt, T, bs, N, I, H, x.data(), w_ih.data(), w_hh.data(), bi, bh,
                           h.data(), y.data(), ys, reverse, gates.data(), p(hn), p(hprev),
                           scratch.data(), wt),
          cuda::gru_forward(dt, T, bs, N, I, H, x.data(), w_ih.data(), w_hh.data(), bi, bh,
                            h.data(), y.data(), ys, reverse, gates.data(), p(hn), p(hprev),
                            scratch.data(), wt, stream));
    }
    if (!save) return py::make_tuple(y, h, py::none(), py::tuple());
    return py::make_tuple(y, h, py::none(), py::make_tuple(gates, hn, hprev));
  }
  const bool relu = cell == kRNNRelu;
  Tensor gates = empty({R, H}, dt, dev), hprev = saved_block(), bsum = empty({H}, dt, dev);
  {
    py::gil_scoped_release nogil;
    DLCORE_ON_DEVICE(dev,
        cpu::rnn_forward(dt, relu, T, bs, N, I, H, x.data(), w_ih.data(), w_hh.data(), bi, bh,
                         h.data(), y.data(), ys, reverse, gates.data(), p(hprev),
                         bsum.data(), wt),
        cuda::rnn_forward(dt, relu, T, bs, N, I, H, x.data(), w_ih.data(), w_hh.data(), bi, bh,
                          h.data(), y.data(), ys, reverse, gates.data(), p(hprev),
                          bsum.data(), wt, stream));
  }
  if (!save) return py::make_tuple(y, h, py::none(), py::tuple());
  return py::make_tuple(y, h, py::none(), py::make_tuple(gates, hprev));
}

// ---- backward -------------------------------------------------------------------------------
// Returns (dh0, dc0 or None, dw_ih, dw_hh, db_ih or None, db_hh or None). dx (when given) is
// written (dx_beta = 0) or accumulated into (dx_beta = 1).
py::tuple rnn_backward(int cell, const Tensor& x_in, const Tensor& w_ih_in, const Tensor& w_hh_in,
                       bool has_bias, const std::vector<int64_t>& batch_sizes, int64_t N,
                       bool reverse, const std::vector<Tensor>& saved_in,
                       std::optional<Tensor> dy_in, std::optional<Tensor> dhn,
                       std::optional<Tensor> dcn, std::optional<Tensor> dx, double dx_beta,
                       bool batch_first) {
  const char* op = cell_name(cell);
  if (cell < 0 || cell > 3) fail<ShapeError>("rnn", "unknown cell code ", cell);
  const Sizes s = check_layer(op, cell, x_in, w_ih_in, w_hh_in, batch_sizes, N);
  const int64_t T = s.T, I = s.I, H = s.H, R = s.R, G = s.G;
  if (batch_first) check_batch_first(op, cell, x_in, batch_sizes, N);
  const size_t n_saved = cell == kLSTM ? 4 : cell == kGRU ? 3 : 2;
  if (saved_in.size() != n_saved) fail<ShapeError>(op, "expected ", n_saved, " saved tensors");
  std::vector<Tensor> saved;
  for (const Tensor& t : saved_in) {
    expect_like(op, t, x_in, "saved tensor");
    if (t.dim() != 2 || t.sizes[0] != R) fail<ShapeError>(op, "saved tensor of shape ", shape_str(t.sizes));
    saved.push_back(contiguous(t));
  }
  Tensor x = contiguous(x_in), w_ih = contiguous(w_ih_in), w_hh = contiguous(w_hh_in);
  const Device dev = x.device();
  const DType dt = x.dtype;
  Tensor dy;
  if (dy_in) {
    expect_like(op, *dy_in, x, "output gradient");
    expect_shape(op, *dy_in, {R, H}, "output gradient");
    dy = (R > 1 && H > 0 && (dy_in->strides[1] != 1 || dy_in->strides[0] < H)) ? contiguous(*dy_in)
                                                                               : *dy_in;
  }
  const int64_t dys = dy_in ? (R > 1 ? dy.strides[0] : H) : H;
  auto state_grad = [&](const std::optional<Tensor>& g, const char* what) {
    if (!g) return zeros_like_shape({N, H}, x);
    expect_like(op, *g, x, what);
    expect_shape(op, *g, {N, H}, what);
    return clone(*g);
  };
  Tensor dh = state_grad(dhn, "h_n gradient");
  if (dx) {
    expect_like(op, *dx, x, "input gradient");
    expect_shape(op, *dx, {R, I}, "input gradient");
    if (!dx->is_contiguous()) fail<ShapeError>(op, "the input gradient buffer must be contiguous");
  }
  void* dxp = dx ? dx->data() : nullptr;
  const void* dyp = dy_in ? dy.data() : nullptr;
  const int64_t* bs = batch_sizes.data();
  Tensor dw_ih = empty({G * H, I}, dt, dev), dw_hh = empty({G * H, H}, dt, dev);
  if (cell == kLSTM) {
    Tensor dc = state_grad(dcn, "c_n gradient");
    Tensor dgates = empty({R, G * H}, dt, dev), db = empty({G * H}, dt, dev);
    {
      py::gil_scoped_release nogil;
      DLCORE_ON_DEVICE(dev,
          cpu::lstm_backward(dt, T, bs, N, I, H, x.data(), w_ih.data(), w_hh.data(),
                             saved[0].data(), saved[1].data(), saved[2].data(), saved[3].data(),
                             dyp, dys, dh.data(), dc.data(), reverse, dgates.data(), dxp,
                             dx_beta, dw_ih.data(), dw_hh.data(), db.data(), batch_first),
          cuda::lstm_backward(dt, T, bs, N, I, H, x.data(), w_ih.data(), w_hh.data(),
                              saved[0].data(), saved[1].data(), saved[2].data(), saved[3].data(),
                              dyp, dys, dh.data(), dc.data(), reverse, dgates.data(), dxp,
                              dx_beta, dw_ih.data(), dw_hh.data(), db.data(), stream));
    }
    py::object dbo = has_bias ? py::object(py::cast(db)) : py::none();
    return py::make_tuple(dh, dc, dw_ih, dw_hh, dbo, dbo);
  }
  if (cell == kGRU) {
    Tensor dgx = empty({R, G * H}, dt, dev), dgh = empty({R, G * H}, dt, dev),
           db_ih = empty({G * H}, dt, dev), db_hh = empty({G * H}, dt, dev);
    {
      py::gil_scoped_release nogil;
      DLCORE_ON_DEVICE(dev,
          cpu::gru_backward(dt, T, bs, N, I, H, x.data(), w_ih.data(), w_hh.data(),
                            saved[0].data(), saved[1].data(), saved[2].data(), dyp, dys,
                            dh.data(), reverse, dgx.data(), dgh.data(), dxp, dx_beta,
                            dw_ih.data(), dw_hh.data(), db_ih.data(), db_hh.data()),
          cuda::gru_backward(dt, T, bs, N, I, H, x.data(), w_ih.data(), w_hh.data(),
                             saved[0].data(), saved[1].data(), saved[2].data(), dyp, dys,
                             dh.data(), reverse, dgx.data(), dgh.data(), dxp, dx_beta,
                             dw_ih.data(), dw_hh.data(), db_ih.data(), db_hh.data(), stream));
    }
    if (!has_bias) return py::make_tuple(dh, py::none(), dw_ih, dw_hh, py::none(), py::none());
    return py::make_tuple(dh, py::none(), dw_ih, dw_hh, db_ih, db_hh);
  }
  const bool relu = cell == kRNNRelu;
  Tensor dgates = empty({R, H}, dt, dev), db = empty({H}, dt, dev);
  {
    py::gil_scoped_release nogil;
    DLCORE_ON_DEVICE(dev,
        cpu::rnn_backward(dt, relu, T, bs, N, I, H, x.data(), w_ih.data(), w_hh.data(),
                          saved[0].data(), saved[1].data(), dyp, dys, dh.data(), reverse,
                          dgates.data(), dxp, dx_beta, dw_ih.data(), dw_hh.data(), db.data()),
        cuda::rnn_backward(dt, relu, T, bs, N, I, H, x.data(), w_ih.data(), w_hh.data(),
                           saved[0].data(), saved[1].data(), dyp, dys, dh.data(), reverse,
                           dgates.data(), dxp, dx_beta, dw_ih.data(), dw_hh.data(), db.data(),
                           stream));
  }
  py::object dbo = has_bias ? py::object(py::cast(db)) : py::none();
  return py::make_tuple(dh, py::none(), dw_ih, dw_hh, dbo, dbo);
}

}  // namespace

void register_rnn(py::module_& m) {
  m.def("rnn_forward", &rnn_forward, py::arg("cell"), py::arg("x"), py::arg("h0"),
        py::arg("c0"), py::arg("w_ih"), py::arg("w_hh"), py::arg("b_ih"), py::arg("b_hh"),
        py::arg("batch_sizes"), py::arg("reverse"), py::arg("y") = py::none(),
        py::arg("save") = true, py::arg("batch_first") = false,
        "One recurrent layer-direction over a packed sequence (cell: 0 lstm, 1 gru, 2 rnn_tanh, "
        "3 rnn_relu). Returns (y, h_n, c_n or None, saved tensors for rnn_backward; empty when "
        "save is false, for inference). batch_first (CPU LSTM, equal batch sizes): the rows of "
        "x and y are batch-major (row b*T + t).");
  m.def("rnn_backward", &rnn_backward, py::arg("cell"), py::arg("x"), py::arg("w_ih"),
        py::arg("w_hh"), py::arg("has_bias"), py::arg("batch_sizes"), py::arg("N"),
        py::arg("reverse"), py::arg("saved"), py::arg("dy"), py::arg("dh_n"), py::arg("dc_n"),
        py::arg("dx"), py::arg("dx_beta"), py::arg("batch_first") = false,
        "Backward of rnn_forward. Returns (dh0, dc0 or None, dw_ih, dw_hh, db_ih, db_hh); "
        "writes (dx_beta=0) or accumulates (dx_beta=1) the input gradient into dx. batch_first: "
        "x, dy and dx rows batch-major, as in rnn_forward.");
}

}  // namespace dlcore
