"""dlcore.summary(model, input_shape): a table of layers, output shapes, parameters and FLOPs.

It runs one forward pass on a random input (eval mode, no_grad; the model's train/eval flags
are restored afterwards) with a hook on every submodule, so it sees models of any shape, not
only Sequential ones. Each row is a leaf module (or a module owning parameters directly), in
the order the forward pass first called it; a module called several times (a shared layer, a
recurrent cell in a loop) is one row with its calls counted and FLOPs summed. Operations done
with nn.functional inside a custom forward have no module and so no row.

FLOP convention (one multiply-add = 2 FLOPs, counted for the whole batch of input_shape):
  Linear              2 * in * out per row of the input, + out per row for the bias
  Conv*d              per output element 2 * (C_in / groups) * prod(kernel), + 1 for the bias
  ConvTranspose*d     per input element 2 * (C_out / groups) * prod(kernel), + 1 per output for the bias
  RNN / GRU / LSTM    per step, direction and layer 2 * g * H * (I + H) + 2 * g * H (g = 1, 3, 4 gates)
  activations         1 per output element (ReLU, Sigmoid, Tanh, LeakyReLU, ELU, Softplus, ...)
  Softmax/LogSoftmax  3 per element (exp, sum, divide / subtract)
  Maxout              1 comparison per input element
  pooling             prod(kernel) per output element (adaptive: 1 per input element)
  normalisation       4 per element (subtract mean, scale by 1/std, affine scale and shift)
  Dropout, Flatten, Identity, Embedding, reshapes: 0
A module may define ``flops(self, inputs, output) -> int`` to override these rules; a leaf with
neither a rule nor that method shows "?" and counts 0 toward the total.

The "Mult-adds" column counts the multiply-accumulates of the layer's arithmetic proper, the
figure papers quote (a 3x3 conv: out elements x C_in/groups x 9): Linear, Conv*d,
ConvTranspose*d and the recurrent layers their weight products (bias adds excluded), batch /
layer norm one per element (y = x * scale + shift), average pooling one add per window element,
max pooling none (comparisons only); "-" where the notion does not apply.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence, TextIO

import math
import sys

from .tensor import Tensor

if TYPE_CHECKING:
    from ._dtype import device, dtype
    from .nn.module import Module

_ACTIVATIONS = {"ReLU", "ReLU6", "Sigmoid", "Tanh", "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "SiLU",
                "Softplus", "Softsign", "Hardtanh", "Hardsigmoid", "Hardswish", "Mish", "PReLU", "Tanhshrink",
                "LogSigmoid"}
_ZERO = {"Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "Flatten", "Unflatten",
         "Identity", "Embedding"}


def _first_tensor(x):
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (tuple, list)):
        for v in x:
            t = _first_tensor(v)
            if t is not None:
                return t
    return None


def _numel(x):
    t = _first_tensor(x)
    return t.numel() if t is not None else 0


def _pair(v, n):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def _layer_flops(m, inputs, output):
    """FLOPs of one call of leaf module m, or None when no rule applies."""
    if hasattr(m, "flops") and callable(m.flops):
        return int(m.flops(inputs, output))
    name = type(m).__name__
    x, out = _first_tensor(inputs), _first_tensor(output)
    if name in _ZERO:
        return 0
    if name == "Linear":
        rows = out.numel() // max(m.out_features, 1)
        return rows * (2 * m.in_features * m.out_features + (m.out_features if m.bias is not None else 0))
    if name in _ACTIVATIONS:
        return out.numel()
    if name in ("Softmax", "LogSoftmax", "Softmin"):
        return 3 * out.numel()
    if name == "Maxout":
        return x.numel()
    if name.startswith("ConvTranspose") and hasattr(m, "weight"):
        w = m.weight                                   # (C_in, C_out / groups, *kernel)
        per_in = 2 * math.prod(w.shape[1:])
        return x.numel() * per_in + (out.numel() if getattr(m, "bias", None) is not None else 0)
    if name.startswith("Conv") and hasattr(m, "weight"):
        w = m.weight                                   # (C_out, C_in / groups, *kernel)
        per_out = 2 * math.prod(w.shape[1:]) + (1 if getattr(m, "bias", None) is not None else 0)
        return out.numel() * per_out
    if "Pool" in name:
        if name.startswith("Adaptive"):
            return x.numel()
        k = getattr(m, "kernel_size", 1)
        nd = max(out.ndim - 2, 1)
        return out.numel() * math.prod(_pair(k, nd))
    if "Norm" in name:
        return 4 * x.numel()
    if name in ("RNN", "GRU", "LSTM") and hasattr(m, "hidden_size"):
        gates = {"RNN": 1, "GRU": 3, "LSTM": 4}[name]
        h, i0 = m.hidden_size, m.input_size
        steps = x.numel() // max(i0, 1)                # batch * time
        dirs = 2 if getattr(m, "bidirectional", False) else 1
        total = 0
        for layer in range(getattr(m, "num_layers", 1)):
            i = i0 if layer == 0 else h * dirs
            total += 2 * gates * h * (i + h) + 2 * gates * h
        return steps * dirs * total
    if name in ("RNNCell", "GRUCell", "LSTMCell") and hasattr(m, "hidden_size"):
        gates = {"RNNCell": 1, "GRUCell": 3, "LSTMCell": 4}[name]
        rows = x.numel() // max(m.input_size, 1)
        return rows * (2 * gates * m.hidden_size * (m.input_size + m.hidden_size) + 2 * gates * m.hidden_size)
    return None


def _layer_macs(m, inputs, output, flops):
    """Multiply-adds of one call (see the module docstring), or None for '-'."""
    name = type(m).__name__
    x, out = _first_tensor(inputs), _first_tensor(output)
    if x is None or out is None or flops is None:
        return None
    if name == "Linear":
        return (out.numel() // max(m.out_features, 1)) * m.in_features * m.out_features
    if name.startswith("Conv") and hasattr(m, "weight"):
        per = math.prod(m.weight.shape[1:])
        return (x if name.startswith("ConvTranspose") else out).numel() * per
    if name in ("RNN", "GRU", "LSTM", "RNNCell", "GRUCell", "LSTMCell"):
        gates = {"RNN": 1, "GRU": 3, "LSTM": 4}[name.replace("Cell", "")]
        return (flops - _bias_flops_rnn(m, x, gates)) // 2
    if "Norm" in name:
        return x.numel()
    if "Pool" in name:
        if "Max" in name:
            return 0
        return flops
    return None


def _bias_flops_rnn(m, x, gates):
    rows = x.numel() // max(m.input_size, 1)
    layers = getattr(m, "num_layers", 1)
    dirs = 2 if getattr(m, "bidirectional", False) else 1
    return rows * dirs * layers * 2 * gates * m.hidden_size


def _shape_of(x):
    if isinstance(x, Tensor):
        return list(x.shape)
    if isinstance(x, (tuple, list)):
        return [_shape_of(v) for v in x]
    return None


def _fmt_int(n):
    return "?" if n is None else f"{n:,}"


def _fmt_flops(n):
    if n is None:
        return "?"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f}{unit}"
    return str(n)


def summary(model: Module, input_shape: Sequence[Any],
            dtype: dtype | str | type | None = None, device: device | str | int | None = None,
            file: Optional[TextIO] = None, print_table: bool = True) -> dict[str, Any]:
    """Runs model on a random input of input_shape (batch dimension included; a list of shapes
    for several inputs) and prints one row per layer. Returns a dict with "layers" (name, type,
    output_shape, params, flops, calls per row), "total_params", "trainable_params",
    "non_trainable_params", "total_flops", "params_bytes" and "output_shape"."""
    from . import creation
    from .autograd import no_grad
    from ._dtype import as_dtype, float32
    from .nn.module import Module

    if not isinstance(model, Module):
        raise TypeError(f"summary: expected a dlcore.nn.Module, got {type(model).__name__}")
    shapes = [tuple(input_shape)] if all(isinstance(s, int) for s in input_shape) else [tuple(s) for s in input_shape]
    for s in shapes:
        if not all(isinstance(d, int) and d >= 0 for d in s):
            raise ValueError(f"summary: input shape {s} must be a tuple of non-negative ints")
    dt = as_dtype(dtype) if dtype is not None else float32
    if device is None:
        p = next(iter(model.parameters()), None)
        device = p.device if p is not None else "cpu"
    if dt.is_floating_point:
        inputs = [creation.randn(*s, dtype=dt, device=device) for s in shapes]
    else:                                             # token ids for embedding models
        inputs = [creation.zeros(*s, dtype=dt, device=device) for s in shapes]

    rows, by_module, handles = [], {}, []

    def pre_hook(name):
        def hook(m, args):
            if id(m) not in by_module:
                row = dict(name=name or type(m).__name__, type=type(m).__name__, output_shape=None,
                           params=sum(p.numel() for p in m.parameters(recurse=False)), flops=0,
                           mult_adds=0, calls=0, _module=m)
                by_module[id(m)] = row
                rows.append(row)
        return hook

    def post_hook(m, args, out):
        row = by_module[id(m)]
        row["calls"] += 1
        row["output_shape"] = _shape_of(out)
        if row["flops"] is not None:
            f = _layer_flops(m, args, out)
            row["flops"] = None if f is None else row["flops"] + f
            macs = _layer_macs(m, args, out, f)
            row["mult_adds"] = None if macs is None or row["mult_adds"] is None else row["mult_adds"] + macs
        else:
            row["mult_adds"] = None

    shown = []
    for name, m in model.named_modules():
        leaf = not any(True for _ in m.children())
        if leaf or any(True for _ in m.parameters(recurse=False)) or hasattr(m, "flops"):
            shown.append(m)
            handles.append(m.register_forward_pre_hook(pre_hook(name)))
            handles.append(m.register_forward_hook(post_hook))
    modes = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        with no_grad():
            out = model(*inputs)
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes:
            m.__dict__["training"] = mode

    params = list(model.parameters())
    total = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)
    result = dict(
        layers=[{k: v for k, v in r.items() if k != "_module"} for r in rows],
        total_params=total, trainable_params=trainable, non_trainable_params=total - trainable,
        total_flops=sum(r["flops"] or 0 for r in rows),
        total_mult_adds=sum(r["mult_adds"] or 0 for r in rows),
        params_bytes=sum(p.numel() * p.dtype.itemsize for p in params),
        output_shape=_shape_of(out),
    )
    if print_table:
        _print_table(model, shapes, result, file if file is not None else sys.stdout)
    return result


def _print_table(model, shapes, result, file):
    head = ("Layer (type)", "Output shape", "Params", "Mult-adds", "FLOPs")
    body = []
    for r in result["layers"]:
        label = f"{r['name']} ({r['type']})" if r["name"] != r["type"] else r["type"]
        if r["calls"] > 1:
            label += f" x{r['calls']}"
        shape = str(r["output_shape"]) if r["calls"] else "(not called)"
        macs = "-" if r["mult_adds"] is None else _fmt_flops(r["mult_adds"])
        body.append((label, shape, _fmt_int(r["params"]), macs, _fmt_flops(r["flops"])))
    widths = [max([len(head[i])] + [len(b[i]) for b in body]) for i in range(5)]
    line = "  ".join(["{:<%d}" % widths[0], "{:<%d}" % widths[1]] + ["{:>%d}" % w for w in widths[2:]])
    rule = "=" * (sum(widths) + 8)
    print(f"{type(model).__name__} summary, input {shapes[0] if len(shapes) == 1 else shapes}", file=file)
    print(rule, file=file)
    print(line.format(*head), file=file)
    print("-" * len(rule), file=file)
    for b in body:
        print(line.format(*b), file=file)
    print(rule, file=file)
    print(f"Total params:         {result['total_params']:,}", file=file)
    print(f"Trainable params:     {result['trainable_params']:,}", file=file)
    print(f"Non-trainable params: {result['non_trainable_params']:,}", file=file)
    print(f"Params size:          {result['params_bytes'] / 2 ** 20:.2f} MiB", file=file)
    unknown = sum(1 for r in result["layers"] if r["flops"] is None)
    note = f" (+ {unknown} layer(s) with unknown FLOPs)" if unknown else ""
    print(f"Mult-adds:            {result['total_mult_adds']:,} ({_fmt_flops(result['total_mult_adds'])})", file=file)
    print(f"Forward FLOPs:        {result['total_flops']:,} ({_fmt_flops(result['total_flops'])}){note}", file=file)
    print(rule, file=file)
