"""DCGAN (Radford et al., 2015) on the bundled digits, upsampled to 16 x 16.

    python examples/dcgan.py

dlcore.models.dcgan_generator / dcgan_discriminator at image_size 16: the generator maps
z in R^32 (as a 32 x 1 x 1 map) through 4x4 transposed convolutions 1 -> 4 -> 8 -> 16 pixels
with batch norm and ReLU, tanh output; the discriminator mirrors it with stride-2 4x4
convolutions, batch norm (not on its first layer) and LeakyReLU(0.2), ending in one logit (fed
to binary cross-entropy with logits). No pooling, no fully connected hidden layer. Adam with
lr 2e-4 and beta1 0.5 and N(0, 0.02) initialisation, as the paper prescribes; the
non-saturating generator loss, one discriminator step per generator step.

Pictures: a grid of samples from the same fixed codes after each epoch, and both players'
losses per epoch.
"""
import pathlib
import sys
import time

import numpy as np

import dlcore
import dlcore.nn.functional as F
import dlcore.optim as optim
from dlcore import models
from dlcore.data import load_digits

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))    # examples/_pictures.py
from _pictures import picture_writer  # noqa: E402

from gan import gan_step, nearest_distances  # noqa: E402


def digits_16x16():
    """(1797, 1, 16, 16) in [-1, 1]: the 8x8 digits, bilinear upsampling."""
    X, _ = load_digits()
    x = dlcore.from_numpy((np.asarray(X, dtype=np.float32) / 8.0 - 1.0)[:, None])
    with dlcore.no_grad():
        return F.interpolate(x, size=(16, 16), mode="bilinear", align_corners=False).numpy()


def main(fast=False, seed=0, out_dir="dcgan_out", nz=32, lr=None):
    """lr: the paper's 2e-4 by default, 1e-3 in the fast run (a few dozen steps only). Returns {"d_loss", "g_loss" (per epoch), "distance_start", "distance_end", "samples"}."""
    dlcore.manual_seed(seed)
    lr = lr if lr is not None else (1e-3 if fast else 2e-4)
    X = digits_16x16()
    G = models.dcgan_generator(nz=nz, ngf=16 if fast else 32, nc=1, image_size=16)
    D = models.dcgan_discriminator(ndf=16 if fast else 32, nc=1, image_size=16, sigmoid=False)
    opt_g = optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    epochs = 8 if fast else 30
    n = 512 if fast else len(X)
    rng = np.random.default_rng(seed)
    z_fixed = dlcore.randn(64, nz, 1, 1)

    class Codes:                               # gan_step draws (m, nz) codes: DCGAN wants (m, nz, 1, 1)
        def __init__(self, g):
            self.g = g

        def __call__(self, z):
            return self.g(z.reshape(z.shape[0], nz, 1, 1))

        def parameters(self):
            return self.g.parameters()

    Gz = Codes(G)

    def sample(m=500):
        G.eval()
        with dlcore.no_grad():
            out = G(dlcore.randn(m, nz, 1, 1)).numpy()
        G.train()
        return out

    start = nearest_distances(sample(), X)
    hist = {"d_loss": [], "g_loss": []}
    grids = []
    t0 = time.perf_counter()
    for epoch in range(epochs):
        order = rng.permutation(len(X))[:n]
        dl = gl = 0.0
        steps = 0
        for i in range(0, n - 63, 64):
            d, g = gan_step(Gz, D, opt_g, opt_d, dlcore.from_numpy(X[order[i:i + 64]]), nz, 1, rng)
            dl, gl, steps = dl + d, gl + g, steps + 1
        hist["d_loss"].append(dl / steps)
        hist["g_loss"].append(gl / steps)
        G.eval()
        with dlcore.no_grad():
            grids.append(G(z_fixed).numpy())
        G.train()
        print(f"epoch {epoch + 1:2d}/{epochs}: D loss {hist['d_loss'][-1]:.3f}, G loss {hist['g_loss'][-1]:.3f} "
              f"({time.perf_counter() - t0:.0f} s)")
    end = nearest_distances(sample(), X)
    print(f"sample -> nearest digit / digit -> nearest sample distance: {start[0]:.2f} / {start[1]:.2f} before, "
          f"{end[0]:.2f} / {end[1]:.2f} after (a digit's distance to its nearest other digit averages "
          f"{nearest_distances(X[:500], X[500:])[0]:.2f})")
    viz = picture_writer(out_dir, "dcgan")
    if viz is not None:
        for ep, g in enumerate(grids, 1):
            viz.save_image_grid(g, f"{out_dir}/samples_epoch{ep:02d}.png", nrow=8, value_range=(-1, 1), scale=2)
        viz.plot_curves({"discriminator": hist["d_loss"], "generator": hist["g_loss"]}, f"{out_dir}/loss.png",
                        ylabel="BCE")
        print(f"pictures in {out_dir}/")
    return {**hist, "distance_start": start, "distance_end": end, "samples": sample(64)}


if __name__ == "__main__":
    main()
