# test_viz.py — dlcore.viz: the grid layout (NumPy only, always runs), PNG files written by each
# installed backend and read back, and the ImportError naming what to install when none is.
import builtins
import sys

import numpy as np
import pytest

import dlcore
from dlcore import viz

BACKENDS = viz.available_backends()
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _read_png(path):
    """The PNG's pixels as floats in [0, 1] (grey or RGB; alpha dropped), by whichever reader exists."""
    if "pillow" in BACKENDS:
        from PIL import Image
        a = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255
    else:
        from matplotlib import image as mpimg
        a = np.asarray(mpimg.imread(path), dtype=np.float64)[..., :3]
    return a


def test_import_dlcore_does_not_import_plotting_libraries():
    import subprocess
    code = "import dlcore, sys; assert 'matplotlib' not in sys.modules and 'PIL' not in sys.modules; dlcore.viz"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_image_grid_layout():
    imgs = np.arange(5 * 2 * 3, dtype=np.float32).reshape(5, 2, 3)     # 5 images of 2 x 3
    g = viz.image_grid(imgs, nrow=3, padding=1, normalize=True)
    assert g.shape == (1 + 2 * (2 + 1), 1 + 3 * (3 + 1))               # 2 rows of 3, 1-pixel borders
    scaled = imgs / imgs.max()
    np.testing.assert_allclose(g[1:3, 1:4], scaled[0])
    np.testing.assert_allclose(g[1:3, 5:8], scaled[1])
    np.testing.assert_allclose(g[4:6, 5:8], scaled[4])
    assert (g[4:6, 9:12] == 1.0).all()                                 # the empty sixth cell
    assert (g[0] == 1.0).all() and (g[:, 0] == 1.0).all()
    rgb = viz.image_grid(dlcore.rand(4, 3, 5, 5), normalize=False)
    assert rgb.shape == (13, 13, 3) and rgb.min() >= 0 and rgb.max() <= 1
    fixed = viz.image_grid(np.full((1, 1, 2, 2), 0.0), value_range=(-1, 1), padding=0)
    np.testing.assert_allclose(fixed, 0.5)
    with pytest.raises(ValueError, match="image_grid"):
        viz.image_grid(np.zeros((2, 4, 5, 5)))
    with pytest.raises(ValueError, match="N = 0"):
        viz.image_grid(np.zeros((0, 5, 5)))


@pytest.mark.skipif(not BACKENDS, reason="neither matplotlib nor Pillow is installed")
@pytest.mark.parametrize("backend", BACKENDS)
def test_image_grid_png_round_trip(tmp_path, backend):
    rng = np.random.default_rng(0)
    imgs = rng.random((6, 1, 4, 4))
    path = viz.save_image_grid(imgs, tmp_path / "grid.png", nrow=3, padding=1, normalize=False,
                               scale=2, backend=backend)
    assert open(path, "rb").read(8) == PNG_MAGIC
    got = _read_png(path)
    want = np.repeat(np.repeat(viz.image_grid(imgs, nrow=3, normalize=False), 2, 0), 2, 1)
    assert got.shape[:2] == want.shape
    np.testing.assert_allclose(got[..., 0], want, atol=2 / 255)   # 8-bit, colour-map rounding
    np.testing.assert_allclose(got[..., 1], want, atol=2 / 255)   # 8-bit, colour-map rounding


@pytest.mark.skipif(not BACKENDS, reason="neither matplotlib nor Pillow is installed")
@pytest.mark.parametrize("backend", BACKENDS)
def test_plot_curves_png(tmp_path, backend):
    path = viz.plot_curves({"train": [1.0, 0.5, 0.3, 0.2], "val": ([1, 2, 3, 4], [1.1, 0.7, 0.5, 0.45])},
                           tmp_path / "loss.png", ylabel="loss", title="loss", logy=True, backend=backend)
    assert open(path, "rb").read(8) == PNG_MAGIC
    img = _read_png(path)
    assert img.shape[0] > 100 and img.shape[1] > 100
    # the two series are drawn in two distinct non-grey colours
    colourful = np.abs(img - img.mean(axis=2, keepdims=True)).max(axis=2) > 0.2
    assert colourful.sum() > 50
    with pytest.raises(ValueError, match="positive"):
        viz.plot_curves({"a": [1.0, -1.0]}, tmp_path / "bad.png", logy=True, backend=backend)


def test_clear_import_error_when_no_backend(monkeypatch, tmp_path):
    real_import = builtins.__import__

    def blocked(name, *args, **kwargs):
        if name.split(".")[0] in ("matplotlib", "PIL"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    for mod in [m for m in sys.modules if m.split(".")[0] in ("matplotlib", "PIL")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setattr(builtins, "__import__", blocked)
    monkeypatch.setattr(viz, "_import", lambda name: None)
    assert viz.available_backends() == []
    with pytest.raises(ImportError, match="pip install .*matplotlib.*pillow"):
        viz.save_image_grid(np.zeros((1, 2, 2)), tmp_path / "x.png")
    with pytest.raises(ImportError, match="matplotlib"):
        viz.plot_curves({"a": [1, 2]}, tmp_path / "y.png")
