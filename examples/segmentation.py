"""Semantic segmentation of synthetic shapes with a small U-Net and a small SegNet.

    python examples/segmentation.py

The data (dlcore.data.make_shapes) are 32 x 32 grey images with discs, squares and triangles
of random size, position and brightness on a noisy background; the target is the class of each
pixel (background, disc, square, triangle). Both networks end in per-pixel class scores trained
with cross-entropy over all pixels (CrossEntropyLoss on (N, C, H, W) scores and (N, H, W)
labels):

- U-Net (dlcore.models.unet, 3 levels, 16..128 channels, padded convolutions with BN):
  transposed convolutions upsample, skip connections concatenate the encoder's maps of the
  same resolution, so fine boundaries come straight from the encoder.
- SegNet (dlcore.models.segnet, 3 stages of 16..64 channels): the decoder upsamples by
  max-unpooling with the encoder's pooling indices, with no learned upsampling and no skips.

Reported: per-class intersection over union on held-out images, IoU_c = |pred = c and
true = c| / |pred = c or true = c|, and their mean, beside the trivial "all background"
predictor. Pictures: images, true masks and both networks' predictions.
"""
import pathlib
import sys
import time

import numpy as np

import dlcore
import dlcore.nn as nn
import dlcore.optim as optim
from dlcore import models
from dlcore.data import SHAPE_CLASSES, make_shapes

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))    # examples/_pictures.py
from _pictures import picture_writer  # noqa: E402


def iou_per_class(pred, true, num_classes):
    """IoU of each class over all pixels (nan for a class absent from both)."""
    out = []
    for c in range(num_classes):
        p, t = pred == c, true == c
        union = np.logical_or(p, t).sum()
        out.append(np.logical_and(p, t).sum() / union if union else float("nan"))
    return np.array(out)


def predict(model, X, batch=256):
    model.eval()
    preds = []
    with dlcore.no_grad():
        for i in range(0, len(X), batch):
            preds.append(model(dlcore.from_numpy(X[i:i + batch])).argmax(1).numpy())
    return np.concatenate(preds)


def train(model, X, M, epochs, batch_size, lr, seed, label):
    dlcore.manual_seed(seed)
    opt = optim.Adam(model.parameters(), lr=lr)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    losses = []
    for epoch in range(epochs):
        model.train()
        order = rng.permutation(len(X))
        total, t0 = 0.0, time.perf_counter()
        for i in range(0, len(X), batch_size):
            idx = order[i:i + batch_size]
            xb, yb = dlcore.from_numpy(X[idx]), dlcore.from_numpy(M[idx])
            loss = loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * len(idx)
        sched.step()
        losses.append(total / len(X))
        print(f"  {label} epoch {epoch + 1:2d}/{epochs}: loss {losses[-1]:.4f} "
              f"({time.perf_counter() - t0:.1f} s)")
    return losses


def main(fast=False, seed=0, out_dir="segmentation_out"):
    """Returns {"unet": {"iou", "mean_iou", "losses"}, "segnet": {...}, "trivial_mean_iou"}."""
    n_train, n_test, epochs = (256, 100, 3) if fast else (2000, 500, 12)
    X, M = make_shapes(n_train, seed=seed)
    X_te, M_te = make_shapes(n_test, seed=seed + 1000)
    k = len(SHAPE_CLASSES)
    dlcore.manual_seed(seed)
    nets = {
        "unet": models.unet(in_channels=1, num_classes=k, base_channels=16, depth=3, padding=True,
                            batch_norm=True),
        "segnet": models.segnet(in_channels=1, num_classes=k, widths=(16, 32, 64), convs=(2, 2, 2)),
    }
    trivial = np.nanmean(iou_per_class(np.zeros_like(M_te), M_te, k))
    print(f"shapes: {n_train} training / {n_test} test images of 32 x 32, classes {SHAPE_CLASSES}; "
          f"pixel share {np.round(np.bincount(M.ravel(), minlength=k) / M.size, 3).tolist()}")
    results, preds = {"trivial_mean_iou": float(trivial)}, {}
    for name, net in nets.items():
        n = sum(p.numel() for p in net.parameters())
        print(f"{name}: {n:,} parameters")
        t0 = time.perf_counter()
        losses = train(net, X, M, epochs, 32, 2e-3, seed, name)
        preds[name] = predict(net, X_te)
        iou = iou_per_class(preds[name], M_te, k)
        results[name] = {"iou": iou, "mean_iou": float(np.nanmean(iou)), "losses": losses,
                         "train_s": time.perf_counter() - t0}
    print("per-class IoU on the test images:")
    print("  " + " ".join(f"{c:>10}" for c in ("model",) + SHAPE_CLASSES + ("mean",)))
    for name in nets:
        r = results[name]
        print("  " + " ".join(f"{v:>10}" for v in [name] + [f"{x:.3f}" for x in r["iou"]]
                              + [f"{r['mean_iou']:.3f}"]) + f"   ({r['train_s']:.0f} s training)")
    print(f"  trivial (all background) mean IoU: {trivial:.3f}")
    viz = picture_writer(out_dir, "segmentation")
    if viz is not None:
        rows = np.concatenate([X_te[:8, 0], M_te[:8] / (k - 1), preds["unet"][:8] / (k - 1),
                               preds["segnet"][:8] / (k - 1)])
        viz.save_image_grid(rows[:8], f"{out_dir}/images.png", nrow=8)
        viz.save_image_grid(rows[8:], f"{out_dir}/masks_true_unet_segnet.png", nrow=8, normalize=False)
        viz.plot_curves({n: results[n]["losses"] for n in nets}, f"{out_dir}/loss.png", ylabel="cross-entropy")
        print(f"pictures in {out_dir}/")
    return results


if __name__ == "__main__":
    main()
