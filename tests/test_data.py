# test_data.py — dlcore.data: bundled data, datasets, DataLoader, splits, transforms, readers.
import gzip
import struct

import numpy as np
import pytest

import dlcore
from dlcore import data
from dlcore.data import (DataLoader, KFold, Standardize, Subset, TensorDataset, kfold_indices,
                         random_split)
from conftest import to_numpy


# ---------------------------------------------------------------------------------------------
# bundled data

def test_digits_shape_dtype_range():
    X, y = data.load_digits()
    assert isinstance(X, dlcore.Tensor) and isinstance(y, dlcore.Tensor)
    assert tuple(X.shape) == (1797, 8, 8) and X.dtype == dlcore.float32
    assert tuple(y.shape) == (1797,) and y.dtype == dlcore.int64
    Xn, yn = to_numpy(X), to_numpy(y)
    assert Xn.min() == 0 and Xn.max() == 16
    assert np.all(Xn == np.round(Xn))                       # integer grey levels
    assert sorted(np.unique(yn).tolist()) == list(range(10))


def test_digits_label_counts_and_checksum():
    X, y = data.load_digits()
    counts = np.bincount(to_numpy(y), minlength=10)
    # The UCI test split as shipped with scikit-learn: ~180 of each digit.
    assert counts.tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    Xn = to_numpy(X).astype(np.int64)
    assert int(Xn.sum()) == 561718                          # pixel sum of digits.csv.gz
    # Position-weighted checksum: catches transposed or reordered pixels, which a sum misses.
    assert int((Xn.reshape(1797, 64) * np.arange(64)).sum()) == 17660653
    first = [0, 0, 5, 13, 9, 1, 0, 0]                       # row 0 of the first image
    assert to_numpy(X[0])[0].tolist() == first and int(to_numpy(y)[0]) == 0


def test_digits_flat_and_fresh_copies():
    Xf, _ = data.load_digits(return_images=False)
    assert tuple(Xf.shape) == (1797, 64)
    X1, _ = data.load_digits()
    X1.numpy()[0, 0, 2] = 99.0                              # editing a result...
    X2, _ = data.load_digits()
    assert float(X2.numpy()[0, 0, 2]) == 5.0                # ...does not leak into the next call


def test_tinyshakespeare():
    text = data.load_tinyshakespeare()
    assert isinstance(text, str)
    assert len(text) == 1115394
    assert len(set(text)) == 65
    assert text.startswith("First Citizen:")


# ---------------------------------------------------------------------------------------------
# datasets

def _toy(n=10):
    X = dlcore.from_numpy(np.arange(n * 3, dtype=np.float32).reshape(n, 3))
    y = dlcore.from_numpy(np.arange(n, dtype=np.int64))
    return TensorDataset(X, y)


def test_tensor_dataset_indexing_and_errors():
    ds = _toy(5)
    assert len(ds) == 5
    x, y = ds[2]
    assert to_numpy(x).tolist() == [6.0, 7.0, 8.0] and int(y.item()) == 2
    x, y = ds[-1]
    assert int(y.item()) == 4
    with pytest.raises(IndexError):
        ds[5]
    with pytest.raises(ValueError, match="first dimension"):
        TensorDataset(dlcore.zeros(4, 2), dlcore.zeros(5))
    with pytest.raises(TypeError):
        TensorDataset([1, 2, 3])
    # numpy arrays are accepted; uint8 becomes int64
    ds2 = TensorDataset(np.zeros((3, 2), np.float32), np.array([1, 2, 3], np.uint8))
    assert ds2.tensors[1].dtype == dlcore.int64


def test_subset_and_nested_subset():
    ds = _toy(10)
    s = Subset(ds, [9, 3, 5, 7])
    assert len(s) == 4 and int(s[0][1].item()) == 9
    ss = Subset(s, [3, 1])
    assert [int(ss[i][1].item()) for i in range(2)] == [7, 3]
    with pytest.raises(IndexError):
        Subset(ds, [0, 10])


# ---------------------------------------------------------------------------------------------
# DataLoader

def _epoch_labels(loader):
    return np.concatenate([to_numpy(yb) for _, yb in loader])


@pytest.mark.parametrize("n,bs,drop_last", [(10, 3, False), (10, 3, True), (9, 3, False), (9, 3, True),
                                            (1, 4, False), (5, 1, False)])
def test_loader_batching_len_drop_last(n, bs, drop_last):
    loader = DataLoader(_toy(n), batch_size=bs, drop_last=drop_last)
    batches = list(loader)
    assert len(batches) == len(loader) == (n // bs if drop_last else -(-n // bs))
    sizes = [xb.shape[0] for xb, _ in batches]
    if drop_last:
        assert all(s == bs for s in sizes)
    else:
        assert sum(sizes) == n and all(s == bs for s in sizes[:-1])
    # in order without shuffle, and the features travel with their labels
    ys = np.concatenate([to_numpy(yb) for _, yb in batches]) if batches else np.array([])
    assert ys.tolist() == list(range(len(ys)))
    for xb, yb in batches:
        assert xb.dtype == dlcore.float32 and yb.dtype == dlcore.int64
        np.testing.assert_array_equal(to_numpy(xb)[:, 0], to_numpy(yb) * 3.0)


def test_loader_drop_last_with_fewer_samples_than_batch():
    loader = DataLoader(_toy(3), batch_size=4, drop_last=True)
    assert len(loader) == 0 and list(loader) == []


def test_loader_batches_do_not_alias_the_dataset():
    ds = _toy(6)
    for shuffle in (False, True):
        xb, _ = next(iter(DataLoader(ds, batch_size=3, shuffle=shuffle)))
        xb.numpy()[:] = -1.0
        assert to_numpy(ds.tensors[0]).min() >= 0.0


def test_loader_shuffle_every_sample_once_and_differs_between_epochs():
    dlcore.manual_seed(0)
    loader = DataLoader(_toy(100), batch_size=7, shuffle=True)
    e1, e2 = _epoch_labels(loader), _epoch_labels(loader)
    assert sorted(e1.tolist()) == list(range(100))          # each sample exactly once
    assert sorted(e2.tolist()) == list(range(100))
    assert e1.tolist() != e2.tolist()                       # re-drawn each epoch
    assert e1.tolist() != list(range(100))


def test_loader_shuffle_reproducible_under_manual_seed():
    ds = _toy(50)
    dlcore.manual_seed(123)
    loader = DataLoader(ds, batch_size=8, shuffle=True)
    run1 = [_epoch_labels(loader).tolist() for _ in range(3)]
    dlcore.manual_seed(123)
    loader = DataLoader(ds, batch_size=8, shuffle=True)
    run2 = [_epoch_labels(loader).tolist() for _ in range(3)]
    assert run1 == run2
    dlcore.manual_seed(124)
    assert _epoch_labels(DataLoader(ds, batch_size=8, shuffle=True)).tolist() != run1[0]


def test_loader_seed_argument_is_epoch_dependent_and_private():
    ds = _toy(40)
    a = DataLoader(ds, batch_size=5, shuffle=True, seed=7)
    b = DataLoader(ds, batch_size=5, shuffle=True, seed=7)
    ea = [_epoch_labels(a).tolist() for _ in range(2)]
    dlcore.manual_seed(999)                                 # the global generator plays no part
    dlcore.rand(10)
    eb = [_epoch_labels(b).tolist() for _ in range(2)]
    assert ea == eb and ea[0] != ea[1]
    b.set_epoch(1)
    assert _epoch_labels(b).tolist() == ea[1]


def test_loader_over_subset_fast_path_matches_generic_path():
    ds = _toy(30)
    sub = Subset(ds, np.arange(29, -1, -2))                 # 15 samples, reversed odd indices
    fast = DataLoader(sub, batch_size=4, shuffle=True, seed=3)
    slow = DataLoader(sub, batch_size=4, shuffle=True, seed=3,
                      collate_fn=data.default_collate)      # an explicit collate: generic path
    for (xf, yf), (xs, ys) in zip(fast, slow):
        np.testing.assert_array_equal(to_numpy(xf), to_numpy(xs))
        np.testing.assert_array_equal(to_numpy(yf), to_numpy(ys))
    assert sorted(_epoch_labels(fast).tolist()) == list(range(1, 30, 2))


class _DictDataset(data.Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": np.full(3, i, dtype=np.float32), "n": i, "w": 0.5 * i, "name": f"s{i}",
                "pair": (np.uint8(i), dlcore.full((2,), float(i)))}


def test_default_collate_generic_structures():
    b = next(iter(DataLoader(_DictDataset(), batch_size=4)))
    assert tuple(b["x"].shape) == (4, 3) and b["x"].dtype == dlcore.float32
    assert b["n"].dtype == dlcore.int64 and to_numpy(b["n"]).tolist() == [0, 1, 2, 3]
    assert b["w"].dtype == dlcore.float32
    assert b["name"] == ["s0", "s1", "s2", "s3"]
    assert b["pair"][0].dtype == dlcore.int64                  # uint8 -> int64
    assert tuple(b["pair"][1].shape) == (4, 2)
    with pytest.raises(TypeError):
        data.default_collate([object(), object()])


def test_loader_argument_errors():
    with pytest.raises(ValueError):
        DataLoader(_toy(), batch_size=0)
    with pytest.raises(TypeError):
        DataLoader(_toy(), batch_size=2.5)


# ---------------------------------------------------------------------------------------------
# splits

def test_random_split_sizes_disjoint_and_reproducible():
    ds = _toy(103)
    parts = random_split(ds, [0.7, 0.2, 0.1], seed=0)
    assert [len(p) for p in parts] == [73, 20, 10]          # floors 72/20/10, remainder to the first
    sets = [set(p.indices.tolist()) for p in parts]
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    assert set().union(*sets) == set(range(103))
    again = random_split(ds, [0.7, 0.2, 0.1], seed=0)
    assert all(np.array_equal(a.indices, b.indices) for a, b in zip(parts, again))
    other = random_split(ds, [0.7, 0.2, 0.1], seed=1)
    assert not np.array_equal(parts[0].indices, other[0].indices)
    ints = random_split(ds, [100, 3], seed=5)
    assert [len(p) for p in ints] == [100, 3]
    with pytest.raises(ValueError):
        random_split(ds, [50, 50])
    with pytest.raises(ValueError):
        random_split(ds, [0.5, 0.2])


def test_random_split_global_generator():
    ds = _toy(20)
    dlcore.manual_seed(4)
    a = random_split(ds, [10, 10])
    dlcore.manual_seed(4)
    b = random_split(ds, [10, 10])
    assert np.array_equal(a[0].indices, b[0].indices)


@pytest.mark.parametrize("n,k,shuffle", [(10, 5, False), (11, 3, False), (17, 4, True), (5, 5, True)])
def test_kfold_covers_all_indices(n, k, shuffle):
    folds = kfold_indices(n, k, shuffle=shuffle, seed=0)
    assert len(folds) == k
    vals = np.concatenate([v for _, v in folds])
    assert sorted(vals.tolist()) == list(range(n))          # every index validated exactly once
    sizes = [len(v) for _, v in folds]
    assert max(sizes) - min(sizes) <= 1
    for tr, va in folds:
        assert len(tr) + len(va) == n and not set(tr.tolist()) & set(va.tolist())
    assert [v.tolist() for _, v in KFold(k, shuffle=shuffle, seed=0 if shuffle else None).split(n)] == \
        [v.tolist() for _, v in folds]


def test_kfold_errors_and_subsets():
    with pytest.raises(ValueError):
        kfold_indices(3, 4)
    with pytest.raises(ValueError):
        kfold_indices(10, 1)
    ds = _toy(12)
    pairs = list(KFold(3).subsets(ds))
    assert [(len(a), len(b)) for a, b in pairs] == [(8, 4)] * 3


# ---------------------------------------------------------------------------------------------
# transforms

def test_standardize_fit_on_train_only():
    X, y = data.load_digits(return_images=False)
    train, val = random_split(TensorDataset(X, y), [0.8, 0.2], seed=0)
    Xtr = X[dlcore.from_numpy(train.indices)]
    Xva = X[dlcore.from_numpy(val.indices)]
    sc = Standardize().fit(Xtr)
    Ztr, Zva = sc.transform(Xtr), sc.transform(Xva)
    assert isinstance(Ztr, dlcore.Tensor) and Ztr.dtype == dlcore.float32 and tuple(Ztr.shape) == tuple(Xtr.shape)
    ztr, zva = to_numpy(Ztr).astype(np.float64), to_numpy(Zva).astype(np.float64)
    xtr = to_numpy(Xtr).astype(np.float64)
    varying = xtr.std(0) > 1e-8
    np.testing.assert_allclose(ztr.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(ztr.std(0)[varying], 1.0, atol=1e-5)
    assert np.all(ztr[:, ~varying] == 0.0)                  # constant features: 0, not NaN
    assert np.all(np.isfinite(zva))
    # val uses the train statistics, so its own stats are not exactly 0 / 1
    assert np.abs(zva.mean(0)).max() > 1e-3
    np.testing.assert_allclose(sc.mean_, xtr.mean(0), rtol=1e-12)
    back = to_numpy(sc.inverse_transform(Zva))
    np.testing.assert_allclose(back, to_numpy(Xva), atol=1e-4)


def test_standardize_axes_numpy_and_errors():
    rng = np.random.default_rng(0)
    imgs = rng.normal(3.0, 2.0, size=(20, 3, 4, 4)).astype(np.float32)
    sc = Standardize(axis=(0, 2, 3)).fit(imgs)
    assert sc.mean_.shape == (3, 1, 1)
    z = sc.transform(imgs)
    assert isinstance(z, np.ndarray) and z.dtype == np.float32
    np.testing.assert_allclose(z.mean(axis=(0, 2, 3)), 0.0, atol=1e-5)
    assert sc(imgs[0]).shape == (3, 4, 4)                   # one sample broadcasts too
    with pytest.raises(RuntimeError):
        Standardize().transform(imgs)
    with pytest.raises(ValueError):
        Standardize().fit(np.zeros((5, 3))).transform(np.zeros((5, 4)))


def test_compose_totensor_one_hot():
    t = data.Compose([data.ToTensor(scale=255), data.Lambda(lambda x: x * 2)])(np.array([255, 51], np.uint8))
    assert t.dtype == dlcore.float32
    np.testing.assert_allclose(to_numpy(t), [2.0, 0.4], rtol=1e-6)
    oh = data.one_hot(dlcore.tensor([2, 0, 1]), 4)
    assert to_numpy(oh).tolist() == [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]]


# ---------------------------------------------------------------------------------------------
# synthetic sets

@pytest.mark.parametrize("maker,kwargs,n_classes", [
    (data.make_moons, dict(n=101, noise=0.1), 2),
    (data.make_spirals, dict(n=301, classes=3, noise=0.2), 3),
    (data.make_xor, dict(n=64, noise=0.05), 2),
])
def test_synthetic_classification(maker, kwargs, n_classes):
    X, y = maker(seed=0, **kwargs)
    n = kwargs["n"]
    assert tuple(X.shape) == (n, 2) and X.dtype == dlcore.float32
    assert tuple(y.shape) == (n,) and y.dtype == dlcore.int64
    counts = np.bincount(to_numpy(y), minlength=n_classes)
    assert len(counts) == n_classes and counts.min() > 0
    X2, y2 = maker(seed=0, **kwargs)
    np.testing.assert_array_equal(to_numpy(X), to_numpy(X2))
    np.testing.assert_array_equal(to_numpy(y), to_numpy(y2))
    X3, _ = maker(seed=1, **kwargs)
    assert not np.array_equal(to_numpy(X), to_numpy(X3))
    dlcore.manual_seed(5)
    Xa, _ = maker(**kwargs)
    dlcore.manual_seed(5)
    Xb, _ = maker(**kwargs)
    np.testing.assert_array_equal(to_numpy(Xa), to_numpy(Xb))


def test_moons_and_spirals_balanced():
    _, y = data.make_moons(n=101, seed=0)
    assert np.bincount(to_numpy(y)).tolist() == [50, 51]
    _, y = data.make_spirals(n=100, classes=3, seed=0)
    assert np.bincount(to_numpy(y)).tolist() == [34, 33, 33]


def test_xor_four_points():
    X, y = data.make_xor()
    assert to_numpy(X).tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert to_numpy(y).tolist() == [0, 1, 1, 0] and y.dtype == dlcore.int64
    Xn, yn = data.make_xor(n=200, noise=0.0, seed=2)
    xn = to_numpy(Xn)
    np.testing.assert_array_equal(to_numpy(yn), ((xn[:, 0] > 0) != (xn[:, 1] > 0)).astype(np.int64))


def test_make_sin():
    X, y = data.make_sin(n=50, noise=0.0, seed=0)
    assert tuple(X.shape) == (50, 1) and tuple(y.shape) == (50, 1)
    assert X.dtype == dlcore.float32 and y.dtype == dlcore.float32
    x = to_numpy(X)[:, 0]
    assert x.min() >= -np.pi and x.max() <= np.pi and np.all(np.diff(x) >= 0)
    np.testing.assert_allclose(to_numpy(y)[:, 0], np.sin(x.astype(np.float64)), atol=1e-6)
    _, yn = data.make_sin(n=50, noise=0.1, seed=0)
    assert 0.02 < np.std(to_numpy(yn) - to_numpy(y)) < 0.3
    with pytest.raises(ValueError):
        data.make_sin(n=0)
    with pytest.raises(ValueError):
        data.make_moons(n=10, noise=-1.0)


# ---------------------------------------------------------------------------------------------
# readers

def _idx_bytes(arr, code):
    dt = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    head = bytes([0, 0, code, arr.ndim]) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    return head + np.ascontiguousarray(arr, dtype=dt).tobytes()


@pytest.mark.parametrize("code,np_dtype", [(0x08, np.uint8), (0x09, np.int8), (0x0B, np.int16),
                                           (0x0C, np.int32), (0x0D, np.float32), (0x0E, np.float64)])
def test_read_idx_dtypes(tmp_path, code, np_dtype):
    rng = np.random.default_rng(code)
    a = (rng.uniform(-100, 100, size=(3, 5, 2)) if code != 0x08 else rng.integers(0, 256, (3, 5, 2)))
    a = a.astype(np_dtype)
    p = tmp_path / "x.idx"
    p.write_bytes(_idx_bytes(a, code))                      # written by hand, big-endian
    b = data.read_idx(p)
    assert b.dtype == np.dtype(np_dtype).newbyteorder("=") and b.shape == (3, 5, 2)
    np.testing.assert_array_equal(b, a)


def test_read_idx_gzip_and_load_mnist(tmp_path):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, size=(7, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 10, size=7).astype(np.uint8)
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(_idx_bytes(imgs, 0x08))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(labels, 0x08))
    np.testing.assert_array_equal(data.read_idx(tmp_path / "train-images-idx3-ubyte.gz"), imgs)
    X, y = data.load_mnist(tmp_path, train=True)
    assert tuple(X.shape) == (7, 1, 28, 28) and X.dtype == dlcore.float32
    assert y.dtype == dlcore.int64 and to_numpy(y).tolist() == labels.tolist()
    np.testing.assert_allclose(to_numpy(X)[:, 0], imgs / 255.0, rtol=1e-6)
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte"):
        data.load_mnist(tmp_path, train=False)
    # write_idx round trip
    data.write_idx(tmp_path / "w.idx.gz", imgs)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "w.idx.gz"), imgs)


def test_read_idx_malformed(tmp_path):
    good = _idx_bytes(np.arange(12, dtype=np.uint8).reshape(3, 4), 0x08)
    cases = {
        "short": b"\x00\x00",
        "magic": b"\x01\x02" + good[2:],
        "dtype": good[:2] + b"\x07" + good[3:],
        "header": good[:6],                                 # dims cut off
        "truncated": good[:-1],
        "trailing": good + b"\x00",
    }
    for name, blob in cases.items():
        p = tmp_path / f"{name}.idx"
        p.write_bytes(blob)
        with pytest.raises(ValueError) as ei:
            data.read_idx(p)
        assert f"{name}.idx" in str(ei.value), str(ei.value)
    p = tmp_path / "badgz.idx.gz"
    p.write_bytes(gzip.compress(good)[:-10])               # gzip stream cut short
    with pytest.raises(ValueError, match="badgz"):
        data.read_idx(p)
    p = tmp_path / "huge.idx"                               # header promising 2^32 x 2^32 bytes
    p.write_bytes(bytes([0, 0, 8, 2]) + struct.pack(">II", 0xFFFFFFFF, 0xFFFFFFFF))
    with pytest.raises(ValueError, match="truncated"):
        data.read_idx(p)


def _cifar_bytes(labels, imgs):
    return b"".join(bytes([int(l)]) + im.astype(np.uint8).tobytes() for l, im in zip(labels, imgs))


def test_read_cifar10_batch(tmp_path):
    rng = np.random.default_rng(1)
    imgs = rng.integers(0, 256, size=(4, 3, 32, 32)).astype(np.uint8)
    labels = [3, 0, 9, 5]
    p = tmp_path / "data_batch_1.bin"
    p.write_bytes(_cifar_bytes(labels, imgs))
    X, y = data.read_cifar10_batch(p)
    assert tuple(X.shape) == (4, 3, 32, 32) and X.dtype == dlcore.float32
    assert y.dtype == dlcore.int64 and to_numpy(y).tolist() == labels
    np.testing.assert_array_equal(to_numpy(X), imgs.astype(np.float32))
    # the red plane comes first in each record: channel 0 is bytes 1..1024
    raw = p.read_bytes()
    assert to_numpy(X)[0, 0, 0, :4].tolist() == list(raw[1:5])
    Xs, _ = data.read_cifar10_batch(p, scale=True)
    assert float(to_numpy(Xs).max()) <= 1.0


def test_read_cifar10_malformed(tmp_path):
    imgs = np.zeros((2, 3, 32, 32), np.uint8)
    for name, blob in {"trunc.bin": _cifar_bytes([1, 2], imgs)[:-5], "empty.bin": b"",
                       "label.bin": _cifar_bytes([1, 42], imgs)}.items():
        p = tmp_path / name
        p.write_bytes(blob)
        with pytest.raises(ValueError) as ei:
            data.read_cifar10_batch(p)
        assert name in str(ei.value)
