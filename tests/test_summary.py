# test_summary.py — dlcore.summary: rows, output shapes, parameter counts, the FLOP convention,
# and that running it leaves the model as it was (train/eval flags, no gradients).
import io

import pytest

import dlcore
import dlcore.nn as nn


def _mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 3),
                         nn.Softmax(dim=1))


def test_rows_shapes_params_and_flops():
    buf = io.StringIO()
    res = dlcore.summary(_mlp(), (5, 3, 4), file=buf)
    layers = res["layers"]
    assert [r["type"] for r in layers] == ["Flatten", "Linear", "ReLU", "Dropout", "Linear", "Softmax"]
    assert [r["name"] for r in layers] == ["0", "1", "2", "3", "4", "5"]
    assert [r["output_shape"] for r in layers] == [[5, 12], [5, 8], [5, 8], [5, 8], [5, 3], [5, 3]]
    assert [r["params"] for r in layers] == [0, 12 * 8 + 8, 0, 0, 8 * 3 + 3, 0]
    # Linear: 2*in*out + out per sample; activations 1 per element; softmax 3; flatten/dropout 0
    expected = [0, 5 * (2 * 12 * 8 + 8), 5 * 8, 0, 5 * (2 * 8 * 3 + 3), 3 * 5 * 3]
    assert [r["flops"] for r in layers] == expected
    assert res["total_flops"] == sum(expected)
    assert res["total_params"] == res["trainable_params"] == 104 + 27
    assert res["non_trainable_params"] == 0
    assert res["params_bytes"] == 4 * 131
    assert res["output_shape"] == [5, 3]
    text = buf.getvalue()
    for s in ("Linear", "[5, 8]", "104", "Total params", "131", "FLOPs"):
        assert s in text


def test_custom_module_shared_layer_frozen_params_and_mode_restored():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(nn.Linear(6, 6), nn.Tanh())
            self.head = nn.Linear(6, 2)

        def forward(self, x):
            return self.head(self.enc(self.enc(x)))            # enc runs twice

    net = Net()
    net.enc.requires_grad_(False)
    net.train()
    res = dlcore.summary(net, (4, 6), print_table=False)
    rows = {r["name"]: r for r in res["layers"]}
    assert list(rows) == ["enc.0", "enc.1", "head"]
    assert rows["enc.0"]["calls"] == 2
    assert rows["enc.0"]["flops"] == 2 * 4 * (2 * 6 * 6 + 6)
    assert res["trainable_params"] == 14 and res["non_trainable_params"] == 42
    assert all(m.training for m in net.modules())           # restored after the eval-mode pass
    assert all(p.grad is None for p in net.parameters())


def test_unknown_leaf_and_custom_flops_method():
    class Scale(nn.Module):
        def forward(self, x):
            return x * 2

    class Costed(nn.Module):
        def forward(self, x):
            return x

        def flops(self, inputs, output):
            return 7

    buf = io.StringIO()
    res = dlcore.summary(nn.Sequential(Scale(), Costed()), (2, 2), file=buf)
    assert [r["flops"] for r in res["layers"]] == [None, 7]
    assert res["total_flops"] == 7
    assert "unknown FLOPs" in buf.getvalue()


def test_leaf_root_multiple_inputs_and_errors():
    res = dlcore.summary(nn.Linear(3, 2, bias=False), (1, 3), print_table=False)
    assert res["layers"][0]["type"] == "Linear" and res["total_flops"] == 12

    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 2)

        def forward(self, x, y):
            return self.a(x) + y

    res = dlcore.summary(Two(), [(3, 2), (3, 2)], print_table=False)
    assert res["output_shape"] == [3, 2]
    with pytest.raises(TypeError):
        dlcore.summary(lambda x: x, (1, 2))
    with pytest.raises(ValueError):
        dlcore.summary(nn.Linear(2, 2), (-1, 2))


def test_float64_input():
    m = nn.Sequential(nn.Linear(4, 4)).double()
    res = dlcore.summary(m, (2, 4), dtype=dlcore.float64, print_table=False)
    assert res["params_bytes"] == 8 * 20
