"""Autoencoders on the bundled 8x8 digits: tied weights, denoising, greedy layer-wise pretraining.

    python examples/autoencoder.py

1. Undercomplete autoencoder with tied weights: h = sigmoid(W x + b), x_hat = sigmoid(W^T h + c),
   64 -> 32 -> 64. The decoder has no matrix of its own (W^T is the encoder's W, transposed in
   the forward pass, so its gradient adds both uses), which halves the parameters and keeps the
   code from being any invertible transform. Loss: binary cross-entropy of x_hat against the
   pixels in [0, 1]; reported: mean squared reconstruction error on held-out digits.
2. Denoising autoencoders: the same network trained to reconstruct the clean x from a corrupted
   copy — masking noise (each pixel set to 0 with probability nu = 0.3) or additive Gaussian
   noise (sigma = 0.3). Compared with the plain autoencoder on corrupted held-out digits.
3. A stacked autoencoder 64 -> 48 -> 32, each layer pretrained greedily as a (masking-noise)
   denoising autoencoder on the codes of the layer below, then a softmax layer on top and the
   whole net fine-tuned with labels — only a small labelled subset (the situation where
   unsupervised pretraining pays off); the identical net from random weights trained the same
   way is the baseline.

Pictures: clean / corrupted / reconstructed digits and the first layer's filters (rows of W).
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


class TiedAutoencoder(nn.Module):
    """encoder: a Linear(d, h) (shared with a classifier when stacking); decoder: its weight
    transposed plus a bias of its own."""

    def __init__(self, encoder: nn.Linear):
        super().__init__()
        self.encoder = encoder
        self.decoder_bias = nn.Parameter(dlcore.zeros(encoder.in_features))

    def encode(self, x):
        return F.sigmoid(self.encoder(x))

    def decode(self, h):
        return F.sigmoid(F.linear(h, self.encoder.weight.t(), self.decoder_bias))

    def forward(self, x):
        return self.decode(self.encode(x))


def corrupt(x, kind, level, rng):
    """Masking noise (each entry zeroed with probability level) or Gaussian noise (sigma = level)."""
    x = np.asarray(x)
    if kind == "mask":
        return (x * (rng.random(x.shape) >= level)).astype(np.float32)
    if kind == "gauss":
        return (x + level * rng.standard_normal(x.shape)).astype(np.float32)
    return x


def train_autoencoder(ae, X, epochs, seed, noise=None, level=0.0, lr=1e-2, batch_size=64):
    """Minimises BCE(ae(corrupt(x)), x); returns the mean loss of each epoch."""
    rng = np.random.default_rng(seed)
    opt = optim.Adam(ae.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        order = rng.permutation(len(X))
        total = 0.0
        for i in range(0, len(X), batch_size):
            xb = X[order[i:i + batch_size]]
            out = ae(dlcore.from_numpy(corrupt(xb, noise, level, rng)))
            loss = F.binary_cross_entropy(out, dlcore.from_numpy(xb))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * len(xb)
        losses.append(total / len(X))
    return losses


def recon_mse(ae, X_in, X_target):
    with dlcore.no_grad():
        return float(((ae(dlcore.from_numpy(X_in)).numpy() - X_target) ** 2).mean())


def classifier(sizes=(64, 48, 32), num_classes=10):
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.Sigmoid()]
    return nn.Sequential(*layers, nn.Linear(sizes[-1], num_classes))


def train_classifier(net, X, y, epochs, seed, lr=3e-3, batch_size=32):
    rng = np.random.default_rng(seed)
    opt = optim.Adam(net.parameters(), lr=lr)
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for i in range(0, len(X), batch_size):
            idx = order[i:i + batch_size]
            loss = F.cross_entropy(net(dlcore.from_numpy(X[idx])), dlcore.from_numpy(y[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()


def accuracy(net, X, y):
    net.eval()
    with dlcore.no_grad():
        acc = float((net(dlcore.from_numpy(X)).argmax(1).numpy() == y).mean())
    net.train()
    return acc


def main(fast=False, seed=0, out_dir="autoencoder_out", labelled=100):
    """Returns {"tied": {...}, "denoising": {...}, "stacked": {...}} (see the printout)."""
    dlcore.manual_seed(seed)
    X, y = load_digits()
    X = (np.asarray(X) / 16.0).reshape(-1, 64).astype(np.float32)
    y = np.asarray(y)
    perm = np.random.default_rng(seed).permutation(len(X))
    cut = int(0.8 * len(X))
    X_tr, X_te, y_tr, y_te = X[perm[:cut]], X[perm[cut:]], y[perm[:cut]], y[perm[cut:]]
    ae_epochs, pre_epochs, ft_epochs = (15, 10, 30) if fast else (100, 60, 150)
    rng = np.random.default_rng(seed + 7)
    t0 = time.perf_counter()

    # 1. tied-weight undercomplete autoencoder
    ae = TiedAutoencoder(nn.Linear(64, 32))
    start = recon_mse(ae, X_te, X_te)
    losses = train_autoencoder(ae, X_tr, ae_epochs, seed)
    end = recon_mse(ae, X_te, X_te)
    n = sum(p.numel() for p in ae.parameters())
    print(f"tied autoencoder 64-32-64 ({n} parameters, an untied one would have {n + 32 * 64}): "
          f"test MSE {start:.4f} -> {end:.4f} after {ae_epochs} epochs")
    result = {"tied": {"mse_start": start, "mse_end": end, "losses": losses}}

    # 2. denoising autoencoders, judged on corrupted test digits against the plain one
    result["denoising"] = {}
    dae = {}
    for kind, level in (("mask", 0.3), ("gauss", 0.3)):
        dlcore.manual_seed(seed + 1)
        d = TiedAutoencoder(nn.Linear(64, 32))
        train_autoencoder(d, X_tr, ae_epochs, seed + 1, kind, level)
        noisy = corrupt(X_te, kind, level, rng)
        r = {"plain_mse": recon_mse(ae, noisy, X_te), "denoising_mse": recon_mse(d, noisy, X_te),
             "input_mse": float(((noisy - X_te) ** 2).mean())}
        result["denoising"][kind] = r
        dae[kind] = (d, noisy)
        print(f"{'masking (nu=0.3)' if kind == 'mask' else 'Gaussian (sigma=0.3)':>22}: corrupted input MSE "
              f"{r['input_mse']:.4f}; plain AE reconstructs to {r['plain_mse']:.4f}, denoising AE to "
              f"{r['denoising_mse']:.4f}")

    # 3. greedy layer-wise pretraining of 64-48-32, then supervised fine-tuning on few labels
    sub = np.random.default_rng(seed + 2).permutation(len(X_tr))[:labelled]
    dlcore.manual_seed(seed + 3)
    pre = classifier()
    codes = X_tr
    for k, layer in enumerate([pre[0], pre[2]]):
        stage = TiedAutoencoder(layer)
        l = train_autoencoder(stage, codes, pre_epochs, seed + 10 + k, "mask", 0.2)
        print(f"  pretrained layer {k + 1} ({layer.in_features} -> {layer.out_features}): "
              f"denoising loss {l[0]:.4f} -> {l[-1]:.4f}")
        with dlcore.no_grad():
            codes = stage.encode(dlcore.from_numpy(codes)).numpy()
    dlcore.manual_seed(seed + 3)
    scratch = classifier()
    pre_before = accuracy(pre, X_te, y_te)
    train_classifier(pre, X_tr[sub], y_tr[sub], ft_epochs, seed + 4)
    train_classifier(scratch, X_tr[sub], y_tr[sub], ft_epochs, seed + 4)
    acc_pre, acc_scratch = accuracy(pre, X_te, y_te), accuracy(scratch, X_te, y_te)
    print(f"64-48-32-10 sigmoid net fine-tuned on {labelled} labelled digits ({ft_epochs} epochs), "
          f"test accuracy: greedy-pretrained {100 * acc_pre:.1f}%, from scratch {100 * acc_scratch:.1f}%")
    result["stacked"] = {"pretrained_acc": acc_pre, "scratch_acc": acc_scratch,
                         "pretrained_acc_before_finetune": pre_before, "labelled": labelled}
    print(f"done in {time.perf_counter() - t0:.1f} s")

    viz = picture_writer(out_dir, "autoencoder")
    if viz is not None:
        d, noisy = dae["mask"]
        with dlcore.no_grad():
            rec = d(dlcore.from_numpy(noisy[:10])).numpy()
            rec_plain = ae(dlcore.from_numpy(X_te[:10])).numpy()
        rows = np.concatenate([X_te[:10], rec_plain, noisy[:10], rec]).reshape(-1, 8, 8)
        viz.save_image_grid(rows, f"{out_dir}/reconstructions.png", nrow=10, normalize=False)
        viz.save_image_grid(ae.encoder.weight.detach().numpy().reshape(-1, 8, 8),
                            f"{out_dir}/filters.png", nrow=8, scale_each=True)
        viz.plot_curves({"tied AE": losses}, f"{out_dir}/loss.png", ylabel="BCE")
        print(f"pictures in {out_dir}/ (rows: clean, AE reconstruction, masked, DAE reconstruction)")
    return result


if __name__ == "__main__":
    main()
