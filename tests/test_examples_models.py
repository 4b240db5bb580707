"""The examples of the architectures family (autoencoders, VAE, GANs, Hopfield, adversarial
examples, transfer, segmentation, residual vs plain) run in their fast form and show their effect."""
import sys

import numpy as np
import pytest

from conftest import load_example as _load


def test_autoencoder_tied_denoising_and_pretraining(tmp_path):
    r = _load("autoencoder").main(fast=True, out_dir=tmp_path)
    assert r["tied"]["mse_end"] < r["tied"]["mse_start"] / 5            # reconstruction error falls
    assert r["tied"]["losses"][-1] < r["tied"]["losses"][0]
    for kind in ("mask", "gauss"):
        d = r["denoising"][kind]
        assert d["denoising_mse"] < d["input_mse"] / 1.5                 # it removes noise
        assert d["denoising_mse"] < d["plain_mse"]                       # better than the plain AE does
    s = r["stacked"]
    assert s["pretrained_acc"] > 0.6 and s["pretrained_acc"] > s["scratch_acc"]
    from dlcore import viz
    if viz.available_backends():
        assert (tmp_path / "reconstructions.png").exists() and (tmp_path / "filters.png").exists()


def test_tied_autoencoder_shares_its_weight():
    ex = _load("autoencoder")
    import dlcore
    import dlcore.nn as nn
    ae = ex.TiedAutoencoder(nn.Linear(6, 3))
    assert sum(p.numel() for p in ae.parameters()) == 6 * 3 + 3 + 6
    x = dlcore.rand(4, 6)
    ex.F.binary_cross_entropy(ae(x), x).backward()
    assert ae.encoder.weight.grad is not None and ae.decoder_bias.grad is not None


def test_vae_loss_falls_and_kl_is_non_negative():
    r = _load("vae").main(fast=True, out_dir=None)
    assert r["loss"][-1] < r["loss"][0] - 3
    assert all(k >= 0 for k in r["kl"]) and r["kl"][-1] > 0.1             # the posterior is used
    assert np.isfinite(r["test_loss"]) and r["test_loss"] < r["loss"][0]


def test_vae_kl_closed_form_matches_monte_carlo():
    ex = _load("vae")
    import dlcore
    mu = dlcore.tensor([[0.5, -1.0]])
    logvar = dlcore.tensor([[-0.3, 0.4]])
    x = dlcore.full((1, 4), 0.5)
    _, kl = ex.vae_loss(x, x, mu, logvar)
    rng = np.random.default_rng(0)
    m, s = mu.numpy()[0], np.exp(0.5 * logvar.numpy()[0])
    z = m + s * rng.standard_normal((200_000, 2))
    log_q = (-0.5 * ((z - m) / s) ** 2 - np.log(s)).sum(1)
    log_p = (-0.5 * z ** 2).sum(1)
    assert float(kl) == pytest.approx((log_q - log_p).mean(), abs=0.01)


def test_gan_samples_move_towards_the_digits():
    r = _load("gan").main(fast=True, out_dir=None)
    assert all(np.isfinite(r["d_loss"])) and all(np.isfinite(r["g_loss"]))
    assert r["distance_end"][0] < 0.7 * r["distance_start"][0]
    assert r["distance_end"][1] < 0.7 * r["distance_start"][1]
    assert r["samples"].min() >= -1 and r["samples"].max() <= 1


def test_dcgan_samples_move_towards_the_digits(tmp_path):
    r = _load("dcgan").main(fast=True, out_dir=tmp_path)
    assert all(np.isfinite(r["d_loss"])) and all(np.isfinite(r["g_loss"]))
    assert r["distance_end"][0] < 0.9 * r["distance_start"][0]
    assert r["samples"].shape == (64, 1, 16, 16)


def test_hopfield_recalls_with_falling_energy_and_shows_capacity():
    r = _load("hopfield").main(fast=True, out_dir=None)
    assert all(r["recalled"].values())                                    # 12% flipped -> exact recall
    assert r["energy_monotone"]
    assert (r["cues"] != r["stored"]).sum(1).min() == 12
    counts, rates = r["capacity"]
    assert rates[0] == 1.0 and rates[-1] < 0.5                           # P = 2 fine, P = 30 > 0.14 N fails


def test_fgsm_lowers_accuracy_and_adversarial_training_helps():
    r = _load("adversarial").main(fast=True, out_dir=None)
    std, adv = r["standard"], r["adversarial"]
    assert std[0.0] > 0.9
    assert std[0.15] < std[0.0] - 0.3 and std[0.3] < std[0.1]           # accuracy falls as epsilon grows
    assert adv[0.15] > std[0.15] + 0.1                                   # the defence works


def test_transfer_trains_only_the_new_head():
    r = _load("transfer").main(fast=True)
    assert r["optimizer_head_only"] and r["backbone_unchanged"]
    assert r["trainable_params"] == 256 * 5 + 5
    assert r["task_a_accuracy"] > 0.9 and r["transfer_accuracy"] > 0.7 and r["finetune_accuracy"] > 0.7


def test_segmentation_unet_beats_trivial_predictor():
    r = _load("segmentation").main(fast=True, out_dir=None)
    assert r["unet"]["mean_iou"] > r["trivial_mean_iou"] + 0.1
    assert r["segnet"]["mean_iou"] > r["trivial_mean_iou"]
    assert r["unet"]["losses"][-1] < r["unet"]["losses"][0]


def test_shapes_dataset():
    from dlcore.data import make_shapes, SHAPE_CLASSES
    X, M = make_shapes(20, size=24, seed=3)
    assert X.shape == (20, 1, 24, 24) and M.shape == (20, 24, 24) and X.dtype == np.float32
    assert set(np.unique(M)) <= set(range(len(SHAPE_CLASSES))) and (M > 0).any(axis=(1, 2)).all()
    X2, M2 = make_shapes(20, size=24, seed=3)
    assert np.array_equal(X, X2) and np.array_equal(M, M2)
    # shapes are brighter than the background on average, but brightness does not give the class
    assert X[:, 0][M > 0].mean() > X[:, 0][M == 0].mean() + 0.3
    with pytest.raises(ValueError, match="make_shapes"):
        make_shapes(2, size=4)


def test_residual_trains_better_than_deep_plain():
    r = _load("residual_vs_plain").main(fast=True, out_dir=None)
    shallow, deep, res = (r[k]["losses"][-1] for k in ("plain-shallow", "plain-deep", "residual-deep"))
    assert deep > 2 * shallow                                             # degradation
    assert res < deep / 2                                                 # shortcuts fix it
