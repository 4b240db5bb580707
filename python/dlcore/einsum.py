"""einsum: Einstein summation, every contraction routed to the project's GEMM.

Two operands: each index letter is a batch index (in both operands and kept), a contracted
index (in both, not kept), or belongs to one side only. The operands are permuted to
(batch, left, contracted) and (batch, contracted, right), flattened to three dims each, and
multiplied with one batched matmul; the product is unflattened and permuted into the output
order. Letters that appear in one operand only and are not kept are summed first. More than two
operands contract pairwise from the left, keeping the letters later operands or the output need.
Ellipsis ("...") stands for broadcast dims. A letter repeated within one operand takes that
operand's diagonal first ('ii->' is the trace). Every step is differentiable, so einsum is too.
"""
from __future__ import annotations

from typing import Sequence

from .tensor import Tensor
from . import ops as _ops
from . import views as _views


def _parse(equation, operands):
    eq = equation.replace(" ", "")
    if "->" in eq:
        lhs, out = eq.split("->")
        explicit = True
    else:
        lhs, out, explicit = eq, "", False
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise ValueError(f"einsum: equation {equation!r} names {len(terms)} operands, got {len(operands)}")
    used = set(c for c in eq if c.isalpha())
    spare = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in used]
    ell_dims = 0
    for t, x in zip(terms, operands):
        if "..." in t:
            ell_dims = max(ell_dims, x.ndim - len(t.replace("...", "")))
    ell = "".join(spare[:ell_dims])
    parsed = []
    for t, x in zip(terms, operands):
        if "..." in t:
            k = x.ndim - len(t.replace("...", ""))
            if k < 0:
                raise ValueError(f"einsum: operand of shape {tuple(x.shape)} has fewer dims than {t!r}")
            t = t.replace("...", ell[ell_dims - k:])
        if not all(c.isalpha() for c in t):
            raise ValueError(f"einsum: invalid subscripts {t!r} in {equation!r}")
        if len(t) != x.ndim:
            raise ValueError(f"einsum: subscripts {t!r} need {len(t)} dims, operand has shape {tuple(x.shape)}")
        parsed.append(t)
    if explicit:
        out = out.replace("...", ell)
    else:
        counts = {}
        for t in parsed:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    if len(set(out)) != len(out) or any(c not in "".join(parsed) for c in out):
        raise ValueError(f"einsum: invalid output subscripts {out!r} in {equation!r}")
    return parsed, out


def _diagonals(x, t):
    """A letter repeated within one operand ('ii', 'bjj') takes the diagonal (a strided view)."""
    while len(set(t)) != len(t):
        c = next(ch for ch in t if t.count(ch) > 1)
        i = t.index(c)
        j = t.index(c, i + 1)
        if x.shape[i] != x.shape[j]:
            raise ValueError(f"einsum: subscript {c!r} is repeated in {t!r} over dims of sizes "
                             f"{x.shape[i]} and {x.shape[j]} (shape {tuple(x.shape)})")
        x = _views.diagonal(x, 0, i, j)
        t = t[:i] + t[i + 1:j] + t[j + 1:] + c
    return x, t


def _sum_out(x, letters, keep):
    drop = [k for k, c in enumerate(letters) if c not in keep]
    if not drop:
        return x, letters
    return _ops.sum(x, drop), "".join(c for c in letters if c in keep)


def _contract(a, la, b, lb, keep):
    """a (letters la) times b (letters lb), keeping the letters in `keep`."""
    a, la = _sum_out(a, la, set(lb) | keep)
    b, lb = _sum_out(b, lb, set(la) | keep)
    size = {}
    for x, letters in ((a, la), (b, lb)):
        for c, s in zip(letters, x.shape):
            if c in size and size[c] != s:
                if 1 not in (size[c], s):
                    raise ValueError(f"einsum: subscript {c!r} has sizes {size[c]} and {s}")
                size[c] = s if size[c] == 1 else size[c]   # a size-1 dim broadcasts
            else:
                size[c] = s
    batch = [c for c in la if c in lb and c in keep]
    contr = [c for c in la if c in lb and c not in keep]
    left = [c for c in la if c not in lb]
    right = [c for c in lb if c not in la]

    def arrange(x, letters, order):
        x = _views.permute(x, *[letters.index(c) for c in order]) if order else x
        want = [size[c] for c in order]
        if list(x.shape) != want:
            x = _views.expand(x, *want)
        return x

    def prod(cs):
        n = 1
        for c in cs:
            n *= size[c]
        return n

    A = _views.reshape(arrange(a, la, batch + left + contr), [prod(batch), prod(left), prod(contr)])
    B = _views.reshape(arrange(b, lb, batch + contr + right), [prod(batch), prod(contr), prod(right)])
    C = _ops.matmul(A, B)
    letters = batch + left + right
    return _views.reshape(C, [size[c] for c in letters]), "".join(letters)


def einsum(equation: str, *operands: Tensor | Sequence[Tensor]) -> Tensor:
    """torch.einsum: e.g. einsum('bij,bjk->bik', a, b); operands may also come as one list."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands or not all(isinstance(x, Tensor) for x in operands):
        raise TypeError("einsum: expected one or more tensors")
    terms, out = _parse(equation, operands)
    ops_terms = [_diagonals(x, t) for x, t in zip(operands, terms)]
    operands = tuple(x for x, _ in ops_terms)
    terms = [t for _, t in ops_terms]
    x, lx = operands[0], terms[0]
    if len(operands) == 1:
        x, lx = _sum_out(x, lx, set(out))
    for k in range(1, len(operands)):
        keep = set(out).union(*[set(t) for t in terms[k + 1:]])
        x, lx = _contract(x, lx, operands[k], terms[k], keep)
    x, lx = _sum_out(x, lx, set(out))
    if lx != out:
        x = _views.permute(x, *[lx.index(c) for c in out])
    return x
