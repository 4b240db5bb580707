"""Each example in examples/ runs in its fast form and reaches its result."""

import pytest

from conftest import load_example as _load


def test_perceptron_and_or_converge_xor_does_not(capsys):
    r = _load("perceptron").main(fast=True)
    assert r["AND"]["converged"] and r["AND"]["accuracy"] == 1.0
    assert r["OR"]["converged"] and r["OR"]["accuracy"] == 1.0
    assert not r["XOR"]["converged"] and r["XOR"]["accuracy"] < 1.0
    assert all(e > 0 for e in r["XOR"]["errors"])          # a mistake in every single epoch
    assert "did NOT converge" in capsys.readouterr().out


def test_adaline_reaches_least_squares():
    r = _load("adaline").main(fast=True)
    for gate in ("AND", "OR"):
        assert r[gate]["accuracy"] == 1.0
        assert r[gate]["mse"][-1] == pytest.approx(0.25, abs=0.01)   # the least-squares optimum
        assert r[gate]["dist_to_lstsq"] < 0.05
        assert r[gate]["mse"][-1] < r[gate]["mse"][0]
    assert r["XOR"]["mse"][-1] == pytest.approx(1.0, abs=0.02)      # no linear fit beats mse 1


def test_mlp_sin_fits():
    r = _load("mlp_sin").main(fast=True)
    assert r["mse"] < 5e-3
    assert r["history"]["loss"][-1] < r["history"]["loss"][0] / 10


def test_mlp_xor_solves_xor():
    r = _load("mlp_xor").main(fast=True, max_tries=1)   # the default seed works on its own
    assert r["solved"]
    p = r["probs"]
    assert p[0] < 0.5 and p[1] > 0.5 and p[2] > 0.5 and p[3] < 0.5


def test_digits_mlp_fast():
    r = _load("digits_mlp").main(fast=True, progress=False)
    assert r["test_accuracy"] >= 0.95
    assert r["samples_per_s"] > 0
    cm = r["confusion_matrix"]
    assert tuple(cm.shape) == (10, 10) and cm.sum().item() == 359


def test_cnn_digits_fast():
    r = _load("cnn_digits").main(fast=True, progress=False)
    assert r["test_accuracy"] >= 0.97
    assert r["samples_per_s"] > 0
    assert r["confusion_matrix"].sum().item() == 359


def test_lenet5_fast(capsys):
    r = _load("lenet5").main(fast=True, progress=False)
    out = capsys.readouterr().out
    assert "61,706" in out                       # the published parameter count
    assert r["test_accuracy"] >= 0.95


def test_filters_png(tmp_path):
    r = _load("filters").main(out=str(tmp_path / "f.png"))
    data = (tmp_path / "f.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    img = r["image"]
    assert img.shape == (4 + 4 * 28, 4 + 8 * 28) and img.min() == 0 and img.max() == 255


def test_char_rnn_hello_learns_hello():
    r = _load("char_rnn_hello").main(fast=True)
    for cell in ("rnn", "lstm"):
        assert r[cell]["prediction"] == "ello" and r[cell]["accuracy"] == 1.0


def test_char_lm_fast_learns():
    r = _load("char_lm").main(minutes=0.3, hidden=64, layers=1, max_epochs=1, fast=True, progress=False)
    assert r["val_loss"] < 3.0                   # ln(65) = 4.17 at the start
    assert all(len(s) > 100 for s in r["samples"].values())


def test_long_term_lstm_beats_rnn():
    # At the example's lr 0.003 the LSTM learned for each of seeds 0-11 (83-92%); at lr 0.01
    # two seeds in six stalled at ~23%, and which ones changed with ~1e-6 changes of float32
    # rounding in the kernels (2026-12-03). The claim tested is the example's: the LSTM
    # learns, the RNN does not.
    r = _load("long_term").main(T=50, steps=1500, seed=0, plot=False)
    assert r["lstm"] > 0.8
    assert r["rnn"] < 0.5
