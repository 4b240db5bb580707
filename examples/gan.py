"""The original GAN training algorithm (Goodfellow et al., 2014) on the bundled 8x8 digits.

    python examples/gan.py

Generator G: z ~ N(0, I) in R^16 -> 128 -> 128 (LeakyReLU 0.2) -> 64 pixels, tanh (digits are
scaled to [-1, 1]). Discriminator D: 64 -> 128 -> 128 (LeakyReLU 0.2) -> one logit, the log-odds
that its input is a real digit. Each iteration of the algorithm:

    for k steps:  sample m digits x and m codes z; ascend  log D(x) + log(1 - D(G(z)))
    one step:     sample m codes z; ascend  log D(G(z))        (the non-saturating objective)

The generator's objective is the paper's practical variant: minimising log(1 - D(G(z))) gives
vanishing gradients early on, when D rejects every fake with confidence; maximising
log D(G(z)) has the same fixed point and strong gradients exactly then. Both are written with
binary cross-entropy on logits. Reported: both players' losses, and how far the generated
digits are from the data (mean distance from a sample to its nearest training digit, and from
a training digit to its nearest sample: low values on both mean samples that look like digits
and cover their variety).
"""
import pathlib
import sys
import time

import numpy as np

import dlcore
import dlcore.nn as nn
import dlcore.nn.functional as F
import dlcore.optim as optim
from dlcore.data import load_digits

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))    # examples/_pictures.py
from _pictures import picture_writer  # noqa: E402


def digits_in_pm1(flat=True):
    X, _ = load_digits()
    X = (np.asarray(X, dtype=np.float32) / 8.0 - 1.0)
    return X.reshape(-1, 64) if flat else X[:, None]


def nearest_distances(samples, data):
    """(mean distance sample -> nearest data point, mean distance data point -> nearest sample)."""
    a = samples.reshape(len(samples), -1).astype(np.float64)
    b = data.reshape(len(data), -1).astype(np.float64)
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None] - 2 * a @ b.T
    d = np.sqrt(np.maximum(d2, 0))
    return float(d.min(1).mean()), float(d.min(0).mean())


def gan_step(G, D, opt_g, opt_d, real, nz, k, rng):
    """k discriminator steps, then one generator step; returns (D loss, G loss) of the last steps."""
    m = real.shape[0]
    ones, zeros = dlcore.ones(m, 1), dlcore.zeros(m, 1)
    for _ in range(k):
        with dlcore.no_grad():
            fake = G(dlcore.randn(m, nz))
        d_loss = (F.binary_cross_entropy_with_logits(D(real).reshape(m, 1), ones)
                  + F.binary_cross_entropy_with_logits(D(fake).reshape(m, 1), zeros))
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
    g_loss = F.binary_cross_entropy_with_logits(D(G(dlcore.randn(m, nz))).reshape(m, 1), ones)
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    return float(d_loss), float(g_loss)


def main(fast=False, seed=0, out_dir="gan_out", k=1, nz=16):
    """Returns {"d_loss", "g_loss" (per epoch), "distance_start", "distance_end", "samples"}."""
    dlcore.manual_seed(seed)
    X = digits_in_pm1()
    G = nn.Sequential(nn.Linear(nz, 128), nn.LeakyReLU(0.2), nn.Linear(128, 128), nn.LeakyReLU(0.2),
                      nn.Linear(128, 64), nn.Tanh())
    D = nn.Sequential(nn.Linear(64, 128), nn.LeakyReLU(0.2), nn.Linear(128, 128), nn.LeakyReLU(0.2),
                      nn.Linear(128, 1))
    opt_g = optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_d = optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999))
    epochs = 15 if fast else 200
    z_fixed = dlcore.randn(64, nz)
    rng = np.random.default_rng(seed)

    def sample(n=500):
        with dlcore.no_grad():
            return G(dlcore.randn(n, nz)).numpy()

    start = nearest_distances(sample(), X)
    hist = {"d_loss": [], "g_loss": []}
    grids = []
    t0 = time.perf_counter()
    for epoch in range(epochs):
        order = rng.permutation(len(X))
        dl = gl = 0.0
        steps = 0
        for i in range(0, len(X) - 63, 64):
            d, g = gan_step(G, D, opt_g, opt_d, dlcore.from_numpy(X[order[i:i + 64]]), nz, k, rng)
            dl, gl, steps = dl + d, gl + g, steps + 1
        hist["d_loss"].append(dl / steps)
        hist["g_loss"].append(gl / steps)
        if epoch % max(1, epochs // 10) == 0 or epoch == epochs - 1:
            with dlcore.no_grad():
                grids.append((epoch + 1, G(z_fixed).numpy().reshape(-1, 8, 8)))
            print(f"epoch {epoch + 1:3d}/{epochs}: D loss {hist['d_loss'][-1]:.3f}, G loss {hist['g_loss'][-1]:.3f}")
    end = nearest_distances(sample(), X)
    print(f"sample -> nearest digit / digit -> nearest sample distance: {start[0]:.2f} / {start[1]:.2f} before, "
          f"{end[0]:.2f} / {end[1]:.2f} after ({time.perf_counter() - t0:.1f} s; a digit's distance to its "
          f"nearest other digit averages {nearest_distances(X[:500], X[500:])[0]:.2f})")
    viz = picture_writer(out_dir, "gan")
    if viz is not None:
        for ep, g in grids:
            viz.save_image_grid(g, f"{out_dir}/samples_epoch{ep:03d}.png", nrow=8, value_range=(-1, 1))
        viz.plot_curves({"discriminator": hist["d_loss"], "generator": hist["g_loss"]}, f"{out_dir}/loss.png",
                        ylabel="BCE")
        print(f"pictures in {out_dir}/")
    return {**hist, "distance_start": start, "distance_end": end, "samples": sample(64)}


if __name__ == "__main__":
    main()
