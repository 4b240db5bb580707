"""dlcore.train (fit / evaluate / predict, History, callbacks, progress) and dlcore.metrics."""
import io
import os
import sys

import numpy as np
import pytest

import dlcore
import dlcore.nn as nn
import dlcore.optim as optim
from dlcore.data import DataLoader, TensorDataset, make_moons
from dlcore.metrics import accuracy, confusion_matrix, top_k_accuracy
from dlcore.train import (Callback, EarlyStopping, History, LambdaCallback, LRSchedulerCallback,
                          ModelCheckpoint, ProgressBar, evaluate, fit, predict)


# ---- metrics -----------------------------------------------------------------------------
def test_accuracy_logits_labels_and_binary():
    logits = dlcore.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 0.0, 1.0], [5.0, 0.0, 0.0]])
    y = dlcore.tensor([0, 1, 1, 2])
    assert accuracy(logits, y) == pytest.approx(0.5)
    assert accuracy(dlcore.tensor([0, 1, 1, 0]), y) == pytest.approx(0.75)
    probs = dlcore.tensor([[0.9], [0.2], [0.6], [0.4]])
    assert accuracy(probs, dlcore.tensor([1, 0, 0, 0])) == pytest.approx(0.75)
    assert accuracy(dlcore.tensor([2.0, -1.0]), dlcore.tensor([1, 0]), threshold=0.0) == 1.0
    with pytest.raises(ValueError):
        accuracy(logits, dlcore.tensor([0, 1]))
    with pytest.raises(TypeError):
        accuracy(logits, dlcore.tensor([0.0, 1.0, 1.0, 2.0]))


def test_top_k_accuracy_matches_numpy():
    g = np.random.default_rng(0)
    s = g.standard_normal((257, 11)).astype(np.float32)
    y = g.integers(0, 11, 257)
    for k in (1, 2, 5, 11):
        topk = np.argsort(-s, axis=1)[:, :k]
        ref = (topk == y[:, None]).any(axis=1).mean()
        assert top_k_accuracy(dlcore.tensor(s), dlcore.tensor(y), k=k) == pytest.approx(ref)
    assert top_k_accuracy(dlcore.tensor(s), dlcore.tensor(y), k=1) == pytest.approx(
        accuracy(dlcore.tensor(s), dlcore.tensor(y)))
    with pytest.raises(ValueError):
        top_k_accuracy(dlcore.tensor(s), dlcore.tensor(y), k=0)


def test_confusion_matrix_matches_numpy():
    g = np.random.default_rng(1)
    t = g.integers(0, 7, 1000)
    p = np.where(g.random(1000) < 0.7, t, g.integers(0, 7, 1000))
    ref = np.zeros((7, 7), np.int64)
    np.add.at(ref, (t, p), 1)
    cm = confusion_matrix(dlcore.tensor(p), dlcore.tensor(t), num_classes=7)
    assert cm.dtype == dlcore.int64 and tuple(cm.shape) == (7, 7)
    np.testing.assert_array_equal(cm.numpy(), ref)
    # scores are argmax-ed; num_classes inferred from them
    scores = np.eye(7, dtype=np.float32)[p] + 0.01 * g.random((1000, 7)).astype(np.float32)
    np.testing.assert_array_equal(confusion_matrix(dlcore.tensor(scores), dlcore.tensor(t)).numpy(), ref)
    assert tuple(confusion_matrix(dlcore.tensor([0, 1]), dlcore.tensor([1, 2])).shape) == (3, 3)
    with pytest.raises(ValueError):
        confusion_matrix(dlcore.tensor([0, 5]), dlcore.tensor([0, 1]), num_classes=3)


# ---- fit / evaluate / predict ------------------------------------------------------------
def _moons(n=256, seed=0):
    X, y = make_moons(n, noise=0.1, seed=seed)
    return DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True, seed=seed), X, y


def _model(seed=0):
    dlcore.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))


def test_fit_learns_and_records_history():
    loader, X, y = _moons()
    val = DataLoader(TensorDataset(X, y), batch_size=100)
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    h = fit(model, nn.CrossEntropyLoss(), opt, loader, val, epochs=8, metrics=["accuracy", "top2_accuracy"],
            progress=False)
    assert isinstance(h, History) and h.epochs == 8
    for k in ("loss", "accuracy", "top2_accuracy", "val_loss", "val_accuracy", "val_top2_accuracy", "lr",
              "samples_per_s", "time"):
        assert len(h[k]) == 8, k
    assert h["loss"][-1] < 0.5 * h["loss"][0]
    assert h["val_accuracy"][-1] > 0.85
    assert all(v == 1.0 for v in h["val_top2_accuracy"])
    assert all(r > 0 for r in h["samples_per_s"]) and h["lr"] == [0.1] * 8
    assert model.training                                   # fit leaves the model in train mode
    res = evaluate(model, nn.CrossEntropyLoss(), val, metrics=["accuracy"])
    assert res["loss"] == pytest.approx(h["val_loss"][-1], rel=1e-5)
    assert res["accuracy"] == pytest.approx(h["val_accuracy"][-1])
    out = predict(model, X, batch_size=50)
    assert tuple(out.shape) == (256, 2) and not out.requires_grad
    assert accuracy(out, y) == pytest.approx(res["accuracy"])
    assert tuple(predict(model, val).shape) == (256, 2)     # a loader of (x, y) pairs works too


def test_evaluate_uses_eval_mode_and_no_grad():
    seen = []

    class Probe(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)

        def forward(self, x):
            seen.append((self.training, dlcore.is_grad_enabled()))
            return self.lin(x)

    loader, _, _ = _moons(64)
    m = Probe()
    fit(m, nn.CrossEntropyLoss(), optim.SGD(m.parameters(), lr=0.01), loader, loader, epochs=1, progress=False)
    n = len(loader)
    assert seen[:n] == [(True, True)] * n and seen[n:] == [(False, False)] * n
    assert m.training
    m.eval()
    evaluate(m, nn.CrossEntropyLoss(), loader)
    assert not m.training                                    # the caller's mode is restored


def test_fit_rejects_bad_arguments():
    loader, _, _ = _moons(64)
    m = _model()
    opt = optim.SGD(m.parameters(), lr=0.1)
    with pytest.raises(ValueError):
        fit(m, nn.CrossEntropyLoss(), opt, loader, epochs=0, progress=False)
    with pytest.raises(ValueError):
        fit(m, nn.CrossEntropyLoss(), opt, loader, metrics=["f1_micro"], progress=False)
    with pytest.raises(TypeError):
        fit(m, nn.CrossEntropyLoss(), opt, loader, callbacks=[lambda: None], progress=False)
    with pytest.raises(KeyError, match="val_loss"):          # monitoring val_loss without a val_loader
        fit(m, nn.CrossEntropyLoss(), opt, loader, epochs=2, callbacks=[EarlyStopping()], progress=False)
    with pytest.raises(FloatingPointError):
        fit(m, nn.CrossEntropyLoss(), optim.SGD(m.parameters(), lr=float("inf")), loader, epochs=2,
            progress=False)


# ---- callbacks ---------------------------------------------------------------------------
class _Script(Callback):
    """Writes a scripted value into the epoch logs (before the callbacks after it) and
    snapshots the weights at the end of every epoch."""

    def __init__(self, values):
        self.values, self.snapshots = values, []

    def on_epoch_end(self, epoch, logs=None):
        logs["score"] = self.values[epoch]
        self.snapshots.append({k: v.numpy().copy() for k, v in self.trainer.model.state_dict().items()})


def test_early_stopping_stops_and_restores_best_weights():
    loader, _, _ = _moons(64)
    m = _model()
    script = _Script([1.0, 0.5, 0.2, 0.3, 0.25, 0.4, 0.1, 0.1])
    es = EarlyStopping(monitor="score", patience=3, restore_best_weights=True)
    h = fit(m, nn.CrossEntropyLoss(), optim.SGD(m.parameters(), lr=0.5), loader, epochs=8,
            callbacks=[script, es], progress=False)
    assert h.epochs == 6 and es.stopped_epoch == 5 and es.best_epoch == 2 and es.best == 0.2
    final = {k: v.numpy() for k, v in m.state_dict().items()}
    for k, v in script.snapshots[2].items():
        np.testing.assert_array_equal(final[k], v)
    assert not np.array_equal(script.snapshots[5]["0.weight"], script.snapshots[2]["0.weight"])


def test_early_stopping_mode_max_and_min_delta():
    loader, _, _ = _moons(64)
    m = _model()
    script = _Script([0.5, 0.505, 0.509, 0.9, 0.9, 0.9])
    es = EarlyStopping(monitor="score", mode="max", patience=2, min_delta=0.01)
    h = fit(m, nn.CrossEntropyLoss(), optim.SGD(m.parameters(), lr=0.1), loader, epochs=6,
            callbacks=[script, es], progress=False)
    assert h.epochs == 3 and es.best == 0.5            # +0.005 and +0.009 are below min_delta


def test_model_checkpoint_saves_best_atomically(tmp_path):
    loader, _, _ = _moons(64)
    m = _model()
    script = _Script([1.0, 0.4, 0.6, 0.3, 0.35])
    ck = ModelCheckpoint(tmp_path / "ckpt" / "best-{epoch:02d}.dlc", monitor="score", save_best_only=True)
    ck_all = ModelCheckpoint(tmp_path / "last.dlc", monitor="score")
    fit(m, nn.CrossEntropyLoss(), optim.SGD(m.parameters(), lr=0.5), loader, epochs=5,
        callbacks=[script, ck, ck_all], progress=False)
    assert ck.saved_epochs == [0, 1, 3] and ck_all.saved_epochs == [0, 1, 2, 3, 4]
    files = sorted(os.listdir(tmp_path / "ckpt"))
    assert files == ["best-01.dlc", "best-02.dlc", "best-04.dlc"]      # no temporary files left
    state = dlcore.load(tmp_path / "ckpt" / "best-04.dlc")
    for k, v in script.snapshots[3].items():
        np.testing.assert_array_equal(np.asarray(state[k]), v)
    m2 = _model(seed=5)
    m2.load_state_dict(dlcore.load(tmp_path / "last.dlc"))
    for k, v in script.snapshots[4].items():
        np.testing.assert_array_equal(m2.state_dict()[k].numpy(), v)


def test_lr_scheduler_callbacks():
    loader, X, y = _moons(64)
    m = _model()
    opt = optim.SGD(m.parameters(), lr=0.1)
    h = fit(m, nn.CrossEntropyLoss(), opt, loader, epochs=5, progress=False,
            scheduler=optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5))
    assert h["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])
    # ReduceLROnPlateau gets the monitored value: a constant one (lr=0 => no change) plateaus.
    m = _model()
    opt = optim.SGD(m.parameters(), lr=1.0)
    frozen = optim.SGD(m.parameters(), lr=0.0)
    plateau = optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=0)
    script = _Script([1.0, 1.0, 1.0, 1.0])
    fit(m, nn.CrossEntropyLoss(), frozen, loader, epochs=4, progress=False,
        callbacks=[script, LRSchedulerCallback(plateau, monitor="score")])
    assert opt.param_groups[0]["lr"] == pytest.approx(0.125)


def test_progress_bar_plain_and_tty():
    loader, X, y = _moons(128)
    m = _model()
    buf = io.StringIO()
    fit(m, nn.CrossEntropyLoss(), optim.SGD(m.parameters(), lr=0.1), loader, loader, epochs=3,
        metrics=["accuracy"], callbacks=[ProgressBar(stream=buf)])
    lines = buf.getvalue().splitlines()
    assert len(lines) == 3 and "\r" not in buf.getvalue()
    assert all(s.startswith(f"epoch {i + 1}/3") for i, s in enumerate(lines))
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "samples/s"):
        assert key in lines[-1]
    tty = io.StringIO()
    fit(m, nn.CrossEntropyLoss(), optim.SGD(m.parameters(), lr=0.1), loader, epochs=2,
        callbacks=[ProgressBar(stream=tty, tty=True, interval=0.0)])
    out = tty.getvalue()
    assert out.count("\n") == 2 and out.count("\r") >= 2 * len(loader) and "[" in out and "samples/s" in out


def test_lambda_callback_and_batch_logs():
    loader, _, _ = _moons(100)
    m = _model()
    batches = []
    fit(m, nn.CrossEntropyLoss(), optim.SGD(m.parameters(), lr=0.1), loader, epochs=1, metrics=["accuracy"],
        progress=False, callbacks=[LambdaCallback(on_batch_end=lambda b, logs: batches.append(dict(logs)))])
    assert [b["batch"] for b in batches] == list(range(len(loader)))
    assert sum(b["size"] for b in batches) == 100 and "accuracy" in batches[-1]


def test_history_plot(tmp_path):
    pytest.importorskip("matplotlib")
    h = History()
    for e in range(4):
        h.append({"loss": 1.0 / (e + 1), "val_loss": 1.2 / (e + 1), "accuracy": 0.5 + 0.1 * e,
                  "val_accuracy": 0.45 + 0.1 * e, "lr": 0.1 * 0.5 ** e, "samples_per_s": 1e4})
    p = h.plot(tmp_path / "curves.png")
    with open(p, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert h.best("val_loss") == (3, pytest.approx(0.3))
    assert h.best("val_accuracy")[0] == 3


def test_train_mlp_benchmark_smoke():
    from dlcore.bench import train_mlp
    res, _ = train_mlp.measure(batch_sizes=(256,), epochs=1, threads=1, with_torch=False)
    r = res[256]
    assert r["step"]["dlcore"] > 0 and r["loader"]["dlcore"] > 0 and np.isfinite(r["loss"]["dlcore"])


def test_seeded_training_runs_are_identical():
    """One seed fixes initialisation, shuffling and dropout masks: two runs match exactly."""
    from dlcore import nn, optim
    from dlcore.data import DataLoader, TensorDataset, make_moons

    def run():
        dlcore.manual_seed(123)
        X, y = make_moons(256, noise=0.2, seed=0)
        model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 2))
        loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        hist = dlcore.train.fit(model, nn.CrossEntropyLoss(), opt, loader, epochs=3, progress=False)
        return hist["loss"], [p.detach().numpy().copy() for p in model.parameters()]

    loss_a, params_a = run()
    loss_b, params_b = run()
    assert loss_a == loss_b
    for a, b in zip(params_a, params_b):
        np.testing.assert_array_equal(a, b)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_during_fit_raises_keyboard_interrupt_and_keeps_the_last_checkpoint(tmp_path):
    """SIGINT in the middle of an epoch: fit raises KeyboardInterrupt, and the checkpoint of the
    last completed epoch is intact and loads (dlcore.save writes atomically)."""
    import signal
    import subprocess
    ckpt = tmp_path / "last.dlc"
    script = tmp_path / "train.py"
    script.write_text(
        "import sys, numpy as np, dlcore\n"
        "from dlcore import nn, optim, train\n"
        "from dlcore.data import DataLoader, TensorDataset\n"
        "X = np.random.default_rng(0).standard_normal((20000, 32)).astype(np.float32)\n"
        "y = (X[:, 0] > 0).astype(np.int64)\n"
        "model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 2))\n"
        "class Announce(train.Callback):\n"
        "    def on_epoch_end(self, epoch, logs=None):\n"
        "        print('epoch', epoch + 1, 'done', flush=True)\n"
        "try:\n"
        "    train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.01),\n"
        "              DataLoader(TensorDataset(X, y), batch_size=8), epochs=1000, progress=False,\n"
        f"              callbacks=[train.ModelCheckpoint({str(ckpt)!r}), Announce()])\n"
        "except KeyboardInterrupt:\n"
        "    print('KeyboardInterrupt', flush=True)\n"
        "    sys.exit(130)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    # preexec_fn: a runner started in the background (`cmd &` without job control) hands its
    # children SIGINT ignored, and Python then installs no KeyboardInterrupt handler; give the
    # child the disposition an interactive shell would.
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert proc.stdout.readline().strip() == "epoch 1 done"
        proc.send_signal(signal.SIGINT)               # somewhere inside epoch 2
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert "KeyboardInterrupt" in out and proc.returncode == 130
    state = dlcore.load(ckpt)                         # intact: every CRC checks
    assert set(state) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert not [f for f in os.listdir(tmp_path) if ".tmp" in f]
