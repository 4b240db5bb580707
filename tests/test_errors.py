# test_errors.py — bad input raises the documented Python exception with a useful message.
#
# The contract: shape problems -> ValueError, dtype problems -> TypeError, device problems ->
# RuntimeError, index problems -> IndexError; messages name the op and the shapes. Messages are
# checked for content (the op, the dims), not for exact wording.
import numpy as np
import pytest

import dlcore
from conftest import assert_names_op, assert_names_shapes, requires_cuda

# ---------------------------------------------------------------------------------------------
# shapes -> ValueError

BROADCAST_OPS = [
    ("add", lambda a, b: a + b, ("add", "+")),
    ("sub", lambda a, b: a - b, ("sub", "-")),
    ("mul", lambda a, b: a * b, ("mul", "*")),
    ("div", lambda a, b: a / b, ("div", "/")),
    ("pow", lambda a, b: a ** b, ("pow", "**")),
    ("maximum", dlcore.maximum, ("maximum",)),
    ("minimum", dlcore.minimum, ("minimum",)),
    ("lt", lambda a, b: a < b, ("lt", "<", "less")),
    ("eq", lambda a, b: a == b, ("eq", "==", "equal")),
]


@pytest.mark.parametrize("name,op,aliases", BROADCAST_OPS, ids=[o[0] for o in BROADCAST_OPS])
@pytest.mark.parametrize("sa,sb", [((2, 3), (4,)), ((5, 7), (7, 5)), ((3, 1, 6), (2, 5))], ids=str)
def test_broadcast_mismatch(name, op, aliases, sa, sb):
    with pytest.raises(ValueError) as ei:
        op(dlcore.ones(*sa), dlcore.ones(*sb))
    assert_names_op(ei, *aliases)
    assert_names_shapes(ei, sa, sb)


def test_inplace_broadcast_mismatch():
    t = dlcore.ones(2, 3)
    with pytest.raises(ValueError) as ei:
        t.add_(dlcore.ones(4))
    assert_names_shapes(ei, (2, 3), (4,))
    # the result of an in-place op must keep the destination's shape
    with pytest.raises(ValueError):
        t.mul_(dlcore.ones(3, 2, 3))
    assert t.tolist() == [[1.0] * 3] * 2


def test_where_shape_mismatch():
    with pytest.raises(ValueError):
        dlcore.where(dlcore.ones(3, dtype=dlcore.bool), dlcore.ones(4), dlcore.ones(3))


def test_matmul_mismatch_message():
    with pytest.raises(ValueError) as ei:
        dlcore.ones(2, 3) @ dlcore.ones(4, 5)
    assert_names_op(ei, "matmul")
    assert_names_shapes(ei, (2, 3), (4, 5))


def test_reshape_message():
    with pytest.raises(ValueError) as ei:
        dlcore.ones(3, 4).reshape(5, 3)
    assert_names_op(ei, "reshape", "view")
    assert_names_shapes(ei, (5, 3))


def test_cat_stack_messages():
    with pytest.raises(ValueError) as ei:
        dlcore.cat([dlcore.ones(2, 3), dlcore.ones(2, 4)])
    assert_names_op(ei, "cat")
    assert_names_shapes(ei, (2, 3), (2, 4))
    with pytest.raises(ValueError) as ei:
        dlcore.stack([dlcore.ones(2, 3), dlcore.ones(3)])
    assert_names_op(ei, "stack")


def test_item_on_many_elements():
    with pytest.raises(ValueError) as ei:
        dlcore.ones(2, 3).item()
    assert "item" in str(ei.value).lower() or "6" in str(ei.value) or "one element" in str(ei.value).lower()


def test_expand_mismatch():
    with pytest.raises(ValueError) as ei:
        dlcore.ones(3, 2).expand(3, 4)
    assert_names_op(ei, "expand")


def test_view_impossible_is_runtime_error():
    with pytest.raises(RuntimeError) as ei:
        dlcore.ones(3, 4).T.view(12)
    assert_names_op(ei, "view")


# ---------------------------------------------------------------------------------------------
# dtypes -> TypeError

@pytest.mark.parametrize("spec", ["float16", "complex64", "int32", "uint8", np.float16, np.complex128, "nonsense"],
                         ids=str)
def test_unsupported_dtype_argument(spec):
    with pytest.raises(TypeError):
        dlcore.zeros(3, dtype=spec)


@pytest.mark.parametrize("arr", [np.zeros(3, np.complex64), np.array(["a", "b"]), np.array([object()])],
                         ids=["complex", "str", "object"])
def test_unsupported_numpy_input(arr):
    with pytest.raises(TypeError):
        dlcore.tensor(arr)


def test_from_numpy_int32_message():
    with pytest.raises(TypeError) as ei:
        dlcore.from_numpy(np.zeros(3, np.int32))
    assert "int32" in str(ei.value)


def test_dtype_errors_in_ops():
    with pytest.raises(TypeError):
        dlcore.ones(3, dtype=dlcore.int64).mean()
    with pytest.raises(TypeError):
        dlcore.ones(2, 2, dtype=dlcore.int64) @ dlcore.ones(2, 2, dtype=dlcore.int64)
    with pytest.raises(TypeError) as ei:
        dlcore.ones(2, 2) @ dlcore.ones(2, 2, dtype=dlcore.float64)
    assert_names_op(ei, "matmul")
    assert "float32" in str(ei.value) and "float64" in str(ei.value)


# ---------------------------------------------------------------------------------------------
# indices -> IndexError

def test_index_errors():
    t = dlcore.ones(3, 4)
    for idx in (3, -4, (0, 4), (1, 2, 0)):
        with pytest.raises(IndexError):
            t[idx]
    with pytest.raises(IndexError):
        t.sum(dim=2)
    with pytest.raises(IndexError):
        t.transpose(0, 2)
    with pytest.raises(IndexError):
        t.size(2)
    with pytest.raises(IndexError):
        t[dlcore.tensor([0, 3])]


def test_bad_input_never_crashes_large_index():
    t = dlcore.ones(10)
    with pytest.raises(IndexError):
        t[2**62]
    with pytest.raises(IndexError):
        t[dlcore.tensor([2**62])]
    with pytest.raises(IndexError):
        t[dlcore.tensor([-2**62])]


# ---------------------------------------------------------------------------------------------
# devices -> RuntimeError

@requires_cuda
def test_device_mismatch_names_devices():
    with pytest.raises(RuntimeError) as ei:
        dlcore.ones(3) + dlcore.ones(3, device="cuda")
    msg = str(ei.value)
    assert "cpu" in msg and "cuda" in msg, msg
    with pytest.raises(RuntimeError) as ei:
        dlcore.ones(2, 2, device="cuda") @ dlcore.ones(2, 2)
    assert "cpu" in str(ei.value) and "cuda" in str(ei.value)


@requires_cuda
def test_numpy_on_cuda_is_type_error():
    with pytest.raises(TypeError) as ei:
        dlcore.ones(3, device="cuda").numpy()
    assert "cpu()" in str(ei.value)


# ---------------------------------------------------------------------------------------------
# impossible configurations

def test_negative_sizes():
    for f in (lambda: dlcore.zeros(-1), lambda: dlcore.ones(2, -3), lambda: dlcore.empty(-2),
              lambda: dlcore.rand(-1), lambda: dlcore.full((3, -1), 1.0)):
        with pytest.raises(ValueError):
            f()
    with pytest.raises(ValueError):
        dlcore.ones(3, 1).expand(3, -2)


def test_arange_zero_step():
    with pytest.raises(ValueError):
        dlcore.arange(0, 5, 0)


def test_ragged_list():
    with pytest.raises(ValueError):
        dlcore.tensor([[1.0, 2.0], [3.0]])


def test_cat_stack_empty_list():
    with pytest.raises(ValueError):
        dlcore.cat([])
    with pytest.raises(ValueError):
        dlcore.stack([])


def test_permute_wrong_number_of_dims():
    with pytest.raises(ValueError):
        dlcore.ones(2, 3, 4).permute(0, 1)


def test_tensor_larger_than_memory_raises_memory_error_and_the_process_lives():
    with pytest.raises(MemoryError, match="out of memory"):
        dlcore.empty(1 << 58)         # 1 EiB of float32: past any address space, overcommit or not
    with pytest.raises(MemoryError, match=r"empty: shape \(4611686018427387904, 4\).*2\^63"):
        dlcore.empty(1 << 62, 4)                       # the byte count would wrap around int64
    with pytest.raises(MemoryError):
        dlcore.zeros(1 << 31, 1 << 31, 4)
    assert dlcore.empty(0, 1 << 62).shape == (0, 1 << 62)   # empty: nothing to allocate
    assert float(dlcore.ones(3).sum()) == 3.0           # still working afterwards
