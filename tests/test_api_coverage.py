# The names of the "everyday tensor API" list (top-level functions, Tensor methods,
# nn.functional, nn modules, linalg): the test fails when one of them is missing or not callable,
# and checks that torch spells it the same way (so the table cannot drift from PyTorch's names).
import pytest

import dlcore
import dlcore.nn as nn
import dlcore.nn.functional as F

TOP = ["gather", "scatter", "scatter_add", "index_add", "take_along_dim", "masked_fill", "masked_select",
       "sort", "argsort", "topk", "kthvalue", "median", "cumsum", "cumprod", "logsumexp", "logcumsumexp",
       "split", "chunk", "unbind", "flip", "roll", "tril", "triu", "repeat_interleave", "tile", "meshgrid",
       "outer", "einsum", "norm", "allclose", "equal", "isnan", "isinf", "isfinite", "nan_to_num", "lerp"]
METHODS = ["gather", "scatter", "scatter_", "scatter_add_", "index_add_", "take_along_dim", "masked_fill",
           "masked_fill_", "masked_select", "sort", "argsort", "topk", "kthvalue", "median", "cumsum",
           "cumprod", "logsumexp", "logcumsumexp", "split", "chunk", "unbind", "flip", "roll", "tril", "triu",
           "repeat", "repeat_interleave", "tile", "outer", "view_as", "type_as", "int", "norm", "allclose",
           "equal", "isnan", "isinf", "isfinite", "nan_to_num", "lerp", "uniform_", "normal_", "clamp_",
           "softmax", "log_softmax"]
LINALG = ["vector_norm", "matrix_norm"]
FUNCTIONAL = ["pad", "one_hot", "smooth_l1_loss", "huber_loss", "kl_div", "cosine_similarity", "normalize",
              "layer_norm", "group_norm", "instance_norm", "hardtanh", "softsign", "mish", "hardswish", "prelu",
              "selu", "celu", "glu", "gelu", "silu", "dropout2d"]
MODULES = ["LayerNorm", "GroupNorm", "InstanceNorm2d", "PReLU", "SELU", "GELU", "SiLU", "Dropout2d",
           "SmoothL1Loss", "HuberLoss", "KLDivLoss"]

TABLE = ([("dlcore", n) for n in TOP] + [("Tensor", n) for n in METHODS] + [("linalg", n) for n in LINALG]
         + [("nn.functional", n) for n in FUNCTIONAL] + [("nn", n) for n in MODULES])


def _where(ns):
    return {"dlcore": dlcore, "Tensor": dlcore.Tensor, "linalg": dlcore.linalg, "nn.functional": F,
            "nn": nn}[ns]


@pytest.mark.parametrize("ns,name", TABLE, ids=[f"{a}.{b}" for a, b in TABLE])
def test_name_present(ns, name):
    obj = getattr(_where(ns), name, None)
    assert obj is not None, f"dlcore is missing {ns}.{name}"
    assert callable(obj), f"{ns}.{name} is not callable"


def test_names_are_torchs():
    torch = pytest.importorskip("torch")
    where = {"dlcore": torch, "Tensor": torch.Tensor, "linalg": torch.linalg,
             "nn.functional": torch.nn.functional, "nn": torch.nn}
    missing = [f"{ns}.{n}" for ns, n in TABLE if not hasattr(where[ns], n)]
    assert not missing, f"names in the table that torch does not have: {missing}"
