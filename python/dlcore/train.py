"""Training loop: fit / evaluate / predict, a per-epoch History, callbacks and a progress bar.

    from dlcore.train import fit, evaluate, EarlyStopping, ModelCheckpoint
    hist = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), 1e-3),
               train_loader, val_loader, epochs=20, metrics=["accuracy"],
               callbacks=[EarlyStopping(patience=3, restore_best_weights=True)])
    hist["val_accuracy"][-1]; hist.plot("curves.png")

One epoch of ``fit`` is the plain PyTorch loop — forward, loss, zero_grad, backward, step — with
running sums of the loss and metrics (weighted by batch size, so an epoch's value is the mean
over samples, whatever the size of the last batch). The loop adds a few microseconds per
batch: the loss and each metric cost one ``.item()``; callbacks run only if given.

Callbacks see the loop through ``self.trainer`` (model, optimizer, history, epoch,
stop_training) and get ``logs`` dicts: per batch {"batch", "size", "loss", <metrics>} with
running means; per epoch the History row being written (loss, metrics, val_*, lr,
samples_per_s, time).

Under DistributedDataParallel (processes started by mpirun, dlcore.distributed initialized)
fit runs unchanged on every rank: the epoch's loss and metrics are summed over the ranks
before they are logged (so every rank logs, and callbacks decide on, the same numbers), a
DistributedSampler in the loaders gets ``set_epoch`` each epoch, and only rank 0 prints
progress, writes checkpoints and plots the history.
"""
from __future__ import annotations

import math
import os
import sys
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional, Sequence, TextIO, Union

from .autograd import no_grad
from .tensor import Tensor
from . import metrics as _metrics

if TYPE_CHECKING:
    from ._dtype import device
    from .nn.module import Module
    from .optim.lr_scheduler import LRScheduler
    from .optim.optimizer import Optimizer

# A metric: a name ('accuracy', 'top5_accuracy') or a callable(outputs, targets) -> float or 0-d tensor
_Metric = Union[str, Callable[[Any, Any], Any]]
# Logs a callback receives (per batch or per epoch; see the module docstring)
_Logs = Optional[dict[str, Any]]

__all__ = ["fit", "evaluate", "predict", "Trainer", "History", "Callback", "EarlyStopping",
           "ModelCheckpoint", "LRSchedulerCallback", "ProgressBar", "LambdaCallback"]


# ---- metrics by name ---------------------------------------------------------------------
def _resolve_metric(m):
    """'accuracy' | 'top5_accuracy' / 'top_k_accuracy' (k=5) | callable(outputs, targets) -> (name, fn)."""
    if callable(m):
        return getattr(m, "__name__", type(m).__name__), m
    if not isinstance(m, str):
        raise TypeError(f"fit: a metric must be a name or a callable(outputs, targets), got {type(m).__name__}")
    name = m.lower()
    if name in ("accuracy", "acc"):
        return "accuracy", _metrics.accuracy
    if name == "top_k_accuracy":
        name = "top5_accuracy"
    if name.startswith("top") and name.endswith("_accuracy") and name[3:-9].isdigit():
        k = int(name[3:-9])
        return name, lambda out, y: _metrics.top_k_accuracy(out, y, k)
    raise ValueError(f"fit: unknown metric {m!r}; use 'accuracy', 'topK_accuracy' (e.g. 'top5_accuracy') "
                     f"or a callable(outputs, targets)")


def _scalar(v):
    return v.item() if isinstance(v, Tensor) else float(v)


# ---- data-parallel runs ------------------------------------------------------------------
def _process_group():
    """dlcore.distributed when a process group is initialized, else None (never imports it)."""
    dist = sys.modules.get(__package__ + ".distributed")
    return dist if dist is not None and dist.is_initialized() else None


def _is_main_process() -> bool:
    dist = _process_group()
    return dist is None or dist.get_rank() == 0


def _sum_over_ranks(values, op="sum"):
    """values (floats) summed (or maxed) over all ranks; unchanged in a single process."""
    dist = _process_group()
    if dist is None:
        return list(values)
    from .creation import tensor
    t = tensor([float(v) for v in values], dtype="float64")
    dist.all_reduce(t, op=dist.ReduceOp.SUM if op == "sum" else dist.ReduceOp.MAX)
    return t.tolist()


# ---- History -----------------------------------------------------------------------------
class History(dict):
    """Per-epoch training record: a dict of lists, e.g. h["loss"], h["val_accuracy"], h["lr"].

    Keys: loss, <metric>, val_loss, val_<metric> (when validating), lr, samples_per_s, time.
    h.epochs is the number of epochs recorded.
    """

    @property
    def epochs(self) -> int:
        return len(self.get("loss", ()))

    def append(self, row: dict[str, Any]) -> None:
        for k, v in row.items():
            self.setdefault(k, []).append(v)

    def best(self, monitor: str = "val_loss", mode: str = "auto") -> tuple[int, Any]:
        """(epoch index, value) of the best entry of ``monitor``."""
        vals = self[monitor]
        if not vals:
            raise ValueError(f"History.best: no values recorded for {monitor!r}")
        sign = 1.0 if _resolve_mode(mode, monitor) == "min" else -1.0
        i = min(range(len(vals)), key=lambda j: sign * vals[j])
        return i, vals[i]

    def plot(self, path: str | os.PathLike[str], keys: Optional[Sequence[str]] = None,
             dpi: int = 100) -> str | os.PathLike[str] | None:
        """Writes the loss and metric curves (train and validation) as a PNG at ``path``.

        One panel per quantity: loss, each metric, and lr when it changed. Needs matplotlib
        (only its Agg canvas is used: no window, no global pyplot state touched). In a
        data-parallel run only rank 0 writes the file (the others return None).
        """
        if not _is_main_process():
            return None
        try:
            from matplotlib.figure import Figure
            from matplotlib.backends.backend_agg import FigureCanvasAgg
        except ImportError as e:
            raise ImportError("History.plot needs matplotlib: pip install matplotlib") from e
        if keys is None:
            keys = [k for k in self if not k.startswith("val_") and k not in ("lr", "samples_per_s", "time")]
            if len(set(self.get("lr", ()))) > 1:
                keys.append("lr")
        keys = [k for k in keys if k in self]
        if not keys:
            raise ValueError("History.plot: nothing recorded to plot")
        fig = Figure(figsize=(4.5 * len(keys), 3.5))
        FigureCanvasAgg(fig)
        for i, k in enumerate(keys):
            ax = fig.add_subplot(1, len(keys), i + 1)
            epochs = range(1, len(self[k]) + 1)
            ax.plot(epochs, self[k], marker="o", ms=3, label="train" if k != "lr" else k)
            if "val_" + k in self:
                ax.plot(range(1, len(self["val_" + k]) + 1), self["val_" + k], marker="o", ms=3,
                        label="validation")
            ax.set_xlabel("epoch")
            ax.set_title(k)
            if k in ("loss", "lr") and all(v > 0 for v in self[k]):
                ax.set_yscale("log")
            ax.grid(alpha=0.3)
            ax.legend()
        fig.tight_layout()
        fig.savefig(os.fspath(path), dpi=dpi, format="png")
        return path


# ---- callbacks ---------------------------------------------------------------------------
class Callback:
    """Base class: override any hook. ``self.trainer`` is set before on_train_begin."""
    trainer: Trainer = None  # type: ignore[assignment]  # set by set_trainer before on_train_begin

    def set_trainer(self, trainer: Trainer) -> None:
        self.trainer = trainer

    def on_train_begin(self, logs: _Logs = None) -> None:
        pass

    def on_epoch_begin(self, epoch: int, logs: _Logs = None) -> None:
        pass

    def on_batch_end(self, batch: int, logs: _Logs = None) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: _Logs = None) -> None:
        pass

    def on_train_end(self, logs: _Logs = None) -> None:
        pass


class LambdaCallback(Callback):
    """Callback from plain functions: LambdaCallback(on_epoch_end=lambda epoch, logs: ...)."""

    def __init__(self, on_train_begin: Optional[Callable[[_Logs], Any]] = None,
                 on_epoch_begin: Optional[Callable[[int, _Logs], Any]] = None,
                 on_batch_end: Optional[Callable[[int, _Logs], Any]] = None,
                 on_epoch_end: Optional[Callable[[int, _Logs], Any]] = None,
                 on_train_end: Optional[Callable[[_Logs], Any]] = None) -> None:
        for name, fn in (("on_train_begin", on_train_begin), ("on_epoch_begin", on_epoch_begin),
                         ("on_batch_end", on_batch_end), ("on_epoch_end", on_epoch_end),
                         ("on_train_end", on_train_end)):
            if fn is not None:
                setattr(self, name, fn)


def _resolve_mode(mode, monitor):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        return "max" if ("acc" in monitor or monitor.startswith("val_top")) else "min"
    return mode


class _Monitor:
    """Tracks the best value of logs[monitor]: improvement means beating it by min_delta."""

    def __init__(self, monitor, mode, min_delta):
        self.monitor = monitor
        self.mode = _resolve_mode(mode, monitor)
        self.min_delta = abs(float(min_delta))
        self.best = math.inf if self.mode == "min" else -math.inf

    def value(self, logs, who):
        if not logs or self.monitor not in logs:
            have = ", ".join(sorted(logs)) if logs else "nothing"
            raise KeyError(f"{who}: monitored quantity {self.monitor!r} is not logged (have: {have}); "
                           f"pass a val_loader to monitor val_* quantities")
        return float(logs[self.monitor])

    def improved(self, v):
        if math.isnan(v):
            return False
        if self.mode == "min":
            return v < self.best - self.min_delta
        return v > self.best + self.min_delta


def _copy_state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


class EarlyStopping(Callback):
    """Stops training when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    restore_best_weights: at the end of training, load the weights of the best epoch back
    into the model (a copy is kept in memory each time the monitor improves).
    After training: best (value), best_epoch and stopped_epoch (0-based; None if not stopped).
    """

    best: float
    best_epoch: Optional[int]
    stopped_epoch: Optional[int]

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0, mode: str = "auto",
                 restore_best_weights: bool = False, verbose: bool = False) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be an int >= 0, got {patience!r}")
        self.monitor, self.patience, self.mode = monitor, patience, mode
        self.min_delta = min_delta
        self.restore_best_weights = bool(restore_best_weights)
        self.verbose = verbose

    def on_train_begin(self, logs: _Logs = None) -> None:
        self._mon = _Monitor(self.monitor, self.mode, self.min_delta)
        self.wait = 0
        self.best, self.best_epoch, self.stopped_epoch = self._mon.best, None, None
        self._best_state = None

    def on_epoch_end(self, epoch: int, logs: _Logs = None) -> None:
        v = self._mon.value(logs, "EarlyStopping")
        if self._mon.improved(v):
            self._mon.best = self.best = v
            self.best_epoch, self.wait = epoch, 0
            if self.restore_best_weights:
                self._best_state = _copy_state(self.trainer.model)
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.trainer.stop_training = True

    def on_train_end(self, logs: _Logs = None) -> None:
        verbose = self.verbose and _is_main_process()
        if self.restore_best_weights and self._best_state is not None:
            self.trainer.model.load_state_dict(self._best_state)
            if verbose:
                print(f"EarlyStopping: restored weights of epoch {self.best_epoch + 1} "
                      f"({self.monitor} = {self.best:.6g})")
        if verbose and self.stopped_epoch is not None:
            print(f"EarlyStopping: stopped after epoch {self.stopped_epoch + 1}")


class ModelCheckpoint(Callback):
    """Saves the model's state_dict with dlcore.save after each epoch (or on improvement).

    path may hold format fields from the epoch's logs: "ckpt-{epoch:03d}-{val_loss:.3f}.dlc"
    (epoch counts from 1). save_best_only: save only when ``monitor`` improves. The file is
    written atomically by dlcore.save (temporary name in the same directory, then renamed over
    ``path``), so a crash mid-write never leaves a truncated checkpoint. ``last_path`` names the latest file.
    In a data-parallel run only rank 0 writes (all ranks hold the same weights).
    """

    def __init__(self, path: str | os.PathLike[str], monitor: str = "val_loss", save_best_only: bool = False,
                 mode: str = "auto", min_delta: float = 0.0, save_optimizer: bool = False) -> None:
        self.path = os.fspath(path)
        self.monitor, self.save_best_only, self.mode, self.min_delta = monitor, save_best_only, mode, min_delta
        self.save_optimizer = save_optimizer
        self.last_path: Optional[str] = None
        self.saved_epochs: list[int] = []

    def on_train_begin(self, logs: _Logs = None) -> None:
        self._mon = _Monitor(self.monitor, self.mode, self.min_delta)

    def on_epoch_end(self, epoch: int, logs: _Logs = None) -> None:
        if self.save_best_only:
            v = self._mon.value(logs, "ModelCheckpoint")
            if not self._mon.improved(v):
                return
            self._mon.best = v
        path = self.path.format(epoch=epoch + 1, **(logs or {}))
        obj = self.trainer.model.state_dict()
        if self.save_optimizer:
            obj = {"model": obj, "optimizer": self.trainer.optimizer.state_dict(), "epoch": epoch + 1}
        if _is_main_process():
            _atomic_save(obj, path)
        self.last_path = path
        self.saved_epochs.append(epoch)


def _atomic_save(obj, path):
    # dlcore.io.save writes to a temporary file beside ``path``, fsyncs and renames it over.
    from .io import save
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    save(obj, path)


class LRSchedulerCallback(Callback):
    """Steps an LR scheduler: once per epoch (default) or once per batch (per_batch=True).

    A ReduceLROnPlateau-like scheduler (its step takes the monitored value) gets
    logs[monitor]; any other scheduler gets step().
    """

    def __init__(self, scheduler: LRScheduler, monitor: str = "val_loss", per_batch: bool = False) -> None:
        self.scheduler, self.monitor, self.per_batch = scheduler, monitor, per_batch
        self._plateau = type(scheduler).__name__ == "ReduceLROnPlateau" or hasattr(scheduler, "num_bad_epochs")

    def on_batch_end(self, batch: int, logs: _Logs = None) -> None:
        if self.per_batch:
            self.scheduler.step()

    def on_epoch_end(self, epoch: int, logs: _Logs = None) -> None:
        if self.per_batch:
            return
        if self._plateau:
            self.scheduler.step(_Monitor(self.monitor, "auto", 0).value(logs, "LRSchedulerCallback"))
        else:
            self.scheduler.step()


def _fmt_rate(r):
    return f"{r / 1e3:.1f}k" if r >= 1e4 else f"{r:.0f}"


def _fmt_logs(logs, keys):
    out = []
    for k in keys:
        if k in logs:
            v = logs[k]
            out.append(f"{k} {v:.4f}" if isinstance(v, float) and abs(v) >= 1e-3 or v == 0 else f"{k} {v:.3g}")
    return " ".join(out)


class ProgressBar(Callback):
    """Progress display. On a TTY: one line per epoch, redrawn in place with '\\r' (at most
    every ``interval`` s) as [=====>    ] batches, running loss and metrics, samples/s.
    Not a TTY (log file, CI, pipe): one plain line per epoch, written when the epoch ends.
    Silent on every rank but 0 in a data-parallel run.
    """

    def __init__(self, stream: Optional[TextIO] = None, width: int = 25, interval: float = 0.1,
                 tty: Optional[bool] = None) -> None:
        self.stream = stream
        self.width, self.interval, self.tty = width, interval, tty

    def on_train_begin(self, logs: _Logs = None) -> None:
        self._out = self.stream if self.stream is not None else sys.stdout
        isatty = getattr(self._out, "isatty", None)
        self._tty = self.tty if self.tty is not None else bool(isatty and isatty())
        self._epochs = self.trainer.epochs
        self._keys = ["loss"] + self.trainer.metric_names
        self._quiet = not _is_main_process()

    def on_epoch_begin(self, epoch: int, logs: _Logs = None) -> None:
        self._epoch, self._t0, self._last, self._seen = epoch, time.perf_counter(), 0.0, 0
        self._nb = self.trainer.batches_per_epoch

    def _head(self):
        w = len(str(self._epochs))
        return f"epoch {self._epoch + 1:>{w}}/{self._epochs}"

    def on_batch_end(self, batch: int, logs: _Logs = None) -> None:
        self._seen += logs["size"]  # type: ignore[index]  # the Trainer always passes logs
        if not self._tty or self._quiet:
            return
        now = time.perf_counter()
        if now - self._last < self.interval and (self._nb is None or batch + 1 < self._nb):
            return
        self._last = now
        if self._nb:
            done = min(int(self.width * (batch + 1) / self._nb), self.width)
            bar = "=" * self.width if done == self.width else "=" * done + ">" + " " * (self.width - done - 1)
            where = f"[{bar}] {batch + 1}/{self._nb}"
        else:
            where = f"{batch + 1} batches"
        rate = self._seen / max(now - self._t0, 1e-9)
        self._out.write(f"\r{self._head()} {where} {_fmt_logs(logs, self._keys)} {_fmt_rate(rate)} samples/s\x1b[K")
        self._out.flush()

    def on_epoch_end(self, epoch: int, logs: _Logs = None) -> None:
        if self._quiet:
            return
        keys = self._keys + ["val_" + k for k in self._keys]
        line = (f"{self._head()} {_fmt_logs(logs, keys)} "     # (the Trainer always passes logs)
                f"{_fmt_rate(logs.get('samples_per_s', 0.0))} samples/s "  # type: ignore[union-attr]
                f"{logs.get('time', 0.0):.1f}s")  # type: ignore[union-attr]
        self._out.write(("\r" + line + "\x1b[K\n") if self._tty else line + "\n")
        self._out.flush()


# ---- the loop ----------------------------------------------------------------------------
def _split_batch(batch, op):
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1]
    raise ValueError(f"{op}: each batch must be a pair (inputs, targets), got "
                     f"{type(batch).__name__}{'' if not isinstance(batch, (tuple, list)) else f' of {len(batch)}'}")


def _to(x, device):
    if device is None:
        return x
    if isinstance(x, Tensor):
        return x if x.device == device else x.to(device)
    if isinstance(x, (tuple, list)):
        return type(x)(_to(v, device) for v in x)
    return x


def _call(model, x):
    return model(*x) if isinstance(x, (tuple, list)) else model(x)


def _batch_size(x):
    while isinstance(x, (tuple, list)):
        x = x[0]
    return x.shape[0] if isinstance(x, Tensor) and x.ndim else 1


def _model_device(model):
    for p in model.parameters():
        return p.device
    return None


class Trainer:
    """The state fit() runs with; callbacks reach it as ``self.trainer``."""

    def __init__(self, model: Module, loss_fn: Callable[[Any, Any], Any], optimizer: Optimizer,
                 metrics: Sequence[_Metric] = (), callbacks: Iterable[Callback] = (),
                 device: device | str | int | None = None) -> None:
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        resolved = [_resolve_metric(m) for m in (metrics or ())]
        self.metric_names = [n for n, _ in resolved]
        self._metric_fns = [f for _, f in resolved]
        if len(set(self.metric_names)) != len(self.metric_names):
            raise ValueError(f"fit: duplicate metric names {self.metric_names}")
        self.callbacks = list(callbacks or ())
        for c in self.callbacks:
            if not isinstance(c, Callback):
                raise TypeError(f"fit: callbacks must be dlcore.train.Callback instances, got {type(c).__name__}")
        self.device = device if device is not None else _model_device(model)
        self.history = History()
        self.stop_training = False
        self.epoch = 0
        self.epochs = 0
        self.batches_per_epoch: Optional[int] = None

    def _lr(self):
        groups = getattr(self.optimizer, "param_groups", None)
        return float(groups[0]["lr"]) if groups else float("nan")

    def train_epoch(self, loader: Iterable[Any]) -> dict[str, float]:
        """One pass over ``loader``: returns {"loss", <metrics>, "samples_per_s"}."""
        model, loss_fn, opt, dev = self.model, self.loss_fn, self.optimizer, self.device
        fns, names, cbs = self._metric_fns, self.metric_names, self.callbacks
        model.train()
        loss_sum, n_seen = 0.0, 0
        m_sums = [0.0] * len(fns)
        t0 = time.perf_counter()
        for i, batch in enumerate(loader):
            x, y = _split_batch(batch, "fit")
            x, y = _to(x, dev), _to(y, dev)
            out = _call(model, x)
            loss = loss_fn(out, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            n = _batch_size(x)
            n_seen += n
            lv = loss.item()
            if not math.isfinite(lv):
                raise FloatingPointError(f"fit: loss became {lv} at epoch {self.epoch + 1}, batch {i + 1}; "
                                         f"lower the learning rate or check the data")
            loss_sum += lv * n
            for j, f in enumerate(fns):
                m_sums[j] += _scalar(f(out.detach(), y)) * n
            if cbs:
                logs = {"batch": i, "size": n, "loss": loss_sum / n_seen}
                for name, s in zip(names, m_sums):
                    logs[name] = s / n_seen
                for c in cbs:
                    c.on_batch_end(i, logs)
        dt = time.perf_counter() - t0
        loss_sum, n_seen, *m_sums = _sum_over_ranks([loss_sum, n_seen] + m_sums)
        dt, = _sum_over_ranks([dt], op="max")
        if n_seen == 0:
            raise ValueError("fit: the training loader yielded no batches")
        row = {"loss": loss_sum / n_seen}
        for name, s in zip(names, m_sums):
            row[name] = s / n_seen
        row["samples_per_s"] = n_seen / dt if dt > 0 else float("inf")
        return row

    def evaluate(self, loader: Iterable[Any]) -> dict[str, float]:
        named = list(zip(self.metric_names, self._metric_fns))
        loss_sum, n_seen, *sums = _sum_over_ranks(_evaluate_sums(self.model, self.loss_fn, loader, named, self.device))
        return _evaluate_means(self.loss_fn, named, loss_sum, n_seen, sums)

    def fit(self, train_loader: Iterable[Any], val_loader: Optional[Iterable[Any]] = None,
            epochs: int = 1) -> History:
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"fit: epochs must be an int >= 1, got {epochs!r}")
        self.epochs, self.stop_training = epochs, False
        try:
            self.batches_per_epoch = len(train_loader)  # type: ignore[arg-type]  # TypeError: no len
        except TypeError:
            self.batches_per_epoch = None
        cbs = self.callbacks
        for c in cbs:
            c.set_trainer(self)
        for c in cbs:
            c.on_train_begin({})
        try:
            for epoch in range(epochs):
                self.epoch = epoch
                lr = self._lr()
                for c in cbs:
                    c.on_epoch_begin(epoch, {"lr": lr})
                for loader in (train_loader, val_loader):       # DistributedSampler: this epoch's shuffle
                    sampler: Any = getattr(loader, "sampler", None)
                    if hasattr(sampler, "set_epoch"):
                        sampler.set_epoch(epoch)
                t0 = time.perf_counter()
                row = self.train_epoch(train_loader)
                if val_loader is not None:
                    for k, v in self.evaluate(val_loader).items():
                        row["val_" + k] = v
                row["lr"] = lr
                row["time"] = time.perf_counter() - t0
                self.history.append(row)
                logs = dict(row)            # one dict for all: a callback may add entries for later ones
                for c in cbs:
                    c.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
        finally:
            for c in cbs:
                c.on_train_end({"history": self.history})
        return self.history


def fit(model: Module, loss_fn: Callable[[Any, Any], Any], optimizer: Optimizer, train_loader: Iterable[Any],
        val_loader: Optional[Iterable[Any]] = None, epochs: int = 1, metrics: Sequence[_Metric] = (),
        callbacks: Iterable[Callback] = (), scheduler: Optional[LRScheduler] = None,
        progress: Union[bool, str] = "auto", device: device | str | int | None = None) -> History:
    """Trains ``model`` for ``epochs`` passes over ``train_loader``; returns the History.

    loss_fn(outputs, targets) -> scalar tensor; batches are (inputs, targets) pairs (inputs
    may be a tuple of model arguments). metrics: names ('accuracy', 'top5_accuracy') or
    callables(outputs, targets) -> float, averaged over the samples of each epoch.
    scheduler: an LR scheduler stepped after every epoch (ReduceLROnPlateau gets val_loss,
    or loss without a val_loader). progress: "auto"/True adds a ProgressBar on stdout
    (unless callbacks already hold one), False adds none. device: where batches go
    (default: the device of the model's parameters). Stops early when a callback sets
    ``trainer.stop_training``.
    """
    callbacks = list(callbacks or ())
    if scheduler is not None:
        callbacks.append(LRSchedulerCallback(scheduler, monitor="val_loss" if val_loader is not None else "loss"))
    if progress and not any(isinstance(c, ProgressBar) for c in callbacks):
        callbacks.append(ProgressBar())
    trainer = Trainer(model, loss_fn, optimizer, metrics=metrics, callbacks=callbacks, device=device)
    return trainer.fit(train_loader, val_loader, epochs)


def evaluate(model: Module, loss_fn: Optional[Callable[[Any, Any], Any]], loader: Iterable[Any],
             metrics: Sequence[_Metric | tuple[str, Callable[[Any, Any], Any]]] = (),
             device: device | str | int | None = None) -> dict[str, float]:
    """Mean loss and metrics over ``loader`` in eval() mode without building a graph.

    Returns {"loss": ..., <metric>: ...} (no "loss" when loss_fn is None). The model's
    train/eval mode is restored afterwards.
    """
    named = [m if isinstance(m, tuple) else _resolve_metric(m) for m in (metrics or ())]
    loss_sum, n_seen, *sums = _evaluate_sums(model, loss_fn, loader, named, device)
    return _evaluate_means(loss_fn, named, loss_sum, n_seen, sums)


def _evaluate_sums(model, loss_fn, loader, named, device):
    """[loss sum, samples, metric sums...] over ``loader`` in eval() mode without a graph."""
    dev = device if device is not None else _model_device(model)
    was_training = getattr(model, "training", False)
    model.eval()
    loss_sum, n_seen, sums = 0.0, 0, [0.0] * len(named)
    try:
        with no_grad():
            for batch in loader:
                x, y = _split_batch(batch, "evaluate")
                x, y = _to(x, dev), _to(y, dev)
                out = _call(model, x)
                n = _batch_size(x)
                n_seen += n
                if loss_fn is not None:
                    loss_sum += loss_fn(out, y).item() * n
                for j, (_, f) in enumerate(named):
                    sums[j] += _scalar(f(out, y)) * n
    finally:
        model.train(was_training)
    return [loss_sum, n_seen] + sums


def _evaluate_means(loss_fn, named, loss_sum, n_seen, sums):
    if n_seen == 0:
        raise ValueError("evaluate: the loader yielded no batches")
    res = {"loss": loss_sum / n_seen} if loss_fn is not None else {}
    for (name, _), s in zip(named, sums):
        res[name] = s / n_seen
    return res


def predict(model: Module, data: Tensor | Iterable[Any], batch_size: int = 256,
            device: device | str | int | None = None) -> Tensor:
    """Model outputs for every sample, concatenated along dim 0, in eval() mode under no_grad.

    data: a tensor of inputs (split into batches of ``batch_size``), or an iterable of
    batches (a DataLoader), each either inputs or an (inputs, targets) pair.
    """
    from .views import cat
    dev = device if device is not None else _model_device(model)
    if isinstance(data, Tensor):
        batches: Iterable[Any] = (data[s:s + batch_size] for s in range(0, data.shape[0], batch_size))
    else:
        batches = data
    was_training = getattr(model, "training", False)
    model.eval()
    outs = []
    try:
        with no_grad():
            for b in batches:
                if isinstance(b, (tuple, list)) and len(b) == 2 and not isinstance(data, Tensor):
                    b = b[0]
                outs.append(_call(model, _to(b, dev)))
    finally:
        model.train(was_training)
    if not outs:
        raise ValueError("predict: no data")
    return outs[0] if len(outs) == 1 else cat(outs, 0)
