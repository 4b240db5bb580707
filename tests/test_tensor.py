# test_tensor.py — creation, dtypes, devices, NumPy conversion, metadata, RNG, build info.
import numpy as np
import pytest

import dlcore
from conftest import assert_close, to_numpy


# ---------------------------------------------------------------------------------------------
# dtypes and devices

@pytest.mark.parametrize("name,itemsize", [("float32", 4), ("float64", 8), ("int64", 8), ("bool", 1)])
def test_dtype_objects(name, itemsize):
    dt = getattr(dlcore, name)
    assert isinstance(dt, dlcore.dtype)
    assert dt.itemsize == itemsize
    assert dt.name == name
    assert str(dt) == f"dlcore.{name}"


@pytest.mark.parametrize("spec", ["float64", np.float64, np.dtype("float64"), dlcore.float64])
def test_dtype_argument_accepts_numpy_and_strings(spec):
    assert dlcore.zeros(2, dtype=spec).dtype == dlcore.float64
    assert dlcore.ones(2, dtype=spec).dtype == dlcore.float64


@pytest.mark.parametrize("spec", ["int64", np.int64, np.dtype("int64")])
def test_dtype_argument_int64(spec):
    t = dlcore.ones(3, dtype=spec)
    assert t.dtype == dlcore.int64
    assert t.tolist() == [1, 1, 1]


def test_devices():
    cpu = dlcore.device("cpu")
    assert cpu.type == "cpu"
    cuda = dlcore.device("cuda")
    assert cuda.type == "cuda" and cuda.index == 0
    assert str(cuda) == "cuda:0"
    assert dlcore.device("cuda:0").type == "cuda"
    assert dlcore.device("cuda:0").index == 0
    t = dlcore.zeros(2)
    assert t.device == "cpu"
    assert t.device.type == "cpu"
    assert t.is_cuda is False


# ---------------------------------------------------------------------------------------------
# creation

def test_tensor_dtype_inference_python():
    assert dlcore.tensor(1.5).dtype == dlcore.float32
    assert dlcore.tensor([1.0, 2.0]).dtype == dlcore.float32
    assert dlcore.tensor([1, 2, 3]).dtype == dlcore.int64
    assert dlcore.tensor([True, False]).dtype == dlcore.bool
    assert dlcore.tensor(7).dtype == dlcore.int64
    assert dlcore.tensor([[1.0, 2.0], [3.0, 4.0]]).shape == (2, 2)


@pytest.mark.parametrize(
    "np_dtype,expected",
    [
        (np.float32, "float32"), (np.float64, "float64"), (np.int64, "int64"), (np.bool_, "bool"),
        (np.int32, "int64"), (np.int16, "int64"), (np.uint8, "int64"), (np.int8, "int64"),
        (np.float16, "float32"),
    ],
)
def test_tensor_dtype_inference_numpy(np_dtype, expected):
    a = (np.arange(12).reshape(3, 4) % 5).astype(np_dtype)
    t = dlcore.tensor(a)
    assert t.dtype == getattr(dlcore, expected)
    assert t.shape == (3, 4)
    np.testing.assert_array_equal(to_numpy(t), a.astype(np.dtype(expected)))


def test_tensor_explicit_dtype():
    t = dlcore.tensor([1, 2, 3], dtype=dlcore.float64)
    assert t.dtype == dlcore.float64
    assert t.tolist() == [1.0, 2.0, 3.0]
    t = dlcore.tensor([1.7, -1.2], dtype="float32")
    assert_close(t, np.array([1.7, -1.2], np.float32).astype(np.float64), "float32")


def test_tensor_always_copies():
    a = np.arange(6, dtype=np.float32)
    t = dlcore.tensor(a)
    a[0] = 100.0
    assert t.tolist()[0] == 0.0
    # ... also from a non-contiguous NumPy array
    b = np.arange(12, dtype=np.float64).reshape(3, 4)[:, ::2]
    t = dlcore.tensor(b)
    np.testing.assert_array_equal(to_numpy(t), b)


def test_tensor_nested_lists_and_scalar():
    t = dlcore.tensor([[[1, 2], [3, 4]], [[5, 6], [7, 8]]])
    assert t.shape == (2, 2, 2)
    assert t.tolist() == [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]
    s = dlcore.tensor(3.25)
    assert s.shape == ()
    assert s.ndim == 0
    assert s.item() == 3.25


def test_from_numpy_zero_copy_both_ways():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    t = dlcore.from_numpy(a)
    assert t.dtype == dlcore.float32 and t.shape == (3, 4)
    a[1, 2] = -7.0          # NumPy -> tensor
    assert t.tolist()[1][2] == -7.0
    t.fill_(2.0)            # tensor -> NumPy
    assert np.all(a == 2.0)


@pytest.mark.parametrize("np_dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_from_numpy_dtypes(np_dtype):
    a = (np.arange(10) % 3).astype(np_dtype)
    t = dlcore.from_numpy(a)
    assert t.dtype == getattr(dlcore, np.dtype(np_dtype).name)
    np.testing.assert_array_equal(t.numpy(), a)
    assert np.shares_memory(t.numpy(), a)


@pytest.mark.parametrize("np_dtype", [np.float16, np.int32, np.complex64, np.uint8])
def test_from_numpy_unsupported_dtype(np_dtype):
    with pytest.raises(TypeError):
        dlcore.from_numpy(np.zeros(4, dtype=np_dtype))


@pytest.mark.parametrize("maker", [dlcore.zeros, dlcore.ones, dlcore.empty])
def test_zeros_ones_empty_shapes(maker):
    assert maker(2, 3).shape == (2, 3)
    assert maker((2, 3)).shape == (2, 3)
    assert maker(5).shape == (5,)
    assert maker(0).shape == (0,)
    assert maker(2, 0, 3).numel() == 0
    assert maker(()).shape == ()
    assert maker(2, 3).dtype == dlcore.float32
    assert maker(4, dtype=dlcore.float64).dtype == dlcore.float64
    assert maker(4, dtype=dlcore.int64).dtype == dlcore.int64


def test_zeros_ones_values():
    np.testing.assert_array_equal(to_numpy(dlcore.zeros(3, 4)), np.zeros((3, 4)))
    np.testing.assert_array_equal(to_numpy(dlcore.ones(3, 4, dtype=dlcore.int64)), np.ones((3, 4)))
    # Big enough to cover a vectorized body plus a tail.
    np.testing.assert_array_equal(to_numpy(dlcore.ones(1031)), np.ones(1031))


def test_full():
    t = dlcore.full((2, 3), 1.5)
    assert t.dtype == dlcore.float32
    np.testing.assert_array_equal(to_numpy(t), np.full((2, 3), 1.5))
    t = dlcore.full((4,), 7)
    assert t.dtype == dlcore.int64
    assert t.tolist() == [7, 7, 7, 7]
    t = dlcore.full((2, 2), 3, dtype=dlcore.float64)
    assert t.dtype == dlcore.float64
    assert t.tolist() == [[3.0, 3.0], [3.0, 3.0]]


def test_arange():
    t = dlcore.arange(5)
    assert t.dtype == dlcore.int64
    assert t.tolist() == [0, 1, 2, 3, 4]
    assert dlcore.arange(1, 10, 3).tolist() == [1, 4, 7]
    assert dlcore.arange(2, 2).shape == (0,)
    t = dlcore.arange(0, 1, 0.25)
    assert t.dtype == dlcore.float32
    assert t.tolist() == [0.0, 0.25, 0.5, 0.75]
    assert dlcore.arange(3.0).dtype == dlcore.float32
    t = dlcore.arange(4, dtype=dlcore.float64)
    assert t.dtype == dlcore.float64
    assert t.tolist() == [0.0, 1.0, 2.0, 3.0]
    t = dlcore.arange(1000)
    np.testing.assert_array_equal(to_numpy(t), np.arange(1000))


def test_arange_negative_step():
    assert dlcore.arange(5, 0, -1).tolist() == [5, 4, 3, 2, 1]
    assert dlcore.arange(5, 0, -2).tolist() == [5, 3, 1]


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like", "rand_like", "randn_like"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_like_functions(name, dtype):
    src = dlcore.zeros(3, 5, dtype=getattr(dlcore, dtype))
    t = getattr(dlcore, name)(src)
    assert t.shape == (3, 5)
    assert t.dtype == src.dtype
    assert t.device == src.device
    if name == "zeros_like":
        assert np.all(to_numpy(t) == 0)
    if name == "ones_like":
        assert np.all(to_numpy(t) == 1)
    if name == "rand_like":
        a = to_numpy(t)
        assert np.all((a >= 0) & (a < 1))


def test_full_like():
    src = dlcore.zeros(2, 3, dtype=dlcore.float64)
    t = dlcore.full_like(src, 2.5)
    assert t.dtype == dlcore.float64 and t.shape == (2, 3)
    assert np.all(to_numpy(t) == 2.5)
    t = dlcore.ones_like(dlcore.arange(4))
    assert t.dtype == dlcore.int64 and t.tolist() == [1, 1, 1, 1]


# ---------------------------------------------------------------------------------------------
# conversion

def test_numpy_is_zero_copy():
    t = dlcore.arange(6, dtype=dlcore.float32)
    a = t.numpy()
    assert a.dtype == np.float32 and a.shape == (6,)
    a[3] = 42.0
    assert t.tolist()[3] == 42.0
    t.fill_(1.0)
    assert np.all(a == 1.0)
    assert np.shares_memory(t.numpy(), a)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_numpy_dtypes_and_asarray(dtype):
    src = (np.arange(24).reshape(2, 3, 4) % 3).astype(dtype)
    t = dlcore.tensor(src)
    for out in (t.numpy(), np.asarray(t), np.array(t)):
        assert out.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(out, src)
    assert np.asarray(t, dtype=np.float64).dtype == np.float64


def test_numpy_of_non_contiguous_views():
    src = np.arange(20, dtype=np.float32).reshape(4, 5)
    t = dlcore.tensor(src)
    np.testing.assert_array_equal(t.T.numpy(), src.T)
    np.testing.assert_array_equal(t[:, 1::2].numpy(), src[:, 1::2])
    np.testing.assert_array_equal(np.asarray(t.T), src.T)
    np.testing.assert_array_equal(dlcore.tensor([[1.0], [2.0]]).expand(2, 3).numpy(),
                                  np.array([[1, 1, 1], [2, 2, 2]], np.float32))


def test_item():
    x = dlcore.tensor([2.5]).item()
    assert isinstance(x, float) and x == 2.5
    x = dlcore.tensor([[7]]).item()
    assert isinstance(x, int) and not isinstance(x, bool) and x == 7
    x = dlcore.tensor(True).item()
    assert isinstance(x, bool) and x is True
    x = dlcore.tensor([0.1], dtype=dlcore.float64).item()
    assert x == 0.1
    with pytest.raises(ValueError):
        dlcore.tensor([1.0, 2.0]).item()
    with pytest.raises(ValueError):
        dlcore.zeros(0).item()


def test_tolist():
    src = np.arange(6, dtype=np.float32).reshape(2, 3) / 4
    t = dlcore.tensor(src)
    out = t.tolist()
    assert out == src.tolist()
    assert all(isinstance(v, float) for row in out for v in row)
    ints = dlcore.arange(3).tolist()
    assert ints == [0, 1, 2] and all(type(v) is int for v in ints)
    bools = dlcore.tensor([True, False]).tolist()
    assert bools == [True, False] and all(type(v) is bool for v in bools)
    assert dlcore.tensor(5).tolist() == 5
    assert dlcore.zeros(0).tolist() == []


def test_to_dtype_and_shortcuts():
    src = np.array([1.7, -1.7, 2.0, 0.0, -0.2], dtype=np.float32)
    t = dlcore.tensor(src)
    d = t.to(dlcore.float64)
    assert d.dtype == dlcore.float64
    np.testing.assert_array_equal(to_numpy(d), src.astype(np.float64))
    assert t.double().dtype == dlcore.float64
    lng = t.long()
    assert lng.dtype == dlcore.int64
    assert lng.tolist() == [1, -1, 2, 0, 0]           # truncation toward zero, like a C cast
    b = t.bool()
    assert b.dtype == dlcore.bool
    assert b.tolist() == [True, True, True, False, True]
    f = dlcore.arange(4).float()
    assert f.dtype == dlcore.float32 and f.tolist() == [0.0, 1.0, 2.0, 3.0]
    # conversion makes new storage
    d.fill_(9.0)
    assert t.tolist()[0] == pytest.approx(1.7)


def test_to_device_cpu():
    t = dlcore.ones(3)
    for u in (t.to("cpu"), t.cpu(), t.to(dlcore.device("cpu")), t.to("cpu", dlcore.float64)):
        assert u.device == "cpu"
        assert u.tolist() == [1.0, 1.0, 1.0]
    assert t.to("cpu", dlcore.float64).dtype == dlcore.float64


def test_clone_and_copy_():
    t = dlcore.tensor([[1.0, 2.0], [3.0, 4.0]])
    c = t.clone()
    c.fill_(0.0)
    assert t.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    c = t.T.clone()
    assert c.tolist() == [[1.0, 3.0], [2.0, 4.0]]
    assert c.is_contiguous()

    dst = dlcore.zeros(2, 2)
    out = dst.copy_(t)
    assert out is dst
    assert dst.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    t.fill_(5.0)
    assert dst.tolist() == [[1.0, 2.0], [3.0, 4.0]]

    # copy_ into a transposed view writes through to its base
    base = dlcore.zeros(2, 3)
    base.T.copy_(dlcore.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
    assert base.tolist() == [[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]]


# ---------------------------------------------------------------------------------------------
# metadata

def test_metadata():
    t = dlcore.zeros(2, 3, 4)
    assert isinstance(t.shape, tuple) and isinstance(t.shape, dlcore.Size)
    assert t.shape == (2, 3, 4)
    assert t.size() == (2, 3, 4)
    assert t.size(1) == 3 and t.size(-1) == 4
    assert t.ndim == 3 and t.dim() == 3
    assert t.numel() == 24
    assert len(t) == 2
    assert t.stride() == (12, 4, 1)
    assert t.is_contiguous()
    tt = t.transpose(0, 2)
    assert tt.shape == (4, 3, 2)
    assert tt.stride() == (1, 4, 12)
    assert not tt.is_contiguous()
    m = dlcore.zeros(3, 5)
    assert m.T.shape == (5, 3) and m.T.stride() == (1, 5)
    assert t.mT.shape == (2, 4, 3)
    assert dlcore.zeros(4).T.shape == (4,)


# ---------------------------------------------------------------------------------------------
# RNG

def test_manual_seed_reproducible():
    dlcore.manual_seed(1234)
    a = to_numpy(dlcore.rand(1000))
    b = to_numpy(dlcore.randn(3, 7))
    dlcore.manual_seed(1234)
    a2 = to_numpy(dlcore.rand(1000))
    b2 = to_numpy(dlcore.randn(3, 7))
    np.testing.assert_array_equal(a, a2)
    np.testing.assert_array_equal(b, b2)
    dlcore.manual_seed(1235)
    assert not np.array_equal(a, to_numpy(dlcore.rand(1000)))
    # successive draws under one seed differ from each other
    dlcore.manual_seed(7)
    x, y = to_numpy(dlcore.rand(100)), to_numpy(dlcore.rand(100))
    assert not np.array_equal(x, y)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rand_range_and_distribution(dtype):
    dlcore.manual_seed(0)
    t = dlcore.rand(100_000, dtype=getattr(dlcore, dtype))
    assert t.dtype == getattr(dlcore, dtype) and t.shape == (100_000,)
    a = to_numpy(t).astype(np.float64)
    assert a.min() >= 0.0 and a.max() < 1.0
    assert abs(a.mean() - 0.5) < 0.01
    assert abs(a.var() - 1.0 / 12) < 0.005
    assert len(np.unique(a)) > 90_000  # not a short period or a constant


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_randn_distribution(dtype):
    dlcore.manual_seed(0)
    t = dlcore.randn(100_000, dtype=getattr(dlcore, dtype))
    assert t.dtype == getattr(dlcore, dtype)
    a = to_numpy(t).astype(np.float64)
    assert np.all(np.isfinite(a))
    assert abs(a.mean()) < 0.02
    assert abs(a.std() - 1.0) < 0.02
    assert 0.66 < np.mean(np.abs(a) < 1.0) < 0.70   # ~68.3% within one sigma


def test_rand_shapes():
    assert dlcore.rand(2, 3).shape == (2, 3)
    assert dlcore.randn(4, 1, 2).shape == (4, 1, 2)
    assert dlcore.rand(0).shape == (0,)


# ---------------------------------------------------------------------------------------------
# build info and threads

def test_build_info():
    info = dlcore.build_info()
    assert isinstance(info, dict)
    for key, typ in [("version", str), ("cuda_compiled", bool), ("cuda_architectures", str),
                     ("cpu_path", str), ("omp_threads", int), ("cuda_device_count", int)]:
        assert key in info, key
        assert isinstance(info[key], typ), (key, type(info[key]))
    assert info["cpu_path"] in ("avx2-fma", "generic")
    assert info["omp_threads"] >= 1
    assert info["cuda_device_count"] >= 0
    if not info["cuda_compiled"]:
        assert info["cuda_device_count"] == 0
    assert info["cuda_device_count"] == dlcore.cuda.device_count()


def test_num_threads():
    old = dlcore.get_num_threads()
    assert isinstance(old, int) and old >= 1
    try:
        dlcore.set_num_threads(1)
        assert dlcore.get_num_threads() == 1
        # results do not depend on the thread count
        x = np.random.default_rng(3).standard_normal((64, 64)).astype(np.float32)
        one = to_numpy(dlcore.tensor(x) @ dlcore.tensor(x))
        dlcore.set_num_threads(2)
        assert dlcore.get_num_threads() == 2
        two = to_numpy(dlcore.tensor(x) @ dlcore.tensor(x))
        np.testing.assert_allclose(one, two, rtol=1e-5, atol=1e-5)
    finally:
        dlcore.set_num_threads(old)
    assert dlcore.get_num_threads() == old


@pytest.mark.parametrize("forced", ["avx2", "avx2-fma"])
def test_cpu_path_env_forces_the_avx2_gemm(monkeypatch, forced):
    if dlcore.build_info()["cpu_path"] != "avx2-fma":
        pytest.skip("this CPU has no AVX2+FMA")
    monkeypatch.setenv("DLCORE_CPU_PATH", forced)
    assert dlcore.build_info()["gemm_path"] == "avx2-fma"
    monkeypatch.setenv("DLCORE_CPU_PATH", "generic")
    assert dlcore.build_info()["gemm_path"] == "generic"


def test_randint_spellings_as_torch():
    dlcore.manual_seed(3)
    a = dlcore.randint(10, (3, 4))                     # torch's randint(high, size)
    assert a.shape == (3, 4) and a.dtype == dlcore.int64
    v = a.numpy()
    assert v.min() >= 0 and v.max() < 10
    b = dlcore.randint(5, 8, (1000,)).numpy()           # randint(low, high, size)
    assert b.min() == 5 and b.max() == 7
    assert dlcore.randint(4, size=(2,)).shape == (2,)
    with pytest.raises(TypeError, match="randint"):
        dlcore.randint(10, (3,), (2,))


def test_backward_node_repr_names_the_op():
    x = dlcore.ones(2, requires_grad=True)
    assert repr((x * 2)._node) == "<mulBackward>"
