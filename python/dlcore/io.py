"""dlcore.save / dlcore.load: model and optimizer state in a small, documented, pickle-free format.

File layout (all integers little-endian)::

    offset 0   8 bytes   magic b"\\x89DLCORE\\n"  (a non-ASCII first byte, like PNG's, so a text
                         tool or a truncated download never passes for a checkpoint)
    offset 8   4 bytes   uint32 format version (currently 1)
    offset 12  8 bytes   uint64 H = length of the JSON header in bytes
    offset 20  4 bytes   uint32 CRC-32 (zlib.crc32) of the H header bytes
    offset 24  H bytes   UTF-8 JSON header (below)
               padding   zero bytes up to the next multiple of 64: the data section start D
    D ...                tensor bytes, each C-contiguous, little-endian, starting at D + offset
                         (offsets are multiples of 64), padded with zeros between tensors;
                         the file ends exactly at D + header["data_size"]

The JSON header::

    {"format": "dlcore", "version": 1, "data_size": <bytes>,
     "tensors": [{"dtype": "float32", "shape": [3, 4], "device": "cpu", "requires_grad": false,
                  "parameter": false, "kind": "tensor", "offset": 0, "nbytes": 48,
                  "crc32": <zlib.crc32 of the bytes>}, ...],
     "root": <value>}

``root`` encodes the saved object. JSON literals stand for themselves (None, bool, int, float
incl. NaN/Infinity, str, list); every other value is a one-key object:
``{"tuple": [...]}``, ``{"dict": [[key, value], ...]}`` (keys may be any encodable value, so an
optimizer's integer-keyed state survives), ``{"odict": [...]}`` (an OrderedDict, such as a
state_dict), ``{"tensor": i}`` (a dlcore.Tensor, entry i of "tensors"), ``{"ndarray": i}``
(a NumPy array). dtypes: float32, float64, int64, bool (1 byte per element).

Loading never executes code from the file: it parses JSON and copies bytes. Every size and
offset is checked against the file, the header and each tensor against their CRC-32, and all
padding must be zero, so a truncated file or any flipped byte raises ValueError naming the
file instead of yielding garbage.

Writes are atomic: the bytes go to ``path + ".tmp-<pid>"``, are flushed and fsync'd, and then
os.replace() puts the file in place; a crash or an error mid-write leaves any earlier file at
``path`` untouched.
"""
from __future__ import annotations

from typing import Any

import json
import math
import numbers
import os
import struct
import zlib
from collections import OrderedDict

import numpy as np

from .tensor import Tensor, from_numpy
from ._dtype import as_device, bool_, float32, float64, int64

MAGIC = b"\x89DLCORE\n"
VERSION = 1
ALIGN = 64
_PREFIX = struct.Struct("<8sIQI")          # magic, version, header length, header CRC-32
_DTYPES = {d.name: d for d in (float32, float64, int64, bool_)}
_MAX_HEADER = 1 << 31


def _pad(n):
    return (-n) % ALIGN


# ---- save ------------------------------------------------------------------------------------

class _Encoder:
    def __init__(self):
        self.entries = []       # header entries for the tensor table
        self.arrays = []        # the host bytes, one C-contiguous little-endian array per entry
        self.ids = {}           # id(obj) -> index: an object saved twice is stored once
        self.keep = []          # keeps the objects alive so ids stay unique during encoding
        self.size = 0

    def tensor(self, obj, kind):
        key = id(obj)
        if key in self.ids:
            return self.ids[key]
        if kind == "tensor":
            arr = np.asarray(obj.detach())          # copies from CUDA; zero-copy view on the CPU
            meta = dict(dtype=obj.dtype.name, device=str(obj.device), requires_grad=bool(obj.requires_grad),
                        parameter=type(obj).__name__ == "Parameter")
        else:
            if obj.dtype.newbyteorder("=") not in [d.numpy for d in _DTYPES.values()]:
                raise TypeError(f"save: NumPy arrays of dtype {obj.dtype} can't be stored "
                                f"(supported: {', '.join(_DTYPES)})")
            arr = obj
            meta = dict(dtype=next(n for n, d in _DTYPES.items() if d.numpy == obj.dtype.newbyteorder("=")),
                        device="cpu", requires_grad=False, parameter=False)
        if not arr.flags.c_contiguous:          # (np.ascontiguousarray would turn 0-d into 1-d)
            arr = arr.copy(order="C")
        arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
        i = len(self.entries)
        self.size += _pad(self.size)
        meta.update(kind=kind, shape=list(arr.shape), offset=self.size, nbytes=int(arr.nbytes),
                    crc32=zlib.crc32(memoryview(arr).cast("B")) if arr.nbytes else 0)
        self.entries.append(meta)
        self.arrays.append(arr)
        self.size += arr.nbytes
        self.ids[key] = i
        self.keep.append(obj)
        return i

    def encode(self, obj, where):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, numbers.Integral):
            return int(obj)
        if isinstance(obj, numbers.Real):
            return float(obj)
        if isinstance(obj, Tensor):
            return {"tensor": self.tensor(obj, "tensor")}
        if isinstance(obj, np.ndarray):
            return {"ndarray": self.tensor(obj, "ndarray")}
        if isinstance(obj, list):
            return [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]
        if isinstance(obj, tuple):
            return {"tuple": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        if isinstance(obj, dict):
            tag = "odict" if isinstance(obj, OrderedDict) else "dict"
            return {tag: [[self.encode(k, f"{where} key"), self.encode(v, f"{where}[{k!r}]")]
                          for k, v in obj.items()]}
        hint = ""
        if hasattr(obj, "state_dict"):
            hint = " (save its state_dict() instead: dlcore.save(obj.state_dict(), path))"
        raise TypeError(f"save: can't store an object of type {type(obj).__name__} at {where}{hint}; "
                        "supported: tensors, NumPy arrays, dicts, lists, tuples, str, numbers, bool, None")


def save(obj: Any, path: str | os.PathLike[str]) -> None:
    """Writes obj (a state_dict, an optimizer's state_dict, or nested dicts/lists of tensors and
    numbers) to path atomically in the dlcore format described in this module's docstring."""
    path = os.fspath(path)
    enc = _Encoder()
    root = enc.encode(obj, "obj")
    header = json.dumps(dict(format="dlcore", version=VERSION, data_size=enc.size, tensors=enc.entries,
                             root=root), separators=(",", ":")).encode("utf-8")
    prefix = _PREFIX.pack(MAGIC, VERSION, len(header), zlib.crc32(header))
    head_pad = _pad(len(prefix) + len(header))

    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(prefix)
            f.write(header)
            f.write(b"\0" * head_pad)
            pos = 0
            for meta, arr in zip(enc.entries, enc.arrays):
                f.write(b"\0" * (meta["offset"] - pos))
                if arr.nbytes:
                    f.write(memoryview(arr).cast("B"))
                pos = meta["offset"] + arr.nbytes
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    try:        # make the rename itself durable (not possible on every platform/filesystem)
        dfd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


# ---- load ------------------------------------------------------------------------------------

class _Decoder:
    def __init__(self, path, tensors, map_location):
        self.path = path
        self.tensors = tensors
        self.map_location = map_location

    def bad(self, msg):
        return ValueError(f"load: {self.path}: {msg}")

    def decode(self, v):
        if v is None or isinstance(v, (bool, str, int, float)):
            return v
        if isinstance(v, list):
            return [self.decode(x) for x in v]
        if isinstance(v, dict) and len(v) == 1:
            (tag, body), = v.items()
            if tag in ("tensor", "ndarray"):
                if not isinstance(body, int) or isinstance(body, bool) or not 0 <= body < len(self.tensors):
                    raise self.bad(f"tensor reference {body!r} outside the tensor table")
                return self.tensors[body]
            if tag == "tuple" and isinstance(body, list):
                return tuple(self.decode(x) for x in body)
            if tag in ("dict", "odict") and isinstance(body, list):
                out = OrderedDict() if tag == "odict" else {}
                for pair in body:
                    if not isinstance(pair, list) or len(pair) != 2:
                        raise self.bad(f"malformed dict entry {pair!r}")
                    k = self.decode(pair[0])
                    try:
                        out[k] = self.decode(pair[1])
                    except TypeError:
                        raise self.bad(f"unhashable dict key {k!r}") from None
                return out
        raise self.bad(f"malformed value {str(v)[:80]!r} in the header")


def _target_device(saved, map_location):
    if map_location is None:
        dev = as_device(saved)
        if dev.type == "cuda":
            from . import cuda
            if not cuda.is_available():
                raise RuntimeError(f"load: a tensor was saved on {saved} but CUDA is not available here; "
                                   "pass map_location='cpu'")
        return dev
    if callable(map_location):
        return as_device(map_location(saved))
    if isinstance(map_location, dict):
        return as_device(map_location.get(saved, saved))
    return as_device(map_location)


def load(path: str | os.PathLike[str], map_location: Any = None) -> Any:
    """Reads what save() wrote. Tensors come back on the device they were saved from, or on
    map_location ("cpu", "cuda:0", a {saved: target} dict, or a function of the saved name).
    Raises ValueError naming the file if it is not a dlcore file, is truncated or corrupted."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        blob = f.read()
    size = len(blob)

    def bad(msg):
        return ValueError(f"load: {path}: {msg}")

    if size < _PREFIX.size:
        raise bad(f"file is {size} bytes, too short to be a dlcore file (truncated?)")
    magic, version, hlen, hcrc = _PREFIX.unpack_from(blob, 0)
    if magic != MAGIC:
        raise bad(f"not a dlcore file (magic bytes {magic!r}, expected {MAGIC!r})")
    if version > VERSION or version < 1:
        raise bad(f"format version {version} is not supported by this dlcore (reads up to {VERSION})")
    if hlen > min(size - _PREFIX.size, _MAX_HEADER):
        raise bad(f"header length {hlen} runs past the end of the {size}-byte file (truncated?)")
    raw_header = blob[_PREFIX.size:_PREFIX.size + hlen]
    if zlib.crc32(raw_header) != hcrc:
        raise bad("header failed its CRC-32 check: corrupted (or truncated) header")
    try:
        header = json.loads(raw_header.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise bad(f"corrupted header ({e})") from None
    if not isinstance(header, dict) or header.get("format") != "dlcore" or "root" not in header:
        raise bad("header is not a dlcore header")
    entries, data_size = header.get("tensors"), header.get("data_size")
    if not isinstance(entries, list) or not isinstance(data_size, int) or data_size < 0:
        raise bad("header lacks a valid tensor table / data_size")
    start = _PREFIX.size + hlen
    start += _pad(start)
    if size != start + data_size:
        raise bad(f"file is {size} bytes, the header says {start + data_size} "
                  f"({'truncated' if size < start + data_size else 'trailing bytes'})")

    if any(blob[_PREFIX.size + hlen:start]):
        raise bad("nonzero bytes in the padding after the header: corrupted file")
    tensors, spans = [], []
    for i, e in enumerate(entries):
        try:
            dt = _DTYPES[e["dtype"]]
            shape = tuple(e["shape"])
            offset, nbytes, crc = e["offset"], e["nbytes"], e["crc32"]
            kind = e.get("kind", "tensor")
            if not all(isinstance(s, int) and s >= 0 for s in shape) or not isinstance(offset, int):
                raise ValueError
        except (KeyError, TypeError, ValueError):
            raise bad(f"tensor entry {i} is malformed: {str(e)[:120]}") from None
        numel = math.prod(shape)            # Python ints: an absurd shape cannot wrap to a small count
        if nbytes != numel * dt.itemsize:
            raise bad(f"tensor entry {i}: {nbytes} bytes don't match shape {list(shape)} of {dt.name}")
        if offset < 0 or offset + nbytes > data_size:
            raise bad(f"tensor entry {i}: bytes [{offset}, {offset + nbytes}) lie outside the data section")
        spans.append((offset, offset + nbytes))
        raw = memoryview(blob)[start + offset:start + offset + nbytes]
        if (zlib.crc32(raw) if nbytes else 0) != crc:
            raise bad(f"tensor entry {i} (shape {list(shape)}, {dt.name}) failed its CRC-32 check: corrupted data")
        arr = np.frombuffer(raw, dtype=dt.numpy.newbyteorder("<")).astype(dt.numpy, copy=True).reshape(shape)
        if kind == "ndarray":
            tensors.append(arr)
            continue
        t = from_numpy(arr)
        dev = _target_device(e.get("device", "cpu"), map_location)
        if dev.type != "cpu":
            t = t.to(dev)
        if e.get("parameter"):
            from .nn.module import Parameter
            t = Parameter(t, requires_grad=bool(e.get("requires_grad", True)))
        elif e.get("requires_grad") and dt.is_floating_point:
            t.requires_grad_(True)
        tensors.append(t)
    pos = 0                                 # the gaps between tensors must be zero padding
    for lo, hi in sorted(spans):
        if lo < pos:
            raise bad(f"tensor bytes overlap at data offset {lo}")
        if any(blob[start + pos:start + lo]):
            raise bad(f"nonzero bytes in the padding at data offset {pos}: corrupted file")
        pos = hi
    if any(blob[start + pos:start + data_size]):
        raise bad(f"nonzero bytes in the padding at data offset {pos}: corrupted file")
    return _Decoder(path, tensors, map_location).decode(header["root"])
