# Shape utilities against torch: split, chunk, tensor_split, unbind, flip, roll, tril, triu,
# repeat, tile, repeat_interleave, meshgrid, outer, view_as, type_as, .int(); gradients in float64.
import numpy as np
import pytest

import dlcore
from dlcore.autograd import gradcheck
from conftest import T, tt

torch = pytest.importorskip("torch")
hyp = pytest.importorskip("hypothesis")
st = hyp.strategies



def same(a, b):
    assert tuple(a.shape) == tuple(b.shape), (a.shape, b.shape)
    np.testing.assert_array_equal(np.asarray(a.detach()), b.detach().numpy())


shapes = st.lists(st.integers(0, 5), min_size=1, max_size=3)


@hyp.settings(max_examples=20)
@hyp.given(shape=shapes, data=st.data())
def test_split_chunk_unbind_flip_roll(shape, data):
    x = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    d = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[d]
    size = data.draw(st.integers(1, 4))
    for a, b in zip(T(x).split(size, d), tt(x).split(size, d)):
        same(a, b)
    chunks = data.draw(st.integers(1, 4))
    got, want = T(x).chunk(chunks, d), tt(x).chunk(chunks, d)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        same(a, b)
    for a, b in zip(dlcore.tensor_split(T(x), chunks, d), torch.tensor_split(tt(x), chunks, d)):
        same(a, b)
    if n:
        sections = [n // 2, n - n // 2]
        for a, b in zip(dlcore.split(T(x), sections, d), torch.split(tt(x), sections, d)):
            same(a, b)
    for a, b in zip(T(x).unbind(d), tt(x).unbind(d)):
        same(a, b)
    same(T(x).flip(d), tt(x).flip(d))
    same(dlcore.flip(T(x), list(range(len(shape)))), torch.flip(tt(x), list(range(len(shape)))))
    shift = data.draw(st.integers(-7, 7))
    same(T(x).roll(shift, d), tt(x).roll(shift, d))
    same(dlcore.roll(T(x), shift), torch.roll(tt(x), shift))


@hyp.settings(max_examples=15)
@hyp.given(shape=st.lists(st.integers(0, 5), min_size=2, max_size=3), diag=st.integers(-3, 3))
def test_tril_triu(shape, diag):
    x = np.random.default_rng(1).standard_normal(shape)
    same(T(x).tril(diag), tt(x).tril(diag))
    same(dlcore.triu(T(x), diag), torch.triu(tt(x), diag))


@hyp.settings(max_examples=15)
@hyp.given(shape=st.lists(st.integers(0, 3), min_size=0, max_size=3), data=st.data())
def test_repeat_tile_interleave(shape, data):
    x = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    extra = data.draw(st.integers(0, 2))
    reps = data.draw(st.lists(st.integers(0, 3), min_size=len(shape) + extra, max_size=len(shape) + extra))
    if reps:
        same(T(x).repeat(*reps), tt(x).repeat(*reps))
    tdims = data.draw(st.lists(st.integers(1, 3), min_size=0, max_size=3))
    same(dlcore.tile(T(x), tdims), torch.tile(tt(x), tdims))
    r = data.draw(st.integers(0, 3))
    same(dlcore.repeat_interleave(T(x), r), torch.repeat_interleave(tt(x), r))
    if shape:
        d = data.draw(st.integers(-len(shape), len(shape) - 1))
        same(T(x).repeat_interleave(r, dim=d), tt(x).repeat_interleave(r, dim=d))
        counts = np.arange(shape[d]) % 3
        same(T(x).repeat_interleave(T(counts), dim=d), tt(x).repeat_interleave(tt(counts), dim=d))


def test_meshgrid_outer_view_type_int():
    a, b, c = np.arange(3.0), np.arange(4.0) * 2, np.arange(2.0) - 5
    for ind in ("ij", "xy"):
        for g, w in zip(dlcore.meshgrid(T(a), T(b), T(c), indexing=ind),
                        torch.meshgrid(tt(a), tt(b), tt(c), indexing=ind)):
            same(g, w)
    same(dlcore.outer(T(a), T(b)), torch.outer(tt(a), tt(b)))
    same(T(a).outer(T(b)), tt(a).outer(tt(b)))
    x = T(np.arange(6.0).reshape(2, 3))
    assert tuple(x.view_as(dlcore.zeros(3, 2)).shape) == (3, 2)
    assert x.type_as(dlcore.zeros(1, dtype=dlcore.int64)).dtype is dlcore.int64
    assert x.int().tolist() == [[0, 1, 2], [3, 4, 5]] and x.int().dtype is dlcore.int64
    assert x.type_as(dlcore.zeros(1, dtype=dlcore.float64)).dtype is dlcore.float64


def test_errors():
    x = dlcore.zeros(2, 3)
    with pytest.raises(ValueError, match="split"):
        x.split([1, 1], 1)
    with pytest.raises(ValueError, match="chunk"):
        x.chunk(0)
    with pytest.raises(ValueError, match="tril"):
        dlcore.zeros(3).tril()
    with pytest.raises(ValueError, match="repeat"):
        x.repeat(2)
    with pytest.raises(ValueError, match="repeat_interleave"):
        x.repeat_interleave(dlcore.tensor([1, 2, 3]), dim=0)
    with pytest.raises(IndexError, match="flip"):
        x.flip(2)
    with pytest.raises(ValueError, match="outer"):
        dlcore.outer(x, x)


def test_gradients_float64():
    rng = np.random.default_rng(0)
    x = T(rng.standard_normal((3, 4)), dtype="float64").requires_grad_()
    assert gradcheck(lambda a: dlcore.cat([p * (i + 1) for i, p in enumerate(a.split(3, 1))], 1), (x,))
    assert gradcheck(lambda a: dlcore.stack([p * 2 for p in a.unbind(0)]), (x,))
    assert gradcheck(lambda a: a.flip((0, 1)), (x,))
    assert gradcheck(lambda a: a.roll((1, -2), (0, 1)), (x,))
    assert gradcheck(lambda a: a.tril(1), (x,))
    assert gradcheck(lambda a: a.triu(-1), (x,))
    assert gradcheck(lambda a: a.repeat(2, 1, 2), (x,))
    assert gradcheck(lambda a: a.repeat_interleave(dlcore.tensor([1, 0, 2, 3]), dim=1), (x,))
    assert gradcheck(lambda a: a.repeat_interleave(2, dim=0), (x,))
    v = T(rng.standard_normal(3), dtype="float64").requires_grad_()
    w = T(rng.standard_normal(4), dtype="float64").requires_grad_()
    assert gradcheck(lambda p, q: dlcore.outer(p, q), (v, w))
    assert gradcheck(lambda p, q: dlcore.meshgrid(p, q)[1] * dlcore.meshgrid(p, q)[0], (v, w))
