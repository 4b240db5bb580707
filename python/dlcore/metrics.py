"""Classification metrics on dlcore tensors: accuracy, top-k accuracy, confusion matrix.

    from dlcore.metrics import accuracy, top_k_accuracy, confusion_matrix
    acc = accuracy(logits, y)                  # float in [0, 1]
    top5 = top_k_accuracy(logits, y, k=5)
    cm = confusion_matrix(logits.argmax(1), y, num_classes=10)   # int64 (C, C), rows = true class

Every metric is a few whole-tensor ops (argmax, comparisons, one matmul), never a Python loop
over samples, so it runs on whatever device the tensors live on and costs microseconds per
batch. ``outputs`` may be scores (N, C) — logits or probabilities, whichever: only their
order matters — or predicted labels (N,) int64. A float output of shape (N,) or (N, 1) is a
binary score and is thresholded (``threshold``, 0.5 by default: pass 0.0 for logits).
"""
from __future__ import annotations

from .tensor import Tensor
from ._dtype import bool_, float64, int64


def _check_targets(targets, n, op):
    if not isinstance(targets, Tensor):
        raise TypeError(f"{op}: targets must be a dlcore tensor, got {type(targets).__name__}")
    if targets.dtype is not int64 and targets.dtype is not bool_:
        raise TypeError(f"{op}: targets must be int64 class labels, got {targets.dtype}")
    if targets.ndim == 2 and targets.shape[1] == 1:
        targets = targets.reshape(-1)
    if targets.ndim != 1 or targets.shape[0] != n:
        raise ValueError(f"{op}: targets of shape {tuple(targets.shape)} do not match {n} predictions "
                         f"(expected ({n},))")
    return targets.long() if targets.dtype is bool_ else targets


def predictions(outputs: Tensor, threshold: float = 0.5, op: str = "predictions") -> Tensor:
    """Predicted labels (N,) int64 from scores (N, C), binary scores (N,)/(N, 1), or labels (N,)."""
    if not isinstance(outputs, Tensor):
        raise TypeError(f"{op}: outputs must be a dlcore tensor, got {type(outputs).__name__}")
    outputs = outputs.detach()
    if outputs.dtype is int64 or outputs.dtype is bool_:
        if outputs.ndim == 2 and outputs.shape[1] == 1:
            outputs = outputs.reshape(-1)
        if outputs.ndim != 1:
            raise ValueError(f"{op}: integer outputs must be labels of shape (N,), got {tuple(outputs.shape)}")
        return outputs.long()
    if outputs.ndim == 1 or (outputs.ndim == 2 and outputs.shape[1] == 1):
        return (outputs.reshape(-1) > threshold).long()
    if outputs.ndim != 2:
        raise ValueError(f"{op}: outputs must be scores (N, C) or labels (N,), got shape {tuple(outputs.shape)}")
    return outputs.argmax(dim=1)


def accuracy(outputs: Tensor, targets: Tensor, threshold: float = 0.5) -> float:
    """Fraction of samples whose predicted class equals the target (0.0 for an empty batch)."""
    pred = predictions(outputs, threshold, "accuracy")
    targets = _check_targets(targets, pred.shape[0], "accuracy")
    n = pred.shape[0]
    if n == 0:
        return 0.0
    return (pred == targets.to(pred.device)).sum().item() / n


def top_k_accuracy(outputs: Tensor, targets: Tensor, k: int = 5) -> float:
    """Fraction of samples whose target is among the k highest scores of (N, C) ``outputs``.

    A sample counts as correct when fewer than k classes score strictly higher than its
    target class: the target's score is picked out with a one-hot mask (no gather needed),
    compared against the whole row, and the "beaten by" count thresholded. Ties with the
    target therefore count in its favour (torch.topk breaks them arbitrarily).
    """
    if not isinstance(outputs, Tensor):
        raise TypeError(f"top_k_accuracy: outputs must be a dlcore tensor, got {type(outputs).__name__}")
    if outputs.ndim != 2 or not outputs.is_floating_point():
        raise ValueError(f"top_k_accuracy: outputs must be float scores (N, C), got "
                         f"{tuple(outputs.shape)} {outputs.dtype}")
    n, c = outputs.shape
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"top_k_accuracy: k must be an int >= 1, got {k!r}")
    targets = _check_targets(targets, n, "top_k_accuracy").to(outputs.device)
    if n == 0:
        return 0.0
    if k >= c:
        return 1.0
    from .ops import where
    from .creation import arange
    scores = outputs.detach()
    onehot = targets.reshape(n, 1) == arange(c, device=outputs.device).reshape(1, c)
    target_score = where(onehot, scores, 0.0).sum(dim=1, keepdim=True)          # (N, 1)
    beaten_by = (scores > target_score).sum(dim=1)                               # (N,) int64
    return (beaten_by < k).sum().item() / n


def confusion_matrix(preds: Tensor, targets: Tensor, num_classes: int | None = None) -> Tensor:
    """(C, C) int64 counts: entry [i, j] = number of samples of true class i predicted as j.

    ``preds`` may be labels (N,) or scores (N, C) (argmax taken). num_classes defaults to
    1 + the largest label seen (or C of the scores). Computed as onehot(targets)^T @
    onehot(preds) in float64 (exact for counts below 2^53) — one GEMM instead of a loop.
    """
    pred = predictions(preds, op="confusion_matrix")
    n = pred.shape[0]
    targets = _check_targets(targets, n, "confusion_matrix").to(pred.device)
    if num_classes is None:
        if preds.ndim == 2 and preds.shape[1] > 1 and preds.is_floating_point():
            num_classes = preds.shape[1]
        else:
            num_classes = 1 + max(int(pred.max().item()) if n else 0, int(targets.max().item()) if n else 0)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"confusion_matrix: num_classes must be an int >= 1, got {num_classes!r}")
    from .creation import arange, zeros
    if n == 0:
        return zeros(num_classes, num_classes, dtype=int64, device=pred.device)
    lo = min(int(pred.min().item()), int(targets.min().item()))
    hi = max(int(pred.max().item()), int(targets.max().item()))
    if lo < 0 or hi >= num_classes:
        raise ValueError(f"confusion_matrix: labels must lie in [0, {num_classes}), got values in [{lo}, {hi}]")
    classes = arange(num_classes, device=pred.device).reshape(1, num_classes)
    t1 = (targets.reshape(n, 1) == classes).to(dtype=float64)
    p1 = (pred.reshape(n, 1) == classes).to(dtype=float64)
    return (t1.T @ p1).round().long()


def per_class_accuracy(cm: Tensor) -> Tensor:
    """Recall of each class from a confusion matrix: diagonal / row sums (NaN-free: 0 for empty rows)."""
    import numpy as np
    from .tensor import from_numpy
    a = np.asarray(cm, dtype=np.float64)
    rows = a.sum(axis=1)
    return from_numpy(np.divide(np.diag(a), rows, out=np.zeros_like(rows), where=rows > 0))
