# Gather / scatter / index_add / take_along_dim / masking against torch (CPU), with gradchecks
# in float64 and the out-of-range errors (IndexError naming the op, the index and the size).
import numpy as np
import pytest

import dlcore
from dlcore.autograd import gradcheck
from conftest import T, assert_close, tt

torch = pytest.importorskip("torch")
hyp = pytest.importorskip("hypothesis")
st = hyp.strategies



def _case(rng, shape, dim, m, smaller_other=False):
    """A (data, index) pair for gather along dim: index has m entries in dim, values in range."""
    n = shape[dim]
    ishape = list(shape)
    ishape[dim] = m
    if smaller_other:
        ishape = [s if k == dim else max(s - 1, 0) for k, s in enumerate(ishape)]
    idx = rng.integers(0, max(n, 1), size=ishape) if n else np.zeros(ishape, dtype=np.int64)
    return rng.standard_normal(shape), idx.astype(np.int64)


@hyp.settings(max_examples=25)
@hyp.given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3), data=st.data())
def test_gather_scatter_add_match_torch(shape, data):
    rng = np.random.default_rng(len(shape) * 7 + sum(shape))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    m = data.draw(st.integers(0, 6))
    smaller = data.draw(st.booleans())
    x, idx = _case(rng, shape, dim % len(shape), m, smaller)
    for dt in (np.float32, np.float64):
        got = dlcore.gather(T(x.astype(dt)), dim, T(idx))
        want = torch.gather(tt(x.astype(dt)), dim, tt(idx))
        assert_close(got, want.numpy(), got.dtype)
        src = rng.standard_normal(idx.shape).astype(dt)
        acc = x.astype(dt)
        got = T(acc).scatter_add_(dim, T(idx), T(src))
        want = tt(acc).scatter_add_(dim, tt(idx), tt(src))
        assert_close(got, want.numpy(), got.dtype, atol=1e-5)
        # scatter (assignment) with unique destinations per column: torch leaves repeats undefined
        got = dlcore.scatter(T(acc), dim, T(idx), T(src))
        want = torch.scatter(tt(acc), dim, tt(idx), tt(src))
        col_unique = True
        d = dim % len(shape)
        moved = np.moveaxis(idx, d, -1).reshape(-1, idx.shape[d]) if idx.size else np.zeros((0, 0))
        for row in moved:
            col_unique &= len(set(row.tolist())) == len(row)
        if col_unique:
            assert_close(got, want.numpy(), got.dtype)


def test_gather_int_and_bool_and_0d():
    x = np.arange(12).reshape(3, 4)
    idx = np.array([[3, 0], [1, 1], [2, 3]])
    assert dlcore.gather(T(x), 1, T(idx)).tolist() == torch.gather(tt(x), 1, tt(idx)).tolist()
    b = x % 3 == 0
    assert dlcore.gather(T(b), 1, T(idx)).tolist() == torch.gather(tt(b), 1, tt(idx)).tolist()
    z = dlcore.gather(dlcore.tensor(5.0), 0, dlcore.tensor(0))
    assert z.shape == () and z.item() == 5.0


def test_scatter_value_and_reduce_add_and_inplace():
    x = np.zeros((3, 5))
    idx = np.array([[0, 1, 2], [4, 3, 0]])
    got = T(x).scatter_(1, T(idx), value=2.5)
    want = tt(x).scatter_(1, tt(idx[:, :3]), 2.5)
    assert_close(got, want.numpy(), got.dtype)
    src = np.arange(6.0).reshape(2, 3)
    got = dlcore.scatter(T(x), 1, T(idx), T(src), reduce="add")
    want = tt(x).scatter_add(1, tt(idx), tt(src))
    assert_close(got, want.numpy(), got.dtype)


def test_scatter_into_noncontiguous_destination():
    base = np.zeros((5, 4))
    idx = np.array([[0, 1, 2, 4], [3, 3, 0, 1]])
    src = np.arange(8.0).reshape(2, 4)
    d = T(base)
    d.t().scatter_add_(1, T(idx.T.copy()), T(src.T.copy()))
    w = tt(base)
    w.t().scatter_add_(1, tt(idx.T.copy()), tt(src.T.copy()))
    assert_close(d, w.numpy(), d.dtype)


def test_scatter_add_repeated_indices_embedding_shape(rng):
    # dim 0 with repeated rows: the embedding-gradient pattern, large enough to split columns.
    w = np.zeros((50, 130))
    rows = rng.integers(0, 50, size=700)
    idx = np.repeat(rows[:, None], 130, axis=1)
    src = rng.standard_normal((700, 130))
    idx[5, 77] = (idx[5, 0] + 1) % 50     # one row that is not constant takes the general path
    got = T(w).scatter_add_(0, T(idx), T(src))
    want = tt(w).scatter_add_(0, tt(idx), tt(src))
    assert_close(got, want.numpy(), got.dtype)
    table = rng.standard_normal((50, 130))
    assert_close(dlcore.gather(T(table), 0, T(idx)), torch.gather(tt(table), 0, tt(idx)).numpy(), "float64")
    bad = idx.copy()
    bad[3, :] = 50                         # a constant row out of range is still caught
    with pytest.raises(IndexError, match="index 50"):
        dlcore.gather(T(table), 0, T(bad))


def test_index_errors_name_op_index_and_size():
    x = T(np.zeros((3, 4)))
    with pytest.raises(IndexError, match=r"gather.*index 7.*size 4"):
        dlcore.gather(x, 1, T(np.array([[7], [0], [1]])))
    with pytest.raises(IndexError, match=r"gather.*index -1.*size 4"):
        dlcore.gather(x, 1, T(np.array([[0], [-1], [1]])))
    before = x.numpy().copy()
    with pytest.raises(IndexError, match=r"scatter_add_.*index 3.*size 3"):
        x.scatter_add_(0, T(np.array([[0, 3, 1, 2]])), T(np.ones((1, 4))))
    np.testing.assert_array_equal(x.numpy(), before)    # nothing written before the error
    with pytest.raises(IndexError, match=r"scatter_.*index 9.*size 4"):
        x.scatter_(1, T(np.array([[9]])), 1.0)
    with pytest.raises(TypeError, match="gather"):
        dlcore.gather(x, 1, T(np.array([[0.0]])))
    with pytest.raises(ValueError, match="gather"):
        dlcore.gather(x, 1, T(np.array([0])))
    with pytest.raises(IndexError, match="index_add_"):
        x.index_add_(0, T(np.array([5])), T(np.ones((1, 4))))


def test_gradients_float64(rng):
    x = T(rng.standard_normal((3, 4)), dtype="float64").requires_grad_()
    idx = T(np.array([[0, 3, 3], [1, 1, 0], [2, 0, 1]]))
    assert gradcheck(lambda a: dlcore.gather(a, 1, idx), (x,))
    src = T(rng.standard_normal((3, 3)), dtype="float64").requires_grad_()
    assert gradcheck(lambda a, s: dlcore.scatter_add(a, 1, idx, s), (x, src))
    uniq = T(np.array([[0, 3, 2], [1, 2, 0], [2, 0, 1]]))
    assert gradcheck(lambda a, s: dlcore.scatter(a, 1, uniq, s), (x, src))
    assert gradcheck(lambda a: dlcore.take_along_dim(a, idx, 1), (x,))
    i1 = T(np.array([2, 0, 2]))
    s1 = T(rng.standard_normal((3, 4)), dtype="float64").requires_grad_()
    assert gradcheck(lambda a, s: dlcore.index_add(a, 0, i1, s, alpha=2.0), (x, s1))
    mask = T(rng.random((3, 4)) > 0.5)
    assert gradcheck(lambda a: dlcore.masked_fill(a, mask, 1.5), (x,))
    assert gradcheck(lambda a: dlcore.masked_select(a, mask), (x,))


def test_take_along_dim_and_index_add_match_torch(rng):
    x = rng.standard_normal((4, 5))
    idx = np.argsort(x, axis=1)[:, :2]
    assert_close(dlcore.take_along_dim(T(x), T(idx), 1), torch.take_along_dim(tt(x), tt(idx), 1).numpy(),
                 "float64")
    assert_close(dlcore.take_along_dim(T(x), T(np.array([3, 0, 19]))),
                 torch.take_along_dim(tt(x), tt(np.array([3, 0, 19]))).numpy(), "float64")
    bidx = np.array([[1], [0], [4], [2]])   # broadcast against x along dim 0 only
    assert_close(dlcore.take_along_dim(T(x), T(bidx), 1), torch.take_along_dim(tt(x), tt(bidx), 1).numpy(),
                 "float64")
    i = np.array([0, 3, 0])
    s = rng.standard_normal((3, 5))
    got = T(x).index_add_(0, T(i), T(s), alpha=0.5)
    want = tt(x).index_add_(0, tt(i), tt(s), alpha=0.5)
    assert_close(got, want.numpy(), "float64")


@hyp.settings(max_examples=15)
@hyp.given(shape=st.lists(st.integers(0, 4), min_size=1, max_size=3), bshape=st.booleans())
def test_masked_fill_select_match_torch(shape, bshape):
    rng = np.random.default_rng(sum(shape) + 3)
    x = rng.standard_normal(shape).astype(np.float32)
    mshape = shape[-1:] if bshape else shape
    m = rng.random(mshape) > 0.5
    assert_close(dlcore.masked_fill(T(x), T(m), -2.0), tt(x).masked_fill(tt(m), -2.0).numpy(), "float32")
    assert_close(dlcore.masked_select(T(x), T(m)), torch.masked_select(tt(x), tt(m)).numpy(), "float32")
    y = T(x)
    y.masked_fill_(T(m), 3.0)
    assert_close(y, tt(x).masked_fill_(tt(m), 3.0).numpy(), "float32")
    xi = (x * 10).astype(np.int64)
    got = dlcore.masked_fill(T(xi), T(m), 7)
    assert got.dtype is dlcore.int64
    np.testing.assert_array_equal(got.numpy(), tt(xi).masked_fill(tt(m), 7).numpy())


def test_masked_fill_needs_bool_mask():
    with pytest.raises(TypeError, match="masked_fill"):
        dlcore.masked_fill(dlcore.zeros(3), dlcore.tensor([1, 0, 1]), 1.0)
