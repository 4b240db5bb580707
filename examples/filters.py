"""The first-layer filters of the trained digits CNN, written to a PNG grid.

    python examples/filters.py [out.png]

Trains the CNN of examples/cnn_digits.py (its fast schedule), then lays the 32 learned 3x3
kernels of the first convolution out as a grid of tiles: each kernel is scaled to its own
[min, max] range (black to white), magnified to 24x24 pixels, with a 4-pixel grey border
between tiles. Edge and stroke detectors of several orientations are typical: a dark row
above a light one responds to the top edge of a stroke, and so on.

The PNG is written by a few lines of zlib + struct (no imaging library needed).
"""
import importlib.util
import pathlib
import struct
import sys
import zlib

import numpy as np


def write_png(path, gray):
    """Writes a 2-D uint8 array as an 8-bit greyscale PNG."""
    h, w = gray.shape
    raw = b"".join(b"\x00" + gray[r].tobytes() for r in range(h))     # filter type 0 per row

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    pathlib.Path(path).write_bytes(png)


def filter_grid(weight, cols=8, scale=8, border=4):
    """(K, 1, r, r) kernels -> one uint8 image with the tiles side by side, `cols` per row."""
    w = np.asarray(weight, dtype=np.float64)[:, 0]
    k, r = w.shape[0], w.shape[1]
    rows = -(-k // cols)
    tile = r * scale
    img = np.full((rows * (tile + border) + border, cols * (tile + border) + border), 128, np.uint8)
    for i in range(k):
        f = w[i]
        f = (f - f.min()) / (f.max() - f.min() + 1e-12)
        big = np.kron(f, np.ones((scale, scale)))
        y0 = border + (i // cols) * (tile + border)
        x0 = border + (i % cols) * (tile + border)
        img[y0:y0 + tile, x0:x0 + tile] = np.round(255 * big).astype(np.uint8)
    return img


def main(out="filters.png", fast=True, seed=0):
    spec = importlib.util.spec_from_file_location(
        "cnn_digits", pathlib.Path(__file__).resolve().parent / "cnn_digits.py")
    cnn = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cnn)
    result = cnn.main(fast=fast, seed=seed, progress=False)
    weight = result["model"][0].weight.detach()
    img = filter_grid(weight)
    write_png(out, img)
    print(f"{weight.shape[0]} first-layer filters ({weight.shape[2]}x{weight.shape[3]}) of the CNN "
          f"with {100 * result['test_accuracy']:.2f}% test accuracy written to {out} "
          f"({img.shape[1]}x{img.shape[0]} pixels)")
    return {"path": out, "image": img, "test_accuracy": result["test_accuracy"]}


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "filters.png")
