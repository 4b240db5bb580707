# test_io.py — dlcore.save / dlcore.load: round trips, the documented layout, atomic writes,
# and clear errors for truncated, corrupted or foreign files and for mismatched state_dicts.
import json
import os
import struct
import zlib
from collections import OrderedDict

import numpy as np
import pytest

import dlcore
import dlcore.io
import dlcore.nn as nn
from conftest import to_numpy


def _np(t):
    return to_numpy(t.detach())


def _model():
    return nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 2))


def _opt_state():
    """Shaped like an optimizer's state_dict: int keys, tuples, floats, tensors of every dtype."""
    return {
        "state": {
            0: {"step": 12, "exp_avg": dlcore.randn(3, 4), "exp_avg_sq": dlcore.rand(3, 4, dtype=dlcore.float64)},
            1: {"step": dlcore.tensor(12.0), "momentum_buffer": None, "mask": dlcore.tensor([True, False, True]),
                "counts": dlcore.tensor([[1, -2], [3, 2 ** 40]]), "empty": dlcore.zeros(0, 3)},
        },
        "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0,
                          "amsgrad": False, "params": [0, 1], "name": "body", "max_norm": float("inf")}],
        "epoch": 7,
        "arr": np.arange(6, dtype=np.int64).reshape(2, 3),
    }


def _assert_same(a, b):
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, dlcore.Tensor):
        assert a.dtype == b.dtype and tuple(a.shape) == tuple(b.shape) and a.device == b.device
        np.testing.assert_array_equal(_np(a), _np(b))
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a.keys()) == list(b.keys())
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    else:
        assert a == b


def test_model_state_dict_round_trip(tmp_path):
    m = _model()
    path = tmp_path / "model.dlc"
    dlcore.save(m.state_dict(), path)
    sd = dlcore.load(path)
    assert isinstance(sd, OrderedDict)
    assert list(sd) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    _assert_same(m.state_dict(), sd)
    m2 = _model()
    m2.load_state_dict(sd)
    x = dlcore.randn(4, 5)
    np.testing.assert_array_equal(_np(m(x)), _np(m2(x)))


def test_optimizer_like_state_round_trip(tmp_path):
    obj = _opt_state()
    path = str(tmp_path / "opt.dlc")
    dlcore.save(obj, path)
    back = dlcore.load(path)
    _assert_same(obj, back)
    assert back["param_groups"][0]["betas"] == (0.9, 0.999)
    assert back["state"][1]["counts"].tolist() == [[1, -2], [3, 2 ** 40]]


def test_scalars_views_parameters_and_shared_tensors(tmp_path):
    base = dlcore.arange(12.0).reshape(3, 4)
    p = nn.Parameter(dlcore.randn(2, 2))
    obj = [base.T, base[1], dlcore.tensor(2.5, dtype=dlcore.float64), p, p, float("nan"), -0.0, "s", None]
    dlcore.save(obj, tmp_path / "x")
    back = dlcore.load(tmp_path / "x")
    np.testing.assert_array_equal(_np(back[0]), _np(base).T)
    np.testing.assert_array_equal(_np(back[1]), _np(base)[1])
    assert back[2].shape == () and back[2].item() == 2.5 and back[2].dtype == dlcore.float64
    assert isinstance(back[3], nn.Parameter) and back[3].requires_grad
    assert back[3] is back[4]                                 # saved once, loaded once
    assert np.isnan(back[5]) and str(back[6]) == "-0.0" and back[7:] == ["s", None]


def test_documented_layout(tmp_path):
    path = tmp_path / "f"
    dlcore.save({"w": dlcore.ones(2, 3)}, path)
    blob = path.read_bytes()
    magic, version, hlen, hcrc = struct.unpack_from("<8sIQI", blob, 0)
    assert magic == b"\x89DLCORE\n" and version == 1
    assert zlib.crc32(blob[24:24 + hlen]) == hcrc
    header = json.loads(blob[24:24 + hlen])
    assert header["format"] == "dlcore" and header["version"] == 1
    (entry,) = header["tensors"]
    assert entry["dtype"] == "float32" and entry["shape"] == [2, 3] and entry["device"] == "cpu"
    start = (24 + hlen + 63) // 64 * 64
    assert len(blob) == start + header["data_size"]
    data = np.frombuffer(blob[start + entry["offset"]:start + entry["offset"] + entry["nbytes"]], "<f4")
    np.testing.assert_array_equal(data, np.ones(6))
    assert header["root"] == {"dict": [["w", {"tensor": 0}]]}


def test_save_rejects_what_it_cannot_store(tmp_path):
    path = tmp_path / "bad"
    with pytest.raises(TypeError, match="state_dict"):
        dlcore.save(_model(), path)                           # save model.state_dict() instead
    with pytest.raises(TypeError, match="set"):
        dlcore.save({"a": {1, 2}}, path)
    with pytest.raises(TypeError):
        dlcore.save({"a": np.zeros(3, dtype=np.int32)}, path)
    assert not path.exists() and os.listdir(tmp_path) == []


class _FailingFile:
    """Wraps a real file; raises after `limit` bytes, as a full disk would."""

    def __init__(self, f, limit):
        self.f, self.limit, self.written = f, limit, 0

    def write(self, b):
        n = len(memoryview(b).cast("B"))
        if self.written + n > self.limit:
            self.f.write(bytes(memoryview(b).cast("B")[:self.limit - self.written]))
            raise OSError(28, "No space left on device")
        self.written += n
        return self.f.write(b)

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


@pytest.mark.parametrize("limit", [0, 10, 300, 2000])
def test_failed_write_leaves_old_file_intact(tmp_path, monkeypatch, limit):
    path = tmp_path / "ckpt.dlc"
    old = {"w": dlcore.ones(3)}
    dlcore.save(old, path)
    before = path.read_bytes()
    real_open = open
    monkeypatch.setattr(dlcore.io, "open", lambda p, mode="r": _FailingFile(real_open(p, mode), limit),
                        raising=False)
    with pytest.raises(OSError):
        dlcore.save({"w": dlcore.randn(100, 10), "b": dlcore.zeros(10)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before                        # untouched
    assert os.listdir(tmp_path) == ["ckpt.dlc"]               # the temp file is cleaned up
    _assert_same(dlcore.load(path), old)


def test_failed_fsync_leaves_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.dlc"
    dlcore.save({"v": 1}, path)

    def boom(fd):
        raise OSError("fsync failed")
    monkeypatch.setattr(dlcore.io.os, "fsync", boom)
    with pytest.raises(OSError):
        dlcore.save({"v": 2}, path)
    monkeypatch.undo()
    assert dlcore.load(path) == {"v": 1}
    assert os.listdir(tmp_path) == ["ckpt.dlc"]


def _saved_blob(tmp_path):
    path = tmp_path / "good.dlc"
    dlcore.save(_opt_state(), path)
    return path.read_bytes()


def test_truncated_files_raise_value_error_naming_the_file(tmp_path):
    blob = _saved_blob(tmp_path)
    bad = tmp_path / "truncated.dlc"
    for n in [0, 5, 23, 24, 40, len(blob) // 2, len(blob) - 1]:
        bad.write_bytes(blob[:n])
        with pytest.raises(ValueError) as e:
            dlcore.load(bad)
        assert "truncated.dlc" in str(e.value)
    bad.write_bytes(blob + b"\0")
    with pytest.raises(ValueError, match="trailing"):
        dlcore.load(bad)


def test_corrupted_files_raise_value_error(tmp_path):
    blob = _saved_blob(tmp_path)
    hlen = struct.unpack_from("<Q", blob, 12)[0]
    bad = tmp_path / "corrupt.dlc"
    cases = {
        "magic": b"PK\x03\x04" + blob[4:],
        "version": blob[:8] + struct.pack("<I", 99) + blob[12:],
        "header length": blob[:12] + struct.pack("<Q", 10 ** 12) + blob[20:],
        "header crc": blob[:20] + struct.pack("<I", 0) + blob[24:],
        "header json": blob[:24] + b"X" + blob[25:],
        "data": blob[:-3] + bytes([blob[-3] ^ 0xFF]) + blob[-2:],
    }
    for what, data in cases.items():
        bad.write_bytes(data)
        with pytest.raises(ValueError) as e:
            dlcore.load(bad)
        assert "corrupt.dlc" in str(e.value), what

    # headers with a valid CRC but wrong content: checked structurally too
    data = blob[(24 + hlen + 63) // 64 * 64:]

    def with_header(text):
        raw = text.encode()
        head = struct.pack("<8sIQI", b"\x89DLCORE\n", 1, len(raw), zlib.crc32(raw)) + raw
        return head + b"\0" * (-len(head) % 64) + data

    header = json.loads(blob[24:24 + hlen])
    lying = dict(header, tensors=[dict(header["tensors"][0], nbytes=header["tensors"][0]["nbytes"] + 4)]
                 + header["tensors"][1:])
    swapped = dict(header, tensors=[dict(header["tensors"][0], offset=10 ** 9)] + header["tensors"][1:])
    bad.write_bytes(with_header(json.dumps(header)))           # the rebuilt file itself is valid
    _assert_same(dlcore.load(bad), dlcore.load(tmp_path / "good.dlc"))
    for text, pattern in [("[1, 2]", "not a dlcore header"), (json.dumps(lying), "bytes"),
                          (json.dumps(swapped), "outside"),
                          (json.dumps(dict(header, root={"tensor": 999})), "outside the tensor table"),
                          (json.dumps(dict(header, root={"weird": 1})), "malformed")]:
        bad.write_bytes(with_header(text))
        with pytest.raises(ValueError, match=pattern):
            dlcore.load(bad)


def test_every_single_byte_flip_is_detected(tmp_path):
    path = tmp_path / "small.dlc"
    dlcore.save({"w": dlcore.randn(3, 2), "n": dlcore.tensor([1, 2]), "lr": 0.1}, path)
    blob = path.read_bytes()
    bad = tmp_path / "flipped.dlc"
    for i in range(len(blob)):
        bad.write_bytes(blob[:i] + bytes([blob[i] ^ 0x10]) + blob[i + 1:])
        with pytest.raises(ValueError):
            dlcore.load(bad)


def test_not_a_dlcore_file(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("hello, this is not a checkpoint at all")
    with pytest.raises(ValueError, match="not a dlcore file"):
        dlcore.load(p)
    with pytest.raises(FileNotFoundError):
        dlcore.load(tmp_path / "missing.dlc")


def test_load_state_dict_strictness_after_load(tmp_path):
    path = tmp_path / "m.dlc"
    dlcore.save(_model().state_dict(), path)
    other = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3))
    with pytest.raises(ValueError, match=r"2\.weight"):
        other.load_state_dict(dlcore.load(path))
    deeper = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 2), nn.Linear(2, 2))
    with pytest.raises(KeyError, match="3.weight"):
        deeper.load_state_dict(dlcore.load(path))
    res = deeper.load_state_dict(dlcore.load(path), strict=False)
    assert res.missing_keys == ["3.weight", "3.bias"]


def test_map_location_cpu(tmp_path):
    path = tmp_path / "m.dlc"
    dlcore.save({"a": dlcore.ones(2)}, path)
    assert dlcore.load(path, map_location="cpu")["a"].device == "cpu"
    assert dlcore.load(path, map_location=lambda d: "cpu")["a"].device == "cpu"


@pytest.mark.cuda
def test_cuda_tensors_round_trip(tmp_path):
    path = tmp_path / "g.dlc"
    t = dlcore.randn(4, 3, device="cuda")
    dlcore.save({"t": t}, path)
    back = dlcore.load(path)["t"]
    assert back.is_cuda
    np.testing.assert_array_equal(to_numpy(back), to_numpy(t))
    assert not dlcore.load(path, map_location="cpu")["t"].is_cuda


def _rewrite_header(blob, edit):
    """The same file with its JSON header edited by `edit(header)`: header CRC and the padding
    before the (unchanged) data section redone, so only the edited claim is wrong."""
    import json
    import struct
    import zlib
    magic, version, hlen, _ = struct.unpack_from("<8sIQI", blob)
    header = json.loads(blob[24:24 + hlen])
    data = blob[24 + hlen + (-(24 + hlen)) % 64:]
    edit(header)
    raw = json.dumps(header, separators=(",", ":")).encode()
    pad = b"\0" * ((-(24 + len(raw))) % 64)
    return struct.pack("<8sIQI", magic, version, len(raw), zlib.crc32(raw)) + raw + pad + data


@pytest.mark.parametrize("shape", [[2 ** 32, 2 ** 32], [2 ** 62, 4], [2 ** 40], [-1, 3]])
def test_absurd_shapes_in_the_header_raise_without_allocating(tmp_path, shape):
    import tracemalloc
    blob = _saved_blob(tmp_path)

    def edit(h):
        h["tensors"][0]["shape"] = shape
    bad = tmp_path / "absurd.dlc"
    bad.write_bytes(_rewrite_header(blob, edit))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="absurd.dlc"):
            dlcore.load(bad)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * len(blob) + (1 << 20)          # nothing near what the header claims


def test_absurd_data_size_and_offsets_raise(tmp_path):
    blob = _saved_blob(tmp_path)
    for key, value in [("data_size", 2 ** 62), ("data_size", -5)]:
        def edit(h):
            h[key] = value
        bad = tmp_path / "absurd.dlc"
        bad.write_bytes(_rewrite_header(blob, edit))
        with pytest.raises(ValueError, match="absurd.dlc"):
            dlcore.load(bad)

    def edit_offset(h):
        h["tensors"][0]["offset"] = 2 ** 62
    bad = tmp_path / "absurd.dlc"
    bad.write_bytes(_rewrite_header(blob, edit_offset))
    with pytest.raises(ValueError, match="outside the data section"):
        dlcore.load(bad)
