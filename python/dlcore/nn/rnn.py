"""Recurrent layers: RNN, LSTM, GRU and their single-step cells, as torch.nn.

    lstm = nn.LSTM(input_size=128, hidden_size=256, num_layers=2, batch_first=True)
    output, (h_n, c_n) = lstm(x)                # x (N, T, 128) -> output (N, T, 256)

Shapes, parameter names (``weight_ih_l0``, ``bias_hh_l1_reverse``, ...), gate order (LSTM
i, f, g, o; GRU r, z, n), default initialisation U(-1/sqrt(H), 1/sqrt(H)) and return values are
torch's, so a torch model's ``state_dict`` loads and reproduces its outputs and gradients.
Inputs may be padded (T, N, I) / (N, T, I) with ``batch_first``, unbatched (T, I), or a
:class:`~dlcore.nn.utils.rnn.PackedSequence`: then sequences of different lengths share a batch,
each final state is the state at the sequence's own last step and no padding enters it.

How it runs: each layer-direction is ONE fused kernel over the whole sequence and ONE autograd
node (per layer, both directions together): all steps' input projections in one GEMM, then per
step a GEMM for the recurrence and one fused pointwise pass (csrc/cpu/lstm.cpp, rnn.cpp). The
backward runs the steps in reverse and computes the weight gradients as whole-sequence GEMMs.

Truncated backpropagation through time: carry the state across chunks, cut from the graph,

    state = None
    for chunk in x.split(k):                    # x (T, N, I), chunks of k steps
        out, state = lstm(chunk, state)
        loss = criterion(out, target_chunk)
        loss.backward(); opt.step(); opt.zero_grad()
        state = tuple(s.detach() for s in state) # (h.detach() for GRU / RNN)

``detach`` keeps the values (the next chunk starts where this one ended) but stops gradients
from flowing into earlier chunks; with one chunk covering the sequence this is full BPTT.
"""
from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Optional, Tuple, Union

import numpy as np

from .. import _C, creation, views
from ..autograd import _enabled
from ..tensor import Tensor, _wrap
from . import functional as F, init
from .functional import _attach
from .module import Module, Parameter

if TYPE_CHECKING:
    from .._dtype import device, dtype
    from .utils.rnn import PackedSequence

    _Input = Union[Tensor, PackedSequence]
    _State = Union[Tensor, Tuple[Tensor, Tensor]]

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

# Cell codes of _C.rnn_forward / rnn_backward (csrc/bindings/rnn.cpp).
_LSTM, _GRU, _RNN_TANH, _RNN_RELU = range(4)
_GATES = {_LSTM: 4, _GRU: 3, _RNN_TANH: 1, _RNN_RELU: 1}


def _rows_view(impl, rows, cols, row_stride, offset):
    return impl.as_strided([rows, cols], [row_stride, 1], offset)


def _as_shape(impl, shape):
    """A contiguous impl reinterpreted with `shape` (same number of elements)."""
    strides, s = [0] * len(shape), 1
    for i in range(len(shape) - 1, -1, -1):
        strides[i] = s
        s *= shape[i]
    return impl.as_strided(list(shape), strides, impl.offset)


def _contig(t):
    return t._impl if t._impl.is_contiguous() else _C.contiguous(t._impl)


def _multi_output(name, inputs, outs, backward):
    """Several outputs of ONE autograd node. Each output gets a light node that stashes its
    gradient and hands an empty gradient to a hidden hub tensor; the hub's node (reached after
    all of them, by topological order) runs `backward(grads)` once with the stashed gradients
    (None for an output that received none) and returns the gradients of `inputs`."""
    ref = outs[0]
    hub = _wrap(_C.empty([0], ref.dtype, ref.device_type, ref.device_index))
    stash = [None] * len(outs)

    def hub_backward(_):
        grads = list(stash)
        stash[:] = [None] * len(outs)
        return backward(grads)

    _attach(hub, name, tuple(inputs), hub_backward)
    wrapped = []
    for k, impl in enumerate(outs):
        def out_backward(g, k=k):
            stash[k] = g if stash[k] is None else stash[k] + g
            return (_wrap(_C.empty([0], ref.dtype, ref.device_type, ref.device_index)),)
        wrapped.append(_attach(_wrap(impl), name, (hub,), out_backward))
    return wrapped


def _clone_impl(impl):
    out = _C.empty(list(impl.shape), impl.dtype, impl.device_type, impl.device_index)
    _C.copy_(out, impl)
    return out


def _fused_layer(cell, x, batch_sizes, N, hx, cx, weights, out_shape, state_shape,
                 batch_first=False):
    """One layer (both directions) over a packed sequence: ONE kernel call per direction and ONE
    autograd node.

    x: tensor whose contiguous data is [R, I]; batch_sizes: list of ints (step t owns
    batch_sizes[t] rows); N: the batch; hx, cx: tensors whose data is [D, N, H] (cx None
    unless LSTM); weights: per direction (w_ih, w_hh, b_ih, b_hh), biases may be None.
    Returns (y, h_n, c_n) with y shaped out_shape ([R, D*H] data) and states shaped state_shape.
    batch_first (CPU LSTM, equal batch sizes): the rows of x's data and of y are batch-major
    (x is [N, T, I]), which the kernels read and write in place of transposing copies.
    """
    D = len(weights)
    H = weights[0][1].shape[1]
    xi = _contig(x)
    R, I = sum(batch_sizes), x.shape[-1]
    x2 = _as_shape(xi, (R, I))
    hi, ci = _contig(hx), (_contig(cx) if cx is not None else None)
    dt, dev_type, dev_index = xi.dtype, xi.device_type, xi.device_index
    y = _C.empty([R, D * H], dt, dev_type, dev_index)
    hn = _C.empty([D, N, H], dt, dev_type, dev_index)
    cn = _C.empty([D, N, H], dt, dev_type, dev_index) if ci is not None else None
    flat = [w for ws in weights for w in ws]
    inputs = (x, hx, cx) + tuple(flat)
    grad = _enabled[0] and any(getattr(t, "requires_grad", False) for t in inputs)
    saved, wimpl = [], []
    for d in range(D):
        w_ih, w_hh, b_ih, b_hh = (w._impl if w is not None else None for w in weights[d])
        wimpl.append((w_ih, w_hh, b_ih, b_hh))
        h0 = _rows_view(hi, N, H, H, hi.offset + d * N * H)
        c0 = _rows_view(ci, N, H, H, ci.offset + d * N * H) if ci is not None else None
        _, h, c, s = _C.rnn_forward(cell, x2, h0, c0, w_ih, w_hh, b_ih, b_hh, batch_sizes,
                                    d == 1, _rows_view(y, R, H, D * H, y.offset + d * H), grad,
                                    batch_first)
        _C.copy_(_rows_view(hn, N, H, H, hn.offset + d * N * H), h)
        if cn is not None:
            _C.copy_(_rows_view(cn, N, H, H, cn.offset + d * N * H), c)
        saved.append(s)
    outs = [_as_shape(y, out_shape), _as_shape(hn, state_shape)]
    if cn is not None:
        outs.append(_as_shape(cn, state_shape))
    if not grad:
        return [_wrap(o) for o in outs] + ([None] if cn is None else [])
    has_bias = weights[0][2] is not None

    def backward(grads):
        gy, ghn = grads[0], grads[1]
        gcn = grads[2] if len(grads) > 2 else None
        gyi = _as_shape(_contig(gy), (R, D * H)) if gy is not None else None
        ghi = _as_shape(_contig(ghn), (D, N, H)) if ghn is not None else None
        gci = _as_shape(_contig(gcn), (D, N, H)) if gcn is not None else None
        dx = _C.empty([R, I], dt, dev_type, dev_index) if x.requires_grad else None
        dh0 = _C.empty([D, N, H], dt, dev_type, dev_index)
        dc0 = _C.empty([D, N, H], dt, dev_type, dev_index) if cx is not None else None
        wgrads = []
        for d in range(D):
            w_ih, w_hh, _, _ = wimpl[d]
            dy = _rows_view(gyi, R, H, D * H, gyi.offset + d * H) if gyi is not None else None
            dhn = _rows_view(ghi, N, H, H, ghi.offset + d * N * H) if ghi is not None else None
            dcn = _rows_view(gci, N, H, H, gci.offset + d * N * H) if gci is not None else None
            dh, dc, dw_ih, dw_hh, db_ih, db_hh = _C.rnn_backward(
                cell, x2, w_ih, w_hh, has_bias, batch_sizes, N, d == 1, list(saved[d]), dy, dhn,
                dcn, dx, 0.0 if d == 0 else 1.0, batch_first)
            _C.copy_(_rows_view(dh0, N, H, H, dh0.offset + d * N * H), dh)
            if dc0 is not None:
                _C.copy_(_rows_view(dc0, N, H, H, dc0.offset + d * N * H), dc)
            if db_hh is not None and db_hh is db_ih:     # one column sum serves both biases
                db_hh = _clone_impl(db_ih)
            wgrads += [_wrap(dw_ih), _wrap(dw_hh), _wrap(db_ih) if db_ih is not None else None,
                       _wrap(db_hh) if db_hh is not None else None]
        gx = _wrap(_as_shape(dx, tuple(x.shape))) if dx is not None else None
        gh = _wrap(_as_shape(dh0, tuple(hx.shape)))
        gc = _wrap(_as_shape(dc0, tuple(cx.shape))) if dc0 is not None else None
        return (gx, gh, gc) + tuple(wgrads)

    res = _multi_output(_NAMES[cell], inputs, outs, backward)
    return res + ([None] if cn is None else [])


_NAMES = {_LSTM: "LSTM", _GRU: "GRU", _RNN_TANH: "RNN", _RNN_RELU: "RNN"}


def _check_state(layer, name, h, shape, ref):
    if not isinstance(h, Tensor):
        raise TypeError(f"{layer}: expected {name} to be a Tensor, got {type(h).__name__}")
    if tuple(h.shape) != tuple(shape):
        raise ValueError(f"{layer}: expected {name} of shape {tuple(shape)}, got {tuple(h.shape)}")
    if h.dtype != ref.dtype:
        raise TypeError(f"{layer}: {name} has dtype {h.dtype}, expected {ref.dtype} like the input")
    if h.device != ref.device:
        raise ValueError(f"{layer}: {name} is on {h.device}, expected {ref.device} like the input")


def _check_input(layer, x, weight):
    if not isinstance(x, Tensor):
        raise TypeError(f"{layer}: expected a Tensor or PackedSequence input, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{layer}: expected a floating point input, got {x.dtype}")
    if x.dtype != weight.dtype:
        raise TypeError(f"{layer}: input dtype {x.dtype} does not match the parameters' "
                        f"{weight.dtype} (convert one with .to(dtype))")
    if x.device != weight.device:
        raise ValueError(f"{layer}: input is on {x.device} but the parameters are on "
                         f"{weight.device}")


class RNNBase(Module):
    """What RNN, LSTM and GRU share: the parameters of every layer and direction and the
    forward over padded, unbatched or packed input."""

    _cell = _RNN_TANH
    mode: str
    input_size: int
    hidden_size: int
    num_layers: int
    bias: bool
    batch_first: bool
    dropout: float
    bidirectional: bool
    proj_size: int

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device: device | str | int | None = None, dtype: dtype | str | type | None = None) -> None:
        super().__init__()
        name = {"LSTM": "LSTM", "GRU": "GRU"}.get(mode, "RNN")
        for what, v in (("input_size", input_size), ("hidden_size", hidden_size),
                        ("num_layers", num_layers)):
            if not isinstance(v, numbers.Integral) or isinstance(v, bool):
                raise TypeError(f"{name}: {what} should be of type int, got {type(v).__name__}")
        if hidden_size <= 0:
            raise ValueError(f"{name}: hidden_size must be greater than zero, got {hidden_size}")
        if num_layers <= 0:
            raise ValueError(f"{name}: num_layers must be greater than zero, got {num_layers}")
        if input_size < 0:
            raise ValueError(f"{name}: input_size must be non-negative, got {input_size}")
        if (not isinstance(dropout, numbers.Real) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError(f"{name}: dropout should be a number in range [0, 1] representing "
                             f"the probability of an element being zeroed, got {dropout}")
        if proj_size != 0:
            raise ValueError(f"{name}: proj_size={proj_size} is not supported (only 0)")
        self.mode = mode
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.num_layers = int(num_layers)
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)
        self.proj_size = 0
        G = _GATES[self._cell]
        D = 2 if self.bidirectional else 1
        kw = dict(dtype=dtype, device=device)
        self._flat_weights_names = []
        for layer in range(self.num_layers):
            in_size = self.input_size if layer == 0 else self.hidden_size * D
            for d in range(D):
                sfx = f"_l{layer}" + ("_reverse" if d == 1 else "")
                shapes = [("weight_ih", (G * hidden_size, in_size)),
                          ("weight_hh", (G * hidden_size, hidden_size))]
                if self.bias:
                    shapes += [("bias_ih", (G * hidden_size,)), ("bias_hh", (G * hidden_size,))]
                for base, shape in shapes:
                    setattr(self, base + sfx, Parameter(creation.empty(*shape, **kw)))
                    self._flat_weights_names.append(base + sfx)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """Accepted for torch compatibility: the kernels read each parameter in place, so
        there is no flat weight buffer to rebuild."""

    @property
    def _flat_weights(self):
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Parameter]]:
        per = 4 if self.bias else 2
        w = self._flat_weights
        return [w[i:i + per] for i in range(0, len(w), per)]

    def _layer_weights(self, layer):
        D = 2 if self.bidirectional else 1
        out = []
        for d in range(D):
            sfx = f"_l{layer}" + ("_reverse" if d == 1 else "")
            out.append((getattr(self, "weight_ih" + sfx), getattr(self, "weight_hh" + sfx),
                        getattr(self, "bias_ih" + sfx) if self.bias else None,
                        getattr(self, "bias_hh" + sfx) if self.bias else None))
        return out

    def forward(self, input: _Input, hx: Optional[_State] = None) -> tuple[_Input, _State]:
        from .utils.rnn import PackedSequence
        name = type(self).__name__
        is_lstm = self._cell == _LSTM
        D = 2 if self.bidirectional else 1
        L, H = self.num_layers, self.hidden_size
        w0 = self.weight_ih_l0
        packed = isinstance(input, PackedSequence)
        unbatched = False
        sorted_idx = unsorted_idx = None
        rows_bf = False
        if packed:
            x, bs_t, sorted_idx, unsorted_idx = input
            _check_input(name, x, w0)
            if x.ndim != 2 or x.shape[-1] != self.input_size:
                raise ValueError(f"{name}: expected packed data of shape (sum of lengths, "
                                 f"{self.input_size}), got {tuple(x.shape)}")
            batch_sizes = [int(v) for v in np.asarray(bs_t.cpu() if isinstance(bs_t, Tensor)
                                                        else bs_t).reshape(-1)]
            N = batch_sizes[0] if batch_sizes else 0
        else:
            _check_input(name, input, w0)
            if input.ndim not in (2, 3):
                raise ValueError(f"{name}: expected a 2-D (unbatched) or 3-D (batched) input, "
                                 f"got shape {tuple(input.shape)}")
            if input.shape[-1] != self.input_size:
                raise ValueError(f"{name}: input.size(-1) must be equal to input_size. Expected "
                                 f"{self.input_size}, got {input.shape[-1]} (input shape "
                                 f"{tuple(input.shape)})")
            unbatched = input.ndim == 2
            # A batch-first CPU LSTM reads and writes its batch-major rows in place; every
            # other layer runs on a time-major view (copied to contiguous by the kernel call).
            rows_bf = self.batch_first and not unbatched and is_lstm and w0.device.type == "cpu"
            if unbatched:
                x = input.unsqueeze(1)
            elif self.batch_first and not rows_bf:
                x = input.transpose(0, 1)
            else:
                x = input
            T, N = (x.shape[1], x.shape[0]) if rows_bf else (x.shape[0], x.shape[1])
            batch_sizes = [N] * T
        state_shape = (L * D, N, H)
        if hx is None:
            h0 = creation.zeros(*state_shape, dtype=w0.dtype, device=w0.device)
            c0 = creation.zeros(*state_shape, dtype=w0.dtype, device=w0.device) if is_lstm else None
        else:
            if is_lstm:
                if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                    raise TypeError(f"{name}: expected hx to be a tuple (h_0, c_0), got "
                                    f"{type(hx).__name__}")
                h0, c0 = hx
            else:
                if isinstance(hx, (tuple, list)):
                    raise TypeError(f"{name}: expected hx to be a Tensor, got a {type(hx).__name__}")
                h0, c0 = hx, None
            want = (L * D, H) if unbatched else state_shape
            ref = x if not packed else input.data
            _check_state(name, "h_0" if is_lstm else "hx", h0, want, ref)
            if c0 is not None:
                _check_state(name, "c_0", c0, want, ref)
            if unbatched:
                h0 = h0.unsqueeze(1)
                c0 = c0.unsqueeze(1) if c0 is not None else None
            if sorted_idx is not None:
                h0 = h0.index_select(1, sorted_idx)
                c0 = c0.index_select(1, sorted_idx) if c0 is not None else None
        R = sum(batch_sizes)
        hns, cns = [], []
        for layer in range(L):
            hl = h0 if L == 1 else h0[layer * D:(layer + 1) * D]
            cl = None if c0 is None else (c0 if L == 1 else c0[layer * D:(layer + 1) * D])
            last = layer == L - 1
            out_shape = (len(batch_sizes), N, D * H) if (last and not packed) else (R, D * H)
            if rows_bf:
                out_shape = (N, len(batch_sizes), D * H)
            y, hn, cn = _fused_layer(self._cell, x, batch_sizes, N, hl, cl,
                                     self._layer_weights(layer), out_shape, (D, N, H), rows_bf)
            if not last and self.dropout > 0 and self.training:
                y = F.dropout(y, self.dropout, True)
            hns.append(hn)
            cns.append(cn)
            x = y
        h_n = hns[0] if L == 1 else views.cat(hns, 0)
        c_n = (cns[0] if L == 1 else views.cat(cns, 0)) if is_lstm else None
        if packed:
            output = PackedSequence(x, bs_t, sorted_idx, unsorted_idx)
            if unsorted_idx is not None:
                h_n = h_n.index_select(1, unsorted_idx)
                c_n = c_n.index_select(1, unsorted_idx) if c_n is not None else None
        else:
            output = x
            if unbatched:
                output = output.squeeze(1)
                h_n = h_n.squeeze(1)
                c_n = c_n.squeeze(1) if c_n is not None else None
            elif self.batch_first and not rows_bf:
                output = output.transpose(0, 1)
        return (output, (h_n, c_n)) if is_lstm else (output, h_n)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self._cell == _RNN_RELU:
            s += ", nonlinearity='relu'"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act tanh or relu.
    Returns (output, h_n): output (T, N, D*H) (batch_first: (N, T, D*H)), h_n
    (num_layers*D, N, H)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device: device | str | int | None = None, dtype: dtype | str | type | None = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r} (expected 'tanh' or "
                             "'relu')")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)
        self.nonlinearity = nonlinearity
        self._cell = _RNN_TANH if nonlinearity == "tanh" else _RNN_RELU


class LSTM(RNNBase):
    """Long short-term memory, gates i, f, g, o (torch's packing of weight_ih / weight_hh):
    c_t = f c_{t-1} + i g,  h_t = o tanh(c_t). Returns (output, (h_n, c_n))."""

    _cell = _LSTM

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device: device | str | int | None = None, dtype: dtype | str | type | None = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device=device, dtype=dtype)


class GRU(RNNBase):
    """Gated recurrent unit, gates r, z, n: n = tanh(W_in x + b_in + r (W_hn h + b_hn)),
    h' = (1 - z) n + z h. Returns (output, h_n)."""

    _cell = _GRU

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: device | str | int | None = None, dtype: dtype | str | type | None = None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)


# ---- cells ------------------------------------------------------------------------------------

class RNNCellBase(Module):
    """One step of a recurrent layer: weight_ih (G*H, I), weight_hh (G*H, H), bias_ih, bias_hh.
    The step runs through the same fused kernel as the layers (a sequence of length 1)."""

    _cell = _RNN_TANH
    input_size: int
    hidden_size: int
    bias: bool

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device: device | str | int | None = None, dtype: dtype | str | type | None = None) -> None:
        super().__init__()
        name = type(self).__name__
        if hidden_size <= 0:
            raise ValueError(f"{name}: hidden_size must be greater than zero, got {hidden_size}")
        if input_size < 0:
            raise ValueError(f"{name}: input_size must be non-negative, got {input_size}")
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.bias = bool(bias)
        kw = dict(dtype=dtype, device=device)
        G = num_chunks
        self.weight_ih = Parameter(creation.empty(G * hidden_size, input_size, **kw))
        self.weight_hh = Parameter(creation.empty(G * hidden_size, hidden_size, **kw))
        if bias:
            self.bias_ih = Parameter(creation.empty(G * hidden_size, **kw))
            self.bias_hh = Parameter(creation.empty(G * hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def _step(self, input, hx, cx):
        name = type(self).__name__
        _check_input(name, input, self.weight_ih)
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: expected a 1-D (unbatched) or 2-D (batched) input, got "
                             f"shape {tuple(input.shape)}")
        if input.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input has {input.shape[-1]} features (shape "
                             f"{tuple(input.shape)}), expected input_size={self.input_size}")
        unbatched = input.ndim == 1
        x = input.unsqueeze(0) if unbatched else input
        N, H = x.shape[0], self.hidden_size
        want = (H,) if unbatched else (N, H)
        states = []
        for nm, s in (("hx", hx), ("cx", cx)):
            if nm == "cx" and self._cell != _LSTM:
                break
            if s is None:
                s = creation.zeros(N, H, dtype=x.dtype, device=x.device)
            else:
                _check_state(name, nm, s, want, x)
                s = s.unsqueeze(0) if unbatched else s
            states.append(s)
        c = states[1] if len(states) > 1 else None
        y, _, cn = _fused_layer(self._cell, x, [N], N, states[0], c,
                                [(self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)],
                                (N, H), (N, H))
        if unbatched:
            y = y.squeeze(0)
            cn = cn.squeeze(0) if cn is not None else None
        return y, cn

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        return s


class RNNCell(RNNCellBase):
    """h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh); forward(input, hx=None) -> h'."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device: device | str | int | None = None, dtype: dtype | str | type | None = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r} (expected 'tanh' "
                             "or 'relu')")
        super().__init__(input_size, hidden_size, bias, 1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity
        self._cell = _RNN_TANH if nonlinearity == "tanh" else _RNN_RELU

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> Tensor:
        return self._step(input, hx, None)[0]


class LSTMCell(RNNCellBase):
    """One LSTM step; forward(input, (h, c)=None) -> (h', c')."""

    _cell = _LSTM

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: device | str | int | None = None, dtype: dtype | str | type | None = None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device=device, dtype=dtype)

    def forward(self, input: Tensor,
                hx: Optional[tuple[Tensor, Tensor]] = None) -> tuple[Tensor, Tensor]:
        if hx is None:
            h, c = None, None
        elif isinstance(hx, (tuple, list)) and len(hx) == 2:
            h, c = hx
        else:
            raise TypeError(f"LSTMCell: expected hx to be a tuple (h, c), got {type(hx).__name__}")
        return self._step(input, h, c)


class GRUCell(RNNCellBase):
    """One GRU step; forward(input, hx=None) -> h'."""

    _cell = _GRU

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: device | str | int | None = None, dtype: dtype | str | type | None = None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> Tensor:
        return self._step(input, hx, None)[0]
