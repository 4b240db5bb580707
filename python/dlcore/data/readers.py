"""Readers for the MNIST IDX and CIFAR-10 binary file formats (files you already have on disk).

IDX (http://yann.lecun.com/exdb/mnist/): a 4-byte magic number
    0x00 0x00 <dtype code> <number of dims>
then one big-endian uint32 per dimension, then the data, big-endian, row-major. Dtype codes:
0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64. Files may be
gzip-compressed (detected from the 0x1f 0x8b magic, whatever the file is called).

CIFAR-10 binary (data_batch_1.bin ... data_batch_5.bin, test_batch.bin): records of 3073
bytes — one label byte 0..9, then 3072 pixel bytes: the 1024 red values of a 32x32 image
row by row, then the 1024 green, then the 1024 blue — which is exactly NCHW.

Every malformed input raises ValueError naming the file and what was expected; nothing is
read past the end of a buffer.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from ..tensor import from_numpy

if TYPE_CHECKING:
    from ..tensor import Tensor

_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_bytes(path) -> bytes:
    """The file's bytes, gunzipped when it starts with the gzip magic."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise ValueError(f"{path}: corrupt or truncated gzip data ({e})") from None
    return raw


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Reads an IDX file (optionally gzip-compressed) into a NumPy array of native byte order.

    The dtype is the file's (uint8 for MNIST images and labels); convert before making a
    tensor. Raises ValueError for a bad magic number, an unknown dtype code, or a size that
    does not match the header.
    """
    name = os.fspath(path)
    buf = _read_bytes(path)
    if len(buf) < 4:
        raise ValueError(f"{name}: not an IDX file: {len(buf)} bytes, expected at least a 4-byte header")
    if buf[0] != 0 or buf[1] != 0:
        raise ValueError(f"{name}: not an IDX file: magic number starts with bytes "
                         f"0x{buf[0]:02x} 0x{buf[1]:02x}, expected 0x00 0x00")
    code, ndim = buf[2], buf[3]
    if code not in _IDX_DTYPES:
        raise ValueError(f"{name}: unknown IDX dtype code 0x{code:02x}, expected one of "
                         + ", ".join(f"0x{c:02x}" for c in _IDX_DTYPES))
    if ndim == 0:
        raise ValueError(f"{name}: IDX header says 0 dimensions, expected at least 1")
    header = 4 + 4 * ndim
    if len(buf) < header:
        raise ValueError(f"{name}: truncated IDX header: {len(buf)} bytes, expected {header} "
                         f"for {ndim} dimensions")
    dims = tuple(int(d) for d in np.frombuffer(buf, dtype=">u4", count=ndim, offset=4))
    dt = _IDX_DTYPES[code]
    expected = math.prod(dims) * dt.itemsize        # Python ints: no overflow on a bogus header
    got = len(buf) - header
    if got != expected:
        what = "truncated" if got < expected else "has trailing bytes"
        raise ValueError(f"{name}: IDX file {what}: dims {dims} of {dt.name} need {expected} data bytes, "
                         f"found {got}")
    a = np.frombuffer(buf, dtype=dt, offset=header).reshape(dims)
    return a.astype(dt.newbyteorder("="))       # native order, and a writable private copy


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Writes ``array`` as an IDX file (gzip-compressed when path ends in .gz)."""
    a = np.asarray(array)
    codes = {v.name: k for k, v in _IDX_DTYPES.items()}      # "uint8", "int16", ... (order-free)
    name = a.dtype.name
    if name not in codes:
        raise TypeError(f"write_idx: dtype {a.dtype} has no IDX code (uint8, int8, int16, int32, "
                        f"float32, float64)")
    if a.ndim == 0 or a.ndim > 255:
        raise ValueError(f"write_idx: need 1..255 dimensions, got {a.ndim}")
    code = codes[name]
    data = (bytes([0, 0, code, a.ndim]) + np.asarray(a.shape, dtype=">u4").tobytes()
            + np.ascontiguousarray(a, dtype=_IDX_DTYPES[code]).tobytes())
    opener = gzip.open if os.fspath(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(data)


_MNIST_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _find(root: Path, stem: str):
    # The usual spellings: as distributed (.gz), unpacked, and the dotted variant some mirrors use.
    dotted = stem.replace("-idx", ".idx")
    for cand in (stem, stem + ".gz", dotted, dotted + ".gz"):
        p = root / cand
        if p.is_file():
            return p
    return None


def load_mnist(root: str | os.PathLike[str], train: bool = True, scale: bool = True) -> tuple[Tensor, Tensor]:
    """Reads MNIST (or Fashion-MNIST, same files) from ``root``.

    Looks for train-images-idx3-ubyte / train-labels-idx1-ubyte (train=True) or
    t10k-images-idx3-ubyte / t10k-labels-idx1-ubyte (train=False), each optionally .gz.
    Returns (X, y): X float32 (n, 1, 28, 28) — in [0, 1] when scale else 0..255 — and
    y int64 (n,). FileNotFoundError names the files it looked for.
    """
    root = Path(root)
    img_stem, lbl_stem = _MNIST_FILES[bool(train)]
    img, lbl = _find(root, img_stem), _find(root, lbl_stem)
    if img is None or lbl is None:
        missing = [s for s, p in ((img_stem, img), (lbl_stem, lbl)) if p is None]
        raise FileNotFoundError(f"load_mnist: {', '.join(missing)} (or .gz) not found in {root}")
    X, y = read_idx(img), read_idx(lbl)
    if X.ndim != 3:
        raise ValueError(f"{img}: expected images of shape (n, rows, cols), got {X.shape}")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(f"{lbl}: expected {X.shape[0]} labels (one per image in {img.name}), "
                         f"got shape {y.shape}")
    Xf = X.astype(np.float32)[:, None, :, :]
    if scale:
        Xf *= np.float32(1.0 / 255.0)
    return from_numpy(np.ascontiguousarray(Xf)), from_numpy(y.astype(np.int64))


CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
_CIFAR_RECORD = 1 + 3 * 32 * 32


def read_cifar10_batch(path: str | os.PathLike[str], scale: bool = False) -> tuple[Tensor, Tensor]:
    """Reads one CIFAR-10 binary batch file.

    Returns (X, y): X float32 (n, 3, 32, 32) with values 0..255 (or [0, 1] when scale),
    y int64 (n,) with labels 0..9. ValueError for an empty file, a size that is not a multiple
    of 3073 bytes, or a label outside 0..9.
    """
    name = os.fspath(path)
    buf = _read_bytes(path)
    if len(buf) == 0 or len(buf) % _CIFAR_RECORD:
        raise ValueError(f"{name}: not a CIFAR-10 binary batch: {len(buf)} bytes is not a positive "
                         f"multiple of the {_CIFAR_RECORD}-byte record (1 label + 3x32x32 pixels)")
    rec = np.frombuffer(buf, dtype=np.uint8).reshape(-1, _CIFAR_RECORD)
    y = rec[:, 0].astype(np.int64)
    if y.max() > 9:
        bad = int(np.argmax(y > 9))
        raise ValueError(f"{name}: record {bad} has label {int(y[bad])}, expected 0..9 "
                         f"(is this a CIFAR-100 file?)")
    X = rec[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32)
    if scale:
        X *= np.float32(1.0 / 255.0)
    return from_numpy(X), from_numpy(y)


def load_cifar10(root: str | os.PathLike[str], train: bool = True,
                 scale: bool = False) -> tuple[Tensor, Tensor]:
    """Reads data_batch_1..5.bin (train) or test_batch.bin from ``root`` (or its
    cifar-10-batches-bin subfolder) and concatenates them: (X float32 (n,3,32,32), y int64)."""
    root = Path(root)
    if (root / "cifar-10-batches-bin").is_dir():
        root = root / "cifar-10-batches-bin"
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] if train else ["test_batch.bin"]
    missing = [n for n in names if not (root / n).is_file()]
    if missing:
        raise FileNotFoundError(f"load_cifar10: {', '.join(missing)} not found in {root}")
    parts = [read_cifar10_batch(root / n, scale) for n in names]
    X = np.concatenate([p[0].numpy() for p in parts])
    y = np.concatenate([p[1].numpy() for p in parts])
    return from_numpy(X), from_numpy(y)
