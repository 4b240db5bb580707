"""dlcore.nn: modules (layers, containers, losses), nn.functional and nn.init.

    import dlcore.nn as nn
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    loss = nn.CrossEntropyLoss()(model(x), y)

Names, arguments and defaults follow torch.nn. Each family's functional ops sit beside its
modules (dlcore.nn.conv, dlcore.nn.pooling, dlcore.nn.normalization, ...); nn.functional
re-exports them.
"""
import importlib.util as _ilu

from . import functional
from . import init
from .module import Module, Parameter, RemovableHandle
from .containers import Sequential, ModuleList, ModuleDict
from .linear import Linear, Identity, Flatten, Unflatten
from .activation import ReLU, Sigmoid, Tanh, LeakyReLU, ELU, Softplus, Softmax, LogSoftmax, Maxout
from .dropout import Dropout
from .loss import MSELoss, L1Loss, BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, NLLLoss
# conv family
from .conv import Conv1d, Conv2d, ConvTranspose2d

# pool family
from .pooling import (MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d, LPPool1d, LPPool2d,
                      AdaptiveAvgPool1d, AdaptiveMaxPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool2d,
                      MaxUnpool1d, MaxUnpool2d)
from .upsampling import Upsample, UpsamplingNearest2d, UpsamplingBilinear2d

# batchnorm family
from .normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d, LocalResponseNorm

# rnn family
from .rnn import RNNBase, RNN, LSTM, GRU, RNNCellBase, RNNCell, LSTMCell, GRUCell
from .sparse import Embedding

# tensor-api family
from .activation import (GELU, SiLU, Mish, Softsign, Tanhshrink, Hardswish, Hardsigmoid, SELU, Hardtanh,
                         ReLU6, CELU, GLU, Softmin, PReLU)
from .loss import SmoothL1Loss, HuberLoss, KLDivLoss
from .dropout import Dropout2d, Dropout1d
from .normalization_layer import LayerNorm, GroupNorm, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d


from . import parallel

if _ilu.find_spec(__name__ + ".utils") is not None:     # clip_grad_norm_ & co., when present
    from . import utils
