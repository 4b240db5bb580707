"""dlcore.autograd.detect_anomaly / set_detect_anomaly: a NaN or Inf made in backward names the
forward op that produced it and the user's line that called it."""
import numpy as np
import pytest

import dlcore
import dlcore.nn.functional as F
from dlcore.autograd import detect_anomaly, is_anomaly_enabled, set_detect_anomaly


def _sqrt_of_zero(x):
    return x.sqrt()          # d/dx sqrt(x) at 0 is inf: the op anomaly mode must name


def test_nan_in_backward_names_the_op_and_the_calling_line():
    x = dlcore.tensor(np.array([0.0, 1.0, 4.0], np.float32), requires_grad=True)
    with detect_anomaly():
        y = _sqrt_of_zero(x)
        loss = (y * 0).sum()                  # 0 * inf = nan in sqrt's backward input
        with pytest.raises(RuntimeError) as e:
            loss.backward()
    msg = str(e.value)
    assert "Function 'sqrtBackward' returned nan values" in msg
    assert "returned" in msg and ("nan" in msg or "inf" in msg)
    assert "_sqrt_of_zero" in msg and "test_anomaly.py" in msg
    assert not is_anomaly_enabled()


def test_inf_from_log_of_zero_through_nn_functional():
    x = dlcore.tensor(np.array([[0.0, 0.5]], np.float32), requires_grad=True)
    set_detect_anomaly(True)
    try:
        loss = dlcore.log(x).sum()            # grad 1/x = inf at 0
        with pytest.raises(RuntimeError, match=r"(?s)log.*returned inf values.*test_anomaly.py"):
            loss.backward()
    finally:
        set_detect_anomaly(False)
    assert not is_anomaly_enabled()


def test_without_anomaly_mode_the_nan_just_flows():
    x = dlcore.tensor(np.array([0.0, 1.0], np.float32), requires_grad=True)
    (x.sqrt() * 0).sum().backward()
    assert np.isnan(x.grad.numpy()[0])


def test_finite_training_step_is_unchanged_under_anomaly_mode():
    dlcore.manual_seed(0)
    net = dlcore.nn.Sequential(dlcore.nn.Conv2d(1, 2, 3), dlcore.nn.ReLU(), dlcore.nn.Flatten(),
                               dlcore.nn.Linear(2 * 4 * 4, 3))
    x = dlcore.randn(2, 1, 6, 6)
    y = dlcore.tensor(np.array([0, 2]))
    F.cross_entropy(net(x), y).backward()
    ref = [p.grad.numpy().copy() for p in net.parameters()]
    net.zero_grad()
    with detect_anomaly():
        F.cross_entropy(net(x), y).backward()
    for r, p in zip(ref, net.parameters()):
        np.testing.assert_array_equal(r, p.grad.numpy())


def test_set_detect_anomaly_as_context_manager_restores():
    with set_detect_anomaly(True):
        assert is_anomaly_enabled()
    assert not is_anomaly_enabled()
