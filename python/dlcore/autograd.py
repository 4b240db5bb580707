"""Reverse-mode automatic differentiation on a define-by-run tape.

Every differentiable op, after computing its output, calls ``record(out, name, inputs,
backward_fn)``. When grad mode is on and some input requires grad, the output gets a ``Node``:
its inputs and a closure mapping the output's gradient to one gradient per input. That closure
is the op's backward, written beside its forward (see ops.py, views.py, nn/functional.py).

``backward(root)`` orders the graph topologically from ``root``, walks it once in reverse,
sums the gradients that reach each tensor, and deposits the total in ``.grad`` of the leaves
(tensors created by the user with requires_grad=True). The closures, and with them the saved
tensors, are dropped as soon as they ran, unless ``retain_graph=True``.

Two hooks let code act during backward (DistributedDataParallel starts its gradient
all-reduces with them while the rest of backward still runs):
``Tensor.register_post_accumulate_grad_hook(fn)`` calls fn(leaf) right after a leaf's ``.grad``
got its total for this backward; ``queue_callback(fn)``, called from such a hook, runs fn once
when the current backward has walked the whole graph.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional, Sequence, Union

import numpy as np

if TYPE_CHECKING:
    from .nn.module import RemovableHandle
    from .tensor import Tensor


class _GradFlag(threading.local):
    """Grad mode, per thread as in PyTorch: a no_grad() block in one thread (backward runs in
    one) must not switch off recording in another. ``_enabled[0]`` reads and writes it, so
    code indexing the flag like a one-element list keeps working."""

    def __init__(self):
        self.value = True

    def __getitem__(self, _):
        return self.value

    def __setitem__(self, _, v):
        self.value = v


_enabled = _GradFlag()


def is_grad_enabled() -> bool:
    return _enabled.value


class _GradMode:
    mode = True

    def __enter__(self):
        self._prev = _enabled.value
        _enabled.value = self.mode

    def __exit__(self, *exc):
        _enabled.value = self._prev
        return False

    def __call__(self, fn):          # usable as a decorator too
        def wrapper(*a, **k):
            with self.__class__():
                return fn(*a, **k)
        wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
        return wrapper


class no_grad(_GradMode):
    """Context manager / decorator: ops inside record no graph."""
    mode = False


class enable_grad(_GradMode):
    mode = True


class set_grad_enabled(_GradMode):
    def __init__(self, mode: bool = True) -> None:
        self.mode = bool(mode)


# ---- anomaly detection: which forward op made a NaN/Inf gradient ----------------------------
_anomaly = [False]


def is_anomaly_enabled() -> bool:
    return _anomaly[0]


class set_detect_anomaly:
    """``set_detect_anomaly(True)`` turns anomaly detection on (also usable as a context manager).

    While it is on, every recorded op keeps the Python stack of its forward call, and backward
    checks every gradient an op's backward returns: a NaN or Inf raises RuntimeError naming the
    op and showing where its forward ran. It costs a stack capture per op and a host check per
    gradient, so it is for debugging, as in PyTorch.
    """

    def __init__(self, mode: bool = True) -> None:
        self._prev = _anomaly[0]
        _anomaly[0] = bool(mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _anomaly[0] = self._prev
        return False


class detect_anomaly(_GradMode):
    """Context manager / decorator enabling anomaly detection inside (see set_detect_anomaly)."""

    def __enter__(self):
        self._prev_anomaly = _anomaly[0]
        _anomaly[0] = True

    def __exit__(self, *exc):
        _anomaly[0] = self._prev_anomaly
        return False


def _check_finite(node, grads):
    import traceback
    for i, g in enumerate(grads):
        if g is None:
            continue
        a = g.detach().cpu().numpy()
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            what = "nan" if np.isnan(a).any() else "inf"
            where = "".join(traceback.format_list(node.trace)) if node.trace else "  (not recorded)\n"
            raise RuntimeError(f"Function '{node.name}Backward' returned {what} values in its {i}th "
                               f"output (gradient for an input of shape {tuple(g.shape)}).\n"
                               f"The forward call that created this node (traceback):\n{where}")


class Node:
    __slots__ = ("name", "inputs", "backward_fn", "trace")

    def __init__(self, name: str, inputs: tuple[Any, ...],
                 backward_fn: Optional[Callable[[Tensor], Sequence[Optional[Tensor]]]]) -> None:
        self.name = name
        self.inputs = inputs
        self.backward_fn = backward_fn
        self.trace = None
        if _anomaly[0]:
            self.trace = _user_stack()

    def __repr__(self) -> str:
        return f"<{self.name}Backward>"


def _user_stack():
    """The current Python stack without its innermost frames inside dlcore itself, so the last
    line shown is the user's call of the op."""
    import os
    import traceback
    stack = traceback.extract_stack()[:-2]
    pkg = os.path.dirname(os.path.abspath(__file__)) + os.sep
    while len(stack) > 1 and os.path.abspath(stack[-1].filename).startswith(pkg):
        stack.pop()
    return stack


def needs_grad(*xs: Any) -> bool:
    if not _enabled.value:
        return False
    for x in xs:   # hot path: runs once per op; plain attribute probe, no isinstance chain
        if getattr(x, "requires_grad", False):
            return True
    return False


def record(out: Tensor, name: str, inputs: Iterable[Any],
           backward_fn: Callable[[Tensor], Sequence[Optional[Tensor]]]) -> Tensor:
    """Attach the backward of op `name` to `out` when some tensor in `inputs` requires grad.

    backward_fn(grad_out) returns one gradient (or None) per entry of `inputs`.
    """
    if needs_grad(*inputs):
        out.requires_grad = True
        out._node = Node(name, tuple(inputs), backward_fn)
    return out


def _topological(root):
    """Tensors reachable from root through nodes, each after all of its inputs."""
    order, seen, stack = [], {id(root)}, [(root, iter(root._node.inputs if root._node else ()))]
    while stack:
        t, inputs = stack[-1]
        for x in inputs:
            if getattr(x, "requires_grad", False) and id(x) not in seen:
                seen.add(id(x))
                node = x._node
                stack.append((x, iter(node.inputs if node is not None else ())))
                break
        else:
            stack.pop()
            order.append(t)
    return order


class _BackwardState(threading.local):
    def __init__(self):
        self.callbacks = None      # list while a backward runs in this thread, else None


_backward_state = _BackwardState()


def queue_callback(fn: Callable[[], Any]) -> None:
    """Runs ``fn()`` once when the backward now running finishes (as torch's engine
    ``queue_callback``); only valid inside backward, e.g. from a post-accumulate-grad hook."""
    if _backward_state.callbacks is None:
        raise RuntimeError("queue_callback: no backward is running in this thread")
    _backward_state.callbacks.append(fn)


def register_post_accumulate_grad_hook(tensor: Tensor, hook: Callable[[Tensor], Any]) -> RemovableHandle:
    """``hook(tensor)`` after backward has accumulated this leaf's gradient into ``.grad``."""
    from collections import OrderedDict
    from .nn.module import RemovableHandle
    if tensor._node is not None:
        raise RuntimeError("register_post_accumulate_grad_hook: only leaf tensors have an accumulated .grad")
    if not tensor.requires_grad:
        raise RuntimeError("register_post_accumulate_grad_hook: the tensor does not require grad")
    if not callable(hook):
        raise TypeError(f"register_post_accumulate_grad_hook: hook must be callable, got {type(hook).__name__}")
    table = getattr(tensor, "_post_acc_hooks", None)
    if table is None:
        table = tensor._post_acc_hooks = OrderedDict()
    handle = RemovableHandle(table)
    table[handle.id] = hook
    return handle


def backward(root: Tensor, grad: Any = None, retain_graph: bool = False, _run_hooks: bool = True) -> None:
    outer, _backward_state.callbacks = _backward_state.callbacks, []
    try:
        _backward(root, grad, retain_graph, _run_hooks)
        callbacks = _backward_state.callbacks
        while callbacks:                    # a callback may queue another one
            callbacks.pop(0)()
    finally:
        _backward_state.callbacks = outer


def _backward(root, grad, retain_graph, run_hooks):
    from .tensor import Tensor
    from . import creation
    if not root.requires_grad:
        raise RuntimeError("backward: tensor does not require grad and has no grad_fn")
    if grad is None:
        if root.numel() != 1:
            raise RuntimeError(f"backward: grad can be implicitly created only for scalar outputs "
                               f"(got shape {tuple(root.shape)})")
        grad = creation.ones_like(root)
    elif not isinstance(grad, Tensor):
        from .tensor import tensor
        grad = tensor(grad, dtype=root.dtype, device=root.device)
    if tuple(grad.shape) != tuple(root.shape):
        raise ValueError(f"backward: gradient of shape {tuple(grad.shape)} for output of shape {tuple(root.shape)}")
    grads = {id(root): grad}
    with no_grad():
        for t in reversed(_topological(root)):
            g = grads.pop(id(t), None)
            if g is None:
                continue
            node = t._node
            if node is None:                     # a leaf: accumulate into .grad
                g = g if g.dtype is t.dtype else g.to(dtype=t.dtype)
                g = g.contiguous()
                t.grad = g if t.grad is None else t.grad + g
                hooks = getattr(t, "_post_acc_hooks", None) if run_hooks else None
                if hooks:
                    for hook in list(hooks.values()):
                        hook(t)
                continue
            if node.backward_fn is None:
                raise RuntimeError(f"backward: trying to backward through the graph a second time "
                                   f"(through {node.name}); use backward(retain_graph=True)")
            in_grads = node.backward_fn(g)
            if _anomaly[0]:
                _check_finite(node, in_grads)
            if not retain_graph:
                node.backward_fn = None
            for x, gx in zip(node.inputs, in_grads):
                if gx is None or not getattr(x, "requires_grad", False):
                    continue
                if gx._impl.shape != x._impl.shape:
                    raise RuntimeError(f"backward of {node.name}: gradient shape {tuple(gx.shape)} "
                                       f"does not match input shape {tuple(x.shape)}")
                prev = grads.get(id(x))
                grads[id(x)] = gx if prev is None else prev + gx
            if not retain_graph:
                node.inputs = ()


def grad(outputs: Tensor, inputs: Iterable[Tensor], grad_outputs: Any = None,
         retain_graph: bool = False) -> tuple[Optional[Tensor], ...]:
    """Gradients of `outputs` w.r.t. `inputs`, returned (not accumulated into .grad)."""
    inputs = list(inputs)
    saved = [x.grad for x in inputs]
    for x in inputs:
        x.grad = None
    try:
        backward(outputs, grad_outputs, retain_graph=retain_graph, _run_hooks=False)   # no accumulation: no hooks
        return tuple(x.grad for x in inputs)
    finally:
        for x, g in zip(inputs, saved):
            x.grad = g


class GradcheckError(AssertionError):
    pass


def gradcheck(fn: Callable[..., Any], inputs: Union[Tensor, Sequence[Any]], eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Compares the analytical Jacobian of fn (via backward) with central differences.

    inputs: a tensor or tuple of tensors; those with requires_grad are checked. Use float64.
    fn may return a tensor or a tuple of tensors. Returns True, or raises GradcheckError
    naming the input, the output and the worst element.
    """
    from .tensor import Tensor
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    inputs = tuple(inputs)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    for i in diff:
        if inputs[i].dtype.name != "float64":
            import warnings
            warnings.warn(f"gradcheck: input {i} is {inputs[i].dtype}, not float64; expect a loose check")

    def outputs():
        out = fn(*inputs)
        return out if isinstance(out, (tuple, list)) else (out,)

    outs = [o for o in outputs() if isinstance(o, Tensor)]
    # Host copies of the inputs' storage so we can perturb one element at a time.
    for oi, out in enumerate(outs):
        n_out = out.numel()
        for i in diff:
            x = inputs[i]
            n_in = x.numel()
            analytic = np.zeros((n_out, n_in))
            for k in range(n_out):
                g = np.zeros(n_out)
                g[k] = 1.0
                for xx in inputs:
                    if isinstance(xx, Tensor):
                        xx.grad = None
                o = outputs()[oi]
                if not o.requires_grad:
                    break
                from .tensor import tensor
                o.backward(tensor(g.reshape(tuple(o.shape)), dtype=o.dtype, device=o.device))
                if x.grad is not None:
                    analytic[k] = np.asarray(x.grad, dtype=np.float64).reshape(-1)
            numeric = np.zeros((n_out, n_in))
            with no_grad():
                xv = x.detach()
                flat_idx = list(np.ndindex(*tuple(x.shape))) if x.ndim else [()]
                for j, idx in enumerate(flat_idx):
                    orig = float(xv[idx].item()) if x.ndim else float(xv.item())
                    xv[idx] = orig + eps
                    plus = np.array(outputs()[oi], dtype=np.float64).reshape(-1)   # a copy: outputs may be views of x
                    xv[idx] = orig - eps
                    minus = np.array(outputs()[oi], dtype=np.float64).reshape(-1)
                    xv[idx] = orig
                    numeric[:, j] = (plus - minus) / (2 * eps)
            err = np.abs(analytic - numeric)
            bad = err > atol + rtol * np.abs(numeric)
            if bad.any():
                k, j = np.unravel_index(  # type: ignore[assignment]  # NumPy ints; k was the loop's int
                    np.argmax(err - (atol + rtol * np.abs(numeric))), err.shape)
                msg = (f"gradcheck: Jacobian mismatch for output {oi} w.r.t. input {i} "
                       f"(shape {tuple(x.shape)}): element ({k}, {j}) analytic {analytic[k, j]:.8g} "
                       f"vs numeric {numeric[k, j]:.8g}; max abs error {err.max():.3g}")
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    for xx in inputs:
        if isinstance(xx, Tensor):
            xx.grad = None
    return True
