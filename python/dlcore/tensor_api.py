"""The Tensor methods of the indexing, sorting, shape-utility and numerics families (PyTorch's
spellings), installed on Tensor when dlcore is imported."""
from __future__ import annotations

from ._dtype import int64
from .tensor import Tensor
from . import indexing as _ix, sorting as _so, shape_utils as _su, numerics as _nu


def _softmax(self, dim, dtype=None):
    from .nn import functional as F
    return F.softmax(self, dim, dtype=dtype)


def _log_softmax(self, dim, dtype=None):
    from .nn import functional as F
    return F.log_softmax(self, dim, dtype=dtype)


def _int(self):
    # dlcore's integer dtype is int64 (there is no int32): .int() gives it, as .long() does.
    return self.to(dtype=int64)


def _norm(self, p="fro", dim=None, keepdim=False, dtype=None):
    return _nu.norm(self, p, dim, keepdim, dtype)


_METHODS = dict(
    gather=_ix.gather, scatter=_ix.scatter, scatter_=_ix.scatter_, scatter_add=_ix.scatter_add,
    scatter_add_=_ix.scatter_add_, index_add=_ix.index_add, index_add_=_ix.index_add_,
    take_along_dim=_ix.take_along_dim, masked_fill=_ix.masked_fill, masked_fill_=_ix.masked_fill_,
    masked_select=_ix.masked_select,
    sort=_so.sort, argsort=_so.argsort, msort=_so.msort, topk=_so.topk, kthvalue=_so.kthvalue,
    median=_so.median, cumsum=_so.cumsum, cumprod=_so.cumprod, logcumsumexp=_so.logcumsumexp,
    logsumexp=_so.logsumexp,
    split=_su.split, chunk=_su.chunk, tensor_split=_su.tensor_split, unbind=_su.unbind,
    flip=_su.flip, fliplr=_su.fliplr, flipud=_su.flipud, roll=_su.roll, tril=_su.tril,
    triu=_su.triu, repeat=_su.repeat, tile=_su.tile, repeat_interleave=_su.repeat_interleave,
    outer=_su.outer, ger=_su.ger, view_as=_su.view_as, reshape_as=_su.reshape_as,
    type_as=_su.type_as,
    norm=_norm, isnan=_nu.isnan, isinf=_nu.isinf, isfinite=_nu.isfinite, isposinf=_nu.isposinf,
    isneginf=_nu.isneginf, isclose=_nu.isclose, allclose=_nu.allclose, equal=_nu.equal,
    nan_to_num=_nu.nan_to_num, lerp=_nu.lerp, uniform_=_nu.uniform_, normal_=_nu.normal_,
    clamp_=_nu.clamp_, clip_=_nu.clamp_, clamp_min=_nu.clamp_min, clamp_max=_nu.clamp_max,
    softmax=_softmax, log_softmax=_log_softmax, int=_int,
)

for _name, _fn in _METHODS.items():
    if not hasattr(Tensor, _name):   # never replace a method another family defines
        setattr(Tensor, _name, _fn)
