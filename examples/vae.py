"""A variational autoencoder on the bundled 8x8 digits with a 2-D latent space.

    python examples/vae.py

Encoder q(z | x): 64 -> 128 (ReLU) -> two heads, the mean mu and the log-variance log sigma^2 of
a diagonal Gaussian over z in R^2. Reparameterisation: z = mu + sigma * eps with eps ~ N(0, I),
so the sample is a differentiable function of the encoder's outputs and the noise is an input.
Decoder p(x | z): 2 -> 128 (ReLU) -> 64 sigmoid (Bernoulli means of the pixels in [0, 1]).
Loss per digit (the negative evidence lower bound):

    BCE(x_hat, x) summed over the 64 pixels  +  KL(q(z|x) || N(0, I))
    KL = -1/2 * sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2)      (closed form, >= 0)

Pictures: the decoder's images over a grid of z in [-2, 2]^2 (the learned 2-D manifold of
digits), and samples decoded from z ~ N(0, I), the prior.
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


class VAE(nn.Module):
    def __init__(self, d=64, hidden=128, latent=2):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(d, hidden), nn.ReLU())
        self.mu = nn.Linear(hidden, latent)
        self.logvar = nn.Linear(hidden, latent)
        self.dec = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, d), nn.Sigmoid())

    def encode(self, x):
        h = self.enc(x)
        return self.mu(h), self.logvar(h)

    def forward(self, x):
        mu, logvar = self.encode(x)
        eps = dlcore.randn(*mu.shape)
        z = mu + (0.5 * logvar).exp() * eps            # reparameterisation
        return self.dec(z), mu, logvar


def vae_loss(x_hat, x, mu, logvar):
    """(reconstruction, KL), each summed over a digit's pixels / latent dims, mean over the batch."""
    n = x.shape[0]
    rec = F.binary_cross_entropy(x_hat, x, reduction="sum") / n
    kl = -0.5 * (1 + logvar - mu * mu - logvar.exp()).sum() / n
    return rec, kl


def main(fast=False, seed=0, out_dir="vae_out"):
    """Returns {"loss", "reconstruction", "kl" (per epoch), "test_loss", "model"}."""
    dlcore.manual_seed(seed)
    X, _ = load_digits()
    X = (np.asarray(X) / 16.0).reshape(-1, 64).astype(np.float32)
    perm = np.random.default_rng(seed).permutation(len(X))
    X_tr, X_te = X[perm[:1500]], X[perm[1500:]]
    epochs = 12 if fast else 150
    model = VAE()
    opt = optim.Adam(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(seed)
    hist = {"loss": [], "reconstruction": [], "kl": []}
    t0 = time.perf_counter()
    for epoch in range(epochs):
        order = rng.permutation(len(X_tr))
        sums = np.zeros(2)
        for i in range(0, len(X_tr), 64):
            xb = dlcore.from_numpy(X_tr[order[i:i + 64]])
            x_hat, mu, logvar = model(xb)
            rec, kl = vae_loss(x_hat, xb, mu, logvar)
            opt.zero_grad()
            (rec + kl).backward()
            opt.step()
            sums += np.array([float(rec), float(kl)]) * xb.shape[0]
        rec_e, kl_e = sums / len(X_tr)
        hist["reconstruction"].append(rec_e)
        hist["kl"].append(kl_e)
        hist["loss"].append(rec_e + kl_e)
        if epoch % max(1, epochs // 10) == 0 or epoch == epochs - 1:
            print(f"epoch {epoch + 1:3d}/{epochs}: -ELBO {rec_e + kl_e:7.3f} = reconstruction {rec_e:7.3f} "
                  f"+ KL {kl_e:6.3f} (nats per digit)")
    model.eval()
    with dlcore.no_grad():
        xt = dlcore.from_numpy(X_te)
        x_hat, mu, logvar = model(xt)
        rec, kl = vae_loss(x_hat, xt, mu, logvar)
    test = float(rec) + float(kl)
    print(f"held-out -ELBO {test:.3f} nats per digit ({time.perf_counter() - t0:.1f} s)")
    viz = picture_writer(out_dir, "vae")
    if viz is not None:
        g = np.linspace(-2, 2, 15, dtype=np.float32)
        z2, z1 = np.meshgrid(-g, g, indexing="ij")          # rows: z2 from +2 down, columns: z1
        z = np.ascontiguousarray(np.stack([z1, z2], -1).reshape(-1, 2))
        with dlcore.no_grad():
            manifold = model.dec(dlcore.from_numpy(z)).numpy().reshape(-1, 8, 8)
            samples = model.dec(dlcore.randn(64, 2)).numpy().reshape(-1, 8, 8)
        viz.save_image_grid(manifold, f"{out_dir}/manifold.png", nrow=15, normalize=False)
        viz.save_image_grid(samples, f"{out_dir}/prior_samples.png", nrow=8, normalize=False)
        viz.plot_curves({"-ELBO": hist["loss"], "reconstruction": hist["reconstruction"], "KL": hist["kl"]},
                        f"{out_dir}/loss.png", ylabel="nats per digit")
        print(f"pictures in {out_dir}/")
    return {**hist, "test_loss": test, "model": model}


if __name__ == "__main__":
    main()
