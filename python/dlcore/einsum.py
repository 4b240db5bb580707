"""einsum: Einstein summation, every contraction routed to the project's GEMM.

Two operands: each index letter is a batch index (in both operands and kept), a contracted
index (in both, not kept), or belongs to one side only. The operands are permuted to
(batch, left, contracted) and (batch, contracted, right), flattened to three dims each, and
multiplied with one batched matmul; the product is unflattened and permuted into the output
order. Letters that appear in one operand only and are not kept are summed first. More than two
operands contract pairwise from the left, keeping the letters later operands or the output need.
Ellipsis ("...") stands for broadcast dims. A letter repeated within one operand takes that
operand's diagonal first ('ii->' is the trace). Every step is differentiable, so einsum is too.

The steps depend only on the equation and the operands' shapes, so they are worked out once
per (equation, shapes) into a plan of view / sum / matmul steps (cached) and each call only
runs the plan. Steps that would do nothing (an identity permute, a reshape to the same shape)
are left out: 'bij,bjk->bik' is a single batched matmul, as fast as calling bmm.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Sequence

from .tensor import Tensor
from . import ops as _ops
from . import views as _views


def _parse(equation, shapes):
    eq = equation.replace(" ", "")
    if "->" in eq:
        lhs, out = eq.split("->")
        explicit = True
    else:
        lhs, out, explicit = eq, "", False
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: equation {equation!r} names {len(terms)} operands, got {len(shapes)}")
    used = set(c for c in eq if c.isalpha())
    spare = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in used]
    ell_dims = 0
    for t, sh in zip(terms, shapes):
        if "..." in t:
            ell_dims = max(ell_dims, len(sh) - len(t.replace("...", "")))
    ell = "".join(spare[:ell_dims])
    parsed = []
    for t, sh in zip(terms, shapes):
        if "..." in t:
            k = len(sh) - len(t.replace("...", ""))
            if k < 0:
                raise ValueError(f"einsum: operand of shape {sh} has fewer dims than {t!r}")
            t = t.replace("...", ell[ell_dims - k:])
        if not all(c.isalpha() for c in t):
            raise ValueError(f"einsum: invalid subscripts {t!r} in {equation!r}")
        if len(t) != len(sh):
            raise ValueError(f"einsum: subscripts {t!r} need {len(t)} dims, operand has shape {sh}")
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


class _Planner:
    """Works out einsum's steps on shapes alone. Operand k lives in register k as (shape,
    letters); each step is (op, register, argument) and updates that register."""

    def __init__(self, shapes, terms):
        self.regs = [(tuple(s), t) for s, t in zip(shapes, terms)]
        self.steps = []

    def diagonals(self, k):
        """A letter repeated within one operand ('ii', 'bjj') takes the diagonal (a strided view)."""
        sh, t = self.regs[k]
        while len(set(t)) != len(t):
            c = next(ch for ch in t if t.count(ch) > 1)
            i = t.index(c)
            j = t.index(c, i + 1)
            if sh[i] != sh[j]:
                raise ValueError(f"einsum: subscript {c!r} is repeated in {t!r} over dims of sizes "
                                 f"{sh[i]} and {sh[j]} (shape {sh})")
            self.steps.append(("diagonal", k, (i, j)))
            sh = sh[:i] + sh[i + 1:j] + sh[j + 1:] + (sh[i],)
            t = t[:i] + t[i + 1:j] + t[j + 1:] + c
        self.regs[k] = (sh, t)

    def sum_out(self, k, keep):
        sh, t = self.regs[k]
        drop = [d for d, c in enumerate(t) if c not in keep]
        if drop:
            self.steps.append(("sum", k, drop))
            self.regs[k] = (tuple(s for s, c in zip(sh, t) if c in keep), "".join(c for c in t if c in keep))

    def permute(self, k, order):
        sh, t = self.regs[k]
        dims = [t.index(c) for c in order]
        if dims != list(range(len(t))):
            self.steps.append(("permute", k, dims))
            self.regs[k] = (tuple(sh[d] for d in dims), "".join(order))

    def view(self, k, op, shape, letters):
        if tuple(shape) != self.regs[k][0]:
            self.steps.append((op, k, list(shape)))
        self.regs[k] = (tuple(shape), letters)

    def contract(self, ka, kb, keep):
        """Register ka times register kb into ka, keeping the letters in `keep`."""
        self.sum_out(ka, set(self.regs[kb][1]) | keep)
        self.sum_out(kb, set(self.regs[ka][1]) | keep)
        (sa, la), (sb, lb) = self.regs[ka], self.regs[kb]
        size = {}
        for sh, letters in ((sa, la), (sb, lb)):
            for c, s in zip(letters, sh):
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

        def prod(cs):
            n = 1
            for c in cs:
                n *= size[c]
            return n

        for k, order, dims in ((ka, batch + left + contr, (batch, left, contr)),
                               (kb, batch + contr + right, (batch, contr, right))):
            self.permute(k, order)
            self.view(k, "expand", [size[c] for c in order], "".join(order))
            self.view(k, "reshape", [prod(d) for d in dims], None)
        self.steps.append(("matmul", ka, kb))
        letters = batch + left + right
        self.regs[ka] = ((prod(batch), prod(left), prod(right)), None)
        self.view(ka, "reshape", [size[c] for c in letters], "".join(letters))


@lru_cache(maxsize=512)
def _plan(equation, shapes):
    terms, out = _parse(equation, shapes)
    p = _Planner(shapes, terms)
    for k in range(len(shapes)):
        p.diagonals(k)
    if len(shapes) == 1:
        p.sum_out(0, set(out))
    for k in range(1, len(shapes)):
        keep = set(out).union(*[set(t) for _, t in p.regs[k + 1:]])
        p.contract(0, k, keep)
    p.sum_out(0, set(out))
    p.permute(0, list(out))
    return tuple(p.steps)


def einsum(equation: str, *operands: Tensor | Sequence[Tensor]) -> Tensor:
    """torch.einsum: e.g. einsum('bij,bjk->bik', a, b); operands may also come as one list."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands or not all(isinstance(x, Tensor) for x in operands):
        raise TypeError("einsum: expected one or more tensors")
    regs = list(operands)
    for op, k, arg in _plan(equation, tuple(tuple(x.shape) for x in operands)):
        x = regs[k]
        if op == "matmul":
            regs[k] = _ops.matmul(x, regs[arg])
        elif op == "reshape":
            regs[k] = _views.reshape(x, arg)
        elif op == "permute":
            regs[k] = _views.permute(x, *arg)
        elif op == "expand":
            regs[k] = _views.expand(x, *arg)
        elif op == "sum":
            regs[k] = _ops.sum(x, arg)
        else:   # "diagonal"
            regs[k] = _views.diagonal(x, 0, *arg)
    return regs[0]
